// Pulumi's wire format as the offline plan reads it: the markers the SDK puts on secrets,
// unknowns and resource references (the SDK's own, from its runtime API), and how the plan shows them.
import { runtime } from "@pulumi/pulumi";

const { specialSigKey: SIG_KEY, specialSecretSig: SIG_SECRET, specialResourceSig: SIG_RESOURCE, unknownValue: UNKNOWN } = runtime;

/** What a plan shows in place of a secret. */
export const SECRET_MASK = "[secret]";

export type PlainValue = null | boolean | number | string | PlainValue[] | { [k: string]: PlainValue };

/** Removes Pulumi's secret envelopes from a wire value, keeping what they hold (for tooling that needs the real inputs). */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SIG_SECRET) return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Replaces secrets, unknowns and resource references in a wire value with readable stand-ins. */
export function maskWire(value: unknown, unknown = "[unknown]"): PlainValue {
  if (value === null || value === undefined) return null;
  if (value === UNKNOWN) return unknown;
  if (Array.isArray(value)) return value.map((v) => maskWire(v, unknown));
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SIG_SECRET) return SECRET_MASK;
    if (obj[SIG_KEY] === SIG_RESOURCE) return `[ref ${String(obj.urn)}]`;
    const out: { [k: string]: PlainValue } = {};
    for (const key of Object.keys(obj).sort()) out[key] = maskWire(obj[key], unknown);
    return out;
  }
  if (typeof value === "boolean" || typeof value === "number" || typeof value === "string") return value;
  return String(value);
}
