// The house's shape, from the code's own imports: each top-level folder sits on a floor and
// imports only from floors below it (or from itself), and no file imports itself back through
// others. The imports are read with TypeScript's own pre-processor (comments and strings are not
// imports); only relative imports are followed (packages are outside the house).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as ts from "typescript";
import { ROOT } from "./helpers";

/** Floors from the ground up; a folder (or root file) imports only what stands lower. */
const FLOORS: readonly (readonly string[])[] = [
  ["text"],
  ["stacks"],
  ["render"],
  ["plan", "policy"],
  ["components"],
  ["program.ts"],
  ["index.ts"],
  ["offline"],
  ["scripts", "engine"],
  // The tests read everything below; the bench runs the engine on the tests' prod-shaped stack.
  ["test"],
  ["bench"],
];
const floorOf = new Map(FLOORS.flatMap((names, i) => names.map((n) => [n, i] as const)));

/** Every source file of the house: the floors' folders and root files (build output is not a floor). */
function sources(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(ROOT, rel);
    if (fs.statSync(abs).isDirectory()) for (const e of fs.readdirSync(abs)) walk(path.join(rel, e));
    else if (/\.(ts|js)$/.test(rel) && !rel.endsWith(".d.ts")) out.push(rel);
  };
  for (const name of floorOf.keys()) if (fs.existsSync(path.join(ROOT, name))) walk(name);
  return out.sort();
}

/** The house's files each file imports (relative imports resolved to files). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), "utf8"), true, true);
    const targets = info.importedFiles
      .map((i) => i.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => {
        const base = path.normalize(path.join(path.dirname(file), spec));
        const hit = [base, `${base}.ts`, `${base}.js`, path.join(base, "index.ts")].find((c) => known.has(c));
        assert.ok(hit !== undefined || /^(\.\.\/)+dist\//.test(spec), `${file} imports ${spec}, which is no source file of the house`);
        return hit;
      })
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

const top = (file: string) => file.split(path.sep)[0]!;

test("layout: every folder imports only from the floors below it (or itself)", () => {
  const files = sources();
  assert.ok(files.length > 80, `the house has its files (${files.length})`);
  assert.deepEqual(upward(importGraph(files)), []);
  // Every top-level folder with source is on a floor: a new one must be placed.
  const unplaced = fs
    .readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !["node_modules", "dist", "out", "docs"].includes(e.name) && !floorOf.has(e.name))
    .filter((e) => fs.readdirSync(path.join(ROOT, e.name), { recursive: true }).some((f) => /\.(ts|js)$/.test(String(f))))
    .map((e) => e.name);
  assert.deepEqual(unplaced, []);
});

/** Each import cycle, as the files around it; a DFS over the graph. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      found.push([...trail.slice(trail.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const t of graph.get(file) ?? []) visit(t, [...trail, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  return found;
}

/** Each import from a folder to one on its own floor or above, as `file -> target`. */
function upward(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph)
    for (const t of targets) if (top(t) !== top(file) && floorOf.get(top(t))! >= floorOf.get(top(file))!) found.push(`${file} -> ${t}`);
  return found;
}

test("layout: no file imports itself back through others", () => {
  assert.deepEqual(cycles(importGraph(sources())), []);
});

test("layout: the checks find an upward import and a cycle where there are", () => {
  // On made-up graphs: a check that could not fail would prove nothing.
  const graph = new Map([
    ["stacks/a.ts", ["render/b.ts"]],
    ["render/b.ts", ["stacks/a.ts", "text/c.ts"]],
    ["text/c.ts", []],
  ]);
  assert.deepEqual(cycles(graph), ["stacks/a.ts -> render/b.ts -> stacks/a.ts"]);
  assert.deepEqual(upward(graph), ["stacks/a.ts -> render/b.ts"]);
});
