// The plan writes only its own files: a foreign folder is refused untouched, nothing is followed
// through a symlink, a file edited since the plan wrote it is kept, and a re-plan rewrites only
// what changed. Most cases call writePlanFiles directly; the command-line ones run the plan.
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { PlanReport } from "../scripts/lib/render-plan";
import { OutDirError, parsePlanFiles, PLAN_FILES, writePlanFiles } from "../scripts/lib/write-plan";
import { prodMesh, ROOT, runPlan, tmpDir, writeStackFile, newWorker } from "./helpers";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** An evaluation whose plan is plan.txt, resources.json, outputs.json and these artifacts. */
function evaluation(artifacts: Record<string, string>): PlanReport {
  return { checks: [], notices: [], registrations: [], outputs: {}, artifacts: Object.entries(artifacts).map(([p, text]) => ({ path: p, text })) };
}

const PLAN = { "a/one.txt": "one\n", "a/b/two.txt": "two\n", "three.txt": "three\n" };

/** Every entry under `dir`, never following a symlink: kind, content or link target, and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`;
      const full = path.join(dir, r);
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink()) out[r] = `link -> ${fs.readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${st.mtimeMs}`;
        walk(r);
      } else out[r] = `file ${st.mtimeMs} ${fs.readFileSync(full, "utf8")}`;
    }
  };
  walk("");
  return out;
}

/** A folder holding a first plan of PLAN (and a sibling folder `outside` with a file in it). */
function planned(): { root: string; out: string; outside: string } {
  const root = tmpDir("write");
  const out = path.join(root, "out");
  const outside = path.join(root, "outside");
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "two.txt"), "two\n");
  writePlanFiles(out, "plan\n", evaluation(PLAN));
  return { root, out, outside };
}

