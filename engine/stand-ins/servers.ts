// The machine behind a Hetzner server. With OPTIMAL_MESH_MACHINES=none a server is only recorded.
// With a machines file, the file's `serverHook` (a loopback URL served by whatever plays the
// machines, the lab) boots a host for it, whose real cloud-init runs the server's user data and
// installs the public keys it was created with, and later throws that host away.
import * as fs from "node:fs";
import { machinesFromEnv } from "./machines";
import { ProviderError, type CallContext } from "./server";

function hookUrl(): string | undefined {
  const m = machinesFromEnv();
  if (m.kind === "none") return undefined;
  const url = (JSON.parse(fs.readFileSync(m.file, "utf8")) as { serverHook?: string }).serverHook;
  if (url !== undefined && !/^http:\/\/127\.0\.0\.1:\d+$/.test(url))
    throw new Error(`machines file ${m.file}: serverHook must be http://127.0.0.1:PORT, not ${url}`);
  return url;
}

async function call(method: "POST" | "DELETE", path: string, body?: unknown): Promise<void> {
  const url = hookUrl();
  if (url === undefined) return;
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(300_000),
  });
  if (!res.ok)
    throw new ProviderError(
      `the machine behind the server could not be ${method === "POST" ? "started" : "removed"} (the lab, not the provider): ${await res.text()}`,
    );
}

export async function bootServer(_ctx: CallContext, server: { id: string; name: string; userData: string; publicKeys: readonly string[] }): Promise<void> {
  await call("POST", "/servers", server);
}

export async function removeServer(_ctx: CallContext, server: { id: string; name: string }): Promise<void> {
  await call("DELETE", `/servers/${encodeURIComponent(server.name)}`);
}
