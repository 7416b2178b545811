#!/usr/bin/env bash
# Runs the whole test suite. Installs what is missing (scripts/setup.sh), starts a
# throwaway broker and database on ports of their own unless KAFKA_BOOTSTRAP_SERVERS
# and DATABASE_URL point at existing ones, runs `swift test`, and stops what it started.
# Extra arguments go to `swift test`, for example --filter RoundTripTests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
    export NS_RUN_DIR="$NS_ROOT/.run/test"
    export NS_KAFKA_PORT="${NS_KAFKA_PORT:-29092}" NS_PG_PORT="${NS_PG_PORT:-25432}"
    "$NS_ROOT/scripts/stack.sh" stop >/dev/null 2>&1 || true
    "$NS_ROOT/scripts/stack.sh" start
    trap '"$NS_ROOT/scripts/stack.sh" stop' EXIT
    # shellcheck disable=SC1091
    source "$NS_RUN_DIR/stack.env"
fi
ns_log "testing against Kafka $KAFKA_BOOTSTRAP_SERVERS and PostgreSQL ${DATABASE_URL%%:*}://…@${DATABASE_URL##*@}"

cd "$NS_ROOT"
swift build --build-tests --scratch-path "$NS_SCRATCH_PATH"
swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" "$@"
