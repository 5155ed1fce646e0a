"""Readers that turn what the user gave (files, stdin, inline strings) into ``core.types.Inputs``.

``read(sources, …)`` takes

- ``[]`` with ``y_true`` and ``y_pred`` (and optionally ``sample_weight``) given inline;
- ``[one]``: a CSV/TSV with a header (columns recognised by name, see ``columns``), a JSON object
  ``{"y_true", "y_pred", "sample_weight"}``, a JSON list of records, JSON Lines, or an ``.npz``;
- ``[y_true, y_pred]``: two files each holding one array (CSV/TSV with or without a header,
  JSON list, ``.npy``, or an ``.npz`` holding that array);

where ``-`` is stdin. Text numbers become float64; ``.npy``/``.npz`` keep their dtype (booleans
become float64). A single integer-valued y_true column of a table becomes a 1-D array of labels.
Every failure is an XentError: UsageError (exit 2) for a wrong path or option, DataError (exit 1)
for bad content, each naming the file, line and column when they are known.
"""

from __future__ import annotations

import os
import typing
from dataclasses import dataclass, fields, replace

import numpy as np

from xentropy_cli.core.types import Inputs, LossKind
from xentropy_cli.errors import DataError, UsageError, XentError
from xentropy_cli.io import arrays, inline, source

# The table, JSON, Parquet and column readers are imported where they are used, so inline input
# (xent compute -t … -p …) starts without them.
if typing.TYPE_CHECKING:
    from xentropy_cli.io import table
    from xentropy_cli.io.columns import Columns

__all__ = ["read", "ReadSpec", "INLINE_SOURCE"]

INLINE_SOURCE = "command line"


def _read_errors() -> tuple[type[BaseException], ...]:
    """What a reader may raise beyond XentError (evaluated only when something was raised)."""
    import csv

    return (OSError, ValueError, UnicodeDecodeError, csv.Error, EOFError, OverflowError, RecursionError,
            MemoryError)


def read(sources: list[str], *, y_true: str | None = None, y_pred: str | None = None,
         sample_weight: str | None = None, true_cols: str | None = None, pred_cols: str | None = None,
         weight_col: str | None = None, input_format: str = "auto", kind: str = "auto",
         from_logits: bool = False, labels: str | None = None, class_weight: str | None = None,
         stdin: typing.BinaryIO | None = None) -> Inputs:
    """Read ``sources`` (or the inline ``y_true``/``y_pred``) into Inputs; see the module docstring."""
    sources = list(sources)
    _check_usage(sources, y_true, y_pred, input_format)
    try:
        if not sources:
            inputs = _read_inline(y_true, y_pred, sample_weight)  # type: ignore[arg-type]
        else:
            if len(sources) == 1:
                inputs = _read_single(sources[0], true_cols, pred_cols, weight_col, input_format, stdin)
            else:
                inputs = _read_pair(sources[0], sources[1], true_cols, pred_cols, input_format, stdin)
            if sample_weight is not None:
                inputs = _with_weight(inputs, sample_weight, input_format, stdin)
    except XentError:
        raise
    except _read_errors() as exc:  # a last net: no reader failure may become a traceback
        name = ", ".join(sources) or INLINE_SOURCE
        raise DataError(f"cannot be read ({type(exc).__name__}: {str(exc)[:120]})", where=name,
                        hint="check that it is CSV, TSV, JSON, JSON Lines, .npy or .npz") from None
    held = sum(np.size(a) for a in (inputs.y_true, inputs.y_pred, inputs.sample_weight) if a is not None)
    source.check_cells(held, ", ".join(sources) or INLINE_SOURCE)  # two files, or -w, add up
    return _finish(inputs, kind, from_logits, labels, class_weight)


