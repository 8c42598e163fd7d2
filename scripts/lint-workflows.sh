#!/usr/bin/env bash
# Lints .github/workflows with actionlint (built once from its Go module, cached outside the repo).
# Fails on any finding. shellcheck, when installed, checks the workflows' run: scripts too.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.7.12
bin="${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/actionlint-$version"
if [ ! -x "$bin/actionlint" ]; then
  command -v go >/dev/null || { echo "lint-workflows: go is needed to build actionlint $version" >&2; exit 1; }
  GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
fi
"$bin/actionlint" -no-color
echo "actionlint $version: no findings"
