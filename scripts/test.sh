#!/usr/bin/env bash
# Runs the whole test suite. Installs what is missing (scripts/setup.sh), starts a
# throwaway broker and database on ports of their own unless KAFKA_BOOTSTRAP_SERVERS
# and DATABASE_URL point at existing ones, runs `swift test`, and stops what it started.
# Extra arguments go to `swift test`, for example --filter RoundTripTests.
#
#   scripts/test.sh --unit [swift test arguments]
# runs only the unit test targets, which need no broker, database or child process,
# and starts nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# The targets of tests without I/O beyond the process; the *IntegrationTests targets
# need the stack.
unit_targets='ReminderCoreTests|ReminderStoreTests|KafkaTests|DeliveryTests|NotificationServiceTests'
unit=false
if [ "${1:-}" = "--unit" ]; then
    unit=true
    shift
fi

"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
if ! $unit; then
    ns_private_stack test 29092 25432
    ns_log "testing against Kafka $KAFKA_BOOTSTRAP_SERVERS and PostgreSQL ${DATABASE_URL%%:*}://…@${DATABASE_URL##*@}"
fi

cd "$NS_ROOT"
swift build --build-tests --scratch-path "$NS_SCRATCH_PATH"
if $unit; then
    swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" --filter "^($unit_targets)\." "$@"
else
    swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" "$@"
fi
