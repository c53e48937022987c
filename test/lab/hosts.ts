// Lab test tooling: real systemd hosts on this machine. A Debian root is built once with
// debootstrap and cached; each host boots from an overlay of it with systemd-nspawn, in its own
// network namespace, on a bridge that only the lab's own namespaces share. Every process, mount
// and namespace the lab makes is tracked and removed by teardown(), also after a failure.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");
const LAB_DIR = path.join(ROOT, ".lab");
const RUN_DIR = path.join(LAB_DIR, "run");
const NETNS_PREFIX = "lab-";
const SUBNET = "100.64.0";
/** Debian packages of the base root: what the prod scripts use on a real machine. */
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "openssh-client", "iproute2", "curl", "ca-certificates", "sudo", "unzip", "procps"];
/** Installed into the root after debootstrap (its python dependencies do not configure inside debootstrap's minbase): a server's first boot. */
const LATE_PACKAGES = ["cloud-init"];
const BUN = path.join(ROOT, "node_modules/@oven/bun-linux-x64/bin/bun");
const STANDINS = path.join(__dirname, "standins");
/** Programs that cannot run here, replaced by the recording stand-in (test/lab/standins/service). */
const SERVICE_STANDINS = ["/usr/bin/cloudflared", "/usr/local/bin/n8n", "/usr/local/bin/ollama", "/usr/bin/npm", "/usr/bin/python3", "/usr/bin/docker"];
const REGISTRY_PORT = 4873;
/**
 * The operator's machine: a namespace on the lab's network, from which operator commands run as
 * from a laptop on the tailnet. Its /etc/hosts (bind-mounted by `ip netns exec` from /etc/netns)
 * plays MagicDNS: the names of the hosts on the tailnet, nothing else.
 */
const OPERATOR_NETNS = `${NETNS_PREFIX}operator`;
const OPERATOR_ADDRESS = `${SUBNET}.2`;
const OPERATOR_ETC = path.join("/etc/netns", OPERATOR_NETNS);

const started = Date.now();
export function log(message: string): void {
  process.stderr.write(`[lab ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

function run(cmd: string, args: readonly string[], opts: { input?: string; allowFail?: boolean } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, maxBuffer: 64 * 1024 * 1024 });
  const out = { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (out.code !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${out.stderr.trim() || out.stdout.trim()}`);
  return out;
}

/** Why the lab cannot run on this machine, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "the lab needs root (network namespaces, mounts, systemd-nspawn)";
  for (const tool of ["systemd-nspawn", "debootstrap", "ip", "ssh", "ssh-keygen", "mount"]) {
    if (run("sh", ["-c", `command -v ${tool}`], { allowFail: true }).code !== 0)
      return `${tool} is missing (apt-get install systemd-container debootstrap iproute2 openssh-client)`;
  }
  if (!fs.existsSync(BUN)) return "the Bun binary (npm optional dependency @oven/bun-linux-x64) is not installed";
  return undefined;
}

function debianMirror(): string {
  try {
    const m = /^URIs:\s*(\S+)/m.exec(fs.readFileSync("/etc/apt/sources.list.d/debian.sources", "utf8"));
    if (m) return m[1]!;
  } catch {
    // fall through to the default mirror
  }
  return "http://deb.debian.org/debian";
}

/** Builds the base root once per package list and Bun version; later runs reuse it. */
export function ensureBase(): string {
  const bunVersion = run(BUN, ["--version"]).stdout.trim();
  const key = createHash("sha256")
    .update(JSON.stringify({ PACKAGES, LATE_PACKAGES, bunVersion, v: 1 }))
    .digest("hex")
    .slice(0, 12);
  const base = path.join(LAB_DIR, `base-${key}`);
  if (fs.existsSync(path.join(base, ".complete"))) {
    log(`base root: cached (${path.relative(ROOT, base)})`);
    return base;
  }
  const tmp = `${base}.building`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(LAB_DIR, { recursive: true });
  log(`base root: debootstrap bookworm (minbase + ${PACKAGES.length} packages), about a minute`);
  run("debootstrap", ["--variant=minbase", `--include=${PACKAGES.join(",")}`, "bookworm", tmp, debianMirror()]);
  log(`base root: installing ${LATE_PACKAGES.join(", ")}`);
  run("chroot", [tmp, "apt-get", "install", "-y", "-q", "--no-install-recommends", ...LATE_PACKAGES]);
  run("chroot", [tmp, "apt-get", "clean"]);
  run("chroot", [tmp, "useradd", "-m", "-s", "/bin/bash", "carlos"]);
  fs.writeFileSync(path.join(tmp, "etc/sudoers.d/carlos"), "carlos ALL=(ALL) NOPASSWD:ALL\n", { mode: 0o440 });
  // Bun as its installer would leave it (the installer itself downloads, which the lab cannot).
  fs.mkdirSync(path.join(tmp, "opt/bun/bin"), { recursive: true });
  fs.copyFileSync(BUN, path.join(tmp, "opt/bun/bin/bun"));
  fs.chmodSync(path.join(tmp, "opt/bun/bin/bun"), 0o755);
  fs.writeFileSync(path.join(tmp, ".complete"), `${new Date().toISOString()}\n`);
  fs.renameSync(tmp, base);
  log(`base root: built (${run("du", ["-sh", base]).stdout.split("\t")[0]})`);
  return base;
}

