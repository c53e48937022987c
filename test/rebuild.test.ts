// What a disaster-recovery rebuild does to the config and the state, and in which order: checked
// with fake operations, and the config and state edits through the real Pulumi CLI (an exported
// state of the prod plan's resources, edited and imported back).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { test } from "node:test";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { automationOps } from "../scripts/lib/rebuild-ops";
import { engineUrn, engineUrns, type Registration } from "../offline/evaluate";
import { forgetResources, rebuildPlan, runRebuild, type Deployment, type RebuildOps, type StateResource } from "../scripts/lib/rebuild";
import { validateMesh } from "../stacks/validate";
import { adoptedProdMesh, planRegistrations, prodMesh, ROOT, runScript, type Raw } from "./helpers";
import { pulumiCli, type PulumiCli } from "./pulumi-cli";

const spec = validateMesh(prodMesh());

test("the cockpit: forget what ran on the lost server, replace the server and its single-use key; the primary IP, tunnel and DNS stay (points 3b, 3c, 3f)", () => {
  const p = rebuildPlan(spec, "prod", "hetzner-cockpit");
  assert.equal(p.kind, "cloud-server");
  assert.deepEqual(p.replace, ["tailnet-hetzner-cockpit-authkey", "cockpit-server"]);
  assert.deepEqual(p.forget, [
    "node-hetzner-cockpit-heartbeat",
    "node-hetzner-cockpit-deploy",
    "node-hetzner-cockpit-install",
    "tailnet-hetzner-cockpit-tags",
    "tailnet-hetzner-cockpit-key",
  ]);
  assert.equal(p.pinHostKey, true);
  assert.deepEqual(p.clearConfig, [], "nothing adopted, nothing to clear");
  assert.match(p.phases.join("\n"), /keeping the primary IP, firewall, tunnel and DNS/);
  // An adopted server's id must leave the config before Pulumi replaces it (point 3a).
  assert.deepEqual(rebuildPlan(validateMesh(adoptedProdMesh()), "prod", "hetzner-cockpit").clearConfig, ["mesh.hetzner.adopt.serverId"]);
});

test("a home node: forget its own commands and the trust commands that ran on it", () => {
  assert.deepEqual(rebuildPlan(spec, "prod", "pop-os").forget, [
    "node-pop-os-heartbeat",
    "node-pop-os-deploy",
    "node-pop-os-install",
    "trust-popos-deploy-authorize",
  ]);
  assert.deepEqual(rebuildPlan(spec, "prod", "oracle").forget, [
    "node-oracle-heartbeat",
    "node-oracle-deploy",
    "node-oracle-install",
    "trust-popos-deploy-client",
    "trust-popos-deploy-keygen",
  ]);
  assert.deepEqual(rebuildPlan(spec, "prod", "pop-os").replace, []);
  const raw = prodMesh();
  raw.nodes.oracle.tailnet = { state: "bootstrap", firstAddress: "192.0.2.5" };
  const bootstrap = rebuildPlan(validateMesh(raw), "prod", "oracle");
  assert.ok(bootstrap.forget.includes("node-oracle-bootstrap"));
  assert.deepEqual(bootstrap.replace, ["tailnet-oracle-authkey"], "a used single-use key is replaced");
  assert.throws(() => rebuildPlan(spec, "prod", "oracel"), /no node named "oracel"; the stack has hetzner-cockpit, oracle, pop-os/);
});

test("forgetting a resource drops everything that depends on it, and nothing else", () => {
  const r = (urn: string, more: Partial<StateResource> = {}): StateResource => ({ urn, ...more });
  const state: Deployment = {
    resources: [
      r("a"),
      r("b", { dependencies: ["a"] }),
      r("c", { propertyDependencies: { x: ["b"] } }),
      r("d", { parent: "c" }),
      r("e", { deletedWith: "d" }),
      r("f", { dependencies: ["z"] }),
      r("z"),
      // A component depending on them by dependsOn only (the destroy guard): kept, the edges to what is forgotten removed.
      r("guard", { custom: false, dependencies: ["a", "b", "z"] }),
    ],
  };
  const { deployment, dropped } = forgetResources(state, ["a", "missing"]);
  assert.deepEqual(dropped, ["a", "b", "c", "d", "e"]);
  assert.deepEqual(
    deployment.resources!.map((x) => x.urn),
    ["f", "z", "guard"],
  );
  assert.deepEqual(deployment.resources!.find((x) => x.urn === "guard")?.dependencies, ["z"]);
});

