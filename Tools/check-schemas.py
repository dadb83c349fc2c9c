#!/usr/bin/env python3
"""Checks the event catalog's JSON Schemas against their examples with a real validator.

Usage: Tools/check-schemas.py [--examples DIR]

1. Every Schemas/events/<type>.v<N>.json is a valid JSON Schema draft 2020-12 with the catalog's `$schema`
   and `$id`, and every object schema that lists properties forbids others (additionalProperties: false).
2. Every DIR/<type>.json (default Schemas/examples) validates against the newest schema of <type>, and
   every schema has an example.
3. Every Schemas/examples/invalid/*.json ({"type", "expectPath", "why", "payload"}) is rejected by its
   type's schema, and one of the errors names expectPath, the JSON path the Swift decoder names too.

Formats (date, date-time) are checked, not just annotated. Prints one line per file and a final
"N passed, M failed"; exits 1 on any failure.
"""

import argparse
import json
import re
import sys
from pathlib import Path

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError:  # pragma: no cover - depends on the machine
    print("check-schemas.py needs the jsonschema package: python3 -m pip install 'jsonschema>=4.18' rfc3339-validator")
    print("0 passed, 1 failed")
    sys.exit(1)

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "Schemas" / "events"
INVALID = ROOT / "Schemas" / "examples" / "invalid"
SCHEMA_NAME = re.compile(r"^(?P<type>[a-z][a-z-]*\.[a-z][a-z-]*)\.v(?P<version>[1-9][0-9]*)\.json$")
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
REQUIRED_FORMATS = ("date", "date-time")
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


class Report:
    """Counts and prints one line per checked file."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, what, detail=""):
        self.passed += 1
        print(f"ok    {what}{'  ' + detail if detail else ''}")

    def fail(self, what, why):
        self.failed += 1
        print(f"FAIL  {what}: {why}")


def relative(path):
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def load_json(path):
    """Loads a JSON file, refusing duplicate keys (the Swift parser does too)."""

    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"duplicate key {duplicates[0]!r}")
        return dict(pairs)

    with path.open(encoding="utf-8") as handle:
        return json.load(handle, object_pairs_hook=no_duplicates)


def open_objects(node, pointer="#"):
    """Yields the JSON pointers of object schemas that list properties but allow others."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
            yield pointer
        for key, value in node.items():
            yield from open_objects(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for position, value in enumerate(node):
            yield from open_objects(value, f"{pointer}/{position}")


def json_path(path):
    """Renders a jsonschema error path deque as `$.sites[1].volumeMl`, as PayloadError does."""
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def error_paths(error):
    """The JSON paths an error names: where it is, plus the field for missing and unknown properties."""
    base = json_path(error.absolute_path)
    paths = {base}
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        paths |= {f"{base}.{name}" for name in error.validator_value if name not in instance}
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        paths |= {f"{base}.{name}" for name in instance if name not in known}
    for sub_error in error.context or []:
        paths |= error_paths(sub_error)
    return paths


def check_schemas(report):
    """Checks every schema; returns {type: (version, validator)} with the newest version of each type."""
    validators = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        what = relative(path)
        match = SCHEMA_NAME.match(path.name)
        if not match:
            report.fail(what, "name is not <type>.v<N>.json")
            continue
        event_type, version = match["type"], int(match["version"])
        try:
            schema = load_json(path)
            Draft202012Validator.check_schema(schema)
        except (ValueError, SchemaError) as error:
            report.fail(what, f"not a valid draft 2020-12 schema: {getattr(error, 'message', error)}")
            continue
        problems = []
        if schema.get("$schema") != DRAFT_2020_12:
            problems.append(f"$schema must be {DRAFT_2020_12}")
        if schema.get("$id") != f"urn:prolo:event:{event_type}:v{version}":
            problems.append(f"$id must be urn:prolo:event:{event_type}:v{version}")
        if not schema.get("title") or not schema.get("description"):
            problems.append("title and description are required")
        problems += [f"{pointer} allows unknown properties" for pointer in open_objects(schema)]
        if problems:
            report.fail(what, "; ".join(problems))
            continue
        report.ok(what)
        if event_type not in validators or validators[event_type][0] < version:
            validators[event_type] = (version, Draft202012Validator(schema, format_checker=FORMAT_CHECKER))
    return validators


def check_examples(report, validators, examples):
    seen = set()
    for path in sorted(examples.glob("*.json")):
        what = relative(path)
        event_type = path.name[: -len(".json")]
        if event_type not in validators:
            report.fail(what, f"no schema Schemas/events/{event_type}.v<N>.json")
            continue
        seen.add(event_type)
        try:
            example = load_json(path)
        except ValueError as error:
            report.fail(what, f"not JSON: {error}")
            continue
        errors = sorted(validators[event_type][1].iter_errors(example), key=lambda error: list(error.absolute_path))
        if errors:
            report.fail(what, "; ".join(f"{json_path(error.absolute_path)}: {error.message}" for error in errors[:3]))
        else:
            report.ok(what, f"valid {event_type} v{validators[event_type][0]}")
    for event_type in sorted(set(validators) - seen):
        report.fail(f"{relative(examples)}/{event_type}.json", "missing: every schema needs an example")


def check_invalid(report, validators):
    paths = sorted(INVALID.glob("*.json"))
    if not paths:
        report.fail(relative(INVALID), "no invalid examples")
    for path in paths:
        what = relative(path)
        try:
            case = load_json(path)
        except ValueError as error:
            report.fail(what, f"not JSON: {error}")
            continue
        if not isinstance(case, dict) or set(case) != {"type", "expectPath", "why", "payload"}:
            report.fail(what, 'must be an object with exactly "type", "expectPath", "why" and "payload"')
            continue
        event_type = case["type"]
        if not path.name.startswith(f"{event_type}--"):
            report.fail(what, f"name must start with {event_type}--")
            continue
        if event_type not in validators:
            report.fail(what, f"unknown type {event_type}")
            continue
        errors = list(validators[event_type][1].iter_errors(case["payload"]))
        if not errors:
            report.fail(what, "the schema ACCEPTS this payload, but it must be rejected")
            continue
        named = set().union(*(error_paths(error) for error in errors))
        if case["expectPath"] not in named:
            report.fail(what, f"rejected, but not at {case['expectPath']} (schema names {', '.join(sorted(named))})")
            continue
        report.ok(what, f"rejected at {case['expectPath']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples", type=Path, default=ROOT / "Schemas" / "examples",
        help="folder of valid examples named <type>.json (default: Schemas/examples)")
    arguments = parser.parse_args()

    report = Report()
    missing_formats = [name for name in REQUIRED_FORMATS if name not in FORMAT_CHECKER.checkers]
    if missing_formats:
        report.fail("format checker", f"cannot check {', '.join(missing_formats)}: "
                    "python3 -m pip install rfc3339-validator")
    validators = check_schemas(report)
    if not validators:
        report.fail(relative(SCHEMAS), "no schemas")
    check_examples(report, validators, arguments.examples)
    check_invalid(report, validators)
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
