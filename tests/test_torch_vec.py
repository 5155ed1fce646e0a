"""torch's vectorised kernels, bit for bit: ATen's log_softmax (SLEEF's expf and logf, summed in
map_reduce_all's order), F.logsigmoid (SLEEF's expf and log1pf), F.nll_loss's cascade for sum and
mean, F.cross_entropy with label smoothing. Recorded by tools/gen_torch_vec.py from torch 2.13
(tests/golden/torch_vec.npz); the inputs are rebuilt from its seed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import xentropy_cli as xent
from xentropy_cli.core import kernels, pipeline, profiles, stages
from xentropy_cli.core.libm import sleef_expf, sleef_log1pf, sleef_logf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import gen_torch_vec as gen  # noqa: E402

GOLD = np.load(ROOT / "tests" / "golden" / "torch_vec.npz")
INPUTS = gen.inputs()


def _same(ours: np.ndarray, gold: np.ndarray) -> None:
    ours, gold = np.asarray(ours, np.float32), np.asarray(gold, np.float32)
    both_nan = np.isnan(ours) & np.isnan(gold)
    differ = ~both_nan & (ours.view(np.uint32) != gold.view(np.uint32))
    assert not differ.any(), (f"{int(differ.sum())} of {ours.size} differ, e.g. {ours[differ][:3]} "
                              f"vs {gold[differ][:3]}")


def test_recorded_on_the_modelled_torch():
    meta = json.loads((ROOT / "tests" / "golden" / "torch_vec.json").read_text())
    assert meta["torch"].startswith("2.13.0") and meta["cpu_capability"] == "AVX512"


@pytest.mark.parametrize("k", gen.WIDTHS)
def test_log_softmax(k):
    """Rows shorter than 16 add Σ exp one by one, longer ones in a 16-float accumulator."""
    out = stages.log_softmax(INPUTS[f"z{k}"], "shifted", "torch-vec").array
    _same(out, GOLD[f"log_softmax{k}"])


def test_logsigmoid():
    z = INPUTS["sigmoid_z"]
    _same(np.minimum(z, np.float32(0)) - sleef_log1pf(sleef_expf(-np.abs(z))), GOLD["logsigmoid"])


@pytest.mark.parametrize("n", gen.NLL_SIZES)
def test_nll_loss_cascade(n):
    lp, t = INPUTS[f"nll_logp{n}"], INPUTS[f"nll_t{n}"]
    picked = -lp[np.arange(n), t]
    total = kernels.sum_last(picked, "torch-nll")
    _same(total, GOLD[f"nll_sum{n}"])
    _same(total / np.float32(n), GOLD[f"nll_mean{n}"])
    torch = profiles.get("torch")
    assert pipeline.total_kernel(torch, "sparse") == "torch-nll"  # what the torch profile adds with
    assert pipeline.total_kernel(torch, "categorical") == "torch"
    assert pipeline.total_kernel(profiles.get("keras-torch"), "sparse") == "torch"


@pytest.mark.parametrize("i", range(len(gen.SMOOTHING)))
def test_cross_entropy_label_smoothing(i):
    ls = gen.SMOOTHING[i]
    z, t, y = INPUTS["ls_z"], INPUTS["ls_t"], INPUTS["ls_y"]
    labels = xent.compute(t, z, "torch", loss="sparse", from_logits=True, label_smoothing=ls,
                          reduction="none")
    _same(labels.per_sample, GOLD[f"ls_labels{i}"])
    probs = xent.compute(y, z, "torch", loss="categorical", from_logits=True, label_smoothing=ls,
                         reduction="none")
    _same(probs.per_sample, GOLD[f"ls_probs{i}"])
    total = xent.compute(y, z, "torch", loss="categorical", from_logits=True, label_smoothing=ls,
                         reduction="sum")
    _same(np.float32(total.value), GOLD[f"ls_probs_sum{i}"])


def test_sleef_hand_values():
    """Values SLEEF's algorithms give that the correctly rounded functions do not: each checked
    against torch 2.13 (AVX-512) by hand: exp(−1.5) and the log of a row sum near 1."""
    assert sleef_logf(np.float32([1.0, 0.0, -1.0]))[0] == 0
    assert np.isneginf(sleef_logf(np.float32([0.0])))[0] and np.isnan(sleef_logf(np.float32([-1.0])))[0]
    assert sleef_expf(np.float32([-104.5]))[0] == 0 and np.isinf(sleef_expf(np.float32([100.5])))[0]
    assert sleef_log1pf(np.float32([0.0]))[0] == 0


def test_keras_torch_smoothing_divides_as_torch():
    """Keras's ε / cast(K) on the torch backend is Tensor.__rtruediv__: K.reciprocal() · ε. For
    K = 3, ε = 0.3 that is fl(fl(1/3)·fl(0.3)) = 0.10000000894069672 (measured with torch 2.13),
    one ulp above fl(0.3)/3 = 0.1 (float32), which the TensorFlow backend gives."""
    y = np.zeros((1, 3), np.float32)
    torchy = stages.smooth(y, 0.3, 3, "keras-torch").array
    assert torchy[0, 0] == np.float32(0.10000000894069672)
    assert stages.smooth(y, 0.3, 3, "keras").array[0, 0] == np.float32(0.1)


def test_torch_refuses_a_column_of_labels():
    """F.nll_loss / F.cross_entropy raise on an (N, 1) target ("0D or 1D target tensor expected,
    multi-target not supported"); Keras reads the column as N labels."""
    p = [[0.7, 0.3], [0.2, 0.8]]
    with pytest.raises(xent.XentError, match=r"is a column of labels, shape \(2, 1\): PyTorch raises"):
        xent.compute([[0], [1]], p, "torch", loss="sparse")
    assert xent.compute([0, 1], p, "torch", loss="sparse").value == pytest.approx(
        -(np.log(0.7) + np.log(0.8)) / 2, rel=1e-6)
    assert xent.compute([[0], [1]], p, "keras-torch", loss="sparse").value > 0


def test_explain_torch_categorical_logits_contributions_add_up():
    """torch's F.cross_entropy with class probabilities adds all N·K products for its mean; each
    row's share in explain is still its own loss ÷ N (not K times it), so the shares add up to the
    gap between the two values."""
    from xentropy_cli.core import explain, pipeline
    from xentropy_cli.core.types import Inputs, Options

    rng = np.random.default_rng(7)
    z = rng.normal(0.0, 3.0, (6, 4)).astype(np.float32)
    y = rng.dirichlet(np.ones(4), 6).astype(np.float32)
    inputs = Inputs(y_true=y, y_pred=z, sample_weight=None, kind="categorical", from_logits=True)
    torch = pipeline.run(inputs, profiles.get("torch"), Options())
    naive = pipeline.run(inputs, profiles.get("naive"), Options())
    assert torch.elements is not None and torch.elements.shape == (6, 4)
    found = explain.diverge(torch, naive, y, z)
    assert abs(found.contributions.sum() - (torch.value - naive.value)) < 1e-6