/** The adopted prod topology as the cockpit's rebuild runs it: the adopted server's id removed (so its auth key is registered). */
function rebuiltMesh(): Raw {
  const m = adoptedProdMesh();
  delete m.hetzner.adopt.serverId;
  return m;
}

/** Names to URNs in prod, as the engine knows them. */
const urnIn = (registrations: readonly Registration[]) => (name: string) =>
  engineUrns(
    registrations,
    registrations.find((r) => r.name === name)!,
    "prod",
    "optimal-mesh",
  );

/** Records what a rebuild asks for, and answers as a world where everything works. */
function recorder(state: Deployment): { ops: RebuildOps; log: string[]; state: () => Deployment } {
  let current = state;
  const log: string[] = [];
  return {
    log,
    state: () => current,
    ops: {
      ready: async () => undefined,
      removeConfig: async (p) => void log.push(`config rm ${p}`),
      setConfig: async (p, v) => void log.push(`config set ${p} ${v}`),
      exportState: async () => current,
      importState: async (d) => {
        log.push(`import ${d.resources?.length ?? 0} resources`);
        current = d;
      },
      removeDevice: async (n) => (log.push(`remove device ${n}`), true),
      up: async (o) =>
        void log.push(
          `up replace=${(o.replace ?? []).map((u) => u.split("::").pop()).join(",")} target=${(o.target ?? []).map((u) => u.split("::").pop()).join(",")}`,
        ),
      hostKeyOverTailnet: async (n) => (log.push(`keyscan ${n}`), "ssh-ed25519 AAAAnewkey"),
    },
  };
}

/** A state holding every resource the plan registers, as the engine would record it after an up. */
function stateOf(registrations: readonly Registration[], stack: string, project: string): StateResource[] {
  const urn = (r: Registration) => engineUrn(registrations, r, stack, project);
  const byUrn = new Map(registrations.map((r) => [r.urn, r]));
  const root = `urn:pulumi:${stack}::${project}::pulumi:pulumi:Stack::${project}-${stack}`;
  const providers = [...new Set(registrations.filter((r) => r.custom).map((r) => r.type.split(":")[0]!))].sort();
  const providerUrn = (pkg: string) => `urn:pulumi:${stack}::${project}::pulumi:providers:${pkg}::default`;
  const resources: StateResource[] = [
    { urn: root, custom: false, type: "pulumi:pulumi:Stack" },
    ...providers.map((pkg) => ({
      urn: providerUrn(pkg),
      custom: true,
      id: `provider-${pkg}`,
      type: `pulumi:providers:${pkg}`,
      inputs: {},
      outputs: {},
      parent: root,
    })),
    ...registrations.map((r) => ({
      urn: urn(r),
      custom: r.custom,
      type: r.type,
      ...(r.custom ? { id: `id-${r.name}`, provider: `${providerUrn(r.type.split(":")[0]!)}::provider-${r.type.split(":")[0]}` } : {}),
      inputs: {},
      outputs: {},
      parent: r.parent === null ? root : urn(byUrn.get(r.parent)!),
      dependencies: [...new Set([...r.dependsOn, ...Object.values(r.inputSources).flat()])].map((u) => urn(byUrn.get(u)!)),
    })),
  ];
  // The engine keeps a state in dependency order (parents and dependencies first), and checks it on import.
  const ordered: StateResource[] = [];
  const placed = new Set<string>();
  const place = (r: StateResource) => {
    if (placed.has(r.urn)) return;
    placed.add(r.urn);
    for (const u of [r.parent, ...(r.dependencies ?? [])]) {
      const dep = resources.find((x) => x.urn === u);
      if (dep !== undefined) place(dep);
    }
    ordered.push(r);
  };
  resources.forEach(place);
  return ordered;
}

