"""The values and weights: notices for what the framework computes with, refusals where it raises."""

from __future__ import annotations

import numpy as np

from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Array, Inputs, Notice
from xentropy_cli.core.validate.common import (
    _all_finite,
    _bounds,
    _cell,
    _in_unit_interval,
    _refuse_non_finite,
    _rows,
    _Shaped,
    _sums_to_one,
)
from xentropy_cli.errors import DataError, UsageError

# --- values -----------------------------------------------------------------------------------

def _non_finite(a: Array, inputs: Inputs, profile: Profile, which: str,
                bounds: tuple[float, float] | None = None) -> list[Notice]:
    if _all_finite(a, bounds):
        return []
    if profile.finite_inputs:
        _refuse_non_finite(a, inputs, which, profile.framework)
        return []
    bad = ~np.isfinite(a)
    row, col, value = _cell(a, bad)
    rows = _rows(bad)
    return [Notice("non_finite", rows, counts=(int(bad.sum()),), values=(value,),
                   texts=(which, inputs.where(row, col, which), profile.framework))]


def _binary_range(inputs: Inputs, profile: Profile, shaped: _Shaped, from_logits: bool,
                  y_bounds: tuple[float, float] | None = None) -> list[Notice]:
    """torch's binary_cross_entropy raises unless 0 ≤ p ≤ 1 and 0 ≤ y ≤ 1 (nan fails both);
    Keras's torch backend clips p first. Other profiles compute with any target."""
    y, p = shaped.y_true, shaped.y_pred
    if profile.binary_range != "any" and not from_logits:
        with np.errstate(invalid="ignore"):
            bad_p = np.isnan(p) if profile.binary_range == "unit_after_clip" else ~((p >= 0) & (p <= 1))
            bad_y = ~((y >= 0) & (y <= 1))
        for which, a, bad in (("y_pred", p, bad_p), ("y_true", y, bad_y)):
            if bad.any():
                row, col, value = _cell(a, bad)
                what = "input" if which == "y_pred" else "target"
                raise DataError(f"{which} is {value:g}: torch's binary_cross_entropy raises (all "
                                f"elements of {what} should be between 0 and 1)",
                                where=inputs.where(row, col, which),
                                hint="pass logits with --from-logits, or use another --profile")
        return []
    if profile.sorted_labels or _in_unit_interval(y, y_bounds):
        return []
    with np.errstate(invalid="ignore"):
        bad = (y < 0) | (y > 1)
    if not bad.any():
        return []
    row, col, value = _cell(y, bad)
    return [Notice("target_outside", _rows(bad), counts=(int(bad.sum()),), values=(value,),
                   texts=(inputs.where(row, col, "y_true"), profile.framework))]


def _negative_targets(inputs: Inputs, profile: Profile, y: Array,
                      y_bounds: tuple[float, float] | None = None) -> list[Notice]:
    if y.ndim != 2 or _in_unit_interval(y, y_bounds) or profile.sorted_labels:
        return []
    with np.errstate(invalid="ignore"):
        bad = y < 0
    if not bad.any():
        return []
    row, col, value = _cell(y, bad)
    return [Notice("negative_target", _rows(bad), counts=(int(bad.sum()),), values=(value,),
                   texts=(inputs.where(row, col, "y_true"), profile.framework))]


def _probability_checks(inputs: Inputs, profile: Profile, kind: str, p: Array,
                        p_bounds: tuple[float, float] | None = None) -> list[Notice]:
    """Refusals (scikit-learn) and notices for probabilities outside [0, 1], all-zero rows and
    rows that do not sum to 1."""
    notices: list[Notice] = []
    if not _in_unit_interval(p, p_bounds):
        with np.errstate(invalid="ignore"):
            negative, above = p < 0, p > 1
        for mask, word in ((negative, "lower than 0"), (above, "greater than 1")):
            if mask.any() and profile.sorted_labels:
                row, col, value = _cell(p, mask)
                raise DataError(f"probability {value:g} is {word} (scikit-learn refuses it)",
                                where=inputs.where(row, col, "y_pred"),
                                hint="if these are logits, apply softmax first")
        if negative.any():
            row, col, value = _cell(p, negative)
            notices.append(Notice("negative_prediction", _rows(negative),
                                  counts=(int(negative.sum()),), values=(value,),
                                  texts=(inputs.where(row, col, "y_pred"), profile.framework)))
        if above.any():
            notices.append(Notice("looks_like_logits", _rows(above), counts=(int(above.sum()),)))
    if kind == "binary":
        return notices
    sums = np.sum(p, axis=1)
    zero = sums == 0
    if zero.any():
        zero[zero] = ~np.any(p[zero], axis=1)
    if zero.any():
        rows = _rows(zero)
        line = inputs.where(rows[0] - 1) if inputs.first_line is not None else ""
        notices.append(Notice("zero_row", rows, counts=(len(rows),), texts=(line, profile.framework)))
    ones = _sums_to_one(sums, p.shape[1])
    off = np.zeros(0, bool) if ones is None else ~ones & ~zero & np.isfinite(sums)
    if off.any():
        rows = _rows(off)
        notices.append(Notice("not_normalised", rows, counts=(len(rows),),
                              values=(float(sums[rows[0] - 1]),)))
    return notices


