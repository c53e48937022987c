// The node inventory OptimalOS uses as its list of target hosts (`target_host`, `hostHint`).
import { namedNode, type MeshSpec, type NamedNode } from "../../stacks/schema";
import { holeMarker, templateParts, type Hole, type Template } from "../../text/template";

/** A device's tailnet IPv4 as the tailnet lists it, where the topology records none. */
export const LISTED_ADDRESS_HOLE: Hole = { hole: "address", pattern: "^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$" };

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
export function inventoryEntry({ name, spec: node }: NamedNode, listed?: string): InventoryEntry {
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

/** The entry's fallback URL with the listed address a hole (for a node whose address the topology does not record). */
export function fallbackBaseUrlTemplate(node: NamedNode): Template {
  const url = inventoryEntry(node, holeMarker(LISTED_ADDRESS_HOLE)).fallbackBaseUrl!;
  return { parts: templateParts(url, [LISTED_ADDRESS_HOLE]) };
}

/** One entry per node, sorted by name so the output is stable. */
export function renderInventory(spec: MeshSpec): InventoryEntry[] {
  return Object.keys(spec.nodes)
    .sort()
    .map((name) => inventoryEntry(namedNode(spec, name)));
}

export function renderInventoryJson(spec: MeshSpec): string {
  return `${JSON.stringify(renderInventory(spec), null, 2)}\n`;
}
