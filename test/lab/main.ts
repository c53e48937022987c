// npm run lab: the real engine brings real systemd hosts to the lab stack (test tooling). Boots
// one host per home node, runs the real index.ts through the Pulumi CLI built here (the engine
// harness) with the stand-in plugins, whose machines are these hosts: the hcloud stand-in boots
// the cockpit's host through its real cloud-init, the command stand-in runs every remote command
// over real OpenSSH. The engine decides what runs; each scenario asserts what happened on the
// hosts, prints its time, and everything is torn down at the end, also on failure or Ctrl-C.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine } from "../../engine/harness";
import { COCKPIT, HOME_NODES, labMesh, seedEstate } from "../engine/lab-stack";
import { newWorker, type Raw } from "../helpers";
import { ensureBase, Lab, labUnavailable, leftovers, log, ROOT } from "./hosts";
import { LabMachines } from "./machines";
import { LabRun, NEW_NODE, STACK, type Scenario } from "./run";
import { scenario as a } from "./scenarios/a-fresh-up";
import { scenario as b } from "./scenarios/b-no-op";
import { scenario as c } from "./scenarios/c-one-unit-changed";
import { scenario as d } from "./scenarios/d-scripts-run-twice";
import { scenario as e } from "./scenarios/e-broken-unit";
import { scenario as f } from "./scenarios/f-drift";
import { scenario as g } from "./scenarios/g-rebuild-cockpit";
import { scenario as h } from "./scenarios/h-ssh-trust";
import { scenario as i } from "./scenarios/i-rebuild-home-node";
import { scenario as j } from "./scenarios/j-doctor";
import { scenario as k } from "./scenarios/k-hostile-values";
import { scenario as l } from "./scenarios/l-add-node";
import { scenario as n } from "./scenarios/n-ssh-refused";

/** The scenarios in the order they run: each builds on the estate the ones before it left. */
const SCENARIOS: readonly Scenario[] = [a, b, c, d, e, h, j, k, g, i, f, n, l];

interface ScenarioResult {
  readonly name: string;
  readonly seconds: number;
  readonly ok: boolean;
  readonly detail: string;
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
    const ctx = new LabRun(lab, engine, machines, keys, apis.tailscale, added, engineDir, mesh);
    for (const sc of SCENARIOS) await scenario(sc.name, () => sc.run(ctx));
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