test("runRebuild of the cockpit: config, device, state, the targeted replace, the pinned key, then everything", async () => {
  const registrations = planRegistrations(adoptedProdMesh(), "prod");
  const urnOf = urnIn(planRegistrations(rebuiltMesh(), "prod"));
  const plan = rebuildPlan(validateMesh(adoptedProdMesh()), "prod", "hetzner-cockpit");
  const { ops, log, state } = recorder({ resources: stateOf(registrations, "prod", "optimal-mesh") });
  const said: string[] = [];
  await runRebuild(plan, urnOf, ops, (l) => said.push(l));
  assert.deepEqual(log.slice(0, 3), ["config rm mesh.hetzner.adopt.serverId", "remove device hetzner-cockpit", log[2]]);
  assert.match(log[2]!, /^import \d+ resources$/);
  assert.deepEqual(log.slice(3), [
    // The adopted server had no auth key (it never boots from user data again): the rebuild creates one.
    "up replace=cockpit-server target=tailnet-hetzner-cockpit-authkey,cockpit-server",
    "keyscan hetzner-cockpit",
    "config set mesh.nodes.hetzner-cockpit.ssh.hostKey ssh-ed25519 AAAAnewkey",
    "up replace= target=",
  ]);
  const left = new Set(state().resources!.map((r) => r.urn.split("::").pop()));
  for (const name of plan.forget) assert.ok(!left.has(name), `${name} forgotten`);
  for (const kept of ["cockpit-server", "cockpit-ipv4", "tunnel-cockpit-tunnel", "node-oracle-deploy"]) assert.ok(left.has(kept), `${kept} kept`);
});

test("runRebuild checks first that it can finish: a missing tool or credential stops it before anything changes", async () => {
  const registrations = planRegistrations(adoptedProdMesh(), "prod");
  const plan = rebuildPlan(validateMesh(adoptedProdMesh()), "prod", "hetzner-cockpit");
  const { ops, log } = recorder({ resources: stateOf(registrations, "prod", "optimal-mesh") });
  const notReady = { ...ops, ready: async () => Promise.reject(new Error("ssh-keyscan is not installed here")) };
  await assert.rejects(
    runRebuild(plan, urnIn(registrations), notReady, () => undefined),
    /ssh-keyscan is not installed/,
  );
  assert.deepEqual(log, [], "nothing was changed");
});

test("the real operations refuse to start a cockpit rebuild without a Tailscale credential", async () => {
  const noConfig = { getAllConfig: async () => ({}) } as unknown as Parameters<typeof automationOps>[0];
  const plan = rebuildPlan(validateMesh(adoptedProdMesh()), "prod", "hetzner-cockpit");
  await assert.rejects(automationOps(noConfig, () => undefined, { pack: "policy", config: "c.json" }).ready(plan), /no Tailscale credential/);
});

test("runRebuild on a state that still holds the previous names forgets what it holds under them", async () => {
  const registrations = planRegistrations(adoptedProdMesh(), "prod");
  const urnsOf = urnIn(planRegistrations(rebuiltMesh(), "prod"));
  // The stack as it was before the rename: every URN under its previous name.
  const renamed = new Map(registrations.map((r) => [urnsOf(r.name).urn, urnsOf(r.name).previous[0]!]));
  const old = stateOf(registrations, "prod", "optimal-mesh").map((r) => ({
    ...r,
    urn: renamed.get(r.urn) ?? r.urn,
    ...(r.parent !== undefined ? { parent: renamed.get(r.parent) ?? r.parent } : {}),
    dependencies: (r.dependencies ?? []).map((u) => renamed.get(u) ?? u),
  }));
  const plan = rebuildPlan(validateMesh(adoptedProdMesh()), "prod", "hetzner-cockpit");
  const { ops, state } = recorder({ resources: old });
  await runRebuild(plan, urnsOf, ops, () => undefined);
  const left = new Set(state().resources!.map((r) => r.urn.split("::").pop()));
  for (const name of plan.forget) assert.ok(!left.has(`prod-${name}`), `prod-${name} forgotten`);
  assert.ok(left.has("prod-cockpit-ipv4") && left.has("prod-node-oracle-deploy"));
});

