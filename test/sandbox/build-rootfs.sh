#!/usr/bin/env bash
# Builds (once) the Debian bookworm root file system used by test sandboxes and prints its path.
# The result is cached outside the repository under a key derived from this script's content,
# which includes the package list. The Workbench stand-in is copied in per sandbox (sandbox.sh).
set -euo pipefail

PACKAGES=(
  openssh-server sudo libpam-modules nscd python3 openssl gzip
  util-linux bsdutils procps curl ca-certificates
  libpopt0 # the real authselect (build-tools.sh) links it
  pamtester # opens PAM sessions for provisioned users (test/host/outcome.test.ts), as the guide's troubleshooting does
)
SUITE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${WB_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/sandbox}"
key="$(sha256sum "$here/build-rootfs.sh" | cut -c1-16)"
target="$cache/rootfs-$key"

# The first plain Debian mirror configured for apt on this machine, else deb.debian.org.
debian_mirror() {
  local found
  found="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -E '^[[:space:]]*(deb|URIs:)[[:space:]]' | grep -oE 'https?://[^[:space:]]+/debian/?([[:space:]]|$)' |
    head -n1 | tr -d '[:space:]' || true)"
  echo "${WB_SANDBOX_MIRROR:-${found:-http://deb.debian.org/debian}}"
}

build() {
  local tmp="$1"
  [ -r "$KEYRING" ] || { echo "build-rootfs: $KEYRING missing (install debian-archive-keyring)" >&2; exit 1; }
  command -v debootstrap >/dev/null || { echo "build-rootfs: debootstrap is not installed" >&2; exit 1; }
  local include
  include="$(IFS=,; echo "${PACKAGES[*]}")"
  # A private mount namespace: whatever debootstrap mounts inside the target dies with it.
  unshare --mount --propagation private \
    debootstrap --variant=minbase --keyring="$KEYRING" --include="$include" \
    "$SUITE" "$tmp/root" "$(debian_mirror)" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 30 "$tmp/debootstrap.log" >&2; exit 1; }

  local r="$tmp/root"
  rm -f "$r"/etc/ssh/ssh_host_* "$r"/var/cache/apt/archives/*.deb
  rm -rf "$r"/var/lib/apt/lists/*
  chroot "$r" useradd --create-home --shell /bin/bash admin
  chroot "$r" groupadd --system rstudio-server
  chroot "$r" useradd --system --gid rstudio-server --home-dir /var/lib/rstudio-server \
    --shell /usr/sbin/nologin rstudio-server
  printf 'admin ALL=(ALL) NOPASSWD:ALL\n' >"$r/etc/sudoers.d/admin"
  # Every sudo command line, one per line, for the secret-leak audit.
  printf 'Defaults logfile=/var/log/sudo.log, !loglinelen\n' >"$r/etc/sudoers.d/standin-log"
  chmod 0440 "$r"/etc/sudoers.d/admin "$r"/etc/sudoers.d/standin-log
  printf '%s\n' 'PasswordAuthentication no' 'KbdInteractiveAuthentication no' \
    'PermitRootLogin no' 'AuthorizedKeysFile .ssh/authorized_keys' >"$r/etc/ssh/sshd_config.d/sandbox.conf"
  # A chroot may not set the audit login uid; Debian marks the module "required" for sshd.
  sed -i 's/^session[[:space:]]\+required[[:space:]]\+pam_loginuid.so/session optional pam_loginuid.so/' "$r/etc/pam.d/sshd"
  install -d -m 0755 "$r/run/sshd" "$r/etc/rstudio" "$r/usr/lib/rstudio-server/bin" "$r/var/log/standin"
  install -d -m 0755 -o 0 -g 0 "$r/var/lib/rstudio-server"
}

if [ ! -d "$target" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9
  if [ ! -d "$target" ]; then
    tmp="$(mktemp -d "$cache/.build.XXXXXX")"
    trap 'rm -rf --one-file-system "$tmp"' EXIT
    echo "build-rootfs: building $target (takes a few minutes)" >&2
    build "$tmp"
    mv -T "$tmp/root" "$target"
  fi
fi
echo "$target"
