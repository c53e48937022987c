// The prod tailnet policy, read as text and run through its own tests offline.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeFailures, evaluatePolicy, UnsupportedPolicyError, type Inventory } from "../render/tailnet/evaluate";
import { parseHujson, type Json } from "../render/tailnet/hujson";
import { accessInput, nodeTags, policyInventory } from "../render/tailnet/intent";
import { coverNodes, renderPolicy } from "../render/tailnet/policy";
import { namedNode } from "../stacks/schema";
import { validateMesh } from "../stacks/validate";
import { policyWithoutGrant } from "./artifacts";
import { prodMesh } from "./helpers";

const spec = validateMesh(prodMesh());
const access = accessInput(spec);
const text = renderPolicy(access, { stack: "prod" });
const inventory = policyInventory(access);

type Rule = { src: string[]; dst: string[]; ip: string[] };
type Test = { src: string; accept?: string[]; deny?: string[] };
type Policy = { tagOwners: Record<string, string[]>; hosts?: Record<string, string>; grants: Rule[]; tests: Test[] };
const policy = parseHujson(text) as unknown as Policy;

/** The policy without the grants one flow of the intent renders to (the flow dropped from the rules). */

function failuresOf(doc: Policy, inv: Inventory = inventory): string[] {
  return describeFailures(evaluatePolicy(JSON.stringify(doc), inv));
}

function testFor(src: string): Test {
  const t = policy.tests.find((x) => x.src === src);
  assert.ok(t, `a test with src ${src}`);
  return t;
}