describe("writePlanFiles", () => {
  test("a first plan writes its files and lists each with its sha256", () => {
    const { out } = planned();
    const list = fs.readFileSync(path.join(out, PLAN_FILES), "utf8");
    assert.ok(list.split("\n").includes(`${sha("one\n")}\ta/one.txt`), list);
    assert.equal(list.trimEnd().split("\n").length, 6);
    assert.equal(fs.readFileSync(path.join(out, "a", "b", "two.txt"), "utf8"), "two\n");
  });

  test("a non-empty folder no plan wrote is refused and left byte-identical", () => {
    const dir = tmpDir("foreign");
    fs.mkdirSync(path.join(dir, "src"));
    fs.writeFileSync(path.join(dir, "src", "main.ts"), "code\n");
    fs.writeFileSync(path.join(dir, "three.txt"), "mine\n");
    const before = snapshot(dir);
    assert.throws(
      () => writePlanFiles(dir, "plan\n", evaluation(PLAN)),
      (err: unknown) => err instanceof OutDirError && /has files no plan wrote.*choose an empty or new folder/.test(err.message),
    );
    assert.deepEqual(snapshot(dir), before);
  });

  test("an empty folder is fine", () => {
    const dir = tmpDir("empty");
    assert.equal(writePlanFiles(dir, "plan\n", evaluation(PLAN)).changed, 6);
  });

  test("a second plan into its own folder rewrites only the changed files and removes the stale ones", () => {
    const { out } = planned();
    const old = new Date("2020-01-01T00:00:00Z");
    for (const f of ["a/one.txt", "three.txt", PLAN_FILES]) fs.utimesSync(path.join(out, f), old, old);
    // The same plan again: nothing is written, not even the list.
    assert.deepEqual(writePlanFiles(out, "plan\n", evaluation(PLAN)), { files: 6, changed: 0, removed: 0, kept: [] });
    assert.equal(fs.statSync(path.join(out, PLAN_FILES)).mtimeMs, old.getTime());
    // One file changed, one gone (its folder with it), one new.
    const summary = writePlanFiles(out, "plan\n", evaluation({ "a/one.txt": "one\n", "three.txt": "3\n", "four.txt": "four\n" }));
    assert.deepEqual(summary, { files: 6, changed: 2, removed: 1, kept: [] });
    assert.equal(fs.statSync(path.join(out, "a", "one.txt")).mtimeMs, old.getTime());
    assert.ok(fs.statSync(path.join(out, "three.txt")).mtimeMs > old.getTime());
    assert.equal(fs.existsSync(path.join(out, "a", "b")), false);
    assert.ok(fs.readFileSync(path.join(out, PLAN_FILES), "utf8").includes(`${sha("four\n")}\tfour.txt`));
    assert.ok(!fs.readFileSync(path.join(out, PLAN_FILES), "utf8").includes("two.txt"));
  });

  test("a stale file edited since the plan wrote it is kept and reported", () => {
    const { out } = planned();
    fs.writeFileSync(path.join(out, "a", "b", "two.txt"), "two, with my notes\n");
    const summary = writePlanFiles(out, "plan\n", evaluation({ "a/one.txt": "one\n", "three.txt": "three\n" }));
    assert.deepEqual(summary.kept, ["a/b/two.txt"]);
    assert.equal(summary.removed, 0);
    assert.equal(fs.readFileSync(path.join(out, "a", "b", "two.txt"), "utf8"), "two, with my notes\n");
    // It is the user's file now: no longer listed, so the next plan leaves it alone without a word.
    assert.deepEqual(writePlanFiles(out, "plan\n", evaluation({ "a/one.txt": "one\n", "three.txt": "three\n" })).kept, []);
    assert.ok(fs.existsSync(path.join(out, "a", "b", "two.txt")));
  });

  test("a symlink inside the folder is neither followed nor deleted", () => {
    const { out, outside } = planned();
    const outsideBefore = snapshot(outside);
    // Not listed: not the plan's, left alone.
    fs.symlinkSync(outside, path.join(out, "elsewhere"));
    // A stale file replaced by a symlink: kept (not a plain file), its target untouched.
    fs.rmSync(path.join(out, "a", "b", "two.txt"));
    fs.symlinkSync(path.join(outside, "two.txt"), path.join(out, "a", "b", "two.txt"));
    const summary = writePlanFiles(out, "plan\n", evaluation({ "a/one.txt": "one\n", "three.txt": "three\n" }));
    assert.deepEqual(summary.kept, ["a/b/two.txt"]);
    assert.equal(fs.readlinkSync(path.join(out, "elsewhere")), outside);
    assert.equal(fs.readlinkSync(path.join(out, "a", "b", "two.txt")), path.join(outside, "two.txt"));
    assert.deepEqual(snapshot(outside), outsideBefore);
  });

  test("a plan file or folder replaced by a symlink is refused: nothing written through it, nothing changed", () => {
    const { out, outside } = planned();
    // The plan's folder a/b now leads outside, where a file of the same name waits.
    fs.rmSync(path.join(out, "a", "b"), { recursive: true });
    fs.symlinkSync(outside, path.join(out, "a", "b"));
    const before = { out: snapshot(out), outside: snapshot(outside) };
    assert.throws(() => writePlanFiles(out, "plan\n", evaluation({ ...PLAN, "a/b/two.txt": "changed\n" })), /a[/]b is a symlink/);
    // A stale path through it is refused the same way (it is not deleted through the link).
    assert.throws(() => writePlanFiles(out, "plan\n", evaluation({ "three.txt": "three\n" })), /a[/]b is a symlink/);
    assert.deepEqual({ out: snapshot(out), outside: snapshot(outside) }, before);
    // A plan file itself replaced by a symlink.
    const second = planned();
    fs.rmSync(path.join(second.out, "three.txt"));
    fs.symlinkSync(path.join(second.outside, "two.txt"), path.join(second.out, "three.txt"));
    assert.throws(() => writePlanFiles(second.out, "plan\n", evaluation(PLAN)), /three\.txt is a symlink where the plan writes a file/);
    assert.equal(fs.readFileSync(path.join(second.outside, "two.txt"), "utf8"), "two\n");
  });

  test("a file someone put where the plan writes one is refused unless it already holds the plan's content", () => {
    const { out } = planned();
    fs.writeFileSync(path.join(out, "four.txt"), "someone's\n");
    const before = snapshot(out);
    assert.throws(
      () => writePlanFiles(out, "plan\n", evaluation({ ...PLAN, "four.txt": "four\n" })),
      /four\.txt was not written by a plan .* differs from the plan's/,
    );
    assert.deepEqual(snapshot(out), before);
    // The same content is no loss: the plan takes the file over.
    fs.writeFileSync(path.join(out, "four.txt"), "four\n");
    assert.equal(writePlanFiles(out, "plan\n", evaluation({ ...PLAN, "four.txt": "four\n" })).changed, 0);
    assert.match(fs.readFileSync(path.join(out, PLAN_FILES), "utf8"), /\tfour\.txt$/m);
  });

  test("a list naming ../x or an absolute path deletes nothing there, even with the right hash", () => {
    const { root, out } = planned();
    const victim = path.join(root, "x");
    fs.writeFileSync(victim, "x\n");
    fs.appendFileSync(path.join(out, PLAN_FILES), `${sha("x\n")}\t../x\n../x\n${sha("x\n")}\t${victim}\n${victim}\na/../../x\n./three.txt\n`);
    assert.equal(writePlanFiles(out, "plan\n", evaluation(PLAN)).removed, 0);
    assert.equal(fs.readFileSync(victim, "utf8"), "x\n");
    assert.deepEqual([...parsePlanFiles(`../x\n/etc/passwd\n${sha("a")}\ta//b\n.\n`).keys()], []);
  });

  test("an old list (paths only) still works: its plain files are stale, anything else stays", () => {
    const { out } = planned();
    fs.mkdirSync(path.join(out, "olddir"));
    fs.writeFileSync(path.join(out, "old.txt"), "whatever\n");
    fs.writeFileSync(path.join(out, PLAN_FILES), `${Object.keys(PLAN).join("\n")}\nplan.txt\nold.txt\nolddir\n`);
    const summary = writePlanFiles(out, "plan\n", evaluation(PLAN));
    assert.equal(summary.removed, 1);
    assert.deepEqual(summary.kept, ["olddir"]);
    assert.equal(fs.existsSync(path.join(out, "old.txt")), false);
    assert.ok(fs.statSync(path.join(out, "olddir")).isDirectory());
    assert.match(fs.readFileSync(path.join(out, PLAN_FILES), "utf8"), /^[0-9a-f]{64}\tplan\.txt$/m);
  });

  test("parsePlanFiles: a path may carry several hashes (a plan stopped half way); a bare path means the hash is unknown", () => {
    const listing = parsePlanFiles(`${sha("a")}\tp\n${sha("b")}\tp\nq\n${sha("c")}\tq\n${PLAN_FILES}\n`);
    assert.deepEqual([...listing.get("p")!].sort(), [sha("a"), sha("b")].sort());
    assert.equal(listing.get("q"), null);
    assert.equal(listing.has(PLAN_FILES), false);
  });
});

