// The engine harness: the real index.ts run by the real Pulumi CLI (built here) through the
// Automation API, inline, against a file backend in a folder of its own, passphrase secrets, its
// own PULUMI_HOME holding the stand-in plugins, no update check, no plugin acquisition, no
// network. Each operation runs in a process of its own. The simulated cloud is a folder
// (OPTIMAL_MESH_CLOUD) only the stand-ins write; OPTIMAL_MESH_MACHINES says what plays the machines.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installStandIns } from "./install";
import type { Operation, RunRequest, RunResult, StackConfig } from "./run";
import { cliEnvironment, ROOT } from "./toolchain";

export type { RunResult, StackConfig, Step } from "./run";

export interface EngineOptions {
  /** The stack's name (default `lab`). */
  readonly stack?: string;
  /** `none`: servers are recorded without booting and commands without running; else a machines file (see stand-ins/machines.ts). */
  readonly machines: string;
  /** Where everything goes (default: a new temporary folder). */
  readonly dir?: string;
}

export interface OpOptions {
  /** `providers`: a program of only the four providers (the floor of the benchmarks). */
  readonly program?: "mesh" | "providers";
  readonly policyPack?: { readonly dir: string; readonly config?: string };
  readonly replace?: readonly string[];
  readonly target?: readonly string[];
  readonly refresh?: boolean;
  readonly expectNoChanges?: boolean;
  /** For a refresh: drop the pending creates an interrupted up left in the state (`--clear-pending-creates`). */
  readonly clearPendingCreates?: boolean;
}

/** The processes descended from `pid` (read from /proc: Linux), `pid` first. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // ended while the listing was read
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** Kills `pid` and every process under it at once, read before any dies (an orphan's parent changes). */
function killTree(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // Gone already.
    }
  }
}

/** How a test stops a run from outside: aborting kills the engine's processes at once, as a runner's job timeout does. */
export interface RunControl {
  readonly signal?: AbortSignal;
}

const PASSPHRASE = "optimal-mesh engine harness (test only)";

export class Engine {
  readonly stack: string;
  /** The simulated cloud, written only by the stand-ins. */
  readonly cloud: string;
  private readonly home: string;
  private readonly backend: string;
  /** The project folder (Pulumi.yaml, the stack file): operator commands take it as --cwd. */
  readonly workDir: string;
  private readonly env: Record<string, string>;
  private pendingConfig: StackConfig | undefined;

  private constructor(
    readonly dir: string,
    private readonly bin: string,
    baseEnv: NodeJS.ProcessEnv,
    opts: EngineOptions,
  ) {
    this.stack = opts.stack ?? "lab";
    this.home = path.join(dir, "pulumi-home");
    this.backend = path.join(dir, "state");
    this.workDir = path.join(dir, "work");
    this.cloud = path.join(dir, "cloud");
    for (const d of [this.home, this.backend, this.workDir, this.cloud]) fs.mkdirSync(d, { recursive: true });
    const shimBin = installStandIns(this.home, baseEnv);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
    Object.assign(env, {
      PATH: `${shimBin}:${bin}:${path.dirname(process.execPath)}:${env.PATH ?? ""}`,
      PULUMI_HOME: this.home,
      PULUMI_BACKEND_URL: `file://${this.backend}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      OPTIMAL_MESH_CLOUD: this.cloud,
      OPTIMAL_MESH_MACHINES: opts.machines,
    });
    delete env.OPTIMAL_MESH_OFFLINE;
    this.env = env;
  }

  /** A harness with the stand-ins installed, or why the CLI cannot be had here. */
  static create(opts: EngineOptions): Engine | string {
    const cli = cliEnvironment();
    if ("why" in cli) return cli.why;
    const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "optimal-mesh-engine-"));
    return new Engine(dir, path.join(cli.bin, "pulumi"), cli.env, opts);
  }

  /** The stack's whole config, set before the next operation (replaces what it had). */
  setConfig(config: StackConfig): void {
    this.pendingConfig = config;
  }

  /** Writes the pending config into the stack file now (as a commit would), without running the program. */
  async writeConfig(): Promise<void> {
    const r = await this.run("config", {});
    if (!r.ok) throw new Error(`writing the stack's config failed: ${r.error}`);
  }

  preview(opts: OpOptions = {}): Promise<RunResult> {
    return this.run("preview", opts);
  }
  up(opts: OpOptions = {}, control: RunControl = {}): Promise<RunResult> {
    return this.run("up", opts, undefined, control);
  }
  refresh(opts: OpOptions = {}): Promise<RunResult> {
    return this.run("refresh", opts);
  }
  /** The processes still running for this engine (its CLI, program and plugins carry its cloud folder in their environment). */
  processes(): number[] {
    const mine = `OPTIMAL_MESH_CLOUD=${this.cloud}`;
    return fs.readdirSync("/proc").flatMap((entry) => {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return [];
      try {
        return fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(mine) ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });
  }
  /** `pulumi cancel`: removes the lock an interrupted operation left on the stack. */
  cancel(): Promise<RunResult> {
    return this.run("cancel", {});
  }
  destroy(): Promise<RunResult> {
    return this.run("destroy", {});
  }
  /** The stack's state (a deployment, as `pulumi stack export` prints it). */
  async exportStack(): Promise<unknown> {
    const r = await this.run("export", {});
    if (!r.ok) throw new Error(`stack export failed: ${r.error}`);
    return r.deployment;
  }
  async importStack(deployment: unknown): Promise<void> {
    const r = await this.run("import", {}, deployment);
    if (!r.ok) throw new Error(`stack import failed: ${r.error}`);
  }

  /** The environment operator commands run with against this engine's state and cloud. */
  environment(): Record<string, string> {
    return { ...this.env };
  }

  /** Removes everything the harness wrote. */
  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async run(op: Operation, opts: OpOptions, deployment?: unknown, control: RunControl = {}): Promise<RunResult> {
    const id = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const requestFile = path.join(this.dir, `request-${id}.json`);
    const resultFile = path.join(this.dir, `result-${id}.json`);
    const request: RunRequest = {
      op,
      stack: this.stack,
      workDir: this.workDir,
      backend: `file://${this.backend}`,
      bin: this.bin,
      env: this.env,
      ...(this.pendingConfig !== undefined ? { config: this.pendingConfig } : {}),
      ...opts,
      ...(deployment !== undefined ? { deployment } : {}),
    };
    fs.writeFileSync(requestFile, JSON.stringify(request), { mode: 0o600 });
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "run.ts"), requestFile, resultFile], {
      cwd: ROOT,
      env: this.env,
      stdio: ["ignore", "inherit", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => void (stderr += b.toString()));
    // The whole tree, as a runner's job timeout kills a job's processes: the CLI starts each plugin
    // in a process group of its own (pulumi v3.248.0 sdk/go/common/resource/plugin/plugin.go:598,
    // util/cmdutil/child_unix.go:51-52), so killing the CLI's group would leave the plugins running.
    const interrupt = () => killTree(child.pid!);
    control.signal?.addEventListener("abort", interrupt, { once: true });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    control.signal?.removeEventListener("abort", interrupt);
    fs.rmSync(requestFile, { force: true });
    if (control.signal?.aborted)
      return { ok: false, summary: {}, steps: [], stdout: "", stderr, diagnostics: [], error: "interrupted: the engine's processes were killed" };
    if (code !== 0 || !fs.existsSync(resultFile)) throw new Error(`engine ${op} process failed (exit ${code}):\n${stderr}`);
    const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as RunResult;
    fs.rmSync(resultFile, { force: true });
    if (result.ok) this.pendingConfig = undefined;
    return result;
  }
}
