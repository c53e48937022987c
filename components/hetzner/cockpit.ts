// The Hetzner cockpit: SSH key, a primary IPv4 that outlives the server, a firewall attached at
// creation, and the server with its first-boot cloud-init.
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { fillTemplate } from "../../text/template";
import type { CockpitPlan } from "../../plan/mesh-plan";
import { aliasOf } from "../names";

export interface HetznerCockpitArgs {
  /** The cockpit's part of the mesh plan. */
  readonly plan: CockpitPlan;
  /** The operator's public key, installed for root at creation. */
  readonly sshPublicKey: pulumi.Input<string>;
  /** Single-use Tailscale auth key for the server's first boot; secret. None for the adopted running server, which never boots from user data again. */
  readonly authKey?: pulumi.Output<string>;
}

/**
 * Inputs Hetzner only reads when a server is created. Changing any of them would replace the
 * server, so a normal `up` ignores them: day-2 changes go through the node host's SSH commands,
 * and a disaster-recovery rebuild replaces the server on purpose (`pulumi up --replace <urn>`).
 */
const CREATE_ONLY_INPUTS = ["image", "sshKeys", "userData"];

/**
 * Also ignored after creation: the public network. The provider's Read never records it, so every
 * later diff would be an update, and that update (terraform-provider-hcloud v1.68.0,
 * internal/server/resource.go updatePublicNet) powers the server off, unassigns its IPv4 and
 * deletes it. On create (a new server, or a rebuild) it is what attaches the kept primary IP.
 */
const IGNORED_AFTER_CREATE = [...CREATE_ONLY_INPUTS, "publicNets"];

export class HetznerCockpit extends pulumi.ComponentResource {
  public readonly serverId: pulumi.Output<string>;
  public readonly ipv4: pulumi.Output<string>;
  public readonly tailnetName: string;
  public readonly status: pulumi.Output<string>;

  constructor(args: HetznerCockpitArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan } = args;
    super("optimal-mesh:hetzner:HetznerCockpit", plan.name, {}, { ...opts, aliases: aliasOf(plan) });
    const labels = { ...plan.labels };

    // The operator's key usually exists in the project already (it created the running server):
    // Hetzner refuses a second upload of one fingerprint, so an existing key is adopted. Its stored
    // text may differ from the setting in its comment only, which must not replace it.
    const key = new hcloud.SshKey(
      plan.sshKey.name,
      { name: plan.sshKey.keyName, publicKey: args.sshPublicKey, labels },
      {
        parent: this,
        ...(plan.sshKey.importId !== undefined ? { import: plan.sshKey.importId } : {}),
        ...(plan.sshKey.ignorePublicKey ? { ignoreChanges: ["publicKey"] } : {}),
      },
    );
    // Keeps the address across rebuilds: never deleted with a server, protected from `destroy` by
    // Pulumi and from any API delete by Hetzner (the server's own updates would otherwise delete it).
    const ip = new hcloud.PrimaryIp(
      plan.ipv4.name,
      { name: plan.ipv4.ipName, type: "ipv4", autoDelete: false, deleteProtection: true, location: plan.ipv4.location, labels },
      { parent: this, protect: true, ...(plan.ipv4.importId !== undefined ? { import: plan.ipv4.importId } : {}) },
    );
    const firewall = new hcloud.Firewall(
      plan.firewall.name,
      { name: plan.firewall.firewallName, rules: plan.firewall.rules.map((r) => ({ ...r, sourceIps: [...r.sourceIps] })), labels },
      // The running server's firewall is adopted: a new one would be attached only after the
      // provider detached the old, leaving the server a moment without any.
      { parent: this, ...(plan.firewall.importId !== undefined ? { import: plan.firewall.importId } : {}) },
    );

    const authKey = args.authKey;
    const userData = authKey === undefined ? undefined : pulumi.secret(authKey.apply((k) => fillTemplate(plan.userData, { authKey: k })));
    const server = new hcloud.Server(
      plan.server.name,
      {
        name: plan.server.serverName,
        serverType: plan.server.serverType,
        location: plan.server.location,
        image: plan.server.image,
        backups: plan.server.backups,
        // Attached at creation through the server itself, so it is never up without its firewall.
        firewallIds: [firewall.id.apply(Number)],
        publicNets: [{ ipv4Enabled: true, ipv4: ip.id.apply(Number), ipv6Enabled: true }],
        sshKeys: [key.id],
        ...(userData !== undefined ? { userData } : {}),
        labels,
      },
      {
        parent: this,
        ignoreChanges: IGNORED_AFTER_CREATE,
        // The primary IP can be assigned to one server only: a rebuild deletes the old server first.
        deleteBeforeReplace: true,
        additionalSecretOutputs: ["userData"],
        // While it is being adopted, the running server is protected: pulumi 3.248 replaces an
        // imported resource that needs it with only a warning (pkg/engine/lifecycletest
        // TestImportDeleteBeforeReplace: the original is deleted), and this one deletes first.
        // Protected, the replacement fails the preview instead (step_generator.go:1834-1846).
        ...(plan.server.importId !== undefined ? { import: plan.server.importId, protect: true } : {}),
      },
    );

    this.serverId = server.id;
    this.ipv4 = ip.ipAddress;
    this.tailnetName = plan.node;
    this.status = server.status;
    this.registerOutputs({ serverId: this.serverId, ipv4: this.ipv4, tailnetName: this.tailnetName, status: this.status });
  }
}
