// Pure renderer: the cockpit's inbound firewall rules.

/** An inbound rule as Hetzner's firewall takes it. */
export interface FirewallRule {
  readonly direction: "in";
  readonly protocol: "tcp" | "udp" | "icmp";
  readonly port?: string;
  readonly sourceIps: readonly string[];
  readonly description: string;
}

/** Tailscale's WireGuard port; open so peers connect directly rather than through a relay. */
export const TAILSCALE_UDP_PORT = "41641";
const ANYWHERE = ["0.0.0.0/0", "::/0"];

/** Inbound rules: SSH from the configured sources, Tailscale's UDP port and ICMP. Nothing else. */
export function firewallRules(sshSources: readonly string[], sshPort: number): FirewallRule[] {
  return [
    { direction: "in", protocol: "tcp", port: String(sshPort), sourceIps: [...sshSources], description: "SSH, keys only" },
    { direction: "in", protocol: "udp", port: TAILSCALE_UDP_PORT, sourceIps: ANYWHERE, description: "Tailscale direct connections" },
    { direction: "in", protocol: "icmp", sourceIps: ANYWHERE, description: "ICMP" },
  ];
}
