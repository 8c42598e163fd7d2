# shellcheck shell=bash
# Upstream sources the tests build offline (the Pulumi engine's command provider and Node.js language
# host, Posit's rskey, authselect): ../shared/vendor beside this repository, or WB_VENDOR_DIR.
#   source scripts/lib/vendor.sh
#   vendor_require NAME.tar.gz ...   # dies with one line when the folder or a file is missing or altered
#   vendor_extract NAME.tar.gz DIR   # unpacks into DIR (its top folder is NAME)
#   vendor_key NAME.tar.gz ...       # the files' checksums, for cache keys

vendor_repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENDOR_DIR="${WB_VENDOR_DIR:-$vendor_repo_root/../shared/vendor}"

vendor_die() { printf '%s\n' "$*" >&2; exit 1; }

# vendor_require FILE...: FILE is listed in SHA256SUMS and its checksum matches.
vendor_require() {
  local file line
  [ -r "$VENDOR_DIR/SHA256SUMS" ] || vendor_die "vendored sources not found: $VENDOR_DIR/SHA256SUMS is missing (a clone outside the team's workspace has no ../shared/vendor; set WB_VENDOR_DIR to a copy of it${VENDOR_HINT:+, or $VENDOR_HINT})"
  for file in "$@"; do
    line=$(grep -E "^[0-9a-f]{64}  $file\$" "$VENDOR_DIR/SHA256SUMS") || vendor_die "$file is not listed in $VENDOR_DIR/SHA256SUMS"
    (cd "$VENDOR_DIR" && printf '%s\n' "$line" | sha256sum -c --quiet - >/dev/null 2>&1) \
      || vendor_die "$VENDOR_DIR/$file is missing or does not match its checksum in SHA256SUMS; nothing was built"
  done
}

vendor_key() {
  local file
  for file in "$@"; do grep -E "^[0-9a-f]{64}  $file\$" "$VENDOR_DIR/SHA256SUMS" | cut -c1-64; done
}

vendor_extract() { mkdir -p "$2" && tar -xzf "$VENDOR_DIR/$1" -C "$2"; }
