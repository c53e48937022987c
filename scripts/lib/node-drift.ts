// Node drift: what a node's deploy bundle says each file should be, against what the node has.
import { createHash } from "node:crypto";
import { TAILNET_IPV4_TOKEN } from "../../render/node/env";
import { parseBundle, type BundleEntry } from "../../render/node/bundle";
import { shq } from "../../render/shell/script";

/** The shell command that reports, for each path, its sha256 and mode (or MISSING). */
export function observeCommand(paths: readonly string[]): string {
  const quoted = paths.map(shq).join(" ");
  return `for f in ${quoted}; do if [ -f "$f" ]; then printf '%s %s %s\\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$(stat -c %a "$f")" "$f"; else printf 'MISSING - %s\\n' "$f"; fi; done`;
}

export interface Drift {
  readonly path: string;
  readonly what: "missing" | "content" | "mode";
}

/** Compares the bundle with what `observeCommand` printed; the node's tailnet address fills the token as deploy does. */
export function compareBundle(entries: readonly BundleEntry[], observed: string, tailnetIpv4: string): Drift[] {
  const seen = new Map<string, { digest: string; mode: string }>();
  for (const line of observed.split("\n").filter(Boolean)) {
    const [digest, mode, ...rest] = line.split(" ");
    seen.set(rest.join(" "), { digest: digest!, mode: mode! });
  }
  const drift: Drift[] = [];
  for (const e of entries) {
    const got = seen.get(e.path);
    if (got === undefined || got.digest === "MISSING") drift.push({ path: e.path, what: "missing" });
    else if (got.digest !== createHash("sha256").update(e.content.replaceAll(TAILNET_IPV4_TOKEN, tailnetIpv4)).digest("hex"))
      drift.push({ path: e.path, what: "content" });
    else if (got.mode !== e.mode.replace(/^0/, "")) drift.push({ path: e.path, what: "mode" });
  }
  return drift;
}

/** Runs a command on a node (as root) and returns what it printed. */
export type NodeExec = (node: string, command: string) => { code: number; stdout: string; stderr: string };

export interface NodeDeploy {
  readonly node: string;
  /** The deploy bundle that was (or would be) sent on stdin. */
  readonly bundle: string;
  /** Paths not to compare (secret files when the bundle came from an offline plan). */
  readonly skip?: readonly string[];
  /** The deploy command's URN, when read from the state: what a repair replaces. */
  readonly urn?: string;
}

export interface NodeReport {
  readonly node: string;
  /** The deploy command's URN, when known. */
  readonly urn?: string;
  readonly files: number;
  readonly drift: readonly Drift[];
  /** Units that are not active or not enabled: `unit: active/enabled`. */
  readonly units: readonly string[];
  readonly skipped: readonly string[];
  /** Set when the node could not be checked at all. */
  readonly error?: string;
}

/** Compares each node's deployed files and unit states with its deploy bundle. */
export function nodeDrift(deploys: readonly NodeDeploy[], exec: NodeExec, progress: (line: string) => void = () => undefined): NodeReport[] {
  return deploys.map((d): NodeReport => {
    progress(`checking ${d.node}`);
    const urn = d.urn === undefined ? {} : { urn: d.urn };
    const bundle = parseBundle(d.bundle);
    const entries = bundle.filter((e) => !(d.skip ?? []).includes(e.path));
    const units = [...new Set(bundle.map((e) => e.unit))];
    const skipped = [...(d.skip ?? [])];
    const addr = exec(d.node, "tailscale ip -4 2>/dev/null | head -n 1 || true");
    const observed = exec(d.node, observeCommand(entries.map((e) => e.path)));
    if (observed.code !== 0 || addr.code !== 0)
      return { node: d.node, ...urn, files: entries.length, drift: [], units: [], skipped, error: (observed.stderr || addr.stderr).trim() || "unreachable" };
    const states = exec(
      d.node,
      `for u in ${units.join(" ")}; do printf '%s %s %s\\n' "$u" "$(systemctl is-active "$u.service" || true)" "$(systemctl is-enabled "$u.service" || true)"; done`,
    );
    const badUnits = states.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .filter(([, active, enabled]) => active !== "active" || enabled !== "enabled")
      .map(([u, active, enabled]) => `${u}: ${active}/${enabled}`);
    return { node: d.node, ...urn, files: entries.length, drift: compareBundle(entries, observed.stdout, addr.stdout.trim()), units: badUnits, skipped };
  });
}

/**
 * The nodes the topology declares that the state holds no deploy for (never deployed, or dropped
 * by a rebuild that stopped halfway): reported as not checked, so they count as drift.
 */
export function undeployed(nodes: readonly string[], deploys: readonly NodeDeploy[]): NodeReport[] {
  const have = new Set(deploys.map((d) => d.node));
  return nodes
    .filter((n) => !have.has(n))
    .map((node) => ({ node, files: 0, drift: [], units: [], skipped: [], error: "the stack's state holds no deploy for it: the next `pulumi up` deploys it" }));
}

/** The one up that repairs what drifted: a refresh for the cloud, a replacement of each drifted node's deploy (URNs quoted for the shell). */
export function renderRepair(stack: string, refresh: boolean, replace: readonly string[]): string {
  return `repair: pulumi up${refresh ? " --refresh" : ""}${replace.map((u) => ` --replace ${shq(u)}`).join("")} --stack ${shq(stack)}`;
}

const WHAT: Record<Drift["what"], string> = { missing: "missing", content: "content differs from the deploy", mode: "mode differs from the deploy" };

/**
 * The report as text (markdown-friendly), whether anything drifted or could not be checked, and
 * the deploys a repair replaces: a plain up leaves a node's drift alone (the deploy's inputs have
 * not changed), so the repair is `pulumi up --replace` of each drifted node's deploy, which runs
 * its remove script and then deploys again (its services restart).
 */
export function renderNodeDrift(reports: readonly NodeReport[]): { text: string; clean: boolean; replace: readonly string[] } {
  const findings = reports.reduce((n, r) => n + r.drift.length + r.units.length + (r.error ? 1 : 0), 0);
  const lines = [
    `node drift: ${findings} finding${findings === 1 ? "" : "s"} on ${reports.filter((r) => r.drift.length + r.units.length > 0 || r.error).length} of ${reports.length} nodes`,
  ];
  for (const r of reports) {
    if (r.error) lines.push(`- ${r.node}: not checked: ${r.error}`);
    else if (r.drift.length + r.units.length === 0) lines.push(`- ${r.node}: no drift (${r.files} files)`);
    else {
      lines.push(`- ${r.node}:`);
      for (const d of r.drift) lines.push(`  - ${d.path}: ${WHAT[d.what]}`);
      for (const u of r.units) lines.push(`  - unit ${u} (expected active/enabled)`);
    }
    if (r.skipped.length > 0) lines.push(`  - not compared (secret, unknown offline): ${r.skipped.join(", ")}`);
  }
  const replace = reports.flatMap((r) => (r.drift.length + r.units.length > 0 && r.urn !== undefined ? [r.urn] : []));
  return { text: `${lines.join("\n")}\n`, clean: findings === 0, replace };
}
