// The policy pack's configuration for a stack, derived from its topology, so that every up the
// project runs or documents passes the pack the same config: `pulumi up --policy-pack policy
// --policy-pack-config out/<stack>/policy-config.json` (the plan writes it there).
import type { MeshSpec } from "../../stacks/schema";

/** Where the offline plan writes it, inside out/<stack>/. */
export const POLICY_CONFIG_FILE = "policy-config.json";

/**
 * The pack's config file, keyed by policy name: the tunnels the topology retires (their resources
 * are named after the tunnel component, `<stack>-tunnel-<key>`) may be unprotected so that
 * removing them next is allowed.
 */
export function renderPolicyPackConfig(spec: MeshSpec, stack: string): string {
  const retiring = Object.keys(spec.tunnels)
    .filter((key) => spec.tunnels[key]!.retire)
    .sort()
    .map((key) => `${stack}-tunnel-${key}`);
  return `${JSON.stringify({ "stateful-resources-protected": { retiring } }, null, 2)}\n`;
}
