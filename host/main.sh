# shellcheck shell=bash
# Runs the step's action: the last part of every host command.
case "${1:-}" in
  apply | remove) "$1" ;;
  *) wb_fail "usage: $0 apply|remove" ;;
esac
