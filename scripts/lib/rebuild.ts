// What a disaster-recovery rebuild of one node does to the config and the state, in order, and the
// state edit it needs. The machine is lost, so nothing may need it: what ran on it is forgotten
// (dropped from the state, not deleted over SSH), and the up creates it again on the new machine.
import { planMesh } from "../../plan/mesh-plan";
import type { EngineUrns } from "../../offline/urn";
import type { MeshSpec } from "../../stacks/schema";

export interface RebuildPlan {
  readonly node: string;
  readonly kind: "cloud-server" | "home";
  /**
   * Adoption ids to remove from the stack config first: the engine refuses to replace a resource
   * that still carries `import` (pulumi 3.248, pkg/resource/deploy/step_generator.go).
   */
  readonly clearConfig: readonly string[];
  /**
   * Resources that ran on, or describe, the lost machine, dependents first: dropped from the state
   * with everything that depends on them, because their delete would need the machine itself.
   */
  readonly forget: readonly string[];
  /** Resources to replace (`up --replace`): the server, and the single-use key it joins with. */
  readonly replace: readonly string[];
  /** The new machine's SSH host key is learned over the tailnet and pinned in the stack config. */
  readonly pinHostKey: boolean;
  /** What happens, in order, for the operator to read. */
  readonly phases: readonly string[];
}

/** The config paths a cockpit rebuild removes first: the adopted server's id (Pulumi refuses to replace an imported resource). */
function clearedByRebuild(spec: MeshSpec): string[] {
  return spec.hetzner?.adopt.serverId !== undefined ? ["mesh.hetzner.adopt.serverId"] : [];
}

/**
 * The topology with `mesh.`-rooted config paths removed, as `pulumi config rm --path` leaves it:
 * what the rebuild's ups run with. For the validated spec and for the stack file's raw value alike.
 */
export function withoutMeshPaths<T extends object>(mesh: T, paths: readonly string[]): T {
  if (paths.length === 0) return mesh;
  const copy = structuredClone(mesh) as Record<string, unknown>;
  for (const p of paths) {
    const keys = p.split(".").slice(1);
    let at: Record<string, unknown> | undefined = copy;
    for (const k of keys.slice(0, -1)) at = at?.[k] as Record<string, unknown> | undefined;
    if (at !== undefined) delete at[keys.at(-1)!];
  }
  return copy as T;
}

export function rebuildPlan(spec: MeshSpec, stack: string, node: string): RebuildPlan {
  // Own keys only: "toString" or "__proto__" are not nodes, whatever an object inherits.
  const n = Object.hasOwn(spec.nodes, node) ? spec.nodes[node] : undefined;
  if (n === undefined) throw new Error(`no node named ${JSON.stringify(node)}; the stack has ${Object.keys(spec.nodes).sort().join(", ")}`);
  // Every name comes from the mesh plan the rebuild's ups run with (the adopted server's id removed
  // from it): the rebuild acts on exactly what the program registers then, the fresh auth key among it.
  const h = spec.hetzner;
  const mesh = planMesh(withoutMeshPaths(spec, h !== undefined && h.node === node ? clearedByRebuild(spec) : []), stack);
  const host = mesh.nodes.find((x) => x.node === node)!;
  const commands = [host.heartbeat.name, host.deploy.name, host.install.name, ...(host.bootstrap !== undefined ? [host.bootstrap.name] : [])];
  const trust = mesh.trusts.flatMap((t) => [...(t.from === node ? [t.client.name, t.keygen.name] : []), ...(t.to === node ? [t.authorize.name] : [])]).sort();
  const tailnet = mesh.tailnet.nodes.find((x) => x.node === node)!;
  const key = tailnet.authKey?.name;
  if (mesh.cockpit !== undefined && mesh.cockpit.node === node && spec.hetzner !== undefined) {
    const device = tailnet.device;
    return {
      node,
      kind: "cloud-server",
      clearConfig: clearedByRebuild(spec),
      forget: [...commands, ...trust, ...(device !== undefined ? [device.tags.name, device.key.name] : [])],
      replace: [key!, mesh.cockpit.server.name],
      pinHostKey: true,
      phases: [
        ...(spec.hetzner.adopt.serverId !== undefined
          ? ["remove the adopted server's id from the stack config (it is being replaced; Pulumi refuses to replace an imported resource)"]
          : []),
        `remove the lost machine's device ${node} from the tailnet, so the new server joins under the same name`,
        "forget the commands that ran on the lost server and its device settings (their delete would need the lost machine)",
        "create a fresh single-use auth key and a new server from the pinned image, keeping the primary IP, firewall, tunnel and DNS",
        "first boot: cloud-init hardens SSH, joins the tailnet with the fresh key, installs cloudflared, Bun and OptimalOS",
        "once it is on the tailnet (which authenticates it by the key just minted), read its SSH host key over the tailnet and pin it in the stack config",
        "up: install, deploy and heartbeat run on the new server; its device gets its tags and key expiry",
      ],
    };
  }
  return {
    node,
    kind: "home",
    clearConfig: [],
    forget: [...commands, ...trust],
    replace: key !== undefined ? [key] : [],
    pinHostKey: false,
    phases: [
      "the reinstalled machine's new SSH host key is pinned in the stack config by hand, from the machine itself (runbook)",
      "forget the commands that ran on the old installation (their delete would need it)",
      n.tailnet.state === "bootstrap"
        ? `join the tailnet from ${n.tailnet.firstAddress} with a fresh single-use key`
        : "the machine is expected back on the tailnet under its name (set tailnet.state: bootstrap to rejoin it)",
      "up: install Bun and OptimalOS, deploy the units and env files, run the heartbeat",
      ...(trust.length > 0 ? ["the SSH trust this node takes part in is set up again (a new key where it holds one)"] : []),
    ],
  };
}

