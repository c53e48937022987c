// Lab test tooling: the remote commands of the prod stack's offline plan, with their real inputs
// (secrets unwrapped, for the lab's hosts only), as the command provider would receive them.
// Run as a child process (Pulumi's runtime is per process):
//   tsx test/lab/plan.ts --host-keys FILE --out FILE [--server-id ID] [--set NODE.SERVICE.exec=CMD]... [--patch FILE]...
// --set changes one service's command; --patch FILE deep-merges the JSON object in FILE into the
// prod mesh (see mergePatch), after the --set changes, so a patch wins where both touch a field.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { evaluateOffline, STDOUT_PREFIX } from "../../scripts/lib/offline";
import { offlineId } from "../../scripts/lib/offline-answers";
import { readStackConfig } from "../../scripts/lib/stackfile";

const ROOT = path.resolve(__dirname, "../..");
const COMMAND = "command:remote:Command";
const SERVER = "hcloud:index/server:Server";

export interface PlannedCommand {
  readonly urn: string;
  readonly name: string;
  /** The connection as planned: host (a node name, or a first address), port, user. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** How long the command provider keeps dialling: attempts and seconds per connect. */
  readonly dialErrorLimit: number;
  readonly perDialTimeout: number;
  readonly create?: string;
  readonly update?: string;
  readonly delete?: string;
  readonly stdin?: string;
  /** The name of the command whose stdout is this one's stdin, where the plan wires one to the other. */
  readonly stdinFrom?: string;
  readonly triggers?: readonly unknown[];
  readonly dependsOn: readonly string[];
  readonly deleteBeforeReplace: boolean;
}

/** A JSON value as a patch holds it. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * `patch` deep-merged into `target` (a new value; neither is changed): objects merge key by key,
 * `null` removes a key, anything else (strings, numbers, arrays) replaces what was there.
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(patch)) return patch;
  const out: { [k: string]: Json } = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "host-keys": { type: "string" },
      out: { type: "string" },
      "server-id": { type: "string" },
      set: { type: "string", multiple: true },
      patch: { type: "string", multiple: true },
    },
  });
  const config = readStackConfig(ROOT, "prod");
  let mesh = JSON.parse(config.values["optimal-mesh:mesh"]!) as {
    nodes: Record<string, { ssh: { hostKey?: string }; services: Record<string, Record<string, unknown>> }>;
  };
  // The one operator step the lab stands in for: pinning each machine's host key.
  const hostKeys = JSON.parse(fs.readFileSync(values["host-keys"]!, "utf8")) as Record<string, string>;
  for (const [node, key] of Object.entries(hostKeys)) mesh.nodes[node]!.ssh.hostKey = key;
  for (const change of values.set ?? []) {
    const m = /^([^.]+)\.([^.]+)\.exec=(.+)$/.exec(change);
    if (!m) throw new Error(`--set takes NODE.SERVICE.exec=COMMAND, not ${change}`);
    mesh.nodes[m[1]!]!.services[m[2]!]!.exec = m[3]!;
  }
  for (const file of values.patch ?? []) {
    const patch = JSON.parse(fs.readFileSync(file, "utf8")) as Json;
    if (typeof patch !== "object" || patch === null || Array.isArray(patch)) throw new Error(`--patch ${file}: not a JSON object`);
    mesh = mergePatch(mesh as unknown as Json, patch) as unknown as typeof mesh;
  }
  const evaluation = await evaluateOffline(
    { ...config, values: { ...config.values, "optimal-mesh:mesh": JSON.stringify(mesh) } },
    { preview: false, realInputsOf: [COMMAND] },
  );
  if (evaluation.error !== undefined) throw evaluation.error;
  // --server-id: the lab stands in for the engine replacing the server, which gives it a new id:
  // the commands whose trigger is the server's id see the new one.
  const server = evaluation.registrations.find((r) => r.type === SERVER);
  const serverId = server === undefined ? undefined : offlineId(SERVER, server.name, server.importId ?? undefined, false);
  const newId = (trigger: unknown) => (values["server-id"] !== undefined && trigger === serverId ? values["server-id"] : trigger);
  const commands: PlannedCommand[] = evaluation.registrations
    .filter((r) => r.type === COMMAND)
    .map((r) => {
      const i = evaluation.realInputs.get(r.name)!;
      const conn = i.connection as { host: string; port?: number; user?: string; dialErrorLimit?: number; perDialTimeout?: number };
      const str = (k: string) => (typeof i[k] === "string" ? (i[k] as string) : undefined);
      return {
        urn: r.urn,
        name: r.name,
        host: conn.host,
        port: conn.port ?? 22,
        user: conn.user ?? "root",
        dialErrorLimit: conn.dialErrorLimit ?? 10,
        perDialTimeout: conn.perDialTimeout ?? 15,
        ...(str("create") !== undefined ? { create: str("create") } : {}),
        ...(str("update") !== undefined ? { update: str("update") } : {}),
        ...(str("delete") !== undefined ? { delete: str("delete") } : {}),
        ...(str("stdin") !== undefined && !str("stdin")!.startsWith(STDOUT_PREFIX) ? { stdin: str("stdin") } : {}),
        ...(str("stdin")?.startsWith(STDOUT_PREFIX) ? { stdinFrom: str("stdin")!.slice(STDOUT_PREFIX.length, -1) } : {}),
        ...(Array.isArray(i.triggers) ? { triggers: i.triggers.map(newId) } : {}),
        dependsOn: [...new Set([...r.dependsOn, ...Object.values(r.inputSources).flat()])],
        deleteBeforeReplace: r.deleteBeforeReplace,
      };
    });
  fs.writeFileSync(values.out!, JSON.stringify(commands, null, 2), { mode: 0o600 });
}

// Run as a program; imported (for mergePatch), it does nothing.
if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
