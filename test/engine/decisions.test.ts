// The real engine decides: the real index.ts run by the CLI built here, through the Automation API,
// against the stand-in plugins, with OPTIMAL_MESH_MACHINES=none (servers recorded without booting,
// remote commands recorded without running): what the engine creates, updates, replaces and leaves
// alone, counted in the simulated cloud's journal the stand-ins write.
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine, RunResult } from "../../engine/harness";
import { readJournal, type JournalEntry } from "../../engine/stand-ins/cloud";
import { HOME_NODES, explain, labConfig, labEngine, type OperatorKeys } from "./lab-stack";
import { newWorker, ROOT, type Raw } from "../helpers";
import { deploysInState, revealExported, type StateCommand } from "../../scripts/lib/deploys";
import { planMesh } from "../../plan/mesh-plan";
import { parseBundle } from "../../render/node/bundle";
import { DIAL_FIRST_BOOT } from "../../render/node/remote";
import { validateMesh } from "../../stacks/validate";
import * as path from "node:path";

/** The steps of a run with an op other than `same`, as `op type name`. */
function changes(r: RunResult): string[] {
  return r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").at(-1)}`);
}

describe("engine: the real engine decides every step (machines: none)", { timeout: 600_000 }, () => {
  let engine: Engine;
  let keys: OperatorKeys;
  let mesh: Raw;
  let skip: string | undefined;

  before(async () => {
    const f = await labEngine("Engine");
    if (typeof f === "string") {
      skip = f;
      return;
    }
    ({ engine, keys, mesh } = f);
  });
  after(() => engine?.dispose());

  let journalAfterFirstUp: JournalEntry[] = [];

  it("fresh up: every resource is created by the stand-ins, the cockpit server among them", async (t) => {
    if (skip) return t.skip(skip);
    const r = await engine.up();
    assert.ok(r.ok, explain(r));
    assert.equal(r.summary.update ?? 0, 0);
    assert.ok((r.summary.create ?? 0) > 20, `created ${JSON.stringify(r.summary)}`);
    journalAfterFirstUp = readJournal(engine.cloud);
    const created = journalAfterFirstUp.filter((j) => j.op === "create").map((j) => `${j.provider}/${j.collection}`);
    for (const what of [
      "hcloud/servers",
      "hcloud/primary_ips",
      "hcloud/firewalls",
      "hcloud/ssh_keys",
      "cloudflare/tunnels",
      "cloudflare/dns_records",
      "tailscale/keys",
    ])
      assert.ok(created.includes(what), `the cloud has no ${what} create: ${created.join(", ")}`);
    const runs = journalAfterFirstUp.filter((j) => j.op === "run").map((j) => j.detail);
    for (const node of [...HOME_NODES, "hetzner-cockpit"])
      assert.ok(
        runs.some((d) => d?.startsWith(`node-${node}-deploy `)),
        `no deploy ran for ${node}: ${runs.join("; ")}`,
      );
  });

  it("the state as the engine exports it gives each node's last deploy, secrets opened (drift and the lab read it)", async (t) => {
    if (skip) return t.skip(skip);
    const exported = (await engine.exportStack()) as { deployment: { resources: StateCommand[] } };
    const found = deploysInState(exported.deployment.resources, planMesh(validateMesh(mesh), "lab"));
    assert.deepEqual(
      found.map((d) => d.node),
      ["hetzner-cockpit", "oracle", "pop-os"],
    );
    for (const d of found) {
      assert.equal(d.connection.host, d.node);
      assert.match(d.connection.privateKey ?? "", /^-----BEGIN OPENSSH PRIVATE KEY-----/);
      assert.ok(
        parseBundle(d.bundle).some((f) => f.path === "/etc/systemd/system/optimalos.service"),
        `${d.node}'s bundle: ${d.bundle.slice(0, 60)}`,
      );
    }
    // The commands as the provider received them: the server's dial through a first boot, the home nodes' the provider's defaults.
    const commands = exported.deployment.resources.filter((r) => r.type === "command:remote:Command");
    assert.ok(commands.length >= 10);
    for (const c of commands) {
      const conn = (revealExported(c.inputs) as { connection: { host: string; dialErrorLimit: number; perDialTimeout: number } }).connection;
      const expected = conn.host === "hetzner-cockpit" ? [DIAL_FIRST_BOOT.dialErrorLimit, DIAL_FIRST_BOOT.perDialTimeout] : [10, 15];
      assert.deepEqual([conn.dialErrorLimit, conn.perDialTimeout], expected, c.urn);
    }
    // About 15 minutes of 5 s back-off while the name does not resolve: longer than a first boot with package upgrades.
    assert.ok(DIAL_FIRST_BOOT.dialErrorLimit * 5 >= 15 * 60);
  });

  it("no-op: a second up reports only same, and no stand-in writes or runs anything", async (t) => {
    if (skip) return t.skip(skip);
    const r = await engine.up();
    assert.ok(r.ok, explain(r));
    assert.deepEqual(changes(r), []);
    assert.deepEqual(Object.keys(r.summary), ["same"]);
    assert.deepEqual(readJournal(engine.cloud).slice(journalAfterFirstUp.length), []);
  });

  it("one change: a service's env updates exactly that node's deploy, and only it runs", async (t) => {
    if (skip) return t.skip(skip);
    const before = readJournal(engine.cloud).length;
    mesh.nodes["pop-os"].services.ollama.env.OLLAMA_KEEP_ALIVE = "10m";
    engine.setConfig(labConfig(mesh, keys));
    const r = await engine.up();
    assert.ok(r.ok, explain(r));
    assert.deepEqual(changes(r), ["update node-pop-os-deploy"]);
    assert.deepEqual(
      readJournal(engine.cloud)
        .slice(before)
        .map((j) => `${j.op} ${j.detail}`),
      ["run node-pop-os-deploy on carlos@pop-os"],
    );
  });

  it("add a node: one config entry creates only that node's resources; the policy is the one update", async (t) => {
    if (skip) return t.skip(skip);
    const before = readJournal(engine.cloud).length;
    mesh.nodes["gpu-2"] = newWorker();
    engine.setConfig(labConfig(mesh, keys));
    const r = await engine.up();
    assert.ok(r.ok, explain(r));
    const created = r.steps.filter((s) => s.op === "create").map((s) => s.urn.split("::").at(-1)!);
    assert.ok(created.length >= 5, `created: ${created.join(", ")}`);
    for (const name of created) assert.match(name, /gpu-2/, `${name} is not the new node's`);
    assert.deepEqual(
      r.steps.filter((s) => s.op !== "same" && s.op !== "create").map((s) => `${s.op} ${s.urn.split("::").at(-1)}`),
      ["update tailnet-policy"],
    );
    const runs = readJournal(engine.cloud)
      .slice(before)
      .filter((j) => j.op === "run")
      .map((j) => j.detail);
    assert.deepEqual(runs, [
      "node-gpu-2-bootstrap on root@192.0.2.44",
      "node-gpu-2-install on root@gpu-2",
      "node-gpu-2-deploy on root@gpu-2",
      "node-gpu-2-heartbeat on root@gpu-2",
    ]);
  });

  it("policy pack: a topology that opens another port to the internet is refused at preview with the policy's message; nothing changes", async (t) => {
    if (skip) return t.skip(skip);
    const before = readJournal(engine.cloud).length;
    const broken = structuredClone(mesh);
    broken.nodes["hetzner-cockpit"].ssh.port = 2222;
    engine.setConfig(labConfig(broken, keys));
    const r = await engine.preview({ policyPack: { dir: path.join(ROOT, "policy") } });
    assert.equal(r.ok, false, "the preview must fail");
    assert.match(r.stdout, /no-public-inbound-beyond-allowed/);
    assert.match(r.stdout, /rule 0 opens tcp 2222 to the internet; only tcp 22, udp 41641 and icmp may be public/);
    assert.deepEqual(readJournal(engine.cloud).slice(before), []);
    // The same preview of the committed topology passes the pack.
    engine.setConfig(labConfig(mesh, keys));
    const ok = await engine.preview({ policyPack: { dir: path.join(ROOT, "policy") } });
    assert.ok(ok.ok, explain(ok));
  });

  it("config problems: the engine prints the report alone, without a stack trace, and registers nothing", async (t) => {
    if (skip) return t.skip(skip);
    const bad = structuredClone(mesh);
    bad.nodes["pop-os"].role = "boss";
    engine.setConfig(labConfig(bad, keys));
    const r = await engine.preview();
    assert.equal(r.ok, false);
    const printed = `${r.stdout}\n${r.diagnostics.map((d) => d.message).join("\n")}`;
    assert.match(printed, /Stack "lab" config has 1 problem; nothing was registered\./);
    assert.match(printed, /mesh\.nodes\.pop-os\.role/);
    assert.doesNotMatch(printed, /MeshConfigError|unhandled exception|\n\s+at .*\(.*\.[jt]s:\d+/);
    assert.deepEqual(changes(r), []);
    engine.setConfig(labConfig(mesh, keys));
  });
});
