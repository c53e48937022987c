// The plan of a mesh: everything the program derives from a validated topology, computed once,
// without any engine. Components take their slice and only register resources; the offline plan
// writes out/ from it; drift, dr-rebuild and the lab read resource names from it.
import type { MeshSpec } from "../stacks/schema";
import { namedNode, trustEnds, tunnelHostnames, type NamedNode } from "../stacks/schema";
import { OFFLINE_AUTH_KEY, renderCloudInit, renderCloudInitTemplate } from "../render/hetzner/cloud-init";
import { firewallRules, type FirewallRule } from "../render/hetzner/firewall";
import { hetznerLabels } from "../render/hetzner/labels";
import { renderMermaid } from "../render/mesh/diagram";
import { fallbackBaseUrlTemplate, renderInventory, renderInventoryJson, type InventoryEntry } from "../render/mesh/inventory";
import { renderBundle, renderBundleTemplate } from "../render/node/bundle";
import { renderBootstrapScript, renderDeployScript, renderHeartbeatScript, renderInstallScript, renderRemoveScript } from "../render/node/scripts";
import { DIAL_FIRST_BOOT, DIAL_RUNNING, type DialPatience } from "../render/node/remote";
import { renderTrustAuthorizeScript, renderTrustClientScript, renderTrustKeygenScript, renderTrustRevokeScript } from "../render/node/trust-scripts";
import { bundleFiles, nodeUnits, OFFLINE_SECRETS, TUNNEL_TOKEN_HOLE, unitPath } from "../render/node/units";
import { describeFailures, evaluatePolicy } from "../render/tailnet/evaluate";
import { accessInput, policyInventory, type AccessInput } from "../render/tailnet/intent";
import { renderPolicy } from "../render/tailnet/policy";
import { renderIngress, renderIngressJson, type IngressRule } from "../render/cloudflare/ingress";
import { placeholderFor } from "../stacks/settings";
import { holeMarker, type Template } from "../text/template";
import { names, type Named } from "./names";

export type { Named } from "./names";

/** An offline check the plan ran on what it rendered (the policy's own tests). */
export interface CheckResult {
  readonly name: string;
  readonly passed: number;
  readonly failed: number;
  /** One line per failure. */
  readonly failures: readonly string[];
}

/** A rendered file for review, by its path under out/<stack>/. Secrets are placeholders in it. */
export interface PlannedArtifact {
  readonly path: string;
  readonly text: string;
}

/** How a node is reached over SSH (the private key is the program's to add). */
export interface SshEndpoint {
  /** A tailnet name, or a first address before the node joins. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Pinned host key; absent only where the topology pins none yet. */
  readonly hostKey?: string;
  readonly patience: DialPatience;
}

/** A remote command: its resource name and the script it runs as root. */
export interface PlannedCommand extends Named {
  readonly script: string;
}

export interface TailnetNodePlan {
  readonly node: string;
  /** Its tags, as the policy and the device carry them. */
  readonly tags: readonly string[];
  /** A single-use auth key, for a node that joins (or rejoins on every rebuild). */
  readonly authKey?: Named & { readonly description: string };
  /**
   * The joined device's settings. `afterServer`: the device is looked up only once the server's
   * node host reached it (a rebuilt server is a new device, which does not exist at the start).
   */
  readonly device?: { readonly tags: Named; readonly key: Named; readonly keyExpiryDisabled: boolean; readonly afterServer: boolean };
}

export interface TailnetPlan extends Named {
  readonly policy: Named & { readonly text: string; readonly overwriteExistingContent: boolean };
  readonly dns: Named;
  /** What the policy's own tests found; a non-empty list stops the program. */
  readonly policyFailures: readonly string[];
  readonly nodes: readonly TailnetNodePlan[];
}

export interface CockpitPlan extends Named {
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly sshKey: Named & { readonly keyName: string; readonly importId?: string; readonly ignorePublicKey: boolean };
  readonly ipv4: Named & { readonly ipName: string; readonly location: string; readonly importId?: string };
  readonly firewall: Named & { readonly firewallName: string; readonly rules: readonly FirewallRule[]; readonly importId?: string };
  readonly server: Named & {
    readonly serverName: string;
    readonly serverType: string;
    readonly location: string;
    readonly image: string;
    readonly backups: boolean;
    readonly importId?: string;
  };
  /** The server's cloud-init, its single-use auth key a hole (filled when the key is minted). */
  readonly userData: Template;
}

