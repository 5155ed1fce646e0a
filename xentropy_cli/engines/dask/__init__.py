"""``--engine dask``: the same pipeline on every shard of a glob, on a Dask cluster.

A *shard* is one CSV/TSV file, or one Parquet file or a run of its row groups. Every shard is
read with the single-file column rules (``io.columns``), run through ``core.partial.run_chunk``
(the ordinary pipeline, same profile and options) and returns a ``Partial``: Σ w·l, Σ w, N,
warning counts and its top rows, O(1) in the number of rows. The driver shifts each Partial to
its global row offset (shard order = natural sort of the file names, then row-group order) and
folds them with ``core.partial``, whose sums are chunk-invariant, so the value is the one
``xent compute`` gives on the concatenated rows, bit for bit, for float32 and float64 profiles.
Per-sample losses (``--reduction none`` or ``--format csv``) are the shards' own ``w·l`` arrays
written in shard order. Every stage works row by row, except that TensorFlow's log takes a scalar
path for the last n mod 8 cells of a tensor; each shard is computed as if it sat where it sits
among all the rows (see ``PACKET``), so these too are the single-file numbers, bit for bit.
Errors name the shard's file and line (CSV/TSV) or its 1-based row in the file (Parquet:
``preds.parquet:1235: column pred_2 …``); no value is printed unless every shard was computed.

Two decisions the single-file run takes from all rows are taken globally here:

- ``--loss auto`` when y_true and y_pred have the same columns: categorical only if every row of
  every shard sums to 1, else binary (shards that guessed categorical are run again as binary);
- scikit-learn's classes (sorted unique labels of y_true) when ``--labels`` is not given: a first
  pass reads y_true of every shard and the union is passed to all of them as ``--labels``.

Dask and pyarrow are imported by the functions that need them, so importing this module is cheap;
the CLI imports it only for ``--engine dask``.

The package: ``shards`` (what to read, and reading a shard), ``worker`` (one shard on a worker),
``driver`` (the cluster, ordering, combining), ``sinks`` (per-sample output); this module holds
the commands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from xentropy_cli.core.types import Inputs, Options
from xentropy_cli.engines import common
from xentropy_cli.engines.dask.driver import (
    CONNECT_TIMEOUT,
    LOCAL_CONFIG,
    WORKERS_PER_CORE,
    Progress,
    Run,
    ShardFailed,
    _Driver,
    check_address,
    cluster,
    execute,
    max_workers,
    shard_result,
)
from xentropy_cli.engines.dask.shards import (
    BLOCK_ROWS,
    FORMATS,
    ROWS_PER_SHARD,
    Job,
    Shard,
    delimited_blocks,
    expand,
    parquet_blocks,
    plan,
    read_shard,
)
from xentropy_cli.engines.dask.sinks import READER, _CollectSink, _FolderSink, _StreamSink
from xentropy_cli.engines.dask.worker import PACKET, WHOLE, Top, padding, run_shard
from xentropy_cli.errors import UsageError
from xentropy_cli.io import ReadSpec

__all__ = ["BLOCK_ROWS", "CONNECT_TIMEOUT", "FORMATS", "LOCAL_CONFIG", "PACKET", "READER",
           "ROWS_PER_SHARD", "WHOLE", "Job", "Progress", "Request", "Run", "Shard", "ShardFailed",
           "_CollectSink", "_Driver", "_FolderSink", "_StreamSink", "cluster", "compute",
           "delimited_blocks", "execute", "expand", "explain", "make_job", "padding",
           "parquet_blocks", "plan", "read_shard", "request", "run_shard", "shard_result", "compare"]


# --- the commands ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """What the user asked for on the command line: what to read, and the cluster."""

    spec: ReadSpec
    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        """Checked before anything starts: the address's form, and --workers within bounds."""
        if self.scheduler is not None:
            check_address(self.scheduler)
        if self.workers is not None and self.workers > max_workers():
            raise UsageError(f"--workers {self.workers} is more than {WORKERS_PER_CORE} per core "
                             f"({max_workers() // WORKERS_PER_CORE} core(s) here)",
                             hint=f"give at most {max_workers()}, or run a scheduler with more workers")


def request(spec: ReadSpec, scheduler: str | None, workers: int | None) -> Request:
    """What to read with ``--engine dask`` (engines.ENGINES), checked before Dask is imported."""
    if spec.inline:
        raise UsageError("--engine dask reads shard files, not -t/-p", hint="drop --engine dask")
    if workers is not None and (workers < 1 or scheduler is not None):
        raise UsageError(f"--workers {workers}: give a number ≥ 1, and only without --scheduler",
                         hint="a running scheduler brings its own workers")
    return Request(spec, scheduler, workers)


