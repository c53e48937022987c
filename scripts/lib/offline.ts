// Evaluates the real index.ts in-process under Pulumi's mock runtime and records every
// registration as the engine would receive it (type, name, parent, options, inputs with secrets marked).
import * as path from "node:path";
import * as resourceProto from "@pulumi/pulumi/proto/resource_pb";
import type { CheckResult } from "../../components/artifacts";
import { MESH_KEY } from "../../stacks/validate";
import type { StackConfig } from "./stackfile";

/** Pulumi's wire markers (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Stand-in for a remote command's stdout in an evaluated (non-preview) run: `<offline:stdout:NAME>`. */
export const STDOUT_PREFIX = "<offline:stdout:";

/** What a plan shows in place of a secret. */
export const SECRET_MASK = "[secret]";

export type PlainValue = null | boolean | number | string | PlainValue[] | { [k: string]: PlainValue };

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
  /** For each input that takes another resource's output: the URNs it comes from. */
  readonly inputSources: { readonly [k: string]: readonly string[] };
  /** Inputs as sent to the engine, secrets replaced by SECRET_MASK. */
  readonly inputs: { readonly [k: string]: PlainValue };
}

export interface Artifact {
  readonly path: string;
  readonly text: string;
  readonly secret: boolean;
}

/** The mesh's node names in a stack's config, for offline answers about its machines (none if the config is unreadable: validation reports that). */
function meshNodeNames(config: StackConfig): string[] {
  try {
    const mesh = JSON.parse(config.values[MESH_KEY] ?? "{}") as { nodes?: unknown };
    return mesh.nodes !== null && typeof mesh.nodes === "object" ? Object.keys(mesh.nodes).sort() : [];
  } catch {
    return [];
  }
}

/**
 * Offline answers for the provider functions the program calls (data sources). Each returns a
 * visibly fake value; anything not listed fails the plan instead of being guessed.
 */
const OFFLINE_INVOKES: Readonly<Record<string, (inputs: Record<string, unknown>, config: StackConfig) => Record<string, unknown>>> = {
  "cloudflare:index/getZone:getZone": (inputs) => {
    const name = String((inputs.filter as { name?: unknown } | undefined)?.name);
    return { id: `offline-zone-${name}`, zoneId: `offline-zone-${name}`, name };
  },
  "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken": (inputs) => ({
    accountId: inputs.accountId,
    tunnelId: inputs.tunnelId,
    token: `<offline:tunnel-token:${String(inputs.tunnelId)}>`,
  }),
  // The tailnet as if every node of the stack were on it under its own name.
  "tailscale:index/getDevices:getDevices": (_inputs, config) => ({
    id: "offline-tailnet",
    devices: meshNodeNames(config).map((node) => ({
      id: `offline-device-${node}`,
      nodeId: `offline-node-${node}`,
      hostname: node,
      name: `${node}.offline.ts.net`,
      addresses: [],
      tags: [],
      authorized: true,
    })),
  }),
};

/**
 * Outputs a provider would compute on create, given visible offline values so what depends on
 * them can be rendered (and shown as secret where the provider marks them secret).
 */
const OFFLINE_STATE: Readonly<Record<string, (name: string) => Record<string, unknown>>> = {
  "tailscale:index/tailnetKey:TailnetKey": (name) => ({ key: `<offline:${name}>` }),
};

/** Import ids of the form `<account or zone>/<id>`: the resource's own id is the last part. */
const IMPORT_ID_WITH_SCOPE = new Set(["cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared", "cloudflare:index/dnsRecord:DnsRecord"]);

/**
 * The id a resource gets offline: an adopted one keeps its import id; one to be created has none
 * yet in a preview (its id is unknown, as in a real preview) and `<name>-id` in an evaluated `up`.
 */
function offlineId(type: string, name: string, importId: string | undefined, preview: boolean): string {
  if (importId) return IMPORT_ID_WITH_SCOPE.has(type) ? importId.slice(importId.lastIndexOf("/") + 1) : importId;
  return preview ? "" : `${name}-id`;
}

export interface OfflineOptions {
  /**
   * Extra outputs per resource, given its inputs with secrets unwrapped (tests use it to pass a
   * canary secret through the program and see where it lands).
   */
  readonly state?: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
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
  /** The program module to evaluate instead of this project's index (the benchmarks' SDK floor). */
  readonly program?: string;
  /** Answers for provider functions ahead of the offline ones (tests: a canary tunnel token). */
  readonly invoke?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
}

