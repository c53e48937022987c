// Which tailnet device is a mesh node: the one its MagicDNS name points to, since that is the
// name every SSH connection of the program uses. Picked from one listing of the tailnet's devices.

/** What the mesh reads of a device in the provider's device list. */
export interface TailnetDevice {
  readonly id: string;
  /** MagicDNS name, e.g. `pop-os.tail1234.ts.net`. */
  readonly name: string;
  /** The machine's own hostname. */
  readonly hostname: string;
}

const label = (d: TailnetDevice) => d.name.split(".")[0]!;

/**
 * The id of `node`'s device. A node joins with `--hostname=<node>`, so its MagicDNS name is the
 * node's name; when the name was taken (a stale device of a rebuilt machine), the new device gets
 * `<node>-1`: both are reported rather than tagging the wrong one.
 */
export function deviceIdOf(devices: readonly TailnetDevice[], node: string): string {
  const twin = new RegExp(`^${node.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d+$`);
  const named = devices.filter((d) => label(d) === node);
  const twins = devices.filter((d) => d.hostname === node && twin.test(label(d)));
  const candidates = [...named, ...twins];
  if (named.length === 1 && twins.length === 0) return named[0]!.id;
  if (candidates.length > 1) {
    throw new Error(
      `tailnet: ${candidates.length} devices stand for node ${node}: ${candidates.map((d) => `${d.name} (id ${d.id})`).join(", ")}.\n` +
        `  fix: remove the stale one in the Tailscale admin console (a rebuilt machine joins anew), then run again`,
    );
  }
  const sameHost = devices.filter((d) => d.hostname === node);
  throw new Error(
    `tailnet: no device is named ${node}, but mesh.nodes.${node}.tailnet.state is "joined"` +
      (sameHost.length > 0 ? ` (a device with that hostname is on the tailnet as ${sameHost.map((d) => d.name).join(", ")})` : "") +
      `.\n  fix: join the machine with \`tailscale up --hostname=${node}\` (or rename its device to ${node}), or set mesh.nodes.${node}.tailnet.state: bootstrap`,
  );
}
