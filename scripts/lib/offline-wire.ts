// Pulumi's wire format as the offline plan reads it: the markers the SDK puts on secrets,
// unknowns and resource references (sdk/nodejs/runtime/rpc.ts), and how the plan shows them.

/** Pulumi's wire markers (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

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
export function maskWire(value: unknown): PlainValue {
  if (value === null || value === undefined) return null;
  if (value === UNKNOWN) return "[unknown]";
  if (Array.isArray(value)) return value.map(maskWire);
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SIG_SECRET) return SECRET_MASK;
    if (obj[SIG_KEY] === SIG_RESOURCE) return `[ref ${String(obj.urn)}]`;
    const out: { [k: string]: PlainValue } = {};
    for (const key of Object.keys(obj).sort()) out[key] = maskWire(obj[key]);
    return out;
  }
  if (typeof value === "boolean" || typeof value === "number" || typeof value === "string") return value;
  return String(value);
}
