#!/usr/bin/env python3
"""Checks reminder events against schemas/reminder-event.v1.json with a real JSON Schema
validator (the `jsonschema` package, draft 2020-12, formats checked), plus the rules the
schema's description states but JSON Schema cannot express: at most 1 MiB of UTF-8, no
duplicate keys, at most 32 levels of nesting, an IANA zone, calendar dates that exist,
content.data at most 16 KiB as compact JSON, content.html at most 100,000 bytes of UTF-8.

    check_event_schema.py FILE...

Prints one line per file: "<file> valid" or "<file> invalid <reason>".
"""
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
    return ""


def main(paths):
    for path in paths:
        reason = verdict(pathlib.Path(path).read_bytes())
        print(f"{path} {'invalid ' + reason if reason else 'valid'}")


if __name__ == "__main__":
    main(sys.argv[1:])
