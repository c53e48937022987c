// A resource provider plugin served over gRPC at the plugin protocol, the engine's own boundary,
// with the generated stubs the SDK ships. Not `@pulumi/pulumi/provider`'s server: that one can
// answer Diff only with changes and replaces, and the engine applies `replaceOnChanges` (the
// command SDK's `triggers[*]`) only to the paths of a detailed diff
// (pulumi v3.248.0 pkg/resource/deploy/step_generator.go, applyReplaceOnChanges).
// The engine starts the plugin with its address as the first argument and reads the port the
// plugin listens on from the plugin's first line of stdout.
/* eslint-disable no-restricted-imports -- the plugin protocol's generated stubs are the wire contract itself, not SDK internals */
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as plugproto from "@pulumi/pulumi/proto/plugin_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
/* eslint-enable no-restricted-imports */
import { Cloud, type Fault } from "./cloud";
import type { DiffAnswer } from "./diff";
import type { Props } from "./wire";

export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

export interface CallContext {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly cloud: Cloud;
  /** The provider's configuration (its `pulumi config` namespace), secrets revealed. */
  readonly config: Props;
}

/** One resource type, as the upstream provider behaves at the pinned version. */
export interface ResourceModel {
  check(ctx: CallContext, news: Props, olds: Props): { inputs: Props; failures?: readonly CheckFailure[] };
  diff(ctx: CallContext, req: { id: string; olds: Props; news: Props; oldInputs: Props }): DiffAnswer;
  create(ctx: CallContext, inputs: Props, preview: boolean): Promise<{ id: string; outs: Props }>;
  /** The object as the cloud has it, or undefined when it is gone. `inputs` empty on an import. */
  read(ctx: CallContext, req: { id: string; state: Props; inputs: Props }): Promise<{ id: string; outs: Props; inputs: Props } | undefined>;
  update(ctx: CallContext, req: { id: string; olds: Props; news: Props; oldInputs: Props; preview: boolean }): Promise<Props>;
  delete(ctx: CallContext, req: { id: string; state: Props; oldInputs: Props }): Promise<void>;
}

export type FunctionModel = (ctx: CallContext, args: Props) => Promise<Props>;

export interface ProviderModel {
  /** The package name, as in `pulumi:providers:<name>`. */
  readonly name: string;
  /**
   * What Configure answers for secrets: a bridged provider says false, so the engine sends inputs
   * without secret markers and marks outputs secret after it (pulumi-terraform-bridge
   * pkg/x/muxer/muxer.go:309-349); pulumi-go-provider says true (provider.go:907-931).
   */
  readonly acceptSecrets: boolean;
  readonly resources: Readonly<Record<string, ResourceModel>>;
  readonly functions: Readonly<Record<string, FunctionModel>>;
  /**
   * What the upstream provider's API client does when a request fails with an injected fault
   * (429 or 500; a hang is never answered): the delay in milliseconds before it tries again, or
   * undefined when it gives up. `retry` is how many retries it has made already.
   */
  readonly retryDelay: (fault: Fault, retry: number) => number | undefined;
  /**
   * When the upstream provider gives up on an API call that never answers (an injected hang):
   * after `seconds`, failing with `error`; undefined when nothing bounds it (the call waits until
   * the process is stopped). `customTimeout` is what the engine sent for the call (the resource's
   * customTimeouts, in seconds; 0 when unset: pulumi v3.248.0 pkg/resource/deploy/step.go:342,
   * 663, 980 and plugin/provider_plugin.go:1432, 1735, 1851).
   */
  readonly hangDeadline: (op: string, type: string, customTimeout: number) => { readonly seconds: number; readonly error: string } | undefined;
}

/** The calls that reach the provider's web API (and that the API client retries); check and diff do not. */
const API_CALLS = new Set(["create", "read", "update", "delete", "invoke"]);