export interface Evaluation {
  readonly checks: readonly CheckResult[];
  /** What would stop a real run, though not this plan. */
  readonly notices: readonly string[];
  readonly registrations: readonly Registration[];
  readonly outputs: { readonly [k: string]: PlainValue };
  readonly artifacts: readonly Artifact[];
  /** Set when the program threw before finishing (e.g. invalid config). */
  readonly error?: unknown;
  /** Real inputs by resource name, for the types asked for in `realInputsOf`. */
  readonly realInputs: ReadonlyMap<string, Record<string, unknown>>;
}

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
  getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getObject(): { toJavaScript(): unknown } | undefined;
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

/**
 * Runs the program (index.ts) with `config` under the mock runtime. Must be called once per
 * process: Pulumi's runtime state is global.
 */
/** The program: index.ts under tsx, dist/index.js when this file runs compiled. */
const PROGRAM = path.join(__dirname, "..", "..", "index");

export async function evaluateOffline(config: StackConfig, options: OfflineOptions = {}): Promise<Evaluation> {
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
        ...options.state?.(type, name, inputs),
      },
    };
  };
  const mocks: import("@pulumi/pulumi/runtime/mocks").Mocks = {
    newResource: (args) => newResource(args.type, args.name, args.inputs as Record<string, unknown>, args.id ?? ""),
    call: (args) => {
      const override = options.invoke?.(args.token, args.inputs as Record<string, unknown>);
      if (override !== undefined) return override;
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
    exported = require(options.program ?? PROGRAM) as Record<string, unknown>;
  } catch (err) {
    error = err;
  }

  const resolve = <T>(o: import("@pulumi/pulumi").Output<T>) => new Promise<T>((res) => o.apply((v) => (res(v), v)));
  // Values a provider computes on create are unknown in a preview; `apply` never runs on them.
  const isKnown = (o: import("@pulumi/pulumi").Output<unknown>) => (o as unknown as { isKnown: Promise<boolean> }).isKnown;
  const outputs: { [k: string]: PlainValue } = {};
  for (const key of Object.keys(exported).sort()) {
    const value = exported[key];
    if (!pulumi.Output.isInstance(value)) continue;
    if (await pulumi.isSecret(value)) outputs[key] = SECRET_MASK;
    else if (!(await isKnown(value))) outputs[key] = "[unknown until apply]";
    else outputs[key] = maskWire(await resolve(value));
  }

  const { recordedArtifacts, recordedChecks, recordedNotices } = await import("../../components/artifacts");
  const artifacts: Artifact[] = [];
  for (const [relPath, text] of [...recordedArtifacts()].sort(([a], [b]) => a.localeCompare(b))) {
    artifacts.push(
      typeof text === "string" ? { path: relPath, text, secret: false } : { path: relPath, text: await resolve(text), secret: await pulumi.isSecret(text) },
    );
  }

  await settings.disconnect();
  Error.stackTraceLimit = stackTraceLimit;
  Error.prepareStackTrace = prepareStackTrace;
  registrations.sort((a, b) => a.urn.localeCompare(b.urn));
  const checks = [...recordedChecks()];
  const notices = [...recordedNotices()];
  const result = { checks, notices, registrations, outputs, artifacts, realInputs };
  return error === undefined ? result : { ...result, error };
}

/**
 * The URN the Pulumi engine gives a registration: its type qualified by every ancestor's type
 * (`Parent$Child`). The mock monitor qualifies by the direct parent only, which is enough to link
 * registrations but not to name them to a real engine (e.g. `pulumi up --replace`).
 */
export function engineUrn(registrations: readonly Registration[], r: Registration, stack: string, project: string): string {
  const byUrn = new Map(registrations.map((x) => [x.urn, x]));
  const types: string[] = [r.type];
  for (let p = r.parent === null ? undefined : byUrn.get(r.parent); p !== undefined; p = p.parent === null ? undefined : byUrn.get(p.parent))
    types.unshift(p.type);
  return `urn:pulumi:${stack}::${project}::${types.join("$")}::${r.name}`;
}
