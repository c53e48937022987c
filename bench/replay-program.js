// A Pulumi program that registers exactly what a plan registered (its resources.json: types,
// names, parents, options, inputs and which inputs come from which resource) through the same
// provider classes, and nothing else: no config, validation, rendering or files. The benchmarks
// run it under the offline runtime to measure what Pulumi's SDK alone costs for those resources.
// Reads the file named by OPTIMAL_MESH_REPLAY.
"use strict";
const fs = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const { SECRET_MASK } = require("../dist/offline/evaluate");

const PACKAGES = {
  command: require("@pulumi/command"),
  tailscale: require("@pulumi/tailscale"),
  cloudflare: require("@pulumi/cloudflare"),
  hcloud: require("@pulumi/hcloud"),
};

class Component extends pulumi.ComponentResource {
  constructor(type, name, opts) {
    super(type, name, {}, opts);
  }
}

/** The provider class of a type token: `pkg:index/x:Name` is pkg.Name, `pkg:mod:Name` is pkg.mod.Name. */
function classOf(type) {
  const [pkg, mod, name] = type.split(":");
  const root = PACKAGES[pkg];
  const cls = root && (mod.startsWith("index") ? root[name] : root[mod]?.[name]);
  if (typeof cls !== "function") throw new Error(`replay: no provider class for ${type}`);
  return cls;
}

/** A masked plan value back to an input: secrets become secret again. */
function input(value) {
  if (value === SECRET_MASK) return pulumi.secret("secret");
  if (Array.isArray(value)) return value.map(input);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, input(v)]));
  return value;
}

const registrations = JSON.parse(fs.readFileSync(process.env.OPTIMAL_MESH_REPLAY, "utf8"));
const byUrn = new Map(registrations.map((r) => [r.urn, r]));
const made = new Map();
const components = [];

function make(r) {
  if (made.has(r.urn)) return made.get(r.urn);
  const before = [r.parent, ...r.dependsOn, ...Object.values(r.inputSources).flat()].filter((u) => u !== null && byUrn.has(u));
  for (const u of before) make(byUrn.get(u));
  const opts = {
    ...(r.parent !== null ? { parent: made.get(r.parent) } : {}),
    dependsOn: r.dependsOn.filter((u) => made.has(u)).map((u) => made.get(u)),
    protect: r.protect,
    deleteBeforeReplace: r.deleteBeforeReplace,
    retainOnDelete: r.retainOnDelete,
    // A provider's classes add their own renamed types; a component carries the aliases the program gave it.
    ...(r.custom ? {} : { aliases: r.aliases.map((a) => ({ ...a })) }),
    additionalSecretOutputs: [...r.additionalSecretOutputs],
    ignoreChanges: [...r.ignoreChanges],
    replaceOnChanges: [...r.replaceOnChanges],
    ...(r.importId !== null ? { import: r.importId } : {}),
  };
  const inputs = input(r.inputs);
  // An input another resource provides waits for that resource, as in the program.
  for (const [key, urns] of Object.entries(r.inputSources)) {
    const sources = urns.filter((u) => made.has(u)).map((u) => made.get(u).urn);
    const value = inputs[key];
    if (sources.length > 0) inputs[key] = pulumi.all(sources).apply(() => value);
  }
  let resource;
  if (r.custom) {
    const Cls = classOf(r.type);
    resource = new Cls(r.name, inputs, opts);
  } else {
    resource = new Component(r.type, r.name, opts);
    components.push(resource);
  }
  made.set(r.urn, resource);
  return resource;
}

for (const r of registrations) make(r);
for (const c of components) c.registerOutputs({});
