"""Cuts every SSH connection into the sandbox at a chosen point, as a dropped network or a killed sshd
would: the command that reached the point goes on running (it has no terminal to hang up).

A test writes "<point> [seconds]" to /var/lib/standin/cut-ssh-at. The first stand-in call that reaches
<point> removes the file, kills sshd (its listener and every session process), then waits <seconds>
(default 0) before going on, so the orphaned step runs that much longer. The test then starts sshd
again (sandbox.sh sshd-start), with the same port and host key. Points:
  encrypt       encrypt-password starts (the client secret is being encrypted)
  rserver-conf  test-config runs (the new rserver.conf was just renamed into place)
  restart       systemctl start rstudio-server (Workbench is being restarted)
  scim-token    generate-token has made the token (before the step prints it)
"""
import os
import signal
import time

from standin import SSHD_PID_FILE, _ppid, log_line

CUT_FILE = "/var/lib/standin/cut-ssh-at"


def _comm(pid):
    with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
        return f.read().strip()


def _sshd_processes():
    """sshd's listener and every sshd process below it (one or two per connection)."""
    with open(SSHD_PID_FILE, encoding="utf-8") as f:
        listener = int(f.read().strip())
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(_ppid(int(entry)), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    found, todo = [listener], [listener]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                if _comm(child).startswith("sshd"):
                    found.append(child)
                    todo.append(child)
            except OSError:
                pass
    return found


def cut_ssh_if(point):
    try:
        with open(CUT_FILE, encoding="utf-8") as f:
            wanted = f.read().split()
    except FileNotFoundError:
        return
    if not wanted or wanted[0] != point:
        return
    try:
        os.unlink(CUT_FILE)
    except FileNotFoundError:
        return  # another call got there first
    killed = []
    for pid in _sshd_processes():
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    log_line("faults.log", f"{time.strftime('%Y-%m-%dT%H:%M:%S')} cut SSH at {point}: killed sshd {killed}")
    time.sleep(float(wanted[1]) if len(wanted) > 1 else 0)