const cli = pulumiCli();

test("the rebuild's config and state edits are accepted by the real Pulumi CLI", { skip: typeof cli === "string" ? cli : false }, async () => {
  const c = cli as PulumiCli;
  // The stack: the prod topology with adoption ids, and a state holding every planned resource.
  fs.copyFileSync(path.join(ROOT, "Pulumi.prod.yaml"), path.join(c.dir, "Pulumi.prod.yaml"));
  assert.equal(c.run(["stack", "init", "prod"]).code, 0);
  assert.equal(c.run(["config", "set", "--type", "string", "--path", "mesh.hetzner.adopt.serverId", "4711", "--stack", "prod"]).code, 0);
  const registrations = planRegistrations(adoptedProdMesh(), "prod");
  const exported = JSON.parse(c.run(["stack", "export", "--stack", "prod"]).stdout) as { version: number; deployment: Record<string, unknown> };
  exported.deployment.resources = stateOf(registrations, "prod", "optimal-mesh");
  const imported = c.run(["stack", "import", "--stack", "prod"], { input: JSON.stringify(exported) });
  assert.equal(imported.code, 0, imported.stderr);

  // The same operations dr-rebuild uses, through the Automation API, with the ups and the network left out.

  const env = Object.fromEntries(Object.entries(c.env).filter((e): e is [string, string] => e[1] !== undefined));
  const pulumiCommand = await PulumiCommand.get({ root: c.root });
  const s = await LocalWorkspace.selectStack({ stackName: "prod", workDir: c.dir }, { envVars: env, pulumiCommand });
  const real = automationOps(s, () => undefined, { pack: path.join(ROOT, "policy"), config: path.join(c.dir, "policy-config.json") });
  const { ops, log } = recorder({});
  const plan = rebuildPlan(validateMesh(adoptedProdMesh()), "prod", "hetzner-cockpit");
  await runRebuild(
    plan,
    urnIn(planRegistrations(rebuiltMesh(), "prod")),
    { ...ops, removeConfig: real.removeConfig, setConfig: real.setConfig, exportState: real.exportState, importState: real.importState },
    () => undefined,
  );
  assert.ok(log.includes("keyscan hetzner-cockpit"));

  const after = JSON.parse(c.run(["stack", "export", "--stack", "prod"]).stdout) as { deployment: { resources: { urn: string }[] } };
  const names = new Set(after.deployment.resources.map((r) => r.urn.split("::").pop()));
  for (const name of plan.forget) assert.ok(!names.has(name), `${name} forgotten in the real state`);
  assert.ok(names.has("cockpit-server") && names.has("cockpit-ipv4") && names.has("node-oracle-deploy"));
  const mesh = JSON.parse(JSON.parse(c.run(["config", "--json", "--stack", "prod"]).stdout)["optimal-mesh:mesh"].value as string) as Raw;
  assert.equal(mesh.hetzner.adopt.serverId, undefined, "the adopted server's id left the stack file");
  assert.equal(mesh.nodes["hetzner-cockpit"].ssh.hostKey, "ssh-ed25519 AAAAnewkey");
});

