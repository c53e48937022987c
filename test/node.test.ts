// Node hosts: every rendered unit through the real systemd-analyze, every rendered script through
// shellcheck, the remote commands as planned, and adding a node as one topology entry.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, test } from "node:test";
import { renderCloudInit } from "../render/hetzner/cloud-init";
import { HARDENING_DEFAULTS, nodeUnits, OFFLINE_SECRETS, renderUnit, type UnitSpec } from "../render/node/units";
import { renderBootstrapScript, renderDeployScript, renderHeartbeatScript, renderInstallScript, renderRemoveScript } from "../render/node/scripts";
import { renderTrustAuthorizeScript, renderTrustClientScript, renderTrustKeygenScript, renderTrustRevokeScript } from "../render/node/trust-scripts";
import { nodeTags } from "../render/tailnet/intent";
import type { Registration } from "../offline/evaluate";
import type { MeshSpec } from "../stacks/schema";
import { validateMesh } from "../stacks/validate";
import { verificationRoot, verifyUnits } from "./artifacts";
import { checkWith, missingTool, newWorker, only, planRegistrations, prodMesh } from "./helpers";
import { namedNode } from "../stacks/schema";

const spec = validateMesh(prodMesh());
const COMMAND = "command:remote:Command";

function allUnits(s: MeshSpec): { node: string; unit: UnitSpec }[] {
  return Object.keys(s.nodes).flatMap((node) => nodeUnits(namedNode(s, node), OFFLINE_SECRETS).map((p) => ({ node, unit: p.unit })));
}

