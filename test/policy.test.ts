// The CrossGuard policy pack: each rule on its own, and all of them on the prod plan.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as yaml from "js-yaml";
import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { exactlyOneHub, noPublicInbound, resourcePolicies, secretsNeverPlain, stackPolicies, statefulProtected } from "../policy/rules";
import type { Registration } from "../offline/evaluate";
import { planRegistrations, planStack, prodMesh, ROOT, type Raw } from "./helpers";

function resourceArgs(
  r: { type: string; name: string; props: Record<string, unknown>; protect?: boolean; secretOutputs?: string[] },
  config: Record<string, unknown> = {},
): ResourceValidationArgs {
  return {
    type: r.type,
    name: r.name,
    urn: `urn:pulumi:t::p::${r.type}::${r.name}`,
    props: r.props,
    opts: {
      protect: r.protect ?? false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: r.secretOutputs ?? [],
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string) => {
      throw new Error(`not applicable: ${reason}`);
    },
  } as unknown as ResourceValidationArgs;
}

function violations(policy: { validateResource?: unknown }, args: ResourceValidationArgs): string[] {
  const out: string[] = [];
  (policy.validateResource as (a: ResourceValidationArgs, r: (m: string) => void) => void)(args, (m) => out.push(m));
  return out;
}

function stackViolations(resources: readonly { type: string; name: string; props: Record<string, unknown> }[]): string[] {
  const out: string[] = [];
  const args = {
    resources: resources.map((r) => ({ ...r, urn: r.name, opts: {} }) as unknown as PolicyResource),
    getConfig: () => ({}),
    notApplicable: () => undefined,
  } as unknown as StackValidationArgs;
  (exactlyOneHub.validateStack as (a: StackValidationArgs, r: (m: string) => void) => void)(args, (m) => out.push(m));
  return out;
}

const FW = "hcloud:index/firewall:Firewall";

describe("no public inbound beyond SSH, Tailscale and ICMP", () => {
  const rule = (protocol: string, port?: string, sourceIps = ["0.0.0.0/0", "::/0"]) => ({ direction: "in", protocol, ...(port ? { port } : {}), sourceIps });
  test("the allowed rules pass", () => {
    assert.deepEqual(
      violations(noPublicInbound, resourceArgs({ type: FW, name: "fw", props: { rules: [rule("tcp", "22"), rule("udp", "41641"), rule("icmp")] } })),
      [],
    );
  });
  test("OptimalOS's port open to the internet is a violation", () => {
    assert.equal(violations(noPublicInbound, resourceArgs({ type: FW, name: "fw", props: { rules: [rule("tcp", "22"), rule("tcp", "3000")] } })).length, 1);
  });
  test("a wide port range is a violation; a rule from a private source is not public", () => {
    assert.equal(violations(noPublicInbound, resourceArgs({ type: FW, name: "fw", props: { rules: [rule("tcp", "1-65535", ["::/0"])] } })).length, 1);
    assert.deepEqual(violations(noPublicInbound, resourceArgs({ type: FW, name: "fw", props: { rules: [rule("tcp", "3000", ["203.0.113.7/32"])] } })), []);
  });
});