@dataclass(frozen=True)
class ReadSpec:
    """What to read, as the user said it: the same for every command and every engine."""

    sources: tuple[str, ...] = ()
    y_true: str | None = None
    y_pred: str | None = None
    sample_weight: str | None = None
    true_cols: str | None = None
    pred_cols: str | None = None
    weight_col: str | None = None
    input_format: str = "auto"
    kind: LossKind = "auto"
    from_logits: bool = False
    labels: str | None = None
    class_weight: str | None = None

    @property
    def inline(self) -> bool:
        return self.y_true is not None or self.y_pred is not None

    @property
    def given(self) -> bool:
        """Whether the user named any input (files or inline arrays)."""
        return bool(self.sources) or self.inline

    def __post_init__(self) -> None:
        from xentropy_cli import output

        for path in self.sources:  # so that -o never overwrites one of them, streamed or not
            if path != "-":
                output.note_input(path)
        if self.sample_weight is not None and self.sample_weight != "-":
            output.note_input(self.sample_weight)

    def keywords(self) -> dict[str, typing.Any]:
        """Everything but the sources, as keyword arguments of ``read``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}

    def read(self, stdin: typing.BinaryIO | None = None, command: str | None = None) -> Inputs:
        """The inputs; ``command``: whose share of the in-memory cap applies (io.source.held_by;
        None: the whole cap)."""
        with source.held_by(command):
            return read(list(self.sources), **self.keywords(), stdin=stdin)


def _check_usage(sources: list[str], y_true: str | None, y_pred: str | None, input_format: str) -> None:
    if input_format not in source.FORMATS:
        raise UsageError(f"unknown --input-format {input_format!r}",
                         hint=f"choose one of {', '.join(source.FORMATS)}")
    if len(sources) > 2:
        raise UsageError(f"{len(sources)} input files given; xent takes one file, or y_true then y_pred",
                         hint="combine them into one CSV, or pass two files")
    if sources.count("-") > 1:
        raise UsageError("stdin (-) is named twice", hint="only one input can come from stdin")
    inline_given = y_true is not None or y_pred is not None
    if inline_given and sources:
        raise UsageError("-t/-p cannot be combined with input files",
                         hint="give y_true and y_pred both inline, or both in files")
    if not sources and (y_true is None or y_pred is None):
        if inline_given:
            missing = "-p/--y-pred" if y_pred is None else "-t/--y-true"
            raise UsageError(f"{missing} is missing", hint="inline input needs both -t and -p")
        raise UsageError("no input given",
                         hint="name a file (- for stdin), or give -t and -p inline")


# --- the three ways in ----------------------------------------------------------------------

def _read_inline(y_true: str, y_pred: str, sample_weight: str | None) -> Inputs:
    yt = np.atleast_1d(inline.parse(y_true, "--y-true"))
    yp = np.atleast_1d(inline.parse(y_pred, "--y-pred"))
    w = inline.parse(sample_weight, "--sample-weight") if sample_weight is not None else None
    return Inputs(yt, yp, w, source=INLINE_SOURCE)


def _read_single(path: str, true_cols: str | None, pred_cols: str | None, weight_col: str | None,
                 input_format: str, stdin: typing.BinaryIO | None) -> Inputs:
    if path != "-" and (input_format == "parquet" or (
            input_format == "auto" and os.path.splitext(path)[1].lower() in source.PARQUET_EXTENSIONS)):
        from xentropy_cli.io import parquet

        return parquet.read(path, true_cols, pred_cols, weight_col)
    raw = source.load(path, stdin)
    fmt = source.sniff(raw, input_format)
    if fmt in ("csv", "tsv"):
        return _read_table(raw, fmt, true_cols, pred_cols, weight_col)
    if true_cols is not None or pred_cols is not None or weight_col is not None:
        raise UsageError(f"--true-cols/--pred-cols/--weight-col select columns of a CSV/TSV table, "
                         f"but this is {fmt}", where=raw.name,
                         hint="drop those options; JSON and .npz name their arrays")
    if fmt == "npy":
        arrays.load_npy(raw.data, raw.name)
        raise DataError("holds one array, but xent needs y_true and y_pred", where=raw.name,
                        hint="pass two .npy files (y_true then y_pred), or one .npz with both")
    if fmt == "npz":
        found = arrays.load_npz(raw.data, raw.name)
        yt, yp, w = _npz_triple(found, raw.name)
        return Inputs(yt, yp, w, source=raw.name)
    from xentropy_cli.io import jsonio

    text = _text(raw, lines=fmt == "jsonl")
    lines: list[int] | None
    if fmt == "jsonl":
        values, lines = jsonio.parse_lines(text, raw.name)
        parts = jsonio.from_records(values, lines, raw.name)
    else:
        value, lines = jsonio.parse_any(text, raw.name)
        parts = jsonio.inputs_from(value, lines, raw.name)
    return Inputs(parts.y_true, parts.y_pred, parts.sample_weight, source=raw.name,
                  first_line=parts.first_line)


def _read_pair(true_path: str, pred_path: str, true_cols: str | None, pred_cols: str | None,
               input_format: str, stdin: typing.BinaryIO | None) -> Inputs:
    yt, true_names = _read_one_array(true_path, "y_true", true_cols, input_format, stdin)
    yp, pred_names = _read_one_array(pred_path, "y_pred", pred_cols, input_format, stdin)
    name = f"{_shown_name(true_path)} and {_shown_name(pred_path)}"
    return Inputs(yt, yp, source=name, true_names=true_names, pred_names=pred_names)


def _shown_name(path: str) -> str:
    return source.STDIN_NAME if path == "-" else path


def _with_weight(inputs: Inputs, text: str, input_format: str, stdin: typing.BinaryIO | None) -> Inputs:
    """``-w`` next to file inputs: a number or list inline, or a file holding one array."""
    if inputs.sample_weight is not None:
        raise UsageError("sample weights are given twice: in the input and by -w",
                         where=inputs.source, hint="drop -w, or the weight column/key")
    try:
        weight = inline.parse(text, "--sample-weight")
    except UsageError:
        if not (text == "-" or os.path.isfile(text)):
            raise
        weight, _ = _read_one_array(text, "sample_weight", None, input_format, stdin)
        weight = weight.reshape(-1) if weight.ndim == 2 and weight.shape[1] == 1 else weight
    return _replace(inputs, sample_weight=weight)


# --- tables ---------------------------------------------------------------------------------

def _text(raw: source.Raw, lines: bool = True) -> str:
    """The text of ``raw``; ``lines``: line-oriented (CSV/TSV/JSON Lines), so no line may exceed
    the line cap (io.source.max_line)."""
    if lines:
        source.check_lines(raw.data, raw.name)
    source.check_cells(source.count_text_cells(raw.data, json=not lines), raw.name, about=True)
    return source.decode(raw)


def _read_table(raw: source.Raw, fmt: str, true_cols: str | None, pred_cols: str | None,
                weight_col: str | None) -> Inputs:
    from xentropy_cli.io import table
    from xentropy_cli.io.columns import resolve_columns

    parsed = table.parse(_text(raw), raw.name, "\t" if fmt == "tsv" else None)
    header = parsed.header
    if header is None:
        if true_cols is None and pred_cols is None:
            raise DataError(f"has no header row, so its {parsed.n_columns} columns have no names",
                            where=raw.name,
                            hint="add a header (true_0,…,pred_0,…) or pass --true-cols and "
                                 "--pred-cols as index ranges, e.g. --true-cols 0:3 --pred-cols 3:6")
        header = [str(i) for i in range(parsed.n_columns)]
    cols = resolve_columns(header, true_cols, pred_cols, weight_col, source=raw.name)
    return _table_inputs(parsed, cols)


def _table_inputs(parsed: table.Table, cols: Columns) -> Inputs:
    from xentropy_cli.io import table
    from xentropy_cli.io.blocks import labels_1d

    used = list(cols.true_idx) + list(cols.pred_idx)
    if cols.weight_idx is not None:
        used.append(cols.weight_idx)
    block = table.numbers(parsed, used)
    n_true, n_pred = len(cols.true_idx), len(cols.pred_idx)
    yt = block[:, :n_true]
    yp = block[:, n_true:n_true + n_pred]
    w = block[:, -1].copy() if cols.weight_idx is not None else None
    named = parsed.header is not None
    return Inputs(labels_1d(np.ascontiguousarray(yt)), np.ascontiguousarray(yp), w,
                  source=parsed.source,
                  true_names=cols.true_names if named else (),
                  pred_names=cols.pred_names if named else (),
                  first_line=parsed.first_line())


def _read_one_array(path: str, role: str, cols: str | None, input_format: str,
                    stdin: typing.BinaryIO | None) -> tuple[np.ndarray, tuple[str, ...]]:
    """One array from a file of its own (two-file mode): (array, column names)."""
    from xentropy_cli.io import table
    from xentropy_cli.io.blocks import labels_1d
    from xentropy_cli.io.columns import select

    raw = source.load(path, stdin)
    fmt = source.sniff(raw, input_format)
    if fmt in ("csv", "tsv"):
        parsed = table.parse(_text(raw), raw.name, "\t" if fmt == "tsv" else None)
        header = parsed.header or [str(i) for i in range(parsed.n_columns)]
        flag = {"y_true": "--true-cols", "y_pred": "--pred-cols"}.get(role, "--weight-col")
        index = select(cols, header, flag, raw.name) if cols is not None else list(range(len(header)))
        array = table.numbers(parsed, index)
        if role == "y_true":
            array = labels_1d(array)
        names = tuple(header[i] for i in index) if parsed.header is not None else ()
        return array, names
    if fmt == "npy":
        array = arrays.load_npy(raw.data, raw.name)
    elif fmt == "npz":
        array = _npz_one(arrays.load_npz(raw.data, raw.name), role, raw.name)
    else:
        array = _json_one(raw, fmt, role)
    if cols is not None:
        array = _select_array_columns(array, cols, role, raw.name)
    return array, ()


def _json_one(raw: source.Raw, fmt: str, role: str) -> np.ndarray:
    from xentropy_cli.io import jsonio

    text = _text(raw, lines=fmt == "jsonl")
    if fmt == "jsonl":
        value: object = jsonio.parse_lines(text, raw.name)[0]
    else:
        try:
            value = jsonio.parse_any(text, raw.name)[0]
        except DataError:
            if text.lstrip().startswith("["):  # numpy's print form piped in
                try:
                    return np.atleast_1d(inline.parse(text, raw.name))
                except UsageError:
                    pass
            raise
    if isinstance(value, dict):
        if role not in value:
            seen = ", ".join(repr(k) for k in list(value)[:10]) or "none"
            raise DataError(f"has no {role} (keys seen: {seen})", where=raw.name,
                            hint=f"give a list of numbers, or an object with a {role!r} key")
        value = value[role]
    try:
        array = arrays.to_float_array(value)
    except arrays.BadValue as bad:
        raise DataError(f"{arrays.path_text(role, bad.path)} {bad.message}", where=raw.name,
                        hint=bad.hint) from None
    return np.atleast_1d(array)


def _select_array_columns(array: np.ndarray, cols: str, role: str, where: str) -> np.ndarray:
    if array.ndim != 2:
        raise UsageError(f"column selection needs a table, but {role} has shape {array.shape}",
                         where=where, hint="drop --true-cols/--pred-cols for this file")
    from xentropy_cli.io.columns import select

    flag = {"y_true": "--true-cols", "y_pred": "--pred-cols"}.get(role, "--weight-col")
    index = select(cols, [str(i) for i in range(array.shape[1])], flag, where)
    return array[:, index]


# --- npz ------------------------------------------------------------------------------------

def _npz_triple(found: dict[str, np.ndarray], where: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """y_true, y_pred, sample_weight by name (or arr_0, arr_1, arr_2 from an unnamed numpy.savez)."""
    if "y_true" in found and "y_pred" in found:
        return (np.atleast_1d(found["y_true"]), np.atleast_1d(found["y_pred"]),
                found.get("sample_weight"))
    if "arr_0" in found and "arr_1" in found and set(found) <= {"arr_0", "arr_1", "arr_2"}:
        return np.atleast_1d(found["arr_0"]), np.atleast_1d(found["arr_1"]), found.get("arr_2")
    missing = " or ".join(k for k in ("y_true", "y_pred") if k not in found)
    seen = ", ".join(repr(k) for k in list(found)[:10]) or "none"
    raise DataError(f"has no array {missing} (arrays seen: {seen})", where=where,
                    hint="write it with numpy.savez(path, y_true=…, y_pred=…, sample_weight=…)")


def _npz_one(found: dict[str, np.ndarray], role: str, where: str) -> np.ndarray:
    if role in found:
        return np.atleast_1d(found[role])
    if len(found) == 1:
        return np.atleast_1d(next(iter(found.values())))
    seen = ", ".join(repr(k) for k in list(found)[:10]) or "none"
    raise DataError(f"has no array {role} (arrays seen: {seen})", where=where,
                    hint=f"save it as numpy.savez(path, {role}=…)")


# --- finishing ------------------------------------------------------------------------------

def _replace(inputs: Inputs, **changes: object) -> Inputs:
    return replace(inputs, **changes)  # type: ignore[arg-type]


def _finite_option(text: str, flag: str) -> np.ndarray:
    """An option's list of numbers: nan and inf are data values, never class labels or weights."""
    values = inline.parse_vector(text, flag)
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise UsageError(f"{flag} holds {bad}: give finite numbers", hint="e.g. 0,1,2")
    return values


def parse_labels(text: str) -> np.ndarray:
    """``--labels``: distinct class labels, sorted as scikit-learn sorts them (its classes_)."""
    values = _finite_option(text, "--labels")
    unique, counts = np.unique(values, return_counts=True)
    if (counts > 1).any():
        twice = unique[counts > 1][0]
        raise UsageError(f"--labels names the label {twice:g} more than once",
                         hint="give each class label once, e.g. --labels 0,1,2")
    return unique


def _finish(inputs: Inputs, kind: str, from_logits: bool, labels: str | None,
            class_weight: str | None) -> Inputs:
    label_array = parse_labels(labels) if labels is not None else None
    class_array = _finite_option(class_weight, "--class-weight") if class_weight is not None else None
    for name, array in (("y_true", inputs.y_true), ("y_pred", inputs.y_pred)):
        if np.asarray(array).size == 0:
            raise DataError(f"{name} is empty: there are no samples", where=inputs.source,
                            hint="the input needs at least one row")
    return _replace(inputs, kind=kind, from_logits=from_logits, labels=label_array,
                    class_weight=class_array)
