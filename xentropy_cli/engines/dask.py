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
"""

from __future__ import annotations

import glob
import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from xentropy_cli.core import partial, profiles
from xentropy_cli.core.types import Array, Inputs, Options, Result
from xentropy_cli.errors import DataError, UsageError, XentError
from xentropy_cli.io import ReadSpec

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv",
           ".tsv": "tsv", ".tab": "tsv"}
ROWS_PER_SHARD = 1_000_000  # Parquet row groups are grouped into shards of about this many rows
# Rows per block within a shard: the pipeline runs ~2× faster on blocks that fit the CPU caches
# than on a million rows at once. A multiple of 64, so every block but a shard's last one holds a
# multiple of PACKET cells (and, with 64 or more cells, at least WHOLE of them).
BLOCK_ROWS = 65536
CONNECT_TIMEOUT = "15s"
READER = "dask"  # JSON "reader": how the input was read
# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's adaptive mmap
# threshold: every array over 128 kB is then mapped and unmapped afresh, and the pipeline (many
# short-lived arrays per block) runs 2-4x slower. Local workers get glibc's default behaviour.
LOCAL_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


# --- what to read ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shard:
    """One unit of work: a file, or row groups ``row_groups`` of a Parquet file."""

    index: int
    path: str
    fmt: str  # parquet | csv | tsv
    row_groups: tuple[int, ...] | None = None  # None: the whole file
    file_row: int = 0  # 0-based row of the file where this shard starts (Parquet partitions)
    rows: int | None = None  # known in advance for Parquet
    part: int | None = None  # which partition of its file (None: the whole file)
    last: bool = False  # the last shard: the end of all rows

    @property
    def name(self) -> str:
        return self.path if self.part is None else f"{self.path} (rows {self.file_row + 1}–" \
                                                   f"{self.file_row + (self.rows or 0)})"


def _natural(path: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def expand(sources: list[str], input_format: str = "auto") -> list[tuple[str, str]]:
    """(path, format) of every shard file: globs and folders expanded, natural sort order.

    A folder contributes its Parquet/CSV/TSV files (not hidden ones, not ``_metadata``).
    """
    if not sources:
        raise UsageError("--engine dask needs input files", hint="e.g. xent compute 'preds/*.parquet' "
                                                                 "--engine dask")
    found: list[tuple[str, str]] = []
    for source in sources:
        if source == "-":
            raise UsageError("--engine dask reads files, not stdin", hint="name the shard files")
        if os.path.isdir(source):
            names = [os.path.join(source, n) for n in os.listdir(source)
                     if not n.startswith((".", "_")) and _format(n, "auto", strict=False)]
            if not names:
                raise UsageError("holds no .parquet, .csv or .tsv file", where=source)
            paths = sorted(names, key=_natural)
        elif glob.has_magic(source):
            paths = sorted((p for p in glob.glob(source, recursive=True) if os.path.isfile(p)),
                           key=_natural)
            if not paths:
                raise UsageError(f"{source!r} matches no file", hint="check the pattern; quote it so "
                                 "the shell does not expand it")
        elif os.path.isfile(source):
            paths = [source]
        else:
            raise UsageError("no such file", where=source, hint="check the path")
        found += [(p, _format(p, input_format)) for p in paths]
    return found


def _format(path: str, forced: str, strict: bool = True) -> str:
    if forced in ("csv", "tsv"):
        return forced
    if forced not in ("auto", "parquet"):
        raise UsageError(f"--engine dask reads Parquet, CSV and TSV shards, not {forced}",
                         hint="convert the shards, or run without --engine dask")
    fmt = "parquet" if forced == "parquet" else FORMATS.get(os.path.splitext(path)[1].lower(), "")
    if not fmt and strict:
        raise UsageError("is not a .parquet, .csv or .tsv file", where=path,
                         hint="--engine dask reads Parquet, CSV and TSV shards")
    return fmt


def plan(files: list[tuple[str, str]], rows_per_shard: int = ROWS_PER_SHARD) -> list[Shard]:
    """Shards in order: a CSV/TSV file is one shard; a Parquet file is cut between row groups."""
    shards: list[Shard] = []
    for path, fmt in files:
        if fmt != "parquet":
            shards.append(Shard(len(shards), path, fmt))
            continue
        groups = _row_groups(path)
        runs = _runs(groups, rows_per_shard)
        file_row = 0
        for k, run in enumerate(runs):
            rows = sum(groups[g] for g in run)
            shards.append(Shard(len(shards), path, fmt, tuple(run) if len(runs) > 1 else None,
                                file_row, rows, k if len(runs) > 1 else None))
            file_row += rows
    if shards:
        shards[-1] = replace(shards[-1], last=True)
    return shards


def _row_groups(path: str) -> list[int]:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"is not a readable Parquet file ({str(exc)[:120]})", where=path,
                        hint="write it with pyarrow or pandas.to_parquet") from None
    return [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] or [0]


def _runs(groups: list[int], rows_per_shard: int) -> list[list[int]]:
    runs: list[list[int]] = [[]]
    rows = 0
    for g, n in enumerate(groups):
        if runs[-1] and rows + n > rows_per_shard:
            runs.append([])
            rows = 0
        runs[-1].append(g)
        rows += n
    return runs


# --- what to do with it ------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """Everything a shard needs besides its file (sent to the workers, so only plain values)."""

    profile: str
    options: Options
    true_cols: str | None = None
    pred_cols: str | None = None
    weight_col: str | None = None
    sample_weight: Array | None = None  # one number given by -w (broadcast), else None
    kind: str = "auto"
    from_logits: bool = False
    labels: Array | None = None
    class_weight: Array | None = None
    per_sample: bool = False  # return the shard's w·l
    against: str | None = None  # explain: the second profile
    top_k: int = 0  # explain: rows to keep per shard
    divisors: tuple[float, float] | None = None  # explain, second pass: the global divisors


def read_shard(shard: Shard, job: Job, kind: str | None = None) -> Inputs:
    """The shard's Inputs, by the single-file rules; ``kind`` overrides ``job.kind``."""
    inputs = _read_parquet(shard, job) if shard.fmt == "parquet" else _read_delimited(shard, job)
    return _finished(inputs, shard, job, kind)


