#!/usr/bin/env bash
# Builds (once) the vendors' own tools the sandboxes run instead of stand-ins, from the upstream
# sources in ../shared/vendor (checksums verified first), and prints the directory holding them:
#   rskey   Posit's open-source implementation of `rstudio-server encrypt-password`'s format
# Cached in ${WB_SANDBOX_CACHE:-~/.cache/posit-workbench-entra/sandbox}/tools-<key>, <key> covering
# this script and the tarballs' checksums.
set -euo pipefail

RSKEY_TARBALL=rskey-v0.6.1.tar.gz

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/vendor.sh
source "$here/../../scripts/lib/vendor.sh"
vendor_require "$RSKEY_TARBALL" 2> >(sed 's/^/build-tools: /' >&2)

cache="${WB_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/sandbox}"
key="$({ cat "$here/build-tools.sh"; vendor_key "$RSKEY_TARBALL"; } | sha256sum | cut -c1-16)"
target="$cache/tools-$key"

build() {
  local work="$1"
  command -v go >/dev/null || { echo "build-tools: go is needed to build rskey (Go >= 1.22)" >&2; exit 1; }
  vendor_extract "$RSKEY_TARBALL" "$work/src"
  mkdir -p "$work/out"
  (cd "$work/src/${RSKEY_TARBALL%.tar.gz}" && GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$work/out/rskey" .) \
    || { echo "build-tools: building rskey failed" >&2; exit 1; }
}

if [ ! -d "$target" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/.tools.lock"
  flock 9
  if [ ! -d "$target" ]; then
    work="$(mktemp -d "$cache/.tools.XXXXXX")"
    trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
    echo "build-tools: building $target" >&2
    build "$work"
    mv -T "$work/out" "$target"
  fi
fi
echo "$target"
