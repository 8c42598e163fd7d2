#!/usr/bin/env bash
# Runs shellcheck on every shell script, the host steps as they are sent: lib.sh + step + main.sh
# (install-scripts.sh is sent alone).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for step in host/*.sh; do
  case "$step" in host/lib.sh | host/main.sh) continue ;; host/install-scripts.sh) shellcheck -s bash "$step" || status=1; continue ;; esac
  cat host/lib.sh "$step" host/main.sh | shellcheck -s bash - || { echo "in $step" >&2; status=1; }
done
mapfile -t others < <(find scripts test -name '*.sh' -not -path '*/node_modules/*')
[ "${#others[@]}" -eq 0 ] || shellcheck "${others[@]}" || status=1
exit "$status"
