#!/usr/bin/env bash
# Benchmarks the Kafka module against plain librdkafka on the local broker, in one run:
# 1,000,000 messages of 300 bytes on an 8-partition topic, produced and consumed by
# both, three rounds. Prints each round, then the median rates and the ratio. Extra arguments go to
# kafka-benchmark (see --help), for example --messages 200000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
ns_private_stack bench 39092 35432 kafka-only

# shellcheck disable=SC2046
cc -O2 -Wall -o "$NS_RUN_DIR/rdkafka_baseline" "$NS_ROOT/Benchmarks/baseline/rdkafka_baseline.c" \
    $(pkg-config --cflags --libs rdkafka) ${RDKAFKA_RPATH:+-Wl,-rpath,$RDKAFKA_RPATH}
swift build -c release --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
    --product kafka-benchmark
"$NS_BENCH_SCRATCH_PATH/release/kafka-benchmark" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --baseline "$NS_RUN_DIR/rdkafka_baseline" "$@"
