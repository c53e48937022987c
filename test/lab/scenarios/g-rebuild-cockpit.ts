// Lab scenario g: disaster recovery: the cockpit's machine is lost; `npm run dr-rebuild -- hetzner-cockpit --yes` from the operator's machine brings a new server back.
import * as assert from "node:assert/strict";
import { COCKPIT } from "../../engine/lab-stack";
import { Cloud } from "../../../engine/stand-ins/cloud";
import { LAB_FIRST_BOOT_ERRORS, changes, type Scenario } from "../run";

export const scenario: Scenario = {
  name: "g disaster recovery: the cockpit's machine is lost; `npm run dr-rebuild -- hetzner-cockpit --yes` from the operator's machine brings a new server back",
  run: async (ctx) => {
    const { lab, engine, machines, up, reloadMesh, operator, sh, healthy, units, firstBootErrors } = ctx;
    const servers = () => Object.keys(new Cloud(engine.cloud, "hcloud").list("servers"));
    const [oldServer] = servers();
    const ip = Object.entries(new Cloud(engine.cloud, "hcloud").list("primary_ips"))[0]!;
    const oldKeys = Object.keys(new Cloud(engine.cloud, "tailscale").list("keys"));
    // The machine is gone (its disk too); the cloud still lists the server and the tailnet its device.
    await lab.destroyHost(COCKPIT);
    machines.write();
    const t0 = Date.now();
    const r = await operator("dr-rebuild", COCKPIT, "--yes", "--timeout", "300");
    assert.equal(r.code, 0, `dr-rebuild failed:\n${r.stderr.slice(-6000)}`);
    const seconds = (Date.now() - t0) / 1000;
    assert.match(r.stderr, /done: hetzner-cockpit is healthy/);
    reloadMesh();
    const now = servers();
    assert.equal(now.length, 1, "one server");
    assert.notEqual(now[0], oldServer, "a new server replaced the lost one");
    const ipAfter = new Cloud(engine.cloud, "hcloud").get("primary_ips", ip[0])!;
    assert.equal(ipAfter.ipAddress, ip[1].ipAddress, "the same primary IPv4");
    assert.equal(String(ipAfter.assigneeId), now[0], "assigned to the new server");
    assert.ok(healthy(COCKPIT));
    for (const u of units(COCKPIT)) assert.equal(sh(COCKPIT, `systemctl is-active ${u}.service`).stdout.trim(), "active");
    assert.match(sh(COCKPIT, "cat /var/lib/lab/services.log").stdout, /^cloudflared --no-autoupdate tunnel run$/m, "the tunnel's connector runs");
    assert.equal(sh(COCKPIT, "cat /var/lib/lab/optimalos/heartbeats.log").stdout, `${COCKPIT}\n`, "re-registered once");
    assert.equal(ctx.spec.nodes[COCKPIT]!.ssh.hostKey, lab.hostKeys()[COCKPIT], "the new host key, read over the tailnet, is pinned in the stack file");
    assert.deepEqual(firstBootErrors(), LAB_FIRST_BOOT_ERRORS);
    const devices = Object.values(new Cloud(engine.cloud, "tailscale").list("devices")).filter((d) => d.hostname === COCKPIT);
    assert.equal(devices.length, 1, "the old device was removed and the new server joined (with a fresh key: a used one is refused)");
    const keysNow = Object.keys(new Cloud(engine.cloud, "tailscale").list("keys"));
    assert.ok(keysNow.every((k) => !oldKeys.includes(k)) && keysNow.length > 0, `the auth key was replaced: ${oldKeys.join(",")} -> ${keysNow.join(",")}`);
    const second = await up(ctx.mesh);
    assert.deepEqual(changes(second), [], "a second up after the rebuild is a no-op");
    console.log(`recovery time: ${seconds.toFixed(1)}s from the lost machine to a new server healthy and re-registered (npm run dr-rebuild)`);
    return `recovered in ${seconds.toFixed(1)}s`;
  },
};
