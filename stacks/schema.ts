// The topology schema: what one stack's `optimal-mesh:mesh` config may say, with its defaults.
// Cross-field rules (exactly one hub, ingress targets, ...) live in rules.ts.
import { z } from "zod";
import { isIPv4, isIPv6 } from "node:net";
import { DNS_LABEL, GRAMMAR, HOSTNAME, IPV4, KEY_NAME, RESERVED_ENV, ingressPathProblem, type Grammar } from "./grammar";

export { DNS_LABEL } from "./grammar";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HCLOUD_ID = /^[1-9][0-9]{0,18}$/;
const CLOUDFLARE_ID = /^[0-9a-f]{32}$/;

/** The shapes of the ids the topology adopts, for tools that read them from the providers' APIs. */
export const ID_SHAPES = {
  hcloud: { pattern: HCLOUD_ID, what: "a numeric Hetzner id" },
  tunnel: { pattern: UUID, what: "a tunnel UUID" },
  cloudflare: { pattern: CLOUDFLARE_ID, what: "a Cloudflare id (32 hex digits)" },
} as const;
const HCLOUD_ID_MESSAGE = "must be the numeric Hetzner id, e.g. 12345678";
const AUTOGROUPS = ["autogroup:admin", "autogroup:owner", "autogroup:network-admin", "autogroup:it-admin"] as const;

/** An IPv4 or IPv6 network in CIDR notation. */
function isCidr(value: string): boolean {
  const m = /^([0-9a-fA-F.:]{2,39})\/([0-9]{1,3})$/.exec(value);
  if (m === null) return false;
  const bits = Number(m[2]);
  return (isIPv4(m[1]!) && bits <= 32) || (isIPv6(m[1]!) && bits <= 128);
}

/**
 * A Hetzner id: digits, as a string or as the number `pulumi config set --path` stores for digits
 * (without --type string). Either way the program gets the string.
 */
const hcloudId = () =>
  z
    .union(
      [
        z.string().regex(HCLOUD_ID, HCLOUD_ID_MESSAGE),
        z.number({ error: HCLOUD_ID_MESSAGE }).int(HCLOUD_ID_MESSAGE).positive(HCLOUD_ID_MESSAGE).max(Number.MAX_SAFE_INTEGER, HCLOUD_ID_MESSAGE),
      ],
      { error: HCLOUD_ID_MESSAGE },
    )
    .transform((id) => String(id));

/** A string field with its grammar. */
const str = (grammar: Grammar) => z.string().regex(grammar.pattern, grammar.message);
const text = () => str(GRAMMAR.text);
const envMap = () =>
  z.record(
    str(GRAMMAR.envName).refine(
      (k) => !RESERVED_ENV.test(k),
      "this name decides which programs a root process loads; the topology may not set it (give the service's exec an absolute path instead)",
    ),
    str(GRAMMAR.envValue),
  );

const port = () =>
  z.number({ error: "must be a port number (1-65535)" }).int("must be a whole number").min(1, "must be at least 1").max(65535, "must be at most 65535");
const capability = () => str(GRAMMAR.capability);
/** A reference to a node; the rules check that it names one (and say which exist). */
const nodeRef = () => z.string().regex(/^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]{1,63}$/u, "must name a node (its Tailscale name)");

