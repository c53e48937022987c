// Pure renderers for the scripts the node host runs over SSH. Each is bash with strict mode,
// safe to run twice, and takes secrets only on stdin.
import type { MeshSpec, NamedNode } from "../../stacks/schema";
import { renderScript, shq, type Step } from "../shell/script";
import { installBun, installOptimalos, installTailscale, joinTailnet, ROOT_PATH, TAILSCALE_AUTH_KEY_FILE, waitForFirstBoot } from "../shell/steps";
import { optimalosEnvExports, TAILNET_IPV4_TOKEN } from "./env";
import { bundleReaderBash } from "./bundle";
import { unitFileName } from "./units";

export const STATE_DIR = "/var/lib/optimal-mesh";

/** How long a unit may take to become active, how long a restarted one must then stay up, and how long OptimalOS may take to answer. */
export const HEALTH_TIMEOUT_SECONDS = { active: 30, settle: 3, http: 60 } as const;

/** The OptimalOS health URL as the node itself reaches it, as one shell word ($addr is its tailnet IPv4 in the script). */
export function localHealthUrl(node: NamedNode): string {
  const os = node.spec.optimalos;
  const host = os.bind === "tailnet" ? "${addr}" : "127.0.0.1";
  return `"http://${host}:${os.port}"${shq(os.healthPath)}`;
}

/** Reads the bundle, installs what changed atomically, restarts only what changed, gates on health, rolls back on failure. */
export function renderDeployScript(node: NamedNode, units: readonly string[]): string {
  const reader = bundleReaderBash();
  const os = node.spec.optimalos;
  const steps: Step[] = [
    {
      title: "Settings",
      body: [
        `units=(${units.map(shq).join(" ")})`,
        `state=${STATE_DIR}`,
        'install -d -m 0700 "$state"',
        'stage=$(mktemp -d "$state/stage.XXXXXX")',
        "trap 'rm -rf \"$stage\"' EXIT",
        'addr=""',
        "if command -v tailscale >/dev/null 2>&1; then addr=$(tailscale ip -4 2>/dev/null | head -n 1 || true); fi",
      ].join("\n"),
    },
    {
      title: reader.title,
      body: [
        ...reader.lines,
        `if grep -qs '${TAILNET_IPV4_TOKEN}' "$stage"/*; then`,
        '  if [ -z "$addr" ]; then log "this node has no tailnet address yet"; exit 1; fi',
        `  sed -i "s/${TAILNET_IPV4_TOKEN}/$addr/g" "$stage"/*`,
        "fi",
      ].join("\n"),
    },
    {
      title: "Install what changed (content or mode) atomically, keeping the previous version",
      body: [
        "declare -A restart=()",
        "changed=()",
        'mkdir -p "$stage/backup"',
        "for ((i = 0; i < n; i++)); do",
        "  target=${paths[i]}",
        '  if cmp -s "$stage/$i" "$target" && [ "$(stat -c %a "$target")" = "${modes[i]#0}" ]; then continue; fi',
        '  changed+=("$i"); restart[${owners[i]}]=1',
        '  if [ -e "$target" ]; then cp -p "$target" "$stage/backup/$i"; fi',
        '  install -d -m 0755 "$(dirname "$target")"',
        '  install -m "${modes[i]}" -o root -g root "$stage/$i" "$target.optimal-mesh.new"',
        '  mv -f "$target.optimal-mesh.new" "$target"',
        "done",
        "if [ ${#changed[@]} -gt 0 ]; then systemctl daemon-reload; fi",
        'systemctl enable --quiet "${units[@]/%/.service}"',
      ].join("\n"),
    },
  ];
  if (os.tailscaleServe) {
    steps.push({
      title: `Share OptimalOS's loopback port ${os.port} on the tailnet only`,
      body: `tailscale serve --bg --tcp=${os.port} tcp://127.0.0.1:${os.port} >/dev/null`,
    });
  }
  steps.push(
    {
      title: "Restart what changed; start what is not running",
      body: [
        "restarted=()",
        'for u in "${units[@]}"; do',
        '  if [ -n "${restart[$u]:-}" ]; then systemctl restart "$u.service"; restarted+=("$u")',
        '  elif ! systemctl is-active --quiet "$u.service"; then systemctl start "$u.service"; restarted+=("$u"); fi',
        "done",
      ].join("\n"),
    },
    {
      title: `Health gate: every unit active, the restarted ones still running ${HEALTH_TIMEOUT_SECONDS.settle}s later without a restart, OptimalOS answering its health URL`,
      body: [
        "healthy() {",
        "  local u",
        "  declare -A restarts=()",
        '  for u in "${units[@]}"; do',
        `    for _ in $(seq 1 ${HEALTH_TIMEOUT_SECONDS.active}); do`,
        '      if systemctl is-active --quiet "$u.service"; then break; fi',
        "      sleep 1",
        "    done",
        '    if ! systemctl is-active --quiet "$u.service"; then log "$u is not active"; return 1; fi',
        '    restarts[$u]=$(systemctl show -p NRestarts --value "$u.service")',
        "  done",
        "  # A unit whose process dies at once can look active for a moment: watch the restarted ones settle.",
        `  if [ \${#restarted[@]} -gt 0 ]; then sleep ${HEALTH_TIMEOUT_SECONDS.settle}; fi`,
        '  for u in "${restarted[@]}"; do',
        '    if ! systemctl is-active --quiet "$u.service" || [ "$(systemctl show -p NRestarts --value "$u.service")" != "${restarts[$u]}" ]; then',
        '      log "$u is not active: it stopped or restarted after starting"',
        "      return 1",
        "    fi",
        "  done",
        `  for _ in $(seq 1 ${HEALTH_TIMEOUT_SECONDS.http}); do`,
        `    if curl -fsS -o /dev/null --max-time 2 ${localHealthUrl(node)}; then return 0; fi`,
        "    sleep 1",
        "  done",
        '  log "OptimalOS does not answer its health URL"',
        "  return 1",
        "}",
      ].join("\n"),
    },
    {
      title: "On failure: restore the previous files, restart, and fail with the journal",
      body: [
        "if ! healthy; then",
        '  for i in "${changed[@]}"; do',
        '    if [ -e "$stage/backup/$i" ]; then cp -p "$stage/backup/$i" "${paths[i]}"; else rm -f "${paths[i]}"; fi',
        "  done",
        "  systemctl daemon-reload",
        '  for u in "${restarted[@]}"; do',
        '    if [ -e "/etc/systemd/system/$u.service" ]; then systemctl restart "$u.service" || true; else systemctl stop "$u.service" || true; fi',
        "  done",
        '  for u in "${restarted[@]}"; do journalctl -u "$u.service" -n 30 --no-pager >&2 || true; done',
        '  log "deploy failed; the previous files are back in place"',
        "  exit 1",
        "fi",
        'log "deployed ${#changed[@]} changed file(s); restarted: ${restarted[*]:-none}"',
      ].join("\n"),
    },
  );
  return renderScript(`Deploy the units of ${node.name}: ${units.map(unitFileName).join(", ")}.`, steps);
}

