// fast-check arbitraries for valid topologies (raw config, as a stack file would hold it).
import fc from "fast-check";
import type { Raw } from "./helpers";

const NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
const SERVICES: Record<string, { port: number; needs?: string; exec?: string }> = {
  n8n: { port: 5678 },
  ollama: { port: 11434, needs: "gpu" },
  metrics: { port: 9100, exec: "/usr/local/bin/node_exporter --web.listen-address=:9100" },
};

interface NodeDraft {
  kind: string;
  caps: string[];
  sshPort: number;
  osPort: number;
  address: number | null;
  bootstrap: boolean;
  isPublic: boolean;
  bindChoice: number;
  services: string[];
}

const nodeDraft: fc.Arbitrary<NodeDraft> = fc.record({
  kind: fc.constantFrom("raspberry-pi", "desktop", "cloud-server", "vm"),
  caps: fc.subarray(["gpu", "storage"]),
  sshPort: fc.constantFrom(22, 2222),
  osPort: fc.constantFrom(3000, 3100),
  address: fc.option(fc.integer({ min: 1, max: 250 }), { nil: null }),
  bootstrap: fc.boolean(),
  isPublic: fc.boolean(),
  bindChoice: fc.nat(2),
  services: fc.subarray(Object.keys(SERVICES)),
});

/** A valid topology of 1 to `max` nodes with random roles, capabilities, services, flows and trust. */
export function topology(max = 5): fc.Arbitrary<Raw> {
  return fc
    .integer({ min: 1, max })
    .chain((n) =>
      fc.record({
        names: fc.shuffledSubarray(NAMES, { minLength: n, maxLength: n }),
        drafts: fc.array(nodeDraft, { minLength: n, maxLength: n }),
        hub: fc.nat(n - 1),
        flowPicks: fc.array(
          fc.record({
            from: fc.array(fc.nat(n), { minLength: 1, maxLength: n }),
            to: fc.array(fc.nat(n - 1), { minLength: 1, maxLength: n }),
            service: fc.nat(3),
            reply: fc.boolean(),
          }),
          { maxLength: 3 },
        ),
        trustPicks: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 2 }),
        admins: fc.constantFrom(["autogroup:admin"], ["ops@example.com"], ["ops@example.com", "autogroup:admin"]),
      }),
    )
    .map(({ names, drafts, hub, flowPicks, trustPicks, admins }) => {
      const nodes: Raw = {};
      names.forEach((name, i) => {
        const d = drafts[i]!;
        const services = d.services.filter((s) => SERVICES[s]!.needs === undefined || d.caps.includes(SERVICES[s]!.needs!));
        const binds = d.isPublic
          ? [{ bind: "tailnet" }, { bind: "loopback", tailscaleServe: true }]
          : [{ bind: "all" }, { bind: "tailnet" }, { bind: "loopback", tailscaleServe: true }];
        nodes[name] = {
          machine: { kind: d.kind, arch: "amd64" },
          role: i === hub ? "hub" : "worker",
          capabilities: d.caps,
          ssh: { user: "root", port: d.sshPort },
          tailnet: d.bootstrap
            ? { state: "bootstrap", firstAddress: `192.0.2.${i + 1}` }
            : d.address === null
              ? { state: "joined" }
              : { state: "joined", address: `100.64.${i}.${d.address}` },
          ...(d.isPublic ? { publicAddress: `203.0.113.${i + 1}` } : {}),
          optimalos: { mode: "worker", port: d.osPort, ...binds[d.bindChoice % binds.length] },
          services: Object.fromEntries(services.map((s) => [s, { port: SERVICES[s]!.port, ...(SERVICES[s]!.exec ? { exec: SERVICES[s]!.exec } : {}) }])),
        };
      });
      const flows: Raw = {};
      flowPicks.forEach((f, i) => {
        const serviceNames = ["optimalos", ...Object.keys(SERVICES)];
        const service = serviceNames[f.service % serviceNames.length]!;
        const to = [...new Set(f.to.map((k) => names[k]!))].filter((t) => service === "optimalos" || service in nodes[t].services);
        if (to.length === 0) return;
        const from = [...new Set(f.from.map((k) => (k === names.length ? "paired-devices" : names[k]!)))];
        const reply = f.reply && service === "optimalos" && !from.includes("paired-devices");
        flows[`flow${i}`] = { from, to, service, ...(reply ? { reply: true } : {}) };
      });
      const sshTrust: Raw = {};
      trustPicks.forEach(([a, b], i) => {
        if (a !== b) sshTrust[`key${i}`] = { from: names[a], to: names[b], toUser: "deploy" };
      });
      return { nodes, access: { admins, flows }, sshTrust };
    });
}
