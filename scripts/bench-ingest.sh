#!/usr/bin/env bash
# Benchmarks ingest: publishes 1,000,000 events (10% repeated keys) to an 8-partition
# topic, runs a release build of `notification-service serve` until every event is
# stored and every offset committed, and compares its rate with plain batched
# INSERT … ON CONFLICT DO NOTHING of the same rows into the same database, measured in
# the same run. Prints both rates, the ratio and the service's peak RSS.
# Extra arguments go to ingest-benchmark (see --help), for example --events 200000.
# With --also-encrypted the service is measured a second time with personal data sealed
# at rest (DATA_ENCRYPTION_KEYS, a fresh key), and the ratio sealed / plaintext is printed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
ns_private_stack bench-ingest 39192 35532

cd "$NS_ROOT"
swift build -c release --scratch-path "$NS_SCRATCH_PATH" --product notification-service
swift build -c release --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
    --product ingest-benchmark
"$NS_BENCH_SCRATCH_PATH/release/ingest-benchmark" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/release/notification-service" \
    --migrations "$NS_ROOT/migrations" "$@"
