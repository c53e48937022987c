// Stand-in for @pulumi/cloudflare 6.22.1: pulumi-cloudflare bridges
// cloudflare/terraform-provider-cloudflare v5 (plugin framework only) over cloudflare-go v7. The
// sources at 6.22.1 are not in the mirrors: citations are terraform-provider-cloudflare v5.22.0 and
// cloudflare-go/v7 v7.7.0, the newest there (6.22.1 wraps a somewhat newer v5: its DnsRecord has
// includeShadowMetadata). Paths: TF = terraform-provider-cloudflare v5.22.0 internal/services/.
// Every resource here is plugin framework: Diff answers with keys only, never delete-before-replace
// (pulumi-terraform-bridge pkg/pf/tfbridge/provider_diff.go:99-159).
import { randomBytes, randomUUID } from "node:crypto";
import { checkBridged, diffBridged } from "./bridged";
import { ProviderError, type CallContext, type ProviderModel, type ResourceModel } from "./server";
import { bool, num, reveal, secret, str, UNKNOWN, type Props } from "./wire";

/** An API error as the resources report it after cloudflare-go's retries ("failed to make http request"). */
const httpError = (method: string, path: string, status: number, message: string) =>
  new ProviderError(`failed to make http request: ${method} "https://api.cloudflare.com/client/v4/${path}": ${status} ${message}`);

function requireToken(ctx: CallContext): void {
  const t = reveal(ctx.config.apiToken ?? null);
  if ((typeof t !== "string" || t === "") && (process.env.CLOUDFLARE_API_TOKEN ?? "") === "" && reveal(ctx.config.apiKey ?? null) === null)
    throw new ProviderError("Missing API credentials: set cloudflare:apiToken (or CLOUDFLARE_API_TOKEN)");
}

/** `<a>/<b>` import ids: exactly two segments (TF internal/importpath/parse.go:12-52). */
function importParts(id: string, want: string): [string, string] {
  const parts = id.split("/");
  if (parts.length !== 2 || parts.some((p) => p === "")) throw new ProviderError(`invalid ID "${id}": expected ${want}`);
  return [decodeURIComponent(parts[0]!), decodeURIComponent(parts[1]!)];
}

/**
 * `cloudflare_zero_trust_tunnel_cloudflared`: accountId replaces, configSrc replaces when set in the
 * program, name and tunnelSecret update in place (TF zero_trust_tunnel_cloudflared/schema.go:37-65);
 * configSrc is "local" or "cloudflare", default "local" (:51-55); tunnelSecret is sensitive and never
 * refreshed (resource.go:161-162); a tunnel gone (404) is gone from the state (:175-179); import id
 * `<account_id>/<tunnel_id>` (:222-265).
 */
