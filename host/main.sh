# shellcheck shell=bash
# Runs the step's action: the last part of every host command.
case "${1:-}" in
  apply)
    [ -z "${WB_SECURE_COOKIE_KEY_SHA256:-}" ] || wb_check_cluster_key
    apply
    ;;
  remove) remove ;;
  *) wb_fail "usage: $0 apply|remove" ;;
esac
