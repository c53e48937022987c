// The lab (test/lab/): the prod plan's remote commands on real systemd hosts. Runs where the
// machine allows it (root, systemd-nspawn, debootstrap); says plainly why when it does not. CI
// installs what it needs and never skips it.
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { labUnavailable, ROOT } from "./lab/hosts";
import { checkWith, missingTool } from "./helpers";

const why = labUnavailable();
if (why !== undefined && process.env.CI) throw new Error(`the lab must run in CI: ${why}`);

test("the lab stand-ins are shellcheck-clean", { skip: missingTool("shellcheck") }, () => {
  for (const name of ["service", "tailscale"]) {
    const r = checkWith("shellcheck", ["--shell=bash", "--severity=style"], name, fs.readFileSync(path.join(__dirname, "lab/standins", name), "utf8"));
    assert.equal(r.code, 0, r.output);
  }
});

test("npm run lab: every scenario passes and nothing is left behind", { skip: why === undefined ? false : `lab skipped: ${why}` }, async () => {
  // Every scenario: LAB_SCENARIOS (a developer's subset) is not passed on.
  const { LAB_SCENARIOS: _subset, ...env } = process.env;
  const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(__dirname, "lab/main.ts")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    process.stderr.write(d);
  });
  child.stderr.on("data", (d: Buffer) => process.stderr.write(d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, out);
  assert.match(out, /^lab: 14 passed, 0 failed$/m);
  assert.match(out, /ok {3}z nothing is left behind/);
  assert.match(out, /^recovery time: [\d.]+s/m);
});
