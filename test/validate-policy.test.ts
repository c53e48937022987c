// Tailscale's own check of the rendered policy in pull requests (#18 point 2): the command against a
// loopback fake of the validate endpoint, with either credential, accepting and rejecting.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { runScriptAsync, tmpDir } from "./helpers";

const requests: { line: string; auth: string; type: string; body: string }[] = [];
let verdict: { status: number; body: unknown } = { status: 200, body: {} };
let server: http.Server;
let base = "";

before(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      requests.push({ line: `${req.method} ${req.url}`, auth: req.headers.authorization ?? "", type: req.headers["content-type"] ?? "", body });
      const send = (status: number, answer: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      };
      // Tailscale's token endpoint: the client credentials grant, as a form; anything else is refused.
      if (req.url === "/api/v2/oauth/token") {
        const form = new URLSearchParams(body);
        const valid =
          String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded") &&
          form.get("grant_type") === "client_credentials" &&
          form.get("client_id") === "kRead" &&
          form.get("client_secret") === "tskey-client-read";
        return valid ? send(200, { access_token: "read-only-token" }) : send(401, { message: "invalid client" });
      }
      if (req.url === "/api/v2/tailnet/-/acl/validate") return send(verdict.status, verdict.body);
      send(404, { message: "not found" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

function validate(env: Record<string, string>, file: string): ReturnType<typeof runScriptAsync> {
  const clean = { ...process.env };
  for (const k of ["TAILSCALE_API_KEY", "TAILSCALE_OAUTH_CLIENT_ID", "TAILSCALE_OAUTH_CLIENT_SECRET"]) delete clean[k];
  return runScriptAsync("validate-policy", ["--file", file], { ...clean, TAILSCALE_BASE_URL: base, ...env });
}

const policy = path.join(tmpDir("policy"), "policy.hujson");
fs.writeFileSync(policy, '// a policy\n{"acls": [], "tests": []}\n');

test("an accepted policy: posted verbatim as HuJSON with a read-only OAuth client's token, exit 0", async () => {
  requests.length = 0;
  verdict = { status: 200, body: {} };
  const r = await validate({ TAILSCALE_OAUTH_CLIENT_ID: "kRead", TAILSCALE_OAUTH_CLIENT_SECRET: "tskey-client-read" }, policy);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Tailscale accepts/);
  assert.deepEqual(
    requests.map((q) => q.line),
    ["POST /api/v2/oauth/token", "POST /api/v2/tailnet/-/acl/validate"],
  );
  const exchange = new URLSearchParams(requests[0]!.body);
  assert.deepEqual(Object.fromEntries(exchange), { client_id: "kRead", client_secret: "tskey-client-read", grant_type: "client_credentials" });
  const post = requests[1]!;
  assert.equal(post.auth, "Bearer read-only-token");
  assert.equal(post.type, "application/hujson");
  assert.equal(post.body, fs.readFileSync(policy, "utf8"), "the file as written, comments and all");
});

test("a rejected policy fails the pull request with Tailscale's reasons, whether it says so in a 200 or a 400", async () => {
  verdict = { status: 200, body: { message: "test(s) failed", data: [{ user: "tag:node-oracle", errors: ["expected accept on tag:worker:3000"] }] } };
  const r = await validate({ TAILSCALE_API_KEY: "tskey-api-x" }, policy);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Tailscale rejects .*: test\(s\) failed\n {2}tag:node-oracle: expected accept on tag:worker:3000/);
  assert.equal(requests.at(-1)!.auth, `Basic ${Buffer.from("tskey-api-x:").toString("base64")}`);
  verdict = { status: 400, body: { message: 'line 3: unknown field "acl"' } };
  const bad = await validate({ TAILSCALE_API_KEY: "tskey-api-x" }, policy);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown field "acl"/);
});

test("no credential, a missing file, or a refused credential: exit 2 with what to do", async () => {
  const none = await validate({}, policy);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no Tailscale credential/);
  const missing = await validate({ TAILSCALE_API_KEY: "x" }, path.join(tmpDir("none"), "policy.hujson"));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /does not exist: run npm run plan/);
  verdict = { status: 403, body: { message: "insufficient scope" } };
  const refused = await validate({ TAILSCALE_API_KEY: "x" }, policy);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /HTTP 403: insufficient scope/);
});

test("Tailscale's reasons reach the terminal escaped: a control character in an answer is shown, not sent", async () => {
  verdict = { status: 200, body: { message: "rejected\u001b[2J", data: [{ user: "u\u0007", errors: ["line\u001b]0;x\u0007"] }] } };
  const r = await validate({ TAILSCALE_API_KEY: "tskey-api-x" }, policy);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stderr), "a control character reached the terminal");
  assert.match(r.stderr, /rejected\\u001b\[2J/);
  assert.match(r.stderr, /u\\u0007: line\\u001b\]0;x\\u0007/);
});

test("a Tailscale base URL that is not one, or where nothing listens, is named with its setting; no trace, not a bug", async () => {
  const file = path.join(tmpDir("validate-unreachable"), "policy.hujson");
  fs.writeFileSync(file, "{}\n");
  const notUrl = await validate({ TAILSCALE_API_KEY: "tskey-api-x", TAILSCALE_BASE_URL: "api.tailscale.com" }, file);
  assert.equal(notUrl.code, 2, notUrl.stderr);
  assert.match(notUrl.stderr, /^validate-policy: TAILSCALE_BASE_URL does not give a URL \("api\.tailscale\.com"\): set it to the API's base/m);
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const refused = await validate({ TAILSCALE_API_KEY: "tskey-api-x", TAILSCALE_BASE_URL: `http://127.0.0.1:${port}` }, file);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /the Tailscale API at http:\/\/127\.0\.0\.1:\d+ cannot be reached: .*ECONNREFUSED.*; nothing listens there: check TAILSCALE_BASE_URL/,
  );
  for (const r of [notUrl, refused]) assert.doesNotMatch(r.stderr, /bug in optimal-mesh|TypeError|\n\s+at /);
});
