// npm run dr-rebuild -- <node> [--stack prod] [--yes]
// Rebuilds one node: the cockpit (a new server; primary IP, tunnel and DNS kept) or a home node
// (bootstrap and deploy again), then waits until it is healthy with its heartbeat run, printing
// each phase with its time. Without --yes it only prints what it would do.
import { parseCommandLine, positiveInteger, ProgramBug, projectOption, runCommand, stackName, UsageError } from "./lib/cli";
import { openStack } from "./lib/engine-stack";
import { engineUrns, evaluateOffline } from "../offline/evaluate";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { POLICY_CONFIG_FILE, renderPolicyPackConfig } from "./lib/policy-config";
import { planMesh } from "../plan/mesh-plan";
import { automationOps } from "./lib/rebuild-ops";
import { rebuildPlan, runRebuild, withoutMeshPaths } from "./lib/rebuild";
import { PROJECT_ROOT, readStackConfig, stackMesh } from "../stacks/stackfile";

const USAGE = `usage: npm run dr-rebuild -- <node> [--stack NAME] [--cwd DIR] [--yes] [--timeout SECONDS]

Rebuilds <node> of the stack (default prod): prints the phases, the config it changes and the
resources it forgets and replaces; with --yes it does them through the Automation API (needs the
Pulumi CLI, logged in, tailscale:apiKey in the stack, ssh-keyscan, and this machine on the
tailnet): adoption ids of what it replaces leave the config, the lost machine's tailnet device is
removed, what ran on it is dropped from the state, the server (and its single-use key) replaced,
the new host key read over the tailnet and pinned, then a full up; then it waits until
OptimalOS answers on the node.
Exit status: 0 rebuilt (or, without --yes, planned), 1 the rebuild failed, 2 could not start.`;

const t0 = Date.now();
const say = (line: string) => process.stderr.write(`dr-rebuild [${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      stack: { type: "string", default: "prod", value: "NAME" },
      yes: { type: "boolean" },
      timeout: { type: "string", default: "900", value: "SECONDS" },
      cwd: { type: "string", value: "DIR" },
    },
    process.argv.slice(2),
    { max: 1, name: "node" },
  );
  const stack = stackName(values.stack);
  const dir = projectOption(values.cwd, PROJECT_ROOT);
  const timeout = positiveInteger("timeout", values.timeout, "900");
  const node = positionals[0];
  if (node === undefined) throw new UsageError("no node given", "name the node to rebuild: npm run dr-rebuild -- NODE (e.g. hetzner-cockpit)");
  const config = readStackConfig(dir, stack);
  const spec = stackMesh(config);
  // Own keys only: "toString" or "__proto__" are not nodes, whatever an object inherits.
  if (!Object.hasOwn(spec.nodes, node))
    throw new UsageError(`no node named ${JSON.stringify(node)} in stack ${stack}`, `name one of ${Object.keys(spec.nodes).sort().join(", ")}`);
  const plan = rebuildPlan(spec, stack, node);
  say(`${node} (${plan.kind}) will be rebuilt:`);
  plan.phases.forEach((p, i) => say(`  ${i + 1}. ${p}`));

  // The URNs the rebuild acts on, as the program registers them in the rebuild's ups: with the
  // config it removes already removed (an adopted server's id: its fresh auth key is registered then).
  const mesh = withoutMeshPaths(JSON.parse(config.values["optimal-mesh:mesh"] ?? "{}") as object, plan.clearConfig);
  const evaluation = await evaluateOffline({ ...config, values: { ...config.values, "optimal-mesh:mesh": JSON.stringify(mesh) } });
  if (evaluation.error !== undefined) throw new ProgramBug("the offline evaluation of a validated stack failed", { cause: evaluation.error });
  const urnsOf = (name: string) => {
    const r = evaluation.registrations.find((x) => x.name === name);
    if (r === undefined) throw new ProgramBug(`the rebuild names ${name}, which the program does not register`);
    return engineUrns(evaluation.registrations, r, stack, config.project);
  };
  const urnOf = (name: string) => urnsOf(name).urn;
  for (const path of plan.clearConfig) say(`  config: remove ${path}`);
  for (const name of plan.forget) say(`  forget ${urnOf(name)}`);
  for (const name of plan.replace) say(`  replace ${urnOf(name)}`);
  if (plan.pinHostKey) say(`  config: pin ${node}'s new SSH host key, read over the tailnet`);
  if (!values.yes) {
    say("nothing done: run again with --yes to rebuild");
    return 0;
  }

  const s = await openStack(dir, stack);
  // Every up runs the policy pack with this topology's config, as the workflows do.
  const packConfig = path.join(fs.mkdtempSync(path.join(tmpdir(), "optimal-mesh-pack-")), POLICY_CONFIG_FILE);
  fs.writeFileSync(packConfig, renderPolicyPackConfig(planMesh(spec, stack)));
  const policy = { pack: path.join(PROJECT_ROOT, "policy"), config: packConfig };
  await runRebuild(
    plan,
    urnsOf,
    automationOps(s, (line) => process.stderr.write(line), policy),
    (line) => say(`phase: ${line}`),
  );
  const changed = [...(plan.pinHostKey ? ["the new host key is pinned"] : []), ...(plan.clearConfig.length > 0 ? ["adoption ids removed"] : [])];
  if (changed.length > 0) say(`the stack file changed (${changed.join(", ")}): commit Pulumi.${stack}.yaml`);

  const os = spec.nodes[node]!.optimalos;
  const url = `http://${node}:${os.port}${os.healthPath}`;
  say(`phase: wait until ${url} answers`);
  const deadline = Date.now() + timeout * 1000;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      say(`failed: ${node} did not become healthy in ${timeout}s`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
  say(`done: ${node} is healthy and its heartbeat ran in the up (recovery ${((Date.now() - t0) / 1000).toFixed(0)}s)`);
  return 0;
}

runCommand("dr-rebuild", main, { usage: USAGE });
