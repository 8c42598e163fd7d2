# shellcheck shell=bash
# Generates the bearer token Entra ID uses for SCIM provisioning, keeps it while its name, lifetime and
# rotation stay the same, and revokes it on destroy. The token is the only thing printed on stdout (kept
# secret by the program).
#   WB_TOKEN_NAME      the token's name in Workbench
#   WB_TOKEN_DAYS      its lifetime in days
#   WB_TOKEN_ROTATION  changes when the stack rotates the token (empty when it never does)
#   WB_TOKEN_WARN_DAYS check warns this many days before it expires (when the stack would rotate it)

# Workbench shows a token's value once, when it makes it. So that a later run (a new SSH key, a new
# release of this program) can print the same token again instead of replacing it, the host keeps a copy
# sealed with Workbench's own secure-cookie-key (what Workbench encrypts its secrets with) and this host's
# salt, and a record of what the token was made with and when. Posit: Managing Tokens,
# https://docs.posit.co/ide/server-pro/admin/user_provisioning/managing_tokens.html
SEALED="$WB_STEPS_DIR/scim-token.sealed"
MADE="$WB_STEPS_DIR/scim-token.made"
# The name of the token Posit's guide makes by hand: a row cut to it could be that token, not ours.
GUIDE_TOKEN_NAME="Entra ID User Provisioning Token"

# What the token is made with: a token made with other values is replaced.
identity() { printf 'name=%s\ndays=%s\nrotation=%s\n' "$WB_TOKEN_NAME" "$WB_TOKEN_DAYS" "${WB_TOKEN_ROTATION:-}"; }
same_identity() { [ -s "$MADE" ] && [ "$(head -n 3 "$MADE")" = "$(identity)" ]; }
made_on() { sed -n 's/^created=//p' "$MADE" 2>/dev/null; }
# When the token expires, from the record: the day it was made plus its lifetime.
expires_on() { date -u -d "$(made_on | cut -c1-10) + $WB_TOKEN_DAYS days" +%Y-%m-%d; }
# Whole days from today to that day (UTC); 0 on the day it expires, which counts as expired.
days_left() { echo $(( ($(date -u -d "$(expires_on)" +%s) - $(date -u -d "$(date -u +%Y-%m-%d)" +%s)) / 86400 )); }

require_openssl() {
  command -v openssl >/dev/null 2>&1 \
    || wb_fail "openssl is not installed: it seals the host's copy of the SCIM token (install the openssl package, then run pulumi again)"
}
# The sealing key reaches openssl on a pipe (fd 3): never in a file or an argument.
seal_key() { { cat "$(wb_key_file)"; wb_salt; } | sha256sum | cut -d' ' -f1; }
seal() { openssl enc -aes-256-cbc -pbkdf2 -salt -a -A -pass fd:3 3< <(seal_key); }
unseal() { [ -s "$SEALED" ] && openssl enc -d -aes-256-cbc -pbkdf2 -a -A -pass fd:3 <"$SEALED" 3< <(seal_key) 2>/dev/null; }
looks_like_token() { [ "${#1}" -ge 16 ] && [[ "$1" != *[!A-Za-z0-9._~+/=-]* ]]; }

