// Installs the stand-in provider plugins into a PULUMI_HOME, each at the version its npm SDK asks
// for, through the CLI's own `pulumi plugin install resource NAME VERSION --file WRAPPER`, and the
// policy analyzer shim the engine starts for a Node.js policy pack when no language host is there.
//   npm run stand-ins -- install DIR
// Then run the CLI with PULUMI_HOME=DIR, PATH=DIR/bin:$PATH and OPTIMAL_MESH_CLOUD=<a folder>.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { pluginVersion, STAND_IN_PROVIDERS } from "./stand-ins/versions";
import { ROOT } from "./toolchain";

/** The policy analyzer's name the engine looks for (sdk v3.248.0 go/common/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer). */
const ANALYZER = "pulumi-analyzer-policy-nodejs";

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A plugin's executable: node running the stand-in from this checkout's sources. */
function wrapper(provider: string): string {
  const loader = pathToFileURL(path.join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;
  return [
    "#!/bin/sh",
    `# optimal-mesh stand-in for the ${provider} provider plugin (engine/stand-ins/${provider}.ts), not the real provider.`,
    `exec ${sh(process.execPath)} --import ${sh(loader)} ${sh(path.join(ROOT, "engine/stand-ins/main.ts"))} ${provider} "$@"`,
    "",
  ].join("\n");
}

/** The engine runs a Node.js policy pack through this when no language host is installed. */
function analyzerShim(): string {
  return [
    "#!/bin/sh",
    "# Runs a Node.js policy pack for the engine, as the Node.js language host would (optimal-mesh engine harness).",
    `exec ${sh(process.execPath)} ${sh(path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"))} "$@"`,
    "",
  ].join("\n");
}

/** Installs every stand-in and the analyzer shim into `home`; returns the folder to put on PATH. */
export function installStandIns(home: string, env: NodeJS.ProcessEnv): string {
  const bin = path.join(home, "bin");
  const wrappers = path.join(home, "stand-ins");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(wrappers, { recursive: true });
  for (const provider of STAND_IN_PROVIDERS) {
    const version = pluginVersion(provider);
    const file = path.join(wrappers, `pulumi-resource-${provider}`);
    fs.writeFileSync(file, wrapper(provider), { mode: 0o755 });
    const r = spawnSync("pulumi", ["plugin", "install", "resource", provider, version, "--file", file, "--non-interactive"], {
      env: { ...env, PULUMI_HOME: home },
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`pulumi plugin install resource ${provider} ${version} failed: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  fs.writeFileSync(path.join(bin, ANALYZER), analyzerShim(), { mode: 0o755 });
  return bin;
}
