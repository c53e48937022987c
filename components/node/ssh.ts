// How remote commands reach a node and run as root there.
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
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

/**
 * How long pulumi-command keeps dialling (provider/pkg/provider/remote/connection.go in 1.2.1):
 * up to `dialErrorLimit` failed attempts, each connect bounded by `perDialTimeout` seconds, with
 * a back-off from 0.1 s growing by half up to 5 s between them.
 */
export interface DialPatience {
  readonly dialErrorLimit: number;
  readonly perDialTimeout: number;
}

/** A machine that is up: 10 attempts, about 11 s when it refuses, the provider's defaults. */
export const DIAL_RUNNING: DialPatience = { dialErrorLimit: 10, perDialTimeout: 15 };

/**
 * A server on its first boot (created or rebuilt): it answers only once cloud-init has upgraded
 * its packages and joined the tailnet, often several minutes. 180 attempts are about 15 minutes
 * while its name does not resolve or it refuses (5 s apart), at most about 45 minutes while
 * packets are dropped (10 s connects).
 */
export const DIAL_FIRST_BOOT: DialPatience = { dialErrorLimit: 180, perDialTimeout: 10 };

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

/** The command line that runs `script` as root: directly for root, through `sudo -n` otherwise. */
export function asRoot(user: string, script: string): string {
  return `${user === "root" ? "" : "sudo -n "}bash -c ${shq(script)}`;
}

/**
 * Options every remote command shares: the previous run's output is never offered back through
 * the environment (sshd refuses unknown names anyway); scripts print no secrets, so logs keep both streams.
 */
export const COMMAND_DEFAULTS = { addPreviousOutputInEnv: false, logging: "stdoutAndStderr" } as const;
