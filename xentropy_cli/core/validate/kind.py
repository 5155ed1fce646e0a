"""The kind of cross-entropy (categorical, sparse, binary) and the options against the profile."""

from __future__ import annotations

import numpy as np

from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Array, Inputs, Notice, Options
from xentropy_cli.core.validate.common import _rows, _sums_to_one
from xentropy_cli.errors import DataError, UsageError

KINDS = ("categorical", "sparse", "binary")


# --- the kind ---------------------------------------------------------------------------------

def resolve_kind(inputs: Inputs) -> tuple[str, str]:
    """Decide categorical / sparse / binary from the shapes, and say why.

    Targets with as many columns as predictions are categorical when the rows sum to 1 and
    binary (multi-label) when they do not, decided by the rows together: one odd row (all 0, or
    two 1s in a one-hot file) never changes the kind of the others (``odd_target_rows`` names
    it). Binary needs two rows that do not sum to 1 (or no row that does).
    """
    yt, yp = inputs.y_true, inputs.y_pred
    if inputs.kind != "auto":
        return inputs.kind, f"--loss {inputs.kind}"
    if yp.ndim == 1 or (yp.ndim == 2 and yp.shape[1] == 1):
        return "binary", ("y_pred is 1-D" if yp.ndim == 1 else "y_pred has one column") + \
            ": binary cross-entropy"
    if yt.ndim == 1 or (yt.ndim == 2 and yt.shape[1] == 1):
        return "sparse", f"y_true is one label per sample and y_pred has {yp.shape[-1]} columns: sparse"
    if yt.shape != yp.shape:
        return "categorical", "categorical"
    ones, zeros, others = _target_rows(yt)
    if not others.any() and not zeros.any():
        return "categorical", "every y_true row sums to 1: categorical cross-entropy"
    n_one, n_other = int(ones.sum()), int(others.sum())
    if n_one and n_other <= 1:
        odd = _rows(zeros | others)
        shown = ", ".join(map(str, odd[:3])) + (", …" if len(odd) > 3 else "")
        return "categorical", (f"y_true rows sum to 1 except row{'s' if len(odd) > 1 else ''} "
                               f"{shown}, which one row cannot change: categorical cross-entropy")
    return "binary", "y_true rows do not sum to 1 (multi-label): binary cross-entropy per output"


def _target_rows(yt: Array) -> tuple[Array, Array, Array]:
    """Masks of the target rows that sum to 1, that are all 0, and the others."""
    sums = np.sum(yt, axis=-1)
    ones = _sums_to_one(sums, yt.shape[-1])
    zeros = np.zeros(sums.shape, bool)
    if ones is None:
        return ~zeros, zeros, zeros
    rest = ~ones
    zeros[rest] = ~np.any(yt[rest], axis=-1)
    return ones, zeros, ~(ones | zeros)


def odd_target_rows(inputs: Inputs, kind: str, reason: str) -> list[Notice]:
    """The rows that did not show the kind ``resolve_kind`` chose from the others."""
    if inputs.kind != "auto" or kind != "categorical" or "except row" not in reason:
        return []
    ones, zeros, others = _target_rows(inputs.y_true)
    notices = []
    if zeros.any():
        rows = _rows(zeros)
        notices.append(Notice("zero_target_row", rows, counts=(len(rows),)))
    if others.any():
        rows = _rows(others)
        total = float(np.sum(inputs.y_true[rows[0] - 1]))
        notices.append(Notice("odd_target_row", rows, counts=(len(rows),), values=(total,)))
    return notices


def _framework_kind(profile: Profile, kind: str, inputs: Inputs) -> tuple[str, str, list[Notice]]:
    """scikit-learn has no kinds: log_loss reads a 1-D or one-column y_pred as P(class 1) and any
    other y_pred as one column per class (multi-hot targets give −Σ y·log p per row)."""
    if not profile.sorted_labels:
        return kind, "", []
    yp = inputs.y_pred
    one_column = yp.ndim == 1 or (yp.ndim == 2 and yp.shape[1] == 1)
    if one_column and kind != "binary":
        return "binary", "scikit-learn reads a one-column y_pred as P(class 1): binary", []
    if kind == "binary" and not one_column:
        note = Notice("sklearn_columns", counts=(int(yp.shape[-1]),))
        return "categorical", "scikit-learn reads a multi-column y_pred as classes", [note]
    return kind, "", []


# --- options ----------------------------------------------------------------------------------

def check_reduction(profile: Profile, options: Options) -> str:
    """The reduction to use (the user's, else the profile's); UsageError if the profile lacks it."""
    reduction = options.reduction or profile.reduction
    if reduction not in profile.reductions:
        raise UsageError(f"profile {profile.name} has no reduction {reduction!r}",
                         hint=profile.refusals.get("reduction")
                         or f"choose one of {', '.join(profile.reductions)}")
    return reduction


def _check_options(inputs: Inputs, profile: Profile, options: Options, kind: str) -> None:
    if kind not in KINDS:
        raise UsageError(f"unknown loss {kind!r}", hint="choose auto, categorical, sparse or binary")
    profile.path(kind, inputs.from_logits)  # refuses combinations the framework does not have
    if options.label_smoothing and kind not in profile.smoothing:
        raise UsageError(f"profile {profile.name} has no label smoothing for {kind} targets",
                         hint=profile.refusals.get(f"{kind}/smooth"))
    if not 0 <= options.label_smoothing <= 1:
        raise UsageError("label smoothing must be between 0 and 1")
    check_reduction(profile, options)
    if inputs.class_weight is not None and not profile.class_weight:
        raise UsageError(f"profile {profile.name} takes no class weights",
                         hint="class weights are torch's `weight=`; in Keras, class_weight "
                              "becomes per-sample weights: use --sample-weight")


def _arrays(inputs: Inputs) -> tuple[Array, Array]:
    yt = np.asarray(inputs.y_true)
    yp = np.asarray(inputs.y_pred)
    if yp.size == 0 or yt.size == 0:
        raise DataError("there are no samples", where=inputs.source,
                        hint="the input needs at least one row")
    if yp.ndim > 2 or yt.ndim > 2:
        raise DataError(f"y_pred has {yp.ndim} dimensions; xent takes (samples, classes)",
                        where=inputs.source, hint="flatten the leading axes into samples")
    return yt, yp