def _finished(inputs: Inputs, shard: Shard, job: Job, kind: str | None) -> Inputs:
    """``inputs`` with what the command line adds: -w, --loss, --from-logits, --labels, …"""
    if job.sample_weight is not None:
        if inputs.sample_weight is not None:
            raise UsageError("sample weights are given twice: in the input and by -w",
                             where=shard.path, hint="drop -w, or the weight column")
        inputs = replace(inputs, sample_weight=job.sample_weight)
    return replace(inputs, kind=kind or job.kind, from_logits=job.from_logits, labels=job.labels,
                   class_weight=job.class_weight)


def _read_delimited(shard: Shard, job: Job) -> Inputs:
    """A CSV/TSV shard: the streaming engine's exact fast parser (``io.fastcsv``: its layout is
    decided as ``io.read`` decides it) on the whole body; ``io.read`` itself for what that parser
    leaves to it (quotes, blank lines, no header, …), which also gives the canonical errors."""
    from xentropy_cli import io
    from xentropy_cli.io import _labels_1d, fastcsv

    try:
        lay = fastcsv.layout(shard.path, job.true_cols, job.pred_cols, job.weight_col, shard.fmt)
        with open(shard.path, "rb") as handle:
            handle.seek(lay.body_start)
            data = handle.read()
        if not data.strip():
            raise fastcsv.NotStreamable("no data rows")
        block = _parse_body(fastcsv, lay, data if data.endswith(b"\n") else data + b"\n")
    except fastcsv.NotStreamable:
        return io.read([shard.path], true_cols=job.true_cols, pred_cols=job.pred_cols,
                       weight_col=job.weight_col, input_format=shard.fmt)
    cols = lay.columns
    n_true, n_pred = len(cols.true_idx), len(cols.pred_idx)
    named = lay.header is not None
    return Inputs(_labels_1d(np.ascontiguousarray(block[:, :n_true])),
                  np.ascontiguousarray(block[:, n_true:n_true + n_pred]),
                  block[:, n_true + n_pred].copy() if cols.weight_idx is not None else None,
                  source=shard.path, true_names=cols.true_names if named else (),
                  pred_names=cols.pred_names if named else (), first_line=lay.first_line)


def delimited_blocks(shard: Shard, job: Job, size: int) -> Iterator[tuple[int, Inputs]]:
    """(first row in the shard, Inputs) of consecutive blocks of ``size`` rows of a CSV/TSV
    shard, parsed a chunk of lines at a time by ``io.fastcsv`` (fixed-width lines, pyarrow, or
    its general numpy parser, which gives the in-memory reader's errors). Raises NotStreamable
    for what only ``io.read`` reads (the caller then reads the shard whole)."""
    from xentropy_cli.io import _labels_1d, fastcsv

    lay = fastcsv.layout(shard.path, job.true_cols, job.pred_cols, job.weight_col, shard.fmt)
    cols = lay.columns
    n_true, n_pred = len(cols.true_idx), len(cols.pred_idx)
    named = lay.header is not None
    arrow = None
    pending: list = []
    held = start = 0
    line = lay.first_line
    for data in fastcsv.chunks(lay.path, lay.body_start, lay.size):
        block = fastcsv.parse_fixed(lay, data) if hasattr(fastcsv, "parse_fixed") else None
        if block is None and fastcsv.arrow_available():
            try:
                arrow = arrow or fastcsv.Arrow(lay, threads=False)
                block = arrow.parse(data)
            except Exception:  # noqa: BLE001 - any pyarrow failure: the numpy parser says why
                block = None
        if block is None:
            block = fastcsv.parse(lay, data, line)
        line += block.shape[0]
        weight = block[:, n_true + n_pred] if cols.weight_idx is not None else None
        pending.append((block[:, :n_true], block[:, n_true:n_true + n_pred], weight))
        held += block.shape[0]
        while held >= size:
            piece, pending = _cut(pending, size)
            yield start, _text_inputs(piece, lay, shard, start, named, _labels_1d)
            start += size
            held -= size
    if held:
        piece, _ = _cut(pending, held)
        yield start, _text_inputs(piece, lay, shard, start, named, _labels_1d)
    elif not start:
        raise fastcsv.NotStreamable("no data rows")  # io.read says what is wrong


