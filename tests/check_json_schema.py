#!/usr/bin/env python3
"""check_json_schema.py SCHEMA FILE: validate the JSON document FILE against the JSON Schema
SCHEMA with Debian's python3-jsonschema (test.sh installs it). Prints one line per error and
a summary; exits 0 when FILE is valid, 1 when it is not, 2 when the schema itself is invalid
or a file cannot be read."""
import json
import sys

import jsonschema


def main():
    if len(sys.argv) != 3:
        print("usage: check_json_schema.py SCHEMA FILE", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            schema = json.load(f)
        with open(sys.argv[2]) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_json_schema: {e}", file=sys.stderr)
        return 2
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        print(f"check_json_schema: {sys.argv[1]} is not a valid schema: {e.message}",
              file=sys.stderr)
        return 2
    errors = sorted(validator_class(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        where = "/".join(str(p) for p in e.path) or "(top level)"
        print(f"{sys.argv[2]}: {where}: {e.message}")
    print(f"{sys.argv[2]}: {len(errors)} schema error{'' if len(errors) == 1 else 's'} "
          f"({validator_class.__name__})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
