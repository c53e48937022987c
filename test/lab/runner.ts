// Lab test tooling: runs a plan's remote commands on the lab's hosts the way @pulumi/command 1.x
// does (see the provider's remote command controller): create once; on a change of any input
// other than `triggers`, `update` if set, else `create`; on a change of `triggers`, replace
// (create the new, then delete the old, or the other way round with deleteBeforeReplace); the
// old `delete` when a command leaves the plan; stdin piped to a new SSH session each time.
import { isDeepStrictEqual } from "node:util";
import type { Lab } from "./hosts";
import type { PlannedCommand } from "./plan";

export interface Execution {
  readonly name: string;
  readonly op: "create" | "update" | "delete";
  readonly seconds: number;
}

export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly op: string,
    readonly output: string,
  ) {
    super(`${command} (${op}) failed:\n${output}`);
    this.name = "CommandFailed";
  }
}

interface StateEntry {
  readonly cmd: PlannedCommand;
  readonly stdin: string | undefined;
  readonly stdout: string;
}

function topological(plan: readonly PlannedCommand[]): PlannedCommand[] {
  const byUrn = new Map(plan.map((c) => [c.urn, c]));
  const byName = new Map(plan.map((c) => [c.name, c]));
  const done = new Set<string>();
  const out: PlannedCommand[] = [];
  const visit = (c: PlannedCommand, path: readonly string[]) => {
    if (done.has(c.urn)) return;
    if (path.includes(c.urn)) throw new Error(`dependency cycle through ${c.name}`);
    const deps = [...c.dependsOn.map((u) => byUrn.get(u)), c.stdinFrom === undefined ? undefined : byName.get(c.stdinFrom)];
    for (const d of deps) if (d !== undefined) visit(d, [...path, c.urn]);
    done.add(c.urn);
    out.push(c);
  };
  for (const c of [...plan].sort((a, b) => a.name.localeCompare(b.name))) visit(c, []);
  return out;
}

export class Runner {
  private readonly state = new Map<string, StateEntry>();

  /** `nodeOf` maps a planned connection host to the lab host that plays it; nothing else is changed. */
  constructor(
    private readonly lab: Lab,
    private readonly nodeOf: (host: string) => string,
  ) {}

  private exec(c: PlannedCommand, op: Execution["op"], script: string, stdin: string | undefined, log: Execution[]): string {
    const t0 = Date.now();
    const r = this.lab.ssh(this.nodeOf(c.host), c.user, script, { stdin: stdin ?? "", allowFail: true });
    log.push({ name: c.name, op, seconds: (Date.now() - t0) / 1000 });
    if (r.code !== 0) throw new CommandFailed(c.name, op, `${r.stdout}${r.stderr}`);
    // The provider keeps stdout without its final newline.
    return r.stdout.replace(/\n$/, "");
  }

  private stdinOf(c: PlannedCommand): string | undefined {
    if (c.stdinFrom === undefined) return c.stdin;
    const source = [...this.state.values()].find((e) => e.cmd.name === c.stdinFrom);
    if (source === undefined) throw new Error(`${c.name} takes its stdin from ${c.stdinFrom}, which has not run`);
    return source.stdout;
  }

  /**
   * Brings the hosts to `plan`; returns every command it ran, in order. `replace` names commands to
   * replace regardless of their inputs, as `pulumi up --replace` does. Throws CommandFailed on the first failure.
   */
  converge(plan: readonly PlannedCommand[], replace: readonly string[] = []): Execution[] {
    const log: Execution[] = [];
    for (const c of topological(plan)) {
      const stdin = this.stdinOf(c);
      const prev = this.state.get(c.urn);
      if (prev === undefined) {
        this.state.set(c.urn, { cmd: c, stdin, stdout: c.create === undefined ? "" : this.exec(c, "create", c.create, stdin, log) });
      } else if (!isDeepStrictEqual(prev.cmd.triggers, c.triggers) || replace.includes(c.name)) {
        const removeOld = () => {
          if (prev.cmd.delete !== undefined) this.exec(prev.cmd, "delete", prev.cmd.delete, prev.stdin, log);
        };
        if (c.deleteBeforeReplace) removeOld();
        const stdout = c.create === undefined ? "" : this.exec(c, "create", c.create, stdin, log);
        if (!c.deleteBeforeReplace) removeOld();
        this.state.set(c.urn, { cmd: c, stdin, stdout });
      } else {
        const same = (k: "create" | "update" | "delete" | "host" | "port" | "user") => prev.cmd[k] === c[k];
        if (!(same("create") && same("update") && same("delete") && same("host") && same("port") && same("user") && prev.stdin === stdin)) {
          const script = c.update ?? c.create;
          this.state.set(c.urn, { cmd: c, stdin, stdout: script === undefined ? prev.stdout : this.exec(c, "update", script, stdin, log) });
        }
      }
    }
    const planned = new Set(plan.map((c) => c.urn));
    for (const [urn, entry] of [...this.state].reverse()) {
      if (planned.has(urn)) continue;
      if (entry.cmd.delete !== undefined) this.exec(entry.cmd, "delete", entry.cmd.delete, entry.stdin, log);
      this.state.delete(urn);
    }
    return log;
  }

  /** Drops commands from the state without running their delete, as a rebuild does for what ran on a lost machine. */
  forget(names: readonly string[]): void {
    for (const [urn, entry] of [...this.state]) if (names.includes(entry.cmd.name)) this.state.delete(urn);
  }

  /** Runs every planned command's `create` again, as if it were new (the run-twice check). */
  rerunCreates(plan: readonly PlannedCommand[]): Execution[] {
    const log: Execution[] = [];
    for (const c of topological(plan)) if (c.create !== undefined) this.exec(c, "create", c.create, this.stdinOf(c), log);
    return log;
  }
}
