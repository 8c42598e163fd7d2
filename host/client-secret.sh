# shellcheck shell=bash
# Writes /etc/rstudio/openid-client-secret with the client id and the client secret encrypted by
# Workbench's own `rstudio-server encrypt-password`.
#   stdin          the client secret (one line); never on the command line
#   WB_CLIENT_ID   the application (client) id
SECRET_FILE=/etc/rstudio/openid-client-secret
FINGERPRINT="$WB_STATE_DIR/openid-client-secret.fingerprint"

# The key Workbench encrypts with: secure-cookie-key-file, then /etc/rstudio, then /var/lib.
key_file() {
  local configured
  configured=$(wb_rserver_option secure-cookie-key-file "")
  for candidate in "$configured" /etc/rstudio/secure-cookie-key /var/lib/rstudio-server/secure-cookie-key; do
    [ -n "$candidate" ] && [ -s "$candidate" ] && { echo "$candidate"; return 0; }
  done
  wb_fail "no secure-cookie-key found (secure-cookie-key-file, /etc/rstudio/secure-cookie-key, /var/lib/rstudio-server/secure-cookie-key): start Workbench once so it creates one"
}

# CRC32 of a file as 8 upper-case hex digits, from gzip's trailer (gzip is on every host).
crc32_hex() {
  gzip -c <"$1" | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n' | tr '[:lower:]' '[:upper:]'
}

# A salted hash of what the file encodes, so an unchanged secret is not re-encrypted (the
# encryption uses a random IV, so the file itself would differ on every run).
fingerprint() {
  local salt="$WB_STATE_DIR/salt"
  wb_init_state
  [ -s "$salt" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$salt"
  { cat "$salt"; printf '\n%s\n%s\n%s\n' "$WB_CLIENT_ID" "$1" "$2"; } | sha256sum | cut -d' ' -f1
}

# Reads the tool's output until it waits at a prompt (output ending in ':' followed by a pause),
# or until it exits. Appends what it read to OUTPUT. Returns 0 at a prompt, 1 at the end.
read_to_prompt() {
  local c deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if IFS= read -r -s -d '' -n 1 -t 0.3 c <&"$FROM_TOOL"; then
      OUTPUT+=${c:-$'\n'}
    elif [ $? -gt 128 ]; then
      # No output for a moment: a prompt ends in ':' (and maybe a space).
      case "${OUTPUT%"${OUTPUT##*[! ]}"}" in *:) return 0 ;; esac
    else
      return 1
    fi
  done
  return 1
}

# Runs encrypt-password on a pseudo-terminal and answers its prompts (it asks twice) only once
# each prompt is shown, so it works whether the tool reads the terminal or stdin and no answer is
# flushed or echoed. Prints only the encrypted value, checked against the documented shape: the
# key file's CRC32 at both ends.
encrypt() {
  local secret=$1 crc=$2 answers=0 value status=0 pid to_tool
  command -v script >/dev/null || wb_fail "the 'script' command (util-linux) is needed to answer encrypt-password's prompts"
  OUTPUT=""
  coproc ENCRYPT { script -qfec "rstudio-server encrypt-password" /dev/null 2>&1; }
  # Copies of the coprocess's pipes: bash closes its own when the coprocess ends.
  pid=$ENCRYPT_PID
  exec {FROM_TOOL}<&"${ENCRYPT[0]}" {to_tool}>&"${ENCRYPT[1]}"
  while read_to_prompt; do
    answers=$((answers + 1))
    [ "$answers" -le 2 ] || break
    printf '%s\n' "$secret" >&"$to_tool"
    OUTPUT=""
  done
  # Gone after its output ended; still there only if it asked a third time or hung.
  for _ in 1 2 3 4 5 6; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" || status=$?
  exec {FROM_TOOL}<&- {to_tool}>&-
  [ "$status" -eq 0 ] || wb_fail "rstudio-server encrypt-password failed (exit $status, answered $answers prompts); nothing was written"
  value=$(printf '%s\n' "$OUTPUT" | tr -d '\r' | grep -E "^${crc}[A-Za-z0-9+/]{16,}${crc}\$" | tail -n 1) \
    || wb_fail "rstudio-server encrypt-password printed no value of the documented shape (CRC32 $crc of the key file at both ends); nothing was written"
  printf '%s' "$value"
}

apply() {
  local secret key crc wanted encrypted new
  IFS= read -r secret || [ -n "$secret" ] || wb_fail "no client secret on stdin"
  [ -n "$secret" ] || wb_fail "the client secret is empty"
  case "$WB_CLIENT_ID" in *[!0-9a-fA-F-]* | "") wb_fail "WB_CLIENT_ID is not a client id" ;; esac
  id rstudio-server >/dev/null 2>&1 || wb_fail "user rstudio-server does not exist: is Posit Workbench installed?"
  key=$(key_file); crc=$(crc32_hex "$key")
  wanted=$(fingerprint "$secret" "$crc")
  if [ -e "$FINGERPRINT" ] && [ "$(cat "$FINGERPRINT")" = "$wanted" ] \
     && [ -e "$(wb_record "$SECRET_FILE").written" ] \
     && [ "$(wb_sha256 "$SECRET_FILE")" = "$(cat "$(wb_record "$SECRET_FILE").written")" ]; then
    echo "openid-client-secret=unchanged"
    return 0
  fi
  encrypted=$(encrypt "$secret" "$crc")
  new=$(mktemp)
  printf 'client-id=%s\nclient-secret=%s\n' "$WB_CLIENT_ID" "$encrypted" >"$new"
  wb_install "$SECRET_FILE" "$new" 0600 rstudio-server:rstudio-server
  rm -f "$new"
  printf '%s\n' "$wanted" >"$FINGERPRINT"
  [ "$WB_CHANGED" = no ] || wb_mark_restart
  echo "openid-client-secret=$([ "$WB_CHANGED" = yes ] && echo changed || echo unchanged)"
}

remove() {
  wb_restore "$SECRET_FILE"
  if [ "$WB_RESTORED" = edited ]; then
    wb_log "$SECRET_FILE was replaced after this program wrote it: left as it is"
    wb_forget "$SECRET_FILE"
  fi
  rm -f "$FINGERPRINT"
  [ "$WB_RESTORED" = none ] || wb_mark_restart
  echo "openid-client-secret=$WB_RESTORED"
}
