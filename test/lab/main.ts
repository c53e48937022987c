// npm run lab: the prod stack's planned remote commands, run on real systemd hosts (test tooling).
// Boots one host per prod node, converges them with the command runner, asserts each scenario,
// prints a timing per scenario, and tears everything down, also on failure or Ctrl-C.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { asRoot } from "../../render/node/remote";
import { ROOT_PATH } from "../../render/shell/steps";
import { planMesh } from "../../plan";
import { nodeDrift, renderNodeDrift } from "../../scripts/lib/node-drift";
import { rebuildPlan } from "../../scripts/lib/rebuild";
import { runDoctor, type Probe } from "../../scripts/lib/doctor";
import { readStackConfig } from "../../scripts/lib/stackfile";
import { validateMesh } from "../../stacks/validate";
import { ensureBase, Lab, labUnavailable, leftovers, log, ROOT } from "./hosts";
import { mergePatch, type Json, type PlannedCommand } from "./plan";
import { CommandFailed, Runner, type Execution } from "./runner";

const RAW_MESH = JSON.parse(readStackConfig(ROOT, "prod").values["optimal-mesh:mesh"]!) as Json;
const spec = validateMesh(RAW_MESH);
/** Names and artifacts as the program has them. */
const meshPlan = planMesh(spec, "prod");
/** The one change scenario c makes (oracle's docs serve another folder), kept by the later scenarios. */
const DOCS_V2 = "oracle.docs.exec=/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/docs-v2";
const NODES = Object.keys(spec.nodes).sort();
const PLAN_FILE = path.join(ROOT, ".lab", "run", "plan.json");

function makePlan(hostKeys: Record<string, string>, extra: readonly string[] = []): PlannedCommand[] {
  const keys = path.join(ROOT, ".lab", "run", "host-keys.json");
  fs.writeFileSync(keys, JSON.stringify(hostKeys));
  const r = spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(__dirname, "plan.ts"), "--host-keys", keys, "--out", PLAN_FILE, ...extra], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`planning failed: ${r.stderr}`);
  return JSON.parse(fs.readFileSync(PLAN_FILE, "utf8")) as PlannedCommand[];
}

/** The prefix of every file a hostile value of scenario k would create if it ever ran as code. */
const PWNED = "om-pwned-";

/**
 * Scenario k's patch of the prod mesh: config values that still accept free text, each holding a
 * payload that, if any reader ran it as code, would create a marker file named PWNED-<nonce>-<n>
 * in /tmp and in / (a service's /tmp is private, / is not), plus values that look like systemd
 * specifiers, shell variables and escapes, which must arrive literally.
 */