/** An error the upstream provider's API would answer, with the text it reports. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly code: grpc.status = grpc.status.UNKNOWN,
  ) {
    super(message);
  }
}

const toProps = (s: structproto.Struct | undefined): Props => (s === undefined ? {} : (s.toJavaScript() as Props));
const toStruct = (p: Props): structproto.Struct => structproto.Struct.fromJavaScript(p as Record<string, structproto.JavaScriptValue>);

const KIND: Record<string, provproto.PropertyDiff.Kind> = {
  ADD: provproto.PropertyDiff.Kind.ADD,
  ADD_REPLACE: provproto.PropertyDiff.Kind.ADD_REPLACE,
  DELETE: provproto.PropertyDiff.Kind.DELETE,
  DELETE_REPLACE: provproto.PropertyDiff.Kind.DELETE_REPLACE,
  UPDATE: provproto.PropertyDiff.Kind.UPDATE,
  UPDATE_REPLACE: provproto.PropertyDiff.Kind.UPDATE_REPLACE,
};

type Handler<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** Serves `model` at version `version`; resolves with the port once listening. */
export async function serve(model: ProviderModel, version: string): Promise<number> {
  const cloud = Cloud.fromEnv(model.name);
  let config: Props = {};

  const resourceOf = (type: string): ResourceModel => {
    const r = model.resources[type];
    if (r === undefined)
      throw new ProviderError(
        `stand-in ${model.name}: resource type ${type} is not modeled; model it in engine/stand-ins/${model.name}.ts (citing the upstream provider) before the program uses it`,
        grpc.status.UNIMPLEMENTED,
      );
    return r;
  };
  const ctxOf = (urn: string, type: string, name: string): CallContext => ({ urn, type, name, cloud, config });

  /** Runs one call: injected faults first, then the model; a thrown error becomes the gRPC status. */
  function unary<Req, Res>(op: string, meta: (req: Req) => { type: string; name: string }, body: (req: Req) => Promise<Res> | Res): Handler<Req, Res> {
    return (call, callback) => {
      const run = async (): Promise<Res> => {
        const { type, name } = meta(call.request);
        for (let retry = 0; ; retry++) {
          const fault = cloud.takeFault(op, type, name);
          if (fault === undefined) break;
          if (fault.kind === "hang") {
            const timeout = (call.request as { getTimeout?: () => number }).getTimeout?.() ?? 0;
            const deadline = API_CALLS.has(op) ? model.hangDeadline(op, type, timeout) : undefined;
            if (deadline === undefined) await new Promise(() => undefined);
            await new Promise((done) => setTimeout(done, deadline!.seconds * 1000));
            throw new ProviderError(`${op} of ${name}: ${deadline!.error}`, grpc.status.DEADLINE_EXCEEDED);
          }
          const delay = API_CALLS.has(op) ? model.retryDelay(fault, retry) : undefined;
          if (delay !== undefined) {
            await new Promise((done) => setTimeout(done, delay));
            continue;
          }
          const attempts = retry === 0 ? "" : ` (after ${retry + 1} attempts)`;
          if (fault.kind === "429")
            throw new ProviderError(`${model.name} API: 429 Too Many Requests (Retry-After: ${fault.retryAfter ?? 1})${attempts}`, grpc.status.UNAVAILABLE);
          throw new ProviderError(`${model.name} API: 500 Internal Server Error${attempts}`, grpc.status.UNKNOWN);
        }
        return await body(call.request);
      };
      run().then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = err instanceof Error ? err : new Error(String(err));
          callback({ code: e instanceof ProviderError ? e.code : grpc.status.UNKNOWN, details: e.message, name: e.name, message: e.message }, null);
        },
      );
    };
  }
  const none = () => ({ type: "", name: "" });
  const typeOf = (urn: string) => urn.split("::")[2]?.split("$").pop() ?? "";
  const nameOf = (urn: string) => urn.split("::")[3] ?? "";
  const byUrn = (req: { getUrn(): string }) => ({ type: typeOf(req.getUrn()), name: nameOf(req.getUrn()) });

  const unimplemented: Handler<unknown, unknown> = (_call, callback) =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: "not implemented by the stand-in" }, null);

  const impl = {
    handshake: unimplemented,
    parameterize: unimplemented,
    call: unimplemented,
    construct: unimplemented,
    list: unimplemented,
    attach: unimplemented,
    getMapping: unimplemented,
    getMappings: unimplemented,
    getPluginInfo: unary("info", none, () => new plugproto.PluginInfo().setVersion(version)),
    getSchema: unary("schema", none, () => new provproto.GetSchemaResponse().setSchema(JSON.stringify({ name: model.name, version }))),
    cancel: unary("cancel", none, () => new emptyproto.Empty()),
    checkConfig: unary("checkConfig", none, (req: provproto.CheckRequest) => new provproto.CheckResponse().setInputs(req.getNews())),
    diffConfig: unary("diffConfig", none, () => new provproto.DiffResponse().setChanges(provproto.DiffResponse.DiffChanges.DIFF_NONE)),
    configure: unary("configure", none, (req: provproto.ConfigureRequest) => {
      config = toProps(req.getArgs());
      return new provproto.ConfigureResponse()
        .setAcceptsecrets(model.acceptSecrets)
        .setAcceptresources(model.acceptSecrets)
        .setSupportspreview(true)
        .setAcceptoutputs(model.acceptSecrets);
    }),
    check: unary("check", byUrn, (req: provproto.CheckRequest) => {
      const { type, name } = byUrn(req);
      const { inputs, failures = [] } = resourceOf(type).check(ctxOf(req.getUrn(), type, name), toProps(req.getNews()), toProps(req.getOlds()));
      const res = new provproto.CheckResponse().setInputs(toStruct(inputs));
      res.setFailuresList(failures.map((f) => new provproto.CheckFailure().setProperty(f.property).setReason(f.reason)));
      return res;
    }),
    diff: unary("diff", byUrn, (req: provproto.DiffRequest) => {
      const { type, name } = byUrn(req);
      const d = resourceOf(type).diff(ctxOf(req.getUrn(), type, name), {
        id: req.getId(),
        olds: toProps(req.getOlds()),
        news: toProps(req.getNews()),
        oldInputs: toProps(req.getOldInputs()),
      });
      const res = new provproto.DiffResponse()
        .setChanges(d.diffs.length > 0 ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE)
        .setDiffsList([...d.diffs])
        .setReplacesList([...d.replaces])
        .setDeletebeforereplace(d.deleteBeforeReplace)
        .setHasdetaileddiff(d.detailed !== undefined);
      const detailed = res.getDetaileddiffMap();
      for (const [p, kind] of Object.entries(d.detailed ?? {})) detailed.set(p, new provproto.PropertyDiff().setKind(KIND[kind]!).setInputdiff(true));
      return res;
    }),
    create: unary("create", byUrn, async (req: provproto.CreateRequest) => {
      const { type, name } = byUrn(req);
      const { id, outs } = await resourceOf(type).create(ctxOf(req.getUrn(), type, name), toProps(req.getProperties()), req.getPreview());
      return new provproto.CreateResponse().setId(id).setProperties(toStruct(outs));
    }),
    read: unary("read", byUrn, async (req: provproto.ReadRequest) => {
      const { type, name } = byUrn(req);
      const found = await resourceOf(type).read(ctxOf(req.getUrn(), type, name), {
        id: req.getId(),
        state: toProps(req.getProperties()),
        inputs: toProps(req.getInputs()),
      });
      // An empty id tells the engine the object is gone.
      if (found === undefined) return new provproto.ReadResponse().setId("");
      return new provproto.ReadResponse().setId(found.id).setProperties(toStruct(found.outs)).setInputs(toStruct(found.inputs));
    }),
    update: unary("update", byUrn, async (req: provproto.UpdateRequest) => {
      const { type, name } = byUrn(req);
      const outs = await resourceOf(type).update(ctxOf(req.getUrn(), type, name), {
        id: req.getId(),
        olds: toProps(req.getOlds()),
        news: toProps(req.getNews()),
        oldInputs: toProps(req.getOldInputs()),
        preview: req.getPreview(),
      });
      return new provproto.UpdateResponse().setProperties(toStruct(outs));
    }),
    delete: unary("delete", byUrn, async (req: provproto.DeleteRequest) => {
      const { type, name } = byUrn(req);
      await resourceOf(type).delete(ctxOf(req.getUrn(), type, name), {
        id: req.getId(),
        state: toProps(req.getProperties()),
        oldInputs: toProps(req.getOldInputs()),
      });
      return new emptyproto.Empty();
    }),
    invoke: unary(
      "invoke",
      (req: provproto.InvokeRequest) => ({ type: req.getTok(), name: "" }),
      async (req: provproto.InvokeRequest) => {
        const fn = model.functions[req.getTok()];
        if (fn === undefined)
          throw new ProviderError(
            `stand-in ${model.name}: function ${req.getTok()} is not modeled; model it in engine/stand-ins/${model.name}.ts before the program uses it`,
            grpc.status.UNIMPLEMENTED,
          );
        const out = await fn(ctxOf("", req.getTok(), ""), toProps(req.getArgs()));
        return new provproto.InvokeResponse().setReturn(toStruct(out));
      },
    ),
  };

  const server = new grpc.Server({ "grpc.max_receive_message_length": 1024 * 1024 * 400 });
  server.addService(provrpc.ResourceProviderService, impl as unknown as grpc.UntypedServiceImplementation);
  return await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}