test("npm run dr-rebuild without --yes prints the phases, the config it changes and the URNs it forgets and replaces, and changes nothing", () => {
  const r = runScript("dr-rebuild", ["hetzner-cockpit"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /replace urn:pulumi:prod::optimal-mesh::optimal-mesh:index:Mesh\$optimal-mesh:hetzner:HetznerCockpit\$hcloud:index\/server:Server::cockpit-server/,
  );
  assert.match(
    r.stderr,
    /forget urn:pulumi:prod::optimal-mesh::optimal-mesh:index:Mesh\$optimal-mesh:node:NodeHost\$command:remote:Command::node-hetzner-cockpit-deploy/,
  );
  assert.match(r.stderr, /config: pin hetzner-cockpit's new SSH host key, read over the tailnet/);
  assert.match(r.stderr, /nothing done: run again with --yes/);
  const bad = runScript("dr-rebuild", ["nope"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no node named "nope"/);
});

test("dr-rebuild's ups run the policy pack with the topology's config, as the workflows do (#18 point 3)", async () => {
  const calls: [string, Record<string, unknown>][] = [];
  const stack = {
    preview: async (o: Record<string, unknown>) => void calls.push(["preview", o]),
    up: async (o: Record<string, unknown>) => void calls.push(["up", o]),
  } as unknown as Parameters<typeof automationOps>[0];
  await automationOps(stack, () => undefined, { pack: "/repo/policy", config: "/tmp/policy-config.json" }).up({ replace: ["urn:x"] });
  // Previewed first with the same options: the Automation API's up skips the engine's preview, which is where a protected delete fails before anything changes.
  assert.deepEqual(
    calls.map(([op]) => op),
    ["preview", "up"],
  );
  for (const [, options] of calls)
    assert.deepEqual([options.policyPacks, options.policyPackConfigs, options.replace], [["/repo/policy"], ["/tmp/policy-config.json"], ["urn:x"]]);
});

test("the lost machine's device is removed through Tailscale's API with an API key or an OAuth client (#18 point 1), against a loopback fake", async () => {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "POST" && req.url === "/api/v2/oauth/token") return json(200, { access_token: "oauth-access", token_type: "Bearer" });
    if (req.method === "GET" && req.url === "/api/v2/tailnet/-/devices")
      return json(200, {
        devices: [
          { id: "old", name: "hetzner-cockpit.tail1.ts.net", hostname: "hetzner-cockpit" },
          { id: "o", name: "oracle.tail1.ts.net", hostname: "oracle" },
        ],
      });
    if (req.method === "DELETE" && req.url === "/api/v2/device/old") return json(200, {});
    json(404, { message: "not found" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stackWith = (config: Record<string, string>) =>
    ({
      getAllConfig: async () => Object.fromEntries(Object.entries({ "tailscale:baseUrl": base, ...config }).map(([k, v]) => [k, { value: v, secret: false }])),
    }) as unknown as Parameters<typeof automationOps>[0];
  try {
    const pack = { pack: "policy", config: "policy-config.json" };
    assert.equal(await automationOps(stackWith({ "tailscale:apiKey": "tskey-api-x" }), () => undefined, pack).removeDevice("hetzner-cockpit"), true);
    assert.equal(
      await automationOps(stackWith({ "tailscale:oauthClientId": "id1", "tailscale:oauthClientSecret": "tskey-client-x" }), () => undefined, pack).removeDevice(
        "hetzner-cockpit",
      ),
      true,
    );
    assert.equal(
      await automationOps(stackWith({ "tailscale:apiKey": "tskey-api-x" }), () => undefined, pack).removeDevice("pop-os"),
      false,
      "no such device: nothing removed",
    );
    const basic = `Basic ${Buffer.from("tskey-api-x:").toString("base64")}`;
    assert.deepEqual(requests, [
      `GET /api/v2/tailnet/-/devices ${basic}`,
      `DELETE /api/v2/device/old ${basic}`,
      "POST /api/v2/oauth/token -",
      "GET /api/v2/tailnet/-/devices Bearer oauth-access",
      "DELETE /api/v2/device/old Bearer oauth-access",
      `GET /api/v2/tailnet/-/devices ${basic}`,
    ]);
  } finally {
    server.close();
  }
});
