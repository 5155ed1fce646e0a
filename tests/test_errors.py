"""Every bad input ends as one XentError with the right exit code, naming where and what.

Each case goes through ``io.read`` and ``pipeline.run`` (CLI-level tests are in test_cli.py). The
expected location is the file (and line, or row) the message must name, and the expected text is
the part of the message that says what is wrong.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from xentropy_cli import io as xio
from xentropy_cli.core import pipeline, profiles
from xentropy_cli.core.types import Options
from xentropy_cli.errors import DataError, UsageError, XentError

HEADER = "true_0,true_1,true_2,pred_0,pred_1,pred_2\n"
GOOD = "1,0,0,0.9,0.05,0.05\n"


def _npy(array, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _corrupt_npz() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("y_true.npy", _npy(np.eye(3)))
        archive.writestr("y_pred.npy", _npy(np.full((3, 3), 1 / 3)))
    data = bytearray(buffer.getvalue())
    at = data.find(b"y_pred.npy") + len(b"y_pred.npy") + 5  # inside the compressed member
    data[at] ^= 0xFF
    return bytes(data)


def _declared_bomb() -> bytes:
    """A 1 kB .npz whose member says it inflates to 3 GB (the central directory's size field):
    refused from the declaration, before zipfile inflates anything."""
    data = bytearray(_npz(y_true=np.eye(2), y_pred=np.eye(2)))
    central = data.find(b"PK\x01\x02")
    data[central + 24:central + 28] = (3 << 30).to_bytes(4, "little")
    return bytes(data)


def _npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    """An .npy header alone (its data is never read: the number cap refuses it first)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue()


def _npz_of_headers(**members: tuple[tuple[int, ...], str]) -> bytes:
    """An .npz whose members of more than 1,000 numbers are a header alone."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (shape, descr) in members.items():
            data = _npy(np.zeros(shape, descr)) if np.prod(shape) <= 1000 else _npy_header(shape, descr)
            archive.writestr(f"{name}.npy", data)
    return buffer.getvalue()


@dataclass
class Case:
    error: type
    where: str  # must appear in one_line(): the file and line / row
    says: str  # must appear in one_line(): what is wrong
    files: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    stdin: bytes | None = None
    profile: str = "naive"


ABC_FILE = HEADER + GOOD * 12 + "1,0,0,0.9,0.05,abc\n"  # data row 13 sits on line 14

CASES = {
    # --- files that are not there or cannot be read
    "missing-file": Case(UsageError, "nope.csv", "no such file", sources=["nope.csv"]),
    "directory": Case(UsageError, "adir", "is a directory", files={"adir/": None}, sources=["adir"]),
    "empty-file": Case(DataError, "e.csv", "is empty", files={"e.csv": ""}, sources=["e.csv"]),
    "blank-file": Case(DataError, "e.csv", "is empty", files={"e.csv": "\n  \n\r\n"}, sources=["e.csv"]),
    "empty-stdin": Case(DataError, "<stdin>", "is empty", sources=["-"], stdin=b""),
    "empty-jsonl": Case(DataError, "e.jsonl", "is empty", files={"e.jsonl": "\n"}, sources=["e.jsonl"]),
    "header-only": Case(DataError, "h.csv:1", "header but no data rows", files={"h.csv": HEADER},
                        sources=["h.csv"]),
    "binary-file": Case(DataError, "b.csv:1", "binary file", files={"b.csv": b"\x00\x01\x02\xff" * 10},
                        sources=["b.csv"]),
    "latin-1": Case(DataError, "l.csv:3:4", "not UTF-8", files={"l.csv": (HEADER + GOOD).encode()
                                                                  + "caf\xe9\n".encode("latin-1")},
                    sources=["l.csv"]),
    # --- CSV content
    "ragged-row": Case(DataError, "r.csv:3", "row has 5 fields but the header has 6",
                       files={"r.csv": HEADER + GOOD + "1,0,0,0.9,0.05\n"}, sources=["r.csv"]),
    "ragged-quoted": Case(DataError, "r.csv:3", "row has 7 fields",
                          files={"r.csv": HEADER + GOOD + '"1",0,0,0.9,0.05,0.05,9\n'}, sources=["r.csv"]),
    "not-a-number": Case(DataError, "preds.csv:14", "column pred_2 is 'abc', not a number",
                         files={"preds.csv": ABC_FILE}, sources=["preds.csv"]),
    "not-a-number-quoted": Case(DataError, "q.csv:3", "column pred_1 is 'x', not a number",
                                files={"q.csv": HEADER + GOOD + '1,0,0,0.9,"x",0.05\n'}, sources=["q.csv"]),
    "empty-cell": Case(DataError, "c.csv:2", "column true_1 is empty",
                       files={"c.csv": HEADER + "1,,0,1,0,0\n"},
                       sources=["c.csv"]),
    "empty-cell-after-blank-line": Case(DataError, "n.csv:4:7",
                                        "column pred_0 is empty: a missing value, not a number",
                                        files={"n.csv": HEADER + GOOD + "\n1,0,0,,0.5,0.5\n"},
                                        sources=["n.csv"]),
    "sklearn-nan-in-csv": Case(DataError, "n.csv:3: column pred_0",
                               "y_pred is nan (scikit-learn log_loss raises on nan and inf)",
                               files={"n.csv": HEADER + GOOD + "1,0,0,NaN,0.5,0.5\n"},
                               sources=["n.csv"], profile="sklearn"),
    "torch-binary-inf-in-csv": Case(DataError, "b.csv:3: column pred",
                                    "y_pred is inf: torch's binary_cross_entropy raises",
                                    files={"b.csv": "label,pred\n1,0.5\n0,inf\n"},
                                    sources=["b.csv"], profile="torch"),
    "hex-cell": Case(DataError, "n.csv:3:", "column pred_2 is '0x1p-3', not a number",
                     files={"n.csv": HEADER + GOOD + "1,0,0,0.5,0.5,0x1p-3\n"}, sources=["n.csv"]),
    "nan-with-payload": Case(DataError, "n.csv:3:", "column pred_2 is 'nan(1)', not a number",
                             files={"n.csv": HEADER + GOOD + "1,0,0,0.5,0.5,nan(1)\n"}, sources=["n.csv"]),
    "space-inside-a-number": Case(DataError, "n.csv:3:", "column pred_2 is '0. 5', not a number",
                                  files={"n.csv": HEADER + GOOD + "1,0,0,0.5,0.5,0. 5\n"},
                                  sources=["n.csv"]),
    "no-recognisable-columns": Case(DataError, "x.csv", "no y_true or y_pred columns among 'a', 'b', 'c'",
                                    files={"x.csv": "a,b,c\n1,0.5,0.5\n"}, sources=["x.csv"]),
    "no-pred-columns": Case(DataError, "x.csv", "no y_pred columns", files={"x.csv": "label,b\n1,0.5\n"},
                            sources=["x.csv"]),
    "headerless-single-file": Case(DataError, "x.csv", "no header row", files={"x.csv": "1,0,0.5,0.5\n"},
                                   sources=["x.csv"]),
    "override-matches-nothing": Case(UsageError, "x.csv", "--pred-cols 'q*' matches no column",
                                     files={"x.csv": "a,b,c\n1,0.5,0.5\n"}, sources=["x.csv"],
                                     options={"true_cols": "a", "pred_cols": "q*"}),
    "override-overlap": Case(UsageError, "x.csv", "column 'b' is both y_true and y_pred",
                             files={"x.csv": "a,b,c\n1,0.5,0.5\n"}, sources=["x.csv"],
                             options={"true_cols": "0:2", "pred_cols": "1:"}),
    "override-index-out-of-range": Case(UsageError, "x.csv", "--true-cols 5: there are only 3 columns",
                                        files={"x.csv": "a,b,c\n1,0.5,0.5\n"}, sources=["x.csv"],
                                        options={"true_cols": "5"}),
    "weight-col-two-columns": Case(UsageError, "x.csv", "selects 2 columns",
                                   files={"x.csv": "label,p0,p1\n1,0.5,0.5\n"}, sources=["x.csv"],
                                   options={"true_cols": "label", "weight_col": "p*"}),
    # --- JSON and JSON Lines
    "invalid-json": Case(DataError, "d.json:3:1", "invalid JSON: Expecting ',' delimiter",
                         files={"d.json": '{"y_true": [[1, 0]],\n "y_pred": [[0.5, 0.5]]\n'},
                         sources=["d.json"]),
    "invalid-json-stdin": Case(DataError, "<stdin>:1:15", "invalid JSON", sources=["-"],
                               stdin=b'{"y_true": [1 2]}'),
    "invalid-jsonl": Case(DataError, "d.jsonl:2:35", "invalid JSON",
                          files={"d.jsonl": '{"y_true":[1,0],"y_pred":[0.5,0.5]}\n'
                                            '{"y_true":[1,0],"y_pred":[0.5,0.5]\n'}, sources=["d.jsonl"]),
    "json-missing-key": Case(DataError, "d.json", "has no y_pred (keys seen: 'y_true', 'preds')",
                             files={"d.json": '{"y_true": [[1, 0]], "preds": [[1, 0]]}'}, sources=["d.json"]),
    "json-record-missing-key": Case(DataError, "d.json: record 2", "record has no y_true",
                                    files={"d.json": json.dumps([{"y_true": 1, "y_pred": 0.5},
                                                                 {"label": 1, "y_pred": 0.5}])},
                                    sources=["d.json"]),
    "jsonl-record-missing-key": Case(DataError, "d.jsonl:3", "record has no y_pred",
                                     files={"d.jsonl": '{"y_true":1,"y_pred":0.5}\n\n{"y_true":1}\n'},
                                     sources=["d.jsonl"]),
    "jsonl-not-a-record": Case(DataError, "d.jsonl:2", "not a record",
                               files={"d.jsonl": '{"y_true":1,"y_pred":0.5}\n[1, 0.5]\n'},
                               sources=["d.jsonl"]),
    "jsonl-weight-in-some-records": Case(DataError, "d.jsonl:2", "no sample_weight",
                                         files={"d.jsonl": '{"y_true":1,"y_pred":0.5,"sample_weight":2}\n'
                                                           '{"y_true":1,"y_pred":0.5}\n'},
                                                           sources=["d.jsonl"]),
    "jsonl-not-a-number": Case(DataError, "d.jsonl:2", "y_pred[1] is 'x', not a number",
                               files={"d.jsonl": '{"y_true":[1,0],"y_pred":[0.5,0.5]}\n'
                                                 '{"y_true":[1,0],"y_pred":[0.5,"x"]}\n'},
                                                 sources=["d.jsonl"]),
    "jsonl-ragged": Case(DataError, "d.jsonl:2", "y_pred has 3 values where the earlier ones have 2",
                         files={"d.jsonl": '{"y_true":[1,0],"y_pred":[0.5,0.5]}\n'
                                           '{"y_true":[1,0],"y_pred":[0.5,0.25,0.25]}\n'},
                                           sources=["d.jsonl"]),
    "json-null": Case(DataError, "d.json", "y_pred[0][1] is null",
                      files={"d.json": '{"y_true": [[1, 0]], "y_pred": [[0.5, null]]}'}, sources=["d.json"]),
    "json-nan-under-sklearn": Case(DataError, "d.json: y_pred row 2, column 1",
                                   "y_pred is nan (scikit-learn log_loss raises on nan and inf)",
                                   files={"d.json": '{"y_true": [[1, 0], [0, 1]], '
                                                    '"y_pred": [[0.5, 0.5], [NaN, 1]]}'},
                                   sources=["d.json"], profile="sklearn"),
    "json-minus-nan": Case(DataError, "d.json:1:", "invalid JSON",
                           files={"d.json": '{"y_true": [[1, 0]], "y_pred": [[-NaN, 1]]}'},
                           sources=["d.json"]),
    "json-ragged": Case(DataError, "d.json", "y_true[1] has 1 value where the earlier ones have 2",
                        files={"d.json": '{"y_true": [[1, 0], [1]], "y_pred": [[0.5, 0.5], [0.5, 0.5]]}'},
                        sources=["d.json"]),
    "json-text-value": Case(DataError, "d.json", "y_true[0] is 'one', not a number",
                            files={"d.json": '{"y_true": ["one"], "y_pred": [0.5]}'}, sources=["d.json"]),
    "json-scalar-document": Case(DataError, "d.json", "is a JSON number", files={"d.json": "3"},
                                 sources=["d.json"]),
    "json-one-array": Case(DataError, "d.json", "holds one array", files={"d.json": "[[1, 0]]"},
                           sources=["d.json"]),
    "json-empty-list": Case(DataError, "d.json", "empty list", files={"d.json": "[]"}, sources=["d.json"]),
    "json-pair-missing-role": Case(DataError, "p.json", "has no y_pred",
                                   files={"t.json": "[1, 0]", "p.json": '{"preds": [0.5, 0.5]}'},
                                   sources=["t.json", "p.json"]),
    "json-nested-too-deep": Case(DataError, "d.json", "nested too deeply", files={"d.json": "[" * 100000},
                                 sources=["d.json"]),
    # --- npy / npz
    "npz-missing-array": Case(DataError, "d.npz", "has no array y_pred (arrays seen: 'y_true', 'preds')",
                              files={"d.npz": _npz(y_true=np.eye(2), preds=np.eye(2))}, sources=["d.npz"]),
    "npz-not-a-zip": Case(DataError, "d.npz", "not a valid .npz file", files={"d.npz": b"PK\x03\x04junk"},
                          sources=["d.npz"]),
    "npz-corrupt-member": Case(DataError, "d.npz", "array 'y_pred' cannot be read",
                               files={"d.npz": _corrupt_npz()}, sources=["d.npz"]),
    "npz-text-array": Case(DataError, "d.npz: array 'y_pred'", "holds <U1 values, not real numbers",
                           files={"d.npz": _npz(y_true=np.eye(2), y_pred=np.array([["a", "b"], ["c", "d"]]))},
                           sources=["d.npz"]),
    "npy-pickled-objects": Case(DataError, "o.npy", "holds Python objects (pickled)",
                                files={"t.npy": _npy(np.eye(2)),
                                       "o.npy": _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)},
                                sources=["t.npy", "o.npy"]),
    "npy-raw-pickle": Case(DataError, "o.npy", "not a valid .npy file",
                           files={"t.npy": _npy(np.eye(2)), "o.npy": pickle.dumps([[0.5, 0.5]])},
                           sources=["t.npy", "o.npy"]),
    "npy-truncated": Case(DataError, "p.npy", "truncated or corrupt",
                          files={"t.npy": _npy(np.eye(3)), "p.npy": _npy(np.full((3, 3), 1 / 3))[:-5]},
                          sources=["t.npy", "p.npy"]),
    "npy-complex": Case(DataError, "p.npy", "holds complex128 values",
                        files={"t.npy": _npy(np.eye(2)), "p.npy": _npy(np.eye(2) + 1j)},
                        sources=["t.npy", "p.npy"]),
    "npy-alone": Case(DataError, "p.npy", "holds one array, but xent needs y_true and y_pred",
                      files={"p.npy": _npy(np.eye(2))}, sources=["p.npy"]),
    "forced-format-mismatch": Case(DataError, "d.csv", "not a valid .npy file",
                                   files={"d.csv": HEADER + GOOD}, sources=["d.csv"],
                                   options={"input_format": "npy"}),
    # --- usage
    "unknown-input-format": Case(UsageError, "--input-format", "unknown --input-format 'xml'",
                                 files={"d.csv": HEADER + GOOD},
                                 sources=["d.csv"], options={"input_format": "xml"}),
    "three-files": Case(UsageError, "3 input files", "xent takes one file", sources=["a", "b", "c"]),
    "stdin-twice": Case(UsageError, "stdin (-)", "named twice", sources=["-", "-"], stdin=b""),
    "no-input": Case(UsageError, "no input given", "give -t and -p"),
    "inline-needs-both": Case(UsageError, "-p/--y-pred", "is missing", options={"y_true": "1 0"}),
    "inline-with-file": Case(UsageError, "-t/-p", "cannot be combined with input files",
                             files={"d.csv": HEADER + GOOD}, sources=["d.csv"],
                             options={"y_true": "1", "y_pred": "0.5"}),
    "inline-not-a-number": Case(UsageError, "--y-pred", "'abc' is not a number",
                                options={"y_true": "[[1,0]]", "y_pred": "[[.5, abc]]"}),
    "inline-ragged": Case(UsageError, "--y-true", "row 2 has 1 number but row 1 has 2",
                          options={"y_true": "1 0; 0", "y_pred": "1 0; 0 1"}),
    "inline-json-ragged": Case(UsageError, "--y-true[1]", "has 1 value where the earlier ones have 2",
                               options={"y_true": "[[1,0],[0]]", "y_pred": "[[1,0],[0,1]]"}),
    "inline-brackets": Case(UsageError, "--y-pred", "'[' is not closed",
                            options={"y_true": "[1 0]", "y_pred": "[[0.5 0.5]"}),
    "inline-summarised": Case(UsageError, "--y-pred", "summarised",
                              options={"y_true": "[1 0]", "y_pred": "[0.5 ... 0.5]"}),
    "inline-empty": Case(UsageError, "--y-true", "is empty", options={"y_true": "  ", "y_pred": "0.5"}),
    "labels-not-numbers": Case(UsageError, "--labels", "'a' is not a number",
                               files={"d.csv": HEADER + GOOD}, sources=["d.csv"], options={"labels": "a,b"}),
    "class-weight-table": Case(UsageError, "--class-weight", "one list of numbers",
                               files={"d.csv": HEADER + GOOD}, sources=["d.csv"],
                               options={"class_weight": "1 2; 3 4"}),
    "weights-twice": Case(UsageError, "w.csv", "sample weights are given twice",
                          files={"w.csv": HEADER.strip() + ",weight\n" + GOOD.strip() + ",1\n"},
                          sources=["w.csv"],
                          options={"sample_weight": "2"}),
    "columns-option-on-json": Case(UsageError, "d.json", "select columns of a CSV/TSV table",
                                   files={"d.json": '{"y_true": [1], "y_pred": [0.5]}'}, sources=["d.json"],
                                   options={"true_cols": "0"}),
    # --- checks the core makes, located through the reader's line numbers
    "shape-mismatch": Case(DataError, "s.csv", "y_true has shape (1, 2) but y_pred has shape (1, 3)",
                           files={"s.csv": "true_0,true_1,pred_0,pred_1,pred_2\n1,0,.2,.3,.5\n"},
                           sources=["s.csv"]),
    "two-files-row-mismatch": Case(DataError, "t.csv and p.csv", "do not fit",
                                   files={"t.csv": "1,0\n0,1\n", "p.csv": "0.5,0.5\n"},
                                   sources=["t.csv", "p.csv"]),
    "label-out-of-range": Case(DataError, "l.csv:3", "label 3 is outside 0..1",
                               files={"l.csv": "label,pred_0,pred_1\n0,.5,.5\n3,.5,.5\n"}, sources=["l.csv"]),
    "label-not-integer": Case(DataError, "l.csv:3", "label 0.5 is not an integer",
                              files={"l.csv": "label,pred_0,pred_1\n0,.5,.5\n0.5,.5,.5\n"}, sources=["l.csv"],
                              options={"kind": "sparse"}),
    "sklearn-negative-probability": Case(DataError, "n.csv:3: column pred_0",
                                         "probability -0.5 is lower than 0 (scikit-learn refuses it)",
                                         files={"n.csv": HEADER + GOOD + "0,1,0,-0.5,0.5,0.5\n"},
                                         sources=["n.csv"], profile="sklearn"),
    "sklearn-nan-in-npy": Case(DataError, "t.npy and p.npy: y_pred row 2, column 1",
                               "y_pred is nan (scikit-learn log_loss raises on nan and inf)",
                               files={"t.npy": _npy(np.eye(2)),
                                      "p.npy": _npy(np.array([[0.5, 0.5], [np.nan, 1.0]]))},
                               sources=["t.npy", "p.npy"], profile="sklearn"),
    "torch-binary-above-one": Case(DataError, "b.csv:3: column pred_0",
                                   "torch's binary_cross_entropy raises",
                                   files={"b.csv": "label,pred_0\n1,0.5\n0,1.5\n"}, sources=["b.csv"],
                                   options={"kind": "binary"}, profile="torch"),
    "wrong-weight-length": Case(DataError, "d.csv", "there are 3 sample weights for 1 samples",
                                files={"d.csv": HEADER + GOOD}, sources=["d.csv"],
                                options={"sample_weight": "1 2 3"}),
    "sparse-needs-one-hot": Case(DataError, "s.csv:2", "not one-hot",
                                 files={"s.csv": HEADER + "0.5,0.5,0,0.9,0.05,0.05\n"}, sources=["s.csv"],
                                 options={"kind": "sparse"}),
    "torch-takes-no-weight": Case(UsageError, "torch", "takes no sample weight",
                                  files={"d.csv": HEADER + GOOD}, sources=["d.csv"],
                                  options={"sample_weight": "1"}, profile="torch"),
    "sklearn-rejects-scalar-weight": Case(UsageError, "sklearn", "rejects a single number",
                                          files={"d.csv": HEADER + GOOD}, sources=["d.csv"],
                                          options={"sample_weight": "2"}, profile="sklearn"),
    "sklearn-label-not-in-labels": Case(DataError, "l.csv:3", "label 5 is not one of --labels",
                                        files={"l.csv": "label,pred_0,pred_1\n0,.5,.5\n5,.5,.5\n"},
                                        sources=["l.csv"], options={"labels": "0,1"}, profile="sklearn"),
    # --- hostile input (issue 15): only ASCII decimal numbers, no silent last-wins, bounded reads
    "underscore-digits": Case(DataError, "u.csv:3:16", "column pred_2 is '1_0', not a number",
                              files={"u.csv": HEADER + GOOD + "1,0,0,0.9,0.05,1_0\n"}, sources=["u.csv"]),
    "full-width-digit": Case(DataError, "u.csv:3:11",
                             "column pred_1 is '\uff11', not a number (numbers are ASCII",
                             files={"u.csv": HEADER + GOOD + "1,0,0,0.9,\uff11,0.05\n"}, sources=["u.csv"]),
    "arabic-indic-digit": Case(DataError, "u.csv:2:1", "column true_0 is '\u0663'",
                               files={"u.csv": HEADER + "\u0663,0,0,0.9,0.05,0.05\n"}, sources=["u.csv"]),
    "underscore-quoted": Case(DataError, "u.csv:3", "column pred_0 is '0_9', not a number",
                              files={"u.csv": HEADER + GOOD + '1,0,0,"0_9",0.05,0.05\n'}, sources=["u.csv"]),
    "underscore-semicolon": Case(DataError, "u.csv:2:11", "column pred_1 is '0,0_5'",
                                 files={"u.csv": HEADER.replace(",", ";") + "1;0;0;0,9;0,0_5;0,05\n"},
                                 sources=["u.csv"]),
    "underscore-two-files": Case(DataError, "p.csv:2:5", "is '1_0', not a number",
                                 files={"t.csv": "1,0\n0,1\n", "p.csv": "0.5,0.5\n0.5,1_0\n"},
                                 sources=["t.csv", "p.csv"]),
    "json-string-underscore": Case(DataError, "d.json", "y_pred[1] is '1_0', not a number",
                                   files={"d.json": '{"y_true": [1, 0], "y_pred": [0.5, "1_0"]}'},
                                   sources=["d.json"]),
    "json-string-full-width": Case(DataError, "d.json", "y_true[0] is '\uff11', not a number",
                                   files={"d.json": '{"y_true": ["\uff11", 0], "y_pred": [0.5, 0.5]}'},
                                   sources=["d.json"]),
    "inline-underscore": Case(UsageError, "--y-pred", "'1_0' is not a number",
                              options={"y_true": "1 0", "y_pred": "0.5 1_0"}),
    "inline-arabic-indic": Case(UsageError, "--y-true[1]", "is '\u0663', not a number",
                                options={"y_true": '[1, "\u0663"]', "y_pred": "[0.5, 0.5]"}),
    "json-duplicate-key": Case(DataError, "d.json:2:2", "the key 'y_pred' appears twice",
                               files={"d.json": '{"y_true": [1, 0], "y_pred": [0.5, 0.5],\n'
                                                ' "y_pred": [0.1, 0.9]}'},
                               sources=["d.json"]),
    "json-duplicate-key-in-record": Case(DataError, "d.json:1:", "the key 'y_true' appears twice",
                                         files={"d.json": '[{"y_true": 1, "y_pred": 0.5, "y_true": 0}]'},
                                         sources=["d.json"]),
    "jsonl-duplicate-key": Case(DataError, "d.jsonl:2:26", "the key 'y_true' appears twice",
                                files={"d.jsonl": '{"y_true":1,"y_pred":0.5}\n'
                                                  '{"y_true":1,"y_pred":0.5,"y_true":0}\n'},
                                sources=["d.jsonl"]),
    "json-integer-of-5000-digits": Case(DataError, "d.json", "invalid JSON: Exceeds the limit (4300 digits)",
                                        files={"d.json": '{"y_true": [1], "y_pred": [' + "9" * 5000 + "]}"},
                                        sources=["d.json"]),
    "labels-twice": Case(UsageError, "--labels", "names the label 0 more than once",
                         files={"l.csv": "label,pred_0,pred_1\n0,.5,.5\n1,.5,.5\n"}, sources=["l.csv"],
                         options={"labels": "0,0,1"}, profile="sklearn"),
    "labels-more-than-columns": Case(DataError, "l.csv", "--labels names 4 classes [0.0, 1.0, 2.0, 3.0] but "
                                     "y_pred has 3 columns",
                                     files={"l.csv": "label,p0,p1,p2\n0,.2,.3,.5\n1,.3,.3,.4\n"},
                                     sources=["l.csv"], options={"labels": "0,1,2,3", "pred_cols": "1:"},
                                     profile="sklearn"),
    "binary-stdin": Case(DataError, "<stdin>:1", "binary file", sources=["-"], stdin=b"\x00" * 100_000),
    "nul-after-text": Case(DataError, "n.csv:3", "binary file",
                           files={"n.csv": HEADER + GOOD + "1,0\x00,0\n"}, sources=["n.csv"]),
    "line-over-the-cap": Case(DataError, "long.csv:3", "this line is longer than 4 MiB",
                              files={"long.csv": HEADER + GOOD + "1," * (5 << 19) + "\n"},
                              sources=["long.csv"]),
    "jsonl-line-over-the-cap": Case(DataError, "long.jsonl:2", "this line is longer than 4 MiB",
                                    files={"long.jsonl": '{"y_true":1,"y_pred":0.5}\n{"y_true":['
                                           + "1," * (5 << 19) + '1],"y_pred":0.5}\n'},
                                    sources=["long.jsonl"]),
    "npz-declares-gigabytes": Case(DataError, "bomb.npz", "beyond the 64 MiB that xent reads into memory",
                                   files={"bomb.npz": _declared_bomb()}, sources=["bomb.npz"]),
    "npy-over-the-number-cap": Case(DataError, "big.npy", "holds 9,000,000 numbers, beyond the 6,000,000",
                                    files={"t.npy": _npy(np.eye(2)),
                                           "big.npy": _npy_header((3000, 3000), "|i1")},
                                    sources=["t.npy", "big.npy"]),
    "npz-member-over-the-number-cap": Case(DataError, "big.npz: array 'y_pred'",
                                           "holds 9,000,000 numbers, beyond the 6,000,000",
                                           files={"big.npz": _npz_of_headers(y_true=((2, 2), "<f8"),
                                                                             y_pred=((3000, 3000), "|i1"))},
                                           sources=["big.npz"]),
    "npz-many-members": Case(DataError, "many.npz", "is an archive of 40 members",
                             files={"many.npz": _npz(**{f"a{i}": np.zeros(1) for i in range(40)})},
                             sources=["many.npz"]),
    "escape-bytes-in-name": Case(UsageError, "a\\x1b[2Jb.csv", "no such file", sources=["a\x1b[2Jb.csv"]),
    "escape-bytes-in-header": Case(DataError, "e.csv:2:", "column pred_\\x1b[31m is 'x'",
                                   files={"e.csv": "true_0,pred_\x1b[31m\n1,x\n"}, sources=["e.csv"]),
}


RAISED_BY_CORE = {"labels-more-than-columns", "label-out-of-range", "label-not-integer",
                  "sklearn-label-not-in-labels",
                  "shape-mismatch", "two-files-row-mismatch", "sklearn-negative-probability",
                  "wrong-weight-length", "sparse-needs-one-hot", "sklearn-nan-in-npy",
                  "sklearn-nan-in-csv", "torch-binary-inf-in-csv", "json-nan-under-sklearn",
                  "torch-takes-no-weight", "sklearn-rejects-scalar-weight",
                  "torch-binary-above-one"}


# Input the modelled framework computes with: xent gives its number and a warning naming the cell
# (tests/test_shapes.py holds the numbers to the frameworks' own; --strict: test_cli.py).
@dataclass
class Warned:
    where: str
    says: str
    files: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    profile: str = "naive"


WARNED = {
    "negative-probability": Warned(
        "n.csv:3: column pred_0", "probability -0.5 at n.csv:3: column pred_0 is negative",
        files={"n.csv": HEADER + GOOD + "0,1,0,-0.5,0.5,0.5\n"}, sources=["n.csv"]),
    "all-zero-row-keras": Warned(
        "y_pred row 2", "is all 0 (z.csv:3): Keras 3, TensorFlow backend computes with it",
        files={"z.csv": HEADER + GOOD + "0,1,0,0,0,0\n"}, sources=["z.csv"], profile="keras"),
    "negative-weight": Warned(
        "", "sample weight -1 (w.csv:3) is negative: the textbook formula weighs with it",
        files={"w.csv": HEADER.strip() + ",weight\n" + GOOD.strip() + ",1\n" + GOOD.strip() + ",-1\n"},
        sources=["w.csv"]),
    "nan-cell-after-blank-line": Warned(  # rows not on consecutive lines: located by row
        "n.csv: y_pred row 2, column 1", "y_pred is nan at",
        files={"n.csv": HEADER + GOOD + "\n1,0,0,nan,0.5,0.5\n"}, sources=["n.csv"]),
    "inf-cell-keras": Warned(
        "n.csv:3: column pred_2", "y_pred is -inf at n.csv:3: column pred_2: Keras 3",
        files={"n.csv": HEADER + GOOD + "1,0,0,0.5,0.5,-inf\n"}, sources=["n.csv"], profile="keras"),
    "json-nan": Warned(
        "d.json: y_pred row 2, column 1", "y_pred is nan at",
        files={"d.json": '{"y_true": [[1, 0], [0, 1]], "y_pred": [[0.5, 0.5], [NaN, 1]]}'},
        sources=["d.json"]),
    "jsonl-infinity-weight": Warned(
        "d.jsonl", "sample_weight is inf at",
        files={"d.jsonl": '{"y_true": [1, 0], "y_pred": [0.5, 0.5], "sample_weight": 1}\n'
                          '{"y_true": [0, 1], "y_pred": [0.5, 0.5], "sample_weight": Infinity}\n'},
        sources=["d.jsonl"], profile="keras"),
    "nan-in-npy-located-by-row": Warned(
        "t.npy and p.npy: y_pred row 2, column 1", "y_pred is nan at",
        files={"t.npy": _npy(np.eye(2)), "p.npy": _npy(np.array([[0.5, 0.5], [np.nan, 1.0]]))},
        sources=["t.npy", "p.npy"]),
}


@pytest.mark.parametrize("name", list(WARNED))
def test_degenerate_input_is_computed_with_one_located_warning(name, tmp_path, monkeypatch):
    case = WARNED[name]
    write_files(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    inputs = xio.read(case.sources, **case.options)
    result = pipeline.run(inputs, profiles.get(case.profile), Options())
    texts = [n.message for n in result.notices]
    assert any(case.where in t and case.says in t for t in texts), texts
    assert isinstance(result.value, float)


def write_files(tmp_path: Path, files: dict) -> None:
    for name, content in files.items():
        target = tmp_path / name
        if name.endswith("/"):
            target.mkdir()
        else:
            target.write_bytes(content.encode() if isinstance(content, str) else content)


def run_case(case: Case, tmp_path: Path, monkeypatch) -> XentError:
    write_files(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    stdin = io.BytesIO(case.stdin) if case.stdin is not None else None
    with pytest.raises(XentError) as caught:
        inputs = xio.read(case.sources, stdin=stdin, **case.options)
        pipeline.run(inputs, profiles.get(case.profile), Options())
    return caught.value


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_located_error(name, tmp_path, monkeypatch):
    case = CASES[name]
    error = run_case(case, tmp_path, monkeypatch)
    assert type(error) is case.error
    assert error.exit_code == (2 if case.error is UsageError else 1)
    line = error.one_line()
    assert "\n" not in line
    assert "\x1b" not in line  # escape bytes from names or cells never reach the terminal
    assert case.where in line, line
    assert case.says in line, line
    if name not in RAISED_BY_CORE:
        assert error.hint, line  # every reader error says what to do


def test_the_design_example_message_exactly(tmp_path, monkeypatch):
    """design.md's example, with the character column of the cell (16) after the line."""
    error = run_case(CASES["not-a-number"], tmp_path, monkeypatch)
    assert error.one_line().startswith("preds.csv:14:16: column pred_2 is 'abc', not a number; ")


def test_unreadable_file(tmp_path, monkeypatch):
    """Permission denied (simulated: the tests run as root, who may read anything)."""
    from xentropy_cli.io import source

    (tmp_path / "secret.csv").write_text(HEADER + GOOD)
    monkeypatch.chdir(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source, "open", refuse, raising=False)
    with pytest.raises(DataError) as caught:
        xio.read(["secret.csv"])
    assert caught.value.one_line() == ("secret.csv: cannot be read: permission denied; "
                                       "check the file's permissions")


def test_stdin_read_failure_is_a_data_error():
    class Broken(io.RawIOBase):
        def read(self, *args):
            raise OSError(5, "Input/output error")

    with pytest.raises(DataError) as caught:
        xio.read(["-"], stdin=Broken())
    assert caught.value.one_line() == ("<stdin>: cannot be read: Input/output error; "
                                       "check the program that writes to it")


def test_matrix_size():
    """The report quotes this number: keep it honest."""
    assert len(CASES) >= 106


# --- hostile input, beyond the matrix (issue 15) ------------------------------------------------

def test_labels_in_any_order_are_sorted_as_scikit_learn_sorts_them(tmp_path):
    """log_loss(labels=[2, 1, 0]) sorts them (LabelBinarizer): y_pred's columns are classes 0, 1, 2.
    Rows: label 0 → p 0.2, label 2 → p 0.8: loss = −(ln 0.2 + ln 0.8) / 2."""
    path = tmp_path / "l.csv"
    path.write_text("label,p0,p1,p2\n0,.2,.3,.5\n2,.1,.1,.8\n")
    values = []
    for labels in ("2,1,0", "0,1,2", "[1, 0, 2]"):
        inputs = xio.read([str(path)], pred_cols="1:", labels=labels)
        np.testing.assert_array_equal(inputs.labels, [0.0, 1.0, 2.0])
        values.append(float(pipeline.run(inputs, profiles.get("sklearn"), Options()).value))
    expected = -(np.log(0.2) + np.log(0.8)) / 2
    assert values == [pytest.approx(expected, rel=1e-15)] * 3


def test_text_read_whole_is_capped(tmp_path, monkeypatch):
    monkeypatch.setenv("XENT_MAX_INPUT_MB", "1")
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"y_true": [1.0] * 200_000, "y_pred": [0.5] * 200_000}))
    with pytest.raises(DataError) as caught:
        xio.read([str(path)])
    assert caught.value.one_line().startswith(f"{path}: is 2 MiB, beyond the 1 MiB that xent reads into "
                                              "memory as JSON, JSON Lines or CSV read whole; ")
    with pytest.raises(DataError) as caught:  # the same through a pipe, whose size nobody knows
        xio.read(["-"], stdin=io.BytesIO(path.read_bytes()))
    assert "<stdin>: goes on, beyond the 1 MiB" in caught.value.one_line()


