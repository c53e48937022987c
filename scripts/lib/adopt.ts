// Finding the ids of what already exists (server, primary IP, tunnels, zones, DNS records) through
// the providers' APIs, so the first `pulumi up` adopts the estate instead of creating it again.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { renderIngress, tunnelTarget, type IngressRule } from "../../render/cloudflare/ingress";
import { firewallRules } from "../../render/hetzner/firewall";
import { hetznerLabels } from "../../render/hetzner/labels";
import { recordComment } from "../../plan/mesh-plan";
import { ID_SHAPES, tunnelHostnames, type MeshSpec } from "../../stacks/schema";
import { openStack } from "./engine-stack";
import { apiJson, apiRequest, type ApiOrigin } from "./web";

export interface Apis {
  /** Hetzner Cloud API base, e.g. https://api.hetzner.cloud/v1 */
  readonly hcloud: { readonly base: string; readonly token: string };
  /** Cloudflare API base, e.g. https://api.cloudflare.com/client/v4 */
  readonly cloudflare: { readonly base: string; readonly token: string; readonly accountId: string };
  /** The operator's public key (optimal-mesh:sshPublicKey), to find its copy in the Hetzner project. */
  readonly sshPublicKey?: string;
}

export interface Found {
  /** The config path to set, as `pulumi config set --path` takes it. */
  readonly path: string;
  readonly value: string | boolean;
  readonly why: string;
}

export interface Missing {
  readonly what: string;
  readonly why: string;
}

/**
 * Something that runs differently from what the topology declares. The engine imports and then
 * updates in one deployment (pulumi 3.174+), so the adoption `up` applies it without asking:
 * the operator accepts it first, or changes the topology to match what runs.
 */
export interface Difference {
  /** The config path that declares it, e.g. mesh.hetzner.serverType. */
  readonly path: string;
  readonly live: string;
  readonly declared: string;
  /** What the adoption `up` does about it. */
  readonly effect: string;
}

/** A server as the Hetzner API describes it (the fields adoption compares). */
interface LiveServer {
  readonly id: number;
  readonly name: string;
  readonly server_type?: { readonly name?: string };
  readonly location?: { readonly name?: string };
  readonly datacenter?: { readonly location?: { readonly name?: string } };
  readonly backup_window?: string | null;
  readonly labels?: Readonly<Record<string, string>>;
  readonly public_net?: { readonly firewalls?: readonly { readonly id: number }[] };
}

/** Hetzner's fingerprint of an OpenSSH public key: the MD5 of its key blob, as colon-separated hex. */
export function sshKeyFingerprint(publicKey: string): string {
  const blob = /^(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+) ([A-Za-z0-9+/]+={0,2})(?: |$)/.exec(publicKey.trim())?.[1];
  if (blob === undefined) throw new Error("the SSH public key is not a key line such as 'ssh-ed25519 AAAA...'");
  return createHash("md5").update(Buffer.from(blob, "base64")).digest("hex").match(/../g)!.join(":");
}

/** How the running server differs from the topology, and what the adoption `up` would do about each. */
export function serverDifferences(spec: MeshSpec, live: LiveServer): Difference[] {
  const h = spec.hetzner!;
  const out: Difference[] = [];
  const add = (path: string, liveValue: string, declared: string, effect: string) => {
    if (liveValue !== declared) out.push({ path, live: liveValue, declared, effect });
  };
  add("mesh.hetzner.serverType", live.server_type?.name ?? "?", h.serverType, "the up powers the server off and changes its type (and disk), in place");
  add(
    "mesh.hetzner.location",
    live.location?.name ?? live.datacenter?.location?.name ?? "?",
    h.location,
    "a new location means a new server: the up stops (an imported server may not be replaced)",
  );
  add(
    "mesh.hetzner.backups",
    String(live.backup_window !== undefined && live.backup_window !== null && live.backup_window !== ""),
    String(h.backups),
    "the up turns Hetzner backups on or off",
  );
  const want = hetznerLabels(h.node);
  const labels = (l: Readonly<Record<string, string>>) =>
    Object.keys(l)
      .sort()
      .map((k) => `${k}=${l[k]}`)
      .join(",") || "(none)";
  add("mesh.hetzner (labels)", labels(live.labels ?? {}), labels(want), "the up replaces the server's labels");
  const firewalls = (live.public_net?.firewalls ?? []).map((f) => String(f.id));
  if (firewalls.length > 1)
    out.push({
      path: "mesh.hetzner.adopt.firewallId",
      live: `firewalls ${firewalls.join(", ")} attached`,
      declared: "one firewall, the program's",
      effect: `the up adopts none of them and attaches a new one after detaching them: detach all but one by hand first`,
    });
  return out;
}