def _text_inputs(piece, lay, shard: Shard, start: int, named: bool, labels_1d) -> Inputs:
    y_true, y_pred, weight = piece
    return Inputs(labels_1d(np.ascontiguousarray(y_true)), np.ascontiguousarray(y_pred),
                  None if weight is None else np.ascontiguousarray(weight), source=shard.path,
                  true_names=lay.columns.true_names if named else (),
                  pred_names=lay.columns.pred_names if named else (), first_line=lay.first_line + start)


def _parse_body(fastcsv, lay, data: bytes) -> Array:
    """pyarrow's CSV reader when it reads the body cleanly, else the numpy parser (which raises
    the in-memory reader's error for a bad cell or row)."""
    if fastcsv.arrow_available() and hasattr(fastcsv, "Arrow"):
        try:
            return fastcsv.Arrow(lay, threads=False).parse(data)
        except Exception:  # noqa: BLE001 - any pyarrow failure: the numpy parser says why
            pass
    return fastcsv.parse(lay, data, lay.first_line)


def _read_parquet(shard: Shard, job: Job) -> Inputs:
    """The whole Parquet shard as one Inputs (see ``parquet_blocks`` for the usual way)."""
    blocks = list(parquet_blocks(shard, job, None))
    if len(blocks) == 1:
        return blocks[0][1]
    first = blocks[0][1]
    w = [b.sample_weight for _, b in blocks]
    return replace(first, y_true=np.concatenate([b.y_true for _, b in blocks]),
                   y_pred=np.concatenate([b.y_pred for _, b in blocks]),
                   sample_weight=None if w[0] is None else np.concatenate(w))


def parquet_blocks(shard: Shard, job: Job, size: int | None = BLOCK_ROWS) -> Iterator[tuple[int, Inputs]]:
    """(first row in the shard, Inputs) of consecutive blocks of ``size`` rows (the last one may
    be shorter; None: one block), read a record batch at a time: neither the whole table nor a
    copy of it is ever held, and the arrays stay small enough for the CPU caches."""
    import pyarrow.parquet as pq

    from xentropy_cli.io import _labels_1d
    from xentropy_cli.io.columns import resolve_columns

    try:
        handle = pq.ParquetFile(shard.path)
        header = list(handle.schema_arrow.names)
        cols = resolve_columns(header, job.true_cols, job.pred_cols, job.weight_col, source=shard.path)
        wanted = sorted({header[i] for i in (*cols.true_idx, *cols.pred_idx,
                                             *(() if cols.weight_idx is None else (cols.weight_idx,)))})
        groups = None if shard.row_groups is None else list(shard.row_groups)
        batches = handle.iter_batches(batch_size=size or (1 << 62), row_groups=groups, columns=wanted,
                                      use_threads=False)  # one thread per worker, as Dask runs it
        pending: list[tuple[Array, Array, Array | None]] = []
        held = start = 0
        for batch in batches:
            piece = _batch_arrays(batch, header, cols, shard, start + held)
            pending.append(piece)
            held += piece[1].shape[0]
            while size and held >= size:
                block, pending = _cut(pending, size)
                yield start, _block_inputs(block, cols, shard, start, _labels_1d)
                start += size
                held -= size
        if held:
            block, _ = _cut(pending, held)
            yield start, _block_inputs(block, cols, shard, start, _labels_1d)
        elif not start:
            raise DataError("has no rows", where=shard.name, hint="the input needs at least one row")
    except XentError:
        raise
    except (OSError, ValueError) as exc:  # pyarrow's errors are OSError/ValueError subclasses
        raise DataError(f"cannot be read ({type(exc).__name__}: {str(exc)[:120]})",
                        where=shard.name, hint="check that it is a Parquet file") from None


def _batch_arrays(batch, header: list[str], cols, shard: Shard, start: int):
    """(y_true, y_pred, weight) of one record batch: float32 columns stay float32 (as .npy)."""
    names = batch.schema.names

    def block(indices: tuple[int, ...]) -> Array:
        columns = [_numbers(batch.column(names.index(header[i])), header[i], shard, start)
                   for i in indices]
        dtype = np.float32 if all(c.dtype == np.float32 for c in columns) else np.float64
        out = np.empty((batch.num_rows, len(columns)), dtype)
        for j, column in enumerate(columns):
            out[:, j] = column
        return out

    weight = None
    if cols.weight_idx is not None:
        name = header[cols.weight_idx]
        weight = _numbers(batch.column(names.index(name)), name, shard, start)
    return block(cols.true_idx), block(cols.pred_idx), weight