/** Builds the schema; `strict` rejects unknown keys (the real check), lenient strips them so cross-field rules still run. */
export function meshSchema(strict: boolean) {
  const obj = <T extends z.ZodRawShape>(shape: T) => (strict ? z.strictObject(shape) : z.object(shape));

  const service = obj({
    /** The TCP port the service listens on; none for outbound-only services such as cloudflared. */
    port: port().optional(),
    /** Capabilities the node must have; the catalog in rules.ts adds known ones (ollama needs gpu). Default []. */
    requires: z.array(capability()).default([]),
    /** Runs in Docker rather than as a native binary. Default false. */
    docker: z.boolean().default(false),
    /** Docker image (with docker: true), pinned by tag or digest. */
    image: str(GRAMMAR.image).optional(),
    /** The command systemd starts (ExecStart), an absolute path and its arguments; well-known services have a default. */
    exec: str(GRAMMAR.exec).optional(),
    /** The user the service runs as. Default root. */
    user: str(GRAMMAR.unixUser).optional(),
    /** Working directory (absolute). */
    workingDirectory: str(GRAMMAR.absolutePath).optional(),
    /** Environment for the service (not secrets). Default {}. */
    env: envMap().default({}),
    /** One line for humans. */
    description: text().optional(),
  });

  const optimalos = obj({
    /** legacy (the Pi's original mode), worker (remote worker for Loom dispatch) or fabric (the control plane). */
    mode: z.enum(["legacy", "worker", "fabric"]),
    /** Port OptimalOS listens on. Default 3000. */
    port: port().default(3000),
    /**
     * Where OptimalOS binds (OPTIMALOS_HOST): loopback (127.0.0.1), tailnet (the node's Tailscale IPv4)
     * or all (0.0.0.0). Peers must be able to reach it; a node with a public address must not use all.
     */
    bind: z.enum(["loopback", "tailnet", "all"]),
    /** Share a loopback-bound port on the tailnet with `tailscale serve --tcp`. Default false. */
    tailscaleServe: z.boolean().default(false),
    /**
     * Extra environment for the service (OPTIMALOS_HOST and PORT are derived, not set here). Not
     * secrets: the install and heartbeat scripts export these values on their command line, which
     * the node's process list, sudo's log and the stack's state show. Default {}.
     */
    env: envMap().default({}),
    /** Path that answers 200 when OptimalOS is healthy. Default /health. */
    healthPath: str(GRAMMAR.healthPath).default("/health"),
    /** What `bun add -g` installs. Default optimalos. */
    package: str(GRAMMAR.packageSpec).default("optimalos"),
  });

  const node = obj({
    /** One line for humans. */
    description: text().optional(),
    machine: obj({
      /** raspberry-pi, desktop, cloud-server or vm. */
      kind: z.enum(["raspberry-pi", "desktop", "cloud-server", "vm"]),
      /** CPU architecture, as Debian names it. */
      arch: z.enum(["arm64", "amd64"]),
      /** Free text, e.g. the GPU model. */
      model: text().optional(),
    }),
    /** hub runs the scheduled (cron) strands; exactly one node holds this lease. */
    role: z.enum(["hub", "worker"]),
    /** Capability tags (also Tailscale tags), e.g. gpu. Default []. */
    capabilities: z.array(capability()).default([]),
    ssh: obj({
      /** The user remote commands log in as; root or a user with passwordless sudo. */
      user: str(GRAMMAR.unixUser),
      /** SSH port. Default 22. */
      port: port().default(22),
      /** The node's SSH host key (`ssh-ed25519 AAAA...`), pinned instead of trusting on first use. */
      hostKey: str(GRAMMAR.hostKey).optional(),
    }),
    tailnet: obj({
      /** joined: already on the tailnet; bootstrap: to be joined by this program. */
      state: z.enum(["joined", "bootstrap"]),
      /** The node's Tailscale IPv4 (100.64.0.0/10) where known. */
      address: z.string().regex(IPV4, "must be an IPv4 address such as 100.94.77.114").optional(),
      /** Where to reach the node before it is on the tailnet (LAN or public address); required for bootstrap. */
      firstAddress: str(GRAMMAR.address).optional(),
      /** Disable node key expiry. Default: true for servers (raspberry-pi, cloud-server, vm), false for desktops. */
      keyExpiryDisabled: z.boolean().optional(),
    }),
    /** The node's public IPv4, if it has one. */
    publicAddress: z.string().regex(IPV4, "must be an IPv4 address").optional(),
    optimalos,
    /** Other services by name (n8n, strapi, cloudflared, ollama, ...). Default {}. */
    services: z.record(z.string(), service).default({}),
  });

  const hetzner = obj({
    /** The node this server is. */
    node: nodeRef(),
    /** Hetzner server type. Default ccx13. */
    serverType: str(GRAMMAR.hcloudName).default("ccx13"),
    /** Hetzner location, e.g. ash. */
    location: str(GRAMMAR.hcloudName),
    /** Pinned image name, e.g. ubuntu-24.04. */
    image: str(GRAMMAR.hcloudName),
    /** Hetzner backups. Default true. */
    backups: z.boolean().default(true),
    /** Sources allowed to reach SSH (22) from the internet. */
    sshSources: z
      .array(z.string().refine(isCidr, "must be a CIDR such as 203.0.113.7/32 or 2001:db8::/32"))
      .min(1, "list at least one source, or use the tailnet"),
    /** Ids of the running server, its primary IP, its firewall and the operator's SSH key, to adopt instead of create. */
    adopt: obj({
      serverId: hcloudId().optional(),
      primaryIpId: hcloudId().optional(),
      /** The firewall the running server has: adopted, so the server is never without one (a new one would be attached after the old is detached). */
      firewallId: hcloudId().optional(),
      /** The operator's SSH key, already uploaded to the project (Hetzner refuses a second copy). */
      sshKeyId: hcloudId().optional(),
    }).default({}),
  });

  const ingress = obj({
    /** Public hostname, e.g. fabric.optimal.miami. */
    hostname: z.string().regex(HOSTNAME, "must be a lowercase DNS name such as fabric.optimal.miami"),
    /** Optional path regex, as cloudflared takes it. */
    path: z
      .string()
      .superRefine((p, ctx) => {
        const problem = ingressPathProblem(p);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    /** Origin on the hosting node, e.g. http://localhost:3000. */
    service: str(GRAMMAR.origin),
  });

  const tunnel = obj({
    /** The node that runs this tunnel's cloudflared. */
    node: nodeRef(),
    /** The Cloudflare zone the hostnames live in. */
    zone: z.string().regex(HOSTNAME, "must be a zone name such as optimal.miami"),
    /** The tunnel's name in Cloudflare. Default: its key in tunnels. */
    name: str(GRAMMAR.tunnelName).optional(),
    /** The tunnel already exists (created by hand): it must be adopted before the first `up`. Default false. */
    existing: z.boolean().default(false),
    /** Id of the existing tunnel to adopt. */
    adoptId: z.string().regex(UUID, "must be a tunnel UUID").optional(),
    /** The zone's id; looked up by name when absent, required to adopt DNS records. */
    zoneId: z.string().regex(CLOUDFLARE_ID, "must be a Cloudflare zone id (32 hex digits)").optional(),
    /** Ids of existing DNS records to adopt, by hostname. Default {}. */
    dnsRecordIds: z
      .record(
        z.string().regex(HOSTNAME, "must be a hostname of this tunnel"),
        z.string().regex(CLOUDFLARE_ID, "must be a Cloudflare record id (32 hex digits)"),
      )
      .default({}),
    /** Unprotect this tunnel, its config and records so that removing it next is allowed. Default false. */
    retire: z.boolean().default(false),
    ingress: z.array(ingress).min(1, "a tunnel needs at least one hostname"),
  });

  const flow = obj({
    /** Nodes (or `paired-devices`) that open connections. */
    from: z.array(nodeRef()).min(1),
    /** Nodes that accept them. */
    to: z.array(nodeRef()).min(1),
    /** The service on the target nodes: optimalos or a service name. */
    service: z.string().regex(KEY_NAME, "must be optimalos or the name of a service"),
    /** The targets also call back (report results). Default false. */
    reply: z.boolean().default(false),
  });

  const access = obj({
    /**
     * Who administers the mesh: emails (put in group:mesh-admins) or autogroup:admin / owner /
     * network-admin / it-admin. Emails also let the policy test admin access. Default [autogroup:admin].
     */
    admins: z
      .array(z.union([z.enum(AUTOGROUPS), str(GRAMMAR.email)], { error: `must be an email or one of ${AUTOGROUPS.join(", ")}` }))
      .min(1)
      .default(["autogroup:admin"]),
    /** Tag carried by devices the cockpit pairs. Default tag:fabric-device. */
    pairedDeviceTag: str(GRAMMAR.tag).default("tag:fabric-device"),
    /** Tag of the automation runner (drift checks). Default tag:ci. */
    ciTag: str(GRAMMAR.tag).default("tag:ci"),
    /** The policy already exists and may be overwritten on first `up`. Default false. */
    adoptPolicy: z.boolean().default(false),
    /** The service flows to allow, by name. */
    flows: z.record(z.string(), flow).default({}),
  });

  const trust = obj({
    /** Node that holds the private key. */
    from: nodeRef(),
    /** Local user on `from` that uses it. Default: that node's ssh.user. */
    fromUser: str(GRAMMAR.unixUser).optional(),
    /** Node whose authorized_keys trusts it. */
    to: nodeRef(),
    /** The user on `to`. */
    toUser: str(GRAMMAR.unixUser),
    /** Host alias in the ssh config of `from`. Default: the target's name. */
    hostAlias: z.string().regex(DNS_LABEL, "must be a host alias: lowercase letters, digits and inner hyphens").optional(),
  });

  return obj({
    nodes: z.record(z.string(), node).refine((n) => Object.keys(n).length > 0, "declare at least one node"),
    hetzner: hetzner.optional(),
    tunnels: z.record(z.string(), tunnel).default({}),
    access: access.default({ admins: ["autogroup:admin"], pairedDeviceTag: "tag:fabric-device", ciTag: "tag:ci", adoptPolicy: false, flows: {} }),
    heartbeat: obj({
      /** The registration command run on each node once OptimalOS is healthy; {node} is the node's name. */
      command: str(GRAMMAR.heartbeat)
        .regex(/\{node\}/, "must contain {node}")
        .default("optimal infra heartbeat --name {node}"),
    }).default({ command: "optimal infra heartbeat --name {node}" }),
    /**
     * The running estate has been adopted: its resources are in the stack's state, so the adoption
     * ids (hetzner.adopt, tunnels' adoptId and dnsRecordIds) are kept as a record and no longer
     * imported. `npm run import -- --finish` sets it after the first up, once the state holds them.
     * Default false.
     */
    adopted: z.boolean().default(false),
    /** SSH trust between nodes, by key name (popos-deploy). Default {}. */
    sshTrust: z.record(z.string(), trust).default({}),
  });
}

export type MeshSpec = z.output<ReturnType<typeof meshSchema>>;
export type NodeSpec = MeshSpec["nodes"][string];
export type TunnelSpec = MeshSpec["tunnels"][string];

/** One node of the topology with its name: the slice a node's renderers are given. */
export interface NamedNode {
  readonly name: string;
  readonly spec: NodeSpec;
}

/** The node `name` of a validated topology, as a slice. */
export function namedNode(mesh: MeshSpec, name: string): NamedNode {
  const spec = mesh.nodes[name];
  if (spec === undefined) throw new Error(`the topology has no node ${name}`);
  return { name, spec };
}
export type TrustSpec = MeshSpec["sshTrust"][string];

/** An SSH trust's trusting user and the name it uses for the target, defaults filled in. */
export function trustEnds(spec: MeshSpec, trust: TrustSpec): { fromUser: string; alias: string } {
  return { fromUser: trust.fromUser ?? spec.nodes[trust.from]!.ssh.user, alias: trust.hostAlias ?? trust.to };
}

/** The hostnames a tunnel serves, once each, sorted (a hostname may have several path rules). */
export function tunnelHostnames(tunnel: TunnelSpec): string[] {
  return [...new Set(tunnel.ingress.map((r) => r.hostname))].sort();
}
