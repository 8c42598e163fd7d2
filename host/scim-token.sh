# shellcheck shell=bash
# Generates the bearer token Entra ID uses for SCIM provisioning, and revokes it on destroy.
# The token is the only thing printed on stdout (kept secret by the program).
#   WB_TOKEN_NAME  the token's name in Workbench
#   WB_TOKEN_DAYS  its lifetime in days

# Whether the token exists; fails (rather than answering "no") when Workbench cannot list tokens.
token_exists() {
  local tokens
  tokens=$(rstudio-server user-service list-tokens) || wb_fail "rstudio-server user-service list-tokens failed"
  printf '%s\n' "$tokens" | grep -F -- "$WB_TOKEN_NAME" >/dev/null
}

apply() {
  local output token
  if token_exists; then
    # Left by an earlier run whose result was lost: its value cannot be read back, so replace it.
    rstudio-server user-service revoke-token "$WB_TOKEN_NAME" >&2
  fi
  output=$(rstudio-server user-service generate-token "$WB_TOKEN_NAME" --duration "$WB_TOKEN_DAYS" 2>/dev/null) \
    || wb_fail "rstudio-server user-service generate-token failed (is user-provisioning-enabled=1 in effect and Workbench running?)"
  token=$(printf '%s\n' "$output" | awk 'NF { last = $NF } END { print last }')
  if [ "${#token}" -lt 16 ] || [[ "$token" == *[!A-Za-z0-9._~+/=-]* ]]; then
    wb_fail "generate-token printed no recognisable token; revoke it with: rstudio-server user-service revoke-token \"$WB_TOKEN_NAME\""
  fi
  printf '%s' "$token"
}

remove() {
  if token_exists; then
    rstudio-server user-service revoke-token "$WB_TOKEN_NAME" >&2
    wb_log "revoked SCIM token \"$WB_TOKEN_NAME\""
  else
    wb_log "SCIM token \"$WB_TOKEN_NAME\" was already gone"
  fi
}

# Whether the token is listed, and how long until it expires (from a date on its line, when the
# Workbench release shows one). Neither the token nor its line is printed.
check() {
  local tokens line expires days
  tokens=$(rstudio-server user-service list-tokens) || wb_fail "rstudio-server user-service list-tokens failed"
  line=$(printf '%s\n' "$tokens" | grep -F -- "$WB_TOKEN_NAME" | head -n 1 || true)
  if [ -z "$line" ]; then
    wb_would_change "the SCIM token \"$WB_TOKEN_NAME\" is not listed in Workbench (revoked, or never made): apply would generate one, and Entra ID needs it"
    return 0
  fi
  expires=$(printf '%s\n' "$line" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' | head -n 1 || true)
  if [ -z "$expires" ]; then
    echo "note=the SCIM token \"$WB_TOKEN_NAME\" is listed (this Workbench release does not show when it expires)"
    return 0
  fi
  days=$(( ($(date -u -d "$expires" +%s) - $(date -u +%s)) / 86400 ))
  if [ "$days" -lt 0 ]; then
    wb_would_change "the SCIM token \"$WB_TOKEN_NAME\" expired on $expires"
  else
    echo "note=the SCIM token \"$WB_TOKEN_NAME\" is listed; it expires on $expires, in $days days"
  fi
}