def _cut(pending: list, size: int):
    """The first ``size`` rows of the pieces (y_true, y_pred, weight) and the pieces left over."""
    fields = list(zip(*pending, strict=True))
    whole = [None if f[0] is None else (f[0] if len(f) == 1 else np.concatenate(f)) for f in fields]
    head = tuple(None if a is None else a[:size] for a in whole)
    rest = tuple(None if a is None else a[size:] for a in whole)
    return head, ([rest] if rest[1].shape[0] else [])


def _block_inputs(block, cols, shard: Shard, start: int, labels_1d) -> Inputs:
    y_true, y_pred, weight = block
    return Inputs(labels_1d(np.ascontiguousarray(y_true)), np.ascontiguousarray(y_pred),
                  None if weight is None else np.ascontiguousarray(weight), source=shard.path,
                  true_names=cols.true_names, pred_names=cols.pred_names,
                  first_line=shard.file_row + start + 1)


def _numbers(column, name: str, shard: Shard, start: int = 0) -> Array:
    """A Parquet column (of a batch that starts at the shard's row ``start``) as float: float32
    stays float32, like .npy. Bad cells name their 1-based row in the file:
    ``preds.parquet:1235: column pred_2``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"column {name} is empty (null), not a number",
                        where=f"{shard.path}:{shard.file_row + start + row + 1}",
                        hint="fill or drop that row")
    if pa.types.is_floating(kind):
        values = column.to_numpy()
        return values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
        return pc.cast(column, pa.float64()).to_numpy()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        cells = column.to_pylist()
        try:
            return np.array(cells, dtype=np.float64)
        except ValueError:
            for row, cell in enumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(f"column {name} is {cell.strip()[:40]!r}, not a number",
                                    where=f"{shard.path}:{shard.file_row + start + row + 1}",
                                    hint="fix that cell, or choose other columns with "
                                         "--true-cols/--pred-cols") from None
            raise
    raise DataError(f"column {name} holds {kind} values, not numbers", where=shard.path,
                    hint="choose other columns with --true-cols/--pred-cols")


# --- one shard, on a worker --------------------------------------------------------------------

@dataclass(frozen=True)
class Meta:
    """The small part of a shard's outcome: enough to order, check and combine shards."""

    index: int
    n: int
    kind: str
    ambiguous: bool  # --loss auto with y_true and y_pred of the same shape: categorical or binary
    columns: tuple  # (true names, pred names, y_true columns, y_pred columns, weight column?)
    partial: partial.Partial
    partial_q: partial.Partial | None = None
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


