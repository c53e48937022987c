// Raw config -> validated MeshSpec, or one MeshConfigError naming every problem.
import { z } from "zod";
import { checkRules, type Problem } from "./rules";
import { meshSchema, type MeshSpec } from "./schema";

export type { Problem } from "./rules";

/** The config key that holds the topology. */
export const MESH_KEY = "optimal-mesh:mesh";

export class MeshConfigError extends Error {
  constructor(readonly problems: readonly Problem[], readonly stackName?: string) {
    super(formatProblems(problems, stackName));
    this.name = "MeshConfigError";
  }
}

export function formatProblems(problems: readonly Problem[], stack?: string): string {
  const where = stack === undefined ? "The stack config" : `Stack "${stack}" config`;
  const lines = [`${where} has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was registered.`];
  for (const p of problems) lines.push(`  - ${p.path}: ${p.message}`, `      fix: ${p.fix}`);
  return lines.join("\n");
}

const strictSchema = meshSchema(true);
const lenientSchema = meshSchema(false);

function dotted(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out === "" ? String(seg) : `.${String(seg)}`;
  return out;
}

/** Unwraps optional/default/refinement layers to reach the object or record underneath. */
function core(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else return s;
  }
}

/** The keys the schema allows at `path`, to suggest a fix for a misspelling. */
function allowedKeysAt(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = core(strictSchema);
  for (const seg of path) {
    if (s instanceof z.ZodObject) s = core(s.shape[String(seg)] as z.ZodType);
    else if (s instanceof z.ZodRecord) s = core(s.valueType as z.ZodType);
    else if (s instanceof z.ZodArray) s = core(s.element as z.ZodType);
    else return [];
    if (s === undefined) return [];
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of allowed) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestScore) [best, bestScore] = [k, d];
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function issueProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(issue.path);
      for (const key of issue.keys) {
        const near = suggest(key, allowed);
        out.push({
          path: dotted([...issue.path, key]),
          message: `unknown key "${key}"`,
          fix: near !== undefined ? `did you mean "${near}"? Rename it` : `remove it; allowed here: ${allowed.join(", ")}`,
        });
      }
    } else if (issue.code === "invalid_key") {
      out.push({ path: dotted(issue.path), message: `key: ${issue.issues[0]?.message ?? issue.message}`, fix: "rename the key" });
    } else if (issue.code === "invalid_union" || issue.code === "invalid_value") {
      out.push({ path: dotted(issue.path), message: issue.message, fix: "use one of the values listed" });
    } else if (issue.code === "invalid_type" && issue.input === undefined) {
      out.push({ path: dotted(issue.path), message: `is required (${issue.expected})`, fix: `set ${dotted(issue.path)}` });
    } else {
      out.push({ path: dotted(issue.path), message: issue.message, fix: `correct ${dotted(issue.path) || "the value"}` });
    }
  }
  return out;
}

/** Validates a raw topology: schema first (unknown keys rejected), then the cross-field rules. */
export function validateMesh(raw: unknown, stack?: string): MeshSpec {
  if (raw === undefined || raw === null) {
    throw new MeshConfigError([{ path: "mesh", message: `${MESH_KEY} is not set`, fix: `add the topology under config: ${MESH_KEY}: in Pulumi.<stack>.yaml` }], stack);
  }
  const strict = strictSchema.safeParse(raw);
  const problems = strict.success ? [] : issueProblems(strict.error.issues);
  // Unknown keys alone must not hide the cross-field problems: check those on the stripped spec too.
  const spec = strict.success ? strict.data : lenientSchema.safeParse(raw).data;
  if (spec !== undefined) problems.push(...checkRules(spec));
  if (problems.length > 0) {
    // Paths as `pulumi config set --path` takes them.
    throw new MeshConfigError(problems.map((p) => ({ ...p, path: p.path === "" ? "mesh" : `mesh.${p.path}` })), stack);
  }
  return spec!;
}
