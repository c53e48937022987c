// The answer to the engine's Diff, computed the way the upstream plugins compute theirs: the
// changed top-level keys, those among them that force a replacement, and a detailed diff down to
// the changed leaves (`rules[0].port`, `labels.role`, `triggers[0]`), each ADD, DELETE or UPDATE,
// `_REPLACE` when its top-level key forces a new resource. Citations for which keys force a
// replacement sit with each resource's model; the diff shapes are cited in bridged.ts (the
// Terraform bridge) and command.ts (pulumi-go-provider).
import { isSecret, reveal, same, type Props, type Value } from "./wire";

export type DiffKind = "ADD" | "ADD_REPLACE" | "DELETE" | "DELETE_REPLACE" | "UPDATE" | "UPDATE_REPLACE";

export interface DiffAnswer {
  /** The top-level keys that differ. */
  readonly diffs: readonly string[];
  /** Those of them that need a new resource. */
  readonly replaces: readonly string[];
  /** Property path -> kind, down to the changed leaves; absent where the upstream plugin sends no detailed diff. */
  readonly detailed?: Readonly<Record<string, DiffKind>>;
  readonly deleteBeforeReplace: boolean;
}

export interface DiffRules {
  /** Top-level input keys a change of which replaces the resource (Terraform ForceNew, RequiresReplace, replaceOnChanges). */
  readonly forceNew?: readonly string[];
  /**
   * `key` (default): any change under a forceNew key replaces, as the bridge reports it; `exact`:
   * only an entry whose path is the key itself (the whole property added, removed or, not being a
   * list or map, changed), as pulumi-go-provider's infer matches replaceOnChanges against
   * detailed-diff keys (pulumi-go-provider v1.3.0 infer/resource.go:1132-1151).
   */
  readonly forceNewMatch?: "key" | "exact";
  /** The upstream plugin answers with key lists only, no detailed diff (the PF bridge without accurate previews). */
  readonly keysOnly?: boolean;
}

const isObject = (v: Value | undefined): v is { [key: string]: Value } => typeof v === "object" && v !== null && !Array.isArray(v);

/** The changed leaves between two wire values; a secret is compared whole, as one value (its inside is not walked). */
function leaves(path: string, a: Value | undefined, b: Value | undefined, out: [string, "ADD" | "DELETE" | "UPDATE"][]): void {
  if (isSecret(a) || isSecret(b)) {
    const [x, y] = [a === undefined ? undefined : reveal(a), b === undefined ? undefined : reveal(b)];
    if (same(x, y)) return;
    out.push([path, x === undefined || x === null ? "ADD" : y === undefined || y === null ? "DELETE" : "UPDATE"]);
    return;
  }
  if (same(a, b)) return;
  if (a === undefined || a === null) return void out.push([path, "ADD"]);
  if (b === undefined || b === null) return void out.push([path, "DELETE"]);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) leaves(`${path}[${i}]`, a[i], b[i], out);
    return;
  }
  if (isObject(a) && isObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) leaves(`${path}.${k}`, a[k], b[k], out);
    return;
  }
  out.push([path, "UPDATE"]);
}

/**
 * Compares the new inputs with the old ones (both as the provider's Check returned them). Secrets
 * are compared by value. A key absent from both sides never differs.
 */
export function diffInputs(oldInputs: Props, news: Props, rules: DiffRules = {}): DiffAnswer {
  const forceNew = new Set(rules.forceNew ?? []);
  const keys = [...new Set([...Object.keys(oldInputs), ...Object.keys(news)])].sort();
  const diffs: string[] = [];
  const replaces: string[] = [];
  const detailed: Record<string, DiffKind> = {};
  for (const key of keys) {
    const found: [string, "ADD" | "DELETE" | "UPDATE"][] = [];
    const a = oldInputs[key];
    const b = news[key];
    leaves(key, a, b, found);
    if (found.length === 0) continue;
    diffs.push(key);
    const replacing = (p: string) => forceNew.has(key) && (rules.forceNewMatch !== "exact" || p === key);
    if (found.some(([p]) => replacing(p))) replaces.push(key);
    for (const [p, kind] of found) detailed[p] = replacing(p) ? `${kind}_REPLACE` : kind;
  }
  return {
    diffs,
    replaces,
    ...(rules.keysOnly ? {} : { detailed }),
    // Set by the caller where the upstream plugin asks for it (bridged.ts); go-provider never does.
    deleteBeforeReplace: false,
  };
}
