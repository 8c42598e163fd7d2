#!/usr/bin/env bash
# Test sandbox lifecycle (run as root).
#
#   sandbox.sh start <dir> <rootfs> <tools> <ssh-port> <www-port> <authorized-key-file> <debian|rocky9|rocky10> <nscd 0|1> <raw|canonical> <authselect> [<arch> [<pam-services debian|rhel>]]
#   sandbox.sh sshd-start <dir> <ssh-port>
#   sandbox.sh stop <dir>
#
# start mounts an overlay of the cached <rootfs> (from build-rootfs.sh) at <dir>/root, installs
# the Workbench stand-in with the vendors' tools from <tools> (build-tools.sh; encrypt-password
# prompts <raw|canonical>), then, in a private mount namespace (so /proc and /dev bind mounts never
# show up on this machine), starts the services and `sshd -D` on 127.0.0.1:<ssh-port>. The pid of
# the process that holds that namespace is written to <dir>/ns.pid, sshd's log to <dir>/sshd.log.
# sshd-start starts sshd again (same port, same host key, same log) after it was killed, as a host's
# service manager would: the Workbench stand-in can cut every SSH connection at a chosen point
# (standin/faults.py).
# rocky9 and rocky10 are RHEL-family hosts with the real authselect (1.2 for rocky9 as on RHEL 8/9,
# 1.5 for rocky10 as on RHEL 10) and stand-ins for rpm, dnf and oddjobd; <authselect> is the
# starting configuration, as `authselect select` takes it ("sssd", "winbind with-faillock", ...),
# or "none" for a host never configured with authselect (ignored for debian).
# <arch> (x86_64 by default, or aarch64) is the multiarch directory of Workbench's NSS module on debian:
# /usr/lib/<arch>-linux-gnu/libnss_pwb.so.2 only, as an arm64 host lays it out (the libraries themselves
# stay this machine's; the RHEL family keeps it in /usr/lib64 on both).
# Workbench's NSS module is a real one (build-tools.sh's nss/: our own glibc NSS module, test/sandbox/nss),
# serving the users and groups of /var/lib/standin/nss/pwb.passwd, pwb.group and pwb.shadow as Workbench's
# user service serves the users it provisions; a second one, libnss_sss.so.2, stands in for SSSD's module
# (files /var/lib/standin/nss/sss.*). Both answer "unavailable" while their files do not exist.
# <pam-services> rhel (RHEL family only): /etc/pam.d/su, sudo and sshd as RHEL's packages ship them, so
# sshd, sudo and `su` (Workbench's default PAM session profile) go through authselect's stacks
# (password-auth, system-auth, postlogin); debian (the default) keeps Debian's.
# stop kills every process chrooted into <dir>/root, unmounts the overlay, checks that nothing is
# mounted below <dir> any more, and only then removes <dir>.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { echo "sandbox: $*" >&2; exit 1; }

