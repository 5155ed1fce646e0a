"""Shapes and degenerate values: xent against what each framework did (tests/golden/shapes.json).

The fixture was recorded by tools/gen_shapes.py from tensorflow 2.21.0, keras 3.15.1 (four
backends), tf-keras 2.21.0, torch 2.13.0, scikit-learn 1.9.1, jax 0.10.2 and optax 0.2.8, on
inputs of the rank a user gives them: 1-D binary vectors, (N, 1) columns, multi-output (N, K),
one-column categorical, mismatched shapes, all-zero rows, negative / nan / inf predictions,
negative weights, fractional and out-of-range sparse labels. The rule held here, both ways:
where the framework returns a number xent returns the same number (nan and inf included; bits
where the profile is bit-exact, else the bound test_golden.py states); where it raises, xent
refuses with one XentError.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import conformance as cf  # noqa: E402

from xentropy_cli.core import kernels, pipeline, profiles  # noqa: E402
from xentropy_cli.core.types import Inputs, Options  # noqa: E402
from xentropy_cli.errors import XentError  # noqa: E402

FIXTURE = json.loads((Path(__file__).resolve().parent / "golden" / "shapes.json").read_text())
PROFILE_OF = {"keras-tensorflow": "keras", "keras-jax": "keras-jax", "keras-torch": "keras-torch",
              "keras-numpy": "keras-numpy", "tf-keras": "tf-keras", "torch": "torch",
              "sklearn": "sklearn", "optax": "optax"}
# ulp of the compute dtype a value may be off (test_golden.py says why each bound is not 0)
ULP = {"keras": 0, "keras-jax": 1, "keras-torch": 30, "keras-numpy": 0, "tf-keras": 0,
       "torch": 30, "sklearn": 0, "optax": 0}


def inputs_of(case: dict) -> Inputs:
    dtype = np.dtype(case["dtype"])
    sw = case["sample_weight"]
    weight = None if sw is None else np.asarray(sw, np.float64)
    return Inputs(np.asarray(case["y_true"], dtype), np.asarray(case["y_pred"], dtype), weight,
                  kind=case["kind"], from_logits=case["from_logits"], source=case["id"])


def run(profile: str, case: dict, reduction: str):
    return pipeline.run(inputs_of(case), profiles.get(profile), Options(reduction=reduction))


def _outcomes(fw: str) -> tuple[dict, int]:
    """Each case's outcome for ``fw``, and how many ulp xent may be off. scikit-learn and Keras's
    NumPy backend are numpy, whose log takes other CPU paths (AVX-512, AVX2, baseline): they are
    recorded per path and compared with the recording of this process's path, bit for bit; on a
    path not recorded, within 2 ulp."""
    variants = FIXTURE["numpy_dispatch"].get(fw)
    if variants is None:
        return {cid: r[fw] for cid, r in FIXTURE["results"].items()}, ULP[PROFILE_OF[fw]]
    local = kernels.numpy_dispatch()
    if local in variants:
        return variants[local], ULP[PROFILE_OF[fw]]
    return variants[variants["default"]], 2


# Recorded and not yet modelled: (case id, framework) → why (xfail, strict). Empty: every case holds.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _params():
    for fw in PROFILE_OF:
        outcomes, ulp = _outcomes(fw)
        for case in FIXTURE["cases"]:
            gap = KNOWN_GAPS.get((case["id"], fw))
            marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
            yield pytest.param(PROFILE_OF[fw], case, outcomes[case["id"]], ulp,
                               id=f"{case['id']}:{fw}", marks=marks)


def _close(ours, gold, profile: str, dtype) -> int:
    return int(cf.ulp_diff(np.asarray(ours, np.float64), gold, np.dtype(dtype)).max())


@pytest.mark.parametrize(("profile", "case", "outcome", "ulp"), list(_params()))
def test_refuses_iff_the_framework_raises_else_same_number(profile, case, outcome, ulp):
    if "error" in outcome:
        with pytest.raises(XentError):
            run(profile, case, "none")
        return
    first = run(profile, case, "none")
    dtype = first.per_sample.dtype
    gold = outcome.get("per_sample", outcome.get("none"))
    if gold is not None:
        want = np.shape(np.asarray(gold, np.float64)) or (1,)  # one sample: xent keeps a (1,) vector
        assert np.shape(first.per_sample) == want, first.per_sample
        off = _close(first.per_sample, gold, profile, dtype)
        assert off <= ulp, f"per sample {first.per_sample} vs {gold} ({off} ulp)"
    for reduction, expected in outcome["reduced"].items():
        if isinstance(expected, dict):
            with pytest.raises(XentError):
                run(profile, case, reduction)
            continue
        value = run(profile, case, reduction).value
        off = _close(value, expected, profile, dtype)
        assert off <= ulp, f"{reduction}: {value!r} vs {expected!r} ({off} ulp)"


def test_fixture_records_the_pinned_versions():
    v = FIXTURE["versions"]
    assert (v["keras"], v["tensorflow"], v["tf-keras"], v["scikit-learn"], v["optax"]) == \
        ("3.15.1", "2.21.0", "2.21.0", "1.9.1", "0.2.8")
    assert v["torch"].startswith("2.13.0") and v["jax"] == "0.10.2"
    assert len(FIXTURE["cases"]) >= 50


# --- hand calculations and seeded cases -----------------------------------------------------------

def _run(y, p, profile="naive", reduction=None, **kw):
    inputs = Inputs(np.asarray(y, np.float64), np.asarray(p, np.float64),
                    None if kw.get("w") is None else np.asarray(kw["w"], np.float64),
                    kind=kw.get("kind", "auto"), from_logits=kw.get("logits", False))
    return pipeline.run(inputs, profiles.get(profile), Options(reduction=reduction))


def _codes(result):
    return [n.code for n in result.notices]


def test_1d_binary_is_one_sample_to_keras_and_n_samples_to_the_others():
    """y = [1, 0, 1, 0], p = [.9, .2, .6, .3]: elementwise −ln .9, −ln .8, −ln .6, −ln .7, whose
    mean is 0.299001. Keras averages over the last axis, so its `sum` is that mean; torch and
    the textbook add four losses."""
    y, p = [1.0, 0.0, 1.0, 0.0], [0.9, 0.2, 0.6, 0.3]
    mean = -(np.log(0.9) + np.log(0.8) + np.log(0.6) + np.log(0.7)) / 4
    assert abs(mean - 0.2990011586691898) < 1e-15
    for profile in ("keras", "keras-jax", "keras-numpy", "tf-keras"):
        result = _run(y, p, profile, "sum")
        assert abs(result.value - mean) < 1e-6 and result.n_samples == 1
        assert "one_sample" in _codes(result) and "1-D" in result.kind_reason
    for profile in ("naive", "torch"):
        result = _run(y, p, profile, "sum")
        assert abs(result.value - 4 * mean) < 1e-6 and result.n_samples == 4
        assert "one_sample" not in _codes(result)
    weighted = _run(y, p, "keras", "sum_over_batch_size", w=[1.0, 2.0, 0.5, 1.0])
    assert abs(weighted.value - mean * 4.5 / 4) < 1e-6  # the one loss broadcast to 4 weights
    with pytest.raises(XentError, match="Can not squeeze"):
        _run(y, p, "tf-keras", w=[1.0, 2.0, 0.5, 1.0])
    column = _run([[v] for v in y], [[v] for v in p], "keras", "sum")  # (N, 1): N samples
    assert abs(column.value - 4 * mean) < 1e-6 and "one_sample" not in _codes(column)


def test_multi_output_binary_per_sample_is_the_mean_over_outputs_in_every_profile():
    """Seeded (N, K) targets and probabilities: torch's and Keras's per-sample losses agree (the
    mean over K), torch's mean divides Σ of all N·K elements by N·K, its sum adds them."""
    rng = np.random.default_rng(14)
    y = rng.integers(0, 2, (50, 4)).astype(float)
    p = rng.uniform(0.01, 0.99, (50, 4))
    elements = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    for profile in ("keras", "torch", "naive", "tf-keras"):
        per = _run(y, p, profile, "none", kind="binary").per_sample
        assert np.allclose(per, elements.mean(1), rtol=1e-5), profile
    assert abs(_run(y, p, "torch", "mean", kind="binary").value - elements.mean()) < 1e-6
    assert abs(_run(y, p, "torch", "sum", kind="binary").value - elements.sum()) < 1e-3
    z = rng.normal(0, 3, (50, 4))
    per_z = np.logaddexp(0, z) - y * z
    optax_sum = _run(y, z, "optax", "sum", kind="binary", logits=True).value
    assert abs(optax_sum - per_z.sum()) < 1e-3  # jnp.sum of the (N, K) output, not of N means


