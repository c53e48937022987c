// The README's promises that are cheap to keep honest: every runbook linked exists, every
// operator command answers --help.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { ROOT, runScript } from "./helpers";

const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

test("every runbook the README links exists, and every runbook is linked", () => {
  const linked = [...new Set([...readme.matchAll(/\]\((docs\/[^)]+\.md)\)/g)].map((m) => m[1]!))].sort();
  assert.deepEqual(
    linked,
    fs
      .readdirSync(path.join(ROOT, "docs"))
      .map((f) => `docs/${f}`)
      .sort(),
  );
});

for (const script of ["plan", "drift", "dr-rebuild", "doctor", "import", "validate-policy"]) {
  test(`npm run ${script} -- --help explains itself`, () => {
    const r = runScript(script, ["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage: npm run ${script}`));
    assert.ok(readme.includes(`npm run ${script}`), `the README mentions npm run ${script}`);
  });
}
