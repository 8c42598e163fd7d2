# shellcheck shell=bash
# Makes PAM create a user's home directory at first login.
#   Debian/Ubuntu: pam_mkhomedir in /etc/pam.d/common-session (package libpam-modules).
#   RHEL family:   oddjob-mkhomedir, the oddjobd service and authselect's with-mkhomedir feature (never
#                  forced, see lib.sh; destroy puts back authselect's backup of the files before).
COMMON_SESSION=/etc/pam.d/common-session
MKHOMEDIR_LINE="session required pam_mkhomedir.so skel=/etc/skel/ umask=0077"
MKHOMEDIR_COMMENT="# Posit Workbench: automatic home directory creation"
RHEL_RECORD="$WB_STATE_DIR/home-directories.rhel"

has_mkhomedir_line() { grep -Eq '^[[:space:]]*session[[:space:]].*pam_mkhomedir\.so' "$COMMON_SESSION" 2>/dev/null; }

# common-session with the mkhomedir line added at the end (a comment of ours left without its line, by
# `pam-auth-update --force` say, is taken out with the blank line before it, so it is not doubled).
render_common_session() {
  if [ -e "$COMMON_SESSION" ]; then
    awk -v comment="$MKHOMEDIR_COMMENT" '
      $0 == "" { blanks++; next }
      $0 == comment { if (blanks) blanks--; next }
      { while (blanks) { print ""; blanks-- } print }
      END { while (blanks) { print ""; blanks-- } }
    ' "$COMMON_SESSION"
  fi
  printf '\n%s\n%s\n' "$MKHOMEDIR_COMMENT" "$MKHOMEDIR_LINE"
}

check_debian() {
  wb_os_facts debian
  wb_has_pam_mkhomedir || wb_would_change "${WB_HOMEDIR_PACKAGES[*]} would be installed (pam_mkhomedir.so is missing)"
  has_mkhomedir_line && return 0
  local new; new=$(wb_tmp)
  render_common_session >"$new"
  wb_check_file "$COMMON_SESSION" "$new" 0644 root:root
}

check_rhel() {
  wb_authselect_require_clean
  local package
  wb_os_facts rhel
  for package in "${WB_HOMEDIR_PACKAGES[@]}"; do
    rpm -q "$package" >/dev/null 2>&1 || wb_would_change "$package would be installed"
  done
  { systemctl is-enabled --quiet oddjobd.service && systemctl is-active --quiet oddjobd.service; } \
    || wb_would_change "oddjobd would be enabled and started"
  has_feature with-mkhomedir || wb_would_change "authselect's feature with-mkhomedir would be turned on"
}

apply_debian() {
  if ! wb_has_pam_mkhomedir; then
    wb_os_facts debian
    wb_log "installing ${WB_HOMEDIR_PACKAGES[*]} (pam_mkhomedir.so is missing)"
    wb_install_packages "${WB_HOMEDIR_PACKAGES[@]}"
  fi
  if has_mkhomedir_line; then
    echo "common-session=unchanged"
    return 0
  fi
  local new; new=$(wb_tmp)
  render_common_session >"$new"
  wb_install "$COMMON_SESSION" "$new" 0644 root:root
  wb_mark_restart
  echo "common-session=changed"
}

remove_debian() {
  wb_restore "$COMMON_SESSION"
  if [ "$WB_RESTORED" = edited ]; then
    local new; new=$(wb_tmp)
    grep -vxF -e "$MKHOMEDIR_COMMENT" -e "$MKHOMEDIR_LINE" "$COMMON_SESSION" >"$new" || true
    wb_rewrite "$COMMON_SESSION" "$new"
    wb_forget "$COMMON_SESSION"
  fi
  wb_report_restore common-session
}

has_feature() { wb_authselect_current 2>/dev/null | tr ' ' '\n' | grep -x "$1" >/dev/null; }

# The authselect backup taken before with-mkhomedir is turned on.
BACKUP=posit-workbench-entra.home-directories
# Names that backup while nss.sh holds it (this step removed before nss.sh: see remove_rhel); with
# .state, the state of authselect's files in which the backup is right.
NSS_HANDED="$WB_NSS_RHEL_RECORD.handed"

