// Stand-in for @pulumi/hcloud 1.41.0: pulumi-hcloud 1.41.0 bridges
// hetznercloud/terraform-provider-hcloud v1.68.0 (Server and Firewall on the SDKv2 path,
// PrimaryIp and SshKey on the plugin framework) with hcloud-go v2.47.0. The mirror has no
// pulumi-hcloud v1.41.0 tag: v1.68.0 is read off the npm package's types (fields added in 1.68.0).
// Paths: TF = terraform-provider-hcloud v1.68.0, HG = hcloud-go v2.47.0.
import { createHash } from "node:crypto";
import { checkBridged, diffBridged, readBack } from "./bridged";
import { ProviderError, type CallContext, type ProviderModel, type ResourceModel } from "./server";
import { bootServer, removeServer } from "./servers";
import { bool, num, reveal, str, UNKNOWN, type Props, type Value } from "./wire";

/** Hetzner ids are decimal numbers, given as strings (TF internal/util/id.go:35-41). */
const FIRST_ID = 40_000_000;
const newId = (ctx: CallContext) => String(FIRST_ID + ctx.cloud.nextId());

/**
 * An API error as hcloud-go formats it, `<message> (<code>)` (HG hcloud/error.go:125-134), and on
 * the plugin-framework resources inside the provider's diagnostic
 * (TF internal/util/hcloudutil/error_framework.go:14-87; "<summary>: <detail>").
 */
function apiError(framework: boolean, message: string, code: string, status: number): ProviderError {
  const err = `${message} (${code})`;
  return new ProviderError(
    framework
      ? `API request failed: An unexpected error was encountered during an API request.\n\n${err}\n\nError code: ${code}\nStatus code: ${status}\n`
      : err,
  );
}

function requireToken(ctx: CallContext): void {
  const t = reveal(ctx.config.token ?? null);
  const env = process.env.HCLOUD_TOKEN ?? "";
  if ((typeof t !== "string" || t === "") && env === "") throw new ProviderError("token is required (set hcloud:token or HCLOUD_TOKEN)");
}

const labels = (p: Props): Props => (reveal(p.labels ?? null) as Props | null) ?? {};

/** `hcloud_ssh_key` (framework): publicKey forces a new key (TF internal/sshkey/resource.go:68-74); a key whose fingerprint exists already is a uniqueness_error. */
const sshKey: ResourceModel = {
  check: (ctx, news, olds) => checkBridged(ctx.name, news, olds, { required: ["publicKey"], autoName: true, framework: true }),
  diff: (_ctx, { olds, news, oldInputs }) => diffBridged(olds, news, oldInputs, { forceNew: ["publicKey"], framework: true }),
  async create(ctx, inputs, preview) {
    requireToken(ctx);
    const publicKey = str(inputs, "publicKey")!;
    const outs: Props = { name: str(inputs, "name")!, publicKey, labels: labels(inputs), fingerprint: preview ? UNKNOWN : fingerprint(publicKey) };
    if (preview) return { id: "", outs };
    const existing = Object.values(ctx.cloud.list("ssh_keys"));
    if (existing.some((k) => k.fingerprint === outs.fingerprint)) throw apiError(true, "SSH key not unique", "uniqueness_error", 409);
    if (existing.some((k) => k.name === outs.name)) throw apiError(true, "SSH key name is already used", "uniqueness_error", 409);
    const id = newId(ctx);
    ctx.cloud.put("ssh_keys", id, outs, "create", outs.name as string);
    return { id, outs };
  },
  // Read takes the key as the API returns it (TF internal/sshkey/common.go:21-34); gone: removed from the state.
  read: async (ctx, req) =>
    readBack(req, ctx.cloud.get("ssh_keys", req.id), (k) => ({ name: k.name!, publicKey: k.publicKey!, labels: k.labels ?? {} }), { framework: true }),
  async update(ctx, { id, olds, news, preview }) {
    const outs = { ...olds, name: str(news, "name")!, labels: labels(news) };
    if (!preview) ctx.cloud.put("ssh_keys", id, { ...ctx.cloud.get("ssh_keys", id), name: outs.name, labels: outs.labels }, "update", outs.name as string);
    return outs;
  },
  async delete(ctx, { id }) {
    if (ctx.cloud.get("ssh_keys", id) !== undefined) ctx.cloud.remove("ssh_keys", id);
  },
};

