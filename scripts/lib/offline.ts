// Evaluates the real index.ts in-process under Pulumi's mock runtime and records every
// registration as the engine would receive it (type, name, parent, options, inputs with secrets marked).
import * as path from "node:path";
import * as resourceProto from "@pulumi/pulumi/proto/resource_pb";
import { OFFLINE_INVOKES, OFFLINE_STATE, offlineId } from "./offline-answers";
import { maskWire, SECRET_MASK, unwrapSecrets, type PlainValue } from "./offline-wire";
import type { StackConfig } from "./stackfile";

// The pieces of the offline plan other tools read, from where they live.
export { engineUrn, engineUrns, type EngineUrns } from "./offline-urn";
export { maskWire, SECRET_MASK, unwrapSecrets, type PlainValue } from "./offline-wire";

/** Stand-in for a remote command's stdout in an evaluated (non-preview) run: `<offline:stdout:NAME>`. */
export const STDOUT_PREFIX = "<offline:stdout:";

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

export interface OfflineOptions {
  /** Evaluate as `pulumi up` would (ids known) instead of as a preview. Default true (preview). */
  readonly preview?: boolean;
  /** Ids to give resources instead of `<name>-id` (the lab: a rebuilt server gets a new id). */
  readonly id?: (type: string, name: string) => string | undefined;
  /**
   * Keep stack traces while the program runs. Off by default: the Pulumi SDK records a stack for
   * every promise it makes and a whole one for every resource (its source position, which an
   * offline plan does not use), which is most of the time of a large plan; errors keep their
   * name and message.
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

interface WireRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getImportid(): string;
  getDeletebeforereplace(): boolean;
  getRetainondelete(): boolean | undefined;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getDependenciesList(): string[];
  getAliasesList(): {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string; getStack(): string; getProject(): string; getNoparent(): boolean } | undefined;
  }[];
  getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getObject(): { toJavaScript(): unknown } | undefined;
}

/** The earlier names and types a registration's aliases give; other aliases (another parent, stack or project, a whole URN) are not supported. */
function aliasesOf(req: WireRequest): { name?: string; type?: string }[] {
  return req
    .getAliasesList()
    .map((a) => {
      const spec = a.getSpec();
      if (a.getUrn() !== "" || spec === undefined || spec.getStack() !== "" || spec.getProject() !== "" || spec.getNoparent())
        throw new Error(`offline plan: ${req.getName()} has an alias other than an earlier name or type under the same parent`);
      return { ...(spec.getName() !== "" ? { name: spec.getName() } : {}), ...(spec.getType() !== "" ? { type: spec.getType() } : {}) };
    })
    .sort((a, b) => `${a.type ?? ""}::${a.name ?? ""}`.localeCompare(`${b.type ?? ""}::${b.name ?? ""}`));
}

function inputSourcesOf(req: WireRequest): { [k: string]: string[] } {
  const out: { [k: string]: string[] } = {};
  req.getPropertydependenciesMap().forEach((deps, key) => {
    const urns = [...new Set(deps.getUrnsList())].sort();
    if (urns.length > 0) out[key] = urns;
  });
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

type Callback = (err: unknown, resp: RegisterResponse | undefined) => void;

/** What the SDK reads of a RegisterResourceResponse. */
interface RegisterResponse {
  getUrn(): string;
  getId(): string;
  getObject(): { toJavaScript(): Record<string, unknown> };
  getPropertydependenciesMap(): undefined;
  getResult(): number;
  toString(): string;
}

/** The parts of the SDK's mock monitor a registration uses: its URN scheme and its resource table (reads and outputs use it). */
interface MockMonitorState {
  newUrn(parent: string, type: string, name: string): string;
  readonly resources: Map<string, { urn: string; id: string | null; state: unknown }>;
}

/** The program: index.ts under tsx, dist/index.js when this file runs compiled. */
const PROGRAM = path.join(__dirname, "..", "..", "index");

/**
 * Runs the program (index.ts) with `config` under the mock runtime. Must be called once per
 * process: Pulumi's runtime state is global.
 */
export function evaluateOffline(config: StackConfig, options: OfflineOptions = {}): Promise<Evaluation> {
  return evaluateProgram(PROGRAM, config, options);
}

/** Runs the Pulumi program module `program` (a path) as evaluateOffline runs this project's. */
export async function evaluateProgram(program: string, config: StackConfig, options: OfflineOptions = {}): Promise<Evaluation> {
  const values: Record<string, string> = { ...config.values };
  for (const key of config.encrypted) values[key] = `<encrypted:${key}>`;
  process.env.PULUMI_CONFIG = JSON.stringify(values);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(config.encrypted);
  process.env.OPTIMAL_MESH_OFFLINE = "1";

  // Loaded only now: the SDK reads its config from the environment set above.
  const pulumi = await import("@pulumi/pulumi");
  const mocksModule = await import("@pulumi/pulumi/runtime/mocks");
  const settings = await import("@pulumi/pulumi/runtime/settings");

  const preview = options.preview ?? true;
  const realInputs = new Map<string, Record<string, unknown>>();
  /** What the provider answers on create: its inputs echoed back, plus what it would compute. */
  const newResource = (type: string, name: string, inputs: Record<string, unknown>, importId: string) => {
    if (options.realInputsOf?.includes(type)) realInputs.set(name, unwrapSecrets(inputs) as Record<string, unknown>);
    return {
      id: options.id?.(type, name) ?? offlineId(type, name, importId, preview),
      state: {
        ...inputs,
        ...OFFLINE_STATE[type]?.(name),
        // An evaluated `up` has each command's output; a stand-in names the command, so whoever runs the plan can wire in the real one.
        ...(!preview && type === "command:remote:Command" ? { stdout: `${STDOUT_PREFIX}${name}>` } : {}),
      },
    };
  };
  const mocks: import("@pulumi/pulumi/runtime/mocks").Mocks = {
    newResource: (args) => newResource(args.type, args.name, args.inputs as Record<string, unknown>, args.id ?? ""),
    call: (args) => {
      const answer = OFFLINE_INVOKES[args.token];
      if (answer === undefined) throw new Error(`offline plan: no offline answer for provider function ${args.token}`);
      return answer(args.inputs as Record<string, unknown>, config);
    },
  };

  const registrations: Registration[] = [];
  // Registrations are answered here rather than by the SDK's mock monitor, which decodes the
  // inputs into live values and encodes its answer back (a promise per property). The inputs stay
  // in their wire form, as the engine receives them: recorded as they are, echoed back as the
  // state (secrets stay secret, unknowns stay unknown). Only this method is replaced, so setMocks
  // keeps the runtime's feature flags (secrets among them) and reads (`get`) as they are.
  // The answer is the plain response the SDK itself makes when it has no engine (the getters its
  // registration reads), not a protobuf message: encoding the state only for the SDK to decode it
  // again, and the SDK printing every message into a debug line, were a tenth of a large plan.
  const monitorClass = mocksModule.MockMonitor as unknown as {
    prototype: { registerResource(this: MockMonitorState, req: WireRequest, callback: Callback): void };
  };
  monitorClass.prototype.registerResource = function (this: MockMonitorState, req: WireRequest, callback: Callback): void {
    let response: RegisterResponse;
    try {
      const inputs = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
      const result = newResource(req.getType(), req.getName(), inputs, req.getImportid());
      const urn = this.newUrn(req.getParent(), req.getType(), req.getName());
      this.resources.set(urn, { urn, id: result.id, state: result.state });
      response = {
        getUrn: () => urn,
        getId: () => result.id,
        getObject: () => ({ toJavaScript: () => result.state }),
        getPropertydependenciesMap: () => undefined,
        getResult: () => resourceProto.Result.SUCCESS,
        toString: () => `registered ${urn}`,
      };
      registrations.push({
        urn,
        type: req.getType(),
        name: req.getName(),
        parent: req.getParent() || null,
        custom: req.getCustom(),
        protect: req.getProtect() === true,
        importId: req.getImportid() || null,
        deleteBeforeReplace: req.getDeletebeforereplace(),
        retainOnDelete: req.getRetainondelete() === true,
        ignoreChanges: [...req.getIgnorechangesList()].sort(),
        replaceOnChanges: [...req.getReplaceonchangesList()].sort(),
        additionalSecretOutputs: [...new Set(req.getAdditionalsecretoutputsList())].sort(),
        dependsOn: [...req.getDependenciesList()].sort(),
        aliases: aliasesOf(req),
        inputSources: inputSourcesOf(req),
        inputs: maskWire(inputs) as { [k: string]: PlainValue },
      });
    } catch (err) {
      callback(err, undefined);
      return;
    }
    callback(null, response);
  };

  await pulumi.runtime.setMocks(mocks, config.project, config.stack, preview);

  let exported: Record<string, unknown> = {};
  let error: unknown;
  const { stackTraceLimit, prepareStackTrace } = Error;
  if (!options.stacks) {
    Error.stackTraceLimit = 0;
    // The SDK lifts the limit while it takes a resource's source position; this keeps that cheap too.
    Error.prepareStackTrace = (err: Error) => (err.message ? `${err.name}: ${err.message}` : err.name);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program may run only once the mocks are set
    exported = require(program) as Record<string, unknown>;
  } catch (err) {
    error = err;
  }

  const resolve = <T>(o: import("@pulumi/pulumi").Output<T>) => new Promise<T>((res) => o.apply((v) => (res(v), v)));
  // Values a provider computes on create are unknown in a preview; `apply` never runs on them.
  const isKnown = (o: import("@pulumi/pulumi").Output<unknown>) => (o as unknown as { isKnown: Promise<boolean> }).isKnown;
  // A stack output as the engine records it: each Output in it on its own (an unknown one does not
  // hide the known values beside it), secrets masked.
  const settle = async (value: unknown): Promise<PlainValue> => {
    if (pulumi.Output.isInstance(value)) {
      if (await pulumi.isSecret(value)) return SECRET_MASK;
      if (!(await isKnown(value))) return "[unknown until apply]";
      return settle(await resolve(value));
    }
    if (Array.isArray(value)) return Promise.all(value.map(settle));
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      const out: { [k: string]: PlainValue } = {};
      for (const key of Object.keys(value).sort()) out[key] = await settle((value as Record<string, unknown>)[key]);
      return out;
    }
    return maskWire(value);
  };
  const outputs: { [k: string]: PlainValue } = {};
  for (const key of Object.keys(exported).sort()) {
    const value = exported[key];
    if (value === undefined || typeof value === "function") continue;
    outputs[key] = await settle(value);
  }

  await settings.disconnect();
  Error.stackTraceLimit = stackTraceLimit;
  Error.prepareStackTrace = prepareStackTrace;
  registrations.sort((a, b) => a.urn.localeCompare(b.urn));
  const result = { registrations, outputs, realInputs };
  return error === undefined ? result : { ...result, error };
}
