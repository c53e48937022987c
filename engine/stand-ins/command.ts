// Stand-in for pulumi-command 1.2.1's `command:remote:Command` (pulumi/pulumi-command v1.2.1,
// commit 7f3eb6f3; built on pulumi-go-provider v1.3.0's infer, which supplies Check, Diff and Read).
// Paths below: PC = pulumi-command provider/pkg/provider/, GP = pulumi-go-provider v1.3.0.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { diffInputs } from "./diff";
import { labHost, machinesFromEnv, type LabHost, type Machines } from "./machines";
import { ProviderError, type CallContext, type ProviderModel, type ResourceModel } from "./server";
import { bool, reveal, secret, str, UNKNOWN, type Props } from "./wire";

const INPUTS = ["connection", "create", "update", "delete", "stdin", "environment", "triggers", "logging", "addPreviousOutputInEnv"];
const CONNECTION_FIELDS = [
  "user",
  "password",
  "host",
  "port",
  "privateKey",
  "privateKeyPassword",
  "agentSocketPath",
  "dialErrorLimit",
  "perDialTimeout",
  "hostKey",
  "proxy",
];

interface Connection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey?: string;
  readonly hostKey?: string;
  readonly dialErrorLimit: number;
  readonly perDialTimeout: number;
}

function connectionOf(p: Props): Connection {
  const c = reveal(p.connection ?? null) as Props;
  return {
    host: str(c, "host") ?? "",
    port: Math.trunc(Number(c.port ?? 22)),
    user: str(c, "user") ?? "root",
    ...(str(c, "privateKey") !== undefined ? { privateKey: str(c, "privateKey")! } : {}),
    ...(str(c, "hostKey") !== undefined ? { hostKey: str(c, "hostKey")! } : {}),
    dialErrorLimit: Number(c.dialErrorLimit ?? 10),
    perDialTimeout: Number(c.perDialTimeout ?? 15),
  };
}

