// The policy pack's configuration for a stack, derived from its topology, so that every up the
// project runs or documents passes the pack the same config: `pulumi up --policy-pack policy
// --policy-pack-config out/<stack>/policy-config.json` (the plan writes it there).
import type { MeshPlan } from "../../plan/mesh-plan";

/** Where the offline plan writes it, inside out/<stack>/. */
export const POLICY_CONFIG_FILE = "policy-config.json";

/**
 * The pack's config file, keyed by policy name: the resources of the tunnels the topology retires,
 * by name, may be unprotected so that removing them next is allowed.
 */
export function renderPolicyPackConfig(plan: MeshPlan): string {
  const retiring = plan.tunnels
    .filter((t) => !t.protect)
    .flatMap((t) => [t.tunnel.name, t.config.name, ...t.records.map((r) => r.name)])
    .sort();
  return `${JSON.stringify({ "stateful-resources-protected": { retiring } }, null, 2)}\n`;
}
