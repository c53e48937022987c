// npm run stand-ins -- install DIR: installs the stand-in plugins and the policy analyzer shim into
// the PULUMI_HOME DIR, so anyone can rehearse a change with the real CLI against the simulated cloud.
import * as path from "node:path";
import { installStandIns } from "./install";
import { pluginVersion, STAND_IN_PROVIDERS } from "./stand-ins/versions";
import { cliEnvironment } from "./toolchain";

const USAGE = `usage: npm run stand-ins -- install DIR

Installs the stand-in provider plugins (${STAND_IN_PROVIDERS.join(", ")}) at the versions the npm SDKs
ask for into the PULUMI_HOME DIR, with the CLI that scripts/ensure-pulumi.sh builds. Then:
  export PULUMI_HOME=DIR PATH=DIR/bin:$PATH OPTIMAL_MESH_CLOUD=<a folder for the simulated cloud>
  export OPTIMAL_MESH_MACHINES=none   # or a machines file (engine/stand-ins/machines.ts)`;

function main(argv: readonly string[]): number {
  if (argv[0] === "--help" || argv[0] === "-h") {
    console.log(USAGE);
    return 0;
  }
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

process.exitCode = main(process.argv.slice(2));
