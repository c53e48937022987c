// Every config value is untrusted input (docs/threat-model.md). Hostile strings go into every
// string field and key of the topology: each is either rejected with its path and fix, or
// rendered inert, checked by the tools that consume the text. The examples that once broke out
// are regression tests by name; the lab runs accepted hostile values on real systemd hosts.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import * as yaml from "js-yaml";
import { localHealthUrl, renderHeartbeatScript, renderInstallScript } from "../render/node/scripts";
import { renderUnit } from "../render/node/units";
import { renderScript } from "../render/shell/script";
import { parseHujson, writeHujson, Commented, type Json } from "../render/tailnet/hujson";
import { accessInput } from "../render/tailnet/intent";
import { grantEntries, renderPolicy } from "../render/tailnet/policy";
import { renderDockerEnvFile, renderEnvFile } from "../render/node/env";
import { renderTrustAuthorizeScript, renderTrustClientScript, renderTrustKeygenScript, renderTrustRevokeScript } from "../render/node/trust-scripts";
import { envFileValue, RenderError, shq, unitCommand, unitValue } from "../text/escape";
import { formatProblems, MeshConfigError, validateMesh } from "../stacks/validate";
import type { MeshSpec } from "../stacks/schema";
import { renderAll, verifyUnits, type Rendered } from "./artifacts";
import { adoptedProdMesh, assertProblem, checkWith, missingTool, problemsOf, prodMesh, runPlan, tmpDir, writeStackFile, type Raw } from "./helpers";
import { namedNode } from "../stacks/schema";

/** A folder whose file `hit` appears only if an injected command ran. */
function markerDir(): { hit: string; ran: () => boolean } {
  const dir = tmpDir("marker");
  const hit = path.join(dir, "hit");
  return { hit, ran: () => fs.existsSync(hit) };
}

/** Payloads that try to end a line, a quote, a comment or a word, or to run `touch HIT`. */
function payloads(hit: string): string[] {
  return [
    `$(touch ${hit})`,
    `\`touch ${hit}\``,
    `'; touch ${hit}; '`,
    `"; touch ${hit}; "`,
    `;touch ${hit}`,
    `\ntouch ${hit}`,
    `\r\n[Service]\nExecStartPre=/usr/bin/touch ${hit}`,
    `\\\nExecStartPre=/usr/bin/touch ${hit}`,
    `x\\`,
    `%n%H%%`,
    `\${PATH}$HOME`,
    "\0",
    "\u2028touch",
    "\ud800",
    "\u202e",
    `#", "action": "accept", "src": ["*"], "dst": ["*:*"]} //`,
    "a".repeat(5000),
  ];
}

/** The prod topology with every optional string field set, so that every string field is there to attack. */
function fullMesh(): Raw {
  const mesh = adoptedProdMesh();
  mesh.nodes.oracle.services.n8n.description = "Workflow automation.";
  mesh.nodes.oracle.services.n8n.user = "carlos";
  mesh.nodes.oracle.optimalos.healthPath = "/health";
  mesh.nodes.oracle.optimalos.package = "optimalos@1.4.2";
  mesh.nodes["pop-os"].tailnet.firstAddress = "192.168.1.20";
  mesh.nodes["hetzner-cockpit"].optimalos.env.FABRIC_NAME = "fabric one";
  mesh.tunnels.pi.name = "optimal-pi";
  mesh.tunnels.cockpit.ingress[0].path = "^/api/.*$";
  mesh.sshTrust["popos-deploy"].fromUser = "carlos";
  mesh.access.admins = ["autogroup:admin", "alice@example.com"];
  mesh.heartbeat = { command: "optimal infra heartbeat --name {node}" };
  return mesh;
}

type Seg = string | number;

/** Every string value and every mapping key of `raw`, with its path ("key" marks the key itself). */
function stringSites(raw: unknown, at: Seg[] = []): { path: Seg[]; key: boolean }[] {
  if (typeof raw === "string") return [{ path: at, key: false }];
  if (Array.isArray(raw)) return raw.flatMap((v, i) => stringSites(v, [...at, i]));
  if (raw === null || typeof raw !== "object") return [];
  return Object.entries(raw).flatMap(([k, v]) => [{ path: [...at, k], key: true }, ...stringSites(v, [...at, k])]);
}

