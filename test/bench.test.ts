// The benchmarks' SDK floor replays exactly what the plan registered: same count, same
// types, names and parents (else its figure would be the floor of some other program).
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import type { Registration } from "../offline/evaluate";
import { ROOT, tmpDir } from "./helpers";

test("the SDK floor replays the prod plan's registrations, all of them and nothing else", () => {
  const out = path.join(tmpDir("floor"), "out");
  // Planned as `npm run plan` does, from dist/ (rebuilt when a source is newer): the replay below runs from dist/ too.
  const plan = spawnSync(process.execPath, [path.join(ROOT, "scripts", "launch.js"), "plan", "--out", out, "--quiet"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(plan.status, 0, plan.stderr);
  const planned = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as Registration[];
  const replay = spawnSync(process.execPath, [path.join(ROOT, "bench", "sdk-floor.js"), path.join(out, "resources.json"), "--list"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(replay.status, 0, replay.stderr);
  // Parents are compared without the stack name in their URN (the replay runs as its own stack).
  const withoutStack = (line: string) => line.replace(/urn:pulumi:[^:]+::/g, "urn:pulumi:-::");
  const replayed = replay.stdout.trimEnd().split("\n").slice(1).map(withoutStack);
  assert.equal(replay.stdout.split("\n")[0], `replayed ${planned.length} registrations`);
  assert.deepEqual(replayed.sort(), planned.map((r) => withoutStack(`${r.type} ${r.name} ${r.parent ?? "-"}`)).sort());
});
