// npm run import -- [--stack prod] [--write]
// Adopting the existing estate in one step: finds the ids of the running server, its primary IP,
// the tunnels, the zone and the DNS records through the providers' APIs and records them in the
// stack config, so the first `pulumi up` imports them instead of creating new ones. Without
// --write it prints the `pulumi config set` commands instead of running them.
import { spawnSync } from "node:child_process";
import { configArgs, configCommands, discover } from "./lib/adopt";
import { parseCommandLine, runCommand, stackName } from "./lib/cli";
import { PROJECT_ROOT, readStackConfig, stackMesh } from "./lib/stackfile";

const ROOT = PROJECT_ROOT;
const USAGE = `usage: npm run import -- [--stack NAME] [--write]

Reads HCLOUD_TOKEN, CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID from the environment (the
account id also from the stack's optimal-mesh:cloudflareAccountId), looks up the ids of what
already exists and prints the \`pulumi config set --path\` commands that record them; --write runs
them (needs the Pulumi CLI). HCLOUD_ENDPOINT and CLOUDFLARE_API_BASE point at other API bases.
SSH host keys are not looked up: pin them from the machines themselves (see docs/first-adoption.md).
Exit status: 0 everything found, 1 something was not found, 2 could not run.`;

async function main(): Promise<number> {
  const { values } = parseCommandLine({ stack: { type: "string", default: "prod", value: "NAME" }, write: { type: "boolean" }, help: { type: "boolean", short: "h" } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const stack = stackName(values.stack);
  const config = readStackConfig(ROOT, stack);
  const spec = stackMesh(config);
  const need = (name: string, value: string | undefined) => {
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const { found, missing } = await discover(
    spec,
    {
      hcloud: { base: process.env.HCLOUD_ENDPOINT ?? "https://api.hetzner.cloud/v1", token: need("HCLOUD_TOKEN", process.env.HCLOUD_TOKEN) },
      cloudflare: {
        base: process.env.CLOUDFLARE_API_BASE ?? "https://api.cloudflare.com/client/v4",
        token: need("CLOUDFLARE_API_TOKEN", process.env.CLOUDFLARE_API_TOKEN),
        accountId: need("CLOUDFLARE_ACCOUNT_ID", process.env.CLOUDFLARE_ACCOUNT_ID ?? config.values["optimal-mesh:cloudflareAccountId"]),
      },
    },
    (line) => process.stderr.write(`import: looking up ${line}\n`),
  );
  for (const f of found) process.stderr.write(`import: found ${f.path} = ${String(f.value)} (${f.why})\n`);
  for (const m of missing) process.stderr.write(`import: not found: ${m.what}: ${m.why}\n`);
  const commands = configCommands(stack, found);
  if (!values.write) {
    process.stdout.write(`${commands.join("\n")}\n`);
  } else {
    configArgs(stack, found).forEach((args, i) => {
      process.stderr.write(`import: ${commands[i]}\n`);
      // Run without a shell: the values come from the providers' APIs.
      const r = spawnSync("pulumi", args, { cwd: ROOT, stdio: "inherit" });
      if (r.status !== 0) throw new Error(`failed: ${commands[i]}`);
    });
  }
  return missing.length === 0 ? 0 : 1;
}

runCommand("import", main);
