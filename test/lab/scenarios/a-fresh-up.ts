// Lab scenario a: fresh up: the cockpit created and booted by cloud-init, every node converged and registered.
import * as assert from "node:assert/strict";
import { COCKPIT } from "../../engine/lab-stack";
import { Cloud, readJournal } from "../../../engine/stand-ins/cloud";
import { LAB_FIRST_BOOT_ERRORS, explain, type Scenario } from "../run";

export const scenario: Scenario = {
  name: "a fresh up: the cockpit created and booted by cloud-init, every node converged and registered",
  run: async (ctx) => {
    const { lab, engine, up, sh, healthUrl, healthy, units, nodes, firstBootErrors } = ctx;
    const r = await up(ctx.mesh);
    assert.ok(r.ok, explain(r));
    const servers = readJournal(engine.cloud).filter((j) => j.provider === "hcloud" && j.collection === "servers" && j.op === "create");
    assert.equal(servers.length, 1, "the hcloud stand-in created one server");
    // The server's first boot was its real cloud-init, which ran the user data the program rendered.
    await lab.waitUntilUp(COCKPIT, 120);
    assert.match(sh(COCKPIT, "cat /var/log/cloud-init-output.log").stdout, /joining the tailnet as hetzner-cockpit/);
    assert.deepEqual(
      firstBootErrors(),
      LAB_FIRST_BOOT_ERRORS,
      `cloud-init failed only where the lab has no internet or locales:\n${sh(COCKPIT, "cloud-init status --long; grep -v 'Temporary failure resolving\\|^Err:\\|^E: Failed to fetch' /var/log/cloud-init-output.log | tail -n 40").stdout}`,
    );
    assert.equal(sh(COCKPIT, "test -e /var/lib/lab/tailscale-joined && echo joined").stdout.trim(), "joined", "the cockpit joined the tailnet from cloud-init");
    assert.equal(sh(COCKPIT, "stat -c '%a %U' /etc/ssh/sshd_config.d/10-optimal-mesh.conf").stdout.trim(), "644 root", "cloud-init wrote the SSH hardening");
    for (const node of nodes()) {
      for (const u of units(node)) assert.equal(sh(node, `systemctl is-active ${u}.service`).stdout.trim(), "active", `${node}: ${u}`);
      assert.ok(healthy(node), `${node}: OptimalOS healthy`);
      assert.equal(sh(node, "cat /var/lib/lab/optimalos/heartbeats.log").stdout, `${node}\n`, `${node}: exactly one heartbeat, with its own name`);
    }
    // cloudflared got its connector token from the 0600 env file, not argv.
    for (const node of ["oracle", COCKPIT]) {
      assert.match(sh(node, "cat /var/lib/lab/services.log").stdout, /^cloudflared token=present$/m, `${node}: cloudflared has its token`);
      assert.equal(sh(node, "stat -c '%a %U' /etc/cloudflared/tunnel.env").stdout.trim(), "600 root");
      assert.match(sh(node, "cat /var/lib/lab/services.log").stdout, /^cloudflared --no-autoupdate tunnel run$/m, `${node}: no token in argv`);
    }
    // Peers reach pop-os's tailnet-bound OptimalOS over the lab network, as over the tailnet.
    assert.equal(sh("oracle", `curl -fsS --max-time 3 ${healthUrl("pop-os")} >/dev/null`).code, 0, "oracle reaches pop-os:3000");
    const devices = Object.values(new Cloud(engine.cloud, "tailscale").list("devices")).map((d) => d.hostname);
    assert.ok(devices.includes(COCKPIT), "the cockpit's device is on the tailnet");
    return `${r.summary.create} created`;
  },
};
