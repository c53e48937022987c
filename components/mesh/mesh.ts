// The mesh: registers the estate a MeshPlan describes: the tailnet, the Hetzner cockpit, the
// tunnels, a node host per node and the SSH trust between nodes; exports the node inventory.
import * as pulumi from "@pulumi/pulumi";
import { fillTemplate } from "../../text/template";
import type { MeshPlan, Named } from "../../plan/mesh-plan";
import type { Settings } from "../../stacks/load";
import { Tunnel } from "../cloudflare/tunnel";
import { HetznerCockpit } from "../hetzner/cockpit";
import { aliasOf } from "../names";
import { NodeHost } from "../node/host";
import { SshTrust } from "../node/trust";
import { deviceSettings, Tailnet } from "../tailnet/tailnet";
import type { InventoryEntry } from "../../render/mesh/inventory";

export interface MeshArgs {
  /** What to register, computed from the validated topology (planMesh); components never read config. */
  readonly plan: MeshPlan;
  /** Operator settings (keys, account ids). */
  readonly settings: Settings;
}

/** A protected component with no resource of its own: see the Mesh's constructor for why it exists. */
class DestroyGuard extends pulumi.ComponentResource {
  constructor(plan: Named, opts: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:index:DestroyGuard", plan.name, {}, { ...opts, aliases: aliasOf(plan), protect: true });
    this.registerOutputs({});
  }
}

export class Mesh extends pulumi.ComponentResource {
  /** Every node with its role, capabilities and base URLs: OptimalOS's list of target hosts. */
  public readonly inventory: { readonly [K in keyof InventoryEntry]: pulumi.Input<InventoryEntry[K]> }[];
  public readonly tailnet: Tailnet;
  public readonly cockpit?: HetznerCockpit;
  /** Tunnels by their key in the topology. */
  public readonly tunnels: Record<string, Tunnel>;
  /** Node hosts by node name. */
  public readonly hosts: Record<string, NodeHost>;

  constructor(args: MeshArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan, settings } = args;
    super("optimal-mesh:index:Mesh", plan.name, {}, { ...opts, aliases: aliasOf(plan) });
    this.tailnet = new Tailnet(plan.tailnet, { parent: this });
    const c = plan.cockpit;
    if (c !== undefined) {
      const authKey = this.tailnet.authKeys[c.node];
      this.cockpit = new HetznerCockpit({ plan: c, sshPublicKey: settings.sshPublicKey, ...(authKey !== undefined ? { authKey } : {}) }, { parent: this });
    }
    this.tunnels = {};
    for (const t of plan.tunnels) this.tunnels[t.key] = new Tunnel({ plan: t, accountId: settings.cloudflareAccountId }, { parent: this });
    this.hosts = {};
    for (const n of plan.nodes) {
      const authKey = n.bootstrap !== undefined ? this.tailnet.authKeys[n.node] : undefined;
      const tunnel = n.tunnel !== undefined ? this.tunnels[n.tunnel] : undefined;
      const reachable = this.tailnet.devices[n.node]?.tags;
      this.hosts[n.node] = new NodeHost(
        {
          plan: n,
          privateKey: settings.sshPrivateKey,
          ...(authKey !== undefined ? { authKey } : {}),
          ...(tunnel !== undefined ? { tunnelToken: tunnel.token } : {}),
          ...(this.cockpit !== undefined && n.rebuildable ? { rebuildId: this.cockpit.serverId } : {}),
          ...(reachable !== undefined ? { reachable } : {}),
        },
        { parent: this },
      );
    }
    // The server's device is found once its node host has reached it over the tailnet.
    const serverDevices = c !== undefined ? deviceSettings(this.tailnet, this.tailnet.serverDevices, [this.hosts[c.node]!.deploy]) : {};
    const devices = { ...this.tailnet.devices, ...serverDevices };
    const trusts = plan.trusts.map(
      (t) => new SshTrust({ plan: t, privateKey: settings.sshPrivateKey, after: [this.hosts[t.from]!.deploy, this.hosts[t.to]!.deploy] }, { parent: this }),
    );
    // `pulumi destroy` deletes dependents before what they depend on, and refuses a protected
    // resource only when its delete step runs (pulumi v3.248.0 pkg/resource/deploy/step.go:614-618):
    // without this guard it would delete the server, the firewall and every node's services before
    // stopping at the protected primary IP, tunnels and policy. The guard depends on every resource
    // of the mesh, so it is the first to be deleted, and its protection stops the destroy before
    // anything else is. Its edges are dependsOn only: no property of it can change, so no
    // replacement ever cascades into it (step_generator.go:3058-3075), and a component is never
    // replaced (:3037-3040). Retiring the whole mesh: `pulumi state unprotect` the guard first.
    new DestroyGuard(plan.destroyGuard, {
      parent: this,
      dependsOn: [this.tailnet, ...(this.cockpit !== undefined ? [this.cockpit] : []), ...Object.values(this.tunnels), ...Object.values(this.hosts), ...trusts],
    });
    // Addresses the topology does not record come from the devices the tailnet lists, field by
    // field: a preview knows every entry, all but the rebuilt server's address.
    this.inventory = plan.inventory.map((i) => {
      const address = devices[i.entry.name]?.address;
      if (i.listed === undefined || address === undefined) return i.entry;
      const { fallbackBaseUrl } = i.listed;
      return {
        ...i.entry,
        tailnetAddress: address.apply((a) => a ?? null),
        fallbackBaseUrl: address.apply((a) => (a === undefined ? null : fillTemplate(fallbackBaseUrl, { address: a }))),
      };
    });
    this.registerOutputs({ inventory: this.inventory });
  }
}
