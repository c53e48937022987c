// Install and join steps shared by cloud-init (first boot) and the node host commands (day 2).
import { shq, type Step } from "./script";

/** Where Bun lives on every node; its bin directory holds the OptimalOS CLI. */
export const BUN_INSTALL = "/opt/bun";
export const OPTIMALOS_ENV_FILE = "/etc/optimalos/optimalos.env";
/** Where a machine keeps its single-use Tailscale auth key until it has joined (0600, removed after). */
export const TAILSCALE_AUTH_KEY_FILE = "/etc/optimal-mesh/tailscale-authkey";
/** The PATH of every root step that runs OptimalOS: fixed here, never taken from config. */
export const ROOT_PATH = `${BUN_INSTALL}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/** Adds a signed third-party apt repository and installs one package from it, unless present. */
function aptFromRepo(pkg: string, keyUrl: string, keyring: string, sourceLine: string): string {
  return [
    `if ! command -v ${pkg} >/dev/null 2>&1; then`,
    `  log "installing ${pkg}"`,
    "  # shellcheck source=/dev/null",
    "  . /etc/os-release",
    "  install -d -m 0755 /usr/share/keyrings",
    `  curl -fsSL "${keyUrl}" -o ${keyring}.tmp`,
    `  mv ${keyring}.tmp ${keyring}`,
    `  echo "${sourceLine}" > /etc/apt/sources.list.d/${pkg}.list`,
    "  apt-get update -q",
    `  apt-get install -y -q ${pkg}`,
    "fi",
  ].join("\n");
}

export function installTailscale(): Step {
  return {
    title: "Tailscale, from its signed apt repository",
    body: `${aptFromRepo(
      "tailscale",
      "https://pkgs.tailscale.com/stable/${ID}/${VERSION_CODENAME}.noarmor.gpg",
      "/usr/share/keyrings/tailscale-archive-keyring.gpg",
      "deb [signed-by=/usr/share/keyrings/tailscale-archive-keyring.gpg] https://pkgs.tailscale.com/stable/${ID} ${VERSION_CODENAME} main",
    )}\nsystemctl enable --now tailscaled`,
  };
}

export function installCloudflared(): Step {
  return {
    title: "cloudflared, from Cloudflare's signed apt repository",
    body: aptFromRepo(
      "cloudflared",
      "https://pkg.cloudflare.com/cloudflare-main.gpg",
      "/usr/share/keyrings/cloudflare-main.gpg",
      "deb [signed-by=/usr/share/keyrings/cloudflare-main.gpg] https://pkg.cloudflare.com/cloudflared any main",
    ),
  };
}

export interface JoinTailnet {
  /** The node's Tailscale name. */
  readonly hostname: string;
  readonly tags: readonly string[];
  /** Root-only file holding the single-use auth key; removed once used. */
  readonly authKeyFile: string;
}

/** Joins the tailnet with the key from a file (never argv), then waits until the node has its address. */
export function joinTailnet(args: JoinTailnet): Step {
  const key = shq(args.authKeyFile);
  return {
    title: `Join the tailnet as ${args.hostname}`,
    body: [
      "if ! tailscale status >/dev/null 2>&1; then",
      `  log ${shq(`joining the tailnet as ${args.hostname}`)}`,
      `  tailscale up --auth-key=file:${key} --hostname=${shq(args.hostname)} --advertise-tags=${shq(args.tags.join(","))}`,
      "fi",
      `rm -f ${key}`,
      "for _ in $(seq 1 60); do",
      "  if tailscale ip -4 >/dev/null 2>&1; then break; fi",
      "  sleep 2",
      "done",
      'log "tailnet address: $(tailscale ip -4)"',
    ].join("\n"),
  };
}

/**
 * Waits until the machine's first boot has finished, where cloud-init runs one: a new server is on
 * the tailnet (and so reachable for the node host's commands) while its first boot still installs
 * Bun and OptimalOS, and the two must not install at once.
 */
export function waitForFirstBoot(): Step {
  return {
    title: "Wait for the first boot (cloud-init), where there is one",
    body: [
      "if command -v cloud-init >/dev/null 2>&1; then",
      '  log "waiting for cloud-init to finish the first boot"',
      "  cloud-init status --wait >/dev/null 2>&1 || true",
      "fi",
    ].join("\n"),
  };
}

export function installBun(): Step {
  return {
    title: "Bun, into /opt/bun, unless present",
    body: [
      `if [ ! -x ${BUN_INSTALL}/bin/bun ]; then`,
      '  log "installing bun"',
      `  curl -fsSL https://bun.sh/install | BUN_INSTALL=${BUN_INSTALL} bash`,
      "fi",
      `ln -sf ${BUN_INSTALL}/bin/bun /usr/local/bin/bun`,
    ].join("\n"),
  };
}

/**
 * Installs OptimalOS from `pkg` with bun and runs `optimalos init` once per package spec, with
 * OptimalOS's settings as `env` gives them (export lines) and the fixed root PATH.
 */
export function installOptimalos(pkg: string, env: string): Step {
  const marker = "/var/lib/optimal-mesh/optimalos-installed";
  return {
    title: `OptimalOS (${pkg}), installed once per package spec`,
    body: [
      `if [ "$(cat ${marker} 2>/dev/null || true)" != ${shq(pkg)} ]; then`,
      `  log ${shq(`installing OptimalOS from ${pkg}`)}`,
      `  export PATH=${ROOT_PATH}`,
      `  BUN_INSTALL=${BUN_INSTALL} ${BUN_INSTALL}/bin/bun add -g ${shq(pkg)}`,
      `  ln -sf ${BUN_INSTALL}/bin/optimalos /usr/local/bin/optimalos`,
      ...env.split("\n").map((line) => `  ${line}`),
      "  optimalos init",
      `  install -d -m 0755 ${marker.slice(0, marker.lastIndexOf("/"))}`,
      `  printf '%s\\n' ${shq(pkg)} > ${marker}`,
      "fi",
    ].join("\n"),
  };
}
