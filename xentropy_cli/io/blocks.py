"""Blocks of parsed rows as ``Inputs``: the one way every chunked reader (the streaming engine,
Dask shards, Parquet) turns columns into what the pipeline takes."""

from __future__ import annotations

import numpy as np

from xentropy_cli.core.types import Array, Inputs
from xentropy_cli.io.columns import Columns

# (y_true, y_pred, weight or None) of some rows
Piece = tuple[Array, Array, Array | None]


def labels_1d(y_true: Array) -> Array:
    """A single integer-valued column of targets is a vector of labels (sparse targets)."""
    if y_true.ndim == 2 and y_true.shape[1] == 1 and y_true.shape[0] > 0:
        column = y_true[:, 0]
        if np.issubdtype(column.dtype, np.integer) or bool(np.all(column == np.round(column))):
            return np.ascontiguousarray(column)
    return y_true


def split(block: Array, columns: Columns) -> Piece:
    """A parsed text block (y_true columns, then y_pred, then the weight) as its three parts."""
    n_true, n_pred = len(columns.true_idx), len(columns.pred_idx)
    weight = block[:, n_true + n_pred] if columns.weight_idx is not None else None
    return block[:, :n_true], block[:, n_true:n_true + n_pred], weight


def inputs(piece: Piece, columns: Columns, source: str, first_line: int | None,
           named: bool = True) -> Inputs:
    """The Inputs of some rows, as ``io.read`` builds them for those rows of the file."""
    y_true, y_pred, weight = piece
    return Inputs(labels_1d(np.ascontiguousarray(y_true)), np.ascontiguousarray(y_pred),
                  None if weight is None else np.ascontiguousarray(weight), source=source,
                  true_names=columns.true_names if named else (),
                  pred_names=columns.pred_names if named else (), first_line=first_line)


def cut(pending: list[Piece], size: int) -> tuple[Piece, list[Piece]]:
    """The first ``size`` rows of the pieces, and the pieces left over."""
    def joined(arrays: list[Array]) -> Array:
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    y_true = joined([p[0] for p in pending])
    y_pred = joined([p[1] for p in pending])
    weights = [p[2] for p in pending]
    weight = None if any(w is None for w in weights) else joined([w for w in weights if w is not None])
    head = (y_true[:size], y_pred[:size], None if weight is None else weight[:size])
    rest = (y_true[size:], y_pred[size:], None if weight is None else weight[size:])
    return head, ([rest] if rest[1].shape[0] else [])
