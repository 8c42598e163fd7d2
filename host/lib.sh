# shellcheck shell=bash
# Shared helpers for the host steps. Every step script is run as
#   sudo -n env WB_STEP=<step> WB_...=<value> bash -c '<lib.sh><step>.sh<main.sh>' <step> apply|remove|check
# Secrets arrive on stdin only, after the shared key's hash for the steps that check it (WB_KEY_CHECK).
# Logs go to stderr; stdout carries the step's result.
set -euo pipefail
umask 077
export LC_ALL=C

WB_STATE_DIR=/var/lib/posit-workbench-entra
WB_RESTART_PENDING="$WB_STATE_DIR/restart-pending"

# Scratch files of this run, removed when it ends.
WB_TMP=$(mktemp -d)
trap 'rm -rf "$WB_TMP"' EXIT
wb_tmp() { mktemp "$WB_TMP/XXXXXX"; }

wb_log() { printf '%s: %s\n' "${WB_STEP:-host}" "$*" >&2; }
wb_fail() { printf '%s: ERROR: %s\n' "${WB_STEP:-host}" "$*" >&2; exit 1; }

wb_init_state() { mkdir -p "$WB_STATE_DIR/files"; chmod 0700 "$WB_STATE_DIR"; }

# debian or rhel, from /etc/os-release.
wb_os_family() {
  local id="" id_like=""
  # shellcheck disable=SC1091
  [ -r /etc/os-release ] && { id=$(. /etc/os-release && echo "${ID:-}"); id_like=$(. /etc/os-release && echo "${ID_LIKE:-}"); }
  case " $id $id_like " in
    *" debian "*|*" ubuntu "*) echo debian ;;
    *" rhel "*|*" centos "*|*" fedora "*|*" rocky "*|*" almalinux "*) echo rhel ;;
    *) wb_fail "unsupported operating system (ID=$id ID_LIKE=$id_like); supported: Debian/Ubuntu and RHEL family" ;;
  esac
}

wb_sha256() { if [ -e "$1" ]; then sha256sum "$1" | cut -d' ' -f1; else echo absent; fi; }

# Where the original of a managed file and the hash of what we wrote are kept.
wb_record() { printf '%s/files/%s' "$WB_STATE_DIR" "$(printf '%s' "$1" | tr '/' '%')"; }

# Keeps the file as it was before this program first touched it (or notes it was absent).
wb_remember_original() {
  local record; record=$(wb_record "$1")
  [ -e "$record.orig" ] || [ -e "$record.absent" ] && return 0
  wb_init_state
  if [ -e "$1" ]; then cp -p "$1" "$record.orig"; else : >"$record.absent"; fi
}

# wb_install PATH NEWFILE MODE OWNER: writes NEWFILE's content to PATH atomically when content,
# mode or owner differ. Sets WB_CHANGED to yes or no. A PATH that someone changed since this
# program last wrote it is marked "foreign": destroy then undoes only the program's own lines.
# shellcheck disable=SC2034 # WB_CHANGED is read by the step scripts
wb_install() {
  local path=$1 new=$2 mode=$3 owner=$4 record tmp
  record=$(wb_record "$path")
  WB_CHANGED=no
  if [ -e "$path" ] && cmp -s "$new" "$path" \
     && [ "$(stat -c '%a %U:%G' "$path")" = "${mode#0} $owner" ]; then
    return 0
  fi
  wb_remember_original "$path"
  if [ -e "$record.written" ] && [ "$(wb_sha256 "$path")" != "$(cat "$record.written")" ]; then
    : >"$record.foreign"
  fi
  tmp=$(mktemp "$path.wb-XXXXXX")
  cat "$new" >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  mv -f "$tmp" "$path"
  wb_sha256 "$path" >"$record.written"
  WB_CHANGED=yes
}

# wb_rewrite PATH NEWFILE: replaces PATH's content atomically, keeping its mode and owner.
wb_rewrite() {
  local tmp; tmp=$(mktemp "$1.wb-XXXXXX")
  cp -p "$1" "$tmp"
  cat "$2" >"$tmp"
  mv -f "$tmp" "$1"
}

# wb_restore PATH: puts back the original when PATH is still what this program wrote.
# Sets WB_RESTORED to yes (restored), none (never touched), gone (deleted by someone since: left
# so) or edited (changed by someone since: the caller undoes only its own lines, then wb_forget).
# shellcheck disable=SC2034 # WB_RESTORED is read by the step scripts
wb_restore() {
  local path=$1 record tmp; record=$(wb_record "$1")
  if [ ! -e "$record.written" ]; then
    WB_RESTORED=none
  elif [ ! -e "$path" ]; then
    wb_log "$path was deleted after this program wrote it: left as it is"
    WB_RESTORED=gone
  elif [ -e "$record.foreign" ] || [ "$(wb_sha256 "$path")" != "$(cat "$record.written")" ]; then
    WB_RESTORED=edited
    return 0
  elif [ -e "$record.absent" ]; then
    rm -f "$path"
    WB_RESTORED=yes
  else
    tmp=$(mktemp "$path.wb-XXXXXX")
    cp -p "$record.orig" "$tmp"
    mv -f "$tmp" "$path"
    WB_RESTORED=yes
  fi
  wb_forget "$path"
}

# Drops the records for PATH (after a restore, or after undoing lines by hand).
wb_forget() { local record; record=$(wb_record "$1"); rm -f "$record.orig" "$record.absent" "$record.written" "$record.foreign"; }

