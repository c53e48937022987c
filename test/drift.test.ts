// Node drift as pure functions, and the drift command's contract.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { test } from "node:test";
import { bundleReaderBash, parseBundle, renderBundle } from "../render/node/bundle";
import { compareBundle, nodeDrift, renderNodeDrift, renderRepair, undeployed, type NodeExec } from "../scripts/lib/node-drift";
import { planMesh } from "../plan/mesh-plan";
import { deploysInState } from "../scripts/lib/deploys";
import { validateMesh } from "../stacks/validate";
import { prodMesh, runScript } from "./helpers";

const bundle = renderBundle([
  { path: "/etc/systemd/system/a.service", mode: "0644", unit: "a", secret: false, content: "[Service]\nExecStart=/bin/a\n" },
  { path: "/etc/a.env", mode: "0640", unit: "a", secret: false, content: "HOST=@TAILNET_IPV4@\n" },
]);
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

test("a bundle reads back as it was rendered", () => {
  assert.deepEqual(
    parseBundle(bundle).map((e) => [e.unit, e.mode, e.path, e.content]),
    [
      ["a", "0640", "/etc/a.env", "HOST=@TAILNET_IPV4@\n"],
      ["a", "0644", "/etc/systemd/system/a.service", "[Service]\nExecStart=/bin/a\n"],
    ],
  );
  assert.throws(() => parseBundle("file a 0644 /x eA==\n"), /no end line/);
});

test("content, mode and missing files are told apart; the tailnet address fills the token as deploy does", () => {
  const entries = parseBundle(bundle);
  const ok = `${sha("HOST=100.64.0.9\n")} 640 /etc/a.env\n${sha("[Service]\nExecStart=/bin/a\n")} 644 /etc/systemd/system/a.service\n`;
  assert.deepEqual(compareBundle(entries, ok, "100.64.0.9"), []);
  assert.deepEqual(compareBundle(entries, ok, "100.64.0.8"), [{ path: "/etc/a.env", what: "content" }]);
  assert.deepEqual(compareBundle(entries, ok.replace(" 644 ", " 664 "), "100.64.0.9"), [{ path: "/etc/systemd/system/a.service", what: "mode" }]);
  assert.deepEqual(
    compareBundle(entries, "MISSING - /etc/a.env\n", "100.64.0.9").map((d) => d.what),
    ["missing", "missing"],
  );
});

test("a node that cannot be reached is reported, not passed", () => {
  const down: NodeExec = () => ({ code: 255, stdout: "", stderr: "ssh: connect to host x port 22: Connection refused" });
  const report = renderNodeDrift(nodeDrift([{ node: "x", bundle }], down));
  assert.equal(report.clean, false);
  assert.match(report.text, /- x: not checked: ssh: connect to host x port 22: Connection refused/);
});

test("the repair replaces the deploy of each node that drifted, not of one that could not be checked", () => {
  const exec =
    (observed: string): NodeExec =>
    (node, cmd) => {
      if (node === "down") return { code: 255, stdout: "", stderr: "ssh: connect to host down port 22: Connection refused" };
      if (cmd.startsWith("tailscale ip")) return { code: 0, stdout: "100.64.0.9\n", stderr: "" };
      if (cmd.startsWith("for f in")) return { code: 0, stdout: observed, stderr: "" };
      return { code: 0, stdout: "a active enabled\n", stderr: "" };
    };
  const good = `${sha("HOST=100.64.0.9\n")} 640 /etc/a.env\n${sha("[Service]\nExecStart=/bin/a\n")} 644 /etc/systemd/system/a.service\n`;
  const deploys = ["drifted", "clean", "down"].map((node) => ({ node, bundle, urn: `urn:${node}` }));
  const drifted = renderNodeDrift(nodeDrift(deploys, (node, cmd) => exec(node === "drifted" ? good.replace(" 644 ", " 600 ") : good)(node, cmd)));
  assert.equal(drifted.clean, false);
  assert.deepEqual(drifted.replace, ["urn:drifted"]);
  assert.deepEqual(renderNodeDrift(nodeDrift(deploys.slice(1, 2), exec(good))).replace, []);
});

