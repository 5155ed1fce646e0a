"""Shared pieces of the checks: what a shaper hands back, and small mask and bounds helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xentropy_cli.core.types import Array, Inputs, Notice
from xentropy_cli.errors import DataError


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


def _refuse_non_finite(a: Array, inputs: Inputs, which: str, who: str) -> None:
    if _all_finite(a):
        return
    bad = ~np.isfinite(a)
    if bad.any():
        row, col, value = _cell(a, bad)
        raise DataError(f"{which} is {value} ({who} raises on nan and inf)",
                        where=inputs.where(row, col, which),
                        hint="remove or fix that row")
