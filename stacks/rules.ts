// Cross-field rules over a schema-valid topology. Each returns every problem it finds, with the
// config path and the fix, so one run reports everything.
import { DNS_LABEL, KEY_NAME } from "./grammar";
import { declaredPorts, PAIRED_DEVICES, requiredCapabilities, SERVICE_CATALOG } from "./catalog";
import { tunnelHostnames, type MeshSpec } from "./schema";

export interface Problem {
  /** Dotted path inside the `mesh` config object, e.g. nodes.oracle.role. */
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

const LOCAL_ORIGIN_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function inTailnetRange(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number);
  return a === 100 && b! >= 64 && b! <= 127;
}

function parseOrigin(origin: string): { host: string; port: number } | undefined {
  try {
    const url = new URL(origin);
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    return { host: url.hostname, port };
  } catch {
    return undefined;
  }
}

/** Records one problem: its path inside the mesh, what is wrong, and the fix. */
type Add = (path: string, message: string, fix: string) => void;

/** Names: Tailscale machine names double as MagicDNS labels and as `target_host` in loom_job_queue. */
function checkNames(spec: MeshSpec, add: Add): void {
  const nodes = spec.nodes;
  const nodeNames = Object.keys(nodes);
  const seen = new Map<string, string>();
  for (const name of nodeNames) {
    if (!DNS_LABEL.test(name)) {
      add(
        `nodes.${name}`,
        `node name "${name}" is not a valid DNS label`,
        "use lowercase letters, digits and inner hyphens (at most 63), exactly as `tailscale status` shows the machine",
      );
    }
    const folded = name.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined)
      add(`nodes.${name}`, `node name "${name}" is the same machine name as "${other}" (names are case-insensitive)`, "give every node a distinct name");
    else seen.set(folded, name);
  }
}

/** Hub lease: exactly one node runs the scheduled strands. */
function checkHubLease(spec: MeshSpec, add: Add): void {
  const nodes = spec.nodes;
  const nodeNames = Object.keys(nodes);
  const hubs = nodeNames.filter((n) => nodes[n]!.role === "hub");
  if (hubs.length === 0) add("nodes", "no node has role: hub; the hub lease needs exactly one", "set role: hub on the node that runs scheduled workflows");
  if (hubs.length > 1) {
    for (const hub of hubs) {
      add(
        `nodes.${hub}.role`,
        `${hubs.length} nodes have role: hub (${hubs.join(", ")}); the hub lease allows exactly one`,
        "keep role: hub on one node and set role: worker on the others",
      );
    }
  }
}

