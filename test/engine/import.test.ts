// Imports through the real engine, the way the program adopts what exists: a resource's `import`
// option (the stack's adoption ids). The stand-in reads the object by its id alone; the engine
// records it instead of creating one. (`pulumi import`, the CLI command, loads the Node.js language
// host even without code generation, which these machines cannot build: the harness has no such op.)
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../engine/harness";
import { Cloud, readJournal } from "../../engine/stand-ins/cloud";
import { revealExported } from "../../scripts/lib/deploys";
import type { Raw } from "../helpers";
import { labConfig, labMesh, operatorKeys, seedEstate, ACCOUNT_ID, HOME_NODES, ZONE, type OperatorKeys, testEngine } from "./lab-stack";

const TUNNEL_ID = "00633812-46c8-4e70-a001-0b151758c78b";
const RECORD_ID = "0123456789abcdef0123456789abcdef";
const FAKE_HOST_KEYS = Object.fromEntries(HOME_NODES.map((n, i) => [n, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIImportTestHostKey${i}`]));

/** The lab stack adopting the cockpit's tunnel by its id. */
function adopting(tunnelId: string): Raw {
  const mesh = labMesh(FAKE_HOST_KEYS);
  mesh.tunnels.cockpit.existing = true;
  mesh.tunnels.cockpit.adoptId = tunnelId;
  mesh.tunnels.cockpit.zoneId = ZONE.id;
  mesh.tunnels.cockpit.dnsRecordIds = { "fabric.optimal.miami": RECORD_ID };
  return mesh;
}

/** The estate before adoption: the tailnet, the zone, and the cockpit's tunnel and its record, made by hand (no comment). */
function seedRunningEstate(cloudDir: string): void {
  seedEstate(cloudDir);
  const cloudflare = new Cloud(cloudDir, "cloudflare");
  cloudflare.seed("tunnels", TUNNEL_ID, { accountId: ACCOUNT_ID, name: "cockpit", configSrc: "cloudflare", secret: "c2VjcmV0" });
  cloudflare.seed("dns_records", RECORD_ID, {
    zoneId: ZONE.id,
    name: "fabric.optimal.miami",
    type: "CNAME",
    content: `${TUNNEL_ID}.cfargotunnel.com`,
    proxied: true,
    ttl: 1,
  });
}

describe("engine: adoption ids import what exists", { timeout: 300_000 }, () => {
  let engine: Engine;
  let keys: OperatorKeys;
  let skip: string | undefined;
  before(() => {
    const e = testEngine();
    if (typeof e === "string") {
      skip = e;
      return;
    }
    engine = e;
    keys = operatorKeys();
    seedRunningEstate(engine.cloud);
  });
  after(() => engine?.dispose());

  it("an adoption id the cloud does not have fails the up, naming it; no tunnel is created in its place", async (t) => {
    if (skip) return t.skip(skip);
    engine.setConfig(labConfig(adopting("11111111-2222-4333-8444-555555555555"), keys));
    const r = await engine.up();
    assert.equal(r.ok, false);
    assert.match(`${r.error}\n${r.stdout}`, /11111111-2222-4333-8444-555555555555/);
    assert.deepEqual(
      readJournal(engine.cloud).filter((j) => j.provider === "cloudflare" && j.collection === "tunnels" && j.detail === "cockpit"),
      [],
      "no tunnel was created in its place (what does not depend on it goes on: the engine runs steps in parallel)",
    );
  });

  it("the first up imports the existing tunnel by account/id instead of creating one", async (t) => {
    if (skip) return t.skip(skip);
    engine.setConfig(labConfig(adopting(TUNNEL_ID), keys));
    const r = await engine.up();
    assert.ok(r.ok, `${r.error}\n${r.stdout.slice(-3000)}`);
    const tunnelSteps = r.steps.filter((s) => s.urn.endsWith("::tunnel-cockpit-tunnel")).map((s) => s.op);
    assert.deepEqual(tunnelSteps, ["import"]);
    // The record differs from the program only in its comment: imported, then updated in the same up.
    const recordSteps = r.steps.filter((s) => s.urn.endsWith("::tunnel-cockpit-dns-fabric.optimal.miami")).map((s) => s.op);
    assert.deepEqual(recordSteps, ["import", "update"]);
    assert.deepEqual(
      readJournal(engine.cloud).filter((j) => j.provider === "cloudflare" && j.collection === "tunnels" && j.detail === "cockpit"),
      [],
      "the existing tunnel was read, not written",
    );
    const state = (await engine.exportStack()) as { deployment: { resources: { urn: string; id?: string; inputs?: Record<string, unknown> }[] } };
    const tunnel = state.deployment.resources.find((x) => x.urn.endsWith("::tunnel-cockpit-tunnel"))!;
    assert.equal(tunnel.id, TUNNEL_ID);
    assert.equal((revealExported(tunnel.inputs) as { name: string }).name, "cockpit");
    // What `npm run import -- --finish` records once the state holds the adopted resources.
    engine.setConfig(labConfig({ ...adopting(TUNNEL_ID), adopted: true }, keys));
    const again = await engine.up();
    assert.ok(again.ok, again.error);
    assert.deepEqual(
      again.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.slice(s.urn.lastIndexOf("::") + 2)}`),
      [],
      "once the adoption is recorded, the next up is a no-op",
    );
    assert.ok(new Cloud(engine.cloud, "cloudflare").get("dns_records", RECORD_ID), "the adopted record is still there");
  });
});

describe("engine: why the adoption must be recorded before the next up (pulumi 3.248)", { timeout: 300_000 }, () => {
  let engine: Engine;
  let skip: string | undefined;
  before(() => {
    const e = testEngine();
    if (typeof e === "string") {
      skip = e;
      return;
    }
    engine = e;
    seedRunningEstate(engine.cloud);
    engine.setConfig(labConfig(adopting(TUNNEL_ID), operatorKeys()));
  });
  after(() => engine?.dispose());

  it("adopt: an imported record the adoption up updated loses its import id; a second up still importing it replaces it and deletes the live record", async (t) => {
    if (skip) return t.skip(skip);
    const first = await engine.up();
    assert.ok(first.ok, first.error);
    const state = (await engine.exportStack()) as { deployment: { resources: { urn: string; importID?: string }[] } };
    const record = state.deployment.resources.find((x) => x.urn.endsWith("::tunnel-cockpit-dns-fabric.optimal.miami"))!;
    const tunnel = state.deployment.resources.find((x) => x.urn.endsWith("::tunnel-cockpit-tunnel"))!;
    assert.equal(tunnel.importID, `${ACCOUNT_ID}/${TUNNEL_ID}`, "imported without a change: the state keeps its import id");
    assert.equal(record.importID, undefined, "imported, then updated in the same up: the engine drops the import id");
    const second = await engine.up();
    assert.deepEqual(
      second.steps.filter((s) => s.op !== "same").map((s) => s.op),
      ["import-replacement", "replace", "delete-replaced"],
    );
    // The replacement is the same record, read again; deleting the "original" deletes it. This is
    // why the up workflow runs `npm run import -- --check` first, and the runbook has --finish.
    assert.equal(new Cloud(engine.cloud, "cloudflare").get("dns_records", RECORD_ID), undefined);
  });
});
