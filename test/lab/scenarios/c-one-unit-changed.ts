// Lab scenario c: one unit changed on one node: one update, only that unit restarted.
import * as assert from "node:assert/strict";
import { DOCS_V2, changes, explain, type Scenario } from "../run";

export const scenario: Scenario = {
  name: "c one unit changed on one node: one update, only that unit restarted",
  run: async (ctx) => {
    const { up, sh, nodes, sessions, ranOn } = ctx;
    const pidOf = (node: string, u: string) => sh(node, `systemctl show -p MainPID --value ${u}.service`).stdout.trim();
    const pids = { n8n: pidOf("oracle", "n8n"), docs: pidOf("oracle", "docs"), popos: pidOf("pop-os", "optimalos") };
    const before = sessions();
    const next = structuredClone(ctx.mesh);
    next.nodes.oracle.services.docs.exec = DOCS_V2;
    const r = await up(next);
    assert.ok(r.ok, explain(r));
    assert.deepEqual(changes(r), ["update node-oracle-deploy"]);
    assert.deepEqual(ranOn(before, sessions()), Object.fromEntries(nodes().map((n) => [n, n === "oracle" ? 1 : 0])));
    assert.notEqual(pidOf("oracle", "docs"), pids.docs, "docs restarted");
    assert.equal(pidOf("oracle", "n8n"), pids.n8n, "n8n untouched");
    assert.equal(pidOf("pop-os", "optimalos"), pids.popos, "other nodes untouched");
    assert.match(sh("oracle", "systemctl cat docs.service").stdout, /docs-v2/);
    return "1 command";
  },
};
