# shellcheck shell=bash
# Makes PAM create a user's home directory at first login.
#   Debian/Ubuntu: pam_mkhomedir in /etc/pam.d/common-session (package libpam-modules).
#   RHEL family:   oddjob-mkhomedir, the oddjobd service and authselect's with-mkhomedir feature.
COMMON_SESSION=/etc/pam.d/common-session
MKHOMEDIR_LINE="session required pam_mkhomedir.so skel=/etc/skel/ umask=0077"
MKHOMEDIR_COMMENT="# Posit Workbench: automatic home directory creation"
RHEL_RECORD="$WB_STATE_DIR/home-directories.rhel"

apply_debian() {
  if ! compgen -G "/lib/*/security/pam_mkhomedir.so" >/dev/null && ! compgen -G "/usr/lib/*/security/pam_mkhomedir.so" >/dev/null; then
    wb_log "installing libpam-modules (pam_mkhomedir.so is missing)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libpam-modules >&2
  fi
  if grep -Eq '^[[:space:]]*session[[:space:]].*pam_mkhomedir\.so' "$COMMON_SESSION" 2>/dev/null; then
    echo "common-session=unchanged"
    return 0
  fi
  local new; new=$(wb_tmp)
  {
    if [ -e "$COMMON_SESSION" ]; then cat "$COMMON_SESSION"; fi
    printf '\n%s\n%s\n' "$MKHOMEDIR_COMMENT" "$MKHOMEDIR_LINE"
  } >"$new"
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

has_feature() { authselect current --raw 2>/dev/null | tr ' ' '\n' | grep -x "$1" >/dev/null; }

apply_rhel() {
  local missing=() changed=no
  for package in oddjob-mkhomedir authselect; do rpm -q "$package" >/dev/null 2>&1 || missing+=("$package"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    wb_log "installing ${missing[*]}"
    dnf install -y "${missing[@]}" >&2
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
  if ! has_feature with-mkhomedir; then
    authselect enable-feature with-mkhomedir >&2
    authselect apply-changes >&2
    changed=yes
  fi
  [ "$changed" = no ] || wb_mark_restart
  echo "mkhomedir=$changed"
}

remove_rhel() {
  [ -e "$RHEL_RECORD" ] || { echo "mkhomedir=none"; return 0; }
  if grep -qx "with-mkhomedir=no" "$RHEL_RECORD" && has_feature with-mkhomedir; then
    authselect disable-feature with-mkhomedir >&2
    authselect apply-changes >&2
  fi
  if grep -qx "oddjobd-enabled=no" "$RHEL_RECORD"; then
    systemctl disable --now oddjobd.service >&2
  fi
  rm -f "$RHEL_RECORD"
  wb_mark_restart
  echo "mkhomedir=restored"
}

apply() { local family; family=$(wb_os_family); "apply_$family"; }
remove() { local family; family=$(wb_os_family); "remove_$family"; }
