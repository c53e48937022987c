// The tailnet's access intent, derived from the topology: who may open which port on which node.
// The policy's rules and its tests are both rendered from this, independently of each other.
import { PAIRED_DEVICES } from "../../stacks/catalog";
import type { MeshSpec, NodeSpec } from "../../stacks/schema";

/** A source of traffic: a mesh node, a tagged device class (CI runner, paired devices) or the admins. */
export type Principal = { readonly kind: "node"; readonly name: string } | { readonly kind: "tag"; readonly tag: string } | { readonly kind: "admins" };

export interface Target {
  readonly node: string;
  readonly port: number;
}

/** One allowed flow: every source may reach every target. */
export interface Grant {
  /** Stable id, e.g. flow:loom, flow:loom:reply, trust:popos-deploy, admins, ci. */
  readonly id: string;
  /** One line for the policy comment. */
  readonly description: string;
  readonly sources: readonly Principal[];
  readonly targets: readonly Target[];
}

export const ROLE_TAG = { hub: "tag:hub", worker: "tag:worker" } as const;
export const COCKPIT_TAG = "tag:cockpit";

/** The tag that names exactly one node. */
export function nodeTag(name: string): string {
  return `tag:node-${name}`;
}

/** The node the Hetzner server is, or a node running OptimalOS in Fabric mode, carries tag:cockpit. */
export function isCockpit(spec: MeshSpec, name: string): boolean {
  return spec.hetzner?.node === name || spec.nodes[name]!.optimalos.mode === "fabric";
}

/** Every tag a node carries, sorted: its own, its role, cockpit where it applies, its capabilities. */
export function nodeTags(spec: MeshSpec, name: string): string[] {
  const node = spec.nodes[name]!;
  const tags = [nodeTag(name), ROLE_TAG[node.role], ...node.capabilities.map((c) => `tag:${c}`)];
  if (isCockpit(spec, name)) tags.push(COCKPIT_TAG);
  return [...new Set(tags)].sort();
}

/** The port a flow's service listens on at `node`. Rules guarantee it exists for validated specs. */
export function servicePort(node: NodeSpec, service: string): number {
  if (service === "optimalos") return node.optimalos.port;
  const port = node.services[service]?.port;
  if (port === undefined) throw new Error(`service ${service} has no port`);
  return port;
}

function sourcesOf(spec: MeshSpec, names: readonly string[]): Principal[] {
  return names.map((n) => (n === PAIRED_DEVICES ? { kind: "tag", tag: spec.access.pairedDeviceTag } : { kind: "node", name: n }));
}

export function accessIntent(spec: MeshSpec): Grant[] {
  const grants: Grant[] = [];
  const allNodes = Object.keys(spec.nodes).sort();
  for (const id of Object.keys(spec.access.flows).sort()) {
    const flow = spec.access.flows[id]!;
    const to = [...flow.to].sort();
    const from = [...flow.from].sort();
    grants.push({
      id: `flow:${id}`,
      description: `${id}: ${flow.service} on ${to.join(", ")} from ${from.join(", ")}`,
      sources: sourcesOf(spec, from),
      targets: to.map((node) => ({ node, port: servicePort(spec.nodes[node]!, flow.service) })),
    });
    // A flow among the same nodes in both directions already covers its replies.
    if (flow.reply && from.join() !== to.join()) {
      grants.push({
        id: `flow:${id}:reply`,
        description: `${id} (results reported back): optimalos on ${from.join(", ")} from ${to.join(", ")}`,
        sources: sourcesOf(spec, to),
        targets: from.map((node) => ({ node, port: spec.nodes[node]!.optimalos.port })),
      });
    }
  }
  for (const id of Object.keys(spec.sshTrust).sort()) {
    const trust = spec.sshTrust[id]!;
    grants.push({
      id: `trust:${id}`,
      description: `${id}: SSH from ${trust.from} to ${trust.toUser}@${trust.to}`,
      sources: [{ kind: "node", name: trust.from }],
      targets: [{ node: trust.to, port: spec.nodes[trust.to]!.ssh.port }],
    });
  }
  grants.push({
    id: "admins",
    description: "admins: SSH and OptimalOS on every node",
    sources: [{ kind: "admins" }],
    targets: allNodes.flatMap((node) => [
      { node, port: spec.nodes[node]!.ssh.port },
      { node, port: spec.nodes[node]!.optimalos.port },
    ]),
  });
  grants.push({
    id: "ci",
    description: "ci: SSH on every node, for drift checks",
    sources: [{ kind: "tag", tag: spec.access.ciTag }],
    targets: allNodes.map((node) => ({ node, port: spec.nodes[node]!.ssh.port })),
  });
  return grants;
}

/** The devices the policy's tests can name: every node, plus one CI runner and one paired device. */
export function policyInventory(spec: MeshSpec): { devices: { name: string; tags: string[]; ip?: string }[] } {
  return {
    devices: [
      ...Object.keys(spec.nodes)
        .sort()
        .map((name) => {
          const ip = spec.nodes[name]!.tailnet.address;
          return ip === undefined ? { name, tags: nodeTags(spec, name) } : { name, tags: nodeTags(spec, name), ip };
        }),
      { name: "ci-runner", tags: [spec.access.ciTag] },
      { name: "paired-device", tags: [spec.access.pairedDeviceTag] },
    ],
  };
}
