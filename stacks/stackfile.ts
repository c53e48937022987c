// Reads Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI would hand them to the program.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { MeshSpec } from "./schema";
import { ESC_ENVIRONMENT } from "./grammar";
import { SECRET_KEYS } from "./settings";
import { MESH_KEY, validateMesh } from "./validate";

export interface StackConfig {
  readonly project: string;
  readonly stack: string;
  /** Config values as the engine passes them: strings, objects as JSON text. */
  readonly values: Readonly<Record<string, string>>;
  /** Keys whose value is encrypted in the stack file (readable only with the stack's secrets provider). */
  readonly encrypted: readonly string[];
  /** Pulumi ESC environments the stack file imports (`environment:`): their values are not readable offline. */
  readonly environments?: readonly string[];
}

/** The ESC environments a stack file imports: `environment: [a/b]` or `environment: { imports: [a/b] }`. */
function environmentsOf(doc: unknown, file: string): string[] {
  const env = isRecord(doc) ? doc.environment : undefined;
  if (env === undefined || env === null) return [];
  const list = Array.isArray(env) ? env : isRecord(env) && Array.isArray(env.imports) ? env.imports : undefined;
  // The names end up in messages and plan.txt: a name is letters, digits, _ . - and slashes only.
  if (list === undefined || !list.every((e) => typeof e === "string" && ESC_ENVIRONMENT.test(e))) {
    throw new StackFileError(`${file}: environment must list ESC environment names, e.g. environment: [optimal-mesh/prod]`);
  }
  return [...(list as string[])];
}

