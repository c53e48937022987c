// Random mutations of the prod topology either validate or fail with path-specific problems;
// validation never crashes.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { MeshConfigError, validateMesh } from "../stacks/validate";
import { prodMesh, type Raw } from "./helpers";

type Seg = string | number;

function paths(value: unknown, at: Seg[] = []): Seg[][] {
  const out: Seg[][] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  return out;
}

const key = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{0,11}$/);
const scalar = fc.oneof(
  fc.string(),
  fc.integer({ min: -100000, max: 100000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("hub", "worker", "loopback", "tailnet", "all", "gpu", "oracle", "pop-os", "http://localhost:3000", "100.94.77.114"),
);
const value = fc.oneof(scalar, fc.jsonValue({ maxDepth: 2 }), fc.array(scalar, { maxLength: 3 }), fc.dictionary(key, scalar, { maxKeys: 3 }));

type Mutation = { kind: "set"; pick: number; value: unknown } | { kind: "delete"; pick: number } | { kind: "add"; pick: number; key: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), pick: fc.nat(), value }),
  fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("add" as const), pick: fc.nat(), key, value }),
);

function apply(raw: Raw, m: Mutation): Raw {
  const all = paths(raw).filter((p) => p.length > 0);
  const at = all[m.pick % all.length]!;
  const parent = at.slice(0, -1).reduce((o: Raw, s) => o[s], raw);
  const last = at[at.length - 1]!;
  if (m.kind === "set") parent[last] = m.value;
  else if (m.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (target !== null && typeof target === "object" && !Array.isArray(target)) target[m.key] = m.value;
    else parent[last] = { [m.key]: m.value };
  }
  return raw;
}

test("mutated prod topologies validate or fail with path-specific problems, never crash", () => {
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
      const raw = mutations.reduce(apply, prodMesh());
      try {
        validateMesh(raw);
        accepted++;
      } catch (err) {
        if (!(err instanceof MeshConfigError)) throw err;
        rejected++;
        assert.ok(err.problems.length > 0);
        for (const p of err.problems) {
          assert.match(p.path, /^mesh(?:[.[]|$)/, `problem path ${p.path} is a config path`);
          assert.ok(p.message.trim().length > 0 && p.fix.trim().length > 0, `${p.path} has a message and a fix`);
        }
        assert.match(err.message, /problems?; nothing was registered/);
      }
    }),
    { numRuns: 600, seed: 20261127 },
  );
  console.log(`mutations: ${accepted} accepted, ${rejected} rejected with path-specific problems`);
  // Both outcomes happen, so the property is not vacuous.
  assert.ok(accepted > 10 && rejected > 100, `accepted ${accepted}, rejected ${rejected}`);
});

test("validation does not mutate its input", () => {
  fc.assert(
    fc.property(mutation, (m) => {
      const raw = apply(prodMesh(), m);
      const before = JSON.stringify(raw);
      try {
        validateMesh(raw);
      } catch {
        // outcome checked above
      }
      assert.equal(JSON.stringify(raw), before);
    }),
    { numRuns: 200, seed: 7 },
  );
});
