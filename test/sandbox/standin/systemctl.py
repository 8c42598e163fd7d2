"""systemctl shim (a chroot has no systemd). Every unit call is recorded as "<verb> <unit>" in
/var/log/standin/systemctl.log ("enable --now <unit>" when --now is given); `show`, a query, is not.

`show <unit> -p <property>` answers from /var/lib/standin/systemctl-show/<unit>, lines as systemctl show
prints them ("Environment=A=1 B=2", one "EnvironmentFiles=<path> (ignore_errors=no)" line per file): the
lines of each property asked for, nothing for a property the file does not have."""
import json
import sys

import services
from standin import log_line

ENABLED = "/var/lib/standin/systemctl-enabled.json"
SHOW = "/var/lib/standin/systemctl-show"
DEFAULT_ENABLED = {"rstudio-server": True, "rstudio-launcher": True, "nscd": True, "oddjobd": False}
VERBS = ("start", "stop", "restart", "try-restart", "reload-or-restart", "status", "is-active",
         "is-enabled", "enable", "disable", "list-unit-files")


def load_enabled():
    try:
        with open(ENABLED, encoding="utf-8") as f:
            return {**DEFAULT_ENABLED, **json.load(f)}
    except FileNotFoundError:
        return dict(DEFAULT_ENABLED)


def save_enabled(enabled):
    with open(ENABLED, "w", encoding="utf-8") as f:
        json.dump(enabled, f)


def run(verb, unit, now, quiet):
    """Returns the exit status of one verb on one unit, as systemctl would."""
    known = services.exists(unit)
    if verb == "is-active":
        state = "active" if services.is_active(unit) else "inactive"
        if not quiet:
            print(state)
        return 0 if state == "active" else 3
    if not known:
        if verb == "status":
            print(f"Unit {unit}.service could not be found.", file=sys.stderr)
            return 4
        if verb == "list-unit-files":
            print("UNIT FILE STATE VENDOR PRESET\n\n0 unit files listed.")
            return 1
        if verb in ("is-enabled", "enable", "disable"):
            print(f"Failed to get unit file state for {unit}.service: No such file or directory", file=sys.stderr)
            return 1
        print(f"Failed to {verb} {unit}.service: Unit {unit}.service not found.", file=sys.stderr)
        return 5
    enabled = load_enabled()
    if verb in ("is-enabled", "list-unit-files"):
        state = "enabled" if enabled[unit] else "disabled"
        if verb == "list-unit-files":
            print(f"UNIT FILE STATE VENDOR PRESET\n{unit}.service {state} enabled\n\n1 unit files listed.")
        elif not quiet:
            print(state)
        return 0 if enabled[unit] or verb == "list-unit-files" else 1
    if verb == "status":
        active = services.is_active(unit)
        print(f"* {unit}.service\n     Loaded: loaded (enabled={enabled[unit]})\n"
              f"     Active: {'active (running)' if active else 'inactive (dead)'}")
        return 0 if active else 3
    if verb in ("enable", "disable"):
        enabled[unit] = verb == "enable"
        save_enabled(enabled)
        if not now:
            return 0
        verb = "start" if verb == "enable" else "stop"
    if verb == "try-restart" and not services.is_active(unit):
        return 0
    if verb != "start":
        services.stop(unit)
    if verb != "stop":
        error = services.start(unit)
        if error:
            print(f"Job for {unit}.service failed because the control process exited with error code.\n"
                  f"{error}", file=sys.stderr)
            return 1
    return 0


def show(args):
    """show UNIT... -p NAME[,NAME] | --property=NAME: the unit's lines for those properties."""
    units, wanted = [], []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-p", "--property") and rest:
            wanted += rest.pop(0).split(",")
        elif arg.startswith("--property="):
            wanted += arg.split("=", 1)[1].split(",")
        elif arg.startswith("-"):
            print(f"systemctl (stand-in): unsupported option for show: {arg}", file=sys.stderr)
            return 1
        else:
            units.append(arg.removesuffix(".service"))
    if not units or not wanted:
        print("systemctl (stand-in): show needs a unit and -p", file=sys.stderr)
        return 1
    for unit in units:
        try:
            with open(f"{SHOW}/{unit}", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            if line.split("=", 1)[0] in wanted:
                print(line)
    return 0


def main(args):
    if args[:1] == ["show"]:
        return show(args[1:])
    flags = {a for a in args if a.startswith("-")}
    words = [a for a in args if not a.startswith("-")]
    verb, units = (words[0], [u.removesuffix(".service") for u in words[1:]]) if words else ("", [])
    if verb == "daemon-reload":
        log_line("systemctl.log", verb)
        return 0
    if verb not in VERBS or not units:
        print(f"systemctl (stand-in): unsupported call: {' '.join(args)}", file=sys.stderr)
        return 1
    now = "--now" in flags
    status = 0
    for unit in units:
        log_line("systemctl.log", f"{verb} --now {unit}" if now else f"{verb} {unit}")
        status = max(status, run(verb, unit, now, bool(flags & {"-q", "--quiet"})))
    return status
