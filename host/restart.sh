# shellcheck shell=bash
# Restarts Workbench once, in the order of Posit's guide, when an earlier step changed something
# it reads; then waits for its health check (where Workbench does not serve one: its sign-in page, and
# systemd reporting the services active).
#   stdin  a digest of the other steps' inputs: it only makes this step run again when they change
apply() {
  cat >/dev/null
  wb_restart_if_pending
  wb_wait_healthy
}

# An update that changed nothing the step was given: still the restart a step left pending.
result() { if [ -e "$WB_RESTART_PENDING" ]; then apply; else echo "restart=unchanged"; fi; }

remove() { :; }

# The guide's verifications: the services active, the health check answering, pwb in the NSS lookups in
# force (before the directory source), and (WB_ISSUER) the issuer's discovery document reachable from the host.
check() {
  local url out discovery line
  [ ! -e "$WB_RESTART_PENDING" ] || wb_would_change "a restart of Workbench is pending: a change was written, Workbench not restarted since"
  systemctl is-active --quiet rstudio-server || wb_problem "rstudio-server is not active (see 'systemctl status rstudio-server')"
  if wb_unit_exists rstudio-launcher && ! systemctl is-active --quiet rstudio-launcher; then
    wb_problem "rstudio-launcher is not active (see 'systemctl status rstudio-launcher')"
  fi
  url=$(wb_health_url)
  if ! command -v curl >/dev/null 2>&1; then
    wb_warning "curl is not installed: the health check and the issuer were not checked"
    return 0
  fi
  wb_probe_health
  case "$WB_HEALTH" in
    ok) echo "note=Workbench answers $url" ;;
    sign-in-page) echo "note=Workbench does not serve its health check (a licence without it?); its sign-in page answers: $WB_HEALTH_DETAIL" ;;
    *) wb_problem "Workbench does not answer $url ($WB_HEALTH_DETAIL)" ;;
  esac
  wb_nsswitch_has_pwb /etc/nsswitch.conf \
    || wb_problem "pwb is missing from the passwd, group or shadow lookups in /etc/nsswitch.conf: provisioned users would not resolve"
  while IFS= read -r line; do
    wb_problem "pwb comes after a directory source in the ${line%%:*} lookups of /etc/nsswitch.conf ($line): Posit's guide needs pwb before sss; lookups would ask the directory before Workbench's provisioned users"
  done < <(wb_nsswitch_pwb_misplaced /etc/nsswitch.conf)
  if command -v authselect >/dev/null 2>&1 && out=$(authselect current --raw 2>/dev/null); then echo "note=authselect profile in force: $out"; fi
  if [ -n "${WB_ISSUER:-}" ]; then
    discovery="$WB_ISSUER/.well-known/openid-configuration"
    if out=$(curl -fsS --max-time 5 -o /dev/null "$discovery" 2>&1); then
      echo "note=the issuer's discovery document answers: $discovery"
    else
      wb_warning "the issuer's discovery document $discovery is not reachable from this host within 5 s ($out): sign-in needs it"
    fi
  fi
}
