// One escape per language a rendered file is written in. Every renderer puts a value into its
// file through one of these, never by pasting it into a template: a value that could end a
// line, a quote or a comment, or name a systemd specifier, is escaped or refused here
// (docs/threat-model.md). Config values already passed their grammar (stacks/grammar.ts); these
// are the second wall, and they also cover text the program makes itself.

/** A value that no escape can carry, or a bug in the program: a grammar let it through. */
export class RenderError extends Error {
  override name = "RenderError";
}

/** Characters that end or break a line in some reader (control characters, Unicode line/paragraph separators) or have no UTF-8 form (lone surrogates). */
const UNWRITABLE = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]/gu;

function oneLine(value: string, what: string): string {
  if (new RegExp(UNWRITABLE.source, "u").test(value))
    throw new RenderError(`${what} ${JSON.stringify(value)} contains a control character or a lone surrogate; it cannot be written on one line`);
  return value;
}

/** Text for a comment or a message in any of the languages (shell, YAML, HuJSON, unit files): line breaks, control characters and lone surrogates shown as \uXXXX. */
export function commentText(text: string): string {
  return text.replace(UNWRITABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** POSIX shell: one word, bare when it holds only safe characters, else single-quoted. */
export function shq(value: string): string {
  if (/[\0\p{Cs}]/u.test(value)) throw new RenderError(`a shell word cannot hold a NUL character or a lone surrogate: ${JSON.stringify(value)}`);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * systemd unit files: a directive's plain value (Description=, User=, WorkingDirectory=, ...).
 * `%` starts a specifier, so it is doubled; a line break or a trailing backslash would start
 * another directive or join the next line, so they are refused.
 */
export function unitValue(value: string): string {
  oneLine(value, "a unit file value");
  if (/^ | $/.test(value)) throw new RenderError(`a unit file value cannot begin or end with a space (systemd strips it): ${JSON.stringify(value)}`);
  if (value.endsWith("\\")) throw new RenderError(`a unit file value cannot end in a backslash (it would join the next line): ${JSON.stringify(value)}`);
  return value.replace(/%/g, "%%");
}

/**
 * systemd unit files: a command line (ExecStart= and friends), given as space-separated words.
 * In each word `\` is an escape, `%` a specifier and `$` a variable, so each is escaped; a word
 * with quotes or blanks is double-quoted. A leading exec prefix (`-`, `@`, `+`, ...) is kept.
 */
export function unitCommand(command: string): string {
  oneLine(command, "a unit command line");
  return command
    .split(" ")
    .filter((w) => w !== "")
    .map((word) => {
      const escaped = word.replace(/\\/g, "\\\\").replace(/%/g, "%%").replace(/\$/g, "$$$$");
      return /["'\s;]/.test(word) ? `"${escaped.replace(/"/g, '\\"')}"` : escaped;
    })
    .join(" ");
}

/**
 * systemd EnvironmentFile= (also readable by bash): `KEY=value`, the value bare when safe, else
 * double-quoted with `\`, `"`, `` ` `` and `$` escaped (the escapes both readers honour).
 */
export function envFileValue(value: string): string {
  oneLine(value, "an environment value");
  return /^[A-Za-z0-9_@%+=:,./-]*$/.test(value) ? value : `"${value.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}

/** Docker's --env-file: `KEY=value` taken literally to the end of the line (no quoting exists), so only a line break is refused. */
export function dockerEnvValue(value: string): string {
  return oneLine(value, "a Docker environment value");
}

/** Mermaid: text inside a quoted label. Quotes, entity starts and angle brackets become entity codes. */
export function mermaidText(text: string): string {
  return commentText(text).replace(/#/g, "#35;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

/**
 * A name that every language here takes bare (a lower-case DNS label): inside a double-quoted
 * shell string, an awk -v assignment, a case pattern or a file name. Anything else is refused.
 */
export function bareName(value: string, what: string): string {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(value))
    throw new RenderError(`${what} ${JSON.stringify(value)} is not a lower-case DNS label; it cannot be written bare`);
  return value;
}

/** An environment variable's name, in every env language here (systemd, Docker, a shell's export): UPPER_SNAKE_CASE or refused. */
export function envName(name: string): string {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new RenderError(`${JSON.stringify(name)} is not an environment name`);
  return name;
}