/** What one run of a command printed. */
interface Ran {
  readonly stdout: string;
  readonly stderr: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Dials, retrying every error: attempts = limit + 1 (-1: no limit), the delay from 100 ms growing
 * 1.5x up to 5 s, then `after N failed attempts: <last error>` (PC remote/connection.go:150-187,
 * 245-255; pulumi sdk v3.224.0 util/retry/until.go:40-42, 89-112). The connect of each attempt is
 * bounded by perDialTimeout (PC remote/connection.go:104). The name is looked up on every attempt,
 * as a dial resolves it each time: a new server's name appears once it has joined the tailnet.
 */
async function dial(ctx: CallContext, conn: Connection, machines: Machines & { kind: "lab" }, control: string, files: SshFiles): Promise<LabHost> {
  let delay = 100;
  for (let attempt = 0; ; attempt++) {
    const host = labHost(machines, conn.host);
    const err = host === undefined ? `dial tcp: lookup ${conn.host}: no such host` : await openMaster(conn, host, control, files);
    if (err === undefined) return host!;
    // Each failed attempt is journaled (not a cloud write): a test sees a dial fail while it happens.
    ctx.cloud.journal({ provider: "command", op: "dial", collection: "commands", id: ctx.urn, detail: `${ctx.name} attempt ${attempt + 1}: ${err}` });
    if (conn.dialErrorLimit > -1 && attempt + 1 > conn.dialErrorLimit) throw new ProviderError(`after ${attempt} failed attempts: ${err}`);
    process.stderr.write(`stand-in command ${ctx.name}: Dial ${attempt + 1}/${conn.dialErrorLimit < 0 ? "inf" : conn.dialErrorLimit} failed: retrying\n`);
    await sleep(delay);
    delay = Math.min(delay * 1.5, 5000);
  }
}

interface SshFiles {
  readonly key: string;
  readonly knownHosts: string;
}

function sshBase(conn: Connection, host: LabHost, control: string, files: SshFiles): string[] {
  return [
    "netns",
    "exec",
    host.netns,
    "ssh",
    "-F",
    "/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    `ControlPath=${control}`,
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(conn.port),
    "-o",
    `ConnectTimeout=${conn.perDialTimeout}`,
    // A pinned key is compared exactly and only its type is negotiated; no pin: any key is taken (PC remote/connection.go:88-98).
    ...(conn.hostKey !== undefined
      ? ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${files.knownHosts}`, "-o", `HostKeyAlgorithms=${conn.hostKey.split(/\s+/)[0]}`]
      : ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]),
    ...(conn.privateKey !== undefined ? ["-i", files.key, "-o", "IdentitiesOnly=yes"] : []),
    `${conn.user}@${host.address}`,
  ];
}

/**
 * One dial: an SSH master connection the run then uses; undefined when it is up, else the error.
 * The master stays in the background (its output to a file, so nothing waits on it) until the run
 * closes it.
 */
async function openMaster(conn: Connection, host: LabHost, control: string, files: SshFiles): Promise<string | undefined> {
  if (conn.hostKey !== undefined) fs.writeFileSync(files.knownHosts, `${host.address} ${conn.hostKey}\n`);
  const base = sshBase(conn, host, control, files);
  const errFile = `${control}.err`;
  const err = fs.openSync(errFile, "w");
  try {
    const r = spawnSync("ip", [...base.slice(0, -1), "-o", "ControlMaster=yes", "-o", "ControlPersist=yes", "-f", "-N", base.at(-1)!], {
      stdio: ["ignore", "ignore", err],
      timeout: (conn.perDialTimeout + 30) * 1000,
    });
    return r.status === 0 ? undefined : fs.readFileSync(errFile, "utf8").trim() || `ssh exited with ${r.status}`;
  } finally {
    fs.closeSync(err);
  }
}

/**
 * Runs `script` on the host a connection dials: a new session, the remote user's shell, stdin only
 * when non-empty (PC remote/commandOutputs.go:30-108); a non-zero exit is
 * `Process exited with status N: running "<cmd>":\n<stdout and stderr interleaved>` (:100-102).
 */
async function runRemote(ctx: CallContext, conn: Connection, script: string, stdin: string | undefined, environment: Record<string, string>): Promise<Ran> {
  const machines = machinesFromEnv();
  if (machines.kind === "none") {
    ctx.cloud.journal({ provider: "command", op: "run", collection: "commands", id: ctx.urn, detail: `${ctx.name} on ${conn.user}@${conn.host}` });
    return { stdout: "", stderr: "" };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stand-in-ssh-"));
  const files = { key: path.join(dir, "key"), knownHosts: path.join(dir, "known_hosts") };
  const control = path.join(dir, "control");
  let host: LabHost | undefined;
  try {
    if (conn.privateKey !== undefined) fs.writeFileSync(files.key, conn.privateKey.endsWith("\n") ? conn.privateKey : `${conn.privateKey}\n`, { mode: 0o600 });
    host = await dial(ctx, conn, machines, control, files);
    ctx.cloud.journal({ provider: "command", op: "run", collection: "commands", id: ctx.urn, detail: `${ctx.name} on ${conn.user}@${conn.host}` });
    const base = sshBase(conn, host, control, files);
    const env = Object.entries(environment).flatMap(([k, v]) => ["-o", `SetEnv=${k}=${v}`]);
    const child = spawn("ip", [...base.slice(0, -1), ...env, base.at(-1)!, "--", script], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let combined = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (t: string) => ((stdout += t), (combined += t)));
    child.stderr.on("data", (t: string) => ((stderr += t), (combined += t)));
    child.stdin.end(stdin !== undefined && stdin !== "" ? stdin : undefined);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code !== 0) throw new ProviderError(`Process exited with status ${code}: running ${JSON.stringify(script)}:\n${combined}`);
    // Exactly one trailing newline is trimmed from each stream (PC remote/commandOutputs.go:103-106).
    return { stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
  } finally {
    if (host !== undefined && fs.existsSync(control))
      spawnSync("ip", ["netns", "exec", host.netns, "ssh", "-o", `ControlPath=${control}`, "-O", "exit", "x"], { stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function environmentOf(p: Props): Record<string, string> {
  const env = reveal(p.environment ?? null);
  return env !== null && typeof env === "object" && !Array.isArray(env) ? (env as Record<string, string>) : {};
}

/** The previous run's output, offered as PULUMI_COMMAND_STDOUT/STDERR when non-empty and not turned off (PC remote/commandOutputs.go:51-71). */
function previousOutputEnv(state: Props): Record<string, string> {
  if (bool(state, "addPreviousOutputInEnv") === false) return {};
  const out: Record<string, string> = {};
  if (str(state, "stdout")) out.PULUMI_COMMAND_STDOUT = str(state, "stdout")!;
  if (str(state, "stderr")) out.PULUMI_COMMAND_STDERR = str(state, "stderr")!;
  return out;
}

const remoteCommand: ResourceModel = {
  /**
   * infer's default Check: unknown keys and a missing `connection` are failures (pulumi sdk
   * v3.224.0 util/mapper/mapper_decode.go:62-70, 130-133); defaults are filled into the connection
   * (PC remote/connection.go:57-78: user root, port 22, dialErrorLimit 10, perDialTimeout 15; GP
   * infer/resource.go:1040, 1091-1096) and it is returned secret (PC remote/command.go:46; GP
   * infer/apply_secrets.go:80-101).
   */
  check(_ctx, news) {
    const failures = Object.keys(news)
      .filter((k) => !INPUTS.includes(k) && !k.startsWith("__"))
      .map((k) => ({ property: k, reason: `Unrecognized field '${k}'` }));
    const conn = news.connection;
    if (conn === undefined)
      return { inputs: news, failures: [...failures, { property: "connection", reason: "Missing required field 'connection' on 'remote.CommandInputs'" }] };
    const c = reveal(conn) as Props;
    if (c.host === undefined)
      failures.push({
        property: "connection",
        reason: "An error occurred decoding 'CommandInputs.connection': 1 failures decoding:\n\thost: Missing required field 'host' on 'remote.Connection'",
      });
    for (const k of Object.keys(c)) if (!CONNECTION_FIELDS.includes(k)) failures.push({ property: "connection", reason: `Unrecognized field '${k}'` });
    const withDefaults: Props = { user: "root", port: 22, dialErrorLimit: 10, perDialTimeout: 15, ...c };
    for (const k of ["password", "privateKey", "privateKeyPassword"]) if (withDefaults[k] !== undefined) withDefaults[k] = secret(withDefaults[k]!);
    return { inputs: { ...news, connection: secret(withDefaults) }, failures };
  },
  /**
   * infer's default Diff: old inputs against the new, element paths (`triggers[0]`), a secret
   * (`connection`) compared whole; `triggers` replaces only when the whole key is added or removed,
   * element changes are plain updates that the SDK's `replaceOnChanges: ["triggers[*]"]` turns into a
   * replacement (GP infer/resource.go:1132-1151, 1215-1246; PC sdk/nodejs/remote/command.ts:211-212);
   * never delete-before-replace (GP infer/resource.go:1247-1252).
   */
  diff(_ctx, { olds, news, oldInputs }) {
    const before = Object.keys(oldInputs).length > 0 ? oldInputs : Object.fromEntries(Object.entries(olds).filter(([k]) => INPUTS.includes(k)));
    return diffInputs(before, news, { forceNew: ["triggers"], forceNewMatch: "exact" });
  },
  /**
   * Create: a preview dials nothing and leaves stdout/stderr unknown; no `create`, no dial; the id
   * is the name and 8 hex characters (PC remote/commandController.go:31-60; GP infer/resource.go:554-563).
   */
  async create(ctx, inputs, preview) {
    const id = `${ctx.name}${randomBytes(4).toString("hex")}`;
    if (preview) return { id, outs: { ...inputs, stdout: UNKNOWN, stderr: UNKNOWN } };
    const script = str(inputs, "create");
    if (script === undefined) return { id, outs: { ...inputs, stdout: "", stderr: "" } };
    const ran = await runRemote(ctx, connectionOf(inputs), script, str(inputs, "stdin"), environmentOf(inputs));
    return { id, outs: { ...inputs, ...ran } };
  },
  /** refresh changes nothing: infer's default Read returns the state as it is (GP infer/resource.go:1316-1364). */
  async read(_ctx, { id, state, inputs }) {
    return { id, outs: state, inputs };
  },
  /** Update runs `update`, else `create`, else nothing, and keeps the old output until then (PC remote/commandController.go:63-83). */
  async update(ctx, { olds, news, preview }) {
    const kept: Props = { ...news, stdout: olds.stdout ?? "", stderr: olds.stderr ?? "" };
    if (preview) return kept;
    const script = str(news, "update") ?? str(news, "create");
    if (script === undefined) return kept;
    const ran = await runRemote(ctx, connectionOf(news), script, str(news, "stdin"), { ...environmentOf(news), ...previousOutputEnv(olds) });
    return { ...news, ...ran };
  },
  /** Delete runs the old state's `delete`, with the old connection, if it has one (PC remote/commandController.go:86-92). */
  async delete(ctx, { state }) {
    const script = str(state, "delete");
    if (script === undefined) return;
    await runRemote(ctx, connectionOf(state), script, str(state, "stdin"), { ...environmentOf(state), ...previousOutputEnv(state) });
  },
};

export const command: ProviderModel = {
  name: "command",
  acceptSecrets: true,
  // No web API: a command's retries are its SSH dials (the connection's dialErrorLimit, modeled in the dial).
  retryDelay: () => undefined,
  // A command that never ends is not stopped: the session's Run does not watch the context that
  // customTimeouts set (pulumi-go-provider v1.3.0 middleware/cancel/cancel.go:44-50; PC
  // remote/commandOutputs.go:88). Injected faults are API faults; this provider has no API.
  hangDeadline: () => undefined,
  resources: { "command:remote:Command": remoteCommand },
  functions: {},
};
