// Where operator scripts get each node's deploy from: the stack's state (what was last applied,
// secrets included, through the Pulumi CLI) or the offline plan (secret files left out), and how
// they reach the node (OpenSSH, host key pinned, commands run as root).
import * as pulumi from "@pulumi/pulumi";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { asRoot } from "../../render/node/remote";
import { planMesh, type MeshPlan } from "../../plan/mesh-plan";
import type { NodeDeploy, NodeExec } from "./node-drift";
import { evaluateOffline } from "../../offline/evaluate";
import { NeedsPulumiCli } from "./engine-stack";
import { readStackConfig, stackMesh } from "../../stacks/stackfile";

export interface Connection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey?: string;
  /** Present when read from state; from a plan the operator passes --identity. */
  readonly privateKey?: string;
}

export interface NodeTarget extends NodeDeploy {
  readonly connection: Connection;
}

/** How to reach a node, from a remote command's `connection` input (the private key only when it is there). */
function connectionOf(input: unknown): Connection {
  const c = input as { host: string; port?: number; user?: string; hostKey?: string; privateKey?: string };
  return {
    host: c.host,
    port: c.port ?? 22,
    user: c.user ?? "root",
    ...(c.hostKey ? { hostKey: c.hostKey } : {}),
    ...(c.privateKey ? { privateKey: c.privateKey } : {}),
  };
}

/** A resource as `pulumi stack export` lists it (the fields a deploy is read from). */
export interface StateCommand {
  readonly urn: string;
  readonly type: string;
  readonly inputs?: Record<string, unknown>;
}

/**
 * A value from `pulumi stack export --show-secrets` with its secrets opened: the export keeps each
 * secret as an object with the SDK's secret signature and its value as JSON text under
 * `plaintext` (nested secrets inside it likewise), not as the value itself.
 */
export function revealExported(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealExported);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig && typeof o.plaintext === "string") return revealExported(JSON.parse(o.plaintext));
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, revealExported(v)]));
}

/** The type chain of a node's deploy command in a URN. */
const DEPLOY_TYPES = "optimal-mesh:node:NodeHost$command:remote:Command";

/**
 * Each node's deploy in a state: known by its name in the plan (or the name it had before), else
 * any node host's deploy command, named after the node it reaches (a node removed from the
 * topology is still deployed until an up removes it, and drift must see it).
 */
export function deploysInState(resources: readonly StateCommand[], plan: MeshPlan): NodeTarget[] {
  const byName = new Map(plan.nodes.flatMap((n) => [[n.deploy.name, n.node] as const, [n.deploy.previous, n.node] as const]));
  return resources
    .flatMap((res) => {
      if (res.type !== "command:remote:Command" || !res.urn.split("::")[2]?.endsWith(DEPLOY_TYPES)) return [];
      const name = res.urn.slice(res.urn.lastIndexOf("::") + 2);
      const i = revealExported(res.inputs ?? {}) as Record<string, unknown>;
      const connection = connectionOf(i.connection);
      const node = byName.get(name) ?? (name.endsWith("-deploy") ? connection.host : undefined);
      return node === undefined ? [] : [{ node, urn: res.urn, bundle: String(i.stdin ?? ""), connection }];
    })
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** Each node's last applied deploy, from `pulumi stack export --show-secrets`. */
export function deploysFromState(root: string, stack: string): NodeTarget[] {
  const plan = planMesh(stackMesh(readStackConfig(root, stack)), stack);
  const r = spawnSync("pulumi", ["stack", "export", "--show-secrets", "--stack", stack], { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error !== undefined || r.status !== 0)
    throw new NeedsPulumiCli(`reading the stack's state needs the Pulumi CLI, logged in (${r.error?.message ?? r.stderr.trim()})`);
  const doc = JSON.parse(r.stdout) as { deployment: { resources?: StateCommand[] } };
  return deploysInState(doc.deployment.resources ?? [], plan);
}

/** Each node's deploy as the offline plan renders it; secret files cannot be rendered offline and are skipped. */
export async function deploysFromPlan(root: string, stack: string): Promise<NodeTarget[]> {
  const config = readStackConfig(root, stack);
  const plan = planMesh(stackMesh(config), stack);
  const evaluation = await evaluateOffline(config, { preview: false, realInputsOf: ["command:remote:Command"] });
  if (evaluation.error !== undefined) throw evaluation.error;
  return plan.nodes
    .map((n) => {
      const i = evaluation.realInputs.get(n.deploy.name);
      if (i === undefined) throw new Error(`the program registered no ${n.deploy.name}`);
      // The plan's connection holds only a placeholder key: the operator passes --identity.
      const { privateKey: _placeholder, ...connection } = connectionOf(i.connection);
      return { node: n.node, bundle: String(i.stdin), skip: [...n.deploy.secretFiles], connection };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
}

/** Runs commands on nodes over OpenSSH as root (sudo for other users), host keys pinned where the stack pins them. */
export function sshExec(targets: readonly NodeTarget[], identityFile?: string): { exec: NodeExec; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "optimal-mesh-ssh-"));
  const byNode = new Map(targets.map((t) => [t.node, t.connection]));
  const exec: NodeExec = (node, command) => {
    const c = byNode.get(node);
    if (c === undefined) throw new Error(`no connection for ${node}`);
    const args = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", String(c.port)];
    const key = c.privateKey !== undefined ? path.join(dir, `${node}.key`) : identityFile;
    if (c.privateKey !== undefined) fs.writeFileSync(key!, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
    if (key !== undefined) args.push("-i", key, "-o", "IdentitiesOnly=yes");
    if (c.hostKey !== undefined) {
      const kh = path.join(dir, `${node}.known_hosts`);
      fs.writeFileSync(kh, `${c.host} ${c.hostKey}\n`);
      args.push("-o", `UserKnownHostsFile=${kh}`, "-o", "StrictHostKeyChecking=yes");
    }
    const r = spawnSync("ssh", [...args, `${c.user}@${c.host}`, asRoot(c.user, command)], { encoding: "utf8" });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? r.error?.message ?? "" };
  };
  return { exec, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
