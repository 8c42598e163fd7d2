# shellcheck shell=bash
# Writes /etc/rstudio/openid-client-secret: the client id and the client secret as encrypted by
# Workbench (the encrypt-client-secret step), 0600 rstudio-server:rstudio-server.
#   stdin          the encrypted client secret (one line); never on the command line
#   WB_CLIENT_ID   the application (client) id
SECRET_FILE=/etc/rstudio/openid-client-secret

render() { printf 'client-id=%s\nclient-secret=%s\n' "$WB_CLIENT_ID" "$1"; }

# made_with_key VALUE CRC: VALUE is, whole, a value encrypted with the key whose CRC32 is CRC, in a form
# the encryption step accepts (wb_encrypted_value).
made_with_key() { [ "$(printf '%s\n' "$1" | wb_encrypted_value "$2")" = "$1" ]; }

apply() {
  local encrypted key crc new
  IFS= read -r encrypted || [ -n "$encrypted" ] || wb_fail "no encrypted client secret on stdin"
  case "$WB_CLIENT_ID" in *[!0-9a-fA-F-]* | "") wb_fail "WB_CLIENT_ID is not a client id" ;; esac
  id rstudio-server >/dev/null 2>&1 || wb_fail "user rstudio-server does not exist: is Posit Workbench installed?"
  key=$(wb_key_file)
  crc=$(wb_crc32_hex "$key")
  made_with_key "$encrypted" "$crc" \
    || wb_fail "the encrypted client secret was not made with this node's secure-cookie-key (CRC32 $crc), or is not a value encrypt-password prints; nothing was written"
  new=$(wb_tmp)
  render "$encrypted" >"$new"
  wb_install "$SECRET_FILE" "$new" 0600 rstudio-server:rstudio-server
  [ "$WB_CHANGED" = no ] || wb_mark_restart
  wb_report_install openid-client-secret
}

remove() {
  wb_restore "$SECRET_FILE"
  if [ "$WB_RESTORED" = edited ]; then
    wb_log "$SECRET_FILE was replaced after this program wrote it: left as it is"
    wb_forget "$SECRET_FILE"
  fi
  wb_report_restore openid-client-secret
}

# stdin: the encrypted value the stack holds, or an empty line when the secret is to be encrypted again.
# Neither that value nor the one on the host is ever printed.
check() {
  local encrypted current_id secret_line new crc
  IFS= read -r encrypted || true
  if [ -n "$encrypted" ]; then
    crc=$(wb_crc32_hex "$(wb_key_file)")
    made_with_key "$encrypted" "$crc" \
      || wb_problem "the encrypted client secret the stack holds was not made with this node's secure-cookie-key (CRC32 $crc): apply would stop before writing it"
  fi
  if [ ! -e "$SECRET_FILE" ]; then
    wb_would_change "$SECRET_FILE would be written: client-id=$WB_CLIENT_ID and the encrypted client secret"
    return 0
  fi
  current_id=$(sed -n 's/^client-id=//p' "$SECRET_FILE")
  [ "$current_id" = "$WB_CLIENT_ID" ] || wb_would_change "client-id would change from ${current_id:-(none)} to $WB_CLIENT_ID"
  if [ -n "$encrypted" ] && [ "$(sed -n 's/^client-secret=//p' "$SECRET_FILE")" = "$encrypted" ]; then
    secret_line="in sync"
  else
    secret_line="would change"
  fi
  new=$(wb_tmp)
  render "${encrypted:-(to be encrypted)}" >"$new"
  wb_check_file "$SECRET_FILE" "$new" 0600 rstudio-server:rstudio-server "$SECRET_FILE would be rewritten; the client secret line $secret_line (neither value is shown)"
}
