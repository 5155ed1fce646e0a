"""JSON and JSON Lines: an object of arrays, a list of per-sample records, or records one per line.

- ``{"y_true": [[…]], "y_pred": [[…]], "sample_weight": [...] | 2.3}``
- ``[{"y_true": [1, 0] | 0, "y_pred": [.9, .1], "sample_weight": 1.0}, …]``
- JSON Lines: one such record per line (blank lines are skipped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from xentropy_cli.errors import DataError
from xentropy_cli.io.arrays import BadValue, path_text, to_float_array

KEYS = ("y_true", "y_pred", "sample_weight")
_DEEP = "arrays have at most 2 levels: [[…], […]]"
_HINT = 'give {"y_true": [[…]], "y_pred": [[…]]}, a list of such records, or one record per line'


@dataclass(frozen=True)
class Parts:
    """Arrays read from a document, before they become Inputs."""

    y_true: np.ndarray
    y_pred: np.ndarray
    sample_weight: np.ndarray | None
    first_line: int | None = None


class DuplicateKey(ValueError):
    """An object names the same key twice (JSON allows it; the last would silently win)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


def loads(text: str) -> object:
    """``json.loads`` that refuses duplicate keys (DuplicateKey)."""
    return json.loads(text, object_pairs_hook=_unique_keys)


def _duplicate(error: DuplicateKey, text: str, source: str, line: int | None = None) -> DataError:
    """Where the second ``"key":`` is (line and column), or the given JSON Lines line."""
    import re

    where = source if line is None else f"{source}:{line}"
    pattern = re.compile(re.escape(json.dumps(error.key)) + r"\s*:")
    hits = [m.start() for m in pattern.finditer(text)]
    if len(hits) >= 2:
        at = hits[1]
        row = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        where = f"{source}:{row if line is None else line}:{col}"
    return DataError(f"the key {error.key[:40]!r} appears twice in one object", where=where,
                     hint="JSON readers disagree on which one wins; keep one of them")


def parse(text: str, source: str) -> object:
    """One JSON document; a syntax error names its line and column."""
    try:
        return loads(text)
    except DuplicateKey as exc:
        raise _duplicate(exc, text, source) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", where=f"{source}:{exc.lineno}:{exc.colno}",
                        hint="fix the JSON syntax there") from None
    except RecursionError:
        raise DataError("invalid JSON: nested too deeply", where=source, hint=_DEEP) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise _not_a_number(exc, source) from None


def _not_a_number(exc: ValueError, where: str) -> DataError:
    return DataError(f"invalid JSON: {str(exc).split(':')[0]}", where=where,
                     hint="write numbers as plain decimals (0.5, 1e-7)")


def parse_lines(text: str, source: str) -> tuple[list[object], list[int]]:
    """JSON Lines: each non-blank line one document, with its line number."""
    values: list[object] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values.append(loads(line))
        except DuplicateKey as exc:
            raise _duplicate(exc, line, source, number) from None
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg}", where=f"{source}:{number}:{exc.colno}",
                            hint="JSON Lines needs one complete JSON value per line") from None
        except RecursionError:
            raise DataError("invalid JSON: nested too deeply", where=f"{source}:{number}",
                            hint=_DEEP) from None
        except ValueError as exc:
            raise _not_a_number(exc, f"{source}:{number}") from None
        lines.append(number)
    if not values:
        raise DataError("is empty: there is no data", where=source, hint=_HINT)
    return values, lines


def parse_any(text: str, source: str) -> tuple[object, list[int] | None]:
    """One JSON document, or (when it has one value per line) JSON Lines: (value(s), lines or None)."""
    try:
        return loads(text), None
    except DuplicateKey as exc:
        raise _duplicate(exc, text, source) from None
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            parse(text, source)  # raises with the position
        try:
            return parse_lines(text, source)
        except DataError:
            pass
        parse(text, source)
        raise AssertionError("unreachable") from exc
    except RecursionError:
        raise DataError("invalid JSON: nested too deeply", where=source, hint=_DEEP) from None
    except ValueError as exc:
        raise _not_a_number(exc, source) from None


