// What every resource of a bridged Terraform provider shares at the plugin protocol
// (pulumi-terraform-bridge v3.135.0; BR = its repository): Check records which inputs it filled
// in itself in `__defaults` (an auto-name), and Diff compares the prior state with the new
// inputs, key by key; an SDKv2 resource answers with a detailed diff, a plugin-framework one with
// the changed and replaced keys only. A create in a preview answers an empty id (BR
// pkg/tfbridge/provider.go:1362-1407; the engine allows it, pulumi v3.248.0 provider_plugin.go:1451-1454).
import { randomBytes } from "node:crypto";
import { diffInputs, type DiffAnswer } from "./diff";
import type { CheckFailure } from "./server";
import { reveal, type Props } from "./wire";

export interface BridgedCheck {
  /** Inputs the schema requires (`requiredInputs`). */
  readonly required?: readonly string[];
  /** The resource is auto-named: an absent `name` gets `<logical name>-<7 random>` (BR pkg/tfbridge/info/autonaming.go:43-108). */
  readonly autoName?: boolean;
  /** A plugin-framework resource: no `__defaults` key (BR pkg/pf/tfbridge/provider_check.go:34-103). */
  readonly framework?: boolean;
}

/**
 * Check: required inputs present (a failure with no property, `Missing required property 'x'`, BR
 * pkg/tfbridge/check_failures.go:179-200, 360-383); an auto-name filled in and, on the SDKv2 path,
 * listed in `__defaults`, reused from the old inputs when it was a default there too (BR
 * pkg/tfbridge/schema.go:752-799, 948-986). Inputs come back even with failures (provider.go:1082-1089).
 */
export function checkBridged(logicalName: string, news: Props, olds: Props, rules: BridgedCheck): { inputs: Props; failures: CheckFailure[] } {
  const failures = (rules.required ?? []).filter((k) => news[k] === undefined).map((k) => ({ property: "", reason: `Missing required property '${k}'` }));
  const inputs: Props = { ...news };
  const defaults: string[] = [];
  if (rules.autoName && news.name === undefined) {
    const oldDefaults = reveal(olds.__defaults ?? []) as string[];
    inputs.name =
      Array.isArray(oldDefaults) && oldDefaults.includes("name") && typeof olds.name === "string"
        ? olds.name
        : `${logicalName}-${randomBytes(4).toString("hex").slice(0, 7)}`;
    defaults.push("name");
  }
  if (!rules.framework) inputs.__defaults = defaults;
  return { inputs, failures };
}

export interface BridgedDiff {
  readonly forceNew?: readonly string[];
  /** A plugin-framework resource: key lists only, no detailed diff (BR pkg/pf/tfbridge/provider_diff.go:140-159). */
  readonly framework?: boolean;
  /** How the state holds an input, where it differs (e.g. user data as its hash). */
  readonly stateForm?: Readonly<Record<string, (v: Props[string]) => Props[string]>>;
}

/**
 * Diff: each key the new inputs or the old inputs have, the new value against the prior state's
 * (an optional computed key absent from the config keeps its state; BR pkg/tfbridge/detailed_diff.go:748-858).
 * An SDKv2 resource asks to delete before replacing when its name was set by the user, not
 * auto-named (BR pkg/tfbridge/provider.go:1275-1276, schema.go:195-246); a framework one never
 * does (pkg/pf/tfbridge/provider_diff.go:114-121).
 */
export function diffBridged(olds: Props, news: Props, oldInputs: Props, rules: BridgedDiff): DiffAnswer {
  const keys = [...new Set([...Object.keys(news), ...Object.keys(oldInputs)])].filter((k) => !k.startsWith("__"));
  const before: Props = {};
  const after: Props = {};
  for (const k of keys) {
    const old = olds[k] ?? oldInputs[k];
    if (old !== undefined) before[k] = old;
    const form = rules.stateForm?.[k];
    const v = news[k];
    if (v !== undefined) after[k] = form !== undefined ? form(v) : v;
  }
  const answer = diffInputs(before, after, { forceNew: rules.forceNew ?? [], ...(rules.framework ? { keysOnly: true } : {}) });
  const defaults = reveal(news.__defaults ?? null);
  const nameSetByUser = typeof news.name === "string" && Array.isArray(defaults) && !defaults.includes("name");
  return { ...answer, deleteBeforeReplace: !rules.framework && answer.replaces.length > 0 && nameSetByUser };
}

/**
 * Read as the bridge answers it: an object gone is an empty answer (the engine drops it; BR
 * pkg/tfbridge/provider.go:1568, pkg/pf/tfbridge/provider_read.go:182-185); a refresh (a state given)
 * keeps the inputs it was given, an import (the id alone) rebuilds them from the object
 * (`ExtractInputsFromOutputs`, provider.go:1481-1564), with `__defaults: []` on the SDKv2 path only
 * (pf provider_read.go:86-97 removes it). `read` is what the API returns of the object now.
 */
export function readBack(
  req: { id: string; state: Props; inputs: Props },
  found: Props | undefined,
  importInputs: (found: Props) => Props,
  rules: { readonly framework?: boolean } = {},
): { id: string; outs: Props; inputs: Props } | undefined {
  if (found === undefined) return undefined;
  const isImport = Object.keys(req.state).length === 0;
  const inputs = isImport ? { ...importInputs(found), ...(rules.framework ? {} : { __defaults: [] }) } : req.inputs;
  return { id: req.id, outs: { ...req.state, ...found }, inputs };
}
