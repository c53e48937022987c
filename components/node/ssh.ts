// How remote commands reach a node: the command provider's connection, and the options every command shares.
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import { DIAL_RUNNING, type DialPatience } from "../../render/node/remote";

/** How a node is reached over SSH; the private key is a secret Output end to end. */
export interface SshAccess {
  readonly host: pulumi.Input<string>;
  readonly port: number;
  readonly user: string;
  readonly privateKey: pulumi.Output<string>;
  /** Pinned host key; absent only for a node's very first contact before it joins the tailnet. */
  readonly hostKey?: string;
}

export function connectionFor(access: SshAccess, patience: DialPatience = DIAL_RUNNING): command.types.input.remote.ConnectionArgs {
  return {
    host: access.host,
    port: access.port,
    user: access.user,
    privateKey: access.privateKey,
    ...(access.hostKey !== undefined ? { hostKey: access.hostKey } : {}),
    dialErrorLimit: patience.dialErrorLimit,
    perDialTimeout: patience.perDialTimeout,
  };
}

/**
 * Options every remote command shares: the previous run's output is never offered back through
 * the environment (sshd refuses unknown names anyway); scripts print no secrets, so logs keep both streams.
 */
export const COMMAND_DEFAULTS = { addPreviousOutputInEnv: false, logging: "stdoutAndStderr" } as const;