test("the repair line is one up: --refresh for the cloud, each URN one shell word (its $ not expanded)", () => {
  const urn = "urn:pulumi:prod::optimal-mesh::optimal-mesh:index:Mesh$optimal-mesh:node:NodeHost$command:remote:Command::node-oracle-deploy";
  const line = renderRepair("prod", true, [urn]);
  assert.equal(line, `repair: pulumi up --refresh --replace '${urn}' --stack prod`);
  const words = spawnSync("bash", ["-c", `set -- ${line.slice("repair: ".length)}; printf '%s\\n' "$@"`], { encoding: "utf8" }).stdout.split("\n");
  assert.equal(words[4], urn);
  assert.equal(renderRepair("prod", false, []), "repair: pulumi up --stack prod");
});

test("a node the topology declares but the state holds no deploy for is reported as not checked, and counts as drift", () => {
  const report = renderNodeDrift(undeployed(["oracle", "pop-os"], [{ node: "oracle", bundle: "" }]));
  assert.equal(report.clean, false);
  assert.match(report.text, /^- pop-os: not checked: the stack's state holds no deploy for it: the next `pulumi up` deploys it$/m);
  assert.doesNotMatch(report.text, /oracle/);
  assert.deepEqual(report.replace, [], "nothing to replace: an up creates it");
});

test("npm run drift -- --help documents the command; without the Pulumi CLI it says so and exits 2", () => {
  const help = runScript("drift", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--nodes-only/);
  const noCli = runScript("drift", ["--nodes-only"], { ...process.env, PATH: path.dirname(process.execPath) });
  assert.equal(noCli.code, 2);
  assert.match(noCli.stderr, /needs the Pulumi CLI/);
});

test("the bundle's three readers agree: what the writer writes, the deploy script's bash reader and the drift check's reader both read back", () => {
  const files = [
    { path: "/etc/b.env", mode: "0600" as const, unit: "b", secret: true, content: "X='1'\n" },
    { path: "/etc/a.service", mode: "0644" as const, unit: "a", secret: false, content: "[Unit]\nDescription=a b\n" },
  ];
  const bundle = renderBundle(files);
  assert.deepEqual(
    parseBundle(bundle).map((e) => [e.unit, e.mode, e.path, e.content]),
    [...files].sort((x, y) => x.path.localeCompare(y.path)).map((f) => [f.unit, f.mode, f.path, f.content]),
  );
  const reader = bundleReaderBash();
  const script = [
    'log() { echo "$*" >&2; }',
    "stage=$(mktemp -d)",
    ...reader.lines,
    'for ((i = 0; i < n; i++)); do printf "%s %s %s\\n" "${owners[i]}" "${modes[i]}" "${paths[i]}"; cat "$stage/$i"; done',
  ].join("\n");
  const r = spawnSync("bash", ["-c", script], { input: bundle, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "a 0644 /etc/a.service\n[Unit]\nDescription=a b\nb 0600 /etc/b.env\nX='1'\n");
  assert.notEqual(
    spawnSync("bash", ["-c", script], { input: bundle.replace("end\n", ""), encoding: "utf8" }).status,
    0,
    "a bundle without its end line is refused",
  );
});

test("deploys in a state are found by their names in the plan, their earlier names, and, for a node no longer in the topology, as the node they reach", () => {
  const plan = planMesh(validateMesh(prodMesh()), "prod");
  const deploy = (name: string, host: string) => ({
    urn: `urn:pulumi:prod::optimal-mesh::optimal-mesh:index:Mesh$optimal-mesh:node:NodeHost$command:remote:Command::${name}`,
    type: "command:remote:Command",
    inputs: { stdin: `bundle of ${host}`, connection: { host, port: 22, user: "root" } },
  });
  const found = deploysInState(
    [
      deploy("node-pop-os-deploy", "pop-os"),
      deploy("prod-node-oracle-deploy", "oracle"),
      deploy("node-tycho-deploy", "tycho"),
      deploy("node-tycho-install", "tycho"),
      {
        ...deploy("trust-popos-deploy-client", "oracle"),
        urn: deploy("x", "y").urn.replace("NodeHost", "SshTrust").replace("::x", "::trust-popos-deploy-client"),
      },
    ],
    plan,
  );
  assert.deepEqual(
    found.map((t) => [t.node, t.bundle]),
    [
      ["oracle", "bundle of oracle"],
      ["pop-os", "bundle of pop-os"],
      ["tycho", "bundle of tycho"],
    ],
  );
});
