// The tailnet's access intent, derived from the topology: who may open which port on which node.
// The policy's rules and its tests are both rendered from this, independently of each other.
import { PAIRED_DEVICES } from "../../stacks/catalog";
import { namedNode, type MeshSpec, type NamedNode } from "../../stacks/schema";

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

/** The node the Hetzner server is (`hetznerNode`), or a node running OptimalOS in Fabric mode, carries tag:cockpit. */
export function isCockpit(node: NamedNode, hetznerNode: string | undefined): boolean {
  return hetznerNode === node.name || node.spec.optimalos.mode === "fabric";
}

/** Every tag a node carries, sorted: its own, its role, cockpit where it applies, its capabilities. */
export function nodeTags(node: NamedNode, hetznerNode: string | undefined): string[] {
  const tags = [nodeTag(node.name), ROLE_TAG[node.spec.role], ...node.spec.capabilities.map((c) => `tag:${c}`)];
  if (isCockpit(node, hetznerNode)) tags.push(COCKPIT_TAG);
  return [...new Set(tags)].sort();
}

/**
 * What the policy reads of one node: computed once per node by `accessInput`, then handed to the
 * policy, its tests, its inventory and the node's own key and device (through the plan).
 */
export interface AccessNode {
  readonly name: string;
  /** Every tag the node carries, sorted (`nodeTags`). */
  readonly tags: readonly string[];
  /** The Tailscale address the topology records, if it does. */
  readonly address: string | undefined;
  readonly sshPort: number;
  readonly optimalosPort: number;
  /** Each service's port by service name; services without a port (cloudflared) are absent. */
  readonly servicePorts: Readonly<Record<string, number>>;
  /** Every port the policy's tests probe on the node: SSH, OptimalOS, each service's; sorted, distinct. */
  readonly probePorts: readonly number[];
}

/** The slice of the topology the tailnet's policy is rendered from, with its intent derived once. */
export interface AccessInput {
  /** Sorted by name. */
  readonly nodes: readonly AccessNode[];
  readonly node: ReadonlyMap<string, AccessNode>;
  /** Emails and autogroups, as the topology lists them. */
  readonly admins: readonly string[];
  readonly ciTag: string;
  readonly pairedDeviceTag: string;
  readonly grants: readonly Grant[];
}

/** The port a flow's service listens on at `node`. Rules guarantee it exists for validated specs. */
function servicePort(node: AccessNode, service: string): number {
  if (service === "optimalos") return node.optimalosPort;
  const port = node.servicePorts[service];
  if (port === undefined) throw new Error(`service ${service} has no port on ${node.name}`);
  return port;
}

/** The access slice of a validated topology: each node's tags and ports, the admins and tags, the grants. */
export function accessInput(spec: MeshSpec): AccessInput {
  const nodes = Object.keys(spec.nodes)
    .sort()
    .map((name): AccessNode => {
      const named = namedNode(spec, name);
      const n = named.spec;
      const servicePorts = Object.fromEntries(
        Object.keys(n.services)
          .sort()
          .flatMap((s) => (n.services[s]!.port === undefined ? [] : [[s, n.services[s]!.port!] as const])),
      );
      return {
        name,
        tags: nodeTags(named, spec.hetzner?.node),
        address: n.tailnet.address,
        sshPort: n.ssh.port,
        optimalosPort: n.optimalos.port,
        servicePorts,
        probePorts: [...new Set([n.ssh.port, n.optimalos.port, ...Object.values(servicePorts)])].sort((a, b) => a - b),
      };
    });
  const node = new Map(nodes.map((n) => [n.name, n]));
  const access = { admins: spec.access.admins, ciTag: spec.access.ciTag, pairedDeviceTag: spec.access.pairedDeviceTag };
  return { nodes, node, ...access, grants: accessIntent(spec.access.flows, spec.sshTrust, access, node) };
}

function sourcesOf(pairedDeviceTag: string, names: readonly string[]): Principal[] {
  return names.map((n) => (n === PAIRED_DEVICES ? { kind: "tag", tag: pairedDeviceTag } : { kind: "node", name: n }));
}

/** The grants: each flow (and its reply), each SSH trust, the admins' and CI's access, in that order. */
function accessIntent(
  flows: MeshSpec["access"]["flows"],
  trusts: MeshSpec["sshTrust"],
  access: { readonly ciTag: string; readonly pairedDeviceTag: string },
  node: ReadonlyMap<string, AccessNode>,
): Grant[] {
  const grants: Grant[] = [];
  const at = (name: string) => node.get(name)!;
  const allNodes = [...node.values()];
  for (const id of Object.keys(flows).sort()) {
    const flow = flows[id]!;
    const to = [...flow.to].sort();
    const from = [...flow.from].sort();
    grants.push({
      id: `flow:${id}`,
      description: `${id}: ${flow.service} on ${to.join(", ")} from ${from.join(", ")}`,
      sources: sourcesOf(access.pairedDeviceTag, from),
      targets: to.map((name) => ({ node: name, port: servicePort(at(name), flow.service) })),
    });
    // A flow among the same nodes in both directions already covers its replies.
    if (flow.reply && from.join() !== to.join()) {
      grants.push({
        id: `flow:${id}:reply`,
        description: `${id} (results reported back): optimalos on ${from.join(", ")} from ${to.join(", ")}`,
        sources: sourcesOf(access.pairedDeviceTag, to),
        targets: from.map((name) => ({ node: name, port: at(name).optimalosPort })),
      });
    }
  }
  for (const id of Object.keys(trusts).sort()) {
    const trust = trusts[id]!;
    grants.push({
      id: `trust:${id}`,
      description: `${id}: SSH from ${trust.from} to ${trust.toUser}@${trust.to}`,
      sources: [{ kind: "node", name: trust.from }],
      targets: [{ node: trust.to, port: at(trust.to).sshPort }],
    });
  }
  grants.push({
    id: "admins",
    description: "admins: SSH and OptimalOS on every node",
    sources: [{ kind: "admins" }],
    targets: allNodes.flatMap((n) => [
      { node: n.name, port: n.sshPort },
      { node: n.name, port: n.optimalosPort },
    ]),
  });
  grants.push({
    id: "ci",
    description: "ci: SSH on every node, for drift checks",
    sources: [{ kind: "tag", tag: access.ciTag }],
    targets: allNodes.map((n) => ({ node: n.name, port: n.sshPort })),
  });
  return grants;
}

/** The devices the policy's tests can name: every node, plus one CI runner and one paired device. */
export function policyInventory(input: AccessInput): { devices: { name: string; tags: string[]; ip?: string }[] } {
  return {
    devices: [
      ...input.nodes.map((n) => (n.address === undefined ? { name: n.name, tags: [...n.tags] } : { name: n.name, tags: [...n.tags], ip: n.address })),
      { name: "ci-runner", tags: [input.ciTag] },
      { name: "paired-device", tags: [input.pairedDeviceTag] },
    ],
  };
}
