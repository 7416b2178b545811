#!/usr/bin/env bash
# Runs the service on its embedded default: installs what is missing, starts the local
# broker and database (kept running between runs; stop them with scripts/stack.sh stop),
# builds, creates the topics, publishes a sample reminder event and consumes it.
# Extra arguments go to `notification-service dev` (see --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    "$NS_ROOT/scripts/stack.sh" start
    # shellcheck disable=SC1091
    source "$NS_RUN_DIR/stack.env"
fi

cd "$NS_ROOT"
swift build --scratch-path "$NS_SCRATCH_PATH" --product notification-service
exec "$NS_SCRATCH_PATH/debug/notification-service" dev --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" "$@"
