// The simulated cloud served as the providers' web APIs on loopback, for the operator commands
// that call them directly (npm run import, dr-rebuild's device removal): the same objects the
// stand-in plugins read and write, in the JSON the real APIs answer with. Only the requests those
// commands make are served; any other answers 404 with the path, so a new call fails its test
// until it is served here. Writes (a device's removal) go through the cloud folder and its journal
// like the plugins' writes.
//   Hetzner:    GET /hcloud/servers?name=, /servers/ID, /ssh_keys?fingerprint=, /ssh_keys/ID,
//               /primary_ips?ip=, /primary_ips/ID, /firewalls/ID. Field names as hcloud-go
//               v2.47.0 decodes them: hcloud/schema/server.go:6-43 (server_type, backup_window
//               null when off, public_net.firewalls), primary_ip.go:6-16 (assignee_id null when
//               unassigned, auto_delete, protection.delete), firewall.go:6-18 (rules' source_ips),
//               ssh_key.go:6-9 (fingerprint).
//   Cloudflare: GET /cloudflare/accounts/A/cfd_tunnel?name=, .../cfd_tunnel/ID/configurations,
//               /zones?name=, /zones/Z/dns_records?name=&type=, /zones/Z/dns_records/ID, each in
//               the `{success, result}` envelope; a record's `comment` as cloudflare-go v7.7.0
//               dns/record.go:379 reads it.
//   Tailscale:  GET /tailscale/api/v2/tailnet/T/devices, DELETE /tailscale/api/v2/device/ID, as
//               tailscale-client-go-v2 devices.go:76 (Device), 250 (List), 303 (Delete) call them.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Cloud } from "./cloud";
import type { Props, Value } from "./wire";