describe("the prod policy", () => {
  test("is generated text with a header saying so, stable across renders", () => {
    assert.match(text, /^\/\/ Tailnet policy of the optimal-mesh stack "prod", generated from its topology\n/);
    assert.equal(renderPolicy(accessInput(validateMesh(prodMesh())), { stack: "prod" }), text);
    const reordered = prodMesh();
    reordered.nodes = Object.fromEntries(Object.entries(reordered.nodes).reverse());
    assert.equal(renderPolicy(accessInput(validateMesh(reordered)), { stack: "prod" }), text);
  });

  test("passes its own tests offline, and every tag it uses has an owner", () => {
    const evaluation = evaluatePolicy(text, inventory);
    assert.deepEqual(describeFailures(evaluation), []);
    assert.ok(evaluation.cases.length >= 40, `${evaluation.cases.length} cases`);
    for (const tag of ["tag:hub", "tag:worker", "tag:cockpit", "tag:gpu", "tag:ci", "tag:fabric-device", "tag:node-oracle"])
      assert.deepEqual(policy.tagOwners[tag], ["autogroup:admin"]);
  });

  test("has accept and deny cases for every role and device class", () => {
    for (const src of ["tag:node-oracle", "tag:node-pop-os", "tag:node-hetzner-cockpit", "tag:ci", "tag:fabric-device"]) {
      const t = testFor(src);
      assert.ok((t.accept ?? []).length > 0 && (t.deny ?? []).length > 0, `${src} has both kinds`);
    }
  });

  test("every test destination is named the way some grant names it (so no outcome depends on the tags devices carry when the policy is saved)", () => {
    const named = new Set(policy.grants.flatMap((g) => g.dst));
    const destinations = policy.tests.flatMap((t) => [...(t.accept ?? []), ...(t.deny ?? [])]);
    assert.ok(destinations.length > 30);
    for (const d of destinations) assert.ok(named.has(d.slice(0, d.lastIndexOf(":"))), `${d} is not named by any grant`);
  });

  test("encodes the seed's flows and nothing broader", () => {
    // Destinations are written as the grants name the nodes: pop-os is tag:gpu (and tag:worker),
    // the Pi tag:hub, the cockpit tag:cockpit (and tag:worker).
    // Deploys: the Pi reaches pop-os over SSH; pop-os may not SSH to the Pi, the cockpit may not SSH to pop-os.
    assert.ok(testFor("tag:node-oracle").accept!.includes("tag:gpu:22"));
    assert.ok(testFor("tag:node-pop-os").deny!.includes("tag:hub:22"));
    assert.ok(testFor("tag:node-hetzner-cockpit").deny!.includes("tag:gpu:22"));
    assert.ok(testFor("tag:node-hetzner-cockpit").deny!.includes("tag:worker:22"));
    // Ollama: only the node that dispatches LLM steps.
    assert.ok(testFor("tag:node-oracle").accept!.includes("tag:gpu:11434"));
    for (const src of ["tag:node-hetzner-cockpit", "tag:ci", "tag:fabric-device"]) {
      assert.ok(testFor(src).deny!.includes("tag:gpu:11434"), src);
      assert.ok(testFor(src).deny!.includes("tag:worker:11434"), src);
    }
    // Paired devices reach the cockpit's OptimalOS and nothing else.
    assert.deepEqual(testFor("tag:fabric-device").accept, ["tag:cockpit:3000"]);
    // CI gets SSH for drift checks, not OptimalOS.
    assert.deepEqual(testFor("tag:ci").accept, ["tag:hub:22", "tag:worker:22"]);
    assert.ok(testFor("tag:ci").deny!.includes("tag:hub:3000"));
    // Fixed addresses are named.
    assert.deepEqual(policy.hosts, { oracle: "100.94.77.114" });
  });

  test("uses role and capability tags where they select exactly the nodes of a flow", () => {
    assert.deepEqual(coverNodes(access, ["pop-os"]), ["tag:gpu"]);
    assert.deepEqual(coverNodes(access, ["oracle", "pop-os", "hetzner-cockpit"]), ["tag:hub", "tag:worker"]);
    assert.deepEqual(coverNodes(access, ["hetzner-cockpit"]), ["tag:cockpit"]);
    assert.deepEqual(coverNodes(access, ["oracle", "hetzner-cockpit"]), ["tag:cockpit", "tag:hub"]);
    assert.deepEqual(nodeTags(namedNode(spec, "pop-os"), spec.hetzner?.node), ["tag:gpu", "tag:node-pop-os", "tag:worker"]);
    assert.deepEqual(nodeTags(namedNode(spec, "hetzner-cockpit"), spec.hetzner?.node), ["tag:cockpit", "tag:node-hetzner-cockpit", "tag:worker"]);
  });

  test("dropping any one flow from the rules fails an accept test", () => {
    const grants = access.grants;
    // Tests cannot use autogroup:admin as a source, so the admins' rule is checked with an email below.
    for (const dropped of grants.filter((g) => g.id !== "admins")) {
      const failures = describeFailures(evaluatePolicy(policyWithoutGrant(text, access, dropped), inventory));
      assert.ok(
        failures.some((f) => /should be allowed/.test(f)),
        `dropping ${dropped.id} is caught`,
      );
    }
  });

  test("widening any grant's sources to * fails a deny test", () => {
    policy.grants.forEach((rule, i) => {
      const widened = structuredClone(policy);
      widened.grants[i] = { ...rule, src: ["*"] };
      assert.ok(
        failuresOf(widened).some((f) => /should be denied/.test(f)),
        `rule ${i} (${rule.src.join(",")}) widened is caught`,
      );
    });
  });

  test("widening any grant to every destination and port fails a deny test, where Tailscale tests can name the source", () => {
    policy.grants.forEach((rule, i) => {
      const widened = structuredClone(policy);
      widened.grants[i] = { ...rule, dst: ["*"], ip: ["*"] };
      const caught = failuresOf(widened).some((f) => /should be denied/.test(f));
      // Tests cannot use autogroup:admin as a source; with an admin email in the topology they can (see the property tests).
      assert.equal(caught, !rule.src.includes("autogroup:admin"), `rule ${i} (${rule.src.join(",")})`);
    });
  });
});