def test_one_odd_target_row_never_changes_the_kind():
    """Issue 16: a 20-row one-hot file stays categorical when one row's labels are all 0 (that
    row's loss is 0) or when one row has two 1s; two multi-hot rows make it multi-label."""
    rng = np.random.default_rng(16)
    y = np.eye(3)[rng.integers(0, 3, 20)]
    p = rng.dirichlet(np.ones(3), 20)
    per_hand = -np.log(p[np.arange(20), y.argmax(1)])
    y_zero = y.copy()
    y_zero[6] = 0
    result = _run(y_zero, p)
    assert result.kind == "categorical" and "except row 7" in result.kind_reason
    assert _codes(result)[0] == "zero_target_row" and result.notices[0].rows == (7,)
    assert abs(result.value - (per_hand.sum() - per_hand[6]) / 20) < 1e-12
    y_two = y.copy()
    y_two[3] = [1.0, 1.0, 0.0]
    assert _run(y_two, p).kind == "categorical"
    assert "odd_target_row" in _codes(_run(y_two, p))
    y_two[9] = [0.0, 1.0, 1.0]
    assert _run(y_two, p).kind == "binary"
    assert _run(y_zero, p, kind="binary").kind == "binary"  # --loss says so: no guessing


@pytest.mark.parametrize("k", [2, 3, 10, 100])
def test_a_pandas_dump_of_float32_softmax_is_normalised(k, tmp_path):
    """Issue 16: float32 softmax rows written by pandas (shortest float32 repr) and read back
    as float64 miss 1 by a few 2⁻²⁴: not a warning. A row 1e-5 off still is, with the gap."""
    from xentropy_cli import io as xio

    rng = np.random.default_rng(k)
    z = rng.normal(0, 3, (2000, k)).astype(np.float32)
    e = np.exp(z - z.max(1, keepdims=True))
    p = (e / e.sum(1, keepdims=True)).astype(np.float32)
    labels = rng.integers(0, k, 2000)
    # as pandas' DataFrame.to_csv writes a float32 column: each value's shortest float32 repr
    path = tmp_path / "dump.csv"
    lines = ["label," + ",".join(f"prob_{j}" for j in range(k))]
    lines += [f"{label}," + ",".join(str(v) for v in row) for label, row in zip(labels, p, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    inputs = xio.read([str(path)])
    assert "not_normalised" not in _codes(pipeline.run(inputs, profiles.get("keras"), Options()))
    p64 = inputs.y_pred.copy()
    p64[5] *= 1 + 1e-5
    off = pipeline.run(Inputs(inputs.y_true, p64), profiles.get("keras"), Options())
    message = next(n.message for n in off.notices if n.code == "not_normalised")
    assert "row 6 sums to 1.0000" in message and "off by +" in message, message  # the gap shows


def test_where_a_nan_or_inf_first_appears():
    """Keras divides the all-zero row 2 by its sum at normalise (0/0 = nan, column 1); torch's
    sparse loss takes log 0 = −inf at log; the textbook takes log of −0.1 (nan) at log."""
    y = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    zero = [[0.7, 0.2, 0.1], [0.0, 0.0, 0.0]]
    keras = _run(y, zero, "keras")
    assert keras.first_non_finite[:3] == ("normalise", 1, 0) and np.isnan(keras.first_non_finite[3])
    assert "first appears at stage normalise, row 2, column 1" in keras.notices[-1].message
    torch = _run([0.0, 1.0], zero, "torch", kind="sparse")
    assert torch.first_non_finite == ("log", 1, 0, -np.inf) and torch.per_sample[1] == np.inf
    naive = _run(y, [[0.7, 0.2, 0.1], [0.6, -0.1, 0.5]])
    assert naive.first_non_finite[:3] == ("log", 1, 1) and "negative_prediction" in _codes(naive)
    assert _run(y, [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1]]).first_non_finite is None


@pytest.mark.parametrize("profile", ["keras", "keras-jax", "keras-numpy", "tf-keras", "torch", "naive"])
def test_seeded_degenerate_values_give_numbers_and_warnings(profile):
    """Random probabilities with nan, negative and all-zero cells injected: the profiles whose
    frameworks compute with them return a value (never raise), and every row that held such a
    cell is named by a warning."""
    rng = np.random.default_rng(41)
    p = rng.dirichlet(np.ones(5), 40)
    y = np.eye(5)[rng.integers(0, 5, 40)]
    p[3, 2], p[17, 0], p[25] = np.nan, -0.2, 0.0
    result = _run(y, p, profile)
    named = {r for n in result.notices for r in n.rows}
    assert {4, 18, 26} <= named
    assert result.per_sample.shape == (40,)


def test_explain_torch_against_keras_on_multi_output_blames_no_stage():
    """Issue 16: per-sample losses are means over the K outputs in both, so a K-fold gap is no
    longer put on the combine stage; each row's contribution is its share of the tiny gap."""
    from xentropy_cli.core import explain

    y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    p = np.array([[0.9, 0.2, 0.6], [0.3, 0.01, 0.7]])
    torch, keras = _run(y, p, "torch", kind="binary"), _run(y, p, "keras", kind="binary")
    found = explain.diverge(torch, keras, y, p)
    assert found.stage is None and abs(found.difference) < 1e-6
    assert np.all(np.abs(found.contributions) < 1e-6)
    assert abs(found.contributions.sum() - found.difference) < 1e-7  # float32 rounding


def test_textbook_reads_1d_binary_as_n_samples_bit_for_bit():
    """The naive profile is the textbook formula in numpy: y = [1, 0, 1, 0], p = [.9, .2, .6, .3]
    are four samples of one output, lᵢ = −ln pᵢ or −ln(1 − pᵢ), weighed one weight each; the
    same bits as the (N, 1) column, and as numpy computes the formula (numpy's own log: naive
    follows the local numpy)."""
    y, p, w = [1.0, 0.0, 1.0, 0.0], [0.9, 0.2, 0.6, 0.3], [1.0, 2.0, 0.5, 3.0]
    per = np.array([-np.log(0.9), -np.log(1 - 0.2), -np.log(0.6), -np.log(1 - 0.3)])
    weighted = per * np.array(w)
    expected = {"none": weighted, "sum": np.sum(weighted), "mean": np.sum(weighted) / 4,
                "sum_over_batch_size": np.sum(weighted) / 4,
                "mean_with_sample_weight": np.sum(weighted) / 6.5}
    for reduction, want in expected.items():
        flat = _run(y, p, "naive", reduction, w=w)
        column = _run([[v] for v in y], [[v] for v in p], "naive", reduction, w=w)
        got = flat.per_sample if reduction == "none" else flat.value
        assert np.array_equal(got, want), (reduction, got, want)
        assert np.array_equal(column.per_sample, flat.per_sample)
        assert np.array_equal(column.value, flat.value)
        assert flat.n_samples == 4 and "one_sample" not in _codes(flat)


def test_optax_mean_multiplies_by_the_reciprocal_of_n():
    """jnp.mean divides by a constant, which XLA rewrites into Σ × fl(1/N): two roundings.
    Σ = 11.156575 (float32), N = 11: Σ/11 rounds to 1.0142340660095215, Σ × fl(1/11) to
    1.014234185218811 (what jnp.mean returned, tools/gen_corpus.py). Other profiles divide."""
    from xentropy_cli.core import stages

    total = np.float32(11.156575202941895)
    assert total / np.float32(11) == np.float32(1.0142340660095215)
    assert total * (np.float32(1) / np.float32(11)) == np.float32(1.014234185218811)
    assert stages.reduce_total(total, "mean", 11, reciprocal=True).array == np.float32(1.014234185218811)
    assert stages.reduce_total(total, "mean", 11).array == np.float32(1.0142340660095215)
    assert profiles.get("optax").mean_by_reciprocal
    assert not any(p.mean_by_reciprocal for p in profiles.PROFILES.values() if p.name != "optax")
    rng = np.random.default_rng(7)  # through the pipeline: mean = fl32(sum) × fl32(1/N)
    z, labels = rng.normal(0, 3, (11, 4)), rng.integers(0, 4, 11).astype(float)
    mean, total = (_run(labels, z, "optax", r, kind="sparse", logits=True).value for r in ("mean", "sum"))
    assert np.float32(mean) == np.float32(total) * (np.float32(1) / np.float32(11))
    assert np.float32(mean) != np.float32(total) / np.float32(11)  # seed 7: the roundings differ


def test_optax_and_torch_refuse_labels_given_as_a_column():
    """optax.softmax_cross_entropy_with_integer_labels raises on labels of shape (N, 1) ('indices
    and arr must have the same number of dimensions'), torch's cross_entropy and nll_loss too
    ('0D or 1D target tensor expected'), as recorded in tests/golden/corpus; Keras and the
    textbook read the column as N labels. A CSV label column is read as (N,)."""
    z = [[0.5, 0.2, -1.0], [1.0, -1.0, 0.0]]
    for profile, who in (("optax", "optax"), ("torch", "PyTorch")):
        with pytest.raises(XentError, match=f"column of labels.*{who} raises"):
            _run([[2.0], [0.0]], z, profile, kind="sparse", logits=True)
        listed = _run([2.0, 0.0], z, profile, kind="sparse", logits=True)
        assert listed.per_sample.shape == (2,)
    for profile in ("keras", "naive"):
        column = _run([[2.0], [0.0]], z, profile, kind="sparse", logits=True)
        assert np.array_equal(column.per_sample,
                              _run([2.0, 0.0], z, profile, kind="sparse", logits=True).per_sample)


def test_profiles_say_how_they_read_shapes():
    keras, naive, optax = (profiles.get(n).shapes() for n in ("keras", "naive", "optax"))
    assert "(N,): one sample of N outputs" in keras and "(N,): N samples" in naive
    assert "reduce all N·K elements" in optax and "a column (N, 1) raises" in optax
    assert all("CSV columns are (N, 1)" in s for s in (keras, naive, optax))
