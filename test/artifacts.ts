// Test tooling: every text the program renders for a topology, straight from the pure renderers,
// and the real tools that consume them (systemd-analyze verify in a verification root).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { planMesh } from "../plan/mesh-plan";
import { renderBootstrapScript } from "../render/node/scripts";
import { bundleFiles, nodeUnits, renderUnit, type UnitSpec } from "../render/node/units";
import { parseHujson, type Json } from "../render/tailnet/hujson";
import type { AccessInput, Grant } from "../render/tailnet/intent";
import { grantEntries } from "../render/tailnet/policy";
import type { MeshSpec } from "../stacks/schema";
import { tmpDir } from "./helpers";
import { fillTemplate } from "../text/template";
import { namedNode } from "../stacks/schema";

/** Everything rendered for `spec`, by kind; names are stable so two topologies can be compared file by file. */
export interface Rendered {
  readonly scripts: Readonly<Record<string, string>>;
  readonly units: readonly { readonly node: string; readonly unit: UnitSpec; readonly text: string }[];
  /** Env files and other files the units read, by node and path. */
  readonly files: Readonly<Record<string, string>>;
  readonly policy: string;
  readonly cloudInit: string | undefined;
  readonly diagram: string;
  readonly ingress: Readonly<Record<string, string>>;
}

/** Everything planMesh renders for `spec`, by kind, plus a bootstrap script for every node (hostile names reach it too). */
export function renderAll(spec: MeshSpec): Rendered {
  const plan = planMesh(spec, "test");
  const scripts: Record<string, string> = {};
  const units: { node: string; unit: UnitSpec; text: string }[] = [];
  const files: Record<string, string> = {};
  for (const n of plan.nodes) {
    // Units as specs too: systemd-analyze verifies them with stub binaries.
    const planned = nodeUnits(namedNode(spec, n.node), { tunnelToken: "<test token>" });
    for (const p of planned) units.push({ node: n.node, unit: p.unit, text: renderUnit(p.unit) });
    for (const f of bundleFiles(planned)) if (!f.path.endsWith(".service")) files[`${n.node}:${f.path}`] = f.content;
    scripts[`${n.node}/deploy.sh`] = n.deploy.script;
    scripts[`${n.node}/remove.sh`] = n.deploy.removeScript;
    scripts[`${n.node}/install.sh`] = n.install.script;
    scripts[`${n.node}/heartbeat.sh`] = n.heartbeat.script;
    scripts[`${n.node}/bootstrap.sh`] = n.bootstrap?.script ?? renderBootstrapScript(n.node, plan.tailnet.nodes.find((t) => t.node === n.node)!.tags);
  }
  for (const t of plan.trusts) {
    scripts[`trust/${t.key}/keygen.sh`] = t.keygen.script;
    scripts[`trust/${t.key}/client.sh`] = t.client.script;
    scripts[`trust/${t.key}/authorize.sh`] = t.authorize.script;
    scripts[`trust/${t.key}/revoke.sh`] = t.authorize.revokeScript;
  }
  const artifact = (p: string) => plan.artifacts.find((a) => a.path === p)!.text;
  return {
    scripts,
    units,
    files,
    policy: plan.tailnet.policy.text,
    cloudInit: plan.cockpit === undefined ? undefined : fillTemplate(plan.cockpit.userData, { authKey: "tskey-auth-test" }),
    diagram: artifact("mesh.mmd"),
    ingress: Object.fromEntries(plan.tunnels.map((t) => [t.key, JSON.stringify(t.config.ingress)])),
  };
}

/** A root for `systemd-analyze verify --root`: the host's unit tree, our units, stub binaries and required units. */
export function verificationRoot(units: readonly UnitSpec[]): string {
  const root = tmpDir("units");
  fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
  fs.cpSync("/lib/systemd/system", path.join(root, "usr/lib/systemd/system"), { recursive: true });
  const etc = path.join(root, "etc/systemd/system");
  fs.mkdirSync(etc, { recursive: true });
  for (const u of units) {
    fs.writeFileSync(path.join(etc, `${u.name}.service`), renderUnit(u));
    for (const cmd of [u.execStart, ...(u.execStartPre ?? []), ...(u.execStop ? [u.execStop] : [])]) {
      const bin = path.join(root, cmd.replace(/^-/, "").split(" ")[0]!);
      fs.mkdirSync(path.dirname(bin), { recursive: true });
      fs.writeFileSync(bin, "#!/bin/sh\n", { mode: 0o755 });
    }
    for (const dep of u.requires) {
      const file = path.join(etc, dep);
      if (!fs.existsSync(path.join(root, "usr/lib/systemd/system", dep)) && !fs.existsSync(file)) fs.writeFileSync(file, "[Service]\nExecStart=/bin/true\n");
    }
  }
  return root;
}

/** `systemd-analyze verify` of `units` (distinct names) in a fresh verification root: its exit code and everything it printed. */
export function verifyUnits(units: readonly UnitSpec[]): { code: number | null; output: string } {
  const root = verificationRoot(units);
  const r = spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...units.map((u) => `${u.name}.service`)], { encoding: "utf8" });
  fs.rmSync(root, { recursive: true, force: true });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The policy text without the rules `g` renders (one per grant, in the intent's order): for tests that drop a rule and expect its tests to fail. */
export function policyWithoutGrant(policyText: string, access: AccessInput, g: Grant): string {
  const drop = new Set(grantEntries(access, g).map((e) => JSON.stringify(e)));
  const doc = parseHujson(policyText) as { grants: Json[] };
  doc.grants = doc.grants.filter((e) => !drop.has(JSON.stringify(e)));
  return JSON.stringify(doc);
}