const labelsText = (l: Readonly<Record<string, string>> | undefined) =>
  Object.keys(l ?? {})
    .sort()
    .map((k) => `${k}=${l![k]}`)
    .join(",") || "(none)";

/** What the adoption up changes on an adopted resource besides the server: each difference with its effect. */
function differ(out: Difference[], path: string, live: string, declared: string, effect: string): void {
  if (live !== declared) out.push({ path, live, declared, effect });
}

/** The name and labels the program gives an adopted Hetzner resource (`what`, named `name`), against what runs. */
function nameAndLabels(
  out: Difference[],
  spec: MeshSpec,
  path: string,
  what: string,
  name: string,
  live: { name: string; labels?: Readonly<Record<string, string>> },
): void {
  differ(out, `${path} (name)`, live.name, name, `the up renames the ${what} ${name}`);
  differ(out, `${path} (labels)`, labelsText(live.labels), labelsText(hetznerLabels(spec.hetzner!.node)), `the up replaces the ${what}'s labels`);
}

/** A primary IP as the Hetzner API describes it. */
interface LivePrimaryIp {
  readonly id: number;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly auto_delete?: boolean;
  readonly protection?: { readonly delete?: boolean };
}

/** How the running primary IP differs from what the program declares (components/hetzner: name, labels, autoDelete false, delete protection). */
export function primaryIpDifferences(spec: MeshSpec, live: LivePrimaryIp): Difference[] {
  const h = spec.hetzner!;
  const out: Difference[] = [];
  const path = "mesh.hetzner.adopt.primaryIpId";
  nameAndLabels(out, spec, path, "primary IP", `${h.node}-ipv4`, live);
  differ(out, `${path} (autoDelete)`, String(live.auto_delete ?? false), "false", "the up turns autoDelete off: the address outlives any server");
  differ(out, `${path} (delete protection)`, String(live.protection?.delete ?? false), "true", "the up turns Hetzner's delete protection on");
  return out;
}

