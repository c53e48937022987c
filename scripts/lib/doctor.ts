// The operators' troubleshooting table as checks: each failure says what to fix.
import type { MeshPlan } from "../../plan/mesh-plan";
import { shq } from "../../text/escape";
import { trustEnds, tunnelHostnames, type MeshSpec } from "../../stacks/schema";

/** How the doctor looks at the mesh; the CLI uses the tailnet, the lab its own hosts. */
export interface Probe {
  /** Whether `node` answers on the tailnet (`tailscale ping`). */
  reachable(node: string): Promise<boolean>;
  /** HTTP status of a GET, or why there is none. */
  http(url: string): Promise<number | "refused" | "timeout" | "unresolved" | "error">;
  /** The node's address by MagicDNS, or undefined when the name does not resolve. */
  resolve(name: string): Promise<string | undefined>;
  /** Runs a command on the node as root; undefined when the node cannot be reached over SSH. */
  run(node: string, command: string): Promise<{ code: number; stdout: string } | undefined>;
  /** Whether public hostnames can be checked from here (not in the lab). */
  readonly publicEdge: boolean;
}

export interface Finding {
  readonly check: string;
  readonly target: string;
  readonly status: "ok" | "fail" | "skipped";
  readonly detail: string;
  /** What to do about a failure (from the troubleshooting table). */
  readonly fix?: string;
}