export interface HostSpec {
  readonly node: string;
  /** A server the cloud creates (booted on request, with its user data through cloud-init), not a machine at home. */
  readonly server?: boolean;
  /** A machine at home added later (booted on request, not yet on the tailnet). */
  readonly later?: boolean;
  /** Users that accept the operator key (root and the node's SSH user). */
  readonly users: readonly string[];
  /** Directories the node's apps live in (stand-ins for installed apps, e.g. a Strapi project). */
  readonly appDirs: readonly string[];
}

/** What a new server boots with: its user data, and the public keys it was created with (meta data). */
export interface FirstBoot {
  readonly userData: string;
  readonly publicKeys: readonly string[];
  readonly instanceId: string;
}

interface Host {
  readonly node: string;
  readonly netns: string;
  readonly address: string;
  readonly dir: string;
  readonly merged: string;
  hostKey: string;
  /** Booted as a new server: its first boot is cloud-init's. */
  readonly firstBoot: boolean;
  nspawn?: ChildProcess;
  registry?: ChildProcess;
}

export class Lab {
  private readonly hosts = new Map<string, Host>();
  private readonly operatorKey = path.join(RUN_DIR, "operator");
  private readonly packageTgz = path.join(RUN_DIR, "optimalos-0.0.0-lab.tgz");
  private bridgeUp = false;
  /** Processes started in the operator's namespace, stopped by teardown(). */
  private readonly operatorProcesses = new Set<ChildProcess>();

  constructor(
    private readonly base: string,
    private readonly specs: readonly HostSpec[],
  ) {}

  /** The lab's names: node -> address, for /etc/hosts (the MagicDNS stand-in). */
  private addressOf(node: string): string {
    return `${SUBNET}.${this.specs.findIndex((s) => s.node === node) + 10}`;
  }

  async start(): Promise<void> {
    sweepLeftovers();
    fs.mkdirSync(RUN_DIR, { recursive: true });
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lab-operator", "-f", this.operatorKey]);
    run("tar", ["-czf", this.packageTgz, "-C", path.join(STANDINS, "optimalos"), "--transform", "s,^\\.,package,", "."]);
    run("ip", ["netns", "add", `${NETNS_PREFIX}net`]);
    run("ip", ["-n", `${NETNS_PREFIX}net`, "link", "add", "br0", "type", "bridge"]);
    run("ip", ["-n", `${NETNS_PREFIX}net`, "link", "set", "br0", "up"]);
    this.bridgeUp = true;
    run("ip", ["netns", "add", OPERATOR_NETNS]);
    run("ip", ["-n", OPERATOR_NETNS, "link", "set", "lo", "up"]);
    run("ip", ["link", "add", "lab0", "netns", OPERATOR_NETNS, "type", "veth", "peer", "name", "po", "netns", `${NETNS_PREFIX}net`]);
    run("ip", ["-n", OPERATOR_NETNS, "addr", "add", `${OPERATOR_ADDRESS}/24`, "dev", "lab0"]);
    run("ip", ["-n", OPERATOR_NETNS, "link", "set", "lab0", "up"]);
    run("ip", ["-n", `${NETNS_PREFIX}net`, "link", "set", "po", "master", "br0", "up"]);
    fs.mkdirSync(OPERATOR_ETC, { recursive: true });
    // No name server: a name not on the tailnet does not resolve.
    fs.writeFileSync(path.join(OPERATOR_ETC, "resolv.conf"), "# the lab's operator machine: names come from /etc/hosts only\n");
    this.setOperatorNames([]);
    for (const spec of this.specs) if (!spec.server && !spec.later) await this.startHost(spec.node);
  }