# Whether this program holds records for PATH (it changed it and has not restored it yet).
wb_has_record() { local record; record=$(wb_record "$1"); [ -e "$record.orig" ] || [ -e "$record.absent" ]; }

# The original content of PATH as recorded (empty when it was absent).
wb_original() { local record; record=$(wb_record "$1"); [ -e "$record.orig" ] && cat "$record.orig"; return 0; }

# One stack node manages a host at a time (WB_OWNER: "<stack>/<address>:<port>"). A step that applies
# claims the host; a step whose node no longer owns it (the host was re-addressed, e.g. from its IP to
# its DNS name, and the new node's steps took over) leaves it alone on remove.
WB_OWNER_FILE="$WB_STATE_DIR/owner"
wb_claim() { wb_init_state; printf '%s\n' "$WB_OWNER" >"$WB_OWNER_FILE"; }
wb_owned_by_other() { [ -s "$WB_OWNER_FILE" ] && [ "$(cat "$WB_OWNER_FILE")" != "$WB_OWNER" ]; }

# One writer at a time on a host: every step's apply and remove hold this lock. A step whose SSH
# connection dropped goes on running (it has no terminal to hang up); a rerun waits for it instead of
# writing the same files beside it, then fails naming it if it takes too long.
# In /run, which only root can write (/run/lock is open to every user on Debian and Ubuntu).
WB_LOCK=/run/posit-workbench-entra.lock
wb_lock() {
  [ -z "${WB_LOCK_HELD:-}" ] || return 0
  local timeout=${WB_LOCK_TIMEOUT:-900}
  exec 9>>"$WB_LOCK"
  if ! flock -n 9; then
    wb_log "waiting for the run that holds this host: $(cat "$WB_LOCK.holder" 2>/dev/null || echo unknown)"
    flock -w "$timeout" 9 \
      || wb_fail "another run has held this host for over ${timeout}s ($(cat "$WB_LOCK.holder" 2>/dev/null || echo unknown), lock $WB_LOCK): let it finish, then run pulumi again"
  fi
  printf 'step %s %s (pid %s, since %s)\n' "$WB_STEP" "$1" "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$WB_LOCK.holder"
  export WB_LOCK_HELD=1
}

# Check mode (the `check` action) writes nothing on the host (its scratch directory under /tmp aside,
# removed when it ends). It waits for a run that holds the lock, without creating the lock file.
wb_lock_shared() {
  [ -e "$WB_LOCK" ] || return 0
  exec 9<"$WB_LOCK"
  flock -s -w "${WB_LOCK_TIMEOUT:-900}" 9 \
    || wb_fail "another run has held this host for over ${WB_LOCK_TIMEOUT:-900}s ($(cat "$WB_LOCK.holder" 2>/dev/null || echo unknown)): check again once it has finished"
}

# A step's check reports on stdout, one item a line: "note=" (what apply would do, or what is found),
# "problem=" (a verification from the guide that fails), "warning=" (could not be verified), and
# unified diffs. main.sh ends it with "check=in-sync" or "check=would-change".
WB_WOULD_CHANGE=no
wb_would_change() { WB_WOULD_CHANGE=yes; echo "note=$*"; }
wb_problem() { echo "problem=$*"; }
wb_warning() { echo "warning=$*"; }

# wb_check_file PATH NEWFILE MODE OWNER [SECRET-NOTE]: what wb_install would change, as a unified diff
# (or, for a file holding a secret, SECRET-NOTE alone: neither value is shown). Sets WB_CHANGED.
wb_check_file() {
  local path=$1 new=$2 mode=$3 owner=$4 secret=${5:-} record now
  record=$(wb_record "$path")
  WB_CHANGED=no
  if [ -e "$path" ] && [ -e "$record.written" ] && [ "$(wb_sha256 "$path")" != "$(cat "$record.written")" ]; then
    echo "note=$path was changed on the host after this stack last wrote it"
  fi
  if ! [ -e "$path" ] || ! cmp -s "$new" "$path"; then
    WB_CHANGED=yes
    if [ -n "$secret" ]; then
      wb_would_change "$secret"
    else
      wb_would_change "$path would change:"
      diff -u --label "$path" --label "$path (after apply)" "$([ -e "$path" ] && echo "$path" || echo /dev/null)" "$new" || true
    fi
  fi
  now=$([ -e "$path" ] && stat -c '%a %U:%G' "$path" || echo absent)
  if [ -e "$path" ] && [ "$now" != "${mode#0} $owner" ]; then
    WB_CHANGED=yes
    wb_would_change "$path: mode and owner would become ${mode#0} $owner (now $now)"
  fi
}

