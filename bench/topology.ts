// Synthetic topologies for the benchmarks: the prod estate grown to N nodes, keeping its shape
// (one hub, the cockpit, GPU workers with Ollama, a tunnel per hosting node's hostname).
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

export function syntheticMesh(root: string, nodes: number): unknown {
  const doc = yaml.load(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as {
    config: Record<string, { nodes: Record<string, unknown>; access: { flows: Record<string, { from: string[]; to: string[] }> } }>;
  };
  const mesh = structuredClone(doc.config["optimal-mesh:mesh"]!);
  const template = mesh.nodes["pop-os"] as Record<string, unknown>;
  for (let i = 4; i <= nodes; i++) {
    const name = `worker-${String(i).padStart(3, "0")}`;
    mesh.nodes[name] = structuredClone(template);
    mesh.access.flows.loom!.to.push(name);
    mesh.access.flows.loom!.from.push(name);
    mesh.access.flows.llm!.to.push(name);
  }
  return mesh;
}

/** Writes a stack file with the synthetic topology and returns its path. */
export function writeSyntheticStack(root: string, dir: string, nodes: number): string {
  const file = path.join(dir, `Pulumi.bench${nodes}.yaml`);
  fs.writeFileSync(file, yaml.dump({ config: { "optimal-mesh:mesh": syntheticMesh(root, nodes) } }, { lineWidth: -1 }));
  return file;
}
