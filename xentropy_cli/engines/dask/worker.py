"""One shard on a Dask worker: its blocks through the pipeline, folded into an Outcome (a
Partial, and the per-sample w·l or the rows that matter most when asked), each block computed as
if it sat where it sits among all the rows (``padding``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from xentropy_cli.core import kernels, partial, profiles
from xentropy_cli.core.partial import Partial
from xentropy_cli.core.types import Array, Inputs, Kind, LossKind, Options, Result
from xentropy_cli.engines.dask.shards import (
    BLOCK_ROWS,
    Job,
    Shard,
    _finished,
    delimited_blocks,
    parquet_blocks,
    read_shard,
)


@dataclass(frozen=True)
class Meta:
    """The small part of a shard's outcome: enough to order, check and combine shards."""

    index: int
    n: int
    kind: Kind
    ambiguous: bool  # --loss auto with y_true and y_pred of the same shape: categorical or binary
    columns: tuple  # (true names, pred names, y_true columns, y_pred columns, weight column?)
    partial: Partial
    partial_q: Partial | None = None
    offset: int = 0  # the global first row the shard was computed for (see padding)
    cells: int = 1  # y_pred cells per row
    total: int | None = None  # the rows of all shards it was computed for (None: not known)


@dataclass(frozen=True)
class Top:
    """Explain: a shard's rows that contribute most, with their inputs as read."""

    rows: tuple[int, ...]  # 0-based in the shard; global once moved to the shard's offset
    scores: tuple[float, ...]
    y_true: Array
    y_pred: Array
    weight: Array | None
    lines: tuple[int | None, ...]  # file line (CSV) or file row (Parquet) of each, 1-based


@dataclass(frozen=True)
class Outcome:
    meta: Meta
    per_sample: Array | None = None
    top: Top | None = None


def provisional_row(shard: Shard) -> int:
    """first_row for the shard's Partial before its offset is known: 0 only for the first shard
    (a single weight given by -w is counted once, by the shard that starts at row 0)."""
    return 0 if shard.index == 0 else 1


def run_shard(shard: Shard, job: Job, kind: LossKind | None = None, offset: int = 0,
              total: int | None = None) -> Outcome:
    """Read one shard and run the pipeline on it, a block of BLOCK_ROWS rows at a time: its
    Partial (and per-sample w·l, top rows).

    ``offset`` is the shard's first global row and ``total`` the rows of all shards, as far as
    they are known (0 and None when they are not): only the last shard depends on the first, only
    shards of fewer than ``WHOLE`` cells on the second (see ``padding``).
    """
    from xentropy_cli.io import fastcsv

    try:
        return _in_blocks(shard, job, (offset, total), _blocks(shard, job, kind, BLOCK_ROWS))
    except (partial.Inconsistent, fastcsv.NotStreamable):
        # blocks that took the loss kind differently, or text the block reader leaves to io.read
        return _in_blocks(shard, job, (offset, total), _blocks(shard, job, kind, None))


def _blocks(shard: Shard, job: Job, kind: LossKind | None, size: int | None):
    """(first row in the shard, Inputs, is it the shard's last block?) of its blocks, in order."""
    if size is None:
        yield 0, read_shard(shard, job, kind), True
        return
    if shard.fmt == "parquet":
        blocks = parquet_blocks(shard, job, size)
    else:
        blocks = delimited_blocks(shard, job, size)
    held = None
    for a, block in blocks:
        if held is not None:
            yield held[0], _finished(held[1], shard, job, kind), False
        held = (a, block)
    if held is not None:
        yield held[0], _finished(held[1], shard, job, kind), True


def _in_blocks(shard: Shard, job: Job, place: tuple[int, int | None], blocks) -> Outcome:
    """Every block through ``_aligned``, folded: the shard's Outcome."""
    profile = profiles.get(job.profile)
    other = None if job.against is None else profiles.get(job.against)
    first = provisional_row(shard)
    offset, total = place
    parts, parts_q, pers, tops = [], [], [], []
    shape = None
    for a, block, final in blocks:
        yt, yp = np.asarray(block.y_true), np.asarray(block.y_pred)
        if shape is None:
            shape = _shape(block, yt, yp)
        cells = shape[1][3]
        last = shard.last and final
        where = (offset + a, total)
        result, part = _aligned(block, profile, job.options, first + a, last, cells, where)
        parts.append(part)
        if job.per_sample:
            pers.append(np.asarray(result.per_sample))
        if other is not None:
            result_q, part_q = _aligned(block, other, job.options, first + a, last, cells, where)
            parts_q.append(part_q)
            tops.append(_top(block, result, result_q, job, a))
    total_p = partial.merge_all(parts)
    total_q = partial.merge_all(parts_q) if parts_q else None
    per_sample = (pers[0] if len(pers) == 1 else np.concatenate(pers)) if pers else None
    if shape is None:
        raise ValueError("a shard gave no block")  # the readers raise first: no rows is an error
    ambiguous, columns = shape
    meta = Meta(shard.index, total_p.n, total_p.kind, ambiguous, columns, total_p, total_q, offset,
                columns[3], total)
    return Outcome(meta, per_sample, _best(tops, job.top_k) if tops else None)


