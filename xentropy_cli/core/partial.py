"""What one chunk (or shard) of rows contributes to a result, and how contributions combine.

A streamed or sharded run computes each chunk with the ordinary pipeline (reduction ``none``),
keeps only a ``Partial`` of it, and folds the partials into the value the in-memory
``pipeline.run`` gives on all the rows at once:

    value = Σ w·l ÷ D,   D = N | Σ w | Σ w[target]   (pipeline.divisor picks D for the profile)

Sums are kept as ``sums.Sum`` (see core/sums.py): up to 65,536 samples the chunks' values are
concatenated and summed by numpy exactly as in memory; above that both paths use the exactly
rounded sum. So a combined value equals the in-memory value bit for bit, for float64 and float32
profiles alike, however the rows were cut into chunks (tests/test_stream.py checks this).

Warnings (``Notice``) are combined as data, by code: counts add up, the first ``ROW_LIMIT`` rows
(global, 1-based) are kept, values stay those of the first chunk that raised it. Partials must
describe adjacent row ranges; ``merge_all`` orders them by ``first_row``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce as fold

import numpy as np

from xentropy_cli.core import pipeline, sums
from xentropy_cli.core import stages as st
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import (
    Array,
    Inconsistent,
    Inputs,
    Kind,
    KindReason,
    Notice,
    Options,
    Result,
    StageResult,
)
from xentropy_cli.core.validate import check_reduction

ROW_LIMIT = 1000  # rows kept per warning code (the in-memory run keeps them all)

# The order the in-memory pipeline emits them in.
_ORDER = ("looks_like_logits", "not_normalised", "zero_weights", "clipped", "log_zero", "nan")


@dataclass(frozen=True)
class NoticePart:
    """A warning as one chunk (or several merged) raised it: its rows global and 1-based (the
    first ``ROW_LIMIT``), and how many chunks raised it."""

    notice: Notice
    chunks: int = 1


@dataclass(frozen=True)
class Partial:
    """One chunk's contribution: sums, counts, warnings and its rows that matter most.

    ``first_row`` is the global 0-based index of the chunk's first sample; ``top_rows`` are
    global 0-based rows with the largest ``top_scores`` (|w·l| unless the caller scored them),
    best first, with their ``top_losses`` (w·l).
    """

    first_row: int
    n: int
    dtype: str
    n_classes: int
    kind: Kind
    kind_reason: KindReason | None
    from_logits: bool
    stage_names: tuple[str, ...]
    weighted: sums.Sum  # Σ w·l
    weights: sums.Sum | None  # Σ w, None without sample weights
    targets: sums.Sum | None  # Σ w[target], None unless class weights divide (torch)
    notices: tuple[NoticePart, ...]
    top_rows: tuple[int, ...]
    top_scores: tuple[float, ...]
    top_losses: tuple[float, ...]
    chunks: int = 1
    classes: tuple[float, ...] | None = None  # sklearn without --labels: the y_true values seen
    # (stage, global row, column, value) of the first row whose loss is nan or inf (Result's)
    first_non_finite: tuple[str, int, int | None, float] | None = None


@dataclass(frozen=True)
class Combined:
    """The reduced result of all partials."""

    value: float | None  # None for reduction "none" (the caller streamed the rows)
    notices: tuple[Notice, ...]
    reduction: str
    weighted_sum: float
    divisor: float | None
    stage: StageResult  # the reduce stage, as the in-memory run shows it
    total: Partial


# --- one chunk ---------------------------------------------------------------------------------

def run_chunk(inputs: Inputs, profile: Profile, options: Options, first_row: int,
              top_k: int = 0) -> tuple[Result, Partial]:
    """Run the pipeline on one chunk (reduction none) and summarise it.

    ``inputs.first_line`` should be the file line of the chunk's first sample, so errors name it.
    The user's reduction is checked here, but applied only when the partials are combined.
    """
    check_reduction(profile, options)
    result = pipeline.run(inputs, profile, replace(options, reduction="none"), chunk=True)
    weights, targets = _divisor_parts(inputs, profile, result, first_row)
    part = partial_of(result, first_row, top_k, weights, targets)
    if profile.sorted_labels and inputs.labels is None and result.kind in ("sparse", "binary"):
        part = replace(part, classes=tuple(np.unique(np.asarray(inputs.y_true)).tolist()))
    return result, part


def _divisor_parts(inputs: Inputs, profile: Profile, result: Result,
                   first_row: int) -> tuple[Array | None, Array | None]:
    dtype = np.dtype(result.dtype)
    weights = None
    if inputs.sample_weight is not None:
        w = pipeline.scalar_weight(profile, np.asarray(inputs.sample_weight))
        w = w.astype(pipeline.weight_dtype(profile, dtype, w))
        if w.ndim == 0:  # one number: Keras divides by it once (Σ w "as given"), not N times
            w = w.reshape(1) if first_row == 0 else w.reshape(1)[:0]
        weights = w.reshape(-1)
    targets = None
    if inputs.class_weight is not None and profile.class_weight and result.kind == "sparse":
        y = np.asarray(inputs.y_true)
        labels = np.argmax(y, axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
        cw = np.asarray(inputs.class_weight, dtype=np.float64).reshape(-1)
        targets = pipeline.target_weights(cw, labels, dtype)
    return weights, targets


def partial_of(result: Result, first_row: int, top_k: int = 0, weights: Array | None = None,
               targets: Array | None = None, score: Array | None = None) -> Partial:
    """Summarise a chunk's ``Result`` (any reduction; its per-sample w·l are what count).

    ``weights`` are the chunk's sample weights in the result's dtype (for Σ w; a single number
    broadcast to every sample is given once, by the chunk with first_row 0), ``targets`` its
    w[target] (torch class weights, for Σ w[target]); ``score`` ranks rows for ``top_rows``
    (default |w·l|, nan first).
    """
    per = np.asarray(result.per_sample).reshape(-1)
    rows, scores, losses = _top(per, first_row, top_k, score)
    return Partial(
        first_row=first_row, n=result.n_samples, dtype=result.dtype, n_classes=result.n_classes,
        kind=result.kind, kind_reason=result.reason, from_logits=result.from_logits,
        stage_names=result.stage_names,
        # torch and optax reduce a binary loss's N·K elements, not the N per-sample means
        weighted=sums.of(per if result.elements is None else result.elements.reshape(-1)),
        weights=None if weights is None else sums.of(np.ascontiguousarray(weights)),
        targets=None if targets is None else sums.of(targets),
        notices=tuple(_notice_part(n, first_row) for n in result.notices),
        top_rows=rows, top_scores=scores, top_losses=losses,
        first_non_finite=_shifted(result.first_non_finite, first_row),
    )


def _shifted(found: tuple[str, int, int | None, float] | None,
             rows: int) -> tuple[str, int, int | None, float] | None:
    return None if found is None else (found[0], found[1] + rows, found[2], found[3])


def _first(a: Partial, b: Partial) -> tuple[str, int, int | None, float] | None:
    """The first non-finite row of two partials: the one with the lower global row."""
    found = [f for f in (a.first_non_finite, b.first_non_finite) if f is not None]
    return min(found, key=lambda f: f[1]) if found else None


def _top(per: Array, first_row: int, k: int, score: Array | None):
    if k <= 0 or per.size == 0:
        return (), (), ()
    s = np.abs(per.astype(np.float64)) if score is None else np.asarray(score, np.float64)
    s = np.where(np.isnan(s), np.inf, s)
    k = min(k, s.size)
    pick = np.argpartition(-s, k - 1)[:k] if k < s.size else np.arange(s.size)
    pick = pick[np.lexsort((pick, -s[pick]))]
    return (tuple(int(i) + first_row for i in pick), tuple(float(s[i]) for i in pick),
            tuple(float(per[i]) for i in pick))


def _notice_part(notice: Notice, first_row: int) -> NoticePart:
    return NoticePart(replace(notice, rows=tuple(r + first_row for r in notice.rows[:ROW_LIMIT])))


def moved(p: Partial, first_row: int) -> Partial:
    """``p`` with its rows counted from ``first_row``: for a shard whose global offset is known
    only once the shards before it have been read (its sums do not change)."""
    shift = first_row - p.first_row
    if shift == 0:
        return p

    def notice(n: NoticePart) -> NoticePart:
        return replace(n, notice=replace(n.notice, rows=tuple(r + shift for r in n.notice.rows)))

    return replace(p, first_row=first_row, top_rows=tuple(r + shift for r in p.top_rows),
                   notices=tuple(notice(n) for n in p.notices),
                   first_non_finite=_shifted(p.first_non_finite, shift))


# --- combining -----------------------------------------------------------------------------------

def merge(a: Partial, b: Partial) -> Partial:
    """The Partial of chunk ``a`` followed by the adjacent chunk ``b``."""
    if a.classes != b.classes:
        raise Inconsistent(f"chunks hold different classes: {a.classes} then {b.classes}")
    if a.dtype != b.dtype or a.kind != b.kind or a.n_classes != b.n_classes:
        raise Inconsistent(f"chunks disagree: {a.kind}/{a.n_classes}/{a.dtype} then "
                         f"{b.kind}/{b.n_classes}/{b.dtype}")
    k = max(len(a.top_rows), len(b.top_rows))
    top = sorted(zip(a.top_scores + b.top_scores, a.top_rows + b.top_rows,
                     a.top_losses + b.top_losses, strict=True), key=lambda t: (-t[0], t[1]))[:k]
    return replace(
        a, n=a.n + b.n, weighted=sums.merge(a.weighted, b.weighted),
        weights=_merge_optional(a.weights, b.weights), targets=_merge_optional(a.targets, b.targets),
        notices=_merge_notices(a.notices, b.notices), top_rows=tuple(t[1] for t in top),
        top_scores=tuple(t[0] for t in top), top_losses=tuple(t[2] for t in top),
        chunks=a.chunks + b.chunks, first_non_finite=_first(a, b),
    )


def _merge_optional(a: sums.Sum | None, b: sums.Sum | None) -> sums.Sum | None:
    if a is None and b is None:
        return None
    if a is None or b is None:
        raise ValueError("some chunks have sample weights (or class weights) and some do not")
    return sums.merge(a, b)


_ROLES = ("y_pred", "y_true", "sample_weight")  # the order core/validate/ checks them in


def _key(notice: Notice) -> tuple[str, str]:
    """What makes two chunks' notices one warning: the code, and for non_finite the input it
    names (a nan in y_pred and one in the weights are two warnings, in memory as streamed)."""
    return notice.code, notice.texts[0] if notice.code == "non_finite" and notice.texts else ""


def _merge_notices(a: tuple[NoticePart, ...], b: tuple[NoticePart, ...]) -> tuple[NoticePart, ...]:
    out = {_key(part.notice): part for part in a}
    for part in b:
        first = out.get(_key(part.notice))
        out[_key(part.notice)] = part if first is None else NoticePart(
            _merge_notice(first.notice, part.notice), first.chunks + part.chunks)
    return tuple(out.values())


def _merge_notice(a: Notice, b: Notice) -> Notice:
    """``a`` then ``b`` (the same code): counts add up, rows join, ``a``'s values stay."""
    return replace(a, rows=(a.rows + b.rows)[:ROW_LIMIT],
                   counts=tuple(x + y for x, y in zip(a.counts, b.counts, strict=True)),
                   values=a.values or b.values)


