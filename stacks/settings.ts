// Settings an operator sets once per stack with `pulumi config set`, outside the topology.
export interface OperatorSetting {
  /** Full config key, namespace included. */
  readonly key: string;
  readonly secret: boolean;
  readonly description: string;
  /** The command that sets it. */
  readonly how: string;
  /** Settings that, set together, stand in for this one: a credential of another kind. */
  readonly or?: readonly { readonly key: string; readonly secret: boolean }[];
}

export const OPERATOR_SETTINGS: readonly OperatorSetting[] = [
  {
    key: "tailscale:apiKey",
    secret: true,
    description: "Tailscale credential for the tailnet (policy, DNS, auth keys, devices): an OAuth client, or an API access token",
    how: "an OAuth client (no expiry; scopes policy_file, dns, devices:core, auth_keys, with the mesh's tags): pulumi config set tailscale:oauthClientId <id> and pulumi config set --secret tailscale:oauthClientSecret <tskey-client-...>; or an API access token (expires within 90 days): pulumi config set --secret tailscale:apiKey <tskey-api-...>",
    or: [
      { key: "tailscale:oauthClientId", secret: false },
      { key: "tailscale:oauthClientSecret", secret: true },
    ],
  },
  {
    key: "cloudflare:apiToken",
    secret: true,
    description: "Cloudflare API token with Tunnel and DNS edit rights on the zone",
    how: "pulumi config set --secret cloudflare:apiToken <token>",
  },
  {
    key: "hcloud:token",
    secret: true,
    description: "Hetzner Cloud project API token (read and write)",
    how: "pulumi config set --secret hcloud:token <token>",
  },
  {
    key: "optimal-mesh:sshPrivateKey",
    secret: true,
    description: "Private key the remote commands log in with",
    how: "pulumi config set --secret optimal-mesh:sshPrivateKey < ~/.ssh/id_ed25519",
  },
  {
    key: "optimal-mesh:sshPublicKey",
    secret: false,
    description: "Its public key, installed on the Hetzner server",
    how: 'pulumi config set optimal-mesh:sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"',
  },
  {
    key: "optimal-mesh:cloudflareAccountId",
    secret: false,
    description: "Cloudflare account that owns the tunnels",
    how: "pulumi config set optimal-mesh:cloudflareAccountId <account id>",
  },
];

/** The visible stand-in for a setting that is not available offline. It can never pass for a real value. */
export function placeholderFor(key: string): string {
  return `<unset:${key}>`;
}

/** Every key that holds a secret: the secret settings and the secret halves of their alternatives. */
export const SECRET_KEYS: readonly string[] = OPERATOR_SETTINGS.flatMap((s) => [
  ...(s.secret ? [s.key] : []),
  ...(s.or ?? []).filter((o) => o.secret).map((o) => o.key),
]);
