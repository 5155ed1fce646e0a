"""Rendered output: golden text files (fixed width, no colour) so a layout change is a visible diff."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from xentropy_cli import examples, render
from xentropy_cli.core import explain, pipeline, profiles
from xentropy_cli.core.types import Inputs

RENDERED = Path(__file__).parent / "rendered"
UPDATE = os.environ.get("XENT_UPDATE_RENDERED") == "1"


def _explain_text(inputs: Inputs, profile: str, against: str = "naive", fmt: str = "table",
                  rows: int = 10) -> str:
    p = pipeline.run(inputs, profiles.get(profile))
    q = pipeline.run(inputs, profiles.get(against))
    divergence = explain.diverge(p, q, inputs.y_true, inputs.y_pred)
    buffer = io.StringIO()
    render.Output(fmt, "never", None, True, False, stdout=buffer).emit_explain(inputs, p, q, divergence,
                                                                               rows)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.mark.parametrize("example,profile", [("keras-question", "keras"), ("tiny", "keras"),
                                             ("tiny", "tf-keras")])
def test_explain_matches_golden_text(example, profile):
    text = _explain_text(examples.get(example), profile)
    golden = RENDERED / f"explain_{example}_{profile}.txt"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def _account(example: str, profile: str) -> explain.Divergence:
    inputs = examples.get(example)
    p = pipeline.run(inputs, profiles.get(profile))
    q = pipeline.run(inputs, profiles.NAIVE)
    return explain.diverge(p, q, inputs.y_true, inputs.y_pred)


def test_explain_names_normalise_and_row_2_for_the_keras_question():
    divergence = _account("keras-question", "keras")
    assert divergence.stage == "normalise"
    assert divergence.rows == (1,)
    assert "divided row 2 by its sum 1.99 before the log" in divergence.account
    # row 2: −ln(0.89/1.99) − (−ln 0.89) = ln 1.99 = 0.688135; ÷ N = 3 → 0.229378
    assert divergence.contributions[1] == pytest.approx(np.log(1.99) / 3, rel=1e-6)
    assert "Row 2 alone accounts for 0.2293782 of the 0.2293782 difference." in divergence.account


def test_explain_names_clip_and_cast_for_the_tiny_case():
    divergence = _account("tiny", "keras")
    assert divergence.stage == "clip"
    assert "clipped 1e-11 to 1e-07" in divergence.account
    assert "after cast to float32 had turned 0.99999999999 into 1.0" in divergence.account
    # −ln(1e-7) − (−ln 1e-11) = ln(1e-4) = −9.21034 (float32 clip bound: 1e-7 rounded)
    assert divergence.difference == pytest.approx(np.log(1e-4), rel=1e-6)


def test_explain_json_holds_every_stage_with_its_array():
    data = json.loads(_explain_text(examples.get("keras-question"), "keras", fmt="json"))
    assert data["schema"] == 2
    names = [stage["name"] for stage in data["stages"]]
    assert names == ["cast", "smooth", "normalise", "clip", "log", "combine", "reduce"]
    normalised = data["stages"][2]["array"][1]
    # 0.5/1.99, 0.89/1.99, 0.6/1.99 in float32
    assert normalised == pytest.approx([0.2512563, 0.4472362, 0.3015075], abs=1e-7)
    assert data["stages"][2]["changed"][1] == [True, True, True]
    assert data["divergence"]["stage"] == "normalise"
    assert data["divergence"]["rows"] == [2]
    assert data["against"]["value"] == 0.09458991187728844


def test_explain_fits_80_columns_for_10_classes():
    rng = np.random.default_rng(7)
    p = rng.random((40, 10)) + 0.01
    p[3] *= 3  # one row far from summing to 1
    y = np.eye(10)[rng.integers(0, 10, 40)]
    text = _explain_text(Inputs(y, p), "keras", rows=5)
    widths = [len(line) for line in text.splitlines()]
    assert max(widths) <= 80
    assert "35 not shown (--rows N)" in text


def test_compute_panel_shows_value_profile_and_stages():
    result = pipeline.run(examples.get("keras-question"), profiles.get("tf-keras"))
    buffer = io.StringIO()
    render.Output("table", "never", None, True, False, stdout=buffer).emit_compute(result)
    text = buffer.getvalue()
    assert "0.32396812478942216" in text
    assert "tf-keras — tf.keras (Keras 2)" in text
    assert "cast → smooth → normalise → clip → log → combine → reduce" in text


def test_plain_and_json_values_are_the_exact_widening_of_float32():
    result = pipeline.run(examples.get("tiny"), profiles.get("keras"))
    buffer = io.StringIO()
    render.Output("plain", "never", None, True, False, stdout=buffer).emit_compute(result)
    assert buffer.getvalue() == "16.11809539794922\n"
    buffer = io.StringIO()
    render.Output("json", "never", None, True, False, stdout=buffer).emit_compute(result)
    assert json.loads(buffer.getvalue())["value"] == float(np.float32(16.11809539794922))
