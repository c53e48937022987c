// Entry point: load the stack's topology, build the mesh, export the node inventory.
import * as pulumi from "@pulumi/pulumi";
import { Mesh } from "./components/mesh";
import { loadStack } from "./stacks/load";

// Set only by the offline plan (scripts/plan.ts), which runs this file under Pulumi's mock runtime.
const offline = process.env.OPTIMAL_MESH_OFFLINE === "1";

const { spec } = loadStack({ offline });
const mesh = new Mesh(pulumi.getStack(), { spec, stack: pulumi.getStack() });

/** OptimalOS's list of target hosts: name, role, capabilities, tailnet address, base URLs. */
export const inventory = mesh.inventory;
