"""The daemons the stand-in manages, shared by the systemctl shim and `rstudio-server start|stop`.

A unit exists when its program is installed; it is active while the process in its pid file lives.
"""
import os
import signal
import subprocess
import time

UNITS = {
    "rstudio-server": ("/usr/lib/rstudio-server/bin/rserver", "/run/rstudio-server.pid"),
    "rstudio-launcher": ("/usr/lib/rstudio-server/bin/rstudio-launcher", "/run/rstudio-launcher.pid"),
    "nscd": ("/usr/sbin/nscd", "/run/nscd/nscd.pid"),
    "oddjobd": ("/usr/sbin/oddjobd", "/run/oddjobd.pid"),
}


def exists(unit):
    return unit in UNITS and os.path.exists(UNITS[unit][0])


def pid_of(unit):
    try:
        with open(UNITS[unit][1], encoding="utf-8") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def is_active(unit):
    return exists(unit) and pid_of(unit) is not None


def start(unit):
    """Starts the unit unless it runs; returns an error message or None."""
    if is_active(unit):
        return None
    program, pid_file = UNITS[unit]
    if unit == "rstudio-server":
        import workbench
        error = workbench.test_config()
        if error:
            return error
    os.makedirs(os.path.dirname(pid_file), exist_ok=True)
    if unit == "nscd":
        # nscd daemonizes itself and writes its own pid file.
        result = subprocess.run([program], capture_output=True, text=True, check=False)
        return None if result.returncode == 0 else result.stderr.strip() or "nscd failed to start"
    with open(f"/var/log/standin/{unit}.out", "ab") as out:
        proc = subprocess.Popen([program], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    with open(pid_file, "w", encoding="utf-8") as f:
        f.write(f"{proc.pid}\n")
    if unit == "rstudio-server":
        import workbench
        return workbench.wait_until_listening(proc)
    return None


def stop(unit):
    pid = pid_of(unit)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
    try:
        os.unlink(UNITS[unit][1])
    except FileNotFoundError:
        pass


def _alive(pid):
    """True while the process runs (a zombie child of ours counts as gone)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