/** Stops and removes the node's units and their files (the node leaves the topology). */
export function renderRemoveScript(node: string, units: readonly string[], files: readonly string[]): string {
  return renderScript(`Remove the units of ${node}.`, [
    {
      title: "Stop, disable and delete",
      body: [
        `units=(${units.map(shq).join(" ")})`,
        'for u in "${units[@]}"; do systemctl disable --now "$u.service" 2>/dev/null || true; done',
        `rm -f ${files.map(shq).join(" ")}`,
        "systemctl daemon-reload",
      ].join("\n"),
    },
  ]);
}

/** Installs Tailscale and joins with the auth key read from stdin into a root-only file. */
export function renderBootstrapScript(node: string, tags: readonly string[]): string {
  return renderScript(`Bootstrap ${node} onto the tailnet (auth key on stdin).`, [
    installTailscale(),
    {
      title: "Keep the auth key from stdin in a root-only file",
      body: ["install -d -m 0700 /etc/optimal-mesh", `(umask 077 && head -n 1 > ${TAILSCALE_AUTH_KEY_FILE})`].join("\n"),
    },
    joinTailnet({ hostname: node, tags, authKeyFile: TAILSCALE_AUTH_KEY_FILE }),
  ]);
}

export function renderInstallScript(node: NamedNode): string {
  return renderScript(`Install Bun and OptimalOS on ${node.name}.`, [
    waitForFirstBoot(),
    installBun(),
    installOptimalos(node.spec.optimalos.package, optimalosEnvExports(node)),
  ]);
}

/** The heartbeat command line as shell words: each word of the topology's command quoted, {node} filled in. */
function heartbeatCommand(heartbeat: MeshSpec["heartbeat"], node: NamedNode): string {
  return heartbeat.command
    .split(" ")
    .map((word) => shq(word.replaceAll("{node}", node.name)))
    .join(" ");
}

/** Waits for OptimalOS, then registers the node (the heartbeat command from the topology). */
export function renderHeartbeatScript(heartbeat: MeshSpec["heartbeat"], node: NamedNode): string {
  return renderScript(`Register ${node.name} with its heartbeat once OptimalOS is healthy.`, [
    {
      title: "Wait for OptimalOS",
      body: [
        ...(node.spec.optimalos.bind === "tailnet" ? ["addr=$(tailscale ip -4 | head -n 1)"] : []),
        `for _ in $(seq 1 ${HEALTH_TIMEOUT_SECONDS.http}); do`,
        `  if curl -fsS -o /dev/null --max-time 2 ${localHealthUrl(node)}; then break; fi`,
        "  sleep 1",
        "done",
      ].join("\n"),
    },
    {
      title: "Heartbeat",
      body: [`export PATH=${ROOT_PATH}`, optimalosEnvExports(node), heartbeatCommand(heartbeat, node)].join("\n"),
    },
  ]);
}
