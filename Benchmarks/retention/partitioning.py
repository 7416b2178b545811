#!/usr/bin/env python3
"""Retention: deleting rows in batches against dropping time partitions (issue 18).

For two table shapes of the service, a history table (delivery_attempts: append-only,
bigserial id, an index on (reminder_id, id); reminder_transitions and status_events are
shaped alike) and the inbox (primary key on idempotency_key, random keys), runs a steady
insert stream for several retention windows while a pruner keeps only the last window:

  A  one plain table; every cycle deletes what is older than the window with
     DELETE ... WHERE <key> IN (SELECT <key> ... ORDER BY <time> LIMIT 1000), each batch
     its own transaction, autovacuum on. The SELECT needs an index on the time column,
     which the migrations do not have: A adds it (and pays for it on every insert).
  B  the same table partitioned by range on the insertion time, one partition per
     cycle's slice; every cycle creates the partitions ahead, then DETACH ... CONCURRENTLY
     and DROP of the partitions wholly older than the window.

It prints per variant insert throughput and latency while pruning, the prune cost (wall
time, WAL from pg_current_wal_lsn differences, CPU of the pruning backend and of all
PostgreSQL processes from /proc), and the total size of the table with its indexes
sampled over the run. Every variant runs in a schema of its own, dropped afterwards.

Run it through scripts/bench-partitioning.sh, which starts a private PostgreSQL with
production durability; --help lists the knobs.
"""

import argparse
import os
import statistics
import sys
import threading
import time

import psycopg

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DELETE_BATCH = 1000


# --- table shapes ---------------------------------------------------------------------

class Shape:
    """DDL and statements of one table, plain (A) or partitioned by `time_column` (B)."""

    def __init__(self, name, table, time_column, key_column, plain_ddl, partitioned_ddl, insert_sql):
        self.name = name
        self.table = table
        self.time_column = time_column
        self.key_column = key_column
        self.plain_ddl = plain_ddl
        self.partitioned_ddl = partitioned_ddl
        self.insert_sql = insert_sql


# delivery_attempts as in migrations/0003 and 0009. Partitioned, its primary key must
# hold the partition column: (id, at).
HISTORY_COLUMNS = """
    id bigserial NOT NULL,
    reminder_id bigint NOT NULL,
    attempt integer NOT NULL,
    channel_index integer NOT NULL,
    channel text NOT NULL,
    provider text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('delivered', 'transient', 'permanent', 'circuit_open')),
    error_class text,
    answer text NOT NULL,
    latency_ms double precision NOT NULL,
    retry_delay_ms bigint,
    at timestamptz NOT NULL DEFAULT now(),
    occurrence integer
"""
HISTORY = Shape(
    "history (delivery_attempts)", "delivery_attempts", "at", "id",
    plain_ddl=[
        f"CREATE TABLE {{s}}.delivery_attempts ({HISTORY_COLUMNS}, PRIMARY KEY (id))",
        "CREATE INDEX ON {s}.delivery_attempts (reminder_id, id)",
        # What the batched DELETE needs to find the oldest rows (not in the migrations).
        "CREATE INDEX ON {s}.delivery_attempts (at)",
    ],
    partitioned_ddl=[
        f"CREATE TABLE {{s}}.delivery_attempts ({HISTORY_COLUMNS}, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
        "CREATE INDEX ON {s}.delivery_attempts (reminder_id, id)",
    ],
    # Three attempts per reminder: two transient failures, then a delivery.
    insert_sql="""
        INSERT INTO {s}.delivery_attempts (reminder_id, attempt, channel_index, channel, provider, outcome,
            error_class, answer, latency_ms, retry_delay_ms, occurrence)
        SELECT %(base)s + g / 3, g %% 3 + 1, 0, 'webhook', 'webhook',
               CASE WHEN g %% 3 = 2 THEN 'delivered' ELSE 'transient' END,
               CASE WHEN g %% 3 = 2 THEN NULL ELSE 'http_5xx' END,
               CASE WHEN g %% 3 = 2 THEN 'HTTP 204' ELSE 'HTTP 503 Service Unavailable' END,
               12.5 + g %% 97, CASE WHEN g %% 3 = 2 THEN NULL ELSE 2000 * (g %% 3 + 1) END, NULL
        FROM generate_series(0, %(n)s - 1) AS g""",
)

