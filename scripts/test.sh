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

# The whole suite takes 5 to 6 minutes here; a run that has not ended in 40 is stuck.
# Past the limit the watchdog saves every thread's stack of the test processes (gdb)
# beside the log, stops them, and the run fails saying so.
test_limit="${NS_TEST_TIME_LIMIT:-40m}"
if [[ "$test_limit" =~ ^([0-9]+)([smh]?)$ ]]; then
    case "${BASH_REMATCH[2]}" in
        h) limit_seconds=$((BASH_REMATCH[1] * 3600)) ;;
        m) limit_seconds=$((BASH_REMATCH[1] * 60)) ;;
        *) limit_seconds=${BASH_REMATCH[1]} ;;
    esac
else
    ns_die "NS_TEST_TIME_LIMIT must be a whole number of seconds, minutes or hours (900s, 40m, 1h), not '$test_limit'"
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

# The whole output goes to a log beside the build as well as to the terminal, and the
# run ends with a summary read from it: the failed tests and their issues, the tests
# still running if the run was stopped, the slowest tests. CI shows only the end of the
# output, and the end of a long run is otherwise the last test's logs.
log_dir="$NS_SCRATCH_PATH/test-logs"
mkdir -p "$log_dir"
log="$log_dir/swift-test-$(date -u +%Y%m%dT%H%M%SZ).log"
# The ten newest runs' logs stay.
find "$log_dir" -name 'swift-test-*.log' -printf '%T@ %p\n' | sort -rn | tail -n +10 | cut -d' ' -f2- |
    while read -r old; do rm -f "$old" "$old.stacks" "$old.stopped"; done

# Every process below $1, children before parents.
descendants() {
    local child
    for child in $(pgrep -P "$1" || true); do
        descendants "$child"
        echo "$child"
    done
}

# Sends signal $1 to each of the other arguments (PIDs) that is still there.
signal_each() {
    local signal=$1 pid
    shift
    for pid in "$@"; do kill "-$signal" "$pid" 2>/dev/null || true; done
}

# Waits for the test run ($1) to end, checking every 2 seconds. Past the limit: writes
# the stacks of every process below it to $log.stacks, then ends them and it, by PID.
watchdog() {
    local run=$1 deadline=$((SECONDS + limit_seconds)) pids pid
    while kill -0 "$run" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            : >"$log.stopped"
            pids=$(descendants "$run")
            for pid in $pids; do
                if command -v gdb >/dev/null; then
                    {
                        echo "=== $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
                        timeout 120s gdb -p "$pid" -batch -nx -ex 'thread apply all bt 30' 2>&1 || true
                    } >>"$log.stacks"
                fi
            done
            signal_each TERM $pids "$run"
            for _ in $(seq 30); do
                kill -0 $pids "$run" 2>/dev/null || return 0
                sleep 1
            done
            signal_each KILL $pids "$run"
            return
        fi
        sleep 2
    done
}

# The summary at the end of the run, read from the log.
summary() {
    local stopped=$1
    ns_log "summary of $log"
    local slowest='sort -rn | head -5 | sed "s/^/  slowest: /"'
    awk -v stopped="$stopped" -v slowest="$slowest" '
        function name(line) { sub(/^[^ ]+ Test /, "", line); sub(/ (with [0-9]+ test cases? )?(started\.|passed after|failed after|recorded an issue|skipped).*$/, "", line); return line }
        /^◇ Test / && / started\.$/ && !/^◇ Test (case|run) / { running[name($0)]++ }
        /^(✔|✘) Test / && / (passed|failed) after / && !/^(✔|✘) Test run / {
            n = name($0); running[n]--
            if ($0 ~ /failed after/) failed[++nfailed] = n
            match($0, / after [0-9.]+ seconds/); seconds = substr($0, RSTART + 7, RLENGTH - 15)
            took[n] = seconds
        }
        /^➜ Test / && / skipped/ && !/^➜ Test (case|run) / { running[name($0)]-- }
        /^✘ Test .* recorded an issue/ && nissues < 15 { issues[++nissues] = substr($0, 1, 400) }
        /^(✔|✘) Test run with / { result = $0 }
        /(Fatal error|assert: |Assertion failed|Segmentation fault|Illegal instruction)/ && ncrashes < 5 { crashes[++ncrashes] = substr($0, 1, 300) }
        END {
            # Most important last: CI shows the end of the output.
            for (n in took) print took[n] "\t" n | slowest
            close(slowest)
            if (stopped == "yes") for (n in running) if (running[n] > 0 && shown++ < 25) print "  still running when stopped: " n
            for (i = 1; i <= nissues; i++) print "  " issues[i]
            for (i = 1; i <= nfailed && i <= 10; i++) print "  failed: " failed[i]
            if (nfailed > 10) print "  failed: " nfailed - 10 " more"
            for (i = 1; i <= ncrashes; i++) print "  " crashes[i]
            if (result != "") print "  " result
            else print "  the run printed no result: the test process crashed or was stopped"
        }' "$log" >&2
}

case "$unit" in
    true) filter=(--filter "^($unit_targets)\.") ;;
    *) filter=() ;;
esac
exec {log_fd}> >(tee "$log")
tee_pid=$!
swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" "${filter[@]}" "$@" >&"$log_fd" 2>&1 &
run_pid=$!
# A background command ignores SIGINT in a script: an interrupted test.sh ends the run
# itself, by PID.
trap 'signal_each TERM $(descendants "$run_pid") "$run_pid"; exit 130' INT TERM
watchdog "$run_pid" &
watchdog_pid=$!
status=0
wait "$run_pid" || status=$?
wait "$watchdog_pid" || true
exec {log_fd}>&-
wait "$tee_pid" 2>/dev/null || true
if [ -e "$log.stopped" ]; then
    echo >&2
    summary yes
    [ -s "$log.stacks" ] && ns_log "the test processes' stacks when stopped: $log.stacks"
    ns_die "swift test was stopped: it had not ended within $test_limit (NS_TEST_TIME_LIMIT)"
fi
summary no
exit "$status"
