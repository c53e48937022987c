// Property values as they cross the plugin protocol: google.protobuf.Struct, where a secret is an
// object carrying the SDK's secret signature and an unknown (a preview's value not known yet) is
// the SDK's unknown sentinel string. The signature constants come from the SDK's public runtime.
import * as pulumi from "@pulumi/pulumi";

/** A JSON-shaped property value; secrets and unknowns in their wire form. */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
export type Props = { [key: string]: Value };

const SIG = pulumi.runtime.specialSigKey;
const SECRET = pulumi.runtime.specialSecretSig;

export const UNKNOWN: string = pulumi.runtime.unknownValue;

const isObject = (v: Value | undefined): v is { [key: string]: Value } => typeof v === "object" && v !== null && !Array.isArray(v);

export function isSecret(v: Value | undefined): boolean {
  return isObject(v) && v[SIG] === SECRET;
}

/** `v` marked secret (once). */
export function secret(v: Value): Value {
  return isSecret(v) ? v : { [SIG]: SECRET, value: v };
}

/** `v` with every secret marker removed: the plain value, as a provider works with it. */
export function reveal(v: Value): Value {
  if (isSecret(v)) return reveal((v as { value: Value }).value);
  if (Array.isArray(v)) return v.map(reveal);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  return v;
}

/** A string property, or undefined when absent or not a string. */
export function str(p: Props, key: string): string | undefined {
  const v = reveal(p[key] ?? null);
  return typeof v === "string" ? v : undefined;
}

export function bool(p: Props, key: string): boolean | undefined {
  const v = reveal(p[key] ?? null);
  return typeof v === "boolean" ? v : undefined;
}

export function num(p: Props, key: string): number | undefined {
  const v = reveal(p[key] ?? null);
  return typeof v === "number" ? v : undefined;
}

/** Deep equality of two plain (revealed) values. */
export function same(a: Value | undefined, b: Value | undefined): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: Value | undefined): Value | undefined {
  if (Array.isArray(v)) return v.map((x) => canonical(x) ?? null);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k]) ?? null]),
    );
  return v;
}