# inbox as in migrations/0001. Partitioned, the primary key must hold the partition
# column: (idempotency_key, received_at), which no longer rejects a repeated key.
INBOX_COLUMNS = """
    idempotency_key text NOT NULL,
    payload_sha256 bytea NOT NULL,
    reminder_id text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
"""
INBOX = Shape(
    "inbox", "inbox", "received_at", "idempotency_key",
    plain_ddl=[
        f"CREATE TABLE {{s}}.inbox ({INBOX_COLUMNS}, PRIMARY KEY (idempotency_key))",
        "CREATE INDEX ON {s}.inbox (received_at)",
    ],
    partitioned_ddl=[
        f"CREATE TABLE {{s}}.inbox ({INBOX_COLUMNS}, PRIMARY KEY (idempotency_key, received_at))"
        " PARTITION BY RANGE (received_at)",
    ],
    # Producers' keys are random (UUIDs here), so inserts land all over the key index.
    insert_sql="""
        INSERT INTO {s}.inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset)
        SELECT 'user-' || (%(base)s + g) %% 5000 || '/' || gen_random_uuid(),
               sha256(int8send(%(base)s + g)), 'rem-' || (%(base)s + g), g %% 8, %(base)s + g
        FROM generate_series(0, %(n)s - 1) AS g
        ON CONFLICT DO NOTHING""",
)


# --- /proc ----------------------------------------------------------------------------