function hostilePatch(nonce: string, optimalosPackage: string): { [k: string]: Json } {
  let n = 0;
  const marker = () => `${PWNED}${nonce}-${++n}`;
  /** A fresh marker's `touch` of both places. */
  const touch = () => {
    const name = marker();
    return `touch /tmp/${name} /${name}`;
  };
  const n8nEnv = {
    OM_CMDSUB: `$(${touch()})`,
    OM_BACKTICKS: `\`${touch()}\``,
    OM_SEMICOLON: `x; ${touch()}`,
    OM_SINGLE_QUOTES: `'; ${touch()}; '`,
    OM_DOUBLE_QUOTES: `"; ${touch()}; "`,
    OM_ESCAPED_QUOTES: `\\"; ${touch()}; \\'; ${touch()}; echo \\`,
    OM_PARAMETER: `\${IFS:-$(${touch()})}\`${touch()}\``,
    OM_SHELLSHOCK: `() { :; }; ${touch()}`,
    OM_OPERATORS: `>/tmp/${marker()} | ${touch()} & ${touch()} && ${touch()} || ${touch()}`,
    OM_LITERAL: `%h $HOME \${PATH} \\ \\\\ "q" 'q' %n %% %%h $$ \\$X \\n \\t`,
    OM_SPACES: "  # leading and trailing spaces, a hash  ",
    OM_TRAILING_BACKSLASH: "ends in a backslash \\",
    OM_UNICODE: "ünïcödé ✓ 🙂 \u200b\u202e end",
    OM_EMPTY: "",
    OM_EQUALS: "a=b==c=",
  };
  const oracleOs = {
    OM_OS_CMDSUB: `$(${touch()})`,
    OM_OS_QUOTES: `'"'"'; ${touch()}; echo '"; ${touch()}; "`,
    OM_OS_LITERAL: `%h \${PATH} \\ "q" 'q' \`${touch()}\` %%`,
    OM_OS_PATH: `x; export PATH=/tmp/evil:$PATH`,
    OM_OS_SPACES: "  spaced  ",
    OM_OS_TRAILING_BACKSLASH: "x\\",
  };
  const cockpitOs = {
    OM_OS_DOUBLE_QUOTES: `"; ${touch()}; "`,
    OM_OS_BACKTICKS: `\`${touch()}\``,
    OM_OS_SEMICOLON: `; ${touch()}`,
    OM_OS_LITERAL: "%n $PORT ${PORT} \\$PORT 'x'",
  };
  // Only the /tmp marker (a description is at most 200 characters); `;` and `#` are allowed here.
  const short = () => `touch /tmp/${marker()}`;
  const description = `n8n %n %H %% %%n "double" 'single' $(${short()}) \`${short()}\` \${HOME} $PATH; ${short()} # | &`;
  const m1 = marker();
  const m2 = marker();
  const m3 = marker();
  const docsExec = [
    "/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/docs",
    `\`touch /tmp/${m1} /${m1}\``,
    "|&>*?!#()",
    `>/tmp/${m2} >/${m2}`,
    `&&touch /tmp/${m3} || touch /${m3} <(touch /tmp/${m3})`,
    "* ? [a] {b,c} ~ !! & - -- = @x +y :z #notacomment ünï✓",
  ].join(" ");
  return {
    nodes: {
      oracle: {
        optimalos: { package: optimalosPackage, env: oracleOs },
        services: {
          n8n: { env: n8nEnv, description },
          docs: { exec: docsExec },
        },
      },
      "hetzner-cockpit": { optimalos: { package: optimalosPackage, env: cockpitOs } },
    },
  };
}

/** NAME=value entries, NUL-separated as in /proc/PID/environ, parsed; the values as raw bytes. */
function parseEnviron(raw: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    const entry = raw.subarray(start, i);
    const eq = entry.indexOf(0x3d);
    if (eq > 0) out.set(entry.subarray(0, eq).toString("utf8"), entry.subarray(eq + 1));
    start = i + 1;
  }
  return out;
}

/** Every declared variable is in `actual` with exactly the declared bytes; returns the mismatches. */
function envMismatches(actual: Map<string, Buffer>, declared: Readonly<Record<string, string>>): string[] {
  return Object.entries(declared).flatMap(([k, v]) => {
    const got = actual.get(k);
    if (got === undefined) return [`${k}: missing (declared ${JSON.stringify(v)})`];
    return got.equals(Buffer.from(v, "utf8"))
      ? []
      : [`${k}: got ${JSON.stringify(got.toString("utf8"))} (bytes ${got.toString("hex")}), declared ${JSON.stringify(v)}`];
  });
}

const summary = (ex: readonly Execution[]) => ex.map((e) => `${e.name}:${e.op}`).join(", ") || "nothing";

