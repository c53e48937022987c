// The program: load the stack's topology, plan the mesh, register it, return the stack outputs.
// A function, so one process can run it more than once (an operator command that runs several
// engine operations inline: each run registers the resources anew).
import * as pulumi from "@pulumi/pulumi";
import { Mesh } from "./components/mesh/mesh";
import { planMesh } from "./plan/mesh-plan";
import { loadStack } from "./stacks/load";

/** The stack outputs: only those that exist (an output that is undefined makes Pulumi warn). */
export interface MeshOutputs {
  /** OptimalOS's list of target hosts: name, role, capabilities, tailnet address, base URLs. */
  readonly inventory: Mesh["inventory"];
  /** The Hetzner cockpit: server id, IPv4, tailnet name and status. */
  readonly cockpit?: pulumi.Output<{ serverId: string; ipv4: string; tailnetName: string; status: string }>;
}

/** Registers the mesh of the current stack. `offline`: run under the offline plan's mocks. */
export function meshProgram(offline = false): MeshOutputs {
  const { spec, settings } = loadStack({ offline });
  const mesh = new Mesh({ plan: planMesh(spec, pulumi.getStack()), settings });
  return {
    inventory: mesh.inventory,
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
}
