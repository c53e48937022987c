// The operations a rebuild performs, on the real world: the stack's config and state through the
// Automation API (the Pulumi CLI), the tailnet's devices through Tailscale's API, and the new
// machine's SSH host key read over the tailnet with ssh-keyscan.
import { spawnSync } from "node:child_process";
import type { Stack } from "@pulumi/pulumi/automation";
import { commentText } from "../../text/escape";
import { GRAMMAR } from "../../stacks/grammar";
import type { Deployment, RebuildOps } from "./rebuild";
import { tailscaleApi, type TailscaleApi } from "./tailscale-api";
import { apiJson, apiRequest } from "./web";

/** How long the new machine may take to boot, join the tailnet and answer SSH. */
export const HOST_KEY_WAIT_SECONDS = 900;

interface TailscaleDevice {
  readonly id: string;
  readonly name?: string;
  readonly hostname?: string;
}

/** The Tailscale API as the provider is configured for this stack (base URL, tailnet, credential). */
async function tailscaleApiOf(s: Stack): Promise<TailscaleApi> {
  const all = await s.getAllConfig();
  const value = (key: string) => all[key]?.value;
  return tailscaleApi({
    baseUrl: value("tailscale:baseUrl"),
    baseUrlSetting: "tailscale:baseUrl",
    tailnet: value("tailscale:tailnet"),
    apiKey: value("tailscale:apiKey"),
    oauthClientId: value("tailscale:oauthClientId"),
    oauthClientSecret: value("tailscale:oauthClientSecret"),
  });
}

/** A device is the node's when its MagicDNS name's first label, or its hostname, is the node's name. */
function isNodes(device: TailscaleDevice, node: string): boolean {
  return device.name?.split(".")[0] === node || device.hostname === node;
}

/** The policy pack every up runs with: its folder and its config file for this stack. */
export interface PackRun {
  readonly pack: string;
  readonly config: string;
}

export function automationOps(s: Stack, output: (text: string) => void, policy: PackRun): RebuildOps {
  return {
    ready: async (plan) => {
      // The cloud server's device is removed through the Tailscale API; its new host key is read with ssh-keyscan.
      if (plan.kind === "cloud-server") await tailscaleApiOf(s);
      if (plan.pinHostKey && spawnSync("ssh-keyscan", ["-h"], { encoding: "utf8" }).error !== undefined)
        throw new Error("ssh-keyscan is not installed here (openssh-client): the rebuild reads the new server's host key with it");
    },
    removeConfig: (path) => s.removeConfig(path, true),
    setConfig: (path, value) => s.setConfig(path, { value }, true),
    exportState: async () => (await s.exportStack()).deployment as Deployment,
    importState: async (deployment) => {
      const current = await s.exportStack();
      await s.importStack({ ...current, deployment });
    },
    up: async ({ replace, target }) => {
      const opts = {
        ...(replace && replace.length > 0 ? { replace: [...replace] } : {}),
        ...(target && target.length > 0 ? { target: [...target] } : {}),
        policyPacks: [policy.pack],
        policyPackConfigs: [policy.config],
        onOutput: output,
      };
      // The Automation API's up skips the engine's preview; the preview is what fails on a
      // protected resource the up would delete before anything changes (an up alone runs the
      // updates first, then stops at the delete).
      await s.preview(opts);
      await s.up(opts);
    },
    removeDevice: async (node) => {
      const api = await tailscaleApiOf(s);
      const url = `${api.base}/api/v2/tailnet/${encodeURIComponent(api.tailnet)}/devices`;
      const list = await apiRequest(api.origin, url, { headers: { authorization: api.auth } });
      if (!list.ok) throw new Error(`listing the tailnet's devices: HTTP ${list.status}`);
      const devices = ((await apiJson(api.origin, url, list)) as { devices?: TailscaleDevice[] } | null)?.devices ?? [];
      const mine = devices.filter((d) => isNodes(d, node));
      for (const d of mine) {
        const r = await apiRequest(api.origin, `${api.base}/api/v2/device/${encodeURIComponent(d.id)}`, {
          method: "DELETE",
          headers: { authorization: api.auth },
        });
        if (!r.ok && r.status !== 404) throw new Error(`removing device ${commentText(d.id)} (${commentText(d.name ?? node)}): HTTP ${r.status}`);
      }
      return mine.length > 0;
    },
    hostKeyOverTailnet: async (node) => {
      // The name resolves to the new machine once it has joined with the key just minted: the
      // tailnet has authenticated it, so the host key it presents there is the one to pin.
      // What it presents goes into the stack file and a log line: only a key in the topology's grammar is taken.
      const deadline = Date.now() + HOST_KEY_WAIT_SECONDS * 1000;
      for (;;) {
        const r = spawnSync("ssh-keyscan", ["-T", "10", "-t", "ed25519", node], { encoding: "utf8" });
        if (r.error !== undefined) throw new Error(`ssh-keyscan could not run (${r.error.message}); install openssh-client`);
        const key = r.stdout
          .split("\n")
          .filter((l) => l.startsWith(`${node} ssh-ed25519 `))
          .map((l) => l.split(" ").slice(1, 3).join(" "))
          .find((k) => GRAMMAR.hostKey.pattern.test(k));
        if (key !== undefined) return key;
        if (Date.now() > deadline) throw new Error(`${node} did not answer SSH on the tailnet within ${HOST_KEY_WAIT_SECONDS}s`);
        await new Promise((done) => setTimeout(done, 10_000));
      }
    },
  };
}
