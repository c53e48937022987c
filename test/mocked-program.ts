// The program (index.ts) under Pulumi's own mocks (`pulumi.runtime.setMocks`, the SDK's public
// testing API), answering as a test says and the offline answers otherwise; for tests that need a
// provider to answer something the offline plan never would (a canary secret, listed devices).
// Once per process: Pulumi's runtime state is global.
import * as path from "node:path";
import { OFFLINE_INVOKES, OFFLINE_STATE, offlineId } from "../offline/answers";
import type { StackConfig } from "../stacks/stackfile";

export interface MockedAnswers {
  /** Extra outputs of a resource, given its inputs (secrets as the SDK's mocks hand them over). */
  readonly resource?: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
  /** A provider function's result, instead of the offline one. */
  readonly call?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
}

export interface MockedRun {
  /** Each registration as the mocks saw it, in order. */
  readonly resources: readonly { readonly type: string; readonly name: string; readonly inputs: Record<string, unknown> }[];
  /** `register NAME` and `call TOKEN`, in the order the program made them. */
  readonly events: readonly string[];
  /** The stack outputs, resolved. */
  readonly outputs: Record<string, unknown>;
}

/** Runs index.ts as an evaluated `up` (ids known) with `config`. */
export async function runMocked(config: StackConfig, answers: MockedAnswers = {}): Promise<MockedRun> {
  process.env.PULUMI_CONFIG = JSON.stringify(config.values);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(config.encrypted);
  process.env.OPTIMAL_MESH_OFFLINE = "1";
  const pulumi = await import("@pulumi/pulumi");
  const resources: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
  const events: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        if (args.type === pulumi.runtime.rootPulumiStackTypeName) return { id: "", state: {} };
        const inputs = args.inputs as Record<string, unknown>;
        resources.push({ type: args.type, name: args.name, inputs });
        events.push(`register ${args.name}`);
        const state = { ...inputs, ...OFFLINE_STATE[args.type]?.(args.name), ...answers.resource?.(args.type, args.name, inputs) };
        return { id: offlineId(args.type, args.name, args.id, false), state };
      },
      call: (args) => {
        events.push(`call ${args.token}`);
        const inputs = args.inputs as Record<string, unknown>;
        const answer = answers.call?.(args.token, inputs) ?? OFFLINE_INVOKES[args.token]?.(inputs, config);
        if (answer === undefined) throw new Error(`no answer for ${args.token}`);
        return answer;
      },
    },
    config.project,
    config.stack,
    false,
  );
  // Inside the stack resource, as the language host and the offline plan run the program.
  let exported: Record<string, unknown> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program may run only once the mocks are set
    exported = require(path.join(__dirname, "..", "index")) as Record<string, unknown>;
    return exported;
  });
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exported)) {
    if (value === undefined) continue;
    outputs[key] = await new Promise((resolve) => pulumi.output(value).apply((v) => (resolve(v), v)));
  }
  return { resources, events, outputs };
}
