// Reads one stack's config once: the topology (validated) and the operator settings.
// Components never read config; they get what this returns.
import * as pulumi from "@pulumi/pulumi";
import { OPERATOR_SETTINGS, placeholderFor } from "./settings";
import type { MeshSpec } from "./schema";
import { adoptionProblems } from "./rules";
import { MeshConfigError, validateMesh, type Problem } from "./validate";

export interface Settings {
  /** Private key for remote commands; always a secret Output. */
  readonly sshPrivateKey: pulumi.Output<string>;
  readonly sshPublicKey: string;
  readonly cloudflareAccountId: string;
}

export interface LoadedStack {
  readonly spec: MeshSpec;
  readonly settings: Settings;
}

export interface LoadOptions {
  /**
   * The offline plan: unset settings become visible placeholders instead of errors, and what only
   * a real run refuses (resources still to adopt) is left to the plan to show.
   */
  readonly offline: boolean;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(":");
  return [key.slice(0, i), key.slice(i + 1)];
}

/** The topology as the engine passes it: JSON text for a mapping, the bare text for a scalar (which validation then reports). */
function meshValue(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Loads and validates the stack; throws one MeshConfigError listing every problem. */
export function loadStack(options: LoadOptions): LoadedStack {
  const stack = pulumi.getStack();
  const problems: Problem[] = [];
  let spec: MeshSpec | undefined;
  try {
    spec = validateMesh(meshValue(new pulumi.Config("optimal-mesh").get("mesh")));
    if (!options.offline) problems.push(...adoptionProblems(spec));
  } catch (err) {
    if (!(err instanceof MeshConfigError)) throw err;
    problems.push(...err.problems);
  }

  const plain = new Map<string, string>();
  const secret = new Map<string, pulumi.Output<string>>();
  const isSet = (key: string) => {
    const [ns, name] = splitKey(key);
    return Boolean(new pulumi.Config(ns).get(name));
  };
  for (const setting of OPERATOR_SETTINGS) {
    const [ns, name] = splitKey(setting.key);
    const config = new pulumi.Config(ns);
    // A credential of another kind stands in for this one; the provider refuses both at once.
    const alternative = (setting.or ?? []).map((o) => o.key);
    if (alternative.length > 0 && alternative.every(isSet)) {
      if (isSet(setting.key)) {
        problems.push({
          path: setting.key,
          message: `set together with ${alternative.join(" and ")}: the provider takes one credential`,
          fix: `remove one: pulumi config rm ${setting.key}`,
        });
      }
      continue;
    }
    if (alternative.some(isSet) && !isSet(setting.key)) {
      const missing = alternative.filter((k) => !isSet(k));
      problems.push({ path: missing[0]!, message: `${alternative.join(" and ")} go together: ${missing.join(", ")} is not set`, fix: setting.how });
      continue;
    }
    if (setting.secret) {
      // Pulumi.yaml declares an empty default, which the CLI fills in for a setting nobody set.
      const value = config.get(name) ? config.getSecret(name) : undefined;
      if (value !== undefined) secret.set(setting.key, value);
      else if (options.offline) secret.set(setting.key, pulumi.secret(placeholderFor(setting.key)));
      else problems.push({ path: setting.key, message: `${setting.description}: required secret is not set`, fix: setting.how });
    } else {
      const value = config.get(name) || undefined;
      if (value !== undefined) plain.set(setting.key, value);
      else if (options.offline) plain.set(setting.key, placeholderFor(setting.key));
      else problems.push({ path: setting.key, message: `${setting.description}: required setting is not set`, fix: setting.how });
    }
  }

  if (problems.length > 0 || spec === undefined) throw new MeshConfigError(problems, stack);
  return {
    spec,
    settings: {
      sshPrivateKey: secret.get("optimal-mesh:sshPrivateKey")!,
      sshPublicKey: plain.get("optimal-mesh:sshPublicKey")!,
      cloudflareAccountId: plain.get("optimal-mesh:cloudflareAccountId")!,
    },
  };
}