/** Checks the mesh `plan` describes (planned from `spec`) through `probe`. */
export async function runDoctor(spec: MeshSpec, plan: MeshPlan, probe: Probe, progress: (line: string) => void = () => undefined): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (f: Finding) => {
    out.push(f);
    progress(`${f.status.padEnd(7)} ${f.check} (${f.target}): ${f.detail}`);
  };
  /** Whether a unit is active on a node: skipped without SSH, else ok or the fix. */
  const unitActive = async (check: string, target: string, node: string, unit: string, fix: string) => {
    const r = await probe.run(node, `systemctl is-active ${shq(unit)}`);
    add(
      r === undefined
        ? { check, target, status: "skipped", detail: "no SSH to the node" }
        : r.stdout.trim() === "active"
          ? { check, target, status: "ok", detail: "active" }
          : { check, target, status: "fail", detail: r.stdout.trim() || "not active", fix },
    );
  };
  for (const { entry } of plan.inventory) {
    const node = entry.name;
    const n = spec.nodes[node]!;
    const up = await probe.reachable(node);
    add(
      up
        ? { check: "tailnet reachability", target: node, status: "ok", detail: "answers tailscale ping" }
        : {
            check: "tailnet reachability",
            target: node,
            status: "fail",
            detail: "does not answer on the tailnet",
            fix: `is tailscaled up on ${node}? \`tailscale status\` there, then \`tailscale up\``,
          },
    );

    await unitActive(
      "optimalos.service",
      node,
      node,
      "optimalos.service",
      `a Loom step pinned to ${node} stays pending until it runs: \`systemctl status optimalos\` and \`journalctl -u optimalos\` on ${node}, or \`pulumi up\` to redeploy`,
    );

    const health = await probe.http(`${entry.baseUrl}${n.optimalos.healthPath}`);
    if (health === 200) add({ check: "OptimalOS reachable by peers", target: node, status: "ok", detail: `${entry.baseUrl} answers` });
    else if (health === "unresolved" && entry.fallbackBaseUrl !== null && (await probe.http(`${entry.fallbackBaseUrl}${n.optimalos.healthPath}`)) === 200) {
      add({
        check: "OptimalOS reachable by peers",
        target: node,
        status: "fail",
        detail: `MagicDNS does not resolve ${node}; the IPv4 fallback ${entry.fallbackBaseUrl} answers`,
        fix: "MagicDNS is warming up or off: callers should use the fallback (resolveNodeBaseUrl does); check DNS in the tailnet admin console",
      });
    } else {
      add({
        check: "OptimalOS reachable by peers",
        target: node,
        status: "fail",
        detail: `${entry.baseUrl}: ${String(health)}`,
        fix:
          health === "refused"
            ? `OptimalOS on ${node} is bound where peers cannot reach it (localhost only?): set optimalos.bind (tailnet, or all without a public address) or tailscaleServe, then \`pulumi up\``
            : `OptimalOS on ${node} does not answer its health URL: see optimalos.service above`,
      });
    }

    const address = await probe.resolve(node);
    add(
      address !== undefined
        ? { check: "MagicDNS", target: node, status: "ok", detail: `${node} -> ${address}` }
        : {
            check: "MagicDNS",
            target: node,
            status: "fail",
            detail: `${node} does not resolve`,
            fix:
              entry.fallbackBaseUrl !== null
                ? `use the IPv4 fallback ${entry.fallbackBaseUrl} until MagicDNS answers`
                : `record ${node}'s tailnet address in the topology (tailnet.address) to have an IPv4 fallback`,
          },
    );
  }

  for (const [key, t] of Object.entries(spec.sshTrust).sort(([a], [b]) => a.localeCompare(b))) {
    const { fromUser: user, alias } = trustEnds(spec, t);
    const pinned = await probe.run(
      t.from,
      `ssh-keygen -F ${shq(alias)} -f "$(getent passwd ${shq(user)} | cut -d: -f6)/.ssh/known_hosts" >/dev/null && echo pinned`,
    );
    add(
      pinned === undefined
        ? { check: "SSH trust host key", target: `${key}: ${t.from} -> ${t.to}`, status: "skipped", detail: "no SSH to the node" }
        : pinned.stdout.trim() === "pinned"
          ? { check: "SSH trust host key", target: `${key}: ${t.from} -> ${t.to}`, status: "ok", detail: `${alias} is pinned in ${user}'s known_hosts` }
          : {
              check: "SSH trust host key",
              target: `${key}: ${t.from} -> ${t.to}`,
              status: "fail",
              detail: `${alias} is not in ${user}'s known_hosts: deploys fail with "host key verification"`,
              fix: `set nodes.${t.to}.ssh.hostKey and \`pulumi up\`: the trust's client command pins it (no ssh-keyscan)`,
            },
    );
  }

  for (const [key, tunnel] of Object.entries(spec.tunnels).sort(([a], [b]) => a.localeCompare(b))) {
    await unitActive(
      "cloudflared",
      `${key} on ${tunnel.node}`,
      tunnel.node,
      "cloudflared.service",
      `the tunnel is down: \`systemctl status cloudflared\` on ${tunnel.node} (not Tailscale), or \`pulumi up\` to redeploy it`,
    );
    for (const host of tunnelHostnames(tunnel)) {
      if (!probe.publicEdge) {
        add({ check: "tunnel edge", target: host, status: "skipped", detail: "public hostnames are not checked from here" });
        continue;
      }
      const status = await probe.http(`https://${host}/`);
      add(
        status === 530 || status === 502
          ? {
              check: "tunnel edge",
              target: host,
              status: "fail",
              detail: `Cloudflare answers ${status}`,
              fix: `Cloudflare Tunnel ${key} is down: check cloudflared on ${tunnel.node} (systemctl status cloudflared), not Tailscale`,
            }
          : typeof status === "number"
            ? { check: "tunnel edge", target: host, status: "ok", detail: `answers ${status}` }
            : {
                check: "tunnel edge",
                target: host,
                status: "fail",
                detail: String(status),
                fix: `${host} does not answer at Cloudflare's edge: check the DNS record and the tunnel ${key}`,
              },
      );
    }
  }
  return out;
}

export function renderFindings(findings: readonly Finding[]): string {
  const failed = findings.filter((f) => f.status === "fail");
  const lines = [
    `doctor: ${findings.filter((f) => f.status === "ok").length} ok, ${failed.length} failed, ${findings.filter((f) => f.status === "skipped").length} skipped`,
  ];
  for (const f of failed) lines.push(`- ${f.check} (${f.target}): ${f.detail}`, `  fix: ${f.fix}`);
  return `${lines.join("\n")}\n`;
}
