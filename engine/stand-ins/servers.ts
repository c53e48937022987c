// The machine behind a Hetzner server. With OPTIMAL_MESH_MACHINES=none a server is only recorded.
// With a machines file, its `server.boot` command boots a host whose real cloud-init runs the
// server's user data and adds the host to the file under the server's name; `server.remove`
// stops it and throws its disk away. Both are the lab's (test tooling), named in the file.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { machinesFromEnv } from "./machines";
import { ProviderError, type CallContext } from "./server";

interface ServerHooks {
  readonly boot?: readonly string[];
  readonly remove?: readonly string[];
}

function hooks(): ServerHooks | undefined {
  const m = machinesFromEnv();
  if (m.kind === "none") return undefined;
  return (JSON.parse(fs.readFileSync(m.file, "utf8")) as { server?: ServerHooks }).server ?? {};
}

function runHook(argv: readonly string[], args: readonly string[], what: string): void {
  const r = spawnSync(argv[0]!, [...argv.slice(1), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
  if (r.status !== 0) throw new ProviderError(`${what} failed (the lab's machine, not the provider): ${(r.stderr ?? "").trim() || (r.stdout ?? "").trim()}`);
}

export async function bootServer(_ctx: CallContext, id: string, name: string, userData: string | undefined): Promise<void> {
  const h = hooks();
  if (h?.boot === undefined) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stand-in-server-"));
  try {
    const file = path.join(dir, "user-data");
    fs.writeFileSync(file, userData ?? "", { mode: 0o600 });
    runHook(h.boot, ["--name", name, "--id", id, "--user-data", file], `booting server ${name}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function removeServer(_ctx: CallContext, id: string, name: string): Promise<void> {
  const h = hooks();
  if (h?.remove === undefined) return;
  runHook(h.remove, ["--name", name, "--id", id], `removing server ${name}`);
}
