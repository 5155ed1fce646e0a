"""What the streaming and the Dask engine do alike: parse a chunk of CSV/TSV text, and explain a
few rows of many with the totals of all of them.

An engine differs from another only in how it schedules chunks (stream: byte ranges on local
processes; dask: shard files on a cluster); each chunk goes through ``core.partial.run_chunk``
and the partials are folded by ``core.partial``. A new engine schedules chunks, reads them with
``Parser`` (or ``io.parquet.blocks``), and ends with ``explain_rows`` for ``xent explain``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from xentropy_cli.core import partial
from xentropy_cli.core.types import Array, Inputs, Options, Result
from xentropy_cli.io import fastcsv, jitcsv

# the parsers of chunks of any width besides numpy's, in the order ``auto`` prefers them: each
# reader's class, and whether this Python can import its library (checked without loading it;
# looked up when asked, so a test can stand in for either)
LIBRARIES: dict[str, tuple[Any, Callable[[], bool]]] = {
    jitcsv.READER: (jitcsv.Jit, lambda: jitcsv.available()),
    fastcsv.READER_ARROW: (fastcsv.Arrow, lambda: fastcsv.arrow_available()),
    fastcsv.READER_POLARS: (fastcsv.Polars, lambda: fastcsv.polars_available()),
}


def declined(error: Exception) -> None:
    """pyarrow declined a chunk (None: parse it another way), unless it was interrupted: pyarrow
    turns Ctrl-C during a parse into ArrowCancelled, an Exception, which must stay an interrupt."""
    if type(error).__name__ == "ArrowCancelled":
        raise KeyboardInterrupt from None


def choose_reader() -> str:
    """The parser for chunks that are not fixed-width, from what is installed: the compiled
    parser (llvmlite, the ``fast`` extra), else pyarrow, else polars, else numpy's own. polars
    parses a chunk in half pyarrow's CPU time but its import (a 178 MB library, in every worker)
    costs more than that saves on a 1M-row file: end to end pyarrow was faster (bench/README.md)."""
    return next((name for name, (_, usable) in LIBRARIES.items() if usable()), fastcsv.READER_NUMPY)


class Parser:
    """Chunks of whole lines of one layout, parsed: as fixed-width lines first (numpy only), then
    with the compiled parser (``io.jitcsv``, llvmlite), polars or pyarrow when that is the
    ``reader`` (imported at the first chunk that needs it; one that cannot start leaves the rest
    to numpy), then with the general numpy parser, which also gives the in-memory
    reader's errors. Every parser gives numpy's correctly rounded float64, so the choice never
    changes a number. ``used`` collects the names of the parsers that read something. polars is
    not used in a process forked from one that had imported it (its thread pool does not survive
    a fork): pyarrow or numpy read instead."""

    def __init__(self, lay: fastcsv.Layout, reader: str | bool, threads: bool = False):
        if reader is True or reader is False:  # the older signature: arrow or not
            reader = fastcsv.READER_ARROW if reader else fastcsv.READER_NUMPY
        if reader == fastcsv.READER_POLARS and not fastcsv.polars_usable():
            reader = fastcsv.READER_ARROW if fastcsv.arrow_available() else fastcsv.READER_NUMPY
        self.lay, self.kind, self.threads = lay, reader, threads
        self.reader: fastcsv.Polars | fastcsv.Arrow | jitcsv.Jit | None = None
        self.used: set[str] = set()

    def __call__(self, data: bytes, line: int) -> Array:
        """The rows of ``data`` (whole lines), whose first is line ``line`` of the file."""
        block = fastcsv.parse_fixed(self.lay, data)
        name = fastcsv.READER_FIXED
        if block is None and self.kind in LIBRARIES:
            try:
                if self.reader is None:
                    self.reader = LIBRARIES[self.kind][0](self.lay, threads=self.threads)
                block, name = self.reader.parse(data), self.kind
            except Exception as error:  # the library's own errors: the numpy reader says what, and where
                declined(error)
                block = None
                if self.reader is None:  # it cannot start here (an llvmlite too old to compile it)
                    self.kind = fastcsv.READER_NUMPY
        if block is None:
            block, name = fastcsv.parse(self.lay, data, line), fastcsv.READER_NUMPY
        self.used.add(name)
        return block


# --- explain: the rows that matter most, with the totals of all ---------------------------------

def share_divisor(combined: partial.Combined | None) -> float:
    """What ``core.explain.contributions`` divides a row's w·l by (1 for none and sum)."""
    if combined is None or combined.reduction in ("none", "sum") or not combined.divisor:
        return 1.0
    return float(combined.divisor)


def as_whole(rows: Result, whole: Result) -> Result:
    """``rows`` (the kept rows' stages) with the value, counts and warnings of all rows."""
    if whole.reduction == "none":
        stages, value = rows.stages, rows.value
    else:
        stages, value = (*rows.stages[:-1], whole.stages[-1]), whole.value
    return replace(rows, stages=stages, value=value, reduction=whole.reduction,
                   weighted_sum=whole.weighted_sum, divisor=whole.divisor, n_samples=whole.n_samples,
                   notices=whole.notices, reason=whole.reason, first_non_finite=whole.first_non_finite)


def explain_rows(subset: Inputs, profile: Any, other: Any, options: Options, whole_p: Result,
                 combined_q: partial.Combined | None):
    """Both profiles on the kept rows ``subset``, carrying the value, counts and warnings of all
    rows (``whole_p``, and ``combined_q`` for the second profile): (result_p, result_q, divergence)."""
    from xentropy_cli.core import explain as explain_core
    from xentropy_cli.core import pipeline

    if combined_q is None:
        raise ValueError("explain_rows needs the second profile's combined partials")
    each = replace(options, reduction="none")
    whole_q = partial.result_of(combined_q.total, combined_q, other)
    result_p = as_whole(pipeline.run(subset, profile, each), whole_p)
    result_q = as_whole(pipeline.run(subset, other, each), whole_q)
    divergence = explain_core.diverge(result_p, result_q, subset.y_true, subset.y_pred)
    return result_p, result_q, divergence
