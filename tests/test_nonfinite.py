"""nan and inf through every reader: the same arrays, so the same numbers, warnings and refusals.

Issue 14 §4: where the framework returns a number for input that parses (nan and inf included),
xent returns the same number and a warning; where it raises, xent refuses. The degenerate and
non-finite cases of tests/golden/shapes.json (recorded from the frameworks by tools/gen_shapes.py)
are written here as CSV (the tokens np.savetxt, pandas and float() write: nan, NaN, inf, -inf,
Infinity, +inf …), JSON (Python's NaN, Infinity, -Infinity), JSON Lines, inline text and .npy,
read back, and run under every profile: each reader gives the in-memory arrays' results bit for
bit, and a refusal exactly where the framework raised. Then seeded random nan/inf placements in
y_true, y_pred and the weights are read by every CSV path (in memory, stdin, the chunked numpy,
pyarrow and polars readers, the streaming engine) and compared bit for bit.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import conformance as cf  # noqa: E402
from test_shapes import KNOWN_GAPS  # noqa: E402

from xentropy_cli import io as xio  # noqa: E402
from xentropy_cli.cli import app  # noqa: E402
from xentropy_cli.core import partial, pipeline, profiles  # noqa: E402
from xentropy_cli.core.types import Inputs, Options  # noqa: E402
from xentropy_cli.engines import stream  # noqa: E402
from xentropy_cli.engines.common import Parser  # noqa: E402
from xentropy_cli.errors import DataError, XentError  # noqa: E402
from xentropy_cli.io import fastcsv, jitcsv  # noqa: E402

FIXTURE = json.loads((Path(__file__).resolve().parent / "golden" / "shapes.json").read_text())
PROFILE_OF = {"keras-tensorflow": "keras", "keras-jax": "keras-jax", "keras-torch": "keras-torch",
              "keras-numpy": "keras-numpy", "tf-keras": "tf-keras", "torch": "torch",
              "sklearn": "sklearn", "optax": "optax"}
ULP = {"keras": 0, "keras-jax": 1, "keras-torch": 30, "keras-numpy": 2, "tf-keras": 0,
       "torch": 30, "sklearn": 2, "optax": 1}  # as tests/test_shapes.py (numpy ones: any dispatch)
# text is float64 by nature: the float64 cases of the degenerate-value groups
CASES = [c for c in FIXTURE["cases"] if c["group"] in ("degenerate", "nonfinite") and c["dtype"] == "float64"]
FORMATS = ("npy", "csv", "json", "jsonl", "inline-json", "inline-numpy")
NAN_WORDS = ("nan", "NaN", "NAN", "+nan")
INF_WORDS = ("inf", "Infinity", "INF", "+inf", "infinity", "+Infinity")
NEG_INF_WORDS = ("-inf", "-Infinity", "-INF", "-infinity")


def token(v: float, rng: np.random.Generator) -> str:
    """``v`` as some writer people use spells it (np.savetxt, pandas, repr, JavaScript-ish)."""
    if np.isnan(v):
        return str(rng.choice(NAN_WORDS))
    if np.isinf(v):
        return str(rng.choice(INF_WORDS if v > 0 else NEG_INF_WORDS))
    return repr(float(v))


def arrays(case: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    sw = case["sample_weight"]
    return (np.asarray(case["y_true"], np.float64), np.asarray(case["y_pred"], np.float64),
            None if sw is None else np.asarray(sw, np.float64))


def write(case: dict, fmt: str, tmp_path: Path, seed: int = 0) -> dict:
    """The case in format ``fmt``: keyword arguments of io.read."""
    rng = np.random.default_rng(seed)
    y, p, w = arrays(case)
    scalar = w is not None and w.ndim == 0
    read: dict = {"kind": case["kind"], "from_logits": case["from_logits"]}
    if scalar:
        read["sample_weight"] = token(float(w), rng)  # -w: one number, inline
    if fmt == "npy":
        np.save(tmp_path / "t.npy", y)
        np.save(tmp_path / "p.npy", p)
        if w is not None and not scalar:
            np.save(tmp_path / "w.npy", w)
            read["sample_weight"] = str(tmp_path / "w.npy")
        return {"sources": [str(tmp_path / "t.npy"), str(tmp_path / "p.npy")], **read}
    if fmt == "csv":
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        names = ["label"] if y.ndim == 1 else [f"true_{j}" for j in range(y.shape[1])]
        names += [f"pred_{j}" for j in range(p.shape[1])]
        table = np.hstack([y2, p])
        if w is not None and not scalar:
            names.append("weight")
            table = np.hstack([table, w.reshape(-1, 1)])
        text = ",".join(names) + "\n" + "".join(",".join(token(v, rng) for v in row) + "\n"
                                                for row in table)
        (tmp_path / "d.csv").write_text(text)
        return {"sources": [str(tmp_path / "d.csv")], **read}
    if fmt == "json":
        doc = {"y_true": y.tolist(), "y_pred": p.tolist()}
        if w is not None and not scalar:
            doc["sample_weight"] = w.tolist()
        (tmp_path / "d.json").write_text(json.dumps(doc))  # NaN, Infinity, -Infinity
        return {"sources": [str(tmp_path / "d.json")], **read}
    if fmt == "jsonl":
        lines = []
        for i in range(p.shape[0]):
            record = {"y_true": y[i].tolist(), "y_pred": p[i].tolist()}
            if w is not None and not scalar:
                record["sample_weight"] = float(w[i])
            lines.append(json.dumps(record))
        (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n")
        return {"sources": [str(tmp_path / "d.jsonl")], **read}
    if fmt == "inline-json":
        read |= {"y_true": json.dumps(y.tolist()), "y_pred": json.dumps(p.tolist())}
        if w is not None and not scalar:
            read["sample_weight"] = json.dumps(w.tolist())
        return {"sources": [], **read}
    assert fmt == "inline-numpy"  # as print(array) shows it: [[0.7 nan 0.1] [-inf …]]
    read |= {"y_true": np.array2string(y, separator=" "), "y_pred": np.array2string(p, separator=" ")}
    if w is not None and not scalar:
        read["sample_weight"] = np.array2string(w, separator=" ")
    return {"sources": [], **read}


def _outcome(profile: str, inputs: Inputs, reduction: str):
    try:
        return pipeline.run(inputs, profiles.get(profile), Options(reduction=reduction))
    except XentError as error:
        return error


def _bits(a) -> np.ndarray:
    return np.atleast_1d(np.asarray(a)).view(np.uint8)


def _fixture_outcomes(fw: str) -> dict:
    variants = FIXTURE["numpy_dispatch"].get(fw)
    if variants is None:
        return {cid: r[fw] for cid, r in FIXTURE["results"].items()}
    return variants.get(profiles_dispatch(), variants[variants["default"]])


def profiles_dispatch() -> str:
    from xentropy_cli.core import kernels

    return kernels.numpy_dispatch()


def test_the_fixture_has_nan_and_inf_in_every_input_for_every_kind():
    """y_pred, y_true and weights, each nan and inf, for every kind: recorded, not assumed."""
    seen = set()
    for c in FIXTURE["cases"]:
        for role in ("y_true", "y_pred", "sample_weight"):
            a = np.asarray(c[role] if c[role] is not None else [], np.float64)
            for what, mask in (("nan", np.isnan(a)), ("inf", np.isinf(a))):
                if mask.any():
                    seen.add((c["kind"], role, what))
    for kind in ("categorical", "sparse", "binary"):
        for role in ("y_true", "y_pred", "sample_weight"):
            assert (kind, role, "nan") in seen, (kind, role)
            if not (kind == "sparse" and role == "y_true"):  # a label of inf: as nan, not a class
                assert (kind, role, "inf") in seen or role == "sample_weight", (kind, role)
    assert ("categorical", "sample_weight", "inf") in seen and ("binary", "sample_weight", "inf") in seen


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_reader_gives_the_recorded_number_or_refusal(case, fmt, tmp_path):
    """Each profile on the case as read from ``fmt``: the same bits as on the arrays in memory
    (tests/test_shapes.py holds those to the frameworks), the same warnings, and a refusal
    exactly where the framework raised."""
    read = write(case, fmt, tmp_path, seed=len(case["id"]))
    sources = read.pop("sources")
    got = xio.read(sources, **read)  # reading never refuses nan or inf
    y, p, w = arrays(case)
    reference = Inputs(y, p, w, kind=case["kind"], from_logits=case["from_logits"], source="x")
    for fw, profile in PROFILE_OF.items():
        outcome = _fixture_outcomes(fw)[case["id"]]
        known_gap = (case["id"], fw) in KNOWN_GAPS  # test_shapes.py says which, and why
        for reduction in ("none", *FIXTURE["reductions"][fw]):
            ours, want = _outcome(profile, got, reduction), _outcome(profile, reference, reduction)
            label = f"{profile} {reduction}"
            framework_raised = "error" in outcome or isinstance(outcome["reduced"].get(reduction), dict)
            if isinstance(want, XentError):
                assert isinstance(ours, XentError), label
                assert type(ours) is type(want) and (framework_raised or known_gap), label
                continue
            assert not isinstance(ours, XentError), (label, ours)
            assert not framework_raised or known_gap, label
            assert np.array_equal(_bits(ours.per_sample), _bits(want.per_sample)), label
            assert np.array_equal(_bits(ours.value), _bits(want.value)), label
            assert [(n.code, n.rows) for n in ours.notices] == \
                [(n.code, n.rows) for n in want.notices], label
            if reduction != "none" and not known_gap:  # and the framework's own number
                expected = outcome["reduced"][reduction]
                off = int(cf.ulp_diff(np.asarray(ours.value, np.float64), expected,
                                      np.dtype(ours.per_sample.dtype)).max())
                assert off <= ULP[profile], (label, ours.value, expected)


def test_a_nan_cell_is_named_by_file_line_and_column_and_strict_exits_1(tmp_path):
    """The warning names the file line and column of the first nan; the loss's nan is traced to
    the stage, row and column where it first appears (Keras: 0/0 is not it, the nan input is);
    --strict turns the warnings into exit 1; JSON carries the place."""
    path = tmp_path / "d.csv"
    path.write_text("true_0,true_1,pred_0,pred_1\n1,0,0.9,0.1\n0,1,0.25,NaN\n1,0,0.5,0.5\n")
    runner = CliRunner()
    done = runner.invoke(app, ["compute", str(path), "--keras-compat"])
    assert done.exit_code == 0 and done.stdout.strip() == "nan"
    assert f"y_pred is nan at {path}:3: column pred_1" in done.stderr
    assert "first appears at stage cast, row 2, column 2 (nan)" in done.stderr
    strict = runner.invoke(app, ["compute", str(path), "--keras-compat", "--strict"])
    assert strict.exit_code == 1 and strict.stdout == ""
    assert "--strict" in strict.stderr.splitlines()[-1]
    explained = runner.invoke(app, ["explain", str(path), "--keras-compat", "--format", "json"])
    assert explained.exit_code == 0, explained.stderr
    doc = json.loads(explained.stdout)
    places = [v for k, v in _walk(doc) if k == "first_non_finite"]
    assert {"stage": "cast", "row": 2, "column": 2} in [{k: v[k] for k in ("stage", "row", "column")}
                                                        for v in places], places


def _walk(doc):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _walk(v)


def test_explain_on_inline_text_says_where_the_nan_comes_from():
    """-p '.7 .2 .1; nan 0 0': the cell is named, and the loss's nan traced to it."""
    done = CliRunner().invoke(app, ["explain", "-t", "1 0 0; 0 1 0", "-p", ".7 .2 .1; nan 0 0",
                                    "--keras-compat", "--format", "json"])
    assert done.exit_code == 0, done.stderr
    assert "y_pred is nan at command line: y_pred row 2, column 1" in done.stderr
    assert "first appears at stage cast, row 2, column 1 (nan)" in done.stderr


