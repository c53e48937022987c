// Lab scenario j: doctor: the troubleshooting checks pass on the lab, and a stopped tunnel is diagnosed with its fix.
import * as assert from "node:assert/strict";
import { COCKPIT } from "../../engine/lab-stack";
import { runDoctor, type Probe } from "../../../scripts/lib/doctor";
import { type Scenario } from "../run";

export const scenario: Scenario = {
  name: "j doctor: the troubleshooting checks pass on the lab, and a stopped tunnel is diagnosed with its fix",
  run: async (ctx) => {
    const { lab, sh } = ctx;
    // The doctor looks from oracle, as an operator's machine on the tailnet would.
    const from = (cmd: string) => lab.ssh("oracle", "root", cmd, { allowFail: true });
    const probe: Probe = {
      // The lab has no tailscale ping: a TCP connect to the node's SSH port over the lab network stands in.
      reachable: async (node) => from(`timeout 3 bash -c '</dev/tcp/${node}/22'`).code === 0,
      http: async (url) => {
        const r = from(`curl -s -o /dev/null -w '%{http_code}' --max-time 3 ${url}`);
        if (r.code === 7) return "refused";
        if (r.code === 6) return "unresolved";
        if (r.code === 28) return "timeout";
        return r.code === 0 ? Number(r.stdout) : "error";
      },
      resolve: async (name) => from(`getent hosts ${name}`).stdout.split(" ")[0] || undefined,
      run: async (node, cmd) => lab.ssh(node, "root", cmd, { allowFail: true }),
      publicEdge: false,
    };
    const healthyFindings = await runDoctor(ctx.spec, ctx.meshPlan, probe);
    assert.deepEqual(
      healthyFindings.filter((f) => f.status === "fail").map((f) => `${f.check} (${f.target}): ${f.detail}`),
      [],
    );
    assert.ok(healthyFindings.filter((f) => f.status === "ok").length >= 14);
    sh(COCKPIT, "systemctl stop cloudflared.service");
    const broken = (await runDoctor(ctx.spec, ctx.meshPlan, probe)).filter((f) => f.status === "fail");
    sh(COCKPIT, "systemctl start cloudflared.service");
    assert.deepEqual(
      broken.map((f) => `${f.check} (${f.target})`),
      ["cloudflared (cockpit on hetzner-cockpit)"],
    );
    assert.match(broken[0]!.fix!, /systemctl status cloudflared. on hetzner-cockpit \(not Tailscale\)/);
    return `${healthyFindings.filter((f) => f.status === "ok").length} ok, stopped tunnel diagnosed`;
  },
};