def _shape(inputs: Inputs, yt: Array, yp: Array) -> tuple[bool, tuple]:
    """(--loss auto has to choose between categorical and binary, the shard's columns)."""
    cells = yp.shape[1] if yp.ndim == 2 else 1
    ambiguous = inputs.kind == "auto" and yt.ndim == 2 and yt.shape == yp.shape and yp.shape[1] > 1
    return ambiguous, (inputs.true_names, inputs.pred_names, yt.shape[1] if yt.ndim == 2 else 1, cells,
                       inputs.sample_weight is not None and np.ndim(inputs.sample_weight) > 0)


# Where a row sits in the tensor can change its loss (core/kernels.py): TensorFlow computes a
# float32 log on packets of 8 cells (float64: 4) and the flat tensor's last n mod 8 cells on a
# scalar path; XLA sums rows one way in a tensor of fewer than 4096 cells, another way from 4096
# on. A shard is therefore computed as if it sat where it sits among all the rows: padded with
# copies of its own rows, whose results are dropped.
PACKET = kernels.PACKET
WHOLE = kernels.YNNPACK_FROM


def padding(last: bool, n: int, cells: int, place: tuple[int, int | None]) -> tuple[int, int]:
    """(rows before, rows after) that put a block's cells where they sit among all the rows:
    a multiple of PACKET cells after it unless it ends all the rows (``last``: the tail is its);
    before the last block, its offset's cells mod PACKET; and, when all the rows have WHOLE cells
    or more, at least WHOLE cells in all."""
    offset, total = place
    big = total is not None and total * cells >= WHOLE
    if last:
        before = offset % PACKET if (offset * cells) % PACKET else 0
        while big and (before + n) * cells < WHOLE:
            before += PACKET
        return before, 0
    after = 0
    while ((n + after) * cells) % PACKET or (big and (n + after) * cells < WHOLE):
        after += 1
    return 0, after


def _aligned(inputs: Inputs, profile, options: Options, first: int, last: bool, cells: int,
             place: tuple[int, int | None]) -> tuple[Result, partial.Partial]:
    """``partial.run_chunk`` on a block, its per-sample w·l computed in place (see ``padding``)."""
    from xentropy_cli.core import pipeline, sums

    result, part = partial.run_chunk(inputs, profile, options, first)
    before, after = padding(last, result.n_samples, cells, place)
    if not before and not after:
        return result, part
    padded = replace(inputs, kind=result.kind, y_true=_pad(inputs.y_true, before, after),
                     y_pred=_pad(inputs.y_pred, before, after),
                     sample_weight=inputs.sample_weight if inputs.sample_weight is None
                     or np.ndim(inputs.sample_weight) == 0
                     else _pad(inputs.sample_weight, before, after))
    every = pipeline.run(padded, profile, replace(options, reduction="none")).per_sample
    per = np.ascontiguousarray(every[before:before + result.n_samples])
    return replace(result, per_sample=per), replace(part, weighted=sums.of(per))


def _pad(a, before: int, after: int) -> Array:
    a = np.asarray(a)
    return np.concatenate([np.repeat(a[:1], before, axis=0), a, np.repeat(a[-1:], after, axis=0)])


def _top(inputs: Inputs, p: Result, q: Result, job: Job, base: int) -> Top:
    """A block's rows with the largest |w·l/D under P − w·l/D under Q| (0-based rows of the
    shard: the block starts at its row ``base``)."""
    a = np.asarray(p.per_sample, np.float64)
    b = np.asarray(q.per_sample, np.float64)
    d_p, d_q = job.divisors or (1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.abs(a / (d_p or 1.0) - b / (d_q or 1.0))
    ranked = partial.partial_of(p, 0, job.top_k, score=score)  # the Partial's own ranking
    local = np.array(ranked.top_rows, dtype=np.intp)
    w = inputs.sample_weight
    weight = None if w is None or np.ndim(w) == 0 else np.asarray(w)[local]
    line = inputs.first_line
    return Top(tuple(base + int(r) for r in local), ranked.top_scores, np.asarray(inputs.y_true)[local],
               np.asarray(inputs.y_pred)[local], weight,
               tuple(None if line is None else line + int(r) for r in local))


def _best(tops: list[Top], k: int) -> Top:
    """The ``k`` best rows of several blocks' Tops (largest score, then first row)."""
    if len(tops) == 1:
        return tops[0]
    order = sorted(((score, row, t, i) for t, top in enumerate(tops)
                    for i, (row, score) in enumerate(zip(top.rows, top.scores, strict=True))),
                   key=lambda item: (-item[0], item[1]))[:k]

    def stack(arrays: list) -> Array | None:
        return None if any(a is None for a in arrays) else np.concatenate(arrays)

    pick = [(tops[t], i) for _, _, t, i in order]
    return Top(tuple(top.rows[i] for top, i in pick), tuple(top.scores[i] for top, i in pick),
               np.concatenate([top.y_true[i:i + 1] for top, i in pick]),
               np.concatenate([top.y_pred[i:i + 1] for top, i in pick]),
               stack([None if top.weight is None else top.weight[i:i + 1] for top, i in pick]),
               tuple(top.lines[i] for top, i in pick))


def _meta(outcome: Outcome) -> Meta:
    return outcome.meta


def _per_sample(outcome: Outcome) -> Array | None:
    return outcome.per_sample


def _top_of(outcome: Outcome) -> Top | None:
    return outcome.top
