// Writes an offline plan to its out directory: the text, every registration, the outputs and
// every artifact (rendered with placeholders where secrets go). The plan writes only its
// own files: the directory must be new, empty or one a plan wrote (it has PLAN_FILES, which lists
// each file it wrote with the sha256 of its content). A file the last plan wrote and this one does
// not is removed only while it still holds what the plan wrote. Nothing is followed through a
// symlink, and everything is checked before anything is changed, so a refusal leaves the folder
// as it was. A file whose content is unchanged is left alone (it keeps its modification time);
// stale files are found from the list, without walking the tree.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProgramBug } from "./cli";
import type { PlanReport } from "./render-plan";

export interface WriteSummary {
  /** Files the plan consists of. */
  readonly files: number;
  /** Of those, written because they were new or different. */
  readonly changed: number;
  /** Files of an earlier plan removed. */
  readonly removed: number;
  /** Files of an earlier plan left in place because they changed since it wrote them (or are no longer plain files). */
  readonly kept: readonly string[];
}

/** The out directory's list of the files its last plan wrote: `sha256-hex<TAB>path` lines. */
export const PLAN_FILES = ".plan-files";
/** Where the list is written before it replaces PLAN_FILES (so the list is never half written). */
const PLAN_FILES_NEXT = `${PLAN_FILES}.next`;

