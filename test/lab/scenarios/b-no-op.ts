// Lab scenario b: no-op: a second up reports only same, and no host ran a command.
import * as assert from "node:assert/strict";
import { changes, explain, type Scenario } from "../run";
import { readJournal } from "../../../engine/stand-ins/cloud";

export const scenario: Scenario = {
  name: "b no-op: a second up reports only same, and no host ran a command",
  run: async (ctx) => {
    const { engine, up, nodes, sessions, ranOn } = ctx;
    const before = sessions();
    const journal = readJournal(engine.cloud).length;
    const r = await up(ctx.mesh);
    assert.ok(r.ok, explain(r));
    assert.deepEqual(changes(r), []);
    assert.deepEqual(ranOn(before, sessions()), Object.fromEntries(nodes().map((n) => [n, 0])), "SSH sessions the hosts accepted during the up");
    assert.deepEqual(readJournal(engine.cloud).slice(journal), [], "no stand-in wrote anything");
    return `${r.summary.same} same`;
  },
};
