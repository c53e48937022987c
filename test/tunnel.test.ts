// Cloudflare tunnels and DNS as the offline plan registers them.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderIngress } from "../render/cloudflare/ingress";
import type { Registration } from "../offline/evaluate";
import { validateMesh } from "../stacks/validate";
import { adoptedProdMesh, assertProblem, only, planRegistrations, prodMesh } from "./helpers";

const TUNNEL = "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared";
const CONFIG = "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig";
const RECORD = "cloudflare:index/dnsRecord:DnsRecord";

const byType = (rs: readonly Registration[], type: string) => rs.filter((r) => r.type === type);

describe("the plan of prod", () => {
  const resources = planRegistrations(prodMesh());

  test("has two tunnels, one per hosting node, remote-managed and protected", () => {
    const tunnels = byType(resources, TUNNEL);
    assert.deepEqual(tunnels.map((t) => t.name).sort(), ["tunnel-cockpit-tunnel", "tunnel-pi-tunnel"]);
    for (const t of tunnels) {
      assert.equal(t.inputs.configSrc, "cloudflare");
      assert.equal(t.protect, true);
    }
  });

  test("adopts the cockpit's tunnel by its id", () => {
    const cockpit = only(resources, TUNNEL, "tunnel-cockpit-tunnel");
    assert.match(String(cockpit.importId), /\/00633812-46c8-4e70-a001-0b151758c78b$/);
    assert.equal(only(resources, TUNNEL, "tunnel-pi-tunnel").importId, null);
  });

  test("has exactly one config per tunnel, mapping each hostname to its service and ending in a 404", () => {
    const configs = byType(resources, CONFIG);
    assert.equal(configs.length, 2);
    const ingressOf = (name: string) => (only(resources, CONFIG, name).inputs.config as { ingresses: unknown[] }).ingresses;
    assert.deepEqual(ingressOf("tunnel-cockpit-config"), [
      { hostname: "fabric.optimal.miami", service: "http://localhost:3000" },
      { service: "http_status:404" },
    ]);
    assert.deepEqual(ingressOf("tunnel-pi-config"), [{ hostname: "optimal.miami", service: "http://localhost:3000" }, { service: "http_status:404" }]);
    for (const c of configs) assert.equal(c.protect, true);
    assert.deepEqual(only(resources, CONFIG, "tunnel-cockpit-config").inputSources.tunnelId, [only(resources, TUNNEL, "tunnel-cockpit-tunnel").urn]);
  });

  test("routes each hostname with a proxied CNAME to its tunnel", () => {
    const fabric = only(resources, RECORD, "tunnel-cockpit-dns-fabric.optimal.miami");
    assert.equal(fabric.inputs.type, "CNAME");
    assert.equal(fabric.inputs.proxied, true);
    assert.equal(fabric.inputs.name, "fabric.optimal.miami");
    assert.equal(fabric.inputs.content, "00633812-46c8-4e70-a001-0b151758c78b.cfargotunnel.com");
    assert.equal(fabric.protect, true);
    const apex = only(resources, RECORD, "tunnel-pi-dns-optimal.miami");
    assert.deepEqual(apex.inputSources.content, [only(resources, TUNNEL, "tunnel-pi-tunnel").urn]);
    assert.equal(byType(resources, RECORD).length, 2);
  });
});

test("with record and zone ids, existing DNS records are adopted", () => {
  const resources = planRegistrations(adoptedProdMesh());
  assert.equal(
    only(resources, RECORD, "tunnel-cockpit-dns-fabric.optimal.miami").importId,
    "0123456789abcdef0123456789abcdef/fedcba9876543210fedcba9876543210",
  );
  assert.match(String(only(resources, TUNNEL, "tunnel-pi-tunnel").importId), /\/11111111-2222-4333-8444-555555555555$/);
  assert.equal(only(resources, RECORD, "tunnel-pi-dns-optimal.miami").inputs.zoneId, "0123456789abcdef0123456789abcdef");
});

test("a retired tunnel is unprotected, so removing it next is allowed", () => {
  const mesh = prodMesh();
  mesh.tunnels.pi.retire = true;
  const resources = planRegistrations(mesh);
  for (const r of resources.filter((x) => x.name.startsWith("tunnel-pi-") && x.custom)) assert.equal(r.protect, false, r.name);
  assert.equal(only(resources, TUNNEL, "tunnel-cockpit-tunnel").protect, true);
});

test("a path-specific rule keeps its path, and the catch-all stays last", () => {
  const raw = prodMesh();
  raw.tunnels.pi.ingress.unshift({ hostname: "optimal.miami", path: "^/api/system/", service: "http://localhost:3000" });
  const ingress = renderIngress(validateMesh(raw).tunnels.pi!);
  assert.deepEqual(
    ingress.map((r) => r.path ?? r.service),
    ["^/api/system/", "http://localhost:3000", "http_status:404"],
  );
});

describe("validation", () => {
  test("a record id for a hostname the tunnel does not serve", () => {
    const raw = adoptedProdMesh();
    raw.tunnels.pi.dnsRecordIds["www.optimal.miami"] = "ffffffffffffffffffffffffffffffff";
    assertProblem(raw, "mesh.tunnels.pi.dnsRecordIds.www.optimal.miami", /not a hostname of this tunnel/);
  });
  test("adopting records needs the zone id", () => {
    const raw = adoptedProdMesh();
    delete raw.tunnels.pi.zoneId;
    assertProblem(raw, "mesh.tunnels.pi.zoneId", /needs the zone's id/);
  });
  test("record ids have Cloudflare's shape", () => {
    const raw = adoptedProdMesh();
    raw.tunnels.pi.dnsRecordIds["optimal.miami"] = "42";
    assertProblem(raw, "mesh.tunnels.pi.dnsRecordIds.optimal.miami", /32 hex digits/);
  });
});
