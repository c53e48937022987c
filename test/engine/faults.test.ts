// API faults during ups, through the real engine: 429s (with Retry-After), 500s and a hang injected
// into the stand-ins' create, update and delete calls. Where the upstream API client retries (hcloud-go
// on its 429s, cloudflare-go on 429 and 5xx), the stand-in retries as it does (cited in each model)
// and the up succeeds; where it does not (hcloud-go on 500, Tailscale's client on anything), the up
// fails naming the resource and the cause. A rerun converges, and the cloud never holds a duplicate
// or an object the state does not know.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Engine } from "../../engine/harness";
import { Cloud, injectFaults, readJournal, type Fault } from "../../engine/stand-ins/cloud";
import { explain, labConfig, labEngine, type OperatorKeys } from "./lab-stack";
import { newWorker, type Raw } from "../helpers";

/** The collections of objects a provider creates (and could leave behind). */
const CREATED: Readonly<Record<string, readonly string[]>> = {
  hcloud: ["servers", "primary_ips", "firewalls", "ssh_keys"],
  cloudflare: ["tunnels", "dns_records"],
  tailscale: ["keys"],
};

describe("engine: API faults during an up", { timeout: 900_000 }, () => {
  let engine: Engine;
  let keys: OperatorKeys;
  let mesh: Raw;
  let skip: string | undefined;

  before(async () => {
    const f = await labEngine("Faults", { config: false });
    if (typeof f === "string") {
      skip = f;
      return;
    }
    ({ engine, keys, mesh } = f);
  });
  after(() => engine?.dispose());

  const fault = (f: Omit<Fault, "times"> & { times?: number }): Fault => ({ times: 1, ...f });

  /** Every object the providers created is in the state, once: no duplicate, no orphan. */
  async function assertCloudMatchesState(): Promise<void> {
    const state = (await engine.exportStack()) as { deployment: { resources: { id?: string; type: string }[] } };
    const ids = state.deployment.resources.map((r) => r.id).filter((id): id is string => id !== undefined);
    for (const [provider, collections] of Object.entries(CREATED)) {
      const cloud = new Cloud(engine.cloud, provider);
      for (const c of collections) {
        for (const [id, o] of Object.entries(cloud.list(c))) {
          // A DNS record's id in the state is its own; a tunnel's, its own.
          assert.ok(
            ids.some((s) => s === id || s.endsWith(`/${id}`)),
            `${provider} ${c} ${id} (${String(o.name)}) is in the cloud but not in the state`,
          );
        }
        const names = Object.values(cloud.list(c)).map((o) => String(o.name ?? o.description ?? ""));
        assert.equal(new Set(names).size, names.length, `${provider} ${c} has a duplicate: ${names.join(", ")}`);
      }
    }
  }

  it("429: on a fresh up the Hetzner and Cloudflare clients retry their 429s (Retry-After) and Cloudflare its 500s; the up succeeds with one object each", async (t) => {
    if (skip) return t.skip(skip);
    injectFaults(engine.cloud, [
      fault({ provider: "hcloud", op: "create", type: "hcloud:index/firewall:Firewall", kind: "429", retryAfter: 1, times: 2 }),
      fault({
        provider: "cloudflare",
        op: "create",
        type: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
        kind: "500",
        retryAfter: 0,
        times: 3,
      }),
      fault({ provider: "cloudflare", op: "create", type: "cloudflare:index/dnsRecord:DnsRecord", kind: "429", retryAfter: 1 }),
    ]);
    engine.setConfig(labConfig(mesh, keys));
    const r = await engine.up();
    assert.ok(r.ok, explain(r));
    const creates = readJournal(engine.cloud).filter((j) => j.op === "create");
    assert.equal(creates.filter((j) => j.collection === "firewalls").length, 1);
    assert.equal(creates.filter((j) => j.collection === "tunnels").length, 2);
    assert.equal(creates.filter((j) => j.collection === "dns_records").length, 2);
    await assertCloudMatchesState();
  });

  it("fault: Hetzner answers 500 to the firewall's update: hcloud-go does not retry a 500, the up fails naming the firewall; a rerun converges", async (t) => {
    if (skip) return t.skip(skip);
    const changed = structuredClone(mesh);
    changed.hetzner.sshSources = ["0.0.0.0/0"];
    injectFaults(engine.cloud, [fault({ provider: "hcloud", op: "update", type: "hcloud:index/firewall:Firewall", kind: "500" })]);
    engine.setConfig(labConfig(changed, keys));
    const before = readJournal(engine.cloud).length;
    const failed = await engine.up();
    assert.equal(failed.ok, false);
    assert.match(failed.stdout, /hcloud:index:Firewall cockpit-firewall .*error: .*hcloud API: 500 Internal Server Error/);
    assert.deepEqual(
      readJournal(engine.cloud)
        .slice(before)
        .filter((j) => j.collection === "firewalls"),
      [],
    );
    const rerun = await engine.up();
    assert.ok(rerun.ok, explain(rerun));
    assert.deepEqual(
      rerun.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").at(-1)}`),
      ["update cockpit-firewall"],
    );
    mesh = changed;
    await assertCloudMatchesState();
  });

  /** A rerun of `changed` converges; the zone then holds exactly one record named `host`, and nothing the state does not know. */
  async function rerunCreatesRecordOnce(changed: Raw, host: string): Promise<void> {
    const rerun = await engine.up();
    assert.ok(rerun.ok, explain(rerun));
    const records = Object.values(new Cloud(engine.cloud, "cloudflare").list("dns_records")).filter((r) => r.name === host);
    assert.equal(records.length, 1);
    mesh = changed;
    await assertCloudMatchesState();
  }

  /**
   * Ups a change of the flows with `kind` injected into the policy's update: the up fails, the
   * policy and `cause` in its output; a rerun converges, updating the policy. The failed up's seconds.
   */
  async function policyUpdateFailsThenConverges(from: string[], kind: "429" | "hang", cause: RegExp, retryAfter?: number): Promise<number> {
    const changed = structuredClone(mesh);
    changed.access.flows.llm.from = from;
    injectFaults(engine.cloud, [fault({ provider: "tailscale", op: "update", type: "tailscale:index/acl:Acl", kind, ...(retryAfter ? { retryAfter } : {}) })]);
    engine.setConfig(labConfig(changed, keys));
    const t0 = Date.now();
    const failed = await engine.up();
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(failed.ok, false);
    assert.match(failed.stdout, new RegExp(`tailscale:index:Acl tailnet-policy .*error: .*${cause.source}`));
    const rerun = await engine.up();
    assert.ok(rerun.ok, explain(rerun));
    assert.ok(rerun.steps.some((s) => s.op === "update" && s.urn.endsWith("::tailnet-policy")));
    mesh = changed;
    return seconds;
  }

  it("fault: Tailscale answers 429 to the policy's update: its client does not retry, the up fails naming the policy and the 429; a rerun converges", async (t) => {
    if (skip) return t.skip(skip);
    await policyUpdateFailsThenConverges(["oracle", "hetzner-cockpit"], "429", /tailscale API: 429 Too Many Requests \(Retry-After: 2\)/, 2);
  });

  it("hang: Tailscale's API never answers the policy's update: its client's one-minute timeout fails the call, the up fails naming the policy and the deadline; a rerun converges", async (t) => {
    if (skip) return t.skip(skip);
    const seconds = await policyUpdateFailsThenConverges(
      ["oracle"],
      "hang",
      /update of tailnet-policy: context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)/,
    );
    assert.ok(seconds >= 60, `the call was given its minute (${seconds.toFixed(1)} s)`);
  });

  it("hang: Cloudflare's API never answers a new record's create and nothing bounds it; the killed up (a job's timeout) leaves the stack locked with a pending create: cancel, refresh --clear-pending-creates, and an up creates it once", async (t) => {
    if (skip) return t.skip(skip);
    const changed = structuredClone(mesh);
    changed.tunnels.pi.ingress.push({ hostname: "wiki.optimal.miami", service: "http://localhost:3000" });
    injectFaults(engine.cloud, [fault({ provider: "cloudflare", op: "create", type: "cloudflare:index/dnsRecord:DnsRecord", kind: "hang" })]);
    engine.setConfig(labConfig(changed, keys));
    const abort = new AbortController();
    let settled = false;
    const pending = engine.up({}, { signal: abort.signal }).finally(() => (settled = true));
    const hung = () => (JSON.parse(fs.readFileSync(path.join(engine.cloud, "faults.cloudflare.json"), "utf8")) as Fault[]).every((f) => f.times === 0);
    const deadline = Date.now() + 240_000;
    while (!hung()) {
      assert.ok(Date.now() < deadline && !settled, "the up reached the record's create");
      await new Promise((done) => setTimeout(done, 200));
    }
    // Well past every bounded case (Tailscale's minute is the shortest): still waiting.
    await new Promise((done) => setTimeout(done, 75_000));
    assert.equal(settled, false, "the up still waits on the hung call");
    abort.abort();
    const killed = await pending;
    assert.equal(killed.ok, false);
    // Killed as a job's timeout kills it: the CLI, the program and every plugin (each in a process group of its own).
    for (let i = 0; i < 50 && engine.processes().length > 0; i++) await new Promise((done) => setTimeout(done, 100));
    assert.deepEqual(engine.processes(), [], "no process of the killed up is left running");
    const pendingOps = async () =>
      ((await engine.exportStack()) as { deployment: { pending_operations?: { type: string; resource: { urn: string } }[] } }).deployment.pending_operations ??
      [];
    assert.deepEqual(
      (await pendingOps()).map((o) => `${o.type} ${o.resource.urn.split("::").at(-1)}`),
      ["creating tunnel-pi-dns-wiki.optimal.miami"],
      "the state remembers the create that never finished",
    );
    // The runbook (docs/interrupted-up.md): the next up is refused while the killed one's lock stands.
    const locked = await engine.up();
    assert.equal(locked.ok, false);
    assert.match(
      locked.error ?? "",
      /the stack is currently locked by 1 lock\(s\)\. Either wait for the other process\(es\) to end or delete the lock file with `pulumi cancel`/,
    );
    const cancel = await engine.cancel();
    assert.ok(cancel.ok, explain(cancel));
    // The hung call never reached the zone: nothing to import, so the pending create is cleared.
    assert.deepEqual(
      Object.values(new Cloud(engine.cloud, "cloudflare").list("dns_records")).filter((r) => r.name === "wiki.optimal.miami"),
      [],
    );
    const refreshed = await engine.refresh({ clearPendingCreates: true });
    assert.ok(refreshed.ok, explain(refreshed));
    assert.deepEqual(await pendingOps(), []);
    await rerunCreatesRecordOnce(changed, "wiki.optimal.miami");
  });

  it("fault: Cloudflare answers 500 to a new record's create eleven times: cloudflare-go gives up after 10 retries, the up fails naming the record; a rerun creates it once", async (t) => {
    if (skip) return t.skip(skip);
    const changed = structuredClone(mesh);
    changed.tunnels.pi.ingress.push({ hostname: "docs.optimal.miami", service: "http://localhost:3000" });
    injectFaults(engine.cloud, [
      fault({ provider: "cloudflare", op: "create", type: "cloudflare:index/dnsRecord:DnsRecord", kind: "500", retryAfter: 0, times: 11 }),
    ]);
    engine.setConfig(labConfig(changed, keys));
    const failed = await engine.up();
    assert.equal(failed.ok, false);
    assert.match(
      failed.stdout,
      /cloudflare:index:DnsRecord tunnel-pi-dns-docs\.optimal\.miami .*error: .*cloudflare API: 500 Internal Server Error \(after 11 attempts\)/,
    );
    await rerunCreatesRecordOnce(changed, "docs.optimal.miami");
  });

  it("fault: Tailscale answers 500 to deleting a removed node's auth key: the up fails naming the key; a rerun deletes it", async (t) => {
    if (skip) return t.skip(skip);
    const grown = structuredClone(mesh);
    grown.nodes["gpu-2"] = newWorker();
    engine.setConfig(labConfig(grown, keys));
    const added = await engine.up();
    assert.ok(added.ok, explain(added));
    const key = Object.entries(new Cloud(engine.cloud, "tailscale").list("keys")).find(([, k]) => String(k.description).includes("gpu-2"));
    assert.ok(key, "gpu-2's auth key exists");
    injectFaults(engine.cloud, [fault({ provider: "tailscale", op: "delete", type: "tailscale:index/tailnetKey:TailnetKey", kind: "500" })]);
    engine.setConfig(labConfig(mesh, keys));
    const failed = await engine.up();
    assert.equal(failed.ok, false);
    assert.match(failed.stdout, /tailscale:index:TailnetKey tailnet-gpu-2-authkey .*error: .*tailscale API: 500 Internal Server Error/);
    assert.ok(new Cloud(engine.cloud, "tailscale").get("keys", key[0]), "the key is still there");
    const rerun = await engine.up();
    assert.ok(rerun.ok, explain(rerun));
    assert.equal(new Cloud(engine.cloud, "tailscale").get("keys", key[0]), undefined);
    await assertCloudMatchesState();
  });
});
