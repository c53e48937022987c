// For random valid topologies: the policy parses, every tag has an owner, its own tests pass
// offline, and its tests catch a dropped flow and a rule widened to everything.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { describeFailures, evaluatePolicy } from "../render/tailnet/evaluate";
import { parseHujson } from "../render/tailnet/hujson";
import { accessInput, policyInventory, type Grant, type Principal } from "../render/tailnet/intent";
import { renderPolicy } from "../render/tailnet/policy";
import type { MeshSpec } from "../stacks/schema";
import { validateMesh } from "../stacks/validate";
import { topology } from "./arbitraries";
import { policyWithoutGrant } from "./artifacts";

type Rule = { src: string[]; dst: string[]; ip: string[] };
type Policy = { tagOwners: Record<string, string[]>; grants: Rule[]; tests: { src: string; accept?: string[]; deny?: string[] }[] };

const RUNS = 150;

function hasEmailAdmin(spec: MeshSpec): boolean {
  return spec.access.admins.some((a) => a.includes("@"));
}

/** Principal/target pairs a grant allows that tests can observe (not a node to itself; admins only by email). */
function observablePairs(spec: MeshSpec, g: Grant): Set<string> {
  const key = (p: Principal) => (p.kind === "node" ? `node:${p.name}` : p.kind === "tag" ? p.tag : "admins");
  const out = new Set<string>();
  for (const s of g.sources) {
    if (s.kind === "admins" && !hasEmailAdmin(spec)) continue;
    for (const t of g.targets) if (!(s.kind === "node" && s.name === t.node)) out.add(`${key(s)}>${t.node}:${t.port}`);
  }
  return out;
}

test("random topologies: the policy parses, every tag has an owner, its tests pass", () => {
  let cases = 0;
  fc.assert(
    fc.property(topology(), (raw) => {
      const access = accessInput(validateMesh(raw));
      const text = renderPolicy(access, { stack: "p" });
      const doc = parseHujson(text) as unknown as Policy;
      assert.ok(Array.isArray(doc.grants) && doc.grants.length >= 2);
      const evaluation = evaluatePolicy(text, policyInventory(access));
      assert.deepEqual(describeFailures(evaluation), []);
      // Every test destination is a tag some grant's dst names.
      const named = new Set(doc.grants.flatMap((g) => g.dst));
      for (const t of doc.tests) for (const d of [...(t.accept ?? []), ...(t.deny ?? [])]) assert.ok(named.has(d.slice(0, d.lastIndexOf(":"))), d);
      cases += evaluation.cases.length;
    }),
    { numRuns: RUNS, seed: 1127 },
  );
  assert.ok(cases > RUNS * 5, `${cases} policy test cases evaluated`);
});

test("random topologies: dropping any flow that allows something no other flow does fails an accept test", () => {
  let dropped = 0;
  fc.assert(
    fc.property(topology(), (raw) => {
      const spec = validateMesh(raw);
      const access = accessInput(spec);
      const grants = access.grants;
      const inventory = policyInventory(access);
      const full = renderPolicy(access, { stack: "p" });
      for (const g of grants) {
        const others = new Set(grants.filter((o) => o !== g).flatMap((o) => [...observablePairs(spec, o)]));
        if ([...observablePairs(spec, g)].every((p) => others.has(p))) continue;
        dropped++;
        assert.ok(
          describeFailures(evaluatePolicy(policyWithoutGrant(full, access, g), inventory)).some((f) => /should be allowed/.test(f)),
          `dropping ${g.id}`,
        );
      }
    }),
    { numRuns: RUNS, seed: 2027 },
  );
  assert.ok(dropped > RUNS, `${dropped} flows dropped`);
});

test("random topologies: widening any rule to everything fails a deny test", () => {
  let widened = 0;
  fc.assert(
    fc.property(topology(), (raw) => {
      const access = accessInput(validateMesh(raw));
      const doc = parseHujson(renderPolicy(access, { stack: "p" })) as unknown as Policy;
      const inventory = policyInventory(access);
      doc.grants.forEach((rule, i) => {
        const adminOnly = rule.src.every((s) => s.startsWith("autogroup:"));
        // Whether a test from one of the rule's sources denies something: widening the rule's
        // destinations is observable only then (test destinations are the tags the grants name, so a
        // source allowed every one of them, e.g. the only node's admins, has nothing left to deny).
        const fromSources = doc.tests.filter((t) => rule.src.includes(t.src) || (t.src.includes("@") && rule.src.some((x) => x.startsWith("group:"))));
        const denies = fromSources.some((t) => (t.deny ?? []).length > 0);
        for (const change of [{ src: ["*"] }, { dst: ["*"], ip: ["*"] }]) {
          // autogroup:admin cannot be a test source: its rule's destinations are only observable with an admin email.
          if ("dst" in change && (adminOnly || !denies)) continue;
          const copy = structuredClone(doc);
          copy.grants[i] = { ...rule, ...change };
          widened++;
          assert.ok(
            describeFailures(evaluatePolicy(JSON.stringify(copy), inventory)).some((f) => /should be denied/.test(f)),
            `rule ${i} ${JSON.stringify(change)}`,
          );
        }
      });
    }),
    { numRuns: RUNS, seed: 3031 },
  );
  assert.ok(widened > RUNS * 4, `${widened} widenings`);
});