# Each step keeps, before it changes anything, its own script and WB_ variables (never a secret: those
# come on stdin) on the host; its remove drops them. So the last remove on a host, preflight's, can
# undo a step whose result never reached Pulumi (a dropped connection): such a step is not in the
# stack's state, and Pulumi would never run its remove.
WB_STEPS_DIR="$WB_STATE_DIR/steps/${WB_STACK:-unknown}"
wb_save_step() {
  local name saved="$WB_STEPS_DIR/$WB_STEP"
  wb_init_state
  mkdir -p "$WB_STEPS_DIR"
  # The script as installed for the stack (see commands.ts), or as sent whole (check mode, host tests).
  if [[ "$0" == /* ]] && [ -f "$0" ]; then cat "$0"; else printf '%s' "$BASH_EXECUTION_STRING"; fi >"$saved.sh.new"
  for name in $(compgen -e | grep '^WB_' | grep -vx WB_LOCK_HELD); do declare -p "$name"; done >"$saved.env.new"
  mv -f "$saved.sh.new" "$saved.sh"
  mv -f "$saved.env.new" "$saved.env"
}
wb_forget_step() { rm -f "$WB_STEPS_DIR/$WB_STEP.sh" "$WB_STEPS_DIR/$WB_STEP.env" "$WB_STEPS_DIR/$WB_STEP.request"; }

# The step's input (stdin after the key line), read whole so that it can be fingerprinted before the step
# reads it. Kept in memory only: it may hold a secret.
wb_read_input() { WB_INPUT=$(cat; printf x); WB_INPUT=${WB_INPUT%x}; }

# A random value of this host's, so that a fingerprint of a secret says nothing about the secret.
wb_salt() {
  wb_init_state
  [ -s "$WB_STATE_DIR/salt" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WB_STATE_DIR/salt"
  cat "$WB_STATE_DIR/salt"
}

# What the step was given (its script's name and version, its WB_ values, its stdin), as a salted hash.
wb_request_fingerprint() {
  local name
  {
    wb_salt
    printf '\nscript=%s\n' "${0##*/}"
    for name in $(compgen -e | grep '^WB_' | grep -vx WB_LOCK_HELD | sort); do declare -p "$name"; done
    printf '%s\n%s' "${WB_KEY_LINE:-}" "$WB_INPUT"
  } | sha256sum | cut -d' ' -f1
}

# After a successful apply: what it was given, so that an update given the same changes nothing.
wb_record_request() { wb_init_state; mkdir -p "$WB_STEPS_DIR"; printf '%s\n' "$1" >"$WB_STEPS_DIR/$WB_STEP.request"; }

# wb_undo_saved_steps STEP...: runs the remove of each step still saved here, in the order given.
wb_undo_saved_steps() {
  local step
  for step in "$@"; do
    [ -e "$WB_STEPS_DIR/$step.sh" ] || continue
    wb_log "undoing $step: it ran here, but its result never reached Pulumi"
    # shellcheck disable=SC2016 # expanded by the inner bash
    env -i PATH="$PATH" WB_LOCK_HELD=1 bash -c 'source "$1" && exec bash -c "$(cat "$2")" "$3" remove' \
      wb-undo "$WB_STEPS_DIR/$step.env" "$WB_STEPS_DIR/$step.sh" "$step" >&2 \
      || wb_fail "could not undo $step (above); run pulumi destroy again once it is fixed"
  done
}

# After the last remove on a host: drops what this program kept there, and says what it had to leave.
# The stack's scripts (WB_SCRIPTS_DIR) stay: the stack's last resource on the host removes them (the steps
# may run again after this, when the preflight is replaced).
wb_forget_host() {
  local kept
  rm -rf "$WB_STEPS_DIR"
  rm -f "$WB_OWNER_FILE"
  # Another stack's steps (a second stack on this host) keep the salt and the rest.
  rmdir "$WB_STATE_DIR/steps" 2>/dev/null || [ ! -e "$WB_STATE_DIR/steps" ] || return 0
  rm -f "$WB_STATE_DIR/salt"
  rmdir "$WB_STATE_DIR/files" 2>/dev/null || true
  rmdir "$WB_STATE_DIR" 2>/dev/null && return 0
  # Gone already: this remove had finished before, and runs again because its result was lost.
  [ -d "$WB_STATE_DIR" ] || return 0
  kept=$(cd "$WB_STATE_DIR" && find . -type f -not -path './scripts/*' | tr '\n' ' ')
  [ -z "$kept" ] || wb_log "kept in $WB_STATE_DIR (records of changes not undone): $kept"
}

wb_mark_restart() { wb_init_state; : >"$WB_RESTART_PENDING"; }

# The step's result line after wb_install: NAME=changed or NAME=unchanged.
wb_report_install() { if [ "$WB_CHANGED" = yes ]; then echo "$1=changed"; else echo "$1=unchanged"; fi; }

# After wb_restore of a file Workbench reads: a restart when it changed back, and NAME=<result>.
wb_report_restore() {
  case "$WB_RESTORED" in none | gone) ;; *) wb_mark_restart ;; esac
  echo "$1=$WB_RESTORED"
}

# Debian/Ubuntu: PAM's module that creates home directories is there (package libpam-modules).
wb_has_pam_mkhomedir() { compgen -G "/lib/*/security/pam_mkhomedir.so" >/dev/null || compgen -G "/usr/lib/*/security/pam_mkhomedir.so" >/dev/null; }

# (grep without -q: under pipefail, -q can kill the writer with SIGPIPE and turn a match into a failure)
wb_unit_exists() { systemctl list-unit-files "$1.service" 2>/dev/null | grep "^$1\.service" >/dev/null; }

# Restarts Workbench in the order of Posit's guide when a step changed something it reads.
wb_restart_if_pending() {
  [ -e "$WB_RESTART_PENDING" ] || { wb_log "nothing Workbench reads changed; no restart"; echo "restart=skipped"; return 0; }
  local launcher=0 out
  wb_unit_exists rstudio-launcher && launcher=1
  systemctl stop rstudio-server
  [ "$launcher" = 0 ] || systemctl stop rstudio-launcher
  [ "$launcher" = 0 ] || systemctl start rstudio-launcher
  if ! out=$(systemctl start rstudio-server 2>&1); then
    wb_fail "rstudio-server did not start: $out"
  fi
  rm -f "$WB_RESTART_PENDING"
  echo "restart=done"
}

