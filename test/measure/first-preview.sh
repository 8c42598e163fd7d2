#!/usr/bin/env bash
# Where a brand-new stack's first `pulumi preview` spends its time (docs/measured.md, "First preview").
# Not part of `npm test` or `npm run measure`; run by hand:
#   test/measure/first-preview.sh [ROUNDS]        (default 5; 1 to 2 min per round on 2 busy cores)
#
# Each round makes new stacks the way test/e2e/engine.ts does (a new directory with the project's files
# linked, a file:// backend, a fresh PULUMI_HOME, the passphrase secrets provider, plugin acquisition and the
# update check off) and times, with /usr/bin/time, one after another:
#   this      this program (external Entra app, one host, SCIM): its first preview, then a second one
#   one       a program with one remote.Command:                  its first preview, then a second one
#   nocache   this program's stack again, its ts-node compile cache off (TS_NODE_CACHE=false)
#   newstack  a brand-new stack (new backend, new PULUMI_HOME) in this program's already-previewed directory
#   transpile this program in a new directory with PULUMI_NODEJS_TRANSPILE_ONLY=true: first, second preview
#   one transpile  the one-remote.Command program likewise: first preview
#   plugins   this program in a new directory with the azuread and time providers on PATH: first preview
# The order of this/one alternates from round to round. Previews never connect to the host, so the host
# in the configuration is a placeholder. ts-node's cache goes to each directory's own ts-node-cache
# (TS_NODE_CACHE_DIRECTORY) instead of /tmp/ts-node-<hash>, so a first preview is always cold and
# other runs on the machine neither warm it nor see it.
# Prints every run (wall, user and system seconds), then the medians (min-max) and the ratios this/one
# pair by pair; `uptime` before and after. WB_MEASURE_KEEP=1 keeps the directories.
set -euo pipefail

ROUNDS="${1:-5}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENGINE="$("$REPO/scripts/build-engine.sh" | tail -1)"
PROVIDERS="$("$REPO/scripts/build-providers.sh" | tail -1)"
NODE_BIN="$("$REPO/scripts/node-path.sh" 2>/dev/null)"
NS=posit-workbench-entra
WORK="$(mktemp -d "${TMPDIR:-/tmp}/wb-first-preview-XXXXXX")"
[[ "${WB_MEASURE_KEEP:-}" == 1 ]] || trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

ssh-keygen -q -t ed25519 -N '' -C measure -f "$WORK/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C measure -f "$WORK/host_ed25519"
HOST_KEY="$(cut -d' ' -f1,2 "$WORK/host_ed25519.pub")"

