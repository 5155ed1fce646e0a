"""Gradients: hand-computed values, finite differences on every profile, the surrogate form, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from typer.testing import CliRunner

from xentropy_cli.cli import app
from xentropy_cli.core import grad, profiles
from xentropy_cli.core.types import Inputs, Options
from xentropy_cli.errors import UsageError

# softmax([1, 2, 3]) = (e⁻², e⁻¹, 1) / (1 + e⁻¹ + e⁻²);  e⁻¹ = 0.36787944117144233,
# e⁻² = 0.1353352832366127, 1 + e⁻¹ + e⁻² = 1.5032147244080551.
P1 = np.array([0.1353352832366127, 0.36787944117144233, 1.0]) / 1.5032147244080551
# = [0.09003057317038046, 0.24472847105479764, 0.6652409557748218]; softmax([0, 0, 0]) = 1/3 each.
Z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
Y = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
LOGIT_PROFILES = ["naive", "keras", "keras-jax", "keras-torch", "keras-numpy", "tf-keras", "torch", "optax"]


def g(y, p, profile="naive", options=None, derivative="exact", **kw):
    return grad.gradient(Inputs(np.asarray(y, float), np.asarray(p, float), **kw), profiles.get(profile),
                         options or Options(), derivative)


# --- hand-computed values ------------------------------------------------------------------------

def test_hand_computed_2x3_logits_mean():
    # (softmax(z) − y) / N with N = 2:
    # row 1: ([0.09003057, 0.24472847, 0.66524096] − [0, 0, 1]) / 2 = [0.04501529, 0.12236424, −0.16737952]
    # row 2: ([1/3, 1/3, 1/3] − [1, 0, 0]) / 2 = [−1/3, 1/6, 1/6]
    expected = np.array([[0.04501528658519023, 0.12236423552739882, -0.16737952211258910],
                         [-1 / 3, 1 / 6, 1 / 6]])
    result = g(Y, Z, from_logits=True)
    assert result.wrt == "logits" and result.divisor == 2.0
    np.testing.assert_allclose(result.grad, expected, rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(result.grad[0], (P1 - Y[0]) / 2, rtol=1e-15)
    # the loss: (−ln 0.66524096 + ln 3)/2 = (0.40760596444437564 + 1.0986122886681098)/2
    assert result.value == pytest.approx(0.7531091265562427, rel=1e-14)


@pytest.mark.parametrize("profile", LOGIT_PROFILES)
def test_every_logit_profile_gives_p_minus_y(profile):
    options = Options(reduction="mean") if profile == "optax" else Options()
    result = g(Y, Z, profile, options, from_logits=True)
    np.testing.assert_allclose(result.grad, (np.vstack([P1, [1 / 3] * 3]) - Y) / 2, rtol=1e-14, atol=1e-16)


def test_hand_computed_2x3_probabilities_naive_and_keras():
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    # naive: −y/p / N: row 1 −1/0.5/2 = −1 at the true class, row 2 −1/0.6/2 = −0.8333…
    np.testing.assert_allclose(g(Y, p).grad, [[0, 0, -1.0], [-1 / 1.2, 0, 0]], rtol=1e-15)
    # keras normalises first: L = −log(p_t/Σp), so ∂/∂p_k = (1/Σp − δ_kt/p_t)/N with Σp = 1:
    # row 1: (1 − [0, 0, 2])/2 = [0.5, 0.5, −0.5]; row 2: (1 − [1/0.6, 0, 0])/2 = [−1/3, 0.5, 0.5]
    np.testing.assert_allclose(g(Y, p, "keras").grad, [[0.5, 0.5, -0.5], [-1 / 3, 0.5, 0.5]], rtol=1e-13)


def test_hand_computed_binary_logits():
    # σ(0) = 0.5, σ(2) = 0.8807970779778823; (σ − y)/K/N with K = 2 outputs, N = 1
    result = g([[1.0, 0.0]], [[0.0, 2.0]], from_logits=True, kind="binary")
    np.testing.assert_allclose(result.grad, [[-0.25, 0.8807970779778823 / 2]], rtol=1e-15)


def test_binary_probabilities_and_tf_keras_offset():
    y, p = [[1.0, 0.0]], [[0.5, 0.25]]
    # −(y/p − (1 − y)/(1 − p))/K: [−(1/0.5)/2, (1/0.75)/2] = [−1, 0.6667]
    np.testing.assert_allclose(g(y, p, kind="binary").grad, [[-1.0, 2 / 3]], rtol=1e-15)
    # tf.keras adds 1e-7 inside the logs: −1/(0.5 + 1e-7)/2 and 1/(0.75 + 1e-7)/2
    np.testing.assert_allclose(g(y, p, "tf-keras", kind="binary").grad,
                               [[-1 / (0.5 + 1e-7) / 2, 1 / (0.75 + 1e-7) / 2]], rtol=1e-15)


def test_torch_log_floor_passes_no_gradient():
    # torch BCE: log 0 = −inf is raised to −100, a constant: no gradient through p = 0 for y = 1
    result = g([[1.0], [1.0]], [[0.0], [0.5]], "torch", kind="binary")
    np.testing.assert_allclose(result.grad, [[0.0], [-1 / 0.5 / 2]], rtol=1e-15)


def test_label_smoothing_moves_the_target():
    # ỹ = y·(1 − 0.3) + 0.3/3 = [0.1, 0.1, 0.8] for row 1; gradient (p − ỹ)/N
    result = g(Y, Z, "keras", Options(label_smoothing=0.3), from_logits=True)
    np.testing.assert_allclose(result.grad[0], (P1 - [0.1, 0.1, 0.8]) / 2, rtol=1e-14)


def test_seed_case_clip_stops_learning_under_keras_not_naive():
    y, p = [[0.0, 1.0]], [[0.99999999999, 1e-11]]
    keras = g(y, p, "keras")
    assert keras.grad.tolist() == [[0.0, 0.0]]  # exactly 0: both cells are clipped
    assert keras.clipped.tolist() == [[True, True]]
    naive = g(y, p)
    assert naive.clipped.tolist() == [[False, False]]
    # −y/p = −1/1e-11 = −1e11 at the true class, 0 elsewhere
    np.testing.assert_allclose(naive.grad, [[0.0, -1e11]], rtol=1e-12)


def test_tf_sparse_clip_zeroes_the_input_cell_but_normalise_first_does_not():
    # p = [1e-9, 0.5, 0.5 − 1e-9], label 1. keras (TF): clip → log → renormalise: the clipped cell
    # is constant. keras-jax normalises first: ∂/∂p₀ of −log(p₁/Σp) = 1/Σp = 1 (Σp = 1).
    y, p = [1.0], [[1e-9, 0.5, 0.5 - 1e-9]]
    tf = g(y, p, "keras", kind="sparse")
    assert tf.grad[0, 0] == 0.0 and tf.clipped[0, 0]
    jax = g(y, p, "keras-jax", kind="sparse")
    assert jax.clipped[0, 0]
    assert jax.grad[0, 0] == pytest.approx(1.0, rel=1e-12)


# --- weights and divisors ------------------------------------------------------------------------

@pytest.mark.parametrize("reduction,divisor", [("sum_over_batch_size", 2.0), ("mean_with_sample_weight", 2.5),
                                               ("sum", 1.0), ("none", 1.0)])
def test_weights_and_divisor(reduction, divisor):
    w = np.array([2.0, 0.5])  # Σw = 2.5
    result = g(Y, Z, "keras", Options(reduction=reduction), from_logits=True, sample_weight=w)
    expected = (np.vstack([P1, [1 / 3] * 3]) - Y) * w[:, None] / divisor
    assert result.divisor == divisor
    np.testing.assert_allclose(result.grad, expected, rtol=1e-14, atol=1e-16)


def test_scalar_weight_cancels_under_mean_with_sample_weight():
    # Keras 3: Σ w·l ÷ w with one number w = 2.5 → Σ l, so the gradient is p − y unscaled
    result = g(Y, Z, "keras", Options(reduction="mean_with_sample_weight"), from_logits=True,
               sample_weight=np.array(2.5))
    np.testing.assert_allclose(result.grad, np.vstack([P1, [1 / 3] * 3]) - Y, rtol=1e-14, atol=1e-16)


def test_torch_class_weights_divide_by_weight_of_targets():
    # labels [2, 0], c = [1, 2, 3]: l₁ = −3·log p₁₂, l₂ = −1·log p₂₀, D = c[2] + c[0] = 4
    result = g([2.0, 0.0], Z, "torch", from_logits=True, class_weight=np.array([1.0, 2.0, 3.0]))
    assert result.divisor == 4.0
    np.testing.assert_allclose(result.grad[0], 3 * (P1 - [0, 0, 1]) / 4, rtol=1e-14)
    np.testing.assert_allclose(result.grad[1], 1 * (np.full(3, 1 / 3) - [1, 0, 0]) / 4, rtol=1e-14)


# --- finite differences --------------------------------------------------------------------------

def _random(seed, n=6, k=4):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 3
    labels = rng.integers(0, k, n)
    soft = rng.dirichlet(np.ones(k), size=n)
    p = rng.dirichlet(np.ones(k), size=n) * rng.uniform(0.9, 1.1, (n, 1))  # rows near, not at, 1
    return z, labels, soft, p


@pytest.mark.parametrize("profile", LOGIT_PROFILES)
@pytest.mark.parametrize("kind", ["categorical", "sparse", "binary"])
def test_finite_differences_pass_on_logits(profile, kind):
    z, labels, soft, _ = _random(1)
    y = {"categorical": soft, "sparse": labels.astype(float),
         "binary": (soft > 0.25).astype(float)}[kind]
    check = grad.finite_difference(Inputs(y, z, kind=kind, from_logits=True), profiles.get(profile))
    assert check.passed, (check.max_abs_error, check.max_rel_error, check.worst)
    assert check.rows.size == z.size and not check.kinks and not check.undefined
    assert check.max_rel_error < 1e-5


@pytest.mark.parametrize("profile", ["naive", "keras", "keras-jax", "tf-keras", "torch", "sklearn"])
def test_finite_differences_pass_on_probabilities(profile):
    _, labels, _, p = _random(2)
    if profile == "sklearn":
        p = p / p.sum(axis=1, keepdims=True)  # log_loss refuses probabilities above 1
    y = np.eye(p.shape[1])[labels]
    check = grad.finite_difference(Inputs(y, p), profiles.get(profile))
    assert check.passed and check.rows.size == p.size, (check.max_rel_error, check.worst)


@pytest.mark.parametrize("profile", ["naive", "keras", "tf-keras", "torch"])
def test_finite_differences_pass_on_binary_probabilities_with_weights(profile):
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=(5, 3)) > 0.5).astype(float)
    p = rng.uniform(0.02, 0.98, (5, 3))
    w = None if profile == "torch" else rng.uniform(0.1, 3, 5)
    check = grad.finite_difference(Inputs(y, p, sample_weight=w), profiles.get(profile))
    assert check.passed, (check.max_rel_error, check.worst)


def test_finite_differences_on_the_seed_case():
    y, p = [[0.0, 1.0]], [[0.99999999999, 1e-11]]
    naive = grad.finite_difference(Inputs(np.array(y), np.array(p)), profiles.get("naive"))
    assert naive.passed and naive.numeric[1] == pytest.approx(-1e11, rel=1e-8)
    keras = grad.finite_difference(Inputs(np.array(y), np.array(p)), profiles.get("keras"))
    assert keras.passed and keras.numeric.tolist() == [0.0, 0.0]


def test_cells_on_a_clip_bound_are_kinks_not_failures():
    # keras clips at 1e-7 and 1 − 1e-7; a cell exactly there is a kink: ±h land on both sides
    check = grad.finite_difference(Inputs(np.array([[0.0, 1.0]]), np.array([[1e-7, 1 - 1e-7]])),
                                   profiles.get("keras"))
    assert check.kinks == ((0, 0), (0, 1))
    assert not check.passed  # nothing left to score


def test_a_sample_of_cells_uses_the_per_row_method():
    z, labels, _, _ = _random(4, n=300, k=5)  # 1500 cells > 1000: a sample of 200
    check = grad.finite_difference(Inputs(labels.astype(float), z, from_logits=True),
                                   profiles.get("keras"))
    assert check.sampled and check.method == "per-row" and check.rows.size == 200
    assert check.passed
    again = grad.finite_difference(Inputs(labels.astype(float), z, from_logits=True),
                                   profiles.get("keras"), cells=50)
    assert again.rows.size == 50 and again.passed


def test_a_wrong_gradient_fails_the_check(monkeypatch):
    original = grad._backward

    def doubled(*args, **kw):
        out = original(*args, **kw)
        return replace(out, grad=2 * out.grad)

    monkeypatch.setattr(grad, "_backward", doubled)
    check = grad.finite_difference(Inputs(Y, Z, from_logits=True), profiles.get("naive"))
    assert not check.passed and check.n_failed == 6
    # analytic 2·(p − y)/N against the true (p − y)/N: relative error 1/2 everywhere
    assert check.max_rel_error == pytest.approx(0.5, rel=1e-6)


# --- the surrogate -------------------------------------------------------------------------------

def test_surrogate_hand_computed_value_and_matching_gradient():
    s = grad.surrogate(Inputs(Y, Z, from_logits=True), profiles.get("naive"))
    # row 1: (P − Q)·z = 0.09003057·1 + 0.24472847·2 + (0.66524096 − 1)·3 = −0.42478961739555856
    # row 2: z = 0 → 0;  mean = −0.21239480869777928, while the cross-entropy is 0.7531091265562427
    assert s.value == pytest.approx(-0.21239480869777928, rel=1e-13)
    assert s.cross_entropy == pytest.approx(0.7531091265562427, rel=1e-14)
    assert s.max_gap <= 1e-12


@settings(max_examples=40, deadline=None)
@given(hs.integers(0, 2**31 - 1), hs.sampled_from(["naive", "keras", "torch", "optax"]))
def test_surrogate_gradient_equals_analytic(seed, profile):
    z, _, soft, _ = _random(seed, n=5, k=4)
    s = grad.surrogate(Inputs(soft, z * 10, from_logits=True), profiles.get(profile))
    assert s.max_gap <= 1e-12
    # targets sum to 1, so each row of p − q sums to 0
    np.testing.assert_allclose(s.grad.sum(axis=1), 0, atol=1e-12)


def test_surrogate_weighted_and_binary():
    w = np.array([2.0, 0.5])
    s = grad.surrogate(Inputs(Y, Z, from_logits=True, sample_weight=w), profiles.get("keras"),
                       Options(reduction="mean_with_sample_weight"))
    assert s.max_gap <= 1e-12
    # (2·(−0.42478961739555856) + 0.5·0) / 2.5
    assert s.value == pytest.approx(2 * -0.42478961739555856 / 2.5, rel=1e-13)
    b = grad.surrogate(Inputs(np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]]), kind="binary",
                              from_logits=True), profiles.get("naive"))
    # ((σ − y)·z).mean() = ((0.5 − 1)·0 + 0.8807970779778823·2)/2
    assert b.value == pytest.approx(0.8807970779778823, rel=1e-14) and b.max_gap <= 1e-12


def test_surrogate_refuses_probabilities():
    with pytest.raises(UsageError, match="logits"):
        grad.surrogate(Inputs(Y, np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])), profiles.get("naive"))


# --- the command line ----------------------------------------------------------------------------

T, P = "[[0,0,1],[1,0,0]]", "[[1,2,3],[0,0,0]]"


def run(*args):
    return CliRunner().invoke(app, ["grad", *args], catch_exceptions=False)


def test_cli_plain_prints_the_matrix():
    result = run("-t", T, "-p", P, "--from-logits", "--format", "plain")
    assert result.exit_code == 0
    rows = [[float(x) for x in line.split(" ")] for line in result.stdout.splitlines()]
    np.testing.assert_allclose(rows, (np.vstack([P1, [1 / 3] * 3]) - Y) / 2, rtol=1e-15, atol=1e-16)


def test_cli_json_with_check_and_surrogate():
    result = run("-t", T, "-p", P, "--from-logits", "--check", "--surrogate", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["schema"], data["command"], data["wrt"], data["divisor"]) == (2, "grad", "logits", 2.0)
    assert data["gradient"][1] == pytest.approx([-1 / 3, 1 / 6, 1 / 6], rel=1e-15)
    assert data["check"]["passed"] is True and data["check"]["cells_checked"] == 6
    assert data["surrogate"]["value"] == pytest.approx(-0.21239480869777928, rel=1e-13)


def test_cli_json_marks_clipped_cells():
    result = run("-t", "[[0,1]]", "-p", "[[0.99999999999,1e-11]]", "--keras-compat", "-f", "json", "-q")
    data = json.loads(result.stdout)
    assert data["gradient"] == [[0.0, 0.0]] and data["clipped"] == [[1, 0], [1, 1]]
    assert data["dtype_modelled"] == "float32"


def test_cli_csv_one_row_per_cell():
    result = run("-t", T, "-p", P, "--from-logits", "--check", "-f", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == "sample,class,gradient,exact,departs,clipped,numeric,check"
    assert lines[4].split(",")[:6] == ["2", "0", repr(-1 / 3 - 5.551115123125783e-17),
                                       repr(-1 / 3 - 5.551115123125783e-17), "0", "0"]
    assert all(line.endswith(",ok") for line in lines[1:]) and len(lines) == 7


def test_cli_table_shows_check_and_surrogate(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    result = run("-t", T, "-p", P, "--from-logits", "--check", "--surrogate", "-f", "table")
    assert result.exit_code == 0
    assert "PASSED" in result.stdout and "surrogate value      -0.2123948086977794" in result.stdout
    assert "0.0450153" in result.stdout


def test_cli_check_failure_exits_1(monkeypatch):
    original = grad._backward
    monkeypatch.setattr(grad, "_backward",
                        lambda *a, **kw: replace(out := original(*a, **kw), grad=out.grad * 2))
    result = run("-t", T, "-p", P, "--from-logits", "--check", "-f", "plain")
    assert result.exit_code == 1
    assert "gradient check failed in 6 of 6 cells" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--surrogate"], "needs logits"),
    (["--cells", "5"], "--cells only applies to --check"),
    (["--check", "--cells", "0"], "not a positive number"),
])
def test_cli_usage_errors_exit_2(args, message):
    result = run("-t", T, "-p", "[[.2,.3,.5],[.6,.3,.1]]", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_cli_help_has_examples():
    result = run("--help")
    assert result.exit_code == 0 and "Examples:" in result.stdout and "xent grad" in result.stdout
    assert "--check" in result.stdout and "--surrogate" in result.stdout


# --- against the real frameworks -----------------------------------------------------------------

GOLDEN = json.loads((Path(__file__).parent / "golden" / "grad.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_gradient_matches_framework_autograd(name):
    # Recorded from tf.GradientTape / torch autograd in float32: xent's float64 gradient of the same
    # stages agrees to float32 precision (the seed 1×2 case is exactly 0 in both).
    case = GOLDEN[name]
    inputs = Inputs(np.array(case["y_true"], float), np.array(case["y_pred"], float),
                    kind=case.get("kind", "auto"), from_logits=case.get("from_logits", False),
                    sample_weight=np.array(case["sample_weight"]) if "sample_weight" in case else None,
                    class_weight=np.array(case["class_weight"], float) if "class_weight" in case else None)
    result = grad.gradient(inputs, profiles.get(case["profile"]),
                           Options(label_smoothing=case.get("label_smoothing", 0.0)))
    np.testing.assert_allclose(result.grad, case["gradient"], rtol=5e-7, atol=4e-8)
    assert result.value == pytest.approx(case["value"], rel=5e-7)


def test_cli_built_in_example_and_stdin():
    # the seed's 1×2 case under keras: both cells clipped, so the gradient is exactly 0
    result = run("--example", "tiny", "--keras-compat", "--check", "-f", "plain", "-q")
    assert result.exit_code == 0 and result.stdout == "0.0 0.0\n"
    # no input option: read stdin. −y/p = −1/0.7 at the true class (N = 1)
    piped = CliRunner().invoke(app, ["grad", "-f", "plain"], input='{"y_true":[[0,1]],"y_pred":[[0.3,0.7]]}')
    assert piped.exit_code == 0 and piped.stdout == f"0.0 {-1 / 0.7!r}\n"


# --- the gradient each framework backpropagates (tests/golden/grad_edges.json) -------------------

EDGES = json.loads((Path(__file__).parent / "golden" / "grad_edges.json").read_text())
EDGE_PROFILES = ["keras", "keras-jax", "keras-torch", "tf-keras", "torch", "optax"]
F32 = float(np.finfo(np.float32).eps)


def _edge_inputs(case, dtype=None):
    dtype = dtype or case["dtype"]
    return (Inputs(np.array(case["y_true"], float), np.array(case["y_pred"], dtype), kind=case["kind"],
                   from_logits=case["from_logits"],
                   sample_weight=np.array(case["sample_weight"], dtype) if "sample_weight" in case else None,
                   class_weight=np.array(case["class_weight"]) if "class_weight" in case else None),
            Options(label_smoothing=case.get("label_smoothing", 0.0), reduction=case.get("reduction")))


def _unit(case, result):
    """wᵢ/D per row: the scale of p − y, so the size of float32 rounding in a cancelling cell."""
    w = np.asarray(case.get("sample_weight", 1.0), float) * max(case.get("class_weight", [1.0]))
    return np.broadcast_to(w / result.divisor, (result.n_samples,))[:, None]


def _matches(got, want, unit, eps=F32):
    """Same nan and ±inf cells, and elsewhere within 8 ulps (of the framework's dtype, ``eps``) of the
    cell, of the row's largest gradient or of wᵢ/D (rounding, cancellation included)."""
    special = ~np.isfinite(want) | ~np.isfinite(got)
    with np.errstate(invalid="ignore"):
        same = (np.isnan(got) & np.isnan(want)) | (got == want)
        row = np.max(np.where(np.isfinite(want), np.abs(want), 0.0), axis=1, keepdims=True)
        close = np.abs(got - want) <= 8 * eps * (np.abs(want) + row + unit)
    return np.where(special, same, close)


@pytest.mark.parametrize("profile", EDGE_PROFILES)
def test_framework_gradient_matches_its_autodiff_on_random_edge_cases(profile):
    # Every cell of every case: xent's framework gradient against the framework's own autodiff
    # (float32, recorded by tools/gen_grad.py), nan and ±inf in the same cells.
    # Keras: 4 more cases with rows summing to less than 1e-19; tf.keras keeps float64 input in
    # float64: 6 more, compared within float64 rounding.
    cases = [c for c in EDGES["cases"] if c["profile"] == profile]
    n = {"tf-keras": 34, "torch": 24, "optax": 24}.get(profile, 28)
    assert len(cases) == n
    cells = matched = special = 0
    for case in cases:
        inputs, options = _edge_inputs(case)
        result = grad.gradient(inputs, profiles.get(profile), options)
        want = np.array(case["gradient"], float)
        ok = _matches(result.grad, want, _unit(case, result), float(np.finfo(case["dtype"]).eps))
        assert ok.all(), (case["id"], np.argwhere(~ok).tolist(), result.grad[~ok], want[~ok])
        assert result.value == pytest.approx(case["value"], rel=1e-5, nan_ok=True)
        cells, matched = cells + ok.size, matched + int(ok.sum())
        special += int((~np.isfinite(want)).sum())
    assert (cells, matched) == (20 * n, 20 * n)
    # torch: 11 nan, 12 ±inf (log's backward at p = 0, 1/p overflowing); keras-jax: 32 nan (s⁻²)
    assert special == {"torch": 23, "keras-jax": 32}.get(profile, 0)


# Where each framework's gradient departs from the true derivative on these cases, by reason, cells.
DEPARTURES = {
    "keras": {"softmax_xent": 22},
    "tf-keras": {"softmax_xent": 28},
    "keras-jax": {"clip_tie": 27, "div_pow": 32},
    "keras-torch": {},
    "torch": {"bce_floor": 22, "log_zero_grad": 11, "float32": 3},
    "optax": {},
}


@pytest.mark.parametrize("profile", EDGE_PROFILES)
def test_the_true_derivative_departs_where_the_framework_rules_say(profile):
    # The recorded autodiff departs from the true derivative in exactly the cells xent says, for the
    # reasons listed: the framework rules are what makes the test above pass.
    found: dict[str, int] = {}
    for case in (c for c in EDGES["cases"] if c["profile"] == profile):
        inputs, options = _edge_inputs(case)
        result = grad.gradient(inputs, profiles.get(profile), options)
        for d in result.departures:
            found[d.code] = found.get(d.code, 0) + d.cells
        recorded = grad.departing(np.array(case["gradient"], float), result.exact, _unit(case, result))
        assert np.array_equal(recorded, result.departs), case["id"]
    assert found == DEPARTURES[profile]


@pytest.mark.parametrize("profile", EDGE_PROFILES)
def test_true_derivative_matches_central_differences_on_the_edge_cases(profile):
    scored = 0
    for case in (c for c in EDGES["cases"] if c["profile"] == profile):
        inputs, options = _edge_inputs(case, "float64")
        check = grad.finite_difference(inputs, profiles.get(profile), options)
        assert check.passed, (case["id"], check.max_rel_error, check.worst)
        scored += check.rows.size
    assert scored >= 400  # of 480 cells; the rest sit on a clip bound or where the loss is not finite


# --- each framework rule, by hand ------------------------------------------------------------------

def test_torch_log_backward_gives_nan_at_p_zero_where_y_is_zero():
    # -(y·log p).sum(-1).mean(): ḡ_logp = −y/N, log's backward ḡ/p: 0/0 = nan at (1, 1), −1/(2·0.5)
    result = g([[1, 0, 0], [0, 1, 0]], [[0.5, 0.0, 0.5], [0.1, 0.9, 1e-13]], "torch", derivative="framework")
    assert np.isnan(result.grad[0, 1]) and result.exact[0, 1] == 0.0
    assert result.grad[0, 0] == -1.0 and result.grad[1, 2] == 0.0
    assert result.grad[1, 1] == pytest.approx(-1 / 1.8, rel=1e-7)
    assert result.departs.tolist() == [[False, True, False], [False, False, False]]
    notice = [n for n in result.notices if n.code.startswith("backward")]
    assert len(notice) == 1 and notice[0].code == "backward_log_zero_grad" and notice[0].rows == (1,)
    assert notice[0].counts == (1,) and notice[0].values[:2] == (1.0, 1.0)  # row 1, class 1
    assert np.isnan(notice[0].values[2]) and notice[0].values[3] == 0.0
    assert "0·(1/0) in log's backward" in notice[0].message and "row 1, class 1" in notice[0].message
    assert g([[1, 0, 0]], [[0.5, 0.0, 0.5]], "torch").grad[0, 1] == 0.0  # the derivative


def test_torch_bce_backward_floors_p_one_minus_p():
    # F.binary_cross_entropy, mean over N·K = 3: ḡ·(p − y)/max(p(1 − p), 1e-12), ḡ = 1/3
    y, p = [[0.0], [0.0], [1.0]], [[1e-30], [0.0], [1e-13]]
    result = g(y, p, "torch", derivative="framework", kind="binary")
    expected = [[1e-30 / 1e-12 / 3], [0.0], [(1e-13 - 1) / 1e-12 / 3]]
    np.testing.assert_allclose(result.grad, expected, rtol=1e-6)
    # the derivative of the floored forward: 1/(1 − p)/3, 1/3, −1/(3·1e-13)
    np.testing.assert_allclose(result.exact, [[1 / 3], [1 / 3], [-1 / 3e-13]], rtol=1e-12)
    assert [d.code for d in result.departures] == ["bce_floor"] and result.departures[0].cells == 3


def test_tensorflow_fused_softmax_xent_assumes_targets_sum_to_one():
    # y = [1, 1, 0]: TensorFlow backpropagates (P − y)/N; the derivative is (P·Σy − y)/N
    y, z = [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    for profile in ("keras", "tf-keras"):
        result = g(y, z, profile, derivative="framework", from_logits=True, kind="categorical")
        np.testing.assert_allclose(result.grad[0], (P1 - [1, 1, 0]) / 2, rtol=1e-6)
        np.testing.assert_allclose(result.exact[0], (2 * P1 - [1, 1, 0]) / 2, rtol=1e-13)
        np.testing.assert_allclose(result.grad[1], result.exact[1], rtol=1e-6)  # Σy = 1: the same
        assert result.departs[0].all() and not result.departs[1].any()
    jax = g(y, z, "keras-jax", derivative="framework", from_logits=True, kind="categorical")
    np.testing.assert_allclose(jax.grad[0], (2 * P1 - [1, 1, 0]) / 2, rtol=1e-6)


def test_jax_clip_passes_half_the_gradient_at_a_bound():
    # binary y = 0, p = float32(1e-7) = ε exactly: −log(1 − p) has derivative 1/(1 − p) (K = N = 1).
    lo = float(np.float32(1e-7))
    tf = g([[0.0]], [[lo]], "keras", derivative="framework", kind="binary")
    jax = g([[0.0]], [[lo]], "keras-jax", derivative="framework", kind="binary")
    assert tf.grad[0, 0] == pytest.approx(1 / (1 - lo), rel=1e-7) and not tf.departures
    assert jax.grad[0, 0] == pytest.approx(0.5 / (1 - lo), rel=1e-7)
    assert [d.code for d in jax.departures] == ["clip_tie"]


def test_jax_normalise_backward_overflows_on_rows_summing_below_1e_19():
    # p = [1e-30, 0, 1e-30]: s = 2e-30, s² underflows float32, so JAX's ḡ_s = Σ(−ḡ·p)·s⁻² is
    # 0·inf = nan; TensorFlow's (−p/s)/s stays finite. y = 0 in that row: the derivative is 0.
    y, p = [[1, 0, 0], [0, 0, 0]], [[0.5, 0.25, 0.25], [1e-30, 0.0, 1e-30]]
    jax = g(y, p, "keras-jax", derivative="framework", kind="categorical")
    tf = g(y, p, "keras", derivative="framework", kind="categorical")
    assert np.isnan(jax.grad[1]).all() and tf.grad[1].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(jax.grad[0], tf.grad[0], rtol=1e-6)
    assert [d.code for d in jax.departures] == ["div_pow"] and jax.departures[0].first == (1, 0)


def test_profiles_without_autodiff_give_the_derivative():
    for profile in ("naive", "sklearn", "keras-numpy"):
        result = g([[1, 0, 0]], [[0.5, 0.25, 0.25]], profile, derivative="framework")
        assert result.engine == "the true derivative" and np.array_equal(result.grad, result.exact)


def test_cli_derivative_exact_and_the_second_column():
    args = ["-t", "[[1,0,0],[0,1,0]]", "-p", "[[0.5,0,0.5],[0.1,0.9,1e-13]]", "--profile", "torch"]
    plain = run(*args, "-f", "plain", "-q")
    assert plain.exit_code == 0 and plain.stdout.splitlines()[0] == "-1.0 nan 0.0"
    exact = run(*args, "--derivative", "exact", "-f", "plain")
    assert exact.stdout.splitlines()[0] == "-1.0 0.0 0.0" and "departs" not in exact.stderr
    data = json.loads(run(*args, "-f", "json", "-q").stdout)
    assert (data["derivative"], data["autodiff"], data["dtype"]) == ("framework", "torch autograd", "float32")
    assert data["gradient"][0][1] == "nan" and data["true_derivative"][0][1] == 0.0
    assert data["departs"] == [[1, 1]] and data["departures"][0]["code"] == "log_zero_grad"
    assert data["warnings"][-1]["code"] == "backward_log_zero_grad"
    csv = run(*args, "-f", "csv", "-q").stdout.splitlines()
    assert csv[0] == "sample,class,gradient,exact,departs,clipped" and csv[2] == "1,1,nan,0.0,1,0"
    strict = run(*args, "-f", "plain", "--strict")
    assert strict.exit_code == 1
    table = run(*args, "-f", "table")
    assert "torch autograd departs from the true derivative" in table.stdout and "≠" in table.stdout
    bad = run(*args, "--derivative", "bogus")
    assert bad.exit_code == 2 and "--derivative" in bad.stderr


@settings(max_examples=25, deadline=None)
@given(hs.integers(0, 2**31 - 1), hs.sampled_from(LOGIT_PROFILES),
       hs.sampled_from(["categorical", "sparse", "binary"]))
def test_away_from_the_edges_every_framework_backpropagates_the_derivative(seed, profile, kind):
    # Targets that sum to 1 and logits of moderate size: no framework rule fires.
    z, labels, soft, _ = _random(seed)
    y = {"categorical": soft, "sparse": labels.astype(float), "binary": (soft > 0.25).astype(float)}[kind]
    result = g(y, z, profile, derivative="framework", from_logits=True, kind=kind)
    assert not result.departures and not result.departs.any()
    np.testing.assert_allclose(result.grad, result.exact, rtol=1e-5, atol=1e-7)


def test_check_json_names_where_the_framework_departs():
    # row 1's loss is nan in torch (0·log 0), so only row 2 is scored; the check still names row 1
    data = json.loads(run("-t", "[[1,0,0],[0,1,0]]", "-p", "[[0.5,0,0.5],[0.1,0.9,1e-13]]", "--profile",
                          "torch", "--check", "-f", "json", "-q").stdout)
    assert data["check"]["cells_checked"] == 3 and len(data["check"]["undefined"]) == 3
    assert data["check"]["passed"] is True and data["check"]["compared_with"] == "the true derivative"
    assert [d["code"] for d in data["check"]["framework_departs"]] == ["log_zero_grad"]
    assert data["check"]["framework_departs"][0]["first"] == [1, 1]


@pytest.mark.parametrize("profile, label", [("keras-jax", 5), ("keras-numpy", -1)])
def test_a_label_out_of_range_has_a_zero_gradient_row(profile, label):
    """JAX's and numpy's one_hot make label 5 (of 2 classes; numpy: −1) an all-zero row, whose loss
    −0·Σ log p is a constant: its gradient is 0, and the finite differences agree. It was the
    gradient for class 0, which validation stands in for the label (−0.5, 0.5 here)."""
    done = CliRunner().invoke(app, ["grad", "-t", f"[{label},1]", "-p", "[[.5,.5],[.5,.5]]", "-P", profile,
                                    "--loss", "sparse", "--check", "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["gradient"][0] == [0.0, 0.0]
    assert data["gradient"][1] == [0.5, -0.5]  # ∂(−log(p₁/Σp))/∂p = (1/Σp, 1/Σp − 1/p₁) = (1, −1), ÷ N = 2
    assert data["check"]["passed"] is True


def test_a_step_that_vanishes_beside_a_subnormal_cell_is_undefined_not_checked():
    """For probabilities the check's step is h·p: beside p = 5e-324 it rounds to 0, so there is no
    difference quotient (0/0). That cell is reported undefined; it was scored as checked with a
    nan quotient, and nan never fails a comparison, so it passed unseen."""
    from xentropy_cli.core import grad as grad_core
    from xentropy_cli.core import profiles
    from xentropy_cli.core.types import Inputs

    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    p = np.array([[5e-324, 1.0], [0.6, 0.4]])
    check = grad_core.finite_difference(Inputs(y, p), profiles.get("naive"), cells=4)
    assert (0, 0) in check.undefined
    assert not any(r == 0 and c == 0 for r, c in zip(check.rows.tolist(), check.cols.tolist(), strict=True))
    assert np.isfinite(check.numeric).all()