export interface TunnelPlan extends Named {
  readonly key: string;
  /** The node that runs its cloudflared. */
  readonly node: string;
  /** False once the tunnel is being retired: then it may be removed. */
  readonly protect: boolean;
  /** `adoptId`: the id to import the tunnel by, until the estate is adopted (the account is the program's to add). */
  readonly tunnel: Named & { readonly tunnelName: string; readonly adoptId?: string };
  readonly config: Named & { readonly ingress: readonly IngressRule[] };
  /** The zone by id where the topology gives one, else by name (looked up). */
  readonly zone: { readonly id: string } | { readonly name: string };
  readonly records: readonly (Named & { readonly hostname: string; readonly importId?: string; readonly comment: string })[];
}

export interface NodePlan extends Named {
  readonly node: string;
  /** Reached by its tailnet name; a machine the program creates may be on its first boot. */
  readonly endpoint: SshEndpoint;
  /** The Hetzner server: its commands run again when it is rebuilt (its id is their trigger). */
  readonly rebuildable: boolean;
  /** A node that joins the tailnet through its node host: its first contact, at its first address. */
  readonly bootstrap?: PlannedCommand & { readonly endpoint: SshEndpoint };
  readonly install: PlannedCommand;
  readonly deploy: PlannedCommand & {
    readonly removeScript: string;
    /** The units it deploys, OptimalOS first. */
    readonly units: readonly string[];
    /** The bundle the deploy reads on stdin: as it is, or with the node's secrets as holes. */
    readonly bundle: { readonly text: string } | { readonly template: Template };
    /** Its files that hold secrets (the bundle must be rendered with the real ones). */
    readonly secretFiles: readonly string[];
  };
  readonly heartbeat: PlannedCommand;
  /** The tunnel whose connector token its files hold. */
  readonly tunnel?: string;
}

export interface TrustPlan extends Named {
  readonly key: string;
  readonly from: string;
  readonly to: string;
  readonly keygen: PlannedCommand & { readonly endpoint: SshEndpoint };
  readonly authorize: PlannedCommand & { readonly endpoint: SshEndpoint; readonly revokeScript: string };
  readonly client: PlannedCommand & { readonly endpoint: SshEndpoint };
}

export interface InventoryPlan {
  readonly entry: InventoryEntry;
  /** Where the topology records no address: the entry's fallback URL with the address the tailnet lists as a hole. */
  readonly listed?: { readonly fallbackBaseUrl: Template };
}

export interface MeshPlan extends Named {
  /** The protected component every resource is a dependency of, so a destroy stops before deleting anything. */
  readonly destroyGuard: Named;
  readonly tailnet: TailnetPlan;
  readonly cockpit?: CockpitPlan;
  readonly tunnels: readonly TunnelPlan[];
  readonly nodes: readonly NodePlan[];
  readonly trusts: readonly TrustPlan[];
  readonly inventory: readonly InventoryPlan[];
  readonly checks: readonly CheckResult[];
  /** Every rendered file, sorted by path. */
  readonly artifacts: readonly PlannedArtifact[];
}

/** A relative path without `..` or empty parts. */
const ARTIFACT_PATH = /^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/i;

/** What every section of the plan shares: the topology, its access slice, the names, where its files go. */
interface Context {
  readonly spec: MeshSpec;
  readonly names: ReturnType<typeof names>;
  /**
   * The policy's view of the topology: each node's tags and ports, and the grants, derived once
   * here. A node's key, its device, its bootstrap and the server's cloud-init carry these tags.
   */
  readonly access: AccessInput;
  /** The Hetzner server's node, if any. */
  readonly hetznerNode: string | undefined;
  readonly artifact: (path: string, text: string) => void;
}

const sorted = (o: object) => Object.keys(o).sort();
/** A node's tags, as the policy has them. */
const tagsOf = (access: AccessInput, node: string) => access.node.get(node)!.tags;

