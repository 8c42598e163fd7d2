# shellcheck shell=bash
# Adds Workbench's `pwb` NSS module to the passwd, group and shadow databases, right before the
# directory source (sss, winbind, nis or ldap) when there is one, else after the local ones.
#   Debian/Ubuntu: /etc/nsswitch.conf.
#   RHEL family:   a custom authselect profile custom/pwb based on the host's own profile (whichever
#                  authselect ships: sssd, winbind, nis, minimal, local), selected with the features
#                  that were on. Never forced (see lib.sh); destroy puts back authselect's backup of
#                  the configuration before, byte for byte. A custom profile of the host's own is left
#                  as it is when it has pwb already (the preflight refuses it otherwise).
NSSWITCH=/etc/nsswitch.conf
PROFILE_DIR="/etc/authselect/$WB_PWB_PROFILE"
RHEL_RECORD="$WB_NSS_RHEL_RECORD"
# The authselect backup taken before custom/pwb is first selected.
BACKUP=posit-workbench-entra.nss

# add_pwb FILE [FALLBACK]: prints FILE (nsswitch.conf or an authselect profile's template) with pwb on
# the passwd, group and shadow lines; other lines untouched. pwb goes before every directory source
# on the line, in authselect's {if ...} directives too, with the source's [SUCCESS=merge]-style action;
# without one, before an authselect {exclude/include ...} directive or at the end. A line whose pwb comes
# after a directory source (wb_pwb_misplaced in lib.sh) has it moved there. A database FILE lacks is
# added from FALLBACK's line for it (the nsswitch.conf in use), else as "files pwb".
add_pwb() {
  awk -v fallback="${2:-}" "$WB_NSS_AWK"'
    # s without its pwb words, each with the [STATUS=action] that follows it (an action is the word before it).
    function without_pwb(s,   out, next_char) {
      out = ""
      while (match(s, /[ \t]+pwb([ \t]+\[[^]]*\])?/)) {
        next_char = substr(s, RSTART + RLENGTH, 1)
        out = out substr(s, 1, next_char == "" || next_char ~ /[ \t{|}]/ ? RSTART - 1 : RSTART + RLENGTH - 1)
        s = substr(s, RSTART + RLENGTH)
      }
      return out s
    }
    # pwb before each directory source of s.
    function before_sources(s,   out, pos, rest, token, action) {
      out = ""
      while (wb_source_at(s)) {
        pos = RSTART
        if (substr(s, pos, 1) ~ /[ \t:|}]/) pos++
        rest = substr(s, pos)
        match(rest, /^[a-z]+/)
        token = substr(rest, 1, RLENGTH)
        rest = substr(rest, RLENGTH + 1)
        action = ""
        if (match(rest, /^[ \t]+\[[^]]*\]/)) { action = substr(rest, 1, RLENGTH); sub(/^[ \t]+/, "", action); action = action " " }
        out = out substr(s, 1, pos - 1) "pwb " action token
        s = rest
      }
      return out s
    }
    function with_pwb(line,   changed, moved) {
      if (wb_pwb_misplaced(line)) {
        moved = without_pwb(line)
        if (!wb_pwb_at(moved)) line = moved
      }
      if (wb_pwb_at(line)) return line
      changed = before_sources(line)
      if (changed != line) return changed
      if (match(line, /[ \t]\{(exclude|include) /)) return substr(line, 1, RSTART) "pwb " substr(line, RSTART + 1)
      sub(/[ \t]+$/, "", line)
      return line " pwb"
    }
    fallback != "" && FILENAME == fallback {
      if ($1 ~ /^(passwd|group|shadow):$/ && !($1 in known)) known[$1] = $0
      next
    }
    $1 ~ /^(passwd|group|shadow):$/ { seen[$1] = 1; print with_pwb($0); next }
    { print }
    END {
      n = split("passwd: group: shadow:", dbs, " ")
      for (i = 1; i <= n; i++) if (!(dbs[i] in seen)) print with_pwb(dbs[i] in known ? known[dbs[i]] : dbs[i] " files")
    }
  ' ${2:+"$2"} "$1"
}

