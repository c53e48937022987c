// The fault matrix, provider by provider: what each stand-in does with a 429 (with Retry-After), a
// 500 and a hang in a create, an update and a delete, as its upstream client and provider do (the
// citations are beside each model). faults.test.ts runs one of each kind through the real engine;
// this walks every cell of the matrix on the models themselves, so a cell no engine test reaches
// still says what it does.
import * as assert from "node:assert/strict";
import { test } from "node:test";
import type { Fault, FaultKind } from "../../engine/stand-ins/cloud";
import { cloudflare } from "../../engine/stand-ins/cloudflare";
import { command } from "../../engine/stand-ins/command";
import { hcloud } from "../../engine/stand-ins/hcloud";
import type { ProviderModel } from "../../engine/stand-ins/server";
import { tailscale } from "../../engine/stand-ins/tailscale";

const OPS = ["create", "update", "delete"] as const;

/** How many retries the model makes for a fault that never clears (undefined delay: it gives up). */
function retries(model: ProviderModel, kind: Exclude<FaultKind, "hang">): number {
  const fault: Fault = { provider: model.name, op: "create", kind, retryAfter: 3, times: 1000 };
  let n = 0;
  while (model.retryDelay(fault, n) !== undefined) n++;
  return n;
}

test("fault matrix: 429 and 500 in a create, an update or a delete are retried as each upstream client retries them, then fail", () => {
  // The retries do not depend on the call: the API client below the resource makes them.
  assert.deepEqual(Object.fromEntries([hcloud, cloudflare, tailscale, command].map((m) => [m.name, { "429": retries(m, "429"), "500": retries(m, "500") }])), {
    hcloud: { "429": 5, "500": 0 },
    cloudflare: { "429": 10, "500": 10 },
    tailscale: { "429": 0, "500": 0 },
    command: { "429": 0, "500": 0 },
  });
  // cloudflare-go waits what Retry-After says; hcloud-go does not read it (1 s base, doubled, jittered, capped at 60 s).
  const fault = (kind: FaultKind, retryAfter?: number): Fault => ({
    provider: "x",
    op: "create",
    kind,
    ...(retryAfter !== undefined ? { retryAfter } : {}),
    times: 1,
  });
  assert.equal(cloudflare.retryDelay(fault("429", 3), 0), 3000);
  for (let retry = 0; retry < 5; retry++) {
    const d = hcloud.retryDelay(fault("429", 3), retry)!;
    assert.ok(d >= 1000 && d <= Math.min(2 ** retry, 60) * 1000, `hcloud retry ${retry}: ${d} ms`);
  }
  for (let retry = 0; retry < 10; retry++) {
    const d = cloudflare.retryDelay(fault("500"), retry)!;
    const cap = Math.min(2000 * 2 ** retry, 30_000);
    assert.ok(d > cap * 0.75 - 1 && d <= cap, `cloudflare retry ${retry}: ${d} ms`);
  }
});

test("fault matrix: a hang in a create, an update or a delete ends at the upstream provider's deadline, or never", () => {
  const cell = (m: ProviderModel, type: string, customTimeout = 0) =>
    Object.fromEntries(OPS.map((op) => [op, m.hangDeadline(op, type, customTimeout)?.seconds ?? "never"]));
  assert.deepEqual(cell(tailscale, "tailscale:index/acl:Acl"), { create: 60, update: 60, delete: 60 });
  assert.deepEqual(cell(tailscale, "tailscale:index/acl:Acl", 5), { create: 60, update: 60, delete: 60 }, "customTimeouts change nothing there");
  assert.deepEqual(cell(hcloud, "hcloud:index/server:Server"), { create: 5400, update: 1200, delete: 1200 });
  assert.deepEqual(cell(hcloud, "hcloud:index/server:Server", 300), { create: 300, update: 1200, delete: 300 });
  assert.deepEqual(cell(hcloud, "hcloud:index/firewall:Firewall", 300), { create: 1200, update: 1200, delete: 300 });
  for (const type of ["hcloud:index/primaryIp:PrimaryIp", "hcloud:index/sshKey:SshKey"])
    assert.deepEqual(cell(hcloud, type, 300), { create: "never", update: "never", delete: "never" }, type);
  for (const type of Object.keys(cloudflare.resources))
    assert.deepEqual(cell(cloudflare, type, 300), { create: "never", update: "never", delete: "never" }, type);
  assert.deepEqual(cell(command, "command:remote:Command", 300), { create: "never", update: "never", delete: "never" });
  // What a bounded hang fails with, in the upstream client's words.
  assert.match(tailscale.hangDeadline("update", "tailscale:index/acl:Acl", 0)!.error, /Client\.Timeout exceeded while awaiting headers/);
  assert.match(hcloud.hangDeadline("create", "hcloud:index/server:Server", 0)!.error, /^context deadline exceeded$/);
});