# --- seeded random placements, every CSV path ---------------------------------------------------

K = 4


def seeded_table(seed: int, n: int = 3000, weights: bool = True, minus_nan: bool = True):
    """One-hot targets, probabilities and weights with ~1 % nan/±inf cells placed at random,
    written with a random spelling each: (csv text, the float64 table, column names)."""
    rng = np.random.default_rng(seed)
    y = np.eye(K)[rng.integers(0, K, n)]
    p = rng.dirichlet(np.ones(K), n)
    table = np.hstack([y, p] + ([rng.random((n, 1)) * 2] if weights else []))
    specials = np.array([np.nan, np.inf, -np.inf])
    hits = rng.random(table.shape) < 0.01
    table[hits] = rng.choice(specials, int(hits.sum()))
    names = [f"true_{j}" for j in range(K)] + [f"pred_{j}" for j in range(K)]
    names += ["weight"] if weights else []
    words = np.empty(table.shape, object)
    words[:] = [[repr(float(v)) for v in row] for row in table]
    for (r, c) in zip(*np.nonzero(hits), strict=True):
        words[r, c] = token(table[r, c], rng)
        if minus_nan and np.isnan(table[r, c]) and rng.random() < 0.2:
            words[r, c] = "-nan"  # float() and numpy read a negative nan: the bits must survive
            table[r, c] = -np.abs(table[r, c])
    text = ",".join(names) + "\n" + "".join(",".join(row) + "\n" for row in words)
    return text, table, names


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(a.view(np.uint64), b.view(np.uint64))


