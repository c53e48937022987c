// Pure parts of how remote commands reach a node and run as root there: the dialling patience
// the command provider is given, and the command line that runs a script as root.
import { shq } from "../shell/script";

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

/** The command line that runs `script` as root: directly for root, through `sudo -n` otherwise. */
export function asRoot(user: string, script: string): string {
  return `${user === "root" ? "" : "sudo -n "}bash -c ${shq(script)}`;
}
