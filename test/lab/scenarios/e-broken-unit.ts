// Lab scenario e: a broken unit fails the up with its journal, is rolled back, and the previous version keeps serving.
import * as assert from "node:assert/strict";
import { changes, explain, type Scenario } from "../run";

export const scenario: Scenario = {
  name: "e a broken unit fails the up with its journal, is rolled back, and the previous version keeps serving",
  run: async (ctx) => {
    const { up, sh, healthy } = ctx;
    const good = sh("oracle", "systemctl cat n8n.service").stdout;
    const previous = ctx.mesh;
    const broken = structuredClone(ctx.mesh);
    broken.nodes.oracle.services.n8n.exec = "/usr/local/bin/n8n-missing start";
    const r = await up(broken);
    assert.equal(r.ok, false, "the up of the broken unit fails");
    assert.match(r.stdout, /command:remote:Command \(node-oracle-deploy\)|node-oracle-deploy/);
    assert.match(r.stdout, /n8n is not active/);
    assert.match(r.stdout, /previous files are back in place/);
    assert.equal(sh("oracle", "systemctl cat n8n.service").stdout, good, "the previous unit is back");
    assert.equal(sh("oracle", "systemctl is-active n8n.service").stdout.trim(), "active");
    assert.ok(healthy("oracle"));
    // The failed update left the state as it was: the previous topology is what the hosts run.
    const again = await up(previous);
    assert.ok(again.ok, explain(again));
    assert.deepEqual(changes(again), [], "the good topology is still what the host runs");
    return "deploy failed with the journal, previous n8n serving";
  },
};
