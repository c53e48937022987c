// Text with holes, as plain data: a rendering that holds values known only when the program runs
// (a node's single-use auth key, a tunnel's connector token, a device's address). The plan renders
// it once with each hole marked; the component that gets the value fills it in. A value is taken
// only if it matches its hole's grammar, chosen so the value reads the same in every language the
// text holds it in (a YAML block, an env file, a URL): filling needs no escape, and a value that
// would need one is refused by name, never pasted.
import { RenderError } from "./escape";

/** Where a value goes, and the grammar (a regular expression's source, anchored) it must match. */
export interface Hole {
  readonly hole: string;
  readonly pattern: string;
}

/** Text whose bytes travel base64-encoded (a file in a deploy bundle): the parts, filled, then encoded. */
export interface Base64Part {
  readonly base64: readonly TemplatePart[];
}

export type TemplatePart = string | Hole | Base64Part;

export interface Template {
  readonly parts: readonly TemplatePart[];
}

/** A value that does not fit its hole. The message names the hole and its grammar, never the value. */
export class HoleError extends Error {
  override readonly name = "HoleError";
}

/** Any hole's marker, as it stands in rendered text; the topology may hold none (validation refuses it by field). */
export const HOLE_MARKER = /@@hole\.[A-Za-z0-9]+@@/;

/** What a renderer is given in place of the value: a marker every escape leaves as it is. */
export function holeMarker(hole: Hole): string {
  return `@@hole.${hole.hole}@@`;
}

/**
 * Refuses rendered text that holds a hole's marker other than exactly once: a config value that
 * carries a marker would otherwise become a second hole, and the secret would be written there.
 */
export function assertMarkedOnce(text: string, holes: readonly Hole[]): void {
  for (const h of holes) {
    const n = text.split(holeMarker(h)).length - 1;
    if (n !== 1)
      throw new RenderError(`the rendered text holds the place of ${h.hole} ${n} times, not once: a config value may not contain "${holeMarker(h)}"`);
  }
}

/** Splits rendered text at the markers of `holes` into parts (adjacent text joined); each marker must stand exactly once. */
export function templateParts(text: string, holes: readonly Hole[]): TemplatePart[] {
  assertMarkedOnce(text, holes);
  const byMarker = new Map(holes.map((h) => [holeMarker(h), h]));
  const parts: TemplatePart[] = [];
  for (const piece of text.split(new RegExp(`(${HOLE_MARKER.source})`))) {
    const hole = byMarker.get(piece);
    if (hole !== undefined) parts.push(hole);
    else if (piece === "") continue;
    else if (typeof parts.at(-1) === "string") parts[parts.length - 1] = `${parts.at(-1) as string}${piece}`;
    else parts.push(piece);
  }
  return parts;
}

/** The holes a template has, each once, in order. */
export function holesOf(parts: readonly TemplatePart[]): Hole[] {
  const seen = new Map<string, Hole>();
  const walk = (ps: readonly TemplatePart[]) => {
    for (const p of ps) {
      if (typeof p === "string") continue;
      if ("base64" in p) walk(p.base64);
      else if (!seen.has(p.hole)) seen.set(p.hole, p);
    }
  };
  walk(parts);
  return [...seen.values()];
}

/** The text with every hole filled: each value checked against its hole's grammar first. */
export function fillTemplate(template: Template, values: Readonly<Record<string, string>>): string {
  for (const h of holesOf(template.parts)) {
    if (!h.pattern.startsWith("^") || !h.pattern.endsWith("$")) throw new Error(`the hole ${h.hole}'s grammar is not anchored: ${h.pattern}`);
    const value = values[h.hole];
    if (value === undefined) throw new HoleError(`no value for the hole ${h.hole}`);
    if (!new RegExp(h.pattern).test(value))
      throw new HoleError(`the value for ${h.hole} does not match ${h.pattern}; it is refused rather than written where it would need escaping`);
  }
  const fill = (ps: readonly TemplatePart[]): string =>
    ps.map((p) => (typeof p === "string" ? p : "base64" in p ? Buffer.from(fill(p.base64)).toString("base64") : values[p.hole]!)).join("");
  return fill(template.parts);
}
