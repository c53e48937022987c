// Lab scenario l: add a node: one config entry and a new machine; only that node's resources are created, only it runs commands.
import * as assert from "node:assert/strict";
import { Cloud } from "../../../engine/stand-ins/cloud";
import { NEW_NODE, changes, explain, type Scenario } from "../run";

export const scenario: Scenario = {
  name: "l add a node: one config entry and a new machine; only that node's resources are created, only it runs commands",
  run: async (ctx) => {
    const { engine, machines, added, up, sh, healthy, units, nodes, sessions, ranOn } = ctx;
    const lan = added.tailnet.firstAddress as string;
    await machines.addHomeMachine(NEW_NODE, lan);
    const next = structuredClone(ctx.mesh);
    next.nodes[NEW_NODE] = added;
    const before = sessions();
    const r = await up(next);
    assert.ok(r.ok, explain(r));
    const created = r.steps.filter((st) => st.op === "create").map((st) => st.urn.slice(st.urn.lastIndexOf("::") + 2));
    for (const name of created) assert.match(name, new RegExp(NEW_NODE), `${name} is not the new node's`);
    assert.deepEqual(
      changes(r).filter((c) => !c.startsWith("create ")),
      ["update tailnet-policy"],
      "elsewhere only the policy changes (it names the node)",
    );
    const ran = ranOn(before, sessions());
    for (const node of nodes()) if (node !== NEW_NODE) assert.equal(ran[node], 0, `${node} ran nothing`);
    assert.equal(ran[NEW_NODE], 4, "bootstrap (at its LAN address), install, deploy and heartbeat");
    const device = Object.values(new Cloud(engine.cloud, "tailscale").list("devices")).find((d) => d.hostname === NEW_NODE);
    assert.ok(device, "the new machine joined the tailnet with its single-use key");
    assert.ok((device.tags as string[]).includes(`tag:node-${NEW_NODE}`), `its tags: ${String(device.tags)}`);
    for (const u of units(NEW_NODE)) assert.equal(sh(NEW_NODE, `systemctl is-active ${u}.service`).stdout.trim(), "active", `${NEW_NODE}: ${u}`);
    assert.ok(healthy(NEW_NODE), "OptimalOS healthy");
    assert.equal(sh(NEW_NODE, "cat /var/lib/lab/optimalos/heartbeats.log").stdout, `${NEW_NODE}\n`);
    return `${created.length} created, ${ran[NEW_NODE]} commands on ${NEW_NODE}`;
  },
};
