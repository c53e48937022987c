// planMesh: the whole mesh from the topology, pure. The program registers exactly the names the
// plan lists (so tools that read names from the plan find what the engine has), and the same
// topology always gives the same plan, without touching it.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planMesh, type Named } from "../plan/mesh-plan";
import { validateMesh } from "../stacks/validate";
import { adoptedProdMesh, newWorker, planRegistrations, prodMesh, ROOT } from "./helpers";
import { engineUrns } from "../offline/evaluate";
import * as fc from "fast-check";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { renderCloudInit } from "../render/hetzner/cloud-init";
import { renderBundle } from "../render/node/bundle";
import { bundleFiles, nodeUnits, TUNNEL_TOKEN_HOLE } from "../render/node/units";
import { TAILSCALE_AUTH_KEY_FILE } from "../render/shell/steps";
import { envFileValue, RenderError } from "../text/escape";
import { fillTemplate, HoleError } from "../text/template";
import { namedNode } from "../stacks/schema";
import { parseHujson } from "../render/tailnet/hujson";

/** Every Named in a plan: objects with a name and the name it had before. */
function namesIn(value: unknown, out: Named[] = []): Named[] {
  if (Array.isArray(value)) for (const v of value) namesIn(v, out);
  else if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.name === "string" && typeof o.previous === "string") out.push({ name: o.name, previous: o.previous });
    for (const [k, v] of Object.entries(o)) if (k !== "artifacts") namesIn(v, out);
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const REVIEWED_PLAN = path.join(ROOT, "test/prod-plan.yaml");

/** Where a value is not plain data (a function, a Map, a class instance), by its path in the plan. */
function notPlain(value: unknown, at = "plan"): string[] {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => notPlain(v, `${at}[${i}]`));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => notPlain(v, `${at}.${k}`));
  return [
    `${at}: ${typeof value === "object" ? (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name : typeof value}`,
  ];
}

