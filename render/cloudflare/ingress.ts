// Pure renderer: a tunnel's remote-managed ingress, one rule per hostname, ending in a 404.
import type { TunnelSpec } from "../../stacks/schema";

export interface IngressRule {
  readonly hostname?: string;
  readonly path?: string;
  readonly service: string;
}

/** What cloudflared answers for anything no rule matches. */
export const CATCH_ALL: IngressRule = { service: "http_status:404" };

export function renderIngress(tunnel: TunnelSpec): IngressRule[] {
  return [
    ...tunnel.ingress.map((r) =>
      r.path === undefined ? { hostname: r.hostname, service: r.service } : { hostname: r.hostname, path: r.path, service: r.service },
    ),
    CATCH_ALL,
  ];
}

/** The ingress as the review copy shows it: the rules as JSON, one file per tunnel. */
export function renderIngressJson(rules: readonly IngressRule[]): string {
  return `${JSON.stringify(rules, null, 2)}\n`;
}

/** The CNAME target of every hostname a tunnel serves. */
export function tunnelTarget(tunnelId: string): string {
  return `${tunnelId}.cfargotunnel.com`;
}
