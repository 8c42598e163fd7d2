#!/usr/bin/env bash
# `npm test`: on Node.js 22 or 24 (fetched from the npm registry when the machine's own is older), the
# prerequisites and builds, the type check, the shell and workflow lints, then every test. Arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$(scripts/node-path.sh):$PATH"
export PATH
scripts/test-prerequisites.sh
npx tsc --noEmit
scripts/lint-shell.sh
scripts/lint-workflows.sh
npx vitest run "$@"
