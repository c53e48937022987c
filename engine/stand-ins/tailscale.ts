// Stand-in for @pulumi/tailscale 0.29.1: pulumi-tailscale v0.29.1 (commit a84e7362; the PF bridge
// v3.135.0 over tailscale/terraform-provider-tailscale v0.29.2, plugin framework only, and its API
// client tailscale.com/client/tailscale/v2 v2.9.0). Paths: TF = terraform-provider-tailscale
// v0.29.2 tailscale/, CL = tailscale-client-go-v2 v2.9.0, BR = pulumi-terraform-bridge v3.135.0.
// The PF bridge sends no detailed diff here, only the changed and replaced keys
// (BR pkg/pf/tfbridge/provider_diff.go:80-159; pulumi-tailscale sets no accurate-preview flag).
import { randomBytes, randomUUID } from "node:crypto";
import { parseHujson } from "../../render/tailnet/hujson";
import { checkBridged, diffBridged } from "./bridged";
import { ProviderError, type CallContext, type ProviderModel, type ResourceModel } from "./server";
import { bool, num, reveal, secret, str, UNKNOWN, type Props, type Value } from "./wire";

/** A Tailscale API error as the client formats it: `<message> (<status>)` (CL client.go:376-378). */
const apiError = (message: string, status: number) => `${message} (${status})`;

/** The provider refuses to start without a credential (TF provider_sdk.go:18-32, provider_framework.go:185-187). */
function requireCredentials(ctx: CallContext): void {
  const has = (k: string) => typeof reveal(ctx.config[k] ?? null) === "string" && reveal(ctx.config[k]!) !== "";
  const envKey = process.env.TAILSCALE_API_KEY ?? "";
  if (!has("apiKey") && envKey === "" && !has("oauthClientId"))
    throw new ProviderError(
      "Provider credentials error: tailscale provider credentials are empty - set `api_key` or 'oauth_client_id' and one of 'oauth_client_secret', 'identity_token' or 'audience'",
    );
  if ((has("apiKey") || envKey !== "") && has("oauthClientId"))
    throw new ProviderError("Provider credentials error: tailscale provider credentials are conflicting - `api_key` conflicts with 'oauth_client_id'");
}

