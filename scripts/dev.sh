#!/usr/bin/env bash
# Runs the service on its embedded default: installs what is missing, starts the local
# broker and database (kept running between runs; stop them with scripts/stack.sh stop),
# builds, creates the topics, publishes two sample events (one valid, one invalid) and
# serves: the valid one is stored in PostgreSQL, the invalid one lands in reminders.dlq.
# Ctrl-C stops it gracefully. Extra arguments go to `notification-service dev`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
    "$NS_ROOT/scripts/stack.sh" start
    # shellcheck disable=SC1091
    source "$NS_RUN_DIR/stack.env"
fi
export NOTIFICATION_MIGRATIONS_DIR="${NOTIFICATION_MIGRATIONS_DIR:-$NS_ROOT/migrations}"

cd "$NS_ROOT"
swift build --scratch-path "$NS_SCRATCH_PATH" --product notification-service
exec "$NS_SCRATCH_PATH/debug/notification-service" dev "$@"
