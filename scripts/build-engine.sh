#!/usr/bin/env bash
# Builds the Pulumi engine the end-to-end tests run, offline:
#   pulumi                   the CLI          from the Go module github.com/pulumi/pulumi/pkg/v3 (proxy)
#   pulumi-language-nodejs   Node.js host     from ../shared/vendor/pulumi-language-nodejs-v3.248.0.tar.gz
#   pulumi-resource-command  command provider from ../shared/vendor/pulumi-command-v1.2.1.tar.gz
# (the Go module proxy refuses the last two modules; their upstream sources are vendored beside
# this repository, checksums verified before anything is built).
#
# Prints the directory holding the three binaries as the last line of stdout; progress goes to stderr:
#   PATH="$(scripts/build-engine.sh | tail -1):$PATH"
# WB_ENGINE_DIR=<dir> uses an installed engine instead (a directory with pulumi,
# pulumi-language-nodejs and pulumi-resource-command, e.g. the official CLI's ~/.pulumi/bin plus the
# command provider from `pulumi plugin install resource command 1.2.1`, copied or linked there).
# Builds are cached in ${WB_ENGINE_CACHE:-~/.cache/posit-workbench-entra/engine}/<key>/bin, <key>
# covering the versions and the tarballs' checksums.
set -euo pipefail

PULUMI_VERSION=v3.248.0 # matches @pulumi/pulumi in package.json
COMMAND_VERSION=1.2.1   # matches @pulumi/command
NODEJS_HOST_TARBALL=pulumi-language-nodejs-v3.248.0.tar.gz
COMMAND_TARBALL=pulumi-command-v1.2.1.tar.gz
CLIPBOARD_REPLACE="github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"
PULUMI_PKG=github.com/pulumi/pulumi/pkg/v3
PULUMI_SDK=github.com/pulumi/pulumi/sdk/v3
BINARIES=(pulumi pulumi-language-nodejs pulumi-resource-command)

log() { printf 'build-engine: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
complete() { local b; for b in "${BINARIES[@]}"; do [[ -x "$1/$b" ]] || return 1; done; }

if [[ -n "${WB_ENGINE_DIR:-}" ]]; then
  complete "$WB_ENGINE_DIR" || die "WB_ENGINE_DIR=$WB_ENGINE_DIR must hold executable ${BINARIES[*]}"
  printf '%s\n' "$(cd "$WB_ENGINE_DIR" && pwd)"
  exit 0
fi

VENDOR_HINT="set WB_ENGINE_DIR to a directory holding an installed pulumi, pulumi-language-nodejs and pulumi-resource-command ${COMMAND_VERSION}"
# shellcheck source=scripts/lib/vendor.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/vendor.sh"
vendor_require "$NODEJS_HOST_TARBALL" "$COMMAND_TARBALL" 2> >(sed 's/^/build-engine: /' >&2)

versions="pulumi=$PULUMI_VERSION command=$COMMAND_VERSION clipboard=$CLIPBOARD_REPLACE $(vendor_key "$NODEJS_HOST_TARBALL" "$COMMAND_TARBALL" | tr '\n' ' ')os=$(uname -s)-$(uname -m)"
key="$(printf '%s' "$versions" | sha256sum | cut -c1-12)"
cache_root="${WB_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/engine}"
key_dir="$cache_root/$key"
bin_dir="$key_dir/bin"

if complete "$bin_dir"; then
  printf '%s\n' "$bin_dir"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH (Go >= 1.25 builds the engine; or $VENDOR_HINT)"
mkdir -p "$key_dir"
# One build at a time per key; the loser of a race finds the winner's result.
exec 9>"$key_dir/.lock"
flock 9
if complete "$bin_dir"; then printf '%s\n' "$bin_dir"; exit 0; fi

work="$(mktemp -d "$key_dir/.build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
out="$work/bin"
mkdir -p "$out"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED="${CGO_ENABLED:-0}"
start=$SECONDS
log "building engine $key into $bin_dir (cold: several minutes)"

# The Node.js language host: its go.mod replaces pkg/sdk with paths of the upstream tree that the
# tarball does not hold; require the released modules instead (the clipboard replace stays).
vendor_extract "$NODEJS_HOST_TARBALL" "$work"
host_dir="$work/${NODEJS_HOST_TARBALL%.tar.gz}/sdk/nodejs/cmd/pulumi-language-nodejs"
(
  cd "$host_dir"
  go mod edit -dropreplace "$PULUMI_PKG" -dropreplace "$PULUMI_SDK" \
    -require "$PULUMI_PKG@$PULUMI_VERSION" -require "$PULUMI_SDK@$PULUMI_VERSION"
  log "go build pulumi-language-nodejs $PULUMI_VERSION"
  go build -trimpath -ldflags "-s -w -X $PULUMI_SDK/go/common/version.Version=$PULUMI_VERSION" -o "$out/pulumi-language-nodejs" .
) || die "building the Node.js language host failed"

vendor_extract "$COMMAND_TARBALL" "$work"
(
  cd "$work/${COMMAND_TARBALL%.tar.gz}/provider"
  log "go build pulumi-resource-command $COMMAND_VERSION"
  go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_VERSION" \
    -o "$out/pulumi-resource-command" ./cmd/pulumi-resource-command
) || die "building the command provider failed"

# The CLI: `go install` refuses a module with replace directives, so build it from a wrapper
# module that requires it and repeats its one non-local replace.
(
  mkdir -p "$work/cli" && cd "$work/cli"
  go mod init posit-workbench-entra/engine/cli >/dev/null 2>&1
  go mod edit -require "$PULUMI_PKG@$PULUMI_VERSION" -require "$PULUMI_SDK@$PULUMI_VERSION" -replace "$CLIPBOARD_REPLACE"
  log "go build pulumi $PULUMI_VERSION"
  go build -trimpath -ldflags "-s -w -X $PULUMI_SDK/go/common/version.Version=$PULUMI_VERSION" -o "$out/pulumi" "$PULUMI_PKG/cmd/pulumi"
) || die "building the Pulumi CLI failed"

complete "$out" || die "build finished without all of: ${BINARIES[*]}"
rm -rf "$bin_dir"
mv -T "$out" "$bin_dir"
log "done in $((SECONDS - start))s"
printf '%s\n' "$bin_dir"