/** An SSH key as the Hetzner API describes it. */
interface LiveSshKey {
  readonly id: number;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** How the operator's uploaded key differs from what the program declares (its name and labels; its text is never compared). */
export function sshKeyDifferences(spec: MeshSpec, live: LiveSshKey): Difference[] {
  const h = spec.hetzner!;
  const out: Difference[] = [];
  nameAndLabels(out, spec, "mesh.hetzner.adopt.sshKeyId", "SSH key", `${h.node}-operator`, live);
  return out;
}

/** A firewall as the Hetzner API describes it. */
interface LiveFirewall {
  readonly id: number;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly rules?: readonly {
    readonly direction?: string;
    readonly protocol?: string;
    readonly port?: string | null;
    readonly source_ips?: readonly string[];
  }[];
}

const rulesOfFirewall = (rules: readonly { direction?: string; protocol?: string; port?: string | null; sourceIps?: readonly string[] }[]) =>
  rules
    .map((r) => `${r.direction ?? "?"} ${r.protocol ?? "?"}${r.port ? ` ${r.port}` : ""} from ${[...(r.sourceIps ?? [])].sort().join(",")}`)
    .sort()
    .join("; ") || "(none)";

/** How the running server's firewall differs from the program's (name, labels, rules). */
export function firewallDifferences(spec: MeshSpec, live: LiveFirewall): Difference[] {
  const h = spec.hetzner!;
  const out: Difference[] = [];
  nameAndLabels(out, spec, "mesh.hetzner.adopt.firewallId", "firewall", `${h.node}-inbound`, live);
  differ(
    out,
    "mesh.hetzner.sshSources (firewall rules)",
    rulesOfFirewall((live.rules ?? []).map((r) => ({ ...r, sourceIps: r.source_ips ?? [] }))),
    rulesOfFirewall(firewallRules(h.sshSources, spec.nodes[h.node]!.ssh.port)),
    "the up sets the declared rules on the attached firewall, in place (the server keeps a firewall throughout)",
  );
  return out;
}

/** A tunnel's remote configuration as the Cloudflare API describes it (the fields adoption compares). */
interface LiveTunnelConfig {
  readonly config?: { readonly ingress?: readonly { readonly hostname?: string; readonly path?: string; readonly service?: string }[] } | null;
}

/** A DNS record as the Cloudflare API describes it. */
interface LiveRecord {
  readonly id: string;
  readonly content?: string;
  readonly proxied?: boolean;
  readonly comment?: string | null;
}

const rulesText = (rules: readonly IngressRule[]) =>
  rules.map((r) => `${r.hostname ?? "*"}${r.path !== undefined ? ` ${r.path}` : ""} -> ${r.service}`).join("; ") || "(none)";

/** How a running tunnel's ingress differs from the topology's: the adoption up replaces it with the declared rules. */
export function tunnelDifferences(key: string, declared: readonly IngressRule[], live: LiveTunnelConfig): Difference[] {
  const liveRules: IngressRule[] = (live.config?.ingress ?? []).map((r) => ({
    ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
    ...(r.path !== undefined ? { path: r.path } : {}),
    service: r.service ?? "?",
  }));
  if (rulesText(liveRules) === rulesText(declared)) return [];
  const declaredHosts = new Set(declared.flatMap((r) => (r.hostname !== undefined ? [r.hostname] : [])));
  const dropped = [...new Set(liveRules.flatMap((r) => (r.hostname !== undefined && !declaredHosts.has(r.hostname) ? [r.hostname] : [])))].sort();
  return [
    {
      path: `mesh.tunnels.${key}.ingress`,
      live: live.config === undefined || live.config === null ? "no remote configuration" : rulesText(liveRules),
      declared: rulesText(declared),
      effect: `the up sets the declared rules as the tunnel's configuration${dropped.length > 0 ? `; no longer served: ${dropped.join(", ")}` : ""}`,
    },
  ];
}

/** How a running CNAME differs from what the tunnel needs: the adoption up points it at the tunnel, proxied. */
export function recordDifferences(key: string, host: string, tunnelId: string | undefined, live: LiveRecord): Difference[] {
  const want = `${tunnelId === undefined ? "<the tunnel>" : tunnelTarget(tunnelId)} (proxied)`;
  const have = `${live.content ?? "?"} (${live.proxied === true ? "proxied" : "DNS only"})`;
  const out: Difference[] =
    have === want || tunnelId === undefined
      ? []
      : [{ path: `mesh.tunnels.${key}.ingress (DNS ${host})`, live: have, declared: want, effect: `the up points ${host} at the tunnel, proxied` }];
  // The program marks each record it manages (plan/mesh-plan.ts, the records' comment).
  const comment = recordComment(key);
  if ((live.comment ?? "") !== comment)
    out.push({
      path: `mesh.tunnels.${key}.ingress (DNS ${host} comment)`,
      live: live.comment || "(none)",
      declared: comment,
      effect: "the up sets the record's comment",
    });
  return out;
}

/** The Hetzner Cloud API, pointed at by HCLOUD_ENDPOINT as the provider takes it. */
export const HCLOUD_API: ApiOrigin = { api: "the Hetzner Cloud API", setting: "HCLOUD_ENDPOINT" };
/** The Cloudflare API, pointed at by CLOUDFLARE_BASE_URL, the provider's own name for it. */
export const CLOUDFLARE_API: ApiOrigin = { api: "the Cloudflare API", setting: "CLOUDFLARE_BASE_URL" };

async function getJson(origin: ApiOrigin, url: string, token: string): Promise<unknown> {
  const r = await apiRequest(origin, url, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
  if (!r.ok) throw new Error(`${origin.api}: GET ${url.replace(/\?.*/, "")}: HTTP ${r.status}`);
  return apiJson(origin, url, r);
}

/** Looks up every id the topology needs to adopt what exists; reports what it could not find. */
export async function discover(
  spec: MeshSpec,
  apis: Apis,
  progress: (line: string) => void = () => undefined,
): Promise<{ found: Found[]; missing: Missing[]; differences: Difference[] }> {
  const found: Found[] = [];
  const missing: Missing[] = [];
  const differences: Difference[] = [];
  const hc = (p: string) => getJson(HCLOUD_API, `${apis.hcloud.base}${p}`, apis.hcloud.token);
  const cfResult = async <T>(p: string) => ((await getJson(CLOUDFLARE_API, `${apis.cloudflare.base}${p}`, apis.cloudflare.token)) as { result: T }).result;
  const cf = (p: string) => cfResult<{ id: string; name?: string; content?: string; proxied?: boolean }[]>(p);
  // An id the API answers is recorded in the stack file and put in later request paths: only in the
  // shape the topology takes it (an API that answers anything else is reported, nothing recorded).
  const shaped = (path: string, value: unknown, shape: keyof typeof ID_SHAPES): value is string | number => {
    const { pattern, what } = ID_SHAPES[shape];
    if ((typeof value === "string" || typeof value === "number") && pattern.test(String(value))) return true;
    missing.push({ what: path, why: `the API answered ${JSON.stringify(value) ?? String(value)}, which is not ${what}: nothing is recorded` });
    return false;
  };
  const accept = (path: string, value: unknown, shape: keyof typeof ID_SHAPES, why: string) => {
    if (shaped(path, value, shape)) found.push({ path, value: String(value), why });
  };

  const h = spec.hetzner;
  if (h !== undefined) {
    const address = spec.nodes[h.node]!.publicAddress;
    // The server is read even when its id is known: what runs is compared with the topology.
    progress(`hcloud: server ${h.adopt.serverId ?? `named ${h.node}`}`);
    const servers =
      h.adopt.serverId !== undefined
        ? [((await hc(`/servers/${h.adopt.serverId}`)) as { server: LiveServer }).server]
        : ((await hc(`/servers?name=${encodeURIComponent(h.node)}`)) as { servers: LiveServer[] }).servers;
    if (servers.length === 1) {
      if (h.adopt.serverId === undefined) accept("mesh.hetzner.adopt.serverId", servers[0]!.id, "hcloud", `the running server ${h.node}`);
      differences.push(...serverDifferences(spec, servers[0]!));
      // Its firewall is adopted, and compared with the program's: a new one would leave the server a moment without any.
      const attached = servers[0]!.public_net?.firewalls ?? [];
      const firewallId = h.adopt.firewallId ?? (attached.length === 1 ? attached[0]!.id : undefined);
      if (firewallId !== undefined && shaped("mesh.hetzner.adopt.firewallId", firewallId, "hcloud")) {
        progress(`hcloud: firewall ${firewallId}`);
        const firewall = ((await hc(`/firewalls/${firewallId}`)) as { firewall: LiveFirewall }).firewall;
        if (h.adopt.firewallId === undefined)
          found.push({
            path: "mesh.hetzner.adopt.firewallId",
            value: String(firewallId),
            why: `the firewall the running server has (${JSON.stringify(firewall.name)})`,
          });
        differences.push(...firewallDifferences(spec, firewall));
      }
    } else missing.push({ what: `server ${h.node}`, why: `${servers.length} servers have that name` });
    if (apis.sshPublicKey !== undefined || h.adopt.sshKeyId !== undefined) {
      // A known key is read by its id; else it is looked up by the fingerprint of the operator's key.
      const fingerprint = apis.sshPublicKey !== undefined ? sshKeyFingerprint(apis.sshPublicKey) : undefined;
      progress(`hcloud: SSH key ${h.adopt.sshKeyId ?? fingerprint}`);
      const keys =
        h.adopt.sshKeyId !== undefined
          ? [((await hc(`/ssh_keys/${h.adopt.sshKeyId}`)) as { ssh_key: LiveSshKey }).ssh_key]
          : ((await hc(`/ssh_keys?fingerprint=${encodeURIComponent(fingerprint!)}`)) as { ssh_keys: LiveSshKey[] }).ssh_keys;
      // None is fine: the key is uploaded by the up. One is adopted: Hetzner refuses a second copy.
      if (keys.length === 1) {
        if (h.adopt.sshKeyId === undefined)
          accept("mesh.hetzner.adopt.sshKeyId", keys[0]!.id, "hcloud", `the operator's key, already in the project as ${JSON.stringify(keys[0]!.name)}`);
        differences.push(...sshKeyDifferences(spec, keys[0]!));
      }
    }
    if (address !== undefined || h.adopt.primaryIpId !== undefined) {
      progress(`hcloud: primary IP ${h.adopt.primaryIpId ?? address}`);
      const ips =
        h.adopt.primaryIpId !== undefined
          ? [((await hc(`/primary_ips/${h.adopt.primaryIpId}`)) as { primary_ip: LivePrimaryIp }).primary_ip]
          : ((await hc(`/primary_ips?ip=${encodeURIComponent(address!)}`)) as { primary_ips: LivePrimaryIp[] }).primary_ips;
      if (ips.length === 1) {
        if (h.adopt.primaryIpId === undefined)
          accept(
            "mesh.hetzner.adopt.primaryIpId",
            ips[0]!.id,
            "hcloud",
            `primary IP ${address} (named ${JSON.stringify(ips[0]!.name)}; the program names it ${h.node}-ipv4)`,
          );
        differences.push(...primaryIpDifferences(spec, ips[0]!));
      } else missing.push({ what: `primary IP ${address}`, why: "not found in this Hetzner project" });
    }
  }

  const zoneIds = new Map<string, string>();
  for (const [key, t] of Object.entries(spec.tunnels).sort(([a], [b]) => a.localeCompare(b))) {
    if (!t.existing && t.adoptId === undefined) continue;
    let tunnelId = t.adoptId;
    if (t.adoptId === undefined) {
      const name = t.name ?? key;
      progress(`cloudflare: tunnel named ${name}`);
      const tunnels = await cf(`/accounts/${apis.cloudflare.accountId}/cfd_tunnel?name=${encodeURIComponent(name)}&is_deleted=false`);
      if (tunnels.length === 1) {
        if (shaped(`mesh.tunnels.${key}.adoptId`, tunnels[0]!.id, "tunnel")) {
          tunnelId = tunnels[0]!.id;
          found.push({ path: `mesh.tunnels.${key}.adoptId`, value: tunnelId, why: `tunnel ${name}` });
        }
      } else
        missing.push({
          what: `tunnel ${name}`,
          why: tunnels.length === 0 ? `no tunnel has that name: set tunnels.${key}.name to its name in Cloudflare` : `${tunnels.length} tunnels have that name`,
        });
    }
    // What the running tunnel serves is compared with the topology: the adoption up replaces it.
    if (tunnelId !== undefined) {
      progress(`cloudflare: configuration of tunnel ${tunnelId}`);
      const config = await cfResult<LiveTunnelConfig>(`/accounts/${apis.cloudflare.accountId}/cfd_tunnel/${tunnelId}/configurations`);
      differences.push(...tunnelDifferences(key, renderIngress(t), config ?? {}));
    }
    let zoneId = t.zoneId ?? zoneIds.get(t.zone);
    if (zoneId === undefined) {
      progress(`cloudflare: zone ${t.zone}`);
      const zones = await cf(`/zones?name=${encodeURIComponent(t.zone)}`);
      if (zones.length !== 1) {
        missing.push({ what: `zone ${t.zone}`, why: "not in this Cloudflare account" });
        continue;
      }
      // It goes into the records' request path below.
      if (!shaped(`mesh.tunnels.${key}.zoneId`, zones[0]!.id, "cloudflare")) continue;
      zoneId = zones[0]!.id;
      zoneIds.set(t.zone, zoneId);
    }
    if (t.zoneId === undefined) found.push({ path: `mesh.tunnels.${key}.zoneId`, value: zoneId, why: `zone ${t.zone}` });
    for (const host of tunnelHostnames(t)) {
      const known = t.dnsRecordIds[host];
      progress(`cloudflare: DNS record ${known ?? host}`);
      // A known record is read by its id (the topology's grammar shaped it), so what it points at is compared too.
      const records =
        known !== undefined
          ? [await cfResult<LiveRecord>(`/zones/${zoneId}/dns_records/${known}`)]
          : await cf(`/zones/${zoneId}/dns_records?name=${encodeURIComponent(host)}&type=CNAME`);
      if (records.length === 1) {
        if (known === undefined) accept(`mesh.tunnels.${key}.dnsRecordIds["${host}"]`, records[0]!.id, "cloudflare", `the CNAME of ${host}`);
        differences.push(...recordDifferences(key, host, tunnelId, records[0]!));
      } else
        missing.push({
          what: `DNS record ${host}`,
          why: records.length === 0 ? "no CNAME with that name (it will be created)" : `${records.length} CNAMEs have that name`,
        });
    }
  }

  if (!spec.access.adoptPolicy)
    found.push({ path: "mesh.access.adoptPolicy", value: true, why: "the tailnet's existing policy is replaced by the generated one, deliberately" });
  return { found, missing, differences };
}

/**
 * The `pulumi config set` argument lists that record what was found. Each says its type: under
 * --path the CLI stores a value of digits as a number otherwise, which loses an id's leading zeros.
 */
export function configArgs(stack: string, found: readonly Found[]): string[][] {
  return found.map((f) => ["config", "set", "--stack", stack, "--type", typeof f.value === "string" ? "string" : "bool", "--path", f.path, String(f.value)]);
}

/** The same, as command lines for the operator to read (the path and string values quoted for the shell). */
export function configCommands(stack: string, found: readonly Found[]): string[] {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  return configArgs(stack, found).map((args, n) => {
    const last = args.length - 1;
    return ["pulumi", ...args.map((a, i) => (i === last - 1 || (i === last && typeof found[n]!.value === "string") ? quote(a) : a))].join(" ");
  });
}

/** One adoption id of the topology and whether the stack's state holds the resource it adopted. */
export interface AdoptedId {
  readonly path: string;
  readonly type: string;
  readonly id: string;
  readonly inState: boolean;
}

/**
 * Every adoption id of the topology, matched against the resources of a `stack export`: a resource
 * of the type whose id is the adopted one (or ends with it: some providers keep `account/id`).
 */
export function adoptedIds(spec: MeshSpec, resources: readonly { readonly type: string; readonly id?: string }[]): AdoptedId[] {
  const wanted: Omit<AdoptedId, "inState">[] = [];
  const h = spec.hetzner;
  if (h !== undefined) {
    if (h.adopt.serverId !== undefined) wanted.push({ path: "mesh.hetzner.adopt.serverId", type: "hcloud:index/server:Server", id: h.adopt.serverId });
    if (h.adopt.primaryIpId !== undefined)
      wanted.push({ path: "mesh.hetzner.adopt.primaryIpId", type: "hcloud:index/primaryIp:PrimaryIp", id: h.adopt.primaryIpId });
    if (h.adopt.sshKeyId !== undefined) wanted.push({ path: "mesh.hetzner.adopt.sshKeyId", type: "hcloud:index/sshKey:SshKey", id: h.adopt.sshKeyId });
    if (h.adopt.firewallId !== undefined)
      wanted.push({ path: "mesh.hetzner.adopt.firewallId", type: "hcloud:index/firewall:Firewall", id: h.adopt.firewallId });
  }
  for (const [key, t] of Object.entries(spec.tunnels).sort(([a], [b]) => a.localeCompare(b))) {
    if (t.adoptId !== undefined)
      wanted.push({ path: `mesh.tunnels.${key}.adoptId`, type: "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared", id: t.adoptId });
    for (const [host, id] of Object.entries(t.dnsRecordIds))
      wanted.push({ path: `mesh.tunnels.${key}.dnsRecordIds["${host}"]`, type: "cloudflare:index/dnsRecord:DnsRecord", id });
  }
  return wanted.map((w) => ({ ...w, inState: resources.some((r) => r.type === w.type && r.id !== undefined && (r.id === w.id || r.id.endsWith(`/${w.id}`))) }));
}

/**
 * --finish: once the stack's state holds every adopted resource, records `mesh.adopted: true` in
 * the stack config (through the Pulumi CLI in `root`), so the ids stop being imports. --check
 * (finish false): 1 when that is overdue, 0 otherwise. Needs the Pulumi CLI, logged in.
 */
export async function finishAdoption(root: string, stack: string, spec: MeshSpec, finish: boolean, say: (line: string) => void): Promise<number> {
  const s = await openStack(root, stack);
  const exported = await s.exportStack();
  const ids = adoptedIds(spec, (exported.deployment as { resources?: { type: string; id?: string }[] }).resources ?? []);
  for (const a of ids) say(`${a.path} = ${a.id}: ${a.inState ? "in the state" : "not in the state yet"}`);
  if (!finish) {
    const overdue = !spec.adopted && ids.some((a) => a.inState);
    say(
      overdue
        ? "the estate is adopted but the topology still imports it: run npm run import -- --finish and commit the stack file before any other up"
        : "nothing to record",
    );
    return overdue ? 1 : 0;
  }
  if (spec.adopted) {
    say("the topology already says the estate is adopted");
    return 0;
  }
  const missing = ids.filter((a) => !a.inState);
  if (missing.length > 0) {
    say(`${missing.length} adopted resource(s) not in the state: run the first up (docs/first-adoption.md) before --finish`);
    return 1;
  }
  const [args] = configArgs(stack, [{ path: "mesh.adopted", value: true, why: "every adopted resource is in the state" }]);
  const r = spawnSync("pulumi", args!, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`failed: pulumi ${args!.join(" ")}`);
  say(`recorded mesh.adopted: true; commit Pulumi.${stack}.yaml`);
  return 0;
}