/** Each node: capabilities, binding, addresses, ports and services. */
function checkNodes(spec: MeshSpec, add: Add): void {
  const nodes = spec.nodes;
  const reservedTags = new Set(["hub", "worker", "cockpit", spec.access.ciTag.slice(4), spec.access.pairedDeviceTag.slice(4)]);
  for (const [name, node] of Object.entries(nodes)) {
    const at = `nodes.${name}`;
    const os = node.optimalos;
    node.capabilities.forEach((cap, i) => {
      if (reservedTags.has(cap) || cap.startsWith("node-")) {
        add(
          `${at}.capabilities[${i}]`,
          `capability "${cap}" would reuse the tag tag:${cap}, which the policy gives to roles, nodes or devices`,
          "pick another capability name",
        );
      }
    });

    if (node.publicAddress !== undefined && os.bind === "all") {
      add(
        `${at}.optimalos.bind`,
        `${name} has a public address (${node.publicAddress}) and would bind OptimalOS on all interfaces, exposing :${os.port} publicly`,
        "use bind: tailnet, or bind: loopback with tailscaleServe: true; public traffic arrives through the tunnel",
      );
    }
    if (os.bind === "loopback" && !os.tailscaleServe) {
      add(
        `${at}.optimalos.bind`,
        `${name} binds OptimalOS on loopback only, so its peers cannot reach it for dispatch or health checks`,
        "use bind: tailnet, or keep loopback and set tailscaleServe: true",
      );
    }
    if (os.tailscaleServe && os.bind !== "loopback") {
      add(
        `${at}.optimalos.tailscaleServe`,
        `tailscaleServe shares a loopback port, but OptimalOS binds ${os.bind}`,
        "set bind: loopback, or remove tailscaleServe",
      );
    }
    for (const key of ["OPTIMALOS_HOST", "PORT"]) {
      if (key in os.env)
        add(
          `${at}.optimalos.env.${key}`,
          `${key} is derived from optimalos.${key === "PORT" ? "port" : "bind"}`,
          `remove env.${key} and set optimalos.${key === "PORT" ? "port" : "bind"} instead`,
        );
    }

    if (node.tailnet.address !== undefined && !inTailnetRange(node.tailnet.address)) {
      add(
        `${at}.tailnet.address`,
        `${node.tailnet.address} is not a Tailscale address (100.64.0.0/10)`,
        "use the address `tailscale ip -4` prints on the node, or leave it out",
      );
    }
    if (node.tailnet.state === "bootstrap" && node.tailnet.firstAddress === undefined) {
      add(
        `${at}.tailnet.firstAddress`,
        `${name} is to be bootstrapped but has no address to reach it before it joins the tailnet`,
        "set tailnet.firstAddress to its LAN or public address",
      );
    }

    if (os.port === node.ssh.port) add(`${at}.optimalos.port`, `port ${os.port} is ${name}'s SSH port`, "give OptimalOS its own port (3000 by default)");
    const ports = new Map<number, string>([
      [node.ssh.port, "ssh"],
      [os.port, "optimalos"],
    ]);
    for (const [svcName, svc] of Object.entries(node.services)) {
      const svcAt = `${at}.services.${svcName}`;
      if (!KEY_NAME.test(svcName)) add(svcAt, `service name "${svcName}" cannot be a systemd unit name`, "use a lowercase name such as n8n or strapi");
      if (svcName === "optimalos") add(svcAt, "OptimalOS is configured under optimalos, not services", `move it to ${at}.optimalos`);
      if (svc.port !== undefined) {
        const clash = ports.get(svc.port);
        if (clash !== undefined) add(`${svcAt}.port`, `port ${svc.port} is already used by ${clash} on ${name}`, "give each service its own port");
        else ports.set(svc.port, svcName);
      }
      if (svc.docker && svc.image === undefined)
        add(`${svcAt}.image`, `${svcName} runs in Docker but names no image`, "set image to a pinned reference, e.g. name:tag");
      if (!svc.docker && svc.image !== undefined)
        add(`${svcAt}.docker`, `${svcName} names an image but does not run in Docker`, "set docker: true, or remove image");
      if (!svc.docker && svc.exec === undefined && SERVICE_CATALOG[svcName]?.exec === undefined) {
        add(`${svcAt}.exec`, `${svcName} has no command to start`, "set exec to its command line (absolute path first), or docker: true with an image");
      }
      const missing = requiredCapabilities(svcName, svc.requires).filter((c) => !node.capabilities.includes(c));
      if (missing.length > 0) {
        add(
          svcAt,
          `${svcName} needs capability ${missing.join(", ")}, which ${name} does not have`,
          `run ${svcName} on a node with capabilities: [${missing.join(", ")}], or add them to ${at}.capabilities if the hardware has them`,
        );
      }
    }
  }
}

/** The Hetzner section names a cloud-server node. */
function checkHetzner(spec: MeshSpec, add: Add): void {
  const nodes = spec.nodes;
  const known = (name: string) => Object.hasOwn(nodes, name);
  const nodeList = Object.keys(nodes).join(", ");
  if (spec.hetzner !== undefined) {
    const h = spec.hetzner;
    if (!known(h.node)) add("hetzner.node", `no node named "${h.node}"`, `name one of: ${nodeList}`);
    else {
      const node = nodes[h.node]!;
      if (node.machine.kind !== "cloud-server")
        add(`nodes.${h.node}.machine.kind`, `${h.node} is the Hetzner server but its machine kind is ${node.machine.kind}`, "set machine.kind: cloud-server");
    }
  }
}