describe("units", () => {
  for (const node of Object.keys(spec.nodes).sort()) {
    test(`every unit of ${node} passes systemd-analyze verify, silently`, { skip: missingTool("systemd-analyze") }, () => {
      const units = nodeUnits(namedNode(spec, node), OFFLINE_SECRETS).map((p) => p.unit);
      const r = verifyUnits(units);
      assert.equal(r.code, 0, r.output);
      assert.equal(r.output, "", "no warnings either");
    });
  }

  test("the check catches a broken unit (it can fail)", { skip: missingTool("systemd-analyze") }, () => {
    const bad = { ...nodeUnits(namedNode(spec, "oracle"), OFFLINE_SECRETS)[0]!.unit, hardening: { ProtectSytem: "full" } };
    assert.match(verifyUnits([bad]).output, /Unknown key 'ProtectSytem'/);
    const missingBinary = verificationRoot([]);
    const r = spawnSync("systemd-analyze", ["verify", `--root=${missingBinary}`, path.join(missingBinary, "x.service")], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
  });

  test("the seed's services are units on the right nodes", () => {
    const names = (node: string) => nodeUnits(namedNode(spec, node), OFFLINE_SECRETS).map((p) => p.unit.name);
    assert.deepEqual(names("oracle"), ["optimalos", "cloudflared", "docs", "n8n", "phoenix", "strapi"]);
    assert.deepEqual(names("pop-os"), ["optimalos", "ollama"]);
    assert.deepEqual(names("hetzner-cockpit"), ["optimalos", "cloudflared"]);
  });

  test("OptimalOS binds where its peers reach it, per node", () => {
    const env = (node: string) => nodeUnits(namedNode(spec, node), OFFLINE_SECRETS)[0]!.files[0]!.content!;
    assert.match(env("oracle"), /^OPTIMALOS_HOST=0\.0\.0\.0$/m);
    assert.match(env("pop-os"), /^OPTIMALOS_HOST=@TAILNET_IPV4@$/m);
    assert.match(env("hetzner-cockpit"), /^OPTIMALOS_HOST=127\.0\.0\.1$/m);
    assert.match(env("hetzner-cockpit"), /^DEPLOYMENT=hetzner-cloud$/m);
  });

  test("every unit is hardened, and secrets come only from a 0600 EnvironmentFile", () => {
    for (const { node, unit } of allUnits(spec)) {
      const text = renderUnit(unit);
      for (const [k, v] of Object.entries(HARDENING_DEFAULTS)) assert.ok(text.includes(`\n${k}=${v}\n`), `${node}/${unit.name}: ${k}`);
      assert.doesNotMatch(text, /TOKEN|KEY=/, `${node}/${unit.name} holds no secret inline`);
    }
    const cloudflared = nodeUnits(namedNode(spec, "hetzner-cockpit"), OFFLINE_SECRETS).find((p) => p.unit.name === "cloudflared")!;
    assert.deepEqual(
      cloudflared.files.map((f) => [f.path, f.mode, f.secret]),
      [["/etc/cloudflared/tunnel.env", "0600", true]],
    );
    assert.match(renderUnit(cloudflared.unit), /^EnvironmentFile=\/etc\/cloudflared\/tunnel\.env$/m);
    assert.match(renderUnit(cloudflared.unit), /^ExecStart=\/usr\/bin\/cloudflared --no-autoupdate tunnel run$/m);
  });

  test("Docker services run their pinned image, published on loopback only", () => {
    const phoenix = nodeUnits(namedNode(spec, "oracle"), OFFLINE_SECRETS).find((p) => p.unit.name === "phoenix")!.unit;
    assert.equal(phoenix.execStart, "/usr/bin/docker run --rm --name phoenix -p 127.0.0.1:6006:6006 arizephoenix/phoenix:latest");
    assert.deepEqual(phoenix.requires, ["docker.service"]);
  });
});

describe("scripts", () => {
  const withNewNode = prodMesh();
  withNewNode.nodes.tycho = newWorker();
  const s2 = validateMesh(withNewNode);
  const scripts: Record<string, string> = {
    "bootstrap.sh": renderBootstrapScript("tycho", nodeTags(namedNode(s2, "tycho"), s2.hetzner?.node)),
    "keygen.sh": renderTrustKeygenScript("popos-deploy", "carlos"),
    "authorize.sh": renderTrustAuthorizeScript("popos-deploy", "carlos"),
    "revoke.sh": renderTrustRevokeScript("popos-deploy", "carlos"),
    "client.sh": renderTrustClientScript({
      keyName: "popos-deploy",
      user: "carlos",
      alias: "pop-os",
      host: "pop-os",
      targetUser: "carlos",
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITest",
    }),
  };
  for (const node of Object.keys(spec.nodes)) {
    const units = nodeUnits(namedNode(spec, node), OFFLINE_SECRETS).map((p) => p.unit.name);
    scripts[`${node}-deploy.sh`] = renderDeployScript(namedNode(spec, node), units);
    scripts[`${node}-remove.sh`] = renderRemoveScript(node, units, ["/etc/systemd/system/optimalos.service"]);
    scripts[`${node}-install.sh`] = renderInstallScript(namedNode(spec, node));
    scripts[`${node}-heartbeat.sh`] = renderHeartbeatScript(spec.heartbeat, namedNode(spec, node));
  }

  for (const [name, text] of Object.entries(scripts)) {
    test(`${name} is shellcheck-clean bash with strict mode`, { skip: missingTool("shellcheck") }, () => {
      assert.match(text, /^#!\/usr\/bin\/env bash\n(?:#.*\n)+set -euo pipefail\n/);
      const r = checkWith("shellcheck", ["--shell=bash", "--severity=style"], name, text);
      assert.equal(r.code, 0, r.output);
    });
  }

  test("shellcheck catches a broken script (it can fail)", { skip: missingTool("shellcheck") }, () => {
    assert.notEqual(checkWith("shellcheck", ["--shell=bash"], "bad.sh", "#!/usr/bin/env bash\nrm -rf $dir/*\n").code, 0);
  });

  test("the heartbeat is the topology's template with the node's name", () => {
    assert.match(scripts["pop-os-heartbeat.sh"]!, /^optimal infra heartbeat --name pop-os$/m);
    const custom = prodMesh();
    custom.heartbeat = { command: "optimal infra heartbeat --name {node} --tags gpu" };
    assert.match(
      renderHeartbeatScript(validateMesh(custom).heartbeat, namedNode(validateMesh(custom), "pop-os")),
      /^optimal infra heartbeat --name pop-os --tags gpu$/m,
    );
  });

  test("the cockpit's first boot uses the same install steps", () => {
    const cloudInit = renderCloudInit({
      node: namedNode(spec, "hetzner-cockpit"),
      tags: nodeTags(namedNode(spec, "hetzner-cockpit"), spec.hetzner?.node),
      authKey: "k",
    });
    assert.ok(cloudInit.includes("bun add -g optimalos"));
    assert.ok(scripts["hetzner-cockpit-install.sh"]!.includes("bun add -g optimalos"));
  });
});

const commandsOf = (rs: readonly Registration[], prefix: string) => rs.filter((r) => r.type === COMMAND && r.name.startsWith(prefix));

describe("the remote commands of prod", () => {
  const resources = planRegistrations(prodMesh());

  for (const node of ["oracle", "pop-os", "hetzner-cockpit"]) {
    test(`${node}: install, then deploy, then heartbeat`, () => {
      const install = only(resources, COMMAND, `node-${node}-install`);
      const deploy = only(resources, COMMAND, `node-${node}-deploy`);
      const heartbeat = only(resources, COMMAND, `node-${node}-heartbeat`);
      assert.ok(deploy.dependsOn.includes(install.urn));
      assert.ok(heartbeat.dependsOn.includes(deploy.urn));
      // Secret, or not yet known where it holds a token a preview cannot read (a tunnel still to create).
      assert.ok(["[secret]", "[unknown]"].includes(String(deploy.inputs.stdin)), String(deploy.inputs.stdin));
      if (node === "pop-os") assert.equal(deploy.inputs.stdin, "[secret]");
      assert.equal(deploy.deleteBeforeReplace, true);
      assert.match(String(heartbeat.inputs.create), new RegExp(`optimal infra heartbeat --name ${node}\\b`));
      for (const c of [install, deploy, heartbeat]) {
        assert.equal(c.inputs.connection, "[secret]");
        assert.equal(c.inputs.addPreviousOutputInEnv, false);
        assert.equal(c.inputs.environment, undefined);
      }
      assert.equal(commandsOf(resources, `node-${node}-bootstrap`).length, 0, "joined nodes are not bootstrapped");
    });
  }

  test("every command whose delete undoes its create is deleted before it is replaced", () => {
    const withDelete = resources.filter((r) => r.type === COMMAND && r.inputs.delete !== undefined);
    assert.deepEqual(withDelete.map((r) => r.name).sort(), [
      "node-hetzner-cockpit-deploy",
      "node-oracle-deploy",
      "node-pop-os-deploy",
      "trust-popos-deploy-authorize",
    ]);
    for (const r of withDelete) assert.equal(r.deleteBeforeReplace, true, r.name);
  });

  test("a non-root user runs the scripts through sudo, root directly", () => {
    assert.match(String(only(resources, COMMAND, "node-pop-os-deploy").inputs.create), /^sudo -n bash -c '/);
    assert.match(String(only(resources, COMMAND, "node-hetzner-cockpit-deploy").inputs.create), /^bash -c '/);
  });

  test("a cockpit rebuild re-runs its install, deploy and heartbeat (triggers on the server id)", () => {
    const server = only(resources, "hcloud:index/server:Server");
    for (const step of ["install", "deploy", "heartbeat"])
      assert.deepEqual(only(resources, COMMAND, `node-hetzner-cockpit-${step}`).inputSources.triggers, [server.urn]);
    assert.equal(only(resources, COMMAND, "node-oracle-deploy").inputs.triggers, undefined);
  });

  test("the popos-deploy trust: key made on oracle, authorized for carlos on pop-os, host pinned on oracle", () => {
    const keygen = only(resources, COMMAND, "trust-popos-deploy-keygen");
    const authorize = only(resources, COMMAND, "trust-popos-deploy-authorize");
    const client = only(resources, COMMAND, "trust-popos-deploy-client");
    assert.deepEqual(authorize.inputSources.stdin, [keygen.urn]);
    assert.match(String(keygen.inputs.create), /ssh-keygen -q -t ed25519/);
    assert.match(String(client.inputs.create), /Host pop-os'.*'  User carlos'.*'  IdentityFile ~\/\.ssh\/id_popos-deploy'/s);
    assert.doesNotMatch(String(client.inputs.create), /ssh-keyscan -/);
    assert.match(String(authorize.inputs.delete), /Revoke key popos-deploy for carlos/);
  });
});

test("a new Hetzner server is joined by its cloud-init, not bootstrapped again over SSH", () => {
  const mesh = prodMesh();
  mesh.nodes["hetzner-cockpit"].tailnet = { state: "bootstrap", firstAddress: "178.156.203.234" };
  const resources = planRegistrations(mesh);
  assert.equal(commandsOf(resources, "node-hetzner-cockpit-bootstrap").length, 0);
  assert.equal(only(resources, "tailscale:index/tailnetKey:TailnetKey", "tailnet-hetzner-cockpit-authkey").inputs.reusable, false);
  assert.equal(only(resources, "hcloud:index/server:Server").inputs.userData, "[secret]");
});

describe("adding a node", () => {
  const before = planRegistrations(prodMesh());
  const mesh = prodMesh();
  mesh.nodes.tycho = newWorker();
  const after = planRegistrations(mesh);
  const byUrn = (rs: readonly Registration[]) => new Map(rs.map((r) => [r.urn, r]));
  const was = byUrn(before);

  test("adds exactly that node's key, commands and units", () => {
    const added = after
      .filter((r) => !was.has(r.urn))
      .map((r) => `${r.type} ${r.name}`)
      .sort();
    assert.deepEqual(added, [
      "command:remote:Command node-tycho-bootstrap",
      "command:remote:Command node-tycho-deploy",
      "command:remote:Command node-tycho-heartbeat",
      "command:remote:Command node-tycho-install",
      "optimal-mesh:node:NodeHost node-tycho",
      "tailscale:index/tailnetKey:TailnetKey tailnet-tycho-authkey",
    ]);
    assert.equal(before.filter((r) => !byUrn(after).has(r.urn)).length, 0, "nothing is removed");
  });

  test("every other resource keeps its inputs and triggers; only the policy text changes (it lists the new node)", () => {
    const changed = after
      .filter((r) => was.has(r.urn) && JSON.stringify({ ...r, dependsOn: [] }) !== JSON.stringify({ ...was.get(r.urn)!, dependsOn: [] }))
      .map((r) => r.name);
    assert.deepEqual(changed, ["tailnet-policy"]);
    const policy = String(only(after, "tailscale:index/acl:Acl").inputs.acl);
    assert.match(policy, /"tag:node-tycho": \["autogroup:admin"\]/);
  });

  test("the new node is bootstrapped at its first address with its single-use key on stdin", () => {
    const bootstrap = only(after, COMMAND, "node-tycho-bootstrap");
    assert.equal(bootstrap.inputs.stdin, "[secret]");
    assert.deepEqual(bootstrap.inputSources.stdin, [only(after, "tailscale:index/tailnetKey:TailnetKey", "tailnet-tycho-authkey").urn]);
    assert.ok(only(after, COMMAND, "node-tycho-install").dependsOn.includes(bootstrap.urn));
  });
});