def _values(inputs: Inputs, profile: Profile, kind: str, shaped: _Shaped) -> list[Notice]:
    """Notices (or refusals) for the values; each array's min and max are taken once."""
    p_bounds = _bounds(shaped.y_pred)
    notices = _non_finite(shaped.y_pred, inputs, profile, "y_pred", p_bounds)
    if kind != "sparse":
        y_bounds = _bounds(shaped.y_true)
        notices += _non_finite(shaped.y_true, inputs, profile, "y_true", y_bounds)
        if kind == "binary":
            notices += _binary_range(inputs, profile, shaped, inputs.from_logits, y_bounds)
        else:
            notices += _negative_targets(inputs, profile, shaped.y_true, y_bounds)
    if not inputs.from_logits:
        notices += _probability_checks(inputs, profile, kind, shaped.y_pred, p_bounds)
    return notices


# --- weights ----------------------------------------------------------------------------------

def _sample_weight(inputs: Inputs, profile: Profile, shaped: _Shaped) -> tuple[Array | None, list[Notice]]:
    w = inputs.sample_weight
    if w is None:
        return None, []
    w = np.asarray(w, dtype=np.float64) if not np.issubdtype(np.asarray(w).dtype, np.floating) \
        else np.asarray(w)
    if profile.sample_weight == "none":
        raise UsageError(f"profile {profile.name} takes no sample weight",
                         hint=profile.refusals.get("sample_weight"))
    if w.ndim == 0 and profile.sample_weight == "per-sample":
        raise UsageError(f"profile {profile.name} rejects a single number as sample weight",
                         hint=profile.refusals.get("sample_weight"))
    if w.ndim == 2 and w.shape[1] == 1:
        w = w.reshape(-1)
    n = shaped.y_pred.shape[1] if shaped.one_sample else shaped.y_pred.shape[0]
    if w.ndim > 1 or (w.ndim == 1 and w.shape[0] != n):
        raise DataError(f"there are {w.size} sample weights for {n} samples",
                        where=inputs.source, hint="give one weight per sample, or one number")
    if shaped.one_sample and w.ndim == 1 and n > 1 and profile.binary_1d == "one_sample_no_weights":
        raise DataError(f"{profile.framework} raises on {n} sample weights for a 1-D binary input "
                        "(one sample to it: 'Can not squeeze dim[0]')", where=inputs.source,
                        hint="give y_true and y_pred as a column ([[1], [0], …]) for one weight "
                             "per sample")
    notices = _non_finite(w.reshape(-1) if w.ndim else w.reshape(1), inputs, profile, "sample_weight")
    with np.errstate(invalid="ignore"):
        negative = np.atleast_1d(w < 0)
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        notices.append(Notice("negative_weight", _rows(negative) if w.ndim else (),
                              counts=(int(negative.sum()),), values=(float(np.atleast_1d(w)[row]),),
                              texts=(inputs.where(row if w.ndim else None, None, "sample_weight"),
                                     profile.framework)))
    if profile.zero_division == "error" and not np.any(w):
        raise DataError("every sample weight is 0", where=inputs.source,
                        hint=f"profile {profile.name} needs at least one non-zero weight")
    if w.ndim and not np.any(w):
        notices.append(Notice("zero_weights"))
    return w, notices


def _class_weight(inputs: Inputs, n_classes: int) -> Array | None:
    if inputs.class_weight is None:
        return None
    class_weight = np.asarray(inputs.class_weight, dtype=np.float64).reshape(-1)
    if class_weight.shape[0] != n_classes:
        raise DataError(f"there are {class_weight.shape[0]} class weights for {n_classes} "
                        "classes", where=inputs.source, hint="give one weight per class")
    return class_weight