def run_shard(shard: Shard, job: Job, kind: str | None = None, offset: int = 0,
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


def _blocks(shard: Shard, job: Job, kind: str | None, size: int | None):
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
    part = partial.merge_all(parts)
    part_q = partial.merge_all(parts_q) if parts_q else None
    per_sample = (pers[0] if len(pers) == 1 else np.concatenate(pers)) if pers else None
    ambiguous, columns = shape  # type: ignore[misc]
    meta = Meta(shard.index, part.n, part.kind, ambiguous, columns, part, part_q, offset,
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
PACKET = 8
WHOLE = 4096


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


def shard_labels(shard: Shard, job: Job) -> Array:
    """scikit-learn's first pass: the sorted unique values of the shard's y_true."""
    return np.unique(np.asarray(read_shard(shard, job).y_true))


def _meta(outcome: Outcome) -> Meta:
    return outcome.meta


def _per_sample(outcome: Outcome) -> Array | None:
    return outcome.per_sample


# --- the cluster -------------------------------------------------------------------------------

@contextmanager
def cluster(scheduler: str | None, workers: int | None) -> Iterator:
    """A ``distributed.Client``: on ``scheduler``, else on a LocalCluster of ``workers`` processes
    (default: the machine's cores) bound to 127.0.0.1, without a dashboard."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--engine dask needs Dask", hint="pip install 'xentropy-cli[dask]'") from None
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                             hint="start one with `dask scheduler`, or drop --scheduler to use "
                                  "local processes") from None
        try:
            _check_workers(client)
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with warnings.catch_warnings(), dask.config.set(LOCAL_CONFIG):
        # "port 8787 in use": the health server moves to a free port, which is fine
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                             host="127.0.0.1", silence_logs=logging.CRITICAL)
    with local, Client(local, set_as_default=False) as client:
        yield client


def _version() -> str:
    from xentropy_cli import __version__

    return __version__


def _check_workers(client) -> None:
    from xentropy_cli import __version__

    try:
        versions = client.run(_version)
    except Exception as exc:  # a worker without xent cannot unpickle the task
        raise UsageError(f"the Dask workers cannot run xent ({type(exc).__name__}: {exc})",
                         hint="pip install 'xentropy-cli[dask]' on every worker") from None
    if not versions:
        raise UsageError("the Dask scheduler has no workers", hint="start some with `dask worker`")
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        worker, version = next(iter(wrong.items()))
        raise UsageError(f"worker {worker} runs xent {version}, this is xent {__version__}",
                         hint="install the same version on every worker")


# --- the driver --------------------------------------------------------------------------------

@dataclass
class Progress:
    """`shards done, rows, rows/s` on one stderr line, only when stderr is a terminal."""

    total: int
    enabled: bool
    stream: Any = None
    start: float = field(default_factory=time.monotonic)

    @classmethod
    def for_stderr(cls, total: int, quiet: bool) -> Progress:
        enabled = not quiet and sys.stderr is not None and sys.stderr.isatty()
        return cls(total, enabled, sys.stderr)

    def update(self, done: int, rows: int) -> None:
        if not self.enabled:
            return
        rate = rows / max(time.monotonic() - self.start, 1e-9)
        self.stream.write(f"\rxent: dask: {done}/{self.total} shards, {rows:,} rows, "
                          f"{rate:,.0f} rows/s\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# (shard, its Partial at a provisional first row, its per-sample w·l, its global first row)
Sink = Callable[[Shard, partial.Partial, Array, int], None]


class ShardFailed(DataError):
    """A shard could not be computed (exit 1); the run prints no value."""


@dataclass(frozen=True)
class Run:
    """What the driver ends with: the combined result and what it was made of."""

    result: Result  # combined; per_sample empty (the sink had them)
    combined: partial.Combined
    combined_q: partial.Combined | None
    shards: list[Shard]
    n_files: int
    kind: str
    labels: Array | None
    tops: list[Top]


class _Driver:
    """Submits the shards, settles the loss kind, checks columns, hands results out in order."""

    def __init__(self, client, shards: list[Shard], job: Job, sink: Sink | None, progress: Progress):
        from distributed import as_completed

        self.client, self.shards, self.job, self.sink, self.progress = client, shards, job, sink, progress
        self.futures: dict[int, Any] = {}
        self.owner: dict[str, tuple[int, str]] = {}
        self.pending = as_completed(loop=client.loop)
        self.metas: dict[int, Meta] = {}
        self.binary = False  # a shard whose rows do not all sum to 1: binary everywhere
        self.settled = job.kind != "auto"
        self.written = 0  # shards handed to the sink
        self.offset = 0  # their rows
        self.kinds: dict[int, str | None] = {}  # the --loss a shard was (last) sent with
        self.known = _known_offsets(shards)
        self.total = self.known.pop(-1, None)  # all rows, when every shard's count is known

    def submit(self, shard: Shard, kind: str | None = None, wait: bool = False) -> Meta | None:
        """Send a shard to the cluster; ``wait``: and return its Meta (else as_completed has it)."""
        offset = self.offset if wait else self.known.get(shard.index, 0)
        future = self.client.submit(run_shard, shard, self.job, kind, offset, self.total, pure=False)
        meta = self.client.submit(_meta, future, pure=False)
        self.futures[shard.index] = future
        self.kinds[shard.index] = kind
        if wait:
            return self.result_of(meta)
        self.owner[meta.key] = (shard.index, future.key)
        self.pending.add(meta)
        return None

    def run(self) -> dict[int, Meta]:
        for shard in self.shards:
            self.submit(shard)
        try:
            for done in self.pending:
                index, key = self.owner.pop(done.key)
                if self.futures[index].key != key:
                    continue  # an outcome that was superseded by a second run of its shard
                self.receive(self.result_of(done))
            self.settled = True
            self.flush()
        except XentError as error:
            for future in self.futures.values():
                future.cancel()
            raise type(error)(error.message + self.caveat(), where=error.where,
                              hint=error.hint) from None
        finally:
            self.progress.close()
        return self.metas

    def receive(self, meta: Meta) -> None:
        if meta.ambiguous and meta.kind == "binary" and not self.binary:
            self.binary = self.settled = True
            for index in [i for i, m in self.metas.items() if m.kind == "categorical"]:
                del self.metas[index]
                self.submit(self.shards[index], "binary")
        if meta.ambiguous and meta.kind == "categorical" and self.binary:
            self.submit(self.shards[meta.index], "binary")
            return
        self.settled = self.settled or not meta.ambiguous
        self.metas[meta.index] = meta
        _check_columns(meta, self.metas, self.shards)
        self.progress.update(len(self.metas), sum(m.n for m in self.metas.values()))
        self.flush()

    def flush(self) -> None:
        """Hand every finished shard that follows the last written one to the sink."""
        while self.settled and self.written < len(self.shards) and self.written in self.metas:
            meta = self.metas[self.written]
            shard = self.shards[self.written]
            small = meta.n * meta.cells < WHOLE
            if small and self.total is None:
                if len(self.metas) < len(self.shards):
                    return  # its rows' sums depend on how many rows there are in all: wait
                self.total = sum(m.n for m in self.metas.values())
            if _misplaced(shard, meta, self.offset, self.total):
                meta = self.metas[self.written] = self.submit(  # type: ignore[assignment]
                    shard, self.kinds.get(self.written), wait=True)
            if self.sink is not None:
                future = self.futures[self.written]
                per_sample = self.client.submit(_per_sample, future, pure=False).result()
                self.sink(self.shards[self.written], meta.partial, per_sample, self.offset)
            self.offset += meta.n
            self.written += 1

    def result_of(self, done) -> Meta:
        """A finished future's Meta; a cluster failure becomes one clear error."""
        try:
            return done.result()
        except XentError:
            raise
        except Exception as error:
            name = type(error).__name__
            if name == "KilledWorker":
                raise ShardFailed(f"a Dask worker died each time it ran a shard ({error}); no value "
                                  "is printed, since it would not cover every shard",
                                  hint="the shard may need more memory than a worker has: use "
                                       "smaller shards or fewer workers") from None
            if name in ("CancelledError", "CommClosedError", "TimeoutError") or \
                    isinstance(error, OSError):
                raise ShardFailed(f"the Dask cluster failed ({name}: {error}); no value is printed, "
                                  "since it would not cover every shard",
                                  hint="check the scheduler and workers, then run again") from None
            raise

    def caveat(self) -> str:
        if not getattr(self.sink, "visible", False) or not self.written:
            return ""
        return (f" (the per-sample losses written before this error cover shards 1–{self.written} "
                f"of {len(self.shards)}, {self.offset} rows, only)")


def _known_offsets(shards: list[Shard]) -> dict[int, int]:
    """First global rows known before anything is read (Parquet row counts), by shard index;
    at -1 the rows of all shards, when every count is known."""
    known, offset = {}, 0
    for shard in shards:
        known[shard.index] = offset
        if shard.rows is None:
            return known
        offset += shard.rows
    known[-1] = offset
    return known


def _misplaced(shard: Shard, meta: Meta, offset: int, total: int | None) -> bool:
    """Was the shard computed for another place among all the rows than its own (see padding)?"""
    if (shard.last and ((offset - meta.offset) * meta.cells) % PACKET):
        return True
    if meta.n * meta.cells >= WHOLE:
        return False

    def big(rows: int | None) -> bool:
        return rows is not None and rows * meta.cells >= WHOLE

    return big(total) != big(meta.total)


def _check_columns(meta: Meta, metas: dict[int, Meta], shards: list[Shard]) -> None:
    """Every shard needs the columns (names and counts) and dtype of the first shard."""
    first = metas.get(shards[0].index)
    if first is None:
        return
    for odd in ([meta] if meta is not first else [metas[i] for i in sorted(metas)]):
        if _shape_of(odd) == _shape_of(first):
            continue
        if odd.columns == first.columns:
            message = (f"computes in {odd.partial.dtype} with {odd.partial.n_classes} classes but "
                       f"{shards[first.index].name} in {first.partial.dtype} with "
                       f"{first.partial.n_classes}")
        else:
            message = (f"has columns {_columns_text(odd.columns)} but {shards[first.index].name} has "
                       f"{_columns_text(first.columns)}")
        raise ShardFailed(message, where=shards[odd.index].name,
                          hint="every shard needs the same y_true, y_pred and weight columns and types")


def _shape_of(meta: Meta) -> tuple:
    return meta.columns, meta.partial.dtype, meta.partial.n_classes


def _columns_text(columns: tuple) -> str:
    true_names, pred_names, n_true, n_pred, weighted = columns
    true = ", ".join(true_names) if true_names else f"{n_true} column(s)"
    pred = ", ".join(pred_names) if pred_names else f"{n_pred} column(s)"
    return f"y_true [{true}], y_pred [{pred}]" + (" and a weight" if weighted else "")


def _global_labels(client, shards: list[Shard], job: Job) -> Array:
    """scikit-learn's classes over every shard (a first pass over y_true)."""
    futures = [client.submit(shard_labels, s, job, pure=False) for s in shards]
    return np.unique(np.concatenate([future.result() for future in futures]))


def execute(client, shards: list[Shard], job: Job, sink: Sink | None = None,
            progress: Progress | None = None) -> Run:
    """Run ``job`` on every shard and combine. ``sink`` gets each shard's result in shard order,
    as soon as every earlier shard is done and the loss kind is settled."""
    progress = progress or Progress(len(shards), False)
    progress.start = time.monotonic()  # rows/s of the work, not of starting the cluster
    chosen = [profiles.get(name) for name in (job.profile, job.against) if name is not None]
    if any(profile.sorted_labels for profile in chosen) and job.labels is None:
        job = replace(job, labels=_global_labels(client, shards, job))
    driver = _Driver(client, shards, job, sink, progress)
    metas = driver.run()
    return _combine(client, shards, job, metas, driver.futures)


def _combine(client, shards: list[Shard], job: Job, metas: dict[int, Meta], futures: dict) -> Run:
    offsets, offset = [], 0
    for shard in shards:
        offsets.append(offset)
        offset += metas[shard.index].n
    source = shards[0].path if len(shards) == 1 else f"{len(shards)} shards"
    profile = profiles.get(job.profile)
    total = _merged([partial.moved(metas[s.index].partial, offsets[s.index]) for s in shards])
    combined = partial.finish(total, profile, job.options.reduction or profile.reduction, source)
    combined_q, tops = None, []
    if job.against is not None:
        other = profiles.get(job.against)
        total_q = _merged([partial.moved(metas[s.index].partial_q, offsets[s.index])  # type: ignore
                           for s in shards])
        combined_q = partial.finish(total_q, other, job.options.reduction or other.reduction, source)
        tops = [_moved_top(client.submit(_top_of, futures[s.index], pure=False).result(),
                           offsets[s.index]) for s in shards]
    reasons = [metas[s.index].partial.kind_reason for s in shards]
    reason = next((r for r in reasons if not r.startswith("--loss")), reasons[0])
    total = replace(total, kind_reason=reason)
    result = partial.result_of(total, combined, profile)
    files = len({s.path for s in shards})
    return Run(result, combined, combined_q, shards, files, total.kind, job.labels, tops)


def _merged(parts: list[partial.Partial]) -> partial.Partial:
    try:
        return partial.merge_all(parts)
    except partial.Inconsistent as error:  # the checks above should have caught it
        raise ShardFailed(f"the shards cannot be combined: {error}",
                          hint="give every shard the same columns, or --loss and --labels") from None


def _top_of(outcome: Outcome) -> Top | None:
    return outcome.top


def _moved_top(top: Top, shift: int) -> Top:
    return replace(top, rows=tuple(r + shift for r in top.rows))


# --- results as the renderers know them ---------------------------------------------------------

def shard_result(part: partial.Partial, job: Job, per_sample: Array | None) -> Result:
    """The shard's own result, as ``xent compute`` on that file alone gives it (rows from 1)."""
    profile = profiles.get(job.profile)
    own = partial.moved(part, 0)
    reduction = job.options.reduction or profile.reduction
    return partial.result_of(own, partial.finish(own, profile, reduction, ""), profile, per_sample)


# --- the commands ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """What the user asked for on the command line: what to read, and the cluster."""

    spec: ReadSpec
    scheduler: str | None = None
    workers: int | None = None


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


class _StreamSink:
    """Per-sample losses to stdout (or to --output, renamed into place at the end) as they come,
    in the very text ``machine.plain`` / ``machine.per_sample_csv`` give for one file."""

    visible = True

    def __init__(self, out):
        from xentropy_cli.io import output

        self.out, self.csv, self.handle, self.writer = out, out.format == "csv", out.stdout, None
        if out.path is not None:
            self.visible = False
            self.writer = output.Writer(out.path)  # io.output: whole or not at all, links/devices kept
            self.handle = self.writer.handle
        if self.csv:
            self.handle.write("sample,loss\n")

    def __call__(self, shard: Shard, part: partial.Partial, per_sample: Array, first_row: int) -> None:
        from xentropy_cli.render.machine import text

        if self.csv:
            lines = [f"{i},{text(x)}\n" for i, x in enumerate(per_sample.tolist(), first_row + 1)]
        else:
            lines = [text(x) + "\n" for x in per_sample.tolist()]
        self.handle.write("".join(lines))
        self.handle.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.commit()

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.abort()


class _CollectSink:
    """Keeps the per-sample losses (for --format json/table and --strict, which need them all)."""

    def __init__(self):
        self.parts: list[Array] = []

    def __call__(self, shard: Shard, part: partial.Partial, per_sample: Array, first_row: int) -> None:
        self.parts.append(per_sample)

    def array(self, dtype: str) -> Array:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.dtype(dtype))


class _FolderSink:
    """One file per shard in --output DIR/: what ``xent compute SHARD`` writes for that shard."""

    def __init__(self, folder: Path, fmt: str, job: Job, shards: list[Shard]):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"cannot make the folder {folder}: {error.strerror}") from None
        self.folder, self.format, self.job = folder, fmt, job
        suffix = {"csv": ".csv", "json": ".json"}.get(fmt, ".txt")
        stems = [Path(s.path).stem + ("" if s.part is None else f".part{s.part}") for s in shards]
        unique = len(set(stems)) == len(stems)
        self.names = [(stem if unique else f"{s.index:05d}-{stem}") + suffix
                      for s, stem in zip(shards, stems, strict=True)]

    def __call__(self, shard: Shard, part: partial.Partial, per_sample: Array, first_row: int) -> None:
        from xentropy_cli import render

        own = shard_result(part, self.job, per_sample)
        target = render.Output(self.format, "never", self.folder / self.names[shard.index], True, False)
        target.emit_compute(own, reader=READER)


