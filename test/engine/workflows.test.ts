// The workflows' steps run locally, in order, against the engine harness: each pulumi/actions
// step becomes the CLI call the action makes (same command, flags, policy pack and pack config),
// each `npm run` step runs the command itself with --stack/--cwd naming the harness's project.
// Steps that need GitHub or the real tailnet are listed, not run; an unknown step fails the test.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as yaml from "js-yaml";
import type { Engine, RunResult } from "../../engine/harness";
import { advanceClock, readJournal } from "../../engine/stand-ins/cloud";
import { labConfig, labEngine, type OperatorKeys } from "./lab-stack";
import { newWorker, ROOT, runScriptAsync, tmpDir, type Raw } from "../helpers";

interface WorkflowStep {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string | boolean | undefined>;
}

/** The steps of a workflow's job that runs pulumi (preview.yml has a test job before it). */
function pulumiJob(file: string): WorkflowStep[] {
  const w = yaml.load(fs.readFileSync(path.join(ROOT, ".github/workflows", file), "utf8")) as { jobs: Record<string, { steps: WorkflowStep[] }> };
  const jobs = Object.values(w.jobs).filter((j) => j.steps.some((s) => s.uses?.startsWith("pulumi/actions") && s.with?.command !== undefined));
  assert.equal(jobs.length, 1, `${file}: one job runs pulumi`);
  return jobs[0]!.steps;
}

/** Steps that need GitHub, the real tailnet or Tailscale's API: not run here (each kind named). */
const NOT_RUN_HERE: readonly RegExp[] = [
  /^actions\/(checkout|setup-node|upload-artifact)@/, // the checkout is this one
  /^tailscale\/github-action@/, // joins the real tailnet
  /^npm ci$/,
  /^npm run validate-policy /, // Tailscale's API (tested against a loopback fake in test/validate-policy.test.ts)
  /^npm run drift -- .*--nodes-only/, // SSH to the nodes: the lab runs node drift on real hosts
];

interface Outcome {
  /** What ran, in order, as `what: ok|failed`. */
  readonly ran: string[];
  readonly failed?: { readonly step: string; readonly result?: RunResult; readonly output?: string };
}

