// The node inventory OptimalOS uses as its list of target hosts (`target_host`, `hostHint`).
import type { MeshSpec } from "../../stacks/schema";

export interface InventoryEntry {
  /** Tailscale machine name; also the MagicDNS name and the `target_host` value. */
  readonly name: string;
  readonly role: "hub" | "worker";
  readonly capabilities: readonly string[];
  readonly mode: "legacy" | "worker" | "fabric";
  /** The node's Tailscale IPv4: the topology's, else its device's as the tailnet lists it, else null. */
  readonly tailnetAddress: string | null;
  /** OptimalOS reached by MagicDNS name. */
  readonly baseUrl: string;
  /** OptimalOS reached by Tailscale IPv4, for when MagicDNS is slow; null where the address is unknown. */
  readonly fallbackBaseUrl: string | null;
}

/** A node's entry; `listed` is its device's address where the topology records none. */
export function inventoryEntry(spec: MeshSpec, name: string, listed?: string): InventoryEntry {
  const node = spec.nodes[name]!;
  const port = node.optimalos.port;
  const address = node.tailnet.address ?? listed ?? null;
  return {
    name,
    role: node.role,
    capabilities: [...node.capabilities].sort(),
    mode: node.optimalos.mode,
    tailnetAddress: address,
    baseUrl: `http://${name}:${port}`,
    fallbackBaseUrl: address === null ? null : `http://${address}:${port}`,
  };
}

/** One entry per node, sorted by name so the output is stable. */
export function renderInventory(spec: MeshSpec): InventoryEntry[] {
  return Object.keys(spec.nodes)
    .sort()
    .map((name) => inventoryEntry(spec, name));
}

export function renderInventoryJson(spec: MeshSpec): string {
  return `${JSON.stringify(renderInventory(spec), null, 2)}\n`;
}