export interface CloudApis {
  /** HCLOUD_ENDPOINT for the Hetzner API. */
  readonly hcloud: string;
  /** CLOUDFLARE_BASE_URL for the Cloudflare API. */
  readonly cloudflare: string;
  /** tailscale:baseUrl (TAILSCALE_BASE_URL) for the Tailscale API. */
  readonly tailscale: string;
  /** Every request served, as `METHOD path?query`. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

const str = (o: Props, k: string): string => (typeof o[k] === "string" ? (o[k] as string) : "");
const labelsOf = (o: Props): Value => (o.labels !== null && typeof o.labels === "object" ? o.labels : {});

/** A server as GET /servers answers it: its type, location, backups, labels, address and the firewalls applied to it. */
function hcloudServer(cloud: Cloud, id: string, s: Props): Props {
  const firewalls = Object.entries(cloud.list("firewalls"))
    .filter(([, f]) => Array.isArray(f.applyTos) && (f.applyTos as Props[]).some((a) => a.server === Number(id)))
    .map(([fid]) => ({ id: Number(fid), status: "applied" }));
  return {
    id: Number(id),
    name: str(s, "name"),
    status: str(s, "status") || "running",
    server_type: { name: str(s, "serverType") },
    datacenter: { name: str(s, "datacenter"), location: { name: str(s, "location") } },
    backup_window: str(s, "backupWindow") === "" ? null : str(s, "backupWindow"),
    labels: labelsOf(s),
    public_net: { ipv4: { ip: str(s, "ipv4Address") }, firewalls },
  };
}

function hcloudPrimaryIp(id: string, p: Props): Props {
  return {
    id: Number(id),
    name: str(p, "name"),
    ip: str(p, "ipAddress"),
    type: str(p, "type"),
    assignee_id: typeof p.assigneeId === "number" && p.assigneeId !== 0 ? p.assigneeId : null,
    auto_delete: p.autoDelete === true,
    protection: { delete: p.deleteProtection === true },
    labels: labelsOf(p),
  };
}

function hcloudFirewall(id: string, f: Props): Props {
  const rules = (Array.isArray(f.rules) ? (f.rules as Props[]) : []).map((r) => ({
    direction: str(r, "direction"),
    protocol: str(r, "protocol"),
    port: str(r, "port") === "" ? null : str(r, "port"),
    source_ips: Array.isArray(r.sourceIps) ? r.sourceIps : [],
  }));
  return { id: Number(id), name: str(f, "name"), labels: labelsOf(f), rules };
}

/** A tunnel's remote configuration: the program's `ingresses` are the API's `ingress`. */
function cloudflareConfig(c: Props | undefined): Props {
  const config = (c?.config ?? {}) as Props;
  const ingress = (Array.isArray(config.ingresses) ? (config.ingresses as Props[]) : []).map((r) => ({
    ...(typeof r.hostname === "string" ? { hostname: r.hostname } : {}),
    ...(typeof r.path === "string" ? { path: r.path } : {}),
    service: str(r, "service"),
  }));
  return { config: { ingress } };
}

export async function serveCloudApis(cloudDir: string): Promise<CloudApis> {
  const hcloud = new Cloud(cloudDir, "hcloud");
  const cloudflare = new Cloud(cloudDir, "cloudflare");
  const tailscale = new Cloud(cloudDir, "tailscale");
  const requests: string[] = [];

  const route = (method: string, url: URL): { status: number; body: unknown } => {
    const q = (k: string) => url.searchParams.get(k);
    const p = url.pathname;
    let m: RegExpExecArray | null;
    const found = (body: unknown) => ({ status: 200, body });
    const notFound = (what: string) => ({
      status: 404,
      body: { error: { code: "not_found", message: `${what} not found` }, errors: [{ message: `${what} not found` }] },
    });
    if (method === "GET" && p === "/hcloud/servers")
      return found({
        servers: Object.entries(hcloud.list("servers")).flatMap(([id, s]) => (q("name") === null || s.name === q("name") ? [hcloudServer(hcloud, id, s)] : [])),
      });
    if (method === "GET" && (m = /^\/hcloud\/servers\/(\d+)$/.exec(p))) {
      const s = hcloud.get("servers", m[1]!);
      return s === undefined ? notFound(`server ${m[1]}`) : found({ server: hcloudServer(hcloud, m[1]!, s) });
    }
    if (method === "GET" && p === "/hcloud/ssh_keys")
      return found({
        ssh_keys: Object.entries(hcloud.list("ssh_keys"))
          .filter(([, k]) => q("fingerprint") === null || k.fingerprint === q("fingerprint"))
          .map(([id, k]) => ({
            id: Number(id),
            name: str(k, "name"),
            fingerprint: str(k, "fingerprint"),
            public_key: str(k, "publicKey"),
            labels: labelsOf(k),
          })),
      });
    if (method === "GET" && (m = /^\/hcloud\/ssh_keys\/(\d+)$/.exec(p))) {
      const k = hcloud.get("ssh_keys", m[1]!);
      return k === undefined
        ? notFound(`ssh key ${m[1]}`)
        : found({
            ssh_key: { id: Number(m[1]), name: str(k, "name"), fingerprint: str(k, "fingerprint"), public_key: str(k, "publicKey"), labels: labelsOf(k) },
          });
    }
    if (method === "GET" && p === "/hcloud/primary_ips")
      return found({
        primary_ips: Object.entries(hcloud.list("primary_ips")).flatMap(([id, ip]) =>
          q("ip") === null || ip.ipAddress === q("ip") ? [hcloudPrimaryIp(id, ip)] : [],
        ),
      });
    if (method === "GET" && (m = /^\/hcloud\/primary_ips\/(\d+)$/.exec(p))) {
      const ip = hcloud.get("primary_ips", m[1]!);
      return ip === undefined ? notFound(`primary ip ${m[1]}`) : found({ primary_ip: hcloudPrimaryIp(m[1]!, ip) });
    }
    if (method === "GET" && (m = /^\/hcloud\/firewalls\/(\d+)$/.exec(p))) {
      const f = hcloud.get("firewalls", m[1]!);
      return f === undefined ? notFound(`firewall ${m[1]}`) : found({ firewall: hcloudFirewall(m[1]!, f) });
    }
    if (method === "GET" && (m = /^\/cloudflare\/accounts\/([^/]+)\/cfd_tunnel$/.exec(p))) {
      const account = m[1]!;
      return found({
        success: true,
        result: Object.entries(cloudflare.list("tunnels"))
          .filter(([, t]) => t.accountId === account && (q("name") === null || t.name === q("name")))
          .map(([id, t]) => ({ id, name: str(t, "name") })),
      });
    }
    if (method === "GET" && (m = /^\/cloudflare\/accounts\/([^/]+)\/cfd_tunnel\/([^/]+)\/configurations$/.exec(p))) {
      if (cloudflare.get("tunnels", m[2]!) === undefined) return notFound(`tunnel ${m[2]}`);
      return found({ success: true, result: cloudflareConfig(cloudflare.get("tunnel_configs", m[2]!)) });
    }
    if (method === "GET" && p === "/cloudflare/zones")
      return found({
        success: true,
        result: Object.entries(cloudflare.list("zones"))
          .filter(([, z]) => q("name") === null || z.name === q("name"))
          .map(([id, z]) => ({ id, name: str(z, "name") })),
      });
    const record = (id: string, r: Props) => ({
      id,
      name: str(r, "name"),
      type: str(r, "type"),
      content: str(r, "content"),
      proxied: r.proxied === true,
      comment: str(r, "comment") === "" ? null : str(r, "comment"),
    });
    if (method === "GET" && (m = /^\/cloudflare\/zones\/([^/]+)\/dns_records$/.exec(p))) {
      const zone = m[1]!;
      return found({
        success: true,
        result: Object.entries(cloudflare.list("dns_records"))
          .filter(([, r]) => r.zoneId === zone && (q("name") === null || r.name === q("name")) && (q("type") === null || r.type === q("type")))
          .map(([id, r]) => record(id, r)),
      });
    }
    if (method === "GET" && (m = /^\/cloudflare\/zones\/([^/]+)\/dns_records\/([^/]+)$/.exec(p))) {
      const r = cloudflare.get("dns_records", m[2]!);
      return r === undefined || r.zoneId !== m[1] ? notFound(`record ${m[2]}`) : found({ success: true, result: record(m[2]!, r) });
    }
    if (method === "GET" && /^\/tailscale\/api\/v2\/tailnet\/[^/]+\/devices$/.test(p))
      return found({
        devices: Object.entries(tailscale.list("devices")).map(([id, d]) => ({
          id,
          nodeId: str(d, "nodeId"),
          name: str(d, "name"),
          hostname: str(d, "hostname"),
          addresses: d.addresses ?? [],
          tags: d.tags ?? [],
        })),
      });
    if (method === "DELETE" && (m = /^\/tailscale\/api\/v2\/device\/([^/]+)$/.exec(p))) {
      const d = tailscale.get("devices", m[1]!);
      if (d === undefined) return { status: 404, body: { message: "device not found" } };
      tailscale.remove("devices", m[1]!, str(d, "name"));
      return found({});
    }
    return { status: 404, body: { message: `the stand-ins' API does not serve ${method} ${p}; serve it in engine/stand-ins/api.ts` } };
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    requests.push(`${method} ${url.pathname}${url.search}`);
    const { status, body } = route(method, url);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    hcloud: `${base}/hcloud`,
    cloudflare: `${base}/cloudflare`,
    tailscale: `${base}/tailscale`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