def _table_of(inputs: Inputs) -> np.ndarray:
    y = inputs.y_true.reshape(inputs.y_true.shape[0], -1)
    w = [] if inputs.sample_weight is None else [inputs.sample_weight.reshape(-1, 1)]
    return np.hstack([y, inputs.y_pred, *w])


def _readers() -> list[str]:
    found = [fastcsv.READER_NUMPY]
    if fastcsv.arrow_available():
        found.append(fastcsv.READER_ARROW)
    if fastcsv.polars_available():
        found.append(fastcsv.READER_POLARS)
    if jitcsv.available():
        found.append(jitcsv.READER)
    return found


@pytest.mark.parametrize("seed", range(4))
def test_seeded_nan_and_inf_read_alike_by_every_csv_path(seed, tmp_path):
    """In memory, from stdin, and chunk by chunk with every installed reader (numpy; pyarrow and
    polars decline chunks with nan or inf, and numpy reads them): the same float64 bits, a
    negative nan's sign included; JSON (which has no negative nan) and .npy the same values."""
    text, table, _ = seeded_table(seed)
    path = tmp_path / "r.csv"
    path.write_text(text)
    memory = _table_of(xio.read([str(path)]))
    _same_bits(memory, table)
    _same_bits(_table_of(xio.read(["-"], stdin=io.BytesIO(text.encode()))), table)
    lay = fastcsv.layout(str(path))
    for reader in _readers():
        parse = Parser(lay, reader)
        blocks, line = [], lay.first_line
        for data in fastcsv.chunks(lay.path, lay.body_start, lay.size, size=4096):
            blocks.append(parse(data, line))
            line += data.count(b"\n")
        _same_bits(np.vstack(blocks), table)
    doc = {"y_true": table[:, :K].tolist(), "y_pred": table[:, K:2 * K].tolist(),
           "sample_weight": table[:, -1].tolist()}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    from_json = _table_of(xio.read([str(tmp_path / "r.json")]))
    assert np.array_equal(from_json, table, equal_nan=True)
    assert np.array_equal(np.signbit(from_json) | np.isnan(table), np.signbit(table) | np.isnan(table))


