// What a disaster-recovery rebuild of one node replaces, and the phases it goes through.
import type { MeshSpec } from "../../stacks/schema";

export interface RebuildPlan {
  readonly node: string;
  readonly kind: "cloud-server" | "home";
  /** Resource names to replace (`pulumi up --replace`); what depends on them follows. */
  readonly replace: readonly string[];
  /** What happens, in order, for the operator to read. */
  readonly phases: readonly string[];
}

export function rebuildPlan(spec: MeshSpec, stack: string, node: string): RebuildPlan {
  const n = spec.nodes[node];
  if (n === undefined) throw new Error(`no node named "${node}"; the stack has ${Object.keys(spec.nodes).sort().join(", ")}`);
  if (spec.hetzner?.node === node) {
    return {
      node,
      kind: "cloud-server",
      replace: [`${stack}-cockpit-server`],
      phases: [
        "delete the server and create a new one from the pinned image, keeping the primary IP, firewall, tunnel and DNS",
        "first boot: cloud-init hardens SSH, joins the tailnet with a fresh single-use key, installs cloudflared, Bun and OptimalOS",
        "install, deploy and heartbeat run again (their triggers follow the server id)",
        "once deployed, the new server's tailnet device is looked up and gets its tags and key expiry",
      ],
    };
  }
  const own = (step: string) => `${stack}-node-${node}-${step}`;
  const trust = Object.entries(spec.sshTrust).flatMap(([key, t]) => [
    ...(t.from === node ? [`${stack}-trust-${key}-keygen`, `${stack}-trust-${key}-client`] : []),
    ...(t.to === node ? [`${stack}-trust-${key}-authorize`] : []),
  ]);
  return {
    node,
    kind: "home",
    replace: [...(n.tailnet.state === "bootstrap" ? [own("bootstrap")] : []), own("install"), own("deploy"), own("heartbeat"), ...trust.sort()],
    phases: [
      n.tailnet.state === "bootstrap" ? `join the tailnet from ${n.tailnet.firstAddress} with a fresh single-use key` : "the machine is expected back on the tailnet under its name (set tailnet.state: bootstrap to rejoin it)",
      "install Bun and OptimalOS, deploy the units and env files, run the heartbeat",
      ...(trust.length > 0 ? ["restore the SSH trust this node takes part in (a new key where it holds one)"] : []),
    ],
  };
}
