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

# The whole suite takes 5 to 6 minutes here; a run that has not ended in 40 is stuck,
# and so is one that has printed nothing for 10 (every test logs as it goes; a run
# stopped in CI had printed nothing for 38 minutes when the 40 ran out). Past either
# limit the watchdog saves every thread's stack of the test processes (gdb) beside the
# log, prints a digest of them, stops the processes, and the run fails saying so.
# seconds NAME VALUE: VALUE (900s, 40m, 1h) in seconds, or stops naming the setting.
seconds() {
    if [[ "$2" =~ ^([0-9]+)([smh]?)$ ]]; then
        case "${BASH_REMATCH[2]}" in
            h) echo $((BASH_REMATCH[1] * 3600)) ;;
            m) echo $((BASH_REMATCH[1] * 60)) ;;
            *) echo "${BASH_REMATCH[1]}" ;;
        esac
    else
        ns_die "$1 must be a whole number of seconds, minutes or hours (900s, 40m, 1h), not '$2'"
    fi
}
test_limit="${NS_TEST_TIME_LIMIT:-40m}"
limit_seconds=$(seconds NS_TEST_TIME_LIMIT "$test_limit")
quiet_limit="${NS_TEST_QUIET_LIMIT:-10m}"
quiet_seconds=$(seconds NS_TEST_QUIET_LIMIT "$quiet_limit")

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
    while read -r old; do rm -f "$old" "$old.stacks" "$old.stopped" "$old.core" "$old.started"; done

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

# Waits for the test run ($1) to end, checking every 2 seconds. Past the time limit, or
# when the log has not grown for the quiet limit: writes the stacks of every process
# below the run to $log.stacks and why to $log.stopped, then ends them and it, by PID.
watchdog() {
    local run=$1 deadline=$((SECONDS + limit_seconds)) size=-1 grown=$SECONDS now pids pid
    while kill -0 "$run" 2>/dev/null; do
        now=$(stat -c %s "$log" 2>/dev/null || echo 0)
        if [ "$now" != "$size" ]; then
            size=$now
            grown=$SECONDS
        fi
        if [ "$SECONDS" -ge "$deadline" ] || [ $((SECONDS - grown)) -ge "$quiet_seconds" ]; then
            if [ "$SECONDS" -ge "$deadline" ]; then
                echo "it had not ended within $test_limit (NS_TEST_TIME_LIMIT)" >"$log.stopped"
            else
                echo "it had printed nothing for $quiet_limit (NS_TEST_QUIET_LIMIT)" >"$log.stopped"
            fi
            pids=$(descendants "$run")
            # swift-test itself too: it reads the test process's output.
            for pid in $pids "$run"; do
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

# A digest of $log.stacks for the output, which is all CI shows: per process, each
# distinct stack once with how many threads are in it, the most common first; a stack
# is its innermost frame and then the next 8 frames that are not the C library's,
# librdkafka's or the Swift runtime's (names starting with _), demangled; 150 lines at most.
stack_digest() {
    local demangle=cat
    command -v swift >/dev/null && demangle="swift demangle --simplified --compact"
    awk '
        function flush() { if (frames != "") print process "\t" frames; frames = ""; depth = 0 }
        /^=== / { flush(); process = $2 " " $3; sub(/.*\//, "", process); process = $2 " " process; next }
        /^Thread [0-9]+ / { flush(); next }
        /^#[0-9]+ / && depth < 9 {
            line = $0
            sub(/^#[0-9]+ +(0x[0-9a-f]+ in )?/, "", line)
            sub(/ \(.*$/, "", line)
            if (frames != "" && line ~ /^(_|\?\?|start_thread|clone)/) next
            frames = frames (depth++ ? " < " : "") line
        }
        END { flush() }' "$log.stacks" | $demangle | sort | uniq -c | sort -k2,2n -k1,1rn |
        awk 'NR <= 150 { print "  " substr($0, 1, 400) } END { if (NR > 150) print "  (" NR - 150 " more)" }' >&2
}

# A crashed test process (a signal, no result printed) leaves a core file where the
# kernel puts it: with a plain `core` pattern, in the process's directory, the
# repository's root. Its crashing thread's stack goes to the output (demangled), the file
# beside the log. Swift's backtracer stays off (above); this costs nothing until a crash.
crash_report() {
    local pattern core binary
    pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo "?")
    core=$(find "$NS_ROOT" -maxdepth 1 -name 'core*' -type f -newer "$log.started" 2>/dev/null | head -1)
    if [ -z "$core" ]; then
        ns_log "no core file of the crash in $NS_ROOT (kernel.core_pattern: $pattern)"
        return
    fi
    mv "$core" "$log.core"
    # `debug` is a link to the triple's folder: the slash makes find read through it.
    binary=$(find "$NS_SCRATCH_PATH/debug/" -maxdepth 1 -name '*PackageTests.xctest' -type f | head -1)
    if command -v gdb >/dev/null && [ -n "$binary" ]; then
        ns_log "the crashed thread (core: $log.core):"
        timeout 300s gdb -batch -nx -ex 'info threads' -ex 'bt 40' "$binary" "$log.core" 2>/dev/null |
            grep -E '^(#|\*|Program terminated)' | cut -c1-400 | swift demangle --simplified | head -60 >&2 || true
    else
        ns_log "core of the crash: $log.core"
    fi
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
# swift-test passes the test process's output on through a stdio buffer of its own, a
# full one when its output is a pipe: a stopped run lost its last 3 KB (the lines saying
# which test was stuck). Line-buffered, the log has every line the tests printed.
line_buffered=()
command -v stdbuf >/dev/null && line_buffered=(stdbuf -oL -eL)
# Room for a core file if the test process crashes (crash_report), and the time the run
# started to find it by: the log is written after the crash (by swift test's own error),
# so a core is older than the log's last change.
ulimit -c unlimited 2>/dev/null || true
touch "$log.started"
"${line_buffered[@]}" swift test --skip-build --scratch-path "$NS_SCRATCH_PATH" "${filter[@]}" "$@" >&"$log_fd" 2>&1 &
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
    if [ -s "$log.stacks" ]; then
        ns_log "the test processes' threads when stopped (count, process, innermost frames first):"
        stack_digest
        ns_log "their whole stacks: $log.stacks"
    fi
    summary yes
    ns_die "swift test was stopped: $(cat "$log.stopped")"
fi
if [ "$status" -ne 0 ] && ! grep -qE '^(✔|✘) Test run with ' "$log"; then
    crash_report
fi
summary no
exit "$status"
