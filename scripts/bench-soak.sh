#!/usr/bin/env bash
# Soaks the service with retention: a steady stream of reminders (each due a second
# after it is published, delivered to a loopback HTTPS receiver) for several retention
# windows, once with pruning off and once with it on, in one invocation. Prints table
# and index sizes over time (flat after the first window when pruning), and ingest and
# delivery rates of both phases. PostgreSQL runs durable (fsync, synchronous_commit,
# full_page_writes on) unless NS_PG_DURABLE=0.
# Extra arguments go to soak-benchmark (see --help), for example --rate 500 --window 120.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
export NS_PG_DURABLE="${NS_PG_DURABLE:-1}"
ns_private_stack bench-soak 39392 35732

cd "$NS_ROOT"
ns_receiver_certificate
swift build -c release --scratch-path "$NS_SCRATCH_PATH" --product notification-service
swift build -c release --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
    --product soak-benchmark
"$NS_BENCH_SCRATCH_PATH/release/soak-benchmark" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/release/notification-service" \
    --migrations "$NS_ROOT/migrations" --certificate "$NS_RECEIVER_CERT" --key "$NS_RECEIVER_KEY" \
    --logs "$NS_RUN_DIR" "$@"
