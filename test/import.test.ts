// Adoption: the ids of the existing estate looked up from fakes of the Hetzner and Cloudflare
// APIs on loopback, and the import command end to end against them.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { renderIngress } from "../render/cloudflare/ingress";
import { configCommands, discover, sshKeyFingerprint } from "../scripts/lib/adopt";
import { validateMesh } from "../stacks/validate";
import { checkWith, missingTool, prodMesh, runScriptAsync } from "./helpers";

const ZONE = "0123456789abcdef0123456789abcdef";
const OPERATOR_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKkWgAFsFhmPmnUMrk3+NdCrjq47VLeHBNRxUGffydXA operator@laptop";
/** The running server as the fake Hetzner API describes it; tests change it to make it differ. */
const matching = () => ({
  id: 4711,
  name: "hetzner-cockpit",
  server_type: { name: "ccx13" },
  datacenter: { location: { name: "ash" } },
  backup_window: "22-02",
  labels: { "managed-by": "optimal-mesh", node: "hetzner-cockpit" },
  public_net: { firewalls: [] as { id: number }[] },
});
let live = matching();
/** The primary IP, the operator's key and the server's firewall as Hetzner describes them; tests change them to make them differ. */
const LABELS = { "managed-by": "optimal-mesh", node: "hetzner-cockpit" };
const matchingIp = () => ({ id: 815, name: "hetzner-cockpit-ipv4", labels: LABELS, auto_delete: false, protection: { delete: true } });
let ip: Record<string, unknown> = matchingIp();
const key = { id: 42, name: "hetzner-cockpit-operator", labels: LABELS };
const handMadeFirewall = () => ({
  id: 99,
  name: "cockpit-fw",
  labels: {},
  rules: [
    { direction: "in", protocol: "tcp", port: "22", source_ips: ["0.0.0.0/0", "::/0"] },
    { direction: "in", protocol: "tcp", port: "80", source_ips: ["0.0.0.0/0"] },
  ],
});
const firewall = handMadeFirewall();
/** Set by the test of hostile answers: the fakes answer ids of the wrong shape. */
let hostile = false;
const COCKPIT_TUNNEL = "00633812-46c8-4e70-a001-0b151758c78b";
const PI_TUNNEL = "11111111-2222-4333-8444-555555555555";
const prodTunnels = validateMesh(prodMesh()).tunnels;
/** What each running tunnel serves, by id, as Cloudflare describes it; tests change it to make it differ. */
const servedAsDeclared = () => ({ [COCKPIT_TUNNEL]: renderIngress(prodTunnels.cockpit!), [PI_TUNNEL]: renderIngress(prodTunnels.pi!) });
let served: Record<string, unknown[]> = servedAsDeclared();
/** Where each CNAME points, by hostname; tests change it. */
const pointedAsDeclared = () => ({ "fabric.optimal.miami": `${COCKPIT_TUNNEL}.cfargotunnel.com`, "optimal.miami": `${PI_TUNNEL}.cfargotunnel.com` });
let pointed: Record<string, string> = pointedAsDeclared();
const requests: string[] = [];
let server: http.Server;
let base = "";

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push(`${req.headers.authorization} ${url.pathname}${url.search}`);
    const json = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const q = (k: string) => url.searchParams.get(k);
    if (url.pathname.startsWith("/html/")) {
      // A captive portal or a proxy's page, answered with 200.
      res.writeHead(200, { "content-type": "text/html" });
      return res.end("<html><body>Sign in to the guest network</body></html>");
    }
    if (url.pathname === "/hcloud/servers") return json({ servers: q("name") === "hetzner-cockpit" ? [live] : [] });
    if (url.pathname === "/hcloud/servers/4711") return json({ server: live });
    if (url.pathname === "/hcloud/ssh_keys") return json({ ssh_keys: q("fingerprint") === sshKeyFingerprint(OPERATOR_KEY) ? [key] : [] });
    if (/^\/hcloud\/ssh_keys\/\d+$/.test(url.pathname)) return json({ ssh_key: key });
    if (url.pathname === "/hcloud/primary_ips")
      return json({ primary_ips: q("ip") === "178.156.203.234" ? [{ ...ip, id: hostile ? "815; touch /tmp/pwned" : 815 }] : [] });
    if (/^\/hcloud\/primary_ips\/\d+$/.test(url.pathname)) return json({ primary_ip: ip });
    if (url.pathname === "/hcloud/firewalls/99") return json({ firewall: firewall });
    if (url.pathname === "/cf/accounts/acc1/cfd_tunnel")
      return json({ result: q("name") === "pi" ? [{ id: hostile ? `${PI_TUNNEL}\u001b]0;pwned\u0007` : PI_TUNNEL }] : [] });
    const configuration = /^\/cf\/accounts\/acc1\/cfd_tunnel\/([^/]+)\/configurations$/.exec(url.pathname);
    if (configuration !== null && served[configuration[1]!] !== undefined) return json({ result: { config: { ingress: served[configuration[1]!] } } });
    if (url.pathname === "/cf/zones") return json({ result: q("name") === "optimal.miami" ? [{ id: hostile ? "../../accounts/acc1/tokens" : ZONE }] : [] });
    if (url.pathname === `/cf/zones/${ZONE}/dns_records`) {
      const ids: Record<string, string> = { "fabric.optimal.miami": "fedcba9876543210fedcba9876543210", "optimal.miami": "00112233445566778899aabbccddeeff" };
      const host = q("name") ?? "";
      const comment = host === "fabric.optimal.miami" ? "optimal-mesh: tunnel cockpit" : "optimal-mesh: tunnel pi";
      return json({ result: ids[host] === undefined ? [] : [{ id: ids[host], content: pointed[host], proxied: true, comment }] });
    }
    res.writeHead(404);
    res.end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const apis = () => ({
  hcloud: { base: `${base}/hcloud`, token: "hc-token" },
  cloudflare: { base: `${base}/cf`, token: "cf-token", accountId: "acc1" },
  sshPublicKey: OPERATOR_KEY,
});

