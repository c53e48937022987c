// Which tailnet device is a mesh node: the one its MagicDNS name points to, since that is the
// name every SSH connection of the program uses. Picked from one listing of the tailnet's devices.

/** What the mesh reads of a device in the provider's device list. */
export interface TailnetDevice {
  readonly id: string;
  /** MagicDNS name, e.g. `pop-os.tail1234.ts.net`. */
  readonly name: string;
  /** The machine's own hostname. */
  readonly hostname: string;
  /** Its tailnet addresses, IPv4 and IPv6. */
  readonly addresses?: readonly string[];
}

const label = (d: TailnetDevice) => d.name.split(".")[0]!;

/**
 * Finds nodes' devices in one listing: a node's device. A node joins with
 * `--hostname=<node>`, so its MagicDNS name is the node's name; when the name was taken (a stale
 * device of a rebuilt machine), the new device gets `<node>-1`: both are reported rather than
 * tagging the wrong one. The listing is indexed once, so a large tailnet costs one pass.
 */
export function deviceFinder(devices: readonly TailnetDevice[]): (node: string) => TailnetDevice {
  const byLabel = new Map<string, TailnetDevice[]>();
  const byHostname = new Map<string, TailnetDevice[]>();
  const add = (index: Map<string, TailnetDevice[]>, key: string, d: TailnetDevice) => {
    const list = index.get(key);
    if (list === undefined) index.set(key, [d]);
    else list.push(d);
  };
  for (const d of devices) {
    add(byLabel, label(d), d);
    add(byHostname, d.hostname, d);
  }
  return (node) => {
    const named = byLabel.get(node) ?? [];
    const sameHost = byHostname.get(node) ?? [];
    const twins = sameHost.filter((d) => label(d).startsWith(`${node}-`) && /^\d+$/.test(label(d).slice(node.length + 1)));
    if (named.length === 1 && twins.length === 0) return named[0]!;
    const candidates = [...named, ...twins];
    if (candidates.length > 1) {
      throw new Error(
        `tailnet: ${candidates.length} devices stand for node ${node}: ${candidates.map((d) => `${d.name} (id ${d.id})`).join(", ")}.\n` +
          `  fix: remove the stale one in the Tailscale admin console (a rebuilt machine joins anew), then run again`,
      );
    }
    throw new Error(
      `tailnet: no device is named ${node}, but mesh.nodes.${node}.tailnet.state is "joined"` +
        (sameHost.length > 0 ? ` (a device with that hostname is on the tailnet as ${sameHost.map((d) => d.name).join(", ")})` : "") +
        `.\n  fix: join the machine with \`tailscale up --hostname=${node}\` (or rename its device to ${node}), or set mesh.nodes.${node}.tailnet.state: bootstrap`,
    );
  };
}