/** The MD5 fingerprint Hetzner shows for a public key: colon-separated hex of the key blob's digest. */
function fingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? "", "base64");
  return createHash("md5")
    .update(blob)
    .digest("hex")
    .replace(/(..)(?=.)/g, "$1:");
}

/**
 * `hcloud_primary_ip` (framework): type and location force a new address (TF
 * internal/primaryip/resource.go:85-100); exactly one of location and assigneeId (:148-155); a
 * delete-protected address refuses deletion with `protected` (:459-474).
 */
const primaryIp: ResourceModel = {
  check(ctx, news, olds) {
    const r = checkBridged(ctx.name, news, olds, { required: ["type"], autoName: true, framework: true });
    if ((news.location === undefined) === (news.assigneeId === undefined))
      r.failures.push({
        property: "location",
        reason: "Invalid Attribute Combination. Exactly one of these attributes must be configured: [location,assignee_id]",
      });
    return r;
  },
  diff: (_ctx, { olds, news, oldInputs }) => diffBridged(olds, news, oldInputs, { forceNew: ["type", "location"], framework: true }),
  async create(ctx, inputs, preview) {
    requireToken(ctx);
    const outs: Props = {
      name: str(inputs, "name")!,
      type: str(inputs, "type")!,
      location: str(inputs, "location") ?? "",
      assigneeType: "server",
      assigneeId: num(inputs, "assigneeId") ?? 0,
      autoDelete: bool(inputs, "autoDelete") ?? false,
      deleteProtection: bool(inputs, "deleteProtection") ?? false,
      labels: labels(inputs),
      ipAddress: preview ? UNKNOWN : "",
      ipNetwork: "",
      datacenter: "",
    };
    if (preview) return { id: "", outs };
    const id = newId(ctx);
    const n = Number(id) - FIRST_ID;
    // Documentation addresses (RFC 5737): never dialled; the lab maps names, not these.
    outs.ipAddress = outs.type === "ipv4" ? `203.0.113.${n % 250}` : `2001:db8:${n.toString(16)}::`;
    ctx.cloud.put("primary_ips", id, outs, "create", outs.name as string);
    return { id, outs };
  },
  read: async (ctx, req) =>
    readBack(
      req,
      ctx.cloud.get("primary_ips", req.id),
      (ip) => ({
        name: ip.name!,
        type: ip.type!,
        location: ip.location!,
        autoDelete: ip.autoDelete!,
        deleteProtection: ip.deleteProtection!,
        labels: ip.labels ?? {},
      }),
      { framework: true },
    ),
  // Protection first, then one update carrying name, labels and autoDelete (TF :293-395).
  async update(ctx, { id, olds, news, preview }) {
    const outs = {
      ...olds,
      name: str(news, "name")!,
      labels: labels(news),
      autoDelete: bool(news, "autoDelete") ?? false,
      deleteProtection: bool(news, "deleteProtection") ?? false,
    };
    if (!preview) ctx.cloud.put("primary_ips", id, { ...ctx.cloud.get("primary_ips", id), ...outs }, "update", outs.name as string);
    return outs;
  },
  async delete(ctx, { id }) {
    const ip = ctx.cloud.get("primary_ips", id);
    if (ip === undefined) return;
    if (ip.deleteProtection === true) throw apiError(true, "primary ip deletion is protected", "protected", 423);
    ctx.cloud.remove("primary_ips", id, ip.name as string);
  },
};

const DIRECTIONS = ["in", "out"];
const PROTOCOLS = ["icmp", "tcp", "udp", "esp", "gre"];