def explain(request: Request, profile, other, options: Options, rows: int, out) -> None:
    """``xent explain --engine dask``: the stages of the rows that contribute most, of all shards."""
    from xentropy_cli.core.validate import check_reduction

    check_reduction(other, options)
    shards = plan(expand(request.spec.sources, request.spec.input_format))
    job = make_job(request, profile, options, against=other.name, top_k=max(rows, 1))
    with cluster(request.scheduler, request.workers) as client:
        run = execute(client, shards, job, None, Progress.for_stderr(len(shards), out.quiet))
        divisors = (_share_divisor(run.combined), _share_divisor(run.combined_q))
        tops = run.tops
        if divisors[0] != divisors[1]:  # rank again with the real divisors (second pass)
            again = replace(job, divisors=divisors, kind=run.kind, labels=run.labels)
            tops = execute(client, shards, again, None,
                           Progress.for_stderr(len(shards), out.quiet)).tops
    subset, where, numbers = _top_inputs(tops, job, run, rows)
    result_p, result_q, divergence = _explained(subset, profile, other, options, run)
    divergence = replace(divergence, rows=tuple(numbers[r] for r in divergence.rows),
                         account=renumbered(divergence.account, numbers))
    out.warn(run.result.notices)
    _emit_explain(out, subset, result_p, result_q, divergence, rows, run, where, numbers)


