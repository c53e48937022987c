// One Cloudflare Tunnel: the tunnel (remote-managed), its ingress config, a proxied CNAME per
// hostname, and the connector token for the hosting node's cloudflared, kept secret.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { tunnelHostnames, type TunnelSpec } from "../../stacks/schema";
import { recordArtifact } from "../artifacts";
import { renderIngress, tunnelTarget } from "./ingress";

export interface CloudflareTunnelArgs {
  /** The tunnel's key in the topology. */
  readonly key: string;
  readonly tunnel: TunnelSpec;
  /** The Cloudflare account that owns the tunnel (plain: adoption ids are built from it). */
  readonly accountId: string;
  /** Import the tunnel and records by their adoption ids (until the estate is adopted). */
  readonly importIds: boolean;
}

export class CloudflareTunnel extends pulumi.ComponentResource {
  public readonly tunnelId: pulumi.Output<string>;
  /** The connector token the hosting node's cloudflared runs with; secret. */
  public readonly token: pulumi.Output<string>;
  /** The node that runs this tunnel's cloudflared. */
  public readonly node: string;

  constructor(name: string, args: CloudflareTunnelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("optimal-mesh:cloudflare:Tunnel", name, {}, opts);
    const { tunnel } = args;
    // Removing a tunnel from the topology fails on protection until it is retired first.
    const protect = !tunnel.retire;
    const accountId = args.accountId;

    const cfTunnel = new cloudflare.ZeroTrustTunnelCloudflared(
      `${name}-tunnel`,
      { accountId, name: tunnel.name ?? args.key, configSrc: "cloudflare" },
      { parent: this, protect, ...(args.importIds && tunnel.adoptId !== undefined ? { import: `${accountId}/${tunnel.adoptId}` } : {}) },
    );

    const ingress = renderIngress(tunnel);
    recordArtifact(`tunnels/${args.key}.ingress.json`, `${JSON.stringify(ingress, null, 2)}\n`);
    new cloudflare.ZeroTrustTunnelCloudflaredConfig(
      `${name}-config`,
      { accountId, tunnelId: cfTunnel.id, config: { ingresses: ingress } },
      { parent: this, protect },
    );

    const zoneId =
      tunnel.zoneId !== undefined
        ? pulumi.output(tunnel.zoneId)
        : cloudflare.getZoneOutput({ filter: { name: tunnel.zone } }, { parent: this }).apply((z) => z.zoneId ?? z.id);
    for (const host of tunnelHostnames(tunnel)) {
      const recordId = tunnel.dnsRecordIds[host];
      new cloudflare.DnsRecord(
        `${name}-dns-${host}`,
        { zoneId, name: host, type: "CNAME", content: cfTunnel.id.apply(tunnelTarget), proxied: true, ttl: 1, comment: `optimal-mesh: tunnel ${args.key}` },
        {
          parent: this,
          protect,
          ...(args.importIds && recordId !== undefined && tunnel.zoneId !== undefined ? { import: `${tunnel.zoneId}/${recordId}` } : {}),
        },
      );
    }

    this.tunnelId = cfTunnel.id;
    this.node = tunnel.node;
    this.token = pulumi.secret(cloudflare.getZeroTrustTunnelCloudflaredTokenOutput({ accountId, tunnelId: cfTunnel.id }, { parent: this }).token);
    this.registerOutputs({ tunnelId: this.tunnelId, token: this.token });
  }
}
