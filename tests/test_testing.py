"""xentropy_cli.testing.assert_matches, tested both ways: faithful ports pass, broken ones fail
naming the stage that was broken."""

from __future__ import annotations

import numpy as np
import pytest

from xentropy_cli.core import kernels
from xentropy_cli.errors import UsageError, XentError
from xentropy_cli.testing import assert_matches, generate_cases

F32 = np.float32


def _np_sum(a):
    return np.sum(a, axis=-1)


def _tf_log(x):
    return kernels.log(x, "tensorflow")


def _tf_sum(a):
    return kernels.sum_last(a, "tensorflow")


def keras_categorical(y_true, y_pred, *, log=np.log, sum_last=_np_sum, clip=True, normalise=True):
    """keras.losses.categorical_crossentropy on probabilities, re-implemented in float32 numpy:
    p / Σp, clip into [1e-7, 1 − 1e-7], −Σ y·log p per sample, Σ ÷ N."""
    y = np.asarray(y_true, F32)
    p = np.asarray(y_pred, F32)
    if normalise:
        p = p / sum_last(p)[:, None]
    if clip:
        eps = F32(1e-7)
        p = np.clip(p, eps, F32(1) - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = log(p.reshape(-1)).reshape(p.shape)  # the whole tensor at once, as TF's kernel runs
        losses = -sum_last(y * logp)
    return sum_last(losses[None, :])[0] / F32(losses.shape[0])


def keras_tf_port(y_true, y_pred, **kw):
    """The same formula with TensorFlow's float32 log and reduction order (as xent emulates them)."""
    return keras_categorical(y_true, y_pred, log=_tf_log, sum_last=_tf_sum, **kw)


# --- passes ---------------------------------------------------------------------------------------

def test_a_port_with_tensorflows_log_gives_keras_bits():
    assert_matches(keras_tf_port, profile="keras", loss="categorical", cases=200, seed=0, rtol=0.0)


def test_a_plain_numpy_port_gives_keras_numpy_bits_and_keras_within_a_few_ulp():
    assert_matches(keras_categorical, profile="keras-numpy", cases=200)
    assert_matches(keras_categorical, profile="keras", cases=200, rtol=1e-6)


def test_binary_and_sparse_ports_of_kerass_numpy_backend_pass():
    def binary(y_true, y_pred):
        """Keras 3 binary_crossentropy: clip, y·log p + (1 − y)·log(1 − p), mean over outputs."""
        y, p = np.asarray(y_true, F32), np.clip(np.asarray(y_pred, F32), F32(1e-7), F32(1) - F32(1e-7))
        per_sample = -np.mean(y * np.log(p) + (F32(1) - y) * np.log(F32(1) - p), axis=-1)
        return np.sum(per_sample) / F32(per_sample.shape[0])

    def sparse(labels, y_pred):
        """Keras 3 sparse_categorical_crossentropy on the numpy backend: normalise, clip, −log p[label]."""
        p = np.asarray(y_pred, F32)
        p = np.clip(p / p.sum(axis=-1, keepdims=True), F32(1e-7), F32(1) - F32(1e-7))
        losses = -np.log(p[np.arange(len(labels)), labels])
        return np.sum(losses) / F32(losses.shape[0])

    assert_matches(binary, "keras-numpy", loss="binary", cases=100)
    assert_matches(sparse, "keras-numpy", loss="sparse", cases=100)
    # the TensorFlow backend renormalises sparse probabilities after the log instead
    with pytest.raises(AssertionError, match="part ways at the normalise stage"):
        assert_matches(sparse, "keras", loss="sparse", cases=100)


def test_other_seeds_and_a_converter():
    class Tensor:  # a stand-in for a framework tensor: numpy reads it through __array__
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

    def port(y, p):
        assert isinstance(y, Tensor) and isinstance(p, Tensor)
        return Tensor(np.asarray(keras_tf_port(np.asarray(y), np.asarray(p))))

    assert_matches(port, "keras", cases=60, seed=7, converter=Tensor)


# --- fails, naming the stage ----------------------------------------------------------------------

def _failure(fn, **kw) -> str:
    with pytest.raises(AssertionError) as caught:
        assert_matches(fn, **kw)
    return str(caught.value)


def test_without_clipping_it_fails_at_the_clip_stage():
    text = _failure(lambda y, p: keras_tf_port(y, p, clip=False), profile="keras")
    assert "They part ways at the clip stage" in text
    assert "does not clip" in text
    # the first differing case is the seed's 1×2 case, with both values
    assert "case 1 (the Keras question's 1×2 case" in text
    assert "loss_fn:        25.32843589782715" in text
    assert "keras:          16.11809539794922" in text


def test_without_normalising_it_fails_at_the_normalise_stage():
    text = _failure(lambda y, p: keras_tf_port(y, p, normalise=False), profile="keras")
    assert "They part ways at the normalise stage" in text
    assert "case 0 (the Keras question (row 2 sums to 1.99)" in text
    assert "keras:          0.3239681124687195" in text
    # the numpy float32 port of the textbook formula: what the seed's numpy gave, in float32
    y = np.eye(3, dtype=F32)
    p = np.array([[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]], F32)
    assert f"loss_fn:        {float(keras_tf_port(y, p, normalise=False))!r}" in text


def test_numpys_log_against_tensorflows_fails_at_the_log_stage():
    text = _failure(keras_categorical, profile="keras")
    assert "They part ways at the log stage" in text
    assert "uses numpy's log" in text
    assert "float32 ulp apart" in text


def test_two_broken_stages_name_the_first_and_the_kernel():
    text = _failure(lambda y, p: keras_categorical(y, p, clip=False), profile="keras")
    assert "They part ways at the clip stage" in text
    assert "and uses numpy's log and sums" in text


def test_from_logits_softmax_then_log_fails_at_log_softmax():
    def softmax_then_log(y_true, z):
        z = np.asarray(z, F32)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = _tf_log((e / _tf_sum(e)[:, None]).reshape(-1)).reshape(z.shape)
            losses = -_tf_sum(np.asarray(y_true, F32) * logp)
        return _tf_sum(losses[None, :])[0] / F32(losses.shape[0])

    text = _failure(softmax_then_log, profile="keras", from_logits=True, cases=40)
    assert "part ways at the log_softmax stage" in text  # np.exp in the port: most, not all, cases
    assert "softmax, then the log" in text


def test_an_unexplained_difference_shows_the_profiles_stages():
    text = _failure(lambda y, p: keras_tf_port(y, p) + F32(0.5), profile="keras", cases=20)
    assert "the stage is not known" in text
    assert "    normalise: " in text and "    clip: " in text


def test_a_loss_fn_that_raises_says_on_which_case():
    def broken(y, p):
        if p.shape[0] > 2:
            raise RuntimeError("boom")
        return keras_tf_port(y, p)

    with pytest.raises(RuntimeError) as caught:
        assert_matches(broken, "keras")
    assert any("raised on case 0" in note for note in caught.value.__notes__)


def test_a_profile_that_refuses_the_loss_refuses_at_once():
    with pytest.raises(XentError, match="optax has no categorical targets on probabilities"):
        assert_matches(keras_tf_port, "optax")
    with pytest.raises(UsageError):
        assert_matches(keras_tf_port, "keras", loss="hinge")


# --- the cases ------------------------------------------------------------------------------------

def test_cases_are_seeded_and_hold_the_edge_values():
    a = generate_cases("categorical", False, 200, seed=0)
    b = generate_cases("categorical", False, 200, seed=0)
    assert all(np.array_equal(x.y_pred, y.y_pred) and np.array_equal(x.y_true, y.y_true)
               for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[5].y_pred, generate_cases("categorical", False, 6, seed=1)[5].y_pred)
    preds = [c.y_pred for c in a]
    assert all(p.dtype == F32 for p in preds)
    assert any((p == 0).any() for p in preds) and any((p == 1).any() for p in preds)
    assert any((p > 0).any() and p[p > 0].min() < 1e-20 for p in preds)  # tiny values
    assert any(np.abs(p.sum(axis=1) - 1).max() > 0.1 for p in preds)  # rows not summing to 1
    assert all((p.sum(axis=1) > 0).all() for p in preds)  # never a row of zeros
    logits = [c.y_pred for c in generate_cases("categorical", True, 50, seed=0)]
    assert any((np.abs(z) >= 999).any() for z in logits)
    sparse = generate_cases("sparse", False, 30)
    assert all(c.y_true.dtype == np.int64 and c.y_true.ndim == 1 for c in sparse)
    # a prefix of the cases is the same list: a failing case can be regenerated alone
    assert np.array_equal(generate_cases("binary", True, 17, seed=3)[16].y_pred,
                          generate_cases("binary", True, 40, seed=3)[16].y_pred)
