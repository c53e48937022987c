import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { renderMermaid as renderWithGrants } from "../render/mesh/diagram";
import { accessInput } from "../render/tailnet/intent";
import type { MeshSpec } from "../stacks/schema";
import { validateMesh } from "../stacks/validate";
import { prodMesh, ROOT } from "./helpers";

/** The diagram of `spec` with its own grants, as the plan draws it. */
const renderMermaid = (spec: MeshSpec, stack: string) => renderWithGrants(spec, accessInput(spec).grants, stack);
const spec = validateMesh(prodMesh());
const diagram = renderMermaid(spec, "prod");

test("the diagram shows every node with its role, the tunnels with their hostnames, and the allowed flows", () => {
  assert.match(diagram, /^flowchart LR\n/);
  assert.match(diagram, /oracle\["oracle<br\/>hub · OptimalOS legacy :3000"\]/);
  assert.match(diagram, /pop_os\["pop-os<br\/>worker · OptimalOS worker :3000 · gpu"\]/);
  assert.match(diagram, /tunnel_cockpit\{\{"Cloudflare tunnel cockpit<br\/>fabric\.optimal\.miami"\}\}/);
  assert.match(diagram, /tunnel_cockpit -\.->\|"fabric\.optimal\.miami → localhost:3000"\| hetzner_cockpit/);
  assert.match(diagram, /^ {2}oracle -->\|":22 :3000 :11434"\| pop_os$/m);
  assert.match(diagram, /^ {2}tag_fabric_device -->\|":3000"\| hetzner_cockpit$/m);
  // Denied flows are absent: pop-os does not SSH to oracle, the cockpit does not reach Ollama.
  assert.doesNotMatch(diagram, /pop_os -->\|"[^"]*:22/);
  assert.doesNotMatch(diagram, /hetzner_cockpit -->\|"[^"]*:11434/);
});

test("the README shows the prod diagram as the plan renders it", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  assert.ok(readme.includes("```mermaid\n" + diagram + "```"), "README's diagram is out of date: copy out/prod/mesh.mmd into it");
});

test("a wide flow is drawn through a node of its own, so a large mesh stays readable", () => {
  const raw = prodMesh();
  for (let i = 1; i <= 20; i++) {
    raw.nodes[`w${i}`] = structuredClone(raw.nodes["pop-os"]);
    raw.access.flows.loom.to.push(`w${i}`);
  }
  const big = renderMermaid(validateMesh(raw), "big");
  assert.match(big, /^ {2}flow_flow_loom\(\["flow:loom :3000"\]\)$/m);
  assert.match(big, /^ {2}flow_flow_loom --> w20$/m);
  assert.ok(big.split("\n").length < 200, `${big.split("\n").length} lines`);
});

test("a flow of up to 8 source-target pairs is drawn edge by edge; the 9th pair draws it through its own node", () => {
  const withWorkers = (n: number) => {
    const raw = prodMesh();
    for (let i = 1; i <= n; i++) {
      raw.nodes[`w${i}`] = structuredClone(raw.nodes["pop-os"]);
      raw.access.flows.llm.to.push(`w${i}`);
    }
    return renderMermaid(validateMesh(raw), "edge");
  };
  const eight = withWorkers(7); // oracle to pop-os and w1..w7
  assert.doesNotMatch(eight, /flow_flow_llm/);
  assert.match(eight, /^ {2}oracle -->\|":11434"\| w7$/m);
  const nine = withWorkers(8);
  assert.match(nine, /^ {2}oracle --> flow_flow_llm$/m);
  assert.match(nine, /^ {2}flow_flow_llm --> w8$/m);
  assert.doesNotMatch(nine, /oracle -->\|":11434"\| w8/);
});
