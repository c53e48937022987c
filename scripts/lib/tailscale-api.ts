// Tailscale's API as the provider reaches it: a base URL (default Tailscale's), a tailnet (default
// "-", the credential's own) and a credential: an API access token (HTTP basic) or an OAuth
// client, exchanged for an access token through the client credentials grant (bearer).

import { apiJson, apiRequest, apiUrl, type ApiOrigin } from "./web";

export interface TailscaleCredentials {
  readonly baseUrl?: string | undefined;
  /** Where baseUrl came from (TAILSCALE_BASE_URL, tailscale:baseUrl), for messages. */
  readonly baseUrlSetting: string;
  readonly tailnet?: string | undefined;
  readonly apiKey?: string | undefined;
  readonly oauthClientId?: string | undefined;
  readonly oauthClientSecret?: string | undefined;
}

export interface TailscaleApi {
  readonly origin: ApiOrigin;
  readonly base: string;
  readonly tailnet: string;
  /** The Authorization header. */
  readonly auth: string;
}

export async function tailscaleApi(c: TailscaleCredentials): Promise<TailscaleApi> {
  // Every value comes from the caller: validate-policy reads the environment, dr-rebuild the stack config.
  const base = (c.baseUrl ?? "https://api.tailscale.com").replace(/\/$/, "");
  const origin: ApiOrigin = { api: "the Tailscale API", setting: c.baseUrlSetting };
  apiUrl(origin, base);
  const tailnet = c.tailnet ?? "-";
  if (c.apiKey) return { origin, base, tailnet, auth: `Basic ${Buffer.from(`${c.apiKey}:`).toString("base64")}` };
  if (!c.oauthClientId || !c.oauthClientSecret) throw new Error("no Tailscale credential: an API access token, or an OAuth client's id and secret");
  const url = `${base}/api/v2/oauth/token`;
  const r = await apiRequest(origin, url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: c.oauthClientId, client_secret: c.oauthClientSecret, grant_type: "client_credentials" }),
  });
  if (!r.ok) throw new Error(`Tailscale OAuth token: HTTP ${r.status}`);
  const token = ((await apiJson(origin, url, r)) as { access_token?: string } | null)?.access_token;
  if (!token) throw new Error("Tailscale OAuth token: no access_token in the answer");
  return { origin, base, tailnet, auth: `Bearer ${token}` };
}
