#!/usr/bin/env bash
# The fault suite: end-to-end scenarios (SIGKILL during a stream, members leaving and
# joining, PostgreSQL stopped twice, providers failing, hanging and throttling, a burst
# due in one second, per-reminder order under failure, recurring reminders' occurrences
# while dispatchers are killed) against a private broker and database on loopback and an
# HTTPS receiver inside the suite. Prints a table (published,
# stored, delivered, dead-lettered, cancelled, duplicates inside and outside the
# documented window, lost) and exits 1 if any scenario lost or doubled anything.
# The broker restart scenario runs a broker of its own whose data lives in a loopback S3
# server (moto, which scripts/setup.sh installs into the project's virtual environment).
# Separate from the test suite: it takes minutes. Extra arguments go to chaos-suite
# (see --help), for example --only sigkill,order or --stream 20000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
ns_use_rdkafka
# Its own stack, always: the database scenario stops and starts this PostgreSQL.
unset KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
ns_private_stack chaos 39492 35832

# The broker restart scenario's broker keeps its data in a loopback S3 server (moto).
s3_port="${NS_S3_PORT:-39592}"
"$NS_VENV/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$NS_RUN_DIR/moto.log" 2>&1 &
s3_pid=$!
trap 'kill "$s3_pid" 2>/dev/null || true; "$NS_ROOT/scripts/stack.sh" stop' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break; sleep 0.1; done
"$NS_VENV/bin/python" - "$s3_port" <<'PY'
import sys, urllib.request
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/tansu", method="PUT")
urllib.request.urlopen(request).read()
PY
export AWS_ENDPOINT="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=chaos \
    AWS_SECRET_ACCESS_KEY=chaos AWS_DEFAULT_REGION=us-east-1

cd "$NS_ROOT"
mkdir -p "$NS_RUN_DIR/logs"
ns_receiver_certificate
swift build -c release --scratch-path "$NS_SCRATCH_PATH" --product notification-service
swift build -c release --package-path "$NS_ROOT/Benchmarks" --scratch-path "$NS_BENCH_SCRATCH_PATH" \
    --product chaos-suite
timeout 3600 "$NS_BENCH_SCRATCH_PATH/release/chaos-suite" --bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS" \
    --database-url "$DATABASE_URL" --service "$NS_SCRATCH_PATH/release/notification-service" \
    --migrations "$NS_ROOT/migrations" --certificate "$NS_RECEIVER_CERT" --key "$NS_RECEIVER_KEY" \
    --scripts "$NS_ROOT/scripts" --log-directory "$NS_RUN_DIR/logs" "$@"