/** The out directory cannot take the plan: nothing was changed; the message says why and what to do. */
export class OutDirError extends Error {
  override name = "OutDirError";
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * A path relative to the out directory that stays inside it: not absolute, no `.`, `..` or empty
 * part, no backslash (a separator elsewhere) and no control character (it would break the list's lines).
 */
export function isInsidePath(rel: string): boolean {
  return rel !== "" && !path.isAbsolute(rel) && !/[\u0000-\u001f\\]/.test(rel) && rel.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/** The hashes each listed path may hold (an old-format line: null, hash unknown). */
type Listing = Map<string, Set<string> | null>;

type FolderState = "present" | "missing" | "blocked";

const LINE = /^([0-9a-f]{64})\t(.+)$/;

/** Reads a list: `hash<TAB>path` lines, or the old format's bare paths. Paths that could leave the directory are dropped. */
export function parsePlanFiles(text: string): Listing {
  const listing: Listing = new Map();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = LINE.exec(line);
    const rel = m ? m[2]! : line;
    // The list is a file anyone could edit: only paths inside the directory are taken from it.
    if (!isInsidePath(rel) || rel === PLAN_FILES || rel === PLAN_FILES_NEXT) continue;
    const had = listing.get(rel);
    if (m === null || had === null) listing.set(rel, null);
    else listing.set(rel, new Set([...(had ?? []), m[1]!]));
  }
  return listing;
}

function formatPlanFiles(listing: Listing): string {
  const lines: string[] = [];
  for (const rel of [...listing.keys()].sort()) {
    const hashes = listing.get(rel);
    if (hashes === null || hashes === undefined) lines.push(rel);
    else for (const h of [...hashes].sort()) lines.push(`${h}\t${rel}`);
  }
  return `${lines.join("\n")}\n`;
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** A path as messages show it: relative to the current folder when inside it, else absolute. */
function shown(outDir: string, rel = ""): string {
  const full = path.join(outDir, rel);
  const fromHere = path.relative(process.cwd(), full);
  return fromHere === "" ? "." : fromHere.startsWith("..") ? full : fromHere;
}

/**
 * Whether `outDir` may take a plan, checked before anything is evaluated or written: it must be
 * missing, an empty folder or a folder a plan wrote. Returns the previous plan's list (empty when none).
 */
export function checkOutDir(outDir: string): Listing {
  const st = fs.statSync(outDir, { throwIfNoEntry: false });
  if (st === undefined) {
    if (lstatOrUndefined(outDir) !== undefined)
      throw new OutDirError(`${shown(outDir)} is a symlink to nothing; remove it, or choose an empty or new folder with --out DIR`);
    return new Map();
  }
  if (!st.isDirectory()) throw new OutDirError(`${shown(outDir)} is not a folder; choose a new or empty folder for the plan with --out DIR`);
  const list = lstatOrUndefined(path.join(outDir, PLAN_FILES));
  if (list === undefined) {
    // A list left half written by a first plan that stopped is no one else's file.
    if (fs.readdirSync(outDir).every((f) => f === PLAN_FILES_NEXT)) return new Map();
    throw new OutDirError(`${shown(outDir)}/ has files no plan wrote (it has no ${PLAN_FILES}); choose an empty or new folder with --out DIR`);
  }
  if (!list.isFile())
    throw new OutDirError(
      `${shown(outDir, PLAN_FILES)} is not a plain file, so ${shown(outDir)}/ is not a folder a plan wrote; choose an empty or new folder with --out DIR`,
    );
  return parsePlanFiles(fs.readFileSync(path.join(outDir, PLAN_FILES), "utf8"));
}

/**
 * Checks the folders on the way to files in outDir, each once: a real folder is "present", none
 * "missing", something else in its place "blocked". A symlink is refused: it could lead out of the directory.
 */
function folderChecker(outDir: string): (rel: string) => FolderState {
  const seen = new Map<string, FolderState>([["", "present"]]);
  const check = (dir: string): FolderState => {
    const known = seen.get(dir);
    if (known !== undefined) return known;
    const up = check(dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : "");
    let state: FolderState = up;
    if (up === "present") {
      const st = lstatOrUndefined(path.join(outDir, dir));
      if (st?.isSymbolicLink())
        throw new OutDirError(
          `${shown(outDir, dir)} is a symlink; a plan does not write or delete through one: remove it, or choose an empty or new folder with --out DIR`,
        );
      state = st === undefined ? "missing" : st.isDirectory() ? "present" : "blocked";
    }
    seen.set(dir, state);
    return state;
  };
  return (rel) => check(rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "");
}

/** The file's content without following a symlink, or why there is none to compare. */
function readNoFollow(file: string): { content: Buffer } | { missing: true } | { notFile: string } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { missing: true };
    if (code === "ELOOP") return { notFile: "a symlink" };
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { notFile: "not a plain file" };
    // Read by the size just taken (readFileSync(fd) would stat it again: thousands of files per plan).
    const content = Buffer.allocUnsafe(st.size);
    let got = 0;
    for (let n = -1; got < st.size && n !== 0; got += n) n = fs.readSync(fd, content, got, st.size - got, null);
    return { content: got === st.size ? content : content.subarray(0, got) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The plan's files, path to content. */
function planFiles(text: string, evaluation: PlanReport): Map<string, string> {
  const files = new Map<string, string>([
    ["plan.txt", text],
    ["resources.json", `${JSON.stringify(evaluation.registrations, null, 2)}\n`],
    ["outputs.json", `${JSON.stringify(evaluation.outputs, null, 2)}\n`],
  ]);
  // Rendered with placeholders where secrets go: none holds a secret.
  for (const artifact of evaluation.artifacts) files.set(artifact.path, artifact.text);
  for (const rel of files.keys()) {
    // Artifact paths come from config values (node names, tunnel keys): a bad one is the program's bug, not a write outside.
    if (!isInsidePath(rel) || rel === PLAN_FILES || rel === PLAN_FILES_NEXT)
      throw new ProgramBug(`the plan has a file path that is not inside its folder: ${JSON.stringify(rel)}`);
  }
  return files;
}

/** Writes `body` to a file that was checked to be missing or a plain file (never a symlink). */
function writeFile(file: string, body: string): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o666);
  try {
    fs.writeFileSync(fd, body);
  } finally {
    fs.closeSync(fd);
  }
}

/** Brings `outDir` to exactly the plan's files, or throws OutDirError having changed nothing. */
export function writePlanFiles(outDir: string, text: string, evaluation: PlanReport): WriteSummary {
  const files = planFiles(text, evaluation);
  const previous = checkOutDir(outDir);
  const folder = folderChecker(outDir);

  // 1. Check everything first: what to write, what to delete, what to refuse.
  const toWrite: string[] = [];
  for (const [rel, body] of files) {
    const state = folder(rel);
    if (state === "blocked")
      throw new OutDirError(`a file is in the way of the folder of ${shown(outDir, rel)}; move it away, or choose an empty or new folder with --out DIR`);
    const found = state === "missing" ? ({ missing: true } as const) : readNoFollow(path.join(outDir, rel));
    if ("notFile" in found)
      throw new OutDirError(
        `${shown(outDir, rel)} is ${found.notFile} where the plan writes a file; remove it, or choose an empty or new folder with --out DIR`,
      );
    if ("missing" in found) toWrite.push(rel);
    else if (!found.content.equals(Buffer.from(body))) {
      // Someone else's file where the plan would write another: not the plan's to overwrite.
      if (!previous.has(rel))
        throw new OutDirError(
          `${shown(outDir, rel)} was not written by a plan (it is not in ${PLAN_FILES}) and differs from the plan's; move it away, or choose an empty or new folder with --out DIR`,
        );
      toWrite.push(rel);
    }
  }
  const toDelete: string[] = [];
  const kept: string[] = [];
  // Stale files already gone: their folders may still be left empty.
  const gone: string[] = [];
  for (const [rel, hashes] of previous) {
    if (files.has(rel) || folder(rel) !== "present") continue;
    const found = readNoFollow(path.join(outDir, rel));
    if ("missing" in found) {
      gone.push(rel);
      continue;
    }
    // Only a plain file still holding what a plan wrote is removed; one edited or replaced since stays.
    if ("content" in found && (hashes === null || hashes.has(sha256(found.content)))) toDelete.push(rel);
    else kept.push(rel);
  }
  const next = new Map([...files].map(([rel, body]) => [rel, new Set([sha256(body)])]));
  const listText = formatPlanFiles(next);
  const listPath = path.join(outDir, PLAN_FILES);

  // 2. Change: while files are written and removed, the list names both plans' files and contents,
  // so a plan stopped half way leaves a folder the next one still knows as a plan's.
  if (toWrite.length > 0 || toDelete.length > 0) {
    const during: Listing = new Map(previous);
    for (const [rel, hashes] of next) {
      const had = during.get(rel);
      during.set(rel, had === null ? null : new Set([...(had ?? []), ...hashes]));
    }
    fs.mkdirSync(outDir, { recursive: true });
    replaceList(outDir, formatPlanFiles(during));
  }
  for (const rel of toDelete) fs.unlinkSync(path.join(outDir, rel));
  // Folders that held only stale files go too, deepest first (each was checked to be a real folder).
  for (const dir of [...new Set([...toDelete, ...gone].map((f) => path.dirname(path.join(outDir, f))))].sort((a, b) => b.length - a.length)) {
    for (let d = dir; d !== outDir && d.startsWith(outDir + path.sep) && fs.existsSync(d) && fs.readdirSync(d).length === 0; d = path.dirname(d))
      fs.rmdirSync(d);
  }
  const made = new Set<string>();
  for (const rel of toWrite) {
    const file = path.join(outDir, rel);
    const dir = path.dirname(file);
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeFile(file, files.get(rel)!);
  }
  if (readNoFollowText(listPath) !== listText) {
    fs.mkdirSync(outDir, { recursive: true });
    replaceList(outDir, listText);
  }
  return { files: files.size, changed: toWrite.length, removed: toDelete.length, kept: kept.sort() };
}

function readNoFollowText(file: string): string | undefined {
  const found = readNoFollow(file);
  return "content" in found ? found.content.toString("utf8") : undefined;
}

/** Replaces the list in one step (write a new one, rename it over the old), so it is never half written. */
function replaceList(outDir: string, text: string): void {
  const next = path.join(outDir, PLAN_FILES_NEXT);
  fs.rmSync(next, { force: true });
  fs.writeFileSync(next, text, { flag: "wx" });
  fs.renameSync(next, path.join(outDir, PLAN_FILES));
}
