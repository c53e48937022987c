// The URNs the Pulumi engine gives the offline plan's registrations.
import type { Registration } from "./offline";

/**
 * The URN the Pulumi engine gives a registration: its type qualified by every ancestor's type
 * (`Parent$Child`). The mock monitor qualifies by the direct parent only, which is enough to link
 * registrations but not to name them to a real engine (e.g. `pulumi up --replace`).
 */
export function engineUrn(registrations: readonly Registration[], r: Registration, stack: string, project: string): string {
  const byUrn = new Map(registrations.map((x) => [x.urn, x]));
  const types: string[] = [r.type];
  for (let p = r.parent === null ? undefined : byUrn.get(r.parent); p !== undefined; p = p.parent === null ? undefined : byUrn.get(p.parent))
    types.unshift(p.type);
  return `urn:pulumi:${stack}::${project}::${types.join("$")}::${r.name}`;
}

/** A registration's URN, and the URNs its name aliases give it (the names it had before). */
export interface EngineUrns {
  readonly urn: string;
  readonly previous: readonly string[];
}

export function engineUrns(registrations: readonly Registration[], r: Registration, stack: string, project: string): EngineUrns {
  const urn = engineUrn(registrations, r, stack, project);
  const prefix = urn.slice(0, urn.lastIndexOf("::") + 2);
  return { urn, previous: r.aliases.filter((a) => a.type === undefined && a.name !== undefined).map((a) => `${prefix}${a.name!}`) };
}
