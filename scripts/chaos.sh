#!/usr/bin/env bash
# The fault suite: end-to-end scenarios (SIGKILL during a stream, members leaving and
# joining, PostgreSQL stopped twice, providers failing, hanging and throttling, a burst
# due in one second, per-reminder order under failure) against a private broker and
# database on loopback and an HTTPS receiver inside the suite. Prints a table (published,
# stored, delivered, dead-lettered, cancelled, duplicates inside and outside the
# documented window, lost) and exits 1 if any scenario lost or doubled anything.
# Separate from the test suite: it takes minutes. Extra arguments go to chaos-suite
# (see --help), for example --only sigkill,order or --stream 20000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
# Its own stack, always: the database scenario stops and starts this PostgreSQL.
unset KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
ns_private_stack chaos 39492 35832

cd "$NS_ROOT"
certificates="$NS_RUN_DIR/tls"
mkdir -p "$certificates" "$NS_RUN_DIR/logs"
if [ ! -f "$certificates/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 30 \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$certificates/key.pem" -out "$certificates/cert.pem" 2>/dev/null
fi
swift build -c release --scratch-path "$NS_SCRATCH_PATH" --product notification-service
swift build -c release --scratch-path "$NS_SCRATCH_PATH" --product chaos-suite
timeout 3600 "$NS_SCRATCH_PATH/release/chaos-suite" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/release/notification-service" \
    --migrations "$NS_ROOT/migrations" --certificate "$certificates/cert.pem" --key "$certificates/key.pem" \
    --scripts "$NS_ROOT/scripts" --log-directory "$NS_RUN_DIR/logs" "$@"
