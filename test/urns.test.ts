// Names are a contract: once a stack is deployed, a resource's URN is its identity, and a rename
// without an alias deletes and recreates it. The full list of prod's URNs is pinned here, so a
// rename is a reviewed change (with `aliases`), never a side effect.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { engineUrn } from "../scripts/lib/offline";
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

test("every URN prod had under its previous names is claimed by exactly one resource's alias", () => {
  const registrations = planRegistrations(prodMesh(), "prod");
  const claimed = registrations.flatMap((r) => {
    const urn = engineUrn(registrations, r, "prod", "optimal-mesh");
    // An alias of a name alone keeps the type and parent: the URN with that name.
    return r.aliases.filter((a) => a.type === undefined && a.name !== undefined).map((a) => `${urn.slice(0, urn.lastIndexOf("::") + 2)}${a.name!}`);
  });
  const previous = fs.readFileSync(PREVIOUS, "utf8").trimEnd().split("\n");
  assert.equal(previous.length, 40);
  assert.deepEqual([...claimed].sort(), [...previous].sort());
  // Not vacuous: no current URN is an old one, so without the aliases every resource would be replaced.
  const current = new Set(registrations.map((r) => engineUrn(registrations, r, "prod", "optimal-mesh")));
  assert.ok(previous.every((u) => !current.has(u)));
});