def renumbered(text: str, numbers: list[int]) -> str:
    """``text`` with "row 2" / "Rows 1, 3" of the rows shown made rows of all the shards."""
    def one(match: re.Match) -> str:
        rows = [int(r) for r in match.group(2).split(", ")]
        if any(not 1 <= r <= len(numbers) for r in rows):
            return match.group(0)
        return f"{match.group(1)} " + ", ".join(str(numbers[r - 1] + 1) for r in rows)

    return re.sub(r"\b([Rr]ows?) (\d+(?:, \d+)*)", one, text)


def _share_divisor(combined: partial.Combined | None) -> float:
    """What ``core.explain.contributions`` divides a row's w·l by."""
    if combined is None or combined.reduction in ("none", "sum") or combined.divisor is None:
        return 1.0
    return float(combined.divisor)


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


def _explained(subset: Inputs, profile, other, options: Options, run: Run):
    """Both profiles on the chosen rows, with the totals of all rows put back in."""
    from xentropy_cli.core import explain as explain_core
    from xentropy_cli.core import pipeline

    each = replace(options, reduction="none")
    result_p = _as_whole(pipeline.run(subset, profile, each), run.result)
    whole_q = partial.result_of(run.combined_q.total, run.combined_q, other)  # type: ignore[union-attr]
    result_q = _as_whole(pipeline.run(subset, other, each), whole_q)
    divergence = explain_core.diverge(result_p, result_q, subset.y_true, subset.y_pred)
    return result_p, result_q, divergence


