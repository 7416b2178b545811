#!/usr/bin/env bash
# Runs the service on its embedded default: installs what is missing, starts the local
# broker and database (kept running between runs; stop them with scripts/stack.sh stop),
# builds, creates the topics, publishes two sample events (one valid, one invalid) and
# serves: the valid one is stored in PostgreSQL and, five seconds later, delivered by
# email to a local SMTP server (scripts/smtp_sink.py on 127.0.0.1:2525, which keeps each
# message in .run/dev-mail, as an .eml file and as JSON); the invalid one lands in reminders.dlq. Set
# SMTP_HOST to use a mail server of your own instead. The HTTP API is on 127.0.0.1:8080,
# with a bearer token for /v1 kept in .run/dev-api-token. Ctrl-C stops it gracefully.
# Extra arguments go to `notification-service dev`.
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

if [ -z "${SMTP_HOST:-}" ]; then
    mail_port="${NS_DEV_SMTP_PORT:-2525}"
    mkdir -p "$NS_RUN_DIR/dev-mail"
    "$NS_VENV/bin/python" "$NS_ROOT/scripts/smtp_sink.py" --port "$mail_port" \
        --maildir "$NS_RUN_DIR/dev-mail" --lifetime 86400 > "$NS_RUN_DIR/dev-mail.log" 2>&1 &
    mail_pid=$!
    trap 'kill "$mail_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do grep -q '^PORT' "$NS_RUN_DIR/dev-mail.log" && break; sleep 0.1; done
    grep -q '^PORT' "$NS_RUN_DIR/dev-mail.log" || ns_die "the local SMTP server did not start: $(cat "$NS_RUN_DIR/dev-mail.log")"
    ns_log "local SMTP server on 127.0.0.1:$mail_port; delivered mail goes to $NS_RUN_DIR/dev-mail"
    export SMTP_HOST=127.0.0.1 SMTP_PORT="$mail_port" SMTP_STARTTLS=off SMTP_FROM=reminders@localhost
fi
if [ -z "${API_TOKEN:-}" ]; then
    # A token for this machine only, so the /v1 API can be tried; kept between runs.
    if [ ! -s "$NS_RUN_DIR/dev-api-token" ]; then
        mkdir -p "$NS_RUN_DIR"
        (umask 077 && openssl rand -hex 16 > "$NS_RUN_DIR/dev-api-token")
    fi
    API_TOKEN="$(cat "$NS_RUN_DIR/dev-api-token")"
    export API_TOKEN
    ns_log "the /v1 API's bearer token is in $NS_RUN_DIR/dev-api-token"
fi
ns_log "HTTP API on 127.0.0.1:${HTTP_PORT:-8080} (/health/ready, /metrics, /v1/dead-letters, /v1/reminders/ID)"
"$NS_SCRATCH_PATH/debug/notification-service" dev "$@"