def proc_cpu(pid):
    """utime + stime of one process in seconds, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


def postgres_cpu(postmaster):
    """CPU seconds of every PostgreSQL process so far: the postmaster, its live children,
    and (cutime + cstime) the children it has reaped, such as autovacuum workers."""
    if postmaster is None:
        return None
    try:
        with open(f"/proc/{postmaster}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total = sum(int(x) for x in fields[11:15]) / CLOCK_TICKS
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    child = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(child[1]) == postmaster:
                total += (int(child[11]) + int(child[12])) / CLOCK_TICKS
        return total
    except (OSError, IndexError, ValueError):
        return None


def find_postmaster(conn):
    try:
        data_directory = conn.execute("SHOW data_directory").fetchone()[0]
        with open(os.path.join(data_directory, "postmaster.pid")) as f:
            pid = int(f.readline())
        return pid if proc_cpu(pid) is not None else None
    except (psycopg.Error, OSError, ValueError):
        return None


def lsn(conn):
    return conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0]


# --- one variant ----------------------------------------------------------------------

class Run:
    def __init__(self, args, shape, partitioned):
        self.args = args
        self.shape = shape
        self.partitioned = partitioned
        self.schema = f"retention_{shape.table}_{'b' if partitioned else 'a'}"
        self.table = f"{self.schema}.{shape.table}"
        self.inserts = []      # (start, end, rows) per insert transaction
        self.prunes = []       # dicts per prune cycle
        self.sizes = []        # (t, bytes)
        self.wal_marks = {}    # phase -> lsn
        self.errors = []
        self.stop = threading.Event()

    def connect(self):
        return psycopg.connect(self.args.database_url, autocommit=True)

    # partitions are named by the index of their slice since the epoch
    def slice_of(self, epoch_seconds):
        return int(epoch_seconds // self.args.slice)

    def create_partitions(self, conn, upto_epoch):
        created = 0
        existing = {r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass", (self.table,))}
        first = self.slice_of(time.time())
        for k in range(first, self.slice_of(upto_epoch) + 1):
            name = f"{self.shape.table}_s{k}"
            if name in existing:
                continue
            conn.execute(
                f"CREATE TABLE {self.schema}.{name} PARTITION OF {self.table} "
                f"FOR VALUES FROM (to_timestamp({k * self.args.slice})) TO (to_timestamp({(k + 1) * self.args.slice}))")
            created += 1
        return created

    def setup(self, conn):
        conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {self.schema}")
        for ddl in (self.shape.partitioned_ddl if self.partitioned else self.shape.plain_ddl):
            conn.execute(ddl.format(s=self.schema))
        if self.partitioned:
            self.create_partitions(conn, time.time() + self.args.window + 3 * self.args.slice)

    def size(self, conn):
        """pg_total_relation_size (heap, indexes, TOAST) of the table or of all its partitions."""
        if not self.partitioned:
            return int(conn.execute("SELECT pg_total_relation_size(%s::regclass)", (self.table,)).fetchone()[0])
        return int(conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree(%s::regclass)",
            (self.table,)).fetchone()[0])

    # --- threads

    def inserter(self, t0):
        args = self.args
        sql = self.shape.insert_sql.format(s=self.schema)
        interval = args.batch / args.rate
        end = t0 + args.duration
        base = 0
        try:
            with self.connect() as conn:
                self.insert_backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                self.insert_cpu0 = proc_cpu(self.insert_backend)
                for i in range(int(args.duration / interval) + 1):  # bounded by count and time
                    due = t0 + i * interval
                    now = time.monotonic()
                    if due >= end or now >= end:
                        break
                    if due > now:
                        time.sleep(due - now)
                    start = time.monotonic()
                    conn.execute(sql, {"base": base, "n": args.batch})
                    self.inserts.append((start - t0, time.monotonic() - t0, args.batch))
                    base += args.batch
                self.insert_cpu1 = proc_cpu(self.insert_backend)
                # Here, while this backend still runs: one that has exited but is not yet
                # reaped by the postmaster is in neither the children nor cutime.
                self.wal_marks["end"] = lsn(conn)
                self.cpu_end = postgres_cpu(self.postmaster)
                self.t_end = time.monotonic() - t0
        except Exception as error:  # reported, and the run's figures marked
            self.errors.append(f"inserter: {error}")
        finally:
            self.stop.set()

    def sampler(self, t0):
        try:
            with self.connect() as conn:
                while not self.stop.is_set() and time.monotonic() - t0 < self.args.duration + 5:
                    self.sizes.append((time.monotonic() - t0, self.size(conn)))
                    self.stop.wait(1.0)
        except Exception as error:
            self.errors.append(f"sampler: {error}")

    def prune_rows(self, conn):
        s = self.shape
        cutoff_sql = f"now() - interval '{self.args.window} seconds'"
        sql = (f"DELETE FROM {self.table} WHERE {s.key_column} IN "
               f"(SELECT {s.key_column} FROM {self.table} WHERE {s.time_column} < {cutoff_sql} "
               f"ORDER BY {s.time_column} LIMIT {DELETE_BATCH})")
        rows = batches = 0
        for _ in range(10_000):  # bounded; a cycle deletes one slice, a few dozen batches
            n = conn.execute(sql).rowcount
            rows += n
            batches += 1
            if n < DELETE_BATCH:
                break
        return rows, batches

    def prune_partitions(self, conn):
        rows = dropped = 0
        horizon = time.time() - self.args.window
        created = self.create_partitions(conn, time.time() + 3 * self.args.slice)
        for (name,) in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass ORDER BY c.relname", (self.table,)).fetchall():
            k = int(name.rsplit("_s", 1)[1])
            if (k + 1) * self.args.slice > horizon:
                continue
            # DETACH ... CONCURRENTLY takes no lock that blocks the inserts; DROP then
            # locks only the detached table.
            conn.execute(f"ALTER TABLE {self.table} DETACH PARTITION {self.schema}.{name} CONCURRENTLY")
            # rows removed, for the report: the statistics' count of inserted rows
            rows += conn.execute(
                "SELECT coalesce(max(n_tup_ins), 0) FROM pg_stat_user_tables WHERE relid = %s::regclass",
                (f"{self.schema}.{name}",)).fetchone()[0]
            conn.execute(f"DROP TABLE {self.schema}.{name}")
            dropped += 1
        return rows, dropped, created

    def pruner(self, t0, postmaster):
        args = self.args
        try:
            with self.connect() as conn:
                conn.execute("SET lock_timeout = '2s'")
                backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                first = args.window + args.slice
                for cycle in range(int(args.duration / args.slice) + 1):  # bounded
                    due = t0 + first + cycle * args.slice
                    if due >= t0 + args.duration or self.stop.wait(max(0.0, due - time.monotonic())):
                        break
                    if args.checkpoint:
                        # As in production, where the window is days and checkpoints minutes
                        # apart: the rows pruned were last written before the last
                        # checkpoint, so their pages pay full-page images in the WAL.
                        conn.execute("CHECKPOINT")
                    wal0, cpu0, start = lsn(conn), proc_cpu(backend), time.monotonic()
                    if self.partitioned:
                        rows, units, created = self.prune_partitions(conn)
                    else:
                        (rows, units), created = self.prune_rows(conn), 0
                    end = time.monotonic()
                    wal1, cpu1 = lsn(conn), proc_cpu(backend)
                    self.prunes.append({
                        "start": start - t0, "end": end - t0, "rows": rows, "units": units,
                        "created": created, "wal": int(wal1 - wal0),
                        "cpu": (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None,
                    })
        except Exception as error:
            self.errors.append(f"pruner: {error}")

    def execute(self):
        args = self.args
        with self.connect() as conn:
            self.setup(conn)
            conn.execute("CHECKPOINT")
            postmaster = self.postmaster = find_postmaster(conn)
            self.cpu_end = None
            t0 = time.monotonic()
            self.wal_marks["start"] = lsn(conn)
            cpu_start = postgres_cpu(postmaster)
            threads = [threading.Thread(target=f, args=a) for f, a in
                       ((self.inserter, (t0,)), (self.sampler, (t0,)), (self.pruner, (t0, postmaster)))]
            for thread in threads:
                thread.start()
            # the WAL position when pruning starts, for the figures "while pruning"
            steady_at = t0 + args.window + args.slice - 0.01
            while time.monotonic() < steady_at and not self.stop.is_set():
                time.sleep(0.05)
            self.wal_marks["steady"] = lsn(conn)
            self.cpu_steady = postgres_cpu(postmaster)
            self.t_steady = time.monotonic() - t0
            for thread in threads:
                thread.join(timeout=args.duration + 60)
            if "end" not in self.wal_marks:  # the inserter failed
                self.t_end = time.monotonic() - t0
                self.wal_marks["end"] = lsn(conn)
            self.cpu_start = cpu_start
            self.rows_before_pruning = sum(x[2] for x in self.inserts if x[1] < self.t_steady)
            self.live_rows = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]
            self.vacuums = conn.execute(
                "SELECT coalesce(sum(autovacuum_count), 0), coalesce(sum(vacuum_count), 0) "
                "FROM pg_stat_user_tables WHERE schemaname = %s", (self.schema,)).fetchone()
            self.final_size = self.size(conn)
            if not args.keep:
                conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


# --- report ---------------------------------------------------------------------------

def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def mib(n):
    return f"{n / 1048576:.1f} MiB"


def report(run):
    args = run.args
    label = "B partitions, DETACH CONCURRENTLY + DROP" if run.partitioned else "A plain table, batched DELETE"
    print(f"  {label}")
    if run.errors:
        for error in run.errors:
            print(f"    ERROR {error}")
    steady = [x for x in run.inserts if x[0] >= run.t_steady]
    steady_rows = sum(x[2] for x in steady)
    steady_span = (steady[-1][1] - run.t_steady) if steady else float("nan")
    latencies = [(e - s) * 1000 for s, e, _ in steady]
    in_prune = [(e - s) * 1000 for s, e, _ in steady
                if any(s < p["end"] and e > p["start"] for p in run.prunes)]
    prune_time = sum(p["end"] - p["start"] for p in run.prunes)
    rows_in_prune = sum(n for s, e, n in steady if any(s < p["end"] and e > p["start"] for p in run.prunes))
    print(f"    inserts while pruning:  {steady_rows / steady_span:,.0f} rows/s (target {args.rate:,}/s, "
          f"{len(steady)} transactions of {args.batch})")
    if prune_time > 0 and in_prune:
        print(f"      during prune work:   {rows_in_prune / prune_time:,.0f} rows/s over {prune_time:.2f} s")
    print(f"    insert latency:         p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
          f"max {max(latencies, default=float('nan')):.1f} ms")
    if in_prune:
        print(f"      overlapping a prune: p99 {percentile(in_prune, 99):.1f} ms, max {max(in_prune):.1f} ms "
              f"({len(in_prune)} transactions)")
    removed = sum(p["rows"] for p in run.prunes)
    wal = sum(p["wal"] for p in run.prunes)
    cpus = [p["cpu"] for p in run.prunes if p["cpu"] is not None]
    unit = "partitions dropped" if run.partitioned else "DELETE batches"
    walls = [p["end"] - p["start"] for p in run.prunes]
    print(f"    prune:                  {len(run.prunes)} cycles, {removed:,} rows removed, "
          f"{sum(p['units'] for p in run.prunes)} {unit}"
          + (f", {sum(p['created'] for p in run.prunes)} partitions created ahead" if run.partitioned else ""))
    if walls:
        print(f"      wall time:           {prune_time:.2f} s in all, {statistics.mean(walls) * 1000:.0f} ms a cycle "
              f"(max {max(walls) * 1000:.0f} ms)")
    # The WAL is the whole cluster's: the inserts running alongside the prune work add
    # theirs, estimated at their WAL per row before pruning began.
    warmup_wal = run.wal_marks["steady"] - run.wal_marks["start"]
    per_row = warmup_wal / max(1, run.rows_before_pruning)
    net = max(0.0, wal - rows_in_prune * per_row)
    print(f"      WAL:                 {mib(wal)} (LSN difference across the prune work); less the concurrent "
          f"inserts' share ({rows_in_prune:,} rows at {per_row:.0f} B): {mib(net)}"
          + (f", {net / removed:.0f} B per removed row" if removed else ""))
    if cpus:
        print(f"      CPU of the pruning backend: {sum(cpus):.2f} s")
    steady_wal = run.wal_marks["end"] - run.wal_marks["steady"]
    total_rows = sum(x[2] for x in run.inserts)
    print(f"    WAL while pruning (all sources, from {run.t_steady:.0f} s to the end): {mib(steady_wal)}, "
          f"{steady_wal / max(1, steady_rows):.0f} B per inserted row")
    if run.cpu_end is not None and run.cpu_steady is not None:
        cpu = run.cpu_end - run.cpu_steady
        print(f"    CPU of all PostgreSQL processes while pruning: {cpu:.1f} s "
              f"({cpu / max(1e-9, run.t_end - run.t_steady) * 100:.0f}% of a core), "
              f"{cpu * 1e6 / max(1, steady_rows):.0f} µs per inserted row")
    if getattr(run, "insert_cpu1", None) is not None and run.insert_cpu0 is not None:
        print(f"      of it the inserting backend (whole run): {run.insert_cpu1 - run.insert_cpu0:.1f} s")
    print(f"    autovacuum runs on the table: {run.vacuums[0]}")
    # size: the largest sample in each slice, and the verdict from the windows with pruning
    series = []
    for k in range(int(run.t_end // args.slice) + 1):
        in_slice = [b for t, b in run.sizes if k * args.slice <= t < (k + 1) * args.slice]
        if in_slice:
            series.append((k * args.slice, max(in_slice)))
    print("    total relation size (largest sample per slice, pg_total_relation_size incl. indexes):")
    print("      " + ", ".join(f"{t:.0f}s {b / 1048576:.1f}" for t, b in series) + " MiB")
    pruned = [b for t, b in run.sizes if t >= args.window + args.slice]
    if pruned:
        first_window = [b for t, b in run.sizes if args.window + args.slice <= t < 2 * args.window + args.slice]
        last_window = [b for t, b in run.sizes if t >= run.t_end - args.window]
        growth = max(last_window) / max(first_window) if first_window and last_window else float("nan")
        verdict = "flat" if growth <= 1.10 else "growing"
        print(f"      peak in the first pruned window {mib(max(first_window))}, in the last {mib(max(last_window))}: "
              f"x{growth:.2f}, {verdict}; at the end {run.live_rows:,} rows live in {mib(run.final_size)}, "
          f"{run.final_size / max(1, run.live_rows):.0f} B a row")
    print(f"    rows inserted: {total_rows:,}")
    sys.stdout.flush()


def show_settings(conn):
    names = ["server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
             "autovacuum", "autovacuum_naptime", "autovacuum_vacuum_scale_factor",
             "checkpoint_timeout", "max_wal_size", "shared_buffers"]
    values = dict(conn.execute(
        "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name = ANY(%s)", (names,)).fetchall())
    print("PostgreSQL: " + ", ".join(f"{n}={values.get(n, '?')}" for n in names))
    return values


def constraints(conn):
    """Checks on the database what partitioning takes away from the inbox."""
    out = []
    conn.execute("DROP SCHEMA IF EXISTS retention_check CASCADE")
    conn.execute("CREATE SCHEMA retention_check")
    try:
        try:
            conn.execute(
                "CREATE TABLE retention_check.inbox (idempotency_key text PRIMARY KEY, received_at timestamptz "
                "NOT NULL DEFAULT now()) PARTITION BY RANGE (received_at)")
            out.append("a primary key on idempotency_key alone over partitions: accepted (unexpected)")
        except psycopg.Error as error:
            out.append("PRIMARY KEY (idempotency_key) on a table partitioned by received_at: refused, "
                       f"\"{error.diag.message_primary}\"")
        conn.execute(
            "CREATE TABLE retention_check.inbox (idempotency_key text, received_at timestamptz NOT NULL, "
            "PRIMARY KEY (idempotency_key, received_at)) PARTITION BY RANGE (received_at)")
        conn.execute("CREATE TABLE retention_check.inbox_1 PARTITION OF retention_check.inbox "
                     "FOR VALUES FROM ('2000-01-01') TO ('2000-01-02')")
        conn.execute("CREATE TABLE retention_check.inbox_2 PARTITION OF retention_check.inbox "
                     "FOR VALUES FROM ('2000-01-02') TO ('2000-01-03')")
        for at in ("2000-01-01 23:59:59+00", "2000-01-02 00:00:01+00"):
            conn.execute("INSERT INTO retention_check.inbox VALUES ('redelivered-key', %s) ON CONFLICT DO NOTHING",
                         (at,))
        n = conn.execute("SELECT count(*) FROM retention_check.inbox "
                         "WHERE idempotency_key = 'redelivered-key'").fetchone()[0]
        out.append(f"with PRIMARY KEY (idempotency_key, received_at), one key redelivered across a partition "
                   f"boundary and inserted ON CONFLICT DO NOTHING: {n} rows (the dedupe is lost)")
    finally:
        conn.execute("DROP SCHEMA retention_check CASCADE")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--duration", type=float, default=60, help="seconds of inserts per variant (default 60)")
    parser.add_argument("--window", type=float, default=15, help="retention window in seconds (default 15)")
    parser.add_argument("--slice", type=float, default=5,
                        help="seconds per partition and between prune cycles (default 5)")
    parser.add_argument("--rate", type=int, default=4000, help="rows inserted a second (default 4000)")
    parser.add_argument("--batch", type=int, default=50, help="rows per insert transaction (default 50)")
    parser.add_argument("--tables", default="history,inbox", help="history, inbox or both (default)")
    parser.add_argument("--no-checkpoint", dest="checkpoint", action="store_false",
                        help="no CHECKPOINT before each prune cycle")
    parser.add_argument("--allow-non-durable", action="store_true",
                        help="run even when fsync, synchronous_commit or full_page_writes is off")
    parser.add_argument("--keep", action="store_true", help="keep the schemas afterwards")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is needed")
    if args.window < args.slice or args.duration < args.window + 2 * args.slice:
        parser.error("need slice <= window and duration >= window + 2 slices")

    with psycopg.connect(args.database_url, autocommit=True) as conn:
        settings = show_settings(conn)
        durable = all(settings.get(n) == "on" for n in ("fsync", "synchronous_commit", "full_page_writes"))
        print(f"durability: {'production (fsync, synchronous_commit, full_page_writes on)' if durable else 'NOT production'}")
        if not durable and not args.allow_non_durable:
            sys.exit("refusing to measure without production durability (--allow-non-durable to override)")
        if find_postmaster(conn) is None:
            print("CPU: /proc of the PostgreSQL processes is not readable here; CPU figures left out")
        print("constraints checked on this database:")
        for line in constraints(conn):
            print(f"  - {line}")

    print(f"\nwindow {args.window:g} s, one partition / prune cycle per {args.slice:g} s, {args.duration:g} s of inserts "
          f"per variant ({args.duration / args.window:.1f} windows) at {args.rate:,} rows/s in transactions of "
          f"{args.batch}; pruning from {args.window + args.slice:g} s; DELETE batches of {DELETE_BATCH}; "
          f"{'a CHECKPOINT before every prune cycle' if args.checkpoint else 'no forced checkpoints'}")
    shapes = {"history": HISTORY, "inbox": INBOX}
    failed = False
    for key in [t.strip() for t in args.tables.split(",") if t.strip()]:
        shape = shapes[key]
        print(f"\n{shape.name}")
        for partitioned in (False, True):
            run = Run(args, shape, partitioned)
            run.execute()
            report(run)
            failed = failed or bool(run.errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