/** Tunnels: each hostname is routed once, in its zone, to a declared port on the hosting node. */
function checkTunnels(spec: MeshSpec, add: Add): void {
  const nodes = spec.nodes;
  const known = (name: string) => Object.hasOwn(nodes, name);
  const nodeList = Object.keys(nodes).join(", ");
  const routed = new Map<string, string>();
  const hostedBy = new Map<string, string>();
  for (const [tName, tunnel] of Object.entries(spec.tunnels)) {
    const other = hostedBy.get(tunnel.node);
    if (other !== undefined)
      add(
        `tunnels.${tName}.node`,
        `${tunnel.node} already runs tunnel ${other}; a node runs one cloudflared connector`,
        `serve these hostnames from tunnel ${other}`,
      );
    else hostedBy.set(tunnel.node, tName);
  }
  // cloudflared runs with its tunnel's connector token: a node that runs it without one has nothing to connect.
  for (const [name, node] of Object.entries(nodes)) {
    if (Object.hasOwn(node.services, "cloudflared") && !hostedBy.has(name))
      add(
        `nodes.${name}.services.cloudflared`,
        `${name} runs cloudflared but no tunnel names it as its node`,
        `add a tunnel with node: ${name}, or remove the service`,
      );
  }
  for (const [tName, tunnel] of Object.entries(spec.tunnels)) {
    const at = `tunnels.${tName}`;
    if (!KEY_NAME.test(tName))
      add(at, `tunnel name "${tName}" cannot name its resources`, "use a lowercase name of letters, digits and hyphens, such as cockpit");
    const host = known(tunnel.node) ? nodes[tunnel.node] : undefined;
    if (host === undefined) add(`${at}.node`, `no node named "${tunnel.node}"`, `name one of: ${nodeList}`);
    else if (!("cloudflared" in host.services)) {
      add(`${at}.node`, `${tunnel.node} hosts tunnel ${tName} but does not run cloudflared`, `add cloudflared: {} to nodes.${tunnel.node}.services`);
    }
    const hostnames = new Set(tunnelHostnames(tunnel));
    if (Object.keys(tunnel.dnsRecordIds).length > 0 && tunnel.zoneId === undefined) {
      add(`${at}.zoneId`, "adopting DNS records needs the zone's id", `set zoneId to the id of ${tunnel.zone} (Cloudflare dashboard, zone overview)`);
    }
    for (const host of Object.keys(tunnel.dnsRecordIds)) {
      if (!hostnames.has(host)) add(`${at}.dnsRecordIds.${host}`, `${host} is not a hostname of this tunnel`, `route it in ${at}.ingress, or remove the id`);
    }
    tunnel.ingress.forEach((rule, i) => {
      const ruleAt = `${at}.ingress[${i}]`;
      const key = `${rule.hostname}${rule.path ?? ""}`;
      const first = routed.get(key);
      if (first !== undefined)
        add(`${ruleAt}.hostname`, `${key} is already routed by ${first}`, "route each hostname (and path) from exactly one ingress rule");
      else routed.set(key, ruleAt);
      if (rule.hostname !== tunnel.zone && !rule.hostname.endsWith(`.${tunnel.zone}`)) {
        add(
          `${ruleAt}.hostname`,
          `${rule.hostname} is not in the tunnel's zone ${tunnel.zone}`,
          `use a hostname under ${tunnel.zone}, or put it in a tunnel for its own zone`,
        );
      }
      const origin = parseOrigin(rule.service);
      if (origin === undefined || !LOCAL_ORIGIN_HOSTS.has(origin.host)) {
        add(
          `${ruleAt}.service`,
          `${rule.service} is not a service on the hosting node`,
          "point ingress at http://localhost:<port> of a service the node declares",
        );
        return;
      }
      if (host === undefined) return;
      const owner = declaredPorts(host).get(origin.port);
      if (owner === undefined) {
        add(
          `${ruleAt}.service`,
          `${tunnel.node} declares nothing on port ${origin.port}`,
          `use one of its ports (${[...declaredPorts(host).entries()].map(([p, s]) => `${p} ${s}`).join(", ")}) or declare the service`,
        );
      } else if (owner === "optimalos" && host.optimalos.bind === "tailnet") {
        add(
          `${ruleAt}.service`,
          `OptimalOS on ${tunnel.node} binds the tailnet address only, so cloudflared cannot reach it on localhost`,
          "bind OptimalOS on loopback with tailscaleServe: true (or all, where the node has no public address)",
        );
      }
    });
  }
}

/** Access flows name existing nodes and services with ports. */
function checkFlows(spec: MeshSpec, add: Add): void {
  const nodes = spec.nodes;
  const known = (name: string) => Object.hasOwn(nodes, name);
  const nodeList = Object.keys(nodes).join(", ");
  for (const [fName, flow] of Object.entries(spec.access.flows)) {
    const at = `access.flows.${fName}`;
    if (!KEY_NAME.test(fName))
      add(at, `flow name "${fName}" cannot be a policy rule's name`, "use a lowercase name of letters, digits and hyphens, such as loom");
    if (flow.reply && flow.service !== "optimalos")
      add(`${at}.reply`, `only OptimalOS reports results back; ${flow.service} does not`, "remove reply, or make it a flow of service: optimalos");
    if (flow.reply && flow.from.includes(PAIRED_DEVICES))
      add(`${at}.reply`, "nothing in the mesh calls back into paired devices", `remove reply, or move ${PAIRED_DEVICES} to a flow of its own`);
    flow.from.forEach((src, i) => {
      if (src !== PAIRED_DEVICES && !known(src)) add(`${at}.from[${i}]`, `no node named "${src}"`, `name one of: ${nodeList}, or ${PAIRED_DEVICES}`);
    });
    flow.to.forEach((dst, i) => {
      if (!known(dst)) add(`${at}.to[${i}]`, `no node named "${dst}"`, `name one of: ${nodeList}`);
      else if (flow.service !== "optimalos" && !(flow.service in nodes[dst]!.services)) {
        add(`${at}.service`, `${dst} does not run ${flow.service}`, `add ${flow.service} to nodes.${dst}.services, or drop ${dst} from the flow`);
      } else if (flow.service !== "optimalos" && nodes[dst]!.services[flow.service]!.port === undefined) {
        add(`${at}.service`, `${flow.service} on ${dst} declares no port to allow`, `set nodes.${dst}.services.${flow.service}.port`);
      }
    });
  }
}

