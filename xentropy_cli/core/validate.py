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

from dataclasses import dataclass, field

import numpy as np

from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Array, Inputs, Notice, Options
from xentropy_cli.errors import DataError, UsageError

KINDS = ("categorical", "sparse", "binary")


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


@dataclass
class _Shaped:
    """What a kind's shaper hands back: canonical arrays and what it noticed."""

    y_true: Array
    y_pred: Array
    n_classes: int
    labels: Array | None = None
    notices: list[Notice] = field(default_factory=list)
    one_sample: bool = False
    void_rows: Array | None = None
    nan_rows: Array | None = None


# --- small helpers ----------------------------------------------------------------------------

def _first_bad(mask: Array) -> tuple[int, int | None]:
    index = np.argwhere(mask)[0]
    return int(index[0]), (int(index[1]) if len(index) > 1 else None)


def _rows(mask: Array) -> tuple[int, ...]:
    """1-based rows where a (N,) or (N, K) mask is set."""
    m = mask if mask.ndim == 1 else mask.any(axis=tuple(range(1, mask.ndim)))
    return tuple((np.flatnonzero(m) + 1).tolist())  # one C pass: a chunk may have 10⁵ such rows


def _cell(a: Array, mask: Array) -> tuple[int, int | None, float]:
    """Row, column (None for 1-D) and value of the first cell ``mask`` marks."""
    row, col = _first_bad(mask)
    return row, col, float(a[row] if col is None else a[row, col])


def _bounds(a: Array) -> tuple[float, float] | None:
    """(min, max) of a numeric array in two fast reductions (nan if any value is nan), or None
    for other dtypes. min ≥ 0 and max ≤ 1 prove in one go that no value is negative, above 1 or
    not finite, so those full passes are skipped."""
    if a.dtype.kind not in "fiub" or a.size == 0:
        return None
    return a.min(), a.max()


def _in_unit_interval(a: Array, bounds: tuple[float, float] | None = None) -> bool:
    bounds = bounds if bounds is not None else _bounds(a)
    return bounds is not None and bool(bounds[0] >= 0) and bool(bounds[1] <= 1)


def _all_finite(a: Array, bounds: tuple[float, float] | None = None) -> bool:
    bounds = bounds if bounds is not None else _bounds(a)
    return bounds is not None and bool(np.isfinite(bounds[0])) and bool(np.isfinite(bounds[1]))


def _as_2d(a: Array) -> Array:
    return a.reshape(-1, 1) if a.ndim == 1 else a


def _row_tolerance(n_classes: int) -> float:
    """How far from 1 a row of probabilities may sum and still count as normalised.

    Probabilities computed in float32 (a softmax) and printed with float32's shortest repr are
    each within an ulp or two of their value, so their float64 sum misses 1 by a few 2⁻²⁴ (up
    to 7·2⁻²⁴ measured on 20,000 pandas-written rows of K = 2…1000); the row sum rounds in
    float32 once more per level of its reduction. 2⁻²²·(2 + √K) accepts both with a margin, and
    is still far below any real unnormalised row (logits, scores, a dropped column).
    """
    return 2.0 ** -22 * (2.0 + float(np.sqrt(n_classes)))


def _sums_to_one(sums: Array, n_classes: int) -> Array | None:
    """Which row sums count as 1; None when every one does (one reduction, no mask)."""
    with np.errstate(invalid="ignore"):
        gap = np.abs(sums - 1.0)
        tolerance = _row_tolerance(n_classes)
        if gap.size and bool(np.max(gap) <= tolerance):
            return None
        return gap <= tolerance


def _shape_error(inputs: Inputs, kind: str) -> DataError:
    return DataError(
        f"y_true has shape {inputs.y_true.shape} but y_pred has shape {inputs.y_pred.shape}, "
        f"which do not fit {kind} cross-entropy",
        where=inputs.source,
        hint="give one row per sample in both, or --loss sparse for one integer label per row",
    )


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


# --- one shaper per kind ----------------------------------------------------------------------

