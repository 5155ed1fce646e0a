"""Shards: what ``--engine dask`` reads (files, globs, folders; Parquet cut between row groups)
and how one shard becomes blocks of Inputs, by the single-file column rules."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from xentropy_cli.core.types import Array, Inputs, LossKind, Options
from xentropy_cli.errors import UsageError
from xentropy_cli.io import parquet

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv",
           ".tsv": "tsv", ".tab": "tsv"}


ROWS_PER_SHARD = 1_000_000  # Parquet row groups are grouped into shards of about this many rows


# Rows per block within a shard: the pipeline runs ~2× faster on blocks that fit the CPU caches
# than on a million rows at once. A multiple of 64, so every block but a shard's last one holds a
# multiple of PACKET cells (and, with 64 or more cells, at least WHOLE of them).
BLOCK_ROWS = 65536


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


def expand(sources: Sequence[str], input_format: str = "auto") -> list[tuple[str, str]]:
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
    return parquet.row_groups(path)


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
    kind: LossKind = "auto"
    from_logits: bool = False
    labels: Array | None = None
    class_weight: Array | None = None
    per_sample: bool = False  # return the shard's w·l
    against: str | None = None  # explain: the second profile
    top_k: int = 0  # explain: rows to keep per shard
    divisors: tuple[float, float] | None = None  # explain, second pass: the global divisors


def read_shard(shard: Shard, job: Job, kind: LossKind | None = None) -> Inputs:
    """The shard's Inputs, by the single-file rules; ``kind`` overrides ``job.kind``."""
    inputs = _read_parquet(shard, job) if shard.fmt == "parquet" else _read_delimited(shard, job)
    return _finished(inputs, shard, job, kind)


def _finished(inputs: Inputs, shard: Shard, job: Job, kind: LossKind | None) -> Inputs:
    """``inputs`` with what the command line adds: -w, --loss, --from-logits, --labels, …"""
    if job.sample_weight is not None:
        if inputs.sample_weight is not None:
            raise UsageError("sample weights are given twice: in the input and by -w",
                             where=shard.path, hint="drop -w, or the weight column")
        inputs = replace(inputs, sample_weight=job.sample_weight)
    return replace(inputs, kind=kind or job.kind, from_logits=job.from_logits, labels=job.labels,
                   class_weight=job.class_weight)


def _read_delimited(shard: Shard, job: Job) -> Inputs:
    """A CSV/TSV shard whole: the streaming engine's exact fast parsers (``io.fastcsv``: its
    layout is decided as ``io.read`` decides it); ``io.read`` itself for what they leave to it
    (quotes, blank lines, no header, …), which also gives the canonical errors."""
    from xentropy_cli import io
    from xentropy_cli.io import fastcsv

    try:
        return next(delimited_blocks(shard, job, None))[1]
    except fastcsv.NotStreamable:
        return io.read([shard.path], true_cols=job.true_cols, pred_cols=job.pred_cols,
                       weight_col=job.weight_col, input_format=shard.fmt)


def delimited_blocks(shard: Shard, job: Job, size: int | None) -> Iterator[tuple[int, Inputs]]:
    """(first row in the shard, Inputs) of consecutive blocks of ``size`` rows (None: one block)
    of a CSV/TSV shard, parsed a chunk of lines at a time (engines.common.Parser). Raises
    NotStreamable for what only ``io.read`` reads (the caller then reads the shard whole)."""
    from xentropy_cli.engines.common import Parser, choose_reader
    from xentropy_cli.io import blocks, fastcsv

    lay = fastcsv.layout(shard.path, job.true_cols, job.pred_cols, job.weight_col, shard.fmt)
    parse = Parser(lay, choose_reader())
    named = lay.header is not None
    pending: list[blocks.Piece] = []
    held = start = 0
    line = lay.first_line
    for data in fastcsv.chunks(lay.path, lay.body_start, lay.size):
        block = parse(data, line)
        line += block.shape[0]
        pending.append(blocks.split(block, lay.columns))
        held += block.shape[0]
        while size and held >= size:
            piece, pending = blocks.cut(pending, size)
            yield start, blocks.inputs(piece, lay.columns, shard.path, lay.first_line + start, named)
            start += size
            held -= size
    if held:
        piece, _ = blocks.cut(pending, held)
        yield start, blocks.inputs(piece, lay.columns, shard.path, lay.first_line + start, named)
    elif not start:
        raise fastcsv.NotStreamable("no data rows")  # io.read says what is wrong


def _read_parquet(shard: Shard, job: Job) -> Inputs:
    """The whole Parquet shard as one Inputs (see ``parquet_blocks`` for the usual way)."""
    found = list(parquet_blocks(shard, job, None))
    if len(found) == 1:
        return found[0][1]
    w = [b.sample_weight for _, b in found if b.sample_weight is not None]
    return replace(found[0][1], y_true=np.concatenate([b.y_true for _, b in found]),
                   y_pred=np.concatenate([b.y_pred for _, b in found]),
                   sample_weight=np.concatenate(w) if len(w) == len(found) else None)


def parquet_blocks(shard: Shard, job: Job, size: int | None = BLOCK_ROWS) -> Iterator[tuple[int, Inputs]]:
    """(first row in the shard, Inputs) of consecutive blocks of ``size`` rows of a Parquet
    shard (io.parquet.blocks: a record batch at a time, never the whole table)."""
    return parquet.blocks(shard.path, job.true_cols, job.pred_cols, job.weight_col, size,
                          shard.row_groups, shard.file_row, shard.name)


def shard_labels(shard: Shard, job: Job) -> Array:
    """scikit-learn's first pass: the sorted unique values of the shard's y_true."""
    return np.unique(np.asarray(read_shard(shard, job).y_true))
