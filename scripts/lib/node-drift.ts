// Node drift: what a node's deploy bundle says each file should be, against what the node has.
import { createHash } from "node:crypto";
import { TAILNET_IPV4_TOKEN } from "../../components/node/env";

export interface BundleEntry {
  readonly unit: string;
  readonly mode: string;
  readonly path: string;
  readonly content: string;
}

/** Parses the deploy payload (`file UNIT MODE PATH BASE64` lines, then `end`). */
export function parseBundle(bundle: string): BundleEntry[] {
  const entries: BundleEntry[] = [];
  for (const line of bundle.split("\n")) {
    if (line === "end") return entries;
    const [kind, unit, mode, path, data] = line.split(" ");
    if (kind !== "file" || !unit || !mode || !path || data === undefined) throw new Error(`not a bundle line: ${line.slice(0, 60)}`);
    entries.push({ unit, mode, path, content: Buffer.from(data, "base64").toString("utf8") });
  }
  throw new Error("bundle has no end line");
}

/** The shell command that reports, for each path, its sha256 and mode (or MISSING). */
export function observeCommand(paths: readonly string[]): string {
  const quoted = paths.map((p) => `'${p.replace(/'/g, "'\\''")}'`).join(" ");
  return `for f in ${quoted}; do if [ -f "$f" ]; then printf '%s %s %s\\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$(stat -c %a "$f")" "$f"; else printf 'MISSING - %s\\n' "$f"; fi; done`;
}

export interface Drift {
  readonly path: string;
  readonly what: "missing" | "content" | "mode";
}

/** Compares the bundle with what `observeCommand` printed; the node's tailnet address fills the token as deploy does. */
export function compareBundle(entries: readonly BundleEntry[], observed: string, tailnetIpv4: string): Drift[] {
  const seen = new Map<string, { digest: string; mode: string }>();
  for (const line of observed.split("\n").filter(Boolean)) {
    const [digest, mode, ...rest] = line.split(" ");
    seen.set(rest.join(" "), { digest: digest!, mode: mode! });
  }
  const drift: Drift[] = [];
  for (const e of entries) {
    const got = seen.get(e.path);
    if (got === undefined || got.digest === "MISSING") drift.push({ path: e.path, what: "missing" });
    else if (got.digest !== createHash("sha256").update(e.content.replaceAll(TAILNET_IPV4_TOKEN, tailnetIpv4)).digest("hex")) drift.push({ path: e.path, what: "content" });
    else if (got.mode !== e.mode.replace(/^0/, "")) drift.push({ path: e.path, what: "mode" });
  }
  return drift;
}
