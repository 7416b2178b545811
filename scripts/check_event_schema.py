#!/usr/bin/env python3
"""Checks reminder events against schemas/reminder-event.v1.json with a real JSON Schema
validator (the `jsonschema` package, draft 2020-12, formats checked), plus the rules the
schema's description states but JSON Schema cannot express: at most 1 MiB of UTF-8, no
duplicate keys, at most 32 levels of nesting, an IANA zone, calendar dates that exist,
content.data at most 16 KiB as compact JSON, content.html at most 100,000 bytes of UTF-8,
a recurrence's deliver_at_local on a day of its rule and its until not before it.

    check_event_schema.py FILE...

Prints one line per file: "<file> valid" or "<file> invalid <reason>".
"""
import calendar
import datetime
import json
import pathlib
import sys
import zoneinfo

import jsonschema

SCHEMA = json.loads((pathlib.Path(__file__).resolve().parent.parent / "schemas" / "reminder-event.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
ZONES = zoneinfo.available_timezones() | {"UTC"}


def no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def depth(value):
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def verdict(data: bytes) -> str:
    if not data:
        return "empty"
    if len(data) > 1_048_576:
        return "larger than 1 MiB"
    try:
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            return "byte order mark"
        event = json.loads(text, object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return f"not JSON: {error}"
    if depth(event) > 32:
        return "nested too deeply"
    errors = sorted(VALIDATOR.iter_errors(event), key=lambda e: list(e.absolute_path))
    if errors:
        return "schema: " + "/".join(str(p) for p in errors[0].absolute_path) + ": " + errors[0].message[:200]
    if event.get("type") == "schedule":
        zone = event.get("timezone")
        if zone is not None and zone not in ZONES:
            return "unknown time zone"
        local = event.get("deliver_at_local")
        if isinstance(local, str):
            try:
                datetime.datetime.fromisoformat(local)
            except ValueError:
                return "deliver_at_local is not a real date"
        data_field = (event.get("content") or {}).get("data")
        if isinstance(data_field, dict):
            if len(json.dumps(data_field, separators=(",", ":"), ensure_ascii=False).encode()) > 16_384:
                return "content.data larger than 16 KiB"
        html = (event.get("content") or {}).get("html")
        if isinstance(html, str) and len(html.encode()) > 100_000:
            return "content.html larger than 100,000 bytes"
        rule = event.get("recurrence")
        if isinstance(rule, dict):
            return recurrence_verdict(rule, datetime.datetime.fromisoformat(local), zone)
    return ""


WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def recurrence_verdict(rule, start, zone) -> str:
    """The rules a recurrence must agree with in its event (the schema has checked its shape)."""
    by_day = rule.get("by_day")
    if isinstance(by_day, list) and WEEKDAYS[start.weekday()] not in by_day:
        return "recurrence.by_day lacks the weekday of deliver_at_local"
    by_month_day = rule.get("by_month_day")
    if isinstance(by_month_day, list):
        length = calendar.monthrange(start.year, start.month)[1]
        if start.day not in [day if day > 0 else length + 1 + day for day in by_month_day]:
            return "recurrence.by_month_day lacks the day of deliver_at_local"
    until = rule.get("until")
    if isinstance(until, str):
        # fold=0: a time in a spring-forward gap is read with the offset before it (moved
        # forward by the gap), one in an autumn overlap is the earlier instant.
        first = start.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=0)
        if datetime.datetime.fromisoformat(until.upper()).timestamp() < first.timestamp():
            return "recurrence.until before the first occurrence"
    return ""


def main(paths):
    for path in paths:
        reason = verdict(pathlib.Path(path).read_bytes())
        print(f"{path} {'invalid ' + reason if reason else 'valid'}")


if __name__ == "__main__":
    main(sys.argv[1:])
