// Lab scenario h: oracle deploys to carlos@pop-os with the declared key and pinned host key; pop-os cannot SSH to oracle.
import * as assert from "node:assert/strict";
import { type Scenario } from "../run";

export const scenario: Scenario = {
  name: "h oracle deploys to carlos@pop-os with the declared key and pinned host key; pop-os cannot SSH to oracle",
  run: (ctx) => {
    const { lab } = ctx;
    const to = lab.ssh("oracle", "carlos", "ssh -o BatchMode=yes pop-os whoami", { allowFail: true });
    assert.equal(to.code, 0, to.stderr);
    assert.equal(to.stdout.trim(), "carlos");
    assert.match(
      lab.ssh("oracle", "carlos", "cat ~/.ssh/config").stdout,
      /Host pop-os\n {2}HostName pop-os\n {2}User carlos\n {2}IdentityFile ~\/\.ssh\/id_popos-deploy/,
    );
    const back = lab.ssh("pop-os", "carlos", "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null oracle true", {
      allowFail: true,
    });
    assert.notEqual(back.code, 0, "pop-os must not reach oracle");
    assert.match(back.stderr, /Permission denied/);
    return "oracle -> pop-os ok, pop-os -> oracle denied";
  },
};
