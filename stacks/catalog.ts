// Facts about the services and flows a topology names, which the rules check and the
// components render from: the well-known services' defaults, and who a flow may name.
import type { NodeSpec } from "./schema";

/** Facts about well-known services that a topology must not contradict. */
export const SERVICE_CATALOG: Readonly<Record<string, { readonly requires: readonly string[]; readonly exec?: string }>> = {
  ollama: { requires: ["gpu"], exec: "/usr/local/bin/ollama serve" },
  n8n: { requires: [], exec: "/usr/local/bin/n8n start" },
  cloudflared: { requires: [], exec: "/usr/bin/cloudflared --no-autoupdate tunnel run" },
};

/** The pseudo-source in access flows for devices paired by the cockpit. */
export const PAIRED_DEVICES = "paired-devices";

/** Every capability a service needs on its node: its own list plus the catalog's. */
export function requiredCapabilities(name: string, requires: readonly string[]): string[] {
  return [...new Set([...(SERVICE_CATALOG[name]?.requires ?? []), ...requires])].sort();
}

/** The ports a node declares: OptimalOS's and every service's, keyed by port. */
export function declaredPorts(node: NodeSpec): Map<number, string> {
  const ports = new Map<number, string>([[node.optimalos.port, "optimalos"]]);
  for (const [name, svc] of Object.entries(node.services)) if (svc.port !== undefined && !ports.has(svc.port)) ports.set(svc.port, name);
  return ports;
}
