// Test tooling: every text the program renders for a topology, straight from the pure renderers,
// and the real tools that consume them (systemd-analyze verify in a verification root).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderCloudInit } from "../render/hetzner/cloud-init";
import { renderMermaid } from "../render/mesh/diagram";
import { renderBootstrapScript, renderDeployScript, renderHeartbeatScript, renderInstallScript, renderRemoveScript } from "../render/node/scripts";
import { renderTrustAuthorizeScript, renderTrustClientScript, renderTrustKeygenScript, renderTrustRevokeScript } from "../render/node/trust-scripts";
import { bundleFiles, nodeUnits, renderUnit, type UnitSpec } from "../render/node/units";
import { nodeTags } from "../render/tailnet/intent";
import { renderPolicy } from "../render/tailnet/policy";
import { renderIngress } from "../render/cloudflare/ingress";
import { trustEnds, type MeshSpec } from "../stacks/schema";
import { tmpDir } from "./helpers";

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

export function renderAll(spec: MeshSpec): Rendered {
  const scripts: Record<string, string> = {};
  const units: { node: string; unit: UnitSpec; text: string }[] = [];
  const files: Record<string, string> = {};
  for (const node of Object.keys(spec.nodes).sort()) {
    const planned = nodeUnits(spec, node, { tunnelToken: "<test token>" });
    const names = planned.map((p) => p.unit.name);
    for (const p of planned) units.push({ node, unit: p.unit, text: renderUnit(p.unit) });
    for (const f of bundleFiles(planned)) if (!f.path.endsWith(".service")) files[`${node}:${f.path}`] = f.content;
    scripts[`${node}/deploy.sh`] = renderDeployScript(spec, node, names);
    scripts[`${node}/remove.sh`] = renderRemoveScript(
      node,
      names,
      bundleFiles(planned).map((f) => f.path),
    );
    scripts[`${node}/install.sh`] = renderInstallScript(spec, node);
    scripts[`${node}/heartbeat.sh`] = renderHeartbeatScript(spec, node);
    scripts[`${node}/bootstrap.sh`] = renderBootstrapScript(node, nodeTags(spec, node));
  }
  for (const [key, trust] of Object.entries(spec.sshTrust)) {
    const { fromUser, alias } = trustEnds(spec, trust);
    scripts[`trust/${key}/keygen.sh`] = renderTrustKeygenScript(key, fromUser);
    scripts[`trust/${key}/client.sh`] = renderTrustClientScript({
      keyName: key,
      user: fromUser,
      alias,
      host: trust.to,
      targetUser: trust.toUser,
      hostKey: spec.nodes[trust.to]!.ssh.hostKey ?? "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITest",
    });
    scripts[`trust/${key}/authorize.sh`] = renderTrustAuthorizeScript(key, trust.toUser);
    scripts[`trust/${key}/revoke.sh`] = renderTrustRevokeScript(key, trust.toUser);
  }
  const h = spec.hetzner;
  return {
    scripts,
    units,
    files,
    policy: renderPolicy(spec, { stack: "test" }),
    cloudInit: h === undefined ? undefined : renderCloudInit({ spec, node: h.node, tags: nodeTags(spec, h.node), authKey: "tskey-auth-test" }),
    diagram: renderMermaid(spec, "test"),
    ingress: Object.fromEntries(Object.entries(spec.tunnels).map(([k, t]) => [k, JSON.stringify(renderIngress(t))])),
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
