// The mesh: composes the estate from a validated MeshSpec. Later components (tailnet, Hetzner
// cockpit, tunnels, node hosts) become its children here.
import * as pulumi from "@pulumi/pulumi";
import type { MeshSpec } from "../../stacks/schema";
import { recordArtifact } from "../artifacts";
import { Tailnet } from "../tailnet";
import { renderInventory, renderInventoryJson, type InventoryEntry } from "./inventory";

export interface MeshArgs {
  /** The validated topology; components never read config themselves. */
  readonly spec: MeshSpec;
  /** Stack name, for generated headers. */
  readonly stack: string;
}

export class Mesh extends pulumi.ComponentResource {
  /** Every node with its role, capabilities and base URLs: OptimalOS's list of target hosts. */
  public readonly inventory: pulumi.Output<InventoryEntry[]>;
  public readonly tailnet: Tailnet;

  constructor(name: string, args: MeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:index:Mesh", name, {}, opts);
    this.tailnet = new Tailnet(`${name}-tailnet`, { spec: args.spec, stack: args.stack }, { parent: this });
    this.inventory = pulumi.output(renderInventory(args.spec));
    recordArtifact("inventory.json", renderInventoryJson(args.spec));
    this.registerOutputs({ inventory: this.inventory });
  }
}