def _as_whole(rows: Result, whole: Result) -> Result:
    """``rows`` (a few rows' stages) carrying the value, counts and warnings of all rows."""
    if whole.reduction == "none":
        stages = rows.stages
        value = rows.value
    else:
        stages = (*rows.stages[:-1], whole.stages[-1])
        value = whole.value
    return replace(rows, stages=stages, value=value, reduction=whole.reduction,
                   weighted_sum=whole.weighted_sum, divisor=whole.divisor,
                   n_samples=whole.n_samples, notices=whole.notices, kind_reason=whole.kind_reason)


def _emit_explain(out, subset: Inputs, result_p: Result, result_q: Result, divergence, rows: int,
                  run: Run, where: list[str], numbers: list[int]) -> None:
    """The explain output of one file, preceded by what was read and where the rows shown are."""
    import copy
    import io as text_io
    import json

    shown = len(where)
    buffer = copy.copy(out)
    buffer.path, buffer.stdout = None, text_io.StringIO()
    buffer.emit_explain(subset, result_p, result_q, divergence, rows)
    body = buffer.stdout.getvalue()
    engine = {"engine": "dask", "rows_read": run.result.n_samples, "shards": len(run.shards),
              "files": run.n_files, "rows_shown": [{"row": i + 1, "where": w} for i, w in
                                                    enumerate(where)]}
    if out.format == "json":
        data = json.loads(body)
        data["engine"] = engine
        out.write(json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n")
        return
    if out.format == "csv":  # the sample column: rows of all the shards, not of the rows shown
        lines = body.splitlines(keepends=True)
        out.write(lines[0] + "".join(f"{numbers[i] + 1}," + line.split(",", 1)[1]
                                     for i, line in enumerate(lines[1:])))
        return
    lines = [f"xent explain --engine dask: {run.result.n_samples:,} rows read from "
             f"{len(run.shards)} shard(s) in {run.n_files} file(s); the {shown} row(s) below "
             "contribute most to the difference (the per-sample histogram covers them only):"]
    lines += [f"  row {i + 1:>3} = {w}" for i, w in enumerate(where)]
    out.write("\n".join(lines) + "\n\n" + body)
