# shellcheck shell=bash
# Adds Workbench's `pwb` NSS module to the passwd, group and shadow databases, before sss/sssd.
#   Debian/Ubuntu: /etc/nsswitch.conf.
#   RHEL family:   a custom authselect profile custom/pwb based on the current one (sssd or minimal).
NSSWITCH=/etc/nsswitch.conf
PROFILE_DIR=/etc/authselect/custom/pwb
RHEL_RECORD="$WB_STATE_DIR/nss.rhel"

# add_pwb FILE: prints FILE with pwb on the passwd, group and shadow lines (before sss or an
# authselect {exclude ...} directive when present); other lines untouched.
add_pwb() {
  awk '
    # Inserts "pwb " at position at (1-based) of the line.
    function insert(line, at) { return substr(line, 1, at - 1) "pwb " substr(line, at) }
    $1 ~ /^(passwd|group|shadow):$/ {
      seen[$1] = 1
      if ($0 ~ /[ \t}]pwb([ \t{]|$)/) { print; next }
      if (match($0, /[ \t}]sssd?([ \t{]|$)/)) { print insert($0, RSTART + 1); next }
      if (match($0, /[ \t]\{exclude /)) { print insert($0, RSTART + 1); next }
      sub(/[ \t]+$/, ""); print $0 " pwb"
      next
    }
    { print }
    END { split("passwd: group: shadow:", dbs, " "); for (d in dbs) if (!(dbs[d] in seen)) print dbs[d] " files pwb" }
  ' "$1"
}

require_module() {
  [ -e "$1" ] || wb_fail "the Workbench NSS module $1 is missing: is Posit Workbench (with user provisioning) installed?"
}

apply_debian() {
  require_module /usr/lib/x86_64-linux-gnu/libnss_pwb.so.2
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

apply_rhel() {
  require_module /usr/lib64/libnss_pwb.so.2
  local current base changed=no
  # Never take over PAM and NSS on a host that authselect does not manage: --force would replace them.
  current=$(authselect current --raw 2>/dev/null) \
    || wb_fail "authselect does not manage this host (authselect current failed): add pwb to nsswitch.conf by hand, or opt in with 'authselect select sssd' first"
  wb_init_state
  if [ ! -e "$RHEL_RECORD" ]; then
    printf '%s\n' "$current" >"$RHEL_RECORD"
  fi
  if [ ! -d "$PROFILE_DIR" ]; then
    case "$(head -n 1 "$RHEL_RECORD" | cut -d' ' -f1)" in sssd | */sssd) base=sssd ;; *) base=minimal ;; esac
    authselect create-profile pwb "--base-on=$base" >&2
    echo "created" >"$RHEL_RECORD.profile"
    changed=yes
  fi
  local new; new=$(wb_tmp)
  add_pwb "$PROFILE_DIR/nsswitch.conf" >"$new"
  if ! cmp -s "$new" "$PROFILE_DIR/nsswitch.conf"; then
    cat "$new" >"$PROFILE_DIR/nsswitch.conf"
    changed=yes
  fi
  local features; features=$(cut -s -d' ' -f2- "$RHEL_RECORD" | head -n 1)
  if [ "$changed" = yes ] || [ "$(echo "$current" | cut -d' ' -f1)" != custom/pwb ]; then
    # shellcheck disable=SC2086 # features are separate words
    authselect select custom/pwb $features with-mkhomedir --force >&2
    authselect apply-changes >&2
    changed=yes
  fi
  [ "$changed" = no ] || wb_mark_restart
  echo "authselect=$changed"
}

remove_rhel() {
  [ -e "$RHEL_RECORD" ] || { echo "authselect=none"; return 0; }
  local original; original=$(head -n 1 "$RHEL_RECORD")
  # shellcheck disable=SC2086 # profile and features are separate words
  authselect select $original --force >&2
  authselect apply-changes >&2
  if [ -e "$RHEL_RECORD.profile" ]; then rm -rf "$PROFILE_DIR"; fi
  rm -f "$RHEL_RECORD" "$RHEL_RECORD.profile"
  wb_mark_restart
  echo "authselect=restored"
}

apply() { local family; family=$(wb_os_family); "apply_$family"; }
remove() { local family; family=$(wb_os_family); "remove_$family"; }
