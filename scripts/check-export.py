"""Opens a person's copy of their data (the ZIP Hearth makes) the way its person's tools would.

Usage: check-export.py COPY.zip FOLDER

Unpacks the ZIP into FOLDER, checks every file against manifest.json (size and SHA-256),
validates every data/*.json against the JSON Schema it names (shipped in schemas/), and reads
every csv/*.csv. Prints a summary as JSON: each kind's row count in JSON and in CSV. Exits
non-zero, saying why, at the first thing wrong.
"""

import csv
import hashlib
import json
import pathlib
import sys
import zipfile

import jsonschema


def main() -> None:
    archive, folder = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    with zipfile.ZipFile(archive) as zipped:
        bad = zipped.testzip()
        if bad is not None:
            sys.exit(f"{bad} is damaged in the archive")
        zipped.extractall(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {entry["path"] for entry in manifest["files"]}
    present = {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and path.name != "manifest.json"
    }
    if listed != present:
        sys.exit(f"the manifest lists {sorted(listed ^ present)} differently from the archive")
    for entry in manifest["files"]:
        data = (folder / entry["path"]).read_bytes()
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            sys.exit(f"{entry['path']} does not match its manifest entry")
    schemas = {}
    for path in (folder / "schemas").glob("*.schema.json"):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        schemas[schema["$id"]] = schema
    summary = {}
    for path in sorted((folder / "data").glob("*.json")):
        document = json.loads(path.read_text())
        schema = schemas.get(document.get("schema"))
        if schema is None:
            sys.exit(f"{path.name} names a schema the archive lacks: {document.get('schema')}")
        errors = sorted(
            jsonschema.Draft202012Validator(schema).iter_errors(document), key=str
        )
        if errors:
            sys.exit(f"{path.name} does not follow its schema: {errors[0].message}")
        with open(folder / "csv" / f"{path.stem}.csv", newline="") as table:
            csv_rows = list(csv.reader(table))
        summary[path.stem] = {"json": len(document["rows"]), "csv": len(csv_rows) - 1}
    print(json.dumps(summary))


main()