/** The folder that holds Pulumi.yaml, found upward from here (the sources or their dist/ build). */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${from}`);
  }
}

export class StackFileError extends Error {
  override name = "StackFileError";
}

/** A stack file larger than this is refused unread (a 300-node topology is about 200 KB). */
export const MAX_STACK_FILE_BYTES = 4 * 1024 * 1024;
/** At most this many values once YAML aliases are expanded, as every consumer (JSON, the engine) expands them. */
export const MAX_STACK_VALUES = 200_000;

/** Counts the values of a loaded document as if its aliases were copies; stops counting past the bound. */
function expandedSize(value: unknown, budget: { left: number }): void {
  if (--budget.left < 0) return;
  if (Array.isArray(value)) for (const v of value) expandedSize(v, budget);
  else if (value !== null && typeof value === "object") for (const v of Object.values(value)) expandedSize(v, budget);
}

function readYaml(file: string): unknown {
  let bytes: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_STACK_FILE_BYTES)
      throw new StackFileError(`${file} is ${size} bytes; a stack file may hold at most ${MAX_STACK_FILE_BYTES} (is it the right file?)`);
    bytes = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof StackFileError) throw err;
    throw new StackFileError(
      `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); create it, or pass --stack with an existing stack`,
    );
  }
  let text: string;
  try {
    // Invalid UTF-8 is refused, not turned into U+FFFD and written out as if it were the value.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new StackFileError(`${file} is not valid UTF-8 (first bad byte at offset ${at}); save it as UTF-8`);
  }
  const divergence = cliYamlDivergence(text);
  if (divergence !== undefined) throw new StackFileError(`${file}:${divergence.line}: ${divergence.message}`);
  let doc: unknown;
  try {
    // js-yaml rejects duplicate keys, so two nodes with one name never silently merge.
    doc = yaml.load(text, { filename: file });
  } catch (err) {
    throw new StackFileError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  const budget = { left: MAX_STACK_VALUES };
  expandedSize(doc, budget);
  if (budget.left < 0)
    throw new StackFileError(
      `${file} expands to more than ${MAX_STACK_VALUES} values (YAML aliases that multiply?); write the values out, without nested aliases`,
    );
  return doc;
}

/**
 * What js-yaml accepts but the Pulumi CLI's YAML reader (go-yaml v3, a port of libyaml) refuses,
 * so that every pulumi command on the stack would fail before it starts: inside [ ] or { }, a
 * plain (unquoted) value that begins with ':' is read as a key indicator ("did not find expected
 * node content"), e.g. `[0.0.0.0/0, ::/0]`. Scans flow collections across lines, skipping quoted
 * text and comments.
 */
export function cliYamlDivergence(text: string): { line: number; message: string } | undefined {
  let depth = 0;
  let tokenStart = false;
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) break;
      if (c === '"' || c === "'") {
        // A quoted scalar: skip to its closing quote ('' is an escaped quote in single quotes).
        let j = i + 1;
        while (j < line.length && !(line[j] === c && !(c === '"' && line[j - 1] === "\\") && !(c === "'" && line[j + 1] === "'")))
          j += c === "'" && line[j] === "'" ? 2 : 1;
        i = j;
        tokenStart = false;
        continue;
      }
      if (depth === 0) {
        if (c === "[" || c === "{") [depth, tokenStart] = [1, true];
        continue;
      }
      if (c === "[" || c === "{") [depth, tokenStart] = [depth + 1, true];
      else if (c === "]" || c === "}") [depth, tokenStart] = [depth - 1, false];
      else if (c === ",") tokenStart = true;
      else if (c === " " || c === "\t") continue;
      else if (c === ":") {
        const indicator = line[i + 1] === undefined || /[\s,\]}]/.test(line[i + 1]!);
        if (tokenStart && !indicator) {
          return {
            line: n + 1,
            message: `the value starting at column ${i + 1} begins with ':' inside [ ] or { }; the Pulumi CLI cannot read that (its YAML parser takes ':' there for a key indicator), so quote it, e.g. "${line.slice(i).split(/[,\]}\s]/)[0]}"`,
          };
        }
        // After a key's ':' a value starts; a ':' inside a word (a:b) is part of it.
        tokenStart = indicator;
      } else tokenStart = false;
    }
  }
  return undefined;
}

/** The offset of the first byte that does not belong to a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, by bisection; a cut inside a sequence is retried a few bytes later.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    let ok = false;
    for (let end = mid; end <= Math.min(mid + 3, bytes.length) && !ok; end++) {
      try {
        decoder.decode(bytes.subarray(0, end));
        ok = true;
      } catch {
        /* not valid up to here */
      }
    }
    if (ok) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function readStackConfig(root: string, stack: string, configFile?: string): StackConfig {
  const project = readYaml(path.join(root, "Pulumi.yaml"));
  if (!isRecord(project) || typeof project.name !== "string") throw new StackFileError("Pulumi.yaml has no project name");
  const file = configFile ?? path.join(root, `Pulumi.${stack}.yaml`);
  const doc = readYaml(file);
  const config = isRecord(doc) ? doc.config : undefined;
  if (config !== undefined && !isRecord(config)) throw new StackFileError(`${file}: config must be a mapping of keys to values`);

  const values: Record<string, string> = {};
  const encrypted: string[] = [];
  for (const [rawKey, value] of Object.entries(config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project.name}:${rawKey}`;
    if (isRecord(value) && Object.keys(value).length === 1 && typeof value.secure === "string") {
      encrypted.push(key);
      continue;
    }
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const result = { project: project.name, stack, values, encrypted: encrypted.sort(), environments: environmentsOf(doc, file) };
  assertMeshReadable(result, file);
  return result;
}

/** Offline tools cannot decrypt: an encrypted topology is refused with the fix (it holds no secrets, and reviewers must read it). */
export function assertMeshReadable(config: StackConfig, file: string): void {
  const environments = config.environments ?? [];
  if (config.values[MESH_KEY] === undefined && !config.encrypted.includes(MESH_KEY) && environments.length > 0) {
    throw new StackFileError(
      `${file}: ${MESH_KEY} is not in the stack file; it may come from the ESC environment ${environments.join(", ")}, which the offline tools cannot read: keep the topology in the stack file (it holds no secrets, and reviewers must read it)`,
    );
  }
  if (config.encrypted.includes(MESH_KEY)) {
    throw new StackFileError(
      `${file}: ${MESH_KEY} is encrypted (secure:), so it can be neither read here nor reviewed; write the topology in plain text, as the file's other settings are: it holds no secrets`,
    );
  }
}

/** Secret settings written in plain text in the stack file: they should be encrypted with `pulumi config set --secret`. */
export function plaintextSecrets(config: StackConfig): string[] {
  return SECRET_KEYS.filter((key) => config.values[key] !== undefined);
}

/** The stack's topology, validated (a MeshConfigError names every problem), for the operator commands. */
export function stackMesh(config: StackConfig): MeshSpec {
  return validateMesh(JSON.parse(config.values[MESH_KEY] ?? "null"), config.stack);
}