def _binary(inputs: Inputs, profile: Profile, yt: Array, yp: Array) -> _Shaped:
    one_sample = yt.ndim == 1 and yp.ndim == 1 and profile.binary_1d != "samples"
    if one_sample:
        if yt.shape != yp.shape:
            raise _shape_error(inputs, "binary")
        shaped = _Shaped(yt.reshape(1, -1), yp.reshape(1, -1), yp.shape[0], one_sample=True)
        shaped.notices.append(Notice("one_sample", (1,), counts=(int(yp.shape[0]),),
                                     texts=(profile.framework,)))
        return shaped
    if yt.ndim == 2 and yp.ndim == 2 and yt.shape != yp.shape:
        raise _shape_error(inputs, "binary")
    y2, p2 = _as_2d(yt), _as_2d(yp)
    if y2.shape != p2.shape:
        raise _shape_error(inputs, "binary")
    shaped = _Shaped(y2, p2, p2.shape[1])
    if profile.sorted_labels:
        shaped.y_true = _sklearn_binary_targets(inputs, y2)
    return shaped


def _sklearn_binary_targets(inputs: Inputs, y2: Array) -> Array:
    _refuse_non_finite(y2, inputs, "y_true", "scikit-learn")
    fractional = y2 != np.round(y2)
    if fractional.any():
        row, col, value = _cell(y2, fractional)
        raise DataError(f"binary target {value:g} is not a class label (scikit-learn's log_loss "
                        "raises 'Unknown label type' for soft targets)",
                        where=inputs.where(row, col, "y_true"),
                        hint="use --profile naive, keras or torch for soft targets")
    classes = np.unique(y2) if inputs.labels is None else np.asarray(inputs.labels)
    if len(classes) != 2:
        whose = "--labels names" if inputs.labels is not None else "y_true holds"
        raise DataError(f"{whose} {len(classes)} class(es) {classes.tolist()}; "
                        "binary log_loss needs 2",
                        where=inputs.source, hint="pass --labels 0,1")
    return (y2 == classes[1]).astype(y2.dtype)


def _sparse(inputs: Inputs, profile: Profile, yt: Array, yp: Array) -> _Shaped:
    if yp.ndim != 2 or yp.shape[1] < 2 or yt.shape[0] != yp.shape[0]:
        raise _shape_error(inputs, "sparse")
    n_classes = yp.shape[1]
    shaped = _Shaped(yt, yp, n_classes)
    if yt.ndim == 2 and yt.shape[1] == 1 and profile.label_column == "refuse":
        raise DataError(f"y_true is an (N, 1) column of labels: {profile.framework} raises (0D or "
                        "1D target tensor expected)", where=inputs.source,
                        hint="give the labels as a 1-D list of N class indices")
    if yt.ndim == 2 and yt.shape[1] > 1:
        shaped.labels = _one_hot_labels(inputs, yt, n_classes)
    elif profile.sorted_labels:
        shaped.labels = _sorted_labels(inputs, yt.reshape(-1), n_classes)
    else:
        _class_indices(inputs, profile, yt.reshape(-1), shaped)
    shaped.y_true = np.asarray(shaped.labels)
    return shaped


def _one_hot_labels(inputs: Inputs, yt: Array, n_classes: int) -> Array:
    """One-hot rows given where labels are wanted: accept exact one-hot only."""
    is_one_hot = np.all((yt == 0) | (yt == 1), axis=1) & (np.sum(yt, axis=1) == 1)
    if not is_one_hot.all():
        row = int(np.flatnonzero(~is_one_hot)[0])
        raise DataError("y_true row is not one-hot, so it has no single label",
                        where=inputs.where(row, None, "y_true"),
                        hint="use --loss categorical for soft or multi-hot targets")
    if yt.shape[1] != n_classes:
        raise _shape_error(inputs, "sparse")
    return np.argmax(yt, axis=1)


def _sorted_labels(inputs: Inputs, values: Array, n_classes: int) -> Array:
    """scikit-learn: the classes are the sorted unique labels (or --labels), one per column."""
    _refuse_non_finite(values, inputs, "y_true", "scikit-learn")
    fractional = values != np.round(values)
    if fractional.any():
        row = int(np.flatnonzero(fractional)[0])
        raise DataError(f"label {values[row]:g} is not a class label (scikit-learn's log_loss "
                        "raises 'Unknown label type' for continuous targets)",
                        where=inputs.where(row, None, "y_true"))
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


