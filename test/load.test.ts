// The loader under Pulumi's mock runtime: config in, validated spec and settings out.
import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { loadStack } from "../stacks/load";
import { adoptionProblems } from "../stacks/rules";
import { OPERATOR_SETTINGS, placeholderFor } from "../stacks/settings";
import { MeshConfigError } from "../stacks/validate";
import { adoptedProdMesh, prodMesh } from "./helpers";

function resolve<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((res) => o.apply((v) => (res(v), v)));
}

function useConfig(values: Record<string, unknown>, secretKeys: string[] = []): void {
  const wire: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) wire[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(wire, secretKeys);
}

/** The MeshConfigError `fn` throws (it must throw one). */
function configErrorOf(fn: () => unknown): MeshConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MeshConfigError, String(err));
    return err;
  }
  assert.fail("expected a MeshConfigError");
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof MeshConfigError) return err.problems.map((p) => p.path);
    throw err;
  }
  return [];
}

const allSettings = {
  "tailscale:apiKey": "k",
  "cloudflare:apiToken": "t",
  "hcloud:token": "h",
  "optimal-mesh:sshPrivateKey": "p",
  "optimal-mesh:sshPublicKey": "ssh-ed25519 AAAA",
  "optimal-mesh:cloudflareAccountId": "a",
};

const ADOPTION_PATHS = [
  "mesh.hetzner.adopt.primaryIpId",
  "mesh.hetzner.adopt.serverId",
  "mesh.nodes.oracle.ssh.hostKey",
  "mesh.nodes.pop-os.ssh.hostKey",
  "mesh.nodes.hetzner-cockpit.ssh.hostKey",
  "mesh.tunnels.cockpit.dnsRecordIds",
  "mesh.tunnels.pi.adoptId",
  "mesh.tunnels.pi.dnsRecordIds",
];

before(async () => {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) }, "optimal-mesh", "test", true);
});

describe("offline", () => {
  test("unset settings become visible placeholders, secrets stay secret", async () => {
    useConfig({ "optimal-mesh:mesh": prodMesh() });
    const { spec, settings } = loadStack({ offline: true });
    assert.equal(Object.keys(spec.nodes).length, 3);
    assert.equal(await pulumi.isSecret(settings.sshPrivateKey), true);
    assert.equal(await resolve(settings.sshPrivateKey), placeholderFor("optimal-mesh:sshPrivateKey"));
    assert.equal(settings.cloudflareAccountId, "<unset:optimal-mesh:cloudflareAccountId>");
  });

  test("set values are used as they are, secret config stays secret", async () => {
    useConfig({ "optimal-mesh:mesh": prodMesh(), "optimal-mesh:sshPrivateKey": "KEY-CANARY", "optimal-mesh:cloudflareAccountId": "acc123" }, [
      "optimal-mesh:sshPrivateKey",
    ]);
    const { settings } = loadStack({ offline: true });
    assert.equal(await pulumi.isSecret(settings.sshPrivateKey), true);
    assert.equal(await resolve(settings.sshPrivateKey), "KEY-CANARY");
    assert.equal(settings.cloudflareAccountId, "acc123");
  });

  test("a setting given in plain text is still handled as a secret", async () => {
    useConfig({ "optimal-mesh:mesh": prodMesh(), "optimal-mesh:sshPrivateKey": "PLAIN-KEY" });
    const { settings } = loadStack({ offline: true });
    assert.equal(await pulumi.isSecret(settings.sshPrivateKey), true);
  });
});

