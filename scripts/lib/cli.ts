// The command-line contract shared by plan, drift, dr-rebuild, doctor and import: options parsed
// strictly (node:util parseArgs), every usage mistake one line `<command>: <what>; <fix> (see --help)`
// with exit 2, option values validated, and a top-level handler that prints a stack trace only for
// a bug in the program, never for something a person typed or the machine refused.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

/** A usage mistake: what is wrong and how to fix it, printed as one line with exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    readonly what: string,
    readonly fix: string,
  ) {
    super(`${what}; ${fix}`);
  }
}

/** A failure that is the program's fault, not the user's: printed with its stack trace. */
export class ProgramBug extends Error {
  override name = "ProgramBug";
}

export interface StringOption {
  readonly type: "string";
  readonly default?: string;
  readonly short?: string;
  /** The value's placeholder in messages, e.g. FILE (default VALUE). */
  readonly value?: string;
}

export interface BooleanOption {
  readonly type: "boolean";
  readonly short?: string;
}

export type OptionSpec = StringOption | BooleanOption;

/** Parsed values: booleans default to false, strings with a default are always set. */
export type OptionValues<S extends Readonly<Record<string, OptionSpec>>> = {
  readonly [K in keyof S]: S[K] extends BooleanOption ? boolean : S[K] extends { readonly default: string } ? string : string | undefined;
};

export interface CommandLine<S extends Readonly<Record<string, OptionSpec>>> {
  readonly values: OptionValues<S>;
  readonly positionals: readonly string[];
}

/** A value as it goes into a one-line message: quoted, control characters escaped. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

/** Text from the command line as it goes into a one-line message: control characters escaped. */
function plain(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** Edit distance, to suggest the option a typo meant. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length]!;
}

/**
 * Parses `args` against `options`, strictly. Every mistake becomes a UsageError with its fix:
 * an unknown option, a missing or stray value, an argument where none is taken.
 */
export function parseCommandLine<const S extends Readonly<Record<string, OptionSpec>>>(
  options: S,
  args: readonly string[] = process.argv.slice(2),
  positionals: { readonly max: number; readonly name?: string } = { max: 0 },
): CommandLine<S> {
  const spec = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      o.type === "string"
        ? { type: "string" as const, ...(o.short ? { short: o.short } : {}), ...(o.default !== undefined ? { default: o.default } : {}) }
        : { type: "boolean" as const, ...(o.short ? { short: o.short } : {}), default: false },
    ]),
  );
  const valueName = (name: string) => {
    const o = options[name];
    return o?.type === "string" ? (o.value ?? "VALUE") : "VALUE";
  };
  // A lenient pass first: its tokens say exactly what is wrong, in words better than Node's.
  const { tokens } = parseArgs({ args: [...args], options: spec, strict: false, allowPositionals: true, tokens: true });
  const known = Object.keys(options);
  const extra: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") {
      extra.push(t.value);
      continue;
    }
    if (t.kind !== "option") continue;
    const raw = plain(t.rawName);
    const o = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (o === undefined) {
      const near = known.filter((k) => distance(k, t.name) <= 2).sort((a, b) => distance(a, t.name) - distance(b, t.name))[0];
      throw new UsageError(
        `unknown option ${raw}`,
        near !== undefined ? `did you mean --${near}?` : `the options are ${known.map((k) => `--${k}`).join(", ")}`,
      );
    }
    if (o.type === "boolean" && t.value !== undefined) throw new UsageError(`${raw} takes no value`, `write ${raw} alone`);
    if (o.type === "string" && t.value === undefined) throw new UsageError(`${raw} needs a value`, `write ${raw} ${valueName(t.name)}`);
    // A value that looks like an option is most likely a missing value followed by the next option.
    if (o.type === "string" && t.value !== undefined && !t.inlineValue && t.value.startsWith("-")) {
      throw new UsageError(
        `${raw} needs a value, not the option ${quote(t.value)}`,
        `write ${raw} ${valueName(t.name)} (or ${raw}=${plain(t.value)} for a value that starts with '-')`,
      );
    }
  }
  if (extra.length > positionals.max) {
    const stray = extra.slice(positionals.max);
    const asStack = Object.hasOwn(options, "stack") && stray.length === 1 && isStackName(stray[0]!) ? ` (for a stack, write --stack ${stray[0]})` : "";
    throw new UsageError(
      `unexpected argument${stray.length > 1 ? "s" : ""} ${stray.map(quote).join(" ")}`,
      positionals.max === 0
        ? `this command takes options only${asStack}`
        : `give ${positionals.max === 1 ? "one" : `at most ${positionals.max}`} ${positionals.name ?? "argument"}${positionals.max > 1 ? "s" : ""}`,
    );
  }
  let parsed: ReturnType<typeof parseArgs<{ options: typeof spec; strict: true; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: spec, strict: true, allowPositionals: true });
  } catch (err) {
    // Anything the checks above missed is still a usage mistake, in Node's words (first sentence).
    throw new UsageError(plain((err as Error).message.split(". ")[0]!), "correct the command line");
  }
  return { values: parsed.values as OptionValues<S>, positionals: parsed.positionals };
}

