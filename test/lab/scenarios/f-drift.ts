// Lab scenario f: drift from the operator's machine: `npm run drift` finds none on the converged lab, names a hand-edited unit, a stopped service and a changed DNS target (exit 1), and the up it prints repairs them.
import * as assert from "node:assert/strict";
import { COCKPIT } from "../../engine/lab-stack";
import { Cloud } from "../../../engine/stand-ins/cloud";
import { changes, explain, type Scenario } from "../run";

export const scenario: Scenario = {
  name: "f drift from the operator's machine: `npm run drift` finds none on the converged lab, names a hand-edited unit, a stopped service and a changed DNS target (exit 1), and the up it prints repairs them",
  run: async (ctx) => {
    const { engine, up, operator, sh, nodes, sessions, ranOn } = ctx;
    const drift = () => operator("drift");
    const clean = await drift();
    assert.equal(clean.code, 0, `${clean.stdout}\n${clean.stderr.slice(-4000)}`);
    assert.match(clean.stdout, /^cloud drift: none \(\d+ resources unchanged\)$/m);
    assert.match(clean.stdout, new RegExp(`^node drift: 0 findings on 0 of ${nodes().length} nodes$`, "m"));
    const pids = { oracle: sh("oracle", "systemctl show -p MainPID --value docs.service").stdout.trim() };

    sh("oracle", "echo '# hand edit' >> /etc/systemd/system/n8n.service");
    sh("pop-os", "systemctl disable --now --quiet ollama.service");
    const cloudflare = new Cloud(engine.cloud, "cloudflare");
    const [recordId, record] = Object.entries(cloudflare.list("dns_records")).find(([, x]) => x.name === "fabric.optimal.miami")!;
    cloudflare.seed("dns_records", recordId, { ...record, content: "attacker.example.net" });
    const found = await drift();
    assert.equal(found.code, 1, `${found.stdout}\n${found.stderr.slice(-4000)}`);
    assert.match(found.stdout, /^ {2}update tunnel-cockpit-dns-fabric\.optimal\.miami \(cloudflare:index\/dnsRecord:DnsRecord\): content$/m);
    assert.match(found.stdout, /^node drift: 2 findings on 2 of \d+ nodes$/m);
    assert.match(found.stdout, /^- oracle:\n {2}- \/etc\/systemd\/system\/n8n\.service: content differs from the deploy$/m);
    assert.match(found.stdout, /^- pop-os:\n {2}- unit ollama: inactive\/disabled \(expected active\/enabled\)$/m);
    const repair = /^repair: pulumi up (.*) --stack lab$/m.exec(found.stdout);
    assert.ok(repair, found.stdout);
    const replace = [...repair[1]!.matchAll(/--replace '([^']+)'/g)].map((m) => m[1]!);
    assert.ok(repair[1]!.startsWith("--refresh "), repair[1]);
    assert.deepEqual(
      replace.map((u) => u.slice(u.lastIndexOf("::") + 2)),
      ["node-oracle-deploy", "node-pop-os-deploy"],
    );

    // The repair as printed: one up with a refresh, each drifted node's deploy replaced.
    const before = sessions();
    const r = await up(ctx.mesh, { refresh: true, replace });
    assert.ok(r.ok, explain(r));
    // The refresh reads every resource; the replacements run delete-before-replace (the remove script, then the deploy).
    assert.deepEqual(
      changes(r)
        .filter((c) => !c.startsWith("refresh "))
        .sort(),
      [
        "create-replacement node-oracle-deploy",
        "create-replacement node-pop-os-deploy",
        "delete-replaced node-oracle-deploy",
        "delete-replaced node-pop-os-deploy",
        "replace node-oracle-deploy",
        "replace node-pop-os-deploy",
        "update tunnel-cockpit-dns-fabric.optimal.miami",
      ],
    );
    const ran = ranOn(before, sessions());
    assert.equal(ran[COCKPIT], 0, "nothing ran on the cockpit");
    assert.equal(cloudflare.get("dns_records", recordId)?.content, record.content, "the record's target is back");
    assert.equal(sh("pop-os", "systemctl is-active ollama.service").stdout.trim(), "active");
    assert.doesNotMatch(sh("oracle", "cat /etc/systemd/system/n8n.service").stdout, /hand edit/);
    assert.notEqual(
      sh("oracle", "systemctl show -p MainPID --value docs.service").stdout.trim(),
      pids.oracle,
      "the replaced deploy restarted oracle's services",
    );
    const again = await drift();
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr.slice(-4000)}`);
    return "3 findings, repaired by one up";
  },
};