/** `hcloud_firewall` (SDKv2): nothing forces a new one; each rule's direction and protocol are enums (TF internal/firewall/resource.go:74-138). */
const firewall: ResourceModel = {
  check(ctx, news, olds) {
    const r = checkBridged(ctx.name, news, olds, { autoName: true });
    const rules = reveal(news.rules ?? []) as Props[];
    for (const [i, rule] of (Array.isArray(rules) ? rules : []).entries()) {
      if (!DIRECTIONS.includes(String(rule.direction)))
        r.failures.push({ property: `rules[${i}].direction`, reason: `expected direction to be one of ["in" "out"], got ${String(rule.direction)}` });
      if (!PROTOCOLS.includes(String(rule.protocol)))
        r.failures.push({
          property: `rules[${i}].protocol`,
          reason: `expected protocol to be one of ["icmp" "tcp" "udp" "esp" "gre"], got ${String(rule.protocol)}`,
        });
    }
    return r;
  },
  diff: (_ctx, { olds, news, oldInputs }) => diffBridged(olds, news, oldInputs, {}),
  async create(ctx, inputs, preview) {
    requireToken(ctx);
    const outs: Props = { name: str(inputs, "name")!, rules: reveal(inputs.rules ?? []), labels: labels(inputs), applyTos: [] };
    if (preview) return { id: "", outs };
    const id = newId(ctx);
    ctx.cloud.put("firewalls", id, outs, "create", outs.name as string);
    return { id, outs };
  },
  // Read returns name, rules, labels and what the firewall is applied to (TF internal/firewall/resource.go:252-274, 482-506).
  read: async (ctx, req) => readBack(req, ctx.cloud.get("firewalls", req.id), (fw) => ({ name: fw.name!, rules: fw.rules ?? [], labels: fw.labels ?? {} })),
  // Removing every rule leaves the remote rules in place: the update skips SetRules (TF :308-327).
  async update(ctx, { id, olds, news, preview }) {
    const current = ctx.cloud.get("firewalls", id) ?? olds;
    const rules = reveal(news.rules ?? []) as Value[];
    const outs: Props = { ...current, name: str(news, "name")!, labels: labels(news), ...(rules.length > 0 ? { rules } : {}) };
    if (!preview) ctx.cloud.put("firewalls", id, outs, "update", outs.name as string);
    return outs;
  },
  async delete(ctx, { id }) {
    if (ctx.cloud.get("firewalls", id) !== undefined) ctx.cloud.remove("firewalls", id);
  },
};

/** The user data as the server's state holds it: base64 of its SHA-1 (TF internal/server/resource.go:92-99, 287-290). */
export function userDataHash(raw: string): string {
  return createHash("sha1").update(raw).digest("base64");
}

/**
 * `hcloud_server` (SDKv2): image, location, userData and sshKeys force a new server (TF
 * internal/server/resource.go:54-114); Read never sets publicNets, userData or sshKeys, which keep
 * their prior state (:1239-1304); firewalls are attached in the create request (:395-399); a primary
 * IP already assigned elsewhere refuses the create (`primary_ip_assigned`).
 */
