"""Many profiles on one input: each one's value and how it departs from the textbook formula.

One pass: every chunk of rows (the whole input when it is read in memory) goes through every
chosen profile once, with reduction ``none``; ``chunk`` keeps a ``Tally`` per profile (its
``core.partial.Partial``, the first stage where it parts from naive, its largest per-sample gap
to naive) and forgets the rows. ``merge`` folds the tallies of adjacent chunks, ``rows`` reduces
them with each profile's rule: the same value as ``pipeline.run`` on all rows at once, bit for
bit (core/partial.py), in memory bounded by one chunk whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from xentropy_cli.core import explain, partial, profiles
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Inputs, Options, Result
from xentropy_cli.core.validate.shapes import ClassesNotColumns
from xentropy_cli.errors import XentError


@dataclass(frozen=True)
class Row:
    profile: Profile
    result: Result | None
    first_difference: str | None  # first stage that differs from naive; None when it agrees
    max_gap: float  # largest |per-sample loss − naive per-sample loss| (nan: no comparable row)
    refusal: str = ""  # why this profile cannot take the input


@dataclass(frozen=True)
class Tally:
    """One profile over the chunks seen so far."""

    name: str
    part: partial.Partial | None  # None once refused
    first_difference: str | None
    max_gap: float
    refusal: str = ""


Runner = Callable[[Inputs, Profile, Options, int], "tuple[Result, partial.Partial]"]


def _run_chunk(inputs: Inputs, profile: Profile, options: Options, first_row: int):
    return partial.run_chunk(inputs, profile, options, first_row)


def _earlier(a: str | None, b: str | None) -> str | None:
    """The stage that comes first in the computation (None: no difference)."""
    if a is None or b is None:
        return a or b
    return min(a, b, key=explain.CANONICAL.index)


def _max_gap(per: np.ndarray, base: np.ndarray) -> float:
    """max |l − l_naive| over the rows where it is a number; nan when there is none."""
    if per.shape != base.shape or per.size == 0:
        return float("nan")
    with np.errstate(invalid="ignore", over="ignore"):
        gaps = np.abs(per.astype(np.float64) - base.astype(np.float64))
    gaps = gaps[~np.isnan(gaps)]
    return float(gaps.max()) if gaps.size else float("nan")


def _bigger(a: float, b: float) -> float:
    return b if np.isnan(a) else a if np.isnan(b) else max(a, b)


def chunk(inputs: Inputs, chosen: list[Profile], options: Options, first_row: int = 0,
          run: Runner = _run_chunk, known: list[Tally] | None = None, whole: bool = True) -> list[Tally]:
    """Every chosen profile on one chunk of rows (``first_row``: its first row among all).

    ``run`` computes one profile on the chunk (default ``partial.run_chunk``; an engine passes
    its own when blocks must sit where they sit among all rows). A profile that refuses the
    chunk says why; the textbook formula, run once, is what every profile is measured against.
    ``known``: the tallies of the chunks before, whose first differences need not be looked for
    again (only earlier stages are compared). ``whole=False``: the chunk is a block of a larger
    input, where scikit-learn's classes counted in its rows decide nothing: that refusal is
    raised (the caller reads all rows at once), not kept as the profile's."""
    before = {t.name: t.first_difference for t in known or ()}
    try:
        base, base_part = run(inputs, profiles.NAIVE, replace(options, reduction=None), first_row)
    except XentError:
        base, base_part = None, None
    tallies = []
    for profile in chosen:
        try:
            if profile.name == "naive" and base is not None and options.reduction is None:
                result, part = base, base_part
            else:
                result, part = run(inputs, profile, options, first_row)
        except XentError as error:
            if not whole and isinstance(error, ClassesNotColumns):
                raise
            tallies.append(Tally(profile.name, None, None, float("nan"), error.one_line()))
            continue
        stage, gap = None, float("nan")
        if base is not None:
            stage = explain.first_difference(result, base, inputs.y_true, inputs.y_pred,
                                             before.get(profile.name))
            gap = _max_gap(np.asarray(result.per_sample), np.asarray(base.per_sample))
        tallies.append(Tally(profile.name, part, stage, gap))
    return tallies


def merge(a: list[Tally], b: list[Tally]) -> list[Tally]:
    """The tallies of chunk ``a`` followed by the adjacent chunk ``b`` (same profiles, in order).
    A profile that refused any chunk refuses the input, with the first chunk's reason."""
    out = []
    for x, y in zip(a, b, strict=True):
        if x.part is None or y.part is None:
            out.append(x if x.part is None else y)
            continue
        out.append(Tally(x.name, partial.merge(x.part, y.part),
                         _earlier(x.first_difference, y.first_difference), _bigger(x.max_gap, y.max_gap)))
    return out


def moved(tallies: list[Tally], first_row: int) -> list[Tally]:
    """``tallies`` with their rows counted from ``first_row`` (a shard placed after others)."""
    return [t if t.part is None else replace(t, part=partial.moved(t.part, first_row)) for t in tallies]


def rows(tallies: list[Tally], chosen: list[Profile], options: Options, source: str = "") -> list[Row]:
    """Each profile's value under its reduction (or the user's), from the merged tallies."""
    out = []
    for tally, profile in zip(tallies, chosen, strict=True):
        if tally.part is None:
            out.append(Row(profile, None, None, float("nan"), tally.refusal))
            continue
        reduction = options.reduction or profile.reduction
        try:
            combined = partial.finish(tally.part, profile, reduction, source, options.kernel)
        except XentError as error:
            out.append(Row(profile, None, None, float("nan"), error.one_line()))
            continue
        result = partial.result_of(tally.part, combined, profile)
        out.append(Row(profile, result, tally.first_difference, tally.max_gap))
    return out


def compare(inputs: Inputs, chosen: list[Profile], options: Options) -> list[Row]:
    """Every chosen profile on inputs held in memory (one chunk); a profile that cannot take the
    input says why instead."""
    return rows(chunk(inputs, chosen, options), chosen, options, inputs.source)
