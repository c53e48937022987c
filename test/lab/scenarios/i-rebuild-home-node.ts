// Lab scenario i: disaster recovery of a home node: pop-os reinstalled; `npm run dr-rebuild -- pop-os --yes` runs again what ran on it and what depends on it, nothing on the cockpit.
import * as assert from "node:assert/strict";
import { STACK, changes, printed, type Scenario } from "../run";

import { readJournal } from "../../../engine/stand-ins/cloud";
import { rebuildPlan } from "../../../scripts/lib/rebuild";

export const scenario: Scenario = {
  name: "i disaster recovery of a home node: pop-os reinstalled; `npm run dr-rebuild -- pop-os --yes` runs again what ran on it and what depends on it, nothing on the cockpit",
  run: async (ctx) => {
    const { lab, engine, machines, setMesh, up, reloadMesh, operator, sh, healthy, sessions, ranOn } = ctx;
    const plan = rebuildPlan(ctx.spec, STACK, "pop-os");
    await lab.destroyHost("pop-os");
    const t0 = Date.now();
    await lab.startHost("pop-os");
    machines.write();
    // The operator pins the reinstalled machine's host key by hand, read on the machine itself (runbook).
    const pinned = structuredClone(ctx.mesh);
    pinned.nodes["pop-os"].ssh.hostKey = lab.hostKeys()["pop-os"];
    setMesh(pinned);
    await engine.writeConfig();
    const before = sessions();
    const journal = readJournal(engine.cloud).length;
    const r = await operator("dr-rebuild", "pop-os", "--yes", "--timeout", "300");
    assert.equal(r.code, 0, `dr-rebuild failed:\n${r.stderr.slice(-6000)}`);
    reloadMesh();
    const forgotten = printed(r.stderr, "forget");
    const ran = readJournal(engine.cloud)
      .slice(journal)
      .filter((j) => j.op === "run")
      .map((j) => j.detail!.split(" ")[0]!)
      .sort();
    // What ran on the lost installation, and what the state edit dropped with it as its dependents
    // (the trust's key and client on oracle come after pop-os's deploy), ran again; nothing else.
    for (const name of plan.forget) assert.ok(forgotten.includes(name), `${name} was forgotten: ${forgotten.join(", ")}`);
    assert.deepEqual(ran, [...forgotten].sort(), "exactly what the rebuild forgot ran again");
    const after = ranOn(before, sessions());
    assert.equal(after["hetzner-cockpit"], 0, "nothing ran on the cockpit");
    assert.ok(healthy("pop-os"));
    assert.equal(sh("pop-os", "cat /var/lib/lab/optimalos/heartbeats.log").stdout, "pop-os\n");
    const trust = lab.ssh("oracle", "carlos", "ssh -o BatchMode=yes pop-os whoami", { allowFail: true });
    assert.equal(trust.stdout.trim(), "carlos", `the trust works again, pinned to the new host key: ${trust.stderr}`);
    assert.deepEqual(changes(await up(ctx.mesh)), [], "a second up is a no-op");
    return `${ran.length} commands, recovered in ${((Date.now() - t0) / 1000).toFixed(1)}s`;
  },
};
