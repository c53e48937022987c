// Every topology rule: the prod stack passes it, and a minimal mutation of prod breaks it with a
// problem at the right config path.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SERVICE_CATALOG } from "../stacks/catalog";
import { GRAMMAR } from "../stacks/grammar";
import { validateMesh } from "../stacks/validate";
import { assertProblem, assertValid, problemsOf, prodMesh } from "./helpers";

describe("the prod topology", () => {
  test("is valid and carries the seed's facts", () => {
    const spec = validateMesh(prodMesh());
    assert.deepEqual(Object.keys(spec.nodes).sort(), ["hetzner-cockpit", "oracle", "pop-os"]);
    assert.equal(spec.nodes.oracle!.role, "hub");
    assert.equal(spec.nodes.oracle!.tailnet.address, "100.94.77.114");
    assert.equal(spec.nodes["hetzner-cockpit"]!.publicAddress, "178.156.203.234");
    assert.equal(spec.nodes["hetzner-cockpit"]!.optimalos.env.DEPLOYMENT, "hetzner-cloud");
    assert.equal(spec.tunnels.cockpit!.adoptId, "00633812-46c8-4e70-a001-0b151758c78b");
    assert.deepEqual(spec.tunnels.cockpit!.ingress, [{ hostname: "fabric.optimal.miami", service: "http://localhost:3000" }]);
    assert.equal(spec.tunnels.pi!.ingress[0]!.hostname, "optimal.miami");
    assert.deepEqual(spec.sshTrust["popos-deploy"], { from: "oracle", to: "pop-os", toUser: "carlos", hostAlias: "pop-os" });
    assert.equal(spec.hetzner!.serverType, "ccx13");
  });
});

describe("node names", () => {
  test("must be DNS labels", () => {
    const raw = prodMesh();
    raw.nodes.Pop_OS = raw.nodes["pop-os"];
    delete raw.nodes["pop-os"];
    raw.access.flows.loom.from = ["oracle", "hetzner-cockpit"];
    raw.access.flows.loom.to = ["oracle", "hetzner-cockpit"];
    raw.access.flows.llm.to = ["Pop_OS"];
    raw.sshTrust["popos-deploy"].to = "Pop_OS";
    assertProblem(raw, "mesh.nodes.Pop_OS", /not a valid DNS label/);
  });
  test("are unique as machine names, which ignore case", () => {
    const raw = prodMesh();
    raw.nodes.ORACLE = structuredClone(raw.nodes.oracle);
    raw.nodes.ORACLE.role = "worker";
    assertProblem(raw, "mesh.nodes.ORACLE", /same machine name as "oracle"/);
  });
  test("an empty node set is rejected", () => {
    const raw = prodMesh();
    raw.nodes = {};
    assertProblem(raw, "mesh.nodes", /at least one node/);
  });
});

describe("hub lease", () => {
  test("two hubs name both nodes", () => {
    const raw = prodMesh();
    raw.nodes["pop-os"].role = "hub";
    assertProblem(raw, "mesh.nodes.oracle.role", /2 nodes have role: hub/);
    assertProblem(raw, "mesh.nodes.pop-os.role", /2 nodes have role: hub/);
  });
  test("no hub is reported", () => {
    const raw = prodMesh();
    raw.nodes.oracle.role = "worker";
    assertProblem(raw, "mesh.nodes", /no node has role: hub/);
  });
  test("an unknown role is rejected", () => {
    const raw = prodMesh();
    raw.nodes.oracle.role = "leader";
    assertProblem(raw, "mesh.nodes.oracle.role", /hub|worker/);
  });
});

describe("unknown keys", () => {
  test("a misspelled key is rejected with the likely fix", () => {
    const raw = prodMesh();
    raw.nodes.oracle.servces = raw.nodes.oracle.services;
    const p = assertProblem(raw, "mesh.nodes.oracle.servces", /unknown key/);
    assert.match(p.fix, /did you mean "services"/);
  });
  test("at every depth, including the top level and list items", () => {
    const raw = prodMesh();
    raw.tunnel = {};
    raw.tunnels.cockpit.ingress[0].hostnme = "x.optimal.miami";
    assertProblem(raw, "mesh.tunnel", /unknown key/);
    assertProblem(raw, "mesh.tunnels.cockpit.ingress[0].hostnme", /unknown key/);
  });
  test("do not hide the cross-field problems", () => {
    const raw = prodMesh();
    raw.nodes.oracle.rol = "hub";
    raw.nodes["pop-os"].role = "hub";
    const paths = problemsOf(raw).map((p) => p.path);
    assert.ok(paths.includes("mesh.nodes.oracle.rol"));
    assert.ok(paths.includes("mesh.nodes.pop-os.role"));
  });
});

