"""Large CSV/TSV files in bounded memory, on every core: the local streaming engine.

``plan`` decides whether a request is streamed: one CSV/TSV file of at least
``engines.MIN_BYTES`` (8 MiB; stdin of that size is first copied to a temporary file), not inline
data, whose layout ``io.fastcsv`` understands. Everything else is read in memory by ``io.read``;
so is a streamed file that turns out to need it (quotes, blank lines inside, chunks that disagree
on the auto loss kind or on scikit-learn's classes): the in-memory run then gives the canonical
result or error. ``engines.commands`` runs xent's commands (compute, explain, compare) on a Job.

A streamed run cuts the body of the file into one byte range per worker at line boundaries.
Each worker reads its range in chunks of whole lines, parses them (io.fastcsv: fixed-width, the
compiled parser or pyarrow when installed, general numpy, io.table), runs the ordinary pipeline
on blocks of whole multiples of ALIGN rows (``core.partial.run_chunk``, reduction ``none``) and
folds the Partials as it goes; ``--reduction none`` losses go to a temporary file per worker and
are printed only once every row has been read. The first range is read by the calling thread,
the others by threads of this process when the reader releases the GIL (the compiled parser:
one import and one compilation for all; ``_in_threads``), else by worker processes
(``engines.pool``). The calling thread merges the workers' Partials and reduces them with the
profile's rule.

Equal to the in-memory run: sums are chunk-invariant (``core.sums``) and every block starts where
a multiple of ALIGN rows starts in the whole file (framework log kernels work on packets of
cells), so values and per-sample losses are bit for bit the in-memory ones, float32 profiles
included (tests/test_stream.py). Not equal: warnings keep their first ``partial.ROW_LIMIT`` rows
(the in-memory run lists all); a kernel that chose its algorithm by the size of the whole tensor
(XLA's row sums from 4096 cells, kernels.sum_last(whole=), in keras-jax's normalise) would need
that size, which a stream learns only at its end; so no block is smaller than 4096 cells where the
file is not: a range's small pieces join the block before them (``_aligned``).

Memory: a chunk (``CHUNK_BYTES`` of text) and its arrays per worker, whatever the file size.
A bad row anywhere fails the whole run with the in-memory reader's message: no value is printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from xentropy_cli import engines
from xentropy_cli.core import kernels, partial
from xentropy_cli.core.types import Array, Inputs, LossKind, Options, Result
from xentropy_cli.core.validate.shapes import ClassesNotColumns
from xentropy_cli.engines import common, pool
from xentropy_cli.engines.pool import Progress
from xentropy_cli.errors import DataError, UsageError, XentError
from xentropy_cli.io import blocks, fastcsv, jitcsv, source

CHUNK_BYTES = 1 << 20  # text per chunk of fixed-width lines (XENT_CHUNK_BYTES overrides)
# of lines of any width: fewer calls, less per-call cost; numpy's reader keeps peak memory flat
# from 1M to 10M rows at 2 MiB, not at 4 MiB (bench/README.md)
WIDE_CHUNK_BYTES = {fastcsv.READER_NUMPY: 2 << 20, fastcsv.READER_POLARS: 4 << 20,
                    fastcsv.READER_ARROW: 4 << 20, jitcsv.READER: 2 << 20}
MIN_PART_BYTES = 4 << 20  # no worker gets less than this
HEAD_ROWS = 50  # per-sample rows kept for the table view of --reduction none
READERS = ("auto", "numpy", "polars", "pyarrow", jitcsv.READER)
ALIGN = 8 * kernels.PACKET  # rows: blocks start at multiples of this (see _aligned)


# --- the plan --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """A streamed read: the file's layout and what to do with every chunk of it."""

    layout: fastcsv.Layout
    reader: str  # numpy | llvmlite | pyarrow | polars (stream.READERS without auto)
    workers: int
    kind: LossKind = "auto"
    from_logits: bool = False
    labels: Array | None = None
    class_weight: Array | None = None
    sample_weight: Array | None = None  # one number given with -w, else None
    chunk_bytes: int = CHUNK_BYTES
    why: str = ""  # how the reader was chosen (--verbose)
    # the workers are threads of this process: the chunks go to the compiled parser, which
    # releases the GIL (fixed-width chunks go to numpy's reader, which does not: processes)
    threads: bool = False


