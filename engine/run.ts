// One engine operation in a process of its own (the SDK's runtime is per process): the real
// index.ts run inline by the Automation API against the CLI built here, its plugins the
// stand-ins installed in the harness's PULUMI_HOME.
//   run.ts REQUEST.json RESULT.json
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { LocalWorkspace, PulumiCommand, type ConfigMap, type EngineEvent, type ProjectSettings, type Stack } from "@pulumi/pulumi/automation";
import { meshProgram } from "../program";
import { ROOT } from "./toolchain";

/** A stack's config: string values (secrets among them) and structured values (written as YAML). */
export interface StackConfig {
  readonly strings: ConfigMap;
  readonly objects: Readonly<Record<string, unknown>>;
}

export type Operation = "preview" | "up" | "refresh" | "destroy" | "export" | "import" | "config" | "cancel";

export interface RunRequest {
  readonly op: Operation;
  /** `mesh` (default): the real index.ts; `providers`: only the four providers, the floor an engine run of the mesh starts from. */
  readonly program?: "mesh" | "providers";
  readonly stack: string;
  readonly workDir: string;
  readonly backend: string;
  /** The folder whose pulumi binary runs. */
  readonly bin: string;
  readonly env: Record<string, string>;
  /** Config to set first (all of it, replacing what the stack had). */
  readonly config?: StackConfig;
  readonly policyPack?: { readonly dir: string; readonly config?: string };
  readonly replace?: readonly string[];
  readonly target?: readonly string[];
  readonly refresh?: boolean;
  readonly expectNoChanges?: boolean;
  readonly clearPendingCreates?: boolean;
  /** For `import`: a deployment (stack export) to load. */
  readonly deployment?: unknown;
}

/** One step the engine took or planned, from its events. */
export interface Step {
  readonly op: string;
  readonly urn: string;
  readonly type: string;
  /** Keys that differ (from the engine's step metadata). */
  readonly diffs?: readonly string[];
}

export interface RunResult {
  readonly ok: boolean;
  /** Step counts by op, as the engine summarises them. */
  readonly summary: Record<string, number>;
  readonly steps: readonly Step[];
  readonly outputs?: Record<string, unknown>;
  /** What the engine printed (its progress and diagnostics). */
  readonly stdout: string;
  readonly stderr: string;
  /** The error's message, when the operation failed. */
  readonly error?: string;
  readonly diagnostics: readonly { readonly severity: string; readonly message: string; readonly urn?: string }[];
  readonly deployment?: unknown;
}

function projectSettings(backend: string): ProjectSettings {
  const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ProjectSettings;
  return { ...project, backend: { url: backend } };
}

/**
 * Replaces the stack's config: the strings through the CLI (it encrypts the secrets), then the
 * structured values into the stack file, as `pulumi config set --path` would leave them.
 */
async function setConfig(stack: Stack, workDir: string, config: StackConfig): Promise<void> {
  const current = Object.keys(await stack.getAllConfig());
  if (current.length > 0) await stack.removeAllConfig(current);
  await stack.setAllConfig({ ...config.strings });
  const file = path.join(workDir, `Pulumi.${stack.name}.yaml`);
  const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  doc.config = { ...(doc.config ?? {}), ...config.objects };
  fs.writeFileSync(file, yaml.dump(doc, { lineWidth: -1 }));
}

/** The real program, as index.ts runs it. */
const mesh = async () => meshProgram();

/** A program that registers nothing but the providers the mesh uses: each plugin is started and configured. */
async function providersOnly(): Promise<Record<string, unknown>> {
  const [{ Provider: Cloudflare }, { Provider: Command }, { Provider: Hcloud }, { Provider: Tailscale }] = await Promise.all([
    import("@pulumi/cloudflare"),
    import("@pulumi/command"),
    import("@pulumi/hcloud"),
    import("@pulumi/tailscale"),
  ]);
  new Cloudflare("cloudflare", { apiToken: "floor-test-token-0123456789abcdef0123456789abcdef" });
  new Command("command", {});
  new Hcloud("hcloud", { token: "floor-test-token-0123456789abcdef0123456789abcdef0123456789abcdef" });
  new Tailscale("tailscale", { apiKey: "tskey-api-floor" });
  return {};
}