  /**
   * Creates (or, after destroyHost, recreates from a fresh overlay) and boots one host. A home node
   * boots joined to the tailnet, with the operator's key; a server (`firstBoot`) boots with a NoCloud
   * seed, and its real cloud-init runs its user data and installs the keys it was created with.
   */
  async startHost(node: string, firstBoot?: FirstBoot, home: { joined: boolean } = { joined: true }): Promise<void> {
    const spec = this.specs.find((s) => s.node === node)!;
    const index = this.specs.indexOf(spec);
    const netns = `${NETNS_PREFIX}${node}`;
    const dir = path.join(RUN_DIR, node);
    const merged = path.join(dir, "merged");
    const host: Host = { node, netns, address: this.addressOf(node), dir, merged, hostKey: "", firstBoot: firstBoot !== undefined };
    this.hosts.set(node, host);
    const t0 = Date.now();

    run("ip", ["netns", "add", netns]);
    run("ip", ["-n", netns, "link", "set", "lo", "up"]);
    // A fixed MAC per host: a rebuilt host keeps its address and MAC, so its peers' ARP caches stay right.
    const mac = `02:00:00:00:00:${(index + 16).toString(16).padStart(2, "0")}`;
    run("ip", ["link", "add", "lab0", "address", mac, "netns", netns, "type", "veth", "peer", "name", `p${index}`, "netns", `${NETNS_PREFIX}net`]);
    run("ip", ["-n", netns, "addr", "add", `${host.address}/24`, "dev", "lab0"]);
    run("ip", ["-n", netns, "link", "set", "lab0", "up"]);
    run("ip", ["-n", `${NETNS_PREFIX}net`, "link", "set", `p${index}`, "master", "br0", "up"]);

    for (const d of ["upper", "work", "merged"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
    run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${this.base},upperdir=${path.join(dir, "upper")},workdir=${path.join(dir, "work")}`, merged]);

    const put = (rel: string, content: string, mode = 0o644) => {
      const file = path.join(merged, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content, { mode });
      fs.chmodSync(file, mode);
    };
    put("etc/lab/tailnet-ipv4", `${host.address}\n`);
    put("etc/hostname", `${node}\n`);
    for (const d of spec.appDirs) fs.mkdirSync(path.join(merged, d), { recursive: true });
    put("etc/hosts", `127.0.0.1 localhost\n127.0.1.1 ${node}\n${this.specs.map((s) => `${this.addressOf(s.node)} ${s.node}`).join("\n")}\n`);
    put("root/.bunfig.toml", `[install]\nregistry = "http://127.0.0.1:${REGISTRY_PORT}/"\n`);
    for (const f of fs.readdirSync(path.join(merged, "etc/ssh")).filter((f) => f.startsWith("ssh_host_"))) fs.rmSync(path.join(merged, "etc/ssh", f));
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@${node}`, "-f", path.join(merged, "etc/ssh/ssh_host_ed25519_key")]);
    host.hostKey = fs.readFileSync(path.join(merged, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    if (firstBoot === undefined) {
      const pub = fs.readFileSync(`${this.operatorKey}.pub`, "utf8");
      for (const user of new Set(["root", ...spec.users])) {
        const home = user === "root" ? "root" : `home/${user}`;
        put(`${home}/.ssh/authorized_keys`, pub, 0o600);
        if (user !== "root") run("chroot", [merged, "chown", "-R", `${user}:${user}`, `/${home}/.ssh`]);
      }
      // A machine at home: installed by hand, no cloud-init; on the tailnet already unless it is new.
      put("etc/cloud/cloud-init.disabled", "");
      if (home.joined) put("var/lib/lab/tailscale-joined", "");
    } else {
      // A new server: cloud-init finds its user data and meta data (the keys it was created with) in a NoCloud seed.
      put("etc/cloud/cloud.cfg.d/90-lab.cfg", "datasource_list: [ NoCloud, None ]\n");
      // The lab's npm registry is configured in root's bunfig; cloud-init's scripts run without HOME.
      put("etc/systemd/system/cloud-final.service.d/90-lab.conf", "[Service]\nEnvironment=HOME=/root\n");
      put("var/lib/cloud/seed/nocloud/user-data", firstBoot.userData, 0o600);
      put(
        "var/lib/cloud/seed/nocloud/meta-data",
        `instance-id: ${firstBoot.instanceId}\nlocal-hostname: ${node}\npublic-keys:\n${firstBoot.publicKeys.map((k) => `  - ${JSON.stringify(k)}`).join("\n")}\n`,
      );
    }
    fs.copyFileSync(path.join(STANDINS, "tailscale"), path.join(merged, "usr/bin/tailscale"));
    fs.mkdirSync(path.join(merged, "usr/lib/lab"), { recursive: true });
    fs.copyFileSync(path.join(STANDINS, "serve-proxy.js"), path.join(merged, "usr/lib/lab/serve-proxy.js"));
    fs.chmodSync(path.join(merged, "usr/bin/tailscale"), 0o755);
    for (const bin of SERVICE_STANDINS) {
      fs.mkdirSync(path.dirname(path.join(merged, bin)), { recursive: true });
      // A symlink (python3 -> python3.11) is replaced, not written through.
      fs.rmSync(path.join(merged, bin), { force: true });
      fs.copyFileSync(path.join(STANDINS, "service"), path.join(merged, bin));
      fs.chmodSync(path.join(merged, bin), 0o755);
    }
    for (const unit of ["tailscaled", "docker"]) {
      put(
        `etc/systemd/system/${unit}.service`,
        `[Unit]\nDescription=Lab stand-in for ${unit} (test tooling)\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n`,
      );
    }
    fs.writeFileSync(path.join(RUN_DIR, `${node}.known_hosts`), `127.0.0.1 ${host.hostKey}\n`);

    const logFile = fs.openSync(path.join(dir, "console.log"), "a");
    host.nspawn = spawn(
      "systemd-nspawn",
      ["-D", merged, "--boot", "--register=no", "--keep-unit", `--network-namespace-path=/run/netns/${netns}`, "-M", node],
      { stdio: ["ignore", logFile, logFile] },
    );
    host.registry = spawn(
      "ip",
      [
        "netns",
        "exec",
        netns,
        path.join(ROOT, "node_modules/.bin/tsx"),
        path.join(__dirname, "registry.ts"),
        this.packageTgz,
        "optimalos",
        "0.0.0-lab",
        String(REGISTRY_PORT),
      ],
      {
        stdio: ["ignore", fs.openSync(path.join(dir, "registry.log"), "a"), fs.openSync(path.join(dir, "registry.log"), "a")],
      },
    );
    if (firstBoot !== undefined) {
      // Running, as the cloud reports a server it created; what it does on its first boot is cloud-init's.
      log(`${node}: server started at ${host.address} (cloud-init runs its user data)`);
      return;
    }
    await this.waitUntilUp(node);
    log(`${node}: booted at ${host.address} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }

  /**
   * Waits until systemd on the host has finished starting up (up to a limit), over SSH as root. A
   * server's first boot has finished when cloud-init has; it may leave the system degraded, since
   * what needs the internet (package upgrades) fails in the lab: the scenarios check what failed.
   */
  async waitUntilUp(node: string, seconds = 30): Promise<void> {
    const host = this.hosts.get(node)!;
    const ready = host.firstBoot
      ? "cloud-init status --wait >/dev/null 2>&1; case $(systemctl is-system-running --wait 2>/dev/null) in running|degraded) ;; *) exit 1 ;; esac"
      : "systemctl is-system-running --wait >/dev/null 2>&1 || systemctl is-system-running";
    for (let i = 0; ; i++) {
      if (this.ssh(node, "root", ready, { allowFail: true }).code === 0) return;
      if (i >= seconds * 2) throw new Error(`${node} did not come up; see ${path.join(host.dir, "console.log")}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The hosts a connection dials, by the name it dials: for the machines file of the stand-ins. */
  dialMap(): Record<string, { netns: string; address: string }> {
    return Object.fromEntries([...this.hosts.values()].map((h) => [h.node, { netns: h.netns, address: "127.0.0.1" }]));
  }

  /**
   * The names the operator's machine resolves: each entry an address and its names. Written in
   * place (same inode), so a process already running there sees a name appear or go.
   */
  setOperatorNames(entries: readonly (readonly [string, ...string[]])[]): void {
    if (!fs.existsSync(OPERATOR_ETC)) return;
    const lines = ["127.0.0.1 localhost", ...entries.map((e) => e.join(" "))];
    fs.writeFileSync(path.join(OPERATOR_ETC, "hosts"), `${lines.join("\n")}\n`);
  }

  /**
   * Runs a command on the operator's machine (as root, in the lab's network, its names resolved by
   * the lab's MagicDNS), from this checkout; each line it writes to stderr is logged as progress.
   */
  operatorRun(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, label: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = this.operatorSpawn(cmd, args, env);
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const l of lines) if (l.trim() !== "") log(`  ${label}: ${l}`);
    });
    return new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr })));
  }

  /** Starts a process on the operator's machine; teardown() stops it if it still runs. */
  operatorSpawn(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn("ip", ["netns", "exec", OPERATOR_NETNS, cmd, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    this.operatorProcesses.add(child);
    child.on("exit", () => this.operatorProcesses.delete(child));
    return child;
  }

  /** Stops a host's sshd (it refuses connections) or starts it again, from outside the host. */
  setSshd(node: string, running: boolean): void {
    const host = this.hosts.get(node);
    if (host === undefined) throw new Error(`no lab host ${node}`);
    // Through the host's own systemd, entered from outside: with sshd stopped, SSH cannot start it again.
    const leader = run("pgrep", ["-P", String(host.nspawn?.pid ?? 0)], { allowFail: true })
      .stdout.trim()
      .split("\n")[0];
    if (!leader) throw new Error(`${node}: its systemd (the container's first process) was not found`);
    run("nsenter", ["-t", leader, "-m", "-u", "-i", "-n", "-p", "systemctl", running ? "start" : "stop", "ssh.service"]);
  }

  /** A file inside a host's root, read from outside (undefined when absent). */
  readFile(node: string, rel: string): string | undefined {
    const host = this.hosts.get(node);
    const file = host === undefined ? undefined : path.join(host.merged, rel);
    return file !== undefined && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  }

  addressOfHost(node: string): string | undefined {
    return this.hosts.get(node)?.address;
  }

  /** The operator's key pair, made for this lab run. */
  operatorKeys(): { privateKey: string; publicKey: string } {
    return { privateKey: fs.readFileSync(this.operatorKey, "utf8"), publicKey: fs.readFileSync(`${this.operatorKey}.pub`, "utf8").trim() };
  }

  /** Stops a host and throws its disk away (the disaster in disaster recovery). */
  async destroyHost(node: string): Promise<void> {
    const host = this.hosts.get(node);
    if (host === undefined) return;
    await stopHost(host);
    this.hosts.delete(node);
    log(`${node}: destroyed (disk and namespace removed)`);
  }

  hostKeys(): Record<string, string> {
    for (const h of this.hosts.values()) refreshHostKey(h);
    return Object.fromEntries([...this.hosts.values()].map((h) => [h.node, h.hostKey]));
  }

  /** Runs `command` on `node` as `user` over real SSH, as the command provider does: a new session, the user's shell, stdin piped. */
  ssh(node: string, user: string, command: string, opts: { stdin?: string; allowFail?: boolean } = {}): { code: number; stdout: string; stderr: string } {
    const host = this.hosts.get(node);
    if (host === undefined) throw new Error(`no lab host ${node}`);
    refreshHostKey(host);
    const args = [
      "netns",
      "exec",
      host.netns,
      "ssh",
      "-i",
      this.operatorKey,
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${path.join(RUN_DIR, `${node}.known_hosts`)}`,
      "-o",
      "ConnectTimeout=5",
      "-o",
      "LogLevel=ERROR",
      `${user}@127.0.0.1`,
      command,
    ];
    return run("ip", args, { input: opts.stdin ?? "", allowFail: opts.allowFail ?? false });
  }

  async teardown(): Promise<void> {
    for (const child of this.operatorProcesses) child.kill("SIGTERM");
    this.operatorProcesses.clear();
    for (const host of [...this.hosts.values()]) await stopHost(host);
    this.hosts.clear();
    run("ip", ["netns", "del", OPERATOR_NETNS], { allowFail: true });
    fs.rmSync(OPERATOR_ETC, { recursive: true, force: true });
    if (this.bridgeUp) run("ip", ["netns", "del", `${NETNS_PREFIX}net`], { allowFail: true });
    this.bridgeUp = false;
    fs.rmSync(RUN_DIR, { recursive: true, force: true });
  }
}

/** The host key the lab's own SSH pins: the one in the host's root now (a server's is made by cloud-init on its first boot). */
function refreshHostKey(host: Host): void {
  const keyFile = path.join(host.merged, "etc/ssh/ssh_host_ed25519_key.pub");
  if (!fs.existsSync(keyFile)) return;
  const key = fs.readFileSync(keyFile, "utf8").trim().split(" ").slice(0, 2).join(" ");
  if (key === host.hostKey) return;
  host.hostKey = key;
  fs.writeFileSync(path.join(RUN_DIR, `${host.node}.known_hosts`), `127.0.0.1 ${key}\n`);
}

async function stopHost(host: Host): Promise<void> {
  host.registry?.kill("SIGTERM");
  if (host.nspawn && host.nspawn.exitCode === null) {
    const exited = new Promise<void>((r) => host.nspawn!.once("exit", () => r()));
    host.nspawn.kill("SIGTERM");
    const timer = setTimeout(() => host.nspawn!.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  }
  run("umount", [host.merged], { allowFail: true });
  run("ip", ["netns", "del", host.netns], { allowFail: true });
  fs.rmSync(host.dir, { recursive: true, force: true });
}

/** Removes what an interrupted earlier run may have left: lab namespaces, overlay mounts, containers. */
export function sweepLeftovers(): string[] {
  const left: string[] = [];
  for (const line of run("pgrep", ["-f", `systemd-nspawn -D ${RUN_DIR}`], { allowFail: true })
    .stdout.split("\n")
    .filter(Boolean)) {
    left.push(`nspawn ${line}`);
    run("kill", ["-KILL", line], { allowFail: true });
  }
  for (const line of fs.readFileSync("/proc/mounts", "utf8").split("\n")) {
    const mount = line.split(" ")[1];
    if (mount?.startsWith(RUN_DIR)) {
      left.push(`mount ${mount}`);
      run("umount", ["-l", mount], { allowFail: true });
    }
  }
  for (const ns of run("ip", ["netns", "list"], { allowFail: true }).stdout.split("\n")) {
    const name = ns.split(" ")[0];
    if (name?.startsWith(NETNS_PREFIX)) {
      left.push(`netns ${name}`);
      run("ip", ["netns", "del", name], { allowFail: true });
    }
  }
  if (fs.existsSync(OPERATOR_ETC)) left.push(OPERATOR_ETC);
  fs.rmSync(OPERATOR_ETC, { recursive: true, force: true });
  fs.rmSync(RUN_DIR, { recursive: true, force: true });
  return left;
}

/** What the lab would leave behind right now (empty after a clean teardown). */
export function leftovers(): string[] {
  const out: string[] = [];
  if (run("pgrep", ["-f", `systemd-nspawn -D ${RUN_DIR}`], { allowFail: true }).stdout.trim()) out.push("a systemd-nspawn process");
  if (run("pgrep", ["-f", path.join(__dirname, "registry.ts")], { allowFail: true }).stdout.trim()) out.push("a registry stand-in process");
  if (fs.readFileSync("/proc/mounts", "utf8").includes(RUN_DIR)) out.push("an overlay mount");
  for (const ns of run("ip", ["netns", "list"], { allowFail: true }).stdout.split("\n")) if (ns.startsWith(NETNS_PREFIX)) out.push(`netns ${ns.split(" ")[0]}`);
  if (fs.existsSync(OPERATOR_ETC)) out.push(OPERATOR_ETC);
  return out;
}
