// Lab scenario d: every create script run twice leaves the host identical.
import * as assert from "node:assert/strict";
import { revealExported } from "../../../scripts/lib/deploys";
import { type Scenario } from "../run";

export const scenario: Scenario = {
  name: "d every create script run twice leaves the host identical",
  run: async (ctx) => {
    const { lab, sh, nodes, exported } = ctx;
    const snapshot = (node: string) =>
      sh(
        node,
        "{ find /etc /opt /root /home /usr/local /var/lib/optimal-mesh -xdev \\( -type f -o -type l \\) -printf '%p %m %u %g\\n' | sort; " +
          "find /etc /opt /root /home /usr/local /var/lib/optimal-mesh -xdev -type f -print0 | sort -z | xargs -0 sha256sum; " +
          "systemctl list-unit-files --state=enabled --no-legend | sort; }",
      ).stdout;
    const before = Object.fromEntries(nodes().map((n) => [n, snapshot(n)]));
    // The commands as the engine last applied them (its state, in dependency order), run again as they were.
    const commands = (await exported()).resources.filter((r) => r.type === "command:remote:Command");
    for (const c of commands) {
      const i = revealExported(c.inputs) as { connection: { host: string; user: string }; create?: string; stdin?: string };
      if (i.create === undefined) continue;
      const r = lab.ssh(i.connection.host, i.connection.user, i.create, { stdin: i.stdin ?? "", allowFail: true });
      assert.equal(r.code, 0, `${c.urn} again: ${r.stdout}${r.stderr}`);
    }
    for (const node of nodes()) assert.equal(snapshot(node), before[node], `${node} changed on the second run`);
    return `${commands.length} scripts run again`;
  },
};
