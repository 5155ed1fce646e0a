"""Check inputs against a profile and bring them to canonical shapes, or say exactly what is wrong.

Canonical shapes: categorical y (N, K) and p (N, K); sparse labels (N,) int and p (N, K);
binary y and p (N, K) with K ≥ 1 outputs per sample. The rank the user gave is kept where the
framework reads it differently: a 1-D binary y of shape (N,) is one sample of N outputs to Keras
(it averages over the last axis), N samples to torch, optax and scikit-learn.

The fidelity rule (measured in tests/golden/shapes.json by tools/gen_shapes.py): input that parses
and that the modelled framework computes with (nan, inf, negative or all-zero predictions,
negative weights, fractional or out-of-range labels where the framework casts or clamps them) is
passed on with a Notice naming the first cell and what the framework does with it; input the
framework raises on is refused here with one DataError.
"""

from __future__ import annotations

from dataclasses import dataclass

from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Array, Inputs, Notice, Options
from xentropy_cli.core.validate.kind import (
    KINDS,
    _arrays,
    _check_options,
    _framework_kind,
    check_reduction,
    odd_target_rows,
    resolve_kind,
)
from xentropy_cli.core.validate.shapes import _SHAPERS
from xentropy_cli.core.validate.values import _class_weight, _sample_weight, _values

__all__ = ["KINDS", "Prepared", "check_reduction", "odd_target_rows", "prepare", "resolve_kind"]


@dataclass(frozen=True)
class Prepared:
    kind: str
    kind_reason: str
    y_true: Array  # (N, K) float, or (N,) int labels for sparse
    y_pred: Array  # (N, K)
    labels: Array | None
    sample_weight: Array | None
    class_weight: Array | None
    n_samples: int
    n_classes: int
    notices: tuple[Notice, ...]
    source: str
    one_sample: bool = False  # a 1-D binary input the profile reads as one sample of N outputs
    void_rows: Array | None = None  # sparse: rows whose label one-hots to all zeros (loss −0·Σ log p)
    nan_rows: Array | None = None  # sparse: rows whose label reads nan (jnp.take_along_axis fill)


# --- the whole check --------------------------------------------------------------------------

def prepare(inputs: Inputs, profile: Profile, options: Options) -> Prepared:
    """Decide the kind, check the options against the profile, shape the arrays as the
    framework reads them, and collect what it would compute with silently (as notices)."""
    kind, reason = resolve_kind(inputs)
    notices = odd_target_rows(inputs, kind, reason)
    framework_kind, why, more = _framework_kind(profile, kind, inputs)
    if framework_kind != kind:
        kind, reason = framework_kind, why
    notices += more
    _check_options(inputs, profile, options, kind)
    yt, yp = _arrays(inputs)
    shaped = _SHAPERS[kind](inputs, profile, yt, yp)
    notices += shaped.notices + _values(inputs, profile, kind, shaped)
    if shaped.one_sample:
        reason += "; 1-D: one sample of N outputs to this framework"
    sample_weight, weight_notices = _sample_weight(inputs, profile, shaped)
    notices += weight_notices
    return Prepared(kind, reason, shaped.y_true, shaped.y_pred, shaped.labels, sample_weight,
                    _class_weight(inputs, shaped.n_classes), shaped.y_pred.shape[0],
                    shaped.n_classes, tuple(notices), inputs.source, shaped.one_sample,
                    shaped.void_rows, shaped.nan_rows)
