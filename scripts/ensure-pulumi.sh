#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted node programs and "$PATH" are meant literally
# Builds the real Pulumi toolchain this project runs with, from Go modules (the Go module proxy is
# the only source this project's machines can reach: no get.pulumi.com, no GitHub releases):
#   - the CLI              github.com/pulumi/pulumi/pkg/v3 ./cmd/pulumi, at the @pulumi/pulumi version
#   - the Node.js host     github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
#   - resource plugins     github.com/pulumi/pulumi-<name>/provider, one per @pulumi/<name> SDK
# into a cache outside the repo, keyed by version, and installs the plugins into a PULUMI_HOME there,
# so the engine finds each plugin by version and never downloads one. A second run only checks files.
#
# usage: scripts/ensure-pulumi.sh [--print-env] [--quiet] [--retry] [--strict]
#   (default)    build what is missing, then print the bin dir
#   --print-env  print `export` lines (PATH, PULUMI_HOME, offline switches) on stdout instead
#   --quiet      no lines for what is already there (builds, failures and warnings still go to stderr)
#   --retry      try again the pieces whose build failed before (failures are remembered per version)
#   --strict     exit 3 when any piece is missing (default: only a missing CLI is an error)
# env: OPTIMAL_MESH_CACHE (default ~/.cache/optimal-mesh); PULUMI_CLI_VERSION (default: the
#   @pulumi/pulumi version); PULUMI_COMMIT_<NAME> (a commit for a plugin, or LANGUAGE_NODEJS, that
#   the table below lacks); GOPROXY/GONOSUMDB etc. pass through to the go command.
set -euo pipefail

print_env=0 quiet=0 retry=0 strict=0
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    --quiet) quiet=1 ;;
    --retry) retry=1 ;;
    --strict) strict=1 ;;
    -h | --help) sed -n '3,19p' "$0"; exit 0 ;;
    *) echo "ensure-pulumi: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "ensure-pulumi: $*" >&2; }
