"""Recording stand-ins for the RHEL-family package tools: dnf (yum) and rpm.

Each call is recorded as one line (its arguments) in /var/log/standin/<tool>.log. authselect is the
real one (built from ../shared/vendor by build-tools.sh), not a stand-in.
"""
import os
import sys

from standin import log_line

INSTALLED = "/var/lib/standin/rpm-installed"
STANDIN = os.path.realpath(__file__).replace("rhel.py", "standin.py")
PACKAGE_FILES = {"oddjob-mkhomedir": ["/usr/sbin/oddjobd"], "oddjob": ["/usr/sbin/oddjobd"]}


def installed():
    try:
        with open(INSTALLED, encoding="utf-8") as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def dnf(args):
    words = [a for a in args if not a.startswith("-")]
    if not words or words[0] not in ("install", "remove"):
        print(f"dnf (stand-in): unsupported call: {' '.join(args)}", file=sys.stderr)
        return 1
    if not {"-y", "--assumeyes"} & set(args):
        print("Is this ok [y/N]: Operation aborted.", file=sys.stderr)
        return 1
    packages = installed()
    for package in words[1:]:
        if words[0] == "install" and package not in packages:
            packages.append(package)
            for path in PACKAGE_FILES.get(package, []):
                if not os.path.lexists(path):
                    os.symlink(STANDIN, path)
        elif words[0] == "remove" and package in packages:
            packages.remove(package)
    with open(INSTALLED, "w", encoding="utf-8") as f:
        f.write("\n".join(packages) + "\n")
    print("Complete!")
    return 0


def rpm(args):
    words = [a for a in args if not a.startswith("-")]
    if "-q" not in args or not words:
        print(f"rpm (stand-in): unsupported call: {' '.join(args)}", file=sys.stderr)
        return 1
    packages = installed()
    missing = 0
    for package in words:
        if package in packages:
            print(f"{package}-1.0-1.el9.x86_64")
        else:
            print(f"package {package} is not installed")
            missing += 1
    return missing


def main(name, args):
    log_line(f"{name}.log", " ".join(args))
    if name in ("dnf", "yum"):
        return dnf(args)
    return rpm(args)