describe("with an admin email in the topology", () => {
  const raw = prodMesh();
  raw.access.admins = ["ops@example.com", "autogroup:admin"];
  const withEmail = accessInput(validateMesh(raw));
  const doc = parseHujson(renderPolicy(withEmail, { stack: "prod" })) as unknown as Policy & { groups: Record<string, string[]> };
  const inv = policyInventory(withEmail);

  test("admins become a group that owns the tags, and their access is tested", () => {
    assert.deepEqual(doc.groups, { "group:mesh-admins": ["ops@example.com"] });
    assert.deepEqual(doc.tagOwners["tag:hub"], ["group:mesh-admins", "autogroup:admin"]);
    assert.ok(doc.tests.some((t) => t.src === "ops@example.com" && (t.accept ?? []).includes("tag:hub:22") && (t.deny ?? []).includes("tag:gpu:11434")));
    assert.deepEqual(failuresOf(doc, inv), []);
  });

  test("dropping or widening the admins' rule is caught", () => {
    const grants = withEmail.grants;
    const dropped = policyWithoutGrant(
      renderPolicy(withEmail, { stack: "prod" }),
      withEmail,
      grants.find((g) => g.id === "admins")!,
    );
    assert.ok(describeFailures(evaluatePolicy(dropped, inv)).some((f) => /ops@example.com should be allowed/.test(f)));
    const i = doc.grants.findIndex((r) => r.src.includes("group:mesh-admins"));
    const widened = structuredClone(doc);
    widened.grants[i] = { ...doc.grants[i]!, dst: ["*"], ip: ["*"] };
    assert.ok(failuresOf(widened, inv).some((f) => /ops@example.com should be denied/.test(f)));
  });
});

describe("the evaluator", () => {
  const minimal = (extra: Record<string, Json>): string =>
    JSON.stringify({ tagOwners: { "tag:a": ["autogroup:admin"], "tag:b": ["autogroup:admin"] }, ...extra });
  const inv: Inventory = {
    devices: [
      { name: "a", tags: ["tag:a"] },
      { name: "b", tags: ["tag:b"], ip: "100.64.0.2" },
    ],
  };

  test("accepts port lists and ranges and reports each case", () => {
    const doc = minimal({
      hosts: { b: "100.64.0.2" },
      grants: [
        { src: ["tag:a"], dst: ["tag:b"], ip: ["22", "8000-8010"] },
        { src: ["tag:a"], dst: ["b"], ip: ["443"] },
      ],
      tests: [
        { src: "tag:a", accept: ["tag:b:22", "tag:b:8005", "b:443"], deny: ["tag:b:23", "tag:b:8011", "tag:a:22"] },
        { src: "tag:b", deny: ["tag:a:22"] },
      ],
    });
    const evaluation = evaluatePolicy(doc, inv);
    assert.equal(evaluation.cases.length, 7);
    assert.deepEqual(describeFailures(evaluation), []);
  });

  test("names the failing case", () => {
    const doc = minimal({ grants: [{ src: ["*"], dst: ["tag:b"], ip: ["*"] }], tests: [{ src: "tag:a", deny: ["tag:b:22"] }] });
    assert.deepEqual(describeFailures(evaluatePolicy(doc, inv)), ["test failed: tag:a should be denied tag:b:22"]);
  });

  test("refuses a test with neither accept nor deny, as Tailscale does (400)", () => {
    const doc = minimal({ grants: [{ src: ["tag:a"], dst: ["tag:b"], ip: ["22"] }], tests: [{ src: "tag:a" }, { src: "tag:a", accept: ["tag:b:22"] }] });
    const evaluation = evaluatePolicy(doc, inv);
    assert.deepEqual(describeFailures(evaluation), [
      "tests[0]: a test with neither accept nor deny, which Tailscale refuses (400); give it an accept or a deny list, or remove it",
    ]);
  });

  test("reads a tag destination as a device carrying that tag alone: a rule on another tag the same device carries does not count", () => {
    // Device c carries tag:b and tag:c; only tag:c is granted port 22.
    const both: Inventory = { devices: [...inv.devices, { name: "c", tags: ["tag:b", "tag:c"] }] };
    const doc = JSON.stringify({
      tagOwners: { "tag:a": ["autogroup:admin"], "tag:b": ["autogroup:admin"], "tag:c": ["autogroup:admin"] },
      grants: [{ src: ["tag:a"], dst: ["tag:c"], ip: ["22"] }],
      tests: [{ src: "tag:a", accept: ["tag:c:22"], deny: ["tag:b:22"] }],
    });
    assert.deepEqual(describeFailures(evaluatePolicy(doc, both)), []);
  });

  test("reports a tag that is used but has no owner", () => {
    const doc = JSON.stringify({ tagOwners: { "tag:a": ["autogroup:admin"] }, grants: [{ src: ["tag:a"], dst: ["tag:b"], ip: ["22"] }] });
    assert.ok(describeFailures(evaluatePolicy(doc, inv)).includes("tag:b is used but has no entry in tagOwners"));
  });

  for (const [what, doc, where] of [
    ["an ssh section", minimal({ grants: [], ssh: [] }), /policy\.ssh/],
    ["acls (the renderer writes grants)", minimal({ acls: [] }), /policy\.acls/],
    ["an app grant", minimal({ grants: [{ src: ["tag:a"], dst: ["tag:b"], ip: ["22"], app: { "example.com/cap": [{}] } }] }), /grants\[0\]\.app/],
    [
      "an undefined host",
      minimal({ grants: [{ src: ["tag:a"], dst: ["db"], ip: ["22"] }], tests: [{ src: "tag:a", accept: ["tag:b:22"] }] }),
      /grants\[0\]\.dst\[0\]/,
    ],
    ["a test on a port range", minimal({ grants: [], tests: [{ src: "tag:a", accept: ["tag:b:1-2"] }] }), /tests\[0\]\.accept\[0\]/],
    ["a test from a device nobody has", minimal({ grants: [], tests: [{ src: "tag:z", accept: ["tag:b:22"] }] }), /tests\[0\]\.src/],
  ] as const) {
    test(`rejects ${what} loudly, naming where`, () => {
      assert.throws(
        () => evaluatePolicy(doc, inv),
        (err: unknown) => err instanceof UnsupportedPolicyError && where.test(err.message),
      );
    });
  }
});

