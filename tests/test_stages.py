"""Every stage function of core/stages.py on numbers worked out by hand, plus property tests.

Each hand calculation is written next to its assertion. Numbers are chosen to be exact in
binary where an equality is asserted (0.25, 0.5, 0.75, …); otherwise the arithmetic is spelled out
and compared with a tolerance of a few float64 ulp.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_
from hypothesis.extra.numpy import arrays

from xentropy_cli.core import pipeline, profiles, sums
from xentropy_cli.core import stages as st
from xentropy_cli.core.types import Inputs, Options

F32 = np.float32
LN2 = math.log(2.0)


def close(a, b, rel=1e-15, abs_=0.0):
    return np.allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rel, atol=abs_)


# --- hand calculations, one stage at a time -------------------------------------------------

def test_fmt_writes_seven_significant_digits():
    assert st.fmt(1e-7) == "1e-07"
    assert st.fmt(1 - 1e-7) == "0.9999999"
    assert st.fmt(1.99) == "1.99"


def test_cast_marks_the_values_rounding_moved():
    # 0.5 and 0.25 are float32 numbers; 0.1 is not (float32(0.1) = 0.100000001490116…)
    result = st.cast(np.array([[0.5, 0.1, 0.25]]), np.float32)
    assert result.array.dtype == np.float32
    assert result.array.tolist() == [[0.5, float(F32(0.1)), 0.25]]
    assert result.changed.tolist() == [[False, True, False]]
    assert result.note == "float64 → float32; 1 value rounded"
    same = st.cast(np.array([0.1]), np.float64)
    assert same.changed.tolist() == [False] and same.note == "stays float64"


def test_one_hot():
    # labels 2 and 0 of 3 classes
    assert st.one_hot(np.array([2, 0]), 3, np.float64).tolist() == [[0, 0, 1], [1, 0, 0]]


def test_smooth_categorical_and_binary():
    # K = 4, ε = 0.5: 1·(1 − 0.5) + 0.5/4 = 0.625;  0·0.5 + 0.125 = 0.125 (all exact)
    result = st.smooth(np.array([[1.0, 0.0, 0.0, 0.0]]), 0.5, 4)
    assert result.array.tolist() == [[0.625, 0.125, 0.125, 0.125]]
    assert result.changed.all()
    # binary: K = 2, ε = 0.5: y = 1 → 0.5 + 0.25 = 0.75, y = 0 → 0.25
    assert st.smooth(np.array([[1.0], [0.0]]), 0.5, 2).array.tolist() == [[0.75], [0.25]]
    # ε = 0.1, K = 3: 0.9 + 0.1/3 = 0.9333…, 0.1/3 = 0.0333…
    assert close(st.smooth(np.array([[0.0, 1.0, 0.0]]), 0.1, 3).array,
                 [[0.1 / 3, 0.9 + 0.1 / 3, 0.1 / 3]])
    none = st.smooth(np.array([[1.0, 0.0]]), 0.0, 2)
    assert none.array.tolist() == [[1.0, 0.0]] and not none.changed.any()


def test_normalise_divides_each_row_by_its_sum():
    # [1, 1, 2] sums to 4 → [0.25, 0.25, 0.5]; [0.5, 0.5] already sums to 1
    result = st.normalise(np.array([[1.0, 1.0, 2.0], [0.5, 0.5, 0.0]]))
    assert result.array.tolist() == [[0.25, 0.25, 0.5], [0.5, 0.5, 0.0]]
    assert result.changed.tolist() == [[True, True, True], [False, False, False]]
    assert result.note == "row 1 summed to 4 and was divided by it"
    # the seed's row [.5, .89, .6] sums to 1.99: .89/1.99 = 0.44723618…
    seed = st.normalise(np.array([[0.5, 0.89, 0.6]])).array
    assert close(seed, [[0.5 / 1.99, 0.89 / 1.99, 0.6 / 1.99]])


def test_clip_into_eps_and_one_minus_eps():
    # float64: 0 → 1e-7, 1 → 1 − 1e-7 = 0.9999999, 0.5 untouched
    result = st.clip(np.array([[0.0, 0.5, 1.0]]), 1e-7)
    assert result.array.tolist() == [[1e-7, 0.5, 1 - 1e-7]]
    assert result.changed.tolist() == [[True, False, True]]
    assert result.note == "1 value clipped up to 1e-07; 1 value clipped down to 0.9999999"
    # float32: the bounds are float32(1e-7) and float32(1) − float32(1e-7) = 1 − 2⁻²³ = 0.99999988
    hi = st.clip(np.array([1.0], F32), 1e-7).array[0]
    assert hi == F32(1) - F32(2.0**-23) == F32(0.99999988)


def test_log_with_base_offset_and_floor():
    # ln 1 = 0, ln e² = 2, ln 0 = −inf
    result = st.log(np.array([1.0, math.exp(2.0), 0.0]))
    assert close(result.array[:2], [0.0, 2.0]) and result.array[2] == -np.inf
    assert "log 0 = −inf in 1 cell" in result.note
    # base 2: log₂ 8 = ln 8 / ln 2 = 3
    assert close(st.log(np.array([8.0]), base=2).array, [3.0])
    # tf.keras binary: ln(0 + 1e-7) = −16.11809565095832
    assert close(st.log(np.array([0.0]), offset=1e-7).array, [math.log(1e-7)])
    # torch binary: max(ln 0, −100) = −100, marked as changed
    floored = st.log(np.array([0.0, 0.5]), floor=-100.0)
    assert floored.array.tolist() == [-100.0, math.log(0.5)]
    assert floored.changed.tolist() == [True, False]


def test_log1m_forms():
    # ln(1 − 0.75) = ln 0.25 = −2 ln 2
    assert close(st.log1m(np.array([0.75])).array, [-2 * LN2])
    # tf.keras: ln(1 − 1 + 1e-7) = ln 1e-7
    assert close(st.log1m(np.array([1.0]), offset=1e-7).array, [math.log(1e-7)])
    # float32 p = 1e-12: 1 − p rounds to 1, so ln(1 − p) = 0; log1p(−p) keeps −1e-12 (torch)
    p = np.array([1e-12], F32)
    assert st.log1m(p).array.tolist() == [0.0]
    assert close(st.log1m(p, form="log1p").array, [-float(F32(1e-12))], rel=1e-6)
    assert st.log1m(np.array([1.0], F32), form="log1p", floor=-100.0).array.tolist() == [-100.0]


def test_softmax_as_written_and_its_overflow():
    # z = [0, ln 3]: exp = [1, 3], sum 4 → [0.25, 0.75]
    assert close(st.softmax(np.array([[0.0, math.log(3.0)]])).array, [[0.25, 0.75]])
    # exp(1000) overflows to inf: inf/inf = nan
    over = st.softmax(np.array([[1000.0, 0.0]]))
    assert np.isnan(over.array[0, 0]) and "overflowed in row 1" in over.note


@pytest.mark.parametrize("form", ["shifted", "lse"])
def test_log_softmax_is_stable(form):
    # z = [1000, 1000]: shifted [0, 0], ln(e⁰ + e⁰) = ln 2 → [−ln 2, −ln 2]; the lse form
    # rounds ln 2 + 1000 to a multiple of ulp(1000) = 2⁻⁴³ ≈ 1.1e-13 before subtracting z
    slack = 2.0**-43 if form == "lse" else 0.0
    assert close(st.log_softmax(np.array([[1000.0, 1000.0]]), form).array, [[-LN2, -LN2]],
                 abs_=slack)
    # z = [0, ln 3]: ln 0.25 = −2 ln 2, ln 0.75
    assert close(st.log_softmax(np.array([[0.0, math.log(3.0)]]), form).array,
                 [[-2 * LN2, math.log(0.75)]], rel=1e-15, abs_=1e-16)
    # [88, 89, 90] in float32: shifted [−2, −1, 0]; ln(e⁻² + e⁻¹ + 1) = 0.40760596; the lse form
    # rounds 90.4076 to float32 (ulp(90) = 2⁻¹⁷ ≈ 7.6e-6), so log p is off by up to 3.8e-6
    out = st.log_softmax(np.array([[88.0, 89.0, 90.0]], F32), form).array
    lse = math.log(math.exp(-2) + math.exp(-1) + 1)
    slack = 2.0**-18 if form == "lse" else 0.0
    assert close(out, [[-2 - lse, -1 - lse, -lse]], rel=1e-6, abs_=slack)


def test_renormalise_is_log_of_p_over_its_sum():
    # TF's sparse loss: log p = ln[.3, 1, .7] used as logits: softmax gives p/Σp = [.15, .5, .35]
    result = st.renormalise(np.log(np.array([[0.3, 1.0, 0.7]])))
    assert close(result.array, np.log([[0.15, 0.5, 0.35]]), rel=1e-14)
    assert "changed" in result.note


def test_sigmoid_and_softplus_tail():
    # σ(0) = 1/2; σ(ln 3) = 1/(1 + 1/3) = 3/4
    assert close(st.sigmoid(np.array([0.0, math.log(3.0)])).array, [0.5, 0.75])
    # log1p(exp(−|0|)) = ln 2
    assert close(st.softplus_tail(np.array([0.0])), [LN2])
    # float32 exp(−90) = 8.19e-40 is subnormal: TF/XLA flush it, log1p(0) = 0
    z = np.array([90.0], F32)
    assert st.softplus_tail(z, flush=True).tolist() == [0.0]
    assert close(st.softplus_tail(z), [math.exp(-90.0)], rel=1e-3)


def test_log_sigmoid_pair():
    # z = ln 3: σ = 3/4, log σ = ln 0.75, log(1 − σ) = ln 0.25
    logp, log1mp = st.log_sigmoid(np.array([[math.log(3.0)]]))
    assert close(logp.array, [[math.log(0.75)]], rel=1e-15)
    assert close(log1mp.array, [[-2 * LN2]], rel=1e-15)
    # z = −1000: log σ = −1000 − log1p(e⁻¹⁰⁰⁰) = −1000, log(1 − σ) = −0 − log1p(0) = 0
    logp, log1mp = st.log_sigmoid(np.array([[-1000.0]]))
    assert logp.array.tolist() == [[-1000.0]] and log1mp.array.tolist() == [[0.0]]


def test_combine_categorical():
    # one-hot: −ln 0.5 = ln 2
    logp = np.log(np.array([[0.2, 0.5, 0.3]]))
    assert close(st.combine_categorical(np.array([[0.0, 1.0, 0.0]]), logp).array, [LN2])
    # soft target [.5, .5] against [.5, .25]: −(.5·ln .5 + .5·ln .25) = .5 ln 2 + ln 2 = 1.5 ln 2
    soft = st.combine_categorical(np.array([[0.5, 0.5]]), np.log(np.array([[0.5, 0.25]])))
    assert close(soft.array, [1.5 * LN2])
    # class weights [1, 2, 1]: 2·ln 2
    weighted = st.combine_categorical(np.array([[0.0, 1.0, 0.0]]), logp, np.array([1.0, 2.0, 1.0]))
    assert close(weighted.array, [2 * LN2])
    # 0·log 0: nan as tensors multiply, 0 under the textbook's convention
    y, zero_logp = np.array([[1.0, 0.0]]), np.array([[0.0, -np.inf]])
    with np.errstate(invalid="ignore"):
        assert np.isnan(st.combine_categorical(y, zero_logp).array[0])
        assert st.combine_categorical(y, zero_logp, zero_times_inf="zero").array.tolist() == [0.0]


def test_combine_sparse():
    # labels [1, 0]: −ln .8, −ln .25 = 2 ln 2; class weights [2, 3] → 3·(−ln .8), 2·(2 ln 2)
    logp = np.log(np.array([[0.2, 0.8], [0.25, 0.75]]))
    assert close(st.combine_sparse(np.array([1, 0]), logp).array, [-math.log(0.8), 2 * LN2])
    assert close(st.combine_sparse(np.array([1, 0]), logp, np.array([2.0, 3.0])).array,
                 [-3 * math.log(0.8), 4 * LN2])


def test_combine_binary_mean_sum_and_forms():
    # y = [1, 0], p = [.75, .5]: elements −ln .75 and −ln .5; mean (ln(4/3) + ln 2)/2, sum both
    y, p = np.array([[1.0, 0.0]]), np.array([[0.75, 0.5]])
    per = [-math.log(0.75), LN2]
    mean = st.combine_binary(y, np.log(p), np.log(1 - p))
    assert close(mean.array, [(per[0] + per[1]) / 2])
    assert close(st.combine_binary(y, np.log(p), np.log(1 - p), over="sum").array, [per[0] + per[1]])
    # from logits z = [0, 2] with y = [1, 0]: element 1 is ln 2 (σ(0) = ½), element 2 is
    # −ln(1 − σ(2)) = 2 + log1p(e⁻²) = 2.1269280110429727 in every form
    z = np.array([[0.0, 2.0]])
    logp, log1mp = (r.array for r in st.log_sigmoid(z))
    expected = [(LN2 + 2 + math.log1p(math.exp(-2))) / 2]
    for form in ("log_sigmoid", "tensorflow", "torch"):
        assert close(st.combine_binary(y, logp, log1mp, form=form, z=z).array, expected), form
    # base 2 divides the loss by ln 2
    tf2 = st.combine_binary(y, logp, log1mp, form="tensorflow", z=z, base=2)
    assert close(tf2.array, [expected[0] / LN2])
    # y = 1, p = 1: log(1 − p) = −inf meets 1 − y = 0: nan, or 0 for the textbook
    ones, zero_log1mp = np.array([[1.0]]), np.array([[-np.inf]])
    with np.errstate(invalid="ignore"):
        assert np.isnan(st.combine_binary(ones, np.array([[0.0]]), zero_log1mp).array[0])
        assert st.combine_binary(ones, np.array([[0.0]]), zero_log1mp, "zero").array.tolist() == [0.0]


def test_weigh():
    losses = np.array([1.0, 2.0])
    assert st.weigh(losses, np.array([0.5, 0.0])).tolist() == [0.5, 0.0]
    assert st.weigh(losses, np.asarray(2.0)).tolist() == [2.0, 4.0]  # one number is broadcast
    assert st.weigh(losses, None) is losses


def test_divide_no_nan():
    assert st.divide_no_nan(np.float64(6.0), np.float64(3.0)) == 2.0
    assert st.divide_no_nan(np.float64(6.0), np.float64(0.0)) == 0.0


def test_reduce_every_reduction():
    w_l = np.array([1.0, 2.0, 3.0])
    assert st.reduce(w_l, "none", None).array is w_l
    assert float(st.reduce(w_l, "sum", None).array) == 6.0  # 1 + 2 + 3
    assert float(st.reduce(w_l, "mean", 3).array) == 2.0  # 6 ÷ N = 3
    assert float(st.reduce(w_l, "mean_with_sample_weight", 1.5, "Σ w").array) == 4.0  # 6 ÷ 1.5
    assert float(st.reduce(w_l, "sum_over_batch_size", 0).array) == 0.0  # divide_no_nan
    assert float(st.reduce(w_l, "mean", 0, zero_division="error").array) == np.inf
    assert st.reduce(w_l, "mean", 3).note == "Σ w·l = 6 ÷ N = 3"
    total = st.reduce_total(np.float32(6.0), "mean", 4)
    assert total.array.dtype == np.float32 and float(total.array) == 1.5


# --- properties -------------------------------------------------------------------------------

def _rows(min_k=2, max_k=8, lo=1e-3, hi=1.0):
    return st_.integers(1, 6).flatmap(lambda n: st_.integers(min_k, max_k).flatmap(
        lambda k: arrays(np.float64, (n, k), elements=st_.floats(lo, hi))))


@settings(max_examples=60, deadline=None)
@given(_rows())
def test_normalise_makes_rows_sum_to_one(p):
    out = st.normalise(p).array
    assert np.allclose(out.sum(axis=1), 1.0, rtol=0, atol=8 * np.finfo(np.float64).eps)
    assert np.allclose(out * p.sum(axis=1, keepdims=True), p, rtol=4e-16 * p.shape[1])


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (5, 3), elements=st_.floats(0.0, 1.0)),
       st_.sampled_from([1e-7, 1e-3, float(np.finfo(np.float64).eps), 0.25]))
def test_clip_bounds(p, eps):
    result = st.clip(p, eps)
    assert (result.array >= eps).all() and (result.array <= 1 - eps).all()
    inside = (p >= eps) & (p <= 1 - eps)
    assert (result.array[inside] == p[inside]).all()
    assert (result.changed == ~inside).all()


@settings(max_examples=40, deadline=None)
@given(_rows(), st_.sampled_from(["naive", "keras", "torch", "sklearn"]))
def test_reduction_none_then_mean_equals_mean(p, name):
    profile = profiles.get(name)
    y = np.eye(p.shape[1])[np.argmax(p, axis=1)]
    inputs = Inputs(y, p, kind="categorical")
    mean = "mean_with_sample_weight" if name == "sklearn" else "mean"
    per_sample = pipeline.run(inputs, profile, Options(reduction="none")).per_sample
    value = pipeline.run(inputs, profile, Options(reduction=mean)).value
    # the per-sample losses, summed in the framework's order (core/sums.py) and divided by N
    total = sums.total(per_sample, profile.kernel)
    assert value == float(total / total.dtype.type(len(per_sample)))


@settings(max_examples=40, deadline=None)
@given(st_.integers(1, 6).flatmap(lambda n: st_.integers(2, 8).flatmap(
    lambda k: arrays(np.float64, (n, k), elements=st_.floats(-5.0, 5.0)))))
def test_logits_path_equals_probabilities_path(z):
    y = np.eye(z.shape[1])[np.argmax(z, axis=1)]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    for name, rel in (("naive", 1e-12), ("keras", 2e-5), ("torch", 2e-5)):
        profile = profiles.get(name)
        from_logits = pipeline.run(Inputs(y, z, kind="categorical", from_logits=True), profile).value
        from_probs = pipeline.run(Inputs(y, p, kind="categorical"), profile).value
        assert from_logits == pytest.approx(from_probs, rel=rel, abs=1e-6), name


@settings(max_examples=40, deadline=None)
@given(_rows(), st_.floats(0.0, 1.0))
def test_label_smoothing_formula(p, eps):
    k = p.shape[1]
    y = np.eye(k)[np.argmax(p, axis=1)]
    smoothed = st.smooth(y, eps, k).array
    assert np.allclose(smoothed, y * (1 - eps) + eps / k, rtol=1e-15, atol=1e-17)
    assert np.allclose(smoothed.sum(axis=1), 1.0)  # Σ y(1 − ε) + K·ε/K = 1
    result = pipeline.run(Inputs(y, p, kind="categorical"), profiles.get("naive"),
                          Options(label_smoothing=eps, reduction="none"))
    assert np.allclose(result.per_sample, -(smoothed * np.log(p)).sum(axis=1), rtol=1e-14)