# Whether the token is in `list-tokens`, which Posit documents as a table of each token's name, scrubbed
# key, creation date, expiration date and last used date: the name comes first, dates are not read here
# (the record above says when the token was made). Prints "listed" for a row that starts with the whole
# name. Posit does not say whether long names are cut: a row that starts with a cut of the name longer than
# the guide's own token name, followed by "...", "…" or a column gap, prints "cut". Nothing otherwise.
token_listing() {
  local tokens row n prefix
  tokens=$(rstudio-server user-service list-tokens) || wb_fail "rstudio-server user-service list-tokens failed"
  while IFS= read -r row; do
    row=${row#"${row%%[![:space:]|]*}"}
    case "$row" in "$WB_TOKEN_NAME" | "$WB_TOKEN_NAME"[[:space:]\|]*) echo listed; return 0 ;; esac
  done < <(printf '%s\n' "$tokens")
  while IFS= read -r row; do
    row=${row#"${row%%[![:space:]|]*}"}
    for ((n = ${#WB_TOKEN_NAME} - 1; n > ${#GUIDE_TOKEN_NAME} + 1; n--)); do
      prefix=${WB_TOKEN_NAME:0:n}
      case "$row" in "$prefix..."* | "$prefix…"* | "$prefix  "* | "$prefix"$'\t'* | "$prefix|"* | "$prefix |"*) echo cut; return 0 ;; esac
    done
  done < <(printf '%s\n' "$tokens")
}

revoke() {
  if rstudio-server user-service revoke-token "$WB_TOKEN_NAME" >&2; then
    wb_log "revoked SCIM token \"$WB_TOKEN_NAME\""
  else
    wb_log "could not revoke SCIM token \"$WB_TOKEN_NAME\" (above)"
  fi
}

apply() {
  local listing token output
  cat >/dev/null
  require_openssl
  listing=$(token_listing)
  if [ -n "$listing" ] && same_identity && [ "$(days_left)" -gt 0 ] && token=$(unseal) && looks_like_token "$token"; then
    wb_log "keeping SCIM token \"$WB_TOKEN_NAME\" made on $(made_on): its name, lifetime and rotation are unchanged"
    printf '%s' "$token"
    return 0
  fi
  # A token of this name that cannot be printed again (made with other values, or left by a run whose
  # result was lost without a sealed copy) or that has expired is replaced.
  [ -z "$listing" ] || revoke
  # Posit's syntax: generate-token [--duration <days>] NAME (rstudio-server CLI reference).
  output=$(rstudio-server user-service generate-token --duration "$WB_TOKEN_DAYS" "$WB_TOKEN_NAME" 2>/dev/null) \
    || wb_fail "rstudio-server user-service generate-token failed (is user-provisioning-enabled=1 in effect and Workbench running?)"
  token=$(printf '%s\n' "$output" | awk 'NF { last = $NF } END { print last }')
  looks_like_token "$token" \
    || wb_fail "generate-token printed no recognisable token; revoke it with: rstudio-server user-service revoke-token \"$WB_TOKEN_NAME\""
  wb_init_state
  mkdir -p "$WB_STEPS_DIR"
  printf '%s' "$token" | seal >"$SEALED.new"
  mv -f "$SEALED.new" "$SEALED"
  { identity; echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; } >"$MADE"
  printf '%s' "$token"
}

# An update that changed nothing the step was given: the same token.
result() { apply; }

remove() {
  if [ -n "$(token_listing)" ]; then revoke; else wb_log "SCIM token \"$WB_TOKEN_NAME\" was already gone"; fi
  rm -f "$SEALED" "$MADE"
}

# Whether the token is listed, whether the host can print it again, and when it expires: from the record
# of when this stack made it and for how many days (never parsed out of Workbench's table). Neither the
# token nor its line is printed.
check() {
  local listing expires days token
  listing=$(token_listing)
  if [ -z "$listing" ]; then
    wb_would_change "the SCIM token \"$WB_TOKEN_NAME\" is not listed in Workbench (revoked, or never made): apply would generate one, and Entra ID needs it"
    return 0
  fi
  [ "$listing" = listed ] || echo "note=Workbench lists the SCIM token's name cut short; a row starting with its first part is taken as this token"
  if ! same_identity; then
    wb_would_change "the SCIM token \"$WB_TOKEN_NAME\" was not made by this stack with its current lifetime and rotation (or before this host kept a record): apply would replace it, and Entra ID needs the new one"
    return 0
  fi
  if ! command -v openssl >/dev/null 2>&1 || ! token=$(unseal) || ! looks_like_token "$token"; then
    wb_would_change "this host's sealed copy of the SCIM token cannot be read (secure-cookie-key changed, or the copy is gone): apply would replace the token, and Entra ID needs the new one"
    return 0
  fi
  expires=$(expires_on)
  days=$(days_left)
  if [ "$days" -le 0 ]; then
    wb_problem "the SCIM token \"$WB_TOKEN_NAME\" expired on $expires (made on $(made_on) for $WB_TOKEN_DAYS days): Entra ID can no longer provision or deprovision users"
    wb_would_change "apply would replace the expired SCIM token, and Entra ID needs the new one"
  elif [ "$days" -le "${WB_TOKEN_WARN_DAYS:-30}" ]; then
    wb_warning "the SCIM token \"$WB_TOKEN_NAME\" expires on $expires, in $days days (made on $(made_on) for $WB_TOKEN_DAYS days): rotate it before then (a managed app's stack does on 'pulumi up --refresh')"
  else
    echo "note=the SCIM token \"$WB_TOKEN_NAME\" is listed; it expires on $expires, in $days days (made on $(made_on) for $WB_TOKEN_DAYS days)"
  fi
}
