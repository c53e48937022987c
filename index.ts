// Entry point: load the stack's topology, plan the mesh, register it, export the node inventory.
import * as pulumi from "@pulumi/pulumi";
import { Mesh } from "./components/mesh";
import { planMesh } from "./plan";
import { loadStack } from "./stacks/load";

// Set only by the offline plan (scripts/plan.ts), which runs this file under Pulumi's mocks.
const offline = process.env.OPTIMAL_MESH_OFFLINE === "1";

const { spec, settings } = loadStack({ offline });
const mesh = new Mesh({ plan: planMesh(spec, pulumi.getStack()), settings });

// The stack outputs: only those that exist (an output that is undefined makes Pulumi warn).
export = {
  /** OptimalOS's list of target hosts: name, role, capabilities, tailnet address, base URLs. */
  inventory: mesh.inventory,
  /** The Hetzner cockpit: server id, IPv4, tailnet name and status. */
  ...(mesh.cockpit === undefined
    ? {}
    : {
        cockpit: pulumi.output({
          serverId: mesh.cockpit.serverId,
          ipv4: mesh.cockpit.ipv4,
          tailnetName: mesh.cockpit.tailnetName,
          status: mesh.cockpit.status,
        }),
      }),
};