# The key Workbench encrypts with: secure-cookie-key-file, then /etc/rstudio, then /var/lib.
wb_key_file() {
  local configured candidate
  configured=$(wb_rserver_option secure-cookie-key-file "")
  for candidate in "$configured" /etc/rstudio/secure-cookie-key /var/lib/rstudio-server/secure-cookie-key; do
    [ -n "$candidate" ] && [ -s "$candidate" ] && { echo "$candidate"; return 0; }
  done
  wb_fail "no secure-cookie-key found (secure-cookie-key-file, /etc/rstudio/secure-cookie-key, /var/lib/rstudio-server/secure-cookie-key): start Workbench once so it creates one"
}

# Where Workbench can take its encryption key from other than the key files wb_key_file reads: the
# variable WORKBENCH_ENCRYPTION_KEY itself (Workbench 2024.12.1, rstudio/rstudio PR #15588), or a key file
# it finds through RSTUDIO_CONFIG_DIR or the XDG config directories (rstudio/rstudio SecureKeyFile.cpp).
WB_KEY_VARIABLES="WORKBENCH_ENCRYPTION_KEY RSTUDIO_CONFIG_DIR XDG_CONFIG_DIRS XDG_CONFIG_HOME"

# wb_env_file_sets FILE NAME: the environment file FILE (systemd's EnvironmentFile= format, or a shell
# file such as /etc/default/rstudio-server) gives NAME a value.
wb_env_file_sets() {
  grep -E "^[[:space:]]*(export[[:space:]]+)?$2[[:space:]]*=[[:space:]]*[^[:space:]#]" "$1" >/dev/null 2>&1
}

