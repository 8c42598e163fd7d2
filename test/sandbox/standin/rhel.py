"""Recording stand-ins for the RHEL-family tools: authselect, dnf (yum) and rpm.

Each call is recorded as one line (its arguments) in /var/log/standin/<tool>.log.
authselect keeps its state in /var/lib/standin/authselect.json and manages /etc/nsswitch.conf as
a symlink to /etc/authselect/nsswitch.conf, like authselect 1.2 on RHEL 9.
"""
import hashlib
import json
import os
import re
import sys

from standin import log_line

STATE = "/var/lib/standin/authselect.json"
INSTALLED = "/var/lib/standin/rpm-installed"
CUSTOM = "/etc/authselect/custom"
GENERATED = "/etc/authselect/nsswitch.conf"
NSSWITCH = "/etc/nsswitch.conf"
STANDIN = os.path.realpath(__file__).replace("rhel.py", "standin.py")
PACKAGE_FILES = {"oddjob-mkhomedir": ["/usr/sbin/oddjobd"], "oddjob": ["/usr/sbin/oddjobd"]}
FEATURES = ["with-faillock", "with-mkhomedir", "with-pamaccess", "with-silent-lastlog", "with-sudo"]
MAPS = """\
passwd:     files {if "with-altfiles":altfiles }%(extra)ssystemd   {exclude if "with-custom-passwd"}
group:      files {if "with-altfiles":altfiles }%(extra)ssystemd   {exclude if "with-custom-group"}
shadow:     files %(extra)s                                 {exclude if "with-custom-shadow"}
hosts:      files dns myhostname                            {exclude if "with-custom-hosts"}
services:   files %(extra)s                                 {exclude if "with-custom-services"}
netgroup:   files %(extra)s                                 {exclude if "with-custom-netgroup"}
automount:  files %(extra)s                                 {exclude if "with-custom-automount"}
sudoers:    files %(extra)s                                 {include if "with-sudo"}
"""
PROFILES = {"sssd": MAPS % {"extra": "sss "}, "minimal": MAPS % {"extra": ""}}
DIRECTIVE = re.compile(r'\{(if|include if|exclude if) (not )?"([^"]+)"(?::([^|}]*)(?:\|([^}]*))?)?\}')


def render(template, features):
    """Evaluates authselect's template directives for the enabled features."""
    out = []
    for line in template.splitlines():
        keep = True

        def replace(m):
            nonlocal keep
            kind, negate, feature, then, otherwise = m.groups()
            on = (feature in features) != bool(negate)
            if kind == "if":
                return (then or "") if on else (otherwise or "")
            keep = keep and (on if kind == "include if" else not on)
            return ""

        text = DIRECTIVE.sub(replace, line).rstrip()
        if keep:
            out.append(text)
    return "\n".join(out) + "\n"


def template_of(profile):
    if profile.startswith("custom/"):
        path = os.path.join(CUSTOM, profile.removeprefix("custom/"), "nsswitch.conf")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return f.read()
        return None
    return PROFILES.get(profile)


def load_state():
    try:
        with open(STATE, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def modified_outside(state):
    """True when /etc/nsswitch.conf is not what authselect last wrote."""
    if state is None or os.path.realpath(NSSWITCH) != GENERATED:
        return True
    with open(GENERATED, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest() != state["sha256"]


def activate(profile, features, force):
    template = template_of(profile)
    if template is None:
        print(f"[error] Profile [{profile}] does not exist", file=sys.stderr)
        return 1
    if not force and modified_outside(load_state()):
        print(f"[error] File [{NSSWITCH}] was modified outside authselect.\n"
              "[error] Unexpected changes to the configuration were detected.\n"
              "[error] Refusing to activate profile unless those changes are removed or overwrite "
              "is requested.", file=sys.stderr)
        return 1
    text = render(template, features)
    os.makedirs(os.path.dirname(GENERATED), exist_ok=True)
    with open(GENERATED, "w", encoding="utf-8") as f:
        f.write(text)
    if os.path.lexists(NSSWITCH):
        os.unlink(NSSWITCH)
    os.symlink(GENERATED, NSSWITCH)
    with open(STATE, "w", encoding="utf-8") as f:
        json.dump({"profile": profile, "features": features,
                   "sha256": hashlib.sha256(text.encode()).hexdigest()}, f)
    return 0


def authselect(args):
    words = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    command = words[0] if words else ""
    state = load_state()
    if command == "create-profile" and len(words) >= 2:
        base = next((f.split("=", 1)[1] for f in flags if f.startswith("--base-on=")), "sssd")
        target = os.path.join(CUSTOM, words[1])
        if base not in PROFILES or os.path.exists(target):
            print(f"[error] Unable to create profile [{words[1]}] based on [{base}]", file=sys.stderr)
            return 1
        os.makedirs(target)
        with open(os.path.join(target, "nsswitch.conf"), "w", encoding="utf-8") as f:
            f.write(PROFILES[base])
        print(f"New profile was created at {target}")
        return 0
    if command == "select" and len(words) >= 2:
        return activate(words[1], words[2:], "--force" in flags)
    if command == "list-features" and len(words) == 2 and template_of(words[1]) is not None:
        print("\n".join(sorted(set(FEATURES) | {m[2] for m in DIRECTIVE.findall(template_of(words[1]))})))
        return 0
    if state is None and command in ("current", "enable-feature", "disable-feature", "apply-changes", "opt-out"):
        print("No existing configuration detected.", file=sys.stderr)
        return 2
    if command == "current":
        features = state["features"]
        if "--raw" in flags:
            print(" ".join([state["profile"], *features]))
        else:
            listed = "".join(f"\n- {f}" for f in features) or " None"
            print(f"Profile ID: {state['profile']}\nEnabled features:{listed}")
        return 0
    if command in ("enable-feature", "disable-feature") and len(words) == 2:
        features = [f for f in state["features"] if f != words[1]]
        if command == "enable-feature":
            features.append(words[1])
        return activate(state["profile"], features, False)
    if command == "apply-changes":
        return activate(state["profile"], state["features"], False)
    if command == "opt-out":
        # Keeps the current configuration as plain files that authselect no longer manages.
        with open(NSSWITCH, encoding="utf-8") as f:
            text = f.read()
        os.unlink(NSSWITCH)
        with open(NSSWITCH, "w", encoding="utf-8") as f:
            f.write(text)
        os.unlink(STATE)
        return 0
    print(f"authselect (stand-in): unsupported call: {' '.join(args)}", file=sys.stderr)
    return 1


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
    if name == "authselect":
        return authselect(args)
    if name in ("dnf", "yum"):
        return dnf(args)
    return rpm(args)
