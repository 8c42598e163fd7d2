#!/usr/bin/env bash
# Prints the directory of a Node.js this project supports (22 or 24), for the front of PATH:
#   export PATH="$(scripts/node-path.sh):$PATH"
# The node on PATH when it is 22 or 24; otherwise Node.js $NODE_VERSION from the npm registry's `node`
# package (a real binary, no other download), installed once under ~/.cache and said so in one line.
set -euo pipefail

NODE_VERSION=22.23.3
cache="${XDG_CACHE_HOME:-$HOME/.cache}/posit-workbench-entra/node-$NODE_VERSION"

# package.json's engines.node ("^M.m.p || ..."), as runtime.ts reads it.
supported() {
  "$1" -e '
    const [major, minor, patch] = process.versions.node.split(".").map(Number);
    const ok = require(process.argv[1]).engines.node.split("||").some((term) => {
      const [M, m, p] = term.trim().replace(/^\^/, "").split(".").map(Number);
      return major === M && (minor > m || (minor === m && patch >= p));
    });
    process.exit(ok ? 0 : 1);' "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/package.json" 2>/dev/null
}

if current="$(command -v node)" && supported "$current"; then
  dirname "$current"
  exit 0
fi
bin="$cache/node_modules/node/bin"
if ! [ -x "$bin/node" ] || ! supported "$bin/node"; then
  command -v npm >/dev/null || { echo "node-path: Node.js 22 or 24 is needed and npm is not on PATH to fetch it; install Node.js 22 (https://nodejs.org)" >&2; exit 1; }
  rm -rf "$cache" && mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error "node@$NODE_VERSION" >/dev/null 2>"$cache.log" \
    || { echo "node-path: could not install node@$NODE_VERSION from the npm registry (log: $cache.log); install Node.js 22 (https://nodejs.org)" >&2; exit 1; }
  supported "$bin/node" || { echo "node-path: node@$NODE_VERSION from the npm registry does not run here (log: $cache.log); install Node.js 22 (https://nodejs.org)" >&2; exit 1; }
fi
echo "node-path: $(node --version 2>/dev/null || echo 'no node') is not a Node.js package.json supports; using Node.js $NODE_VERSION from the npm registry ($bin)" >&2
echo "$bin"
