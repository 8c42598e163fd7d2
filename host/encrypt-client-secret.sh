# shellcheck shell=bash
# Encrypts the client secret with Workbench's own `rstudio-server encrypt-password`, on one node
# (the value is the same for every node that shares the secure-cookie-key). Prints only the
# encrypted value, which the program keeps secret.
#   stdin          the client secret (one line); never on the command line
#   WB_CLIENT_ID   the application (client) id (part of the fingerprint)
ENCRYPTED="$WB_STATE_DIR/openid-client-secret.encrypted"
FINGERPRINT="$WB_STATE_DIR/openid-client-secret.fingerprint"

# A salted hash of what was encrypted, so an unchanged secret is not encrypted again (the
# encryption uses a random IV: a new value would rewrite the file on every node and restart them).
SALT="$WB_STATE_DIR/salt"
fingerprint() {
  { cat "$SALT"; printf '\n%s\n%s\n%s\n' "$WB_CLIENT_ID" "$1" "$2"; } | sha256sum | cut -d' ' -f1
}

# Whether the value cached here was encrypted from this secret, client id and key.
encrypted_already() { [ -s "$SALT" ] && [ -s "$ENCRYPTED" ] && [ -e "$FINGERPRINT" ] && [ "$(cat "$FINGERPRINT")" = "$(fingerprint "$1" "$2")" ]; }

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
# each prompt is shown, as a person would: the answer ends in a carriage return (the Enter key),
# which a tool reading the terminal in raw mode (rskey) and one in line mode (getpass, the
# terminal maps it to a newline) both take. Type-ahead would be flushed by getpass-style tools.
# Prints only the encrypted value.
encrypt() {
  local secret=$1 crc=$2 answers=0 value status=0 pid to_tool no_echo=()
  command -v script >/dev/null || wb_fail "the 'script' command (util-linux) is needed to answer encrypt-password's prompts"
  # -E never (util-linux 2.35+): the terminal never echoes an answer, even if the tool leaves echo on.
  # Older releases lack it; what they echo stays in OUTPUT, which is never printed.
  if script --help 2>&1 | grep -- '--echo' >/dev/null; then no_echo=(-E never); fi
  OUTPUT=""
  coproc ENCRYPT { script -qfec "rstudio-server encrypt-password" "${no_echo[@]}" /dev/null 2>&1; }
  # Copies of the coprocess's pipes: bash closes its own when the coprocess ends.
  pid=$ENCRYPT_PID
  exec {FROM_TOOL}<&"${ENCRYPT[0]}" {to_tool}>&"${ENCRYPT[1]}"
  while read_to_prompt; do
    answers=$((answers + 1))
    [ "$answers" -le 2 ] || break
    printf '%s\r' "$secret" >&"$to_tool"
    OUTPUT=""
  done
  # Gone after its output ended; still there only if it asked a third time or hung.
  for _ in 1 2 3 4 5 6; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" || status=$?
  exec {FROM_TOOL}<&- {to_tool}>&-
  [ "$status" -eq 0 ] || wb_fail "rstudio-server encrypt-password failed (exit $status, answered $answers prompts); nothing was written"
  # The value's shape and the key's hash (either form) are checked by wb_encrypted_value (lib.sh).
  value=$(printf '%s\n' "$OUTPUT" | wb_encrypted_value "$crc") \
    || wb_fail "rstudio-server encrypt-password printed no value of the documented shape (CRC32 $crc of the key file at both ends); nothing was written"
  printf '%s' "$value"
}

apply() {
  local secret key crc encrypted
  IFS= read -r secret || [ -n "$secret" ] || wb_fail "no client secret on stdin"
  [ -n "$secret" ] || wb_fail "the client secret is empty"
  key=$(wb_key_file)
  crc=$(wb_crc32_hex "$key")
  if encrypted_already "$secret" "$crc"; then
    cat "$ENCRYPTED"
    return 0
  fi
  encrypted=$(encrypt "$secret" "$crc")
  wb_init_state
  [ -s "$SALT" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SALT"
  printf '%s' "$encrypted" >"$ENCRYPTED"
  fingerprint "$secret" "$crc" >"$FINGERPRINT"
  printf '%s' "$encrypted"
}

# An update that changed nothing the step was given: the value encrypted here last (encrypted again only
# when this host's copy is gone).
result() { if [ -s "$ENCRYPTED" ]; then cat "$ENCRYPTED"; else apply < <(printf '%s' "$WB_INPUT"); fi; }

check() {
  local secret key crc
  IFS= read -r secret || [ -n "$secret" ] || wb_fail "no client secret on stdin"
  key=$(wb_key_file)
  crc=$(wb_crc32_hex "$key")
  if encrypted_already "$secret" "$crc"; then
    echo "note=the client secret is the one encrypted here last"
  else
    wb_would_change "the client secret would be encrypted with rstudio-server encrypt-password (it changed, or was never encrypted here)"
  fi
}

remove() {
  rm -f "$ENCRYPTED" "$FINGERPRINT"
}
