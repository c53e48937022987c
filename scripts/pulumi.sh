#!/usr/bin/env bash
# Runs the Pulumi CLI that scripts/ensure-pulumi.sh builds (first run: builds it), offline: the
# plugins come from its PULUMI_HOME, with no update check and no plugin downloads.
# usage: scripts/pulumi.sh ARGS...   (npm run pulumi -- ARGS...)
set -euo pipefail
env_lines=$("$(dirname "${BASH_SOURCE[0]}")/ensure-pulumi.sh" --quiet --print-env)
eval "$env_lines"
exec pulumi "$@"
