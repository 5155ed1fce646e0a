"""The Python API: values, dtypes, inputs of every kind, results, rendering, errors, and the same
JSON as the command for the same input."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import xentropy_cli as xent
from xentropy_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
SEED_T = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
SEED_P = [[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]]
TINY_T, TINY_P = [[0, 1]], [[0.99999999999, 1e-11]]


def cli_json(*args: str) -> object:
    done = CliRunner().invoke(app, [*args, "--format", "json"], catch_exceptions=False)
    assert done.exit_code in (0, 1), done.output
    return json.loads(done.stdout)


def inline(y_true, y_pred) -> list[str]:
    return ["-t", json.dumps(y_true), "-p", json.dumps(y_pred)]


# --- values ---------------------------------------------------------------------------------------

def test_the_seed_values():
    result = xent.compute(TINY_T, TINY_P, profile="keras")
    assert result.value == 16.11809539794922 and type(result.value) is float
    assert xent.compute(TINY_T, TINY_P, "tf-keras").value == 16.11809565095832
    assert xent.compute(SEED_T, SEED_P, "keras").value == 0.3239681124687195
    assert xent.compute(SEED_T, SEED_P, "tf-keras").value == 0.32396812478942216
    # the textbook formula is numpy's float64 log, as on this machine
    y, p = np.array(SEED_T, float), np.array(SEED_P)
    assert xent.compute(SEED_T, SEED_P).value == -np.mean(np.sum(y * np.log(p), axis=1))


def test_the_dtype_is_kept():
    p32 = np.array(TINY_P, np.float32)
    as32 = xent.compute(np.array(TINY_T, np.float32), p32, "tf-keras", reduction="none")
    as64 = xent.compute(TINY_T, TINY_P, "tf-keras", reduction="none")
    assert as32.dtype == "float32" and as32.per_sample.dtype == np.float32
    assert as64.dtype == "float64" and as64.per_sample.dtype == np.float64
    # float32 input is clipped and logged in float32: tf.keras's number changes
    assert float(as32.per_sample[0]) != float(as64.per_sample[0])
    assert float(as64.per_sample[0]) == 16.11809565095832
    labels = xent.compute(np.array([1, 0]), np.array([[.3, .3, .4], [.5, .2, .3]], np.float32), "keras")
    assert labels.loss == "sparse"


class ArrayOnly:
    """Exposes __array__ only, as many tensor types do."""

    def __init__(self, a):
        self._a = a

    def __array__(self, dtype=None, copy=None):
        return self._a if dtype is None else self._a.astype(dtype)


class DLPackOnly:
    """Exposes DLPack only (numpy reads it with np.from_dlpack)."""

    def __init__(self, a):
        self._a = a

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def _bits(result) -> bytes:
    return np.asarray(result.per_sample).tobytes() + np.float64(result.value).tobytes()


@pytest.mark.parametrize("wrap", [ArrayOnly, DLPackOnly])
def test_array_protocols_give_the_same_bits_as_numpy(wrap):
    rng = np.random.default_rng(0)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 50)]
    p = rng.dirichlet(np.ones(4), 50).astype(np.float32) * np.float32(1.3)
    for profile in ("keras", "tf-keras", "torch", "naive"):
        direct = xent.compute(y, p, profile)
        wrapped = xent.compute(wrap(y), wrap(p), profile)
        assert wrapped.dtype == direct.dtype and _bits(wrapped) == _bits(direct)
    assert xent.compute(wrap(y), wrap(p), "tf-keras").dtype == "float32"


def test_torch_tensors_give_the_same_bits_as_their_numpy_copy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    y = torch.tensor(np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)])
    p = torch.rand(40, 3, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    for profile in ("keras", "tf-keras", "torch"):
        assert _bits(xent.compute(y, p, profile)) == _bits(xent.compute(y.numpy().copy(),
                                                                        p.numpy().copy(), profile))
    assert xent.compute(y, p, "tf-keras").dtype == "float32"


def test_tensors_that_numpy_cannot_read_are_one_line_errors():
    class Grad:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("Can't call numpy() on Tensor that requires grad.")

    with pytest.raises(xent.DataError, match=r"y_pred \(Grad\) cannot be read as a numpy array .*detach"):
        xent.compute(TINY_T, Grad())
    with pytest.raises(xent.DataError, match="y_true is a object, not an array"):
        xent.compute(object(), TINY_P)
    with pytest.raises(xent.DataError, match="holds <U1 values, not real numbers"):
        xent.compute(np.array([["a", "b"]]), TINY_P)
    with pytest.raises(xent.DataError, match=r"y_pred\[0\]\[1\] is 'x', not a number"):
        xent.compute(TINY_T, [[0.5, "x"]])


# --- DataFrames -----------------------------------------------------------------------------------

def test_a_dataframe_follows_the_csv_column_rules(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": [7, 8, 9], "true_0": [1., 0., 0.], "true_1": [0., 1., 0.],
                          "true_2": [0., 0., 1.], "pred_0": [.9, .5, .05], "pred_1": [.05, .89, .01],
                          "pred_2": [.05, .6, .94], "weight": [1., 2., .5]})
    path = tmp_path / "seed.csv"
    frame.to_csv(path, index=False)
    for profile in ("keras", "tf-keras", "naive"):
        api = xent.compute(frame, profile=profile)
        assert api.to_dict() == cli_json("compute", str(path), "--profile", profile)
    assert xent.compute(frame, profile="keras").value == xent.compute(
        frame.filter(like="true_"), frame.filter(like="pred_"), "keras", sample_weight=frame["weight"]).value
    # float32 columns stay float32; a single integer label column is sparse labels
    small = pd.DataFrame({"label": [1, 0], "prob_a": np.array([.3, .6], np.float32),
                          "prob_b": np.array([.7, .4], np.float32)})
    result = xent.compute(small, profile="tf-keras")
    assert result.loss == "sparse" and result.dtype == "float32"
    small64 = small.astype({"prob_a": float, "prob_b": float})  # as a CSV is read: float64
    small64.to_csv(tmp_path / "labels.csv", index=False)
    assert xent.compute(small64, profile="keras").to_dict() == \
        cli_json("compute", str(tmp_path / "labels.csv"), "--profile", "keras")
    chosen = xent.compute(frame, profile="keras", true_cols="true_*", pred_cols="4:7", weight_col="weight")
    assert chosen.value == xent.compute(frame, profile="keras").value
    with pytest.raises(xent.DataError, match="no y_true columns"):
        xent.compute(pd.DataFrame({"a": [1.0], "pred_0": [1.0]}))
    with pytest.raises(xent.DataError, match="column pred_1 holds 'oops', not a number"):
        xent.compute(pd.DataFrame({"true_0": [1.0], "pred_0": [1.0], "pred_1": ["oops"]}))


def test_pandas_and_frameworks_are_never_imported():
    code = ("import sys, numpy as np, xentropy_cli as xent\n"
            "xent.compute([[0, 1]], np.array([[0.5, 0.5]]), 'keras')\n"
            "xent.explain([[0, 1]], [[0.5, 0.5]])._repr_html_()\n"
            "bad = [m for m in ('pandas', 'torch', 'jax', 'tensorflow') if m in sys.modules]\n"
            "print(bad)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def test_the_api_is_imported_only_when_used():
    code = ("import sys, xentropy_cli as xent\n"
            "print('numpy' in sys.modules, 'xentropy_cli.api' in sys.modules)\n"
            "xent.compute\n"
            "print('numpy' in sys.modules, 'xentropy_cli.api' in sys.modules, 'rich' in sys.modules)\n"
            "sys.argv = ['xent', '--version']\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "False False\nTrue True False\n"
    version = ("import sys\nsys.argv = ['xent', '--version']\nfrom xentropy_cli.cli import app\n"
               "try:\n    app()\nexcept SystemExit:\n    pass\n"
               "print([m for m in ('xentropy_cli.api', 'rich') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", version], capture_output=True, text=True, check=True)
    assert done.stdout.endswith("[]\n"), done.stdout


# --- results --------------------------------------------------------------------------------------

def test_result_fields():
    result = xent.compute(TINY_T, TINY_P, "keras", reduction="none")
    assert result.per_sample.dtype == np.float32 and float(result.per_sample[0]) == 16.11809539794922
    assert list(result.stages) == ["cast", "smooth", "normalise", "clip", "log", "combine", "reduce"]
    clip = result.stages["clip"]
    assert clip.changed.tolist() == [[True, True]] and "clipped up to 1e-07" in clip.note
    assert clip.array.dtype == np.float32 and float(clip.array[0, 1]) == float(np.float32(1e-7))
    (warning,) = result.warnings
    assert isinstance(warning, xent.Notice) and warning.code == "clipped" and warning.rows == (1,)
    # structured: cells clipped up and down, and the bounds (float32 1e-7 and 1 − 1e-7)
    assert warning.counts == (1, 1)
    assert warning.values == (float(np.float32(1e-7)), float(np.float32(1) - np.float32(1e-7)))
    assert warning.message == "1 value clipped up to 1e-07; 1 value clipped down to 0.9999999"
    with pytest.raises(xent.UsageError, match="reduction='none' gives one loss per sample"):
        result.value  # noqa: B018
    reduced = xent.compute(TINY_T, TINY_P, "keras")
    assert float(reduced) == 16.11809539794922
    assert repr(reduced) == ("<xent.Result keras categorical: 16.11809539794922 (float32, "
                             "sum_over_batch_size, 1 warning(s))>")
    assert reduced.stages["reduce"].note.startswith("Σ w·l = 16.1181 ÷ N = 1")


def test_explanation_fields():
    e = xent.explain(SEED_T, SEED_P, "keras")
    assert e.first_divergence == "normalise" and e.divergent_rows == (1,)
    assert e.result.value == 0.3239681124687195 and e.against.profile == "naive"
    # they add up to the difference (keras's value is float32, the shares are float64)
    assert e.contributions.shape == (3,) and abs(e.contributions.sum() - e.difference) < 1e-7
    assert int(np.argmax(np.abs(e.contributions))) == 1
    assert e.narrative.startswith("The first stage where they part ways is normalise.")
    assert "divided row 2 by its sum 1.99" in e.narrative
    tiny = xent.explain(TINY_T, TINY_P, "keras", against="tf-keras")
    assert tiny.against.value == 16.11809565095832


def test_comparison_and_gradient_and_profiles():
    c = xent.compare(TINY_T, TINY_P)
    assert list(c) == ["naive", "keras", "tf-keras", "torch", "sklearn", "optax"]
    assert c["keras"].value == 16.11809539794922 and c["keras"].first_difference == "clip"
    assert c["optax"].result is None and "optax" in c["optax"].refusal
    assert c["tf-keras"].value == 16.11809565095832 and c["tf.keras"].profile == "tf-keras"
    assert len(xent.compare(TINY_T, TINY_P, profiles="all")) == len(xent.profiles())
    g = xent.grad([[0, 0, 1], [1, 0, 0]], [[1, 2, 3], [0, 0, 0]], from_logits=True, check=True,
                  surrogate=True)
    z = np.array([[1, 2, 3], [0, 0, 0]], float)
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert np.allclose(g.gradient, (softmax - np.array([[0, 0, 1], [1, 0, 0]])) / 2, rtol=1e-12, atol=0)
    assert g.passed is True and g.wrt == "logits" and g.surrogate is not None
    clipped = xent.grad(TINY_T, TINY_P, "keras")
    assert clipped.clipped.all() and not clipped.gradient.any() and clipped.passed is None
    profiles = xent.profiles()
    assert profiles["keras"].eps == 1e-7 and profiles["tf.keras"].name == "tf-keras"


# --- the same JSON as the command, on every command -----------------------------------------------

def test_compute_json_is_the_commands():
    for profile, extra in (("keras", {}), ("tf-keras", {"reduction": "none"}),
                           ("naive", {"label_smoothing": 0.1}), ("sklearn", {})):
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in extra.items()]
        assert xent.compute(SEED_T, SEED_P, profile, **extra).to_dict() == \
            cli_json("compute", *inline(SEED_T, SEED_P), "--profile", profile, *flags)
    logits = [[1, 2, 3], [1000, -1000, 0]]
    assert xent.compute([2, 0], logits, "optax", from_logits=True).to_dict() == \
        cli_json("compute", *inline([2, 0], logits), "--profile", "optax", "--from-logits")
    weighted = xent.compute(SEED_T, SEED_P, "keras", sample_weight=[1, 2, 0.5], clip=1e-3, base=2)
    assert weighted.to_dict() == cli_json("compute", *inline(SEED_T, SEED_P), "-w", "[1,2,0.5]",
                                          "--profile", "keras", "--clip", "1e-3", "--base", "2")
    assert xent.compute(SEED_T, SEED_P, "keras", clip=False, normalise=False, kernel="numpy",
                        dtype="float64").to_dict() == \
        cli_json("compute", *inline(SEED_T, SEED_P), "--keras-compat", "--no-clip", "--no-normalise",
                 "--kernel", "numpy", "--dtype", "float64")


def test_explain_json_is_the_commands():
    assert xent.explain(SEED_T, SEED_P).to_dict() == cli_json("explain", *inline(SEED_T, SEED_P))
    assert xent.explain(TINY_T, TINY_P, "torch", against="keras").to_dict() == \
        cli_json("explain", *inline(TINY_T, TINY_P), "--profile", "torch", "--against", "keras")


def test_compare_json_is_the_commands():
    assert xent.compare(SEED_T, SEED_P).to_dict() == cli_json("compare", *inline(SEED_T, SEED_P))
    assert xent.compare(SEED_T, SEED_P, "all", reduction="sum").to_dict() == \
        cli_json("compare", *inline(SEED_T, SEED_P), "--all", "--reduction", "sum")


def test_grad_json_is_the_commands():
    logits = [[1, 2, 3], [0, 0, 0]]
    assert xent.grad([[0, 0, 1], [1, 0, 0]], logits, "torch", from_logits=True, check=True,
                     surrogate=True).to_dict() == \
        cli_json("grad", *inline([[0, 0, 1], [1, 0, 0]], logits), "--profile", "torch", "--from-logits",
                 "--check", "--surrogate")
    assert xent.grad(SEED_T, SEED_P, "keras", check=True).to_dict() == \
        cli_json("grad", *inline(SEED_T, SEED_P), "--keras-compat", "--check")
    # torch's log backward at p = 0 gives nan where the true derivative is 0
    framework = xent.grad([[1, 0, 0]], [[0.5, 0.5, 0]], "torch")
    assert framework.to_dict() == cli_json("grad", *inline([[1, 0, 0]], [[0.5, 0.5, 0]]), "-P", "torch")
    exact = xent.grad([[1, 0, 0]], [[0.5, 0.5, 0]], "torch", derivative="exact")
    assert exact.to_dict() == cli_json("grad", *inline([[1, 0, 0]], [[0.5, 0.5, 0]]), "-P", "torch",
                                       "--derivative", "exact")
    assert np.isnan(framework.gradient).any() and not np.isnan(exact.gradient).any()
    assert framework.departs is not None and framework.departs.any()


def test_profiles_json_is_the_commands():
    assert xent.profiles().to_dict() == cli_json("profiles")


def test_every_command_is_covered_here():
    tested = set(re.findall(r"def test_(\w+)_json_is_the_commands", Path(__file__).read_text()))
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert commands == tested


# --- rendering ------------------------------------------------------------------------------------

def _plain(renderable, width=80) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=width, force_terminal=False, no_color=True, color_system=None,
            highlight=False, emoji=False).print(renderable)
    return buffer.getvalue()


def test_rich_draws_the_commands_tables(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    cases = ((xent.explain(SEED_T, SEED_P), ["explain", *inline(SEED_T, SEED_P)]),
             (xent.compute(SEED_T, SEED_P, "keras"), ["compute", *inline(SEED_T, SEED_P), "-P", "keras"]),
             (xent.compare(SEED_T, SEED_P), ["compare", *inline(SEED_T, SEED_P)]),
             (xent.profiles(), ["profiles"]))
    for obj, args in cases:
        done = CliRunner().invoke(app, [*args, "--format", "table"], catch_exceptions=False)
        assert _plain(obj) == done.stdout


def test_html_holds_the_stage_tables():
    html = xent.explain(SEED_T, SEED_P)._repr_html_()
    assert html.startswith("<pre") and "<html" not in html
    for title in ("cast", "normalise", "clip", "log", "combine"):  # each stage table's title
        assert re.search(rf">\s*{title}\s*<|\n{title}\n", html), title
    assert "why they differ" in html
    assert "keras[0]" in html and "0.3239681124687195" in html and "divided row 2 by its sum" in html
    assert "color" in html  # inline styles: changed cells are highlighted
    assert "16.11809539794922" in xent.compute(TINY_T, TINY_P, "keras")._repr_html_()
    assert "finite-difference check" in xent.grad(TINY_T, TINY_P, check=True)._repr_html_()


# --- errors ---------------------------------------------------------------------------------------

def test_errors_are_value_errors_with_the_commands_line():
    with pytest.raises(ValueError) as caught:
        xent.compute(TINY_T, [[0.2, 0.3, 0.5]])
    error = caught.value
    assert isinstance(error, xent.DataError) and isinstance(error, xent.XentError)
    done = CliRunner().invoke(app, ["compute", *inline(TINY_T, [[0.2, 0.3, 0.5]])])
    assert done.exit_code == 1
    assert done.stderr == f"xent: error: {error}\n".replace("input:", "command line:")
    with pytest.raises(xent.UsageError) as caught:
        xent.compute(TINY_T, TINY_P, "kerass")
    done = CliRunner().invoke(app, ["compute", *inline(TINY_T, TINY_P), "--profile", "kerass"])
    assert done.exit_code == 2 and done.stderr == f"xent: error: {caught.value}\n"
    for bad in ({"reduction": "mean_of_it"}, {"base": 3}, {"clip": 0.7}, {"dtype": "int8"},
                {"loss": "hinge"}, {"kernel": "cuda"}):
        with pytest.raises(xent.UsageError):
            xent.compute(TINY_T, TINY_P, **bad)
    with pytest.raises(xent.UsageError, match="y_pred is missing"):
        xent.compute(TINY_T)
    with pytest.raises(xent.StrictError, match="1 warning"):
        xent.compute(TINY_T, TINY_P, "keras", strict=True)


# --- documentation --------------------------------------------------------------------------------

def _from_python_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## From Python")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_the_readmes_python_examples_run(monkeypatch):
    import doctest

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "80")
    section = _from_python_section()
    blocks = re.findall(r"```pycon\n(.*?)```", section, re.S)
    assert len(blocks) >= 3
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs: dict = {}
    for i, block in enumerate(blocks):
        if "import pandas" in block:
            try:
                import pandas  # noqa: F401
            except ImportError:
                continue  # the DataFrame example needs pandas, which xent does not depend on
        test = parser.get_doctest(block, globs, f"README From Python block {i + 1}", "README.md", 0)
        runner.run(test, out=lambda text: pytest.fail(text), clear_globs=False)
        globs = test.globs  # the blocks are one session: names carry over
    assert runner.summarize(verbose=False).failed == 0


def test_the_example_script_prints_what_it_says():
    script = ROOT / "examples" / "from_python.py"
    expected = (ROOT / "examples" / "from_python.out").read_text(encoding="utf-8")
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_the_api_is_strictly_typed():
    pytest.importorskip("mypy")
    from mypy import api as mypy_api

    names = ("api.py", "convert.py", "results.py", "testing.py", "__init__.py")
    files = [str(ROOT / "xentropy_cli" / name) for name in names]
    out, err, status = mypy_api.run(["--strict", "--follow-imports=silent", "--no-error-summary", *files])
    assert status == 0, out + err
