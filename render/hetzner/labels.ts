// The labels the program puts on every Hetzner resource of a node (adoption compares them too).
export function hetznerLabels(node: string): Record<string, string> {
  return { "managed-by": "optimal-mesh", node };
}
