// The Tailnet component as the offline plan registers it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import type { Registration } from "../scripts/lib/offline";
import { prodMesh, runPlan, tmpDir, writeStackFile, type Raw } from "./helpers";

function planResources(mesh: Raw): { code: number | null; stderr: string; resources: Registration[] } {
  const out = path.join(tmpDir("tailnet"), "out");
  const r = runPlan("--stack", "t", "--config-file", writeStackFile(mesh), "--out", out, "--quiet");
  const resources = r.code === 0 ? (JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as Registration[]) : [];
  return { code: r.code, stderr: r.stderr, resources };
}

function one(resources: readonly Registration[], type: string, name: string): Registration {
  const found = resources.filter((r) => r.type === type && r.name === name);
  assert.equal(found.length, 1, `${type} ${name} in ${resources.map((r) => r.name).join(", ")}`);
  return found[0]!;
}

describe("prod", () => {
  const { code, stderr, resources } = planResources(prodMesh());

  test("plans", () => assert.equal(code, 0, stderr));

  test("the policy is protected, adopted as the stack says, never reset on destroy", () => {
    const acl = one(resources, "tailscale:index/acl:Acl", "t-tailnet-policy");
    assert.equal(acl.protect, true);
    assert.equal(acl.inputs.overwriteExistingContent, true);
    assert.equal(acl.inputs.resetAclOnDestroy, false);
    assert.match(String(acl.inputs.acl), /^\/\/ Tailnet policy of the optimal-mesh stack "t"/);
    assert.equal(acl.parent, one(resources, "optimal-mesh:tailnet:Tailnet", "t-tailnet").urn);
  });

  test("MagicDNS is on", () => {
    assert.deepEqual(one(resources, "tailscale:index/dnsPreferences:DnsPreferences", "t-tailnet-dns").inputs, { magicDns: true });
  });

  test("joined nodes get their tags after the policy, and servers keep their keys", () => {
    const acl = one(resources, "tailscale:index/acl:Acl", "t-tailnet-policy");
    const expect: Record<string, [string[], boolean]> = {
      oracle: [["tag:hub", "tag:node-oracle"], true],
      "pop-os": [["tag:gpu", "tag:node-pop-os", "tag:worker"], false],
      "hetzner-cockpit": [["tag:cockpit", "tag:node-hetzner-cockpit", "tag:worker"], true],
    };
    for (const [node, [tags, noExpiry]] of Object.entries(expect)) {
      const t = one(resources, "tailscale:index/deviceTags:DeviceTags", `t-tailnet-${node}-tags`);
      assert.deepEqual(t.inputs.tags, tags);
      assert.ok(t.dependsOn.includes(acl.urn), `${node} tags wait for the policy`);
      assert.equal(one(resources, "tailscale:index/deviceKey:DeviceKey", `t-tailnet-${node}-key`).inputs.keyExpiryDisabled, noExpiry);
    }
  });

  test("only the Hetzner server, which cloud-init joins on every rebuild, keeps an auth key ready", () => {
    const keys = resources.filter((r) => r.type === "tailscale:index/tailnetKey:TailnetKey");
    assert.deepEqual(keys.map((k) => k.name), ["t-tailnet-hetzner-cockpit-authkey"]);
    assert.equal(keys[0]!.inputs.recreateIfInvalid, "always");
    assert.equal(keys[0]!.inputs.reusable, false);
  });
});

describe("a node to bootstrap", () => {
  const mesh = prodMesh();
  mesh.nodes.echo = {
    machine: { kind: "vm", arch: "amd64" },
    role: "worker",
    capabilities: ["gpu"],
    ssh: { user: "root" },
    tailnet: { state: "bootstrap", firstAddress: "192.0.2.10" },
    optimalos: { mode: "worker", bind: "tailnet" },
  };
  mesh.access.adoptPolicy = false;
  const { code, stderr, resources } = planResources(mesh);

  test("gets a tagged, preauthorized, single-use, short-lived key, created after the policy and kept secret", () => {
    assert.equal(code, 0, stderr);
    const key = one(resources, "tailscale:index/tailnetKey:TailnetKey", "t-tailnet-echo-authkey");
    assert.deepEqual(key.inputs, { description: "optimal-mesh bootstrap of echo", ephemeral: false, expiry: 3600, preauthorized: true, reusable: false, tags: ["tag:gpu", "tag:node-echo", "tag:worker"] });
    assert.ok(key.additionalSecretOutputs.includes("key"));
    assert.ok(key.dependsOn.includes(one(resources, "tailscale:index/acl:Acl", "t-tailnet-policy").urn));
    assert.equal(resources.filter((r) => r.name.startsWith("t-tailnet-echo-") && r.type !== "tailscale:index/tailnetKey:TailnetKey").length, 0);
  });

  test("a policy that is not adopted is not overwritten", () => {
    assert.equal(one(resources, "tailscale:index/acl:Acl", "t-tailnet-policy").inputs.overwriteExistingContent, false);
  });

  test("the new node changes the tags the policy gives to gpu flows", () => {
    const acl = String(one(resources, "tailscale:index/acl:Acl", "t-tailnet-policy").inputs.acl);
    // tag:gpu now also selects echo, so the pop-os-only flows name pop-os itself.
    assert.match(acl, /"dst": \["tag:node-pop-os:11434"\]/);
    assert.match(acl, /"dst": \["tag:node-pop-os:22"\]/);
  });
});