async function run(req: RunRequest): Promise<RunResult> {
  const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(req.bin)), skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    {
      stackName: req.stack,
      projectName: "optimal-mesh",
      // The real program, run inline: the SDK serves the language runtime in this process.
      program: req.program === "providers" ? providersOnly : mesh,
    },
    { workDir: req.workDir, envVars: req.env, pulumiCommand, projectSettings: projectSettings(req.backend) },
  );
  if (req.config !== undefined) await setConfig(stack, req.workDir, req.config);

  const steps: Step[] = [];
  const diagnostics: { severity: string; message: string; urn?: string }[] = [];
  let stdout = "";
  let stderr = "";
  const onEvent = (e: EngineEvent) => {
    const m = e.resourcePreEvent?.metadata;
    if (m !== undefined) steps.push({ op: m.op, urn: m.urn, type: m.type, ...(m.diffs !== undefined ? { diffs: m.diffs } : {}) });
    const d = e.diagnosticEvent;
    if (d !== undefined) diagnostics.push({ severity: d.severity, message: d.message, ...(d.urn !== undefined ? { urn: d.urn } : {}) });
  };
  const common = {
    onEvent,
    onOutput: (s: string) => void (stdout += s),
    onError: (s: string) => void (stderr += s),
    color: "never" as const,
    ...(req.target !== undefined ? { target: [...req.target] } : {}),
  };
  const policy =
    req.policyPack !== undefined
      ? { policyPacks: [req.policyPack.dir], ...(req.policyPack.config !== undefined ? { policyPackConfigs: [req.policyPack.config] } : {}) }
      : {};
  const base = { stdout, stderr, steps, diagnostics };
  try {
    switch (req.op) {
      case "config":
        return { ok: true, summary: {}, ...base };
      case "preview": {
        const r = await stack.preview({
          ...common,
          ...policy,
          ...(req.refresh ? { refresh: true } : {}),
          ...(req.expectNoChanges ? { expectNoChanges: true } : {}),
          ...(req.replace ? { replace: [...req.replace] } : {}),
        });
        return { ok: true, summary: r.changeSummary as Record<string, number>, ...base, stdout, stderr };
      }
      case "up": {
        const r = await stack.up({ ...common, ...policy, ...(req.refresh ? { refresh: true } : {}), ...(req.replace ? { replace: [...req.replace] } : {}) });
        const outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
        return { ok: true, summary: (r.summary.resourceChanges ?? {}) as Record<string, number>, outputs, ...base, stdout, stderr };
      }
      case "refresh": {
        const r = await stack.refresh({
          ...common,
          ...(req.expectNoChanges ? { expectNoChanges: true } : {}),
          ...(req.clearPendingCreates ? { clearPendingCreates: true } : {}),
        });
        return { ok: true, summary: (r.summary.resourceChanges ?? {}) as Record<string, number>, ...base, stdout, stderr };
      }
      case "destroy": {
        const r = await stack.destroy(common);
        return { ok: true, summary: (r.summary.resourceChanges ?? {}) as Record<string, number>, ...base, stdout, stderr };
      }
      case "export":
        return { ok: true, summary: {}, ...base, deployment: await stack.exportStack() };
      case "cancel":
        await stack.cancel();
        return { ok: true, summary: {}, ...base };
      case "import":
        await stack.importStack(req.deployment as Parameters<typeof stack.importStack>[0]);
        return { ok: true, summary: {}, ...base };
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, summary: {}, ...base, stdout, stderr, error: message };
  }
}

const [requestFile, resultFile] = process.argv.slice(2);
run(JSON.parse(fs.readFileSync(requestFile!, "utf8")) as RunRequest).then(
  (result) => fs.writeFileSync(resultFile!, JSON.stringify(result)),
  (err: unknown) => {
    process.stderr.write(`engine run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
