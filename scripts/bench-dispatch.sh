#!/usr/bin/env bash
# Benchmarks delivery: a release `notification-service serve` ingests reminders from the
# broker and delivers them to an HTTPS webhook receiver on loopback (inside the
# benchmark). Loads: 100,000 reminders due at one instant (the 09:00 herd), then
# 1,000 reminders a second for 60 s, each due one second after it is published.
# Prints deliveries/s against the receiver's raw POST rate (same run, same
# concurrency), lateness p50/p99/max, duplicates and the service's peak RSS.
# Extra arguments go to dispatch-benchmark (see --help), for example --herd 20000.
# With --also-encrypted the service is measured a second time with personal data sealed
# at rest (DATA_ENCRYPTION_KEYS, a fresh key), and the ratio sealed / plaintext is printed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
ns_private_stack bench-dispatch 39292 35632

cd "$NS_ROOT"
ns_receiver_certificate
swift build -c release --scratch-path "$NS_SCRATCH_PATH" --product notification-service
swift build -c release --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
    --product dispatch-benchmark
"$NS_BENCH_SCRATCH_PATH/release/dispatch-benchmark" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/release/notification-service" \
    --migrations "$NS_ROOT/migrations" --certificate "$NS_RECEIVER_CERT" --key "$NS_RECEIVER_KEY" \
    --service-log "$NS_RUN_DIR/service.log" "$@"
