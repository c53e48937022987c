// Lab test tooling: what every scenario works with. The hosts, the engine and its simulated cloud,
// the machines that play the servers, the lab stack's topology as it stands (each scenario may
// change it through setMesh or up, and the next one starts from there), and the checks the
// scenarios share. Each scenario is a file of scenarios/, run in order by main.ts.
import type { Engine, RunResult } from "../../engine/harness";
import { planMesh, type MeshPlan } from "../../plan/mesh-plan";
import type { StateCommand } from "../../scripts/lib/deploys";
import type { Deployment } from "../../scripts/lib/rebuild";
import type { MeshSpec } from "../../stacks/schema";
import { readStackConfig } from "../../stacks/stackfile";
import { validateMesh } from "../../stacks/validate";
import { COCKPIT, labConfig, type OperatorKeys } from "../engine/lab-stack";
import type { Raw } from "../helpers";
import type { Lab } from "./hosts";
import type { LabMachines } from "./machines";

export const STACK = "lab";
/** The node scenario l adds. */
export const NEW_NODE = "gpu-2";
/** The one change scenario c makes (oracle's docs serve another folder), kept by the later scenarios. */
export const DOCS_V2 = "/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/docs-v2";

/**
 * What a server's first boot cannot do in the lab, and nothing else: upgrade and install packages
 * (no route out of the lab) and set a locale (the minimal root has none generated).
 */
export const LAB_FIRST_BOOT_ERRORS = ["locale", "package-update-upgrade-install"];

/** The steps of a run other than `same`, as `op name`. */
export const changes = (r: RunResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.slice(s.urn.lastIndexOf("::") + 2)}`);

/** What a run printed, for an assertion's message (the engine tests' own). */
export { explain } from "../engine/lab-stack";

/** The rebuild's steps as `npm run dr-rebuild` prints them: `forget URN`, `replace URN`. */
export const printed = (stderr: string, what: "forget" | "replace") =>
  [...stderr.matchAll(new RegExp(`^dr-rebuild \\[[ .0-9]+s\\] phase: state: ${what} \\S*::([^:\\s]+)$`, "gm"))].map((m) => m[1]!);

/** One scenario: its name (its letter first) and what it does, returning a line for the results. */
export interface Scenario {
  readonly name: string;
  readonly run: (ctx: LabRun) => Promise<string> | string;
}

export class LabRun {
  /** The lab stack's topology as the last up (or command) left it. */
  mesh: Raw;
  spec: MeshSpec;
  meshPlan: MeshPlan;

  constructor(
    readonly lab: Lab,
    readonly engine: Engine,
    readonly machines: LabMachines,
    /** The operator's key pair, in the stack's config. */
    readonly keys: OperatorKeys,
    /** The Tailscale API the stack names (tailscale:baseUrl), on the operator's machine. */
    private readonly tailscaleApi: string,
    /** A new machine's entry, the node scenario l adds. */
    readonly added: Raw,
    /** The folder of the engine's run, for the hostile scenario's checks. */
    readonly engineDir: string,
    mesh: Raw,
  ) {
    this.mesh = mesh;
    this.spec = validateMesh(mesh);
    this.meshPlan = planMesh(this.spec, STACK);
  }

  /** Makes `m` the lab's topology, the config of the next run (or of the stack file, with writeConfig). */
  readonly setMesh = (m: Raw): void => {
    this.mesh = m;
    this.spec = validateMesh(m);
    this.meshPlan = planMesh(this.spec, STACK);
    const config = labConfig(m, this.keys);
    // dr-rebuild removes a lost machine's device through the Tailscale API the stack names.
    this.engine.setConfig({ ...config, strings: { ...config.strings, "tailscale:baseUrl": { value: this.tailscaleApi } } });
  };

  /** Runs `pulumi up` of `m` (which becomes the lab's topology) through the engine. */
  readonly up = async (m: Raw, opts: Parameters<Engine["up"]>[0] = {}): Promise<RunResult> => {
    this.setMesh(m);
    return this.engine.up(opts);
  };

  /** After a command changed the stack file, its topology is the lab's. */
  readonly reloadMesh = (): void => {
    this.mesh = JSON.parse(readStackConfig(this.engine.workDir, STACK).values["optimal-mesh:mesh"]!) as Raw;
    this.spec = validateMesh(this.mesh);
    this.meshPlan = planMesh(this.spec, STACK);
  };

  /**
   * An operator command (`npm run NAME -- ARGS --stack lab --cwd <the harness's project>`), run on
   * the operator's machine: in the lab's network, node names resolved as MagicDNS would, with the
   * engine's environment (the CLI, its backend, the stand-ins) and the stack file the ups wrote.
   */
  readonly operator = (name: string, ...args: string[]) =>
    this.lab.operatorRun("npm", ["run", "--silent", name, "--", ...args, "--stack", STACK, "--cwd", this.engine.workDir], this.engine.environment(), name);

  readonly sh = (node: string, cmd: string) => this.lab.ssh(node, "root", cmd, { allowFail: true });

  readonly healthUrl = (node: string): string => {
    const o = this.spec.nodes[node]!.optimalos;
    const host = o.bind === "tailnet" ? this.sh(node, "tailscale ip -4").stdout.trim() : "127.0.0.1";
    return `http://${host}:${o.port}${o.healthPath}`;
  };

  readonly healthy = (node: string): boolean => this.sh(node, `curl -fsS --max-time 3 ${this.healthUrl(node)}`).code === 0;

  readonly units = (node: string): readonly string[] => this.meshPlan.nodes.find((n) => n.node === node)!.deploy.units;

  readonly nodes = (): string[] => Object.keys(this.lab.dialMap()).sort();

  /**
   * SSH sessions each host accepted so far, counted by its own sshd: every remote command the
   * stand-in runs opens one. The count's own session is one more each time it is read.
   */
  readonly sessions = (): Record<string, number> =>
    Object.fromEntries(
      this.nodes().map((n) => [n, Number(this.sh(n, "journalctl -q _COMM=sshd -o cat | grep -c '^Accepted publickey' || true").stdout.trim())]),
    );

  readonly ranOn = (before: Record<string, number>, after: Record<string, number>): Record<string, number> =>
    Object.fromEntries(this.nodes().map((n) => [n, (after[n] ?? 0) - (before[n] ?? 0) - 1]));

  /** The cloud-init modules that failed on the cockpit's first boot. */
  readonly firstBootErrors = (): string[] =>
    [...this.sh(COCKPIT, "cloud-init status --long").stdout.matchAll(/^\('([a-z0-9_-]+)', /gm)].map((m) => m[1]!).sort();

  readonly exported = async () => ((await this.engine.exportStack()) as { deployment: Deployment & { resources: StateCommand[] } }).deployment;
}
