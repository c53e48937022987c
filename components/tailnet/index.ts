// The tailnet: its policy (with its own tests, checked offline first), MagicDNS, and per node
// either the joined device's tags and key expiry or a single-use auth key for its bootstrap.
// Joined devices are found in one listing of the tailnet's devices, not one lookup per node.
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { isIPv4 } from "node:net";
import type { TailnetNodePlan, TailnetPlan } from "../../plan";
import { aliasOf } from "../names";
import { deviceFinder, type TailnetDevice } from "./devices";

/** How long a bootstrap auth key stays valid, in seconds: long enough for one `pulumi up`. */
export const AUTH_KEY_TTL_SECONDS = 3600;

export class Tailnet extends pulumi.ComponentResource {
  /** The rendered policy file (HuJSON). */
  public readonly policy: pulumi.Output<string>;
  /** Single-use auth keys for nodes to bootstrap, by node name; secret. */
  public readonly authKeys: Record<string, pulumi.Output<string>>;
  /**
   * Joined nodes whose tags this program sets, by node name: the policy lets SSH reach tagged
   * devices only, so nothing may reach such a node over SSH before its tags are set.
   */
  public readonly tagged: Record<string, tailscale.DeviceTags> = {};
  /** The tailnet IPv4 of each joined node's device, as the tailnet lists it (undefined where it lists none). */
  public readonly tailnetAddresses: Record<string, pulumi.Output<string | undefined>> = {};
  private readonly acl: tailscale.Acl;
  private readonly plan: TailnetPlan;

  constructor(plan: TailnetPlan, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:tailnet:Tailnet", plan.name, {}, { ...opts, aliases: aliasOf(plan) });
    this.plan = plan;
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
    // A machine this program rebuilds is looked up once it is back (complete).
    this.deviceSettings(plan.nodes.filter((n) => n.device !== undefined && !n.device.afterServer));

    this.policy = pulumi.output(plan.policy.text);
    // registerOutputs comes in complete(): the server's device settings are registered there first.
  }

  /**
   * Completes the tailnet; its creator calls it once, after the Hetzner server's node host exists.
   * Tags and key expiry of the Hetzner server, when it is a joined node, are registered here: its
   * device is looked up after \`serverReady\`, a command that reached it over the tailnet, because a
   * rebuilt server is a new device, which does not exist while the program starts.
   */
  public complete(serverReady?: pulumi.Resource): void {
    const server = this.plan.nodes.filter((n) => n.device?.afterServer === true);
    if (serverReady !== undefined) this.deviceSettings(server, [serverReady]);
    const nodeTags = Object.fromEntries(this.plan.nodes.map((n) => [n.node, [...n.tags]]));
    this.registerOutputs({ policy: this.policy, nodeTags, authKeys: this.authKeys });
  }

  /** Tags and key expiry of joined nodes' devices, found in one listing of the tailnet taken after \`after\`. */
  private deviceSettings(nodes: readonly TailnetNodePlan[], after: pulumi.Resource[] = []): void {
    if (nodes.length === 0) return;
    const listing = tailscale.getDevicesOutput({}, { parent: this, dependsOn: after });
    let find: ((node: string) => TailnetDevice) | undefined;
    for (const node of nodes) {
      const device = listing.apply((r) => (find ??= deviceFinder(r.devices ?? []))(node.node));
      const deviceId = device.apply((d) => d.id);
      this.tailnetAddresses[node.node] = device.apply((d) => d.addresses?.find((a) => isIPv4(a)));
      // A device that is gone (a machine rebuilt, a node removed) cannot have its settings undone:
      // the provider's delete fails on a missing device, so these are only dropped from the state.
      const tags = new tailscale.DeviceTags(
        node.device!.tags.name,
        { deviceId, tags: [...node.tags] },
        { parent: this, dependsOn: [this.acl], retainOnDelete: true },
      );
      new tailscale.DeviceKey(node.device!.key.name, { deviceId, keyExpiryDisabled: node.device!.keyExpiryDisabled }, { parent: this, retainOnDelete: true });
      this.tagged[node.node] = tags;
    }
  }
}
