// The operator commands themselves (npm run drift, npm run import -- --check/--finish), run as a
// user runs them, with --cwd naming the harness's project folder: the same engine, state and
// simulated cloud the harness's ups wrote. The program runs inline in the command's process.
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Engine, StackConfig } from "../../engine/harness";
import { advanceClock, Cloud, readJournal } from "../../engine/stand-ins/cloud";
import type { Value } from "../../engine/stand-ins/wire";
import { explain, fakeHostKeys, labConfig, labEngine, labMesh, operatorKeys, seedEstate, testEngine } from "./lab-stack";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { serveCloudApis, type CloudApis } from "../../engine/stand-ins/api";
import { planMesh } from "../../plan/mesh-plan";
import { openStack } from "../../scripts/lib/engine-stack";
import { engineUrns, evaluateOffline } from "../../offline/evaluate";
import { renderPolicyPackConfig } from "../../scripts/lib/policy-config";
import { rebuildPlan, runRebuild } from "../../scripts/lib/rebuild";
import { automationOps } from "../../scripts/lib/rebuild-ops";
import { readStackConfig, stackMesh } from "../../stacks/stackfile";
import { ROOT, runScriptAsync, tmpDir } from "../helpers";

describe("engine: operator commands against the engine's state and the stand-ins' cloud", { timeout: 600_000 }, () => {
  let engine: Engine;
  let skip: string | undefined;

  /** `npm run <command> -- ARGS --stack lab --cwd <the harness's project>` with the harness's environment. */
  const operator = (command: string, ...args: string[]) =>
    runScriptAsync(command, [...args, "--stack", engine.stack, "--cwd", engine.workDir], engine.environment());

  before(async () => {
    const f = await labEngine("Operator", { up: true });
    if (typeof f === "string") {
      skip = f;
      return;
    }
    ({ engine } = f);
  });
  after(() => engine?.dispose());

  it("drift: a converged estate has no cloud drift (exit 0), and none a day later on the cloud's clock, when the cockpit's auth key has expired", async (t) => {
    if (skip) return t.skip(skip);
    const before = readJournal(engine.cloud).length;
    const first = await operator("drift", "--cloud-only");
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /^cloud drift: none \(\d+ resources unchanged\)$/m);
    advanceClock(engine.cloud, 25 * 3600);
    const dayLater = await operator("drift", "--cloud-only");
    assert.equal(dayLater.code, 0, `${dayLater.stdout}\n${dayLater.stderr}`);
    assert.match(dayLater.stdout, /^cloud drift: none/m);
    // A refresh preview writes nothing to the cloud.
    assert.deepEqual(readJournal(engine.cloud).slice(before), []);
  });

  it("drift: a firewall rule, a DNS target and the tailnet policy changed behind the engine's back are each named (exit 1); an up repairs them", async (t) => {
    if (skip) return t.skip(skip);
    const hcloud = new Cloud(engine.cloud, "hcloud");
    const [fwId, fw] = Object.entries(hcloud.list("firewalls"))[0]!;
    hcloud.seed("firewalls", fwId, { ...fw, rules: [...(fw.rules as Value[]), { direction: "in", protocol: "tcp", port: "8080", sourceIps: ["0.0.0.0/0"] }] });
    const cloudflare = new Cloud(engine.cloud, "cloudflare");
    const [recordId, record] = Object.entries(cloudflare.list("dns_records")).find(([, r]) => r.name === "fabric.optimal.miami")!;
    cloudflare.seed("dns_records", recordId, { ...record, content: "attacker.example.net" });
    const tailscale = new Cloud(engine.cloud, "tailscale");
    tailscale.seed("policy", "tailnet", { text: '{"grants":[{"src":["*"],"dst":["*"],"ip":["*"]}]}', isDefault: false });

    const drift = await operator("drift", "--cloud-only");
    assert.equal(drift.code, 1, `${drift.stdout}\n${drift.stderr}`);
    assert.match(drift.stdout, /^cloud drift: 3 resource\(s\) differ from the program; `pulumi up --refresh` would:$/m);
    assert.match(drift.stdout, /^ {2}update cockpit-firewall \(hcloud:index\/firewall:Firewall\): rules/m);
    assert.match(drift.stdout, /^ {2}update tunnel-cockpit-dns-fabric\.optimal\.miami \(cloudflare:index\/dnsRecord:DnsRecord\): content$/m);
    assert.match(drift.stdout, /^ {2}update tailnet-policy \(tailscale:index\/acl:Acl\): acl$/m);

    // A plain up compares the program with the state, which has not seen the edits: it repairs nothing.
    const plain = await engine.up();
    assert.ok(plain.ok, explain(plain));
    assert.equal(cloudflare.get("dns_records", recordId)?.content, "attacker.example.net");
    const up = await engine.up({ refresh: true });
    assert.ok(up.ok, explain(up));
    const again = await operator("drift", "--cloud-only");
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    assert.equal(cloudflare.get("dns_records", recordId)?.content, record.content);
  });
});

