#!/usr/bin/env bash
# `npm test`: on Node.js 22 or 24 (fetched from the npm registry when the machine's own is older), the
# prerequisites and builds, the type check, the formatting check (prettier; `npm run format` fixes it), the shell
# and workflow lints, then every test. Arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$(scripts/node-path.sh):$PATH"
export PATH
scripts/test-prerequisites.sh
npx tsc --noEmit
npx prettier --check . >/dev/null || { npx prettier --list-different . >&2; echo "npm test: the files above are not formatted: run npm run format" >&2; exit 1; }
scripts/lint-shell.sh
scripts/lint-workflows.sh
npx vitest run "$@"
