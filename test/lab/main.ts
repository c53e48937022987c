// npm run lab: the real engine brings real systemd hosts to the lab stack (test tooling). Boots
// one host per home node, runs the real index.ts through the Pulumi CLI built here (the engine
// harness) with the stand-in plugins, whose machines are these hosts: the hcloud stand-in boots
// the cockpit's host through its real cloud-init, the command stand-in runs every remote command
// over real OpenSSH. The engine decides what runs; each scenario asserts what happened on the
// hosts, prints its time, and everything is torn down at the end, also on failure or Ctrl-C.
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { Engine, type RunResult } from "../../engine/harness";
import { Cloud, readJournal } from "../../engine/stand-ins/cloud";
import { planMesh, type MeshPlan } from "../../plan/mesh-plan";
import { ROOT_PATH } from "../../render/shell/steps";
import { DIAL_RUNNING } from "../../render/node/remote";
import { revealExported, type StateCommand } from "../../scripts/lib/deploys";
import { runDoctor, type Probe } from "../../scripts/lib/doctor";
import { rebuildPlan, type Deployment } from "../../scripts/lib/rebuild";
import { readStackConfig } from "../../stacks/stackfile";
import type { MeshSpec } from "../../stacks/schema";
import { validateMesh } from "../../stacks/validate";
import { COCKPIT, HOME_NODES, labConfig, labMesh, seedEstate } from "../engine/lab-stack";
import { newWorker, type Raw } from "../helpers";
import { envMismatches, hostilePatch, mergePatch, parseEnviron, PWNED, type Json } from "./hostile";
import { ensureBase, Lab, labUnavailable, leftovers, log, ROOT } from "./hosts";
import { LabMachines } from "./machines";

const STACK = "lab";
/** The node scenario l adds. */
const NEW_NODE = "gpu-2";
/** The one change scenario c makes (oracle's docs serve another folder), kept by the later scenarios. */
const DOCS_V2 = "/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/docs-v2";

/**
 * What a server's first boot cannot do in the lab, and nothing else: upgrade and install packages
 * (no route out of the lab) and set a locale (the minimal root has none generated).
 */
const LAB_FIRST_BOOT_ERRORS = ["locale", "package-update-upgrade-install"];

interface ScenarioResult {
  readonly name: string;
  readonly seconds: number;
  readonly ok: boolean;
  readonly detail: string;
}

/** The steps of a run other than `same`, as `op name`. */
const changes = (r: RunResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.slice(s.urn.lastIndexOf("::") + 2)}`);

function explain(r: RunResult): string {
  return `${r.error ?? ""}\n${r.stdout.slice(-6000)}`;
}

/**
 * Serves the simulated cloud as the providers' web APIs on the operator's machine (its loopback),
 * as `npm run stand-ins -- serve-apis` does; stopped by the lab's teardown.
 */
async function operatorApis(lab: Lab, engine: Engine): Promise<{ tailscale: string }> {
  const child = lab.operatorSpawn(path.join(ROOT, "node_modules/.bin/tsx"), ["engine/cli.ts", "serve-apis", engine.cloud], engine.environment());
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!) as { tailscale: string });
    });
    child.once("exit", (code) => reject(new Error(`the operator's API stand-ins exited (${code}): ${err}`)));
  });
}

