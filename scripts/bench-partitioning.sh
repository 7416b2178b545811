#!/usr/bin/env bash
# Retention, issue 18: measures batched row deletion (one plain table, DELETE … LIMIT
# 1000 in short transactions, autovacuum on) against a table partitioned by insertion
# time whose old partitions are detached and dropped, for a history table
# (delivery_attempts) and the inbox, under a steady insert stream of several retention
# windows. Prints per variant the insert rate and p99 latency while pruning, the prune
# cost (wall time, WAL, CPU) and the table's total size over time. About 4.5 minutes.
# It needs only PostgreSQL, started privately (port 33432) with production durability:
# fsync, synchronous_commit and full_page_writes on (NS_PG_DURABLE=1), autovacuum's nap
# shortened to 5 s to match the benchmark's window of seconds.
# Extra arguments go to Benchmarks/retention/partitioning.py (see --help), for example
# --tables inbox --duration 90.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$NS_ROOT/scripts/setup.sh"
export NS_PG_DURABLE=1
given_database="${DATABASE_URL:-}"
ns_private_stack bench-partitioning 0 33432 pg-only

if [ -z "$given_database" ]; then
    # Our own cluster: autovacuum looks at the tables every 5 s rather than every minute
    # (a database given through DATABASE_URL is measured as it is).
    "$NS_VENV/bin/python" - "$DATABASE_URL" <<'PY'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("ALTER SYSTEM SET autovacuum_naptime = '5s'")
    conn.execute("SELECT pg_reload_conf()")
PY
fi
"$NS_VENV/bin/python" "$NS_ROOT/Benchmarks/retention/partitioning.py" --database-url "$DATABASE_URL" "$@"
