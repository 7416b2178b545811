#!/usr/bin/env bash
# Benchmarks ingest: publishes 1,000,000 events (10% repeated keys) to an 8-partition
# topic once, then in each of --rounds rounds (default 3) lets three contenders store them,
# each on a fresh database with the migrations applied (after its window vacuumed and
# checkpointed, PostgreSQL's CPU for that printed apart, then dropped and autovacuum
# waited for: none of it falls in the next contender's window), in an order that turns
# by one each round: a release build of `notification-service serve` (until every event
# is stored and every offset committed), the Python peer Benchmarks/peers/ingest_peer.py (confluent-kafka
# and psycopg, batches of 500, its own consumer group on the same topic) and plain batched
# INSERT … ON CONFLICT DO NOTHING of the same rows (raw insert). Prints every round's
# rates and ratios, then the medians: rates, service / peer, service / raw insert, CPU
# microseconds per event of each contender, of PostgreSQL and of the broker (from /proc;
# the raw insert does not use the broker), the WAL PostgreSQL wrote per event, and the
# service's peak RSS.
#
# PostgreSQL runs durable (fsync, synchronous_commit, full_page_writes on) unless the
# first argument is --fast-database (fsync and full-page writes off); the first line and
# every summary line say which.
# Other arguments go to ingest-benchmark (its options are in
# Benchmarks/IngestBenchmark/IngestBenchmark.swift), for example --events 200000,
# --rounds 5, --two-instances (the service also as two processes in one group: rate
# two / one, CPU of both, the machine's idle share), --also-encrypted (the service also
# with personal data sealed at rest, DATA_ENCRYPTION_KEYS a fresh key: ratio sealed /
# plaintext, every round), --also-without-status-events (the service also with
# STATUS_EVENTS=false, every round: ratios without / with, without / raw insert and
# without / peer, what the status outbox costs) or --compare-service PATH [--compare-migrations DIR] (another
# build of notification-service, e.g. the commit before a change, measured in every round
# beside this one: ratio service / compared build, its CPU and RSS).
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
ns_private_stack bench-ingest 39192 35532

cd "$NS_ROOT"
build() { if [ -n "${NS_BUILD_LOCK:-}" ]; then flock -o "$NS_BUILD_LOCK" swift build "$@"; else swift build "$@"; fi; }
build -c release --scratch-path "$NS_SCRATCH_PATH" --product notification-service
build -c release --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
    --product ingest-benchmark
"$NS_BENCH_SCRATCH_PATH/release/ingest-benchmark" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/release/notification-service" \
    --migrations "$NS_ROOT/migrations" ${NS_PG_DATA:+--postgres-pid-file "$NS_PG_DATA/postmaster.pid"} \
    ${NS_BROKER_PID_FILE:+--broker-pid-file "$NS_BROKER_PID_FILE"} \
    --python "$NS_VENV/bin/python" --peer "$NS_ROOT/Benchmarks/peers/ingest_peer.py" "$@"
