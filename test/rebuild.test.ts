// What a disaster-recovery rebuild replaces, and the dr-rebuild command without --yes.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { rebuildPlan } from "../scripts/lib/rebuild";
import { validateMesh } from "../stacks/validate";
import { prodMesh, runScript } from "./helpers";

const spec = validateMesh(prodMesh());

test("the cockpit: replace the server only; the primary IP, tunnel and DNS stay, the commands follow its id", () => {
  const p = rebuildPlan(spec, "prod", "hetzner-cockpit");
  assert.equal(p.kind, "cloud-server");
  assert.deepEqual(p.replace, ["prod-cockpit-server"]);
  assert.match(p.phases.join("\n"), /keeping the primary IP, firewall, tunnel and DNS/);
});

test("a home node: its own commands and the trust commands that run on it", () => {
  assert.deepEqual(rebuildPlan(spec, "prod", "pop-os").replace, ["prod-node-pop-os-install", "prod-node-pop-os-deploy", "prod-node-pop-os-heartbeat", "prod-trust-popos-deploy-authorize"]);
  assert.deepEqual(rebuildPlan(spec, "prod", "oracle").replace, ["prod-node-oracle-install", "prod-node-oracle-deploy", "prod-node-oracle-heartbeat", "prod-trust-popos-deploy-client", "prod-trust-popos-deploy-keygen"]);
  const raw = prodMesh();
  raw.nodes.oracle.tailnet = { state: "bootstrap", firstAddress: "192.0.2.5" };
  assert.equal(rebuildPlan(validateMesh(raw), "prod", "oracle").replace[0], "prod-node-oracle-bootstrap");
  assert.throws(() => rebuildPlan(spec, "prod", "oracel"), /no node named "oracel"; the stack has hetzner-cockpit, oracle, pop-os/);
});

test("npm run dr-rebuild without --yes prints the phases and the URNs it would replace, and changes nothing", () => {
  const r = runScript("dr-rebuild", ["hetzner-cockpit"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /replace urn:pulumi:prod::optimal-mesh::optimal-mesh:index:Mesh\$optimal-mesh:hetzner:HetznerCockpit\$hcloud:index\/server:Server::prod-cockpit-server/);
  assert.match(r.stderr, /nothing done: run again with --yes/);
  const bad = runScript("dr-rebuild", ["nope"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no node named "nope"/);
});