const tunnel: ResourceModel = {
  check(ctx, news, olds) {
    const r = checkBridged(ctx.name, news, olds, { required: ["accountId", "name"], framework: true });
    const src = str(news, "configSrc");
    if (src !== undefined && src !== UNKNOWN && !["local", "cloudflare"].includes(src.toLowerCase()))
      r.failures.push({
        property: "",
        reason: `Invalid Attribute Value Match. Attribute config_src value must be one of: ["local" "cloudflare"], got: "${src}". Examine values at '${ctx.name}.configSrc'.`,
      });
    return r;
  },
  diff(_ctx, { olds, news, oldInputs }) {
    const configured = news.configSrc !== undefined;
    return diffBridged(olds, news, oldInputs, { forceNew: ["accountId", ...(configured ? ["configSrc"] : [])], framework: true });
  },
  async create(ctx, inputs, preview) {
    requireToken(ctx);
    const configSrc = str(inputs, "configSrc") ?? "local";
    const outs: Props = {
      accountId: str(inputs, "accountId")!,
      name: str(inputs, "name")!,
      configSrc,
      remoteConfig: configSrc === "cloudflare",
      ...(inputs.tunnelSecret !== undefined ? { tunnelSecret: secret(reveal(inputs.tunnelSecret)) } : {}),
      accountTag: str(inputs, "accountId")!,
      connections: [],
      connsActiveAt: "",
      connsInactiveAt: "",
      createdAt: preview ? UNKNOWN : ctx.cloud.now().toISOString(),
      deletedAt: "",
      metadata: "{}",
      status: preview ? UNKNOWN : "inactive",
      tunType: "cfd_tunnel",
    };
    if (preview) return { id: "", outs };
    const id = randomUUID();
    const { tunnelSecret: _s, ...stored } = outs;
    ctx.cloud.put("tunnels", id, { ...stored, secret: randomBytes(32).toString("base64") }, "create", outs.name as string);
    return { id, outs };
  },
  async read(ctx, { id, state, inputs }) {
    const isImport = Object.keys(state).length === 0;
    const [account, tunnelId] = isImport ? importParts(id, "<account_id>/<tunnel_id>") : [str(state, "accountId") ?? "", id];
    const t = ctx.cloud.get("tunnels", tunnelId);
    if (t === undefined || t.accountId !== account) {
      if (isImport) throw httpError("GET", `accounts/${account}/cfd_tunnel/${tunnelId}`, 404, "Not Found");
      return undefined;
    }
    const { secret: _s, ...api } = t;
    // configSrc and tunnelSecret keep the state's values (TF resource.go:161-162, 191-192).
    const outs: Props = { ...state, ...api, ...(state.configSrc !== undefined ? { configSrc: state.configSrc } : {}) };
    return { id: tunnelId, outs, inputs: isImport ? { accountId: account, name: t.name!, configSrc: t.configSrc! } : inputs };
  },
  async update(ctx, { id, olds, news, preview }) {
    const outs: Props = { ...olds, name: str(news, "name")!, ...(news.tunnelSecret !== undefined ? { tunnelSecret: secret(reveal(news.tunnelSecret)) } : {}) };
    if (!preview) ctx.cloud.put("tunnels", id, { ...ctx.cloud.get("tunnels", id), name: outs.name }, "update", outs.name as string);
    return outs;
  },
  // One DELETE, no cascade, no connection clean-up (TF resource.go:197-220).
  async delete(ctx, { id, state }) {
    if (ctx.cloud.get("tunnels", id) === undefined) throw httpError("DELETE", `accounts/${str(state, "accountId")}/cfd_tunnel/${id}`, 404, "Not Found");
    ctx.cloud.remove("tunnels", id, str(state, "name"));
  },
};

/**
 * `cloudflare_zero_trust_tunnel_cloudflared_config`: tunnelId and accountId replace, config updates
 * in place (TF zero_trust_tunnel_cloudflared_config/schema.go:36-50); create and update are one PUT,
 * the id is the tunnel id (resource.go:58-148); Read takes config from the API (:150-189); delete
 * calls no API: the remote config stays (:191-193).
 */
const tunnelConfig: ResourceModel = {
  check: (ctx, news, olds) => checkBridged(ctx.name, news, olds, { required: ["accountId", "tunnelId"], framework: true }),
  diff: (_ctx, { olds, news, oldInputs }) => diffBridged(olds, news, oldInputs, { forceNew: ["accountId", "tunnelId"], framework: true }),
  async create(ctx, inputs, preview) {
    requireToken(ctx);
    const tunnelId = str(inputs, "tunnelId")!;
    const outs: Props = {
      accountId: str(inputs, "accountId")!,
      tunnelId,
      config: reveal(inputs.config ?? {}),
      source: "cloudflare",
      createdAt: preview ? UNKNOWN : ctx.cloud.now().toISOString(),
      version: preview ? UNKNOWN : 1,
    };
    if (preview) return { id: "", outs };
    if (ctx.cloud.get("tunnels", tunnelId) === undefined)
      throw httpError("PUT", `accounts/${outs.accountId as string}/cfd_tunnel/${tunnelId}/configurations`, 404, "Not Found");
    const existing = ctx.cloud.get("tunnel_configs", tunnelId);
    const version = (num(existing ?? {}, "version") ?? 0) + 1;
    ctx.cloud.put("tunnel_configs", tunnelId, { ...outs, version }, existing === undefined ? "create" : "update", ctx.name);
    return { id: tunnelId, outs: { ...outs, version } };
  },
  async read(ctx, { id, state, inputs }) {
    const isImport = Object.keys(state).length === 0;
    const tunnelId = isImport ? importParts(id, "<account_id>/<tunnel_id>")[1] : id;
    const c = ctx.cloud.get("tunnel_configs", tunnelId);
    if (c === undefined) {
      if (isImport) throw httpError("GET", `cfd_tunnel/${tunnelId}/configurations`, 404, "Not Found");
      return undefined;
    }
    return { id: tunnelId, outs: { ...state, ...c }, inputs: isImport ? { accountId: c.accountId!, tunnelId, config: c.config! } : inputs };
  },
  async update(ctx, { id, olds, news, preview }) {
    const current = ctx.cloud.get("tunnel_configs", id);
    const version = (num(current ?? olds, "version") ?? 0) + 1;
    const outs: Props = { ...olds, config: reveal(news.config ?? {}), version: preview ? UNKNOWN : version };
    if (!preview) ctx.cloud.put("tunnel_configs", id, { ...current, ...outs }, "update", ctx.name);
    return outs;
  },
  async delete() {
    // No API call: the framework only drops it from the state.
  },
};

