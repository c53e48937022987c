// planMesh: the whole mesh from the topology, pure. The program registers exactly the names the
// plan lists (so tools that read names from the plan find what the engine has), and the same
// topology always gives the same plan, without touching it.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planMesh, type MeshPlan, type Named } from "../plan";
import { validateMesh } from "../stacks/validate";
import { adoptedProdMesh, newWorker, planRegistrations, prodMesh } from "./helpers";
import { engineUrns } from "../offline/evaluate";

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

/** What each of the plan's functions is given, to compare plans by what they render. */
const ARGUMENTS: Record<string, unknown> = { cloudInit: "tskey-auth-K", withSecrets: { tunnelToken: "T" }, withListed: "100.64.0.9" };

/** The plan as data: each function replaced by what it renders for a fixed argument. */
function asData(plan: MeshPlan): unknown {
  return JSON.parse(
    JSON.stringify(plan, (k, v: unknown) => {
      if (typeof v !== "function") return v;
      assert.ok(k in ARGUMENTS, `a plan function ${k} the test does not know`);
      return (v as (a: unknown) => unknown)(ARGUMENTS[k]);
    }),
  ) as unknown;
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
      assert.deepEqual(asData(a), asData(b));
      assert.ok(a.artifacts.length > 30);
    }
  });

  test("only a node with secret files renders its bundle with them; the others carry theirs as text", () => {
    const plan = planMesh(validateMesh(prodMesh()), "prod");
    const byNode = Object.fromEntries(plan.nodes.map((n) => [n.node, n.deploy]));
    assert.ok("withSecrets" in byNode.oracle!.bundle && byNode.oracle!.secretFiles.length === 1);
    assert.ok("text" in byNode["pop-os"]!.bundle && byNode["pop-os"]!.secretFiles.length === 0);
    const cockpit = byNode["hetzner-cockpit"]!.bundle;
    assert.ok("withSecrets" in cockpit);
    assert.notEqual(cockpit.withSecrets({ tunnelToken: "TOKEN-1" }), cockpit.withSecrets({ tunnelToken: "TOKEN-2" }));
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