def _class_indices(inputs: Inputs, profile: Profile, values: Array, shaped: _Shaped) -> None:
    """Labels as class indices 0..K−1, each profile as its framework reads them: fractional
    labels truncated (Keras casts to int) or refused; out-of-range labels refused, one-hot to an
    all-zero row (JAX, numpy for negative labels) or read with jnp.take_along_axis (optax)."""
    k = shaped.n_classes
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise DataError(f"label {values[row]} is not a number", where=inputs.where(row, None, "y_true"),
                        hint="sparse labels are class numbers 0..K−1")
    fractional = values != np.round(values)
    if fractional.any():
        row = int(np.flatnonzero(fractional)[0])
        if profile.fractional_labels == "refuse":
            raise DataError(f"label {values[row]:g} is not an integer",
                            where=inputs.where(row, None, "y_true"),
                            hint=f"{profile.framework} takes integer class indices 0..{k - 1}")
        rows = _rows(fractional)
        shaped.notices.append(Notice(
            "fractional_label", rows, counts=(len(rows),),
            values=(float(values[row]), float(np.trunc(values[row]))),
            texts=(inputs.where(row, None, "y_true"), profile.framework)))
    labels = np.trunc(values).astype(np.int64)
    outside = (labels < 0) | (labels >= k)
    if not outside.any():
        shaped.labels = labels
        return
    rule = profile.label_range
    refused = outside if rule == "refuse" else (labels >= k) if rule == "zero_negative" else None
    if refused is not None and refused.any():
        row = int(np.flatnonzero(refused)[0])
        raise DataError(f"label {values[row]:g} is outside 0..{k - 1} ({profile.framework} raises)",
                        where=inputs.where(row, None, "y_true"),
                        hint=f"y_pred has {k} columns, so labels must be 0..{k - 1}")
    row = int(np.flatnonzero(outside)[0])
    if rule == "take":
        wrapped = (labels < 0) & (labels >= -k)
        labels = np.where(wrapped, labels + k, labels)
        shaped.nan_rows = (labels < 0) | (labels >= k)
        what = "from the end" if wrapped[row] else "nan"
    else:
        shaped.void_rows = outside
        what = "zero row"
    rows = _rows(outside)
    shaped.notices.append(Notice(
        "label_out_of_range", rows, counts=(len(rows),),
        values=(float(values[row]), float(k), float(labels[row])),
        texts=(inputs.where(row, None, "y_true"), profile.framework, what)))
    bad = (labels < 0) | (labels >= k)
    shaped.labels = np.where(bad, 0, labels)


def _categorical(inputs: Inputs, profile: Profile, yt: Array, yp: Array) -> _Shaped:
    yp2 = yp.reshape(1, -1) if yp.ndim == 1 else yp
    yt2 = yt.reshape(1, -1) if yt.ndim == 1 else yt
    if yt2.shape != yp2.shape:
        raise _shape_error(inputs, "categorical")
    if profile.sorted_labels:
        _refuse_non_finite(yt2, inputs, "y_true", "scikit-learn")
        hard = np.all((yt2 == 0) | (yt2 == 1), axis=1)
        if not hard.all():
            row = int(np.flatnonzero(~hard)[0])
            raise DataError("scikit-learn's log_loss takes hard labels or one-hot rows, "
                            "not soft targets", where=inputs.where(row, None, "y_true"),
                            hint="use --profile naive or keras for soft targets")
    return _Shaped(yt2, yp2, yp2.shape[1])


_SHAPERS = {"binary": _binary, "sparse": _sparse, "categorical": _categorical}


# --- values -----------------------------------------------------------------------------------

def _refuse_non_finite(a: Array, inputs: Inputs, which: str, who: str) -> None:
    if _all_finite(a):
        return
    bad = ~np.isfinite(a)
    if bad.any():
        row, col, value = _cell(a, bad)
        raise DataError(f"{which} is {value} ({who} raises on nan and inf)",
                        where=inputs.where(row, col, which),
                        hint="remove or fix that row")


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