describe("ports", () => {
  for (const bad of [0, 65536, 3000.5, "3000"]) {
    test(`${JSON.stringify(bad)} is not a port`, () => {
      const raw = prodMesh();
      raw.nodes.oracle.services.n8n.port = bad;
      assertProblem(raw, "mesh.nodes.oracle.services.n8n.port", /./);
    });
  }
  test("two services on one port clash", () => {
    const raw = prodMesh();
    raw.nodes.oracle.services.strapi.port = 5678;
    assertProblem(raw, "mesh.nodes.oracle.services.strapi.port", /already used by n8n/);
  });
  test("nothing takes the SSH port", () => {
    const raw = prodMesh();
    raw.nodes.oracle.services.n8n.port = 22;
    assertProblem(raw, "mesh.nodes.oracle.services.n8n.port", /already used by ssh/);
    raw.nodes.oracle.services.n8n.port = 5678;
    raw.nodes.oracle.optimalos.port = 22;
    assertProblem(raw, "mesh.nodes.oracle.optimalos.port", /SSH port/);
  });
  test("a service cannot take OptimalOS's port", () => {
    const raw = prodMesh();
    raw.nodes.oracle.services.n8n.port = 3000;
    assertProblem(raw, "mesh.nodes.oracle.services.n8n.port", /already used by optimalos/);
  });
});

describe("capabilities", () => {
  test("cannot take a name the policy uses for roles, nodes or devices", () => {
    for (const cap of ["hub", "cockpit", "ci", "fabric-device", "node-oracle"]) {
      const raw = prodMesh();
      raw.nodes["pop-os"].capabilities = ["gpu", cap];
      assertProblem(raw, "mesh.nodes.pop-os.capabilities[1]", new RegExp(`capability "${cap}" would reuse the tag`));
    }
  });
  test("ollama needs gpu", () => {
    const raw = prodMesh();
    raw.nodes.oracle.services.ollama = { port: 11434 };
    assertProblem(raw, "mesh.nodes.oracle.services.ollama", /needs capability gpu/);
  });
  test("a declared requirement is enforced too", () => {
    const raw = prodMesh();
    raw.nodes.oracle.services.n8n.requires = ["tpu"];
    assertProblem(raw, "mesh.nodes.oracle.services.n8n", /needs capability tpu/);
    raw.nodes.oracle.capabilities = ["tpu"];
    assertValid(raw);
  });
});

describe("where OptimalOS binds", () => {
  test("a node with a public address never binds publicly", () => {
    const raw = prodMesh();
    raw.nodes["hetzner-cockpit"].optimalos.bind = "all";
    delete raw.nodes["hetzner-cockpit"].optimalos.tailscaleServe;
    assertProblem(raw, "mesh.nodes.hetzner-cockpit.optimalos.bind", /public address .* exposing :3000 publicly/);
  });
  test("a node without one may bind all", () => {
    const raw = prodMesh();
    assert.equal(raw.nodes.oracle.optimalos.bind, "all");
    assertValid(raw);
  });
  test("loopback only is unreachable for peers", () => {
    const raw = prodMesh();
    raw.nodes["pop-os"].optimalos.bind = "loopback";
    assertProblem(raw, "mesh.nodes.pop-os.optimalos.bind", /peers cannot reach it/);
    raw.nodes["pop-os"].optimalos.tailscaleServe = true;
    assertValid(raw);
  });
  test("tailscaleServe needs a loopback bind", () => {
    const raw = prodMesh();
    raw.nodes["pop-os"].optimalos.tailscaleServe = true;
    assertProblem(raw, "mesh.nodes.pop-os.optimalos.tailscaleServe", /binds tailnet/);
  });
  test("OPTIMALOS_HOST and PORT are derived, not set", () => {
    const raw = prodMesh();
    raw.nodes.oracle.optimalos.env = { OPTIMALOS_HOST: "0.0.0.0", PORT: "3001" };
    assertProblem(raw, "mesh.nodes.oracle.optimalos.env.OPTIMALOS_HOST", /derived/);
    assertProblem(raw, "mesh.nodes.oracle.optimalos.env.PORT", /derived/);
  });
  test("env names are UPPER_SNAKE_CASE", () => {
    const raw = prodMesh();
    raw.nodes.oracle.optimalos.env = { "bad-name": "x" };
    assertProblem(raw, "mesh.nodes.oracle.optimalos.env.bad-name", /UPPER_SNAKE_CASE/);
  });
});

