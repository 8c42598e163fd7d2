# shellcheck shell=bash
# Installs this program's step scripts on the host for one stack (install), where the steps' commands run
# them: WB_SCRIPTS_DIR/WB_STACK/<step>-v<version>.sh, root only; or removes them (remove), once every step
# of the stack's node has been removed. Run to install when a step's version is new on the host (see
# steps.ts); older versions stay until the stack's node is destroyed (a step's state may still name one).
#   stdin     (install) for each file, a line "file <name> <bytes>", then exactly that many bytes
#   WB_OWNER  (remove) the stack node that removes them: a host another node of the stack took over
#             (re-addressed) keeps them
set -euo pipefail
umask 077
fail() { printf 'install-scripts: ERROR: %s\n' "$*" >&2; exit 1; }
[[ "${WB_STACK:-}" =~ ^[A-Za-z0-9._-]+$ ]] || fail "WB_STACK must name the stack"
dir="$WB_SCRIPTS_DIR/$WB_STACK"

if [ "${1:-}" = remove ]; then
  owner="${WB_SCRIPTS_DIR%/*}/owner"
  if [ -s "$owner" ] && [ "$(cat "$owner")" != "${WB_OWNER:-}" ]; then
    echo "scripts left in $dir: the host is now managed by $(cat "$owner")"
    exit 0
  fi
  rm -rf "$dir"
  if rmdir "$WB_SCRIPTS_DIR" 2>/dev/null; then rmdir "${WB_SCRIPTS_DIR%/*}" 2>/dev/null || true; fi
  echo "removed $dir"
  exit 0
fi

mkdir -p "$dir"
chmod 0700 "${WB_SCRIPTS_DIR%/*}" "$WB_SCRIPTS_DIR" "$dir"
count=0
while read -r kind name bytes; do
  if [ "$kind" != file ] || ! [[ "$name" =~ ^[a-z-]+-v[0-9]+\.sh$ ]] || ! [[ "$bytes" =~ ^[0-9]+$ ]]; then
    fail "unexpected line on stdin (expected 'file <step>-v<N>.sh <bytes>')"
  fi
  # head -c reads no further than the bytes it was asked for.
  head -c "$bytes" >"$dir/$name.new"
  [ "$(stat -c %s "$dir/$name.new")" = "$bytes" ] || { rm -f "$dir/$name.new"; fail "$name arrived cut short"; }
  bash -n "$dir/$name.new" || { rm -f "$dir/$name.new"; fail "$name is not a script bash can read"; }
  mv -f "$dir/$name.new" "$dir/$name"
  count=$((count + 1))
done
[ "$count" -gt 0 ] || fail "no scripts on stdin"
echo "installed $count scripts in $dir"
