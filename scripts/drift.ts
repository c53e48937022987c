// npm run drift -- [--stack prod] [--cloud-only | --nodes-only] [--source state|plan] [--identity FILE] [--report FILE]
// Cloud drift through the Automation API (a refresh preview that expects no changes) and node
// drift over SSH (deployed unit and env files and unit states against the deploy). Exit 0: no
// drift; 1: drift; 2: could not check.
import * as fs from "node:fs";
import { oneOf, parseCommandLine, pathOption, runCommand, stackName, UsageError } from "./lib/cli";
import { deploysFromPlan, deploysFromState, selectStack, sshExec, type NodeTarget } from "./lib/deploys";
import { nodeDrift, renderNodeDrift } from "./lib/node-drift";
import { PROJECT_ROOT } from "./lib/stackfile";

const ROOT = PROJECT_ROOT;
const USAGE = `usage: npm run drift -- [options]

  --stack NAME        the stack (default prod)
  --cloud-only        only cloud drift: \`pulumi preview --refresh --expect-no-changes\` via the Automation API
  --nodes-only        only node drift: each node's unit and env files and unit states, over SSH
                      (one of --cloud-only and --nodes-only at most; neither: both checks)
  --source state|plan where the expected files come from: the stack's last deploy (default; needs the
                      Pulumi CLI, logged in) or the offline plan (secret files are then not compared)
  --identity FILE     SSH private key, with --source plan (from state the stack's key is used)
  --report FILE       also append the report (markdown) to FILE, e.g. "$GITHUB_STEP_SUMMARY"

Exit status: 0 no drift, 1 drift found, 2 could not check.`;

const progress = (line: string) => process.stderr.write(`drift: ${line}\n`);

async function cloudDrift(stack: string): Promise<{ text: string; clean: boolean }> {
  progress(`cloud: refresh preview of ${stack} (Automation API)`);
  const s = await selectStack(ROOT, stack);
  try {
    const r = await s.preview({ refresh: true, expectNoChanges: true, onOutput: (o) => process.stderr.write(o) });
    const changes = Object.entries(r.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
    return { text: `cloud drift: none (${r.changeSummary.same ?? 0} resources unchanged)\n`, clean: changes.length === 0 };
  } catch (err) {
    return { text: `cloud drift: the refreshed stack differs from the program:\n${err instanceof Error ? err.message : String(err)}\n`, clean: false };
  }
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    stack: { type: "string", default: "prod", value: "NAME" },
    "cloud-only": { type: "boolean" },
    "nodes-only": { type: "boolean" },
    source: { type: "string", default: "state", value: "state|plan" },
    identity: { type: "string", value: "FILE" },
    report: { type: "string", value: "FILE" },
  });
  const stack = stackName(values.stack);
  const source = oneOf("source", values.source, ["state", "plan"]);
  const identity = values.identity === undefined ? undefined : pathOption("identity", values.identity, "FILE");
  const report = values.report === undefined ? undefined : pathOption("report", values.report, "FILE");
  // Both would check nothing and report "no drift".
  if (values["cloud-only"] && values["nodes-only"])
    throw new UsageError("--cloud-only and --nodes-only exclude each other", "give one of them, or neither for both checks");
  const sections: { text: string; clean: boolean }[] = [];

  if (!values["nodes-only"]) sections.push(await cloudDrift(stack));
  if (!values["cloud-only"]) {
    progress(`nodes: reading the expected files from the ${source === "state" ? "stack's last deploy" : "offline plan"}`);
    const targets: NodeTarget[] = source === "state" ? deploysFromState(ROOT, stack) : await deploysFromPlan(ROOT, stack);
    const { exec, cleanup } = sshExec(targets, identity);
    try {
      sections.push(renderNodeDrift(nodeDrift(targets, exec, progress)));
    } finally {
      cleanup();
    }
  }
  const text = sections.map((s) => s.text).join("\n");
  process.stdout.write(text);
  if (report !== undefined) fs.appendFileSync(report, `### Drift of ${stack}\n\n${text}\n`);
  return sections.every((s) => s.clean) ? 0 : 1;
}

runCommand("drift", main, { usage: USAGE });
