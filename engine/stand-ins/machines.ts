// What plays the machines for the stand-ins, named by OPTIMAL_MESH_MACHINES:
//   none        servers are recorded without booting, remote commands without running (no
//               connection is attempted): fast checks of the engine's decisions;
//   FILE        a JSON file of lab hosts: { "hosts": { "<name a connection dials>": { "netns":
//               "<network namespace>", "address": "<address in it>" } } }. A command dials its
//               host inside that namespace over real OpenSSH; a name not in the file does not
//               resolve, as a name missing from DNS. Its "serverHook" is the Unix socket that
//               boots and removes a server's host (servers.ts).
import * as fs from "node:fs";

export interface LabHost {
  readonly netns: string;
  readonly address: string;
}

export type Machines = { readonly kind: "none" } | { readonly kind: "lab"; readonly file: string };

export function machinesFromEnv(): Machines {
  const v = process.env.OPTIMAL_MESH_MACHINES;
  if (v === undefined || v === "") throw new Error("OPTIMAL_MESH_MACHINES is not set: `none`, or a file naming the lab hosts that play the machines");
  if (v === "none") return { kind: "none" };
  if (!fs.existsSync(v)) throw new Error(`OPTIMAL_MESH_MACHINES names ${v}, which does not exist`);
  return { kind: "lab", file: v };
}

/** The lab host a name dials, read anew on every call (a test boots and removes hosts between runs). */
export function labHost(machines: Machines & { kind: "lab" }, name: string): LabHost | undefined {
  const doc = JSON.parse(fs.readFileSync(machines.file, "utf8")) as { hosts?: Record<string, LabHost> };
  return doc.hosts?.[name];
}
