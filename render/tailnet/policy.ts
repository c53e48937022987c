// Pure renderer: the topology's access slice -> tailnet policy file (HuJSON), with tests derived from the same intent.
import { Commented, writeHujson, type Json } from "./hujson";
import { nodeTag, ROLE_TAG, type AccessInput, type Grant, type Principal } from "./intent";

export const ADMIN_GROUP = "group:mesh-admins";

export interface PolicyOptions {
  /** Stack name, for the header. */
  readonly stack: string;
}

function adminEmails(input: AccessInput): string[] {
  return input.admins.filter((a) => a.includes("@")).sort();
}

/** The admins as policy selectors: the group of their emails and any autogroups. */
export function adminSelectors(input: AccessInput): string[] {
  const autogroups = input.admins.filter((a) => a.startsWith("autogroup:")).sort();
  return [...(adminEmails(input).length > 0 ? [ADMIN_GROUP] : []), ...autogroups];
}

const groupTagsOf = new WeakMap<AccessInput, Map<string, Set<string>>>();

/** Tags that select a group of nodes (roles, cockpit, capabilities) and their members (once per input: every rule asks). */
function groupTags(input: AccessInput): Map<string, Set<string>> {
  const known = groupTagsOf.get(input);
  if (known !== undefined) return known;
  const members = new Map<string, Set<string>>();
  groupTagsOf.set(input, members);
  for (const n of input.nodes) {
    for (const tag of n.tags) {
      if (tag === nodeTag(n.name)) continue;
      members.set(tag, (members.get(tag) ?? new Set()).add(n.name));
    }
  }
  return members;
}

/**
 * The fewest tags that select exactly `nodes`: group tags whose members all belong to the set,
 * largest first, then each remaining node's own tag.
 */
export function coverNodes(input: AccessInput, nodes: Iterable<string>): string[] {
  const wanted = new Set(nodes);
  const remaining = new Set(wanted);
  const chosen: string[] = [];
  const candidates = [...groupTags(input)].filter(([, m]) => [...m].every((n) => wanted.has(n)));
  for (;;) {
    let best: [string, number] | undefined;
    for (const [tag, m] of candidates) {
      const gain = [...m].filter((n) => remaining.has(n)).length;
      if (gain > 0 && (best === undefined || gain > best[1] || (gain === best[1] && tag < best[0]))) best = [tag, gain];
    }
    if (best === undefined) break;
    chosen.push(best[0]);
    for (const n of candidates.find(([t]) => t === best![0])![1]) remaining.delete(n);
  }
  for (const n of remaining) chosen.push(nodeTag(n));
  return chosen.sort();
}

/**
 * A rule's sources name each node by its own tag, never by a role or capability tag: Tailscale
 * runs a test from a device carrying only the tag its src names, so a node's tests (src: its own
 * tag) must meet the rules that admit it under that tag. Destinations may use the shared tags.
 */
function sourceSelectors(input: AccessInput, sources: readonly Principal[]): string[] {
  const out = sources.flatMap((s) => (s.kind === "node" ? [nodeTag(s.name)] : []));
  for (const s of sources) {
    if (s.kind === "tag") out.push(s.tag);
    if (s.kind === "admins") out.push(...adminSelectors(input));
  }
  return [...new Set(out)].sort();
}

/**
 * The policy's network grants for one grant of the intent: its destinations, each selected by the
 * fewest tags, grouped by the ports they are reached on (a grant's `ip` applies to all its `dst`).
 */
export function grantEntries(input: AccessInput, grant: Grant): { src: string[]; dst: string[]; ip: string[] }[] {
  const byPort = new Map<number, string[]>();
  for (const t of grant.targets) byPort.set(t.port, [...(byPort.get(t.port) ?? []), t.node]);
  const portsByTag = new Map<string, Set<number>>();
  for (const [port, nodes] of byPort) for (const tag of coverNodes(input, nodes)) portsByTag.set(tag, (portsByTag.get(tag) ?? new Set()).add(port));
  const tagsByPorts = new Map<string, string[]>();
  for (const [tag, ports] of portsByTag) {
    const key = [...ports].sort((a, b) => a - b).join(",");
    tagsByPorts.set(key, [...(tagsByPorts.get(key) ?? []), tag]);
  }
  const src = sourceSelectors(input, grant.sources);
  return [...tagsByPorts].sort(([a], [b]) => a.localeCompare(b)).map(([ports, tags]) => ({ src, dst: tags.sort(), ip: ports.split(",") }));
}

interface TestCase {
  src: string;
  accept: string[];
  deny: string[];
}

/**
 * Accept and deny cases from the intent (not from the rendered rules): for each principal, every
 * SSH, OptimalOS and service port of every other node. Nodes that take part in exactly the same
 * grants, on the same ports, are interchangeable for every rule (a rule's destinations cover a
 * grant's targets exactly), so one node of each such class stands for the class, as source and as
 * target; in the prod mesh every node is its own class. This keeps the tests linear-ish in a large
 * mesh of alike workers instead of quadratic.
 *
 * A destination is written as the grants name the node: a tag some grant's `dst` uses and the node
 * carries. Tailscale reads a tag destination in a test by the tags devices carry when the policy is
 * saved (tailscale/tailscale#8377, #8324), and a node tag no grant names would be reached or not
 * depending on them; a tag the grants name is read the same way whatever the devices carry (as a
 * device carrying that tag alone). An allowed port is tested under the tag the granting rule names;
 * a denied one under every tag the grants name the node by. A node no grant names is reached by
 * nothing (deny by default) and has no case.
 */
