// npm run stand-ins -- install DIR: installs the stand-in plugins and the policy analyzer shim into
// the PULUMI_HOME DIR, so anyone can rehearse a change with the real CLI against the simulated cloud.
// npm run stand-ins -- serve-apis CLOUD: serves that simulated cloud as the providers' web APIs on
// loopback (engine/stand-ins/api.ts) for the operator commands that call them, until stopped.
import * as fs from "node:fs";
import * as path from "node:path";
import { serveCloudApis } from "./stand-ins/api";
import { installStandIns } from "./install";
import { pluginVersion, STAND_IN_PROVIDERS } from "./stand-ins/versions";
import { cliEnvironment } from "./toolchain";

const USAGE = `usage: npm run stand-ins -- install DIR
       npm run stand-ins -- serve-apis CLOUD

Installs the stand-in provider plugins (${STAND_IN_PROVIDERS.join(", ")}) at the versions the npm SDKs
ask for into the PULUMI_HOME DIR, with the CLI that scripts/ensure-pulumi.sh builds. Then:
  export PULUMI_HOME=DIR PATH=DIR/bin:$PATH OPTIMAL_MESH_CLOUD=<a folder for the simulated cloud>
  export OPTIMAL_MESH_MACHINES=none   # or a machines file (engine/stand-ins/machines.ts)

serve-apis serves the simulated cloud in the folder CLOUD as the Hetzner, Cloudflare and Tailscale
web APIs on loopback, prints their base URLs as one JSON line (HCLOUD_ENDPOINT, CLOUDFLARE_BASE_URL,
tailscale:baseUrl) and serves until it is stopped.`;

async function serveApis(cloud: string): Promise<number> {
  if (!fs.statSync(cloud, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`stand-ins: ${cloud} is not a folder: give the simulated cloud's folder (OPTIMAL_MESH_CLOUD)`);
    return 2;
  }
  const apis = await serveCloudApis(path.resolve(cloud));
  console.log(JSON.stringify({ hcloud: apis.hcloud, cloudflare: apis.cloudflare, tailscale: apis.tailscale }));
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await apis.close();
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h") {
    console.log(USAGE);
    return 0;
  }
  if (argv[0] === "serve-apis" && argv.length === 2) return serveApis(argv[1]!);
  if (argv[0] !== "install" || argv.length !== 2) {
    console.error(`stand-ins: ${argv.length === 0 ? "no command" : `unknown arguments: ${argv.join(" ")}`}\n${USAGE}`);
    return 2;
  }
  const cli = cliEnvironment();
  if ("why" in cli) {
    console.error(`stand-ins: ${cli.why}`);
    return 1;
  }
  const home = path.resolve(argv[1]!);
  const bin = installStandIns(home, { ...cli.env, PATH: `${cli.bin}:${cli.env.PATH ?? ""}` });
  for (const p of STAND_IN_PROVIDERS) console.error(`stand-ins: installed resource-${p}-v${pluginVersion(p)} into ${home}/plugins`);
  console.log(`export PULUMI_HOME=${home} PATH=${bin}:$PATH`);
  return 0;
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
