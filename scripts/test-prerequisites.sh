#!/usr/bin/env bash
# The first part of `npm test`: makes sure what the tests need is here, installing it when it can.
#   root         the sandboxes are chroots with their own mounts and sshd
#   Debian pkgs  debootstrap (the sandbox image), shellcheck, ssh/ssh-keygen, script, flock, unshare, nsenter,
#                ip (the bastion tests' private network namespace)
#                gcc and libc6-dev (the sandboxes' NSS module stand-ins, test/sandbox/nss)
#                (authselect's build packages: test/sandbox/build-tools.sh installs them the same way)
#   go           builds the Pulumi engine, the azuread and time providers, rskey and actionlint (Go >= 1.25)
#   openssl      the throwaway CA of the Entra ID / Graph stand-in (test/graph)
#   vendored     ../shared/vendor (or WB_VENDOR_DIR): the sources the proxy does not serve
# On a Debian machine as root, missing packages are installed with apt-get; anywhere else the script
# stops at once with one line naming what is missing and how to get it. Then it builds what the tests
# run (cached; minutes only the first time), so progress shows here rather than inside a test.
set -euo pipefail

die() { printf 'npm test: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "the host and end-to-end tests need root (they start chrooted sandbox hosts); run as root, e.g. 'sudo npm test' (unit tests alone: 'npm run test:unit')"

# command -> Debian package
declare -A PACKAGE=(
  [debootstrap]=debootstrap [shellcheck]=shellcheck [ssh]=openssh-client [ssh-keygen]=openssh-client
  [script]=bsdutils [patch]=patch [flock]=util-linux [unshare]=util-linux [nsenter]=util-linux [gzip]=gzip [curl]=curl
  [openssl]=openssl [ip]=iproute2 [gcc]=gcc
)
missing=()
for cmd in "${!PACKAGE[@]}"; do command -v "$cmd" >/dev/null || missing+=("${PACKAGE[$cmd]}"); done
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
[ -r /usr/include/nss.h ] || missing+=(libc6-dev)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing: ${missing[*]} (Debian package names); install them with your package manager"
  printf 'npm test: installing %s with apt-get\n' "${missing[*]}" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2 \
    || die "apt-get could not install: ${missing[*]}"
fi

command -v go >/dev/null || die "go is not on PATH: Go >= 1.25 builds the Pulumi engine, rskey and actionlint (https://go.dev/dl/)"

# shellcheck source=scripts/lib/vendor.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/vendor.sh"
[ -r "$VENDOR_DIR/SHA256SUMS" ] || die "vendored sources not found at $VENDOR_DIR: the tests build rskey, authselect and the Pulumi engine from them; set WB_VENDOR_DIR to a copy of the team's shared/vendor (and WB_ENGINE_DIR to an installed engine, see README)"

# The sandbox image, the vendors' tools and the engine, side by side. A failure here is reported by the
# tests that need the part (in CI a missing engine fails the end-to-end tests; elsewhere they are skipped).
here="$(dirname "${BASH_SOURCE[0]}")"
echo "npm test: building the sandbox image, the vendors' tools, the Pulumi engine and the azuread and time providers (cached; about 25 min the first time)" >&2
pids=()
for build in "$here/../test/sandbox/build-rootfs.sh" "$here/../test/sandbox/build-tools.sh" "$here/build-engine.sh" "$here/build-providers.sh"; do
  "$build" >/dev/null &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid" || echo "npm test: warning: a build failed (above); the tests that need it will say so" >&2; done
