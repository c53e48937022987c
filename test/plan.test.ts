// The offline plan as a person runs it: a child process per run, as `npm run plan` does.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { prodMesh, runPlan, tmpDir, writeStackFile, newWorker } from "./helpers";

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const full = path.join(entry.parentPath, entry.name);
      out[path.relative(dir, full)] = fs.readFileSync(full, "utf8");
    }
  }
  return out;
}

describe("npm run plan on prod", () => {
  const outA = tmpDir("a");
  const outB = tmpDir("b");
  const a = runPlan("--out", outA);
  const b = runPlan("--out", outB);

  test("succeeds and shows the three prod nodes", () => {
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /stack prod/);
    assert.match(a.stdout, /optimal-mesh:index:Mesh {2}mesh/);
    for (const node of ["oracle", "pop-os", "hetzner-cockpit"]) assert.match(a.stdout, new RegExp(`^ {4}${node} +`, "m"));
    assert.match(a.stdout, /oracle +hub +legacy .*http:\/\/oracle:3000 \(fallback http:\/\/100\.94\.77\.114:3000\)/);
    assert.match(a.stdout, /^Summary: \d+ resources/m);
  });

  test("lists what a real up refuses until adopted as notices, one per setting", () => {
    const notices = a.stdout.slice(a.stdout.indexOf("\nNotices: "));
    assert.match(notices, /^\nNotices: 8 \(these stop a real `pulumi up` until fixed\)/);
    for (const p of ["mesh.hetzner.adopt.primaryIpId", "mesh.hetzner.adopt.serverId", "mesh.tunnels.pi.adoptId", "mesh.nodes.oracle.ssh.hostKey"])
      assert.match(notices, new RegExp(`^  ${p.replace(/\./g, "\\.")}: .*\\(fix: `, "m"));
    assert.match(notices, /keeps 178\.156\.203\.234 only if its existing primary IP is adopted/);
  });

  test("writes its artifacts to the out directory", () => {
    const files = readTree(outA);
    const names = Object.keys(files).sort();
    for (const expected of [
      "plan.txt",
      "resources.json",
      "outputs.json",
      "inventory.json",
      "tailnet/policy.hujson",
      "hetzner/cloud-init.yaml",
      "tunnels/cockpit.ingress.json",
      "nodes/oracle/units/optimalos.service",
      "nodes/pop-os/scripts/deploy.sh",
      "trust/popos-deploy/client.sh",
      "mesh.mmd",
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(", ")}`);
    }
    const inventory = JSON.parse(files["inventory.json"]!) as { name: string; role: string }[];
    assert.deepEqual(
      inventory.map((n) => `${n.name}:${n.role}`),
      ["hetzner-cockpit:worker", "oracle:hub", "pop-os:worker"],
    );
    assert.equal(files["plan.txt"], a.stdout.slice(0, a.stdout.indexOf("Wrote ")));
  });

  test("is deterministic: two runs, byte-identical output and artifacts", () => {
    assert.equal(b.code, 0, b.stderr);
    const strip = (s: string) => s.replace(/^Wrote .*$/m, "");
    assert.equal(strip(a.stdout), strip(b.stdout));
    assert.deepEqual(readTree(outA), readTree(outB));
  });

  test("lists every unset operator setting as a placeholder", () => {
    for (const key of ["cloudflare:apiToken", "hcloud:token", "optimal-mesh:sshPrivateKey"]) {
      assert.match(a.stdout, new RegExp(`^  ${key}: not set \\(pulumi config set --secret ${key}`, "m"));
    }
    // The Tailscale credential: an OAuth client first, or an API key.
    assert.match(
      a.stdout,
      /^ {2}tailscale:apiKey: not set \(an OAuth client .*pulumi config set --secret tailscale:oauthClientSecret .*pulumi config set --secret tailscale:apiKey/m,
    );
  });
});

describe("npm run plan on a bad stack", () => {
  test("two hubs and a misspelled key: one report naming both paths, nothing registered, nothing written", () => {
    const mesh = prodMesh();
    mesh.nodes["pop-os"].role = "hub";
    mesh.nodes.oracle.capabilites = ["arm"];
    const out = path.join(tmpDir("bad"), "out");
    const r = runPlan("--stack", "bad", "--config-file", writeStackFile(mesh), "--out", out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Stack "bad" config has 3 problems; nothing was registered\.$/m);
    assert.match(r.stderr, /- mesh\.nodes\.oracle\.capabilites: unknown key "capabilites"\n\s+fix: did you mean "capabilities"\?/);
    assert.match(r.stderr, /- mesh\.nodes\.oracle\.role: 2 nodes have role: hub/);
    assert.match(r.stderr, /- mesh\.nodes\.pop-os\.role: 2 nodes have role: hub/);
    assert.doesNotMatch(r.stderr, /bug: \d+ resources were registered/);
    assert.equal(r.stdout, "");
    assert.equal(fs.existsSync(out), false);
  });

  test("a node declared twice in YAML is refused, not merged", () => {
    const file = writeStackFile(prodMesh());
    const text = fs.readFileSync(file, "utf8").replace(/^( +)pop-os:$/m, "$1oracle:");
    fs.writeFileSync(file, text);
    const r = runPlan("--stack", "dup", "--config-file", file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /duplicated mapping key/);
  });

  test("a missing topology says which key to add", () => {
    const file = path.join(tmpDir("empty"), "Pulumi.empty.yaml");
    fs.writeFileSync(file, "config: {}\n");
    const r = runPlan("--stack", "empty", "--config-file", file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /- mesh: optimal-mesh:mesh is not set/);
  });
});

test("encrypted settings stay placeholders: the ciphertext never reaches output or out/", () => {
  const ciphertext = "v1:CANARYq1w2e3r4t5y6u7i8o9p0";
  const out = path.join(tmpDir("enc"), "out");
  const r = runPlan("--stack", "enc", "--config-file", writeStackFile(prodMesh(), { "optimal-mesh:sshPrivateKey": { secure: ciphertext } }), "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /optimal-mesh:sshPrivateKey: encrypted, not readable offline/);
  const everything = r.stdout + r.stderr + Object.values(readTree(out)).join("\n");
  assert.doesNotMatch(everything, /CANARY/);
});

test("planning again into the same folder leaves exactly the new plan's files (stale ones and their folders go)", () => {
  const out = path.join(tmpDir("again"), "out");
  const mesh = prodMesh();
  mesh.nodes.tycho = newWorker();
  assert.equal(runPlan("--stack", "a", "--config-file", writeStackFile(mesh), "--out", out, "--quiet").code, 0);
  assert.ok(fs.existsSync(path.join(out, "nodes", "tycho", "scripts", "bootstrap.sh")));
  // Files the new plan does not change keep their modification time; one it changes is rewritten.
  const untouched = path.join(out, "nodes", "oracle", "units", "optimalos.service");
  const changed = path.join(out, "inventory.json");
  const old = new Date("2020-01-01T00:00:00Z");
  for (const f of [untouched, changed]) fs.utimesSync(f, old, old);
  const again = runPlan("--stack", "a", "--config-file", writeStackFile(prodMesh()), "--out", out, "--quiet");
  assert.equal(again.code, 0, again.stderr);
  assert.equal(fs.existsSync(path.join(out, "nodes", "tycho")), false);
  assert.equal(fs.statSync(untouched).mtimeMs, old.getTime());
  assert.ok(fs.statSync(changed).mtimeMs > old.getTime(), "inventory.json lost tycho, so it is rewritten");
  assert.doesNotMatch(fs.readFileSync(changed, "utf8"), /tycho/);
  const summary = /^Wrote .*: (\d+) files \((\d+) new or changed, (\d+) removed, the rest as they were\)$/m.exec(again.stdout);
  assert.ok(summary, again.stdout);
  const [files, rewritten, removed] = summary.slice(1).map(Number) as [number, number, number];
  assert.ok(rewritten > 0 && rewritten < files / 2, `${rewritten} of ${files} rewritten`);
  assert.ok(removed >= 5, `${removed} of tycho's files removed`);
  const fresh = path.join(tmpDir("fresh"), "out");
  assert.equal(runPlan("--stack", "a", "--config-file", writeStackFile(prodMesh()), "--out", fresh, "--quiet").code, 0);
  assert.deepEqual(readTree(out), readTree(fresh));
});

test("the out directory's list of plan files finds stale files without a walk, and never reaches outside", () => {
  const root = tmpDir("list");
  const out = path.join(root, "out");
  assert.equal(runPlan("--out", out, "--quiet").code, 0);
  // Each line is `sha256<TAB>path`; the paths are what this test follows.
  const pathsOf = (list: string) =>
    list
      .trimEnd()
      .split("\n")
      .map((line) => line.slice(line.indexOf("\t") + 1));
  const listed = pathsOf(fs.readFileSync(path.join(out, ".plan-files"), "utf8"));
  assert.ok(listed.includes("plan.txt") && listed.includes("nodes/oracle/units/optimalos.service"), listed.join(", "));
  assert.ok(!listed.includes(".plan-files"));
  // A file the plan did not write is not its to remove; one the list names and the plan no longer has is.
  fs.writeFileSync(path.join(out, "notes.md"), "mine\n");
  fs.writeFileSync(path.join(out, "nodes", "oracle", "old.sh"), "stale\n");
  fs.writeFileSync(path.join(root, "outside.txt"), "keep\n");
  fs.appendFileSync(path.join(out, ".plan-files"), "nodes/oracle/old.sh\n../outside.txt\n/etc/hostname\n");
  const again = runPlan("--out", out, "--quiet");
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /\(0 new or changed, 1 removed, the rest as they were\)/);
  assert.equal(fs.existsSync(path.join(out, "nodes", "oracle", "old.sh")), false);
  assert.equal(fs.readFileSync(path.join(out, "notes.md"), "utf8"), "mine\n");
  assert.equal(fs.readFileSync(path.join(root, "outside.txt"), "utf8"), "keep\n");
  // Without the list the folder is no longer known to be a plan's (a plan keeps its list while it
  // writes, so only a person removes it): the plan refuses it and deletes nothing, notes.md included.
  fs.rmSync(path.join(out, ".plan-files"));
  const refused = runPlan("--out", out, "--quiet");
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /has files no plan wrote.*choose an empty or new folder/);
  assert.equal(fs.readFileSync(path.join(out, "notes.md"), "utf8"), "mine\n");
  // The fix, a new folder, gets the same list.
  const fresh = path.join(root, "fresh");
  assert.equal(runPlan("--out", fresh, "--quiet").code, 0);
  assert.deepEqual(pathsOf(fs.readFileSync(path.join(fresh, ".plan-files"), "utf8")), listed);
});

test("with a Tailscale OAuth client in the stack, the API key is no stand-in; its secret half is never shown (#18 point 1)", () => {
  const out = path.join(tmpDir("oauth"), "out");
  const r = runPlan(
    "--stack",
    "t",
    "--config-file",
    writeStackFile(prodMesh(), { "tailscale:oauthClientId": "kClient123", "tailscale:oauthClientSecret": { secure: "AAABAGZha2U=" } }),
    "--out",
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /tailscale:apiKey: not set/);
  assert.match(r.stdout, /^ {2}cloudflare:apiToken: not set/m);
});

describe("a stack that imports a Pulumi ESC environment (#18 point 5)", () => {
  const withEnvironment = (config: Record<string, unknown>) => {
    const file = path.join(tmpDir("esc"), "Pulumi.t.yaml");
    fs.writeFileSync(file, `${JSON.stringify({ environment: ["optimal-mesh/prod"], config })}\n`);
    return file;
  };

  test("the plan says which settings may come from the environment it cannot read", () => {
    const r = runPlan("--stack", "t", "--config-file", withEnvironment({ "optimal-mesh:mesh": prodMesh() }), "--out", path.join(tmpDir("out"), "o"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}hcloud:token: not in the stack file; may come from the ESC environment optimal-mesh\/prod, not readable offline/m);
  });

  test("an environment name is a name: one that would break a line of the report is refused", () => {
    const file = path.join(tmpDir("esc"), "Pulumi.t.yaml");
    fs.writeFileSync(file, `${JSON.stringify({ environment: ["prod\nWarning: all clear"], config: { "optimal-mesh:mesh": prodMesh() } })}\n`);
    const r = runPlan("--stack", "t", "--config-file", file, "--out", path.join(tmpDir("out"), "o"));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /environment must list ESC environment names/);
  });

  test("a topology kept in the environment is refused with the file and the fix", () => {
    const r = runPlan("--stack", "t", "--config-file", withEnvironment({}), "--out", path.join(tmpDir("out"), "o"));
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /optimal-mesh:mesh is not in the stack file; it may come from the ESC environment optimal-mesh\/prod, which the offline tools cannot read: keep the topology in the stack file/,
    );
  });
});