# require_module FAMILY: the Workbench NSS module is installed (wb_nss_module fails naming where it looked).
require_module() { wb_nss_module "$1" >/dev/null; }

apply_debian() {
  require_module debian
  local new; new=$(wb_tmp)
  add_pwb "$NSSWITCH" >"$new"
  wb_install "$NSSWITCH" "$new" 0644 root:root
  [ "$WB_CHANGED" = no ] || wb_mark_restart
  wb_report_install nsswitch
}

remove_debian() {
  wb_restore "$NSSWITCH"
  if [ "$WB_RESTORED" = edited ]; then
    # Edited since: take pwb out again from the lines where the original did not have it.
    local new had; new=$(wb_tmp)
    had=$(wb_original "$NSSWITCH" | awk '$1 ~ /^(passwd|group|shadow):$/ && /[ \t]pwb([ \t]|$)/ { printf "%s ", $1 }')
    awk -v had=" $had" '
      $1 ~ /^(passwd|group|shadow):$/ && index(had, " " $1 " ") == 0 { gsub(/[ \t]+pwb([ \t]|$)/, " ") } { print }
    ' "$NSSWITCH" >"$new"
    wb_rewrite "$NSSWITCH" "$new"
    wb_forget "$NSSWITCH"
  fi
  wb_report_restore nsswitch
}

# The features of an `authselect current --raw` line (its words after the profile).
features_of() { cut -s -d' ' -f2- <<<"$1"; }

