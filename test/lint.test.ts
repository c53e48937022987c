// The lint that npm test runs catches what it is there for: an Output pasted into a template
// literal (Pulumi's own rule), on a fixture the repository's lint skips.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { ESLint } from "eslint";
import { ROOT } from "./helpers";

test("Pulumi's lint rule refuses an Output in a template literal", async () => {
  const eslint = new ESLint({ cwd: ROOT, ignore: false });
  const [result] = await eslint.lintFiles([path.join(ROOT, "test/fixtures/output-in-template.ts")]);
  assert.deepEqual(
    result!.messages.map((m) => m.ruleId),
    ["@pulumi/no-output-in-template-literal"],
  );
});

test("the lint keeps the project on the SDK's public API: no internal module, no patched class, no changed stack formatting", async () => {
  const eslint = new ESLint({ cwd: ROOT, ignore: false });
  const [result] = await eslint.lintFiles([path.join(ROOT, "test/fixtures/sdk-internals.ts")]);
  assert.deepEqual(
    result!.messages.map((m) => `${m.line} ${m.ruleId}`),
    ["2 no-restricted-imports", "5 no-restricted-syntax", "6 no-restricted-syntax", "7 no-restricted-syntax", "8 no-restricted-properties"],
  );
});
