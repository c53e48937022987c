#!/usr/bin/env bun
// Lab stand-in for the OptimalOS CLI (test tooling): records each call; `start` serves /health.
const fs = require("node:fs");
const dir = "/var/lib/lab/optimalos";
fs.mkdirSync(dir, { recursive: true });
const record = (line) => fs.appendFileSync(`${dir}/calls.log`, `${line}\n`);
const [cmd] = process.argv.slice(2);
if (cmd === "init") {
  record(`init deployment=${process.env.DEPLOYMENT ?? ""}`);
  // The environment exactly as this process was started with it (NUL-separated), for the lab to compare.
  fs.writeFileSync(`${dir}/environ.init`, fs.readFileSync("/proc/self/environ"));
} else if (cmd === "start") {
  const hostname = process.env.OPTIMALOS_HOST ?? "127.0.0.1";
  const port = Number(process.env.PORT ?? 3000);
  record(`start ${hostname}:${port}`);
  Bun.serve({
    hostname,
    port,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/health") return Response.json({ ok: true, host: require("node:os").hostname(), deployment: process.env.DEPLOYMENT ?? null });
      return new Response("not found", { status: 404 });
    },
  });
} else {
  record(`unknown ${process.argv.slice(2).join(" ")}`);
  process.exit(2);
}
