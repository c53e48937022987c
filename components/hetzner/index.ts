// The Hetzner cockpit: SSH key, a primary IPv4 that outlives the server, a firewall attached at
// creation, and the server with its first-boot cloud-init.
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { MeshSpec } from "../../stacks/schema";
import { recordArtifact } from "../artifacts";
import { renderCloudInit } from "./cloud-init";
import { hetznerLabels } from "./labels";

export interface HetznerCockpitArgs {
  /** The validated topology; must have a `hetzner` section. */
  readonly spec: MeshSpec;
  /** The operator's public key, installed for root at creation. */
  readonly sshPublicKey: pulumi.Input<string>;
  /** Single-use Tailscale auth key for the server's first boot; secret. */
  readonly authKey: pulumi.Output<string>;
  /** The node's tailnet tags. */
  readonly tags: readonly string[];
}

/** Tailscale's WireGuard port; open so peers connect directly rather than through a relay. */
export const TAILSCALE_UDP_PORT = "41641";
const ANYWHERE = ["0.0.0.0/0", "::/0"];

/** Inbound rules: SSH from the configured sources, Tailscale's UDP port and ICMP. Nothing else. */
export function firewallRules(spec: MeshSpec): hcloud.types.input.FirewallRule[] {
  const h = spec.hetzner!;
  const ssh = spec.nodes[h.node]!.ssh.port;
  return [
    { direction: "in", protocol: "tcp", port: String(ssh), sourceIps: [...h.sshSources], description: "SSH, keys only" },
    { direction: "in", protocol: "udp", port: TAILSCALE_UDP_PORT, sourceIps: ANYWHERE, description: "Tailscale direct connections" },
    { direction: "in", protocol: "icmp", sourceIps: ANYWHERE, description: "ICMP" },
  ];
}

/**
 * Inputs Hetzner only reads when a server is created. Changing any of them would replace the
 * server, so a normal `up` ignores them: day-2 changes go through the node host's SSH commands,
 * and a disaster-recovery rebuild replaces the server on purpose (`pulumi up --replace <urn>`).
 */
export const CREATE_ONLY_INPUTS = ["image", "sshKeys", "userData"];

/**
 * Also ignored after creation: the public network. The provider's Read never records it, so every
 * later diff would be an update, and that update (terraform-provider-hcloud v1.68.0,
 * internal/server/resource.go updatePublicNet) powers the server off, unassigns its IPv4 and
 * deletes it. On create (a new server, or a rebuild) it is what attaches the kept primary IP.
 */
export const IGNORED_AFTER_CREATE = [...CREATE_ONLY_INPUTS, "publicNets"];

export class HetznerCockpit extends pulumi.ComponentResource {
  public readonly serverId: pulumi.Output<string>;
  public readonly ipv4: pulumi.Output<string>;
  public readonly tailnetName: string;
  public readonly status: pulumi.Output<string>;

  constructor(name: string, args: HetznerCockpitArgs, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:hetzner:HetznerCockpit", name, {}, opts);
    const { spec } = args;
    const h = spec.hetzner;
    if (h === undefined) throw new pulumi.ResourceError("the topology has no hetzner section", this);
    // Adoption ids are import options only until the estate is adopted: Pulumi refuses to replace
    // a resource that still carries one (a rebuild), and re-imports one whose stored id differs.
    const adopt = spec.adopted ? {} : h.adopt;
    const labels = hetznerLabels(h.node);

    // The operator's key usually exists in the project already (it created the running server):
    // Hetzner refuses a second upload of one fingerprint, so an existing key is adopted. Its stored
    // text may differ from the setting in its comment only, which must not replace it.
    const key = new hcloud.SshKey(
      `${name}-ssh-key`,
      { name: `${h.node}-operator`, publicKey: args.sshPublicKey, labels },
      {
        parent: this,
        ...(adopt.sshKeyId !== undefined ? { import: adopt.sshKeyId } : {}),
        ...(h.adopt.sshKeyId !== undefined ? { ignoreChanges: ["publicKey"] } : {}),
      },
    );
    // Keeps the address across rebuilds: never deleted with a server, protected from `destroy` by
    // Pulumi and from any API delete by Hetzner (the server's own updates would otherwise delete it).
    const ip = new hcloud.PrimaryIp(
      `${name}-ipv4`,
      { name: `${h.node}-ipv4`, type: "ipv4", autoDelete: false, deleteProtection: true, location: h.location, labels },
      { parent: this, protect: true, ...(adopt.primaryIpId !== undefined ? { import: adopt.primaryIpId } : {}) },
    );
    const firewall = new hcloud.Firewall(`${name}-firewall`, { name: `${h.node}-inbound`, rules: firewallRules(spec), labels }, { parent: this });

    const userData = pulumi.secret(args.authKey.apply((authKey) => renderCloudInit({ spec, node: h.node, tags: args.tags, authKey })));
    recordArtifact(
      "hetzner/cloud-init.yaml",
      renderCloudInit({ spec, node: h.node, tags: args.tags, authKey: "<secret: single-use Tailscale auth key, not written offline>" }),
    );

    const server = new hcloud.Server(
      `${name}-server`,
      {
        name: h.node,
        serverType: h.serverType,
        location: h.location,
        image: h.image,
        backups: h.backups,
        // Attached at creation through the server itself, so it is never up without its firewall.
        firewallIds: [firewall.id.apply(Number)],
        publicNets: [{ ipv4Enabled: true, ipv4: ip.id.apply(Number), ipv6Enabled: true }],
        sshKeys: [key.id],
        userData,
        labels,
      },
      {
        parent: this,
        ignoreChanges: IGNORED_AFTER_CREATE,
        // The primary IP can be assigned to one server only: a rebuild deletes the old server first.
        deleteBeforeReplace: true,
        additionalSecretOutputs: ["userData"],
        ...(adopt.serverId !== undefined ? { import: adopt.serverId } : {}),
      },
    );

    this.serverId = server.id;
    this.ipv4 = ip.ipAddress;
    this.tailnetName = h.node;
    this.status = server.status;
    this.registerOutputs({ serverId: this.serverId, ipv4: this.ipv4, tailnetName: this.tailnetName, status: this.status });
  }
}
