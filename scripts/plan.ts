// npm run plan [-- --stack NAME] [--config-file FILE] [--out DIR] [--quiet]
// The offline plan: evaluates index.ts under Pulumi's mock runtime, prints the resource tree and
// writes every rendered artifact to out/<stack>/. Exits 1 with the validation report on bad config,
// 2 on a usage mistake, an unreadable stack file or an out folder it must not write (nothing written).
import * as fs from "node:fs";
import * as path from "node:path";
import { MeshConfigError } from "../stacks/validate";
import { parseCommandLine, pathOption, ProgramBug, quote, runCommand, stackName, UsageError } from "./lib/cli";
import { evaluateOffline } from "../offline/evaluate";
import { planMesh } from "../plan/mesh-plan";
import { commentText } from "../text/escape";
import { adoptionProblems } from "../stacks/rules";
import { renderPlan, type PlanReport } from "./lib/render-plan";
import { POLICY_CONFIG_FILE, renderPolicyPackConfig } from "./lib/policy-config";
import { plaintextSecrets, PROJECT_ROOT, readStackConfig, stackMesh } from "../stacks/stackfile";
import { checkOutDir, writePlanFiles } from "./lib/write-plan";

const ROOT = PROJECT_ROOT;

const USAGE = `usage: npm run plan -- [--stack NAME] [--config-file FILE] [--out DIR] [--quiet] [--stacks]

Evaluates the program offline for one stack (default prod) and writes out/<stack>/:
  plan.txt         the text printed here
  resources.json   every registration with all its inputs (secrets masked)
  outputs.json     the stack outputs
  <artifacts>      every rendered file (placeholders where secrets go)
--config-file reads the stack's config from FILE instead of Pulumi.<stack>.yaml.
--out DIR writes there instead: a new or empty folder, or one an earlier plan wrote (it has
  .plan-files); files of the earlier plan are replaced, anything else is left alone.
--quiet prints only the summary line.
--stacks keeps stack traces while the program runs (slower; for debugging the program).
Exit status: 0 planned, 1 the config has problems (all listed), 2 a usage mistake, an unreadable
stack file or an out folder the plan cannot take (nothing written).`;

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    stack: { type: "string", default: "prod", value: "NAME" },
    "config-file": { type: "string", value: "FILE" },
    out: { type: "string", value: "DIR" },
    quiet: { type: "boolean" },
    stacks: { type: "boolean" },
  });
  // The stack name becomes the file name Pulumi.<stack>.yaml and the folder out/<stack>.
  const stack = stackName(values.stack);
  const configFile = values["config-file"] === undefined ? undefined : pathOption("config-file", values["config-file"], "FILE");
  const outDir = path.resolve(values.out === undefined ? path.join(ROOT, "out", stack) : pathOption("out", values.out, "DIR"));
  if (values.out !== undefined && fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) {
    throw new UsageError(`--out ${quote(values.out)} is a file, not a folder`, "write --out with a new or empty folder (or one an earlier plan wrote)");
  }
  // Refused before the (slow) evaluation: a folder with someone else's files is never the plan's.
  checkOutDir(outDir);
  const config = readStackConfig(ROOT, stack, configFile);
  const plaintext = plaintextSecrets(config);
  if (plaintext.length > 0)
    console.error(
      `plan: warning: secret setting${plaintext.length === 1 ? "" : "s"} written in plain text in the stack file: ${plaintext.join(", ")}; rotate, then set with pulumi config set --secret (plan.txt says how)`,
    );
  const evaluation = await evaluateOffline(config, { stacks: values.stacks });

  if (evaluation.error !== undefined) {
    if (evaluation.error instanceof MeshConfigError) {
      console.error(evaluation.error.message);
      if (evaluation.registrations.length > 0) console.error(`(bug: ${evaluation.registrations.length} resources were registered before validation failed)`);
      return 1;
    }
    if (!values.stacks) console.error("(the program failed; run again with --stacks for its stack trace)");
    throw new ProgramBug("the program failed on a validated config", { cause: evaluation.error });
  }

  // The files and checks come from the mesh plan the program registered; the policy pack's config
  // for this stack goes beside them: every documented up passes it.
  const spec = stackMesh(config);
  const mesh = planMesh(spec, stack);
  const planned: PlanReport = {
    registrations: evaluation.registrations,
    outputs: evaluation.outputs,
    artifacts: [...mesh.artifacts, { path: POLICY_CONFIG_FILE, text: renderPolicyPackConfig(mesh) }].sort((a, b) => a.path.localeCompare(b.path)),
    checks: mesh.checks,
    // Paths and messages may quote config values: plan.txt shows them escaped, one line each.
    notices: adoptionProblems(spec).map((n) => commentText(`${n.path}: ${n.message} (fix: ${n.fix})`)),
  };
  const text = renderPlan(config, planned);
  const written = writePlanFiles(outDir, text, planned);
  const where = `${path.relative(process.cwd(), outDir) || "."}/`;

  if (values.quiet) console.log(text.trimEnd().split("\n").pop());
  else process.stdout.write(text);
  console.log(`Wrote ${where}: ${written.files} files (${written.changed} new or changed, ${written.removed} removed, the rest as they were)`);
  if (written.kept.length > 0) {
    console.error(
      `plan: warning: kept ${written.kept.length} file${written.kept.length === 1 ? "" : "s"} of the earlier plan that changed since it wrote them: ${written.kept.join(", ")}; delete them if they are not needed`,
    );
  }
  return 0;
}

// Bad config exits 1 (with its report, above); a failure of the program is a bug and exits 1 too, as before.
runCommand("plan", main, { usage: USAGE, failure: 2, bug: 1 });
