// The mesh: composes the estate from a validated MeshSpec: the tailnet, the Hetzner cockpit, the
// tunnels, a node host per node and the SSH trust between nodes; exports the node inventory.
import * as pulumi from "@pulumi/pulumi";
import type { MeshSpec } from "../../stacks/schema";
import type { Settings } from "../../stacks/load";
import { recordArtifact } from "../artifacts";
import { HetznerCockpit } from "../hetzner";
import { NodeHost } from "../node";
import { SshTrust } from "../node/trust";
import { Tailnet } from "../tailnet";
import { CloudflareTunnel } from "../tunnel";
import { renderMermaid } from "./diagram";
import { inventoryEntry, renderInventory, renderInventoryJson, type InventoryEntry } from "./inventory";

export interface MeshArgs {
  /** The validated topology; components never read config themselves. */
  readonly spec: MeshSpec;
  /** Stack name, for generated headers. */
  readonly stack: string;
  /** Operator settings (keys, account ids). */
  readonly settings: Settings;
}

export class Mesh extends pulumi.ComponentResource {
  /** Every node with its role, capabilities and base URLs: OptimalOS's list of target hosts. */
  public readonly inventory: { readonly [K in keyof InventoryEntry]: pulumi.Input<InventoryEntry[K]> }[];
  public readonly tailnet: Tailnet;
  public readonly cockpit?: HetznerCockpit;
  /** Tunnels by their key in the topology. */
  public readonly tunnels: Record<string, CloudflareTunnel>;
  /** Node hosts by node name. */
  public readonly hosts: Record<string, NodeHost>;

  constructor(name: string, args: MeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:index:Mesh", name, {}, opts);
    this.tailnet = new Tailnet(`${name}-tailnet`, { spec: args.spec, stack: args.stack }, { parent: this });
    const h = args.spec.hetzner;
    if (h !== undefined) {
      this.cockpit = new HetznerCockpit(
        `${name}-cockpit`,
        { spec: args.spec, sshPublicKey: args.settings.sshPublicKey, authKey: this.tailnet.authKeys[h.node]!, tags: this.tailnet.nodeTags[h.node]! },
        { parent: this },
      );
    }
    this.tunnels = {};
    for (const key of Object.keys(args.spec.tunnels).sort()) {
      this.tunnels[key] = new CloudflareTunnel(
        `${name}-tunnel-${key}`,
        { key, tunnel: args.spec.tunnels[key]!, accountId: args.settings.cloudflareAccountId, importIds: !args.spec.adopted },
        { parent: this },
      );
    }
    this.hosts = {};
    for (const node of Object.keys(args.spec.nodes).sort()) {
      const tunnel = Object.values(this.tunnels).find((t) => t.node === node);
      this.hosts[node] = new NodeHost(
        `${name}-node-${node}`,
        {
          spec: args.spec,
          node,
          privateKey: args.settings.sshPrivateKey,
          tags: this.tailnet.nodeTags[node]!,
          // The Hetzner server joins the tailnet from its cloud-init; the node host bootstraps the others.
          ...(args.spec.nodes[node]!.tailnet.state === "bootstrap" && h?.node !== node ? { authKey: this.tailnet.authKeys[node]! } : {}),
          ...(tunnel !== undefined ? { tunnelToken: tunnel.token } : {}),
          ...(this.cockpit !== undefined && h?.node === node ? { rebuildId: this.cockpit.serverId } : {}),
          ...(this.tailnet.tagged[node] !== undefined ? { reachable: this.tailnet.tagged[node] } : {}),
        },
        { parent: this },
      );
    }
    // The server's device is found once its node host has reached it over the tailnet.
    this.tailnet.complete(h !== undefined ? this.hosts[h.node]!.deploy : undefined);
    for (const key of Object.keys(args.spec.sshTrust).sort()) {
      const t = args.spec.sshTrust[key]!;
      new SshTrust(
        `${name}-trust-${key}`,
        { spec: args.spec, key, privateKey: args.settings.sshPrivateKey, after: [this.hosts[t.from]!.deploy, this.hosts[t.to]!.deploy] },
        { parent: this },
      );
    }
    // Addresses the topology does not record come from the devices the tailnet lists, field by
    // field: a preview knows every entry, all but the rebuilt server's address.
    this.inventory = renderInventory(args.spec).map((entry) => {
      const listed = this.tailnet.tailnetAddresses[entry.name];
      if (entry.tailnetAddress !== null || listed === undefined) return entry;
      const withAddress = listed.apply((address) => inventoryEntry(args.spec, entry.name, address));
      return { ...entry, tailnetAddress: withAddress.tailnetAddress, fallbackBaseUrl: withAddress.fallbackBaseUrl };
    });
    recordArtifact("inventory.json", renderInventoryJson(args.spec));
    recordArtifact("mesh.mmd", renderMermaid(args.spec, args.stack));
    this.registerOutputs({ inventory: this.inventory });
  }
}