/** SSH trust between two distinct, existing nodes. */
function checkTrust(spec: MeshSpec, add: Add): void {
  const nodes = spec.nodes;
  const known = (name: string) => Object.hasOwn(nodes, name);
  const nodeList = Object.keys(nodes).join(", ");
  for (const [kName, trust] of Object.entries(spec.sshTrust)) {
    const at = `sshTrust.${kName}`;
    if (!DNS_LABEL.test(kName))
      add(at, `key name "${kName}" cannot be a file name like id_<name>`, "use lowercase letters, digits and hyphens, e.g. popos-deploy");
    if (!known(trust.from)) add(`${at}.from`, `no node named "${trust.from}"`, `name one of: ${nodeList}`);
    if (!known(trust.to)) add(`${at}.to`, `no node named "${trust.to}"`, `name one of: ${nodeList}`);
    if (trust.from === trust.to) add(`${at}.to`, "a node does not need SSH trust to itself", "name another node");
  }
}

/** Every cross-field problem of a schema-valid topology, section by section. */
export function checkRules(spec: MeshSpec): Problem[] {
  const problems: Problem[] = [];
  const add: Add = (path, message, fix) => problems.push({ path, message, fix });
  for (const check of [checkNames, checkHubLease, checkNodes, checkHetzner, checkTunnels, checkFlows, checkTrust]) check(spec, add);
  return problems;
}

/**
 * Existing resources that must be adopted before a real `up` touches them. Offline these are
 * notices; for real they stop the run, because creating instead of adopting would lose them.
 */
export function adoptionProblems(spec: MeshSpec): Problem[] {
  const problems: Problem[] = [];
  // Once adopted, what existed is in the state; only host keys still matter.
  const adopting = !spec.adopted;
  const h = spec.hetzner;
  const address = h === undefined ? undefined : spec.nodes[h.node]?.publicAddress;
  if (adopting && h !== undefined && address !== undefined) {
    if (h.adopt.primaryIpId === undefined) {
      problems.push({
        path: "mesh.hetzner.adopt.primaryIpId",
        message: `${h.node} keeps ${address} only if its existing primary IP is adopted; a new one would get another address`,
        fix: "set it to the id `hcloud primary-ip list` shows, or remove publicAddress to start a new server",
      });
    }
    if (h.adopt.serverId === undefined) {
      problems.push({
        path: "mesh.hetzner.adopt.serverId",
        message: `${h.node} is running at ${address}; without its id a second server would be created`,
        fix: "set it to the id `hcloud server list` shows",
      });
    }
  }
  const trustTargets = new Set(Object.values(spec.sshTrust).map((t) => t.to));
  for (const [name, node] of Object.entries(spec.nodes)) {
    // A node still to join is first reached before it has a pinned key; a trust target never is.
    if ((node.tailnet.state === "joined" || trustTargets.has(name)) && node.ssh.hostKey === undefined) {
      problems.push({
        path: `mesh.nodes.${name}.ssh.hostKey`,
        message: `${name}'s SSH host key is not pinned; remote commands would trust whatever answers`,
        fix: `read it on the machine (cat /etc/ssh/ssh_host_ed25519_key.pub) or over a trusted channel and set it here`,
      });
    }
  }
  for (const [tName, tunnel] of Object.entries(adopting ? spec.tunnels : {})) {
    const at = `mesh.tunnels.${tName}`;
    if (tunnel.existing && tunnel.adoptId === undefined) {
      problems.push({
        path: `${at}.adoptId`,
        message: `tunnel ${tName} exists in Cloudflare; without its id a second tunnel would be created`,
        fix: "set it to the tunnel's id (`cloudflared tunnel list` or the Zero Trust dashboard)",
      });
    }
    if (tunnel.existing || tunnel.adoptId !== undefined) {
      for (const host of tunnelHostnames(tunnel)) {
        if (tunnel.dnsRecordIds[host] === undefined) {
          problems.push({
            path: `${at}.dnsRecordIds`,
            message: `${host} already has a DNS record; creating it again would fail`,
            fix: `add "${host}: <record id>" (the id the Cloudflare API or dashboard shows)`,
          });
        }
      }
    }
  }
  return problems;
}