def make_job(request: Request, profile, options: Options, **extra: Any) -> Job:
    """The Job for ``request``; option errors are found here, before a cluster starts."""
    from xentropy_cli.core.validate import check_reduction
    from xentropy_cli.io import inline, parse_labels

    check_reduction(profile, options)
    weight = None
    if request.spec.sample_weight is not None:
        weight = np.asarray(inline.parse(request.spec.sample_weight, "--sample-weight"))
        if weight.ndim:
            raise UsageError("with --engine dask, -w takes one number (broadcast to every row)",
                             hint="put per-row weights in a weight column of the shards")
    vector = inline.parse_vector
    return Job(profile=profile.name, options=options, true_cols=request.spec.true_cols,
               pred_cols=request.spec.pred_cols, weight_col=request.spec.weight_col, sample_weight=weight,
               kind=request.spec.kind, from_logits=request.spec.from_logits,
               labels=None if request.spec.labels is None else parse_labels(request.spec.labels),
               class_weight=None if request.spec.class_weight is None else
               vector(request.spec.class_weight, "--class-weight"), **extra)


def _is_directory(path: Path | None, per_sample: bool) -> bool:
    """--output names a folder (one file per shard of per-sample losses) when it is one, or, for
    per-sample losses, when it does not exist and has no extension (the trailing slash of ``DIR/``
    does not survive the command line's path type)."""
    if path is None:
        return False
    return path.is_dir() or (per_sample and not path.exists() and not path.suffix)


def compute(request: Request, profile, options: Options, out) -> None:
    """``xent compute --engine dask``: the value, or the per-sample losses in shard order."""
    from xentropy_cli.core.validate import check_reduction

    reduction = check_reduction(profile, options)
    per_sample = reduction == "none" or out.format == "csv"
    directory = _is_directory(out.path, per_sample)
    if directory and not per_sample:
        raise UsageError("--output names a folder, which takes one file of per-sample losses per "
                         "shard", where=str(out.path),
                         hint="add --reduction none, or name a file for the value")
    shards = plan(expand(request.spec.sources, request.spec.input_format))
    job = make_job(request, profile, options, per_sample=per_sample)
    if directory:
        sink: Any = _FolderSink(Path(out.path), out.format, job, shards)
    elif per_sample and out.format in ("plain", "csv") and not out.strict:
        sink = _StreamSink(out)
    else:
        sink = _CollectSink() if per_sample else None
    progress = Progress.for_stderr(len(shards), out.quiet)
    try:
        with cluster(request.scheduler, request.workers) as client:
            run = execute(client, shards, job, sink, progress)
    except BaseException:
        if isinstance(sink, _StreamSink):
            sink.abandon()
        raise
    if isinstance(sink, _StreamSink):
        sink.close()
        out.warn(run.result.notices)
        return
    out.warn(run.result.notices)
    if isinstance(sink, _CollectSink):
        out.emit_compute(replace(run.result, per_sample=sink.array(run.result.dtype),
                                 value=sink.array(run.result.dtype)), reader=READER)
    elif not directory:
        out.emit_compute(run.result, reader=READER)


def explain(request: Request, profile, other, options: Options, rows: int, out,
            classes: tuple[int, ...] | None = None) -> None:
    """``xent explain --engine dask``: the stages of the rows that contribute most, of all shards."""
    from xentropy_cli.core import explain as explain_core
    from xentropy_cli.core.validate import check_reduction

    check_reduction(other, options)
    shards = plan(expand(request.spec.sources, request.spec.input_format))
    job = make_job(request, profile, options, against=other.name, top_k=max(rows, 1))
    with cluster(request.scheduler, request.workers) as client:
        run = execute(client, shards, job, None, Progress.for_stderr(len(shards), out.quiet))
        divisors = (common.share_divisor(run.combined), common.share_divisor(run.combined_q))
        tops = run.tops
        if divisors[0] != divisors[1]:  # rank again with the real divisors (second pass)
            again = replace(job, divisors=divisors, kind=run.kind, labels=run.labels)
            tops = execute(client, shards, again, None,
                           Progress.for_stderr(len(shards), out.quiet)).tops
    subset, where, numbers = _top_inputs(tops, job, run, rows)
    result_p, result_q, divergence = common.explain_rows(subset, profile, other, options, run.result,
                                                         run.combined_q)
    divergence = explain_core.renumbered(divergence, numbers)
    out.warn(run.result.notices)
    _emit_explain(out, subset, result_p, result_q, divergence, rows, run, where, numbers, classes)


def _emit_explain(out, subset: Inputs, result_p, result_q, divergence, rows: int, run: Run,
                  where: list[str], numbers: list[int], classes: tuple[int, ...] | None) -> None:
    """The explain output of the kept rows, numbered among the rows of all shards (the same
    fields as an in-memory run; the histogram covers the rows kept: its "rows" says how many)."""
    from xentropy_cli.core import explain as explain_core

    summary = explain_core.Rows(run.result.n_samples, tuple(numbers),
                                explain_core.histogram(lambda: [explain_core.pairs(result_p, result_q)]),
                                tuple(where))
    extra = {"reader": READER, "engine": {"engine": "dask", "shards": len(run.shards),
                                          "files": run.n_files}} if out.format == "json" else None
    out.emit_explain(subset, result_p, result_q, divergence, rows, summary=summary, classes=classes,
                     extra=extra)


