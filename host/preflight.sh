# shellcheck shell=bash
# Checks the host before anything is changed. On destroy, run last on the host: undoes any step that
# ran here without its result reaching Pulumi (an interrupted run), restarts Workbench once if
# restoring the steps changed something it reads, and removes this program's state from the host.
# Everything the later steps depend on; fails naming what is wrong and how to fix it.
check_host() {
  local family=$1
  command -v rstudio-server >/dev/null 2>&1 || [ -x /usr/lib/rstudio-server/bin/rstudio-server ] \
    || wb_fail "Posit Workbench is not installed (no rstudio-server command)"
  # A release that has the provisioning the stack sets up (WB_PROVISIONING: jit or scim; older callers
  # do not say, and are not checked).
  wb_check_workbench_version "${WB_PROVISIONING:-}"
  [ -d /etc/rstudio ] || wb_fail "/etc/rstudio does not exist: is Posit Workbench installed?"
  id rstudio-server >/dev/null 2>&1 || wb_fail "user rstudio-server does not exist: is Posit Workbench installed?"
  command -v script >/dev/null 2>&1 || wb_fail "the 'script' command (util-linux) is needed to drive rstudio-server encrypt-password"
  # The host keeps the SCIM token sealed (scim-token.sh), so that a later run can give Entra ID the same one.
  [ "${WB_PROVISIONING:-}" != scim ] || command -v openssl >/dev/null 2>&1 \
    || wb_fail "openssl is not installed: SCIM needs it to keep the token sealed on this host (install the openssl package, then run pulumi again)"
  # sudo's I/O logging would record the secrets sent on stdin and the SCIM token printed on stdout.
  if sudo -l -U "${SUDO_USER:-root}" 2>/dev/null | grep -E '(^|[ ,])(log_(input|output|stdin|stdout|ttyin|ttyout)([ ,]|$)|LOG_(INPUT|OUTPUT):)' >/dev/null; then
    wb_fail "sudo records the I/O of ${SUDO_USER:-root}'s commands (log_input/log_output): secrets sent on stdin would be logged in clear; turn it off for this user (Defaults:${SUDO_USER:-root} !log_input, !log_output)"
  fi
  wb_nss_module "$family" >/dev/null
  # The client secret is encrypted with the key file: Workbench must not take its key from elsewhere.
  wb_check_key_source
  if [ "$family" = rhel ]; then
    # Before home-directories installs a package: authselect manages the host, its files are what it
    # generated (no hand edits it would overwrite), and nss.sh can base its profile on the current one.
    wb_authselect_require_clean
    wb_authselect_require_supported_profile
    wb_os_facts rhel
    rpm -q oddjob-mkhomedir >/dev/null 2>&1 || command -v "$WB_PACKAGE_TOOL" >/dev/null 2>&1 \
      || wb_fail "oddjob-mkhomedir (which creates home directories at first login) is not installed and there is no dnf to install it: install it with your package tooling (rpm -i oddjob-mkhomedir-*.rpm), then run pulumi again"
  elif ! wb_has_pam_mkhomedir; then
    wb_os_facts debian
    command -v "$WB_PACKAGE_TOOL" >/dev/null 2>&1 \
      || wb_fail "pam_mkhomedir.so (package libpam-modules, creates home directories at first login) is missing and there is no apt-get to install it: install libpam-modules, then run pulumi again"
  fi
}

# The node's facts: its OS family and, as nodes of a cluster must share the key, the key's hash (the
# program compares hashes, never the key).
report_facts() {
  echo "os-family=$1"
  echo "secure-cookie-key-sha256=$(sha256sum "$(wb_key_file)" | cut -d' ' -f1)"
}

apply() {
  local family
  family=$(wb_os_family)
  check_host "$family"
  wb_init_state
  report_facts "$family"
}

check() {
  local family
  family=$(wb_os_family)
  check_host "$family"
  report_facts "$family"
}

# An update that changed nothing the step was given: the node's facts, read again.
result() { report_facts "$(wb_os_family)"; }

remove() {
  # WB_UNDO_ORDER: the reverse of a node's plan (plan.ts's UNDO_ORDER); its words are step names.
  # shellcheck disable=SC2086
  wb_undo_saved_steps ${WB_UNDO_ORDER:?the steps to undo, in order}
  wb_restart_if_pending
  # The restored rserver.conf may have the health check off: wait for the service itself.
  local deadline=$((SECONDS + ${WB_HEALTH_TIMEOUT:-60}))
  until systemctl is-active --quiet rstudio-server; do
    [ "$SECONDS" -lt "$deadline" ] || wb_fail "rstudio-server is not active after restoring the host (see 'systemctl status rstudio-server')"
    sleep 1
  done
  wb_forget_host
}
