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

# A crash ends the test process at once. With Swift's backtracer on, a crash in a
# process with many threads left the crashed thread waiting on a backtracer that never
# finished while the other threads ran on, and the run never ended (CI stopped it after
# 90 minutes); the crash's own message (an assertion's text, the signal) still prints.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
# The whole suite takes about 4 minutes here; a run that has not ended in 40 is stuck,
# and says so instead of running into CI's limit.
test_limit="${NS_TEST_TIME_LIMIT:-40m}"
status=0
if $unit; then
    timeout --foreground --kill-after=30s "$test_limit" \
        swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" --filter "^($unit_targets)\." "$@" || status=$?
else
    timeout --foreground --kill-after=30s "$test_limit" swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" "$@" || status=$?
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    ns_die "swift test was stopped: it had not ended within $test_limit (NS_TEST_TIME_LIMIT) or was killed"
fi
exit "$status"
