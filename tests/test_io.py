"""Readers: every input format gives the same Inputs and the same loss for the same data."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from xentropy_cli import io as xio
from xentropy_cli.core import pipeline, profiles
from xentropy_cli.core.types import Options
from xentropy_cli.io.columns import resolve_columns
from xentropy_cli.io.table import sniff_delimiter

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

# The seed question's 3x3 case (000_cc44af17d8294db6.txt).
Y_TRUE = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
Y_PRED = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]])
# naive: mean of −log p[true class] over the rows, computed by hand: the seed's "mean step2".
NAIVE = (-math.log(0.9) - math.log(0.89) - math.log(0.94)) / 3
HEADER = "true_0,true_1,true_2,pred_0,pred_1,pred_2"
CSV_ROWS = ["1,0,0,0.9,0.05,0.05", "0,1,0,0.5,0.89,0.6", "0,0,1,0.05,0.01,0.94"]
Y_TRUE_ROWS = ["1,0,0", "0,1,0", "0,0,1"]
Y_PRED_ROWS = ["0.9,0.05,0.05", "0.5,0.89,0.6", "0.05,0.01,0.94"]


def _csv(rows, header=HEADER, sep=",", newline="\n"):
    lines = ([header.replace(",", sep)] if header else []) + [row.replace(",", sep) for row in rows]
    return newline.join(lines) + newline


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


_RECORDS = [{"y_true": t.astype(int).tolist(), "y_pred": p.tolist()}
            for t, p in zip(Y_TRUE, Y_PRED, strict=True)]
_QUOTED = _csv(['"1","0","0","0.9","0.05","0.05"', '"0","1","0","0.5","0.89","0.6"',
                '"0","0","1","0.05","0.01","0.94"'], header='"true_0","true_1","true_2","pred_0","pred_1",'
                                                           '"pred_2"')

# name -> files {name: bytes|str}, sources, extra kwargs, stdin bytes
FORMATS = {
    "csv": ({"d.csv": _csv(CSV_ROWS)}, ["d.csv"], {}, None),
    "csv-crlf-bom": ({"d.csv": "\ufeff" + _csv(CSV_ROWS, newline="\r\n")}, ["d.csv"], {}, None),
    "csv-quoted": ({"d.csv": _QUOTED}, ["d.csv"], {}, None),
    "csv-quoted-crlf": ({"d.csv": _QUOTED.replace("\n", "\r\n")}, ["d.csv"], {}, None),
    "csv-spaces": ({"d.csv": _csv([r.replace(",", ", ") for r in CSV_ROWS])}, ["d.csv"], {}, None),
    "tsv": ({"d.tsv": _csv(CSV_ROWS, sep="\t")}, ["d.tsv"], {}, None),
    "tsv-as-txt": ({"d.txt": _csv(CSV_ROWS, sep="\t")}, ["d.txt"], {}, None),
    "semicolon": ({"d.csv": _csv(CSV_ROWS, sep=";")}, ["d.csv"], {}, None),
    "semicolon-decimal-comma": ({"d.csv": HEADER.replace(",", ";") + "\n" + "\n".join(
        r.replace(",", ";").replace(".", ",") for r in CSV_ROWS) + "\n"}, ["d.csv"], {}, None),
    "blank-lines": ({"d.csv": "\n" + _csv(CSV_ROWS).replace("\n", "\n\n")}, ["d.csv"], {}, None),
    "json-object": ({"d.json": json.dumps({"y_true": Y_TRUE.tolist(), "y_pred": Y_PRED.tolist()})},
                    ["d.json"], {}, None),
    "json-records": ({"d.json": json.dumps(_RECORDS, indent=2)}, ["d.json"], {}, None),
    "jsonl": ({"d.jsonl": "\n".join(json.dumps(r) for r in _RECORDS) + "\n"}, ["d.jsonl"], {}, None),
    "jsonl-as-json": ({"d.json": "\n".join(json.dumps(r) for r in _RECORDS)}, ["d.json"], {}, None),
    "npz": ({"d.npz": _npz_bytes(y_true=Y_TRUE, y_pred=Y_PRED)}, ["d.npz"], {}, None),
    "npz-unnamed": ({"d.npz": _npz_bytes(arr_0=Y_TRUE, arr_1=Y_PRED)}, ["d.npz"], {}, None),
    "two-csv-header": ({"t.csv": _csv(Y_TRUE_ROWS, "a,b,c"), "p.csv": _csv(Y_PRED_ROWS, "a,b,c")},
                       ["t.csv", "p.csv"], {}, None),
    "two-csv-no-header": ({"t.csv": _csv(Y_TRUE_ROWS, None), "p.csv": _csv(Y_PRED_ROWS, None)},
                          ["t.csv", "p.csv"], {}, None),
    "two-savetxt": ({"t.txt": "1.0 0.0 0.0\n0.0 1.0 0.0\n0.0 0.0 1.0\n",
                     "p.txt": "9.0e-01 5.0e-02 5.0e-02\n5.0e-01 8.9e-01 6.0e-01\n5.0e-02 1.0e-02 9.4e-01\n"},
                    ["t.txt", "p.txt"], {}, None),
    "two-npy": ({"t.npy": _npy_bytes(Y_TRUE), "p.npy": _npy_bytes(Y_PRED)}, ["t.npy", "p.npy"], {}, None),
    "two-json": ({"t.json": json.dumps(Y_TRUE.tolist()), "p.json": json.dumps(Y_PRED.tolist())},
                 ["t.json", "p.json"], {}, None),
    "npy-and-csv": ({"t.npy": _npy_bytes(Y_TRUE), "p.csv": _csv(Y_PRED_ROWS, None)},
                    ["t.npy", "p.csv"], {}, None),
    "inline-json": ({}, [], {"y_true": json.dumps(Y_TRUE.tolist()), "y_pred": json.dumps(Y_PRED.tolist())},
                    None),
    "inline-numpy": ({}, [], {"y_true": str(Y_TRUE), "y_pred": str(Y_PRED)}, None),
    "inline-numpy-commas": ({}, [], {"y_true": "[[1., 0., 0.],\n [0., 1., 0.],\n [0., 0., 1.]]",
                                     "y_pred": "array([[0.9 , 0.05, 0.05],\n       [0.5 , 0.89, 0.6 ],"
                                               "\n       [0.05, 0.01, 0.94]])"}, None),
    "inline-rows": ({}, [], {"y_true": "1 0 0; 0 1 0; 0 0 1", "y_pred": ".9,.05,.05; .5,.89,.6; .05,.01,.94"},
                    None),
    "stdin-csv": ({}, ["-"], {}, _csv(CSV_ROWS).encode()),
    "stdin-tsv": ({}, ["-"], {}, _csv(CSV_ROWS, sep="\t").encode()),
    "stdin-json": ({}, ["-"], {},
                   json.dumps({"y_true": Y_TRUE.tolist(), "y_pred": Y_PRED.tolist()}).encode()),
    "stdin-jsonl": ({}, ["-"], {}, "\n".join(json.dumps(r) for r in _RECORDS).encode()),
    "stdin-npz": ({}, ["-"], {}, _npz_bytes(y_true=Y_TRUE, y_pred=Y_PRED)),
    "stdin-and-file": ({"p.npy": _npy_bytes(Y_PRED)}, ["-", "p.npy"], {}, _csv(Y_TRUE_ROWS, None).encode()),
    "stdin-forced-csv": ({}, ["-"], {"input_format": "csv"}, _csv(CSV_ROWS).encode()),
}


def write_files(tmp_path: Path, files: dict) -> None:
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)


def read_format(name: str, tmp_path: Path, monkeypatch):
    files, sources, kwargs, stdin = FORMATS[name]
    write_files(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    return xio.read(sources, stdin=io.BytesIO(stdin) if stdin is not None else None, **kwargs)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_reads_the_same_arrays_and_loss(name, tmp_path, monkeypatch):
    inputs = read_format(name, tmp_path, monkeypatch)
    np.testing.assert_array_equal(inputs.y_true, Y_TRUE)
    np.testing.assert_array_equal(inputs.y_pred, Y_PRED)
    assert inputs.y_pred.dtype == np.float64
    assert inputs.sample_weight is None
    naive = pipeline.run(inputs, profiles.get("naive"), Options())
    assert naive.value == pytest.approx(NAIVE, rel=1e-15)
    # The Keras value is the same float whatever the format (the profile itself is tested in core).
    reference = pipeline.run(xio.read([str(SAMPLES / "keras_question.csv")]), profiles.get("keras"))
    assert pipeline.run(inputs, profiles.get("keras")).value == reference.value


def test_sample_files_agree():
    expected = [xio.read([str(SAMPLES / "keras_question.csv")])]
    expected.append(xio.read([str(SAMPLES / "keras_question.json")]))
    expected.append(xio.read([str(SAMPLES / "keras_question.jsonl")]))
    expected.append(xio.read([str(SAMPLES / "y_true.npy"), str(SAMPLES / "y_pred.npy")]))
    for inputs in expected:
        np.testing.assert_array_equal(inputs.y_true, Y_TRUE)
        np.testing.assert_array_equal(inputs.y_pred, Y_PRED)
    tiny_csv = xio.read([str(SAMPLES / "tiny.csv")])
    tiny_json = xio.read([str(SAMPLES / "tiny.json")])
    for tiny in (tiny_csv, tiny_json):
        np.testing.assert_array_equal(tiny.y_true, [[0.0, 1.0]])
        np.testing.assert_array_equal(tiny.y_pred, [[0.99999999999, 1e-11]])
        # the seed's numpy value: −log(1e−11) = 25.328436022934504
        assert pipeline.run(tiny, profiles.get("naive")).value == pytest.approx(25.328436022934504, rel=1e-15)


def test_csv_metadata_for_error_locations(tmp_path):
    path = tmp_path / "preds.csv"
    path.write_text(_csv(CSV_ROWS))
    inputs = xio.read([str(path)])
    assert inputs.source == str(path)
    assert inputs.first_line == 2  # the header is line 1
    assert inputs.true_names == ("true_0", "true_1", "true_2")
    assert inputs.pred_names == ("pred_0", "pred_1", "pred_2")
    assert inputs.where(1, 2) == f"{path}:3: column pred_2"


def test_first_line_is_dropped_when_blank_lines_break_the_line_numbering(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text(HEADER + "\n" + CSV_ROWS[0] + "\n\n" + CSV_ROWS[1] + "\n")
    assert xio.read([str(path)]).first_line is None
    path.write_text("\n\n" + HEADER + "\n" + "\n".join(CSV_ROWS) + "\n\n\n")
    assert xio.read([str(path)]).first_line == 4


def test_jsonl_first_line_and_stdin_name():
    data = "\n".join(json.dumps(r) for r in _RECORDS).encode()
    inputs = xio.read(["-"], stdin=io.BytesIO(data))
    assert (inputs.source, inputs.first_line) == ("<stdin>", 1)


def test_sparse_labels_from_a_single_integer_column(tmp_path):
    path = tmp_path / "sparse.csv"
    path.write_text("label,prob_a,prob_b,prob_c\n2,0.1,0.2,0.7\n0,0.6,0.3,0.1\n")
    inputs = xio.read([str(path)])
    assert inputs.y_true.shape == (2,)
    np.testing.assert_array_equal(inputs.y_true, [2.0, 0.0])
    result = pipeline.run(inputs, profiles.get("naive"))
    assert result.kind == "sparse"
    assert result.value == pytest.approx((-math.log(0.7) - math.log(0.6)) / 2, rel=1e-15)


def test_sample_sparse_csv_is_the_design_sparse_case():
    inputs = xio.read([str(SAMPLES / "sparse.csv")])
    np.testing.assert_array_equal(inputs.y_true, [1.0, 0.0])
    np.testing.assert_array_equal(inputs.y_pred, [[0.3, 3.0, 0.7], [0.0, 2.0, 2.0]])


def test_a_single_soft_target_column_stays_a_column(tmp_path):
    path = tmp_path / "soft.csv"
    path.write_text("target,pred\n0.25,0.5\n0.75,0.5\n")
    inputs = xio.read([str(path)], pred_cols="pred")
    assert inputs.y_true.shape == (2, 1)
    # binary: −(y log p + (1−y) log(1−p)) with p = 0.5 is log 2 for every y
    assert pipeline.run(inputs, profiles.get("naive")).value == pytest.approx(math.log(2), rel=1e-15)


def test_binary_sample():
    inputs = xio.read([str(SAMPLES / "binary.csv")])
    np.testing.assert_array_equal(inputs.y_true, [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(inputs.y_pred, [[1.0], [1.0], [1.0], [0.0]])
    # the design's measured torch value (log clamped at −100): 3 of 4 samples cost 100
    assert pipeline.run(inputs, profiles.get("torch")).value == pytest.approx(75.0)


def test_weighted_and_logits_samples():
    weighted = xio.read([str(SAMPLES / "weighted.csv")])
    np.testing.assert_array_equal(weighted.sample_weight, [1.0, 2.0, 0.5])
    per_sample = [-math.log(0.9), -math.log(0.89), -math.log(0.94)]
    expected = (1.0 * per_sample[0] + 2.0 * per_sample[1] + 0.5 * per_sample[2]) / 3
    assert pipeline.run(weighted, profiles.get("naive")).value == pytest.approx(expected, rel=1e-15)
    logits = xio.read([str(SAMPLES / "logits.csv")], from_logits=True)
    assert logits.pred_names == ("logit_0", "logit_1", "logit_2")
    assert logits.from_logits is True
    # row 4: logits (1000, 0, −1000), true class 1: log-softmax gives −1000 + log(1 + e^−1000 + e^−2000)
    torch = pipeline.run(logits, profiles.get("torch"), Options(reduction="none"))
    assert float(torch.value[3]) == pytest.approx(1000.0)


@pytest.mark.parametrize(("true_cols", "pred_cols", "weight_col"), [
    ("1:4", "4:7", "7"),
    ("a,b,c", "d,e,f", "w"),
    ("[abc]", "[def]", "-1"),
    ("1,2,3", "-4:-1", "W"),
])
def test_column_overrides(tmp_path, true_cols, pred_cols, weight_col):
    path = tmp_path / "custom.csv"
    triples = zip(Y_TRUE_ROWS, Y_PRED_ROWS, "123", strict=True)
    rows = [f"id{i},{t},{p},{w}" for i, (t, p, w) in enumerate(triples)]
    path.write_text("id,a,b,c,d,e,f,w\n" + "\n".join(rows) + "\n")
    inputs = xio.read([str(path)], true_cols=true_cols, pred_cols=pred_cols, weight_col=weight_col)
    np.testing.assert_array_equal(inputs.y_true, Y_TRUE)
    np.testing.assert_array_equal(inputs.y_pred, Y_PRED)
    np.testing.assert_array_equal(inputs.sample_weight, [1.0, 2.0, 3.0])
    assert inputs.pred_names == ("d", "e", "f")


def test_one_override_takes_the_rest_as_the_other_side(tmp_path):
    path = tmp_path / "rest.csv"
    path.write_text("y,p0,p1\n1,0.25,0.75\n0,0.5,0.5\n")
    inputs = xio.read([str(path)], true_cols="y")
    assert inputs.pred_names == ("p0", "p1")
    np.testing.assert_array_equal(inputs.y_true, [1.0, 0.0])


def test_headerless_csv_with_index_ranges(tmp_path):
    path = tmp_path / "bare.csv"
    path.write_text(_csv(CSV_ROWS, None))
    inputs = xio.read([str(path)], true_cols="0:3", pred_cols="3:")
    np.testing.assert_array_equal(inputs.y_pred, Y_PRED)
    assert inputs.pred_names == ()
    assert inputs.where(0, 1) == f"{path}:1: column 2"


def test_recognition_rules():
    header = ["ID", "True_0", "y_true_1", "target", "Label", "pred_0", "Y_PRED_x", "prob_1", "logit_2",
              "Sample_Weight", "other"]
    cols = resolve_columns(header)
    assert cols.true_names == ("True_0", "y_true_1", "target", "Label")
    assert cols.pred_names == ("pred_0", "Y_PRED_x", "prob_1", "logit_2")
    assert cols.weight_idx == 9


def test_delimiter_sniffing():
    assert sniff_delimiter("a,b\n1,2\n") == ","
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter("a;b\n0,5;0,5\n") == ";"
    assert sniff_delimiter("1.0 2.0\n3.0 4.0\n") == " "
    assert sniff_delimiter("label\n1\n") == ","


def test_pass_through_options(tmp_path):
    inputs = xio.read([str(SAMPLES / "keras_question.csv")], kind="categorical", from_logits=True,
                      labels="0,1,2", class_weight="1,2,0.5")
    assert (inputs.kind, inputs.from_logits) == ("categorical", True)
    np.testing.assert_array_equal(inputs.labels, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(inputs.class_weight, [1.0, 2.0, 0.5])


def test_weights_inline_and_in_json():
    one = xio.read([], y_true="[[1,0],[0,1]]", y_pred="[[.5,.5],[.25,.75]]", sample_weight="2.3")
    assert one.sample_weight.shape == () and float(one.sample_weight) == 2.3
    listed = xio.read([str(SAMPLES / "keras_question.csv")], sample_weight="1 2 0.5")
    np.testing.assert_array_equal(listed.sample_weight, [1.0, 2.0, 0.5])
    doc = json.dumps({"y_true": [[1, 0]], "y_pred": [[0.5, 0.5]], "sample_weight": 2})
    assert float(xio.read(["-"], stdin=io.BytesIO(doc.encode())).sample_weight) == 2.0
    records = [{"y_true": 1, "y_pred": 0.5, "sample_weight": 3}, {"y_true": 0, "y_pred": 0.25,
                                                                  "sample_weight": 1}]
    from_records = xio.read(["-"], stdin=io.BytesIO(json.dumps(records).encode()))
    np.testing.assert_array_equal(from_records.y_true, [1.0, 0.0])
    np.testing.assert_array_equal(from_records.sample_weight, [3.0, 1.0])


def test_weights_from_a_file_next_to_two_arrays(tmp_path):
    (tmp_path / "w.csv").write_text("1\n2\n0.5\n")
    inputs = xio.read([str(SAMPLES / "y_true.npy"), str(SAMPLES / "y_pred.npy")],
                      sample_weight=str(tmp_path / "w.csv"))
    np.testing.assert_array_equal(inputs.sample_weight, [1.0, 2.0, 0.5])


@pytest.mark.parametrize(("text", "expected"), [
    ("[[1,0],[0,1]]", [[1.0, 0.0], [0.0, 1.0]]),
    ("[[1. 0.] [0. 1.]]", [[1.0, 0.0], [0.0, 1.0]]),
    ("[[1. 0.]\n [0. 1.]]", [[1.0, 0.0], [0.0, 1.0]]),
    ("1 0; 0 1", [[1.0, 0.0], [0.0, 1.0]]),
    ("1,0;0,1;", [[1.0, 0.0], [0.0, 1.0]]),
    ("1 0\n0 1", [[1.0, 0.0], [0.0, 1.0]]),
    (".9 .1;", [[0.9, 0.1]]),
    ("2,0,1", [2.0, 0.0, 1.0]),
    ("[2 0 1]", [2.0, 0.0, 1.0]),
    ("tf.Tensor([0.25 0.75], shape=(2,), dtype=float32)", [0.25, 0.75]),
    ("tensor([[0.2500, 0.7500]])", [[0.25, 0.75]]),
    ("array([[1.e-11, 1.e+00]], dtype=float32)", [[1e-11, 1.0]]),
])
def test_inline_forms(text, expected):
    from xentropy_cli.io.inline import parse

    parsed = parse(text, "--y-pred")
    assert parsed.dtype == np.float64
    np.testing.assert_array_equal(parsed, expected)


def test_npy_keeps_its_dtype(tmp_path):
    np.save(tmp_path / "t.npy", Y_TRUE.astype(np.float32))
    np.save(tmp_path / "p.npy", Y_PRED.astype(np.float32))
    inputs = xio.read([str(tmp_path / "t.npy"), str(tmp_path / "p.npy")])
    assert inputs.y_pred.dtype == np.float32
    np.testing.assert_array_equal(inputs.y_pred, Y_PRED.astype(np.float32))
