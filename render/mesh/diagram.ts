// Pure renderer: a Mermaid diagram of the mesh: nodes with roles, tunnels with hostnames, and the
// flows the tailnet policy allows.
import type { MeshSpec } from "../../stacks/schema";
import type { Grant, Principal } from "../tailnet/intent";
import { commentText, mermaidText as label } from "../../text/escape";

const id = (name: string) => name.replace(/[^A-Za-z0-9]/g, "_");
/** Above this many source-target pairs a flow is drawn through a node of its own. */
const MAX_PAIRS_DRAWN = 8;

function principalId(p: Principal): string {
  if (p.kind === "node") return id(p.name);
  if (p.kind === "admins") return "admins";
  return id(p.tag);
}

/** `grants`: the access intent of the same topology (`accessInput(spec).grants`), one flow each. */
export function renderMermaid(spec: MeshSpec, grants: readonly Grant[], stack: string): string {
  const lines = ["flowchart LR", `  %% The optimal-mesh stack "${commentText(stack)}", generated from its topology.`, '  subgraph tailnet["tailnet"]'];
  for (const name of Object.keys(spec.nodes).sort()) {
    const n = spec.nodes[name]!;
    const facts = [n.role, `OptimalOS ${n.optimalos.mode} :${n.optimalos.port}`, ...n.capabilities];
    lines.push(`    ${id(name)}["${label(name)}<br/>${facts.map(label).join(" · ")}"]`);
  }
  lines.push("  end");
  lines.push(
    '  admins(["admins"])',
    `  ${id(spec.access.ciTag)}(["CI runner ${label(spec.access.ciTag)}"])`,
    `  ${id(spec.access.pairedDeviceTag)}(["paired devices ${label(spec.access.pairedDeviceTag)}"])`,
  );

  const edges = new Map<string, Set<string>>();
  const flowLines: string[] = [];
  for (const g of grants) {
    // Counted before any is drawn: a wide flow has n² pairs.
    const targetsAt = new Map<string, number>();
    for (const t of g.targets) targetsAt.set(t.node, (targetsAt.get(t.node) ?? 0) + 1);
    const selfPairs = g.sources.reduce((k, s) => k + (s.kind === "node" ? (targetsAt.get(s.name) ?? 0) : 0), 0);
    if (g.sources.length * g.targets.length - selfPairs > MAX_PAIRS_DRAWN) {
      // A wide flow goes through one node of its own: 2n edges instead of n².
      const flow = `flow_${id(g.id)}`;
      flowLines.push(`  ${flow}(["${label(g.id)} ${[...new Set(g.targets.map((t) => `:${t.port}`))].sort().join(" ")}"])`);
      for (const s of [...new Set(g.sources.map(principalId))].sort()) flowLines.push(`  ${s} --> ${flow}`);
      for (const t of [...new Set(g.targets.map((x) => id(x.node)))].sort()) flowLines.push(`  ${flow} --> ${t}`);
      continue;
    }
    for (const s of g.sources) {
      for (const t of g.targets) {
        if (s.kind === "node" && s.name === t.node) continue;
        const key = `${principalId(s)} ${id(t.node)}`;
        edges.set(key, (edges.get(key) ?? new Set()).add(`:${t.port}`));
      }
    }
  }
  for (const [key, ports] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
    const [from, to] = key.split(" ");
    lines.push(`  ${from} -->|"${[...ports].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))).join(" ")}"| ${to}`);
  }

  lines.push(...flowLines);
  if (Object.keys(spec.tunnels).length > 0) lines.push('  internet((("internet")))');
  for (const key of Object.keys(spec.tunnels).sort()) {
    const tunnel = spec.tunnels[key]!;
    lines.push(`  tunnel_${id(key)}{{"Cloudflare tunnel ${label(key)}<br/>${tunnel.ingress.map((r) => label(r.hostname)).join("<br/>")}"}}`);
    lines.push(`  internet --> tunnel_${id(key)}`);
    for (const r of tunnel.ingress)
      lines.push(`  tunnel_${id(key)} -.->|"${label(r.hostname)} → ${label(r.service.replace(/^https?:\/\//, ""))}"| ${id(tunnel.node)}`);
  }
  return `${lines.join("\n")}\n`;
}