def _env_int(name: str, default: int) -> int:
    """A positive integer from the environment, else ``default`` (a chunk of 0 bytes read no row)."""
    return int(source.env_positive(name, int)) or default


cores = pool.cores


def plan(sources: list[str] | None, *, y_true: str | None = None, y_pred: str | None = None,
         sample_weight: str | None = None, true_cols: str | None = None, pred_cols: str | None = None,
         weight_col: str | None = None, input_format: str = "auto", kind: LossKind = "auto",
         from_logits: bool = False, labels: str | None = None, class_weight: str | None = None,
         min_bytes: int | None = None, name: str | None = None) -> Job | None:
    """A Job when the request is one large CSV/TSV file the chunked reader handles, else None."""
    sources = list(sources or [])
    if len(sources) != 1 or sources[0] == "-" or y_true is not None or y_pred is not None:
        return None
    path = sources[0]
    limit = engines.min_bytes() if min_bytes is None else min_bytes
    try:
        if not os.path.isfile(path) or os.path.getsize(path) < limit:
            return None
        weight = _scalar_weight(sample_weight)
        lay = fastcsv.layout(path, true_cols, pred_cols, weight_col, input_format, name)
    except (fastcsv.NotStreamable, OSError):
        return None  # the in-memory reader says what is wrong, in its words
    except XentError:
        if os.path.getsize(path) > source.max_bytes(binary=False):
            raise  # the in-memory reader would only say the file is too large to read whole
        return None  # the in-memory reader says what is wrong, in its words
    if weight is not None and lay.columns.weight_idx is not None:
        return None
    from xentropy_cli.io import inline, parse_labels

    vector = inline.parse_vector
    reader = os.environ.get("XENT_READER", "auto")
    if reader not in READERS:
        raise UsageError(f"XENT_READER={reader!r} is not a reader", hint=f"choose {', '.join(READERS)}")
    why = f"XENT_READER={reader}"
    _check_installed(reader)
    if reader == "auto":
        reader = common.choose_reader()
        why = (f"{reader} is installed" if reader in common.LIBRARIES  # (each named as its library)
               else "neither llvmlite, pyarrow nor polars is installed")
    if reader == jitcsv.READER:  # it reads %.Ne faster than numpy's fixed-width reader (bench/README.md)
        lay = replace(lay, scientific=False)
    body = lay.size - lay.body_start
    workers = max(1, min(_env_int("XENT_WORKERS", cores()), body // MIN_PART_BYTES or 1))
    fixed = _looks_fixed(lay)
    return Job(lay, reader, workers, kind, from_logits,
               None if labels is None else parse_labels(labels),
               None if class_weight is None else vector(class_weight, "--class-weight"),
               weight, _env_int("XENT_CHUNK_BYTES", CHUNK_BYTES if fixed else WIDE_CHUNK_BYTES[reader]),
               f"{why}: {reader} for lines of any width, numpy-fixed-width for fixed-width chunks; "
               f"the head of the file is {'fixed-width' if fixed else 'of any width'}",
               threads=reader == jitcsv.READER and not fixed)


def _check_installed(reader: str) -> None:
    """XENT_READER names a library this Python cannot import: a usage error (the chunks would
    otherwise go to numpy while --verbose named the library)."""
    if reader not in common.LIBRARIES or common.LIBRARIES[reader][1]():
        return
    version = ".".join(map(str, jitcsv.MIN_LLVMLITE))
    needs = f"llvmlite {version} or later" if reader == jitcsv.READER else reader
    install = "pip install polars" if reader == fastcsv.READER_POLARS else "pip install 'xentropy-cli[fast]'"
    raise UsageError(f"XENT_READER={reader} needs {needs}, which this Python cannot import",
                     hint=f"{install}, or leave XENT_READER unset (auto)")


def _looks_fixed(lay: fastcsv.Layout) -> bool:
    """Whether the first 64 KiB of the body are fixed-width lines (``fastcsv.parse_fixed``)."""
    head = next(fastcsv.chunks(lay.path, lay.body_start, min(lay.size, lay.body_start + (1 << 16))), b"")
    try:
        return fastcsv.parse_fixed(lay, head) is not None
    except Exception:  # noqa: BLE001 - a guess only: the chunks are read by whichever parser fits
        return False


def _scalar_weight(text: str | None) -> Array | None:
    """-w NUMBER next to a file: one weight for every row. Anything else is not streamed."""
    if text is None:
        return None
    from xentropy_cli.io import inline

    value = np.asarray(inline.parse(text, "--sample-weight"))
    if value.ndim:
        raise fastcsv.NotStreamable("per-row weights given with -w")
    return value


# --- one worker ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Task:
    """What every worker computes: one profile (compute), or two (explain ranks rows by both)."""

    profile: Any
    options: Options
    against: Any = None
    top_k: int = 0
    divisors: tuple[float, float] | None = None  # explain's second pass: rank by the real shares
    keep_rows: bool = False  # write per-sample w·l to the worker's file
    compare: tuple = ()  # compare: every chosen profile on each chunk (core.compare), in one pass


@dataclass
class Share:
    """A worker's answer: its Partial(s), rows and top rows (explain)."""

    part: partial.Partial | None = None
    part_q: partial.Partial | None = None
    rows: int = 0
    top: list = field(default_factory=list)  # (score, row, y_true row, y_pred row, weight, line)
    readers: set[str] = field(default_factory=set)  # the parsers that read its chunks
    tally: list | None = None  # compare: core.compare.Tally per profile


def chunk_inputs(job: Job, block: Array, line: int) -> Inputs:
    """The Inputs of one parsed chunk, as ``io.read`` would build them for those rows."""
    lay = job.layout
    piece = blocks.split(block, lay.columns)
    if lay.columns.weight_idx is None:
        piece = (piece[0], piece[1], job.sample_weight)
    return replace(blocks.inputs(piece, lay.columns, lay.source, line, lay.header is not None),
                   kind=job.kind, from_logits=job.from_logits, class_weight=job.class_weight,
                   labels=job.labels)


def _blocks(job: Job, start: int, stop: int, first_line: int, reader: str,
            progress: Callable[[int], None], used: set[str] | None = None) -> Iterator[Array]:
    """Parsed blocks of bytes [start, stop), in order (common.Parser); ``used`` collects the
    parsers' names."""
    parse = common.Parser(job.layout, reader, threads=job.workers == 1)
    line = first_line
    try:
        for data in fastcsv.chunks(job.layout.path, start, stop, job.chunk_bytes):
            block = parse(data, line)
            line += block.shape[0]
            progress(len(data))
            yield block
    finally:
        if used is not None:
            used |= parse.used


def work(job: Job, task: Task, start: int, stop: int, out: Any = None,
         progress: Callable[[int], None] = lambda n: None, last: bool = True) -> Share:
    """Stream bytes [start, stop) of the file through the task; ``out`` gets per-sample w·l.

    ``last``: this range ends the file (else the chunk that ends it is completed to a multiple
    of ALIGN rows with the first rows of the next range, which that range's worker skips).
    """
    rows_before = fastcsv.count_lines(job.layout.path, job.layout.body_start, start)
    share = Share()
    row = rows_before
    for block, first in _aligned(job, start, stop, rows_before, progress, last, share.readers):
        inputs = chunk_inputs(job, block, job.layout.first_line + first)
        if task.compare:
            from xentropy_cli.core import compare

            tally = compare.chunk(inputs, list(task.compare), task.options, first, known=share.tally,
                                  whole=False)
            share.tally = tally if share.tally is None else compare.merge(share.tally, tally)
            row = first + block.shape[0]
            continue
        result, part = partial.run_chunk(inputs, task.profile, task.options, first,
                                         task.top_k if task.against is None else 0)
        share.part = part if share.part is None else partial.merge(share.part, part)
        if task.against is not None:
            result_q, part_q = partial.run_chunk(inputs, task.against, task.options, first)
            share.part_q = part_q if share.part_q is None else partial.merge(share.part_q, part_q)
            _rank(share, task, inputs, result, result_q, first)
            if out is not None and task.keep_rows:  # explain: (P, Q) loss pairs, for the histogram
                from xentropy_cli.core.explain import pairs

                out.write(pairs(result, result_q).tobytes())
                row = first + block.shape[0]
                continue
        if out is not None and task.keep_rows:
            out.write(np.ascontiguousarray(result.per_sample).tobytes())
        row = first + block.shape[0]
    share.rows = row - rows_before
    return share


def _aligned(job: Job, start: int, stop: int, rows_before: int, progress: Callable[[int], None],
             last: bool, used: set[str]) -> Iterator[tuple[Array, int]]:
    """(block, its first global row) for the rows of this range, cut where the whole file's rows
    would be cut into packets: every block starts at a multiple of ALIGN rows.

    Frameworks compute float32 logs in packets of 8 cells and the tensor's last n mod 8 cells on
    a scalar path (core/kernels.py), so a row's loss may depend on where its cells sit in the
    tensor; with blocks of ALIGN rows (ALIGN·K cells, a multiple of 64) every cell sits where it
    sits in the whole file, and only the file's last block has the tail.
    """
    skip = (-rows_before) % ALIGN  # the previous range's worker takes these rows
    row = rows_before + skip
    pending: list[Array] = []
    count = 0
    held: tuple[Array, int] | None = None  # the last whole block, kept to take the rows left over
    line = job.layout.first_line + rows_before
    for block in _blocks(job, start, stop, line, job.reader, progress, used):
        if skip:
            taken = min(skip, block.shape[0])
            block, skip = block[taken:], skip - taken
        if not block.shape[0]:
            continue
        pending.append(block)
        count += block.shape[0]
        if count >= ALIGN:
            rows = np.concatenate(pending) if len(pending) > 1 else pending[0]
            cut = count // ALIGN * ALIGN
            # a small block (see below): y_pred holds at least half the cells of a block
            if held is not None and rows[:cut].size < 2 * kernels.YNNPACK_FROM:
                held = (np.concatenate([held[0], rows[:cut]]), held[1])
            else:
                if held is not None:
                    yield held
                held = (rows[:cut], row)
            row += cut
            pending, count = [rows[cut:]], count - cut
    if held is not None:
        # a small block (the piece a range's last chunk leaves, its last rows, the next range's
        # first ones) joins the whole block before it: a tensor of under 4096 cells is one that
        # XLA's row sum (keras-jax's normalise) adds another way than the whole file's tensor
        pending.insert(0, held[0])
        count += held[0].shape[0]
        row = held[1]
    need = 0 if last else (-(row + count)) % ALIGN
    if need:
        line = job.layout.first_line + row + count
        for block in _blocks(job, stop, job.layout.size, line, job.reader, lambda n: None):
            pending.append(block[:need])
            count += min(need, block.shape[0])
            need -= min(need, block.shape[0])
            if not need:
                break
    if count:
        yield (np.concatenate(pending) if len(pending) > 1 else pending[0]), row


def _rank(share: Share, task: Task, inputs: Inputs, p: Result, q: Result, row: int) -> None:
    """Keep the task.top_k rows with the largest |share under P − share under Q|."""
    d_p, d_q = task.divisors or (1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.abs(np.asarray(p.per_sample, np.float64) / d_p
                       - np.asarray(q.per_sample, np.float64) / d_q)
    score = np.where(np.isnan(score), np.inf, score)
    k = min(task.top_k, score.size)
    if k <= 0:
        return
    pick = np.argsort(-score, kind="stable")[:k]  # ties: the earlier row, as in memory
    weight = inputs.sample_weight
    for i in pick.tolist():
        w = None if weight is None or np.ndim(weight) == 0 else np.asarray(weight)[i:i + 1]
        share.top.append((float(score[i]), row + i, np.asarray(inputs.y_true)[i:i + 1],
                          np.asarray(inputs.y_pred)[i:i + 1], w, (inputs.first_line or 0) + i))
    share.top.sort(key=lambda t: (-t[0], t[1]))
    del share.top[task.top_k:]


# --- the parent ----------------------------------------------------------------------------------

@dataclass
class Streamed:
    """A streamed run: the combined result(s), and where the per-sample rows are."""

    result: Result
    combined: partial.Combined
    reader: str
    workers: int
    seconds: float
    files: list[Any]  # per worker, the per-sample w·l (reduction none), in row order
    dtype: np.dtype
    combined_q: partial.Combined | None = None
    top: list = field(default_factory=list)
    rows: Any = None  # the _RowFiles behind ``files``
    labels: Array | None = None  # the classes the run used as --labels (given, or all_classes)

    def per_sample(self, block: int = 1 << 16) -> Iterator[Array]:
        """Every per-sample w·l in row order, a block at a time."""
        return _rows_of(self.files, self.dtype, block)

    def pairs(self, block: int = 1 << 16) -> Iterator[Array]:
        """explain: every row's (loss under P, loss under Q) as float64, a block at a time."""
        for handle in self.files:
            handle.seek(0)
            while True:
                data = handle.read(block * 16)
                if not data:
                    break
                yield np.frombuffer(data, np.float64).reshape(-1, 2)

    def close(self) -> None:
        for handle in self.files:
            handle.close()
        if self.rows is not None:
            self.rows.remove()


def _rows_of(files: list[Any], dtype: np.dtype, block: int) -> Iterator[Array]:
    """The per-sample w·l in ``files`` (one per worker, in row order), ``block`` at a time."""
    for handle in files:
        handle.seek(0)
        while True:
            data = handle.read(block * dtype.itemsize)
            if not data:
                break
            yield np.frombuffer(data, dtype)


Fallback = pool.Fallback  # read this request in memory instead


def keep_heap() -> None:
    """Let glibc keep freed blocks up to 32 MB in the heap instead of returning them to the
    kernel: a chunk's arrays are then reused by the next chunk without page faults (2–3 times
    faster here), and peak memory is what one chunk needs, as before. No-op elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def run(job: Job, task: Task, progress: Progress | None = None) -> Streamed:
    """Run the task over the whole file on ``job.workers`` threads (``job.threads``) or processes
    (see engines.pool)."""
    started = time.monotonic()
    job, shares, rows = every_share(job, task, progress)
    return _combine(job, task, shares, rows, time.monotonic() - started)


def every_share(job: Job, task: Task, progress: Progress | None = None
                ) -> tuple[Job, list[Share], _RowFiles | None]:
    """Every worker's Share, in file order, and the per-sample files (task.keep_rows), with the job
    they were computed with: ``job`` itself, or ``job`` with scikit-learn's classes over every row
    as its labels, when a block's own classes were not one per column (``all_classes``)."""
    try:
        return (job, *_shares(job, task, progress))
    except pool.NeedsClasses as why:
        job = replace(job, labels=all_classes(job, str(why)))
        return (job, *_shares(job, task))


def all_classes(job: Job, why: str) -> Array:
    """scikit-learn's classes when a block's own were not one per column of y_pred (``why``): the
    sorted distinct labels of y_true over every row, one pass over the file. The run is then made
    with them as ``--labels``, which is what scikit-learn does with all the rows (its classes are
    ``np.unique(y_true)``). Labels that are not finite integers, or classes that are still not one
    per column, are the in-memory reader's to report (Fallback)."""
    found: list[Array] = []
    for block in _blocks(job, job.layout.body_start, job.layout.size, job.layout.first_line, job.reader,
                         lambda n: None):
        found.append(np.unique(blocks.split(block, job.layout.columns)[0]))
    classes = np.unique(np.concatenate(found)) if found else np.zeros(0)
    integral = bool(np.all(np.isfinite(classes)) and np.all(classes == np.round(classes)))
    if not integral or classes.size != len(job.layout.columns.pred_idx):
        raise Fallback(f"in a block of rows, {why}")
    return classes


def _shares(job: Job, task: Task, progress: Progress | None = None) -> tuple[list[Share], _RowFiles | None]:
    """Every worker's Share, in file order, and the per-sample files (task.keep_rows)."""
    keep_heap()
    parts = fastcsv.ranges(job.layout, job.workers)
    rows = _RowFiles(len(parts)) if task.keep_rows else None
    progress = progress or Progress(False)
    try:
        return (_in_threads if job.threads and len(parts) > 1 else _in_processes)(job, task, parts, rows,
                                                                                  progress), rows
    except BaseException:
        if rows is not None:
            rows.remove()
        raise
    finally:
        progress.close()


def _in_processes(job: Job, task: Task, parts: list[tuple[int, int]], rows: _RowFiles | None,
                  progress: Progress) -> list[Share]:
    """Every range's Share, in file order: the first range read by this process, the others each by
    a worker process (engines.pool)."""
    ctx = pool.context() if len(parts) > 1 else None
    done = ctx.Array("q", len(parts), lock=False) if ctx is not None else [0]
    workers: list[pool.Worker] = []
    try:
        workers = [pool.start(ctx, _work_range, (job, task, a, b, rows.paths[i] if rows else None, done, i),
                              _translated) for i, (a, b) in enumerate(parts) if i]

        seen = _first_range_progress(done, progress)
        try:
            mine = _work_range(job, task, *parts[0], rows.paths[0] if rows else None, done, 0, seen)
        except BaseException as error:
            raise _translated(error) from None
        return [mine] + [worker.answer(seen) for worker in workers]
    finally:
        pool.stop_all(workers)


def _first_range_progress(done: Any, progress: Progress) -> Callable[..., None]:
    """The first range's progress callback: its bytes into ``done[0]``, the bar to all ranges'."""
    def seen(n: int = 0) -> None:
        done[0] += n
        progress.update(sum(done))

    return seen


class _Stopped(Exception):
    """A thread's range left unfinished: the first range failed, and its error is the one raised."""


def _in_threads(job: Job, task: Task, parts: list[tuple[int, int]], rows: _RowFiles | None,
                progress: Progress) -> list[Share]:
    """Every range's Share, in file order: the first range read by this thread, the others each by
    a thread of its own. The compiled parser releases the GIL while it reads a chunk, so the
    threads parse side by side, and the process imports and compiles it once (a worker process
    does both again, ~0.07 s, before it counts the lines ahead of its range; a thread counts them
    while the first one compiles). Measured in bench/README.md ("seventh round"). This thread alone
    shows the progress and takes Ctrl-C; when its range fails, the others stop at their next
    chunk. A later range's failure is raised once the first range is done, so the error is the
    first bad row in file order, as with processes."""
    import threading

    done = [0] * len(parts)
    failed = threading.Event()
    answers: list[tuple[bool, Any]] = [(False, None)] * len(parts)

    def read(index: int) -> None:
        def add(n: int) -> None:
            done[index] += n
            if failed.is_set():
                raise _Stopped

        try:
            answers[index] = (True, _work_range(job, task, *parts[index], rows.paths[index] if rows else None,
                                                done, index, add))
        except BaseException as error:  # noqa: BLE001 - raised by the first thread, after its range
            answers[index] = (False, error)

    others = [threading.Thread(target=read, args=(i,), name=f"xent-range-{i}", daemon=True)
              for i in range(1, len(parts))]
    for thread in others:
        thread.start()
    try:
        mine = _work_range(job, task, *parts[0], rows.paths[0] if rows else None, done, 0,
                           _first_range_progress(done, progress))
    except BaseException as error:
        failed.set()
        raise _translated(error) from None
    finally:
        try:
            for thread in others:
                thread.join()
        except BaseException:  # Ctrl-C or SIGTERM while waiting: the others stop too
            failed.set()
            raise
    shares = [mine]
    for ok, answer in answers[1:]:
        if not ok:
            raise _translated(answer) from None
        shares.append(answer)
    return shares


def _work_range(job: Job, task: Task, start: int, stop: int, path: str | None, done: Any, index: int,
                progress: Callable[[int], None] | None = None) -> Share:
    """One worker's range of the file (``work``), its per-sample w·l written to ``path``."""
    def add(n: int) -> None:
        done[index] += n

    out = open(path, "wb") if path is not None else None  # noqa: SIM115 - closed below
    try:
        return work(job, task, start, stop, out, progress or add, last=stop >= job.layout.size)
    finally:
        if out is not None:
            out.close()


def _translated(error: BaseException) -> BaseException:
    if isinstance(error, (fastcsv.NotStreamable, partial.Inconsistent)):
        return Fallback(str(error))
    if isinstance(error, ClassesNotColumns):  # a block may lack a class the file has
        return pool.NeedsClasses(error.message)
    return error


class _RowFiles:
    """One temporary file of per-sample w·l per worker, in a folder removed by ``remove``."""

    def __init__(self, n: int):
        import tempfile

        self.folder = tempfile.mkdtemp(prefix="xent-rows-")
        self.paths = [os.path.join(self.folder, f"{i}.bin") for i in range(n)]

    def open(self) -> list[Any]:
        return [open(path, "rb") for path in self.paths]  # noqa: SIM115 - Streamed.close closes

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def _combine(job: Job, task: Task, shares: list[Share], rows: _RowFiles | None,
             seconds: float) -> Streamed:
    profile = task.profile
    reduction = task.options.reduction or profile.reduction
    parts = [s.part for s in shares if s.part is not None]
    if not parts:
        raise DataError("there are no samples", where=job.layout.source,
                        hint="the input needs at least one row")
    try:
        total = partial.merge_all(parts)
        combined = partial.finish(total, profile, reduction, job.layout.source, task.options.kernel)
        combined_q = None
        if task.against is not None:
            total_q = partial.merge_all([s.part_q for s in shares if s.part_q is not None])
            combined_q = partial.finish(total_q, task.against,
                                        task.options.reduction or task.against.reduction, job.layout.source,
                                        task.options.kernel)
    except partial.Inconsistent as error:
        raise Fallback(str(error)) from None
    dtype = np.dtype(str(total.weighted.dtype))
    head = np.zeros(0, dtype)
    keep = rows.open() if rows is not None else []
    readers = "+".join(sorted(set().union(*(s.readers for s in shares)))) or job.reader
    if keep:
        head = next(_rows_of(keep, dtype, HEAD_ROWS), head)[:HEAD_ROWS].copy()
    streamed = Streamed(partial.result_of(total, combined, profile, head), combined, readers,
                        len(shares), seconds, keep, dtype, combined_q, rows=rows, labels=job.labels)
    streamed.top = sorted((t for s in shares for t in s.top), key=lambda t: (-t[0], t[1]))[:task.top_k]
    return streamed
