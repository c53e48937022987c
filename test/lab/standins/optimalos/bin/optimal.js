#!/usr/bin/env bun
// Lab stand-in for `optimal infra heartbeat --name <node>` (test tooling): records the registration.
const fs = require("node:fs");
const dir = "/var/lib/lab/optimalos";
fs.mkdirSync(`${dir}/instances`, { recursive: true });
const args = process.argv.slice(2);
const i = args.indexOf("--name");
if (args[0] !== "infra" || args[1] !== "heartbeat" || i < 0 || !args[i + 1]) {
  fs.appendFileSync(`${dir}/calls.log`, `unknown optimal ${args.join(" ")}\n`);
  process.exit(2);
}
const name = args[i + 1];
fs.appendFileSync(`${dir}/heartbeats.log`, `${name}\n`);
// The environment exactly as this process was started with it (NUL-separated), for the lab to compare.
fs.writeFileSync(`${dir}/environ.heartbeat`, fs.readFileSync("/proc/self/environ"));
fs.writeFileSync(`${dir}/instances/${name}.json`, JSON.stringify({ name, hostname: require("node:os").hostname() }) + "\n");
