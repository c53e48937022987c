// Entry point: load the stack's topology, build the mesh, export the node inventory.
import * as pulumi from "@pulumi/pulumi";
import { recordNotice } from "./components/artifacts";
import { Mesh } from "./components/mesh";
import { loadStack } from "./stacks/load";

// Set only by the offline plan (scripts/plan.ts), which runs this file under Pulumi's mock runtime.
const offline = process.env.OPTIMAL_MESH_OFFLINE === "1";

const { spec, settings, notices } = loadStack({ offline });
for (const n of notices) recordNotice(`${n.path}: ${n.message} (fix: ${n.fix})`);
const mesh = new Mesh(pulumi.getStack(), { spec, settings, stack: pulumi.getStack() });

/** OptimalOS's list of target hosts: name, role, capabilities, tailnet address, base URLs. */
export const inventory = mesh.inventory;

/** The Hetzner cockpit: server id, IPv4, tailnet name and status. */
export const cockpit =
  mesh.cockpit === undefined
    ? undefined
    : pulumi.output({ serverId: mesh.cockpit.serverId, ipv4: mesh.cockpit.ipv4, tailnetName: mesh.cockpit.tailnetName, status: mesh.cockpit.status });
