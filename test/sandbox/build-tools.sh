#!/usr/bin/env bash
# Builds (once) the vendors' own tools the sandboxes run instead of stand-ins, from the upstream
# sources in ../shared/vendor (checksums verified first), and prints the directory holding them:
#   rskey            Posit's open-source implementation of `rstudio-server encrypt-password`'s format
#   authselect-1.2/  authselect 1.2.6 (RHEL 8 and 9), installed tree (`make install DESTDIR=`)
#   authselect-1.5/  authselect 1.5.2 (RHEL 10), installed tree
#   nss/             libnss_pwb.so.2 and libnss_sss.so.2: our own glibc NSS module (nss/nss_files_standin.c)
#                    built twice, the stand-ins for Workbench's and SSSD's modules (sandbox.sh installs them)
#
#   build-tools.sh [rskey|authselect-1.2|authselect-1.5|nss ...]   # default: all of them
#
# Each one is built when first asked for (the unit tests need only rskey), into
# ${WB_SANDBOX_CACHE:-~/.cache/posit-workbench-entra/sandbox}/tools-<key>, <key> covering this
# script, the NSS module's source and the tarballs' checksums. authselect and the NSS module need Debian's
# build packages (AUTHSELECT_BUILD_DEPS, NSS_BUILD_DEPS): installed with apt-get when missing and running
# as root, else the script stops naming them. The NSS module is compiled on this machine, not in the
# sandbox image (a compiler there would make the image bigger and every sandbox with it): the module must
# load into the image's glibc 2.36 (Debian bookworm), so the build stops if it needs a newer glibc symbol
# version than that (built on bookworm it needs GLIBC_2.2.5 only).
set -euo pipefail

RSKEY_TARBALL=rskey-v0.6.1.tar.gz
declare -A AUTHSELECT_TARBALL=([authselect-1.2]=authselect-1.2.6.tar.gz [authselect-1.5]=authselect-1.5.2.tar.gz)
AUTHSELECT_BUILD_DEPS=(autoconf automake libtool gettext autopoint pkg-config libpopt-dev libselinux1-dev make gcc)
NSS_BUILD_DEPS=(gcc libc6-dev)
ALL=(rskey authselect-1.2 authselect-1.5 nss)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/vendor.sh
source "$here/../../scripts/lib/vendor.sh"

die() { echo "build-tools: $*" >&2; exit 1; }

wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=("${ALL[@]}")
tarballs=()
for tool in "${wanted[@]}"; do
  case "$tool" in
    rskey) tarballs+=("$RSKEY_TARBALL") ;;
    authselect-1.2 | authselect-1.5) tarballs+=("${AUTHSELECT_TARBALL[$tool]}") ;;
    nss) ;;
    *) die "unknown tool $tool (known: ${ALL[*]})" ;;
  esac
done
[ "${#tarballs[@]}" -eq 0 ] || vendor_require "${tarballs[@]}" 2> >(sed 's/^/build-tools: /' >&2)

cache="${WB_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/sandbox}"
key="$({ cat "$here/build-tools.sh" "$here/nss/nss_files_standin.c"; vendor_key "$RSKEY_TARBALL" "${AUTHSELECT_TARBALL[@]}"; } | sha256sum | cut -c1-16)"
target="$cache/tools-$key"

build_rskey() {
  local work="$1"
  command -v go >/dev/null || die "go is needed to build rskey (Go >= 1.22)"
  vendor_extract "$RSKEY_TARBALL" "$work/src"
  (cd "$work/src/${RSKEY_TARBALL%.tar.gz}" && GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$work/rskey" .) \
    || die "building rskey failed"
}

# require_build_deps WHAT PACKAGE...: Debian's packages for building WHAT, installed when missing (as root, with apt-get).
require_build_deps() {
  local what="$1" missing=() package
  shift
  if command -v dpkg-query >/dev/null; then
    for package in "$@"; do
      dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep '^install ok installed$' >/dev/null || missing+=("$package")
    done
  else
    missing=("$@")
  fi
  [ "${#missing[@]}" -gt 0 ] || return 0
  { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; } \
    || die "building $what needs these Debian packages: ${missing[*]} (install them, or run as root on Debian to have them installed)"
  echo "build-tools: installing ${missing[*]} with apt-get" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 \
    || die "apt-get could not install: ${missing[*]}"
}

# build_authselect TOOL WORK: configures, builds and installs into WORK/TOOL (the tree a sandbox copies
# into its root), without what a host does not need at run time (headers, static library, docs, translations).
build_authselect() {
  local tool="$1" work="$2" tarball="${AUTHSELECT_TARBALL[$1]}" src stage log
  src="$work/src-$tool/${tarball%.tar.gz}"
  stage="$work/$tool"
  log="$work/$tool.log"
  vendor_extract "$tarball" "$work/src-$tool"
  if ! (cd "$src" && autoreconf -if && ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
        && make -j2 && make install DESTDIR="$stage") >"$log" 2>&1; then
    tail -n 20 "$log" | sed "s/^/build-tools: $tool: /" >&2
    die "building $tool failed (log above)"
  fi
  rm -rf "$stage/usr/include" "$stage/usr/share/doc" "$stage/usr/share/locale" "$stage/usr/lib/pkgconfig" \
    "$stage/etc/bash_completion.d"
  rm -f "$stage"/usr/lib/libauthselect.a "$stage"/usr/lib/libauthselect.la
  [ -x "$stage/usr/bin/authselect" ] || die "building $tool: no usr/bin/authselect in the installed tree"
}

# build_nss WORK: both modules from one source, into WORK/nss.
build_nss() {
  local work="$1" module newest
  install -d "$work/nss"
  for module in pwb sss; do
    gcc -std=gnu11 -O2 -Wall -Wextra -Werror -fPIC -shared "-DMODULE=$module" "-Wl,-soname,libnss_$module.so.2" \
      -o "$work/nss/libnss_$module.so.2" "$here/nss/nss_files_standin.c" -lpthread >&2 \
      || die "building libnss_$module.so.2 failed"
    newest=$(objdump -T "$work/nss/libnss_$module.so.2" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -n 1)
    [ "$(printf '%s\n' "$newest" GLIBC_2.36 | sort -V | tail -n 1)" = GLIBC_2.36 ] \
      || die "libnss_$module.so.2 needs $newest, newer than the sandbox image's glibc 2.36: build on Debian bookworm"
  done
}

missing_tools=()
for tool in "${wanted[@]}"; do [ -e "$target/$tool" ] || missing_tools+=("$tool"); done
if [ "${#missing_tools[@]}" -gt 0 ]; then
  mkdir -p "$cache"
  exec 9>"$cache/.tools.lock"
  flock 9
  work="$(mktemp -d "$cache/.tools.XXXXXX")"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  mkdir -p "$target"
  pids=()
  for tool in "${missing_tools[@]}"; do
    [ ! -e "$target/$tool" ] || continue
    echo "build-tools: building $target/$tool" >&2
    case "$tool" in
      rskey) build_rskey "$work" && mv -T "$work/rskey" "$target/rskey" ;;
      nss) require_build_deps "the NSS module stand-ins" "${NSS_BUILD_DEPS[@]}"; build_nss "$work" && mv -T "$work/nss" "$target/nss" ;;
      # The two authselect lines build side by side (about 30 s each).
      *) require_build_deps authselect "${AUTHSELECT_BUILD_DEPS[@]}"; (build_authselect "$tool" "$work" && mv -T "$work/$tool" "$target/$tool") & pids+=("$!") ;;
    esac
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || exit 1
fi
echo "$target"
