// The doctor's checks with a fake view of the mesh: every failure names its fix.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { renderFindings, runDoctor, type Probe } from "../scripts/lib/doctor";
import { planMesh } from "../plan/mesh-plan";
import { validateMesh } from "../stacks/validate";
import { prodMesh } from "./helpers";

const spec = validateMesh(prodMesh());
const plan = planMesh(spec, "prod");

function probe(overrides: Partial<Probe> = {}): Probe {
  return {
    reachable: async () => true,
    http: async () => 200,
    resolve: async (name) => `100.64.0.${name.length}`,
    run: async (_node, cmd) => ({ code: 0, stdout: cmd.includes("ssh-keygen -F") ? "pinned\n" : "active\n" }),
    publicEdge: true,
    ...overrides,
  };
}

const failed = async (p: Probe) => (await runDoctor(spec, plan, p)).filter((f) => f.status === "fail");

test("a healthy mesh passes every check", async () => {
  const findings = await runDoctor(spec, plan, probe());
  assert.deepEqual(
    findings.filter((f) => f.status !== "ok"),
    [],
  );
  assert.equal(findings.length, 3 * 4 + 1 + 2 * 2);
  assert.match(renderFindings(findings), /^doctor: 17 ok, 0 failed, 0 skipped$/m);
});

test("a node off the tailnet", async () => {
  const f = await failed(probe({ reachable: async (n) => n !== "pop-os" }));
  assert.deepEqual(
    f.map((x) => `${x.check}/${x.target}`),
    ["tailnet reachability/pop-os"],
  );
  assert.match(f[0]!.fix!, /tailscale up/);
});

test("ECONNREFUSED: OptimalOS bound on localhost only", async () => {
  const f = await failed(probe({ http: async (url) => (url.startsWith("http://pop-os:") ? "refused" : 200) }));
  assert.equal(f.length, 1);
  assert.match(f[0]!.fix!, /bound where peers cannot reach it.*optimalos\.bind/);
});

test("MagicDNS failing: the IPv4 fallback is named where the address is known", async () => {
  const f = await failed(
    probe({ http: async (url) => (url.startsWith("http://oracle:") ? "unresolved" : 200), resolve: async (n) => (n === "oracle" ? undefined : "100.64.0.1") }),
  );
  assert.deepEqual(
    f.map((x) => x.check),
    ["OptimalOS reachable by peers", "MagicDNS"],
  );
  assert.match(f[0]!.detail, /fallback http:\/\/100\.94\.77\.114:3000 answers/);
  assert.match(f[1]!.fix!, /use the IPv4 fallback http:\/\/100\.94\.77\.114:3000/);
});

test("a stuck Loom step: optimalos.service not running on the target", async () => {
  const f = await failed(
    probe({
      run: async (n, cmd) => ({
        code: 3,
        stdout: n === "pop-os" && cmd.includes("optimalos") ? "inactive\n" : cmd.includes("ssh-keygen") ? "pinned\n" : "active\n",
      }),
    }),
  );
  assert.deepEqual(
    f.map((x) => `${x.check}/${x.target}`),
    ["optimalos.service/pop-os"],
  );
  assert.match(f[0]!.fix!, /stays pending/);
});

test("host key verification: the trust's known_hosts lacks the target", async () => {
  const f = await failed(probe({ run: async (_n, cmd) => ({ code: 1, stdout: cmd.includes("ssh-keygen") ? "" : "active\n" }) }));
  assert.deepEqual(
    f.map((x) => x.check),
    ["SSH trust host key"],
  );
  assert.match(f[0]!.fix!, /no ssh-keyscan/);
});

test("530/502 at the edge: the tunnel is down, check cloudflared, not Tailscale", async () => {
  const f = await failed(probe({ http: async (url) => (url === "https://fabric.optimal.miami/" ? 530 : 200) }));
  assert.deepEqual(
    f.map((x) => `${x.check}/${x.target}`),
    ["tunnel edge/fabric.optimal.miami"],
  );
  assert.match(f[0]!.fix!, /Tunnel cockpit is down: check cloudflared on hetzner-cockpit.*not Tailscale/);
});

test("without SSH, node-side checks are skipped, not passed", async () => {
  const findings = await runDoctor(spec, plan, probe({ run: async () => undefined, publicEdge: false }));
  assert.equal(findings.filter((f) => f.status === "skipped").length, 3 + 1 + 2 + 2);
  assert.equal(findings.filter((f) => f.status === "fail").length, 0);
});
