// Joined nodes' tailnet devices: found in one listing of the tailnet by their MagicDNS name; the
// server this program rebuilds is looked up only once its node host has reached it.
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deviceFinder, type TailnetDevice } from "../components/tailnet/devices";
import type { StackConfig } from "../stacks/stackfile";
import { prodMesh } from "./helpers";
import { runMocked } from "./mocked-program";

const device = (name: string, id: string, hostname = name.split(".")[0]!): TailnetDevice => ({ id, name: `${name}.tail1234.ts.net`, hostname });

const deviceIdOf = (devices: readonly TailnetDevice[], node: string) => deviceFinder(devices)(node).id;

describe("deviceFinder", () => {
  test("picks the device whose MagicDNS name is the node's, whatever the machine calls itself", () => {
    const devices = [device("oracle", "d1"), device("pop-os", "d2", "carlos-desktop"), device("pop-os-laptop", "d3")];
    assert.equal(deviceIdOf(devices, "oracle"), "d1");
    assert.equal(deviceIdOf(devices, "pop-os"), "d2");
  });

  test("a missing device names the node's config and both ways to fix it", () => {
    assert.throws(
      () => deviceIdOf([device("oracle", "d1")], "pop-os"),
      (err: Error) =>
        /no device is named pop-os, but mesh\.nodes\.pop-os\.tailnet\.state is "joined"/.test(err.message) &&
        /tailscale up --hostname=pop-os/.test(err.message) &&
        /set mesh\.nodes\.pop-os\.tailnet\.state: bootstrap/.test(err.message),
    );
    // A machine that joined under another name is pointed at.
    assert.throws(() => deviceIdOf([device("popos", "d9", "pop-os")], "pop-os"), /a device with that hostname is on the tailnet as popos\.tail1234\.ts\.net/);
  });

  test("a stale device of a rebuilt machine is reported with the new one, not silently tagged", () => {
    const devices = [device("hetzner-cockpit", "old"), device("hetzner-cockpit-1", "new", "hetzner-cockpit"), device("hetzner-cockpit-tools", "other")];
    assert.throws(
      () => deviceIdOf(devices, "hetzner-cockpit"),
      (err: Error) =>
        /2 devices stand for node hetzner-cockpit: hetzner-cockpit\.tail1234\.ts\.net \(id old\), hetzner-cockpit-1\.tail1234\.ts\.net \(id new\)/.test(
          err.message,
        ) && /remove the stale one/.test(err.message),
    );
    // Another machine whose name merely starts with the node's is no twin.
    assert.equal(deviceIdOf([device("hetzner-cockpit", "old"), device("hetzner-cockpit-tools", "other")], "hetzner-cockpit"), "old");
  });
});

test("an evaluated up lists the tailnet once for the home nodes, and once more for the cockpit after its deploy; the inventory output takes the devices' addresses (#18 point 6)", async () => {
  const config: StackConfig = { project: "optimal-mesh", stack: "t", values: { "optimal-mesh:mesh": JSON.stringify(prodMesh()) }, encrypted: [] };
  // Addresses as the tailnet lists them (IPv4 and IPv6): the inventory output takes them where the topology records none.
  const withAddress = (d: TailnetDevice, ip: string): TailnetDevice => ({ ...d, addresses: [ip, "fd7a:115c:a1e0::1"] });
  const tailnet = [
    withAddress(device("oracle", "id-oracle", "raspberrypi"), "100.94.77.114"),
    withAddress(device("pop-os", "id-pop-os"), "100.101.1.2"),
    withAddress(device("hetzner-cockpit", "id-cockpit"), "100.101.1.3"),
  ];
  const run = await runMocked(config, {
    call: (token) => (token === "tailscale:index/getDevices:getDevices" ? { id: "tailnet", devices: tailnet } : undefined),
  });
  const events = run.events;
  const lists = events.flatMap((e, i) => (e === "call tailscale:index/getDevices:getDevices" ? [i] : []));
  assert.equal(lists.length, 2, events.join("\n"));
  assert.ok(lists[1]! > events.indexOf("register node-hetzner-cockpit-deploy"), "the cockpit's device is looked up after its deploy");
  const deviceIds = Object.fromEntries(
    run.resources
      .filter((r) => r.type === "tailscale:index/deviceTags:DeviceTags" || r.type === "tailscale:index/deviceKey:DeviceKey")
      .map((r) => [r.name, r.inputs.deviceId]),
  );
  assert.deepEqual(deviceIds, {
    "tailnet-hetzner-cockpit-key": "id-cockpit",
    "tailnet-hetzner-cockpit-tags": "id-cockpit",
    "tailnet-oracle-key": "id-oracle",
    "tailnet-oracle-tags": "id-oracle",
    "tailnet-pop-os-key": "id-pop-os",
    "tailnet-pop-os-tags": "id-pop-os",
  });
  // Only oracle's address is in the topology; the others come from the listing (pop-os) and the one after the cockpit's deploy.
  const inventory = run.outputs.inventory as { name: string; tailnetAddress: string | null; fallbackBaseUrl: string | null }[];
  assert.deepEqual(
    inventory.map((e) => [e.name, e.tailnetAddress, e.fallbackBaseUrl]),
    [
      ["hetzner-cockpit", "100.101.1.3", "http://100.101.1.3:3000"],
      ["oracle", "100.94.77.114", "http://100.94.77.114:3000"],
      ["pop-os", "100.101.1.2", "http://100.101.1.2:3000"],
    ],
  );
});
