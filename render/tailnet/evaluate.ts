// Offline evaluator for the policy's own `tests`. It understands exactly the constructs the
// renderer emits (groups, tagOwners, hosts, network grants with src/dst/ip, tests) and rejects
// anything else loudly instead of guessing what Tailscale would do.
import { parseHujson, type Json } from "./hujson";

/** A device the tests can name: a mesh node, or a tagged stand-in (CI runner, paired device). */
export interface Device {
  readonly name: string;
  readonly tags: readonly string[];
  readonly ip?: string;
}

export interface Inventory {
  readonly devices: readonly Device[];
}

export interface CaseResult {
  readonly src: string;
  readonly dst: string;
  readonly expect: "accept" | "deny";
  readonly pass: boolean;
}

export interface Evaluation {
  readonly cases: readonly CaseResult[];
  /** Problems with the policy itself, such as a tag without an owner. */
  readonly problems: readonly string[];
}

export class UnsupportedPolicyError extends Error {
  override name = "UnsupportedPolicyError";
}

const TOP_LEVEL = new Set(["groups", "tagOwners", "hosts", "grants", "tests"]);
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const EMAIL = /^[^@\s:]+@[^@\s:]+$/;

function fail(where: string, what: string): never {
  throw new UnsupportedPolicyError(`${where}: ${what} is not a construct this evaluator understands`);
}

function obj(v: Json | undefined, where: string): { [k: string]: Json } {
  if (v === null || typeof v !== "object" || Array.isArray(v)) fail(where, `${JSON.stringify(v)} (expected an object)`);
  return v;
}

function strings(v: Json | undefined, where: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) fail(where, `${JSON.stringify(v)} (expected a list of strings)`);
  return v as string[];
}

