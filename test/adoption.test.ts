// The end of an adoption: adoption ids are imports only until the state holds what they adopted;
// `npm run import -- --finish` records that (through the real Pulumi CLI), and from then on the
// program imports nothing, so a rebuild may replace the server and nothing is imported twice.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { adoptedIds, finishAdoption } from "../scripts/lib/adopt";
import { adoptionProblems } from "../stacks/rules";
import { MESH_KEY, validateMesh } from "../stacks/validate";
import { adoptedProdMesh, planRegistrations, ROOT } from "./helpers";
import { pulumiCli, type PulumiCli } from "./pulumi-cli";

const TUNNEL = "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared";

test("once adopted, the program imports nothing and asks for no adoption ids (point 3a)", () => {
  const before = planRegistrations(adoptedProdMesh());
  assert.ok(before.filter((r) => r.importId !== null).length >= 5, "adopting: the ids are imports");
  const mesh = adoptedProdMesh();
  mesh.adopted = true;
  assert.deepEqual(
    planRegistrations(mesh)
      .filter((r) => r.importId !== null)
      .map((r) => r.name),
    [],
  );
  const spec = validateMesh({ ...mesh, hetzner: { ...mesh.hetzner, adopt: {} } });
  assert.deepEqual(
    adoptionProblems(spec)
      .map((p) => p.path)
      .filter((p) => !p.endsWith(".hostKey")),
    [],
    "no id is asked for once adopted",
  );
});

test("each adoption id is matched to a resource of its type in the state, also where the provider keeps account/id", () => {
  const spec = validateMesh(adoptedProdMesh());
  const ids = adoptedIds(spec, [
    { type: "hcloud:index/server:Server", id: "4711" },
    { type: "hcloud:index/primaryIp:PrimaryIp", id: "816" },
    { type: TUNNEL, id: "acc/11111111-2222-4333-8444-555555555555" },
  ]);
  const inState = Object.fromEntries(ids.map((a) => [a.path, a.inState]));
  assert.equal(inState["mesh.hetzner.adopt.serverId"], true);
  assert.equal(inState["mesh.hetzner.adopt.primaryIpId"], false, "another primary IP is not the adopted one");
  assert.equal(inState["mesh.tunnels.pi.adoptId"], true);
  assert.equal(inState['mesh.tunnels.pi.dnsRecordIds["optimal.miami"]'], false);
});

const cli = pulumiCli();

test(
  "npm run import -- --check and --finish against a real stack: overdue, then recorded in the stack file",
  { skip: typeof cli === "string" ? cli : false },
  async () => {
    const c = cli as PulumiCli;
    // The Automation API and the spawned CLI find this test's CLI, backend and passphrase here.
    for (const k of ["PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK"]) process.env[k] = c.env[k];
    const mesh = adoptedProdMesh();
    mesh.hetzner.adopt.sshKeyId = "42";
    assert.equal(c.run(["stack", "init", "prod"]).code, 0);
    fs.writeFileSync(
      path.join(c.dir, "Pulumi.prod.yaml"),
      `config:\n  ${MESH_KEY}: ${JSON.stringify(mesh)}\n${/^encryptionsalt: .*$/m.exec(fs.readFileSync(path.join(c.dir, "Pulumi.prod.yaml"), "utf8"))![0]}\n`,
    );
    const spec = validateMesh(mesh);
    const said: string[] = [];
    const say = (l: string) => void said.push(l);

    // The state after the adoption up: every adopted resource, by its provider's id.
    const ids = adoptedIds(spec, []);
    const exported = JSON.parse(c.run(["stack", "export", "--stack", "prod"]).stdout) as { version: number; deployment: Record<string, unknown> };
    const stackUrn = "urn:pulumi:prod::optimal-mesh::pulumi:pulumi:Stack::optimal-mesh-prod";
    const providers = [...new Set(ids.map((a) => a.type.split(":")[0]!))].map((pkg) => ({
      urn: `urn:pulumi:prod::optimal-mesh::pulumi:providers:${pkg}::default`,
      custom: true,
      id: `p-${pkg}`,
      type: `pulumi:providers:${pkg}`,
      parent: stackUrn,
    }));
    const state = (held: typeof ids) => ({
      ...exported,
      deployment: {
        ...exported.deployment,
        resources: [
          { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack" },
          ...providers,
          ...held.map((a, i) => ({
            urn: `urn:pulumi:prod::optimal-mesh::${a.type}::r${i}`,
            custom: true,
            type: a.type,
            id: a.type === TUNNEL ? `acc/${a.id}` : a.id,
            parent: stackUrn,
            provider: `urn:pulumi:prod::optimal-mesh::pulumi:providers:${a.type.split(":")[0]}::default::p-${a.type.split(":")[0]}`,
          })),
        ],
      },
    });

    // Half adopted (the up failed part way): --finish refuses, --check sees the adoption under way.
    assert.equal(c.run(["stack", "import", "--stack", "prod"], { input: JSON.stringify(state(ids.slice(1))) }).code, 0);
    assert.equal(await finishAdoption(c.dir, "prod", spec, true, say), 1);
    assert.match(said.join("\n"), /not in the state: run the first up/);
    assert.equal(await finishAdoption(c.dir, "prod", spec, false, say), 1, "--check: overdue as soon as anything adopted is in the state");

    assert.equal(c.run(["stack", "import", "--stack", "prod"], { input: JSON.stringify(state(ids)) }).code, 0);
    assert.equal(await finishAdoption(c.dir, "prod", spec, true, say), 0);
    const recorded = JSON.parse(JSON.parse(c.run(["config", "--json", "--stack", "prod"]).stdout)[MESH_KEY].value as string) as { adopted?: boolean };
    assert.equal(recorded.adopted, true, "recorded in the stack file");
    assert.equal(await finishAdoption(c.dir, "prod", validateMesh({ ...mesh, adopted: true }), false, say), 0, "--check: nothing overdue once recorded");
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"), /adopted: true/, "the repository's own stack file is untouched");
  },
);
