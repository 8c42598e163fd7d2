#!/usr/bin/python3
"""Entry point of the Posit Workbench stand-in: every stand-in command is a symlink to this file.

The command is chosen by the name it was called as. Each call first appends its caller chain's
command lines to /var/log/standin/cmdlines.log so tests can check that no secret is ever passed
on a command line. faults.py can cut every SSH connection at a chosen point of a run.
"""
import os
import signal
import sys
import time

LOG_DIR = "/var/log/standin"
SSHD_PID_FILE = "/run/sshd.pid"


def log_line(name, line):
    """Appends to a log that any sandbox user may write (commands run as admin or root)."""
    umask = os.umask(0)
    try:
        fd = os.open(os.path.join(LOG_DIR, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    finally:
        os.umask(umask)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")


def _ppid(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _outside_sandbox(pid):
    """True when the process has another root directory (only decidable with privileges)."""
    try:
        return os.stat(f"/proc/{pid}/root") != os.stat("/")
    except OSError:
        return False


def audit():
    """Log this process and its ancestors up to sshd's listener, the sandbox's edge, or pid 1."""
    try:
        with open(SSHD_PID_FILE, encoding="utf-8") as f:
            anchor = int(f.read().strip())
    except (OSError, ValueError):
        anchor = 1
    lines = [f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(sys.argv)}"]
    pid = os.getpid()
    while pid > 1 and not _outside_sandbox(pid):
        try:
            lines.append(f"{pid} {_cmdline(pid)}")
            if pid == anchor:
                break
            pid = _ppid(pid)
        except (OSError, ValueError, IndexError):
            break
    log_line("cmdlines.log", "\n".join(lines))


def idle_forever():
    """Stub daemons (rstudio-launcher, oddjobd) only need to exist as processes."""
    while True:
        signal.pause()


def main():
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    name = os.path.basename(sys.argv[0])
    audit()
    if name in ("rstudio-launcher", "oddjobd"):
        return idle_forever()
    args = sys.argv[1:]
    if name in ("rstudio-server", "rserver"):
        import workbench
        from faults import cut_ssh_if
        if args[:1] == ["encrypt-password"]:
            cut_ssh_if("encrypt")
        if args[:1] == ["test-config"]:
            cut_ssh_if("rserver-conf")
        status = workbench.main(name, args)
        if args[:2] == ["user-service", "generate-token"] and status == 0:
            sys.stdout.flush()
            cut_ssh_if("scim-token")
        return status
    if name == "systemctl":
        import systemctl
        from faults import cut_ssh_if
        if args[:1] == ["start"] and "rstudio-server" in args:
            cut_ssh_if("restart")
        return systemctl.main(args)
    if name in ("dnf", "yum", "rpm"):
        import rhel
        return rhel.main(name, sys.argv[1:])
    print(f"standin: unknown command {name}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main())