test("finds every id prod needs to adopt, with the tokens as bearer credentials", async () => {
  const raw = prodMesh();
  raw.access.adoptPolicy = false;
  const { found, missing, differences } = await discover(validateMesh(raw), apis());
  assert.deepEqual(
    found.map((f) => [f.path, f.value]),
    [
      ["mesh.hetzner.adopt.serverId", "4711"],
      ["mesh.hetzner.adopt.sshKeyId", "42"],
      ["mesh.hetzner.adopt.primaryIpId", "815"],
      ["mesh.tunnels.cockpit.zoneId", ZONE],
      ['mesh.tunnels.cockpit.dnsRecordIds["fabric.optimal.miami"]', "fedcba9876543210fedcba9876543210"],
      ["mesh.tunnels.pi.adoptId", "11111111-2222-4333-8444-555555555555"],
      ["mesh.tunnels.pi.zoneId", ZONE],
      ['mesh.tunnels.pi.dnsRecordIds["optimal.miami"]', "00112233445566778899aabbccddeeff"],
      ["mesh.access.adoptPolicy", true],
    ],
  );
  assert.deepEqual(missing, []);
  assert.deepEqual(differences, []);
  assert.ok(requests.some((r) => r.startsWith("Bearer hc-token /hcloud/servers?name=hetzner-cockpit")));
  assert.ok(requests.some((r) => r.startsWith("Bearer cf-token /cf/zones?name=optimal.miami")));
  assert.equal(requests.filter((r) => r.includes("/cf/zones?")).length, 1, "the zone is looked up once");
  assert.match(
    configCommands("prod", found)[4]!,
    /^pulumi config set --stack prod --type string --path 'mesh\.tunnels\.cockpit\.dnsRecordIds\["fabric\.optimal\.miami"\]' 'fedcba9876543210fedcba9876543210'$/,
  );
});