async function main(): Promise<number> {
  const why = labUnavailable();
  if (why !== undefined) {
    console.error(`lab: cannot run here: ${why}`);
    return 2;
  }
  const base = ensureBase();
  const lab = new Lab(
    base,
    NODES.map((node) => ({
      node,
      users: [spec.nodes[node]!.ssh.user],
      appDirs: Object.values(spec.nodes[node]!.services).flatMap((s) => (s.workingDirectory === undefined ? [] : [s.workingDirectory])),
    })),
  );
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    log("interrupted: tearing down");
    void lab.teardown().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const results: { name: string; seconds: number; ok: boolean; detail: string }[] = [];
  const scenario = async (name: string, body: () => Promise<string> | string) => {
    const t0 = Date.now();
    log(`scenario ${name}: start`);
    try {
      const detail = await body();
      results.push({ name, seconds: (Date.now() - t0) / 1000, ok: true, detail });
      log(`scenario ${name}: ok in ${((Date.now() - t0) / 1000).toFixed(1)}s (${detail})`);
    } catch (err) {
      results.push({ name, seconds: (Date.now() - t0) / 1000, ok: false, detail: String(err) });
      log(`scenario ${name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  try {
    await lab.start();
    const runner = new Runner(lab, (host) => host);
    /** The arguments the current plan was made with: what the hosts run once scenario k is undone. */
    let planArgs: readonly string[] = [];
    let plan = makePlan(lab.hostKeys());
    const sh = (node: string, cmd: string) => lab.ssh(node, "root", cmd, { allowFail: true });
    const healthUrl = (node: string) => {
      const os = spec.nodes[node]!.optimalos;
      const host = os.bind === "tailnet" ? sh(node, "tailscale ip -4").stdout.trim() : "127.0.0.1";
      return `http://${host}:${os.port}${os.healthPath}`;
    };
    const healthy = (node: string) => sh(node, `curl -fsS --max-time 3 ${healthUrl(node)}`).code === 0;
    const units = (node: string) => meshPlan.nodes.find((n) => n.node === node)!.deploy.units;
    /** Destroys a host, boots a fresh one in its place and re-plans (new host key, the server's new id); returns when the fresh boot began, where recovery is timed from. */
    const reinstall = async (node: string): Promise<number> => {
      const d0 = Date.now();
      await lab.destroyHost(node);
      log(`  ${node} destroyed in ${((Date.now() - d0) / 1000).toFixed(1)}s`);
      const t0 = Date.now();
      await lab.startHost(node);
      planArgs = ["--set", DOCS_V2, "--server-id", "rebuilt-1"];
      plan = makePlan(lab.hostKeys(), planArgs);
      return t0;
    };

    await scenario("a fresh converge", () => {
      const ex = runner.converge(plan);
      for (const node of NODES) {
        for (const u of units(node)) assert.equal(sh(node, `systemctl is-active ${u}.service`).stdout.trim(), "active", `${node}: ${u}`);
        assert.ok(healthy(node), `${node}: OptimalOS healthy`);
        assert.equal(sh(node, "cat /var/lib/lab/optimalos/heartbeats.log").stdout, `${node}\n`, `${node}: exactly one heartbeat, with its own name`);
      }
      // cloudflared got its connector token from the 0600 env file, not argv.
      for (const node of ["oracle", "hetzner-cockpit"]) {
        assert.match(sh(node, "cat /var/lib/lab/services.log").stdout, /^cloudflared token=present$/m, `${node}: cloudflared has its token`);
        assert.equal(sh(node, "stat -c '%a %U' /etc/cloudflared/tunnel.env").stdout.trim(), "600 root");
        assert.match(sh(node, "cat /var/lib/lab/services.log").stdout, /^cloudflared --no-autoupdate tunnel run$/m, `${node}: no token in argv`);
      }
      // Peers reach pop-os's tailnet-bound OptimalOS over the lab network, as over the tailnet.
      assert.equal(sh("oracle", `curl -fsS --max-time 3 ${healthUrl("pop-os")} >/dev/null`).code, 0, "oracle reaches pop-os:3000");
      return `${ex.length} commands`;
    });

    await scenario("b second converge is a no-op", () => {
      const ex = runner.converge(plan);
      assert.deepEqual(ex, [], `ran ${summary(ex)}`);
      return "0 commands";
    });

    await scenario("c one unit changed on one node", () => {
      const pidOf = (node: string, u: string) => sh(node, `systemctl show -p MainPID --value ${u}.service`).stdout.trim();
      const before = { n8n: pidOf("oracle", "n8n"), docs: pidOf("oracle", "docs"), popos: pidOf("pop-os", "optimalos") };
      planArgs = ["--set", DOCS_V2];
      plan = makePlan(lab.hostKeys(), planArgs);
      const ex = runner.converge(plan);
      assert.deepEqual(
        ex.map((e) => `${e.name}:${e.op}`),
        ["node-oracle-deploy:update"],
      );
      assert.notEqual(pidOf("oracle", "docs"), before.docs, "docs restarted");
      assert.equal(pidOf("oracle", "n8n"), before.n8n, "n8n untouched");
      assert.equal(pidOf("pop-os", "optimalos"), before.popos, "other nodes untouched");
      assert.match(sh("oracle", "systemctl cat docs.service").stdout, /docs-v2/);
      return "1 command";
    });

    await scenario("d every create script run twice leaves the host identical", () => {
      const snapshot = (node: string) =>
        sh(
          node,
          "{ find /etc /opt /root /home /usr/local /var/lib/optimal-mesh -xdev \\( -type f -o -type l \\) -printf '%p %m %u %g\\n' | sort; " +
            "find /etc /opt /root /home /usr/local /var/lib/optimal-mesh -xdev -type f -print0 | sort -z | xargs -0 sha256sum; " +
            "systemctl list-unit-files --state=enabled --no-legend | sort; }",
        ).stdout;
      const before = Object.fromEntries(NODES.map((n) => [n, snapshot(n)]));
      const ex = runner.rerunCreates(plan);
      for (const node of NODES) assert.equal(snapshot(node), before[node], `${node} changed on the second run`);
      return `${ex.length} scripts run again`;
    });

    await scenario("e a broken unit is rolled back and the previous version keeps serving", () => {
      const good = sh("oracle", "systemctl cat n8n.service").stdout;
      const broken = makePlan(lab.hostKeys(), ["--set", DOCS_V2, "--set", "oracle.n8n.exec=/usr/local/bin/n8n-missing start"]);
      let failure: CommandFailed | undefined;
      try {
        runner.converge(broken);
      } catch (err) {
        if (!(err instanceof CommandFailed)) throw err;
        failure = err;
      }
      assert.ok(failure, "the deploy of the broken unit fails");
      assert.equal(failure.command, "node-oracle-deploy");
      assert.match(failure.output, /n8n is not active/);
      assert.match(failure.output, /previous files are back in place/);
      assert.match(failure.output, /n8n/);
      assert.equal(sh("oracle", "systemctl cat n8n.service").stdout, good, "the previous unit is back");
      assert.equal(sh("oracle", "systemctl is-active n8n.service").stdout.trim(), "active");
      assert.ok(healthy("oracle"));
      assert.deepEqual(runner.converge(plan), [], "the good plan is still what the host runs");
      return "deploy failed with the journal, previous n8n serving";
    });

    await scenario("f node drift: a hand-edited unit file is detected", () => {
      sh("oracle", "echo '# hand edit' >> /etc/systemd/system/n8n.service");
      sh("pop-os", "systemctl disable --quiet ollama.service");
      // The drift script's own check, with the lab's SSH in place of OpenSSH to the tailnet names.
      const deploys = plan.filter((p) => p.name.endsWith("-deploy")).map((p) => ({ node: p.host, bundle: p.stdin! }));
      const user = (node: string) => spec.nodes[node]!.ssh.user;
      const reports = nodeDrift(deploys, (node, cmd) => lab.ssh(node, user(node), asRoot(user(node), cmd), { allowFail: true }));
      const drift = reports.flatMap((r) => [
        ...r.drift.map((d) => `${r.node}:${d.path}:${d.what}`),
        ...r.units.map((u) => `${r.node}:unit ${u}`),
        ...(r.error ? [`${r.node}:${r.error}`] : []),
      ]);
      assert.deepEqual(drift, ["oracle:/etc/systemd/system/n8n.service:content", "pop-os:unit ollama: active/disabled"]);
      const report = renderNodeDrift(reports);
      assert.equal(report.clean, false);
      assert.match(report.text, /- oracle:\n {2}- \/etc\/systemd\/system\/n8n\.service: content differs from the deploy/);
      sh("pop-os", "systemctl enable --quiet ollama.service");
      sh("oracle", "sed -i '/# hand edit/d' /etc/systemd/system/n8n.service");
      return drift.join(", ");
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

    await scenario("g disaster recovery: the cockpit is rebuilt from a fresh root", async () => {
      const rebuild = rebuildPlan(spec, "prod", "hetzner-cockpit");
      // The server's replacement is the lab's destroy and fresh boot, with a new server id.
      assert.deepEqual(rebuild.replace, ["tailnet-hetzner-cockpit-authkey", "cockpit-server"]);
      const t0 = await reinstall("hetzner-cockpit");
      // What ran on the lost machine is forgotten, not deleted over SSH: nothing runs there before the new one is up.
      runner.forget(rebuild.forget);
      const ex = runner.converge(plan);
      assert.deepEqual(ex.map((e) => `${e.name}:${e.op}`).sort(), [
        "node-hetzner-cockpit-deploy:create",
        "node-hetzner-cockpit-heartbeat:create",
        "node-hetzner-cockpit-install:create",
      ]);
      assert.ok(healthy("hetzner-cockpit"));
      for (const u of units("hetzner-cockpit")) assert.equal(sh("hetzner-cockpit", `systemctl is-active ${u}.service`).stdout.trim(), "active");
      assert.equal(sh("hetzner-cockpit", "cat /var/lib/lab/optimalos/heartbeats.log").stdout, "hetzner-cockpit\n", "re-registered once");
      const seconds = (Date.now() - t0) / 1000;
      console.log(`recovery time: ${seconds.toFixed(1)}s from a fresh root's boot to healthy and re-registered`);
      return `recovered in ${seconds.toFixed(1)}s`;
    });

    await scenario("i disaster recovery of a home node: pop-os reinstalled, what ran on it forgotten and created again", async () => {
      const rebuild = rebuildPlan(spec, "prod", "pop-os");
      const t0 = await reinstall("pop-os");
      runner.forget(rebuild.forget);
      const ex = runner.converge(plan, rebuild.replace);
      assert.deepEqual(
        ex
          .filter((e) => e.op === "create")
          .map((e) => e.name)
          .sort(),
        [...rebuild.forget].sort(),
      );
      assert.deepEqual(
        ex.filter((e) => e.op === "delete"),
        [],
        "nothing runs a delete against the reinstalled machine",
      );
      assert.ok(healthy("pop-os"));
      assert.equal(sh("pop-os", "cat /var/lib/lab/optimalos/heartbeats.log").stdout, "pop-os\n");
      const trust = lab.ssh("oracle", "carlos", "ssh -o BatchMode=yes pop-os whoami", { allowFail: true });
      assert.equal(trust.stdout.trim(), "carlos", `the trust works again, pinned to the new host key: ${trust.stderr} (ran ${summary(ex)})`);
      log(`  ${ex.map((e) => `${e.name}:${e.op} ${e.seconds.toFixed(1)}s`).join(", ")}`);
      return `${ex.length} commands, recovered in ${((Date.now() - t0) / 1000).toFixed(1)}s`;
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
      sh("hetzner-cockpit", "systemctl stop cloudflared.service");
      const broken = (await runDoctor(spec, meshPlan, probe)).filter((f) => f.status === "fail");
      sh("hetzner-cockpit", "systemctl start cloudflared.service");
      assert.deepEqual(
        broken.map((f) => `${f.check} (${f.target})`),
        ["cloudflared (cockpit on hetzner-cockpit)"],
      );
      assert.match(broken[0]!.fix!, /systemctl status cloudflared. on hetzner-cockpit \(not Tailscale\)/);
      return `${healthyFindings.filter((f) => f.status === "ok").length} ok, stopped tunnel diagnosed`;
    });

    await scenario("k hostile config values: stored and passed as data, never run", () => {
      const t0 = Date.now();
      const nonce = randomBytes(4).toString("hex");
      // install.sh runs `optimalos init` only when the package spec changes: the patch pins the
      // version the lab's registry serves (optimalos@<version>), so init runs again with the hostile env.
      const version = (JSON.parse(fs.readFileSync(path.join(__dirname, "standins/optimalos/package.json"), "utf8")) as { version: string }).version;
      const patch = hostilePatch(nonce, `optimalos@${version}`);
      // The values are what the grammars accept: the patched mesh validates, as it is.
      const hostile = validateMesh(mergePatch(RAW_MESH, patch));
      // ... and PATH cannot come from config at all.
      assert.throws(() => validateMesh(mergePatch(RAW_MESH, { nodes: { oracle: { optimalos: { env: { PATH: "/tmp/evil" } } } } })), /may not set/);
      const patchFile = path.join(ROOT, ".lab", "run", "hostile.json");
      fs.writeFileSync(patchFile, JSON.stringify(patch));
      const oracle = hostile.nodes.oracle!;
      const n8n = oracle.services.n8n!;
      const docsExec = oracle.services.docs!.exec!;
      const osNodes = ["oracle", "hetzner-cockpit"] as const;

      /** A file's exact bytes (base64 over SSH), or undefined when it cannot be read. */
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
      /** Marker files on the machine running the lab (where the plan is made and the scripts are sent from). */
      const markersHere = () =>
        ["/tmp", "/", ROOT, path.join(ROOT, ".lab", "run")].flatMap((d) =>
          fs.existsSync(d)
            ? fs
                .readdirSync(d)
                .filter((f) => f.startsWith(PWNED))
                .map((f) => `lab machine:${path.join(d, f)}`)
            : [],
        );
      const markers = () => [...NODES.flatMap(markersOn), ...markersHere()].map((f) => `marker ${f}: a hostile value ran as code`);

      const restore = () => {
        const t1 = Date.now();
        plan = makePlan(lab.hostKeys(), planArgs);
        const undo = runner.converge(plan);
        assert.deepEqual(runner.converge(plan), [], "the normal plan is what the hosts run again");
        for (const node of NODES) {
          for (const u of units(node)) assert.equal(sh(node, `systemctl is-active ${u}.service`).stdout.trim(), "active", `${node}: ${u}`);
          assert.ok(healthy(node), `${node}: OptimalOS healthy`);
        }
        assert.equal(sh("oracle", "systemctl show -p Description --value n8n.service").stdout.trim(), spec.nodes.oracle!.services.n8n!.description ?? "n8n");
        assert.deepEqual(markers(), [], "after the normal plan is restored");
        fs.rmSync(patchFile, { force: true });
        return `restore plan+converge ${((Date.now() - t1) / 1000).toFixed(1)}s (${undo.length} commands)`;
      };

      const hostileRun = () => {
        for (const node of osNodes) sh(node, "rm -f /var/lib/lab/optimalos/environ.init /var/lib/lab/optimalos/environ.heartbeat");
        plan = makePlan(lab.hostKeys(), [...planArgs, "--patch", patchFile]);
        const ex = runner.converge(plan);
        const ran = ex.map((e) => `${e.name}:${e.op}`);
        for (const node of osNodes)
          for (const c of ["install", "deploy", "heartbeat"])
            assert.ok(ran.includes(`node-${node}-${c}:update`), `${node} ${c} ran again (ran ${summary(ex)})`);
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
          const os = hostile.nodes[node]!.optimalos;
          problems.push(
            ...envMismatches(environOf(node, "optimalos"), { ...os.env, PORT: String(os.port) }).map((m) => `${node} optimalos.service environment: ${m}`),
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
          const os = hostile.nodes[node]!.optimalos;
          for (const [step, script] of [
            ["init", "install.sh (optimalos init)"],
            ["heartbeat", "heartbeat.sh (optimal infra heartbeat)"],
          ] as const) {
            const raw = bytesOf(node, `/var/lib/lab/optimalos/environ.${step}`);
            if (raw === undefined) problems.push(`${node} ${script}: did not run`);
            else
              problems.push(
                ...envMismatches(parseEnviron(raw), { ...os.env, PORT: String(os.port), PATH: ROOT_PATH }).map((m) => `${node} ${script} environment: ${m}`),
              );
          }
        }
        assert.deepEqual(problems, [], "hostile values were run, changed or lost");
        const osValues = osNodes.reduce((a, node) => a + Object.keys(hostile.nodes[node]!.optimalos.env).length, 0);
        return (
          `${Object.keys(n8n.env).length} n8n env values, ${osValues} OptimalOS env values (unit, init, heartbeat), 1 description, ${docsExec.split(" ").length} exec words: ` +
          `byte-exact, no marker; hostile plan+converge ${converged.toFixed(1)}s (${ex.length} commands)`
        );
      };

      // The normal plan is restored also when a check fails, so that what follows runs as before.
      let detail: string;
      try {
        detail = hostileRun();
      } catch (err) {
        try {
          restore();
        } catch (again) {
          log(`  restoring the normal plan after the failure failed too: ${again instanceof Error ? again.message : String(again)}`);
        }
        throw err;
      }
      return `${detail}, ${restore()}`;
    });
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (!interrupted) await lab.teardown();
  }

  const left = leftovers();
  results.push({ name: "z nothing is left behind", seconds: 0, ok: left.length === 0, detail: left.join(", ") || "clean" });
  console.log("\nlab results:");
  for (const r of results) console.log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(96)} ${r.seconds.toFixed(1).padStart(6)}s  ${r.ok ? r.detail : ""}`);
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
