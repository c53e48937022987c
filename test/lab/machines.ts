// Lab test tooling: the lab's hosts as the machines of the stand-in plugins. Writes the machines
// file (OPTIMAL_MESH_MACHINES) naming the host each connection dials, and serves the hook on a
// Unix socket beside it, through which the hcloud stand-in boots a server's host (its real cloud-init runs the
// user data) and throws it away. It also plays Tailscale's control server for new servers: once a
// server's `tailscale up` has used a valid auth key, the device is registered in the simulated
// tailnet, and only then does the server's name resolve for the stand-ins and on the operator's
// machine (as MagicDNS).
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { Cloud } from "../../engine/stand-ins/cloud";
import { log, type Lab } from "./hosts";

interface ServerRequest {
  readonly id: string;
  readonly name: string;
  readonly userData: string;
  readonly publicKeys: readonly string[];
}

/** The MagicDNS suffix of the lab's tailnet. */
export const TAILNET_SUFFIX = "tail0test.ts.net";

export class LabMachines {
  private server?: http.Server;
  private socket = "";
  private readonly watchers = new Map<string, NodeJS.Timeout>();
  /** Servers booting that have not joined the tailnet yet: their name does not resolve (MagicDNS) until they have. */
  private readonly joining = new Set<string>();
  /** Names that reach a host before it is on the tailnet (a new machine's LAN address), by name. */
  private readonly aliases = new Map<string, string>();

  constructor(
    private readonly lab: Lab,
    /** The machines file the stand-ins read. */
    readonly file: string,
    /** The simulated cloud, where a joining server's device is registered. */
    private readonly cloudDir: string,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.socket = path.join(path.dirname(this.file), "server-hook.sock");
    fs.rmSync(this.socket, { force: true });
    await new Promise<void>((resolve) => this.server!.listen(this.socket, resolve));
    this.write();
  }

  /** Rewrites the machines file from the hosts running now that have a name on the tailnet. */
  write(): void {
    const map = this.lab.dialMap();
    const hosts = {
      ...Object.fromEntries(Object.entries(map).filter(([node]) => !this.joining.has(node))),
      ...Object.fromEntries([...this.aliases].flatMap(([alias, node]) => (map[node] === undefined ? [] : [[alias, map[node]]]))),
    };
    fs.writeFileSync(this.file, JSON.stringify({ hosts, serverHook: this.socket }, null, 2));
    // The operator's machine resolves a node's name once it is on the tailnet, as MagicDNS does.
    this.lab.setOperatorNames(
      Object.keys(map)
        .filter((node) => !this.joining.has(node))
        .map((node) => [this.lab.addressOfHost(node)!, node, `${node}.${TAILNET_SUFFIX}`]),
    );
  }

  /**
   * A new machine at home: booted off the tailnet, reachable at `lanAddress` (its first address in
   * the topology) until it joins; its tailnet name resolves once it has.
   */
  async addHomeMachine(node: string, lanAddress: string): Promise<void> {
    this.joining.add(node);
    this.aliases.set(lanAddress, node);
    await this.lab.startHost(node, undefined, { joined: false });
    this.write();
    this.watchJoin(node);
  }

  async stop(): Promise<void> {
    for (const t of this.watchers.values()) clearInterval(t);
    this.watchers.clear();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      let body = "";
      for await (const chunk of req) body += String(chunk);
      const remove = /^\/servers\/([a-z0-9-]+)$/.exec(req.url ?? "");
      if (req.method === "POST" && req.url === "/servers") {
        const s = JSON.parse(body) as ServerRequest;
        log(`hcloud: server ${s.name} (id ${s.id}) created: booting its host`);
        this.joining.add(s.name);
        await this.lab.startHost(s.name, { userData: s.userData, publicKeys: s.publicKeys, instanceId: `hcloud-${s.id}` });
        this.write();
        this.watchJoin(s.name);
      } else if (req.method === "DELETE" && remove !== null) {
        const name = remove[1]!;
        clearInterval(this.watchers.get(name));
        this.watchers.delete(name);
        this.joining.delete(name);
        log(`hcloud: server ${name} deleted: its host is thrown away`);
        await this.lab.destroyHost(name);
        this.write();
      } else {
        res.writeHead(404).end(`no such hook: ${req.method} ${req.url}`);
        return;
      }
      res.writeHead(200).end("ok");
    } catch (err) {
      res.writeHead(500).end(err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * Registers the server's device once its first boot joined the tailnet with a valid single-use
   * key: the key is used up, the device carries the key's tags, and takes `<name>-1` when a device
   * of that name exists already (a rebuilt machine beside its stale device).
   */
  private watchJoin(node: string): void {
    const timer = setInterval(() => {
      const key = this.lab.readFile(node, "var/lib/lab/tailscale-joined-key")?.trim();
      if (key === undefined) return;
      clearInterval(timer);
      this.watchers.delete(node);
      const cloud = new Cloud(this.cloudDir, "tailscale");
      const found = Object.entries(cloud.list("keys")).find(([, k]) => k.key === key);
      if (found === undefined || (found[1].used === true && found[1].reusable !== true)) {
        // Refused: the machine stays off the tailnet, its name does not resolve.
        log(`tailscale: ${node} tried to join with ${found === undefined ? "an unknown" : "a used"} key: refused`);
        return;
      }
      const [keyId, k] = found;
      cloud.seed("keys", keyId, { ...k, used: true });
      const devices = Object.values(cloud.list("devices"));
      const label = devices.some((d) => d.name === `${node}.${TAILNET_SUFFIX}`) ? `${node}-1` : node;
      const id = String(2000 + cloud.nextId());
      cloud.seed("devices", id, {
        id,
        nodeId: `n${id}CNTRL`,
        name: `${label}.${TAILNET_SUFFIX}`,
        hostname: node,
        addresses: [this.lab.addressOfHost(node) ?? ""],
        tags: (k.tags as string[]) ?? [],
        keyExpiryDisabled: false,
      });
      log(`tailscale: ${node} joined the tailnet as ${label}.${TAILNET_SUFFIX}`);
      this.joining.delete(node);
      this.write();
    }, 1000);
    this.watchers.set(node, timer);
  }
}