def merge_all(partials: list[Partial]) -> Partial:
    """Fold partials of adjacent chunks (any order given) into one."""
    if not partials:
        raise ValueError("no partials to combine")
    ordered = sorted(partials, key=lambda p: p.first_row)
    return fold(merge, ordered)


def notices_of(total: Partial) -> tuple[Notice, ...]:
    """The warnings of the whole run, with counts and rows as the in-memory run has them."""
    rank = {code: i for i, code in enumerate(_ORDER)}
    role = {name: i for i, name in enumerate(_ROLES)}
    parts = sorted(total.notices, key=lambda p: (rank.get(p.notice.code, len(rank)),
                                                 role.get(_key(p.notice)[1], 0)))
    # all-zero weights in only some chunks are not all-zero weights of the whole run
    return tuple(part.notice for part in parts
                 if part.notice.code != "zero_weights" or part.chunks == total.chunks)


def finish(total: Partial, profile: Profile, reduction: str, source: str = "",
           kernel: str | None = None) -> Combined:
    """Reduce a merged Partial with the profile's rule: the same numbers as pipeline.run.
    ``kernel``: the user's --kernel, which orders Σ w·l as in pipeline.run (default: the profile's)."""
    weighted_sum = sums.value(total.weighted, pipeline.total_kernel(profile, total.kind, kernel))
    weight_total = None if total.weights is None else float(sums.value(total.weights, profile.kernel))
    target_total = None if total.targets is None else float(sums.value(total.targets))
    n = pipeline.counted(profile, total.kind, total.n, total.n_classes)  # torch binary: N·K
    divisor, name = pipeline.divisor(profile, reduction, n, weight_total, target_total, source)
    notices = notices_of(total)
    if reduction == "none":
        stage = StageResult("reduce", np.zeros(0, np.dtype(total.dtype)), None,
                            "no reduction: one loss per sample", "loss")
        return Combined(None, notices, reduction, float(weighted_sum), None, stage, total)
    stage = st.reduce_total(weighted_sum, reduction, divisor, name, profile.zero_division,
                            profile.mean_by_reciprocal)
    return Combined(float(stage.array), notices, reduction, float(weighted_sum), divisor, stage, total)


def result_of(total: Partial, combined: Combined, profile: Profile,
              per_sample: Array | None = None) -> Result:
    """A ``Result`` for the renderers from all partials (``total``, as the caller settled its loss
    kind) and their reduction: the value, counts and warnings.

    The stages are named but their arrays are not kept (only the reduce stage's); ``per_sample``
    holds whatever rows the caller kept (reduction none), or nothing.
    """
    dtype = np.dtype(total.dtype)
    per = np.zeros(0, dtype) if per_sample is None else per_sample
    stages = tuple(StageResult(name, np.zeros(0, dtype)) for name in total.stage_names if name != "reduce")
    reduce_stage = combined.stage if combined.value is not None else replace(combined.stage, array=per)
    return Result(
        profile=profile.name, models=profile.models, kind=total.kind,
        from_logits=total.from_logits, dtype=total.dtype, reduction=combined.reduction,
        stages=(*stages, reduce_stage), per_sample=per,
        value=combined.value if combined.value is not None else per,
        weighted_sum=combined.weighted_sum,
        divisor=float("nan") if combined.divisor is None else float(combined.divisor),
        n_samples=total.n, n_classes=total.n_classes, notices=combined.notices,
        reason=total.kind_reason, first_non_finite=total.first_non_finite)