const DNS_TYPES = [
  "A",
  "AAAA",
  "CNAME",
  "MX",
  "NS",
  "OPENPGPKEY",
  "PTR",
  "TXT",
  "CAA",
  "CERT",
  "DNSKEY",
  "DS",
  "HTTPS",
  "LOC",
  "NAPTR",
  "SMIMEA",
  "SRV",
  "SSHFP",
  "SVCB",
  "TLSA",
  "URI",
];

/**
 * `cloudflare_dns_record`: zoneId and type replace, name updates in place (TF dns_record/schema.go:44-99,
 * 408-411); type is one of the DNS types (:74-96); a proxied record needs ttl 1, checked on create
 * only (resource.go:67-73); update is a full PUT (:108-157); 404 on read: gone (:183-187); import id
 * `<zone_id>/<dns_record_id>` (:237-283).
 */
const dnsRecord: ResourceModel = {
  check(ctx, news, olds) {
    const r = checkBridged(ctx.name, news, olds, { required: ["zoneId", "name", "type", "ttl"], framework: true });
    const type = str(news, "type");
    if (type !== undefined && type !== UNKNOWN && !DNS_TYPES.includes(type.toUpperCase()))
      r.failures.push({
        property: "",
        reason: `Invalid Attribute Value Match. Attribute type value must be one of: [${DNS_TYPES.map((t) => `"${t}"`).join(" ")}], got: "${type}". Examine values at '${ctx.name}.type'.`,
      });
    return r;
  },
  diff: (_ctx, { olds, news, oldInputs }) => diffBridged(olds, news, oldInputs, { forceNew: ["zoneId", "type"], framework: true }),
  async create(ctx, inputs, preview) {
    requireToken(ctx);
    if (bool(inputs, "proxied") === true && num(inputs, "ttl") !== 1) throw new ProviderError("ttl must be set to 1 when `proxied` is true");
    const outs: Props = {
      zoneId: str(inputs, "zoneId")!,
      name: str(inputs, "name")!,
      type: str(inputs, "type")!,
      content: str(inputs, "content") ?? "",
      proxied: bool(inputs, "proxied") ?? false,
      ttl: num(inputs, "ttl")!,
      ...(inputs.comment !== undefined ? { comment: str(inputs, "comment")! } : {}),
      tags: [],
      settings: { flattenCname: false, ipv4Only: false, ipv6Only: false },
      proxiable: true,
      includeShadowMetadata: false,
      createdOn: preview ? UNKNOWN : ctx.cloud.now().toISOString(),
      modifiedOn: preview ? UNKNOWN : ctx.cloud.now().toISOString(),
      meta: "{}",
    };
    if (preview) return { id: "", outs };
    const zone = ctx.cloud.get("zones", outs.zoneId as string);
    if (zone === undefined) throw httpError("POST", `zones/${outs.zoneId as string}/dns_records`, 404, "Not Found");
    const id = randomBytes(16).toString("hex");
    ctx.cloud.put("dns_records", id, outs, "create", outs.name as string);
    return { id, outs };
  },
  async read(ctx, { id, state, inputs }) {
    const isImport = Object.keys(state).length === 0;
    const [zoneId, recordId] = isImport ? importParts(id, "<zone_id>/<dns_record_id>") : [str(state, "zoneId") ?? "", id];
    const rec = ctx.cloud.get("dns_records", recordId);
    if (rec === undefined || rec.zoneId !== zoneId) {
      if (isImport) throw httpError("GET", `zones/${zoneId}/dns_records/${recordId}`, 404, "Not Found");
      return undefined;
    }
    const outs = { ...state, ...rec };
    return {
      id: recordId,
      outs,
      inputs: isImport
        ? {
            zoneId,
            name: rec.name!,
            type: rec.type!,
            content: rec.content!,
            proxied: rec.proxied!,
            ttl: rec.ttl!,
            ...(rec.comment !== undefined ? { comment: rec.comment } : {}),
          }
        : inputs,
    };
  },
  async update(ctx, { id, olds, news, preview }) {
    const outs: Props = {
      ...olds,
      name: str(news, "name")!,
      content: str(news, "content") ?? "",
      proxied: bool(news, "proxied") ?? false,
      ttl: num(news, "ttl")!,
      ...(news.comment !== undefined ? { comment: str(news, "comment")! } : {}),
      modifiedOn: preview ? UNKNOWN : ctx.cloud.now().toISOString(),
    };
    if (!preview) ctx.cloud.put("dns_records", id, { ...ctx.cloud.get("dns_records", id), ...outs }, "update", outs.name as string);
    return outs;
  },
  async delete(ctx, { id, state }) {
    if (ctx.cloud.get("dns_records", id) === undefined) throw httpError("DELETE", `zones/${str(state, "zoneId")}/dns_records/${id}`, 404, "Not Found");
    ctx.cloud.remove("dns_records", id, str(state, "name"));
  },
};

