"""Rendered output at 60, 80 and 120 columns with 2, 3, 10 and 100 classes (issue 16): nothing
wider than the terminal, no number cut, the change marker kept, the columns shown named, hidden
columns marked with "…". Golden text files make a layout change a visible diff
(XENT_UPDATE_RENDERED=1 rewrites them)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

from xentropy_cli import render
from xentropy_cli.core import compare, explain, pipeline, profiles
from xentropy_cli.core.types import Inputs, Options

RENDERED = Path(__file__).parent / "rendered"
UPDATE = os.environ.get("XENT_UPDATE_RENDERED") == "1"
WIDTHS = (60, 80, 120)
CLASSES = (2, 3, 10, 100)
CUT = re.compile(r"\d…|…\d|\d\.\.\.")  # a number Rich shortened


def case(k: int, n: int = 7, seed: int = 16) -> Inputs:
    """Seeded one-hot targets and Dirichlet predictions; row 1's true class gets 1e-9 (Keras
    clips it to 1e-7) and row 2 sums to 1.5 (Keras normalises it)."""
    rng = np.random.default_rng(seed + k)
    labels = rng.integers(0, k, n)
    y = np.eye(k)[labels]
    p = rng.dirichlet(np.ones(k), n)
    p[0, labels[0]] = 1e-9
    p[1] *= 1.5
    return Inputs(y, p)


def explain_text(inputs: Inputs, width: int, classes=None, rows: int = 10) -> tuple[str, object, object]:
    p = pipeline.run(inputs, profiles.get("keras"))
    q = pipeline.run(inputs, profiles.NAIVE)
    divergence = explain.diverge(p, q, inputs.y_true, inputs.y_pred)
    buffer = io.StringIO()
    render.Output("table", "never", None, True, False, stdout=buffer).emit_explain(
        inputs, p, q, divergence, rows, classes=classes)
    return buffer.getvalue(), p, q


@pytest.fixture(autouse=True)
def _no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.mark.parametrize("k", CLASSES)
@pytest.mark.parametrize("width", WIDTHS)
def test_explain_fits_never_cuts_and_keeps_the_marker(monkeypatch, width, k):
    monkeypatch.setenv("COLUMNS", str(width))
    inputs = case(k)
    text, p, q = explain_text(inputs, width)
    golden = RENDERED / f"explain_k{k}_w{width}.txt"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert not CUT.search(text), CUT.search(text)
    assert "*" in text  # float32 rounding and the clip changed cells: marked
    # every per-sample loss of both runs is printed in full (6 significant digits)
    for value in (*p.per_sample, *q.per_sample):
        assert f"{float(value):.6g}" in text
    # the reduced values in full
    assert repr(float(p.value)) in text and repr(float(q.value)) in text
    if k <= 3:
        assert f"[{k - 1}]" in text and "true" not in text.split("cast", 1)[1].split("\n")[1]
    else:
        assert "keras true" in text and "naive true" in text and "class" in text
        assert "…" in text  # the columns not shown
        # the class named on row 1 is its true class
        first = next(line for line in lines if re.match(r"\s*1\s+\d+\s", line))
        assert int(first.split()[1]) == int(np.argmax(inputs.y_true[0]))
    assert "sample(s)" not in text and "class(es)" not in text
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", WIDTHS)
def test_explain_classes_option_chooses_columns_and_marks_the_rest(monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    inputs = case(100)
    text, _, _ = explain_text(inputs, width, classes=(0, 3, 99))
    assert max(len(line) for line in text.splitlines()) <= width
    assert not CUT.search(text)
    assert "keras[0]" in text and "[3]" in text and "[99]" in text and "[4]" not in text
    header = next(line for line in text.splitlines() if "keras[0]" in line)
    # 0, hidden 1–2, 3, hidden 4–98, 99: two "…" between the shown columns of each profile
    assert header.count("…") >= 2
    # the value printed under [99] in row 1 is p[0, 99] rounded to float32 (the cast stage)
    assert f"{float(np.float32(inputs.y_pred[0, 99])):.6g}" in text


def test_classes_beyond_the_columns_is_a_usage_error(monkeypatch):
    from xentropy_cli.errors import UsageError

    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(UsageError, match="--classes 12: y_pred has 10 columns"):
        explain_text(case(10), 80, classes=(12,))


@pytest.mark.parametrize("k", CLASSES)
@pytest.mark.parametrize("width", WIDTHS)
def test_compare_and_compute_fit_and_print_whole_values(monkeypatch, width, k):
    monkeypatch.setenv("COLUMNS", str(width))
    inputs = case(k)
    chosen = [profiles.get(name) for name in profiles.PROFILES]
    rows = compare.compare(inputs, chosen, Options())
    buffer = io.StringIO()
    render.Output("table", "never", None, True, False, stdout=buffer).emit_compare(rows)
    text = buffer.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    assert not CUT.search(text)
    for row in rows:
        if row.result is not None and row.result.reduction != "none":
            assert repr(float(row.result.value)) in text
    result = pipeline.run(inputs, profiles.get("keras"))
    buffer = io.StringIO()
    render.Output("table", "never", None, True, False, stdout=buffer).emit_compute(result)
    panel = buffer.getvalue()
    assert max(len(line) for line in panel.splitlines()) <= width
    assert repr(float(result.value)) in panel
    assert "warning" not in panel  # warnings go to stderr once, not into the panel too
