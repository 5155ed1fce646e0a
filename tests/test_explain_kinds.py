"""explain, compare and grad on every kind and rank: 1-D and 2-D binary, multi-output binary,
sparse, categorical, one row, one class, logits. No internal error anywhere (issue 16, issue 15
item 4), and the account names the cell it talks about."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from xentropy_cli.cli import app
from xentropy_cli.core import explain, pipeline, profiles
from xentropy_cli.core.types import Inputs

CASES = [
    ("1-D binary, clipped", ["-t", "[1,0,1,0]", "-p", "[.9,.1,.3,1e-9]"]),
    ("1-D binary, p = 1", ["-t", "[1,0,1,0]", "-p", "[.9,.1,.3,1]"]),
    ("(N, 1) binary", ["-t", "[[1],[0],[1]]", "-p", "[[.9],[1e-9],[1]]"]),
    ("multi-output binary", ["-t", "[[1,0],[0,1]]", "-p", "[[.9,1e-9],[.3,1]]", "--loss", "binary"]),
    ("multi-label binary", ["-t", "[[1,0,1],[0,1,0]]", "-p", "[[.9,.2,.7],[.3,.6,1e-12]]"]),
    ("one row 1-D", ["-t", "[1]", "-p", "[0.3]"]),
    ("one row, one class", ["-t", "[[1]]", "-p", "[[1.0]]"]),
    ("sparse", ["-t", "[1,0]", "-p", "[[.3,.7],[.9,.1]]"]),
    ("sparse, one row", ["-t", "[2]", "-p", "[[.3,.3,.4]]"]),
    ("categorical, one row", ["-t", "[[0,0,1]]", "-p", "[[.3,.3,.4]]"]),
    ("categorical with zeros", ["-t", "[[0,1],[1,0]]", "-p", "[[0,1],[1e-9,1]]"]),
    ("1-D binary logits", ["-t", "[1,0,1]", "-p", "[2,-1,0.5]", "--from-logits"]),
    ("binary logits", ["-t", "[[1,0],[0,1]]", "-p", "[[2,-1],[0.5,3]]", "--from-logits", "--loss",
                       "binary"]),
    ("sparse logits", ["-t", "[1,0]", "-p", "[[2,-1,3],[0.5,3,0]]", "--from-logits"]),
    ("extreme logits", ["-t", "[[1,0,0]]", "-p", "[[1000,0,-1000]]", "--from-logits"]),
]
COMMANDS = [
    ["explain"], ["explain", "--profile", "torch", "--against", "keras"],
    ["explain", "--profile", "sklearn"], ["explain", "--profile", "tf-keras", "--against", "keras-jax"],
    ["explain", "--format", "json"], ["explain", "--format", "csv"], ["explain", "--format", "table"],
    ["compare", "--all"], ["compare", "--all", "--format", "json"], ["compare", "--format", "csv"],
    ["compare", "--format", "table"], ["grad"], ["grad", "--check"], ["grad", "--keras-compat"],
]


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_no_internal_error_on_any_kind_or_rank(runner, case):
    _, args = case
    for command in COMMANDS:
        result = runner.invoke(app, [*command, *args])
        assert result.exit_code in (0, 1, 2), (command, args, result.output)
        assert "internal error" not in result.output and "Traceback" not in result.output, \
            (command, args, result.output)


def test_project_binary_sample_compares():
    result = CliRunner().invoke(app, ["compare", "samples/binary.csv", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["profile"]: row for row in json.loads(result.output)["rows"]}
    # y=[0,0,1,1], p=[1,1,1,0] (design.md): keras 12.000716, torch 75.0, sklearn 27.03274
    assert rows["keras"]["value"] == pytest.approx(12.000716, abs=1e-6)
    assert rows["torch"]["value"] == 75.0
    assert rows["sklearn"]["value"] == pytest.approx(27.03274, abs=1e-5)


def _divergence(y, p, profile, against="naive", kind="auto"):
    inputs = Inputs(np.asarray(y, np.float64), np.asarray(p, np.float64), kind=kind)
    a = pipeline.run(inputs, profiles.get(profile))
    b = pipeline.run(inputs, profiles.get(against))
    return explain.diverge(a, b, inputs.y_true, inputs.y_pred)


def test_binary_column_clip_account_names_the_clipped_value():
    # as a column (one sample per row for every profile; 1-D is one sample to Keras)
    d = _divergence([[1], [0], [1], [0]], [[.9], [.1], [.3], [1e-9]], "keras")
    assert d.stage == "clip"
    # the only clipped value: 1e-9 (row 4, y = 0) → 1e-7; float32 first rounds 1e-9
    assert "clipped 1e-09 to 1e-07 in row 4" in d.account


def test_multi_output_binary_log_account_names_the_output_that_differs():
    # row 2, output 1: p = 1 with y = 1; keras clips p to 1 − 1e-7 in float32 (1 − 2⁻²⁴·…),
    # the naive formula keeps 1; the cell the account names is the one with the largest gap.
    d = _divergence([[1, 0], [0, 1]], [[.9, .5], [.3, 1e-9]], "torch", kind="binary")
    assert "internal" not in d.account
    if d.stage is None:  # per-sample binary is the mean over outputs for both: they may agree
        assert "agree at every stage" in d.account
        return
    y = np.array([[1, 0], [0, 1]], float)
    p = np.array([[.9, .5], [.3, 1e-9]])
    # torch clamps log at −100; naive gives log(1e-9) = −20.72: no clamp hit, so they agree
    # to float32 rounding except where float32 rounding moves p — the account names a row
    # that exists and an output index below 2
    assert any(f"row {r}" in d.account for r in (1, 2))
    assert "output 2" not in d.account and y.shape == p.shape


def test_torch_against_keras_on_multi_output_binary_is_told_consistently():
    """torch's binary loss over (N, K) outputs and Keras's give the same mean (torch: Σ over every
    element ÷ N·K; Keras: mean over the outputs per sample, ÷ N). Whatever per-sample definition
    each profile uses, explain must not claim a difference in the value that is not there."""
    y = [[1, 0], [0, 1]]
    p = [[.9, .2], [.3, .6]]
    d = _divergence(y, p, "torch", "keras", kind="binary")
    # by hand: per output −ln .9, −ln .8, −ln .7, −ln .6; mean of all four
    expected = -(np.log(.9) + np.log(.8) + np.log(.7) + np.log(.6)) / 4
    inputs = Inputs(np.asarray(y, float), np.asarray(p, float), kind="binary")
    torch = pipeline.run(inputs, profiles.get("torch"))
    keras = pipeline.run(inputs, profiles.get("keras"))
    assert float(torch.value) == pytest.approx(expected, rel=1e-6)
    assert float(keras.value) == pytest.approx(expected, rel=1e-6)
    assert abs(d.difference) < 1e-6
    if d.stage is not None:
        assert "agree within rounding" in d.account
        assert "account for" not in d.account  # no rows "accounting" for a difference of 0


def test_a_nan_difference_is_not_shared_out_among_rows():
    """Row 2's nan p gives keras a nan loss: the account says which row is not finite instead of
    "Row 2 alone accounts for 0 of the nan difference" (np.nansum of the shares)."""
    text = _divergence([[1, 0, 0], [0, 1, 0], [0, 0, 1]],
                       [[0.7, 0.2, 0.1], [np.nan, 0.8, 0.1], [0.2, 0.2, 0.6]], "keras").account
    assert "Row 2 gives a non-finite contribution, so the difference is nan." in text
    assert "accounts for" not in text


@pytest.mark.parametrize(("losses", "edges"), [
    ([2.5e-323, -0.0], [-0.0, 2.5e-323]),  # a few subnormals apart: linspace cannot split them
    ([1e308, -1e308], list(np.linspace(-0.5e308, 0.5e308, 9) * 2)),  # the span overflows
    ([1e308, 1e308], [1e308, np.nextafter(1e308, np.inf)]),  # one value
    ([np.finfo(np.float64).max] * 2, [np.nextafter(np.finfo(np.float64).max, 0), np.finfo(np.float64).max]),
])
def test_histogram_edges_increase_and_stay_finite_for_any_span(losses, edges):
    """np.histogram needs increasing edges: equal bins of a span of subnormals decrease, of a span
    that overflows are inf (explain used to stop with an internal error, exit 70)."""
    pairs = np.column_stack([losses, losses])
    got = explain.histogram(lambda: [pairs])
    assert got.edges.tolist() == edges
    assert got.counts[0].sum() == got.counts[1].sum() == len(losses)


@pytest.mark.parametrize("args", [
    ["-t", "[[1e-323,0],[1,0]]", "-p", "[[0.1,0.9],[1,0]]", "--loss", "categorical", "--profile", "naive"],
    ["-t", "[[1,0],[1,0]]", "-p", "[[0.2,0.8],[0.2,0.8]]", "-w", "[1e308,-1e308]"],
])
def test_explain_shows_a_histogram_of_extreme_losses(args):
    done = CliRunner().invoke(app, ["explain", *args, "--format", "json"])
    assert done.exit_code == 0, done.output
    histogram = json.loads(done.stdout)["histogram"]
    edges = histogram["edges"]
    assert all(a < b for a, b in zip(edges, edges[1:], strict=False)) and histogram["rows"] == 2
    assert sum(histogram["counts"]["profile"]) + histogram["non_finite"]["profile"] == 2


@pytest.mark.parametrize(("p", "profile"), [([[1e308, 1e308]], "tf-keras"), ([[np.inf, -np.inf]], "keras")])
def test_explain_keeps_numpys_warnings_to_itself(p, profile):
    """Rows whose sum overflows, or is inf − inf, are the profile's business (its notices); the
    suite turns RuntimeWarnings into errors, so one from explain fails here."""
    import xentropy_cli as xent

    shown = xent.explain([[1, 0]], p, profile)
    assert shown.text() and shown.to_dict()