describe("stateful resources are protected", () => {
  const acl = (protect: boolean) => ({ type: "tailscale:index/acl:Acl", name: "tailnet-policy", props: { acl: "{}" }, protect });
  test("protected passes, unprotected fails", () => {
    assert.deepEqual(violations(statefulProtected, resourceArgs(acl(true))), []);
    assert.match(violations(statefulProtected, resourceArgs(acl(false)))[0]!, /must be protected/);
  });
  test("a resource being retired may be unprotected when the pack config names it", () => {
    const tunnel = { type: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared", name: "tunnel-pi-tunnel", props: {}, protect: false };
    assert.equal(violations(statefulProtected, resourceArgs(tunnel)).length, 1);
    assert.deepEqual(violations(statefulProtected, resourceArgs(tunnel, { retiring: ["tunnel-pi-config", "tunnel-pi-tunnel"] })), []);
    // By its whole name: another tunnel whose name merely starts the same is not retired with it.
    assert.equal(violations(statefulProtected, resourceArgs({ ...tunnel, name: "tunnel-pi-tunnel-2" }, { retiring: ["tunnel-pi-tunnel"] })).length, 1);
  });
  test("other resources are not concerned", () => {
    assert.deepEqual(violations(statefulProtected, resourceArgs({ type: FW, name: "fw", props: {} })), []);
  });
});

describe("secrets are never plain", () => {
  const server = (userData: string, marked: boolean) => ({
    type: "hcloud:index/server:Server",
    name: "srv",
    props: { userData, labels: {} },
    secretOutputs: marked ? ["userData"] : [],
  });
  test("an auth key in user data that stays secret passes", () => {
    assert.deepEqual(violations(secretsNeverPlain, resourceArgs(server("#cloud-config\n... tskey-auth-abc ...", true))), []);
  });
  test("user data not marked secret fails", () => {
    assert.match(violations(secretsNeverPlain, resourceArgs(server("x", false)))[0]!, /userData must be listed in additionalSecretOutputs/);
  });
  test("a secret in a field not meant for it fails, naming the field", () => {
    const v = violations(
      secretsNeverPlain,
      resourceArgs({ type: "command:remote:Command", name: "cmd", props: { create: "tailscale up --auth-key=tskey-auth-XYZ" } }),
    );
    assert.match(v[0]!, /cmd: create holds something shaped like a secret/);
    const key = violations(
      secretsNeverPlain,
      resourceArgs({ type: "hcloud:index/sshKey:SshKey", name: "k", props: { labels: { note: "-----BEGIN OPENSSH PRIVATE KEY-----" } } }),
    );
    assert.match(key[0]!, /labels\.note/);
  });
  test("a provider's credential is its to hold (the engine hands the pack default providers too); elsewhere in it, it is not", () => {
    const provider = (props: Record<string, unknown>) => resourceArgs({ type: "pulumi:providers:tailscale", name: "default_0_29_1", props });
    assert.deepEqual(violations(secretsNeverPlain, provider({ apiKey: "tskey-api-abc" })), []);
    assert.match(violations(secretsNeverPlain, provider({ tailnet: "tskey-api-abc" }))[0]!, /default_0_29_1: tailnet holds something shaped like a secret/);
  });
  test("a placeholder token is not a token", () => {
    assert.deepEqual(
      violations(secretsNeverPlain, resourceArgs({ type: "x:y:Z", name: "r", props: { text: "TUNNEL_TOKEN='<secret: not written offline>'" } })),
      [],
    );
  });
});

describe("exactly one hub", () => {
  const tags = (node: string, ...more: string[]) => ({
    type: "tailscale:index/deviceTags:DeviceTags",
    name: `${node}-tags`,
    props: { tags: [`tag:node-${node}`, ...more] },
  });
  test("one hub passes, counted once across its device tags and auth key", () => {
    assert.deepEqual(
      stackViolations([
        tags("oracle", "tag:hub"),
        { ...tags("oracle", "tag:hub"), type: "tailscale:index/tailnetKey:TailnetKey" },
        tags("pop-os", "tag:worker"),
      ]),
      [],
    );
  });
  test("two hubs or none fail", () => {
    assert.match(stackViolations([tags("oracle", "tag:hub"), tags("pop-os", "tag:hub")])[0]!, /2 nodes carry tag:hub \(tag:node-oracle, tag:node-pop-os\)/);
    assert.match(stackViolations([tags("oracle", "tag:worker")])[0]!, /0 nodes carry tag:hub/);
  });
});

/** Every violation of the pack on a plan's registrations, with the pack's config (by policy name). */
function runAll(resources: readonly Registration[], config: Record<string, Record<string, unknown>> = {}): string[] {
  const out: string[] = [];
  for (const r of resources.filter((x) => x.custom)) {
    for (const p of resourcePolicies) {
      const args = resourceArgs(
        { type: r.type, name: r.name, props: r.inputs as Record<string, unknown>, protect: r.protect, secretOutputs: [...r.additionalSecretOutputs] },
        config[p.name] ?? {},
      );
      out.push(...violations(p, args).map((v) => `${p.name}: ${v}`));
    }
  }
  for (const p of stackPolicies)
    out.push(
      ...stackViolations(resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as Record<string, unknown> }))).map((v) => `${p.name}: ${v}`),
    );
  return out;
}

describe("the pack on the prod plan", () => {
  test("prod passes every policy", () => {
    assert.deepEqual(runAll(planRegistrations(prodMesh())), []);
  });
  test("a retired tunnel without the pack's retiring config is flagged; with the config the plan writes beside it, it passes (#18 point 3)", () => {
    const mesh: Raw = prodMesh();
    mesh.tunnels.pi.retire = true;
    const { resources, out } = planStack(mesh);
    const v = runAll(resources);
    assert.deepEqual(
      v.map((x) => x.split(":")[0]),
      ["stateful-resources-protected", "stateful-resources-protected", "stateful-resources-protected"],
    );
    const config = JSON.parse(fs.readFileSync(path.join(out, "policy-config.json"), "utf8")) as Record<string, Record<string, unknown>>;
    assert.deepEqual(config, { "stateful-resources-protected": { retiring: ["tunnel-pi-config", "tunnel-pi-dns-optimal.miami", "tunnel-pi-tunnel"] } });
    assert.deepEqual(runAll(resources, config), []);
  });
});

test("the pack says what really runs it: no runtime options, and its folder's tsconfig type-checks it as ts-node will (point 9)", () => {
  // The language host runs a pack through run-policy-pack, which registers ts-node with type
  // checking and the tsconfig.json of the pack's folder; runtime options are not read for packs.
  const manifest = yaml.load(fs.readFileSync(path.join(ROOT, "policy/PulumiPolicy.yaml"), "utf8")) as { runtime: unknown };
  assert.equal(manifest.runtime, "nodejs");
  const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "policy/tsconfig.json")], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