const server: ResourceModel = {
  check(ctx, news, olds) {
    const r = checkBridged(ctx.name, news, olds, { required: ["serverType"], autoName: true });
    if (news.datacenter !== undefined)
      r.failures.push({ property: "datacenter", reason: "Removed Attribute. The attribute datacenter is removed since v1.67.0; use location instead" });
    return r;
  },
  diff: (_ctx, { olds, news, oldInputs }) =>
    diffBridged(olds, news, oldInputs, {
      forceNew: ["image", "location", "userData", "sshKeys"],
      stateForm: { userData: (v) => (typeof v === "string" && v !== UNKNOWN ? userDataHash(v) : v) },
    }),
  async create(ctx, inputs, preview) {
    requireToken(ctx);
    const publicNets = (reveal(inputs.publicNets ?? []) as Props[]) ?? [];
    const ipv4Id = publicNets[0]?.ipv4;
    const userData = str(inputs, "userData");
    const outs: Props = {
      name: str(inputs, "name")!,
      serverType: str(inputs, "serverType")!,
      image: str(inputs, "image") ?? "",
      location: str(inputs, "location") ?? "",
      datacenter: preview ? UNKNOWN : `${str(inputs, "location") ?? "ash"}-dc1`,
      backups: bool(inputs, "backups") ?? false,
      backupWindow: preview ? UNKNOWN : bool(inputs, "backups") ? "22-02" : "",
      firewallIds: reveal(inputs.firewallIds ?? []),
      publicNets: publicNets,
      sshKeys: reveal(inputs.sshKeys ?? []),
      ...(userData !== undefined ? { userData: userData === UNKNOWN ? UNKNOWN : userDataHash(userData) } : {}),
      labels: labels(inputs),
      deleteProtection: bool(inputs, "deleteProtection") ?? false,
      rebuildProtection: bool(inputs, "rebuildProtection") ?? false,
      status: preview ? UNKNOWN : "running",
      ipv4Address: UNKNOWN,
      ipv6Address: UNKNOWN,
      ipv6Network: UNKNOWN,
      primaryDiskSize: preview ? UNKNOWN : 80,
    };
    if (preview) return { id: "", outs };
    let ipv4Address = "";
    if (ipv4Id !== undefined && ipv4Id !== null) {
      const ip = ctx.cloud.get("primary_ips", String(ipv4Id));
      if (ip === undefined) throw new ProviderError(`creating ${ctx.urn}: primary ip not found (not_found)`);
      if (num(ip, "assigneeId") !== undefined && ip.assigneeId !== 0)
        throw new ProviderError(`creating ${ctx.urn}: primary ip is already assigned to a server (primary_ip_assigned)`);
      ipv4Address = ip.ipAddress as string;
    }
    for (const fw of reveal(inputs.firewallIds ?? []) as number[])
      if (ctx.cloud.get("firewalls", String(fw)) === undefined) throw new ProviderError(`creating ${ctx.urn}: firewall ${fw} not found (not_found)`);
    const id = newId(ctx);
    const created: Props = { ...outs, ipv4Address, ipv6Address: `2001:db8:${id}::1`, ipv6Network: `2001:db8:${id}::/64` };
    ctx.cloud.put("servers", id, created, "create", created.name as string);
    if (ipv4Id !== undefined && ipv4Id !== null) {
      const ip = ctx.cloud.get("primary_ips", String(ipv4Id))!;
      ctx.cloud.put("primary_ips", String(ipv4Id), { ...ip, assigneeId: Number(id), assigneeType: "server" }, "update", `${ip.name as string} assigned`);
    }
    for (const fw of reveal(inputs.firewallIds ?? []) as number[]) {
      const f = ctx.cloud.get("firewalls", String(fw))!;
      ctx.cloud.put(
        "firewalls",
        String(fw),
        { ...f, applyTos: [...((f.applyTos as Props[]) ?? []), { server: Number(id) }] },
        "update",
        `${f.name as string} applied`,
      );
    }
    const publicKeys = (reveal(inputs.sshKeys ?? []) as string[])
      .map((k) => str(ctx.cloud.get("ssh_keys", String(k)) ?? {}, "publicKey") ?? "")
      .filter((k) => k !== "");
    await bootServer(ctx, { id, name: created.name as string, userData: userData ?? "", publicKeys });
    return { id, outs: created };
  },
  async read(ctx, req) {
    const server = ctx.cloud.get("servers", req.id);
    if (server === undefined) return undefined;
    // Never written by Read: publicNets, userData, sshKeys keep what the state had (empty on import).
    const { publicNets: _p, userData: _u, sshKeys: _k, ...read } = server;
    return readBack(req, read, (s) => ({ name: s.name!, serverType: s.serverType!, image: s.image!, location: s.location!, labels: s.labels ?? {} }));
  },
  async update(ctx, { id, olds, news, preview }) {
    const outs: Props = {
      ...olds,
      name: str(news, "name")!,
      serverType: str(news, "serverType")!,
      labels: labels(news),
      backups: bool(news, "backups") ?? false,
    };
    if (!preview) ctx.cloud.put("servers", id, { ...ctx.cloud.get("servers", id), ...outs }, "update", outs.name as string);
    return outs;
  },
  // The primary IP is unassigned (and deleted only when autoDelete), firewalls detached.
  async delete(ctx, { id }) {
    const s = ctx.cloud.get("servers", id);
    if (s === undefined) return;
    for (const [ipId, ip] of Object.entries(ctx.cloud.list("primary_ips"))) {
      if (ip.assigneeId !== Number(id)) continue;
      if (ip.autoDelete === true) ctx.cloud.remove("primary_ips", ipId, ip.name as string);
      else ctx.cloud.put("primary_ips", ipId, { ...ip, assigneeId: 0 }, "update", `${ip.name as string} unassigned`);
    }
    for (const [fwId, fw] of Object.entries(ctx.cloud.list("firewalls"))) {
      const applied = ((fw.applyTos as Props[]) ?? []).filter((a) => a.server !== Number(id));
      if (applied.length !== ((fw.applyTos as Props[]) ?? []).length)
        ctx.cloud.put("firewalls", fwId, { ...fw, applyTos: applied }, "update", `${fw.name as string} detached`);
    }
    ctx.cloud.remove("servers", id, s.name as string);
    await removeServer(ctx, { id, name: s.name as string });
  },
};