async function main(): Promise<number> {
  const why = labUnavailable();
  if (why !== undefined) {
    console.error(`lab: cannot run here: ${why}`);
    return 2;
  }
  const base = ensureBase();
  // The lab stack's topology; the home nodes' host keys are pinned once their hosts exist.
  let mesh: Raw = labMesh({});
  // The node scenario l adds: a new machine at home, bootstrapped onto the tailnet from its LAN address.
  const added = newWorker();
  const nodeList = [...Object.keys(mesh.nodes as object), NEW_NODE].sort();
  const lab = new Lab(
    base,
    nodeList.map((node) => {
      const n = node === NEW_NODE ? added : mesh.nodes[node];
      return {
        node,
        server: node === COCKPIT,
        later: node === NEW_NODE,
        users: [n.ssh.user as string],
        appDirs: Object.values((n.services ?? {}) as Record<string, { workingDirectory?: string }>).flatMap((s) =>
          s.workingDirectory === undefined ? [] : [s.workingDirectory],
        ),
      };
    }),
  );
  const engineDir = fs.mkdtempSync(path.join(os.tmpdir(), "optimal-mesh-lab-engine-"));
  const machinesFile = path.join(engineDir, "machines.json");
  const engine = Engine.create({ machines: machinesFile, dir: path.join(engineDir, "engine"), stack: STACK });
  if (typeof engine === "string") {
    console.error(`lab: cannot run here: ${engine}`);
    return 2;
  }
  const machines = new LabMachines(lab, machinesFile, engine.cloud);
  let interrupted = false;
  const teardown = async () => {
    await machines.stop();
    await lab.teardown();
    engine.dispose();
    fs.rmSync(engineDir, { recursive: true, force: true });
  };
  const onSignal = () => {
    interrupted = true;
    log("interrupted: tearing down");
    void teardown().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const results: ScenarioResult[] = [];
  // LAB_SCENARIOS=agf runs only those scenarios (by letter), for working on one; a later scenario
  // builds on the earlier ones' estate, so keep a.
  const only = process.env.LAB_SCENARIOS;
  const scenario = async (name: string, body: () => Promise<string> | string) => {
    if (only !== undefined && !only.includes(name[0]!)) return;
    const t0 = Date.now();
    log(`scenario ${name}: start`);
    try {
      const detail = await body();
      results.push({ name, seconds: (Date.now() - t0) / 1000, ok: true, detail });
      log(`scenario ${name}: ok in ${((Date.now() - t0) / 1000).toFixed(1)}s (${detail})`);
    } catch (err) {
      results.push({ name, seconds: (Date.now() - t0) / 1000, ok: false, detail: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      log(`scenario ${name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  try {
    await lab.start();
    await machines.start();
    // The providers' web APIs over the simulated cloud, on the operator's machine, for the commands that call them.
    const apis = await operatorApis(lab, engine);
    seedEstate(engine.cloud, Object.fromEntries(HOME_NODES.map((n) => [n, lab.addressOfHost(n)!])));
    // The one step an operator does by hand: pinning each home machine's host key.
    mesh = labMesh(lab.hostKeys());
    const keys = lab.operatorKeys();
    let spec: MeshSpec = validateMesh(mesh);
    let meshPlan: MeshPlan = planMesh(spec, STACK);
    /** Makes `m` the lab's topology, the config of the next run (or of the stack file, with writeConfig). */
    const setMesh = (m: Raw) => {
      mesh = m;
      spec = validateMesh(mesh);
      meshPlan = planMesh(spec, STACK);
      const config = labConfig(mesh, keys);
      // dr-rebuild removes a lost machine's device through the Tailscale API the stack names.
      engine.setConfig({ ...config, strings: { ...config.strings, "tailscale:baseUrl": { value: apis.tailscale } } });
    };
    /** Runs `pulumi up` of `m` (which becomes the lab's topology) through the engine. */
    const up = async (m: Raw, opts: Parameters<Engine["up"]>[0] = {}): Promise<RunResult> => {
      setMesh(m);
      return engine.up(opts);
    };
    const sh = (node: string, cmd: string) => lab.ssh(node, "root", cmd, { allowFail: true });
    const healthUrl = (node: string) => {
      const o = spec.nodes[node]!.optimalos;
      const host = o.bind === "tailnet" ? sh(node, "tailscale ip -4").stdout.trim() : "127.0.0.1";
      return `http://${host}:${o.port}${o.healthPath}`;
    };
    const healthy = (node: string) => sh(node, `curl -fsS --max-time 3 ${healthUrl(node)}`).code === 0;
    const units = (node: string) => meshPlan.nodes.find((n) => n.node === node)!.deploy.units;
    const nodes = () => Object.keys(lab.dialMap()).sort();
    /**
     * SSH sessions each host accepted so far, counted by its own sshd: every remote command the
     * stand-in runs opens one. The count's own session is one more each time it is read.
     */
    const sessions = (): Record<string, number> =>
      Object.fromEntries(nodes().map((n) => [n, Number(sh(n, "journalctl -q _COMM=sshd -o cat | grep -c '^Accepted publickey' || true").stdout.trim())]));
    const ranOn = (before: Record<string, number>, after: Record<string, number>) =>
      Object.fromEntries(nodes().map((n) => [n, (after[n] ?? 0) - (before[n] ?? 0) - 1]));
    /** The cloud-init modules that failed on the cockpit's first boot. */
    const firstBootErrors = () => [...sh(COCKPIT, "cloud-init status --long").stdout.matchAll(/^\('([a-z0-9_-]+)', /gm)].map((m) => m[1]!).sort();
    const exported = async () => ((await engine.exportStack()) as { deployment: Deployment & { resources: StateCommand[] } }).deployment;

    await scenario("a fresh up: the cockpit created and booted by cloud-init, every node converged and registered", async () => {
      const r = await up(mesh);
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
      assert.equal(
        sh(COCKPIT, "test -e /var/lib/lab/tailscale-joined && echo joined").stdout.trim(),
        "joined",
        "the cockpit joined the tailnet from cloud-init",
      );
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
    });

    await scenario("b no-op: a second up reports only same, and no host ran a command", async () => {
      const before = sessions();
      const journal = readJournal(engine.cloud).length;
      const r = await up(mesh);
      assert.ok(r.ok, explain(r));
      assert.deepEqual(changes(r), []);
      assert.deepEqual(ranOn(before, sessions()), Object.fromEntries(nodes().map((n) => [n, 0])), "SSH sessions the hosts accepted during the up");
      assert.deepEqual(readJournal(engine.cloud).slice(journal), [], "no stand-in wrote anything");
      return `${r.summary.same} same`;
    });

    await scenario("c one unit changed on one node: one update, only that unit restarted", async () => {
      const pidOf = (node: string, u: string) => sh(node, `systemctl show -p MainPID --value ${u}.service`).stdout.trim();
      const pids = { n8n: pidOf("oracle", "n8n"), docs: pidOf("oracle", "docs"), popos: pidOf("pop-os", "optimalos") };
      const before = sessions();
      const next = structuredClone(mesh);
      next.nodes.oracle.services.docs.exec = DOCS_V2;
      const r = await up(next);
      assert.ok(r.ok, explain(r));
      assert.deepEqual(changes(r), ["update node-oracle-deploy"]);
      assert.deepEqual(ranOn(before, sessions()), Object.fromEntries(nodes().map((n) => [n, n === "oracle" ? 1 : 0])));
      assert.notEqual(pidOf("oracle", "docs"), pids.docs, "docs restarted");
      assert.equal(pidOf("oracle", "n8n"), pids.n8n, "n8n untouched");
      assert.equal(pidOf("pop-os", "optimalos"), pids.popos, "other nodes untouched");
      assert.match(sh("oracle", "systemctl cat docs.service").stdout, /docs-v2/);
      return "1 command";
    });

    await scenario("d every create script run twice leaves the host identical", async () => {
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
    });

    await scenario("e a broken unit fails the up with its journal, is rolled back, and the previous version keeps serving", async () => {
      const good = sh("oracle", "systemctl cat n8n.service").stdout;
      const previous = mesh;
      const broken = structuredClone(mesh);
      broken.nodes.oracle.services.n8n.exec = "/usr/local/bin/n8n-missing start";
      const r = await up(broken);
      assert.equal(r.ok, false, "the up of the broken unit fails");
      assert.match(r.stdout, /command:remote:Command \(node-oracle-deploy\)|node-oracle-deploy/);
      assert.match(r.stdout, /n8n is not active/);
      assert.match(r.stdout, /previous files are back in place/);
      assert.equal(sh("oracle", "systemctl cat n8n.service").stdout, good, "the previous unit is back");
      assert.equal(sh("oracle", "systemctl is-active n8n.service").stdout.trim(), "active");
      assert.ok(healthy("oracle"));
      // The failed update left the state as it was: the previous topology is what the hosts run.
      const again = await up(previous);
      assert.ok(again.ok, explain(again));
      assert.deepEqual(changes(again), [], "the good topology is still what the host runs");
      return "deploy failed with the journal, previous n8n serving";
    });

    await scenario("h oracle deploys to carlos@pop-os with the declared key and pinned host key; pop-os cannot SSH to oracle", () => {
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
    });

    await scenario("j doctor: the troubleshooting checks pass on the lab, and a stopped tunnel is diagnosed with its fix", async () => {
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
      const healthyFindings = await runDoctor(spec, meshPlan, probe);
      assert.deepEqual(
        healthyFindings.filter((f) => f.status === "fail").map((f) => `${f.check} (${f.target}): ${f.detail}`),
        [],
      );
      assert.ok(healthyFindings.filter((f) => f.status === "ok").length >= 14);
      sh(COCKPIT, "systemctl stop cloudflared.service");
      const broken = (await runDoctor(spec, meshPlan, probe)).filter((f) => f.status === "fail");
      sh(COCKPIT, "systemctl start cloudflared.service");
      assert.deepEqual(
        broken.map((f) => `${f.check} (${f.target})`),
        ["cloudflared (cockpit on hetzner-cockpit)"],
      );
      assert.match(broken[0]!.fix!, /systemctl status cloudflared. on hetzner-cockpit \(not Tailscale\)/);
      return `${healthyFindings.filter((f) => f.status === "ok").length} ok, stopped tunnel diagnosed`;
    });

    await scenario("k hostile config values: stored and passed as data, never run", async () => {
      const t0 = Date.now();
      const nonce = randomBytes(4).toString("hex");
      // install.sh runs `optimalos init` only when the package spec changes: the patch pins the
      // version the lab's registry serves (optimalos@<version>), so init runs again with the hostile env.
      const version = (JSON.parse(fs.readFileSync(path.join(__dirname, "standins/optimalos/package.json"), "utf8")) as { version: string }).version;
      const patch = hostilePatch(nonce, `optimalos@${version}`);
      const normal = mesh;
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
        assert.equal(sh("oracle", "systemctl show -p Description --value n8n.service").stdout.trim(), spec.nodes.oracle!.services.n8n!.description ?? "n8n");
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
    });

    /**
     * An operator command (`npm run NAME -- ARGS --stack lab --cwd <the harness's project>`), run on
     * the operator's machine: in the lab's network, node names resolved as MagicDNS would, with the
     * engine's environment (the CLI, its backend, the stand-ins) and the stack file the ups wrote.
     */
    const operator = (name: string, ...args: string[]) =>
      lab.operatorRun("npm", ["run", "--silent", name, "--", ...args, "--stack", STACK, "--cwd", engine.workDir], engine.environment(), name);
    /** After a command changed the stack file, its topology is the lab's. */
    const reloadMesh = () => {
      mesh = JSON.parse(readStackConfig(engine.workDir, STACK).values["optimal-mesh:mesh"]!) as Raw;
      spec = validateMesh(mesh);
      meshPlan = planMesh(spec, STACK);
    };
    /** The rebuild's steps as `npm run dr-rebuild` prints them: `forget URN`, `replace URN`. */
    const printed = (stderr: string, what: "forget" | "replace") =>
      [...stderr.matchAll(new RegExp(`^dr-rebuild \\[[ .0-9]+s\\] phase: state: ${what} \\S*::([^:\\s]+)$`, "gm"))].map((m) => m[1]!);

    await scenario(
      "g disaster recovery: the cockpit's machine is lost; `npm run dr-rebuild -- hetzner-cockpit --yes` from the operator's machine brings a new server back",
      async () => {
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
        assert.equal(spec.nodes[COCKPIT]!.ssh.hostKey, lab.hostKeys()[COCKPIT], "the new host key, read over the tailnet, is pinned in the stack file");
        assert.deepEqual(firstBootErrors(), LAB_FIRST_BOOT_ERRORS);
        const devices = Object.values(new Cloud(engine.cloud, "tailscale").list("devices")).filter((d) => d.hostname === COCKPIT);
        assert.equal(devices.length, 1, "the old device was removed and the new server joined (with a fresh key: a used one is refused)");
        const keysNow = Object.keys(new Cloud(engine.cloud, "tailscale").list("keys"));
        assert.ok(keysNow.every((k) => !oldKeys.includes(k)) && keysNow.length > 0, `the auth key was replaced: ${oldKeys.join(",")} -> ${keysNow.join(",")}`);
        const second = await up(mesh);
        assert.deepEqual(changes(second), [], "a second up after the rebuild is a no-op");
        console.log(`recovery time: ${seconds.toFixed(1)}s from the lost machine to a new server healthy and re-registered (npm run dr-rebuild)`);
        return `recovered in ${seconds.toFixed(1)}s`;
      },
    );

    await scenario(
      "i disaster recovery of a home node: pop-os reinstalled; `npm run dr-rebuild -- pop-os --yes` runs again what ran on it and what depends on it, nothing on the cockpit",
      async () => {
        const plan = rebuildPlan(spec, STACK, "pop-os");
        await lab.destroyHost("pop-os");
        const t0 = Date.now();
        await lab.startHost("pop-os");
        machines.write();
        // The operator pins the reinstalled machine's host key by hand, read on the machine itself (runbook).
        const pinned = structuredClone(mesh);
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
        assert.deepEqual(changes(await up(mesh)), [], "a second up is a no-op");
        return `${ran.length} commands, recovered in ${((Date.now() - t0) / 1000).toFixed(1)}s`;
      },
    );

    await scenario(
      "f drift from the operator's machine: `npm run drift` finds none on the converged lab, names a hand-edited unit, a stopped service and a changed DNS target (exit 1), and the up it prints repairs them",
      async () => {
        const drift = () => operator("drift");
        const clean = await drift();
        assert.equal(clean.code, 0, `${clean.stdout}\n${clean.stderr.slice(-4000)}`);
        assert.match(clean.stdout, /^cloud drift: none \(\d+ resources unchanged\)$/m);
        assert.match(clean.stdout, new RegExp(`^node drift: 0 findings on 0 of ${nodes().length} nodes$`, "m"));
        const pids = { oracle: sh("oracle", "systemctl show -p MainPID --value docs.service").stdout.trim() };

        sh("oracle", "echo '# hand edit' >> /etc/systemd/system/n8n.service");
        sh("pop-os", "systemctl disable --now --quiet ollama.service");
        const cloudflare = new Cloud(engine.cloud, "cloudflare");
        const [recordId, record] = Object.entries(cloudflare.list("dns_records")).find(([, x]) => x.name === "fabric.optimal.miami")!;
        cloudflare.seed("dns_records", recordId, { ...record, content: "attacker.example.net" });
        const found = await drift();
        assert.equal(found.code, 1, `${found.stdout}\n${found.stderr.slice(-4000)}`);
        assert.match(found.stdout, /^ {2}update tunnel-cockpit-dns-fabric\.optimal\.miami \(cloudflare:index\/dnsRecord:DnsRecord\): content$/m);
        assert.match(found.stdout, /^node drift: 2 findings on 2 of \d+ nodes$/m);
        assert.match(found.stdout, /^- oracle:\n {2}- \/etc\/systemd\/system\/n8n\.service: content differs from the deploy$/m);
        assert.match(found.stdout, /^- pop-os:\n {2}- unit ollama: inactive\/disabled \(expected active\/enabled\)$/m);
        const repair = /^repair: pulumi up (.*) --stack lab$/m.exec(found.stdout);
        assert.ok(repair, found.stdout);
        const replace = [...repair[1]!.matchAll(/--replace '([^']+)'/g)].map((m) => m[1]!);
        assert.ok(repair[1]!.startsWith("--refresh "), repair[1]);
        assert.deepEqual(
          replace.map((u) => u.slice(u.lastIndexOf("::") + 2)),
          ["node-oracle-deploy", "node-pop-os-deploy"],
        );

        // The repair as printed: one up with a refresh, each drifted node's deploy replaced.
        const before = sessions();
        const r = await up(mesh, { refresh: true, replace });
        assert.ok(r.ok, explain(r));
        // The refresh reads every resource; the replacements run delete-before-replace (the remove script, then the deploy).
        assert.deepEqual(
          changes(r)
            .filter((c) => !c.startsWith("refresh "))
            .sort(),
          [
            "create-replacement node-oracle-deploy",
            "create-replacement node-pop-os-deploy",
            "delete-replaced node-oracle-deploy",
            "delete-replaced node-pop-os-deploy",
            "replace node-oracle-deploy",
            "replace node-pop-os-deploy",
            "update tunnel-cockpit-dns-fabric.optimal.miami",
          ],
        );
        const ran = ranOn(before, sessions());
        assert.equal(ran[COCKPIT], 0, "nothing ran on the cockpit");
        assert.equal(cloudflare.get("dns_records", recordId)?.content, record.content, "the record's target is back");
        assert.equal(sh("pop-os", "systemctl is-active ollama.service").stdout.trim(), "active");
        assert.doesNotMatch(sh("oracle", "cat /etc/systemd/system/n8n.service").stdout, /hand edit/);
        assert.notEqual(
          sh("oracle", "systemctl show -p MainPID --value docs.service").stdout.trim(),
          pids.oracle,
          "the replaced deploy restarted oracle's services",
        );
        const again = await drift();
        assert.equal(again.code, 0, `${again.stdout}\n${again.stderr.slice(-4000)}`);
        return "3 findings, repaired by one up";
      },
    );

    await scenario(
      "n an SSH host that refuses connections, then comes back: within the dial budget the up converges; past it the up fails naming the command and the cause, and a rerun converges",
      async () => {
        const failedDials = (from: number) =>
          readJournal(engine.cloud)
            .slice(from)
            .filter((j) => j.op === "dial" && j.detail!.startsWith("node-oracle-deploy "));
        const docs = (exec: string) => {
          const next = structuredClone(mesh);
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
        const again = await up(mesh);
        assert.ok(again.ok, explain(again));
        assert.deepEqual(changes(again), ["update node-oracle-deploy"]);
        assert.match(sh("oracle", "systemctl cat docs.service").stdout, /docs-v2/);
        return `${within} refused dials survived; ${DIAL_RUNNING.dialErrorLimit + 1} failed the up`;
      },
    );

    await scenario("l add a node: one config entry and a new machine; only that node's resources are created, only it runs commands", async () => {
      const lan = added.tailnet.firstAddress as string;
      await machines.addHomeMachine(NEW_NODE, lan);
      const next = structuredClone(mesh);
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
    });
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (!interrupted) await teardown();
  }

  const left = leftovers();
  results.push({ name: "z nothing is left behind", seconds: 0, ok: left.length === 0, detail: left.join(", ") || "clean" });
  console.log("\nlab results:");
  for (const r of results) console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(110)} ${r.seconds.toFixed(1).padStart(6)}s  ${r.ok ? r.detail : ""}`);
  const failed = results.filter((r) => !r.ok);
  for (const f of failed) console.log(`\n${f.name}:\n${f.detail}`);
  console.log(`\nlab: ${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
