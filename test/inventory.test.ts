import * as assert from "node:assert/strict";
import { test } from "node:test";
import { renderInventory, renderInventoryJson } from "../render/mesh/inventory";
import { validateMesh } from "../stacks/validate";
import { prodMesh } from "./helpers";

test("the prod inventory lists every node with its role, capabilities and base URLs", () => {
  assert.deepEqual(renderInventory(validateMesh(prodMesh())), [
    {
      name: "hetzner-cockpit",
      role: "worker",
      capabilities: [],
      mode: "fabric",
      tailnetAddress: null,
      baseUrl: "http://hetzner-cockpit:3000",
      fallbackBaseUrl: null,
    },
    {
      name: "oracle",
      role: "hub",
      capabilities: [],
      mode: "legacy",
      tailnetAddress: "100.94.77.114",
      baseUrl: "http://oracle:3000",
      fallbackBaseUrl: "http://100.94.77.114:3000",
    },
    { name: "pop-os", role: "worker", capabilities: ["gpu"], mode: "worker", tailnetAddress: null, baseUrl: "http://pop-os:3000", fallbackBaseUrl: null },
  ]);
});

test("the order of nodes in the config does not change the inventory", () => {
  const raw = prodMesh();
  const reversed = { ...raw, nodes: Object.fromEntries(Object.entries(raw.nodes).reverse()) };
  assert.equal(renderInventoryJson(validateMesh(reversed)), renderInventoryJson(validateMesh(raw)));
});

test("a node on another port is listed with that port", () => {
  const raw = prodMesh();
  raw.nodes["pop-os"].optimalos.port = 3100;
  raw.nodes["pop-os"].tailnet.address = "100.101.102.103";
  const popos = renderInventory(validateMesh(raw)).find((n) => n.name === "pop-os")!;
  assert.equal(popos.baseUrl, "http://pop-os:3100");
  assert.equal(popos.fallbackBaseUrl, "http://100.101.102.103:3100");
});