export const hcloud: ProviderModel = {
  name: "hcloud",
  acceptSecrets: false,
  // hcloud-go v2.47.0 retries what the API answers as conflict, rate_limit_exceeded (its 429s),
  // bad_gateway or timeout, never a 500 (hcloud/client_handler_retry.go:57-88), at most 5 times
  // (client.go:285) after base 1 s doubled per retry, capped at 60 s, with full jitter above the base
  // (client.go:71-87, 279-284); Retry-After is not read. The provider keeps these defaults
  // (terraform-provider-hcloud v1.68.0 hcloud/provider.go:119-147).
  retryDelay: (fault, retry) => (fault.kind === "429" && retry < 5 ? (1 + (Math.min(2 ** retry, 60) - 1) * Math.random()) * 1000 : undefined),
  // hcloud-go's http.Client has no timeout (client.go:277); only a context ends a call. The SDKv2
  // resources (server, firewall) run under a deadline: the resource's declared timeout (the server's
  // create, 90 min: internal/server/resource.go:41-43) or the SDK's 20 min (terraform-plugin-sdk
  // v2 helper/schema/resource_data.go:552-582, applied in resource.go:847, 881, 898). customTimeouts
  // override it where the resource declares that timeout, and always for a delete (bridge
  // pkg/tfbridge/provider.go:2116-2121, tfshim/sdk-v2/provider2.go:211-254, 422-429). The framework
  // resources (primary IP, SSH key: hcloud/plugin_provider.go:248, 251) have no deadline: the bridge
  // ignores customTimeouts there (pkg/pf/tfbridge/provider_create.go:32).
  hangDeadline: (op, type, customTimeout) => {
    const sdkV2 = type === "hcloud:index/server:Server" || type === "hcloud:index/firewall:Firewall";
    if (!sdkV2) return undefined;
    const declared = type === "hcloud:index/server:Server" && op === "create" ? 90 * 60 : undefined;
    const honoured = customTimeout > 0 && (op === "delete" || declared !== undefined);
    return { seconds: honoured ? customTimeout : (declared ?? 20 * 60), error: "context deadline exceeded" };
  },
  resources: {
    "hcloud:index/server:Server": server,
    "hcloud:index/primaryIp:PrimaryIp": primaryIp,
    "hcloud:index/firewall:Firewall": firewall,
    "hcloud:index/sshKey:SshKey": sshKey,
  },
  functions: {},
};
