// Pure renderers for the SSH trust between nodes: the key pair on the trusting node, its client
// entry with the pinned host key, and the public key in the trusted user's authorized_keys.
import { renderScript, shq } from "../shell/script";
import { bareName } from "../../text/escape";

function homeOf(user: string): string {
  return `"$(getent passwd ${shq(user)} | cut -d: -f6)"`;
}

/** On the trusting side's client: the key pair (generated once, kept on the node), printed public half. */
export function renderTrustKeygenScript(keyName: string, user: string): string {
  bareName(keyName, "an SSH trust key");
  return renderScript(`SSH key ${keyName} for ${user}: generated on first run, its public half printed.`, [
    {
      title: "Key pair, private half never leaves this node",
      body: [
        `home=${homeOf(user)}`,
        `install -d -m 0700 -o ${shq(user)} -g "$(id -gn ${shq(user)})" "$home/.ssh"`,
        `key="$home/.ssh/id_${keyName}"`,
        `if [ ! -f "$key" ]; then runuser -u ${shq(user)} -- ssh-keygen -q -t ed25519 -N '' -C ${shq(`optimal-mesh:${keyName}`)} -f "$key"; fi`,
        'cat "$key.pub"',
      ].join("\n"),
    },
  ]);
}

/** Replaces the marked block or line for this key in a file owned by `user`, creating it 0600. */
function replaceMarked(user: string, file: string, marker: string, content: string, block: boolean): string {
  const drop = block
    ? `awk -v b="# BEGIN ${marker}" -v e="# END ${marker}" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$f" > "$f.new"`
    : `grep -v -F ${shq(marker)} "$f" > "$f.new" || true`;
  return [
    `f=${file}`,
    `touch "$f"; chown ${shq(user)}: "$f"; chmod 0600 "$f"`,
    drop,
    ...(content === "" ? [] : [`printf '%s\\n' ${content} >> "$f.new"`]),
    'chown --reference="$f" "$f.new"; chmod 0600 "$f.new"; mv -f "$f.new" "$f"',
  ].join("\n");
}

export interface ClientTrust {
  readonly keyName: string;
  readonly user: string;
  readonly alias: string;
  readonly host: string;
  readonly targetUser: string;
  /** The target's host key line (`ssh-ed25519 AAAA...`), pinned in known_hosts. */
  readonly hostKey: string;
}

/** The `Host` entry and the pinned known_hosts line on the trusting side. */
export function renderTrustClientScript(t: ClientTrust): string {
  const marker = `optimal-mesh:${bareName(t.keyName, "an SSH trust key")}`;
  const block = [
    `# BEGIN ${marker}`,
    `Host ${t.alias}`,
    `  HostName ${t.host}`,
    `  User ${t.targetUser}`,
    `  IdentityFile ~/.ssh/id_${t.keyName}`,
    "  IdentitiesOnly yes",
    "  StrictHostKeyChecking yes",
    `# END ${marker}`,
  ];
  return renderScript(`SSH client entry ${t.alias} for ${t.user} (key ${t.keyName}), host key pinned.`, [
    { title: "Locate ~/.ssh", body: [`home=${homeOf(t.user)}`, `install -d -m 0700 -o ${shq(t.user)} -g "$(id -gn ${shq(t.user)})" "$home/.ssh"`].join("\n") },
    { title: `Host ${t.alias} in ~/.ssh/config`, body: replaceMarked(t.user, '"$home/.ssh/config"', marker, block.map(shq).join(" "), true) },
    {
      title: "Pinned host key in ~/.ssh/known_hosts (no ssh-keyscan)",
      body: replaceMarked(t.user, '"$home/.ssh/known_hosts"', marker, shq(`${[...new Set([t.alias, t.host])].join(",")} ${t.hostKey} ${marker}`), false),
    },
  ]);
}

/** On the trusted side: the public key from stdin in the user's authorized_keys, replacing an older one. */
export function renderTrustAuthorizeScript(keyName: string, user: string): string {
  const marker = `optimal-mesh:${bareName(keyName, "an SSH trust key")}`;
  return renderScript(`Authorize key ${keyName} for ${user} (public key on stdin).`, [
    {
      title: "Read and check the public key",
      // The provider hands over the previous command's stdout without its final newline.
      body: [
        'pub=""',
        'IFS= read -r pub || [ -n "$pub" ]',
        `case "$pub" in ssh-ed25519\\ *${marker}) ;; *) log "stdin is not the ${keyName} public key"; exit 2 ;; esac`,
      ].join("\n"),
    },
    {
      title: "authorized_keys",
      body: [
        `home=${homeOf(user)}`,
        `install -d -m 0700 -o ${shq(user)} -g "$(id -gn ${shq(user)})" "$home/.ssh"`,
        replaceMarked(user, '"$home/.ssh/authorized_keys"', marker, '"$pub"', false),
      ].join("\n"),
    },
  ]);
}

/** Removes the key from authorized_keys (the trust leaves the topology). */
export function renderTrustRevokeScript(keyName: string, user: string): string {
  const marker = `optimal-mesh:${bareName(keyName, "an SSH trust key")}`;
  return renderScript(`Revoke key ${keyName} for ${user}.`, [
    {
      title: "authorized_keys",
      body: [
        `home=${homeOf(user)}`,
        `if [ -f "$home/.ssh/authorized_keys" ]; then`,
        replaceMarked(user, '"$home/.ssh/authorized_keys"', marker, "", false),
        "fi",
      ].join("\n"),
    },
  ]);
}
