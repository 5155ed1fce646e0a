"""Worker processes for the streaming engine, under any multiprocessing start method.

``fork`` is fastest where it is safe (Linux before Python 3.14); ``spawn`` (macOS, Windows) and
``forkserver`` (Python 3.14's Linux default) start a fresh interpreter, so everything a worker
gets is pickled: plain values, profiles (by name, see ``Profile.__reduce__``), the path of its
per-sample file and a shared counter of bytes done. The numbers are the same under every method
(tests/test_engines.py runs the streamed cases under each).

``XENT_START_METHOD`` (fork | spawn | forkserver) overrides the platform's default.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xentropy_cli.errors import DataError, StrictError, UsageError, XentError

METHODS = ("fork", "spawn", "forkserver")


class Fallback(Exception):
    """Read this request in memory instead (raised by a worker, passed on by the parent)."""


class NeedsClasses(Exception):
    """A block's y_true lacks one of scikit-learn's classes, which come from every row: find them
    first, then run again with them (raised by a worker, passed on by the parent)."""


def context() -> Any:
    """The multiprocessing context: XENT_START_METHOD if set, else the platform's default.
    multiprocessing is imported here, not with the module: a run on threads never needs it."""
    import multiprocessing

    method = os.environ.get("XENT_START_METHOD") or None
    if method is not None and method not in multiprocessing.get_all_start_methods():
        raise UsageError(f"XENT_START_METHOD={method!r} is not available here",
                         hint=f"choose one of {', '.join(multiprocessing.get_all_start_methods())}")
    ctx = multiprocessing.get_context(method)
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["xentropy_cli.engines.stream"])
    return ctx


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def portable(error: BaseException) -> tuple:
    """A worker's failure as plain values the parent turns back into the same failure."""
    if isinstance(error, XentError):
        return ("xent", type(error).__name__, error.message, error.where, error.hint)
    if isinstance(error, Fallback):
        return ("fallback", str(error))
    if isinstance(error, NeedsClasses):
        return ("classes", str(error))
    if isinstance(error, KeyboardInterrupt):
        return ("interrupt",)
    return ("bug", f"{type(error).__name__}: {error}")


def restored(answer: tuple) -> BaseException:
    kind = answer[0]
    if kind == "xent":
        classes = {"DataError": DataError, "UsageError": UsageError, "StrictError": StrictError}
        return classes.get(answer[1], DataError)(answer[2], where=answer[3], hint=answer[4])
    if kind == "fallback":
        return Fallback(answer[1])
    if kind == "classes":
        return NeedsClasses(answer[1])
    if kind == "interrupt":
        return KeyboardInterrupt()
    return RuntimeError(f"in a worker process: {answer[1]}")


def _main(conn: Any, target: Callable[..., Any], args: tuple, translate: Callable[[BaseException],
          BaseException]) -> None:
    """A worker: ``target(*args)``, its answer (or its failure) sent back through ``conn``.

    It starts with SIGINT blocked (see ``start``): a Ctrl-C that arrives while multiprocessing is
    still setting the process up waits until here, where it becomes an "interrupt" answer, and
    one that arrives after the answer is ignored; neither prints a traceback."""
    try:
        _interrupts(signal.SIG_UNBLOCK)
        answer: tuple = ("ok", target(*args))
    except BaseException as error:  # noqa: BLE001 - everything goes back to the parent
        answer = ("error", portable(translate(error)))
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        conn.send(answer)
    finally:
        conn.close()


def _interrupts(how: int) -> Any:
    """Block or unblock SIGINT in this thread (where the platform can); the previous mask."""
    if hasattr(signal, "pthread_sigmask"):
        return signal.pthread_sigmask(how, {signal.SIGINT})
    return None


@dataclass
class Worker:
    process: Any
    conn: Any
    done: bool = False

    def answer(self, waiting: Callable[[], None]) -> Any:
        """Wait for the worker's answer (calling ``waiting`` about ten times a second)."""
        while not self.conn.poll(0.1):
            waiting()
            if not self.process.is_alive() and not self.conn.poll(0):
                self.stop()
                raise RuntimeError("a worker process ended without an answer")
        try:
            status, answer = self.conn.recv()
        except EOFError:
            self.stop()
            raise RuntimeError("a worker process ended without an answer") from None
        self.process.join()
        self.stop()
        if status == "ok":
            return answer
        raise restored(answer)

    def stop(self) -> None:
        if self.done:
            return
        self.done = True
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.conn.close()


def same(error: BaseException) -> BaseException:
    return error


def start(ctx: Any, target: Callable[..., Any], args: tuple,
          translate: Callable[[BaseException], BaseException] = same) -> Worker:
    """Run ``target(*args)`` in a new process of ``ctx``; ``translate`` (a module-level function,
    so that it pickles) maps its failure first."""
    from xentropy_cli import engines

    engines.compiler_loaded()  # no fork while a thread is inside dlopen (its lock would stay held)
    mine, theirs = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_main, args=(theirs, target, args, translate), daemon=True)
    before = _interrupts(signal.SIG_BLOCK)  # the worker inherits the mask; a Ctrl-C now waits
    try:
        process.start()
    finally:
        if before is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
    theirs.close()
    return Worker(process, mine)


def stop_all(workers: list[Worker]) -> None:
    for worker in workers:
        worker.stop()


# --- progress ------------------------------------------------------------------------------------

class Progress:
    """A Rich progress bar on stderr (bytes read, rows/s), shown only on a terminal and only once
    the work has taken more than ``delay`` seconds. Rich is imported only then."""

    def __init__(self, enabled: bool, total: int = 0, bytes_per_row: float = 0.0, delay: float = 1.0):
        self.enabled = enabled
        self.total = total
        self.bytes_per_row = bytes_per_row
        self.delay = delay
        self.start = time.monotonic()
        self.bar: Any = None  # rich.progress.Progress, once shown
        self.task: Any = None

    @classmethod
    def for_stderr(cls, quiet: bool, total: int, bytes_per_row: float) -> Progress:
        on = not quiet and sys.stderr is not None and _isatty(sys.stderr)
        return cls(on, total, bytes_per_row)

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.start < self.delay:
                return
            self._open()
        rows = done / self.bytes_per_row if self.bytes_per_row else 0
        rate = rows / max(time.monotonic() - self.start, 1e-9)
        self.bar.update(self.task, completed=done, rows=f"{rows:,.0f} rows, {rate:,.0f} rows/s")

    def _open(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self.bar = Bar(TextColumn("xent: reading"), BarColumn(), DownloadColumn(),
                       TextColumn("{task.fields[rows]}"), TimeRemainingColumn(),
                       console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("read", total=self.total, rows="")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        self.enabled = False


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
