// Protection through the real engine: what `protect` stops, what it does not stop by itself, and
// what the program and the workflows add so that a destroy or a protected delete changes nothing.
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../engine/harness";
import { readJournal } from "../../engine/stand-ins/cloud";
import { explain, labConfig, labEngine, type OperatorKeys } from "./lab-stack";
import type { Raw } from "../helpers";

interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly custom?: boolean;
  readonly protect?: boolean;
  readonly dependencies?: readonly string[];
}

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

describe("engine: protect", { timeout: 600_000 }, () => {
  let engine: Engine;
  let keys: OperatorKeys;
  let mesh: Raw;
  let skip: string | undefined;

  const resources = async () => ((await engine.exportStack()) as { deployment: { resources: StateResource[] } }).deployment.resources;
  const journalLength = () => readJournal(engine.cloud).length;
  const writesSince = (n: number) =>
    readJournal(engine.cloud)
      .slice(n)
      .map((j) => `${j.provider} ${j.op} ${j.collection} ${j.detail ?? ""}`);

  before(async () => {
    const f = await labEngine("Protect", { up: true });
    if (typeof f === "string") {
      skip = f;
      return;
    }
    ({ engine, keys, mesh } = f);
  });
  after(() => engine?.dispose());

  it("protect: a destroy stops at the protected destroy guard, which depends on every resource, before anything is deleted", async (t) => {
    if (skip) return t.skip(skip);
    const before = await resources();
    const guard = before.find((r) => r.type === "optimal-mesh:index:DestroyGuard");
    assert.ok(guard?.protect, "the guard is protected");
    // Every resource that a delete would touch is a dependency of the guard, so the guard is deleted first.
    const custom = before.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")).map((r) => r.urn);
    assert.deepEqual(custom.filter((u) => !guard.dependencies?.includes(u)).map(nameOf), []);
    for (const name of ["cockpit-ipv4", "tunnel-cockpit-tunnel", "tunnel-pi-tunnel", "tunnel-cockpit-config", "tunnel-pi-dns-optimal.miami", "tailnet-policy"])
      assert.ok(before.find((r) => nameOf(r.urn) === name)?.protect, `${name} is protected`);

    const n = journalLength();
    const r = await engine.destroy();
    assert.equal(r.ok, false, "the destroy must fail");
    assert.match(r.error ?? "", /resource "urn:pulumi:lab::optimal-mesh::[^"]*DestroyGuard::destroy-guard" cannot be deleted\s+because it is protected/);
    assert.deepEqual(writesSince(n), [], "the destroy changed the cloud or ran a command");
    assert.deepEqual(
      (await resources()).map((r) => r.urn),
      before.map((r) => r.urn),
    );
  });

  it("protect: a change that would replace the primary IP (another location) stops with the protection error; nothing changes", async (t) => {
    if (skip) return t.skip(skip);
    const moved = structuredClone(mesh);
    moved.hetzner.location = "nbg1";
    engine.setConfig(labConfig(moved, keys));
    const n = journalLength();
    const r = await engine.up();
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /unable to replace resource "[^"]*primaryIp:PrimaryIp::cockpit-ipv4"\s+as it is currently marked for protection/);
    assert.deepEqual(writesSince(n), []);
    engine.setConfig(labConfig(mesh, keys));
  });

  it("protect: removing a tunnel that is not retired fails its preview on the protected config and record; nothing changes (the workflows preview before every up)", async (t) => {
    if (skip) return t.skip(skip);
    const removed = structuredClone(mesh);
    delete removed.tunnels.pi;
    delete removed.nodes.oracle.services.cloudflared;
    engine.setConfig(labConfig(removed, keys));
    const n = journalLength();
    const preview = await engine.preview();
    assert.equal(preview.ok, false);
    assert.match(
      preview.error ?? "",
      /zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig::tunnel-pi-config" cannot be deleted\s+because it is protected/,
    );
    assert.deepEqual(writesSince(n), []);
  });

  it("protect: an up that skips its preview (the Automation API's and pulumi/actions' up do) stops oracle's cloudflared before the protection error: why every up is previewed first", async (t) => {
    if (skip) return t.skip(skip);
    // The same removal as above, now as an up: the update comes before the deletes, which fail.
    const n = journalLength();
    const r = await engine.up();
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /tunnel-pi-config" cannot be deleted/);
    assert.deepEqual(writesSince(n), ["command run commands node-oracle-deploy on carlos@oracle"]);
  });

  it("protect: a tunnel retired first (protection off in one up) is removed by the next up, its config and record deleted", async (t) => {
    if (skip) return t.skip(skip);
    const retired = structuredClone(mesh);
    retired.tunnels.pi.retire = true;
    engine.setConfig(labConfig(retired, keys));
    const first = await engine.up();
    assert.ok(first.ok, explain(first));
    const removed = structuredClone(mesh);
    delete removed.tunnels.pi;
    delete removed.nodes.oracle.services.cloudflared;
    engine.setConfig(labConfig(removed, keys));
    const second = await engine.up();
    assert.ok(second.ok, explain(second));
    assert.deepEqual(
      second.steps
        .filter((s) => s.op === "delete")
        .map((s) => nameOf(s.urn))
        .sort(),
      // The component and its three protected resources.
      ["tunnel-pi", "tunnel-pi-config", "tunnel-pi-dns-optimal.miami", "tunnel-pi-tunnel"],
    );
  });
});