describe("for real (pulumi preview / up)", () => {
  test("every unset setting is reported at once with the command that sets it", () => {
    useConfig({ "optimal-mesh:mesh": prodMesh() });
    const err = configErrorOf(() => loadStack({ offline: false }));
    assert.deepEqual(
      err.problems.map((p) => p.path),
      [...ADOPTION_PATHS, ...OPERATOR_SETTINGS.map((s) => s.key)],
    );
    assert.match(err.message, /fix: pulumi config set --secret hcloud:token/);
  });

  test("the empty defaults Pulumi.yaml declares (what the CLI hands over for unset keys) count as unset", () => {
    useConfig({ "optimal-mesh:mesh": {}, ...Object.fromEntries(OPERATOR_SETTINGS.map((s) => [s.key, ""])) });
    const err = configErrorOf(() => loadStack({ offline: false }));
    assert.deepEqual(
      err.problems.map((p) => p.path),
      ["mesh", ...OPERATOR_SETTINGS.map((s) => s.key)],
    );
    assert.match(err.message, /optimal-mesh:mesh is not set/);
  });

  test("a Tailscale OAuth client stands in for the API key; both at once, or half a client, are problems with the fix (#18 point 1)", () => {
    const others = Object.fromEntries(Object.entries(allSettings).filter(([k]) => k !== "tailscale:apiKey"));
    const oauth = { "tailscale:oauthClientId": "k123", "tailscale:oauthClientSecret": "tskey-client-x" };
    useConfig({ "optimal-mesh:mesh": adoptedProdMesh(), ...others, ...oauth }, ["tailscale:oauthClientSecret"]);
    assert.deepEqual(
      problemsOf(() => loadStack({ offline: false })),
      [],
    );
    useConfig({ "optimal-mesh:mesh": adoptedProdMesh(), ...others, ...oauth, "tailscale:apiKey": "tskey-api-x" });
    assert.deepEqual(
      problemsOf(() => loadStack({ offline: false })),
      ["tailscale:apiKey"],
    );
    useConfig({ "optimal-mesh:mesh": adoptedProdMesh(), ...others, "tailscale:oauthClientId": "k123" });
    assert.deepEqual(
      problemsOf(() => loadStack({ offline: false })),
      ["tailscale:oauthClientSecret"],
    );
    useConfig({ "optimal-mesh:mesh": adoptedProdMesh(), ...others });
    const err = configErrorOf(() => loadStack({ offline: false }));
    assert.match(
      err.message,
      /tailscale:apiKey: Tailscale credential [\s\S]*fix: an OAuth client \(no expiry; scopes policy_file, dns, devices:core, auth_keys/,
    );
  });

  test("topology problems and missing settings come in one report", () => {
    const mesh = prodMesh();
    mesh.nodes["pop-os"].role = "hub";
    const { "optimal-mesh:cloudflareAccountId": _left, ...withoutAccount } = allSettings;
    useConfig({ "optimal-mesh:mesh": mesh, ...withoutAccount });
    assert.deepEqual(
      problemsOf(() => loadStack({ offline: false })),
      ["mesh.nodes.oracle.role", "mesh.nodes.pop-os.role", "optimal-mesh:cloudflareAccountId"],
    );
  });

  test("existing resources must be adopted, not recreated: errors for real; offline, the plan shows them", () => {
    useConfig({ "optimal-mesh:mesh": prodMesh(), ...allSettings });
    assert.deepEqual(
      problemsOf(() => loadStack({ offline: false })),
      ADOPTION_PATHS,
    );
    const { spec } = loadStack({ offline: true });
    const notices = adoptionProblems(spec);
    assert.deepEqual(
      notices.map((n) => n.path),
      ADOPTION_PATHS,
    );
    assert.match(notices[0]!.message, /keeps 178\.156\.203\.234 only if its existing primary IP is adopted/);
    assert.match(notices.find((n) => n.path === "mesh.tunnels.pi.adoptId")!.message, /tunnel pi exists in Cloudflare/);
  });

  test("a node to bootstrap needs no pinned host key, unless another node's SSH trust targets it", () => {
    const mesh = adoptedProdMesh();
    mesh.nodes.oracle.tailnet = { state: "bootstrap", firstAddress: "192.0.2.5" };
    delete mesh.nodes.oracle.ssh.hostKey;
    mesh.nodes["pop-os"].tailnet = { state: "bootstrap", firstAddress: "192.0.2.6" };
    delete mesh.nodes["pop-os"].ssh.hostKey;
    useConfig({ "optimal-mesh:mesh": mesh, ...allSettings });
    assert.deepEqual(
      problemsOf(() => loadStack({ offline: false })),
      ["mesh.nodes.pop-os.ssh.hostKey"],
    );
  });

  test("a complete stack loads", () => {
    useConfig({ "optimal-mesh:mesh": adoptedProdMesh(), ...allSettings });
    assert.deepEqual(
      problemsOf(() => loadStack({ offline: false })),
      [],
    );
  });
});
