#!/usr/bin/env python3
"""Checks status records against schemas/reminder-status.v1.json with a real JSON Schema
validator (the `jsonschema` package, draft 2020-12, formats checked).

    check_status_schema.py [FILE]

FILE (standard input without one): one JSON object per line, each a record's value as
published. Prints one line per record, "<n> valid" or "<n> invalid <reason>", and exits 1
if any is invalid.
"""
import json
import pathlib
import sys

import jsonschema

SCHEMA = json.loads((pathlib.Path(__file__).resolve().parent.parent / "schemas" / "reminder-status.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def problem(line):
    try:
        record = json.loads(line)
    except ValueError as error:
        return f"not JSON: {error}"
    errors = sorted(VALIDATOR.iter_errors(record), key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(part) for part in error.absolute_path) or "(record)"
        return f"{where}: {error.message}"
    return None


def main():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    failed = False
    lines = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    for number, line in enumerate((line for line in lines if line.strip()), start=1):
        reason = problem(line)
        failed = failed or reason is not None
        print(f"{number} valid" if reason is None else f"{number} invalid {reason}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
