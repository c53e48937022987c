// CrossGuard rules for the invariants that matter, as plain objects so they are unit-testable
// without a policy engine. policy/index.ts serves them as the optimal-mesh policy pack.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);
/** What may be open to the internet on a server: SSH, Tailscale's WireGuard port, ICMP. */
const PUBLIC_ALLOWED = [
  { protocol: "tcp", port: "22" },
  { protocol: "udp", port: "41641" },
  { protocol: "icmp", port: undefined },
];

type Props = Record<string, unknown>;

export const noPublicInbound: ResourceValidationPolicy = {
  name: "no-public-inbound-beyond-allowed",
  description:
    "A Hetzner firewall opens to the internet only SSH (22), Tailscale (udp 41641) and ICMP; OptimalOS is reached through the tunnel and the tailnet.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "hcloud:index/firewall:Firewall") return;
    const rules = (args.props.rules ?? []) as Props[];
    rules.forEach((rule, i) => {
      if (rule.direction !== "in") return;
      const sources = (rule.sourceIps ?? []) as string[];
      if (!sources.some((s) => ANYWHERE.has(s))) return;
      const ok = PUBLIC_ALLOWED.some((a) => a.protocol === rule.protocol && a.port === (rule.port ?? undefined));
      if (!ok) report(`rule ${i} opens ${String(rule.protocol)} ${String(rule.port ?? "")} to the internet; only tcp 22, udp 41641 and icmp may be public`);
    });
  },
};

/** Resources whose loss is an outage or a lost address: they must be protected. */
export const STATEFUL_TYPES = new Set([
  "hcloud:index/primaryIp:PrimaryIp",
  "tailscale:index/acl:Acl",
  "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared",
  "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig",
  "cloudflare:index/dnsRecord:DnsRecord",
]);

export const statefulProtected: ResourceValidationPolicy = {
  name: "stateful-resources-protected",
  description:
    "The primary IP, the tailnet policy, tunnels, their configs and DNS records are protected (a tunnel being retired is named in the pack's `retiring` config).",
  enforcementLevel: "mandatory",
  configSchema: { properties: { retiring: { type: "array", items: { type: "string" }, default: [] } } },
  validateResource: (args, report) => {
    if (!STATEFUL_TYPES.has(args.type) || args.opts.protect) return;
    const retiring = (args.getConfig<{ retiring?: string[] }>().retiring ?? []) as string[];
    if (retiring.includes(args.name)) return;
    report(`${args.name} (${args.type}) must be protected`);
  },
};

const SECRET_SHAPES = [/tskey-(?:auth|api|client)-/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /TUNNEL_TOKEN=(?!'?<)/];
/** Inputs that legitimately carry secrets, provided the resource keeps them secret in state. */
const SECRET_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "hcloud:index/server:Server": ["userData"],
  "command:remote:Command": ["stdin", "connection"],
  // The providers' credentials: the engine hands the policy the default providers as resources too,
  // with their config (secret in the stack file, and so in the state).
  "pulumi:providers:tailscale": ["apiKey", "oauthClientSecret"],
  "pulumi:providers:cloudflare": ["apiToken"],
  "pulumi:providers:hcloud": ["token"],
};

function findSecrets(value: unknown, at: string, out: string[]): void {
  if (typeof value === "string") {
    if (SECRET_SHAPES.some((r) => r.test(value))) out.push(at);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => findSecrets(v, `${at}[${i}]`, out));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) findSecrets(v, at === "" ? k : `${at}.${k}`, out);
  }
}

export const secretsNeverPlain: ResourceValidationPolicy = {
  name: "secrets-never-plain",
  description:
    "Keys, tokens and private keys appear only in inputs meant for them (stdin, user data, connections, provider credentials), and those are kept secret in state.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const allowed = SECRET_FIELDS[args.type] ?? [];
    const found: string[] = [];
    findSecrets(args.props, "", found);
    for (const at of found) {
      const field = at.split(/[.[]/)[0]!;
      if (!allowed.includes(field)) report(`${args.name}: ${at} holds something shaped like a secret; pass it on stdin or in a secret input`);
    }
    for (const field of allowed) {
      // The command provider keeps a connection secret and the engine a provider's secret config;
      // stdin and user data must be marked.
      if (field === "connection" || args.type.startsWith("pulumi:providers:") || args.props[field] === undefined) continue;
      if (!args.opts.additionalSecretOutputs.includes(field)) report(`${args.name}: ${field} must be listed in additionalSecretOutputs`);
    }
  },
};

export const exactlyOneHub: StackValidationPolicy = {
  name: "exactly-one-hub",
  description: "Exactly one node carries tag:hub (the hub lease: one node runs the scheduled workflows).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const tagged = args.resources.filter((r) => r.type === "tailscale:index/deviceTags:DeviceTags" || r.type === "tailscale:index/tailnetKey:TailnetKey");
    if (tagged.length === 0) return;
    const hubs = new Set<string>();
    for (const r of tagged) {
      const tags = (r.props.tags ?? []) as string[];
      if (!tags.includes("tag:hub")) continue;
      hubs.add(tags.find((t) => t.startsWith("tag:node-")) ?? r.name);
    }
    if (hubs.size !== 1) report(`${hubs.size} nodes carry tag:hub (${[...hubs].sort().join(", ") || "none"}); the hub lease needs exactly one`);
  },
};

export const resourcePolicies = [noPublicInbound, statefulProtected, secretsNeverPlain];
export const stackPolicies = [exactlyOneHub];
