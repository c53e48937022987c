// The tailnet: its policy (with its own tests, checked offline first), MagicDNS, and per node
// either the joined device's tags and key expiry or a single-use auth key for its bootstrap.
// Joined devices are found in one listing of the tailnet's devices, not one lookup per node.
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { isIPv4 } from "node:net";
import type { TailnetNodePlan, TailnetPlan } from "../../plan/mesh-plan";
import { aliasOf } from "../names";
import { deviceFinder, type TailnetDevice } from "./devices";

/** How long a bootstrap auth key stays valid, in seconds: long enough for one `pulumi up`. */
export const AUTH_KEY_TTL_SECONDS = 3600;

/** A joined node's device settings: its tags (what makes it reachable over SSH) and its tailnet IPv4 as listed. */
export interface DeviceSettings {
  readonly tags: tailscale.DeviceTags;
  /** Undefined where the tailnet lists no IPv4 for the device. */
  readonly address: pulumi.Output<string | undefined>;
}

/**
 * Tags and key expiry of joined nodes' devices, found in one listing of the tailnet taken after
 * `after`, registered as children of the tailnet (`parent`) after its policy (`acl`).
 */
export function deviceSettings(parent: Tailnet, nodes: readonly TailnetNodePlan[], after: readonly pulumi.Resource[] = []): Record<string, DeviceSettings> {
  const settings: Record<string, DeviceSettings> = {};
  if (nodes.length === 0) return settings;
  const listing = tailscale.getDevicesOutput({}, { parent, dependsOn: [...after] });
  let find: ((node: string) => TailnetDevice) | undefined;
  for (const node of nodes) {
    const device = listing.apply((r) => (find ??= deviceFinder(r.devices ?? []))(node.node));
    const deviceId = device.apply((d) => d.id);
    // A device that is gone (a machine rebuilt, a node removed) cannot have its settings undone:
    // the provider's delete fails on a missing device, so these are only dropped from the state.
    const tags = new tailscale.DeviceTags(
      node.device!.tags.name,
      { deviceId, tags: [...node.tags] },
      { parent, dependsOn: [parent.acl], retainOnDelete: true },
    );
    new tailscale.DeviceKey(node.device!.key.name, { deviceId, keyExpiryDisabled: node.device!.keyExpiryDisabled }, { parent, retainOnDelete: true });
    settings[node.node] = { tags, address: device.apply((d) => d.addresses?.find((a) => isIPv4(a))) };
  }
  return settings;
}

/**
 * The tailnet's policy, MagicDNS, the bootstrap auth keys and the device settings of the joined
 * nodes that run already. A server this program (re)builds is a new device the tailnet lists only
 * once the server is up: its creator registers its settings with deviceSettings, after the
 * server's node host, as children of this tailnet (`serverDevices` in the plan).
 */
export class Tailnet extends pulumi.ComponentResource {
  /** The rendered policy file (HuJSON). */
  public readonly policy: pulumi.Output<string>;
  /** Single-use auth keys for nodes to bootstrap, by node name; secret. */
  public readonly authKeys: Record<string, pulumi.Output<string>>;
  /**
   * Joined nodes' device settings by node name: the policy lets SSH reach tagged devices only, so
   * nothing may reach such a node over SSH before its tags are set.
   */
  public readonly devices: Record<string, DeviceSettings>;
  /** The joined nodes whose devices exist only once the server is back (their settings wait for it). */
  public readonly serverDevices: readonly TailnetNodePlan[];
  /** The policy: device tags are set after it, so the tags have owners. */
  public readonly acl: tailscale.Acl;

  constructor(plan: TailnetPlan, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:tailnet:Tailnet", plan.name, {}, { ...opts, aliases: aliasOf(plan) });
    if (plan.policyFailures.length > 0)
      throw new pulumi.ResourceError(`the rendered tailnet policy fails its own checks:\n  ${plan.policyFailures.join("\n  ")}`, this);

    const acl = (this.acl = new tailscale.Acl(
      plan.policy.name,
      {
        acl: plan.policy.text,
        // Replacing a hand-edited policy must be a deliberate act, stated in the stack config.
        overwriteExistingContent: plan.policy.overwriteExistingContent,
        resetAclOnDestroy: false,
      },
      { parent: this, protect: true },
    ));
    new tailscale.DnsPreferences(plan.dns.name, { magicDns: true }, { parent: this });

    this.authKeys = {};
    for (const node of plan.nodes) {
      if (node.authKey === undefined) continue;
      // Created after the policy, so its tags have owners; used once, then useless.
      const key = new tailscale.TailnetKey(
        node.authKey.name,
        {
          reusable: false,
          ephemeral: false,
          preauthorized: true,
          expiry: AUTH_KEY_TTL_SECONDS,
          tags: [...node.tags],
          description: node.authKey.description,
          // Never replaced because a refresh found it used or expired (it always is a day later, and
          // daily drift would plan a new key every day); a rebuild replaces it on purpose with the server.
          recreateIfInvalid: "never",
        },
        { parent: this, dependsOn: [acl], additionalSecretOutputs: ["key"] },
      );
      this.authKeys[node.node] = pulumi.secret(key.key);
    }
    this.devices = deviceSettings(
      this,
      plan.nodes.filter((n) => n.device !== undefined && !n.device.afterServer),
    );
    this.serverDevices = plan.nodes.filter((n) => n.device?.afterServer === true);
    this.policy = pulumi.output(plan.policy.text);
    const nodeTags = Object.fromEntries(plan.nodes.map((n) => [n.node, [...n.tags]]));
    this.registerOutputs({ policy: this.policy, nodeTags, authKeys: this.authKeys });
  }
}
