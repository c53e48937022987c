// Turns an offline evaluation into the plan text people read. Pure and stable: no times, no paths.
import { createHash } from "node:crypto";
import { OPERATOR_SETTINGS } from "../../stacks/settings";
import type { CheckResult, PlannedArtifact } from "../../plan/mesh-plan";
import type { PlainValue, Registration } from "../../offline/evaluate";
import { plaintextSecrets, type StackConfig } from "../../stacks/stackfile";

const INLINE_LIMIT = 100;

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** One input value on one line: short values inline, long ones as size and digest (full text in resources.json). */
export function summarize(value: PlainValue): string {
  if (typeof value === "string") {
    let lines = 1;
    for (let i = value.indexOf("\n"); i !== -1; i = value.indexOf("\n", i + 1)) lines++;
    if (lines === 1 && value.length <= INLINE_LIMIT) return JSON.stringify(value);
    return `<text: ${lines} line${lines === 1 ? "" : "s"}, ${Buffer.byteLength(value)} bytes, sha256 ${digest(value)}>`;
  }
  const json = JSON.stringify(value);
  return json.length <= INLINE_LIMIT ? json : `<json: ${Buffer.byteLength(json)} bytes, sha256 ${digest(json)}>`;
}

function flags(r: Registration): string {
  const out: string[] = [];
  if (r.protect) out.push("protect");
  if (r.importId !== null) out.push(`import=${r.importId}`);
  if (r.deleteBeforeReplace) out.push("deleteBeforeReplace");
  if (r.retainOnDelete) out.push("retainOnDelete");
  if (r.ignoreChanges.length > 0) out.push(`ignoreChanges=${r.ignoreChanges.join(",")}`);
  if (r.replaceOnChanges.length > 0) out.push(`replaceOnChanges=${r.replaceOnChanges.join(",")}`);
  if (r.additionalSecretOutputs.length > 0) out.push(`secretOutputs=${r.additionalSecretOutputs.join(",")}`);
  return out.length > 0 ? `  [${out.join("] [")}]` : "";
}

/** The settings that are stand-ins in this plan: not set, or encrypted (unreadable offline). */
export function placeholderSettings(config: StackConfig): { key: string; why: string }[] {
  const present = (key: string) => key in config.values || config.encrypted.includes(key);
  // A setting whose alternative credential is there (an OAuth client for an API key) is not a stand-in.
  const satisfied = (s: (typeof OPERATOR_SETTINGS)[number]) => s.or !== undefined && s.or.every((o) => present(o.key));
  return OPERATOR_SETTINGS.filter((s) => !satisfied(s) && (config.encrypted.includes(s.key) || !(s.key in config.values))).map((s) => ({
    key: s.key,
    why: config.encrypted.includes(s.key)
      ? "encrypted, not readable offline"
      : (config.environments ?? []).length > 0
        ? `not in the stack file; may come from the ESC environment ${config.environments!.join(", ")}, not readable offline (else: ${s.how})`
        : `not set (${s.how})`,
  }));
}

export function renderTree(registrations: readonly Registration[]): string[] {
  const children = new Map<string | null, Registration[]>();
  const urns = new Set(registrations.map((r) => r.urn));
  const names = new Map(registrations.map((r) => [r.urn, r.name]));
  for (const r of registrations) {
    const parent = r.parent !== null && urns.has(r.parent) ? r.parent : null;
    const siblings = children.get(parent);
    if (siblings === undefined) children.set(parent, [r]);
    else siblings.push(r);
  }
  const lines: string[] = [];
  const walk = (parent: string | null, depth: number) => {
    const kids = [...(children.get(parent) ?? [])].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
    for (const r of kids) {
      const pad = "  ".repeat(depth + 1);
      lines.push(`${pad}${r.custom ? "+" : "■"} ${r.type}  ${r.name}${flags(r)}`);
      for (const key of Object.keys(r.inputs)) {
        const from = r.inputSources[key]?.map((urn) => names.get(urn) ?? urn);
        lines.push(`${pad}    ${key}: ${summarize(r.inputs[key]!)}${from ? `  (from ${from.join(", ")})` : ""}`);
      }
      walk(r.urn, depth + 1);
    }
  };
  walk(null, 0);
  return lines;
}

/** What the offline plan shows: the program's registrations and outputs, the mesh plan's files and checks. */
export interface PlanReport {
  readonly registrations: readonly Registration[];
  readonly outputs: { readonly [k: string]: PlainValue };
  readonly artifacts: readonly PlannedArtifact[];
  readonly checks: readonly CheckResult[];
  /** What would stop a real run, though not this plan. */
  readonly notices: readonly string[];
}

export function renderPlan(config: StackConfig, evaluation: PlanReport): string {
  const { registrations, outputs, artifacts } = evaluation;
  const custom = registrations.filter((r) => r.custom).length;
  const lines = [
    `optimal-mesh offline plan: project ${config.project}, stack ${config.stack}`,
    "Evaluated in-process under Pulumi's mock runtime; no cloud, tailnet or host was contacted.",
    "",
    "Resources (■ component, + provider resource):",
    ...renderTree(registrations),
    "",
    "Outputs:",
  ];
  for (const [key, value] of Object.entries(outputs)) {
    if (key === "inventory" && Array.isArray(value)) {
      lines.push(`  inventory: ${value.length} nodes`);
      for (const entry of value) {
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) continue;
        const caps = Array.isArray(entry.capabilities) && entry.capabilities.length > 0 ? entry.capabilities.join(",") : "-";
        lines.push(
          `    ${String(entry.name).padEnd(18)}${String(entry.role).padEnd(8)}${String(entry.mode).padEnd(8)}caps=${caps.padEnd(10)}${String(entry.baseUrl)}${entry.fallbackBaseUrl ? ` (fallback ${String(entry.fallbackBaseUrl)})` : ""}`,
        );
      }
    } else {
      lines.push(`  ${key}: ${summarize(value)}`);
    }
  }
  lines.push("", "Checks run on the rendered text:");
  for (const c of evaluation.checks) {
    lines.push(`  ${c.name}: ${c.passed} passed, ${c.failed} failed`);
    for (const f of c.failures) lines.push(`    ${f}`);
  }
  if (evaluation.notices.length > 0) {
    lines.push("", `Notices: ${evaluation.notices.length} (these stop a real \`pulumi up\` until fixed)`);
    for (const n of evaluation.notices) lines.push(`  ${n}`);
  }
  const plaintext = plaintextSecrets(config);
  if (plaintext.length > 0) {
    lines.push("", `Warning: secret settings written in plain text in the stack file: ${plaintext.length}`);
    for (const key of plaintext) lines.push(`  ${key}: rotate it (anyone who read the file has it), then set it again with pulumi config set --secret ${key}`);
  }
  const placeholders = placeholderSettings(config);
  lines.push("", `Settings shown as placeholders (kept secret where secret): ${placeholders.length}`);
  for (const p of placeholders) lines.push(`  ${p.key}: ${p.why}`);
  lines.push(
    "",
    `Summary: ${registrations.length} resources (${registrations.length - custom} components, ${custom} provider resources), ${Object.keys(outputs).length} outputs, ${artifacts.length} artifacts.`,
  );
  return `${lines.join("\n")}\n`;
}
