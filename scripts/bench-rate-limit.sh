#!/usr/bin/env bash
# Shows the rate limit shared by several instances: 3 `notification-service serve`
# processes with WEBHOOK_RATE_LIMIT=50 and WEBHOOK_RATE_BURST=10 deliver 3,000 webhook
# reminders due at one instant to one loopback HTTPS receiver (inside the benchmark),
# which notes every arrival. Prints the receiver's busiest second (at most 50 + 10 with
# the limit shared through PostgreSQL; about 3 × 50 with a limit per process) and
# whether all 3,000 arrived once; exits 1 when either fails.
# Extra arguments go to rate-limit-benchmark (see --help), for example --instances 5.
# NS_BENCH_CONFIGURATION=debug builds and runs debug binaries (quicker to build; the
# figures are about the limit, not speed); NS_BENCH_NO_BUILD=1 runs what is built.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
configuration="${NS_BENCH_CONFIGURATION:-release}"
[ -n "${NS_BENCH_NO_BUILD:-}" ] || "$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
ns_private_stack bench-rate-limit 39392 35732

cd "$NS_ROOT"
ns_receiver_certificate
if [ -z "${NS_BENCH_NO_BUILD:-}" ]; then
    swift build -c "$configuration" --scratch-path "$NS_SCRATCH_PATH" --product notification-service
    swift build -c "$configuration" --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
        --product rate-limit-benchmark
fi
mkdir -p "$NS_RUN_DIR/logs"
"$NS_BENCH_SCRATCH_PATH/$configuration/rate-limit-benchmark" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/$configuration/notification-service" \
    --migrations "$NS_ROOT/migrations" --certificate "$NS_RECEIVER_CERT" --key "$NS_RECEIVER_KEY" \
    --service-logs "$NS_RUN_DIR/logs" "$@"