# wb_check_key_source: stops, before anything is written, when rstudio-server's environment sets one of
# WB_KEY_VARIABLES: the unit's Environment= and EnvironmentFile= (as systemd has them, drop-ins
# included) and /etc/default/rstudio-server. Workbench would then decrypt with another key than the
# file this program encrypts with.
wb_check_key_source() {
  local environment files file name sources=() names=() places=() key what todo also="" i
  environment=$(systemctl show rstudio-server -p Environment 2>/dev/null) || environment=""
  # One "EnvironmentFiles=<path> (ignore_errors=yes|no)" line per file.
  files=$(systemctl show rstudio-server -p EnvironmentFiles 2>/dev/null | sed -n 's/^EnvironmentFiles=\(.*\) (ignore_errors=[a-z]*)$/\1/p') || files=""
  while IFS= read -r file; do [ -z "$file" ] || sources+=("$file"); done <<<"$files"
  case " ${sources[*]} " in *" /etc/default/rstudio-server "*) ;; *) sources+=(/etc/default/rstudio-server) ;; esac
  for name in $WB_KEY_VARIABLES; do
    if grep -E "^Environment=(.*[[:space:]\"])?$name=[^[:space:]\"]" <<<"$environment" >/dev/null; then
      names+=("$name"); places+=("the rstudio-server unit's Environment= (see 'systemctl cat rstudio-server')")
      continue
    fi
    for file in "${sources[@]}"; do
      if [ -r "$file" ] && wb_env_file_sets "$file" "$name"; then names+=("$name"); places+=("$file"); break; fi
    done
  done
  [ "${#names[@]}" -gt 0 ] || return 0
  key=$(wb_key_file 2>/dev/null) || key="named by secure-cookie-key-file, or /etc/rstudio/secure-cookie-key, or /var/lib/rstudio-server/secure-cookie-key (none there yet)"
  if [ "${names[0]}" = WORKBENCH_ENCRYPTION_KEY ]; then
    what="WORKBENCH_ENCRYPTION_KEY"
    todo="put that key in the key file instead ($key; mode 0600, the same on every node), remove WORKBENCH_ENCRYPTION_KEY from ${places[0]}, restart Workbench, then run pulumi again"
  else
    what="a key file it finds through ${names[0]}"
    todo="this program reads and writes Workbench's files in /etc/rstudio and the key file $key; remove ${names[0]} from ${places[0]} (moving what Workbench reads there to /etc/rstudio first), restart Workbench, then run pulumi again"
  fi
  for ((i = 1; i < ${#names[@]}; i++)); do also="$also; ${names[i]} is set too (in ${places[i]})"; done
  wb_fail "Workbench takes its encryption key from $what (set in ${places[0]}); this program encrypts with the key file $key and would write a client secret Workbench cannot decrypt: $todo$also. Nothing was changed"
}

# CRC32 of a file as 8 upper-case hex digits (Workbench's own key checksum), from gzip's trailer.
wb_crc32_hex() {
  gzip -c <"$1" | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n' | tr '[:lower:]' '[:upper:]'
}

# wb_encrypted_value CRC: the last line on stdin (carriage returns dropped) that is a value encrypted with
# the key whose CRC32 is CRC (wb_crc32_hex): the key's hash at both ends, padded standard base64 between
# them (32-byte IV field and AES-128-CBC ciphertext). The hash is accepted as rskey prints it (%08X) and as
# RStudio's crc32HexHash does (no leading zeros). Fails when there is none. Every comparison of a value
# with the key's hash is made here, so that every step accepts what the encryption step accepted.
wb_encrypted_value() {
  local crc=$1 short b='[A-Za-z0-9+/]'
  short=$(printf '%s' "$crc" | sed 's/^0*//')
  crc="(${crc}|${short:-0})"
  tr -d '\r' | grep -E "^${crc}($b{4}){15,}($b{4}|$b{3}=|$b{2}==)${crc}\$" | tail -n 1
}

# wb_check_cluster_key SHA256: stops before anything is written when this node's secure-cookie-key
# is not the one every node of the stack shares (found by the preflights, sent on stdin).
wb_check_cluster_key() {
  local key actual expected=$1
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || wb_fail "no secure-cookie-key hash on stdin to check this node's key against; nothing was written"
  key=$(wb_key_file)
  actual=$(sha256sum "$key" | cut -d' ' -f1)
  [ "$actual" = "$expected" ] \
    || wb_fail "this node's secure-cookie-key differs from the one the stack's nodes share (sha256 $actual, expected $expected); nothing was written"
}

# For the steps that check the shared key (WB_KEY_CHECK): the first line on stdin is
# "secure-cookie-key-sha256=<hash> preflight=<id of the node's preflight resource>".
wb_check_key_from_stdin() {
  [ -n "${WB_KEY_CHECK:-}" ] || return 0
  local line expected
  IFS= read -r line || true
  WB_KEY_LINE=$line
  expected=${line#secure-cookie-key-sha256=}
  wb_check_cluster_key "${expected%% *}"
}

# The value of KEY in rserver.conf (last one wins), or DEFAULT.
wb_rserver_option() {
  local value
  [ -e /etc/rstudio/rserver.conf ] || { printf '%s' "$2"; return 0; }
  value=$(tr -d '\r' </etc/rstudio/rserver.conf 2>/dev/null | sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" | tail -n 1)
  printf '%s' "${value:-$2}"
}

# Workbench's health check address, from rserver.conf (https when ssl-enabled=1).
wb_health_url() {
  local port scheme=http address
  if [ "$(wb_rserver_option ssl-enabled 0)" = 1 ]; then scheme=https; port=$(wb_rserver_option www-port 443); else port=$(wb_rserver_option www-port 8787); fi
  address=$(wb_rserver_option www-address 127.0.0.1)
  case "$address" in 0.0.0.0|"::"|"") address=127.0.0.1 ;; esac
  echo "$scheme://$address:$port/health-check"
}

# wb_probe_health: one look at whether Workbench is up (curl needed). Sets WB_HEALTH to
#   ok            /health-check answered 2xx;
#   sign-in-page  /health-check is not served (a 3xx or 4xx while the port answers: Posit documents the
#                 health check for the Enhanced and Advanced licences, https://docs.posit.co/ide/server-pro/auditing_and_monitoring/server_health_checks.html,
#                 and not whether a Basic licence serves it) but the sign-in page /auth-sign-in answers (200, or
#                 a redirect, to the identity provider with OpenID) and systemd reports rstudio-server active,
#                 and rstudio-launcher when its unit exists;
#   down          neither.
# WB_HEALTH_DETAIL says what was seen.
wb_probe_health() {
  local url sign_in code page
  url=$(wb_health_url)
  code=$(curl -sSk --max-time 5 -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) || true
  WB_HEALTH=down
  case "$code" in
    2??) WB_HEALTH=ok; WB_HEALTH_DETAIL="$url answered HTTP $code"; return 0 ;;
    3?? | 4??) ;;
    *) WB_HEALTH_DETAIL="$url: $([ "${code:-000}" = 000 ] && echo "no answer" || echo "HTTP $code")"; return 0 ;;
  esac
  sign_in=${url%/health-check}/auth-sign-in
  page=$(curl -sSk --max-time 5 -o /dev/null -w '%{http_code}' "$sign_in" 2>/dev/null) || true
  WB_HEALTH_DETAIL="$url answered HTTP $code (not served), $sign_in answered $([ "${page:-000}" = 000 ] && echo "nothing" || echo "HTTP $page")"
  case "$page" in 200 | 3??) ;; *) return 0 ;; esac
  if ! systemctl is-active --quiet rstudio-server; then WB_HEALTH_DETAIL="$WB_HEALTH_DETAIL, but systemd reports rstudio-server not active"; return 0; fi
  if wb_unit_exists rstudio-launcher && ! systemctl is-active --quiet rstudio-launcher; then
    WB_HEALTH_DETAIL="$WB_HEALTH_DETAIL, but systemd reports rstudio-launcher not active"; return 0
  fi
  WB_HEALTH=sign-in-page
  WB_HEALTH_DETAIL="$WB_HEALTH_DETAIL, and systemd reports Workbench active"
}

# Waits until Workbench answers its health check, or, where it does not serve one, its sign-in page
# with the services active (wb_probe_health); without curl, until systemd says it is active.
wb_wait_healthy() {
  local url deadline=$((SECONDS + ${WB_HEALTH_TIMEOUT:-60}))
  url=$(wb_health_url)
  while [ "$SECONDS" -lt "$deadline" ]; do
    if command -v curl >/dev/null 2>&1; then
      wb_probe_health
      case "$WB_HEALTH" in
        ok) echo "health=ok"; return 0 ;;
        sign-in-page)
          wb_log "Workbench does not serve its health check (a licence without it?): checked its sign-in page and systemd instead: $WB_HEALTH_DETAIL"
          echo "health=sign-in-page"; return 0 ;;
      esac
    elif systemctl is-active --quiet rstudio-server; then
      wb_log "curl not installed: checked systemd state only"; echo "health=active"; return 0
    fi
    sleep 1
  done
  wb_fail "Workbench did not answer $url within ${WB_HEALTH_TIMEOUT:-60}s (is server-health-check-enabled=1 accepted and the server running? see 'systemctl status rstudio-server')"
}