@pytest.fixture
def streaming(monkeypatch):
    monkeypatch.setenv("XENT_STREAM_MIN_BYTES", "0")
    monkeypatch.setenv("XENT_CHUNK_BYTES", "4096")
    monkeypatch.setenv("XENT_WORKERS", "2")
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)


@pytest.mark.parametrize("reader", _readers())
@pytest.mark.parametrize("profile", ["naive", "keras", "tf-keras"])
def test_streamed_nan_and_inf_give_the_in_memory_losses_and_warnings(profile, reader, tmp_path,
                                                                     streaming, monkeypatch):
    monkeypatch.setenv("XENT_READER", reader)
    text, _, _ = seeded_table(7, n=2500, minus_nan=False)
    path = tmp_path / "s.csv"
    path.write_text(text)
    options = Options(reduction="none")
    want = pipeline.run(xio.read([str(path)]), profiles.get(profile), options)
    job = stream.plan([str(path)])
    assert job is not None
    got = stream.run(job, stream.Task(profiles.get(profile), options, keep_rows=True))
    try:
        rows = np.concatenate(list(got.per_sample()))
        assert np.array_equal(rows.view(np.uint8), want.per_sample.view(np.uint8))
        assert {(n.code, n.texts[:1]): (n.message, n.rows) for n in got.result.notices} == \
            {(n.code, n.texts[:1]): (n.message, n.rows[:partial.ROW_LIMIT]) for n in want.notices}
        assert len(got.result.notices) == len(want.notices)
        codes = {n.code for n in want.notices}
        assert "non_finite" in codes and ("nan" in codes or "log_zero" in codes)
    finally:
        got.close()
    summed = stream.run(stream.plan([str(path)]), stream.Task(profiles.get(profile), Options()))
    whole = pipeline.run(xio.read([str(path)]), profiles.get(profile), Options())
    # where the first nan/inf loss comes from: the same stage, global row, column and value
    assert whole.first_non_finite is not None
    assert repr(summed.result.first_non_finite) == repr(whole.first_non_finite)
    assert repr(got.result.first_non_finite) == repr(want.first_non_finite)
    assert np.array_equal(_bits(summed.result.value), _bits(whole.value)) or \
        (np.isnan(summed.result.value) and np.isnan(whole.value))
    summed.close()