/** A pure function of the topology and the stack's name: the same input, the same plan. */
export function planMesh(spec: MeshSpec, stack: string): MeshPlan {
  const artifacts: PlannedArtifact[] = [];
  const access = accessInput(spec);
  const ctx: Context = {
    spec,
    names: names(stack),
    access,
    hetznerNode: spec.hetzner?.node,
    artifact: (path, text) => artifacts.push({ path, text }),
  };
  const { tailnet, checks } = planTailnet(ctx, stack);
  const cockpit = planCockpit(ctx);
  const tunnels = planTunnels(ctx);
  const nodes = sorted(spec.nodes).map((node) => planNode(ctx, node, tunnels.find((t) => t.node === node)?.key));
  const trusts = sorted(spec.sshTrust).map((key) => planTrust(ctx, key));
  // The inventory: addresses the topology does not record come from the devices the tailnet lists.
  const inventory = renderInventory(spec).map((entry) => ({
    entry,
    ...(entry.tailnetAddress === null ? { listed: { fallbackBaseUrl: fallbackBaseUrlTemplate(namedNode(spec, entry.name)) } } : {}),
  }));
  ctx.artifact("inventory.json", renderInventoryJson(spec));
  ctx.artifact("mesh.mmd", renderMermaid(spec, access.grants, stack));

  artifacts.sort((a, b) => a.path.localeCompare(b.path));
  for (const [i, a] of artifacts.entries()) {
    if (!ARTIFACT_PATH.test(a.path)) throw new Error(`artifact path "${a.path}" must be relative, without .. or empty parts`);
    if (i > 0 && artifacts[i - 1]!.path === a.path) throw new Error(`artifact ${a.path} is rendered twice`);
  }
  return {
    ...ctx.names.root(),
    destroyGuard: ctx.names.destroyGuard(),
    tailnet,
    ...(cockpit !== undefined ? { cockpit } : {}),
    tunnels,
    nodes,
    trusts,
    inventory,
    checks,
    artifacts,
  };
}

/** The tailnet: its policy with the result of its own tests, and each node's key or device settings. */
function planTailnet({ spec, access, names: n, hetznerNode, artifact }: Context, stack: string): { tailnet: TailnetPlan; checks: CheckResult[] } {
  const policyText = renderPolicy(access, { stack });
  artifact("tailnet/policy.hujson", policyText);
  const evaluation = evaluatePolicy(policyText, policyInventory(access));
  const policyFailures = describeFailures(evaluation);
  const passed = evaluation.cases.filter((c) => c.pass).length;
  const tailnet: TailnetPlan = {
    ...n.tailnet(),
    policy: { ...n.tailnetChild("policy"), text: policyText, overwriteExistingContent: spec.access.adoptPolicy },
    dns: n.tailnetChild("dns"),
    policyFailures,
    nodes: sorted(spec.nodes).map((node) => {
      const m = namedNode(spec, node).spec;
      const joined = m.tailnet.state === "joined";
      // The Hetzner server joins from cloud-init when it is created (first, or by a rebuild), so it
      // has a key ready, unless it is the adopted running server: that one never reads its user
      // data again, and a rebuild removes its adoption id (and so mints the key) first.
      const rebuildable = hetznerNode === node;
      const createdHere = rebuildable && spec.hetzner?.adopt.serverId === undefined;
      return {
        node,
        tags: tagsOf(access, node),
        ...(!joined || createdHere ? { authKey: { ...n.tailnetChild(`${node}-authkey`), description: `optimal-mesh bootstrap of ${node}` } } : {}),
        ...(joined
          ? {
              device: {
                tags: n.tailnetChild(`${node}-tags`),
                key: n.tailnetChild(`${node}-key`),
                // Servers keep their node key for good; a desktop's key expires unless the topology says otherwise.
                keyExpiryDisabled: m.tailnet.keyExpiryDisabled ?? m.machine.kind !== "desktop",
                afterServer: rebuildable,
              },
            }
          : {}),
      };
    }),
  };
  return { tailnet, checks: [{ name: "tailnet policy tests", passed, failed: evaluation.cases.length - passed, failures: policyFailures }] };
}