describe("planMesh", () => {
  test("the program registers exactly the names the plan lists, each once; the engine's lookup (as engineUrns models it) finds each under its earlier name too", () => {
    const mesh = prodMesh();
    mesh.nodes.tycho = newWorker();
    const registrations = planRegistrations(mesh, "prod");
    const planned = namesIn(planMesh(validateMesh(mesh), "prod"));
    assert.deepEqual(planned.map((n) => n.name).sort(), registrations.map((x) => x.name).sort());
    assert.equal(new Set(planned.map((n) => n.name)).size, planned.length, "names are unique");
    for (const x of registrations) {
      const n = planned.find((p) => p.name === x.name)!;
      const { urn, previous } = engineUrns(registrations, x, "prod", "optimal-mesh");
      assert.ok(previous.includes(`${urn.slice(0, urn.lastIndexOf("::") + 2)}${n.previous}`), `${x.name} is looked up as ${n.previous}`);
    }
  });

  test("is pure: the same topology, the same plan, and the topology untouched", () => {
    for (const raw of [prodMesh(), adoptedProdMesh()]) {
      const spec = deepFreeze(validateMesh(raw));
      const a = planMesh(spec, "prod");
      const b = planMesh(validateMesh(raw), "prod");
      assert.deepEqual(a, b);
      assert.ok(a.artifacts.length > 30);
    }
  });

  test("the plan is plain data: no function, Map or class instance anywhere, and it reads back from JSON as it was", () => {
    for (const raw of [prodMesh(), adoptedProdMesh()]) {
      const plan = planMesh(validateMesh(raw), "prod");
      assert.deepEqual(notPlain(plan), []);
      assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
    }
    // The walk finds what it looks for.
    assert.deepEqual(notPlain({ a: [1, { f: () => 1 }], m: new Map() }), ["plan.a[1].f: function", "plan.m: Map"]);
  });

  test("the prod plan, printed, is the reviewed copy in test/prod-plan.yaml (a change to it is a change to review)", () => {
    const plan = planMesh(validateMesh(prodMesh()), "prod");
    // The rendered files are the plan's scripts and texts again: pinned by their digests here, read in out/prod/.
    const printed = yaml.dump(
      { ...plan, artifacts: plan.artifacts.map((a) => `${a.path} sha256:${createHash("sha256").update(a.text).digest("hex")}`) },
      { lineWidth: -1, noRefs: true, sortKeys: false },
    );
    if (process.env.UPDATE_PLAN === "1") fs.writeFileSync(REVIEWED_PLAN, printed);
    assert.equal(
      printed,
      fs.readFileSync(REVIEWED_PLAN, "utf8"),
      "the prod plan changed: review the difference, then run UPDATE_PLAN=1 node --import tsx --test test/mesh-plan.test.ts",
    );
  });

  test("only a node with secret files carries its bundle as a template; filled, it is the bundle rendered with the secret; a token outside its grammar is refused by name", () => {
    const spec = validateMesh(prodMesh());
    const plan = planMesh(spec, "prod");
    const byNode = Object.fromEntries(plan.nodes.map((n) => [n.node, n.deploy]));
    assert.ok("template" in byNode.oracle!.bundle && byNode.oracle!.secretFiles.length === 1);
    assert.ok("text" in byNode["pop-os"]!.bundle && byNode["pop-os"]!.secretFiles.length === 0);
    const cockpit = byNode["hetzner-cockpit"]!.bundle;
    assert.ok("template" in cockpit);
    const token = Buffer.from(JSON.stringify({ a: "acct", t: "tunnel", s: "c2VjcmV0" })).toString("base64");
    assert.equal(
      fillTemplate(cockpit.template, { tunnelToken: token }),
      renderBundle(bundleFiles(nodeUnits(namedNode(spec, "hetzner-cockpit"), { tunnelToken: token }))),
    );
    for (const bad of ["a\nTUNNEL_TOKEN=x", 'a"b', "a b", "$(id)", ""]) {
      assert.throws(
        () => fillTemplate(cockpit.template, { tunnelToken: bad }),
        (err: unknown) => err instanceof HoleError && /tunnelToken/.test(err.message) && (bad === "" || !err.message.includes(bad)),
      );
    }
  });

  test("the cockpit's user data, filled with a key, is the cloud-init rendered with it; a key outside its grammar is refused", () => {
    const spec = validateMesh(prodMesh());
    const cockpit = planMesh(spec, "prod").cockpit!;
    const tags = planMesh(spec, "prod").tailnet.nodes.find((n) => n.node === "hetzner-cockpit")!.tags;
    fc.assert(
      fc.property(fc.stringMatching(/^tskey-[A-Za-z0-9-]{1,60}$/), (key) => {
        const filled = fillTemplate(cockpit.userData, { authKey: key });
        assert.equal(filled, renderCloudInit({ node: namedNode(spec, "hetzner-cockpit"), tags, authKey: key }));
        const doc = yaml.load(filled) as { write_files: { path: string; content: string }[] };
        assert.equal(doc.write_files.find((f) => f.path === TAILSCALE_AUTH_KEY_FILE)!.content, `${key}\n`);
      }),
    );
    assert.throws(() => fillTemplate(cockpit.userData, { authKey: "tskey-auth-x\nruncmd: [id]" }), HoleError);
  });

  test("past validation (which refuses it by field), a value that carries a hole's marker is refused by the renderer: the secret is never written a second time", () => {
    const forging = (env: Record<string, string>) => {
      const spec = validateMesh(prodMesh());
      spec.nodes["hetzner-cockpit"]!.optimalos.env = env;
      return () => planMesh(spec, "prod");
    };
    assert.throws(forging({ LEAK: "@@hole.authKey@@" }), (err: unknown) => err instanceof RenderError && /authKey 3 times, not once/.test(err.message));
    assert.throws(forging({ LEAK: "@@hole.tunnelToken@@" }), (err: unknown) => err instanceof RenderError && /tunnelToken 2 times, not once/.test(err.message));
    // Text like it, but not a marker, is data as before.
    assert.doesNotThrow(forging({ NOTE: "@@hole.authKey" }));
  });

  test("every tunnel token the hole takes is written bare by the env file's escape, so filling needs none", () => {
    fc.assert(
      fc.property(fc.stringMatching(new RegExp(TUNNEL_TOKEN_HOLE.pattern)), (token) => {
        assert.equal(envFileValue(token), token);
      }),
    );
  });

  test("a node without an address in the topology gets its fallback URL from the listed address", () => {
    const mesh = prodMesh();
    delete mesh.nodes["pop-os"].tailnet.address;
    const entry = planMesh(validateMesh(mesh), "prod").inventory.find((i) => i.entry.name === "pop-os")!;
    assert.equal(entry.entry.fallbackBaseUrl, null);
    assert.equal(fillTemplate(entry.listed!.fallbackBaseUrl, { address: "100.64.0.9" }), "http://100.64.0.9:3000");
    assert.throws(() => fillTemplate(entry.listed!.fallbackBaseUrl, { address: "evil.example/x" }), HoleError);
  });

  test("a node's tags, computed once, are the same in its key, the policy's owners and tests, and what the node advertises when it joins", () => {
    const mesh = prodMesh();
    mesh.nodes.tycho = { ...newWorker(), capabilities: ["gpu"] };
    const plan = planMesh(validateMesh(mesh), "prod");
    const policy = parseHujson(plan.tailnet.policy.text) as unknown as { tagOwners: Record<string, string[]>; tests: { src: string }[] };
    const advertised = (text: string) => /--advertise-tags='?([a-z0-9:,-]+)'?/.exec(text)?.[1]?.split(",");
    const userData = fillTemplate(plan.cockpit!.userData, { authKey: "tskey-auth-x" });
    for (const n of plan.tailnet.nodes) {
      assert.ok(n.tags.includes(`tag:node-${n.node}`), n.node);
      for (const tag of n.tags) assert.ok(tag in policy.tagOwners, `${n.node}: ${tag} has an owner`);
      assert.ok(
        policy.tests.some((t) => t.src === `tag:node-${n.node}`),
        `${n.node} is tested as a source`,
      );
      const joining = plan.nodes.find((p) => p.node === n.node)!.bootstrap?.script ?? (n.node === "hetzner-cockpit" ? userData : undefined);
      if (joining !== undefined) assert.deepEqual(advertised(joining), n.tags, `${n.node} advertises its tags`);
    }
    assert.deepEqual(plan.tailnet.nodes.find((n) => n.node === "tycho")!.tags, ["tag:gpu", "tag:node-tycho", "tag:worker"]);
    assert.ok(plan.nodes.find((p) => p.node === "tycho")!.bootstrap !== undefined && advertised(userData) !== undefined);
  });

  test("a node that runs cloudflared without a tunnel is refused by the plan itself", () => {
    const spec = validateMesh(prodMesh());
    const tunnels = { ...spec.tunnels };
    delete tunnels.pi;
    assert.throws(() => planMesh({ ...spec, tunnels }, "prod"), /oracle runs cloudflared but hosts no tunnel/);
  });
});

test("an adopted cockpit server mints no auth key (it never boots from user data again); without its adoption id, as a rebuild runs, it has one", () => {
  const keyOf = (raw: ReturnType<typeof adoptedProdMesh>) =>
    planMesh(validateMesh(raw), "prod").tailnet.nodes.find((n) => n.node === "hetzner-cockpit")!.authKey?.name;
  const adopted = adoptedProdMesh();
  assert.ok(adopted.hetzner.adopt.serverId !== undefined);
  assert.equal(keyOf(adopted), undefined);
  delete adopted.hetzner.adopt.serverId;
  assert.equal(keyOf(adopted), "tailnet-hetzner-cockpit-authkey");
  // Recorded as adopted, the id is kept as a record: still no key, so the up after --finish changes nothing.
  const finished = adoptedProdMesh();
  finished.adopted = true;
  assert.equal(keyOf(finished), undefined);
});