def test_sklearn_refuses_a_streamed_nan_as_in_memory(tmp_path, streaming, monkeypatch):
    monkeypatch.setenv("XENT_READER", "numpy")
    text, _, _ = seeded_table(3, n=2000, weights=False)
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(DataError) as memory_error:
        pipeline.run(xio.read([str(path)]), profiles.get("sklearn"), Options())
    with pytest.raises(DataError) as stream_error:
        stream.run(stream.plan([str(path)]), stream.Task(profiles.get("sklearn"), Options()))
    assert stream_error.value.one_line() == memory_error.value.one_line()
    assert "(scikit-learn raises on nan and inf)" in stream_error.value.one_line()


@pytest.mark.parametrize("text", ["1_0", "１", "٣", "0x1p3", "1 0", "nan(1)", "infinit", "in", "NaNa",
                                  "--inf", "+-1", "1e", "Inf1"])
def test_only_ascii_decimals_and_the_nan_inf_words_are_numbers(text, tmp_path):
    """Every text reader refuses what the issue says is not a number, nan/inf look-alikes too."""
    path = tmp_path / "x.csv"
    path.write_text(f"true_0,true_1,pred_0,pred_1\n1,0,0.5,0.5\n0,1,{text},0.5\n")
    with pytest.raises(DataError, match="column pred_0 is .*not a number"):
        xio.read([str(path)])
    (tmp_path / "x.json").write_text(json.dumps({"y_true": [[1, 0]], "y_pred": [[text, 0.5]]}))
    with pytest.raises(DataError, match="not a number"):
        xio.read([str(tmp_path / "x.json")])
    with pytest.raises(XentError, match="not a number"):
        xio.read([], y_true="1 0", y_pred=f"{text.replace(' ', '_')} 0.5")