/** The parts of a Pulumi state (a `stack export` deployment) a state edit reads. */
export interface StateResource {
  readonly urn: string;
  readonly parent?: string;
  readonly dependencies?: readonly string[];
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  readonly deletedWith?: string;
  /** False for a component (the state's `custom` field). */
  readonly custom?: boolean;
  readonly [k: string]: unknown;
}

export interface Deployment {
  readonly resources?: readonly StateResource[];
  readonly [k: string]: unknown;
}

/**
 * The state without `urns` and everything that depends on them (as a dependency, a property
 * dependency, a child or deletedWith), as `pulumi state delete --target-dependents` would leave it;
 * and what was dropped, in state order. A component that depends on them only through dependsOn
 * (the destroy guard depends on every resource) is kept, those edges removed: a component does
 * nothing when it is created or deleted, and dropping it would drop it for nothing.
 */
export function forgetResources(deployment: Deployment, urns: readonly string[]): { deployment: Deployment; dropped: string[] } {
  const resources = deployment.resources ?? [];
  const drop = new Set(urns.filter((u) => resources.some((r) => r.urn === u)));
  const dropped = (u: string | undefined) => u !== undefined && drop.has(u);
  // State order puts every resource after what it depends on: one pass finds all dependents.
  for (const r of resources) {
    const hard = [r.parent, r.deletedWith, ...Object.values(r.propertyDependencies ?? {}).flat()];
    if (hard.some(dropped) || (r.custom !== false && (r.dependencies ?? []).some(dropped))) drop.add(r.urn);
  }
  return {
    deployment: {
      ...deployment,
      resources: resources
        .filter((r) => !drop.has(r.urn))
        .map((r) => ((r.dependencies ?? []).some(dropped) ? { ...r, dependencies: r.dependencies!.filter((u) => !drop.has(u)) } : r)),
    },
    dropped: resources.filter((r) => drop.has(r.urn)).map((r) => r.urn),
  };
}

/** What a rebuild does to the world, one operation each; dr-rebuild wires them to the Automation API, the Tailscale API and ssh-keyscan. */
export interface RebuildOps {
  /** Throws, before anything changes, when the rebuild could not finish here (a tool or a credential missing). */
  ready(plan: RebuildPlan): Promise<void>;
  /** Removes a config path (`pulumi config rm --path`). */
  removeConfig(path: string): Promise<void>;
  exportState(): Promise<Deployment>;
  importState(deployment: Deployment): Promise<void>;
  /** Removes the node's device from the tailnet, if it is listed; says whether one was. */
  removeDevice(node: string): Promise<boolean>;
  /** `pulumi up`, replacing and (if given) targeting resources by URN. */
  up(options: { replace?: readonly string[]; target?: readonly string[] }): Promise<void>;
  /** The node's host key (`ssh-ed25519 AAAA...`), read over the tailnet once the new machine is on it. */
  hostKeyOverTailnet(node: string): Promise<string>;
  /** Sets a config path (`pulumi config set --path`). */
  setConfig(path: string, value: string): Promise<void>;
}

/**
 * Runs a rebuild plan: config first, then the state, then the ups. `urnsOf` turns a resource name
 * into the URN the engine knows it by, and the URNs of its earlier names (a state not updated since
 * a rename still holds those). `say` reports each step.
 */
export async function runRebuild(plan: RebuildPlan, urnsOf: (name: string) => EngineUrns, ops: RebuildOps, say: (line: string) => void): Promise<void> {
  // A rebuild that stops halfway leaves the server gone: what it needs later is checked first.
  await ops.ready(plan);
  for (const path of plan.clearConfig) {
    say(`config: remove ${path} (the resource it adopted is being replaced)`);
    await ops.removeConfig(path);
  }
  if (plan.kind === "cloud-server") say(`tailnet: ${(await ops.removeDevice(plan.node)) ? "removed" : "no"} device ${plan.node}`);
  const forget = plan.forget.flatMap((name) => {
    const { urn, previous } = urnsOf(name);
    return [urn, ...previous];
  });
  const { deployment, dropped } = forgetResources(await ops.exportState(), forget);
  if (dropped.length > 0) {
    for (const urn of dropped) say(`state: forget ${urn}`);
    await ops.importState(deployment);
  }
  const targets = plan.replace.map((name) => urnsOf(name).urn);
  // What the state holds is replaced; what it does not (the auth key of a server that was adopted) is created.
  const held = new Set((deployment.resources ?? []).map((r) => r.urn));
  const replace = targets.filter((urn) => held.has(urn));
  if (plan.pinHostKey) {
    say(`up: replace ${replace.join(", ")}${targets.length > replace.length ? `, create ${targets.filter((u) => !held.has(u)).join(", ")}` : ""} (only those)`);
    await ops.up({ replace, target: targets });
    const key = await ops.hostKeyOverTailnet(plan.node);
    say(`config: pin ${plan.node}'s new host key ${key}`);
    await ops.setConfig(`mesh.nodes.${plan.node}.ssh.hostKey`, key);
    say("up: everything else");
    await ops.up({});
  } else {
    say(`up${replace.length > 0 ? `: replace ${replace.join(", ")}` : ""}`);
    await ops.up(replace.length > 0 ? { replace } : {});
  }
}
