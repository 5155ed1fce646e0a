"""Every command's JSON against docs/json-schema.json (schema 2), on every kind and rank, small
and streamed; ``value`` has one shape (a number or null) everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from xentropy_cli.cli import app
from xentropy_cli.render import machine

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "json-schema.json").read_text())


# --- a small validator for the JSON Schema keywords docs/json-schema.json uses ------------------

def _resolve(ref: str) -> dict:
    node = SCHEMA
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _type_ok(value, kind: str) -> bool:
    return {"object": isinstance(value, dict), "array": isinstance(value, list),
            "string": isinstance(value, str), "boolean": isinstance(value, bool),
            "null": value is None,
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool)}[kind]


def errors(value, schema: dict, path: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema`` (empty: valid)."""
    if "$ref" in schema:
        return errors(value, _resolve(schema["$ref"]), path)
    found: list[str] = []
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, k) for k in kinds):
            return [f"{path}: {value!r:.60} is not {kinds}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r:.60} not in {schema['enum']}")
    if "anyOf" in schema and all(errors(value, s, path) for s in schema["anyOf"]):
        found.append(f"{path}: matches none of anyOf ({errors(value, schema['anyOf'][0], path)[:1]})")
    for sub in schema.get("allOf", []):
        found += errors(value, sub, path)
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{path}: missing {key!r}")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                found += errors(item, properties[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}: unexpected {key!r}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += errors(item, schema["items"], f"{path}[{i}]")
    return found


def test_the_validator_can_fail():
    assert errors({"schema": 2, "command": "compare"}, SCHEMA)
    good = {"schema": 2, "command": "examples", "xent_version": "1", "examples": {}}
    assert errors(good, SCHEMA) == []
    assert errors({**good, "extra": 1}, SCHEMA)
    assert errors({**good, "schema": 1}, SCHEMA)


# --- real outputs ------------------------------------------------------------------------------

INPUTS = [
    ["samples/keras_question.csv"],
    ["samples/binary.csv"],
    ["-t", "[1,0,1,0]", "-p", "[.9,.1,.3,1e-9]"],
    ["-t", "[[1,0],[0,1]]", "-p", "[[.9,0],[.3,1]]", "--loss", "binary"],
    ["-t", "[2,0]", "-p", "[[.3,.3,.4],[0,.5,.5]]"],
    ["-t", "[[0,0,1]]", "-p", "[[.3,.3,.4]]"],
    ["-t", "[[1,0,0],[0,0,1]]", "-p", "[[1,2,3],[0,0,1000]]", "--from-logits"],
]
COMMANDS = [
    ["compute"], ["compute", "--keras-compat"], ["compute", "--reduction", "none"],
    ["compute", "--profile", "optax", "--from-logits"],
    ["explain"], ["explain", "--profile", "torch", "--against", "keras", "--rows", "1"],
    ["compare", "--all"], ["compare", "--all", "--reduction", "none"],
    ["grad"], ["grad", "--check"],
]


def _json(*args, env=None, quiet=True):
    result = CliRunner().invoke(app, [*args, "--format", "json", *(["-q"] if quiet else [])], env=env)
    return result, (json.loads(result.stdout) if result.exit_code == 0 and result.stdout else None)


@pytest.mark.parametrize("data", INPUTS, ids=lambda a: " ".join(a)[:40])
def test_every_command_json_matches_the_schema(data):
    checked = 0
    for command in COMMANDS:
        result, document = _json(*command, *data)
        assert result.exit_code in (0, 1, 2), (command, data, result.output)
        if document is None:
            continue
        assert errors(document, SCHEMA) == [], (command, data)
        assert document["schema"] == 2
        for row in document.get("rows", [document]):
            assert row["value"] is None or isinstance(row["value"], float | int)
            if row.get("status") == "refused":
                assert row["value"] is None and row["refusal"]
        checked += 1
    assert checked >= 5


def test_profiles_and_examples_json_match_the_schema():
    for args in (["profiles"], ["explain", "--list-examples"]):
        _, document = _json(*args, quiet=args[0] != "profiles")
        assert errors(document, SCHEMA) == []


def test_value_is_null_with_value_text_when_not_finite():
    # naive on y=[0,0,1,1], p=[1,1,1,0]: log 0 in rows 1, 2 and 4, so the mean is inf
    _, document = _json("compute", "samples/binary.csv")
    assert document["value"] is None and document["value_text"] == "inf"
    _, document = _json("compute", "samples/keras_question.csv", "--reduction", "none")
    assert document["value"] is None and document["value_text"] == "per sample"
    assert len(document["per_sample"]) == 3
    assert machine.value_fields(np.float32(0.5)) == {"value": 0.5, "value_text": "0.5"}


def test_compare_csv_never_puts_words_in_the_value_column():
    result = CliRunner().invoke(app, ["compare", "samples/keras_question.csv", "--all", "--format",
                                      "csv", "-q"])
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    for row in rows:
        if row["status"] == "ok":
            float(row["value"])  # a number (inf and nan included)
        else:
            assert row["value"] == ""
    assert {r["profile"]: r["status"] for r in rows}["optax"] == "refused"


def test_streamed_outputs_match_the_schema_and_the_in_memory_fields(tmp_path):
    rng = np.random.default_rng(5)
    n, k = 500, 4
    y = np.eye(k)[rng.integers(0, k, n)]
    p = rng.dirichlet(np.ones(k), n)
    path = tmp_path / "s.csv"
    header = ",".join([f"true_{i}" for i in range(k)] + [f"pred_{i}" for i in range(k)])
    np.savetxt(path, np.hstack([y, p]), delimiter=",", header=header, comments="", fmt="%.9g")
    always = {"XENT_STREAM_MIN_BYTES": "0", "XENT_CHUNK_BYTES": "4096"}
    never = {"XENT_STREAM_MIN_BYTES": str(1 << 40)}
    for command in (["explain", "--rows", "4"], ["compare", "--all"], ["compute"]):
        _, streamed = _json(*command, str(path), env=always)
        _, memory = _json(*command, str(path), env=never)
        assert errors(streamed, SCHEMA) == [] and errors(memory, SCHEMA) == [], command
        assert set(streamed) - {"reader"} == set(memory) - {"reader"}, command
        if command[0] == "compare":
            assert [r["value"] for r in streamed["rows"]] == [r["value"] for r in memory["rows"]]
            assert [r["first_difference"] for r in streamed["rows"]] == \
                [r["first_difference"] for r in memory["rows"]]
            assert [r["max_gap"] for r in streamed["rows"]] == [r["max_gap"] for r in memory["rows"]]