/** The value if it is one of `choices`, else a UsageError naming them. */
export function oneOf<const C extends readonly string[]>(option: string, value: string, choices: C): C[number] {
  if ((choices as readonly string[]).includes(value)) return value as C[number];
  throw new UsageError(`--${option} is ${choices.join(" or ")}, not ${quote(value)}`, `write ${choices.map((c) => `--${option} ${c}`).join(" or ")}`);
}

/** A whole number above 0 (digits only: no sign, exponent, fraction or blank). */
export function positiveInteger(option: string, value: string, example: string): number {
  const n = /^[0-9]{1,15}$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(n) && n > 0) return n;
  throw new UsageError(`--${option} takes a whole number above 0, not ${quote(value)}`, `write e.g. --${option} ${example}`);
}

/** A path given on the command line: not empty (that would be the current folder) and without NUL. */
export function pathOption(option: string, value: string, placeholder: string): string {
  if (value === "" || value.includes("\0"))
    throw new UsageError(`--${option} needs a ${value === "" ? "non-empty path" : "path without NUL characters"}`, `write --${option} ${placeholder}`);
  return value;
}

/**
 * --cwd DIR, as the Pulumi CLI takes it: the project folder, holding Pulumi.yaml and the stack
 * files (default: this checkout). The program is always this checkout's.
 */
export function projectOption(value: string | undefined, checkout: string): string {
  if (value === undefined) return checkout;
  const dir = path.resolve(pathOption("cwd", value, "DIR"));
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml")))
    throw new UsageError(`--cwd ${quote(value)} holds no Pulumi.yaml`, "name the project folder, the one with Pulumi.yaml and Pulumi.<stack>.yaml");
  return dir;
}

/** Pulumi's stack names: 1-100 of A-Z a-z 0-9 _ . - and not starting with '.'. */
const STACK_NAME = /^(?!\.)[A-Za-z0-9_.-]{1,100}$/;

export function isStackName(value: string): boolean {
  return STACK_NAME.test(value);
}

/** A stack name, safe as the file name Pulumi.<stack>.yaml and the folder out/<stack>. */
export function stackName(value: string): string {
  if (isStackName(value)) return value;
  throw new UsageError(`--stack ${quote(value)} is not a stack name`, "use 1-100 letters, digits, '_', '.' or '-', not starting with '.', e.g. --stack prod");
}

export interface Exits {
  /** Exit status for an expected failure (bad input, missing tool, the machine refusing). */
  readonly failure: number;
  /** Exit status for a bug in the program. */
  readonly bug: number;
}

/** A system error from the file system, the network or a child process: the machine, not the program. */
function isSystemError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}

/**
 * Whether `err` is a bug: JavaScript's own errors (TypeError, RangeError, ...), failed assertions,
 * thrown non-errors and ProgramBug. Plain Errors are the program's messages to its user.
 */
export function isBug(err: unknown): boolean {
  if (err instanceof ProgramBug) return true;
  if (!(err instanceof Error)) return true;
  if (isSystemError(err)) return false;
  // fetch reports a network failure as a TypeError ("fetch failed") with what failed as its cause:
  // a system error (ECONNREFUSED), a TLS one (DEPTH_ZERO_SELF_SIGNED_CERT) or undici's (UND_ERR_SOCKET).
  // Every call to a web API goes through web.ts, which says which setting to fix; this is the backstop.
  if (err instanceof TypeError && err.cause instanceof Error && typeof (err.cause as NodeJS.ErrnoException).code === "string") return false;
  if (err.name === "AssertionError") return true;
  return [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError].some((c) => err instanceof c);
}

/** What a failed command prints to stderr and its exit status. */
export function describeFailure(command: string, err: unknown, exits: Exits): { code: number; text: string } {
  if (err instanceof UsageError) return { code: 2, text: `${command}: ${err.what}; ${err.fix} (see --help)\n` };
  if (isBug(err)) {
    const trace = (e: unknown) => (e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
    // A ProgramBug that wraps the failure: the failure's trace is the one that helps.
    const what = err instanceof ProgramBug && err.cause !== undefined ? `${err.message}\ncaused by: ${trace(err.cause)}` : trace(err);
    return {
      code: exits.bug,
      text: `${command}: ${what}\n${command}: this is a bug in optimal-mesh, not in what you typed; please report it with the trace above\n`,
    };
  }
  const e = err as Error;
  const message = e instanceof TypeError && e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message;
  return { code: exits.failure, text: `${command}: ${message}\n` };
}

/**
 * Runs an operator command: `--help` or `-h` anywhere prints `usage` and exits 0; otherwise
 * `main`'s status, or its failure described as describeFailure says.
 */
export function runCommand(command: string, main: () => Promise<number>, options: Partial<Exits> & { readonly usage: string }): void {
  if (process.argv.slice(2).some((a) => a === "--help" || a === "-h")) {
    console.log(options.usage);
    process.exit(0);
  }
  const exits: Exits = { failure: options.failure ?? 2, bug: options.bug ?? 2 };
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      const { code, text } = describeFailure(command, err, exits);
      process.stderr.write(text);
      process.exit(code);
    },
  );
}
