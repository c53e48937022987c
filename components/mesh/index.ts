// The mesh: composes the estate from a validated MeshSpec. Later components (tailnet, Hetzner
// cockpit, tunnels, node hosts) become its children here.
import * as pulumi from "@pulumi/pulumi";
import type { MeshSpec } from "../../stacks/schema";
import type { Settings } from "../../stacks/load";
import { recordArtifact } from "../artifacts";
import { HetznerCockpit } from "../hetzner";
import { Tailnet } from "../tailnet";
import { CloudflareTunnel } from "../tunnel";
import { renderInventory, renderInventoryJson, type InventoryEntry } from "./inventory";

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
  public readonly inventory: pulumi.Output<InventoryEntry[]>;
  public readonly tailnet: Tailnet;
  public readonly cockpit?: HetznerCockpit;
  /** Tunnels by their key in the topology. */
  public readonly tunnels: Record<string, CloudflareTunnel>;

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
      this.tunnels[key] = new CloudflareTunnel(`${name}-tunnel-${key}`, { key, tunnel: args.spec.tunnels[key]!, accountId: args.settings.cloudflareAccountId }, { parent: this });
    }
    this.inventory = pulumi.output(renderInventory(args.spec));
    recordArtifact("inventory.json", renderInventoryJson(args.spec));
    this.registerOutputs({ inventory: this.inventory });
  }
}