function mutate(raw: Raw, site: { path: Seg[]; key: boolean }, value: (old: string) => string): Raw {
  const copy = structuredClone(raw);
  const parent = site.path.slice(0, -1).reduce((o: Raw, s) => o[s], copy);
  const last = site.path[site.path.length - 1]!;
  if (site.key) {
    // Rename the key, keeping the order of the mapping.
    const entries = Object.entries(parent).map(([k, v]) => [k === last ? value(String(last)) : k, v] as const);
    for (const k of Object.keys(parent)) delete parent[k];
    for (const [k, v] of entries) Object.defineProperty(parent, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else parent[last] = value(String(parent[last]));
  return copy;
}

function parseOrProblems(raw: Raw): { spec: MeshSpec } | { problems: MeshConfigError } {
  try {
    return { spec: validateMesh(raw) };
  } catch (err) {
    if (err instanceof MeshConfigError) return { problems: err };
    throw err;
  }
}

/** The directive keys of a unit file, in order: what a break-out would change. */
const directives = (unit: string) =>
  unit.split("\n").map((l) => (l.startsWith("#") || l === "" ? l.slice(0, 1) : l.startsWith("[") ? l : l.slice(0, l.indexOf("="))));

const BASE = fullMesh();
const BASE_RENDERED = renderAll(validateMesh(BASE));
const BASE_GRANTS = (parseHujson(BASE_RENDERED.policy) as { grants: Json[] }).grants;

/** Asserts `r` has the shape of the baseline: the same files, units with the same directives, env files with the same lines, the same rules. */
function assertSameShape(r: Rendered, what: string): void {
  assert.deepEqual(Object.keys(r.scripts).sort(), Object.keys(BASE_RENDERED.scripts).sort(), what);
  for (const u of r.units) {
    const base = BASE_RENDERED.units.find((b) => b.node === u.node && b.unit.name === u.unit.name);
    assert.ok(base, `${what}: unit ${u.node}/${u.unit.name} exists in the baseline`);
    assert.deepEqual(directives(u.text), directives(base.text), `${what}: ${u.node}/${u.unit.name}.service keeps its directives`);
    assert.ok(!/\\$/m.test(u.text), `${what}: no line of ${u.unit.name}.service ends in a backslash`);
  }
  for (const [file, text] of Object.entries(r.files)) {
    const base = BASE_RENDERED.files[file];
    assert.ok(base !== undefined, `${what}: ${file} exists in the baseline`);
    assert.equal(text.split("\n").length, base.split("\n").length, `${what}: ${file} keeps its lines`);
  }
  const grants = (parseHujson(r.policy) as { grants: { src: string[]; dst: string[]; ip: string[] }[] }).grants;
  assert.equal(grants.length, BASE_GRANTS.length, `${what}: the policy keeps its rules`);
  for (const a of grants) assert.ok(!a.src.includes("*") && !a.dst.includes("*") && !a.ip.includes("*"), `${what}: no rule allows everything`);
  if (r.cloudInit !== undefined) {
    const doc = yaml.load(r.cloudInit) as { write_files: { path: string }[]; runcmd: string[] };
    const base = yaml.load(BASE_RENDERED.cloudInit!) as { write_files: { path: string }[]; runcmd: string[] };
    assert.deepEqual(
      doc.write_files.map((f) => f.path),
      base.write_files.map((f) => f.path),
      `${what}: cloud-init writes the same files`,
    );
    assert.deepEqual(doc.runcmd, base.runcmd, `${what}: cloud-init runs the same commands`);
  }
}

/** `bash -n` of every script that differs from the baseline. */
function assertScriptsParse(r: Rendered, what: string): void {
  for (const [name, text] of Object.entries(r.scripts)) {
    if (text === BASE_RENDERED.scripts[name]) continue;
    const check = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
    assert.equal(check.status, 0, `${what}: ${name} parses: ${check.stderr}`);
  }
}

describe("every string field and key, attacked", () => {
  const { hit, ran } = markerDir();
  const sites = stringSites(BASE);
  const shapes: ((old: string) => string)[] = [(old) => old, (old) => `${old} `, (old) => old.slice(0, 1)];
  const attacks = payloads(hit);

  test("the attacked topology is valid as written, and the baseline renders", () => {
    assert.deepEqual(problemsOf(BASE), []);
    assert.ok(sites.length > 80, `${sites.length} places to attack`);
  });

  test("each hostile value is rejected with its path and fix, or renders with every file's shape intact", () => {
    let rejected = 0;
    let accepted = 0;
    fc.assert(
      fc.property(fc.nat(sites.length - 1), fc.nat(attacks.length - 1), fc.nat(shapes.length - 1), fc.boolean(), (s, a, k, before) => {
        const site = sites[s]!;
        const payload = attacks[a]!;
        const raw = mutate(BASE, site, (old) => (before ? `${payload}${shapes[k]!(old)}` : `${shapes[k]!(old)}${payload}`));
        const what = `${site.key ? "key" : "value"} at ${site.path.join(".")} with ${JSON.stringify(payload.slice(0, 40))}`;
        const outcome = parseOrProblems(raw);
        if ("problems" in outcome) {
          rejected++;
          const report = outcome.problems.message.split("\n");
          assert.equal(report.length, 1 + 2 * outcome.problems.problems.length, `${what}: the report keeps one line per fact`);
          for (const p of outcome.problems.problems) {
            assert.ok(p.path.startsWith("mesh"), `${what}: ${p.path}`);
            assert.ok(p.fix.length > 0, `${what}: a fix`);
          }
          return;
        }
        accepted++;
        let rendered: Rendered;
        try {
          rendered = renderAll(outcome.spec);
        } catch (err) {
          assert.fail(`${what}: validation accepted a value the renderers refuse: ${(err as Error).message}`);
        }
        assertSameShape(rendered, what);
        assertScriptsParse(rendered, what);
      }),
      { numRuns: 600, seed: 13 },
    );
    assert.ok(rejected > 0 && accepted > 0, `both outcomes seen: ${rejected} rejected, ${accepted} accepted`);
    assert.equal(ran(), false, "no injected command ran");
  });

  test("a hole's marker in any key or value is refused at exactly that field: the plan would write a secret where it stands", () => {
    const markers = ["@@hole.authKey@@", "@@hole.tunnelToken@@", "@@hole.address@@", "@@hole.future9@@"];
    let refused = 0;
    for (const [i, site] of sites.entries()) {
      const marker = markers[i % markers.length]!;
      const inserted = (old: string) => `${old.slice(0, 1)}${marker}${old.slice(1)}`;
      const outcome = parseOrProblems(mutate(BASE, site, inserted));
      const what = `${site.key ? "key" : "value"} at ${site.path.join(".")}`;
      assert.ok("problems" in outcome, `${what} with ${marker} is refused`);
      const at = [...site.path.slice(0, -1), site.key ? inserted(String(site.path.at(-1))) : site.path.at(-1)!];
      const expected = `mesh${at.map((s) => (typeof s === "number" ? `[${s}]` : `.${s}`)).join("")}`;
      const hit = outcome.problems.problems.find((p) => p.path === expected && p.message.includes(`holds "${marker}"`));
      assert.ok(hit, `${what}: a problem at ${expected} names the marker; got ${outcome.problems.problems.map((p) => p.path).join(", ")}`);
      assert.match(hit.fix, /remove that text/);
      refused++;
    }
    assert.equal(refused, sites.length);
    // Text like a marker but not one is data, as before: a value may say "@@hole.authKey" or "@@ hole.x @@".
    const near = mutate(BASE, { path: ["nodes", "hetzner-cockpit", "optimalos", "env", "FABRIC_NAME"], key: false }, () => "@@hole.authKey and @@ hole.x @@");
    assert.deepEqual(problemsOf(near), []);
  });

  test(
    "accepted hostile topologies pass systemd-analyze verify, shellcheck and cloud-init schema",
    { skip: missingTool("systemd-analyze") ?? missingTool("shellcheck") ?? missingTool("cloud-init") },
    () => {
      // Only the fields that take free text are attacked here: the ones whose renderers must escape.
      const freeText = sites.filter((s) => !s.key && /\b(env|description|model|exec)\b/.test(s.path.join(" ")));
      assert.ok(freeText.length >= 8, `${freeText.length} free-text fields`);
      const hostile = [`$(touch ${hit}) \`touch ${hit}\` %n %% "q" 'q' # \${PATH}`, `'"; touch ${hit}; echo "'`, `|&>*?!()`];
      let checked = 0;
      for (const site of freeText) {
        for (const h of hostile) {
          const outcome = parseOrProblems(mutate(BASE, site, (old) => `${old} ${h}`));
          if ("problems" in outcome) continue;
          checked++;
          const r = renderAll(outcome.spec);
          assertSameShape(r, site.path.join("."));
          const node = String(site.path[1]);
          const units = r.units.filter((u) => u.node === node).map((u) => u.unit);
          if (units.length > 0) {
            const v = verifyUnits(units);
            assert.equal(v.code, 0, `${site.path.join(".")}: ${v.output}`);
            assert.equal(v.output, "", `${site.path.join(".")}: systemd-analyze says nothing`);
          }
          for (const [name, text] of Object.entries(r.scripts)) {
            if (text === BASE_RENDERED.scripts[name]) continue;
            const sc = checkWith("shellcheck", ["--shell=bash", "--severity=style"], path.basename(name), text);
            assert.equal(sc.code, 0, `${site.path.join(".")}: ${name}: ${sc.output}`);
          }
          if (r.cloudInit !== BASE_RENDERED.cloudInit) {
            const ci = checkWith("cloud-init", ["schema", "--config-file"], "user-data.yaml", r.cloudInit!);
            assert.equal(ci.code, 0, `${site.path.join(".")}: ${ci.output}`);
          }
        }
      }
      assert.ok(checked >= 10, `${checked} hostile topologies accepted and checked`);
      assert.equal(ran(), false, "no injected command ran");
    },
  );
});

describe("each escape, read back by its consumer", () => {
  const printable = fc.string({ unit: "grapheme", maxLength: 60 }).filter((s) => !/[\0\p{Cs}]/u.test(s));

  test("a shell word comes back from bash byte for byte, and nothing in it runs", () => {
    const { hit, ran } = markerDir();
    const words = fc.sample(fc.oneof(printable, fc.constantFrom(...payloads(hit).filter((p) => !/[\0\p{Cs}]/u.test(p)))), { numRuns: 300, seed: 13 });
    const r = spawnSync("bash", ["-c", `printf '%s\\0' ${words.map(shq).join(" ")}`], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\0").slice(0, -1), words);
    assert.equal(ran(), false);
  });

  test("a script's purpose and step titles stay comments, whatever they hold", () => {
    const { hit, ran } = markerDir();
    for (const text of payloads(hit)) {
      const script = renderScript(text, [{ title: text, body: "echo ok" }]);
      const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "ok\n", JSON.stringify(text));
    }
    assert.equal(ran(), false);
  });

  test("an env-file value reads back through bash as written (systemd is checked in the lab)", () => {
    const { hit, ran } = markerDir();
    const values = fc
      .sample(fc.oneof(printable, fc.constantFrom(...payloads(hit).filter((p) => !/[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]/u.test(p)))), { numRuns: 200, seed: 13 })
      .filter((v) => !/[\p{Cc}\p{Zl}\p{Zp}]/u.test(v));
    const file = path.join(tmpDir("env"), "values.env");
    fs.writeFileSync(file, `${values.map((v, i) => `V${i}=${envFileValue(v)}`).join("\n")}\n`);
    const r = spawnSync("bash", ["-c", `set -a; . ${file}; for ((i = 0; i < ${values.length}; i++)); do n=V$i; printf '%s\\0' "\${!n}"; done`], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\0").slice(0, -1), values);
    assert.equal(ran(), false);
  });

  test("unit values and command lines: one line each, specifiers doubled, breaks refused", () => {
    assert.equal(unitValue("50% of %n"), "50%% of %%n");
    assert.equal(unitCommand("/usr/bin/x $HOME 100% a\\b"), "/usr/bin/x $$HOME 100%% a\\\\b");
    for (const bad of ["a\nb", "a\rb", "a\\", "a\u2028b", " a", "a "]) assert.throws(() => unitValue(bad), RenderError, JSON.stringify(bad));
    assert.throws(() => unitCommand("/bin/x\n[Service]"), RenderError);
  });

  test("an environment name reaches env files and exports only as UPPER_SNAKE_CASE, in each of the three renderers", () => {
    for (const bad of ["a", "A B", "A=B", "A\nB", "1A", "A-B", ""]) {
      assert.throws(() => renderEnvFile("t", [[bad, "v"]]), RenderError, JSON.stringify(bad));
      assert.throws(() => renderDockerEnvFile("t", [[bad, "v"]]), RenderError, JSON.stringify(bad));
    }
    assert.match(renderEnvFile("t", [["GOOD_NAME", "v"]]), /^GOOD_NAME=v$/m);
  });

  test("an SSH trust key goes into its scripts bare (quoted shell, awk -v, case patterns) only as a DNS label; anything else is refused", () => {
    for (const bad of ['a"b', "a\\b", "a$(id)", "a*", "A", "a b", ""]) {
      assert.throws(() => renderTrustKeygenScript(bad, "carlos"), RenderError, JSON.stringify(bad));
      assert.throws(() => renderTrustAuthorizeScript(bad, "carlos"), RenderError, JSON.stringify(bad));
      assert.throws(() => renderTrustRevokeScript(bad, "carlos"), RenderError, JSON.stringify(bad));
      assert.throws(
        () => renderTrustClientScript({ keyName: bad, user: "u", alias: "a", host: "h", targetUser: "t", hostKey: "ssh-ed25519 AAAA" }),
        RenderError,
        JSON.stringify(bad),
      );
    }
    assert.match(renderTrustKeygenScript("popos-deploy", "carlos"), /id_popos-deploy/);
  });

  test("a policy comment never ends early: the rules are exactly the ones written", () => {
    const doc = {
      acls: [new Commented(`x\n}, {"action": "accept", "src": ["*"], "dst": ["*:*"]}, {"//": "`, { action: "accept", src: ["tag:a"], dst: ["tag:b:1"] })],
    };
    assert.deepEqual(parseHujson(writeHujson(["header\nline"], doc)), { acls: [{ action: "accept", src: ["tag:a"], dst: ["tag:b:1"] }] });
  });
});

describe("regressions: the examples that once broke out", () => {
  test("a flow name holding a newline and a JSON rule is rejected by name; the policy writer keeps such text a comment", () => {
    const raw = prodMesh();
    const evil = 'x\n}, {"action": "accept", "src": ["*"], "dst": ["*:*"]}, {"//": "';
    raw.access.flows[evil] = { from: ["oracle"], to: ["pop-os"], service: "ollama" };
    assertProblem(raw, `mesh.access.flows.${evil}`, /flow name/);
    // Past validation (a spec built by hand), the rendered policy still has exactly the intent's rules.
    const spec = validateMesh(prodMesh());
    spec.access.flows[evil] = { from: ["oracle"], to: ["pop-os"], service: "ollama", reply: false };
    const access = accessInput(spec);
    const grants = (parseHujson(renderPolicy(access, { stack: "t" })) as { grants: { src: string[] }[] }).grants;
    assert.equal(grants.length, access.grants.flatMap((g) => grantEntries(access, g)).length);
    assert.ok(grants.every((a) => !a.src.includes("*")));
  });

  test("optimalos.healthPath with $(...) is rejected; past validation it is one quoted word that bash does not run", () => {
    const raw = prodMesh();
    raw.nodes.oracle.optimalos.healthPath = "/health$(touch${IFS}/tmp/x)";
    assertProblem(raw, "mesh.nodes.oracle.optimalos.healthPath", /absolute URL path/);
    const { hit, ran } = markerDir();
    const spec = validateMesh(prodMesh());
    spec.nodes.oracle.optimalos.healthPath = `/health$(touch ${hit})`;
    const r = spawnSync("bash", ["-c", `addr=x; printf '%s' ${localHealthUrl(namedNode(spec, "oracle"))}`], { encoding: "utf8" });
    assert.equal(r.stdout, `http://127.0.0.1:3000/health$(touch ${hit})`);
    assert.equal(ran(), false);
  });

  test("optimalos.package with a newline is rejected; past validation the install script keeps it in comments and quotes", () => {
    const raw = prodMesh();
    raw.nodes.oracle.optimalos.package = "optimalos\ntouch /tmp/x";
    assertProblem(raw, "mesh.nodes.oracle.optimalos.package", /npm package name/);
    const spec = validateMesh(prodMesh());
    spec.nodes.oracle.optimalos.package = "optimalos\ntouch /tmp/om-x";
    const script = renderInstallScript(namedNode(spec, "oracle"));
    // Where the value appears: escaped in a comment, or inside one single-quoted word.
    const rest = script
      .replaceAll("optimalos\\u000atouch /tmp/om-x", "")
      .replaceAll("'optimalos\ntouch /tmp/om-x'", "")
      .replaceAll("'installing OptimalOS from optimalos\ntouch /tmp/om-x'", "");
    assert.ok(!rest.includes("touch /tmp/om-x"), script);
    assert.equal(spawnSync("bash", ["-n"], { input: script }).status, 0);
  });

  test("a newline in a description, a CR in exec and a trailing backslash are rejected; the unit renderer refuses them too", () => {
    const cases: [string[], string, RegExp][] = [
      [["nodes", "oracle", "services", "n8n", "description"], "n8n\n[Service]\nExecStartPre=/bin/touch /tmp/x", /one line/],
      [["nodes", "oracle", "services", "strapi", "exec"], "/usr/bin/npm run start\r[Service]\rExecStartPre=/bin/touch /tmp/x", /absolute program path/],
      [["nodes", "oracle", "services", "n8n", "description"], "n8n \\", /backslash/],
      // systemd strips spaces at either end of a value: the text it would show is not the one declared.
      [["nodes", "oracle", "services", "n8n", "description"], "  n8n  ", /not starting or ending with a space/],
      [["nodes", "oracle", "services", "strapi", "exec"], "/usr/bin/npm run start \\", /absolute program path/],
      [["nodes", "oracle", "services", "strapi", "workingDirectory"], "/srv/strapi\\", /absolute path/],
    ];
    for (const [at, value, message] of cases) {
      const raw = prodMesh();
      at.slice(0, -1).reduce((o: Raw, s) => o[s], raw)[at[at.length - 1]!] = value;
      assertProblem(raw, `mesh.${at.join(".")}`, message);
    }
    const unit = { name: "x", description: "x\n[Service]", execStart: "/bin/true", environmentFiles: [], requires: [] };
    assert.throws(() => renderUnit(unit), RenderError);
    assert.throws(() => renderUnit({ ...unit, description: "x", workingDirectory: "/srv\\" }), RenderError);
  });

  test("optimalos.env.PATH (and other loader variables) are rejected; no root script sources an env file", () => {
    for (const name of ["PATH", "LD_PRELOAD", "NODE_OPTIONS", "BASH_ENV"]) {
      const raw = prodMesh();
      raw.nodes.oracle.optimalos.env = { [name]: "/tmp/evil" };
      assertProblem(raw, `mesh.nodes.oracle.optimalos.env.${name}`, /root process/);
    }
    const spec = validateMesh(fullMesh());
    const r = renderAll(spec);
    for (const [name, text] of Object.entries({ ...r.scripts, "cloud-init": r.cloudInit! })) {
      assert.ok(!/^\s*(?:\.|source)\s/m.test(text.replace(/^\s*\. \/etc\/os-release$/gm, "")), `${name} sources nothing but /etc/os-release`);
    }
    assert.match(renderHeartbeatScript(spec.heartbeat, namedNode(spec, "oracle")), /^export PATH=\/opt\/bun\/bin:\/usr\/local\/sbin:/m);
  });

  test("__proto__ and other Object.prototype names as node, flow, tunnel and trust keys are reported by name", () => {
    for (const [section, key] of [
      ["nodes", "__proto__"],
      ["access.flows", "__proto__"],
      ["tunnels", "constructor"],
      ["sshTrust", "__proto__"],
    ] as const) {
      const raw = JSON.parse(
        JSON.stringify(prodMesh()).replace(
          section === "nodes" ? '"nodes":{' : section === "access.flows" ? '"flows":{' : `"${section}":{`,
          (m) => `${m}"${key}":{"x":1},`,
        ),
      );
      assertProblem(raw, `mesh.${section}.${key}`, /cannot be used as a key/);
    }
  });

  test("wrong types are reported as wrong types with the full mesh. path", () => {
    const raw = prodMesh();
    raw.nodes.oracle.optimalos.port = "3000";
    raw.nodes["pop-os"].capabilities = "gpu";
    const port = assertProblem(raw, "mesh.nodes.oracle.optimalos.port", /must be a number, not a string \("3000"\)/);
    assert.match(port.fix, /mesh\.nodes\.oracle\.optimalos\.port/);
    assertProblem(raw, "mesh.nodes.pop-os.capabilities", /must be a list, not a string/);
    assertProblem([prodMesh()], "mesh", /must be a mapping, not a list/);
    assertProblem("nodes", "mesh", /must be a mapping, not a string/);
  });

  test("an ingress path that is not a regular expression cloudflared takes is rejected", () => {
    for (const [p, message] of [
      ["(unclosed", /not a valid regular expression/],
      ["^/(?=a)", /lookahead/],
      ["(a)\\1", /back-references/],
    ] as const) {
      const raw = prodMesh();
      raw.tunnels.cockpit.ingress[0].path = p;
      assertProblem(raw, "mesh.tunnels.cockpit.ingress[0].path", message);
    }
  });

  describe("through npm run plan: unreadable files exit 2 naming the file, config problems exit 1, never 'the program failed'", () => {
    const noTrace = (out: string) => assert.ok(!/\n\s+at /.test(out) && !/the program failed/.test(out), out);

    test("a YAML alias bomb is refused quickly", () => {
      const lines = ["config:", "  a0: &a0 [x, x, x, x, x, x, x, x, x]"];
      for (let i = 1; i <= 9; i++)
        lines.push(
          `  a${i}: &a${i} [${Array(9)
            .fill(`*a${i - 1}`)
            .join(", ")}]`,
        );
      lines.push("  optimal-mesh:mesh: {nodes: *a9}");
      const file = path.join(tmpDir("bomb"), "Pulumi.t.yaml");
      fs.writeFileSync(file, `${lines.join("\n")}\n`);
      const t0 = Date.now();
      const r = runPlan("--stack", "t", "--config-file", file, "--out", path.join(tmpDir("out"), "o"));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /expands to more than 200000 values/);
      assert.ok(Date.now() - t0 < 20_000, "refused in seconds");
      noTrace(r.stderr);
    });

    test("invalid UTF-8 is refused with its offset, not written out as U+FFFD", () => {
      const file = path.join(tmpDir("utf8"), "Pulumi.t.yaml");
      fs.writeFileSync(file, Buffer.concat([Buffer.from('config:\n  optimal-mesh:mesh:\n    nodes: {a: "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
      const r = runPlan("--stack", "t", "--config-file", file, "--out", path.join(tmpDir("out"), "o"));
      assert.equal(r.code, 2);
      assert.match(r.stderr, /is not valid UTF-8 \(first bad byte at offset 45\)/);
      noTrace(r.stderr);
    });

    test("a mesh that is a string, an encrypted mesh and a tunnel key with a space", () => {
      const out = path.join(tmpDir("out"), "o");
      const asString = runPlan("--stack", "t", "--config-file", writeStackFile("just a string"), "--out", out);
      assert.equal(asString.code, 1);
      assert.match(asString.stderr, /- mesh: must be a mapping, not a string/);
      noTrace(asString.stderr);
      const encrypted = runPlan("--stack", "t", "--config-file", writeStackFile({ secure: "AAABAGZha2U=" }), "--out", out);
      assert.equal(encrypted.code, 2);
      assert.match(encrypted.stderr, /optimal-mesh:mesh is encrypted .*write the topology in plain text/);
      noTrace(encrypted.stderr);
      const mesh = prodMesh();
      mesh.tunnels["my tunnel"] = mesh.tunnels.pi;
      delete mesh.tunnels.pi;
      const spaced = runPlan("--stack", "t", "--config-file", writeStackFile(mesh), "--out", out);
      assert.equal(spaced.code, 1);
      assert.match(spaced.stderr, /- mesh\.tunnels\.my tunnel: tunnel name "my tunnel" cannot name its resources/);
      noTrace(spaced.stderr);
      assert.equal(fs.existsSync(out), false, "a failed plan writes nothing");
    });

    test("a secret setting written in plain text is planned with a warning to rotate and encrypt it", () => {
      const out = path.join(tmpDir("out"), "o");
      const r = runPlan("--stack", "t", "--config-file", writeStackFile(adoptedProdMesh(), { "hcloud:token": "plain-token-value" }), "--out", out);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /Warning: secret settings written in plain text in the stack file: 1\n {2}hcloud:token: rotate it .*pulumi config set --secret hcloud:token/,
      );
      assert.match(r.stderr, /^plan: warning: secret setting written in plain text in the stack file: hcloud:token; rotate/m);
      assert.ok(!fs.readFileSync(path.join(out, "plan.txt"), "utf8").includes("plain-token-value"), "the value itself is never printed");
    });
  });

  test("the problem report shows a hostile key escaped, one line per fact", () => {
    const report = formatProblems([{ path: "mesh.access.flows.a\nb", message: "m\r", fix: "f\u2028" }]);
    assert.deepEqual(report.split("\n").slice(1), ["  - mesh.access.flows.a\\u000ab: m\\u000d", "      fix: f\\u2028"]);
  });
});
