// npm run doctor -- [--stack prod] [--source state|plan] [--identity FILE]
// The troubleshooting table as automated checks, run from a machine on the tailnet: tailnet
// reachability, optimalos.service, OptimalOS reachable by peers, MagicDNS with the IPv4 fallback,
// the SSH trust's pinned host key, cloudflared on each tunnel's node, and each tunnel's edge.
// Every failure comes with the fix. Exit 0 all ok, 1 something failed, 2 could not run.
import { spawnSync } from "node:child_process";
import { lookup } from "node:dns/promises";
import { oneOf, parseCommandLine, pathOption, runCommand, stackName } from "./lib/cli";
import { deploysFromPlan, deploysFromState, sshExec } from "./lib/deploys";
import { renderFindings, runDoctor, type Probe } from "./lib/doctor";
import { planMesh } from "../plan/mesh-plan";
import { PROJECT_ROOT, readStackConfig, stackMesh } from "../stacks/stackfile";

const ROOT = PROJECT_ROOT;
const USAGE = `usage: npm run doctor -- [--stack NAME] [--source state|plan] [--identity FILE]

Runs the troubleshooting checks against the stack's nodes (default prod) from this machine, which
must be on the tailnet. SSH checks use the stack's key from its state (--source state, needs the
Pulumi CLI) or --identity FILE with --source plan; without either they are skipped.
Exit status: 0 all checks ok, 1 a check failed, 2 could not run.`;

async function http(url: string): ReturnType<Probe["http"]> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5000), redirect: "manual" })).status;
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { name?: string }).name;
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "unresolved";
    if (code === "ECONNREFUSED") return "refused";
    if (code === "TimeoutError" || code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return "timeout";
    return "error";
  }
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    stack: { type: "string", default: "prod", value: "NAME" },
    source: { type: "string", default: "state", value: "state|plan" },
    identity: { type: "string", value: "FILE" },
  });
  const stack = stackName(values.stack);
  const source = oneOf("source", values.source, ["state", "plan"]);
  const identity = values.identity === undefined ? undefined : pathOption("identity", values.identity, "FILE");
  const spec = stackMesh(readStackConfig(ROOT, stack));
  let ssh: ReturnType<typeof sshExec> | undefined;
  try {
    const targets = source === "plan" ? await deploysFromPlan(ROOT, stack) : deploysFromState(ROOT, stack);
    if (source === "state" || identity !== undefined) ssh = sshExec(targets, identity);
  } catch (err) {
    process.stderr.write(`doctor: SSH checks skipped: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  const probe: Probe = {
    reachable: async (node) => spawnSync("tailscale", ["ping", "-c", "1", "--timeout", "5s", node], { encoding: "utf8" }).status === 0,
    http,
    resolve: async (name) =>
      lookup(name).then(
        (r) => r.address,
        () => undefined,
      ),
    run: async (node, command) => {
      if (ssh === undefined) return undefined;
      const r = ssh.exec(node, command);
      return r.code === 255 ? undefined : r;
    },
    publicEdge: true,
  };
  try {
    const findings = await runDoctor(spec, planMesh(spec, stack), probe, (line) => process.stderr.write(`doctor: ${line}\n`));
    process.stdout.write(renderFindings(findings));
    return findings.some((f) => f.status === "fail") ? 1 : 0;
  } finally {
    ssh?.cleanup();
  }
}

runCommand("doctor", main, { usage: USAGE });
