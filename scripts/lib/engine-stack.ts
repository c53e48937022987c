// The stack an operator command works on, through the Automation API: the program runs inline,
// in the command's own process (the SDK serves the language runtime; no Node.js language host is
// started), against whatever backend, secrets provider and plugins the Pulumi CLI is set up with.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import * as yaml from "js-yaml";
import { meshProgram } from "../../program";

export class NeedsPulumiCli extends Error {
  override name = "NeedsPulumiCli";
}

/** The project's name, from the Pulumi.yaml in `dir`. */
function projectName(dir: string): string {
  const file = path.join(dir, "Pulumi.yaml");
  const doc = fs.existsSync(file) ? (yaml.load(fs.readFileSync(file, "utf8")) as { name?: unknown } | undefined) : undefined;
  if (typeof doc?.name !== "string") throw new NeedsPulumiCli(`${file} names no project: run the command in (or --cwd) the folder that holds Pulumi.yaml`);
  return doc.name;
}

/**
 * `stack` of the project in `dir` (Pulumi.yaml and the stack file are read from there), its
 * program the mesh, run inline: each operation registers it anew, so one process may run several.
 * Without a usable Pulumi CLI, a NeedsPulumiCli that says so.
 */
export async function openStack(dir: string, stack: string): Promise<Stack> {
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
  try {
    return await LocalWorkspace.selectStack({ stackName: stack, projectName: projectName(dir), program: async () => meshProgram() }, { workDir: dir });
  } catch (err) {
    if (err instanceof NeedsPulumiCli) throw err;
    throw new NeedsPulumiCli(`needs the Pulumi CLI, logged in: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  }
}
