// The grammar of every config string that reaches a rendered file, a resource name or an API.
// Each field is rejected unless it matches its grammar (docs/threat-model.md): a value that fits
// cannot end a line, open a quote, start a command or name a specifier in the file it lands in.
// The renderers still escape for their own language; these rules are the first of two walls.

/** A grammar: the pattern and what to tell the operator when a value does not match it. */
export interface Grammar {
  readonly pattern: RegExp;
  readonly message: string;
}

const g = (pattern: RegExp, message: string): Grammar => ({ pattern, message });

/** A Pulumi ESC environment name, as a stack file imports it: project/environment (or org/project/environment). */
export const ESC_ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(?:\/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}){0,2}$/;

/** A Tailscale machine name, also a MagicDNS label: lowercase letters, digits and inner hyphens. */
export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A lowercase DNS name with at least two labels, e.g. fabric.optimal.miami. */
export const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
export const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** Names of keys in the topology that become resource names, file names or policy comments. */
export const KEY_NAME = /^[a-z][a-z0-9-]{0,40}$/;

export const GRAMMAR = {
  /** One line for humans: no control or format characters (newline, CR, NUL, bidi overrides), no lone surrogates, no backslash, no space at either end (systemd strips it). */
  text: g(
    /^(?! )[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\\]{1,200}(?<! )$/u,
    "must be one line of at most 200 characters without control characters or backslashes, not starting or ending with a space",
  ),
  unixUser: g(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name such as root or carlos"),
  envName: g(/^[A-Z_][A-Z0-9_]{0,127}$/, "environment names are UPPER_SNAKE_CASE"),
  /** Any one line: the env-file renderers escape it for systemd and refuse what Docker cannot carry. */
  envValue: g(/^[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}]{0,4096}$/u, "must be one line (at most 4096 characters) without control characters"),
  capability: g(/^[a-z][a-z0-9-]{0,30}$/, "must be a lowercase word usable in a Tailscale tag, e.g. gpu"),
  tag: g(/^tag:[a-z][a-z0-9-]{0,62}$/, "must be tag:name (lowercase letters, digits, hyphens)"),
  /** An absolute path of plain path characters: nothing systemd or a shell would read as syntax. */
  absolutePath: g(/^\/(?:[A-Za-z0-9._@+-]+(?:\/[A-Za-z0-9._@+-]+)*)?$/, "must be an absolute path of letters, digits and . _ @ + - such as /srv/strapi"),
  /**
   * ExecStart: an absolute program path, then arguments separated by single spaces. No quotes,
   * backslashes, %, $ or ; : each means something to systemd's command-line parser.
   */
  exec: g(
    /^\/[A-Za-z0-9._@+/-]+(?: [^\s"'\\%$;\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]+)*$/u,
    "must be an absolute program path and its arguments, separated by single spaces, without quotes, \\ % $ ; or control characters",
  ),
  image: g(
    /^[a-z0-9][a-z0-9._/-]{0,254}(?::[A-Za-z0-9._-]{1,128})?(?:@sha256:[0-9a-f]{64})?$/,
    "must be an image reference such as arizephoenix/phoenix:version-8",
  ),
  /** A URL path (and query) of unreserved characters, as curl is given it inside a quoted word. */
  healthPath: g(
    /^\/[A-Za-z0-9._~/-]{0,200}(?:\?[A-Za-z0-9._~=&-]{0,200})?$/,
    "must be an absolute URL path such as /health (letters, digits, . _ ~ - /, an optional ?query of the same and = &)",
  ),
  /** What `bun add -g` takes: an npm package name with an optional @version, @range or @tag. */
  packageSpec: g(
    /^(?:@[a-z0-9][a-z0-9._-]{0,213}\/)?[a-z0-9][a-z0-9._-]{0,213}(?:@[A-Za-z0-9._+^~-]{1,64})?$/,
    "must be an npm package name with an optional @version or @tag, such as optimalos or optimalos@1.4.2",
  ),
  hostKey: g(/^(?:ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/]{16,1024}={0,2}$/, "must be one host key line such as 'ssh-ed25519 AAAA...'"),
  /** Where to reach a node before it joins: an IPv4 address or a DNS name. */
  address: g(
    new RegExp(`^(?:${IPV4.source.slice(1, -1)}|(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)$`),
    "must be an IPv4 address or a DNS name such as 192.168.1.20 or pop-os.lan",
  ),
  hcloudName: g(/^[a-z0-9][a-z0-9.-]{0,62}$/, "must be a Hetzner name such as ccx13, ash or ubuntu-24.04"),
  tunnelName: g(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, . _ - (no spaces), starting with a letter or digit"),
  /** An origin on the hosting node; the rules then require a local host. */
  origin: g(/^https?:\/\/(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:]{2,39}\])(?::[0-9]{1,5})?$/, "must be an origin such as http://localhost:3000"),
  email: g(
    /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*$/,
    "must be an email (a Tailscale login such as alice@example.com or alice@github)",
  ),
  /** The heartbeat: a program name or absolute path, then words; {node} stands for the node's name. */
  heartbeat: g(
    /^(?:[a-z][a-z0-9-]{0,63}|\/[A-Za-z0-9._@+/-]+)(?: (?:[A-Za-z0-9._/=:@+,-]|\{node\})+)*$/,
    "must be a program name (or absolute path) and words of letters, digits, . _ / = : @ + , - or {node}, separated by single spaces",
  ),
} as const satisfies Record<string, Grammar>;

/**
 * Environment names the topology may not set: they decide which programs and libraries a root
 * process loads (PATH picks the interpreter of `#!/usr/bin/env` scripts), not how a service behaves.
 */
export const RESERVED_ENV =
  /^(?:PATH|LD_[A-Z0-9_]*|NODE_OPTIONS|NODE_PATH|BUN_INSTALL|BUN_OPTIONS|BUN_CONFIG_[A-Z0-9_]*|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|IFS|HOME|SYSTEMD_[A-Z0-9_]*|GCONV_PATH|PYTHONPATH|PYTHONSTARTUP|PERL5LIB|PERL5OPT|RUBYOPT|RUBYLIB)$/;

/**
 * Cloudflare matches an ingress `path` with Go's regexp (RE2). A JavaScript RegExp accepts more
 * (lookaround, back-references); those are refused, and so are control characters.
 */
export function ingressPathProblem(path: string): string | undefined {
  if (path.length > 500) return "must be at most 500 characters";
  if (/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u.test(path)) return "must not contain control characters";
  if (/\(\?<?[=!]/.test(path)) return "lookahead and lookbehind are not supported by cloudflared (Go regexp)";
  if (/\\[1-9]|\\k</.test(path)) return "back-references are not supported by cloudflared (Go regexp)";
  try {
    new RegExp(path, "u");
  } catch (err) {
    return `is not a valid regular expression: ${(err as Error).message}`;
  }
  return undefined;
}
