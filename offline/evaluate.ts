// Evaluates the real index.ts in-process under Pulumi's mock runtime and records every
// registration as the engine would receive it (type, name, parent, options, inputs with secrets marked).
import * as path from "node:path";
import { OFFLINE_INVOKES, OFFLINE_STATE, offlineId } from "./answers";
import type { Registration } from "./registration";
import { maskWire, unwrapSecrets, type PlainValue } from "./wire";
import type { StackConfig } from "../stacks/stackfile";

// The pieces of the offline plan other tools read, from where they live.
export { engineUrn, engineUrns, type EngineUrns } from "./urn";
export { SECRET_MASK, type PlainValue } from "./wire";
export type { Registration } from "./registration";

/** Stand-in for a remote command's stdout in an evaluated (non-preview) run: `<offline:stdout:NAME>`. */
export const STDOUT_PREFIX = "<offline:stdout:";

export interface OfflineOptions {
  /** Evaluate as `pulumi up` would (ids known) instead of as a preview. Default true (preview). */
  readonly preview?: boolean;
  /**
   * Keep stack traces while the program runs. Off by default (`Error.stackTraceLimit` 0): the
   * Pulumi SDK records a stack for every promise it makes, which an offline plan never reads, a
   * third of the time of a large plan; errors keep their name and message.
   */
  readonly stacks?: boolean;
  /**
   * Keep the real inputs (secrets unwrapped) of the resources of these types, for tooling that runs
   * what the plan would run (drift, the lab). Never written anywhere by the plan itself.
   */
  readonly realInputsOf?: readonly string[];
}

export interface Evaluation {
  readonly registrations: readonly Registration[];
  readonly outputs: { readonly [k: string]: PlainValue };
  /** Set when the program threw before finishing (e.g. invalid config). */
  readonly error?: unknown;
  /** Real inputs by resource name, for the types asked for in `realInputsOf`. */
  readonly realInputs: ReadonlyMap<string, Record<string, unknown>>;
}
/** What the program said of one resource when it constructed it, seen through a stack transformation. */
interface Constructed {
  readonly resource: import("@pulumi/pulumi").Resource;
  readonly type: string;
  readonly name: string;
  readonly opts: import("@pulumi/pulumi").CustomResourceOptions;
  /** Its parent, unless that is the stack. */
  readonly parent: Constructed | undefined;
  readonly urn: string;
  readonly children: Constructed[];
  /** Its inputs as the SDK serializes them for the engine, and the resources each input comes from. */
  readonly serialized: Promise<[Record<string, unknown>, Map<string, Set<import("@pulumi/pulumi").Resource>>]>;
}

/** The program: index.ts under tsx, dist/index.js when this file runs compiled. */
const PROGRAM = path.join(__dirname, "..", "index");

/**
 * Runs the program (index.ts) with `config` under the mock runtime. Must be called once per
 * process: Pulumi's runtime state is global.
 */
export function evaluateOffline(config: StackConfig, options: OfflineOptions = {}): Promise<Evaluation> {
  return evaluateProgram(PROGRAM, config, options);
}

/**
 * Runs the Pulumi program module `program` (a path) under the SDK's mocks, as the language host
 * runs a program (inside the stack resource), and records each registration as the engine would
 * receive it. The documented testing API (`setMocks`) answers the registrations and calls; where it
 * does not reach, exported runtime functions do, each for a reason the mocks cannot meet:
 * - `setAllConfig`: the program reads the stack's config, secrets marked, from the runtime's store;
 *   the route the language host uses (PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS) is read from the
 *   environment once, when the store is made (@pulumi/pulumi 3.248 runtime/state.js), so a process
 *   that plans more than one config (the tests, the bench) could not change it;
 * - `runInPulumiStack`: the program runs inside the stack resource, as the language host runs it,
 *   so its exports become the stack's outputs and its resources the stack's children (URNs);
 * - a stack transformation (not a transform: see below) sees each resource's options and inputs as
 *   the program gave them, which `MockResourceArgs` does not carry (no parent, protect, aliases);
 * - `serializeResourceProperties` gives the inputs in the engine's form with the resources each
 *   comes from, as the SDK computes them for the engine; the mocks see the values only.
 */