/** The Hetzner cockpit, where the topology has one. */
function planCockpit({ spec, access, names: n, artifact }: Context): CockpitPlan | undefined {
  const h = spec.hetzner;
  if (h === undefined) return undefined;
  // Adoption ids are import options only until the estate is adopted: Pulumi refuses to replace
  // a resource that still carries one (a rebuild), and re-imports one whose stored id differs.
  const adopt = spec.adopted ? {} : h.adopt;
  const server = namedNode(spec, h.node);
  artifact("hetzner/cloud-init.yaml", renderCloudInit({ node: server, tags: tagsOf(access, h.node), authKey: OFFLINE_AUTH_KEY }));
  return {
    ...n.cockpit(),
    node: h.node,
    labels: hetznerLabels(h.node),
    sshKey: {
      ...n.cockpitChild("ssh-key"),
      keyName: `${h.node}-operator`,
      ...(adopt.sshKeyId !== undefined ? { importId: adopt.sshKeyId } : {}),
      ignorePublicKey: h.adopt.sshKeyId !== undefined,
    },
    ipv4: {
      ...n.cockpitChild("ipv4"),
      ipName: `${h.node}-ipv4`,
      location: h.location,
      ...(adopt.primaryIpId !== undefined ? { importId: adopt.primaryIpId } : {}),
    },
    firewall: {
      ...n.cockpitChild("firewall"),
      firewallName: `${h.node}-inbound`,
      rules: firewallRules(h.sshSources, server.spec.ssh.port),
      ...(adopt.firewallId !== undefined ? { importId: adopt.firewallId } : {}),
    },
    server: {
      ...n.cockpitChild("server"),
      serverName: h.node,
      serverType: h.serverType,
      location: h.location,
      image: h.image,
      backups: h.backups,
      ...(adopt.serverId !== undefined ? { importId: adopt.serverId } : {}),
    },
    userData: renderCloudInitTemplate({ node: server, tags: tagsOf(access, h.node) }),
  };
}

/** The comment on each DNS record the program manages: what `npm run import` compares with a running record's. */
export function recordComment(tunnelKey: string): string {
  return `optimal-mesh: tunnel ${tunnelKey}`;
}

/** The tunnels, by key. */
function planTunnels({ spec, names: n, artifact }: Context): TunnelPlan[] {
  return sorted(spec.tunnels).map((key) => {
    const t = spec.tunnels[key]!;
    const ingress = renderIngress(t);
    artifact(`tunnels/${key}.ingress.json`, renderIngressJson(ingress));
    return {
      ...n.tunnel(key),
      key,
      node: t.node,
      // Removing a tunnel from the topology fails on protection until it is retired first.
      protect: !t.retire,
      // Adoption ids are import options only until the estate is adopted, as for the cockpit.
      tunnel: { ...n.tunnelChild(key, "tunnel"), tunnelName: t.name ?? key, ...(t.adoptId !== undefined && !spec.adopted ? { adoptId: t.adoptId } : {}) },
      config: { ...n.tunnelChild(key, "config"), ingress },
      zone: t.zoneId !== undefined ? { id: t.zoneId } : { name: t.zone! },
      records: tunnelHostnames(t).map((hostname) => {
        const recordId = t.dnsRecordIds[hostname];
        return {
          ...n.tunnelChild(key, `dns-${hostname}`),
          hostname,
          ...(recordId !== undefined && t.zoneId !== undefined && !spec.adopted ? { importId: `${t.zoneId}/${recordId}` } : {}),
          comment: recordComment(key),
        };
      }),
    };
  });
}

/** How a node is reached by its tailnet name. */
function endpointOf(node: NamedNode, patience: DialPatience = DIAL_RUNNING): SshEndpoint {
  const s = node.spec.ssh;
  return { host: node.name, port: s.port, user: s.user, ...(s.hostKey !== undefined ? { hostKey: s.hostKey } : {}), patience };
}

