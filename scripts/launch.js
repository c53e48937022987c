#!/usr/bin/env node
// Runs an operator command from the precompiled JavaScript in dist/ (fast start-up), rebuilding
// dist/ first when a TypeScript source is newer than it. usage: node scripts/launch.js <command> [args]
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const stamp = path.join(root, "dist", ".tsbuildinfo");
const sources = [
  "index.ts",
  "program.ts",
  "plan",
  "render",
  "text",
  "stacks",
  "offline",
  "components",
  "scripts",
  "policy",
  "tsconfig.json",
  "tsconfig.build.json",
];

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return p.endsWith(".ts") || p.endsWith(".json") ? st.mtimeMs : 0;
  return Math.max(0, ...fs.readdirSync(p).map((f) => newest(path.join(p, f))));
}

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
if (Math.max(...sources.map((s) => newest(path.join(root, s)))) > built) {
  process.stderr.write("launch: TypeScript sources changed since the last build; rebuilding dist/ (tsc)\n");
  const r = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  fs.utimesSync(stamp, new Date(), new Date());
}
const [command, ...rest] = process.argv.slice(2);
if (!command || !/^[a-z-]+$/.test(command)) {
  process.stderr.write("usage: node scripts/launch.js <plan|drift|dr-rebuild|doctor|import> [args]\n");
  process.exit(2);
}
process.argv = [process.argv[0], path.join(root, "dist", "scripts", `${command}.js`), ...rest];
require(process.argv[1]);
