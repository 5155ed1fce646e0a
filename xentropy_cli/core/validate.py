"""Check inputs against a profile and bring them to canonical shapes, or say exactly what is wrong.

Canonical shapes: categorical y (N, K) and p (N, K); sparse labels (N,) int and p (N, K);
binary y and p (N, K) with K ≥ 1 outputs per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Array, Inputs, Notice, Options
from xentropy_cli.errors import DataError, UsageError


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


def _first_bad(mask: Array) -> tuple[int, int | None]:
    index = np.argwhere(mask)[0]
    return int(index[0]), (int(index[1]) if len(index) > 1 else None)


def _check_finite(a: Array, inputs: Inputs, which: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        row, col = _first_bad(bad.reshape(a.shape[0], -1) if a.ndim else bad.reshape(1, 1))
        value = a.reshape(a.shape[0], -1)[row, col or 0] if a.ndim else a
        raise DataError(f"{which} is {value} (not a finite number)",
                        where=inputs.where(row, col, which),
                        hint="remove or fix that row; NaN and inf cannot be scored")


def _bounds(a: Array) -> tuple[float, float] | None:
    """(min, max) of a numeric array in two fast reductions (nan if any value is nan), or None
    for other dtypes. min ≥ 0 and max ≤ 1 prove in one go what ``_check_finite`` and the
    negative / above-1 checks would find (nothing), so those full passes are skipped."""
    if a.dtype.kind not in "fiub" or a.size == 0:
        return None
    return a.min(), a.max()


def _finite_non_negative(bounds: tuple[float, float] | None) -> bool:
    return bounds is not None and bool(bounds[0] >= 0) and bool(np.isfinite(bounds[1]))


def _in_unit_interval(bounds: tuple[float, float] | None) -> bool:
    return bounds is not None and bool(bounds[0] >= 0) and bool(bounds[1] <= 1)


def _all_close_to_one(values: Array, tolerance) -> bool:
    """True when every |v − 1| ≤ tolerance, as np.isclose(v, 1.0, rtol, atol) decides it with
    tolerance = atol + rtol (|v − 1| in v's dtype; its max is nan if any is nan: False)."""
    if values.size == 0:
        return True
    return bool(np.less_equal(np.max(np.abs(values - 1.0)), tolerance))


def _as_2d(a: Array) -> Array:
    return a.reshape(-1, 1) if a.ndim == 1 else a


def resolve_kind(inputs: Inputs) -> tuple[str, str]:
    """Decide categorical / sparse / binary from the shapes, and say why."""
    yt, yp = inputs.y_true, inputs.y_pred
    if inputs.kind != "auto":
        return inputs.kind, f"--loss {inputs.kind}"
    if yp.ndim == 1 or (yp.ndim == 2 and yp.shape[1] == 1):
        return "binary", "y_pred has one column: binary cross-entropy"
    if yt.ndim == 1 or (yt.ndim == 2 and yt.shape[1] == 1):
        return "sparse", f"y_true is one label per sample and y_pred has {yp.shape[-1]} columns: sparse"
    if yt.shape == yp.shape:
        sums = np.sum(yt, axis=-1)
        if _all_close_to_one(sums, 1e-6 + 1e-05 * 1.0) or np.allclose(sums, 1.0, atol=1e-6):
            return "categorical", "every y_true row sums to 1: categorical cross-entropy"
        return "binary", "y_true rows do not sum to 1 (multi-label): binary cross-entropy per output"
    return "categorical", "categorical"


def _shape_error(inputs: Inputs, kind: str) -> DataError:
    return DataError(
        f"y_true has shape {inputs.y_true.shape} but y_pred has shape {inputs.y_pred.shape}, "
        f"which do not fit {kind} cross-entropy",
        where=inputs.source,
        hint="give one row per sample in both, or --loss sparse for one integer label per row",
    )


def _sparse_labels(inputs: Inputs, profile: Profile, n_classes: int) -> Array:
    yt = inputs.y_true
    if yt.ndim == 2 and yt.shape[1] > 1:
        # one-hot rows given where labels are wanted: accept exact one-hot only
        is_one_hot = np.all((yt == 0) | (yt == 1), axis=1) & (np.sum(yt, axis=1) == 1)
        if not is_one_hot.all():
            row = int(np.flatnonzero(~is_one_hot)[0])
            raise DataError("y_true row is not one-hot, so it has no single label",
                            where=inputs.where(row, None, "y_true"),
                            hint="use --loss categorical for soft or multi-hot targets")
        if yt.shape[1] != n_classes:
            raise _shape_error(inputs, "sparse")
        return np.argmax(yt, axis=1)
    values = yt.reshape(-1)
    if profile.sorted_labels:
        classes = np.unique(values) if inputs.labels is None else np.asarray(inputs.labels)
        if len(classes) != n_classes:
            if inputs.labels is not None:
                raise DataError(f"--labels names {len(classes)} classes {classes.tolist()} but y_pred "
                                f"has {n_classes} columns", where=inputs.source,
                                hint=f"give one label per column of y_pred ({n_classes})")
            raise DataError(
                f"y_true has {len(classes)} classes {classes.tolist()} but y_pred has "
                f"{n_classes} columns",
                where=inputs.source,
                hint="scikit-learn takes the classes from y_true: pass --labels with all of them",
            )
        index = np.searchsorted(classes, values)
        missing = (index >= len(classes)) | (classes[np.minimum(index, len(classes) - 1)] != values)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            given = "--labels" if inputs.labels is not None else "the classes"
            raise DataError(f"label {values[row]:g} is not one of {given} {classes.tolist()}",
                            where=inputs.where(row, None, "y_true"),
                            hint="pass --labels with every class y_true uses")
        return index
    not_int = values != np.round(values)
    if not_int.any():
        row = int(np.flatnonzero(not_int)[0])
        raise DataError(f"label {values[row]:g} is not an integer",
                        where=inputs.where(row, None, "y_true"),
                        hint="sparse labels are class numbers 0..K−1")
    out_of_range = (values < 0) | (values >= n_classes)
    if out_of_range.any():
        row = int(np.flatnonzero(out_of_range)[0])
        raise DataError(f"label {values[row]:g} is outside 0..{n_classes - 1}",
                        where=inputs.where(row, None, "y_true"),
                        hint=f"y_pred has {n_classes} columns, so labels must be 0..{n_classes - 1}")
    return values.astype(np.int64)


def _sample_weight(inputs: Inputs, profile: Profile, n: int) -> Array | None:
    w = inputs.sample_weight
    if w is None:
        return None
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
    if w.ndim > 1 or (w.ndim == 1 and w.shape[0] != n):
        raise DataError(f"there are {w.size} sample weights for {n} samples",
                        where=inputs.source, hint="give one weight per sample, or one number")
    _check_finite(w.reshape(-1) if w.ndim else w, inputs, "sample_weight")
    negative = w < 0
    if np.any(negative):
        row = int(np.flatnonzero(np.atleast_1d(negative))[0])
        raise DataError(f"sample weight {np.atleast_1d(w)[row]:g} is negative",
                        where=inputs.where(row if w.ndim else None, None, "sample_weight"),
                        hint="weights must be ≥ 0")
    if profile.zero_division == "error" and not np.any(w):
        raise DataError("every sample weight is 0", where=inputs.source,
                        hint=f"profile {profile.name} needs at least one non-zero weight")
    return w


def check_reduction(profile: Profile, options: Options) -> str:
    """The reduction to use (the user's, else the profile's); UsageError if the profile lacks it."""
    reduction = options.reduction or profile.reduction
    if reduction not in profile.reductions:
        raise UsageError(f"profile {profile.name} has no reduction {reduction!r}",
                         hint=profile.refusals.get("reduction")
                         or f"choose one of {', '.join(profile.reductions)}")
    return reduction


def prepare(inputs: Inputs, profile: Profile, options: Options) -> Prepared:
    kind, reason = resolve_kind(inputs)
    if kind not in ("categorical", "sparse", "binary"):
        raise UsageError(f"unknown loss {kind!r}", hint="choose auto, categorical, sparse or binary")
    from_logits = inputs.from_logits
    profile.path(kind, from_logits)  # refuses combinations the framework does not have
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

    yt = np.asarray(inputs.y_true)
    yp = np.asarray(inputs.y_pred)
    if yp.size == 0 or yt.size == 0:
        raise DataError("there are no samples", where=inputs.source,
                        hint="the input needs at least one row")
    if yp.ndim > 2 or yt.ndim > 2:
        raise DataError(f"y_pred has {yp.ndim} dimensions; xent takes (samples, classes)",
                        where=inputs.source, hint="flatten the leading axes into samples")
    p_bounds, y_bounds = _bounds(yp), _bounds(yt)
    p_in_unit, y_clean = _in_unit_interval(p_bounds), _finite_non_negative(y_bounds)
    if not p_in_unit:
        _check_finite(yp, inputs, "y_pred")
    if not y_clean:
        _check_finite(yt, inputs, "y_true")
    notices: list[Notice] = []

    if kind == "binary":
        if yt.ndim == 2 and yp.ndim == 2 and yt.shape != yp.shape:
            raise _shape_error(inputs, kind)
        yp2, yt2 = _as_2d(yp), _as_2d(yt)
        if yt2.shape != yp2.shape:
            raise _shape_error(inputs, kind)
        labels = None
        n_classes = yp2.shape[1]
        if profile.sorted_labels:
            if n_classes != 1:
                raise UsageError("scikit-learn's log_loss reads a multi-column y_pred as classes",
                                 hint="use --loss categorical, or another --profile for "
                                      "multi-label binary cross-entropy")
            classes = np.unique(yt2) if inputs.labels is None else np.asarray(inputs.labels)
            if len(classes) != 2:
                whose = "--labels names" if inputs.labels is not None else "y_true holds"
                raise DataError(f"{whose} {len(classes)} class(es) {classes.tolist()}; "
                                "binary log_loss needs 2",
                                where=inputs.source, hint="pass --labels 0,1")
            yt2 = (yt2 == classes[1]).astype(yt2.dtype)
        bad = (yt2 < 0) | (yt2 > 1)
        if bad.any():
            row, col = _first_bad(bad)
            raise DataError(f"binary target {yt2[row, col]:g} is outside [0, 1]",
                            where=inputs.where(row, col, "y_true"))
        y_true, y_pred = yt2, yp2
    elif kind == "sparse":
        if yp.ndim != 2 or yp.shape[1] < 2:
            raise _shape_error(inputs, kind)
        n_classes = yp.shape[1]
        if yt.shape[0] != yp.shape[0]:
            raise _shape_error(inputs, kind)
        labels = _sparse_labels(inputs, profile, n_classes)
        y_true, y_pred = labels, yp
    else:
        yp2 = yp.reshape(1, -1) if yp.ndim == 1 else yp
        yt2 = yt.reshape(1, -1) if yt.ndim == 1 else yt
        if yt2.shape != yp2.shape:
            raise _shape_error(inputs, kind)
        if not y_clean and (yt2 < 0).any():
            row, col = _first_bad(yt2 < 0)
            raise DataError(f"target {yt2[row, col]:g} is negative",
                            where=inputs.where(row, col, "y_true"))
        if profile.sorted_labels:
            hard = np.all((yt2 == 0) | (yt2 == 1), axis=1)
            if not hard.all():
                row = int(np.flatnonzero(~hard)[0])
                raise DataError("scikit-learn's log_loss takes hard labels or one-hot rows, "
                                "not soft targets", where=inputs.where(row, None, "y_true"),
                                hint="use --profile naive or keras for soft targets")
        labels = None
        n_classes = yp2.shape[1]
        y_true, y_pred = yt2, yp2

    n = y_pred.shape[0]
    if not from_logits:
        notices += _probability_checks(inputs, profile, kind, y_pred, p_in_unit)
    sample_weight = _sample_weight(inputs, profile, n)
    if sample_weight is not None and sample_weight.ndim and not np.any(sample_weight):
        notices.append(Notice("zero_weights"))
    class_weight = None
    if inputs.class_weight is not None:
        class_weight = np.asarray(inputs.class_weight, dtype=np.float64).reshape(-1)
        if class_weight.shape[0] != n_classes:
            raise DataError(f"there are {class_weight.shape[0]} class weights for {n_classes} "
                            "classes", where=inputs.source, hint="give one weight per class")
    return Prepared(kind, reason, y_true, y_pred, labels, sample_weight, class_weight, n,
                    n_classes if kind != "binary" else y_pred.shape[1], tuple(notices),
                    inputs.source)


def _probability_checks(inputs: Inputs, profile: Profile, kind: str, p: Array,
                        in_unit: bool = False) -> list[Notice]:
    """Errors and notices for probabilities. ``in_unit``: 0 ≤ p ≤ 1 is already known."""
    notices = []
    negative = p < 0 if not in_unit else None
    if negative is not None and negative.any():
        row, col = _first_bad(negative)
        raise DataError(f"probability {p[row, col]:g} is negative",
                        where=inputs.where(row, col, "y_pred"),
                        hint="if these are logits, pass --from-logits")
    above = p > 1 if not in_unit else None
    if above is not None and above.any():
        row, col = _first_bad(above)
        if profile.sorted_labels:
            raise DataError(f"probability {p[row, col]:g} is greater than 1 "
                            "(scikit-learn refuses it)", where=inputs.where(row, col, "y_pred"),
                            hint="if these are logits, apply softmax first")
        rows = tuple(int(r) + 1 for r in np.flatnonzero(above.any(axis=1)))
        notices.append(Notice("looks_like_logits", rows, counts=(int(above.sum()),)))
    if kind != "binary":
        sums = np.sum(p, axis=1)
        zero_rows = np.flatnonzero(sums == 0)
        if zero_rows.size:
            raise DataError("every prediction in this row is 0, so it is no distribution "
                            "and cannot be normalised",
                            where=inputs.where(int(zero_rows[0]), None, "y_pred"),
                            hint="fix or drop the row")
        eps = np.finfo(p.dtype if np.issubdtype(p.dtype, np.floating) else np.float64).eps
        rtol = np.sqrt(eps)
        close = _all_close_to_one(sums, 0 + np.asarray(rtol) * 1.0)
        off = np.zeros(0, np.intp) if close else np.flatnonzero(~np.isclose(sums, 1.0, rtol=rtol, atol=0))
        if off.size:
            rows = tuple(int(r) + 1 for r in off)
            first = int(off[0])
            notices.append(Notice("not_normalised", rows, counts=(int(off.size),),
                                  values=(float(sums[first]),)))
    return notices