apply_rhel() {
  require_module rhel
  # The preflight checked these on the first run; a later run of this step alone checks them again.
  wb_authselect_require_clean
  wb_authselect_require_supported_profile
  local current profile changed=no new
  current=$(wb_authselect_current)
  profile=${current%% *}
  case "$profile" in
    "$WB_PWB_PROFILE") ;;
    custom/*)
      wb_log "the host's own authselect profile $profile has pwb already: left as it is"
      echo "authselect=unchanged"
      return 0
      ;;
  esac
  wb_init_state
  [ -e "$RHEL_RECORD" ] || printf '%s\n' "$current" >"$RHEL_RECORD"
  if [ ! -d "$PROFILE_DIR" ]; then
    # Only nsswitch.conf is the program's: the PAM files follow the base profile's.
    authselect create-profile pwb "--base-on=$(head -n 1 "$RHEL_RECORD" | cut -d' ' -f1)" \
      --symlink-meta --symlink-pam --symlink-dconf >&2
    echo "created" >"$RHEL_RECORD.profile"
    changed=yes
  fi
  new=$(wb_tmp)
  add_pwb "$PROFILE_DIR/nsswitch.conf" "$NSSWITCH" >"$new"
  if ! cmp -s "$new" "$PROFILE_DIR/nsswitch.conf"; then
    cat "$new" >"$PROFILE_DIR/nsswitch.conf"
    changed=yes
  fi
  if [ "$changed" = yes ] || [ "$profile" != "$WB_PWB_PROFILE" ]; then
    local backup=()
    [ -e "$RHEL_RECORD.backup" ] || backup=("--backup=$BACKUP")
    # What that backup gives back (home-directories.sh compares it with what it wrote, see its remove_rhel).
    [ "${#backup[@]}" -eq 0 ] || wb_authselect_state >"$RHEL_RECORD.before"
    # shellcheck disable=SC2046 # features are separate words
    authselect select "$WB_PWB_PROFILE" $(features_of "$current") "${backup[@]}" >&2
    touch "$RHEL_RECORD.backup"
    wb_authselect_state >"$RHEL_RECORD.written"
    changed=yes
  fi
  if [ "$changed" = yes ]; then wb_mark_restart; echo "authselect=changed"; else echo "authselect=unchanged"; fi
}

remove_rhel() {
  [ -e "$RHEL_RECORD" ] || { echo "authselect=none"; return 0; }
  local original current result=restored handed=""
  original=$(head -n 1 "$RHEL_RECORD")
  current=$(wb_authselect_current) || current=none
  # The backup home-directories.sh handed over when it was removed first (see its remove_rhel).
  [ ! -e "$RHEL_RECORD.handed" ] || handed=$(head -n 1 "$RHEL_RECORD.handed")
  if [ -e "$RHEL_RECORD.written" ] && [ "$(wb_authselect_state)" = "$(cat "$RHEL_RECORD.written")" ] \
     && wb_authselect_has_backup "$BACKUP"; then
    # Nothing changed since: authselect's own backup puts every file back as it was.
    authselect backup-restore "$BACKUP" >&2
  elif [ -n "$handed" ] && [ "$(wb_authselect_state)" = "$(cat "$RHEL_RECORD.handed.state")" ] \
     && wb_authselect_has_backup "$handed"; then
    # Nothing changed since home-directories.sh took its feature out: its backup, from before either
    # step, puts every file back as it was.
    authselect backup-restore "$handed" >&2
  elif [ "${current%% *}" = "$WB_PWB_PROFILE" ]; then
    # Changed since (a feature, say): back to the original profile with the features on now.
    wb_authselect_require_clean
    # shellcheck disable=SC2046 # features are separate words
    authselect select "${original%% *}" $(features_of "$current") >&2
    result=reselected
  else
    wb_log "authselect was switched from $WB_PWB_PROFILE to '$current' since: left as it is"
    result=left
  fi
  if wb_authselect_has_backup "$BACKUP"; then authselect backup-remove "$BACKUP" >&2; fi
  if [ -n "$handed" ] && wb_authselect_has_backup "$handed"; then authselect backup-remove "$handed" >&2; fi
  if [ -e "$RHEL_RECORD.profile" ] && [ "$(wb_authselect_current | cut -d' ' -f1)" != "$WB_PWB_PROFILE" ]; then
    rm -rf "$PROFILE_DIR"
  fi
  rm -f "$RHEL_RECORD" "$RHEL_RECORD.profile" "$RHEL_RECORD.backup" "$RHEL_RECORD.written" "$RHEL_RECORD.before" \
    "$RHEL_RECORD.handed" "$RHEL_RECORD.handed.state"
  wb_mark_restart
  echo "authselect=$result"
}

check_debian() {
  require_module debian
  local new; new=$(wb_tmp)
  add_pwb "$NSSWITCH" >"$new"
  wb_check_file "$NSSWITCH" "$new" 0644 root:root
}

# What apply_rhel would do, from the same facts: the profile in use, the profile's template with pwb.
check_rhel() {
  require_module rhel
  wb_authselect_require_clean
  wb_authselect_require_supported_profile
  local current profile new
  current=$(wb_authselect_current)
  profile=${current%% *}
  case "$profile" in
    "$WB_PWB_PROFILE")
      new=$(wb_tmp)
      add_pwb "$PROFILE_DIR/nsswitch.conf" "$NSSWITCH" >"$new"
      cmp -s "$new" "$PROFILE_DIR/nsswitch.conf" \
        || wb_would_change "pwb would be put back in the profile $WB_PWB_PROFILE's nsswitch.conf, and the profile applied again"
      ;;
    custom/*) echo "note=the host's own authselect profile $profile has pwb: left to it" ;;
    *)
      wb_would_change "authselect would select $WB_PWB_PROFILE (based on $profile) with the features on now: $(features_of "$current")"
      new=$(wb_tmp)
      add_pwb "$NSSWITCH" >"$new"
      diff -u --label "$NSSWITCH" --label "$NSSWITCH (after apply)" "$NSSWITCH" "$new" || true
      ;;
  esac
}

apply() { local family; family=$(wb_os_family); "apply_$family"; }
remove() { local family; family=$(wb_os_family); "remove_$family"; }
check() { local family; family=$(wb_os_family); "check_$family"; }