# ---------------------------------------------------------------------------------------------------
# Per OS family, in one place (as an Ansible role keeps vars/<OS>.yml): where Workbench's NSS module is
# installed, the packages that make home directories at first login, and the tool that installs packages.
# (How each step does its work per family is in its <action>_debian and <action>_rhel functions.)
# shellcheck disable=SC2034 # each step reads the facts it needs
wb_os_facts() {
  case "$1" in
    debian)
      # Multiarch directories (x86_64-linux-gnu, aarch64-linux-gnu, ...): patterns, expanded where used.
      WB_NSS_MODULE_DIRS=("/usr/lib/*-linux-gnu" "/lib/*-linux-gnu")
      # pam_mkhomedir.so, in /etc/pam.d/common-session.
      WB_HOMEDIR_PACKAGES=(libpam-modules)
      WB_PACKAGE_TOOL=apt-get
      ;;
    rhel)
      WB_NSS_MODULE_DIRS=(/usr/lib64 /lib64)
      # oddjobd's mkhomedir, turned on by authselect's with-mkhomedir feature.
      WB_HOMEDIR_PACKAGES=(oddjob-mkhomedir authselect)
      WB_PACKAGE_TOOL=dnf
      ;;
    *) wb_fail "unknown OS family '$1' (debian or rhel)" ;;
  esac
}

# Installs packages with the family's tool (WB_PACKAGE_TOOL: call wb_os_facts first), its output on stderr.
wb_install_packages() {
  case "$WB_PACKAGE_TOOL" in
    apt-get) DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 ;;
    dnf) dnf install -y "$@" >&2 ;;
  esac
}

# The Workbench NSS module (libnss_pwb.so.2) in the family's library directories (wb_os_facts). Fails naming
# where it looked.
wb_nss_module() {
  local family=$1 dirs dir module
  wb_os_facts "$family"
  dirs=("${WB_NSS_MODULE_DIRS[@]}")
  for dir in "${dirs[@]}"; do
    # shellcheck disable=SC2086 # the multiarch pattern is expanded here
    for module in $dir/libnss_pwb.so.2; do
      [ -e "$module" ] && { echo "$module"; return 0; }
    done
  done
  wb_fail "the Workbench NSS module libnss_pwb.so.2 is missing (looked in ${dirs[*]}): user provisioning needs a Workbench release that ships it"
}

# Versions of Posit Workbench that provision users, from Posit's release notes (https://docs.posit.co/ide/news/):
# SCIM provisioning arrived in 2024.04.0, JIT provisioning of local accounts in 2024.09.0 and JIT provisioning
# of local groups in 2025.09.0 ("Adds support for just-in-time provisioning of local groups for Proxied Auth,
# OpenID Connect, and SAML Authentication", rstudio-pro#5068); 2024.09.0 also fixed provisioning bugs of
# 2024.04 (wb_check_workbench_version). The only place these numbers are kept.
WB_MIN_VERSION_SCIM=2024.04.0
WB_MIN_VERSION_JIT=2024.09.0
WB_MIN_VERSION_JIT_GROUPS=2025.09.0
WB_SCIM_FIXES_VERSION=2024.09.0

wb_rstudio_server() {
  if command -v rstudio-server >/dev/null 2>&1; then rstudio-server "$@"; else /usr/lib/rstudio-server/bin/rstudio-server "$@"; fi
}

# The leading YYYY.MM.P of what `rstudio-server version` prints ("2024.12.1+563.pro5 Workbench (Kousa
# Dogwood) for Ubuntu Jammy": 2024.12.1), from its first line that is not blank; nothing when it has none.
wb_parse_version() {
  awk 'NF { print; exit }' <<<"$1" | sed -E -n 's/^[[:space:]]*([0-9]{4}\.[0-9]{1,2}\.[0-9]+)([^0-9.].*)?$/\1/p'
}

# wb_version_before A B: version A (YYYY.MM.P) is older than B.
wb_version_before() {
  local older newer i
  IFS=. read -r -a older <<<"$1"
  IFS=. read -r -a newer <<<"$2"
  for i in 0 1 2; do
    if ((10#${older[i]} != 10#${newer[i]})); then ((10#${older[i]} < 10#${newer[i]})); return; fi
  done
  return 1
}

# wb_check_workbench_version PROVISIONING (jit, jit-groups, scim, or empty: no check, for callers that do not say):
# stops when the installed Workbench is older than the release that brought the provisioning; warns
# on a SCIM release with the bugs that 2024.09.0 fixed.
# What the stack sets up, as the version floor's message names it.
wb_provisioning_name() {
  case "$1" in
    jit-groups) echo "JIT provisioning of groups (jitGroups: true)" ;;
    *) echo "${1^^} provisioning" ;;
  esac
}

