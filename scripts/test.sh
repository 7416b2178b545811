#!/usr/bin/env bash
# Runs the whole test suite. Installs what is missing (scripts/setup.sh), starts a
# throwaway broker and database on ports of their own unless KAFKA_BOOTSTRAP_SERVERS
# and DATABASE_URL point at existing ones, runs `swift test`, and stops what it started.
# Extra arguments go to `swift test`, for example --filter RoundTripTests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
ns_private_stack test 29092 25432

ns_log "testing against Kafka $KAFKA_BOOTSTRAP_SERVERS and PostgreSQL ${DATABASE_URL%%:*}://…@${DATABASE_URL##*@}"

cd "$NS_ROOT"
swift build --build-tests --scratch-path "$NS_SCRATCH_PATH"
swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" "$@"