# new_dir KIND DIR: the project in DIR (KIND this, or one for the one-remote.Command program).
new_dir() {
  local kind="$1" dir="$2" f
  mkdir -p "$dir/project"
  cp "$REPO/Pulumi.yaml" "$dir/project/"
  for f in "$REPO"/*.ts "$REPO"/components "$REPO"/host "$REPO"/check "$REPO"/policy "$REPO"/node_modules "$REPO"/package.json "$REPO"/tsconfig.json; do
    ln -s "$f" "$dir/project/$(basename "$f")"
  done
  if [[ "$kind" == one ]]; then
    rm "$dir/project/index.ts"
    cat >"$dir/project/index.ts" <<TS
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
const config = new pulumi.Config("$NS");
new command.remote.Command("one", {
    connection: { host: "192.0.2.10", port: 22, user: "admin", privateKey: config.requireSecret("sshPrivateKey"), hostKey: "$HOST_KEY" },
    create: "true",
});
TS
  fi
}

# in_dir DIR HOME_NAME CMD...: CMD in DIR/project with the engine's environment (PULUMI_HOME DIR/HOME_NAME).
in_dir() {
  local dir="$1" home="$2"
  shift 2
  (
    cd "$dir/project"
    export PATH="$ENGINE${WITH_PROVIDERS:+:$PROVIDERS}:$NODE_BIN:$PATH"
    export PULUMI_HOME="$dir/$home" PULUMI_BACKEND_URL="file://$dir/state-$home" PULUMI_CONFIG_PASSPHRASE=measure-passphrase-not-a-secret
    export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true TS_NODE_CACHE_DIRECTORY="$dir/ts-node-cache"
    "$@"
  )
}

# new_stack KIND DIR HOME_NAME: stack init and the configuration of a one-host SCIM stack.
new_stack() {
  local kind="$1" dir="$2" home="$3"
  mkdir -p "$dir/state-$home"
  # shellcheck disable=SC2016 # expanded by the inner sh
  in_dir "$dir" "$home" sh -c 'pulumi stack init m --non-interactive >/dev/null 2>&1 && pulumi config set --secret "$0:sshPrivateKey" <"$1" >/dev/null' "$NS" "$WORK/id_ed25519"
  [[ "$kind" == one ]] && return
  # shellcheck disable=SC2016 # expanded by the inner sh
  in_dir "$dir" "$home" sh -c '
    set -e
    pulumi config set "$0:hostname" workbench.measure.test
    pulumi config set "$0:entraMode" external
    pulumi config set "$0:tenantId" 11111111-2222-3333-4444-555555555555
    pulumi config set "$0:clientId" aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
    printf %s "Mea~client-secret-0123456789abcdefghij" | pulumi config set --secret "$0:clientSecret"
    pulumi config set "$0:host" "{\"address\":\"192.0.2.10\",\"port\":22,\"user\":\"admin\",\"hostKey\":\"$1\"}"
    pulumi config set "$0:provisioning" scim
    pulumi config set "$0:usernameClaim" preferred_username
  ' "$NS" "$HOST_KEY"
}

# preview ROUND LABEL DIR HOME_NAME [ENV=VALUE...]: one timed `pulumi preview`, a row in RESULTS.
preview() {
  local round="$1" label="$2" dir="$3" home="$4" t
  shift 4
  t="$WORK/time"
  if ! in_dir "$dir" "$home" env "$@" /usr/bin/time -f '%e %U %S' -o "$t" pulumi preview --non-interactive >"$WORK/last.log" 2>&1; then
    echo "pulumi preview failed ($label, round $round):" >&2
    tail -20 "$WORK/last.log" >&2
    exit 1
  fi
  read -r wall user sys <"$t"
  printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$label" "$wall" "$user" "$sys" | tee -a "$RESULTS"
}

echo "load before: $(uptime)"
printf 'round\trun\twall\tuser\tsys\n'
for round in $(seq 1 "$ROUNDS"); do
  r="$WORK/r$round"
  for kind in $([[ $((round % 2)) == 1 ]] && echo "this one" || echo "one this"); do
    new_dir "$kind" "$r-$kind"
    new_stack "$kind" "$r-$kind" home
    preview "$round" "$kind first" "$r-$kind" home
    preview "$round" "$kind second" "$r-$kind" home
  done
  preview "$round" "nocache" "$r-this" home TS_NODE_CACHE=false
  new_stack this "$r-this" home2
  preview "$round" "newstack" "$r-this" home2
  new_dir this "$r-transpile"
  new_stack this "$r-transpile" home
  preview "$round" "transpile first" "$r-transpile" home PULUMI_NODEJS_TRANSPILE_ONLY=true
  preview "$round" "transpile second" "$r-transpile" home PULUMI_NODEJS_TRANSPILE_ONLY=true
  new_dir one "$r-one-transpile"
  new_stack one "$r-one-transpile" home
  preview "$round" "one transpile first" "$r-one-transpile" home PULUMI_NODEJS_TRANSPILE_ONLY=true
  new_dir this "$r-plugins"
  WITH_PROVIDERS=1 new_stack this "$r-plugins" home
  WITH_PROVIDERS=1 preview "$round" "plugins first" "$r-plugins" home
done
echo "load after: $(uptime)"

# Medians (min-max) of wall and user seconds per run, and this/one pair by pair.
node - "$RESULTS" <<'JS'
const rows = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split("\t"));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fig = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
const of = (label, col) => rows.filter((r) => r[1] === label).map((r) => Number(r[col]));
console.log("\n| run | wall s, median (min-max) | user s, median (min-max) |\n| --- | --- | --- |");
for (const label of [...new Set(rows.map((r) => r[1]))]) console.log(`| ${label} | ${fig(of(label, 2))} | ${fig(of(label, 3))} |`);
for (const [a, b] of [["this first", "one first"], ["this second", "one second"], ["transpile first", "one transpile first"]]) {
  for (const [col, what] of [[2, "wall"], [3, "user"]]) {
    const x = of(a, col), y = of(b, col);
    console.log(`${a} / ${b}, ${what}, pair by pair: ${fig(x.map((v, i) => v / y[i]))}; of the medians: ${(median(x) / median(y)).toFixed(2)}`);
  }
}
JS
