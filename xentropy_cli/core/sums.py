"""How xent adds up losses and weights, so a sum does not depend on how the rows were chunked.

The rule (``total``), used by the in-memory pipeline and by every streamed or sharded run:

- N ≤ ``EXACT_ABOVE`` values: ``np.sum(a, dtype=a.dtype)``, numpy's pairwise sum in the array's
  own dtype, which is what the frameworks' golden values were measured against at that size.
- N > ``EXACT_ABOVE``: the exactly rounded sum. Σ a is computed without error (``math.fsum``
  over the float64 widening, which is exact for float32 and float64 inputs) and then rounded once
  to float64, and for float32 once more to float32. That number depends only on the multiset
  of values, never on their order or on chunk boundaries.

A chunk's contribution is kept as a ``Sum``: its values while it has at most ``EXACT_ABOVE`` of
them (so a small total can still be summed by numpy exactly as in memory), otherwise an exact
expansion: a few floats whose exact sum is the exact sum of the chunk. Merging two Sums of
adjacent chunks gives the Sum of their union, so ``value(merge(...))`` equals ``total`` of the
concatenated array bit for bit.

Non-finite values follow IEEE: any nan, or both +inf and −inf, gives nan; else ±inf wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np

Array = np.ndarray
EXACT_ABOVE = 65536


@dataclass(frozen=True)
class Sum:
    """A chunk's contribution to a sum: its values (small chunks) or an exact expansion."""

    dtype: str
    n: int
    values: Array | None  # the values in row order, kept while n ≤ EXACT_ABOVE
    terms: tuple[float, ...] = ()  # exact expansion of the finite values (when values is None)
    nan: bool = False
    pinf: bool = False
    ninf: bool = False


def expand(values, terms: tuple[float, ...] = ()) -> tuple[float, ...]:
    """Floats t₁, t₂, … with Σ t exactly equal to Σ values + Σ terms (all finite).

    t₁ = fsum(x), t₂ = fsum(x − t₁), …: each step is exactly rounded, so the residual shrinks by
    at least 2⁻⁵³ per step and reaches exactly 0 after a few steps (the exact sum of doubles is a
    multiple of 2⁻¹⁰⁷⁴).
    """
    out: list[float] = []
    while True:
        residual = math.fsum(chain(values, terms, (-t for t in out)))
        if residual == 0.0:
            return tuple(out)
        out.append(residual)


def of(a: Array) -> Sum:
    """The Sum of a 1-d float array."""
    a = np.asarray(a).reshape(-1)
    if a.shape[0] <= EXACT_ABOVE:
        return Sum(str(a.dtype), int(a.shape[0]), a)
    return _expanded(a)


def _expanded(a: Array) -> Sum:
    wide = a.astype(np.float64, copy=False)
    finite = np.isfinite(wide)
    if finite.all():
        return Sum(str(a.dtype), int(a.shape[0]), None, expand(wide))
    nan = bool(np.isnan(wide).any())
    return Sum(str(a.dtype), int(a.shape[0]), None, expand(wide[finite]), nan,
               bool(np.isposinf(wide).any()), bool(np.isneginf(wide).any()))


def merge(a: Sum, b: Sum) -> Sum:
    """The Sum of chunk ``a`` followed by chunk ``b``."""
    if a.dtype != b.dtype:
        raise ValueError(f"cannot merge sums of {a.dtype} and {b.dtype}")
    if a.n + b.n <= EXACT_ABOVE and a.values is not None and b.values is not None:
        return Sum(a.dtype, a.n + b.n, np.concatenate([a.values, b.values]))
    a, b = _as_expanded(a), _as_expanded(b)
    return Sum(a.dtype, a.n + b.n, None, expand((), a.terms + b.terms), a.nan or b.nan,
               a.pinf or b.pinf, a.ninf or b.ninf)


def _as_expanded(s: Sum) -> Sum:
    if s.values is None:
        return s
    e = _expanded(s.values)
    return Sum(s.dtype, s.n, None, e.terms, e.nan, e.pinf, e.ninf)


def value(s: Sum) -> np.floating:
    """The sum as a scalar of the values' dtype (see the module docstring for the rule)."""
    dtype = np.dtype(s.dtype)
    if s.values is not None and s.n <= EXACT_ABOVE:
        return np.sum(s.values, dtype=dtype)
    if s.values is not None:
        s = _as_expanded(s)
    if s.nan or (s.pinf and s.ninf):
        return dtype.type(np.nan)
    if s.pinf or s.ninf:
        return dtype.type(np.inf if s.pinf else -np.inf)
    try:
        exact = math.fsum(s.terms)
    except OverflowError:
        exact = math.inf if sum(s.terms) > 0 else -math.inf
    with np.errstate(over="ignore"):
        return dtype.type(exact)


def total(a: Array) -> np.floating:
    """Σ a in a's dtype: numpy's pairwise sum up to EXACT_ABOVE values, exactly rounded above."""
    return value(of(a))
