// Lab scenario n: an SSH host that refuses connections, then comes back: within the dial budget the up converges; past it the up fails naming the command and the cause, and a rerun converges.
import * as assert from "node:assert/strict";
import { DIAL_RUNNING } from "../../../render/node/remote";
import { DOCS_V2, changes, explain, type Scenario } from "../run";
import { readJournal } from "../../../engine/stand-ins/cloud";

export const scenario: Scenario = {
  name: "n an SSH host that refuses connections, then comes back: within the dial budget the up converges; past it the up fails naming the command and the cause, and a rerun converges",
  run: async (ctx) => {
    const { lab, engine, up, sh } = ctx;
    const failedDials = (from: number) =>
      readJournal(engine.cloud)
        .slice(from)
        .filter((j) => j.op === "dial" && j.detail!.startsWith("node-oracle-deploy "));
    const docs = (exec: string) => {
      const next = structuredClone(ctx.mesh);
      next.nodes.oracle.services.docs.exec = exec;
      return next;
    };
    // Within the budget: sshd comes back after the third refused dial.
    lab.setSshd("oracle", false);
    let from = readJournal(engine.cloud).length;
    const pending = up(docs(DOCS_V2.replace("docs-v2", "docs-v3")));
    const deadline = Date.now() + 180_000;
    while (failedDials(from).length < 3) {
      if (Date.now() > deadline) throw new Error("the deploy never dialled oracle");
      await new Promise((done) => setTimeout(done, 200));
    }
    lab.setSshd("oracle", true);
    const r = await pending;
    assert.ok(r.ok, explain(r));
    assert.deepEqual(changes(r), ["update node-oracle-deploy"]);
    assert.match(failedDials(from)[0]!.detail!, /Connection refused/);
    assert.match(sh("oracle", "systemctl cat docs.service").stdout, /docs-v3/);
    const within = failedDials(from).length;

    // Past the budget: sshd stays down for every dial the program allows.
    lab.setSshd("oracle", false);
    from = readJournal(engine.cloud).length;
    const failed = await up(docs(DOCS_V2));
    lab.setSshd("oracle", true);
    assert.equal(failed.ok, false, "the up fails once the dials are used up");
    assert.equal(failedDials(from).length, DIAL_RUNNING.dialErrorLimit + 1, "every dial the program allows, then no more");
    assert.match(failed.stdout, /node-oracle-deploy/);
    assert.match(failed.stdout, new RegExp(`after ${DIAL_RUNNING.dialErrorLimit} failed attempts: .*Connection refused`));
    assert.match(sh("oracle", "systemctl cat docs.service").stdout, /docs-v3/, "nothing half-applied");
    const again = await up(ctx.mesh);
    assert.ok(again.ok, explain(again));
    assert.deepEqual(changes(again), ["update node-oracle-deploy"]);
    assert.match(sh("oracle", "systemctl cat docs.service").stdout, /docs-v2/);
    return `${within} refused dials survived; ${DIAL_RUNNING.dialErrorLimit + 1} failed the up`;
  },
};