describe("tailnet membership", () => {
  test("a recorded address must be a Tailscale address", () => {
    const raw = prodMesh();
    raw.nodes.oracle.tailnet.address = "192.168.1.20";
    assertProblem(raw, "mesh.nodes.oracle.tailnet.address", /not a Tailscale address/);
  });
  test("a node to bootstrap needs an address to reach it first", () => {
    const raw = prodMesh();
    raw.nodes["pop-os"].tailnet.state = "bootstrap";
    assertProblem(raw, "mesh.nodes.pop-os.tailnet.firstAddress", /no address to reach it/);
    raw.nodes["pop-os"].tailnet.firstAddress = "pop-os.lan";
    assertValid(raw);
  });
});

describe("tunnels", () => {
  test("the hosting node must exist", () => {
    const raw = prodMesh();
    raw.tunnels.cockpit.node = "cockpit";
    assertProblem(raw, "mesh.tunnels.cockpit.node", /no node named "cockpit"/);
  });
  test("a node that runs cloudflared must host a tunnel (its connector token comes from one)", () => {
    const raw = prodMesh();
    delete raw.tunnels.pi;
    assertProblem(raw, "mesh.nodes.oracle.services.cloudflared", /oracle runs cloudflared but no tunnel names it as its node/);
  });

  test("the hosting node must run cloudflared", () => {
    const raw = prodMesh();
    delete raw.nodes["hetzner-cockpit"].services.cloudflared;
    assertProblem(raw, "mesh.tunnels.cockpit.node", /does not run cloudflared/);
  });
  test("an ingress target must be a declared port on the hosting node", () => {
    const raw = prodMesh();
    raw.tunnels.cockpit.ingress[0].service = "http://localhost:8080";
    assertProblem(raw, "mesh.tunnels.cockpit.ingress[0].service", /declares nothing on port 8080/);
  });
  test("an ingress target must be on the hosting node itself", () => {
    const raw = prodMesh();
    raw.tunnels.cockpit.ingress[0].service = "http://pop-os:3000";
    assertProblem(raw, "mesh.tunnels.cockpit.ingress[0].service", /not a service on the hosting node/);
  });
  test("cloudflared cannot reach a tailnet-only bind on localhost", () => {
    const raw = prodMesh();
    raw.nodes["hetzner-cockpit"].optimalos.bind = "tailnet";
    delete raw.nodes["hetzner-cockpit"].optimalos.tailscaleServe;
    assertProblem(raw, "mesh.tunnels.cockpit.ingress[0].service", /cannot reach it on localhost/);
  });
  test("no hostname is routed twice", () => {
    const raw = prodMesh();
    raw.tunnels.pi.ingress.push({ hostname: "fabric.optimal.miami", service: "http://localhost:3000" });
    assertProblem(raw, "mesh.tunnels.pi.ingress[1].hostname", /already routed by tunnels.cockpit.ingress\[0\]/);
  });
  test("a hostname lies in the tunnel's zone", () => {
    const raw = prodMesh();
    raw.tunnels.cockpit.ingress[0].hostname = "fabric.example.com";
    assertProblem(raw, "mesh.tunnels.cockpit.ingress[0].hostname", /not in the tunnel's zone optimal.miami/);
  });
  test("an adopted tunnel id is a UUID", () => {
    const raw = prodMesh();
    raw.tunnels.cockpit.adoptId = "cockpit-tunnel";
    assertProblem(raw, "mesh.tunnels.cockpit.adoptId", /UUID/);
  });
});

describe("the Hetzner server", () => {
  test("names an existing node", () => {
    const raw = prodMesh();
    raw.hetzner.node = "fabric";
    assertProblem(raw, "mesh.hetzner.node", /no node named "fabric"/);
  });
  test("a new server needs no public address yet", () => {
    const raw = prodMesh();
    delete raw.nodes["hetzner-cockpit"].publicAddress;
    assertValid(raw);
  });
  test("and is a cloud server", () => {
    const raw = prodMesh();
    raw.nodes["hetzner-cockpit"].machine.kind = "desktop";
    assertProblem(raw, "mesh.nodes.hetzner-cockpit.machine.kind", /machine kind is desktop/);
  });
  test("adoption ids are numeric", () => {
    const raw = prodMesh();
    raw.hetzner.adopt = { serverId: "cockpit" };
    assertProblem(raw, "mesh.hetzner.adopt.serverId", /numeric/);
    // The firewall's id goes into an import option and a printed `pulumi config set` command.
    for (const bad of ["99; rm -rf /", "99\n", "-1", "0x63"]) {
      const hostile = prodMesh();
      hostile.hetzner.adopt = { firewallId: bad };
      assertProblem(hostile, "mesh.hetzner.adopt.firewallId", /numeric/);
    }
  });
});

describe("access flows and SSH trust", () => {
  test("flows name existing nodes", () => {
    const raw = prodMesh();
    raw.access.flows.llm.from = ["oracel"];
    assertProblem(raw, "mesh.access.flows.llm.from[0]", /no node named "oracel"/);
  });
  test("a flow's service runs on its targets", () => {
    const raw = prodMesh();
    raw.access.flows.llm.to = ["hetzner-cockpit"];
    assertProblem(raw, "mesh.access.flows.llm.service", /hetzner-cockpit does not run ollama/);
  });
  test("a flow's service has a port to allow", () => {
    const raw = prodMesh();
    raw.access.flows.tunnel = { from: ["pop-os"], to: ["oracle"], service: "cloudflared" };
    assertProblem(raw, "mesh.access.flows.tunnel.service", /declares no port/);
  });
  test("only OptimalOS flows report back, and never into paired devices", () => {
    const raw = prodMesh();
    raw.access.flows.llm.reply = true;
    assertProblem(raw, "mesh.access.flows.llm.reply", /only OptimalOS reports results back/);
    const other = prodMesh();
    other.access.flows["fabric-devices"].reply = true;
    assertProblem(other, "mesh.access.flows.fabric-devices.reply", /calls back into paired devices/);
  });
  test("trust names existing, distinct nodes", () => {
    const raw = prodMesh();
    raw.sshTrust["popos-deploy"].to = "oracle";
    assertProblem(raw, "mesh.sshTrust.popos-deploy.to", /to itself/);
    raw.sshTrust["popos-deploy"].to = "desktop";
    assertProblem(raw, "mesh.sshTrust.popos-deploy.to", /no node named "desktop"/);
  });
});

describe("services", () => {
  test("need a command, or Docker with an image", () => {
    const raw = prodMesh();
    delete raw.nodes.oracle.services.docs.exec;
    assertProblem(raw, "mesh.nodes.oracle.services.docs.exec", /no command to start/);
    const docker = prodMesh();
    delete docker.nodes.oracle.services.phoenix.image;
    assertProblem(docker, "mesh.nodes.oracle.services.phoenix.image", /names no image/);
    const stray = prodMesh();
    stray.nodes.oracle.services.docs.image = "nginx:1.27";
    assertProblem(stray, "mesh.nodes.oracle.services.docs.docker", /does not run in Docker/);
  });
  test("well-known services have a default command, which the validated topology carries on the service, held to the exec grammar", () => {
    const raw = prodMesh();
    assert.equal(raw.nodes["pop-os"].services.ollama.exec, undefined);
    const spec = validateMesh(raw);
    assert.equal(spec.nodes["pop-os"].services.ollama!.exec, SERVICE_CATALOG.ollama!.exec);
    // A command of the topology's own is kept; a Docker service has none.
    assert.equal(spec.nodes.oracle.services.docs!.exec, raw.nodes.oracle.services.docs.exec);
    assert.equal(spec.nodes.oracle.services.phoenix!.exec, undefined);
    for (const [name, entry] of Object.entries(SERVICE_CATALOG)) {
      if (entry.exec !== undefined) assert.match(entry.exec, GRAMMAR.exec.pattern, `the catalog's ${name} exec`);
    }
  });
  test("a node runs one tunnel connector", () => {
    const raw = prodMesh();
    raw.tunnels.pi2 = { node: "oracle", zone: "optimal.miami", ingress: [{ hostname: "n8n.optimal.miami", service: "http://localhost:5678" }] };
    assertProblem(raw, "mesh.tunnels.pi2.node", /already runs tunnel pi/);
  });
  test("names must work as unit names", () => {
    const raw = prodMesh();
    raw.nodes.oracle.services["Docs Site"] = {};
    assertProblem(raw, "mesh.nodes.oracle.services.Docs Site", /systemd unit name/);
  });
  test("OptimalOS is not a plain service", () => {
    const raw = prodMesh();
    raw.nodes.oracle.services.optimalos = { port: 3001 };
    assertProblem(raw, "mesh.nodes.oracle.services.optimalos", /configured under optimalos/);
  });
});

test("every problem is reported at once", () => {
  const raw = prodMesh();
  raw.nodes["pop-os"].role = "hub";
  raw.nodes.oracle.services.n8n.port = 70000;
  raw.tunnels.cockpit.ingress[0].hostname = "fabric.example.com";
  raw.nodes.oracle.rol = "hub";
  const paths = problemsOf(raw)
    .map((p) => p.path)
    .sort();
  // The port error makes the spec untyped, so only schema problems can be reported alongside it.
  assert.deepEqual(paths, ["mesh.nodes.oracle.rol", "mesh.nodes.oracle.services.n8n.port"]);
  raw.nodes.oracle.services.n8n.port = 5678;
  assert.deepEqual(
    problemsOf(raw)
      .map((p) => p.path)
      .sort(),
    ["mesh.nodes.oracle.rol", "mesh.nodes.oracle.role", "mesh.nodes.pop-os.role", "mesh.tunnels.cockpit.ingress[0].hostname"],
  );
});
