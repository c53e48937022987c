// The tailnet: its policy (with its own tests, checked offline first), MagicDNS, and per node
// either the joined device's tags and key expiry or a single-use auth key for its bootstrap.
// Joined devices are found in one listing of the tailnet's devices, not one lookup per node.
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import type { MeshSpec } from "../../stacks/schema";
import { recordArtifact, recordCheck } from "../artifacts";
import { isIPv4 } from "node:net";
import { deviceFinder, type TailnetDevice } from "./devices";
import { describeFailures, evaluatePolicy } from "./evaluate";
import { nodeTags, policyInventory } from "./intent";
import { renderPolicy } from "./policy";

export interface TailnetArgs {
  /** The validated topology. */
  readonly spec: MeshSpec;
  /** Stack name, written into the policy header. */
  readonly stack: string;
}

/** How long a bootstrap auth key stays valid, in seconds: long enough for one `pulumi up`. */
export const AUTH_KEY_TTL_SECONDS = 3600;

/** Servers keep their node key for good; a desktop's key expires unless the topology says otherwise. */
export function keyExpiryDisabled(spec: MeshSpec, node: string): boolean {
  const n = spec.nodes[node]!;
  return n.tailnet.keyExpiryDisabled ?? n.machine.kind !== "desktop";
}

export class Tailnet extends pulumi.ComponentResource {
  /** The rendered policy file (HuJSON). */
  public readonly policy: pulumi.Output<string>;
  /** Tags per node, as the policy and the devices carry them. */
  public readonly nodeTags: Record<string, string[]>;
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
  private readonly spec: MeshSpec;
  private readonly name: string;

  constructor(name: string, args: TailnetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:tailnet:Tailnet", name, {}, opts);
    const { spec } = args;
    this.spec = spec;
    this.name = name;

    const text = renderPolicy(spec, { stack: args.stack });
    const evaluation = evaluatePolicy(text, policyInventory(spec));
    const failures = describeFailures(evaluation);
    recordArtifact("tailnet/policy.hujson", text);
    recordCheck({
      name: "tailnet policy tests",
      passed: evaluation.cases.filter((c) => c.pass).length,
      failed: evaluation.cases.length - evaluation.cases.filter((c) => c.pass).length,
      failures,
    });
    if (failures.length > 0) throw new pulumi.ResourceError(`the rendered tailnet policy fails its own checks:\n  ${failures.join("\n  ")}`, this);

    const acl = (this.acl = new tailscale.Acl(
      `${name}-policy`,
      {
        acl: text,
        // Replacing a hand-edited policy must be a deliberate act, stated in the stack config.
        overwriteExistingContent: spec.access.adoptPolicy,
        resetAclOnDestroy: false,
      },
      { parent: this, protect: true },
    ));
    new tailscale.DnsPreferences(`${name}-dns`, { magicDns: true }, { parent: this });

    this.nodeTags = {};
    this.authKeys = {};
    const stable: string[] = [];
    for (const node of Object.keys(spec.nodes).sort()) {
      const tags = nodeTags(spec, node);
      this.nodeTags[node] = tags;
      const joined = spec.nodes[node]!.tailnet.state === "joined";
      // The Hetzner server joins on every (re)build from cloud-init, so it always has a key ready.
      const rebuildable = spec.hetzner?.node === node;
      if (!joined || rebuildable) {
        // Created after the policy, so its tags have owners; used once, then useless.
        const key = new tailscale.TailnetKey(
          `${name}-${node}-authkey`,
          {
            reusable: false,
            ephemeral: false,
            preauthorized: true,
            expiry: AUTH_KEY_TTL_SECONDS,
            tags,
            description: `optimal-mesh bootstrap of ${node}`,
            // Never replaced because a refresh found it used or expired (it always is a day later, and
            // daily drift would plan a new key every day); a rebuild replaces it on purpose with the server.
            recreateIfInvalid: "never",
          },
          { parent: this, dependsOn: [acl], additionalSecretOutputs: ["key"] },
        );
        this.authKeys[node] = pulumi.secret(key.key);
      }
      // A machine this program rebuilds is looked up once it is back (complete).
      if (joined && !rebuildable) stable.push(node);
    }
    this.deviceSettings(stable);

    this.policy = pulumi.output(text);
    // registerOutputs comes in complete(): the server's device settings are registered there first.
  }

  /**
   * Completes the tailnet; its creator calls it once, after the Hetzner server's node host exists.
   * Tags and key expiry of the Hetzner server, when it is a joined node, are registered here: its
   * device is looked up after `serverReady`, a command that reached it over the tailnet, because a
   * rebuilt server is a new device, which does not exist while the program starts.
   */
  public complete(serverReady?: pulumi.Resource): void {
    const node = this.spec.hetzner?.node;
    if (serverReady !== undefined && node !== undefined && this.spec.nodes[node]!.tailnet.state === "joined") this.deviceSettings([node], [serverReady]);
    this.registerOutputs({ policy: this.policy, nodeTags: this.nodeTags, authKeys: this.authKeys });
  }

  /** Tags and key expiry of joined nodes' devices, found in one listing of the tailnet taken after `after`. */
  private deviceSettings(nodes: readonly string[], after: pulumi.Resource[] = []): void {
    if (nodes.length === 0) return;
    const listing = tailscale.getDevicesOutput({}, { parent: this, dependsOn: after });
    let find: ((node: string) => TailnetDevice) | undefined;
    for (const node of nodes) {
      const device = listing.apply((r) => (find ??= deviceFinder(r.devices ?? []))(node));
      const deviceId = device.apply((d) => d.id);
      this.tailnetAddresses[node] = device.apply((d) => d.addresses?.find((a) => isIPv4(a)));
      // A device that is gone (a machine rebuilt, a node removed) cannot have its settings undone:
      // the provider's delete fails on a missing device, so these are only dropped from the state.
      const tags = new tailscale.DeviceTags(
        `${this.name}-${node}-tags`,
        { deviceId, tags: this.nodeTags[node]! },
        { parent: this, dependsOn: [this.acl], retainOnDelete: true },
      );
      new tailscale.DeviceKey(
        `${this.name}-${node}-key`,
        { deviceId, keyExpiryDisabled: keyExpiryDisabled(this.spec, node) },
        { parent: this, retainOnDelete: true },
      );
      this.tagged[node] = tags;
    }
  }
}
