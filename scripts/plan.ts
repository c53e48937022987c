// npm run plan [-- --stack NAME] [--config-file FILE] [--out DIR] [--quiet]
// The offline plan: evaluates index.ts under Pulumi's mock runtime, prints the resource tree and
// writes every rendered artifact to out/<stack>/. Exits 1 with the validation report on bad config.
import * as path from "node:path";
import { parseArgs } from "node:util";
import { MeshConfigError } from "../stacks/validate";
import { evaluateOffline } from "./lib/offline";
import { renderPlan } from "./lib/render-plan";
import { PROJECT_ROOT, readStackConfig, StackFileError } from "./lib/stackfile";
import { writePlanFiles } from "./lib/write-plan";

const ROOT = PROJECT_ROOT;

const USAGE = `usage: npm run plan -- [--stack NAME] [--config-file FILE] [--out DIR] [--quiet] [--stacks]

Evaluates the program offline for one stack (default prod) and writes out/<stack>/:
  plan.txt         the text printed here
  resources.json   every registration with all its inputs (secrets masked)
  outputs.json     the stack outputs
  <artifacts>      every rendered file (secret ones are not written)
--config-file reads the stack's config from FILE instead of Pulumi.<stack>.yaml.
--quiet prints only the summary line.
--stacks keeps stack traces while the program runs (slower; for debugging the program).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string", default: "prod" },
      "config-file": { type: "string" },
      out: { type: "string" },
      quiet: { type: "boolean", default: false },
      stacks: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const stack = values.stack!;
  const config = readStackConfig(ROOT, stack, values["config-file"]);
  const evaluation = await evaluateOffline(config, { stacks: values.stacks! });

  if (evaluation.error !== undefined) {
    if (evaluation.error instanceof MeshConfigError) {
      console.error(evaluation.error.message);
      if (evaluation.registrations.length > 0) console.error(`(bug: ${evaluation.registrations.length} resources were registered before validation failed)`);
      return 1;
    }
    if (!values.stacks) console.error("(the program failed; run again with --stacks for its stack trace)");
    throw evaluation.error;
  }

  const text = renderPlan(config, evaluation);
  const outDir = path.resolve(values.out ?? path.join(ROOT, "out", stack));
  const written = writePlanFiles(outDir, text, evaluation);
  const where = `${path.relative(process.cwd(), outDir) || "."}/`;

  if (values.quiet) console.log(text.trimEnd().split("\n").pop());
  else process.stdout.write(text);
  console.log(`Wrote ${where}: ${written.files} files (${written.changed} new or changed, ${written.removed} removed, the rest as they were)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof StackFileError) console.error(err.message);
    else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(err instanceof StackFileError ? 2 : 1);
  },
);