describe("engine: the workflows' steps, run in order against the harness", { timeout: 900_000 }, () => {
  let engine: Engine;
  let keys: OperatorKeys;
  let mesh: Raw;
  let skip: string | undefined;
  let out: string;

  before(async () => {
    const f = await labEngine("Workflow", { config: false });
    if (typeof f === "string") {
      skip = f;
      return;
    }
    ({ engine, keys, mesh } = f);
    out = tmpDir("workflow-out");
  });
  after(() => engine?.dispose());

  /** Runs the pulumi job of `file` with the stack's config as `topology`; stops at the first failing step, as the runner does. */
  async function runWorkflow(file: string, topology: Raw): Promise<Outcome> {
    engine.setConfig(labConfig(topology, keys));
    // In the stack file before the first step, as the workflow's checkout has it committed.
    await engine.writeConfig();
    const stackFile = path.join(engine.workDir, `Pulumi.${engine.stack}.yaml`);
    const ran: string[] = [];
    for (const step of pulumiJob(file)) {
      const what = step.name ?? step.run ?? `${step.uses} ${String(step.with?.command ?? "")}`.trim();
      const command = step.run?.trim();
      if ([step.uses, command].some((s) => s !== undefined && NOT_RUN_HERE.some((p) => p.test(s)))) continue;
      if (command?.startsWith("npm run ")) {
        const [script, ...rest] = command.slice("npm run ".length).replace(" -- ", " ").split(/\s+/);
        const args = rest.filter((a, i) => a !== "--stack" && rest[i - 1] !== "--stack" && !a.startsWith('"$'));
        const extra =
          script === "plan" ? ["--stack", engine.stack, "--config-file", stackFile, "--out", out] : ["--stack", engine.stack, "--cwd", engine.workDir];
        const r = await runScriptAsync(script!, [...args, ...extra], engine.environment());
        ran.push(`${command}: ${r.code === 0 ? "ok" : "failed"}`);
        if (r.code !== 0) return { ran, failed: { step: what, output: `${r.stdout}\n${r.stderr}` } };
        continue;
      }
      if (step.uses?.startsWith("pulumi/actions@")) {
        const w = step.with ?? {};
        if (w.command === undefined) continue; // installs the CLI: the harness has the one built here
        assert.equal(w["stack-name"], "prod", `${file}: the workflows act on prod`);
        const pack =
          w.policyPacks === undefined
            ? {}
            : { policyPack: { dir: path.join(ROOT, String(w.policyPacks)), config: String(w.policyPackConfigs).replace(/^out\/prod\//, `${out}/`) } };
        const r =
          w.command === "preview"
            ? await engine.preview({
                ...pack,
                ...(w.refresh === true ? { refresh: true } : {}),
                ...(w["expect-no-changes"] === true ? { expectNoChanges: true } : {}),
              })
            : w.command === "up"
              ? await engine.up(pack)
              : assert.fail(`${file}: pulumi/actions command ${String(w.command)} is not translated`);
        ran.push(`pulumi ${String(w.command)}: ${r.ok ? "ok" : "failed"}`);
        if (!r.ok) return { ran, failed: { step: what, result: r } };
        continue;
      }
      assert.fail(`${file}: step ${JSON.stringify(what)} is neither run here nor listed as not run here`);
    }
    return { ran };
  }

  it("workflow: up.yml on main converges a fresh estate (plan, the adoption check, preview, up), and a second run changes nothing", async (t) => {
    if (skip) return t.skip(skip);
    const first = await runWorkflow("up.yml", mesh);
    assert.equal(first.failed, undefined, JSON.stringify(first.failed?.result?.error ?? first.failed?.output));
    assert.deepEqual(first.ran, ["npm run plan -- --quiet: ok", "npm run import -- --check --stack prod: ok", "pulumi preview: ok", "pulumi up: ok"]);
    const writes = readJournal(engine.cloud).length;
    assert.ok(writes > 20);
    const second = await runWorkflow("up.yml", mesh);
    assert.equal(second.failed, undefined);
    assert.equal(readJournal(engine.cloud).length, writes, "the second run wrote nothing");
  });

  it("workflow: preview.yml of a pull request that opens another port to the internet fails at the preview with the policy's message; nothing changes", async (t) => {
    if (skip) return t.skip(skip);
    const before = readJournal(engine.cloud).length;
    const broken = structuredClone(mesh);
    broken.nodes["hetzner-cockpit"].ssh.port = 2222;
    const r = await runWorkflow("preview.yml", broken);
    assert.equal(r.failed?.step, "pulumi/actions@v6 preview");
    assert.match(r.failed?.result?.stdout ?? "", /rule 0 opens tcp 2222 to the internet/);
    assert.deepEqual(readJournal(engine.cloud).slice(before), []);
  });

  it("workflow: preview.yml of a pull request adding a node passes", async (t) => {
    if (skip) return t.skip(skip);
    const grown = structuredClone(mesh);
    grown.nodes["gpu-2"] = newWorker();
    const r = await runWorkflow("preview.yml", grown);
    assert.equal(r.failed, undefined, JSON.stringify(r.failed?.result?.error ?? r.failed?.output));
    assert.deepEqual(r.ran, ["npm run plan -- --quiet: ok", "pulumi preview: ok"]);
  });

  it("workflow: drift.yml's refresh preview expecting no changes passes on the converged estate a day later (the cockpit's auth key expired), and fails on a DNS record changed by hand", async (t) => {
    if (skip) return t.skip(skip);
    advanceClock(engine.cloud, 25 * 3600);
    const clean = await runWorkflow("drift.yml", mesh);
    assert.equal(clean.failed, undefined, JSON.stringify(clean.failed?.result?.stdout.slice(-3000)));
    assert.deepEqual(clean.ran, ["pulumi preview: ok"]);
    const file = path.join(engine.cloud, "cloudflare.json");
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as { collections: { dns_records: Record<string, { name: string; content: string }> } };
    for (const r of Object.values(state.collections.dns_records)) r.content = "elsewhere.example.net";
    fs.writeFileSync(file, JSON.stringify(state));
    const drifted = await runWorkflow("drift.yml", mesh);
    assert.equal(drifted.failed?.step, "pulumi/actions@v6 preview");
    assert.match(drifted.failed?.result?.error ?? "", /no changes were expected for preview but changes were proposed/);
  });
});
