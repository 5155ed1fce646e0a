"""One shaper per kind: the arrays as the framework reads them, or the refusal it raises."""

from __future__ import annotations

import numpy as np

from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Array, Inputs, Notice
from xentropy_cli.core.validate.common import (
    _as_2d,
    _cell,
    _refuse_non_finite,
    _rows,
    _shape_error,
    _Shaped,
)
from xentropy_cli.errors import DataError

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
        raise DataError(f"y_true is a column of labels, shape {yt.shape}: {profile.framework} "
                        f"raises on it ({profile.refusals['sparse/column']})", where=inputs.source,
                        hint="give the labels as a list, [2, 0, …] (a CSV label column is read so)")
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


class ClassesNotColumns(DataError):
    """scikit-learn's classes, taken from these rows of y_true, are not one per column of y_pred.
    Only all the rows decide: a block of a streamed file may lack a class the file has."""


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
        raise ClassesNotColumns(
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


# A nan or ±inf label cast to an integer as the one-hot backends cast it (tests/golden/shapes.json):
# XLA's convert (Keras-JAX) gives 0 for nan and saturates ±inf; numpy's astype (Keras-NumPy) gives
# INT64_MIN for all three on x86-64. The others raise (TensorFlow: label out of range; torch and
# optax: float labels).
_NON_FINITE_LABELS = {
    "zero": lambda v: np.where(np.isnan(v), 0, np.where(v > 0, 2**31 - 1, -(2**31))),
    "zero_negative": lambda v: np.full(v.shape, np.iinfo(np.int64).min),
}


def _class_indices(inputs: Inputs, profile: Profile, values: Array, shaped: _Shaped) -> None:
    """Labels as class indices 0..K−1, each profile as its framework reads them: fractional
    labels truncated (Keras casts to int) or refused; out-of-range labels refused, one-hot to an
    all-zero row (JAX, numpy for negative labels) or read with jnp.take_along_axis (optax)."""
    k = shaped.n_classes
    finite = np.isfinite(values)
    cast = _NON_FINITE_LABELS.get(profile.label_range)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        if cast is None:
            raise DataError(f"label {values[row]} is not a number",
                            where=inputs.where(row, None, "y_true"),
                            hint="sparse labels are class numbers 0..K−1")
        shaped.notices.append(Notice("non_finite", _rows(~finite), counts=(int((~finite).sum()),),
                                     values=(float(values[row]),),
                                     texts=("y_true", inputs.where(row, None, "y_true"),
                                            profile.framework)))
    fractional = finite & (values != np.round(values))
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
    labels = np.trunc(np.where(finite, values, 0)).astype(np.int64)
    if cast is not None and not finite.all():
        labels[~finite] = cast(values[~finite])
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
