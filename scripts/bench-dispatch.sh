#!/usr/bin/env bash
# Benchmarks delivery: a release `notification-service serve` ingests reminders from the
# broker and delivers them to an HTTPS webhook receiver on loopback (inside the
# benchmark). In each of --rounds rounds (default 3), on a fresh topic and database: the
# receiver's raw POST rate (the baseline, same concurrency), then the service with
# 100,000 reminders due at one instant (the 09:00 herd) and 1,000 reminders a second for
# 60 s, each due one second after it is published. Prints every round and the medians:
# herd deliveries/s and their ratio to the raw POST rate, lateness p50/p99/max of the
# herd and of the stream, duplicates, CPU microseconds per delivery of the service, of
# PostgreSQL and of the broker (from /proc), and the service's peak RSS.
#
# PostgreSQL runs durable (fsync, synchronous_commit, full_page_writes on) unless the
# first argument is --fast-database (fsync and full-page writes off); the first line and
# the summary lines say which.
# Other arguments go to dispatch-benchmark (its options are in
# Benchmarks/DispatchBenchmark/DispatchBenchmark.swift), for example --herd 20000,
# --two-instances (the herd also through two processes in one group: deliveries two /
# one, CPU of both, the machine's idle share) or --also-encrypted (the service also with
# personal data sealed at rest, DATA_ENCRYPTION_KEYS a fresh key: ratios sealed /
# plaintext, every round).
# NS_BUILD_LOCK: when set, the builds take this flock(1) lock (a machine whose builds
# take turns).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
ns_answer_help "$@"
export NS_PG_DURABLE="${NS_PG_DURABLE:-1}"
while [ "${1:-}" = --fast-database ]; do
    NS_PG_DURABLE=0
    shift
done
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
ns_private_stack bench-dispatch 39292 35632

cd "$NS_ROOT"
ns_receiver_certificate
build() { if [ -n "${NS_BUILD_LOCK:-}" ]; then flock -o "$NS_BUILD_LOCK" swift build "$@"; else swift build "$@"; fi; }
build -c release --scratch-path "$NS_SCRATCH_PATH" --product notification-service
build -c release --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
    --product dispatch-benchmark
"$NS_BENCH_SCRATCH_PATH/release/dispatch-benchmark" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/release/notification-service" \
    --migrations "$NS_ROOT/migrations" --certificate "$NS_RECEIVER_CERT" --key "$NS_RECEIVER_KEY" \
    ${NS_PG_DATA:+--postgres-pid-file "$NS_PG_DATA/postmaster.pid"} \
    ${NS_BROKER_PID_FILE:+--broker-pid-file "$NS_BROKER_PID_FILE"} \
    --service-log "$NS_RUN_DIR/service.log" "$@"
