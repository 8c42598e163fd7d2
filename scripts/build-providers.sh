#!/usr/bin/env bash
# Builds the two resource providers a managed Entra app needs, offline, for the end-to-end tests:
#   pulumi-resource-azuread 6.9.1  from ../shared/vendor: pulumi-azuread (provider/), the terraform-provider-azuread
#                                  pseudo-version it pins, pulumi-terraform-bridge v3.130.0 and pulumi pkg/v3 v3.242.0
#                                  (the Go module proxy refuses all four; everything else comes from the proxy)
#   pulumi-resource-time 0.1.1     from ../shared/vendor: pulumi-time (provider/); its dependencies from the proxy
# as ../shared/vendor/README.md measured them (checksums verified before anything is built).
#
# Prints the directory holding both binaries as the last line of stdout; progress goes to stderr:
#   PATH="$(scripts/build-providers.sh | tail -1):$PATH"
# WB_PROVIDERS_DIR=<dir> uses installed providers instead (a directory with pulumi-resource-azuread 6.9.1 and
# pulumi-resource-time 0.1.1, e.g. from `pulumi plugin install resource azuread 6.9.1` and
# `pulumi plugin install resource time 0.1.1 --server github://api.github.com/pulumiverse`, copied or linked there).
# Builds are cached in ${WB_PROVIDERS_CACHE:-~/.cache/posit-workbench-entra/providers}/<key>/bin, <key> covering
# the versions, the tarballs' checksums and the Go toolchain.
set -euo pipefail

AZUREAD_VERSION=6.9.1 # matches @pulumi/azuread in package.json
TIME_VERSION=0.1.1    # matches @pulumiverse/time
AZUREAD_TARBALL=pulumi-azuread-v6.9.1.tar.gz
TF_AZUREAD_TARBALL=terraform-provider-azuread-38d1993a1ea6.tar.gz
BRIDGE_TARBALL=pulumi-terraform-bridge-v3.130.0.tar.gz
PKG_TARBALL=pulumi-pkg-v3.242.0.tar.gz
TIME_TARBALL=pulumi-time-v0.1.1.tar.gz
TARBALLS=("$AZUREAD_TARBALL" "$TF_AZUREAD_TARBALL" "$BRIDGE_TARBALL" "$PKG_TARBALL" "$TIME_TARBALL")
BINARIES=(pulumi-resource-azuread pulumi-resource-time)

log() { printf 'build-providers: [%ss] %s\n' "$((SECONDS - ${start:-SECONDS}))" "$*" >&2; }
die() { log "error: $*"; exit 1; }
complete() { local b; for b in "${BINARIES[@]}"; do [[ -x "$1/$b" ]] || return 1; done; }

if [[ -n "${WB_PROVIDERS_DIR:-}" ]]; then
  complete "$WB_PROVIDERS_DIR" || die "WB_PROVIDERS_DIR=$WB_PROVIDERS_DIR must hold executable ${BINARIES[*]}"
  printf '%s\n' "$(cd "$WB_PROVIDERS_DIR" && pwd)"
  exit 0
fi

VENDOR_HINT="set WB_PROVIDERS_DIR to a directory holding an installed pulumi-resource-azuread ${AZUREAD_VERSION} and pulumi-resource-time ${TIME_VERSION}"
# shellcheck source=scripts/lib/vendor.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/vendor.sh"
vendor_require "${TARBALLS[@]}" 2> >(sed 's/^/build-providers: /' >&2)

command -v go >/dev/null 2>&1 || die "go is not on PATH (Go >= 1.25 builds the providers; or $VENDOR_HINT)"
versions="azuread=$AZUREAD_VERSION time=$TIME_VERSION $(vendor_key "${TARBALLS[@]}" | tr '\n' ' ')$(go env GOVERSION) os=$(uname -s)-$(uname -m)"
key="$(printf '%s' "$versions" | sha256sum | cut -c1-12)"
cache_root="${WB_PROVIDERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/providers}"
key_dir="$cache_root/$key"
bin_dir="$key_dir/bin"

if complete "$bin_dir"; then
  printf '%s\n' "$bin_dir"
  exit 0
fi

mkdir -p "$key_dir"
# One build at a time per key; the loser of a race finds the winner's result.
exec 9>"$key_dir/.lock"
flock 9
if complete "$bin_dir"; then printf '%s\n' "$bin_dir"; exit 0; fi

# The azuread binary records the replace paths, so it is built in a fixed folder (a rebuild is then
# byte-identical); a crashed build's leftovers there are removed first.
src="$key_dir/src"
chmod -R u+w "$src" 2>/dev/null || true
rm -rf "$src"
mkdir -p "$src"
trap 'chmod -R u+w "$src" 2>/dev/null || true; rm -rf "$src"' EXIT
out="$src/bin"
mkdir -p "$out"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED="${CGO_ENABLED:-0}"
start=$SECONDS
log "building providers $key into $bin_dir (cold: about 12 minutes on 2 cores, 5 GB of memory at its peak)"

for tarball in "${TARBALLS[@]}"; do vendor_extract "$tarball" "$src"; done

# azuread: three replaces (lazy module loading never reads the other modules the proxy refuses), then
# `go generate` writes schema-embed.json (it needs pkg/v3), then the build.
(
  cd "$src/${AZUREAD_TARBALL%.tar.gz}/provider"
  go mod edit \
    -replace "github.com/hashicorp/terraform-provider-azuread=$src/${TF_AZUREAD_TARBALL%.tar.gz}" \
    -replace "github.com/pulumi/pulumi-terraform-bridge/v3=$src/${BRIDGE_TARBALL%.tar.gz}" \
    -replace "github.com/pulumi/pulumi/pkg/v3=$src/${PKG_TARBALL%.tar.gz}/pkg"
  log "go generate pulumi-resource-azuread $AZUREAD_VERSION"
  VERSION=$AZUREAD_VERSION go generate cmd/pulumi-resource-azuread/main.go >&2
  log "go build pulumi-resource-azuread $AZUREAD_VERSION"
  go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-azuread/provider/v6/pkg/version.Version=$AZUREAD_VERSION" \
    -o "$out/pulumi-resource-azuread" ./cmd/pulumi-resource-azuread
) || die "building the azuread provider failed"

# time: every dependency is served by the proxy; no replace.
(
  cd "$src/${TIME_TARBALL%.tar.gz}/provider"
  log "go generate pulumi-resource-time $TIME_VERSION"
  VERSION=$TIME_VERSION go generate cmd/pulumi-resource-time/main.go >&2
  log "go build pulumi-resource-time $TIME_VERSION"
  go build -trimpath -ldflags "-s -w -X github.com/pulumiverse/pulumi-time/provider/pkg/version.Version=$TIME_VERSION" \
    -o "$out/pulumi-resource-time" ./cmd/pulumi-resource-time
) || die "building the time provider failed"

complete "$out" || die "build finished without all of: ${BINARIES[*]}"
rm -rf "$bin_dir"
mv -T "$out" "$bin_dir"
log "done in $((SECONDS - start))s"
printf '%s\n' "$bin_dir"
