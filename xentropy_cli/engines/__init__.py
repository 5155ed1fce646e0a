"""Engines that run the core pipeline over many chunks or shards (stream, dask).

``worth_streaming`` is here, import-light, so a small input never imports the engines.
"""

from __future__ import annotations

import os

MIN_BYTES = 8 << 20  # CSV/TSV files at least this large are streamed (XENT_STREAM_MIN_BYTES overrides)


def min_bytes() -> int:
    try:
        return int(os.environ.get("XENT_STREAM_MIN_BYTES", "") or MIN_BYTES)
    except ValueError:
        return MIN_BYTES


def worth_streaming(sources: list[str] | None) -> bool:
    """One regular file of at least ``min_bytes()``: a candidate for engines.stream."""
    if not sources or len(sources) != 1 or sources[0] == "-":
        return False
    try:
        return os.path.isfile(sources[0]) and os.path.getsize(sources[0]) >= min_bytes()
    except OSError:
        return False
