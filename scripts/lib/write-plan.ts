// Writes an offline plan to its out directory: the text, every registration, the outputs and
// every artifact. Secret artifacts are never written; a marker says so. Files left from an
// earlier plan that this one does not write are removed, so the directory is exactly this plan.
// A file whose content is unchanged is left alone (it keeps its modification time). What a plan
// wrote is listed in PLAN_FILES, so the next one finds stale files without walking the tree.
import * as fs from "node:fs";
import * as path from "node:path";
import { SECRET_MASK, type Evaluation } from "./offline";

/** Every file under `dir`, relative to it (`a/b` form). Walked by hand: Node's recursive readdir costs three times as much. */
function listFiles(dir: string, rel = ""): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && rel === "") return [];
    throw err;
  }
  return entries.flatMap((e) => {
    const name = rel === "" ? e.name : `${rel}/${e.name}`;
    return e.isDirectory() ? listFiles(dir, name) : [name];
  });
}

/** The file's content, or undefined when there is none. */
function readIfFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

export interface WriteSummary {
  /** Files the plan consists of. */
  readonly files: number;
  /** Of those, written because they were new or different. */
  readonly changed: number;
  /** Files of an earlier plan removed. */
  readonly removed: number;
}

/** The out directory's list of the files its last plan wrote, one path per line. */
export const PLAN_FILES = ".plan-files";

/**
 * The files the last plan wrote: its list, or, without one (a plan stopped half way, or none
 * yet), every file there.
 */
function previousFiles(outDir: string): string[] {
  const listed = readIfFile(path.join(outDir, PLAN_FILES));
  if (listed === undefined) return listFiles(outDir).filter((f) => f !== PLAN_FILES);
  // Only paths inside the directory are taken from the list; it is a file anyone could edit.
  return listed.split("\n").filter((f) => f !== "" && !path.isAbsolute(f) && f.split("/").every((part) => part !== ".." && part !== "."));
}

/** Brings `outDir` to exactly the plan's files. */
export function writePlanFiles(outDir: string, text: string, evaluation: Evaluation): WriteSummary {
  const files = new Map<string, string>([
    ["plan.txt", text],
    ["resources.json", `${JSON.stringify(evaluation.registrations, null, 2)}\n`],
    ["outputs.json", `${JSON.stringify(evaluation.outputs, null, 2)}\n`],
  ]);
  for (const artifact of evaluation.artifacts) {
    if (artifact.secret) files.set(`${artifact.path}.secret`, `${SECRET_MASK} this artifact holds a secret; it is not written offline\n`);
    else files.set(artifact.path, artifact.text);
  }
  // Only what this plan no longer has is deleted (deleting and rewriting a large tree each run is slow).
  const stale = previousFiles(outDir).filter((f) => !files.has(f));
  // Until this plan is written, the list is gone: a plan stopped half way leaves the next one to walk.
  fs.rmSync(path.join(outDir, PLAN_FILES), { force: true });
  for (const f of stale) fs.rmSync(path.join(outDir, f), { force: true });
  // Folders that held only stale files go too, deepest first.
  for (const dir of [...new Set(stale.map((f) => path.dirname(path.join(outDir, f))))].sort((a, b) => b.length - a.length)) {
    for (let d = dir; d !== outDir && d.startsWith(outDir) && fs.existsSync(d) && fs.readdirSync(d).length === 0; d = path.dirname(d)) fs.rmdirSync(d);
  }
  // Rewriting a file truncates it first, which costs far more than reading it: compare, then write.
  const made = new Set<string>();
  let changed = 0;
  for (const [rel, body] of files) {
    const file = path.join(outDir, rel);
    if (readIfFile(file) === body) continue;
    const dir = path.dirname(file);
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    fs.writeFileSync(file, body);
    changed++;
  }
  fs.writeFileSync(path.join(outDir, PLAN_FILES), `${[...files.keys()].sort().join("\n")}\n`);
  return { files: files.size, changed, removed: stale.length };
}
