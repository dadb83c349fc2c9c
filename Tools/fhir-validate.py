#!/usr/bin/env python3
"""Validates a FHIR export with two independent validators: the R4 JSON Schema and fhir.resources' R4B models.

    python3 Tools/fhir-validate.py [--schema PATH] FILE...

Each FILE is a Bundle (.json: the Bundle and every entry's resource are checked) or Bulk Data ndjson (one resource
per line). The schema (default Schemas/fhir/r4/fhir.schema.json.gz, a gzip of the shared copy) catches wrong codes in
required bindings; the models (pydantic 2) catch missing required elements, impossible dates and bad base64
(see ../shared/fhir/MAPPING.md for what each misses). Prints one line per problem and ends with
'N resources, M problems'; exits 1 on any problem, 2 when the schema or a module is missing.
"""
import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = ROOT / "Schemas" / "fhir" / "r4" / "fhir.schema.json.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default=str(DEFAULT_SCHEMA))
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    try:
        import jsonschema
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError as error:
        print(f"missing module: {error.name}; pip install jsonschema 'fhir.resources>=8,<9'", file=sys.stderr)
        return 2
    schema_path = pathlib.Path(args.schema)
    if not schema_path.is_file():
        print(f"no R4 JSON schema at {schema_path}", file=sys.stderr)
        return 2
    raw = schema_path.read_bytes()
    if schema_path.suffix == ".gz":
        import gzip
        raw = gzip.decompress(raw)
    definitions = json.loads(raw)["definitions"]
    validators = {}

    def schema_errors(resource):
        kind = resource.get("resourceType")
        if kind not in definitions:
            return [f"unknown resourceType {kind!r}"]
        if kind not in validators:
            validators[kind] = jsonschema.Draft6Validator({"$ref": f"#/definitions/{kind}", "definitions": definitions})
        return [f"schema: {'/'.join(map(str, error.absolute_path)) or '$'}: {error.message[:300]}"
                for error in validators[kind].iter_errors(resource)]

    def model_errors(resource):
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            return []
        except Exception as error:  # pydantic's ValidationError, or an unknown type
            return [f"model: {line}" for line in str(error).splitlines()[:12]]

    checked = problems = 0
    for name in args.files:
        for label, resource in resources_in(pathlib.Path(name)):
            checked += 1
            for problem in schema_errors(resource) + model_errors(resource):
                problems += 1
                print(f"{label}: {problem}")
    print(f"{checked} resources, {problems} problems")
    return 1 if problems else 0


def resources_in(path):
    """(label, resource) for every resource of a Bundle file or an ndjson file."""
    if path.suffix == ".ndjson":
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if line.strip():
                resource = json.loads(line)
                yield f"{path.name}:{number} {resource.get('resourceType')}/{resource.get('id')}", resource
        return
    bundle = json.loads(path.read_text())
    yield f"{path.name} Bundle", bundle
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource", {})
        yield f"{path.name} entry[{index}] {resource.get('resourceType')}/{resource.get('id')}", resource


if __name__ == "__main__":
    sys.exit(main())
