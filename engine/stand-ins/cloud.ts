// The simulated cloud: a folder (OPTIMAL_MESH_CLOUD) that only the stand-ins write. Each provider
// keeps its objects in <provider>.json; every write (create, update, delete, a command run) is
// appended to journal.jsonl, so a test can count what a run changed; faults.<provider>.json holds faults a
// test injects into the next matching calls. Tests read it, seed it (adoption) and edit it behind
// the engine's back (drift). clock.json moves the cloud's clock ahead of the machine's (a test
// of what a day changes: expired keys, timestamps).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Props } from "./wire";

/** Every object of one provider, by collection (e.g. `servers`) and id. */
export interface ProviderState {
  nextId: number;
  collections: { [collection: string]: { [id: string]: Props } };
}

export interface JournalEntry {
  readonly provider: string;
  /** `dial`: a remote command's failed SSH dial (the command stand-in), not a write. */
  readonly op: "create" | "update" | "delete" | "run" | "dial";
  readonly collection: string;
  readonly id: string;
  /** What the entry concerns in words (an object's name, a command's script). */
  readonly detail?: string;
}

export type FaultKind = "429" | "500" | "hang";

export interface Fault {
  readonly provider: string;
  /** The plugin call it hits: check, diff, create, read, update, delete or invoke. */
  readonly op: string;
  /** Only calls for this resource type token (default: any). */
  readonly type?: string;
  /** Only calls for this logical resource name (default: any). */
  readonly name?: string;
  readonly kind: FaultKind;
  /** Seconds a 429 asks the client to wait. */
  readonly retryAfter?: number;
  /** How many matching calls it hits. */
  times: number;
}

export class Cloud {
  constructor(
    readonly dir: string,
    readonly provider: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** The folder the environment names; the stand-ins refuse to run without one. */
  static fromEnv(provider: string): Cloud {
    const dir = process.env.OPTIMAL_MESH_CLOUD;
    if (dir === undefined || dir === "")
      throw new Error(`stand-in ${provider}: OPTIMAL_MESH_CLOUD is not set; it names the folder that holds the simulated cloud`);
    return new Cloud(path.resolve(dir), provider);
  }

  private get file(): string {
    return path.join(this.dir, `${this.provider}.json`);
  }

  read(): ProviderState {
    if (!fs.existsSync(this.file)) return { nextId: 1, collections: {} };
    return JSON.parse(fs.readFileSync(this.file, "utf8")) as ProviderState;
  }

  private write(state: ProviderState): void {
    writeAtomically(this.file, `${JSON.stringify(state, null, 2)}\n`);
  }

  /** The objects of one collection, by id. */
  list(collection: string): { [id: string]: Props } {
    return this.read().collections[collection] ?? {};
  }

  get(collection: string, id: string): Props | undefined {
    return this.list(collection)[id];
  }

  /** A new id from the provider's counter. */
  nextId(): number {
    const state = this.read();
    const id = state.nextId;
    state.nextId = id + 1;
    this.write(state);
    return id;
  }

  /** Stores (creates or replaces) an object and journals the write. */
  put(collection: string, id: string, object: Props, op: "create" | "update", detail?: string): void {
    const state = this.read();
    (state.collections[collection] ??= {})[id] = object;
    this.write(state);
    this.journal({ provider: this.provider, op, collection, id, ...(detail !== undefined ? { detail } : {}) });
  }

  /** Puts an object in place as it already exists in the cloud (a test's seed, or an edit behind the engine's back): not journaled. */
  seed(collection: string, id: string, object: Props): void {
    const state = this.read();
    (state.collections[collection] ??= {})[id] = object;
    this.write(state);
  }

  remove(collection: string, id: string, detail?: string): void {
    const state = this.read();
    delete state.collections[collection]?.[id];
    this.write(state);
    this.journal({ provider: this.provider, op: "delete", collection, id, ...(detail !== undefined ? { detail } : {}) });
  }

  journal(entry: JournalEntry): void {
    fs.appendFileSync(path.join(this.dir, "journal.jsonl"), `${JSON.stringify(entry)}\n`);
  }

  /** The cloud's time: the machine's, moved ahead by what clock.json says (see advanceClock). */
  now(): Date {
    return cloudNow(this.dir);
  }

  /** The first injected fault matching a call, used up by one; undefined when none matches. */
  takeFault(op: string, type: string, name: string): Fault | undefined {
    // One file per provider: only this plugin's process reads and rewrites it (the plugins run at once).
    const file = faultsFile(this.dir, this.provider);
    if (!fs.existsSync(file)) return undefined;
    const faults = JSON.parse(fs.readFileSync(file, "utf8")) as Fault[];
    const hit = faults.find(
      (f) =>
        f.provider === this.provider && f.op === op && f.times > 0 && (f.type === undefined || f.type === type) && (f.name === undefined || f.name === name),
    );
    if (hit === undefined) return undefined;
    hit.times -= 1;
    writeAtomically(file, `${JSON.stringify(faults, null, 2)}\n`);
    return hit;
  }
}

function cloudNow(dir: string): Date {
  const file = path.join(dir, "clock.json");
  const ahead = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { aheadSeconds: number }).aheadSeconds : 0;
  return new Date(Date.now() + ahead * 1000);
}

/** Moves the cloud's clock ahead by `seconds` (a test's "a day later"). */
export function advanceClock(dir: string, seconds: number): void {
  const file = path.join(dir, "clock.json");
  const ahead = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { aheadSeconds: number }).aheadSeconds : 0;
  writeAtomically(file, `${JSON.stringify({ aheadSeconds: ahead + seconds })}\n`);
}

/** What a test reads of a cloud folder: the journal's entries, in order. */
export function readJournal(dir: string): JournalEntry[] {
  const file = path.join(dir, "journal.jsonl");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as JournalEntry);
}

const faultsFile = (dir: string, provider: string) => path.join(dir, `faults.${provider}.json`);

/** Replaces a file in one step, so a reader in another process never sees it half written. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Adds faults for the stand-ins to inject (appended to those not used up yet). */
export function injectFaults(dir: string, faults: readonly Fault[]): void {
  for (const provider of new Set(faults.map((f) => f.provider))) {
    const file = faultsFile(dir, provider);
    const current = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Fault[]) : [];
    writeAtomically(file, `${JSON.stringify([...current, ...faults.filter((f) => f.provider === provider)], null, 2)}\n`);
  }
}
