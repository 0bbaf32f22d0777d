#!/usr/bin/env bash
# Compare what every command prints (JSON, CSV, messages, exit codes) between two
# revisions, on the same data at the same pinned time. Run it before a refactor lands:
# scripts read our JSON, so a refactor must not change a byte of it.
#
#   scripts/json_contract.sh BASE_REV [NEW_REV]     (NEW_REV: the working tree)
#
# Uses the checkout's .venv and the CSV histories in $BARS (default ../shared/data/bars).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:?usage: scripts/json_contract.sh BASE_REV [NEW_REV]}
NEW=${2:-}
BARS=${BARS:-$ROOT/../shared/data/bars}
PY=$ROOT/.venv/bin/python
WORK=$(mktemp -d)
trap 'git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1 || true;
      [ -n "$NEW" ] && git -C "$ROOT" worktree remove --force "$WORK/new" >/dev/null 2>&1;
      rm -rf "$WORK"' EXIT

run_all() {  # run_all SOURCE_DIR OUT_DIR
    local src=$1 out=$2 i=0
    mkdir -p "$out"
    local db
    db="$WORK/db-$(basename "$out").sqlite"
    export PYTHONPATH=$src STOCK_DATABASE_URL=sqlite:///$db
    export STOCK_NOW=2025-06-02T22:00:00Z NO_COLOR=1 STOCK_HTTP_RETRIES=0
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        i=$((i + 1))
        eval "set -- $line"
        "$PY" -m stock_cli "$@" >"$out/$i.out" 2>"$out/$i.err" && rc=0 || rc=$?
        echo "exit $rc: $line" >>"$out/$i.out"
        sed -i "s#$db#DB#g" "$out/$i.out" "$out/$i.err"
    done <<COMMANDS
db upgrade
import $BARS/AAPL_*.csv $BARS/MSFT_*.csv --json
watch add AAPL MSFT --list core --json
watch add AAPL --list core
watch ls --list core --json
watch lists --json
symbols --json
bars AAPL --last 5 --json
bars AAPL --last 5 --csv
analyze AAPL MSFT --json
analyze AAPL --last 3 --json
screen "rsi_14 < 70" --list core --json
schedule ls --json
schedule add x --job alerts --every 1h
alert add AAPL "rsi_14 < 30" --name low
alert ls --json
alert test low --json
alert check --json
llm add l --kind openai --model m --base-url http://127.0.0.1:9/v1 --json
llm ls --json
conversations ls --json
db history --json
db current --json
indicators --json
watch rm MSFT NOPE --list core --json
watch rm MSFT --list core
watch drop core --json
fetch NOPE --json
bars NOPE --json
config show --json
COMMANDS
}

git -C "$ROOT" worktree add -q --detach "$WORK/base" "$BASE"
run_all "$WORK/base" "$WORK/out-base"
if [ -n "$NEW" ]; then
    git -C "$ROOT" worktree add -q --detach "$WORK/new" "$NEW"
    run_all "$WORK/new" "$WORK/out-new"
else
    run_all "$ROOT" "$WORK/out-new"
fi
if diff -r "$WORK/out-base" "$WORK/out-new"; then
    count=$(find "$WORK/out-new" -name '*.out' | wc -l)
    echo "same output for every command ($count commands)"
else
    echo "the output changed (above)" >&2
    exit 1
fi
