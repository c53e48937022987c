// Names are a contract: once a stack is deployed, a resource's URN is its identity, and a rename
// without an alias deletes and recreates it. The full list of prod's URNs is pinned here, so a
// rename is a reviewed change (with `aliases`), never a side effect.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { engineUrn, engineUrns, type Registration } from "../offline/evaluate";
import { planRegistrations, prodMesh, ROOT } from "./helpers";

const PINNED = path.join(ROOT, "test/prod-urns.txt");
/** Prod's URNs while the root component was named after the stack (every URN said `prod` twice). */
const PREVIOUS = path.join(ROOT, "test/prod-urns-previous.txt");

test("prod's URNs are exactly the pinned list (a rename needs an alias and an update of test/prod-urns.txt)", () => {
  const registrations = planRegistrations(prodMesh(), "prod");
  const urns = registrations.map((r) => engineUrn(registrations, r, "prod", "optimal-mesh")).sort();
  assert.equal(new Set(urns).size, urns.length, "URNs are unique");
  if (process.env.UPDATE_URNS === "1") fs.writeFileSync(PINNED, `${urns.join("\n")}\n`);
  const pinned = fs.readFileSync(PINNED, "utf8").trimEnd().split("\n");
  const added = urns.filter((u) => !pinned.includes(u));
  const removed = pinned.filter((u) => !urns.includes(u));
  assert.deepEqual(
    { added, removed },
    { added: [], removed: [] },
    "a URN changed: give the resource `aliases` for its old name (or accept the replacement), then run UPDATE_URNS=1 node --import tsx --test test/urns.test.ts",
  );
});

// engineUrns is this project's model of the engine's alias lookup (pulumi v3.248.0 step_generator.go
// generateAliases); these tests check the model and the program against it, not the engine itself.
// The engine was checked by hand once (README: a stack under the earlier names previews unchanged).
test("every URN prod had under its previous names is one the engine's lookup, as engineUrns models it, finds for exactly one resource", () => {
  const registrations = planRegistrations(prodMesh(), "prod");
  const previous = fs.readFileSync(PREVIOUS, "utf8").trimEnd().split("\n");
  assert.equal(previous.length, 40);
  for (const old of previous) {
    const claimants = registrations.filter((r) => engineUrns(registrations, r, "prod", "optimal-mesh").previous.includes(old));
    assert.equal(claimants.length, 1, `${old}: looked up by ${claimants.map((r) => r.name).join(", ") || "nothing"}`);
  }
  // Not vacuous: no current URN is an old one, so without the aliases every resource would be replaced.
  const current = new Set(registrations.map((r) => engineUrn(registrations, r, "prod", "optimal-mesh")));
  assert.ok(previous.every((u) => !current.has(u)));
  // The aliases are stated on the root and the components under it; the engine derives the rest.
  const explicit = registrations.filter((r) => r.aliases.some((a) => a.name !== undefined)).map((r) => r.type);
  assert.deepEqual([...new Set(explicit)].sort(), [
    "optimal-mesh:cloudflare:Tunnel",
    "optimal-mesh:hetzner:HetznerCockpit",
    // Newer than the rename, named like every resource (an alias that finds nothing costs nothing).
    "optimal-mesh:index:DestroyGuard",
    "optimal-mesh:index:Mesh",
    "optimal-mesh:node:NodeHost",
    "optimal-mesh:node:SshTrust",
    "optimal-mesh:tailnet:Tailnet",
  ]);
});

test("engineUrns models the engine: a child of an aliased parent is also looked for under the parent's earlier name", () => {
  const reg = (name: string, parent: string | null, aliases: { name?: string; type?: string }[] = []) =>
    ({ urn: `u:${name}`, type: `t:${name.split("-")[0]}`, name, parent: parent === null ? null : `u:${parent}`, aliases }) as unknown as Registration;
  const rs = [
    reg("mesh", null, [{ name: "prod" }]),
    reg("node-a", "mesh", [{ name: "prod-node-a" }]),
    reg("node-a-deploy", "node-a"),
    reg("other", "node-a", [{ type: "t:old" }]),
  ];
  const urns = (name: string) =>
    engineUrns(
      rs,
      rs.find((r) => r.name === name)!,
      "s",
      "p",
    );
  assert.deepEqual(urns("mesh"), { urn: "urn:pulumi:s::p::t:mesh::mesh", previous: ["urn:pulumi:s::p::t:mesh::prod"] });
  // Not prefixed with its parent's name: under the parent's old URN it keeps its own name, which is
  // its current URN (types, not names, qualify a URN): only its own alias finds it.
  assert.deepEqual(urns("node-a").previous, ["urn:pulumi:s::p::t:mesh$t:node::prod-node-a"]);
  assert.ok(urns("node-a-deploy").previous.includes("urn:pulumi:s::p::t:mesh$t:node$t:node::prod-node-a-deploy"));
  assert.ok(urns("other").previous.includes("urn:pulumi:s::p::t:mesh$t:node$t:old::other"));
});
