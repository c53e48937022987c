// How remote commands reach a node and run as root there.
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { MeshSpec } from "../../stacks/schema";
import { shq } from "../shell/script";

/** How a node is reached over SSH; the private key is a secret Output end to end. */
export interface SshAccess {
  readonly host: pulumi.Input<string>;
  readonly port: number;
  readonly user: string;
  readonly privateKey: pulumi.Output<string>;
  /** Pinned host key; absent only for a node's very first contact before it joins the tailnet. */
  readonly hostKey?: string;
}

export function connectionFor(access: SshAccess): command.types.input.remote.ConnectionArgs {
  return {
    host: access.host,
    port: access.port,
    user: access.user,
    privateKey: access.privateKey,
    ...(access.hostKey !== undefined ? { hostKey: access.hostKey } : {}),
    dialErrorLimit: 10,
    perDialTimeout: 15,
  };
}

/** A node reached by its tailnet name as its SSH user, its host key pinned where the topology pins it. */
export function nodeConnection(spec: MeshSpec, node: string, privateKey: pulumi.Output<string>): command.types.input.remote.ConnectionArgs {
  const n = spec.nodes[node]!;
  return connectionFor({ host: node, port: n.ssh.port, user: n.ssh.user, privateKey, ...(n.ssh.hostKey !== undefined ? { hostKey: n.ssh.hostKey } : {}) });
}

/** The command line that runs `script` as root: directly for root, through `sudo -n` otherwise. */
export function asRoot(user: string, script: string): string {
  return `${user === "root" ? "" : "sudo -n "}bash -c ${shq(script)}`;
}

/**
 * Options every remote command shares: the previous run's output is never offered back through
 * the environment (sshd refuses unknown names anyway); scripts print no secrets, so logs keep both streams.
 */
export const COMMAND_DEFAULTS = { addPreviousOutputInEnv: false, logging: "stdoutAndStderr" } as const;