/** stderr is one line, with no stack frame. */
function assertOneLine(stderr: string): string {
  assert.doesNotMatch(stderr, /^ {4}at /m, stderr);
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
}

describe("npm run plan and its out folder", () => {
  test("a non-empty folder no plan wrote: exit 2, one line naming the folder and the fix, the folder byte-identical", () => {
    const dir = tmpDir("foreign-cli");
    fs.writeFileSync(path.join(dir, "README.md"), "mine\n");
    const before = snapshot(dir);
    const r = runPlan("--out", dir, "--quiet");
    assert.equal(r.code, 2);
    const line = assertOneLine(r.stderr);
    assert.ok(line.includes(dir), line);
    assert.match(line, /choose an empty or new folder with --out DIR/);
    assert.deepEqual(snapshot(dir), before);
  });

  for (const stack of ["..", ".", ".hidden", "a/b", ""]) {
    test(`--stack ${JSON.stringify(stack)} is refused before anything is read or written`, () => {
      const before = fs.readdirSync(ROOT).sort();
      const r = runPlan("--stack", stack, "--quiet");
      assert.equal(r.code, 2);
      assert.match(assertOneLine(r.stderr), /^plan: --stack ".*" is not a stack name; use 1-100 letters, digits.*\(see --help\)$/);
      assert.deepEqual(fs.readdirSync(ROOT).sort(), before);
      assert.equal(fs.existsSync(path.join(ROOT, PLAN_FILES)), false);
    });
  }

  test("an edited stale file is kept, with one warning line naming it", () => {
    const out = path.join(tmpDir("edited"), "out");
    const mesh = prodMesh();
    mesh.nodes.tycho = newWorker();
    assert.equal(runPlan("--stack", "e", "--config-file", writeStackFile(mesh), "--out", out, "--quiet").code, 0);
    const edited = path.join(out, "nodes", "tycho", "scripts", "bootstrap.sh");
    fs.appendFileSync(edited, "# my change\n");
    const r = runPlan("--stack", "e", "--config-file", writeStackFile(prodMesh()), "--out", out, "--quiet");
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      assertOneLine(r.stderr),
      /^plan: warning: kept 1 file of the earlier plan that changed since it wrote them: nodes\/tycho\/scripts\/bootstrap\.sh; delete them if they are not needed$/,
    );
    assert.match(fs.readFileSync(edited, "utf8"), /# my change\n$/);
    assert.deepEqual(fs.readdirSync(path.join(out, "nodes", "tycho"), { recursive: true }).sort(), ["scripts", "scripts/bootstrap.sh"]);
  });

  test("a plan that fails on its config leaves its earlier folder as it was", () => {
    const out = path.join(tmpDir("fails"), "out");
    assert.equal(runPlan("--out", out, "--quiet").code, 0);
    const before = snapshot(out);
    const mesh = prodMesh();
    mesh.nodes["pop-os"].role = "hub";
    const r = runPlan("--stack", "bad", "--config-file", writeStackFile(mesh), "--out", out);
    assert.equal(r.code, 1);
    assert.deepEqual(snapshot(out), before);
  });
});
