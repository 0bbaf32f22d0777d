#!/usr/bin/env bash
# Upgrade the compose setup (deploy/docker-compose.yml) to the code in this checkout,
# with a backup first and a rollback when the new daemon does not become ready.
#
#   deploy/deploy.sh            upgrade
#   deploy/deploy.sh --dry-run  print the steps, change nothing
#
# Steps: tag the running image as stock-cli:previous; back the database up; build the new
# image; migrate with it; start its daemon; wait for /readyz. On failure: downgrade the
# schema to the previous revision WITH THE NEW IMAGE (only it knows how to undo its
# migrations), then start the previous image again. The backup stays in the backups
# volume for a restore (stock db restore) if the downgrade itself fails.
set -euo pipefail

COMPOSE=(docker compose -f "$(dirname "$0")/docker-compose.yml")
READY_URL=${READY_URL:-http://127.0.0.1:8000/readyz}
READY_TIMEOUT=${READY_TIMEOUT:-120}
DRY_RUN=0
[ "${1:-}" = "--dry-run" ] && DRY_RUN=1

step() {
    echo "+ $*"
    if [ "$DRY_RUN" -eq 0 ]; then
        "$@"
    fi
}

wait_ready() {
    echo "+ wait up to ${READY_TIMEOUT}s for $READY_URL"
    [ "$DRY_RUN" -eq 1 ] && return 0
    local waited=0
    until curl -fsS "$READY_URL" >/dev/null 2>&1; do
        sleep 2
        waited=$((waited + 2))
        [ "$waited" -ge "$READY_TIMEOUT" ] && return 1
    done
}

previous_revision() {
    [ "$DRY_RUN" -eq 1 ] && { echo "<current revision>"; return; }
    "${COMPOSE[@]}" run --rm -T daemon stock db current --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["current"])'
}

rollback() {
    echo "the new daemon is not ready: rolling back" >&2
    step "${COMPOSE[@]}" run --rm daemon stock db downgrade "$REVISION"
    step docker tag stock-cli:previous stock-cli:latest
    step "${COMPOSE[@]}" up -d --no-build daemon
    exit 1
}

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REVISION=$(previous_revision)
step docker tag stock-cli:latest stock-cli:previous
step "${COMPOSE[@]}" run --rm daemon stock db backup "/backups/pre-upgrade-$STAMP.tar.gz"
step "${COMPOSE[@]}" build
step "${COMPOSE[@]}" run --rm migrate
step "${COMPOSE[@]}" up -d --no-deps daemon
wait_ready || rollback
echo "upgraded: $(if [ "$DRY_RUN" -eq 1 ]; then echo dry run; else "${COMPOSE[@]}" exec -T daemon stock --version; fi)"