def test_a_folder_without_search_permission_is_not_no_such_file(tmp_path, monkeypatch):
    """Simulated (root may search anything): os.stat fails with EACCES, as under a mode-0600 folder."""
    from xentropy_cli.io import source

    real_stat = source.os.stat

    def stat(path, *args, **kwargs):
        if "locked" in str(path):
            raise PermissionError(13, "Permission denied")
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(source.os, "stat", stat)
    with pytest.raises(DataError) as caught:
        xio.read([str(tmp_path / "locked" / "d.csv")])
    line = caught.value.one_line()
    assert "no such file" not in line
    assert "permission denied (a folder on its path cannot be searched)" in line


@pytest.mark.parametrize("header", ["label,prob", "label,pred", "target,prediction", "label,score",
                                    "y,p", "y,y_prob", "target,y_score", "label,proba", "Y,Prediction"])
def test_single_prediction_column_names_people_use(header, tmp_path):
    """Binary: p = 0.9 for y = 1 and 0.2 for y = 0: loss = −(ln 0.9 + ln 0.8) / 2."""
    path = tmp_path / "b.csv"
    path.write_text(f"{header}\n1,0.9\n0,0.2\n")
    result = pipeline.run(xio.read([str(path)]), profiles.get("naive"), Options())
    assert float(result.value) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2, rel=1e-15)


def test_npz_bomb_is_refused_before_inflating(tmp_path):
    """A real bomb: 300 MB of zeros deflated to ~300 kB; the declared size stops it."""
    import tracemalloc
    import zlib

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (300 << 17,)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("y_true.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            block = bytes(1 << 22)
            for _ in range(75):
                member.write(block)
        archive.writestr("y_pred.npy", header.getvalue())
    assert path.stat().st_size < 2 << 20 and zlib  # a small file
    tracemalloc.start()
    with pytest.raises(DataError) as caught:
        xio.read([str(path)])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "is 300 MiB, beyond the 64 MiB" in caught.value.one_line()
    assert peak < 20 << 20
