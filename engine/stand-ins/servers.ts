// The machine behind a Hetzner server. With OPTIMAL_MESH_MACHINES=none a server is only recorded.
// With a machines file, the file's `serverHook` (the path of a Unix socket served by whatever
// plays the machines, the lab) boots a host for it, whose real cloud-init runs the server's user
// data and installs the public keys it was created with, and later throws that host away. A Unix
// socket, not a loopback port: the engine may run in another network namespace than the lab (an
// operator's machine on the lab's network), and a socket is reached by its path from any of them.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { machinesFromEnv } from "./machines";
import { ProviderError, type CallContext } from "./server";

function hookSocket(): string | undefined {
  const m = machinesFromEnv();
  if (m.kind === "none") return undefined;
  const socket = (JSON.parse(fs.readFileSync(m.file, "utf8")) as { serverHook?: string }).serverHook;
  if (socket === undefined) return undefined;
  if (!path.isAbsolute(socket) || !fs.statSync(socket, { throwIfNoEntry: false })?.isSocket())
    throw new Error(`machines file ${m.file}: serverHook must be the absolute path of a Unix socket, not ${JSON.stringify(socket)}`);
  return socket;
}

async function call(method: "POST" | "DELETE", urlPath: string, body?: unknown): Promise<void> {
  const socketPath = hookSocket();
  if (socketPath === undefined) return;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method, headers: { "content-type": "application/json" }, timeout: 300_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("timeout", () => req.destroy(new Error("the machine hook did not answer in 300 s")));
    req.on("error", reject);
    req.end(payload);
  });
  if (answer.status !== 200)
    throw new ProviderError(
      `the machine behind the server could not be ${method === "POST" ? "started" : "removed"} (the lab, not the provider): ${answer.text}`,
    );
}

export async function bootServer(_ctx: CallContext, server: { id: string; name: string; userData: string; publicKeys: readonly string[] }): Promise<void> {
  await call("POST", "/servers", server);
}

export async function removeServer(_ctx: CallContext, server: { id: string; name: string }): Promise<void> {
  await call("DELETE", `/servers/${encodeURIComponent(server.name)}`);
}
