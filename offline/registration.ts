// One resource registration as the offline plan records it: what the engine would receive.
import type { PlainValue } from "./wire";

export interface Registration {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string | null;
  readonly custom: boolean;
  readonly protect: boolean;
  readonly importId: string | null;
  readonly deleteBeforeReplace: boolean;
  /** The engine drops it from the state instead of asking the provider to delete it. */
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: readonly string[];
  readonly replaceOnChanges: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly dependsOn: readonly string[];
  /** Earlier names and types the engine also knows this resource by (under the same parent); a provider's own renamed types among them. */
  readonly aliases: readonly { readonly name?: string; readonly type?: string }[];
  /** For each input that takes another resource's output: the URNs it comes from. */
  readonly inputSources: { readonly [k: string]: readonly string[] };
  /** Inputs as sent to the engine, secrets replaced by SECRET_MASK. */
  readonly inputs: { readonly [k: string]: PlainValue };
}
