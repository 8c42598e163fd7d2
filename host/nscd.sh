# shellcheck shell=bash
# Turns off NSCD's passwd and group caches, which would hide users Workbench provisions.
NSCD_CONF=/etc/nscd.conf

nscd_installed() { [ -e "$NSCD_CONF" ] && { command -v nscd >/dev/null 2>&1 || [ -x /usr/sbin/nscd ]; }; }

restart_nscd_if_running() {
  if systemctl is-active --quiet nscd; then systemctl restart nscd >&2; fi
}

# nscd.conf with the passwd and group caches off, every other line kept.
render() {
  awk '
    $1 == "enable-cache" && ($2 == "passwd" || $2 == "group") { seen[$2] = 1; match($0, /^[ \t]*/); print substr($0, 1, RLENGTH) "enable-cache\t\t" $2 "\t\tno"; next }
    { print }
    END { if (!seen["passwd"]) print "\tenable-cache\t\tpasswd\t\tno"; if (!seen["group"]) print "\tenable-cache\t\tgroup\t\tno" }
  ' "$NSCD_CONF"
}

apply() {
  if ! nscd_installed; then
    echo "nscd=not-installed"
    return 0
  fi
  local new; new=$(wb_tmp)
  render >"$new"
  wb_install "$NSCD_CONF" "$new" 0644 root:root
  [ "$WB_CHANGED" = no ] || restart_nscd_if_running
  wb_report_install nscd
}

remove() {
  wb_restore "$NSCD_CONF"
  if [ "$WB_RESTORED" = edited ]; then
    wb_log "$NSCD_CONF was edited after this program wrote it: left as it is (passwd and group caching stay off)"
    wb_forget "$NSCD_CONF"
  fi
  [ "$WB_RESTORED" != yes ] || restart_nscd_if_running
  echo "nscd=$WB_RESTORED"
}

check() {
  if ! nscd_installed; then
    echo "note=nscd is not installed"
    return 0
  fi
  local new; new=$(wb_tmp)
  render >"$new"
  wb_check_file "$NSCD_CONF" "$new" 0644 root:root
  [ "$WB_CHANGED" = no ] || echo "note=nscd would be restarted (if running) to stop caching passwd and group"
}