def inputs_from(value: object, lines: list[int] | None, source: str) -> Parts:
    """Arrays from an object of arrays or from records (``lines`` given: JSON Lines)."""
    if lines is not None:
        return from_records(value, lines, source)  # type: ignore[arg-type]
    if isinstance(value, dict):
        return from_object(value, source)
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return from_records(value, None, source)
    if isinstance(value, list) and not value:
        raise DataError("is an empty list: there is no data", where=source, hint=_HINT)
    if isinstance(value, list):
        raise DataError("holds one array, but xent needs y_true and y_pred", where=source,
                        hint=_HINT + ", or two files: y_true then y_pred")
    raise DataError(f"is a JSON {_json_type(value)}, not an object of arrays", where=source, hint=_HINT)


def _json_type(value: object) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def from_object(value: dict, source: str) -> Parts:
    missing = [key for key in KEYS[:2] if key not in value]
    if missing:
        seen = ", ".join(repr(k) for k in list(value)[:10]) or "none"
        raise DataError(f"has no {' or '.join(missing)} (keys seen: {seen})", where=source,
                        hint=_HINT)
    y_true = _array(value["y_true"], "y_true", source)
    y_pred = _array(value["y_pred"], "y_pred", source)
    weight = value.get("sample_weight")
    sample_weight = None if weight is None else _array(weight, "sample_weight", source, allow_scalar=True)
    return Parts(y_true, y_pred, sample_weight)


def _array(value: object, name: str, source: str, allow_scalar: bool = False) -> np.ndarray:
    try:
        array = to_float_array(value)
    except BadValue as bad:
        raise DataError(f"{path_text(name, bad.path)} {bad.message}", where=source,
                        hint=bad.hint) from None
    if array.ndim == 0 and not allow_scalar:
        array = array.reshape(1)
    return array


def from_records(records: list, lines: list[int] | None, source: str) -> Parts:
    """Per-sample records to arrays. Labels given as numbers make a 1-D y_true (sparse labels)."""
    def where(i: int) -> str:
        return f"{source}:{lines[i]}" if lines is not None else f"{source}: record {i + 1}"

    columns: dict[str, list] = {key: [] for key in KEYS}
    weighted: bool | None = None
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"is a JSON {_json_type(record)}, not a record", where=where(i),
                            hint='each record is {"y_true": …, "y_pred": …}')
        for key in KEYS[:2]:
            if key not in record:
                seen = ", ".join(repr(k) for k in list(record)[:10]) or "none"
                raise DataError(f"record has no {key} (keys seen: {seen})", where=where(i),
                                hint='each record is {"y_true": …, "y_pred": …, "sample_weight": …}')
            columns[key].append(record[key])
        has_weight = record.get("sample_weight") is not None
        if weighted is None:
            weighted = has_weight
        elif has_weight != weighted:
            raise DataError("record has " + ("a" if has_weight else "no") + " sample_weight but "
                            "the first record " + ("has none" if has_weight else "has one"),
                            where=where(i), hint="give every record a sample_weight, or none")
        if has_weight:
            columns["sample_weight"].append(record["sample_weight"])
    arrays = []
    for key in KEYS if weighted else KEYS[:2]:
        try:
            arrays.append(to_float_array(columns[key]))
        except BadValue as bad:
            if not bad.path:
                raise DataError(f"{key} {bad.message}", where=source, hint=bad.hint) from None
            raise DataError(f"{path_text(key, bad.path[1:])} {bad.message}", where=where(bad.path[0]),
                            hint=bad.hint.replace("row", "record")) from None
    first_line = lines[0] if lines and lines[-1] - lines[0] == len(lines) - 1 else None
    return Parts(arrays[0], arrays[1], arrays[2] if weighted else None, first_line)
