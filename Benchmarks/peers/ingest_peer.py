#!/usr/bin/env python3
"""The ingest benchmark's peer: the plain Python pipeline a team writes in an afternoon.

A confluent-kafka consumer (a group of its own, auto commit off, from the earliest
offset) takes batches of up to 500 events, parses each with json.loads and checks the
required fields (an invalid event is counted and skipped), then stores the batch in one
psycopg transaction: an inbox INSERT ... ON CONFLICT DO NOTHING and a reminder INSERT
through unnest arrays (the columns scripts/bench-ingest.sh's raw baseline writes), and
commits the batch's offsets synchronously after the transaction. The arrays go as binary
parameters (%b): with psycopg's default text format each element is escaped in Python,
and that escaping was two thirds of the peer's CPU (7,000 events/s instead of 15,000).

It stops when it has consumed --events events or after --time-limit seconds, and prints
one JSON line: its rate from the first stored event to the last offset commit, the
events consumed, stored (inbox rows it inserted), invalid, its CPU seconds (user +
system, all threads) over the same window, and its pid.

Run by ingest-benchmark (scripts/bench-ingest.sh), which gives it a fresh database with
the migrations applied and the topic the service consumes.
"""

import argparse
import json
import os
import resource
import sys
import time
from datetime import datetime

import psycopg
from confluent_kafka import Consumer

REQUIRED = ("schema_version", "type", "idempotency_key", "reminder_id", "user_id", "timezone", "deliver_at",
            "channels", "content")

INSERT_INBOX = """
    INSERT INTO inbox (idempotency_key, payload_sha256, reminder_id, source_partition, source_offset)
    SELECT k, sha256(v), r, p, o
    FROM unnest(%b::text[], %b::bytea[], %b::text[], %b::int4[], %b::int8[]) AS t(k, v, r, p, o)
    ON CONFLICT DO NOTHING
"""

INSERT_REMINDERS = """
    INSERT INTO reminders (reminder_id, user_id, state, time_zone, deliver_at, due_at, channels, content,
        idempotency_key, source_topic, source_partition, source_offset, source_value)
    SELECT r, u, 'SCHEDULED', z, d, d, c::jsonb, x::jsonb, k, %s, p, o, v
    FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::text[], %b::text[],
        %b::int4[], %b::int8[], %b::bytea[]) AS t(r, u, z, d, c, x, k, p, o, v)
    ON CONFLICT DO NOTHING
"""


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def valid(event):
    """The required fields, present and of the right type; deliver_at an instant with offset."""
    if not isinstance(event, dict) or any(field not in event for field in REQUIRED):
        return None
    if event["schema_version"] != 1 or event["type"] != "schedule":
        return None
    if not all(isinstance(event[f], str) and event[f]
               for f in ("idempotency_key", "reminder_id", "user_id", "timezone", "deliver_at")):
        return None
    if not isinstance(event["channels"], list) or not 1 <= len(event["channels"]) <= 10:
        return None
    if not isinstance(event["content"], dict):
        return None
    try:
        deliver_at = datetime.fromisoformat(event["deliver_at"])
    except ValueError:
        return None
    return deliver_at if deliver_at.tzinfo is not None else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--events", type=int, required=True, help="stop after consuming this many events")
    parser.add_argument("--time-limit", type=float, default=900, help="stop after this many seconds")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap_servers,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    consumer.subscribe([args.topic])
    connection = psycopg.connect(args.database_url)

    consumed = stored = invalid = 0
    first_stored = last_commit = None
    cpu_at_first = cpu_at_last = 0.0
    deadline = time.monotonic() + args.time_limit
    try:
        while consumed < args.events and time.monotonic() < deadline:
            messages = consumer.consume(num_messages=args.batch, timeout=1.0)
            if not messages:
                continue
            columns = tuple([] for _ in range(10))
            keys, values, reminders, partitions, offsets, users, zones, instants, channels, contents = columns
            for message in messages:
                if message.error():
                    continue
                consumed += 1
                value = message.value()
                try:
                    event = json.loads(value)
                except (ValueError, TypeError):
                    invalid += 1
                    continue
                deliver_at = valid(event)
                if deliver_at is None:
                    invalid += 1
                    continue
                keys.append(event["idempotency_key"])
                values.append(value)
                reminders.append(event["reminder_id"])
                partitions.append(message.partition())
                offsets.append(message.offset())
                users.append(event["user_id"])
                zones.append(event["timezone"])
                instants.append(deliver_at)
                channels.append(json.dumps(event["channels"]))
                contents.append(json.dumps(event["content"]))
            if keys:
                with connection.transaction():
                    cursor = connection.execute(INSERT_INBOX, (keys, values, reminders, partitions, offsets))
                    stored += cursor.rowcount
                    connection.execute(INSERT_REMINDERS, (args.topic, reminders, users, zones, instants, channels,
                                                          contents, keys, partitions, offsets, values))
                if first_stored is None:
                    first_stored, cpu_at_first = time.monotonic(), cpu_seconds()
            consumer.commit(asynchronous=False)
            last_commit, cpu_at_last = time.monotonic(), cpu_seconds()
    finally:
        consumer.close()
        connection.close()

    seconds = (last_commit - first_stored) if first_stored is not None and last_commit is not None else 0.0
    print(json.dumps({
        "events_per_second": consumed / seconds if seconds > 0 else 0.0,
        "seconds": seconds,
        "consumed": consumed,
        "stored": stored,
        "invalid": invalid,
        "cpu_seconds": cpu_at_last - cpu_at_first,
        "pid": os.getpid(),
    }), flush=True)
    return 0 if consumed >= args.events else 1


if __name__ == "__main__":
    sys.exit(main())