export async function evaluateProgram(program: string, config: StackConfig, options: OfflineOptions = {}): Promise<Evaluation> {
  const values: Record<string, string> = { ...config.values };
  for (const key of config.encrypted) values[key] = `<encrypted:${key}>`;
  process.env.OPTIMAL_MESH_OFFLINE = "1";
  const pulumi = await import("@pulumi/pulumi");
  pulumi.runtime.setAllConfig(values, [...config.encrypted]);

  const preview = options.preview ?? true;
  const realInputs = new Map<string, Record<string, unknown>>();
  const constructed = new Map<import("@pulumi/pulumi").Resource, Constructed>();
  const byKey = new Map<string, Constructed>();
  const registrations: Registration[] = [];

  /** The URN a registration has offline: its type qualified by its parent's type, as Pulumi's mocks make it. */
  const urnOf = (type: string, name: string, parent: Constructed | undefined) =>
    `urn:pulumi:${config.stack}::${config.project}::${parent === undefined ? "" : `${parent.type}$`}${type}::${name}`;
  // Known once its constructor has finished (a transformation runs before the class marks it).
  const isCustom = (r: Constructed) => pulumi.CustomResource.isInstance(r.resource);
  /** Custom resources a dependency stands for: itself, or every custom resource under a component (as the SDK expands it). */
  const customsOf = (r: Constructed, out: Set<string>, exclude: Constructed): void => {
    if (isCustom(r)) out.add(r.urn);
    else if (r !== exclude) for (const child of r.children) customsOf(child, out, exclude);
  };
  const known = (resource: import("@pulumi/pulumi").Resource, what: string): Constructed => {
    const c = constructed.get(resource);
    if (c === undefined) throw new Error(`offline plan: ${what} is a resource the program did not construct`);
    return c;
  };

  const record = (args: import("@pulumi/pulumi").ResourceTransformationArgs): undefined => {
    const opts = args.opts as import("@pulumi/pulumi").CustomResourceOptions;
    const parentResource = opts.parent;
    const parent = parentResource === undefined || constructed.get(parentResource) === undefined ? undefined : constructed.get(parentResource);
    const key = `${args.type}::${args.name}`;
    if (byKey.has(key)) throw new Error(`offline plan: two resources are named ${args.name} (${args.type})`);
    const c: Constructed = {
      resource: args.resource,
      type: args.type,
      name: args.name,
      opts,
      parent,
      urn: urnOf(args.type, args.name, parent),
      children: [],
      serialized: pulumi.runtime.serializeResourceProperties(`offline ${args.name}`, args.props),
    };
    // Read once it is needed; a failure here is the SDK's own, which it reports for the resource.
    c.serialized.catch(() => undefined);
    parent?.children.push(c);
    constructed.set(args.resource, c);
    byKey.set(key, c);
    return undefined;
  };

  /** The value of an input (a dependency list, an alias), which the program knows when it constructs a resource. */
  const settled = <T>(input: import("@pulumi/pulumi").Input<T>): Promise<import("@pulumi/pulumi").Unwrap<T>> =>
    new Promise((resolve) => pulumi.output(input).apply((v) => (resolve(v), v)));

  /** The resources `dependsOn` names: a resource, a list, or a promise or output of either (never lifted whole: `output` would walk every resource it reaches). */
  const dependencies = async (input: import("@pulumi/pulumi").CustomResourceOptions["dependsOn"]): Promise<import("@pulumi/pulumi").Resource[]> => {
    if (input === undefined) return [];
    if (pulumi.Resource.isInstance(input)) return [input];
    if (Array.isArray(input)) return (await Promise.all(input.map(dependencies))).flat();
    if (pulumi.Output.isInstance(input)) {
      const output = input as import("@pulumi/pulumi").Output<unknown>;
      return dependencies(
        await new Promise<Parameters<typeof dependencies>[0]>((resolve) => output.apply((v) => (resolve(v as Parameters<typeof dependencies>[0]), v))),
      );
    }
    return dependencies((await input) as Parameters<typeof dependencies>[0]);
  };

  /** The registration of `c`, once the SDK has sent it, from what the program gave and the SDK serialized. */
  const register = async (c: Constructed, custom: boolean, importId: string): Promise<{ wire: Record<string, unknown>; id: string }> => {
    const [wire, sources] = await c.serialized;
    const opts = c.opts;
    const explicit = new Set<string>();
    for (const d of await dependencies(opts.dependsOn)) customsOf(known(d, `a dependency of ${c.name}`), explicit, c);
    const inputSources: { [k: string]: string[] } = {};
    const all = new Set(explicit);
    for (const key of [...sources.keys()].sort((a, b) => a.localeCompare(b))) {
      const urns = new Set<string>();
      for (const r of sources.get(key)!) customsOf(known(r, `an input of ${c.name}`), urns, c);
      if (urns.size > 0) inputSources[key] = [...urns].sort();
      for (const u of urns) all.add(u);
    }
    const aliases = (await Promise.all((opts.aliases ?? []).map(settled))).map((a) => {
      if (typeof a === "string" || a.parent !== undefined || a.stack !== undefined || a.project !== undefined || Object.hasOwn(a, "parent"))
        throw new Error(`offline plan: ${c.name} has an alias other than an earlier name or type under the same parent`);
      const name = a.name === undefined ? undefined : String(a.name);
      const type = a.type === undefined ? undefined : String(a.type);
      return { ...(name !== undefined ? { name } : {}), ...(type !== undefined ? { type } : {}) };
    });
    if (options.realInputsOf?.includes(c.type)) realInputs.set(c.name, unwrapSecrets(wire) as Record<string, unknown>);
    registrations.push({
      urn: c.urn,
      type: c.type,
      name: c.name,
      parent: c.parent?.urn ?? null,
      custom,
      protect: opts.protect === true,
      importId: importId || null,
      deleteBeforeReplace: opts.deleteBeforeReplace === true,
      retainOnDelete: opts.retainOnDelete === true,
      ignoreChanges: [...(opts.ignoreChanges ?? [])].sort(),
      replaceOnChanges: [...(opts.replaceOnChanges ?? [])].sort(),
      additionalSecretOutputs: [...new Set(opts.additionalSecretOutputs ?? [])].sort(),
      dependsOn: [...all].sort(),
      aliases: aliases.sort((a, b) => `${a.type ?? ""}::${a.name ?? ""}`.localeCompare(`${b.type ?? ""}::${b.name ?? ""}`)),
      inputSources,
      inputs: maskWire(wire) as { [k: string]: PlainValue },
    });
    return { wire, id: offlineId(c.type, c.name, importId, preview) };
  };

  const mocks: import("@pulumi/pulumi").runtime.Mocks = {
    newResource: async (args) => {
      if (args.type === pulumi.runtime.rootPulumiStackTypeName) return { id: "", state: {} };
      const c = byKey.get(`${args.type}::${args.name}`);
      if (c === undefined) throw new Error(`offline plan: ${args.name} (${args.type}) was registered without being constructed`);
      const { id } = await register(c, args.custom === true, args.id ?? "");
      // What the provider answers on create: its inputs echoed back, plus what it would compute.
      const state: Record<string, unknown> = {
        ...(args.inputs as Record<string, unknown>),
        ...OFFLINE_STATE[args.type]?.(args.name),
        // An evaluated `up` has each command's output; a stand-in names the command, so whoever runs the plan can wire in the real one.
        ...(!preview && args.type === "command:remote:Command" ? { stdout: `${STDOUT_PREFIX}${args.name}>` } : {}),
      };
      return { id, state };
    },
    call: (args) => {
      const answer = OFFLINE_INVOKES[args.token];
      if (answer === undefined) throw new Error(`offline plan: no offline answer for provider function ${args.token}`);
      return answer(args.inputs as Record<string, unknown>, config);
    },
  };
  await pulumi.runtime.setMocks(mocks, config.project, config.stack, preview);

  let exported: Record<string, unknown> = {};
  let error: unknown;
  // Without stack traces, the SDK's stack for every promise it makes costs nothing (a third of a
  // large plan); errors keep their name and message. It still takes each resource's source
  // position, lifting the limit for that itself.
  const { stackTraceLimit } = Error;
  if (!options.stacks) Error.stackTraceLimit = 0;
  // A stack output as the engine records it: each Output in it on its own (an unknown one does not
  // hide the known values beside it), secrets masked.
  const outputs: { [k: string]: PlainValue } = {};
  try {
    try {
      await pulumi.runtime.runInPulumiStack(async () => {
        // A stack transformation, not a transform (registerResourceTransform), though Pulumi
        // deprecates the first for the second: a transform runs only when the engine calls it back
        // through the SDK's callback server, and the mock runtime (@pulumi/pulumi 3.248
        // runtime/mocks.js, MockMonitor) has no registerStackTransform and never calls back, so
        // under mocks a transform would fail to register and never run. A transformation runs in
        // the SDK itself, before the registration reaches the (mock) monitor.
        pulumi.runtime.registerStackTransformation(record);
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program may run only once the mocks are set
        exported = require(program) as Record<string, unknown>;
        return exported;
      });
    } catch (err) {
      error = err;
    }
    if (error === undefined) {
      const wire = await pulumi.runtime.serializeProperties("outputs", exported);
      for (const key of Object.keys(wire).sort()) if (typeof exported[key] !== "function") outputs[key] = maskWire(wire[key], "[unknown until apply]");
    }
    await pulumi.runtime.disconnect();
  } finally {
    // Whatever failed, the process gets its stack traces back.
    Error.stackTraceLimit = stackTraceLimit;
  }
  registrations.sort((a, b) => a.urn.localeCompare(b.urn));
  const result = { registrations, outputs, realInputs };
  return error === undefined ? result : { ...result, error };
}
