// The URNs the Pulumi engine gives the offline plan's registrations.
import type { Registration } from "./registration";

/**
 * The URN the Pulumi engine gives a registration: its type qualified by every ancestor's type
 * (`Parent$Child`). The offline plan's URNs, like those of Pulumi's mocks, are qualified by the
 * direct parent only, which is enough to link registrations but not to name them to a real engine
 * (e.g. `pulumi up --replace`).
 */
export function engineUrn(registrations: readonly Registration[], r: Registration, stack: string, project: string): string {
  const byUrn = new Map(registrations.map((x) => [x.urn, x]));
  const types: string[] = [r.type];
  for (let p = r.parent === null ? undefined : byUrn.get(r.parent); p !== undefined; p = p.parent === null ? undefined : byUrn.get(p.parent))
    types.unshift(p.type);
  return `urn:pulumi:${stack}::${project}::${types.join("$")}::${r.name}`;
}

/** A registration's URN, and the URNs the engine also looks for it under (the names it had before). */
export interface EngineUrns {
  readonly urn: string;
  readonly previous: readonly string[];
}

/**
 * The URNs the engine looks a registration up by besides its own, as pulumi v3.248.0 computes them
 * (pkg/resource/deploy/step_generator.go, generateAliases 580-612, collapseAliasToUrn 505-545,
 * inheritedChildAlias 550-578): each alias made a URN under the parent; and for a child of a
 * resource that has such URNs, its own and its aliases' name and type under each of them, with the
 * parent's earlier name in place of its current one where the child's name starts with it.
 */
export function engineUrns(registrations: readonly Registration[], r: Registration, stack: string, project: string): EngineUrns {
  const byUrn = new Map(registrations.map((x) => [x.urn, x]));
  const qualified = (urn: string) => urn.split("::")[2]!;
  const make = (parentUrn: string | undefined, type: string, name: string) =>
    `urn:pulumi:${stack}::${project}::${parentUrn === undefined ? "" : `${qualified(parentUrn)}$`}${type}::${name}`;
  const memo = new Map<string, EngineUrns>();
  const of = (x: Registration): EngineUrns => {
    const known = memo.get(x.urn);
    if (known !== undefined) return known;
    const parent = x.parent === null ? undefined : byUrn.get(x.parent);
    const p = parent === undefined ? undefined : of(parent);
    const previous = new Set<string>();
    const aliased = x.aliases.map((a) => ({ type: a.type ?? x.type, name: a.name ?? x.name }));
    for (const a of aliased) previous.add(make(p?.urn, a.type, a.name));
    if (parent !== undefined && p !== undefined) {
      for (const old of p.previous) {
        const oldName = old.slice(old.lastIndexOf("::") + 2);
        const inherit = (name: string) => (name.startsWith(parent.name) ? `${oldName}${name.slice(parent.name.length)}` : name);
        previous.add(make(old, x.type, inherit(x.name)));
        for (const a of aliased) previous.add(make(old, a.type, inherit(a.name)));
      }
    }
    const urn = make(p?.urn, x.type, x.name);
    previous.delete(urn);
    const result = { urn, previous: [...previous].sort() };
    memo.set(x.urn, result);
    return result;
  };
  return of(r);
}