function onlyKeys(o: { [k: string]: Json }, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${where}.${k}`, `the key "${k}"`);
}

function parsePorts(spec: string, where: string): (port: number) => boolean {
  if (spec === "*") return () => true;
  const ranges = spec.split(",").map((part) => {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) fail(where, `the port list "${spec}"`);
    return [Number(m[1]), Number(m[2] ?? m[1])] as const;
  });
  return (port) => ranges.some(([lo, hi]) => port >= lo && port <= hi);
}

/** Splits `selector:ports` at the last colon (tags contain one). */
function splitDestination(entry: string, where: string): [string, string] {
  const i = entry.lastIndexOf(":");
  if (i <= 0) fail(where, `the destination "${entry}" (expected selector:ports)`);
  return [entry.slice(0, i), entry.slice(i + 1)];
}

export function evaluatePolicy(text: string, inventory: Inventory): Evaluation {
  const doc = obj(parseHujson(text), "policy");
  for (const key of Object.keys(doc)) if (!TOP_LEVEL.has(key)) fail(`policy.${key}`, `the section "${key}"`);

  const groups = new Map<string, string[]>();
  for (const [name, members] of Object.entries(obj(doc.groups ?? {}, "groups"))) {
    if (!name.startsWith("group:")) fail(`groups.${name}`, "a group name without group:");
    const list = strings(members, `groups.${name}`);
    for (const m of list) if (!EMAIL.test(m)) fail(`groups.${name}`, `the member "${m}" (only emails)`);
    groups.set(name, list);
  }
  const hosts = new Map<string, string>();
  for (const [name, ip] of Object.entries(obj(doc.hosts ?? {}, "hosts"))) {
    if (typeof ip !== "string" || !IPV4.test(ip)) fail(`hosts.${name}`, `${JSON.stringify(ip)} (only single IPv4 addresses)`);
    hosts.set(name, ip);
  }
  const problems: string[] = [];
  const owners = new Map<string, string[]>();
  for (const [tag, list] of Object.entries(obj(doc.tagOwners ?? {}, "tagOwners"))) {
    if (!tag.startsWith("tag:")) fail(`tagOwners.${tag}`, "a tag name without tag:");
    const ownerList = strings(list, `tagOwners.${tag}`);
    if (ownerList.length === 0) problems.push(`${tag} has no owner`);
    for (const o of ownerList) {
      if (o.startsWith("group:") && !groups.has(o)) problems.push(`${tag} is owned by ${o}, which is not defined in groups`);
      else if (!o.startsWith("group:") && !o.startsWith("autogroup:") && !EMAIL.test(o)) fail(`tagOwners.${tag}`, `the owner "${o}"`);
    }
    owners.set(tag, ownerList);
  }
  const usedTags = new Set<string>();
  const noteTag = (selector: string) => {
    if (selector.startsWith("tag:")) usedTags.add(selector);
  };
  for (const d of inventory.devices) d.tags.forEach(noteTag);

  // Source selectors: which identities they match. Tailscale runs a test "from the perspective of a
  // device authenticated with the provided identity" (docs: policy file syntax, tests): a tag in a
  // test's src is read strictly, as a device carrying that tag alone, so a rule on another tag the
  // same machines carry does not count. A host or an IP is the real device, with all its tags.
  type Identity = { kind: "tag"; tag: string } | { kind: "devices"; devices: readonly Device[] } | { kind: "user"; email: string };
  const srcMatches = (selector: string, who: Identity, where: string): boolean => {
    if (selector === "*") return true;
    if (selector.startsWith("tag:"))
      return who.kind === "tag" ? who.tag === selector : who.kind === "devices" && who.devices.every((d) => d.tags.includes(selector));
    if (selector.startsWith("group:")) {
      const members = groups.get(selector);
      if (members === undefined) fail(where, `the undefined group "${selector}"`);
      return who.kind === "user" && members.includes(who.email);
    }
    // Autogroup membership is known only to Tailscale; no test identity is assumed to be in one.
    if (/^autogroup:(admin|owner|network-admin|it-admin)$/.test(selector)) return false;
    if (EMAIL.test(selector)) return who.kind === "user" && who.email === selector;
    const ip = hosts.get(selector) ?? (IPV4.test(selector) ? selector : undefined);
    if (ip === undefined) fail(where, `the source "${selector}"`);
    return who.kind === "devices" && who.devices.every((d) => d.ip === ip);
  };
  // Destination selectors: which devices they select.
  const selectDevices = (selector: string, where: string): Device[] => {
    if (selector === "*") return [...inventory.devices];
    if (selector.startsWith("tag:")) return inventory.devices.filter((d) => d.tags.includes(selector));
    const ip = hosts.get(selector) ?? (IPV4.test(selector) ? selector : undefined);
    if (ip === undefined) fail(where, `the destination selector "${selector}"`);
    return inventory.devices.filter((d) => d.ip === ip);
  };

  // Network grants: every source may reach every destination on the listed ports (`ip`).
  const rules = (Array.isArray(doc.grants) ? doc.grants : fail("grants", "a non-list grants")).map((raw, i) => {
    const where = `grants[${i}]`;
    const rule = obj(raw, where);
    onlyKeys(rule, ["src", "dst", "ip"], where);
    const src = strings(rule.src, `${where}.src`);
    src.forEach(noteTag);
    const selectors = strings(rule.dst, `${where}.dst`);
    selectors.forEach(noteTag);
    const ports = strings(rule.ip, `${where}.ip`).map((p, j) => parsePorts(p, `${where}.ip[${j}]`));
    const dst = selectors.map((selector, j) => ({ selector, ports: (port: number) => ports.some((match) => match(port)), where: `${where}.dst[${j}]` }));
    return { src, dst, where };
  });
  const allows = (who: Identity, device: Device, port: number): boolean =>
    rules.some(
      (r) =>
        r.src.some((s) => srcMatches(s, who, `${r.where}.src`)) &&
        r.dst.some(
          (d) =>
            d.ports(port) &&
            (d.selector === "*" || (d.selector.startsWith("tag:") ? device.tags.includes(d.selector) : selectDevices(d.selector, d.where).includes(device))),
        ),
    );

  const cases: CaseResult[] = [];
  (Array.isArray(doc.tests) ? doc.tests : doc.tests === undefined ? [] : fail("tests", "a non-list tests")).forEach((raw, i) => {
    const where = `tests[${i}]`;
    const test = obj(raw, where);
    onlyKeys(test, ["src", "accept", "deny"], where);
    if (typeof test.src !== "string") fail(`${where}.src`, JSON.stringify(test.src));
    const src = test.src;
    noteTag(src);
    let who: Identity;
    if (EMAIL.test(src)) who = { kind: "user", email: src };
    else if (src.startsWith("tag:")) {
      if (selectDevices(src, `${where}.src`).length === 0) fail(`${where}.src`, `the source "${src}", which names no device`);
      who = { kind: "tag", tag: src };
    } else {
      const devices = selectDevices(src, `${where}.src`);
      if (devices.length === 0) fail(`${where}.src`, `the source "${src}", which names no device`);
      who = { kind: "devices", devices };
    }
    // Tailscale refuses a test that checks nothing (HTTP 400, seen against its control server).
    if (test.accept === undefined && test.deny === undefined)
      problems.push(`${where}: a test with neither accept nor deny, which Tailscale refuses (400); give it an accept or a deny list, or remove it`);
    for (const expect of ["accept", "deny"] as const) {
      strings(test[expect] ?? [], `${where}.${expect}`).forEach((entry, j) => {
        const at = `${where}.${expect}[${j}]`;
        const [selector, portText] = splitDestination(entry, at);
        noteTag(selector);
        if (!/^\d{1,5}$/.test(portText)) fail(at, `the test port "${portText}" (one port per case)`);
        // A tag destination is read as a device carrying that tag alone, as a tag source is: the
        // rules naming that tag decide, not the other tags the devices carrying it have today.
        const devices = selector.startsWith("tag:") ? [{ name: selector, tags: [selector] }] : selectDevices(selector, at);
        if (selector.startsWith("tag:") ? !usedTags.has(selector) && !owners.has(selector) : devices.length === 0)
          fail(at, `the destination "${selector}", which names no device`);
        const reached = devices.map((d) => allows(who, d, Number(portText)));
        const pass = expect === "accept" ? reached.every(Boolean) : !reached.some(Boolean);
        cases.push({ src, dst: entry, expect, pass });
      });
    }
  });

  for (const tag of [...usedTags].sort()) if (!owners.has(tag)) problems.push(`${tag} is used but has no entry in tagOwners`);
  return { cases, problems };
}

/** One line per failing case, naming it. */
export function describeFailures(evaluation: Evaluation): string[] {
  return [
    ...evaluation.problems,
    ...evaluation.cases.filter((c) => !c.pass).map((c) => `test failed: ${c.src} should be ${c.expect === "accept" ? "allowed" : "denied"} ${c.dst}`),
  ];
}
