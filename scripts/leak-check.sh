#!/usr/bin/env bash
# Shows that the Kafka module leaks nothing: produces and consumes 100,000 messages
# through it under valgrind's memcheck and fails when memory is definitely or
# indirectly lost. Extra arguments go to kafka-benchmark (e.g. --messages 20000).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
command -v valgrind >/dev/null || { apt-get install -y -q valgrind >/dev/null 2>&1 || sudo apt-get install -y -q valgrind; }

export NS_RUN_DIR="$NS_ROOT/.run/leak-check"
export NS_KAFKA_PORT="${NS_KAFKA_PORT:-49092}" NS_PG_PORT="${NS_PG_PORT:-45432}"
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    "$NS_ROOT/scripts/stack.sh" start
    trap '"$NS_ROOT/scripts/stack.sh" stop' EXIT
    # shellcheck disable=SC1091
    source "$NS_RUN_DIR/stack.env"
fi

cd "$NS_ROOT"
swift build --scratch-path "$NS_SCRATCH_PATH" --product kafka-benchmark
log="$NS_RUN_DIR/valgrind.log"
ns_log "running 100,000 messages through produce and consume under valgrind (a few minutes)"
status=0
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$log" \
    "$NS_SCRATCH_PATH/debug/kafka-benchmark" --swift-only --rounds 1 --messages 100000 \
    --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" "$@" || status=$?
grep -E "definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY" "$log" | sed 's/^==[0-9]*== */  /'
if [ "$status" -ne 0 ]; then
    ns_die "valgrind reported leaks or errors (exit $status); details in $log"
fi
ns_log "no leaks: nothing definitely or indirectly lost"
