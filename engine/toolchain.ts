// The real Pulumi CLI that scripts/ensure-pulumi.sh builds from its Go module (minutes the first
// time on a machine, then cached), as an environment to run it with: offline, no update check, no
// plugin acquisition.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..");

/** The environment lines ensure-pulumi prints, as an object; `why` when the CLI cannot be had. */
export function cliEnvironment(): { env: NodeJS.ProcessEnv; bin: string } | { why: string } {
  const r = spawnSync("bash", [path.join(ROOT, "scripts/ensure-pulumi.sh"), "--quiet", "--print-env"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) return { why: `scripts/ensure-pulumi.sh could not provide the Pulumi CLI (exit ${r.status})` };
  const env: NodeJS.ProcessEnv = { ...process.env };
  let bin = "";
  for (const line of r.stdout.split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (m === null) continue;
    // The values are shell words: single-quoted when they need it, PATH extended with "$PATH".
    const value = m[2]!.replace(/^'(.*)'$/, "$1").replace(/'\\''/g, "'");
    if (m[1] === "PATH") bin = value.replace(/:"\$PATH"$/, "");
    env[m[1]!] = value.replace('"$PATH"', process.env.PATH ?? "");
  }
  if (bin === "") return { why: "scripts/ensure-pulumi.sh printed no PATH line" };
  return { env, bin };
}
