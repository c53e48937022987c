// Reads Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI would hand them to the program.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { MeshSpec } from "../../stacks/schema";
import { MESH_KEY, validateMesh } from "../../stacks/validate";

export interface StackConfig {
  readonly project: string;
  readonly stack: string;
  /** Config values as the engine passes them: strings, objects as JSON text. */
  readonly values: Readonly<Record<string, string>>;
  /** Keys whose value is encrypted in the stack file (readable only with the stack's secrets provider). */
  readonly encrypted: readonly string[];
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

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new StackFileError(`${file} does not exist; create it, or pass --stack with an existing stack`);
  }
  try {
    // js-yaml rejects duplicate keys, so two nodes with one name never silently merge.
    return yaml.load(text, { filename: file });
  } catch (err) {
    throw new StackFileError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
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
  return { project: project.name, stack, values, encrypted: encrypted.sort() };
}

/** The stack's topology, validated (a MeshConfigError names every problem), for the operator commands. */
export function stackMesh(config: StackConfig): MeshSpec {
  return validateMesh(JSON.parse(config.values[MESH_KEY] ?? "null"), config.stack);
}
