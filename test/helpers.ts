// Shared test helpers: the prod topology as raw config, and validation outcomes.
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Registration } from "../offline/evaluate";
import { MeshConfigError, validateMesh, type Problem } from "../stacks/validate";

export const ROOT = path.resolve(__dirname, "..");

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw config is untyped by nature; tests mutate it freely
export type Raw = any;

/** A fresh, mutable copy of the prod stack's `optimal-mesh:mesh` value. */
export function prodMesh(): Raw {
  const doc = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
  return structuredClone(doc.config["optimal-mesh:mesh"]);
}

/** Prod with made-up ids and host keys for every existing resource, as an operator fills them in before the first `up`. */
export function adoptedProdMesh(): Raw {
  const mesh = prodMesh();
  const zoneId = "0123456789abcdef0123456789abcdef";
  mesh.hetzner.adopt = { serverId: "4711", primaryIpId: "815" };
  mesh.tunnels.cockpit.zoneId = zoneId;
  mesh.tunnels.cockpit.dnsRecordIds = { "fabric.optimal.miami": "fedcba9876543210fedcba9876543210" };
  mesh.tunnels.pi.zoneId = zoneId;
  mesh.tunnels.pi.adoptId = "11111111-2222-4333-8444-555555555555";
  mesh.tunnels.pi.dnsRecordIds = { "optimal.miami": "00112233445566778899aabbccddeeff" };
  for (const [i, node] of Object.keys(mesh.nodes).entries()) mesh.nodes[node].ssh.hostKey = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestHostKey${i}`;
  return mesh;
}

/** A node to add to a topology: a worker still to be bootstrapped onto the tailnet from a LAN address. */
export function newWorker(): Raw {
  return {
    machine: { kind: "desktop", arch: "amd64" },
    role: "worker",
    capabilities: [],
    ssh: { user: "root" },
    tailnet: { state: "bootstrap", firstAddress: "192.0.2.44" },
    optimalos: { mode: "worker", bind: "tailnet" },
  };
}

/** The problems validation reports for `raw` ([] when it is valid). Any other exception propagates. */
export function problemsOf(raw: unknown): readonly Problem[] {
  try {
    validateMesh(raw);
    return [];
  } catch (err) {
    if (err instanceof MeshConfigError) return err.problems;
    throw err;
  }
}

/** Asserts validation reports a problem at exactly `path` whose message matches `message`. */
export function assertProblem(raw: unknown, problemPath: string, message: RegExp): Problem {
  const problems = problemsOf(raw);
  const hit = problems.find((p) => p.path === problemPath && message.test(p.message));
  assert.ok(
    hit,
    `expected a problem at ${problemPath} matching ${message}; got:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n") || "  (valid)"}`,
  );
  assert.ok(hit.fix.length > 0, "every problem says how to fix it");
  return hit;
}

export function assertValid(raw: unknown): void {
  assert.deepEqual(
    problemsOf(raw).map((p) => `${p.path}: ${p.message}`),
    [],
  );
}

/** A fresh temporary directory. */
export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `optimal-mesh-${name}-`));
}

/** Writes a stack file holding `mesh` (and any other config keys) and returns its path. */
export function writeStackFile(mesh: Raw, extra: Record<string, unknown> = {}): string {
  const file = path.join(tmpDir("stack"), "Pulumi.test.yaml");
  fs.writeFileSync(file, yaml.dump({ config: { "optimal-mesh:mesh": mesh, ...extra } }));
  return file;
}

/** Runs an operator command from its TypeScript source in a child process (sync; for the async ones use spawn). */
export function runScript(
  name: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "tsx"), [`scripts/${name}.ts`, ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs an operator command from its TypeScript source in a child process, without blocking this one (for tests that serve it on loopback). */
export async function runScriptAsync(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), [`scripts/${name}.ts`, ...args], { cwd: ROOT, env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  return { code, stdout, stderr };
}

/** Runs the offline plan as `npm run plan` does, in a child process. */
export function runPlan(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return runScript("plan", args);
}

/**
 * For tests that check text with a real tool: undefined when the tool is here, else the reason to
 * skip. In CI a missing tool is a failure, never a skip.
 */
export function missingTool(tool: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).status === 0;
  if (found) return undefined;
  if (process.env.CI) throw new Error(`${tool} is missing in CI; .ci/run must install it`);
  return `${tool} is not installed (npm test installs it where it runs as root with apt-get)`;
}

/** Runs a tool on `text` written to a temporary file named `name`; returns its exit code and output. */
export function checkWith(tool: string, args: readonly string[], name: string, text: string): { code: number | null; output: string; file: string } {
  const file = path.join(tmpDir("check"), name);
  fs.writeFileSync(file, text);
  const r = spawnSync(tool, [...args, file], { encoding: "utf8" });
  return { code: r.status, output: `${r.stdout}${r.stderr}`, file };
}

/** Plans `mesh` as stack `stack` in a child process: every registration, the out folder and what it printed; fails on a plan error. */
export function planStack(mesh: Raw, stack = "t"): { resources: Registration[]; out: string; stdout: string; stderr: string } {
  const out = path.join(tmpDir("plan"), "out");
  const r = runPlan("--stack", stack, "--config-file", writeStackFile(mesh), "--out", out, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  return { resources: JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as Registration[], out, stdout: r.stdout, stderr: r.stderr };
}

/** Plans `mesh` as stack `stack` in a child process and returns every registration; fails on a plan error. */
export function planRegistrations(mesh: Raw, stack = "t"): Registration[] {
  return planStack(mesh, stack).resources;
}

/** The one registration of `type` (and `name`, when given). */
export function only(resources: readonly Registration[], type: string, name?: string): Registration {
  const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  assert.equal(found.length, 1, `one ${type}${name ? ` named ${name}` : ""} among ${resources.map((r) => r.name).join(", ")}`);
  return found[0]!;
}