export function policyTests(input: AccessInput): TestCase[] {
  const grants = input.grants;
  const names = input.nodes.map((n) => n.name);
  const probesOf = (node: string) => input.node.get(node)!.probePorts;
  // Each node's part in every grant, gathered in one pass over the grants.
  const asSource = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
  const asTarget = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const g of grants) {
    for (const p of g.sources) if (p.kind === "node") asSource.get(p.name)!.add(g.id);
    for (const t of g.targets) asTarget.get(t.node)!.push(`${g.id}@${t.port}`);
  }
  // The rendered grants with the intent they came from, and the tags by which the grants name each node.
  const entries = grants.flatMap((g) => grantEntries(input, g).map((e) => ({ grant: g, dst: e.dst, ports: e.ip.map(Number) })));
  const namedBy = new Map<string, string[]>(
    names.map((node) => {
      const carried = new Set(input.node.get(node)!.tags);
      return [node, [...new Set(entries.flatMap((e) => e.dst.filter((tag) => carried.has(tag))))].sort()];
    }),
  );
  const membership = new Map<string, string>();
  for (const node of names) {
    // A set keeps the grants in the order they were added: the grants' order. Nodes the grants name
    // by other tags are tested apart: their tests' destinations differ.
    membership.set(node, JSON.stringify([[...asSource.get(node)!], asTarget.get(node)!.sort(), probesOf(node), namedBy.get(node)]));
  }
  const classes = new Map<string, string[]>();
  for (const node of names) classes.set(membership.get(node)!, [...(classes.get(membership.get(node)!) ?? []), node]);
  const representatives = [...classes.values()].map((members) => members[0]!);

  const principals: { src: string; self?: string; matches: (p: Principal) => boolean }[] = [
    ...representatives.map((name) => ({ src: nodeTag(name), self: name, matches: (p: Principal) => p.kind === "node" && p.name === name })),
    { src: input.ciTag, matches: (p: Principal) => p.kind === "tag" && p.tag === input.ciTag },
    { src: input.pairedDeviceTag, matches: (p: Principal) => p.kind === "tag" && p.tag === input.pairedDeviceTag },
    ...adminEmails(input).map((email) => ({ src: email, matches: (p: Principal) => p.kind === "admins" })),
  ];
  const cases: TestCase[] = [];
  for (const principal of principals) {
    const mine = entries.filter((e) => e.grant.sources.some(principal.matches));
    const accept = new Set<string>();
    const deny = new Set<string>();
    const targets = [...classes.values()].flatMap((members) => members.filter((m) => m !== principal.self).slice(0, 1)).sort();
    for (const node of targets) {
      const carried = namedBy.get(node)!;
      for (const port of probesOf(node)) {
        // The rendered rule that grants it: its grant targets the node on the port, and it names the node on that port.
        const granting = mine.find(
          (e) => e.ports.includes(port) && e.dst.some((t) => carried.includes(t)) && e.grant.targets.some((t) => t.node === node && t.port === port),
        );
        const tag = granting?.dst.find((t) => carried.includes(t));
        if (tag !== undefined) accept.add(`${tag}:${port}`);
        else for (const t of carried) deny.add(`${t}:${port}`);
      }
    }
    if (accept.size + deny.size > 0) cases.push({ src: principal.src, accept: [...accept].sort(), deny: [...deny].sort() });
  }
  return cases;
}

export function renderPolicy(input: AccessInput, options: PolicyOptions): string {
  const owners = adminSelectors(input);
  const tags = new Set<string>([input.ciTag, input.pairedDeviceTag, ROLE_TAG.hub, ROLE_TAG.worker]);
  for (const n of input.nodes) for (const tag of n.tags) tags.add(tag);

  const doc: { [k: string]: Json | (Json | Commented)[] } = {};
  const emails = adminEmails(input);
  if (emails.length > 0) doc.groups = { [ADMIN_GROUP]: emails };
  doc.tagOwners = Object.fromEntries([...tags].sort().map((t) => [t, owners]));
  const hosts = input.nodes.flatMap((n) => (n.address === undefined ? [] : [[n.name, n.address] as const]));
  if (hosts.length > 0) doc.hosts = Object.fromEntries(hosts);
  // The grants of each flow of the intent, in the intent's order, the first with the flow's comment.
  doc.grants = input.grants.flatMap((g) => grantEntries(input, g).map((e, i) => (i === 0 ? new Commented(g.description, e) : e)));
  doc.tests = policyTests(input).map((t) => {
    const c: { [k: string]: Json } = { src: t.src };
    if (t.accept.length > 0) c.accept = t.accept;
    if (t.deny.length > 0) c.deny = t.deny;
    return c;
  });
  return writeHujson(
    [
      `Tailnet policy of the optimal-mesh stack "${options.stack}", generated from its topology`,
      "(config optimal-mesh:mesh). Do not edit here: change the topology and run `pulumi up`.",
      "Deny by default; the grants below are the flows of the topology, each flow's first grant",
      "naming it. No Tailscale SSH rules: nodes use OpenSSH with pinned keys.",
    ],
    doc,
  );
}
