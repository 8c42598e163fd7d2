# shellcheck shell=bash
# Merges the managed keys into /etc/rstudio/rserver.conf, keeping every other line and the file's
# line endings (CRLF when most of its lines end so).
#   WB_MANAGED_KEYS  every key this program may own, space separated (removed when not wanted): its
#                    own keys and the stack's extra settings
#   WB_SETTINGS      the wanted key=value lines, newline separated
#   WB_STACK         the Pulumi stack, named in the managed block's header
CONF=/etc/rstudio/rserver.conf
HEADER="# Managed by posit-workbench-entra (Pulumi stack ${WB_STACK:-unknown}): change the stack config, not these lines."
# The keys of the lines the last apply wrote, one a line, beside the file's other records. An extra setting
# dropped from the stack's config is no longer in WB_MANAGED_KEYS, yet its line must go: the keys recorded
# are managed too. Only the keys the stack wrote: an option set by hand elsewhere in the file stays.
KEYS_RECORD="$(wb_record "$CONF").keys"

# The keys managed: WB_MANAGED_KEYS and those recorded, space separated.
managed_keys() {
  printf '%s' "$WB_MANAGED_KEYS"
  if [ -e "$KEYS_RECORD" ]; then printf ' '; tr '\n' ' ' <"$KEYS_RECORD"; fi
}

# filter_managed drop|only FILE: prints FILE without the managed keys and the managed block's
# header (trailing blank lines dropped, "\r" alone counts as blank), or only the lines that set a
# managed key. Lines keep their own endings.
filter_managed() {
  awk -v mode="$1" -v keys="$(managed_keys)" '
    BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) managed[k[i]] = 1 }
    /^# Managed by posit-workbench-entra / { next }
    {
      line = $0; sub(/^[ \t]+/, "", line)
      split(line, kv, "="); key = kv[1]; sub(/[ \t]+$/, "", key)
      is_managed = line !~ /^#/ && index(line, "=") && (key in managed)
      if (mode == "only" && is_managed) print
      if (mode == "drop" && !is_managed) out[++count] = $0
    }
    END { while (count > 0 && out[count] ~ /^[ \t\r]*$/) count--; for (i = 1; i <= count; i++) print out[i] }
  ' "$2"
}

# line_end FILE...: "\r" when most lines of the first non-empty FILE end in CRLF (a file from a
# Windows editor), else "".
line_end() {
  local file
  for file in "$@"; do
    [ -s "$file" ] || continue
    awk '/\r$/ { crlf++; next } { lf++ } END { if (crlf > lf) printf "\r" }' "$file"
    return 0
  done
}

# rserver.conf as apply writes it: the other lines kept, then the managed block.
render() {
  local kept eol=""
  kept=$(wb_tmp)
  if [ -e "$CONF" ]; then
    filter_managed drop "$CONF" >"$kept"
    # The block follows the file's own line endings: those of its other lines (not of an older
    # block), or of the whole file when it holds nothing else.
    eol=$(line_end "$kept" "$CONF")
    cat "$kept"
    printf '%s\n' "$eol"
  fi
  printf '%s%s\n' "$HEADER" "$eol"
  printf '%s\n' "$WB_SETTINGS" | awk -v eol="$eol" '{ printf "%s%s\n", $0, eol }'
}

# Records the keys of the lines written (see KEYS_RECORD), once test-config has accepted them.
record_keys() {
  wb_init_state
  printf '%s\n' "$WB_SETTINGS" | sed -n 's/^\([^=]*\)=.*/\1/p' >"$KEYS_RECORD"
}

apply() {
  local new previous="$WB_TMP/previous" check first_touch=yes
  [ -d /etc/rstudio ] || wb_fail "/etc/rstudio does not exist: is Posit Workbench installed?"
  new=$(wb_tmp)
  if [ -e "$CONF" ]; then cp -p "$CONF" "$previous"; fi
  if wb_has_record "$CONF"; then first_touch=no; fi
  render >"$new"
  wb_install "$CONF" "$new" 0644 root:root
  if [ "$WB_CHANGED" = no ]; then
    record_keys
    echo "rserver.conf=unchanged"
    return 0
  fi
  if ! check=$(rstudio-server test-config 2>&1); then
    # Put the previous file back: Workbench keeps running on a configuration it accepts.
    if [ -e "$previous" ]; then
      # Through a file created beside it, so it gets the directory's SELinux label, not /tmp's.
      local back; back=$(mktemp "$CONF.wb-XXXXXX")
      cp -p "$previous" "$back"
      mv -f "$back" "$CONF"
    else
      rm -f "$CONF"
    fi
    if [ "$first_touch" = yes ]; then wb_forget "$CONF"; else wb_sha256 "$CONF" >"$(wb_record "$CONF").written"; fi
    wb_fail "rstudio-server test-config rejected the new rserver.conf, the previous file is back in place: $check"
  fi
  record_keys
  wb_mark_restart
  echo "rserver.conf=changed"
}

remove() {
  wb_restore "$CONF"
  if [ "$WB_RESTORED" = edited ]; then
    # Edited since: take out only the managed block and put back the original values of those keys.
    local new; new=$(wb_tmp)
    {
      filter_managed drop "$CONF"
      wb_original "$CONF" | filter_managed only -
    } >"$new"
    wb_rewrite "$CONF" "$new"
    wb_forget "$CONF"
    wb_log "rserver.conf was edited after this program wrote it: removed the managed keys only"
  fi
  rm -f "$KEYS_RECORD"
  wb_report_restore rserver.conf
}

check() {
  [ -d /etc/rstudio ] || wb_fail "/etc/rstudio does not exist: is Posit Workbench installed?"
  local new; new=$(wb_tmp)
  render >"$new"
  wb_check_file "$CONF" "$new" 0644 root:root
  [ "$WB_CHANGED" = no ] || echo "note=rstudio-server test-config would check the new file, and Workbench be restarted"
}
