// HuJSON as the policy uses it: JSON plus // comments. A small, stable writer and a reader.
// Strings and keys are written by JSON.stringify; a comment never holds a line break.
import { commentText } from "../../text/escape";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A value with a comment line written above it (in objects and arrays). */
export class Commented {
  readonly comment: string;
  constructor(
    comment: string,
    readonly value: Json,
  ) {
    // A line break would end the comment and turn the rest of it into policy.
    this.comment = commentText(comment);
  }
}

type Doc = Json | Commented | Doc[] | { [k: string]: Doc };

const INLINE = 100;

function isScalar(v: Doc): boolean {
  return v === null || typeof v !== "object";
}

function inline(v: Doc): string | undefined {
  if (v instanceof Commented) return undefined;
  if (isScalar(v)) return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (!v.every(isScalar)) {
      const parts = v.map(inline);
      if (parts.some((p) => p === undefined)) return undefined;
      return `[${parts.join(", ")}]`;
    }
    return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
  }
  const entries = Object.entries(v as Record<string, Doc>);
  const parts = entries.map(([k, x]) => (isScalar(x) || Array.isArray(x) ? `${JSON.stringify(k)}: ${inline(x) ?? "\0"}` : "\0"));
  if (parts.some((p) => p.includes("\0"))) return undefined;
  return `{${parts.join(", ")}}`;
}

function write(v: Doc, indent: string): string {
  const one = inline(v);
  if (one !== undefined && one.length + indent.length <= INLINE) return one;
  const inner = `${indent}  `;
  const item = (x: Doc) => (x instanceof Commented ? `${inner}// ${x.comment}\n${inner}${write(x.value, inner)}` : `${inner}${write(x, inner)}`);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map(item).join(",\n")}\n${indent}]`;
  }
  if (v instanceof Commented) return write(v.value, indent);
  const entries = Object.entries(v as Record<string, Doc>);
  if (entries.length === 0) return "{}";
  return `{\n${entries
    .map(([k, x]) =>
      x instanceof Commented
        ? `${inner}// ${x.comment}\n${inner}${JSON.stringify(k)}: ${write(x.value, inner)}`
        : `${inner}${JSON.stringify(k)}: ${write(x, inner)}`,
    )
    .join(",\n")}\n${indent}}`;
}

/** Writes `doc` with `header` lines as leading comments. Key order is the caller's. */
export function writeHujson(header: readonly string[], doc: Doc): string {
  return `${header.map((l) => `// ${commentText(l)}`).join("\n")}\n${write(doc, "")}\n`;
}

/** Reads HuJSON: drops comments and trailing commas outside strings, then parses as JSON. */
export function parseHujson(text: string): Json {
  const skipComment = (i: number): number => {
    if (text[i] === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i);
      return end < 0 ? text.length : end;
    }
    if (text[i] === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new SyntaxError("unterminated /* comment");
      return end + 2;
    }
    return i;
  };
  const nextSignificant = (i: number): string | undefined => {
    for (;;) {
      const j = skipComment(i);
      if (j !== i) i = j;
      else if (/\s/.test(text[i] ?? "")) i++;
      else return text[i];
    }
  };
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const j = skipComment(i);
    if (j !== i) {
      i = j;
    } else if (c === '"') {
      let k = i + 1;
      while (k < text.length && text[k] !== '"') k += text[k] === "\\" ? 2 : 1;
      out += text.slice(i, k + 1);
      i = k + 1;
    } else {
      const next = c === "," ? nextSignificant(i + 1) : undefined;
      if (next !== "]" && next !== "}") out += c;
      i++;
    }
  }
  return JSON.parse(out) as Json;
}
