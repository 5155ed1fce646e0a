"""Parquet files (needs pyarrow: the ``fast`` or ``dask`` extra), by the CSV column rules.

``read`` gives a whole file as Inputs (``xent compute preds.parquet`` on one machine);
``blocks`` gives consecutive blocks of rows, a record batch at a time, so neither the table nor
a copy of it is ever held (the Dask engine's shards use it, with a file's run of row groups).
float32 columns stay float32, as in .npy; a bad cell names its 1-based row in the file:
``preds.parquet:1235: column pred_2 …``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from xentropy_cli.core.types import Array, Inputs
from xentropy_cli.errors import DataError, UsageError, XentError
from xentropy_cli.io import blocks as blk
from xentropy_cli.io.columns import Columns
from xentropy_cli.io.source import PARQUET_EXTENSIONS

EXTENSIONS = PARQUET_EXTENSIONS
MAGIC = b"PAR1"


def _pyarrow():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("reading Parquet needs pyarrow",
                         hint="pip install 'xentropy-cli[fast]' (or [dask])") from None
    return pq


def row_groups(path: str) -> list[int]:
    """The rows of each row group of the file (at least one entry)."""
    pq = _pyarrow()
    try:
        meta = pq.read_metadata(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"is not a readable Parquet file ({str(exc)[:120]})", where=path,
                        hint="write it with pyarrow or pandas.to_parquet") from None
    return [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] or [0]


def read(path: str, true_cols: str | None = None, pred_cols: str | None = None,
         weight_col: str | None = None) -> Inputs:
    """The whole file as one Inputs."""
    found = list(blocks(path, true_cols, pred_cols, weight_col, None))
    if len(found) == 1:
        return found[0][1]
    first = found[0][1]
    w = [b.sample_weight for _, b in found if b.sample_weight is not None]
    from dataclasses import replace

    return replace(first, y_true=np.concatenate([b.y_true for _, b in found]),
                   y_pred=np.concatenate([b.y_pred for _, b in found]),
                   sample_weight=np.concatenate(w) if len(w) == len(found) else None)


def blocks(path: str, true_cols: str | None, pred_cols: str | None, weight_col: str | None,
           size: int | None, groups: tuple[int, ...] | None = None, file_row: int = 0,
           name: str | None = None) -> Iterator[tuple[int, Inputs]]:
    """(first row, Inputs) of consecutive blocks of ``size`` rows (the last may be shorter; None:
    one block) of row groups ``groups`` (None: all), which start at the file's 0-based row
    ``file_row``; ``name`` is what errors call them (default: the path)."""
    pq = _pyarrow()
    from xentropy_cli.io.columns import resolve_columns

    name = name or path
    try:
        handle = pq.ParquetFile(path)
        header = list(handle.schema_arrow.names)
        cols = resolve_columns(header, true_cols, pred_cols, weight_col, source=path)
        wanted = sorted({header[i] for i in (*cols.true_idx, *cols.pred_idx,
                                             *(() if cols.weight_idx is None else (cols.weight_idx,)))})
        batches = handle.iter_batches(batch_size=size or (1 << 62),
                                      row_groups=None if groups is None else list(groups),
                                      columns=wanted, use_threads=False)  # one thread per worker
        pending: list[blk.Piece] = []
        held = start = 0
        for batch in batches:
            piece = _batch_arrays(batch, header, cols, path, file_row + start + held)
            pending.append(piece)
            held += piece[1].shape[0]
            while size and held >= size:
                block, pending = blk.cut(pending, size)
                yield start, blk.inputs(block, cols, path, file_row + start + 1)
                start += size
                held -= size
        if held:
            block, _ = blk.cut(pending, held)
            yield start, blk.inputs(block, cols, path, file_row + start + 1)
        elif not start:
            raise DataError("has no rows", where=name, hint="the input needs at least one row")
    except XentError:
        raise
    except (OSError, ValueError) as exc:  # pyarrow's errors are OSError/ValueError subclasses
        raise DataError(f"cannot be read ({type(exc).__name__}: {str(exc)[:120]})",
                        where=name, hint="check that it is a Parquet file") from None


def _batch_arrays(batch, header: list[str], cols: Columns, path: str, row: int) -> blk.Piece:
    """(y_true, y_pred, weight) of one record batch, which starts at the file's 0-based ``row``."""
    names = batch.schema.names

    def block(indices: tuple[int, ...]) -> Array:
        columns = [_numbers(batch.column(names.index(header[i])), header[i], path, row)
                   for i in indices]
        dtype = np.float32 if all(c.dtype == np.float32 for c in columns) else np.float64
        out = np.empty((batch.num_rows, len(columns)), dtype)
        for j, column in enumerate(columns):
            out[:, j] = column
        return out

    weight = None
    if cols.weight_idx is not None:
        name = header[cols.weight_idx]
        weight = _numbers(batch.column(names.index(name)), name, path, row)
    return block(cols.true_idx), block(cols.pred_idx), weight


def _numbers(column, name: str, path: str, row: int = 0) -> Array:
    """A Parquet column (of a batch that starts at the file's 0-based ``row``) as float."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if column.null_count:
        at = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"column {name} is empty (null), not a number", where=f"{path}:{row + at + 1}",
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
            for at, cell in enumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(f"column {name} is {cell.strip()[:40]!r}, not a number",
                                    where=f"{path}:{row + at + 1}",
                                    hint="fix that cell, or choose other columns with "
                                         "--true-cols/--pred-cols") from None
            raise
    raise DataError(f"column {name} holds {kind} values, not numbers", where=path,
                    hint="choose other columns with --true-cols/--pred-cols")
