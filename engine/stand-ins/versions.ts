// The plugin version each provider SDK asks the engine for: the `pulumi.version` field of its
// package.json in node_modules (the SDK sends it with every registration), never typed in.
import * as fs from "node:fs";
import * as path from "node:path";

export const STAND_IN_PROVIDERS = ["cloudflare", "command", "hcloud", "tailscale"] as const;

const ROOT = path.resolve(__dirname, "../..");

export function pluginVersion(provider: string): string {
  const file = path.join(ROOT, "node_modules", "@pulumi", provider, "package.json");
  const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { version: string; pulumi?: { version?: string } };
  const version = pkg.pulumi?.version ?? pkg.version;
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${file}: plugin version "${version}" is not MAJOR.MINOR.PATCH`);
  return version;
}