wb_check_workbench_version() {
  local provisioning=$1 floor err out version printed hint=""
  [ "$provisioning" != jit-groups ] || hint=" (or set jitGroups to false)"
  case "$provisioning" in
    "") return 0 ;;
    jit) floor=$WB_MIN_VERSION_JIT ;;
    jit-groups) floor=$WB_MIN_VERSION_JIT_GROUPS ;;
    scim) floor=$WB_MIN_VERSION_SCIM ;;
    *) wb_fail "unknown provisioning '$provisioning' (jit, jit-groups or scim)" ;;
  esac
  err=$(wb_tmp)
  out=$(wb_rstudio_server version 2>"$err") || true
  version=$(wb_parse_version "$out")
  if [ -z "$version" ]; then
    printed=$(printf '%s %s' "$out" "$(cat "$err")" | tr -s '\n\t ' ' ' | sed 's/^ //; s/ $//')
    printed=${printed:0:300}
    wb_fail "cannot tell which Posit Workbench release is installed: 'rstudio-server version' printed '$printed', not a version (YYYY.MM.P, e.g. 2024.12.1+563.pro5 Workbench ...); $(wb_provisioning_name "$provisioning") needs Workbench $floor or later; nothing was changed"
  fi
  if wb_version_before "$version" "$floor"; then
    wb_fail "Posit Workbench $version is installed; $(wb_provisioning_name "$provisioning") needs Workbench $floor or later (Posit's release notes: SCIM provisioning arrived in $WB_MIN_VERSION_SCIM, JIT provisioning in $WB_MIN_VERSION_JIT, JIT provisioning of groups in $WB_MIN_VERSION_JIT_GROUPS). Upgrade Workbench${hint}, then run pulumi again; nothing was changed"
  fi
  if [ "$provisioning" = scim ] && wb_version_before "$version" "$WB_SCIM_FIXES_VERSION"; then
    wb_log "warning: Posit Workbench $version has SCIM provisioning bugs fixed in $WB_SCIM_FIXES_VERSION: users who tried to sign in before they were provisioned cannot sign in afterwards, and NSS requests can fail. Upgrade to $WB_SCIM_FIXES_VERSION or later; when upgrading from 2024.04.x, set server-address=unix:/var/run/rstudio-server/rstudio-rserver/user-service.socket in /etc/rstudio/workbench-nss.conf"
  fi
  return 0
}

# ---------------------------------------------------------------------------------------------------
# authselect (RHEL family), shared by preflight.sh, home-directories.sh and nss.sh.
# authselect generates nsswitch.conf and the PAM files from a profile. It cannot keep an edit made to
# them by hand: 1.2 (RHEL 8, 9) refuses to write over one unless forced, 1.5 (RHEL 10) does not notice
# it and writes over it. The program therefore never forces authselect and changes nothing on a host
# whose generated files are not exactly what its current profile generates.

# The custom profile nss.sh creates, and its record (written only by nss.sh).
WB_PWB_PROFILE=custom/pwb
WB_NSS_RHEL_RECORD="$WB_STATE_DIR/nss.rhel"

# The files authselect generates, one per line: <authselect test option> <path on the host> <file
# in /etc/authselect the path links to>. switchable-auth comes with authselect 1.5.
wb_authselect_files() {
  printf '%s\n' \
    "--nsswitch /etc/nsswitch.conf nsswitch.conf" \
    "--system-auth /etc/pam.d/system-auth system-auth" \
    "--password-auth /etc/pam.d/password-auth password-auth" \
    "--fingerprint-auth /etc/pam.d/fingerprint-auth fingerprint-auth" \
    "--smartcard-auth /etc/pam.d/smartcard-auth smartcard-auth" \
    "--switchable-auth /etc/pam.d/switchable-auth switchable-auth" \
    "--postlogin /etc/pam.d/postlogin postlogin" \
    "--dconf-db /etc/dconf/db/distro.d/20-authselect dconf-db" \
    "--dconf-lock /etc/dconf/db/distro.d/locks/20-authselect dconf-locks"
}

# The current profile and features ("sssd with-mkhomedir"); fails when authselect manages nothing here.
wb_authselect_current() { authselect current --raw 2>/dev/null; }

# wb_authselect_expected OPTION CURRENT OUT PATH: writes to OUT what authselect writes to PATH with the
# configuration CURRENT (profile and features): the comment block it puts first (1.2: dated, the date
# taken from PATH as it is), then the content `authselect test` prints ("File <path>:\n<content>\n\n").
# Fails when authselect does not know OPTION (1.2 has no switchable-auth); its error is in OUT.err.
wb_authselect_expected() {
  local option=$1 current=$2 out=$3 path=$4 generated first
  generated=$(wb_tmp)
  # shellcheck disable=SC2086 # profile and features are separate words
  authselect test "$option" $current >"$generated" 2>"$out.err" || return 1
  first=$(head -n 1 "$path" 2>/dev/null || true)
  {
    case "$first" in
      "# Generated by authselect on "*) printf '%s\n# Do not modify this file manually.\n\n' "$first" ;;
      *) printf '%s\n' "# Generated by authselect" \
           "# Do not modify this file manually, use authselect instead. Any user changes will be overwritten." \
           "# You can stop authselect from managing your configuration by calling 'authselect opt-out'." \
           "# See authselect(8) for more details." "" ;;
    esac
    [[ "$(head -n 1 "$generated")" == *": Empty" ]] || tail -n +2 "$generated" | head -c -2
  } >"$out"
}

# wb_authselect_require_clean: stops, naming the files and the way out, unless authselect manages this
# host, `authselect check` passes and every generated file is exactly what the current profile and
# features generate (a link to authselect's copy, with its content).
wb_authselect_require_clean() {
  local current option path name expected edited=() check
  command -v authselect >/dev/null 2>&1 \
    || wb_fail "authselect does not manage this host (authselect is not installed): add pwb to nsswitch.conf by hand, or install authselect and opt in with 'authselect select <profile>' first"
  current=$(authselect current --raw 2>&1) \
    || wb_fail "authselect does not manage this host (authselect current: $current): add pwb to nsswitch.conf by hand, or opt in first with 'authselect select <profile>' (sssd, winbind, or minimal on RHEL 8/9, local on RHEL 10; 'authselect list' shows them), which replaces nsswitch.conf and the PAM files"
  while read -r option path name; do
    expected=$(wb_tmp)
    if ! wb_authselect_expected "$option" "$current" "$expected" "$path"; then
      [ "$option" = --switchable-auth ] && continue
      wb_fail "authselect cannot generate $path for '$current': $(tr '\n' ' ' <"$expected.err")"
    fi
    if [ ! -L "$path" ] || [ "$(readlink "$path")" != "/etc/authselect/$name" ] || ! cmp -s "$expected" "$path"; then
      edited+=("$path")
    fi
  done < <(wb_authselect_files)
  if ! check=$(authselect check 2>&1) && [ "${#edited[@]}" -eq 0 ]; then
    edited=("(authselect check: $(printf '%s' "$check" | tr '\n' ' '))")
  fi
  [ "${#edited[@]}" -eq 0 ] && return 0
  wb_fail "authselect's files were changed outside authselect: ${edited[*]} (not what '$current' generates). Nothing was changed: authselect would overwrite that (1.2 when forced, 1.5 silently) and this program never forces it. Keep the change in an authselect profile of your own ('authselect create-profile', see authselect-profiles(5); on RHEL 8/9 maps the profile does not set go in /etc/authselect/user-nsswitch.conf), or drop it with 'authselect select $current --force'; then run pulumi again"
}

