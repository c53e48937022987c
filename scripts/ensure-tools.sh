#!/usr/bin/env bash
# Installs the Debian tools the tests use, when they are missing and this machine can install
# them (root with apt-get): those that check generated text, and those the lab boots hosts with.
# Otherwise says which tests will skip.
set -euo pipefail

declare -A package_of=([cloud-init]=cloud-init [shellcheck]=shellcheck [systemd-analyze]=systemd
  [systemd-nspawn]=systemd-container [debootstrap]=debootstrap [ip]=iproute2 [ssh]=openssh-client)
missing=()
for tool in cloud-init shellcheck systemd-analyze systemd-nspawn debootstrap ip ssh; do
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
