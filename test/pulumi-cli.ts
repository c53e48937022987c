// Test tooling: the real Pulumi CLI that scripts/ensure-pulumi.sh builds from its Go module, run
// against a throwaway local backend (file://, passphrase secrets) in a project folder of its own.
import { spawnSync } from "node:child_process";
import { cliEnvironment } from "../engine/toolchain";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, tmpDir } from "./helpers";

export interface PulumiCli {
  /** Runs `pulumi ARGS` in the project folder; never throws. */
  run(args: readonly string[], opts?: { input?: string }): { code: number | null; stdout: string; stderr: string };
  /** The project folder: a copy of Pulumi.yaml, where stack files go. */
  readonly dir: string;
  /** The environment the CLI runs with (for the Automation API's envVars). */
  readonly env: NodeJS.ProcessEnv;
  /** The folder whose bin/ holds the CLI (the Automation API's PulumiCommand root). */
  readonly root: string;
}

/** The CLI's environment (built first when it is missing: minutes, once per machine), or why it cannot be had. */
function cliEnv(): NodeJS.ProcessEnv | string {
  const cli = cliEnvironment();
  return "why" in cli ? cli.why : cli.env;
}

let cached: NodeJS.ProcessEnv | string | undefined;

/** The CLI in a fresh project folder, or why it is not here (CI treats that as a failure, never a skip). */
export function pulumiCli(): PulumiCli | string {
  cached ??= cliEnv();
  if (typeof cached === "string") {
    if (process.env.CI) throw new Error(`the Pulumi CLI must be available in CI: ${cached}`);
    return cached;
  }
  const dir = tmpDir("pulumi-project");
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  const backend = tmpDir("pulumi-state");
  const env: NodeJS.ProcessEnv = { ...cached, PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: "test-only passphrase" };
  return {
    dir,
    env,
    root: path.dirname(env.PATH!.split(":")[0]!),
    run: (args, opts = {}) => {
      const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd: dir, env, encoding: "utf8", input: opts.input ?? "", timeout: 120_000 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
  };
}
