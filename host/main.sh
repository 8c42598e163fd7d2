# shellcheck shell=bash
# Runs the step's action (apply, remove, or check: what apply would change, writing nothing): the last
# part of every host command.
case "${1:-}" in
  apply)
    wb_lock apply
    wb_check_key_from_stdin
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
  check)
    wb_lock_shared
    wb_check_key_from_stdin
    if [ -n "${WB_OWNER:-}" ] && wb_owned_by_other; then
      echo "note=this host is managed by $(cat "$WB_OWNER_FILE"), not by this stack node"
    fi
    check
    if [ "$WB_WOULD_CHANGE" = yes ]; then echo "check=would-change"; else echo "check=in-sync"; fi
    ;;
  *) wb_fail "usage: $0 apply|remove|check" ;;
esac
