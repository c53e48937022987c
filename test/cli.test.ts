// The command-line contract of plan, drift, dr-rebuild, doctor and import: a usage mistake is one
// line `<command>: <what is wrong>; <the fix> (see --help)` and exit 2, never a stack trace; only a
// bug in the program prints one, and says so.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { describeFailure, isBug, oneOf, parseCommandLine, pathOption, positiveInteger, ProgramBug, stackName, UsageError } from "../scripts/lib/cli";
import { runScript, tmpDir } from "./helpers";

/** Asserts a usage failure: exit 2, stderr exactly one line `<command>: ...; <fix> (see --help)`, no stack frame. */
function assertUsage(r: { code: number | null; stdout: string; stderr: string }, command: string, fix: RegExp): string {
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /^ {4}at /m, "no stack frame");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  const line = lines[0]!;
  assert.ok(line.startsWith(`${command}: `), line);
  assert.match(line, /^[^;]+; .+ \(see --help\)$/, line);
  assert.match(line, fix);
  return line;
}

describe("usage mistakes, as people make them", () => {
  test("plan --bogus: one usage line, exit 2, no stack trace", () => {
    assertUsage(runScript("plan", ["--bogus"]), "plan", /unknown option --bogus; the options are --stack, --config-file, --out/);
  });

  test("plan --stak: suggests the option meant", () => {
    assertUsage(runScript("plan", ["--stak", "prod"]), "plan", /unknown option --stak; did you mean --stack\?/);
  });

  test("plan --config-file without a value: one usage line, exit 2, no stack trace", () => {
    assertUsage(runScript("plan", ["--config-file"]), "plan", /--config-file needs a value; write --config-file FILE/);
  });

  test("plan --out followed by another option: the missing value is named", () => {
    assertUsage(runScript("plan", ["--out", "--quiet"]), "plan", /--out needs a value, not the option "--quiet"; write --out DIR/);
  });

  test("plan --quiet=yes: a flag takes no value", () => {
    assertUsage(runScript("plan", ["--quiet=yes"]), "plan", /--quiet takes no value; write --quiet alone/);
  });

  test("plan somepositional: one usage line, exit 2, no stack trace", () => {
    assertUsage(
      runScript("plan", ["somepositional"]),
      "plan",
      /unexpected argument "somepositional"; this command takes options only \(for a stack, write --stack somepositional\)/,
    );
  });

  test("plan --out FILE where FILE is an existing regular file: one usage line, exit 2, the file untouched", () => {
    const file = path.join(tmpDir("outfile"), "notes.txt");
    fs.writeFileSync(file, "mine\n");
    assertUsage(runScript("plan", ["--out", file]), "plan", /--out ".*notes\.txt" is a file, not a folder; write --out with a new or empty folder/);
    assert.equal(fs.readFileSync(file, "utf8"), "mine\n");
  });

  test("plan --out '': an empty path is not the current folder", () => {
    assertUsage(runScript("plan", ["--out="]), "plan", /--out needs a non-empty path; write --out DIR/);
  });

  test("plan --config-file that does not exist: one line, exit 2, no stack trace", () => {
    const r = runScript("plan", ["--config-file", path.join(tmpDir("nofile"), "Pulumi.x.yaml")]);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, /^ {4}at /m);
    assert.match(r.stderr, /^plan: .*Pulumi\.x\.yaml\b.*; create it/);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  });

  test("dr-rebuild --timeout abc: one usage line, exit 2, no stack trace", () => {
    assertUsage(
      runScript("dr-rebuild", ["hetzner-cockpit", "--timeout", "abc"]),
      "dr-rebuild",
      /--timeout takes a whole number above 0, not "abc"; write e\.g\. --timeout 900/,
    );
    for (const bad of ["0", "-5", "1e3", "1.5", " 9"])
      assertUsage(runScript("dr-rebuild", ["oracle", `--timeout=${bad}`]), "dr-rebuild", /--timeout takes a whole number above 0/);
  });

  test("dr-rebuild toString: an Object.prototype key is not a node (own-property lookup)", () => {
    for (const name of ["toString", "__proto__", "constructor"]) {
      assertUsage(
        runScript("dr-rebuild", [name]),
        "dr-rebuild",
        new RegExp(`no node named "${name}" in stack prod; name one of hetzner-cockpit, oracle, pop-os`),
      );
    }
  });

  test("dr-rebuild without a node, or with two: one usage line, exit 2", () => {
    assertUsage(runScript("dr-rebuild", []), "dr-rebuild", /no node given; name the node to rebuild: npm run dr-rebuild -- NODE/);
    assertUsage(runScript("dr-rebuild", ["oracle", "pop-os"]), "dr-rebuild", /unexpected argument "pop-os"; give one node/);
  });

  test("doctor --source bogus: one usage line, exit 2, no stack trace", () => {
    assertUsage(runScript("doctor", ["--source", "bogus"]), "doctor", /--source is state or plan, not "bogus"; write --source state or --source plan/);
  });

  test("drift --source bogus: one usage line, exit 2, no stack trace", () => {
    assertUsage(runScript("drift", ["--source", "bogus"]), "drift", /--source is state or plan, not "bogus"; write --source state or --source plan/);
  });

  test("drift --cloud-only --nodes-only: refused instead of checking nothing and reporting no drift", () => {
    assertUsage(runScript("drift", ["--cloud-only", "--nodes-only"]), "drift", /--cloud-only and --nodes-only exclude each other/);
  });

  test("import and doctor refuse a stack name that is not one, and arguments they do not take", () => {
    assertUsage(runScript("import", ["--stack", "../prod"]), "import", /--stack "\.\.\/prod" is not a stack name/);
    assertUsage(runScript("doctor", ["--stack", ".."]), "doctor", /--stack "\.\." is not a stack name/);
    assertUsage(runScript("import", ["prod"]), "import", /unexpected argument "prod"; this command takes options only \(for a stack, write --stack prod\)/);
  });

  test("--help still prints each command's usage and exits 0", () => {
    for (const [command, line] of [
      ["plan", /--config-file reads the stack's config from FILE/],
      ["drift", /--nodes-only/],
      ["dr-rebuild", /usage: npm run dr-rebuild -- <node>/],
      ["doctor", /--source state\|plan/],
      ["import", /--write runs/],
    ] as const) {
      const r = runScript(command, ["--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, line);
    }
  });
});

describe("the parser and validators", () => {
  const options = {
    stack: { type: "string", default: "prod", value: "NAME" },
    out: { type: "string", value: "DIR" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  } as const;

  test("parses what it knows, with defaults", () => {
    const { values, positionals } = parseCommandLine(options, ["--out", "x", "-h"]);
    assert.deepEqual({ ...values }, { stack: "prod", out: "x", quiet: false, help: true });
    assert.deepEqual(positionals, []);
    assert.deepEqual(parseCommandLine(options, ["n", "--quiet"], { max: 1, name: "node" }).positionals, ["n"]);
    assert.equal(parseCommandLine(options, ["--out=-dash"]).values.out, "-dash");
  });

  test("every mistake is a UsageError with what and fix", () => {
    const usage = (args: string[]) => {
      try {
        parseCommandLine(options, args);
      } catch (err) {
        assert.ok(err instanceof UsageError);
        return `${err.what} | ${err.fix}`;
      }
      assert.fail(`accepted ${args.join(" ")}`);
    };
    assert.equal(usage(["-x"]), "unknown option -x | the options are --stack, --out, --quiet, --help");
    assert.equal(usage(["--quite"]), "unknown option --quite | did you mean --quiet?");
    assert.equal(usage(["--out"]), "--out needs a value | write --out DIR");
    assert.equal(usage(["--help=1"]), "--help takes no value | write --help alone");
    assert.equal(usage(["a", "b"]), 'unexpected arguments "a" "b" | this command takes options only');
  });

  test("values: enumerations, positive integers, paths and stack names", () => {
    assert.equal(oneOf("source", "plan", ["state", "plan"]), "plan");
    assert.throws(() => oneOf("source", "State", ["state", "plan"]), /--source is state or plan, not "State"/);
    assert.equal(positiveInteger("timeout", "900", "900"), 900);
    for (const bad of ["", "0", "-1", "+1", "1e3", "0x10", "1.0", "abc", "9".repeat(20)])
      assert.throws(() => positiveInteger("timeout", bad, "900"), UsageError, bad);
    assert.throws(() => pathOption("out", "", "DIR"), /non-empty path/);
    assert.throws(() => pathOption("out", "a\0b", "DIR"), /without NUL/);
    for (const good of ["prod", "a", "dev-2", "my_stack.v1", "A".repeat(100)]) assert.equal(stackName(good), good);
    for (const bad of ["", ".", "..", ".x", "a/b", "a b", "prod\n", "A".repeat(101), "ü"]) assert.throws(() => stackName(bad), UsageError, JSON.stringify(bad));
  });

  test("a message from the program is one line without a trace; a bug prints its trace and says it is one", () => {
    const exits = { failure: 2, bug: 1 };
    assert.deepEqual(describeFailure("x", new Error("HCLOUD_TOKEN is not set"), exits), { code: 2, text: "x: HCLOUD_TOKEN is not set\n" });
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'f'"), { code: "ENOENT" });
    assert.equal(describeFailure("x", enoent, exits).text, "x: ENOENT: no such file or directory, open 'f'\n");
    const fetchFailed = new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) });
    assert.equal(isBug(fetchFailed), false);
    assert.equal(describeFailure("x", fetchFailed, exits).text, "x: fetch failed: connect ECONNREFUSED 127.0.0.1:1\n");
    for (const bug of [new TypeError("x is undefined"), new RangeError("r"), new ProgramBug("p", { cause: new Error("inner") }), "a string"]) {
      const d = describeFailure("x", bug, exits);
      assert.equal(d.code, 1);
      assert.match(d.text, /x: this is a bug in optimal-mesh, not in what you typed/);
    }
    assert.match(describeFailure("x", new TypeError("boom"), exits).text, /^ {4}at /m);
    assert.match(describeFailure("x", new ProgramBug("p", { cause: new Error("inner") }), exits).text, /caused by: Error: inner/);
    assert.equal(describeFailure("x", new UsageError("what", "fix"), exits).text, "x: what; fix (see --help)\n");
  });
});