/** getZone: exactly one of zoneId and filter; a filter must match exactly one zone (TF zone/data_source.go:60-128). */
async function getZone(ctx: CallContext, args: Props): Promise<Props> {
  requireToken(ctx);
  const zones = ctx.cloud.list("zones");
  const filter = reveal(args.filter ?? null) as Props | null;
  if ((args.zoneId === undefined) === (filter === null))
    throw new ProviderError("Invalid Attribute Combination: exactly one of these attributes must be configured: [zone_id,filter]");
  let id: string;
  if (filter !== null) {
    const found = Object.entries(zones).filter(([, z]) => filter.name === undefined || z.name === filter.name);
    if (found.length !== 1) throw new ProviderError(`failed to find exactly one result: ${found.length} found`);
    id = found[0]![0];
  } else id = str(args, "zoneId")!;
  const zone = zones[id];
  if (zone === undefined) throw httpError("GET", `zones/${id}`, 404, "Not Found");
  return { ...(filter !== null ? { filter } : {}), id, zoneId: id, name: zone.name!, status: "active", type: "full", paused: false };
}

/** The connector token of a tunnel, returned plain: the PF bridge strips secrets from every invoke result (provider_invoke.go:112-121). */
async function getTunnelToken(ctx: CallContext, args: Props): Promise<Props> {
  requireToken(ctx);
  const accountId = str(args, "accountId")!;
  const tunnelId = str(args, "tunnelId")!;
  const t = ctx.cloud.get("tunnels", tunnelId);
  if (t === undefined || t.accountId !== accountId) throw httpError("GET", `accounts/${accountId}/cfd_tunnel/${tunnelId}/token`, 404, "Not Found");
  const token = Buffer.from(JSON.stringify({ a: accountId, t: tunnelId, s: t.secret })).toString("base64");
  return { accountId, tunnelId, token };
}

export const cloudflare: ProviderModel = {
  name: "cloudflare",
  acceptSecrets: false,
  // cloudflare-go v7.7.0 retries 408, 409, 429 and every 5xx (internal/requestconfig/requestconfig.go:
  // 255-291), at most 10 times (:172), after the answer's Retry-After when it has one, else 2 s
  // doubled per retry, capped at 30 s, less up to a quarter of jitter (:383-400); the provider keeps
  // the defaults (terraform-provider-cloudflare v5.22.0 sets no retry option).
  retryDelay: (fault, retry) =>
    retry >= 10 ? undefined : fault.retryAfter !== undefined ? fault.retryAfter * 1000 : Math.min(2000 * 2 ** retry, 30_000) * (1 - Math.random() / 4),
  // Nothing bounds a call that never answers: the client is http.DefaultClient with no request
  // timeout unless one is configured (requestconfig.go:175, 187-191, 455-456), the provider
  // configures none, and the bridge ignores customTimeouts for a plugin-framework provider
  // (pulumi-terraform-bridge v3.135.0 pkg/pf/tfbridge/provider_create.go:32).
  hangDeadline: () => undefined,
  resources: {
    "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": tunnel,
    "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig": tunnelConfig,
    "cloudflare:index/dnsRecord:DnsRecord": dnsRecord,
  },
  functions: {
    "cloudflare:index/getZone:getZone": getZone,
    "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken": getTunnelToken,
  },
};
