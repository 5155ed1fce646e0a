"""How xent adds up losses and weights, so a sum does not depend on how the rows were chunked.

The rule (``total``), used by the in-memory pipeline and by every streamed or sharded run:

- N ≤ ``EXACT_ABOVE`` values: ``np.sum(a, dtype=a.dtype)``, numpy's pairwise sum in the array's
  own dtype, which is what the frameworks' golden values were measured against at that size.
- N > ``EXACT_ABOVE``: the exactly rounded sum. Σ a is computed without error over the float64
  widening (exact for float32 and float64 inputs; see ``expand``), rounded once to float64 by
  ``math.fsum`` and, for float32, once more to float32. That number depends only on the multiset
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

from xentropy_cli.core import kernels

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
    """Floats t₁, t₂, … whose exact sum is exactly Σ values + Σ terms (all finite).

    Each level splits every value x into hi = x rounded to a multiple of u, and lo = x − hi
    (both exact: hi = (x + σ) − σ with σ = 1.5·2⁵²·u). u is chosen so large that N·max|hi| stays
    below 2⁵²·u, so Σ hi is exact in float64 whatever the order; the level's term is Σ hi and the
    next level sums the lo's, which are at most u/2. Each level takes ≥ 36 bits off the range,
    so a few levels reach all-zero lo's.
    """
    x = np.concatenate([np.asarray(values, np.float64).reshape(-1), np.asarray(terms, np.float64)])
    out: list[float] = []
    while x.size:
        m = float(np.max(np.abs(x)))
        if m == 0.0:
            break
        e = math.frexp(m)[1]  # m < 2**e
        bits = max(1, math.ceil(math.log2(x.size)))
        if e + bits > 1000:  # σ would overflow: fall back to fsum residuals for huge values
            return tuple(out) + _fsum_expand(x)
        u = math.ldexp(1.0, max(e + bits + 1 - 53, -1074))
        sigma = 1.5 * math.ldexp(u, 52)
        hi = (x + sigma) - sigma
        x = x - hi
        out.append(float(np.sum(hi)))
        x = x[x != 0]
    return tuple(t for t in out if t)


def _fsum_expand(x: Array) -> tuple[float, ...]:
    """expand() by exactly rounded residuals: t₁ = fsum(x), t₂ = fsum(x − t₁), … (slow, rare)."""
    out: list[float] = []
    while True:
        residual = math.fsum(chain(x.tolist(), (-t for t in out)))
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
    return Sum(a.dtype, a.n + b.n, None, expand(a.terms, b.terms), a.nan or b.nan,
               a.pinf or b.pinf, a.ninf or b.ninf)


def _as_expanded(s: Sum) -> Sum:
    if s.values is None:
        return s
    e = _expanded(s.values)
    return Sum(s.dtype, s.n, None, e.terms, e.nan, e.pinf, e.ninf)


def value(s: Sum, kernel: str = "numpy") -> np.floating:
    """The sum as a scalar of the values' dtype (see the module docstring for the rule); up to
    EXACT_ABOVE values added in the order of ``kernel``'s library (kernels.sum_last)."""
    dtype = np.dtype(s.dtype)
    if s.values is not None and s.n <= EXACT_ABOVE:
        with np.errstate(all="ignore"):  # inf − inf is nan here as in the frameworks, unannounced
            if kernel != "numpy" and s.values.ndim == 1 and np.issubdtype(dtype, np.floating):
                return dtype.type(kernels.sum_last(np.asarray(s.values, dtype), kernel))
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


def total(a: Array, kernel: str = "numpy") -> np.floating:
    """Σ a in a's dtype: ``kernel``'s order of addition (numpy's pairwise sum by default) up to
    EXACT_ABOVE values, exactly rounded above."""
    return value(of(a), kernel)
