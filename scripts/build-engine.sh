#!/usr/bin/env bash
# Build the Pulumi engine this project runs offline from Go modules:
#   pulumi                   the CLI            (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
#   pulumi-language-nodejs   Node.js host       (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
#   pulumi-resource-command  command provider   (github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command)
#
# Binaries go to ${WB_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/engine}/<key>/bin,
# where <key> is a hash of the pinned versions below. A warm cache returns at once.
# The bin dir is printed as the last line of stdout; progress goes to stderr:
#   PATH="$(scripts/build-engine.sh | tail -1):$PATH"
#
# The CLI and the language host have `replace` directives in their own go.mod, so
# `go install pkg@version` refuses them: they are built from a throw-away wrapper
# module that requires them and repeats their only non-local replace.
set -euo pipefail

# --- pins -------------------------------------------------------------------
# @pulumi/pulumi (npm) is pinned to 3.248.0 in package.json: the CLI matches it.
PULUMI_VERSION="v3.248.0"
# The Node.js language host module has no tags: pseudo-version of the commit
# tagged v3.248.0 (a88168d865b7, committed 2026-06-24T12:07:34Z).
NODEJS_HOST_VERSION="v3.0.0-20260624120734-a88168d865b7"
# @pulumi/command (npm) is 1.2.1; the provider module has no tag for it:
# pseudo-version of the commit tagged v1.2.1 (7f3eb6f3b77c, committed 2026-03-03T23:59:22Z).
COMMAND_VERSION="1.2.1"
COMMAND_MODULE_VERSION="v0.0.0-20260303235922-7f3eb6f3b77c"
CLIPBOARD_REPLACE="github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"

PULUMI_PKG="github.com/pulumi/pulumi/pkg/v3"
PULUMI_SDK="github.com/pulumi/pulumi/sdk/v3"
NODEJS_HOST_MOD="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3"
COMMAND_MOD="github.com/pulumi/pulumi-command/provider"
BINARIES=(pulumi pulumi-language-nodejs pulumi-resource-command)

log() { printf 'build-engine: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

complete() { # complete DIR: DIR holds every binary, executable
  local b
  for b in "${BINARIES[@]}"; do
    [[ -x "$1/$b" ]] || return 1
  done
}

versions="pulumi=${PULUMI_VERSION} nodejs-host=${NODEJS_HOST_VERSION} command=${COMMAND_VERSION}@${COMMAND_MODULE_VERSION} clipboard=${CLIPBOARD_REPLACE} os=$(uname -s)-$(uname -m)"
key="$(printf '%s' "$versions" | sha256sum | cut -c1-12)"
cache_root="${WB_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/engine}"
key_dir="${cache_root}/${key}"
bin_dir="${key_dir}/bin"

# --- warm path ----------------------------------------------------------------
if complete "$bin_dir"; then
  printf '%s\n' "$bin_dir"
  exit 0
fi

# --- cold path ------------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "go is not on PATH (Go >= 1.25 is needed)"

mkdir -p "$key_dir"
# The work dir lives beside the final one so that publishing it is one rename.
work="$(mktemp -d "${key_dir}/.build.XXXXXX")"
cleanup() {
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
  rmdir "$key_dir" 2>/dev/null || true # only if nothing was published
}
trap cleanup EXIT
trap 'exit 130' INT TERM
out="${work}/bin"
mkdir -p "$out"

# Keep the default GOPATH module cache; resolve against go.mod files written here.
export GOFLAGS="-mod=mod"
export GOWORK=off
export CGO_ENABLED="${CGO_ENABLED:-0}"

new_wrapper() { # new_wrapper DIR MODULE-NAME: an empty module to build from
  mkdir -p "$1"
  cd "$1"
  go mod init "$2" >/dev/null 2>&1 || die "go mod init failed in $1"
}

start=$SECONDS
log "building engine ${key} (${versions}) into ${bin_dir}"

# Fetch the pinned modules first: a module the proxy does not serve fails here,
# in seconds and with one clear line, rather than after a long build.
missing=0
for mv in "${PULUMI_PKG}@${PULUMI_VERSION}" "${PULUMI_SDK}@${PULUMI_VERSION}" \
  "${NODEJS_HOST_MOD}@${NODEJS_HOST_VERSION}" "${COMMAND_MOD}@${COMMAND_MODULE_VERSION}"; do
  if ! msg="$(cd "$work" && go mod download "$mv" 2>&1)"; then
    log "cannot download ${mv} from the Go module proxy: ${msg}"
    missing=$((missing + 1))
  fi
done
((missing == 0)) || die "${missing} pinned module(s) could not be downloaded; nothing was built"

# CLI and Node.js language host: one wrapper, so both link the same pkg/sdk.
new_wrapper "${work}/pulumi" "posit-workbench-entra/engine/pulumi"
go mod edit \
  -require="${PULUMI_PKG}@${PULUMI_VERSION}" \
  -require="${PULUMI_SDK}@${PULUMI_VERSION}" \
  -require="${NODEJS_HOST_MOD}@${NODEJS_HOST_VERSION}" \
  -replace="${CLIPBOARD_REPLACE}"
ldflags="-s -w -X ${PULUMI_SDK}/go/common/version.Version=${PULUMI_VERSION}"
log "go build pulumi ${PULUMI_VERSION}"
go build -trimpath -ldflags "$ldflags" -o "${out}/pulumi" "${PULUMI_PKG}/cmd/pulumi" ||
  die "building the Pulumi CLI failed"
log "go build pulumi-language-nodejs ${NODEJS_HOST_VERSION}"
go build -trimpath -ldflags "$ldflags" -o "${out}/pulumi-language-nodejs" "${NODEJS_HOST_MOD}" ||
  die "building the Node.js language host failed"

# Command provider: its own wrapper, so it keeps the dependency versions it was released with.
new_wrapper "${work}/command" "posit-workbench-entra/engine/command"
go mod edit -require="${COMMAND_MOD}@${COMMAND_MODULE_VERSION}"
ldflags="-s -w -X ${COMMAND_MOD}/pkg/version.Version=${COMMAND_VERSION}"
log "go build pulumi-resource-command ${COMMAND_VERSION} (${COMMAND_MODULE_VERSION})"
go build -trimpath -ldflags "$ldflags" -o "${out}/pulumi-resource-command" "${COMMAND_MOD}/cmd/pulumi-resource-command" ||
  die "building the command provider failed"
cd "$work"

complete "$out" || die "build finished without all of: ${BINARIES[*]}"

# Publish atomically: a rename of the complete dir. A stale, incomplete bin dir
# (e.g. a binary deleted by hand) is moved aside first.
if [[ -e "$bin_dir" ]] && ! complete "$bin_dir"; then
  mv "$bin_dir" "${work}/stale-bin"
fi
if ! mv -T "$out" "$bin_dir" 2>/dev/null; then
  complete "$bin_dir" || die "could not move ${out} to ${bin_dir}"
  log "another build published ${bin_dir} first; using it"
fi

log "done in $((SECONDS - start))s"
printf '%s\n' "$bin_dir"
