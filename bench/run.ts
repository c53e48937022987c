// npm run bench [-- --runs N] [--no-lab] [--write]
// Every figure is a ratio measured side by side in this one run, on this machine:
//   1. plan start-up: the prod plan against a node process that only loads the five provider SDKs;
//   2. scaling: plan time and peak memory for synthetic meshes of 3, 30 and 300 nodes;
//   3. Pulumi's default TypeScript start-up (ts-node, type checking) against ours, same program;
//   4. the lab: fresh up, no-op up, one-change up, disaster recovery, through the real engine;
//   5. the real engine: a preview and a no-op up of the lab stack against an empty program's preview
//      that loads the same four plugins (machines: none).
// --write puts the results into BENCHMARKS.md.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { writeSyntheticStack } from "./topology";

const ROOT = path.resolve(__dirname, "..");
const f2 = (x: number) => x.toFixed(2);
const RSS_HOOK = path.join(__dirname, "report-rss.js");
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface Sample {
  readonly seconds: number;
  readonly peakMiB: number;
}

/** Runs a node command once: wall time and peak RSS (reported by the child at exit). */
function runNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Sample {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["-r", RSS_HOOK, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed: ${r.stderr.slice(-2000)}`);
  const rss = /^bench-rss-kib=(\d+)$/m.exec(r.stderr);
  return { seconds, peakMiB: rss ? Number(rss[1]) / 1024 : NaN };
}

/** Median of `runs` samples, run alternately with the other side of the comparison by the caller. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

interface Figure {
  readonly seconds: number;
  readonly peakMiB: number;
  /** Each round's wall time, in round order. */
  readonly rounds: readonly number[];
}

/**
 * A ratio taken round by round (both sides of a round ran back to back, so a slow spell of a
 * shared machine hits both): its median and its range over the rounds.
 */
function roundRatio(a: Figure, b: Figure): string {
  const ratios = a.rounds.map((t, i) => t / b.rounds[i]!);
  return `${f2(median(ratios))}x (rounds ${f2(Math.min(...ratios))}-${f2(Math.max(...ratios))}x)`;
}

function sideBySide(runs: number, sides: Record<string, () => Sample>): Record<string, Figure> {
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of Object.entries(sides)) samples[name]!.push(run());
    log(
      `  round ${i + 1}/${runs}: ${Object.entries(samples)
        .map(([k, v]) => `${k} ${v[v.length - 1]!.seconds.toFixed(2)}s`)
        .join(", ")}`,
    );
  }
  return Object.fromEntries(
    Object.entries(samples).map(([k, v]) => [
      k,
      { seconds: median(v.map((s) => s.seconds)), peakMiB: median(v.map((s) => s.peakMiB)), rounds: v.map((s) => s.seconds) },
    ]),
  );
}

/** The engine figures: the lab stack converged once, then each side timed round by round. */
async function engineFigures(runs: number): Promise<Record<string, Figure> | string> {
  const { Engine } = await import("../engine/harness");
  const { labConfig, labMesh, operatorKeys, seedEstate, HOME_NODES } = await import("../test/engine/lab-stack");
  const mesh = Engine.create({ machines: "none" });
  const floor = Engine.create({ machines: "none", stack: "floor" });
  if (typeof mesh === "string") return mesh;
  if (typeof floor === "string") return floor;
  try {
    seedEstate(mesh.cloud);
    const config = labConfig(
      labMesh(Object.fromEntries(HOME_NODES.map((n, i) => [n, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchHostKey${i}`]))),
      operatorKeys(),
    );
    mesh.setConfig(config);
    // The same stack config (the CLI checks the project's declared keys, secrets encrypted); the floor's program ignores it.
    floor.setConfig(config);
    const first = await mesh.up();
    if (!first.ok) throw new Error(`the lab stack's first up failed: ${first.error}`);
    // Not timed: the floor's stack is created and its config set (the CLI's first run of a stack).
    const warm = await floor.preview({ program: "providers" });
    if (!warm.ok) throw new Error(`the floor's preview failed: ${warm.error}`);
    const timed = async (run: () => Promise<{ ok: boolean; error?: string }>): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const r = await run();
      if (!r.ok) throw new Error(r.error);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const sides: Record<string, () => Promise<number>> = {
      floor: () => timed(() => floor.preview({ program: "providers" })),
      preview: () => timed(() => mesh.preview()),
      "no-op up": () => timed(() => mesh.up()),
    };
    const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) {
      for (const [name, run] of Object.entries(sides)) rounds[name]!.push(await run());
      log(
        `  round ${i + 1}/${runs}: ${Object.entries(rounds)
          .map(([k, v]) => `${k} ${v.at(-1)!.toFixed(2)}s`)
          .join(", ")}`,
      );
    }
    return Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, { seconds: median(v), peakMiB: NaN, rounds: v }]));
  } finally {
    mesh.dispose();
    floor.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "5" }, "no-lab": { type: "boolean", default: false }, write: { type: "boolean", default: false } },
  });
  const runs = Number(values.runs);
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
  const out: string[] = [
    `Machine: ${machine}`,
    `Runs per figure: ${runs} (median), sides interleaved; key ratios also taken round by round, with their range (this machine's noise)`,
    "",
  ];

  log("building dist/ once (not timed)");
  const build = spawnSync(process.execPath, [path.join(ROOT, "scripts/launch.js"), "plan", "--quiet", "--out", path.join(os.tmpdir(), "bench-warm")], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (build.status !== 0) throw new Error(build.stderr);
  /** Where the plan of a stack writes (each stack its own, so a re-plan compares with its own files). */
  const planOut = (stack: string) => path.join(os.tmpdir(), `bench-out-${stack}`);
  const plan =
    (stack = "prod", extra: readonly string[] = []) =>
    () =>
      runNode([path.join(ROOT, "scripts/launch.js"), "plan", "--quiet", "--out", planOut(stack), "--stack", stack, ...extra]);

  log("1. plan start-up against the floor");
  const floor = () =>
    runNode([
      "-e",
      'require("@pulumi/pulumi"); require("@pulumi/tailscale"); require("@pulumi/cloudflare"); require("@pulumi/hcloud"); require("@pulumi/command");',
    ]);
  const s1 = sideBySide(runs, { floor, plan: plan() });
  out.push(
    "## 1. Plan start-up",
    "",
    "| what | median wall time |",
    "| --- | --- |",
    `| floor: node loading the five provider SDKs | ${f2(s1.floor!.seconds)} s |`,
    `| \`npm run plan\` of prod (precompiled, mock runtime, writes out/) | ${f2(s1.plan!.seconds)} s |`,
    "",
    `Ratio plan / floor: **${f2(s1.plan!.seconds / s1.floor!.seconds)}x** (goal: at most 1.5x); round by round: ${roundRatio(s1.plan!, s1.floor!)}.`,
    "",
  );

  log("2. scaling with nodes");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "optimal-mesh-bench-"));
  const stacks = Object.fromEntries([3, 30, 300].map((n) => [n, writeSyntheticStack(ROOT, dir, n)]));
  // The SDK floor: each plan's own registrations replayed through the same offline runtime with no
  // program around them (bench/replay-program.js), from the resources.json the plan wrote.
  const resourcesOf = (n: number) => path.join(planOut(`bench${n}`), "resources.json");
  const sides: Record<string, () => Sample> = {};
  for (const n of [3, 30, 300]) sides[`${n} nodes`] = plan(`bench${n}`, ["--config-file", stacks[n]!]);
  for (const n of [3, 300]) sides[`${n} nodes, SDK alone`] = () => runNode([path.join(__dirname, "sdk-floor.js"), resourcesOf(n)]);
  // Each plan once, untimed, for the resources.json the replay reads; the replay must register all of it.
  const registrations: Record<number, number> = {};
  for (const n of [3, 30, 300]) {
    sides[`${n} nodes`]!();
    registrations[n] = (JSON.parse(fs.readFileSync(resourcesOf(n), "utf8")) as unknown[]).length;
  }
  for (const n of [3, 300]) {
    const replayed = spawnSync(process.execPath, [path.join(__dirname, "sdk-floor.js"), resourcesOf(n)], { cwd: ROOT, encoding: "utf8" });
    if (replayed.status !== 0 || !replayed.stdout.includes(`replayed ${registrations[n]} registrations`))
      throw new Error(`the replay of ${n} nodes did not register the plan's ${registrations[n]} resources: ${replayed.stdout}${replayed.stderr}`);
  }
  const s2 = sideBySide(runs, sides);
  const base = s2["3 nodes"]!;
  const floorBase = s2["3 nodes, SDK alone"]!;
  out.push(
    "## 2. Scaling with nodes",
    "",
    "| nodes | registrations | plan: median wall time | ratio to 3 nodes | peak memory | SDK alone: median wall time | ratio to 3 nodes |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const n of [3, 30, 300]) {
    const s = s2[`${n} nodes`]!;
    const f = s2[`${n} nodes, SDK alone`];
    out.push(
      `| ${n} | ${registrations[n]!.toLocaleString("en-US")} | ${f2(s.seconds)} s | ${f2(s.seconds / base.seconds)}x | ${s.peakMiB.toFixed(0)} MiB | ${f ? `${f2(f.seconds)} s | ${f2(f.seconds / floorBase.seconds)}x` : "- | -"} |`,
    );
  }
  out.push(
    "",
    `300 nodes against 3: **${f2(s2["300 nodes"]!.seconds / base.seconds)}x** (goal: at most 3x); round by round: ${roundRatio(s2["300 nodes"]!, base)}.`,
    `Pulumi's SDK alone, registering the same resources: ${f2(s2["300 nodes, SDK alone"]!.seconds / floorBase.seconds)}x; round by round: ${roundRatio(s2["300 nodes, SDK alone"]!, floorBase)}.`,
    "",
    '"SDK alone" replays the plan\'s own registrations (types, names, parents, options, inputs and',
    "which input comes from which resource, from its resources.json) through the same provider",
    "classes and the same offline runtime, with no config, validation, rendering or files",
    "(`bench/replay-program.js`): the floor any program registering these resources starts from.",
    "The plan's time above it is reading and validating the stack, rendering and checking the",
    "policy, units and scripts, and writing out/ (a re-plan: unchanged files are compared, not",
    "rewritten).",
    "",
  );

  log("3. Pulumi's default TypeScript start-up (ts-node, type checking) against ours");
  const tsNode = () => runNode(["-r", "ts-node/register", path.join(ROOT, "scripts/plan.ts"), "--quiet", "--out", path.join(os.tmpdir(), "bench-ts-node")]);
  const tsx = () => runNode(["--import", "tsx", path.join(ROOT, "scripts/plan.ts"), "--quiet", "--out", path.join(os.tmpdir(), "bench-tsx")]);
  const s3 = sideBySide(Math.max(3, Math.ceil(runs / 2)), { "ts-node": tsNode, tsx, precompiled: plan() });
  out.push(
    "## 3. Pulumi's default TypeScript start-up against ours",
    "",
    "The same program and offline plan, started three ways.",
    "",
    "| start-up | median wall time | ratio to ts-node |",
    "| --- | --- | --- |",
    `| ts-node with type checking (Pulumi's default for a TypeScript program) | ${f2(s3["ts-node"]!.seconds)} s | 1.00x |`,
    `| tsx, no type checking (Pulumi.yaml: \`typescript: false\`, \`nodeargs: --import tsx\`) | ${f2(s3.tsx!.seconds)} s | ${f2(s3.tsx!.seconds / s3["ts-node"]!.seconds)}x |`,
    `| precompiled JavaScript (\`npm run plan\`) | ${f2(s3.precompiled!.seconds)} s | ${f2(s3.precompiled!.seconds / s3["ts-node"]!.seconds)}x |`,
    "",
  );

  out.push("## 4. The lab", "");
  if (values["no-lab"]) out.push("Not run (--no-lab).", "");
  else {
    log("4. the lab (npm run lab; a few minutes)");
    const lab = spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "test/lab/main.ts")], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (lab.status === 2) out.push(`Not run: ${lab.stderr.trim()}`, "");
    else {
      if (lab.status !== 0) throw new Error(`the lab failed:\n${lab.stdout.slice(-3000)}`);
      const row = (prefix: string) => {
        const m = new RegExp(`^ {2}ok {3}${prefix}.*?\\s+([\\d.]+)s {2}(.*)$`, "m").exec(lab.stdout);
        if (!m) throw new Error(`no lab result for ${prefix}`);
        return { seconds: Number(m[1]), detail: m[2]!.trim() };
      };
      const fresh = row("a fresh up");
      const noop = row("b no-op");
      const one = row("c one unit changed");
      const dr = /^recovery time: ([\d.]+)s/m.exec(lab.stdout);
      const home = row("i disaster recovery of a home node");
      out.push(
        "Every figure is a `pulumi up` by the real engine, its stand-in plugins converging the lab's hosts.",
        "",
        "| figure | value |",
        "| --- | --- |",
        `| fresh up: the cockpit's server created and booted through cloud-init, three nodes converged | ${fresh.seconds.toFixed(1)} s (${fresh.detail}) |`,
        `| no-op up | ${noop.seconds.toFixed(1)} s (${noop.detail}; no SSH session on any host) |`,
        `| one unit changed on one node | ${one.seconds.toFixed(1)} s (${one.detail}) |`,
        `| cockpit disaster recovery, lost machine to a new server healthy and re-registered | ${dr ? dr[1] : "?"} s |`,
        `| home node (pop-os) disaster recovery | ${home.seconds.toFixed(1)} s (${home.detail}) |`,
        "",
        `One change / fresh up: **${f2(one.seconds / fresh.seconds)}x**.`,
        "",
      );
    }
  }

  out.push("## 5. The real engine", "");
  log("5. the real engine: preview and no-op up of the lab stack against an empty program loading the same plugins");
  const engine = await engineFigures(runs);
  if (typeof engine === "string") out.push(`Not run: ${engine}`, "");
  else {
    const floor = engine.floor!;
    out.push(
      "The Pulumi CLI built here runs the program inline (Automation API) with the stand-in plugins (machines: none),",
      "each figure one process like an operator's command; the floor is a program of only the four providers, previewed.",
      "",
      "| run | median wall time | ratio to the floor |",
      "| --- | --- | --- |",
      `| floor: preview of a program that only starts and configures the four plugins | ${f2(floor.seconds)} s | 1.00x |`,
      `| preview of the lab stack (nothing to change) | ${f2(engine.preview!.seconds)} s | ${f2(engine.preview!.seconds / floor.seconds)}x |`,
      `| no-op up of the lab stack | ${f2(engine["no-op up"]!.seconds)} s | ${f2(engine["no-op up"]!.seconds / floor.seconds)}x |`,
      "",
      `Preview / floor round by round: ${roundRatio(engine.preview!, floor)}; no-op up / floor: ${roundRatio(engine["no-op up"]!, floor)}.`,
      "",
    );
  }

  const text = out.join("\n");
  process.stdout.write(`${text}\n`);
  if (values.write) {
    const doc = [
      "# Benchmarks",
      "",
      "Measured by `npm run bench -- --write` (figures are medians, each comparison run side by side",
      "in one run). Reproduce on a machine of the same kind (Debian 12, root for the lab) with",
      "`npm ci && npm run bench`; `-- --no-lab` skips the lab, `-- --runs N` changes the runs.",
      "",
      text,
    ].join("\n");
    fs.writeFileSync(path.join(ROOT, "BENCHMARKS.md"), doc);
    log("wrote BENCHMARKS.md");
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