# Mount points at or below $1 in this mount namespace.
mounts_below() {
  awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

# Pids of the processes whose root directory is $1.
pids_in() {
  { find /proc -mindepth 2 -maxdepth 2 -name root -lname "$1" 2>/dev/null || true; } | cut -d/ -f3
}

# install_nss_modules ROOT TOOLS DIR: Workbench's module (pwb) and SSSD's (sss) stand-ins in DIR.
install_nss_modules() {
  local root="$1" tools="$2" dir="$3" module
  [ -e "$tools/nss/libnss_pwb.so.2" ] || die "$tools/nss is missing (build-tools.sh)"
  install -d "$root$dir" "$root/var/lib/standin/nss"
  for module in pwb sss; do install -m 0644 "$tools/nss/libnss_$module.so.2" "$root$dir/"; done
}

# RHEL's /etc/pam.d/su, sudo and sshd, as their packages ship them (Fedora's sources, which RHEL 9 and 10
# build from): util-linux's su https://src.fedoraproject.org/rpms/util-linux/blob/rawhide/f/util-linux-su.pamd,
# sudo's https://src.fedoraproject.org/rpms/sudo/blob/rawhide/f/sudo.pam, openssh's
# https://src.fedoraproject.org/rpms/openssh/blob/rawhide/f/sshd.pam; pam_loginuid optional, as for Debian's
# sshd in build-rootfs.sh (a chroot may not set the audit login uid).
install_rhel_pam_services() {
  local root="$1"
  printf '%s\n' '#%PAM-1.0' 'auth		required	pam_env.so' 'auth		sufficient	pam_rootok.so' \
    'auth		substack	system-auth' 'auth		include		postlogin' \
    'account		sufficient	pam_succeed_if.so uid = 0 use_uid quiet' 'account		include		system-auth' \
    'password	include		system-auth' 'session		include		system-auth' 'session		include		postlogin' \
    'session		optional	pam_xauth.so' >"$root/etc/pam.d/su"
  printf '%s\n' '#%PAM-1.0' 'auth       include      system-auth' 'account    include      system-auth' \
    'password   include      system-auth' 'session    optional     pam_keyinit.so revoke' \
    'session    include      system-auth' >"$root/etc/pam.d/sudo"
  printf '%s\n' '#%PAM-1.0' 'auth       substack     password-auth' 'auth       include      postlogin' \
    'account    required     pam_sepermit.so' 'account    required     pam_nologin.so' \
    'account    include      password-auth' 'password   include      password-auth' \
    'session    required     pam_selinux.so close' 'session    optional     pam_loginuid.so' \
    'session    required     pam_selinux.so open env_params' 'session    required     pam_namespace.so' \
    'session    optional     pam_keyinit.so force revoke' 'session    optional     pam_motd.so' \
    'session    include      password-auth' 'session    include      postlogin' >"$root/etc/pam.d/sshd"
}

install_standin() {
  local root="$1" os="$2" nscd="$3" tools="$4" prompts="$5" arch="$6" lib=/usr/lib/standin bin=/usr/lib/rstudio-server/bin line
  install -d "$root$lib" "$root/var/lib/standin"
  install -m 0755 "$here"/standin/*.py "$tools/rskey" "$root$lib/"
  echo "$prompts" >"$root/var/lib/standin/encrypt-prompt-style"
  # The program's own list of documented rserver.conf options: test-config accepts those and no other.
  install -m 0644 "$here/../../host/rserver-options.txt" "$root$lib/"
  ln -s "$lib/standin.py" "$root$bin/rstudio-server"
  ln -s "$lib/standin.py" "$root$bin/rserver"
  ln -s "$lib/standin.py" "$root$bin/rstudio-launcher"
  ln -s "$bin/rstudio-server" "$root/usr/sbin/rstudio-server"
  ln -sf "$lib/standin.py" "$root/usr/bin/systemctl"
  chmod 1777 "$root/var/log/standin"
  # (dpkg warns that invoke-rc.d cannot tell the runlevel: there is no init in a chroot)
  [ "$nscd" = 1 ] || chroot "$root" dpkg --purge nscd >/dev/null 2>&1 || die "cannot purge nscd"
  if [ "$os" = rocky9 ] || [ "$os" = rocky10 ]; then
    rm -f "$root/etc/os-release"
    if [ "$os" = rocky9 ]; then
      line=1.2
      printf '%s\n' 'NAME="Rocky Linux"' 'VERSION="9.4 (Blue Onyx)"' 'ID="rocky"' \
        'ID_LIKE="rhel centos fedora"' 'VERSION_ID="9.4"' 'PLATFORM_ID="platform:el9"' \
        'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"' >"$root/etc/os-release"
    else
      line=1.5
      printf '%s\n' 'NAME="Rocky Linux"' 'VERSION="10.0 (Red Quartz)"' 'ID="rocky"' \
        'ID_LIKE="rhel centos fedora"' 'VERSION_ID="10.0"' 'PLATFORM_ID="platform:el10"' \
        'PRETTY_NAME="Rocky Linux 10.0 (Red Quartz)"' >"$root/etc/os-release"
    fi
    # RHEL's glibc searches /usr/lib64 for NSS modules (its system library directory on 64-bit hosts).
    install_nss_modules "$root" "$tools" /usr/lib64
    echo /usr/lib64 >"$root/etc/ld.so.conf.d/standin-rhel-lib64.conf"
    # The real authselect (build-tools.sh), as its package installs it.
    [ -x "$tools/authselect-$line/usr/bin/authselect" ] || die "$tools/authselect-$line is missing (build-tools.sh)"
    cp -a "$tools/authselect-$line/." "$root/"
    chroot "$root" ldconfig
    # The 1.2 package's %posttrans keeps the pre-authselect nsswitch.conf for the maps no profile sets.
    if [ "$line" = 1.2 ]; then cp "$root/etc/nsswitch.conf" "$root/etc/authselect/user-nsswitch.conf"; fi
    local tool
    for tool in dnf yum rpm; do ln -s "$lib/standin.py" "$root/usr/bin/$tool"; done
    printf '%s\n' glibc pam sudo openssh-server authselect rstudio-workbench >"$root/var/lib/standin/rpm-installed"
    if [ "$nscd" = 1 ]; then echo nscd >>"$root/var/lib/standin/rpm-installed"; fi
  else
    # On an aarch64 layout the module is where an arm64 host has it (this machine's glibc does not load it there).
    install_nss_modules "$root" "$tools" "/usr/lib/$arch-linux-gnu"
    chroot "$root" ldconfig
  fi
}

# Runs inside the private mount namespace; ends as sshd.
inside() {
  local root="$1" port="$2" os="$3" nscd="$4" authselect="$5" pam="${6:-debian}"
  mount --bind /proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  if [ "$os" != debian ] && [ "$authselect" != none ]; then
    # As an installer does: the Debian files in place are replaced, no backup kept.
    # shellcheck disable=SC2086 # profile and features are separate words
    chroot "$root" authselect select $authselect --force --nobackup >/dev/null
    [ "$pam" != rhel ] || install_rhel_pam_services "$root"
  fi
  [ "$nscd" != 1 ] || chroot "$root" systemctl start nscd
  chroot "$root" systemctl start rstudio-launcher rstudio-server
  # Setup calls are not part of what tests inspect.
  truncate -s 0 "$root"/var/log/standin/*.log
  run_sshd "$root" "$port" &
  # This process holds the namespace, so sshd can be killed and started again (sshd-start).
  exec sleep infinity
}

run_sshd() {
  exec chroot "$1" /usr/sbin/sshd -D -e -p "$2" -o ListenAddress=127.0.0.1 -o HostKey=/etc/ssh/ssh_host_ed25519_key
}

# Whether the sandbox's sshd runs (a killed one may stay a zombie of the namespace's holder).
sshd_alive() {
  local pid
  pid=$(cat "$1/root/run/sshd.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -e "/proc/$pid/stat" ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat")" != Z ]
}

# Waits until sshd has written its pid file (it has then bound its port).
wait_for_sshd() {
  local dir="$1" i
  for i in $(seq 100); do
    sshd_alive "$dir" && return 0
    kill -0 "$(cat "$dir/ns.pid")" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/sshd.log" >&2
  die "sshd did not start"
}

sshd_start() {
  [ $# -eq 2 ] || die "usage: sandbox.sh sshd-start <dir> <ssh-port>"
  local dir="$1" port="$2"
  ! sshd_alive "$dir" || die "sshd is running already"
  rm -f "$dir/root/run/sshd.pid"
  setsid nsenter -t "$(cat "$dir/ns.pid")" -m -- "$here/sandbox.sh" run-sshd "$dir/root" "$port" </dev/null >>"$dir/sshd.log" 2>&1 &
  wait_for_sshd "$dir"
}

start() {
  { [ $# -ge 10 ] && [ $# -le 12 ]; } || die "usage: sandbox.sh start <dir> <rootfs> <tools> <ssh-port> <www-port> <authorized-key-file> <os> <nscd> <prompts> <authselect> [<arch> [<pam-services>]]"
  local dir="$1" rootfs="$2" tools="$3" port="$4" www_port="$5" authorized="$6" os="$7" nscd="$8" prompts="$9" authselect="${10}" arch="${11:-x86_64}" pam="${12:-debian}"
  case "$pam" in debian) ;; rhel) { [ "$os" != debian ] && [ "$authselect" != none ]; } || die "pam-services rhel needs a RHEL-family os configured with authselect" ;; *) die "unknown pam-services $pam (debian or rhel)" ;; esac
  case "$os" in debian | rocky9 | rocky10) ;; *) die "unknown os $os (debian, rocky9 or rocky10)" ;; esac
  case "$arch" in x86_64 | aarch64) ;; *) die "unknown arch $arch (x86_64 or aarch64)" ;; esac
  local root="$dir/root"
  mkdir -p "$dir/upper" "$dir/work" "$root"
  mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$root"

  install_standin "$root" "$os" "$nscd" "$tools" "$prompts" "$arch"
  ssh-keygen -q -t ed25519 -N '' -C sandbox -f "$root/etc/ssh/ssh_host_ed25519_key"
  install -d -m 0700 "$root/home/admin/.ssh"
  install -m 0600 "$authorized" "$root/home/admin/.ssh/authorized_keys"
  chroot "$root" chown -R admin:admin /home/admin/.ssh
  (umask 077 && cat /proc/sys/kernel/random/uuid >"$root/var/lib/rstudio-server/secure-cookie-key")
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$(hostname)" >"$root/etc/hosts"
  printf '# Server Configuration File\n\nwww-port=%s\n' "$www_port" >"$root/etc/rstudio/rserver.conf"

  setsid unshare --mount --propagation private "$here/sandbox.sh" inside "$root" "$port" "$os" "$nscd" "$authselect" "$pam" \
    </dev/null >"$dir/sshd.log" 2>&1 &
  echo "$!" >"$dir/ns.pid"
  wait_for_sshd "$dir"
}

stop() {
  [ $# -eq 1 ] || die "usage: sandbox.sh stop <dir>"
  local dir="$1" root="$1/root" pids i
  [ -d "$dir" ] || return 0
  [ ! -s "$dir/ns.pid" ] || kill "$(cat "$dir/ns.pid")" 2>/dev/null || true
  for i in $(seq 50); do
    pids="$(pids_in "$root")"
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086 # one pid per word
    kill "$([ "$i" -lt 30 ] && echo -TERM || echo -KILL)" $pids 2>/dev/null || true
    sleep 0.1
  done
  [ -z "$(pids_in "$root")" ] || die "processes still running in $root"
  if mountpoint -q "$root"; then umount "$root"; fi
  [ -z "$(mounts_below "$dir")" ] || die "still mounted below $dir: $(mounts_below "$dir" | tr '\n' ' ')"
  rm -rf --one-file-system "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  sshd-start) shift; sshd_start "$@" ;;
  inside) shift; inside "$@" ;;
  run-sshd) shift; run_sshd "$@" ;;
  *) die "usage: sandbox.sh start|stop <dir> ..." ;;
esac
