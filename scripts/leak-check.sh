#!/usr/bin/env bash
# Shows that the Kafka module leaks nothing and frees nothing twice: produces and
# consumes 100,000 messages through it in a build with AddressSanitizer, whose
# LeakSanitizer reports every allocation (Swift's or librdkafka's) that is unreachable
# at exit, and fails on any report. Extra arguments go to kafka-benchmark.
#
# (valgrind 3.19, Debian bookworm's, crashes on the signal handling of a Swift program's
# async main, so it cannot run this check here.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
ns_private_stack leak-check 49092 45432 kafka-only

cd "$NS_ROOT"
scratch="${NS_BENCH_SCRATCH_PATH}-asan"
swift build --package-path "$NS_ROOT/Benchmarks" --scratch-path "$scratch" --sanitize=address --product kafka-benchmark
log="$NS_RUN_DIR/sanitizer.log"
ns_log "producing and consuming through the Kafka module with AddressSanitizer and LeakSanitizer"
rm -f "$log".*
status=0
ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$log" \
    "$scratch/debug/kafka-benchmark" --swift-only --rounds 1 --messages 100000 \
    --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" "$@" || status=$?
if [ "$status" -ne 0 ] || ls "$log".* >/dev/null 2>&1; then
    cat "$log".* 2>/dev/null | head -60 >&2
    ns_die "the sanitizer reported leaks or memory errors (exit $status); reports in $log.*"
fi
ns_log "no leaks and no memory errors"
