# shellcheck shell=bash
# Runs the step's action: the last part of every host command.
case "${1:-}" in
  apply)
    wb_lock apply
    if [ -n "${WB_KEY_CHECK:-}" ]; then
      IFS= read -r expected_key || true
      wb_check_cluster_key "${expected_key#secure-cookie-key-sha256=}"
    fi
    [ -z "${WB_OWNER:-}" ] || wb_claim
    [ "$WB_STEP" = preflight ] || wb_save_step
    apply
    ;;
  remove)
    wb_lock remove
    if [ -n "${WB_OWNER:-}" ] && wb_owned_by_other; then
      wb_log "this host is now managed by $(cat "$WB_OWNER_FILE"): left as it is"
      echo "$WB_STEP=other-owner"
    else
      remove
      wb_forget_step
    fi
    ;;
  *) wb_fail "usage: $0 apply|remove" ;;
esac
