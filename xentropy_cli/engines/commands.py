"""The xent commands (compute, explain, compare) on a large CSV/TSV file, streamed by
``engines.stream``: the CLI's entry points ``try_compute``, ``try_explain`` and ``try_compare``
stream when it pays and hand the request back to the in-memory reader otherwise (``io.read``
then gives the canonical result or error).
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from io import BytesIO
from typing import BinaryIO

import numpy as np

from xentropy_cli import engines
from xentropy_cli.core import partial
from xentropy_cli.core.types import Inputs, Options
from xentropy_cli.engines import common
from xentropy_cli.engines.pool import Progress
from xentropy_cli.engines.stream import Fallback, Job, Streamed, Task, every_share, plan, run
from xentropy_cli.errors import DataError

# --- the commands ----------------------------------------------------------------------------------

def say(verbose: bool, text: str) -> None:
    """One line on stderr with --verbose."""
    if verbose:
        sys.stderr.write(f"xent: {text}\n")
        sys.stderr.flush()


def _workers(job: Job, n: int) -> str:
    """'2 threads', '2 processes' or '1 process'."""
    if n == 1:
        return "1 process"
    return f"{n} {'threads' if job.threads else 'processes'}"


def describe(job: Job, streamed: Streamed) -> str:
    return (f"read {job.layout.source} with the {streamed.reader} reader ({job.why}{_made(job)}), "
            f"streamed in chunks on {_workers(job, streamed.workers)}: {streamed.result.n_samples:,} "
            f"rows in {streamed.seconds:.2f} s")


def _made(job: Job) -> str:
    """How the compiled parser was made, when this process made it (its threads read)."""
    from xentropy_cli.io import jitcsv

    return f"; the llvmlite parser: {jitcsv.MADE}" if job.threads and jitcsv.MADE else ""


def _progress(job: Job, quiet: bool) -> Progress:
    lay = job.layout
    with open(lay.path, "rb") as handle:
        handle.seek(lay.body_start)
        sample = handle.read(1 << 16)
    per_row = len(sample) / max(sample.count(b"\n"), 1)
    return Progress.for_stderr(quiet, lay.size - lay.body_start, per_row)


def compute(job: Job, profile, options: Options, out, verbose: bool = False) -> bool:
    """``xent compute`` on a streamed file: False when it must be read in memory instead."""
    from xentropy_cli.core.validate import check_reduction

    reduction = check_reduction(profile, options)
    keep = reduction == "none" or out.format == "csv"
    task = Task(profile, options, keep_rows=keep)
    try:
        streamed = run(job, task, _progress(job, out.quiet))
    except Fallback as why:
        say(verbose, f"{job.layout.source} is read in memory ({why})")
        return False
    try:
        say(verbose, describe(job, streamed))
        out.warn(streamed.result.notices)
        out.emit_compute(streamed.result, reader=streamed.reader,
                         rows=streamed.per_sample if keep else None)
    finally:
        streamed.close()
    return True


def explain(job: Job, profile, other, options: Options, rows: int, out, verbose: bool = False,
            classes: tuple[int, ...] | None = None) -> bool:
    """``xent explain`` on a streamed file: every row is read (twice when the two profiles divide
    by different totals, to rank rows by their real shares), only the ``rows`` rows that
    contribute most to the difference are kept, and they go through both pipelines in full.
    Every row's pair of losses is kept on disk for the histogram, which covers every row."""
    from xentropy_cli.core import explain as explain_core
    from xentropy_cli.core.validate import check_reduction

    check_reduction(profile, options)
    check_reduction(other, options)
    task = Task(profile, options, against=other, top_k=max(rows, 1), keep_rows=True)
    try:
        first = run(job, task, _progress(job, out.quiet))
        divisors = (common.share_divisor(first.combined), common.share_divisor(first.combined_q))
        if divisors[0] != divisors[1]:
            again = run(replace(job, labels=first.labels), replace(task, divisors=divisors, keep_rows=False),
                        _progress(job, out.quiet))
            first = replace(first, top=again.top)
    except Fallback as why:
        say(verbose, f"{job.layout.source} is read in memory ({why})")
        return False
    try:
        say(verbose, describe(job, first))
        subset, lines = _top_inputs(job, first, rows)
        result_p, result_q, divergence = common.explain_rows(subset, profile, other, options, first.result,
                                                             first.combined_q)
        divergence = explain_core.renumbered(divergence, [row for row, _ in lines])
        summary = explain_core.Rows(first.result.n_samples, tuple(row for row, _ in lines),
                                    explain_core.histogram(first.pairs),
                                    tuple(f"{job.layout.source}:{line}" for _, line in lines))
    finally:
        first.close()
    out.warn(first.result.notices)
    out.emit_explain(subset, result_p, result_q, divergence, rows, summary=summary, classes=classes,
                     extra={"reader": first.reader} if out.format == "json" else None)
    return True


