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