test("what cannot be found is reported with the reason", async () => {
  const raw = prodMesh();
  raw.tunnels.pi.name = "pi-tunnel";
  const { missing } = await discover(validateMesh(raw), apis());
  assert.deepEqual(
    missing.map((m) => m.what),
    ["tunnel pi-tunnel"],
  );
  assert.match(missing[0]!.why, /set tunnels\.pi\.name to its name in Cloudflare/);
});

test("ids already in the topology are not looked up again; the known server, key and IP are read to compare them", async () => {
  requests.length = 0;
  const raw = prodMesh();
  raw.hetzner.adopt = { serverId: "4711", primaryIpId: "2", sshKeyId: "42" };
  await discover(validateMesh(raw), apis());
  // Known ids are read by id (to compare what runs), never searched for.
  assert.deepEqual(
    requests.filter((r) => r.includes("/hcloud/")).map((r) => r.split(" ")[2]),
    ["/hcloud/servers/4711", "/hcloud/ssh_keys/42", "/hcloud/primary_ips/2"],
  );
});

test("the operator's key is found by its MD5 fingerprint, as Hetzner lists it and ssh-keygen prints it (point 4)", { skip: missingTool("ssh-keygen") }, () => {
  const r = checkWith("ssh-keygen", ["-l", "-E", "md5", "-f"], "operator.pub", `${OPERATOR_KEY}\n`);
  assert.equal(r.code, 0, r.output);
  assert.equal(`MD5:${sshKeyFingerprint(OPERATOR_KEY)}`, r.output.split(" ")[1]);
  assert.throws(() => sshKeyFingerprint("not a key"), /not a key line/);
});