def _top_inputs(job: Job, streamed: Streamed, rows: int) -> tuple[Inputs, list[tuple[int, int]]]:
    """The kept rows (in file order) as one Inputs, and their (row, line) in the file."""
    top = sorted(streamed.top[:max(rows, 1)], key=lambda t: t[1])
    y_true = np.concatenate([t[2] for t in top])
    y_pred = np.concatenate([t[3] for t in top])
    weights = [t[4] for t in top if t[4] is not None]
    weight = np.concatenate(weights) if weights else job.sample_weight
    total = streamed.combined.total
    labels = streamed.labels
    if labels is None and total.classes is not None:
        labels = np.asarray(total.classes)  # scikit-learn's classes, from every row
    lay = job.layout
    subset = Inputs(y_true, y_pred, weight, kind=total.kind, from_logits=job.from_logits,
                    class_weight=job.class_weight, labels=labels, source=lay.source,
                    true_names=lay.columns.true_names if lay.header is not None else (),
                    pred_names=lay.columns.pred_names if lay.header is not None else ())
    return subset, [(t[1], t[5]) for t in top]


def compare(job: Job, chosen: list, options: Options, out, verbose: bool = False) -> bool:
    """``xent compare`` on a streamed file: one pass, every profile on each chunk (core.compare),
    memory of a chunk per process whatever the file size. False: read it in memory instead."""
    from xentropy_cli.core import compare as compare_core

    started = time.monotonic()
    task = Task(chosen[0], options, compare=tuple(chosen))
    try:
        job, shares, _ = every_share(job, task, _progress(job, out.quiet))
        tallies = [s.tally for s in shares if s.tally is not None]
        if not tallies:
            raise DataError("there are no samples", where=job.layout.source,
                            hint="the input needs at least one row")
        total = tallies[0]
        for tally in tallies[1:]:
            total = compare_core.merge(total, tally)
    except (Fallback, partial.Inconsistent) as why:
        say(verbose, f"{job.layout.source} is read in memory ({why})")
        return False
    rows = compare_core.rows(total, chosen, options, job.layout.source)
    readers = "+".join(sorted(set().union(*(s.readers for s in shares)))) or job.reader
    done = next((r.result for r in rows if r.result is not None), None)
    say(verbose, f"read {job.layout.source} with the {readers} reader, streamed in chunks on "
                 f"{_workers(job, len(shares))}: {done.n_samples if done else 0:,} rows, "
                 f"{len(chosen)} profiles, in {time.monotonic() - started:.2f} s")
    out.emit_compare(rows, reader=readers)
    return True


# --- entry points for the CLI: stream when it pays, else hand back to the in-memory reader -------

def job_for(spec) -> tuple[Job | None, BinaryIO | None]:
    """A Job for one large CSV/TSV file, or for stdin once it has been copied to a temporary file;
    else None, with what the in-memory reader must read instead of stdin when stdin was read
    here (``sys.stdin`` itself is never replaced).

    ``spec`` is an ``io.ReadSpec``.
    """
    if spec.inline:
        return None, None
    sources, name = list(spec.sources), None
    if sources == ["-"]:
        data, path = engines.spool_stdin()
        if path is None:
            return None, None if data is None else BytesIO(data)
        sources, name = [path], engines.STDIN
    elif not engines.worth_streaming(sources):
        return None, None
    job = plan(sources, **spec.keywords(), min_bytes=0 if name else None, name=name)
    if job is None and name is not None:
        return None, open(sources[0], "rb")  # noqa: SIM115 - not CSV/TSV: io.read reads the copy
    return job, None


def _in_memory_after_all(job: Job) -> tuple[bool, BinaryIO | None]:
    """The streamed reader gave up (quotes, blank lines, …): stdin's copy goes to io.read."""
    return False, open(job.layout.path, "rb") if job.layout.name else None  # noqa: SIM115


def try_compute(spec, profile, options: Options, out, verbose: bool) -> tuple[bool, BinaryIO | None]:
    """``compute`` of a large CSV/TSV in chunks on every core: (done, None), or (False, what
    io.read reads for stdin, None: stdin itself) to read it in memory instead."""
    job, stdin = job_for(spec)
    if job is None:
        return False, stdin
    return (True, None) if compute(job, profile, options, out, verbose) else _in_memory_after_all(job)


def try_explain(spec, profile, against, options: Options, rows: int, out,
                verbose: bool, classes: tuple[int, ...] | None = None) -> tuple[bool, BinaryIO | None]:
    """``explain`` of a large CSV/TSV: every row streamed, the rows that matter most kept; as
    ``try_compute`` otherwise."""
    job, stdin = job_for(spec)
    if job is None:
        return False, stdin
    if explain(job, profile, against, options, rows, out, verbose, classes):
        return True, None
    return _in_memory_after_all(job)


def try_compare(spec, chosen: list, options: Options, out, verbose: bool) -> tuple[bool, BinaryIO | None]:
    """``compare`` of a large CSV/TSV: one pass over the file for every profile; as
    ``try_compute`` otherwise."""
    job, stdin = job_for(spec)
    if job is None:
        return False, stdin
    if compare(job, chosen, options, out, verbose):
        return True, None
    return _in_memory_after_all(job)