def test_the_warning_says_what_the_framework_made_of_the_cell(tmp_path):
    """By hand: Keras clips a binary p = inf to float32(1 − 1e-7) = 1 − 2⁻²³, so a target of 0
    costs −log(2⁻²³) = 23·ln 2 = 15.94238…; the textbook formula's 0·log p = 0 drops a nan in a
    class whose target is 0, so row [0, 1] with p = [nan, .5] costs ln 2; Keras multiplies it
    (0·nan = nan). A weight of -inf makes the weighted loss -inf."""
    path = tmp_path / "b.csv"
    path.write_text("label,pred\n1,0.9\n0,inf\n")
    keras = pipeline.run(xio.read([str(path)]), profiles.get("keras"), Options())
    message = next(n.message for n in keras.notices if n.code == "non_finite")
    assert message == (f"y_pred is inf at {path}:3: column pred: Keras 3, TensorFlow backend computes "
                       f"with it; its clip stage makes it 0.9999999; the loss of that row is "
                       f"{float(np.float32(23 * np.log(2))):.7g}")
    path = tmp_path / "c.csv"
    path.write_text("true_0,true_1,pred_0,pred_1,weight\n1,0,0.9,0.1,1\n0,1,nan,0.5,-Infinity\n")
    inputs = xio.read([str(path)])
    naive = pipeline.run(inputs, profiles.get("naive"), Options())
    said = [n.message for n in naive.notices if n.code == "non_finite"]
    assert said[0].endswith(f"the textbook formula computes with it; the loss of that row is "
                            f"{np.log(2):.7g}")
    assert said[1].endswith("the weighted loss of that row is -inf")
    keras = pipeline.run(inputs, profiles.get("keras"), Options())
    assert [n.message.rsplit("; ", 1)[1] for n in keras.notices if n.code == "non_finite"] == \
        ["the loss of that row is nan", "the weighted loss of that row is nan"]


@pytest.mark.parametrize("flag, text", [("labels", "0,nan,2"), ("class_weight", "1,inf,1")])
def test_options_are_not_data_nan_and_inf_in_them_are_usage_errors(flag, text):
    from xentropy_cli.errors import UsageError

    with pytest.raises(UsageError, match="give finite numbers"):
        xio.read([], y_true="0 1 2", y_pred=".7 .2 .1; .1 .8 .1; .2 .2 .6", **{flag: text})


def test_streamed_stdin_with_nan_and_inf_prints_what_the_in_memory_run_prints(monkeypatch):
    """A large stdin is spooled and streamed: per-sample CSV and warnings as read in memory."""
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    text, _, _ = seeded_table(5, n=1500, minus_nan=False)
    args = ("compute", "-", "--keras-compat", "--reduction", "none", "--format", "csv", "--verbose")
    runner = CliRunner()
    streamed_run = runner.invoke(app, args, input=text, env={
        "XENT_STREAM_MIN_BYTES": "1000", "XENT_CHUNK_BYTES": "4096", "XENT_READER": "numpy"})
    memory_run = runner.invoke(app, args, input=text, env={"XENT_STREAM_MIN_BYTES": str(1 << 40)})
    assert streamed_run.exit_code == memory_run.exit_code == 0, streamed_run.stderr
    assert "streamed in chunks" in streamed_run.stderr
    assert streamed_run.stdout == memory_run.stdout and "nan" in streamed_run.stdout

    def warned(stderr):
        return sorted(line for line in stderr.splitlines() if line.startswith("xent: warning"))

    assert warned(streamed_run.stderr) == warned(memory_run.stderr)
    assert any("y_pred is" in line and "<stdin>:" in line for line in warned(memory_run.stderr))