describe("engine: dr-rebuild's own operations rebuild the cockpit against the engine's state", { timeout: 600_000 }, () => {
  let engine: Engine;
  let apis: CloudApis;
  let skip: string | undefined;
  /** The stack's config as the first up set it (without the Tailscale API's base URL). */
  let config: StackConfig;

  before(async () => {
    const e = testEngine();
    if (typeof e === "string") {
      skip = e;
      return;
    }
    engine = e;
    apis = await serveCloudApis(engine.cloud);
    const keys = operatorKeys();
    const mesh = labMesh(fakeHostKeys("OperatorRebuild"));
    seedEstate(engine.cloud);
    // The cockpit is on the tailnet as a device the rebuild must remove (Tailscale's API, served by the stand-ins).
    new Cloud(engine.cloud, "tailscale").seed("devices", "2001", {
      id: "2001",
      nodeId: "n2001CNTRL",
      name: "hetzner-cockpit.tail0test.ts.net",
      hostname: "hetzner-cockpit",
      addresses: ["100.64.1.20"],
      tags: [],
      keyExpiryDisabled: false,
    });
    config = labConfig(mesh, keys);
    engine.setConfig({ ...config, strings: { ...config.strings, "tailscale:baseUrl": { value: apis.tailscale } } });
    const r = await engine.up();
    assert.ok(r.ok, explain(r));
    // This process runs the program inline, as the command does: the CLI, backend and plugins are the harness's.
    Object.assign(process.env, engine.environment());
  });
  after(async () => {
    await apis?.close();
    engine?.dispose();
  });

  it("dr-rebuild --yes with Tailscale's API unreachable (not a URL, refused) stops before anything changes and says which setting to fix, never a bug", async (t) => {
    if (skip) return t.skip(skip);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const stateBefore = JSON.stringify(((await engine.exportStack()) as { deployment: { resources?: unknown[] } }).deployment.resources);
    const cloudBefore = readJournal(engine.cloud).length;
    try {
      for (const [baseUrl, cause] of [
        ["not a url", /^dr-rebuild: tailscale:baseUrl does not give a URL \("not a url"\): set it to the API's base/m],
        [`http://127.0.0.1:${port}`, new RegExp(`^dr-rebuild: .*the Tailscale API.*127\\.0\\.0\\.1:${port}.*(ECONNREFUSED|refused)`, "m")],
      ] as const) {
        engine.setConfig({ ...config, strings: { ...config.strings, "tailscale:baseUrl": { value: baseUrl } } });
        await engine.writeConfig();
        const stackFile = fs.readFileSync(path.join(engine.workDir, `Pulumi.${engine.stack}.yaml`), "utf8");
        const r = await runScriptAsync("dr-rebuild", ["hetzner-cockpit", "--yes", "--stack", engine.stack, "--cwd", engine.workDir], engine.environment());
        assert.equal(r.code, 2, `${baseUrl}: ${r.stderr}`);
        assert.match(r.stderr, cause, r.stderr);
        assert.match(r.stderr, /tailscale:baseUrl/);
        assert.doesNotMatch(r.stderr, /this is a bug|TypeError|\n {4}at /, "no trace, not a bug");
        assert.equal(fs.readFileSync(path.join(engine.workDir, `Pulumi.${engine.stack}.yaml`), "utf8"), stackFile, "the stack file is unchanged");
      }
      assert.equal(
        JSON.stringify(((await engine.exportStack()) as { deployment: { resources?: unknown[] } }).deployment.resources),
        stateBefore,
        "the state is unchanged",
      );
      assert.deepEqual(readJournal(engine.cloud).slice(cloudBefore), [], "nothing in the cloud changed");
    } finally {
      engine.setConfig({ ...config, strings: { ...config.strings, "tailscale:baseUrl": { value: apis.tailscale } } });
      await engine.writeConfig();
    }
  });

  it("rebuild: the device removed through Tailscale's API, what ran on the lost server forgotten, a new server on the same IPv4, a new auth key, the new host key pinned; a second up is a no-op", async (t) => {
    if (skip) return t.skip(skip);
    const hcloud = new Cloud(engine.cloud, "hcloud");
    const [oldServer] = Object.keys(hcloud.list("servers"));
    const [ipId, ip] = Object.entries(hcloud.list("primary_ips"))[0]!;
    const oldKeys = Object.keys(new Cloud(engine.cloud, "tailscale").list("keys"));
    const config = readStackConfig(engine.workDir, engine.stack);
    const spec = stackMesh(config);
    const plan = rebuildPlan(spec, engine.stack, "hetzner-cockpit");
    const evaluation = await evaluateOffline(config);
    assert.equal(evaluation.error, undefined);
    const urnsOf = (name: string) =>
      engineUrns(
        evaluation.registrations,
        evaluation.registrations.find((x) => x.name === name)!,
        engine.stack,
        config.project,
      );
    const packConfig = path.join(tmpDir("rebuild-pack"), "policy-config.json");
    fs.writeFileSync(packConfig, renderPolicyPackConfig(planMesh(spec, engine.stack)));
    const ops = automationOps(await openStack(engine.workDir, engine.stack), () => undefined, { pack: path.join(ROOT, "policy"), config: packConfig });
    // The one operation that needs the real tailnet: the new machine's host key, read there with ssh-keyscan.
    const NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRebuiltCockpitHostKey0";
    const said: string[] = [];
    await runRebuild(plan, urnsOf, { ...ops, hostKeyOverTailnet: async () => NEW_KEY }, (l) => said.push(l));

    assert.ok(said.includes("tailnet: removed device hetzner-cockpit"), said.join("\n"));
    assert.equal(new Cloud(engine.cloud, "tailscale").get("devices", "2001"), undefined);
    const servers = Object.keys(hcloud.list("servers"));
    assert.equal(servers.length, 1);
    assert.notEqual(servers[0], oldServer, "a new server");
    assert.deepEqual([hcloud.get("primary_ips", ipId)?.assigneeId, hcloud.get("primary_ips", ipId)?.ipAddress], [Number(servers[0]), ip.ipAddress]);
    const newKeys = Object.keys(new Cloud(engine.cloud, "tailscale").list("keys"));
    assert.ok(
      newKeys.some((k) => !oldKeys.includes(k)),
      "a fresh auth key",
    );
    assert.equal(stackMesh(readStackConfig(engine.workDir, engine.stack)).nodes["hetzner-cockpit"]!.ssh.hostKey, NEW_KEY);
    const runs = readJournal(engine.cloud)
      .filter((j) => j.op === "run")
      .map((j) => j.detail ?? "");
    assert.ok(runs.some((d) => d.startsWith("node-hetzner-cockpit-deploy ")));
    const again = await engine.up();
    assert.ok(again.ok, explain(again));
    assert.deepEqual(Object.keys(again.summary), ["same"]);
  });
});