def _top_inputs(tops: list[Top], job: Job, run: Run, limit: int) -> tuple[Inputs, list[str], list[int]]:
    """The ``limit`` rows that contribute most over all shards, in row order, as one Inputs."""
    ranked = sorted(((score, row, t, i) for t, top in enumerate(tops)
                     for i, (row, score) in enumerate(zip(top.rows, top.scores, strict=True))),
                    key=lambda item: (-item[0], item[1]))[:limit]
    ranked.sort(key=lambda item: item[1])
    pick = [(tops[t], i) for _, _, t, i in ranked]
    y_true = np.concatenate([top.y_true[i:i + 1] for top, i in pick])
    y_pred = np.concatenate([top.y_pred[i:i + 1] for top, i in pick])
    weights = [top.weight[i:i + 1] for top, i in pick if top.weight is not None]
    weight = np.concatenate(weights) if weights else job.sample_weight
    where = [f"{run.shards[t].path}" + ("" if tops[t].lines[i] is None else f":{tops[t].lines[i]}")
             + f" (row {row + 1:,} of all)" for _, row, t, i in ranked]
    rows = [row for _, row, _, _ in ranked]
    inputs = Inputs(y_true, y_pred, weight, kind=run.kind, from_logits=job.from_logits,
                    class_weight=job.class_weight, labels=run.labels,
                    source=f"{len(run.shards)} shards")
    return inputs, where, rows


# --- compare: every profile on each block, every shard read once ---------------------------------

def compare_shard(shard: Shard, job: Job, names: tuple[str, ...], options: Options,
                  place: tuple[int, int | None]) -> tuple[int, list]:
    """(rows, core.compare tallies) of one shard: each block read once and run through every
    profile, each block computed where it sits among all rows when ``place`` (its first global
    row, all rows) is known (see ``padding``)."""
    from xentropy_cli.core import compare as compare_core
    from xentropy_cli.core import profiles
    from xentropy_cli.engines.dask.worker import _aligned, _blocks, provisional_row

    chosen = [profiles.get(name) for name in names]
    first = provisional_row(shard)
    offset, total = place
    tallies, n = None, 0
    for a, block, final in _blocks(shard, job, None, BLOCK_ROWS):
        yp = np.asarray(block.y_pred)
        cells = yp.shape[1] if yp.ndim == 2 else 1
        last = shard.last and final

        def run(inputs, profile, opts, row, a=a, last=last, cells=cells):
            return _aligned(inputs, profile, opts, row, last, cells, (offset + a, total))

        tally = compare_core.chunk(block, chosen, options, first + a, run, known=tallies)
        tallies = tally if tallies is None else compare_core.merge(tallies, tally)
        n += yp.shape[0]
    return n, tallies or []


def compare(request: Request, chosen: list, options: Options, out) -> None:
    """``xent compare --engine dask``: one task per shard, every profile per block (one read of
    each shard); the driver places each shard's tallies at its global rows and combines them."""
    import time

    from xentropy_cli.core import compare as compare_core
    from xentropy_cli.core import partial, profiles
    from xentropy_cli.engines.dask.driver import _global_labels, _known_offsets
    from xentropy_cli.errors import DataError

    shards = plan(expand(list(request.spec.sources), request.spec.input_format))
    job = make_job(request, profiles.NAIVE, replace(options, reduction=None))
    names = tuple(profile.name for profile in chosen)
    known = _known_offsets(shards)
    progress = Progress.for_stderr(len(shards), out.quiet)
    progress.start = time.monotonic()
    answers = []
    try:
        with cluster(request.scheduler, request.workers) as client:
            if any(profile.sorted_labels for profile in chosen) and job.labels is None:
                job = replace(job, labels=_global_labels(client, shards, job))
            futures = [client.submit(compare_shard, shard, job, names, options,
                                     (known.get(shard.index, 0), known.get(-1)), pure=False)
                       for shard in shards]
            rows_done = 0
            for done, future in enumerate(futures, start=1):
                answers.append(future.result())
                rows_done += answers[-1][0]
                progress.update(done, rows_done)
    finally:
        progress.close()
    total, offset = None, 0
    try:
        for n, tallies in answers:
            if not tallies:
                continue
            placed = compare_core.moved(tallies, offset)
            total = placed if total is None else compare_core.merge(total, placed)
            offset += n
    except partial.Inconsistent as error:
        raise ShardFailed(f"the shards cannot be combined: {error}",
                          hint="give every shard the same columns, or --loss and --labels") from None
    if total is None:
        raise DataError("there are no samples", where=request.spec.sources[0] if request.spec.sources
                        else "input", hint="the input needs at least one row")
    source = shards[0].path if len(shards) == 1 else f"{len(shards)} shards"
    out.emit_compare(compare_core.rows(total, chosen, options, source), reader=READER)
