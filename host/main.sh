# shellcheck shell=bash
# Runs the step's action: the last part of every host command.
#   apply   makes the host what the step wants (each step changes only the difference)
#   update  the same, unless nothing the step was given changed since it last applied here (its
#           values, its stdin, its script's version): then it changes nothing and prints its result.
#           Pulumi runs it when any input changed, the connection too: a new SSH key, login user or
#           host key runs no step's apply.
#   remove  undoes what apply did
#   check   what apply would change, writing nothing
case "${1:-}" in
  apply | update)
    wb_lock apply
    wb_check_key_from_stdin
    wb_read_input
    if [ "$1" = update ] && [ -s "$WB_STEPS_DIR/$WB_STEP.request" ] && [ "$(cat "$WB_STEPS_DIR/$WB_STEP.request")" = "$(wb_request_fingerprint)" ]; then
      wb_log "nothing it was given changed since it applied here: left as it is"
      if declare -F result >/dev/null; then result </dev/null; else echo "$WB_STEP=unchanged"; fi
      exit 0
    fi
    # The preflight writes nothing before its checks pass; every other step claims the host and keeps a
    # copy of itself first (see wb_save_step).
    if [ "$WB_STEP" != preflight ]; then
      [ -z "${WB_OWNER:-}" ] || wb_claim
      wb_save_step
    fi
    apply < <(printf '%s' "$WB_INPUT")
    [ "$WB_STEP" != preflight ] || [ -z "${WB_OWNER:-}" ] || wb_claim
    wb_record_request "$(wb_request_fingerprint)"
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
  *) wb_fail "usage: $0 apply|update|remove|check" ;;
esac