apply_rhel() {
  local missing=() changed=no
  # The preflight checked this on the first run (before any package is installed); a later run of
  # this step alone checks it again.
  wb_authselect_require_clean
  wb_os_facts rhel
  for package in "${WB_HOMEDIR_PACKAGES[@]}"; do rpm -q "$package" >/dev/null 2>&1 || missing+=("$package"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    wb_log "installing ${missing[*]}"
    wb_install_packages "${missing[@]}"
    changed=yes
  fi
  wb_init_state
  if [ ! -e "$RHEL_RECORD" ]; then
    {
      systemctl is-enabled --quiet oddjobd.service && echo "oddjobd-enabled=yes" || echo "oddjobd-enabled=no"
      has_feature with-mkhomedir && echo "with-mkhomedir=yes" || echo "with-mkhomedir=no"
    } >"$RHEL_RECORD"
  fi
  if ! systemctl is-enabled --quiet oddjobd.service || ! systemctl is-active --quiet oddjobd.service; then
    systemctl enable --now oddjobd.service >&2
    changed=yes
  fi
  local reclaimed=no
  if [ "$(cat "$NSS_HANDED" 2>/dev/null)" = "$BACKUP" ] && [ -e "$WB_NSS_RHEL_RECORD.before" ]; then
    # Removed before while nss.sh's profile stayed (this step replaced alone, see remove_rhel): it takes its
    # backup of the files from before both back, and with it the state in which that backup is right (what
    # it wrote then, which nss.sh's backup gives back).
    cp "$WB_NSS_RHEL_RECORD.before" "$RHEL_RECORD.written"
    touch "$RHEL_RECORD.backup"
    rm -f "$NSS_HANDED" "$NSS_HANDED.state"
    reclaimed=yes
  fi
  if ! has_feature with-mkhomedir; then
    local backup=()
    [ -e "$RHEL_RECORD.backup" ] || backup=("--backup=$BACKUP")
    # Never forced (see lib.sh); authselect writes the files at once.
    authselect enable-feature with-mkhomedir "${backup[@]}" >&2
    touch "$RHEL_RECORD.backup"
    [ "$reclaimed" = yes ] || wb_authselect_state >"$RHEL_RECORD.written"
    changed=yes
  fi
  if [ "$changed" = yes ]; then wb_mark_restart; echo "mkhomedir=changed"; else echo "mkhomedir=unchanged"; fi
}

# nss.sh's profile was selected right on top of this step's change (nss.sh's backup gives back what this
# step wrote) and authselect's files are still as nss.sh left them: nss.sh has not been undone yet.
nss_on_top() {
  [ -e "$RHEL_RECORD.written" ] && [ -e "$WB_NSS_RHEL_RECORD.before" ] && [ -e "$WB_NSS_RHEL_RECORD.written" ] \
    && cmp -s "$RHEL_RECORD.written" "$WB_NSS_RHEL_RECORD.before" \
    && [ "$(wb_authselect_state)" = "$(cat "$WB_NSS_RHEL_RECORD.written")" ] \
    && wb_authselect_has_backup "$BACKUP" && has_feature with-mkhomedir
}

remove_rhel() {
  [ -e "$RHEL_RECORD" ] || { echo "mkhomedir=none"; return 0; }
  local handed=no
  if [ -e "$RHEL_RECORD.written" ] && [ "$(wb_authselect_state)" = "$(cat "$RHEL_RECORD.written")" ] \
     && wb_authselect_has_backup "$BACKUP"; then
    # Nothing changed since (nss.sh restored its own change first): authselect's backup puts every
    # file back as it was, byte for byte.
    authselect backup-restore "$BACKUP" >&2
  elif nss_on_top; then
    # Removed before nss.sh (its result never reached Pulumi and the preflight's remove undoes it last, or
    # this step is replaced alone): the feature goes from nss.sh's profile, and authselect's backup from
    # before both is handed to nss.sh, which puts it back when it is undone with nothing changed since:
    # every file as it was before either step, byte for byte (a reselection would date them anew on 1.2).
    authselect disable-feature with-mkhomedir >&2
    printf '%s\n' "$BACKUP" >"$NSS_HANDED"
    wb_authselect_state >"$NSS_HANDED.state"
    handed=yes
  elif grep -qx "with-mkhomedir=no" "$RHEL_RECORD" && has_feature with-mkhomedir; then
    wb_authselect_require_clean
    authselect disable-feature with-mkhomedir >&2
  fi
  if [ "$handed" = no ] && wb_authselect_has_backup "$BACKUP"; then authselect backup-remove "$BACKUP" >&2; fi
  if grep -qx "oddjobd-enabled=no" "$RHEL_RECORD"; then
    systemctl disable --now oddjobd.service >&2
  fi
  rm -f "$RHEL_RECORD" "$RHEL_RECORD.backup" "$RHEL_RECORD.written"
  wb_mark_restart
  echo "mkhomedir=restored"
}

apply() { local family; family=$(wb_os_family); "apply_$family"; }
remove() { local family; family=$(wb_os_family); "remove_$family"; }
check() { local family; family=$(wb_os_family); "check_$family"; }
