"""Where output goes: the one writer behind ``-o`` and stdout, and the temporary files of a run.

``-o PATH`` is written whole or not at all, and never replaces what it should write through:

- a regular file (or nothing yet): a temporary file beside it, then a rename over it; an existing
  file keeps its permission bits, a new one gets 0666 less the umask, as the shell would give;
- a symbolic link: resolved, and its target written as above (the link stays a link);
- a device node, a FIFO or a ``/dev/stdout``-style path: opened and written directly;
- a directory: refused with one line; an input of the same run (same inode, through any link or
  ``<`` redirect): refused before a byte is written.

Temporary files (this writer's and the stdin spool's) are ``track``\\ ed and removed on every exit
path: success, error, Ctrl-C, and SIGTERM/SIGHUP (``errors.install_signals`` turns those into
exceptions, so ``finally`` blocks and ``atexit`` run).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from xentropy_cli.errors import DataError, UsageError

STDOUT_PATH = "-"
_inputs: set[tuple[int, int]] = set()
_temporary: set[str] = set()
_cleanup_registered = False


# --- inputs of this run ------------------------------------------------------------------------

def note_input(what: int | str | None) -> None:
    """Remember an input (an open descriptor or a path) so ``-o`` never overwrites it."""
    if what is None:
        return
    try:
        info = os.fstat(what) if isinstance(what, int) else os.stat(what)
    except (OSError, ValueError, TypeError):
        return
    if stat.S_ISREG(info.st_mode):
        _inputs.add((info.st_dev, info.st_ino))


def forget_inputs() -> None:
    """A new run (``errors.prepare_process``): no inputs yet."""
    _inputs.clear()


def is_input(info: os.stat_result) -> bool:
    return (info.st_dev, info.st_ino) in _inputs


# --- temporary files ---------------------------------------------------------------------------

def track(path: str) -> None:
    """Remove ``path`` at exit unless ``untrack``\\ ed first (signals included, see module doc)."""
    global _cleanup_registered
    if not _cleanup_registered:
        import atexit

        atexit.register(remove_tracked)
        _cleanup_registered = True
    _temporary.add(path)


def untrack(path: str) -> None:
    _temporary.discard(path)


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
    untrack(path)


def remove_tracked() -> None:
    for path in list(_temporary):
        remove(path)


# --- stdout ------------------------------------------------------------------------------------

class ClosedStream:
    """Stands in for a closed stdout (``>&-``): every write fails as writing fd 1 would."""

    closed = False

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "stdout is closed")

    def writelines(self, lines: Iterable[str]) -> None:
        raise OSError(errno.EBADF, "stdout is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "stdout is closed")


def stdout_failure(error: OSError) -> DataError:
    """A failed write to stdout (full disk, closed descriptor, I/O error) as one line, exit 1."""
    reason = "it is closed" if error.errno == errno.EBADF else (error.strerror or str(error))
    return DataError(f"cannot write the output to stdout: {reason}", where=None,
                     hint="check where stdout goes (disk space, redirection), or use -o FILE")


def to_stdout(stream: Any, pieces: Iterable[str]) -> None:
    """Write ``pieces`` to ``stream`` and flush. A closed pipe stays BrokenPipeError (a quiet exit
    for errors.guarded); any other OSError becomes one line and exit 1."""
    if stream is None:
        stream = ClosedStream()
    try:
        for piece in pieces:
            stream.write(piece)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise stdout_failure(error) from None


# --- -o PATH -----------------------------------------------------------------------------------

class Writer:
    """An open ``-o`` destination: write to ``handle``, then ``commit()`` (or ``abort()``).

    ``commit`` renames the temporary file into place (regular files) or just closes the handle
    (devices, FIFOs); ``abort`` removes the temporary file. Use it as a context manager to get
    commit on success and abort on any exception.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.shown = os.fspath(path)
        self.target, self.direct, self.mode = _destination(self.shown)
        self.tmp: str | None = None
        if self.direct:
            self.handle: TextIO = self._open_direct()
            return
        import tempfile

        directory = os.path.dirname(self.target) or "."
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.target)}.",
                                            suffix=".tmp", dir=directory)
        except FileNotFoundError:
            raise UsageError(f"cannot write {self.shown}: the folder {directory} does not exist",
                             hint="create the folder first, or choose another path") from None
        except OSError as error:
            raise UsageError(f"cannot write {self.shown}: {error.strerror}",
                             hint="check that the folder exists and is writable") from None
        track(self.tmp)
        try:
            os.fchmod(fd, self.mode)
        except OSError:
            pass
        self.handle = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def _open_direct(self) -> TextIO:
        try:
            fd = os.open(self.target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        except OSError as error:
            raise self._failure(error) from None
        return os.fdopen(fd, "w", encoding="utf-8", newline="")

    def _failure(self, error: OSError) -> DataError:
        return DataError(f"cannot write {self.shown}: {error.strerror or error}",
                         hint="check the disk space and permissions there")

    def write(self, text: str) -> None:
        try:
            self.handle.write(text)
        except OSError as error:
            raise self._failure(error) from None

    def commit(self) -> None:
        try:
            self.handle.flush()
            if self.tmp is not None:
                os.fsync(self.handle.fileno())
            self.handle.close()
            if self.tmp is not None:
                os.replace(self.tmp, self.target)
                untrack(self.tmp)
                self.tmp = None
        except OSError as error:
            self.abort()
            raise self._failure(error) from None

    def abort(self) -> None:
        try:
            self.handle.close()
        except OSError:
            pass
        if self.tmp is not None:
            remove(self.tmp)
            self.tmp = None

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def write(path: str | os.PathLike[str], fill: Callable[[TextIO], Any]) -> None:
    """``fill(handle)`` into ``path`` whole or not at all (see the module docstring)."""
    with Writer(path) as writer:
        try:
            fill(writer.handle)
        except OSError as error:
            if isinstance(error, BrokenPipeError):
                raise
            raise writer._failure(error) from None


def _destination(shown: str) -> tuple[str, bool, int]:
    """(the path to write, whether to write it directly, the mode for a new/replaced file)."""
    if shown.endswith(("/", os.sep)) and not os.path.isdir(shown):
        raise UsageError(f"{shown} names a folder, and there is none", where=None,
                         hint="give a file name, e.g. out.json")
    try:
        info: os.stat_result | None = os.stat(shown)
    except FileNotFoundError:
        info = None
    except PermissionError:
        raise UsageError(f"cannot write {shown}: permission denied on a folder of its path",
                         hint="check the folders' permissions, or choose another path") from None
    except OSError as error:
        raise UsageError(f"cannot write {shown}: {error.strerror}", hint="choose another path") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{shown} is a directory; -o takes a file",
                         hint=f"name a file in it, e.g. {os.path.join(shown, 'out.json')}")
    if info is not None and is_input(info):
        raise UsageError(f"{shown} is an input of this run; writing it would destroy the data",
                         hint="choose another output file")
    real = os.path.realpath(shown)
    if info is not None and (not stat.S_ISREG(info.st_mode) or real.startswith("/proc/")):
        return shown, True, 0  # a device, FIFO, socket or /dev/stdout: written in place
    if info is not None:
        return real, False, stat.S_IMODE(info.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return real, False, 0o666 & ~umask


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    return path is not None and os.fspath(path) == STDOUT_PATH
