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


def may_stream(spec) -> bool:
    """Cheap test before importing engines.stream: stdin, or one large regular file (io.ReadSpec)."""
    return not spec.inline and (list(spec.sources) == ["-"] or worth_streaming(list(spec.sources)))


def worth_streaming(sources: list[str] | None) -> bool:
    """One regular file of at least ``min_bytes()``: a candidate for engines.stream."""
    if not sources or len(sources) != 1 or sources[0] == "-":
        return False
    try:
        return os.path.isfile(sources[0]) and os.path.getsize(sources[0]) >= min_bytes()
    except OSError:
        return False


STDIN = "<stdin>"


def spool_stdin(limit: int | None = None) -> tuple[bytes | None, str | None]:
    """Read piped stdin once. Less than ``limit`` bytes (default ``min_bytes()``): (its bytes,
    None). More: (None, the path of a temporary file holding all of it, removed at exit), copied a
    block at a time so memory stays small (io.source.spool: binary junk and endless lines stop
    it at once). A terminal or no stdin: (None, None), untouched."""
    import sys

    if sys.stdin is None or sys.stdin.isatty():
        return None, None
    from xentropy_cli.io import source

    return source.spool(sys.stdin.buffer, min_bytes() if limit is None else limit)
