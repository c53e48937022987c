// npm run import -- [--stack prod] [--write]
// Adopting the existing estate in one step: finds the ids of the running server, its primary IP,
// the tunnels, the zone and the DNS records through the providers' APIs and records them in the
// stack config, so the first `pulumi up` imports them instead of creating new ones. Without
// --write it prints the `pulumi config set` commands instead of running them.
import { spawnSync } from "node:child_process";
import { configArgs, configCommands, discover, finishAdoption } from "./lib/adopt";
import { parseCommandLine, projectOption, runCommand, stackName, UsageError } from "./lib/cli";
import { commentText } from "../text/escape";
import { PROJECT_ROOT, readStackConfig, stackMesh } from "../stacks/stackfile";

const USAGE = `usage: npm run import -- [--stack NAME] [--cwd DIR] [--write] [--accept-differences]
       npm run import -- [--stack NAME] [--cwd DIR] --finish | --check

Reads HCLOUD_TOKEN, CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID from the environment (the
account id also from the stack's optimal-mesh:cloudflareAccountId), looks up the ids of what
already exists and prints the \`pulumi config set --path\` commands that record them; --write runs
them (needs the Pulumi CLI). It also compares the running server with the topology: the adoption
\`up\` imports and then applies every difference in the same run, so each is listed with what the
up would do, and nothing is written until they are fixed in the topology or --accept-differences
says they are meant. HCLOUD_ENDPOINT and CLOUDFLARE_BASE_URL point at other API bases (the providers' own names).
SSH host keys are not looked up: pin them from the machines themselves (see docs/first-adoption.md).
--finish, after the first up: checks that the stack's state holds every adopted resource and
records that the estate is adopted (mesh.adopted: true), so the adoption ids stop being imports
(Pulumi refuses to replace an imported resource, and re-imports one whose stored id differs);
commit the stack file afterwards. --check exits 1 when the state holds adopted resources but the
topology does not say so yet (the up workflow runs it before every up). Both need the Pulumi CLI.
--cwd DIR: the project folder with Pulumi.yaml and the stack file (default: this checkout).
Exit status: 0 everything found, 1 something was not found or differs (not accepted), 2 could not run.`;

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    stack: { type: "string", default: "prod", value: "NAME" },
    write: { type: "boolean" },
    "accept-differences": { type: "boolean" },
    finish: { type: "boolean" },
    check: { type: "boolean" },
    cwd: { type: "string", value: "DIR" },
  });
  const stack = stackName(values.stack);
  const dir = projectOption(values.cwd, PROJECT_ROOT);
  const config = readStackConfig(dir, stack);
  const spec = stackMesh(config);
  if (values.finish || values.check) {
    if (values.finish && values.check) throw new UsageError("--finish and --check are two steps", "give one of them");
    return finishAdoption(dir, stack, spec, values.finish, (line) => process.stderr.write(`import: ${line}\n`));
  }
  // Credentials come from the environment; an ESC environment of the stack can provide them.
  const esc =
    (config.environments ?? []).length > 0
      ? ` (the stack's ESC environment ${config.environments!.join(", ")} may hold it: esc run ${config.environments![0]} -- npm run import)`
      : "";
  const need = (name: string, value: string | undefined) => {
    if (!value) throw new Error(`${name} is not set${esc}`);
    return value;
  };
  // The name this command read before it took the provider's: refused, not silently ignored.
  if (process.env.CLOUDFLARE_API_BASE !== undefined)
    throw new UsageError(
      "CLOUDFLARE_API_BASE is set, and is no longer read",
      "the Cloudflare provider and this command both take the base URL from CLOUDFLARE_BASE_URL: rename it",
    );
  const { found, missing, differences } = await discover(
    spec,
    {
      hcloud: { base: process.env.HCLOUD_ENDPOINT ?? "https://api.hetzner.cloud/v1", token: need("HCLOUD_TOKEN", process.env.HCLOUD_TOKEN) },
      cloudflare: {
        base: process.env.CLOUDFLARE_BASE_URL ?? "https://api.cloudflare.com/client/v4",
        token: need("CLOUDFLARE_API_TOKEN", process.env.CLOUDFLARE_API_TOKEN),
        accountId: need("CLOUDFLARE_ACCOUNT_ID", process.env.CLOUDFLARE_ACCOUNT_ID ?? config.values["optimal-mesh:cloudflareAccountId"]),
      },
      ...(config.values["optimal-mesh:sshPublicKey"] ? { sshPublicKey: config.values["optimal-mesh:sshPublicKey"] } : {}),
    },
    (line) => process.stderr.write(`import: looking up ${line}\n`),
  );
  // What the APIs answered is shown as text: a control character in it is written as \uXXXX, never sent to the terminal.
  const say = (line: string) => process.stderr.write(`import: ${commentText(line)}\n`);
  for (const f of found) say(`found ${f.path} = ${String(f.value)} (${f.why})`);
  for (const m of missing) say(`not found: ${m.what}: ${m.why}`);
  for (const d of differences) say(`differs: ${d.path}: runs ${d.live}, declared ${d.declared}; ${d.effect}`);
  const unaccepted = differences.length > 0 && !values["accept-differences"];
  if (unaccepted)
    process.stderr.write(
      `import: ${differences.length} difference(s) between what runs and the topology: change the topology to match, or run again with --accept-differences if the adoption up should apply them\n`,
    );
  const commands = configCommands(stack, found);
  if (values.write && unaccepted) {
    process.stderr.write("import: nothing written\n");
  } else if (!values.write) {
    process.stdout.write(`${commands.join("\n")}\n`);
  } else {
    configArgs(stack, found).forEach((args, i) => {
      process.stderr.write(`import: ${commands[i]}\n`);
      // Run without a shell: the values come from the providers' APIs.
      const r = spawnSync("pulumi", args, { cwd: dir, stdio: "inherit" });
      if (r.status !== 0) throw new Error(`failed: ${commands[i]}`);
    });
  }
  return missing.length === 0 && !unaccepted ? 0 : 1;
}

runCommand("import", main, { usage: USAGE });
