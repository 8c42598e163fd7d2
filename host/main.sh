# shellcheck shell=bash
# Runs the step's action: the last part of every host command.
case "${1:-}" in
  apply)
    [ -z "${WB_SECURE_COOKIE_KEY_SHA256:-}" ] || wb_check_cluster_key
    [ -z "${WB_OWNER:-}" ] || wb_claim
    apply
    ;;
  remove)
    if [ -n "${WB_OWNER:-}" ] && wb_owned_by_other; then
      wb_log "this host is now managed by $(cat "$WB_OWNER_FILE"): left as it is"
      echo "$WB_STEP=other-owner"
    else
      remove
    fi
    ;;
  *) wb_fail "usage: $0 apply|remove" ;;
esac
