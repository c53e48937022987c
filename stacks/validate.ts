// Raw config -> validated MeshSpec, or one MeshConfigError naming every problem.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { commentText } from "../text/escape";
import { HOLE_MARKER } from "../text/template";
import { SERVICE_CATALOG } from "./catalog";
import { checkRules, type Problem } from "./rules";
import { meshSchema, type MeshSpec } from "./schema";

export type { Problem } from "./rules";

/** The config key that holds the topology. */
export const MESH_KEY = "optimal-mesh:mesh";

/**
 * A RunError: the engine prints its message, the report, without a stack trace (as the SDK's
 * inline runtime and its language host do for RunError, sdk/nodejs automation/server.ts).
 */
export class MeshConfigError extends pulumi.RunError {
  constructor(
    readonly problems: readonly Problem[],
    readonly stackName?: string,
  ) {
    super(formatProblems(problems, stackName));
    this.name = "MeshConfigError";
  }
}

export function formatProblems(problems: readonly Problem[], stack?: string): string {
  const where = stack === undefined ? "The stack config" : `Stack "${stack}" config`;
  const lines = [`${where} has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was registered.`];
  // A key or value quoted in a problem may hold a line break: the report shows it escaped, one line per fact.
  for (const p of problems) lines.push(`  - ${commentText(p.path)}: ${commentText(p.message)}`, `      fix: ${commentText(p.fix)}`);
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

/** The path as `pulumi config set --path` takes it, from the mesh value down. */
function meshPath(path: readonly PropertyKey[]): string {
  return underMesh({ path: dotted(path), message: "", fix: "" }).path;
}

/** A problem's path from the mesh value down, as `pulumi config set --path` takes it. */
function underMesh(p: Problem): Problem {
  return { ...p, path: p.path === "" ? "mesh" : p.path.startsWith("[") ? `mesh${p.path}` : `mesh.${p.path}` };
}

/** What a value is, in the words of a YAML stack file. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)})`;
  return `a ${typeof value} (${String(value)})`;
}

const EXPECTED: Readonly<Record<string, string>> = {
  object: "a mapping",
  array: "a list",
  record: "a mapping",
  string: "a string",
  number: "a number",
  boolean: "true or false",
  int: "a whole number",
};

/** Keys that name a property every JavaScript object has: as data they would be dropped or shadow it. */
const RESERVED_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), "prototype"]);

/** Every key anywhere in `raw` that is an Object.prototype name, with its path. */
function reservedKeyProblems(raw: unknown, path: PropertyKey[] = []): Problem[] {
  if (raw === null || typeof raw !== "object") return [];
  if (Array.isArray(raw)) return raw.flatMap((v, i) => reservedKeyProblems(v, [...path, i]));
  return Object.keys(raw).flatMap((key) => [
    ...(RESERVED_KEYS.has(key)
      ? [{ path: dotted([...path, key]), message: `"${key}" cannot be used as a key (every JavaScript object has it)`, fix: "rename the key" }]
      : []),
    ...reservedKeyProblems((raw as Record<string, unknown>)[key], [...path, key]),
  ]);
}

/**
 * Every key or string value that holds a hole's marker. The plan renders files with a marker where
 * a secret goes (a node's auth key, a tunnel's token) and fills it in when the program runs; a
 * marker in the topology would be a second place the secret is written. The renderer refuses such
 * text too (a marker must stand once); this names the field.
 */
function markerProblems(raw: unknown, path: PropertyKey[] = []): Problem[] {
  const problem = (at: PropertyKey[], text: string): Problem => ({
    path: dotted(at),
    message: `holds "${HOLE_MARKER.exec(text)![0]}", the mark where the plan later writes a secret (an auth key, a tunnel token)`,
    fix: "remove that text: the topology may not contain @@hole.NAME@@",
  });
  if (typeof raw === "string") return HOLE_MARKER.test(raw) ? [problem(path, raw)] : [];
  if (raw === null || typeof raw !== "object") return [];
  if (Array.isArray(raw)) return raw.flatMap((v, i) => markerProblems(v, [...path, i]));
  return Object.keys(raw).flatMap((key) => [
    ...(HOLE_MARKER.test(key) ? [problem([...path, key], key)] : []),
    ...markerProblems((raw as Record<string, unknown>)[key], [...path, key]),
  ]);
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
    } else if (issue.code === "invalid_value") {
      out.push({ path: dotted(issue.path), message: issue.message, fix: "use one of the values listed" });
    } else if (issue.code === "invalid_type") {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === undefined) out.push({ path: dotted(issue.path), message: `is required (${expected})`, fix: `set ${meshPath(issue.path)}` });
      else {
        // Digits given to `pulumi config set --path` become a number unless the type is said.
        const how =
          issue.expected === "string" && typeof issue.input === "number"
            ? `: quote it in the stack file, or pulumi config set --type string --path '${meshPath(issue.path)}' VALUE`
            : "";
        out.push({
          path: dotted(issue.path),
          message: `must be ${expected}, not ${kindOf(issue.input)}`,
          fix: `write ${meshPath(issue.path)} as ${expected}${how}`,
        });
      }
    } else {
      out.push({ path: dotted(issue.path), message: issue.message, fix: `correct ${meshPath(issue.path)}` });
    }
  }
  return out;
}

/** Validates a raw topology: schema first (unknown keys rejected), then the cross-field rules. */
export function validateMesh(raw: unknown, stack?: string): MeshSpec {
  // Pulumi.yaml declares {} as the default: the CLI hands that over for a stack without a topology.
  const empty = raw !== null && typeof raw === "object" && !Array.isArray(raw) && Object.keys(raw).length === 0;
  if (raw === undefined || raw === null || empty) {
    throw new MeshConfigError(
      [{ path: "mesh", message: `${MESH_KEY} is not set`, fix: `add the topology under config: ${MESH_KEY}: in Pulumi.<stack>.yaml` }],
      stack,
    );
  }
  // A key such as __proto__ would vanish in parsing; report it before anything else.
  const reserved = reservedKeyProblems(raw);
  if (reserved.length > 0) throw new MeshConfigError(reserved.map(underMesh), stack);
  const strict = strictSchema.safeParse(raw, { reportInput: true });
  const problems = [...markerProblems(raw), ...(strict.success ? [] : issueProblems(strict.error.issues))];
  // Unknown keys alone must not hide the cross-field problems: check those on the stripped spec too.
  const spec = strict.success ? strict.data : lenientSchema.safeParse(raw).data;
  if (spec !== undefined) problems.push(...checkRules(spec));
  if (problems.length > 0) {
    throw new MeshConfigError(problems.map(underMesh), stack);
  }
  return withCatalogExec(spec!);
}

/**
 * A well-known native service without an exec of its own gets the catalog's, here, once: what
 * reads the validated topology (the unit renderer, anyone reading the spec) finds the command the
 * node will run on the service itself. The rules have checked that every native service has one.
 */
function withCatalogExec(spec: MeshSpec): MeshSpec {
  for (const node of Object.values(spec.nodes)) {
    for (const [name, svc] of Object.entries(node.services)) {
      if (!svc.docker && svc.exec === undefined) svc.exec = SERVICE_CATALOG[name]!.exec!;
    }
  }
  return spec;
}
