// The stand-in plugins at the plugin protocol, as the engine talks to them: a process per
// provider printing its port, answering gRPC. What they refuse, and the diff answers the engine
// turns into replacements.
/* eslint-disable no-restricted-imports -- the plugin protocol's generated stubs are the wire contract under test */
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
/* eslint-enable no-restricted-imports */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import * as path from "node:path";
import { ROOT, tmpDir } from "../helpers";
import { injectFaults } from "../../engine/stand-ins/cloud";
import { diffInputs } from "../../engine/stand-ins/diff";
import { secret } from "../../engine/stand-ins/wire";

interface Plugin {
  readonly client: provrpc.ResourceProviderClient;
  readonly child: ChildProcess;
  /** Its simulated cloud. */
  readonly cloud: string;
}

async function startPlugin(name: string): Promise<Plugin> {
  const cloud = tmpDir("stand-in-cloud");
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "engine/stand-ins/main.ts"), name, "127.0.0.1:1"], {
    env: { ...process.env, OPTIMAL_MESH_CLOUD: cloud, OPTIMAL_MESH_MACHINES: "none" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("\n")) resolve(Number(out.split("\n")[0]));
    });
    child.on("exit", (code) => reject(new Error(`plugin ${name} exited (${code}) before printing its port`)));
  });
  return { child, cloud, client: new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) };
}

/** A unary call as a promise. */
function unary<Res>(start: (cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
}
const check = (p: Plugin, req: provproto.CheckRequest) => unary<provproto.CheckResponse>((cb) => p.client.check(req, cb));
const diff = (p: Plugin, req: provproto.DiffRequest) => unary<provproto.DiffResponse>((cb) => p.client.diff(req, cb));
const invoke = (p: Plugin, req: provproto.InvokeRequest) => unary<provproto.InvokeResponse>((cb) => p.client.invoke(req, cb));

const urn = (type: string, name: string) => `urn:pulumi:lab::optimal-mesh::${type}::${name}`;

describe("stand-in plugins at the protocol", { timeout: 60_000 }, () => {
  const plugins: Plugin[] = [];
  let hcloud: Plugin;
  let command: Plugin;
  before(async () => {
    hcloud = await startPlugin("hcloud");
    command = await startPlugin("command");
    plugins.push(hcloud, command);
  });
  after(() => {
    for (const p of plugins) {
      p.client.close();
      p.child.kill();
    }
  });

  it("a resource type that is not modeled fails with its name, so the program cannot start using one unnoticed", async () => {
    const req = new provproto.CheckRequest().setUrn(urn("hcloud:index/volume:Volume", "data")).setNews(structproto.Struct.fromJavaScript({ size: 10 }));
    await assert.rejects(
      check(hcloud, req),
      (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED && /hcloud:index\/volume:Volume is not modeled/.test(err.details),
    );
  });

  it("an injected fault hits the matching calls, as many as it says, then calls go through", async () => {
    injectFaults(hcloud.cloud, [{ provider: "hcloud", op: "check", type: "hcloud:index/sshKey:SshKey", kind: "429", retryAfter: 7, times: 1 }]);
    const req = new provproto.CheckRequest()
      .setUrn(urn("hcloud:index/sshKey:SshKey", "key"))
      .setNews(structproto.Struct.fromJavaScript({ publicKey: "ssh-ed25519 AAAA" }));
    const other = new provproto.CheckRequest().setUrn(urn("hcloud:index/firewall:Firewall", "fw")).setNews(structproto.Struct.fromJavaScript({}));
    await check(hcloud, other);
    await assert.rejects(check(hcloud, req), (err: grpc.ServiceError) => /429 Too Many Requests \(Retry-After: 7\)/.test(err.details));
    const ok = await check(hcloud, req);
    assert.deepEqual(ok.getFailuresList(), []);
  });

  it("a function that is not modeled fails with its name", async () => {
    const req = new provproto.InvokeRequest().setTok("hcloud:index/getServer:getServer").setArgs(structproto.Struct.fromJavaScript({}));
    await assert.rejects(invoke(hcloud, req), (err: grpc.ServiceError) => /getServer:getServer is not modeled/.test(err.details));
  });

  it("the version the engine asks for is the one the npm SDK names", async () => {
    const { pulumi } = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/hcloud/package.json"), "utf8")) as { pulumi: { version: string } };
    const info = await unary<{ getVersion(): string }>((cb) => hcloud.client.getPluginInfo(new emptyproto.Empty(), cb));
    assert.equal(info.getVersion(), pulumi.version);
  });

  it("command: a trigger element change is a detailed-diff path the SDK's replaceOnChanges matches, not a replace of its own", async () => {
    const olds = { connection: { host: "oracle" }, create: "true", triggers: ["1"] };
    const req = new provproto.DiffRequest()
      .setUrn(urn("command:remote:Command", "c"))
      .setOlds(structproto.Struct.fromJavaScript({ ...olds, stdout: "", stderr: "" }))
      .setOldInputs(structproto.Struct.fromJavaScript(olds))
      .setNews(structproto.Struct.fromJavaScript({ ...olds, triggers: ["2"] }));
    const res = await diff(command, req);
    assert.equal(res.getChanges(), provproto.DiffResponse.DiffChanges.DIFF_SOME);
    assert.equal(res.getHasdetaileddiff(), true);
    assert.deepEqual(res.getReplacesList(), []);
    assert.deepEqual(
      [...res.getDetaileddiffMap().entries()].map(([k, v]) => [k, v.getKind()]),
      [["triggers[0]", provproto.PropertyDiff.Kind.UPDATE]],
    );
  });

  it("command: Check fills the connection's defaults and keeps it secret; a missing host is a check failure", async () => {
    const ok = await check(
      command,
      new provproto.CheckRequest()
        .setUrn(urn("command:remote:Command", "c"))
        .setNews(structproto.Struct.fromJavaScript({ connection: { host: "oracle" }, create: "true" })),
    );
    const conn = (ok.getInputs()!.toJavaScript() as { connection: { value: Record<string, unknown> } }).connection;
    assert.deepEqual(conn.value, { user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15, host: "oracle" });
    const bad = await check(
      command,
      new provproto.CheckRequest().setUrn(urn("command:remote:Command", "c")).setNews(structproto.Struct.fromJavaScript({ connection: { user: "root" } })),
    );
    assert.deepEqual(
      bad.getFailuresList().map((f) => f.getProperty()),
      ["connection"],
    );
    assert.match(bad.getFailuresList()[0]!.getReason(), /Missing required field 'host'/);
  });
});

describe("stand-in diffs", () => {
  it("report element paths, a secret as one value, and replace by key or exactly", () => {
    const d = diffInputs(
      { rules: [{ port: "22" }], labels: { a: "1" }, conn: secret({ host: "a" }) },
      { rules: [{ port: "23" }], labels: { a: "1", b: "2" }, conn: secret({ host: "b" }) },
      {
        forceNew: ["labels"],
      },
    );
    assert.deepEqual(d.detailed, { "rules[0].port": "UPDATE", "labels.b": "ADD_REPLACE", conn: "UPDATE" });
    assert.deepEqual(d.replaces, ["labels"]);
    const exact = diffInputs({ triggers: ["1"] }, { triggers: ["2"] }, { forceNew: ["triggers"], forceNewMatch: "exact" });
    assert.deepEqual(exact.replaces, []);
    const added = diffInputs({}, { triggers: ["2"] }, { forceNew: ["triggers"], forceNewMatch: "exact" });
    assert.deepEqual(added.replaces, ["triggers"]);
  });
});