function strings(p: Props, key: string): string[] {
  const v = reveal(p[key] ?? null);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

interface Device extends Props {
  id: string;
  nodeId: string;
  name: string;
  hostname: string;
  addresses: string[];
  tags: string[];
  keyExpiryDisabled: boolean;
}

/** The device a DeviceTags/DeviceKey names, by its node id or legacy id. */
function findDevice(ctx: CallContext, deviceId: string): Device | undefined {
  const devices = Object.values(ctx.cloud.list("devices")) as Device[];
  return devices.find((d) => d.nodeId === deviceId || d.id === deviceId);
}

/**
 * `tailscale_acl`: nothing forces a replacement (TF resource_acl.go:57-82); the text must parse as
 * HuJSON (TF validators.go:100-112); create refuses to overwrite a policy that is not the default
 * unless `overwriteExistingContent` (If-Match "ts-default", 412, TF resource_acl.go:103-129); read
 * returns the tailnet's text verbatim (:86-101); delete resets only with `resetAclOnDestroy` (:151-160).
 */
const acl: ResourceModel = {
  check(ctx, news, olds) {
    const { inputs, failures } = checkBridged(ctx.name, news, olds, { required: ["acl"], framework: true });
    const text = str(news, "acl");
    if (text !== undefined && text !== UNKNOWN) {
      try {
        parseHujson(text);
      } catch (err) {
        failures.push({
          property: "acl",
          reason: `Invalid Attribute Value. Attribute acl is invalid HuJSON, got: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    }
    return { inputs, failures };
  },
  diff(_ctx, { olds, news, oldInputs }) {
    return diffBridged(olds, news, oldInputs, { framework: true });
  },
  async create(ctx, inputs, preview) {
    requireCredentials(ctx);
    const outs = pick(inputs, ["acl", "overwriteExistingContent", "resetAclOnDestroy"]);
    if (preview) return { id: "", outs };
    const current = ctx.cloud.get("policy", "tailnet");
    if (bool(inputs, "overwriteExistingContent") !== true && current !== undefined && current.isDefault !== true)
      throw new ProviderError(
        "Overwrite Protected: You are trying to overwrite a non-default policy. Please import the ACL first or set overwrite_existing_content = true.",
      );
    ctx.cloud.put("policy", "tailnet", { text: str(inputs, "acl")!, isDefault: false }, current === undefined ? "create" : "update", ctx.name);
    return { id: randomUUID(), outs };
  },
  async read(ctx, { id, state, inputs }) {
    const current = ctx.cloud.get("policy", "tailnet");
    const outs = { ...state, acl: current === undefined ? "" : (current.text as string) };
    return { id, outs, inputs: Object.keys(inputs).length > 0 ? inputs : pick(outs, ["acl"]) };
  },
  async update(ctx, { news, preview }) {
    const outs = pick(news, ["acl", "overwriteExistingContent", "resetAclOnDestroy"]);
    if (!preview) ctx.cloud.put("policy", "tailnet", { text: str(news, "acl")!, isDefault: false }, "update", ctx.name);
    return outs;
  },
  async delete(ctx, { state }) {
    if (bool(state, "resetAclOnDestroy") !== true) return;
    ctx.cloud.put("policy", "tailnet", { text: "", isDefault: true }, "update", ctx.name);
  },
};

/** `tailscale_dns_preferences`: create and update post magicDNS; delete posts false (TF resource_dns_preferences.go:64-141). */
const dnsPreferences: ResourceModel = {
  check: (ctx, news, olds) => checkBridged(ctx.name, news, olds, { required: ["magicDns"], framework: true }),
  diff: (_ctx, { olds, news, oldInputs }) => diffBridged(olds, news, oldInputs, { framework: true }),
  async create(ctx, inputs, preview) {
    requireCredentials(ctx);
    if (!preview) ctx.cloud.put("dns", "preferences", { magicDNS: bool(inputs, "magicDns") ?? false }, "create", ctx.name);
    return { id: preview ? "" : randomUUID(), outs: pick(inputs, ["magicDns"]) };
  },
  async read(ctx, { id, state, inputs }) {
    const prefs = ctx.cloud.get("dns", "preferences");
    return { id, outs: { ...state, magicDns: prefs?.magicDNS ?? false }, inputs };
  },
  async update(ctx, { news, preview }) {
    if (!preview) ctx.cloud.put("dns", "preferences", { magicDNS: bool(news, "magicDns") ?? false }, "update", ctx.name);
    return pick(news, ["magicDns"]);
  },
  async delete(ctx) {
    ctx.cloud.put("dns", "preferences", { magicDNS: false }, "update", ctx.name);
  },
};

/** Every input but recreateIfInvalid and userId forces a new key (TF resource_tailnet_key.go:66-159). */
const KEY_FORCE_NEW = ["reusable", "ephemeral", "tags", "preauthorized", "expiry", "description"];

/**
 * `tailscale_tailnet_key`: `key` is sensitive (a secret output); a key found used or gone by a
 * refresh is `invalid` and replaced only as `recreateIfInvalid` says ("never": kept; TF
 * resource_tailnet_key.go:221-229, 317-344); delete ignores a 404 (:201-214).
 */
const tailnetKey: ResourceModel = {
  check(ctx, news, olds) {
    const { inputs, failures } = checkBridged(ctx.name, news, olds, { framework: true });
    const r = str(news, "recreateIfInvalid");
    if (r !== undefined && !["", "always", "never"].includes(r))
      failures.push({
        property: "recreateIfInvalid",
        reason: `Invalid Attribute Value Match. Attribute recreate_if_invalid value must be one of: ["\\"\\"" "\\"always\\"" "\\"never\\""], got: "${r}"`,
      });
    const d = str(news, "description");
    if (d !== undefined && d.length > 50)
      failures.push({
        property: "description",
        reason: `Invalid Attribute Value Length. Attribute description string length must be at most 50, got: ${d.length}`,
      });
    return { inputs, failures };
  },
  diff(_ctx, { olds, news, oldInputs }) {
    const answer = diffBridged(olds, news, oldInputs, { forceNew: KEY_FORCE_NEW, framework: true });
    // A refresh found it invalid: replaced when the key is to be recreated (id replaced, TF :317-344).
    const mode = str(news, "recreateIfInvalid") ?? "";
    const recreate = mode === "always" || (mode === "" && bool(news, "reusable") === true);
    if (bool(olds, "invalid") === true && recreate && !answer.replaces.includes("id"))
      return { ...answer, diffs: [...answer.diffs, "id"], replaces: [...answer.replaces, "id"] };
    return answer;
  },
  async create(ctx, inputs, preview) {
    requireCredentials(ctx);
    const base: Props = {
      reusable: bool(inputs, "reusable") ?? false,
      ephemeral: bool(inputs, "ephemeral") ?? false,
      preauthorized: bool(inputs, "preauthorized") ?? false,
      tags: strings(inputs, "tags"),
      description: str(inputs, "description") ?? "",
      ...(inputs.recreateIfInvalid !== undefined ? { recreateIfInvalid: inputs.recreateIfInvalid } : {}),
    };
    if (preview) return { id: "", outs: { ...base, key: UNKNOWN, createdAt: UNKNOWN, expiresAt: UNKNOWN, expiry: UNKNOWN, invalid: UNKNOWN, userId: UNKNOWN } };
    for (const tag of strings(inputs, "tags"))
      if (!tag.startsWith("tag:")) throw new ProviderError(`Failed to create key: Error creating tailnet key: ${apiError(`tags: invalid tag "${tag}"`, 400)}`);
    // The API's default expiry is 90 days when none is sent (TF :161-199 sends 0).
    const expiry = num(inputs, "expiry") ?? 90 * 24 * 3600;
    const n = ctx.cloud.nextId();
    const id = `k${n}CNTRL`;
    const key = `tskey-auth-${id}-${randomBytes(16).toString("hex")}`;
    const now = ctx.cloud.now();
    const record: Props = {
      ...base,
      key,
      expirySeconds: expiry,
      created: now.toISOString(),
      expires: new Date(now.getTime() + expiry * 1000).toISOString(),
      used: false,
    };
    ctx.cloud.put("keys", id, record, "create", ctx.name);
    return {
      id,
      outs: { ...base, key: secret(key), createdAt: record.created!, expiresAt: record.expires!, expiry, invalid: false, userId: "u1CNTRL" },
    };
  },
  async read(ctx, { id, state, inputs }) {
    const k = ctx.cloud.get("keys", id);
    // Gone, used (single-use) or expired: invalid, kept in the state (TF :231-280).
    const invalid = k === undefined || (k.used === true && k.reusable !== true) || Date.parse(String(k.expires)) < ctx.cloud.now().getTime();
    return { id, outs: { ...state, invalid }, inputs };
  },
  async update(_ctx, { olds, news }) {
    return { ...olds, ...pick(news, ["recreateIfInvalid", "userId"]) };
  },
  async delete(ctx, { id }) {
    if (ctx.cloud.get("keys", id) !== undefined) ctx.cloud.remove("keys", id, ctx.name);
  },
};

/** DeviceTags and DeviceKey share their shape: a device setting, `deviceId` forces a new one, the id is the device id. */
function deviceSetting(kind: "tags" | "key"): ResourceModel {
  const field = kind === "tags" ? "tags" : "keyExpiryDisabled";
  const what = kind === "tags" ? "tags" : "key";
  const apply = (ctx: CallContext, deviceId: string, value: Value, action: "update" | "delete") => {
    const device = findDevice(ctx, deviceId);
    if (device === undefined) {
      const verb = action === "update" ? "update" : "delete";
      throw new ProviderError(
        kind === "tags"
          ? `Failed to ${verb} device tags: Failed to ${verb} tags for device with ID ${deviceId}: ${apiError("device not found", 404)}`
          : `Failed to update device key: Failed to update key for device with ID ${deviceId}: ${apiError("device not found", 404)}`,
      );
    }
    ctx.cloud.put("devices", device.id, { ...device, [field]: value }, "update", `${device.name} ${what}`);
  };
  return {
    check: (ctx, news, olds) => checkBridged(ctx.name, news, olds, { required: kind === "tags" ? ["deviceId", "tags"] : ["deviceId"], framework: true }),
    // Tags are a set: their order is no change (TF resource_device_tags.go:43-64).
    diff: (_ctx, { olds, news, oldInputs }) => diffBridged(normalize(olds), normalize(news), normalize(oldInputs), { forceNew: ["deviceId"], framework: true }),
    async create(ctx, inputs, preview) {
      requireCredentials(ctx);
      const deviceId = str(inputs, "deviceId")!;
      const outs = { deviceId, [field]: kind === "tags" ? strings(inputs, "tags") : (bool(inputs, field) ?? false) };
      if (preview) return { id: "", outs };
      apply(ctx, deviceId, outs[field]!, "update");
      return { id: deviceId, outs };
    },
    // A device that is gone is gone from the state (TF resource_device_tags.go:66-109, resource_device_key.go:116-152).
    async read(ctx, { id, state, inputs }) {
      const device = findDevice(ctx, id);
      if (device === undefined) return undefined;
      return { id, outs: { ...state, [field]: device[field] as Value }, inputs };
    },
    async update(ctx, { news, preview }) {
      const deviceId = str(news, "deviceId")!;
      const outs = { deviceId, [field]: kind === "tags" ? strings(news, "tags") : (bool(news, field) ?? false) };
      if (!preview) apply(ctx, deviceId, outs[field]!, "update");
      return outs;
    },
    // A 404 fails the delete (TF resource_device_tags.go:169-196, resource_device_key.go:96-114).
    async delete(ctx, { state }) {
      apply(ctx, str(state, "deviceId")!, kind === "tags" ? [] : false, "delete");
    },
  };
}

function normalize(p: Props): Props {
  const tags = p.tags;
  return Array.isArray(tags) ? { ...p, tags: [...(reveal(tags) as string[])].sort() } : p;
}

function pick(p: Props, keys: readonly string[]): Props {
  return Object.fromEntries(Object.entries(p).filter(([k]) => keys.includes(k)));
}

/** getDevices: the tailnet's devices, those whose full name starts with `namePrefix`; a new random id each call (TF data_source_devices.go:103-148). */
async function getDevices(ctx: CallContext, args: Props): Promise<Props> {
  requireCredentials(ctx);
  const prefix = str(args, "namePrefix") ?? "";
  const devices = (Object.values(ctx.cloud.list("devices")) as Device[])
    .filter((d) => d.name.startsWith(prefix))
    .map((d) => ({
      id: d.id,
      nodeId: d.nodeId,
      name: d.name,
      hostname: d.hostname,
      addresses: d.addresses,
      tags: d.tags ?? [],
      keyExpiryDisabled: d.keyExpiryDisabled ?? false,
    }));
  return { id: randomUUID(), devices, ...(prefix !== "" ? { namePrefix: prefix } : {}) };
}

export const tailscale: ProviderModel = {
  name: "tailscale",
  acceptSecrets: false,
  // tailscale-client-go-v2 retries nothing: a plain http.Client with a one-minute timeout
  // (client.go:84, 107-108), so a 429 or a 500 fails the call.
  retryDelay: () => undefined,
  // That minute bounds every call, whatever the customTimeouts: the bridge ignores them for a
  // plugin-framework provider (pulumi-terraform-bridge v3.135.0 pkg/pf/tfbridge/provider_create.go:32,
  // provider_update.go:36, provider_delete.go:34), and terraform-provider-tailscale v0.29 leaves
  // the client's timeout as it is (tailscale/provider_framework.go:277).
  hangDeadline: () => ({ seconds: 60, error: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)" }),
  resources: {
    "tailscale:index/acl:Acl": acl,
    "tailscale:index/dnsPreferences:DnsPreferences": dnsPreferences,
    "tailscale:index/tailnetKey:TailnetKey": tailnetKey,
    "tailscale:index/deviceTags:DeviceTags": deviceSetting("tags"),
    "tailscale:index/deviceKey:DeviceKey": deviceSetting("key"),
  },
  functions: { "tailscale:index/getDevices:getDevices": getDevices },
};