info() { [ "$quiet" = 1 ] || say "$@"; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${OPTIMAL_MESH_CACHE:-$HOME/.cache/optimal-mesh}
pcache=$cache/pulumi

command -v go >/dev/null || { say "go is not on PATH (Go 1.26 at /usr/local/go/bin is expected)"; exit 1; }
command -v node >/dev/null || { say "node is not on PATH"; exit 1; }

# Commits for pieces whose Go module has no tag of its own (read from the upstream repositories'
# tags). PULUMI_COMMIT_<NAME> overrides; for the language host the proxy's Origin info of
# sdk/v3@vV is tried before this table, for a plugin the table is the only source (see below).
#   language-nodejs@V: the commit of tag vV in pulumi/pulumi (same commit as sdk/vV).
#   <plugin>@V: the commit of the release tag vV. Not the sdk/vV tag: that one is a child commit
#   that deletes provider/, so only the Go SDK is in it.
declare -A pinned_commit=(
  [language-nodejs@3.248.0]=a88168d865b7fd428e5a929cc54aeceaf72d203f
  [command@1.2.1]=7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25
)

# --- versions, from what npm installed (or the lock file before `npm ci`) ---------------------
# One line each: "pulumi VERSION", then "plugin NAME VERSION" for every @pulumi/* resource SDK
# (package.json field pulumi.resource; pulumi.version is the plugin version it asks the engine for).
versions=$(node -e '
  const fs = require("fs"), path = require("path");
  const root = process.argv[1], dir = path.join(root, "node_modules", "@pulumi");
  const lines = [];
  if (fs.existsSync(path.join(dir, "pulumi", "package.json"))) {
    for (const name of fs.readdirSync(dir).sort()) {
      let p; try { p = JSON.parse(fs.readFileSync(path.join(dir, name, "package.json"), "utf8")); } catch { continue; }
      if (name === "pulumi") lines.unshift(`pulumi ${p.version}`);
      else if (p.pulumi && p.pulumi.resource) lines.push(`plugin ${p.pulumi.name || name} ${p.pulumi.version || p.version}`);
    }
  } else {
    // The lock file has no pulumi.resource field: every top-level @pulumi/* package is taken as a
    // resource SDK except the ones known not to be (the SDK itself and the policy SDK).
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
    for (const [key, p] of Object.entries(lock.packages || {})) {
      const m = /^node_modules\/@pulumi\/([^/]+)$/.exec(key);
      if (!m) continue;
      if (m[1] === "pulumi") lines.unshift(`pulumi ${p.version}`);
      else if (!["policy"].includes(m[1])) lines.push(`plugin ${m[1]} ${p.version}`);
    }
  }
  console.log(lines.join("\n"));
' "$root")
sdk_version=$(awk '$1 == "pulumi" { print $2 }' <<<"$versions")
[ -n "$sdk_version" ] || { say "no @pulumi/pulumi in node_modules or package-lock.json"; exit 1; }
cli_version=${PULUMI_CLI_VERSION:-$sdk_version}
cli_version=${cli_version#v}
mapfile -t plugins < <(awk '$1 == "plugin" { print $2 " " $3 }' <<<"$versions")

bin=$pcache/cli-v$cli_version/bin  # the CLI and the language host, side by side: the CLI looks there
home=$pcache/home                  # PULUMI_HOME: plugins/resource-NAME-vVERSION/, credentials
srcroot=$pcache/src                # generated wrapper modules, one per piece and version
faildir=$pcache/failed             # NAME-vVERSION.log of a failed build, so later runs don't retry it
mkdir -p "$bin" "$home/plugins" "$srcroot" "$faildir"

print_result() {
  if [ "$print_env" = 1 ]; then
    printf 'export PATH=%q:"$PATH"\n' "$bin"
    printf 'export PULUMI_HOME=%q\n' "$home"
    echo 'export PULUMI_SKIP_UPDATE_CHECK=true'
    echo 'export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true'
  else
    echo "$bin"
  fi
}

plugin_installed() { # NAME VERSION: the layout the CLI's plugin cache uses; .partial = unfinished
  local dir=$home/plugins/resource-$1-v$2
  [ -x "$dir/pulumi-resource-$1" ] && [ ! -e "$dir.partial" ]
}

missing=()
all_present() {
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] || return 1
  local p
  for p in "${plugins[@]}"; do plugin_installed "${p% *}" "${p#* }" || return 1; done
}

# Fast path: everything is there; no go, no lock, no network.
if all_present; then
  info "pulumi v$cli_version, pulumi-language-nodejs and ${#plugins[@]} plugins ready in $pcache"
  print_result
  exit 0
fi

# One build at a time per cache (two test runs may start this together): the second waits.
exec 9>"$pcache/.lock"
if ! flock -n 9; then
  say "waiting for another ensure-pulumi run (lock $pcache/.lock)"
  flock 9
fi

export GOMODCACHE=${GOMODCACHE:-$cache/go/mod} GOCACHE=${GOCACHE:-$cache/go/build}
export GOFLAGS="-mod=mod -buildvcs=false"

# run_logged LABEL LOG CMD...: runs CMD at low priority with its output in LOG, printing a line
# every minute so a long cold build never looks hung.
run_logged() {
  local label=$1 log=$2 start rc=0 ticker
  shift 2
  start=$(date +%s)
  # The ticker drops the lock's fd and takes its sleep with it when stopped, so nothing it
  # started outlives this run holding the lock.
  (
    exec 9>&-
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 60 & nap=$!
      wait "$nap"
      say "  ... still $label ($(($(date +%s) - start))s, log: $log)"
    done
  ) &
  ticker=$!
  nice -n 10 "$@" >>"$log" 2>&1 || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return $rc
}

# fail [-q] PIECE LOG MESSAGE: remember and report a failed piece (-q: the message says it all,
# don't print the log's tail).
fail() {
  local tail_lines=15
  [ "$1" = -q ] && { tail_lines=0; shift; }
  local piece=$1 log=$2
  shift 2
  { echo "$*"; echo "--- log: $log"; tail -n 40 "$log" 2>/dev/null || true; } >"$faildir/$piece.log"
  say "FAILED $piece: $*"
  [ "$tail_lines" = 0 ] || tail -n "$tail_lines" "$log" 2>/dev/null | sed 's/^/    /' >&2 || true
  say "  (full log $log; remembered in $faildir/$piece.log; --retry to try again)"
  missing+=("$piece")
}

failed_before() { # PIECE: true (and says so) when an earlier run failed and --retry is not given
  [ "$retry" = 0 ] && [ -f "$faildir/$1.log" ] || return 1
  info "skipping $1: its build failed before, see $faildir/$1.log (--retry to try again)"
  missing+=("$1")
}

# download_json MODULE@QUERY LOG: `go mod download -json`; prints the JSON, or fails with the
# go command's own error text in LOG.
download_json() {
  local out rc=0
  out=$(go mod download -json "$1" 2>>"$2") || rc=$?
  echo "$out" >>"$2"
  [ "$rc" = 0 ] && ! grep -q '"Error"' <<<"$out" || return 1
  echo "$out"
}
json_field() { # FIELD.PATH < JSON: prints the field, or nothing (also for no or bad JSON)
  node -e 'let j; try { j = JSON.parse(require("fs").readFileSync(0, "utf8")); } catch { process.exit(0); }
    const v = process.argv[1].split(".").reduce((o, k) => o && o[k], j); if (v !== undefined) console.log(v)' "$1"
}
go_error() { grep -m1 -o '"Error": ".*"' "$1" | sed 's/^"Error": //' || tail -n 1 "$1"; }  # LOG: go's first error

# resolve_commit KEY SDK_MODULE@VERSION: PULUMI_COMMIT_<KEY> env, else the proxy's Origin of the
# tagged module (only used when ORIGIN_IS_RELEASE=1), else the pinned table.
resolve_commit() {
  local key=$1 tagged=$2 origin_is_release=$3 log=$4 var commit="" json
  var=PULUMI_COMMIT_$(tr 'a-z-' 'A-Z_' <<<"${key%@*}")
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  if [ "$origin_is_release" = 1 ] && json=$(download_json "$tagged" "$log" 2>/dev/null); then
    commit=$(json_field Origin.Hash <<<"$json")
  fi
  [ -n "$commit" ] || commit=${pinned_commit[$key]:-}
  echo "$commit"
}

# write_wrapper DIR WRAPPER_MODULE UPSTREAM_GOMOD SAME_RELEASE... : a go.mod for a throwaway module
# that builds an upstream main package. Upstream's go.mod `replace` lines are ignored for a
# dependency, so they are repeated here: module => module@version as is; a local-path replace
# (=> ../sdk) only when the path is a module of the same release, given as MODULE=VERSION; any
# other local-path replace (a git submodule, a nested module) cannot come from the proxy: fail.
write_wrapper() {
  local dir=$1 wrapper=$2 upstream_gomod=$3
  shift 3
  mkdir -p "$dir"
  local gov
  gov=$(awk '$1 == "go" { print $2; exit }' "$upstream_gomod")
  printf 'module %s\n\ngo %s\n' "$wrapper" "$gov" >"$dir/go.mod"
  go mod edit -json "$upstream_gomod" | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const same = Object.fromEntries(process.argv.slice(1).map((s) => s.split("=")));
    let bad = [];
    for (const r of j.Replace || []) {
      const old = r.Old.Version ? `${r.Old.Path}@${r.Old.Version}` : r.Old.Path;
      if (r.New.Version) console.log(`-replace=${old}=${r.New.Path}@${r.New.Version}`);
      else if (same[r.Old.Path]) console.log(`-replace=${old}=${r.Old.Path}@${same[r.Old.Path]}`);
      else bad.push(`${old} => ${r.New.Path}`);
    }
    if (bad.length) { console.error("local replace that no Go module provides: " + bad.join(", ")); process.exit(1); }
  ' "$@" >"$dir/replaces" || return 1
  local r
  while read -r r; do (cd "$dir" && go mod edit "$r"); done <"$dir/replaces"
}

since() { echo "$(($(date +%s) - $1))s"; }

# --- the CLI -------------------------------------------------------------------------------------
build_cli() {
  local v=$cli_version piece=pulumi-v$cli_version dir=$srcroot/pulumi-v$cli_version t0
  local log=$dir.log
  [ -x "$bin/pulumi" ] && { info "pulumi v$v present"; return 0; }
  failed_before "$piece" && return 0
  say "building pulumi CLI v$v (github.com/pulumi/pulumi/pkg/v3@v$v ./cmd/pulumi; cold: ~5 min, log $log)"
  t0=$(date +%s)
  rm -rf "$dir" && mkdir -p "$dir" && : >"$log"
  local json gomod
  json=$(download_json "github.com/pulumi/pulumi/pkg/v3@v$v" "$log") || { fail -q "$piece" "$log" "go mod download github.com/pulumi/pulumi/pkg/v3@v$v failed: $(go_error "$log")"; return 0; }
  gomod=$(json_field GoMod <<<"$json")
  # pkg/go.mod replaces sdk/v3 => ../sdk: the published sdk/v3 of the same version is that.
  write_wrapper "$dir" optimal-mesh.local/pulumi-cli "$gomod" "github.com/pulumi/pulumi/sdk/v3=v$v" 2>>"$log" ||
    { fail "$piece" "$log" "cannot repeat pkg/go.mod's replaces"; return 0; }
  (cd "$dir" && go mod edit -require="github.com/pulumi/pulumi/pkg/v3@v$v" -require="github.com/pulumi/pulumi/sdk/v3@v$v")
  # Flags as upstream's release build (.goreleaser.yml): -trimpath, these tags, version via -X.
  if run_logged "building pulumi" "$log" env -C "$dir" go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" \
    -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi; then
    mv "$bin/pulumi.tmp" "$bin/pulumi"
    say "built pulumi v$v in $(since "$t0")"
  else
    fail "$piece" "$log" "go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi failed"
  fi
}

# --- the Node.js language host -----------------------------------------------------------------
build_language_host() {
  local v=$cli_version piece=pulumi-language-nodejs-v$cli_version dir=$srcroot/pulumi-language-nodejs-v$cli_version
  local log=$dir.log mod=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 t0 commit json gomod
  [ -x "$bin/pulumi-language-nodejs" ] && { info "pulumi-language-nodejs v$v present"; return 0; }
  failed_before "$piece" && return 0
  rm -rf "$dir" && mkdir -p "$dir" && : >"$log"
  t0=$(date +%s)
  # No tag of its own: take the commit of tag vV (the sdk/v3 tag points at the same commit).
  commit=$(resolve_commit "language-nodejs@$v" "github.com/pulumi/pulumi/sdk/v3@v$v" 1 "$log")
  [ -n "$commit" ] || { fail -q "$piece" "$log" "no commit known for tag v$v (set PULUMI_COMMIT_LANGUAGE_NODEJS)"; return 0; }
  say "building pulumi-language-nodejs v$v ($mod@${commit:0:12}; seconds once the CLI is built: same packages, log $log)"
  json=$(download_json "$mod@$commit" "$log") || { fail -q "$piece" "$log" "go mod download $mod@$commit failed: $(go_error "$log")"; return 0; }
  gomod=$(json_field GoMod <<<"$json")
  echo "resolved $mod@$(json_field Version <<<"$json")" >>"$log"
  # Its go.mod replaces pkg/v3 and sdk/v3 with the checkout: the published modules of release vV.
  write_wrapper "$dir" optimal-mesh.local/pulumi-language-nodejs "$gomod" \
    "github.com/pulumi/pulumi/sdk/v3=v$v" "github.com/pulumi/pulumi/pkg/v3=v$v" 2>>"$log" ||
    { fail "$piece" "$log" "cannot repeat its go.mod's replaces"; return 0; }
  (cd "$dir" && go mod edit -require="$mod@$(json_field Version <<<"$json")" \
    -require="github.com/pulumi/pulumi/pkg/v3@v$v" -require="github.com/pulumi/pulumi/sdk/v3@v$v")
  if run_logged "building pulumi-language-nodejs" "$log" env -C "$dir" go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" \
    -o "$bin/pulumi-language-nodejs.tmp" "$mod"; then
    mv "$bin/pulumi-language-nodejs.tmp" "$bin/pulumi-language-nodejs"
    say "built pulumi-language-nodejs v$v in $(since "$t0")"
  else
    fail "$piece" "$log" "go build $mod failed"
  fi
}

# --- one resource plugin -----------------------------------------------------------------------
build_plugin() {
  local name=$1 v=$2
  local piece=resource-$name-v$v dir=$srcroot/resource-$name-v$v
  local log=$dir.log t0 major suffix="" mod sdkmod commit json gomod moddir cmddir pv
  plugin_installed "$name" "$v" && { info "plugin $name v$v present"; return 0; }
  [ -x "$bin/pulumi" ] || { say "skipping plugin $name v$v: no CLI to install it with"; missing+=("$piece"); return 0; }
  failed_before "$piece" && return 0
  rm -rf "$dir" && mkdir -p "$dir/cmd" && : >"$log"
  t0=$(date +%s)
  major=${v%%.*}
  [ "$major" -ge 2 ] && suffix=/v$major
  mod=github.com/pulumi/pulumi-$name/provider$suffix
  sdkmod=github.com/pulumi/pulumi-$name/sdk$suffix
  # The provider module has no tags (the repos tag vX and sdk/vX only): it resolves by commit.
  commit=$(resolve_commit "$name@$v" "$sdkmod@v$v" 0 "$log")
  if [ -z "$commit" ]; then
    local hint
    hint=$(download_json "$sdkmod@v$v" "$log" 2>/dev/null | json_field Origin.Hash || true)
    if [ -n "$hint" ]; then hint="tag sdk/v$v is $hint, the release commit is its parent"
    else hint="$sdkmod@v$v: $(go_error "$log")"; fi
    fail -q "$piece" "$log" "no release commit known for pulumi-$name v$v (the commit of tag v$v; $hint);" \
      "set PULUMI_COMMIT_$(tr 'a-z-' 'A-Z_' <<<"$name") or add it to the table in this script"
    return 0
  fi
  say "building plugin $name v$v ($mod@${commit:0:12}; cold: 1 min (command) to much longer (bridged), log $log)"
  json=$(download_json "$mod@$commit" "$log") || { fail -q "$piece" "$log" "go mod download $mod@$commit failed: $(go_error "$log")"; return 0; }
  pv=$(json_field Version <<<"$json")
  gomod=$(json_field GoMod <<<"$json")
  moddir=$(json_field Dir <<<"$json")
  cmddir=$moddir/cmd/pulumi-resource-$name
  [ -f "$cmddir/main.go" ] || { fail "$piece" "$log" "$mod@$pv has no cmd/pulumi-resource-$name/main.go"; return 0; }
  echo "resolved $mod@$pv" >>"$log"
  write_wrapper "$dir" "optimal-mesh.local/pulumi-resource-$name" "$gomod" "$sdkmod=v$v" 2>>"$log" ||
    { fail "$piece" "$log" "$mod's go.mod $(tail -n 1 "$log")"; return 0; }
  (cd "$dir" && go mod edit -require="$mod@$pv")
  # Upstream's own main package, as published in the module (main.go, generate.go, schema.json):
  # bridged providers embed schema-embed.json, which `go generate` writes from schema.json with
  # the version set, exactly as upstream's Makefile does (VERSION=X go generate).
  find "$cmddir" -maxdepth 1 -type f \( -name '*.go' ! -name '*_test.go' -o -name '*.json' \) -exec cp {} "$dir/cmd/" \;
  chmod -R u+w "$dir/cmd"
  if ! run_logged "generating $name's schema-embed.json" "$log" env -C "$dir/cmd" VERSION="$v" go generate ./...; then
    fail "$piece" "$log" "go generate (schema-embed.json) failed"; return 0
  fi
  # Upstream's Makefile: CGO_ENABLED=0, -s -w, and the version through -X .../pkg/version.Version.
  if ! run_logged "building plugin $name" "$log" env -C "$dir" CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $mod/pkg/version.Version=$v" -o "$dir/pulumi-resource-$name" ./cmd; then
    fail "$piece" "$log" "go build of pulumi-resource-$name failed"; return 0
  fi
  # Installed through the CLI itself, so the plugin cache layout is whatever this CLI expects.
  if ! PULUMI_HOME=$home PULUMI_SKIP_UPDATE_CHECK=true "$bin/pulumi" plugin install resource "$name" "$v" \
    --file "$dir/pulumi-resource-$name" --reinstall >>"$log" 2>&1; then
    fail "$piece" "$log" "pulumi plugin install resource $name $v --file failed"; return 0
  fi
  rm -f "$dir/pulumi-resource-$name"  # the installed copy is the one kept
  say "built and installed plugin $name v$v in $(since "$t0")"
}

build_cli
build_language_host
for p in "${plugins[@]}"; do build_plugin "${p% *}" "${p#* }"; done

if [ ! -x "$bin/pulumi" ]; then
  say "no Pulumi CLI: see the failure above"
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "missing: ${missing[*]} (failed builds: $faildir; --retry to try again; the rest is ready in $pcache)"
  [ "$strict" = 1 ] && { print_result; exit 3; }
else
  info "all ready in $pcache"
fi
print_result