/** A node host: how it is reached and the commands that bootstrap, install, deploy and register it. */
function planNode({ spec, access, names: n, hetznerNode, artifact }: Context, node: string, tunnel: string | undefined): NodePlan {
  const slice = namedNode(spec, node);
  const m = slice.spec;
  const own = (rel: string, text: string) => artifact(`nodes/${node}/${rel}`, text);
  const rebuildable = hetznerNode === node;
  // The Hetzner server joins the tailnet from its cloud-init; the node host bootstraps the others.
  let bootstrap: NodePlan["bootstrap"];
  if (m.tailnet.state === "bootstrap" && !rebuildable) {
    const script = renderBootstrapScript(node, tagsOf(access, node));
    own("scripts/bootstrap.sh", script);
    // Before it joins, the node is reached at its first address; its host key is learned on this first contact.
    bootstrap = {
      ...n.nodeChild(node, "bootstrap"),
      script,
      endpoint: { host: m.tailnet.firstAddress!, port: m.ssh.port, user: m.ssh.user, patience: DIAL_RUNNING },
    };
  }
  const install = renderInstallScript(slice);
  own("scripts/install.sh", install);
  // Reviewed offline with secret files as placeholders; deployed with the real secrets.
  const planned = nodeUnits(slice, OFFLINE_SECRETS);
  const files = bundleFiles(planned);
  for (const f of files) own(f.path === unitPath(f.unit) ? `units/${f.unit}.service` : `files${f.path}`, f.content);
  const secretFiles = files.filter((f) => f.secret).map((f) => f.path);
  // Validation refuses this (mesh.nodes.<node>.services.cloudflared): reaching it is a bug.
  if (secretFiles.length > 0 && tunnel === undefined) throw new Error(`${node} runs cloudflared but hosts no tunnel`);
  const unitNames = planned.map((p) => p.unit.name);
  const deploy = renderDeployScript(slice, unitNames);
  const remove = renderRemoveScript(node, unitNames, files.map((f) => f.path).sort());
  own("scripts/deploy.sh", deploy);
  own("scripts/remove.sh", remove);
  const heartbeat = renderHeartbeatScript(spec.heartbeat, slice);
  own("scripts/heartbeat.sh", heartbeat);
  return {
    ...n.node(node),
    node,
    endpoint: endpointOf(slice, rebuildable ? DIAL_FIRST_BOOT : DIAL_RUNNING),
    rebuildable,
    ...(bootstrap !== undefined ? { bootstrap } : {}),
    install: { ...n.nodeChild(node, "install"), script: install },
    deploy: {
      ...n.nodeChild(node, "deploy"),
      script: deploy,
      removeScript: remove,
      units: unitNames,
      // Only a node with secret files renders its bundle again, with them.
      bundle:
        secretFiles.length === 0
          ? { text: renderBundle(files) }
          : { template: renderBundleTemplate(bundleFiles(nodeUnits(slice, { tunnelToken: holeMarker(TUNNEL_TOKEN_HOLE) })), [TUNNEL_TOKEN_HOLE]) },
      secretFiles,
    },
    heartbeat: { ...n.nodeChild(node, "heartbeat"), script: heartbeat },
    ...(tunnel !== undefined ? { tunnel } : {}),
  };
}

/** SSH trust from one node to another. */
function planTrust({ spec, names: n, artifact }: Context, key: string): TrustPlan {
  const t = spec.sshTrust[key]!;
  const { fromUser, alias } = trustEnds(spec, t);
  const from = namedNode(spec, t.from);
  const to = namedNode(spec, t.to);
  const own = (rel: string, text: string) => artifact(`trust/${key}/${rel}`, text);
  const keygen = renderTrustKeygenScript(key, fromUser);
  const authorize = renderTrustAuthorizeScript(key, t.toUser);
  const revoke = renderTrustRevokeScript(key, t.toUser);
  const client = renderTrustClientScript({
    keyName: key,
    user: fromUser,
    alias,
    host: t.to,
    targetUser: t.toUser,
    // The offline stand-in for a host key the topology does not pin yet.
    hostKey: to.spec.ssh.hostKey ?? placeholderFor(`mesh.nodes.${t.to}.ssh.hostKey`),
  });
  own("keygen.sh", keygen);
  own("authorize.sh", authorize);
  own("revoke.sh", revoke);
  own("client.sh", client);
  return {
    ...n.trust(key),
    key,
    from: t.from,
    to: t.to,
    keygen: { ...n.trustChild(key, "keygen"), script: keygen, endpoint: endpointOf(from) },
    authorize: { ...n.trustChild(key, "authorize"), script: authorize, revokeScript: revoke, endpoint: endpointOf(to) },
    client: { ...n.trustChild(key, "client"), script: client, endpoint: endpointOf(from) },
  };
}