test("a running server that differs from the topology is listed with what the adoption up would do (point 5)", async () => {
  live = { ...matching(), server_type: { name: "cx22" }, backup_window: "", labels: { env: "prod" } as never, public_net: { firewalls: [{ id: 99 }] } };
  ip = { ...matchingIp(), auto_delete: true, protection: { delete: false } };
  key.name = "carlos@laptop";
  try {
    const { differences } = await discover(validateMesh(prodMesh()), apis());
    assert.deepEqual(
      differences.map((d) => [d.path, d.live, d.declared]),
      [
        ["mesh.hetzner.serverType", "cx22", "ccx13"],
        ["mesh.hetzner.backups", "false", "true"],
        ["mesh.hetzner (labels)", "env=prod", "managed-by=optimal-mesh,node=hetzner-cockpit"],
        // The firewall it has is adopted, and each of its differences listed: the up changes it in place.
        ["mesh.hetzner.adopt.firewallId (name)", "cockpit-fw", "hetzner-cockpit-inbound"],
        ["mesh.hetzner.adopt.firewallId (labels)", "(none)", "managed-by=optimal-mesh,node=hetzner-cockpit"],
        [
          "mesh.hetzner.sshSources (firewall rules)",
          "in tcp 22 from 0.0.0.0/0,::/0; in tcp 80 from 0.0.0.0/0",
          "in icmp from 0.0.0.0/0,::/0; in tcp 22 from 0.0.0.0/0,::/0; in udp 41641 from 0.0.0.0/0,::/0",
        ],
        // And so are the primary IP's and the key's.
        ["mesh.hetzner.adopt.sshKeyId (name)", "carlos@laptop", "hetzner-cockpit-operator"],
        ["mesh.hetzner.adopt.primaryIpId (autoDelete)", "true", "false"],
        ["mesh.hetzner.adopt.primaryIpId (delete protection)", "false", "true"],
      ],
    );
    assert.match(differences[0]!.effect, /powers the server off/);
    // npm run import stops: it lists them and writes nothing until they are accepted.
    const r = await runImport(["--write"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /import: differs: mesh\.hetzner\.serverType: runs cx22, declared ccx13; the up powers the server off/);
    assert.match(r.stderr, /import: nothing written/);
    assert.match(r.stderr, /import: found mesh\.hetzner\.adopt\.firewallId = 99 \(the firewall the running server has \("cockpit-fw"\)\)/);
  } finally {
    live = matching();
    ip = matchingIp();
    key.name = "hetzner-cockpit-operator";
  }
});

test("ids of the wrong shape from the APIs are reported, never recorded, never put in a request path; their text reaches the terminal escaped", async () => {
  hostile = true;
  // A firewall id of the wrong shape, as the server lists it: never recorded, never put in a request path.
  live = { ...matching(), server_type: { name: "cx22\u001b[2J" }, public_net: { firewalls: [{ id: "99/../../servers" as unknown as number }] } };
  requests.length = 0;
  try {
    const { found, missing } = await discover(validateMesh(prodMesh()), apis());
    const refused = [
      "mesh.hetzner.adopt.firewallId",
      "mesh.hetzner.adopt.primaryIpId",
      "mesh.tunnels.cockpit.zoneId",
      "mesh.tunnels.pi.adoptId",
      "mesh.tunnels.pi.zoneId",
    ];
    for (const p of refused) assert.ok(!found.some((f) => f.path === p), `${p} recorded`);
    assert.deepEqual(missing.map((m) => m.what).sort(), refused);
    assert.match(missing.find((m) => m.what === "mesh.tunnels.pi.adoptId")!.why, /\\u001b\]0;pwned\\u0007", which is not a tunnel UUID: nothing is recorded/);
    // The zone id that came back is never used to build the records' request.
    assert.ok(!requests.some((r) => r.includes("..") || r.includes("/tokens")), requests.join("\n"));
    assert.ok(!requests.some((r) => r.includes("dns_records")), "no record is looked up in a zone of the wrong shape");

    const r = await runImport([]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stderr + r.stdout), "a control character reached the terminal");
    assert.match(r.stderr, /import: differs: mesh\.hetzner\.serverType: runs cx22\\u001b\[2J, declared ccx13/);
    assert.doesNotMatch(r.stdout, /adoptId|primaryIpId|zoneId/);
  } finally {
    hostile = false;
    live = matching();
  }
});

test("a running tunnel that serves other rules, and a CNAME that points elsewhere, are listed with what the adoption up would do", async () => {
  served = {
    ...servedAsDeclared(),
    [PI_TUNNEL]: [
      { hostname: "optimal.miami", service: "http://localhost:3000" },
      { hostname: "n8n.optimal.miami", service: "http://localhost:5678" },
      { service: "http_status:404" },
    ],
  };
  pointed = { ...pointedAsDeclared(), "optimal.miami": "old-tunnel.cfargotunnel.com" };
  try {
    const { differences } = await discover(validateMesh(prodMesh()), apis());
    assert.deepEqual(
      differences.map((d) => d.path),
      ["mesh.tunnels.pi.ingress", "mesh.tunnels.pi.ingress (DNS optimal.miami)"],
    );
    assert.match(differences[0]!.live, /n8n\.optimal\.miami -> http:\/\/localhost:5678/);
    assert.match(differences[0]!.effect, /no longer served: n8n\.optimal\.miami/);
    assert.equal(differences[1]!.live, "old-tunnel.cfargotunnel.com (proxied)");
    assert.equal(differences[1]!.declared, `${PI_TUNNEL}.cfargotunnel.com (proxied)`);
    const r = await runImport(["--write"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /import: differs: mesh\.tunnels\.pi\.ingress: runs .*; the up sets the declared rules as the tunnel's configuration; no longer served: n8n\.optimal\.miami/,
    );
    assert.match(r.stderr, /import: nothing written/);
  } finally {
    served = servedAsDeclared();
    pointed = pointedAsDeclared();
  }
});

/** npm run import against the fakes, in a child process. */
function runImport(args: readonly string[]): ReturnType<typeof runScriptAsync> {
  return runScriptAsync("import", args, {
    ...process.env,
    HCLOUD_ENDPOINT: `${base}/hcloud`,
    HCLOUD_TOKEN: "hc",
    CLOUDFLARE_BASE_URL: `${base}/cf`,
    CLOUDFLARE_API_TOKEN: "cf",
    CLOUDFLARE_ACCOUNT_ID: "acc1",
  });
}

test("npm run import prints the config commands and exits 0 when everything is found", async () => {
  const { code, stdout, stderr } = await runImport([]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.split("\n").filter((l) => l.startsWith("pulumi config set --stack prod --type ")).length, 7);
  assert.match(stderr, /import: found mesh\.hetzner\.adopt\.serverId = 4711 \(the running server hetzner-cockpit\)/);
});

test("without tokens it says which is missing and exits 2", async () => {
  const env = { ...process.env };
  delete env.HCLOUD_TOKEN;
  const r = await runScriptAsync("import", [], env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /HCLOUD_TOKEN is not set/);
});

/** npm run import with the Hetzner endpoint at `endpoint` (the Cloudflare one at the fakes). */
function importAt(endpoint: string, extra: NodeJS.ProcessEnv = {}): ReturnType<typeof runScriptAsync> {
  return runScriptAsync("import", [], {
    ...process.env,
    HCLOUD_ENDPOINT: endpoint,
    HCLOUD_TOKEN: "hc",
    CLOUDFLARE_BASE_URL: `${base}/cf`,
    CLOUDFLARE_API_TOKEN: "cf",
    CLOUDFLARE_ACCOUNT_ID: "acc1",
    ...extra,
  });
}

/** An API that cannot be reached is the machine's or the setting's problem: exit 2, the setting and the fix named, no trace, no "bug". */
function assertUnreachable(r: { code: number | null; stderr: string }, ...expected: RegExp[]): void {
  assert.equal(r.code, 2, r.stderr);
  for (const e of expected) assert.match(r.stderr, e);
  assert.doesNotMatch(r.stderr, /bug in optimal-mesh|TypeError|\n\s+at /);
  assert.equal(
    r.stderr
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("import: looking up")).length,
    1,
    r.stderr,
  );
}

test("an HTTPS endpoint with a self-signed certificate is the machine's problem: the certificate's code, the setting and the fix, no trace", async (t) => {
  const skip = missingTool("openssl");
  if (skip) return t.skip(skip);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "optimal-mesh-tls-"));
  const made = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      path.join(dir, "key.pem"),
      "-out",
      path.join(dir, "cert.pem"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(made.status, 0, made.stderr);
  const tls = https.createServer({ key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) }, (_req, res) =>
    res.end("{}"),
  );
  await new Promise<void>((r) => tls.listen(0, "127.0.0.1", r));
  try {
    const r = await importAt(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/v1`);
    assertUnreachable(
      r,
      /^import: the Hetzner Cloud API at https:\/\/127\.0\.0\.1:\d+ cannot be reached: self[- ]signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); its TLS certificate is not trusted here: check HCLOUD_ENDPOINT; for an endpoint of your own, give its CA with NODE_EXTRA_CA_CERTS=FILE/m,
    );
  } finally {
    tls.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("an endpoint that is not a URL, one where nothing listens, and one answering HTML are each named with the setting to fix", async () => {
  assertUnreachable(await importAt("not a url"), /^import: HCLOUD_ENDPOINT does not give a URL \("not a url\/servers\?name=hetzner-cockpit"\)/m);
  assertUnreachable(await importAt("ftp://127.0.0.1/v1"), /^import: HCLOUD_ENDPOINT gives a ftp: URL/m);
  // A port just closed: nothing listens there.
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  assertUnreachable(
    await importAt(`http://127.0.0.1:${port}/v1`),
    /cannot be reached: .*ECONNREFUSED.*; nothing listens there: check HCLOUD_ENDPOINT \(host and port\)/,
  );
  assertUnreachable(
    await importAt(`${base}/html`),
    /the Hetzner Cloud API answered .*\/html\/servers with something that is not JSON \(text\/html, \d+ bytes\): is HCLOUD_ENDPOINT the API's base URL/,
  );
});

test("CLOUDFLARE_API_BASE, the name import read before it took the provider's, is refused with the rename, not ignored", async () => {
  const r = await importAt(`${base}/hcloud`, { CLOUDFLARE_API_BASE: `${base}/cf` });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /import: CLOUDFLARE_API_BASE is set, and is no longer read; the Cloudflare provider and this command both take the base URL from CLOUDFLARE_BASE_URL: rename it/,
  );
});