# wb_nsswitch_has_pwb FILE: pwb is on the passwd, group and shadow lines of FILE.
wb_nsswitch_has_pwb() {
  [ "$(awk '$1 ~ /^(passwd|group|shadow):$/ && /[ \t:|}]pwb([ \t{|}]|$)/ && !($1 in seen) { seen[$1] = 1; n++ } END { print n + 0 }' "$1")" = 3 ]
}

# awk functions for a passwd, group or shadow line of nsswitch.conf (or an authselect template, with its
# {if ...} directives), shared by nss.sh's rendering and the restart step's verification:
#   wb_pwb_at(s)        where pwb is in s (0: nowhere);
#   wb_source_at(s)     where the first directory source is (sss, winbind, nis, ldap; 0: none);
#   wb_pwb_misplaced(s) s has pwb, and a directory source before it: Posit's guide needs pwb before sss.
# (Each sets RSTART and RLENGTH, as match() does.)
WB_NSS_AWK='
function wb_pwb_at(s) { return match(s, /[ \t:|}]pwb([ \t{|}]|$)/) }
function wb_source_at(s) { return match(s, /(^|[ \t:|}])(sssd?|winbind|nis|ldap)([ \t{|}]|$)/) }
function wb_pwb_misplaced(s,   pwb, source) { pwb = wb_pwb_at(s); source = wb_source_at(s); return pwb && source && source < pwb }
'

# wb_nsswitch_pwb_misplaced FILE: the passwd, group and shadow lines of FILE (the first of each, as
# wb_nsswitch_has_pwb reads them) that have pwb after a directory source, their words one space apart
# ("passwd: files sss pwb"); nothing when there is none.
wb_nsswitch_pwb_misplaced() {
  awk "$WB_NSS_AWK"'
    $1 ~ /^(passwd|group|shadow):$/ && !($1 in seen) { seen[$1] = 1; if (wb_pwb_misplaced($0)) { $1 = $1; print } }
  ' "$1"
}

# wb_authselect_require_supported_profile: the current profile is one nss.sh can base custom/pwb on
# (a profile authselect ships: sssd, winbind, nis, minimal, local), custom/pwb made by nss.sh, or a
# custom profile of the host's own that has pwb already (left as it is); and it offers with-mkhomedir.
wb_authselect_require_supported_profile() {
  local current profile
  current=$(wb_authselect_current)
  profile=${current%% *}
  case "$profile" in
    "$WB_PWB_PROFILE")
      [ -e "$WB_NSS_RHEL_RECORD" ] \
        || wb_fail "the host uses an authselect profile $WB_PWB_PROFILE that this program did not create: select another profile and rename or remove /etc/authselect/$WB_PWB_PROFILE first" ;;
    custom/*)
      wb_nsswitch_has_pwb /etc/nsswitch.conf \
        || wb_fail "the host uses its own authselect profile $profile: the program only extends the profiles authselect ships. Add pwb to the passwd, group and shadow lines of /etc/authselect/$profile/nsswitch.conf (before sss, winbind or nis) and run 'authselect apply-changes': the program then leaves NSS to that profile" ;;
    *)
      [ ! -e "/etc/authselect/$WB_PWB_PROFILE" ] || [ -e "$WB_NSS_RHEL_RECORD" ] \
        || wb_fail "an authselect profile $WB_PWB_PROFILE exists that this program did not create: rename or remove /etc/authselect/$WB_PWB_PROFILE" ;;
  esac
  authselect list-features "$profile" 2>/dev/null | grep -x with-mkhomedir >/dev/null \
    || wb_fail "authselect profile $profile has no with-mkhomedir feature, which creates home directories at first login: add it to the profile or select one that has it"
}

# wb_authselect_state: authselect's configuration and every file it generates (type, link, content;
# the date line authselect 1.2 writes first left out), to tell whether anything changed since.
wb_authselect_state() {
  local option path _
  while read -r option path _; do
    if [ -L "$path" ]; then printf '%s -> %s ' "$path" "$(readlink "$path")"; else printf '%s ' "$path"; fi
    if [ -f "$path" ]; then sed '1{/^# Generated by authselect on /d;}' "$path" | sha256sum | cut -d' ' -f1; else echo absent; fi
  done < <(echo "- /etc/authselect/authselect.conf -"; wb_authselect_files)
}

# wb_authselect_has_backup NAME: authselect keeps a backup NAME (authselect select/enable-feature --backup=NAME).
wb_authselect_has_backup() { authselect backup-list --raw 2>/dev/null | grep -xF "$1" >/dev/null; }
