// One Cloudflare Tunnel: the tunnel (remote-managed), its ingress config, a proxied CNAME per
// hostname, and the connector token for the hosting node's cloudflared, kept secret.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { TunnelPlan } from "../../plan/mesh-plan";
import { aliasOf } from "../names";
import { tunnelTarget } from "../../render/cloudflare/ingress";

export interface TunnelArgs {
  /** The tunnel's part of the mesh plan. */
  readonly plan: TunnelPlan;
  /** The Cloudflare account that owns the tunnel (plain: adoption ids are built from it). */
  readonly accountId: string;
}

export class Tunnel extends pulumi.ComponentResource {
  public readonly tunnelId: pulumi.Output<string>;
  /** The connector token the hosting node's cloudflared runs with; secret. */
  public readonly token: pulumi.Output<string>;

  constructor(args: TunnelArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan, accountId } = args;
    super("optimal-mesh:cloudflare:Tunnel", plan.name, {}, { ...opts, aliases: aliasOf(plan) });
    const { protect } = plan;

    const cfTunnel = new cloudflare.ZeroTrustTunnelCloudflared(
      plan.tunnel.name,
      { accountId, name: plan.tunnel.tunnelName, configSrc: "cloudflare" },
      {
        parent: this,
        protect,
        ...(plan.tunnel.adoptId !== undefined ? { import: `${accountId}/${plan.tunnel.adoptId}` } : {}),
      },
    );

    new cloudflare.ZeroTrustTunnelCloudflaredConfig(
      plan.config.name,
      { accountId, tunnelId: cfTunnel.id, config: { ingresses: plan.config.ingress.map((r) => ({ ...r })) } },
      { parent: this, protect },
    );

    const zoneId =
      "id" in plan.zone
        ? pulumi.output(plan.zone.id)
        : cloudflare.getZoneOutput({ filter: { name: plan.zone.name } }, { parent: this }).apply((z) => z.zoneId ?? z.id);
    for (const record of plan.records) {
      new cloudflare.DnsRecord(
        record.name,
        { zoneId, name: record.hostname, type: "CNAME", content: cfTunnel.id.apply(tunnelTarget), proxied: true, ttl: 1, comment: record.comment },
        {
          parent: this,
          protect,
          ...(record.importId !== undefined ? { import: record.importId } : {}),
        },
      );
    }

    this.tunnelId = cfTunnel.id;
    this.token = pulumi.secret(cloudflare.getZeroTrustTunnelCloudflaredTokenOutput({ accountId, tunnelId: cfTunnel.id }, { parent: this }).token);
    this.registerOutputs({ tunnelId: this.tunnelId, token: this.token });
  }
}
