"""Checks real answers of the HTTP API against openapi/openapi.json.

Usage: openapi_check.py DOCUMENT ANSWERS
ANSWERS is a JSON list of {"method", "path" (the template, e.g. /v1/reminders/{id}),
"status", "content_type", "body" (text)}. Each answer's status must be documented for
its operation, its media type must be the documented one, and a JSON body must be valid
against the documented schema (JSON Schema 2020-12, as OpenAPI 3.1 uses). Prints one
line per problem; exit status 1 when there is any.
"""
import json
import sys

from jsonschema import Draft202012Validator, FormatChecker


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        answers = json.load(f)
    problems = []
    for answer in answers:
        where = f'{answer["method"]} {answer["path"]} -> {answer["status"]}'
        operation = document["paths"].get(answer["path"], {}).get(answer["method"].lower())
        if operation is None:
            problems.append(f"{where}: operation not documented")
            continue
        response = operation["responses"].get(str(answer["status"]))
        if response is None:
            problems.append(f"{where}: status not documented")
            continue
        media = (answer.get("content_type") or "").split(";")[0].strip()
        content = response.get("content", {})
        if media not in content:
            problems.append(f"{where}: media type {media!r} not documented ({sorted(content)})")
            continue
        if media != "application/json":
            continue
        try:
            body = json.loads(answer["body"])
        except ValueError as error:
            problems.append(f"{where}: body is not JSON: {error}")
            continue
        # The schema with the document's components beside it, so that its $refs resolve.
        schema = dict(content[media]["schema"])
        schema["components"] = document["components"]
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        for error in validator.iter_errors(body):
            path = "/".join(str(part) for part in error.absolute_path)
            problems.append(f"{where}: at /{path}: {error.message}")
    for problem in problems:
        print(problem)
    print(f"{len(answers)} answers checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
