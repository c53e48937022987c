// Lab scenario k: hostile config values: stored and passed as data, never run.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { COCKPIT } from "../../engine/lab-stack";
import { ROOT_PATH } from "../../../render/shell/steps";
import { changes, explain, type Scenario } from "../run";
import { validateMesh } from "../../../stacks/validate";
import type { Raw } from "../../helpers";
import { envMismatches, hostilePatch, mergePatch, parseEnviron, PWNED, type Json } from "../hostile";
import { isDeepStrictEqual } from "node:util";
import { log, ROOT } from "../hosts";
import { randomBytes } from "node:crypto";

export const scenario: Scenario = {
  name: "k hostile config values: stored and passed as data, never run",
  run: async (ctx) => {
    const { engineDir, up, sh, healthy, units, nodes } = ctx;
    const t0 = Date.now();
    const nonce = randomBytes(4).toString("hex");
    // install.sh runs `optimalos init` only when the package spec changes: the patch pins the
    // version the lab's registry serves (optimalos@<version>), so init runs again with the hostile env.
    const version = (JSON.parse(fs.readFileSync(path.join(__dirname, "../standins/optimalos/package.json"), "utf8")) as { version: string }).version;
    const patch = hostilePatch(nonce, `optimalos@${version}`);
    const normal = ctx.mesh;
    // The values are what the grammars accept: the patched mesh validates, as it is.
    const patched = mergePatch(normal as Json, patch) as Raw;
    const hostile = validateMesh(patched);
    // ... and PATH cannot come from config at all.
    assert.throws(() => validateMesh(mergePatch(normal as Json, { nodes: { oracle: { optimalos: { env: { PATH: "/tmp/evil" } } } } })), /may not set/);
    const oracle = hostile.nodes.oracle!;
    const n8n = oracle.services.n8n!;
    const docsExec = oracle.services.docs!.exec!;
    const osNodes = ["oracle", COCKPIT] as const;

    const bytesOf = (node: string, file: string): Buffer | undefined => {
      const r = sh(node, `base64 -w0 ${file}`);
      return r.code === 0 ? Buffer.from(r.stdout, "base64") : undefined;
    };
    const mainPid = (node: string, unit: string) => {
      const pid = sh(node, `systemctl show -p MainPID --value ${unit}.service`).stdout.trim();
      assert.match(pid, /^[1-9][0-9]*$/, `${node}: ${unit} has a main process`);
      return pid;
    };
    /** Marker files on a host: its root file system, the other mounts a process can write, and the services' private /tmp. */
    const markersOn = (node: string) => {
      const r = sh(
        node,
        `shopt -s nullglob; find / /tmp /var/tmp /run /dev/shm /home /root /srv /tmp/systemd-private-*/tmp /var/tmp/systemd-private-*/tmp -xdev -name '${PWNED}*' -print 2>/dev/null; true`,
      );
      return [...new Set(r.stdout.split("\n").filter(Boolean))].map((f) => `${node}:${f}`);
    };
    /** Marker files on the machine running the lab (where the engine, the program and the stand-ins run). */
    const markersHere = () =>
      ["/tmp", "/", ROOT, engineDir].flatMap((d) =>
        fs.existsSync(d)
          ? fs
              .readdirSync(d)
              .filter((f) => f.startsWith(PWNED))
              .map((f) => `lab machine:${path.join(d, f)}`)
          : [],
      );
    const markers = () => [...nodes().flatMap(markersOn), ...markersHere()].map((f) => `marker ${f}: a hostile value ran as code`);

    const restore = async () => {
      const t1 = Date.now();
      const undo = await up(normal);
      assert.ok(undo.ok, explain(undo));
      const again = await up(normal);
      assert.deepEqual(changes(again), [], "the normal topology is what the hosts run again");
      for (const node of nodes()) {
        for (const u of units(node)) assert.equal(sh(node, `systemctl is-active ${u}.service`).stdout.trim(), "active", `${node}: ${u}`);
        assert.ok(healthy(node), `${node}: OptimalOS healthy`);
      }
      assert.equal(sh("oracle", "systemctl show -p Description --value n8n.service").stdout.trim(), ctx.spec.nodes.oracle!.services.n8n!.description ?? "n8n");
      assert.deepEqual(markers(), [], "after the normal topology is restored");
      return `restore ${((Date.now() - t1) / 1000).toFixed(1)}s (${changes(undo).length} steps)`;
    };

    const hostileRun = async () => {
      for (const node of osNodes) sh(node, "rm -f /var/lib/lab/optimalos/environ.init /var/lib/lab/optimalos/environ.heartbeat");
      const r = await up(patched);
      assert.ok(r.ok, explain(r));
      const ran = changes(r);
      for (const node of osNodes)
        for (const c of ["install", "deploy", "heartbeat"])
          assert.ok(ran.includes(`update node-${node}-${c}`), `${node} ${c} ran again (ran ${ran.join(", ")})`);
      const converged = (Date.now() - t0) / 1000;
      const problems: string[] = [];

      // (a) Nothing ran: no marker on any host (also in the services' private /tmp), nor here.
      // The search is first shown to work: it finds markers planted in n8n's private /tmp and in /.
      const planted = `${PWNED}${nonce}-planted`;
      sh("oracle", `for d in /tmp/systemd-private-*-n8n.service-*/tmp /; do touch "$d/${planted}"; done`);
      assert.equal(markersOn("oracle").filter((f) => f.endsWith(planted)).length, 2, "the search finds a marker in n8n's private /tmp and in /");
      sh("oracle", `rm -f /tmp/systemd-private-*-n8n.service-*/tmp/${planted} /${planted}`);
      problems.push(...markers());

      // (b) Each running service's process has every declared variable with exactly the declared bytes.
      const environOf = (node: string, unit: string) => parseEnviron(bytesOf(node, `/proc/${mainPid(node, unit)}/environ`) ?? Buffer.alloc(0));
      problems.push(...envMismatches(environOf("oracle", "n8n"), n8n.env).map((m) => `oracle n8n.service environment: ${m}`));
      for (const node of osNodes) {
        const o = hostile.nodes[node]!.optimalos;
        problems.push(
          ...envMismatches(environOf(node, "optimalos"), { ...o.env, PORT: String(o.port) }).map((m) => `${node} optimalos.service environment: ${m}`),
        );
      }

      // (c) systemd shows the description as declared: no specifier expanded, nothing cut.
      const shown = sh("oracle", "systemctl show -p Description --value n8n.service").stdout.replace(/\n$/, "");
      if (shown !== n8n.description)
        problems.push(`oracle n8n.service Description: systemd shows ${JSON.stringify(shown)}, declared ${JSON.stringify(n8n.description)}`);

      // (d) The docs stand-in was started with exactly the declared words, one argument each.
      const argv = bytesOf("oracle", `/var/lib/lab/argv/${mainPid("oracle", "docs")}`);
      const words = argv === undefined ? undefined : argv.toString("utf8").split("\0").slice(0, -1);
      if (!isDeepStrictEqual(words, docsExec.split(" ")))
        problems.push(`oracle docs.service argv: ${JSON.stringify(words)}, declared ${JSON.stringify(docsExec.split(" "))}`);

      // (e) optimalos init (install.sh) and the heartbeat (heartbeat.sh) ran with OptimalOS's settings, exactly, and the fixed root PATH.
      for (const node of osNodes) {
        const o = hostile.nodes[node]!.optimalos;
        for (const [step, script] of [
          ["init", "install.sh (optimalos init)"],
          ["heartbeat", "heartbeat.sh (optimal infra heartbeat)"],
        ] as const) {
          const raw = bytesOf(node, `/var/lib/lab/optimalos/environ.${step}`);
          if (raw === undefined) problems.push(`${node} ${script}: did not run`);
          else
            problems.push(
              ...envMismatches(parseEnviron(raw), { ...o.env, PORT: String(o.port), PATH: ROOT_PATH }).map((m) => `${node} ${script} environment: ${m}`),
            );
        }
      }
      assert.deepEqual(problems, [], "hostile values were run, changed or lost");
      const osValues = osNodes.reduce((a, node) => a + Object.keys(hostile.nodes[node]!.optimalos.env).length, 0);
      return (
        `${Object.keys(n8n.env).length} n8n env values, ${osValues} OptimalOS env values (unit, init, heartbeat), 1 description, ${docsExec.split(" ").length} exec words: ` +
        `byte-exact, no marker; hostile up ${converged.toFixed(1)}s (${ran.length} steps)`
      );
    };

    // The normal topology is restored also when a check fails, so that what follows runs as before.
    let detail: string;
    try {
      detail = await hostileRun();
    } catch (err) {
      try {
        await restore();
      } catch (again) {
        log(`  restoring the normal topology after the failure failed too: ${again instanceof Error ? again.message : String(again)}`);
      }
      throw err;
    }
    return `${detail}, ${await restore()}`;
  },
};