describe("a tag in a test's src stands for that tag alone, as Tailscale runs tests (point 8)", () => {
  const inv: Inventory = {
    devices: [
      { name: "oracle", tags: ["tag:hub", "tag:node-oracle"] },
      { name: "pop-os", tags: ["tag:node-pop-os", "tag:worker"] },
    ],
  };
  const base = {
    tagOwners: {
      "tag:hub": ["autogroup:admin"],
      "tag:node-oracle": ["autogroup:admin"],
      "tag:node-pop-os": ["autogroup:admin"],
      "tag:worker": ["autogroup:admin"],
    },
  };

  test("a rule on a role tag does not admit a test from a node's own tag, though the node carries both", () => {
    const doc = {
      ...base,
      grants: [{ src: ["tag:hub"], dst: ["tag:worker"], ip: ["3000"] }],
      tests: [{ src: "tag:node-oracle", accept: ["tag:worker:3000"] }],
    };
    assert.deepEqual(failuresOf(doc as unknown as Policy, inv), ["test failed: tag:node-oracle should be allowed tag:worker:3000"]);
    // From the role tag itself, or with the rule on the node's own tag, it passes.
    assert.deepEqual(failuresOf({ ...doc, tests: [{ src: "tag:hub", accept: ["tag:worker:3000"] }] } as unknown as Policy, inv), []);
    assert.deepEqual(failuresOf({ ...doc, grants: [{ src: ["tag:node-oracle"], dst: ["tag:worker"], ip: ["3000"] }] } as unknown as Policy, inv), []);
  });

  test("every rule of the prod policy names its node sources by their own tags, so its tests hold under either reading", () => {
    const nodeTags = new Set(Object.keys(spec.nodes).map((n) => `tag:node-${n}`));
    for (const rule of policy.grants) {
      for (const src of rule.src)
        assert.ok(
          !src.startsWith("tag:") || nodeTags.has(src) || src === spec.access.ciTag || src === spec.access.pairedDeviceTag,
          `${src} in ${JSON.stringify(rule)}`,
        );
    }
  });
});
