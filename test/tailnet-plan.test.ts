// The Tailnet component as the offline plan registers it.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { only, planRegistrations, prodMesh } from "./helpers";

describe("prod", () => {
  const resources = planRegistrations(prodMesh());

  test("the policy is protected, adopted as the stack says, never reset on destroy", () => {
    const acl = only(resources, "tailscale:index/acl:Acl", "tailnet-policy");
    assert.equal(acl.protect, true);
    assert.equal(acl.inputs.overwriteExistingContent, true);
    assert.equal(acl.inputs.resetAclOnDestroy, false);
    assert.match(String(acl.inputs.acl), /^\/\/ Tailnet policy of the optimal-mesh stack "t"/);
    assert.equal(acl.parent, only(resources, "optimal-mesh:tailnet:Tailnet", "tailnet").urn);
  });

  test("MagicDNS is on", () => {
    assert.deepEqual(only(resources, "tailscale:index/dnsPreferences:DnsPreferences", "tailnet-dns").inputs, { magicDns: true });
  });

  test("joined nodes get their tags after the policy, and servers keep their keys", () => {
    const acl = only(resources, "tailscale:index/acl:Acl", "tailnet-policy");
    const expect: Record<string, [string[], boolean]> = {
      oracle: [["tag:hub", "tag:node-oracle"], true],
      "pop-os": [["tag:gpu", "tag:node-pop-os", "tag:worker"], false],
      "hetzner-cockpit": [["tag:cockpit", "tag:node-hetzner-cockpit", "tag:worker"], true],
    };
    for (const [node, [tags, noExpiry]] of Object.entries(expect)) {
      const t = only(resources, "tailscale:index/deviceTags:DeviceTags", `tailnet-${node}-tags`);
      assert.deepEqual(t.inputs.tags, tags);
      assert.ok(t.dependsOn.includes(acl.urn), `${node} tags wait for the policy`);
      const key = only(resources, "tailscale:index/deviceKey:DeviceKey", `tailnet-${node}-key`);
      assert.equal(key.inputs.keyExpiryDisabled, noExpiry);
      // The provider's delete fails on a device that is gone (a rebuilt machine): they are only dropped from the state (point 3f).
      assert.equal(t.retainOnDelete, true, `${node} tags`);
      assert.equal(key.retainOnDelete, true, `${node} key`);
    }
  });

  test("no home node is reached over SSH before its device carries the tags the policy admits SSH by (point 6)", () => {
    for (const node of ["oracle", "pop-os"]) {
      const tags = only(resources, "tailscale:index/deviceTags:DeviceTags", `tailnet-${node}-tags`);
      const install = only(resources, "command:remote:Command", `node-${node}-install`);
      assert.ok(install.dependsOn.includes(tags.urn), `${node}: install waits for its tags`);
    }
  });

  test("only the Hetzner server, which cloud-init joins on every rebuild, keeps an auth key ready; a refresh never replaces it (point 7)", () => {
    const keys = resources.filter((r) => r.type === "tailscale:index/tailnetKey:TailnetKey");
    assert.deepEqual(
      keys.map((k) => k.name),
      ["tailnet-hetzner-cockpit-authkey"],
    );
    // A day later the key is used or expired: with "always" every daily drift preview would plan a new one.
    assert.equal(keys[0]!.inputs.recreateIfInvalid, "never");
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
  const resources = planRegistrations(mesh);

  test("gets a tagged, preauthorized, single-use, short-lived key, created after the policy and kept secret", () => {
    const key = only(resources, "tailscale:index/tailnetKey:TailnetKey", "tailnet-echo-authkey");
    assert.deepEqual(key.inputs, {
      description: "optimal-mesh bootstrap of echo",
      ephemeral: false,
      expiry: 3600,
      preauthorized: true,
      recreateIfInvalid: "never",
      reusable: false,
      tags: ["tag:gpu", "tag:node-echo", "tag:worker"],
    });
    assert.ok(key.additionalSecretOutputs.includes("key"));
    assert.ok(key.dependsOn.includes(only(resources, "tailscale:index/acl:Acl", "tailnet-policy").urn));
    assert.equal(resources.filter((r) => r.name.startsWith("tailnet-echo-") && r.type !== "tailscale:index/tailnetKey:TailnetKey").length, 0);
  });

  test("a policy that is not adopted is not overwritten", () => {
    assert.equal(only(resources, "tailscale:index/acl:Acl", "tailnet-policy").inputs.overwriteExistingContent, false);
  });

  test("the new node changes the tags the policy gives to gpu flows", () => {
    const acl = String(only(resources, "tailscale:index/acl:Acl", "tailnet-policy").inputs.acl);
    // tag:gpu now also selects echo, so the pop-os-only flows name pop-os itself.
    assert.match(acl, /"dst": \["tag:node-pop-os"\], "ip": \["11434"\]/);
    assert.match(acl, /"dst": \["tag:node-pop-os"\], "ip": \["22"\]/);
  });
});
