// npm run drift -- [--stack prod] [--cloud-only | --nodes-only] [--source state|plan] [--identity FILE] [--report FILE]
// Cloud drift through the Automation API (a refresh preview; each change it would make is named) and node
// drift over SSH (deployed unit and env files and unit states against the deploy). Exit 0: no
// drift; 1: drift; 2: could not check.
import * as fs from "node:fs";
import { oneOf, parseCommandLine, pathOption, projectOption, runCommand, stackName, UsageError } from "./lib/cli";
import { deploysFromPlan, deploysFromState, sshExec, type NodeTarget } from "./lib/deploys";
import { openStack } from "./lib/engine-stack";
import { nodeDrift, renderNodeDrift, renderRepair, undeployed } from "./lib/node-drift";
import { PROJECT_ROOT, readStackConfig, stackMesh } from "../stacks/stackfile";
import { commentText } from "../text/escape";

const USAGE = `usage: npm run drift -- [options]

  --stack NAME        the stack (default prod)
  --cwd DIR           the project folder with Pulumi.yaml and the stack file (default: this checkout)
  --cloud-only        only cloud drift: \`pulumi preview --refresh --expect-no-changes\` via the Automation API
  --nodes-only        only node drift: each node's unit and env files and unit states, over SSH
                      (one of --cloud-only and --nodes-only at most; neither: both checks)
  --source state|plan where the expected files come from: the stack's last deploy (default; needs the
                      Pulumi CLI, logged in) or the offline plan (secret files are then not compared)
  --identity FILE     SSH private key, with --source plan (from state the stack's key is used)
  --report FILE       also append the report (markdown) to FILE, e.g. "$GITHUB_STEP_SUMMARY"

When anything drifted, the report ends with the one up that repairs it: --refresh for the cloud (a
plain up compares the program with the state only), --replace of each drifted node's deploy (its
inputs have not changed; it runs the remove script, then deploys again, restarting its services).

Exit status: 0 no drift, 1 drift found, 2 could not check.`;

const progress = (line: string) => process.stderr.write(`drift: ${line}\n`);

/** The steps a refresh preview reports that are not changes: reading the cloud, leaving a resource as it is. */
const NOT_CHANGES = new Set(["same", "refresh", "read"]);

/**
 * Cloud drift: a refresh preview (the cloud read through the providers, then the program's
 * resources compared with what was read). Each step the next up would take is named with its
 * resource, its type and the keys that differ. A preview that fails is "could not check" (thrown).
 */
async function cloudDrift(dir: string, stack: string): Promise<{ text: string; clean: boolean }> {
  progress(`cloud: refresh preview of ${stack} (Automation API)`);
  const s = await openStack(dir, stack);
  const changes: string[] = [];
  const r = await s.preview({
    refresh: true,
    onOutput: (o) => process.stderr.write(o),
    onEvent: (e) => {
      const m = e.resourcePreEvent?.metadata;
      if (m === undefined || NOT_CHANGES.has(m.op)) return;
      const keys = m.diffs !== undefined && m.diffs.length > 0 ? `: ${m.diffs.join(", ")}` : "";
      changes.push(`  ${m.op} ${m.urn.slice(m.urn.lastIndexOf("::") + 2)} (${m.type})${keys}`);
    },
  });
  if (changes.length === 0) return { text: `cloud drift: none (${r.changeSummary.same ?? 0} resources unchanged)\n`, clean: true };
  return {
    // A plain up compares the program with the state only: it repairs the drift after a refresh.
    text: `cloud drift: ${changes.length} resource(s) differ from the program; \`pulumi up --refresh\` would:\n${commentLines(changes)}\n`,
    clean: false,
  };
}

/** What the cloud answered reaches the terminal as text: control characters written as \\uXXXX. */
function commentLines(lines: readonly string[]): string {
  return lines.map(commentText).join("\n");
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    stack: { type: "string", default: "prod", value: "NAME" },
    "cloud-only": { type: "boolean" },
    "nodes-only": { type: "boolean" },
    source: { type: "string", default: "state", value: "state|plan" },
    identity: { type: "string", value: "FILE" },
    report: { type: "string", value: "FILE" },
    cwd: { type: "string", value: "DIR" },
  });
  const stack = stackName(values.stack);
  const dir = projectOption(values.cwd, PROJECT_ROOT);
  const source = oneOf("source", values.source, ["state", "plan"]);
  const identity = values.identity === undefined ? undefined : pathOption("identity", values.identity, "FILE");
  const report = values.report === undefined ? undefined : pathOption("report", values.report, "FILE");
  // Both would check nothing and report "no drift".
  if (values["cloud-only"] && values["nodes-only"])
    throw new UsageError("--cloud-only and --nodes-only exclude each other", "give one of them, or neither for both checks");
  const sections: { text: string; clean: boolean }[] = [];
  let cloudDrifted = false;
  let replace: readonly string[] = [];

  if (!values["nodes-only"]) {
    const cloud = await cloudDrift(dir, stack);
    cloudDrifted = !cloud.clean;
    sections.push(cloud);
  }
  if (!values["cloud-only"]) {
    progress(`nodes: reading the expected files from the ${source === "state" ? "stack's last deploy" : "offline plan"}`);
    const targets: NodeTarget[] = source === "state" ? deploysFromState(dir, stack) : await deploysFromPlan(dir, stack);
    const { exec, cleanup } = sshExec(targets, identity);
    try {
      const declared = Object.keys(stackMesh(readStackConfig(dir, stack)).nodes);
      const reports = [...nodeDrift(targets, exec, progress), ...undeployed(declared, targets)].sort((a, b) => a.node.localeCompare(b.node));
      const nodes = renderNodeDrift(reports);
      replace = nodes.replace;
      sections.push(nodes);
    } finally {
      cleanup();
    }
  }
  let text = sections.map((s) => s.text).join("\n");
  // One up repairs both: the refresh takes in the cloud's changes, each drifted node's deploy runs again.
  if (cloudDrifted || replace.length > 0) text += `\n${renderRepair(stack, cloudDrifted, replace)}\n`;
  process.stdout.write(text);
  if (report !== undefined) fs.appendFileSync(report, `### Drift of ${stack}\n\n${text}\n`);
  return sections.every((s) => s.clean) ? 0 : 1;
}

runCommand("drift", main, { usage: USAGE });
