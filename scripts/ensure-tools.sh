#!/usr/bin/env bash
# Installs the tools the tests check generated text with (Debian packages), when they are missing
# and this machine can install them (root with apt-get). Otherwise says which tests will skip.
set -euo pipefail

declare -A package_of=([cloud-init]=cloud-init [shellcheck]=shellcheck [systemd-analyze]=systemd)
missing=()
for tool in cloud-init shellcheck systemd-analyze; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages=()
for tool in "${missing[@]}"; do packages+=("${package_of[$tool]}"); done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: installing ${packages[*]} (for ${missing[*]})"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  echo "ensure-tools: done"
else
  echo "ensure-tools: ${missing[*]} missing and not installable here (needs root and apt-get);" \
    "the tests that check text with them will be skipped (CI installs them and never skips)."
fi
