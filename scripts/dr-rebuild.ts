// npm run dr-rebuild -- <node> [--stack prod] [--yes]
// Rebuilds one node: the cockpit (a new server; primary IP, tunnel and DNS kept) or a home node
// (bootstrap and deploy again), then waits until it is healthy with its heartbeat run, printing
// each phase with its time. Without --yes it only prints what it would do.
import { parseArgs } from "node:util";
import { selectStack } from "./lib/deploys";
import { engineUrn, evaluateOffline } from "./lib/offline";
import { rebuildPlan } from "./lib/rebuild";
import { PROJECT_ROOT, readStackConfig, stackMesh } from "./lib/stackfile";

const ROOT = PROJECT_ROOT;
const USAGE = `usage: npm run dr-rebuild -- <node> [--stack NAME] [--yes] [--timeout SECONDS]

Rebuilds <node> of the stack (default prod): prints the phases and the resources it replaces,
and with --yes runs \`pulumi up --replace ...\` through the Automation API (needs the Pulumi CLI,
logged in, and this machine on the tailnet), then waits until OptimalOS answers on the node.
Exit status: 0 rebuilt (or, without --yes, planned), 1 the rebuild failed, 2 could not start.`;

const t0 = Date.now();
const say = (line: string) => process.stderr.write(`dr-rebuild [${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { stack: { type: "string", default: "prod" }, yes: { type: "boolean", default: false }, timeout: { type: "string", default: "900" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const stack = values.stack!;
  const node = positionals[0]!;
  const config = readStackConfig(ROOT, stack);
  const spec = stackMesh(config);
  const plan = rebuildPlan(spec, stack, node);
  say(`${node} (${plan.kind}) will be rebuilt:`);
  plan.phases.forEach((p, i) => say(`  ${i + 1}. ${p}`));

  const evaluation = await evaluateOffline(config);
  if (evaluation.error !== undefined) throw evaluation.error;
  const urns = plan.replace.map((name) => {
    const r = evaluation.registrations.find((x) => x.name === name);
    if (r === undefined) throw new Error(`the plan has no resource ${name}`);
    return engineUrn(evaluation.registrations, r, stack, config.project);
  });
  for (const u of urns) say(`  replace ${u}`);
  if (!values.yes) {
    say("nothing done: run again with --yes to rebuild");
    return 0;
  }

  say("phase: replace (pulumi up)");
  const s = await selectStack(ROOT, stack);
  const up = await s.up({ replace: urns, onOutput: (o) => process.stderr.write(o) });
  say(`phase: replace done (${JSON.stringify(up.summary.resourceChanges ?? {})})`);

  const os = spec.nodes[node]!.optimalos;
  const url = `http://${node}:${os.port}${os.healthPath}`;
  say(`phase: wait until ${url} answers`);
  const deadline = Date.now() + Number(values.timeout) * 1000;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(3000) }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      say(`failed: ${node} did not become healthy in ${values.timeout}s`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
  say(`done: ${node} is healthy and its heartbeat ran in the up (recovery ${((Date.now() - t0) / 1000).toFixed(0)}s)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`cannot rebuild: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
