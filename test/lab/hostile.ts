// Lab test tooling: config values that still accept free text, made hostile (scenario k), and
// how the lab checks what a process received: its environment, byte for byte.

/** A JSON value as a patch holds it. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * `patch` deep-merged into `target` (a new value; neither is changed): objects merge key by key,
 * `null` removes a key, anything else (strings, numbers, arrays) replaces what was there.
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(patch)) return patch;
  const out: { [k: string]: Json } = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The prefix of every file a hostile value of scenario k would create if it ever ran as code. */
export const PWNED = "om-pwned-";

/**
 * Scenario k's patch of the prod mesh: config values that still accept free text, each holding a
 * payload that, if any reader ran it as code, would create a marker file named PWNED-<nonce>-<n>
 * in /tmp and in / (a service's /tmp is private, / is not), plus values that look like systemd
 * specifiers, shell variables and escapes, which must arrive literally.
 */
export function hostilePatch(nonce: string, optimalosPackage: string): { [k: string]: Json } {
  let n = 0;
  const marker = () => `${PWNED}${nonce}-${++n}`;
  /** A fresh marker's `touch` of both places. */
  const touch = () => {
    const name = marker();
    return `touch /tmp/${name} /${name}`;
  };
  const n8nEnv = {
    OM_CMDSUB: `$(${touch()})`,
    OM_BACKTICKS: `\`${touch()}\``,
    OM_SEMICOLON: `x; ${touch()}`,
    OM_SINGLE_QUOTES: `'; ${touch()}; '`,
    OM_DOUBLE_QUOTES: `"; ${touch()}; "`,
    OM_ESCAPED_QUOTES: `\\"; ${touch()}; \\'; ${touch()}; echo \\`,
    OM_PARAMETER: `\${IFS:-$(${touch()})}\`${touch()}\``,
    OM_SHELLSHOCK: `() { :; }; ${touch()}`,
    OM_OPERATORS: `>/tmp/${marker()} | ${touch()} & ${touch()} && ${touch()} || ${touch()}`,
    OM_LITERAL: `%h $HOME \${PATH} \\ \\\\ "q" 'q' %n %% %%h $$ \\$X \\n \\t`,
    OM_SPACES: "  # leading and trailing spaces, a hash  ",
    OM_TRAILING_BACKSLASH: "ends in a backslash \\",
    OM_UNICODE: "ünïcödé ✓ 🙂 \u200b\u202e end",
    OM_EMPTY: "",
    OM_EQUALS: "a=b==c=",
  };
  const oracleOs = {
    OM_OS_CMDSUB: `$(${touch()})`,
    OM_OS_QUOTES: `'"'"'; ${touch()}; echo '"; ${touch()}; "`,
    OM_OS_LITERAL: `%h \${PATH} \\ "q" 'q' \`${touch()}\` %%`,
    OM_OS_PATH: `x; export PATH=/tmp/evil:$PATH`,
    OM_OS_SPACES: "  spaced  ",
    OM_OS_TRAILING_BACKSLASH: "x\\",
  };
  const cockpitOs = {
    OM_OS_DOUBLE_QUOTES: `"; ${touch()}; "`,
    OM_OS_BACKTICKS: `\`${touch()}\``,
    OM_OS_SEMICOLON: `; ${touch()}`,
    OM_OS_LITERAL: "%n $PORT ${PORT} \\$PORT 'x'",
  };
  // Only the /tmp marker (a description is at most 200 characters); `;` and `#` are allowed here.
  const short = () => `touch /tmp/${marker()}`;
  const description = `n8n %n %H %% %%n "double" 'single' $(${short()}) \`${short()}\` \${HOME} $PATH; ${short()} # | &`;
  const m1 = marker();
  const m2 = marker();
  const m3 = marker();
  const docsExec = [
    "/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/docs",
    `\`touch /tmp/${m1} /${m1}\``,
    "|&>*?!#()",
    `>/tmp/${m2} >/${m2}`,
    `&&touch /tmp/${m3} || touch /${m3} <(touch /tmp/${m3})`,
    "* ? [a] {b,c} ~ !! & - -- = @x +y :z #notacomment ünï✓",
  ].join(" ");
  return {
    nodes: {
      oracle: {
        optimalos: { package: optimalosPackage, env: oracleOs },
        services: {
          n8n: { env: n8nEnv, description },
          docs: { exec: docsExec },
        },
      },
      "hetzner-cockpit": { optimalos: { package: optimalosPackage, env: cockpitOs } },
    },
  };
}

/** NAME=value entries, NUL-separated as in /proc/PID/environ, parsed; the values as raw bytes. */
export function parseEnviron(raw: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    const entry = raw.subarray(start, i);
    const eq = entry.indexOf(0x3d);
    if (eq > 0) out.set(entry.subarray(0, eq).toString("utf8"), entry.subarray(eq + 1));
    start = i + 1;
  }
  return out;
}

/** Every declared variable is in `actual` with exactly the declared bytes; returns the mismatches. */
export function envMismatches(actual: Map<string, Buffer>, declared: Readonly<Record<string, string>>): string[] {
  return Object.entries(declared).flatMap(([k, v]) => {
    const got = actual.get(k);
    if (got === undefined) return [`${k}: missing (declared ${JSON.stringify(v)})`];
    return got.equals(Buffer.from(v, "utf8"))
      ? []
      : [`${k}: got ${JSON.stringify(got.toString("utf8"))} (bytes ${got.toString("hex")}), declared ${JSON.stringify(v)}`];
  });
}
