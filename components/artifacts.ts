// Rendered text that lands somewhere (policy, units, cloud-init, inventory), collected so the
// offline plan can write it to out/<stack>/ for review. A real `pulumi up` never reads this.
import * as pulumi from "@pulumi/pulumi";

const artifacts = new Map<string, string | pulumi.Output<string>>();

/** Records `text` under a relative path such as `nodes/oracle/optimalos.service`. Paths are unique. */
export function recordArtifact(relPath: string, text: pulumi.Input<string>): void {
  if (!/^[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*$/i.test(relPath))
    throw new Error(`artifact path "${relPath}" must be relative, without .. or empty parts`);
  if (artifacts.has(relPath)) throw new Error(`artifact ${relPath} was recorded twice`);
  // Plain text stays plain: an Output per file would cost a large plan thousands of promises.
  artifacts.set(relPath, typeof text === "string" ? text : pulumi.output(text));
}

/** Every artifact recorded so far, by path. */
export function recordedArtifacts(): ReadonlyMap<string, string | pulumi.Output<string>> {
  return artifacts;
}

export interface CheckResult {
  readonly name: string;
  readonly passed: number;
  readonly failed: number;
  /** One line per failure. */
  readonly failures: readonly string[];
}

const checks: CheckResult[] = [];

/** Records an offline check a component ran on what it rendered (e.g. the policy's own tests). */
export function recordCheck(result: CheckResult): void {
  checks.push(result);
}

export function recordedChecks(): readonly CheckResult[] {
  return checks;
}

const notices: string[] = [];

/** Records something the plan must show although it does not stop it (offline only). */
export function recordNotice(text: string): void {
  notices.push(text);
}

export function recordedNotices(): readonly string[] {
  return notices;
}
