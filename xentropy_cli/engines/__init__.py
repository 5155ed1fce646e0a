"""Engines that run the core pipeline over many chunks or shards (stream, dask).

``worth_streaming`` and the ``ENGINES`` table are here, import-light, so a small input never
imports the engines.
"""

from __future__ import annotations

import os
from typing import Any

LOCAL = "local"  # in memory, or streamed over this machine's cores (engines.stream): the default

#: ``--engine`` NAME -> the module that runs the commands elsewhere. Each has
#: ``request(spec, scheduler, workers)`` (checks the options, returns what its commands take) and
#: ``compute(request, profile, options, out)``, ``explain(request, profile, other, options, rows,
#: out, classes=)``, ``compare(request, profiles, options, out)``. A new engine is its module and
#: one line here: the CLI's ``--engine`` choices and dispatch read this table.
ENGINES: dict[str, str] = {"dask": "xentropy_cli.engines.dask"}


def names() -> tuple[str, ...]:
    """The ``--engine`` choices."""
    return (LOCAL, *ENGINES)


def remote(name: str, spec, scheduler: str | None, workers: int | None) -> tuple[Any, Any] | None:
    """None for the local engine; else (the engine's module, its checked request)."""
    import importlib

    from xentropy_cli.errors import UsageError

    if name == LOCAL:
        if scheduler is not None or workers is not None:
            raise UsageError("--scheduler and --workers need --engine dask", hint="add --engine dask")
        return None
    if name not in ENGINES:
        raise UsageError(f"unknown --engine {name!r}", hint=f"choose one of {', '.join(names())}")
    module = importlib.import_module(ENGINES[name])
    return module, module.request(spec, scheduler, workers)

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


_LOADING: Any = None  # the thread of preload_compiler, once started


def preload_compiler(sources: list[str], input_format: str = "auto") -> None:
    """Start loading LLVM (llvmlite's shared library, ~180 MB: ~0.02 s in ``dlopen``, which runs
    without the GIL) on a thread of its own, for a run that will most likely stream with the
    compiled parser: ``XENT_READER`` auto or llvmlite, llvmlite installed, one file named or
    forced as CSV/TSV whose head is not fixed-width or quoted (``_parsed_by_llvm``; a guess:
    stdin and anything else load it when the parser first needs it), and no shipped object code
    that ``io.jitcsv`` maps without LLVM (``_maps_shipped_object``: x86-64 Linux). It then loads beside
    numpy's and the engine's imports instead of after them, and llvmlite finds it loaded
    (``io.jitcsv`` waits for this thread first, and so does a fork: ``compiler_loaded``). A run
    that reads in memory after all carries the library's pages. A library that does not load
    leaves llvmlite to say so as before."""
    global _LOADING
    if _LOADING is not None or os.environ.get("XENT_READER", "auto") not in ("auto", "llvmlite"):
        return
    if not _parsed_by_llvm(sources, input_format) or _maps_shipped_object():
        return
    import importlib.util

    try:  # an llvmlite that does not import, or is laid out otherwise: nothing to preload
        found = importlib.util.find_spec("llvmlite")
        if found is None or found.origin is None:
            return
        from llvmlite.utils import get_library_name  # a module that loads nothing

        path = os.path.join(os.path.dirname(found.origin), "binding", get_library_name())
    except Exception:  # noqa: BLE001 - io.jitcsv and the readers' checks say what is wrong, as before
        return
    if os.path.isfile(path):
        import threading

        _LOADING = threading.Thread(target=_load, args=(path,), name="xent-llvm")  # exit waits for it
        _LOADING.start()


def _maps_shipped_object() -> bool:
    """True where ``io.jitcsv`` will map the parser's shipped object code without LLVM
    (``objload``): x86-64 Linux, ``XENT_JIT_OBJECT`` not 0 (as ``jitcsv._shipped_object`` reads
    it). Nothing is to preload then. A guess: jitcsv finds and checks the object itself (it needs
    numpy), and where it has none (a damaged install) LLVM loads when the parser needs it."""
    from xentropy_cli import objload

    return objload.supported() and os.environ.get("XENT_JIT_OBJECT", "1") != "0"


_DELIMITED = (".csv", ".tsv", ".tab", ".txt")


def _parsed_by_llvm(sources: list[str], input_format: str) -> bool:
    """A guess, without numpy, from the name and the first 64 KiB: one CSV/TSV file that is not
    quoted (those are read in memory) and whose data lines are not of one width without an
    exponent (numpy's fixed-width reader takes those, on processes: engines.stream never
    compiles, and a worker forked from a process with LLVM loaded started 40 ms later,
    measured). A wrong guess costs time, never a number."""
    if len(sources) != 1 or sources[0] == "-":
        return False
    named = os.path.splitext(sources[0])[1].lower() in _DELIMITED
    if not (input_format in ("csv", "tsv") or (input_format == "auto" and named)):
        return False
    try:
        with open(sources[0], "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False
    if b'"' in head or b"\x00" in head:
        return False
    lines = head.split(b"\n")[1:-1]  # the header (or a first line), and a line the 64 KiB may cut
    fixed = (len(lines) >= 2 and len({len(line) for line in lines}) == 1
             and not any(b"e" in line or b"E" in line for line in lines))
    return not fixed


def _load(path: str) -> None:
    import ctypes

    try:
        ctypes.CDLL(path)
    except OSError:
        pass


def compiler_loaded() -> None:
    """Wait until ``preload_compiler``'s thread is done (no-op if it never started)."""
    if _LOADING is not None:
        _LOADING.join()


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
