// A stand-in plugin's process: `main.ts NAME ENGINE_ADDRESS [flags]`. Serves the model of
// provider NAME at the version its npm SDK asks the engine for, and prints the port (the engine
// reads it from the first line of stdout). Installed by `npm run stand-ins -- install DIR`.
import { serve, type ProviderModel } from "./server";
import { pluginVersion } from "./versions";
import { cloudflare } from "./cloudflare";
import { command } from "./command";
import { hcloud } from "./hcloud";
import { tailscale } from "./tailscale";

const MODELS: Readonly<Record<string, ProviderModel>> = { cloudflare, command, hcloud, tailscale };

async function main(): Promise<void> {
  const name = process.argv[2] ?? "";
  const model = MODELS[name];
  if (model === undefined) throw new Error(`stand-in: no model named "${name}" (known: ${Object.keys(MODELS).join(", ")})`);
  const port = await serve(model, pluginVersion(name));
  process.stdout.write(`${port}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
