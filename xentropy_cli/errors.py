"""The error family. Every failure the user can cause is an XentError with an exit code.

The CLI turns them into one line on stderr (``guarded`` for commands, ``run_main`` around the
whole process: Click's own usage errors, --help/--version output, signals); nothing else does.
Every line is sanitised (``shown``): control and bidi bytes from file names or cells are escaped,
so a message never drives the terminal.
"""

from __future__ import annotations

import re

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class XentError(ValueError):
    """Base class: a message, where it happened, and what to do about it.

    A ValueError, so Python callers of the API can catch it as one; ``str(error)`` is the line
    the command prints after ``xent: error:``.
    """

    exit_code = EXIT_DATA

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        text = f"{shown(self.where)}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return shown(" ".join(text.split()))


class DataError(XentError):
    """The input data is malformed or inconsistent (exit 1)."""

    exit_code = EXIT_DATA


class UsageError(XentError):
    """The options asked for something impossible or unknown (exit 2)."""

    exit_code = EXIT_USAGE


class StrictError(XentError):
    """A warning raised to an error by --strict (exit 1)."""

    exit_code = EXIT_DATA


EXIT_BUG = 70
# C0/C1 controls, DEL, line/paragraph separators and the bidi overrides/isolates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def shown(text: object) -> str:
    """``text`` safe to print on a terminal: control characters become ``\\x1b``-style escapes."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so every ``finally`` (temporary files) runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.exit_code = 128 + signum


def report(message: str, prefix: str = "error") -> None:
    import sys

    if sys.stderr is None:
        return
    try:
        sys.stderr.write(f"xent: {prefix}: {shown(message)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def guarded(command):
    """Run a CLI command and turn every failure into one stderr line and its exit code.

    XentError → its exit code; Ctrl-C → 130; a closed stdout pipe → quiet exit 0. Anything else is
    a bug: one line naming it (set XENT_DEBUG=1 for the traceback) and exit 70.
    """
    import functools
    import os

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except XentError as error:
            report(error.one_line())
            raise SystemExit(error.exit_code) from None
        except KeyboardInterrupt as error:
            _interrupted(getattr(error, "exit_code", EXIT_INTERRUPTED))
        except BrokenPipeError:
            _silence_stdout()
            raise SystemExit(EXIT_OK) from None
        except SystemExit:
            raise
        except OSError as error:  # the environment, not a bug: a full disk, a vanished file, …
            if os.environ.get("XENT_DEBUG"):
                raise
            where = f" ({shown(error.filename)})" if error.filename else ""
            report(f"{error.strerror or error}{where}; check the disk and the paths involved")
            raise SystemExit(EXIT_DATA) from None
        except MemoryError:
            report("out of memory while reading or computing; give a CSV/TSV file, which is read "
                   "in chunks")
            raise SystemExit(EXIT_DATA) from None
        except Exception as error:  # a bug: never show the user a traceback unless asked
            if os.environ.get("XENT_DEBUG"):
                raise
            report(f"internal error: {type(error).__name__}: {error} "
                   "(set XENT_DEBUG=1 for details and please report it)")
            raise SystemExit(EXIT_BUG) from None

    return wrapper


def _newline() -> None:
    import sys

    try:
        if sys.stderr is not None:
            sys.stderr.write("\n")
    except (OSError, ValueError):
        pass


# --- the whole process --------------------------------------------------------------------------

def prepare_process() -> None:
    """Once per ``xent`` process: a closed stdout stands in as a stream whose writes fail (so
    output to it is one error line, not silence); SIGTERM/SIGHUP raise ``Terminated`` (so
    temporary files go); numpy's RuntimeWarnings never reach stderr (core reports them as data)."""
    import os
    import signal
    import sys
    import warnings

    from xentropy_cli import output

    output.forget_inputs()
    try:  # the quiet start-up handler of xentropy_cli/__init__.py: Ctrl-C is KeyboardInterrupt again
        handler = signal.getsignal(signal.SIGINT)
        if getattr(handler, "__qualname__", "") == "_quiet_interrupts.<locals>.interrupted":
            signal.signal(signal.SIGINT, _sigint)
            sys.unraisablehook = _unraisable
    except (ValueError, OSError):  # not the main thread
        pass
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    columns = os.environ.get("COLUMNS")
    if columns is not None and not (columns.isascii() and columns.isdigit() and 0 < int(columns) <= 10_000):
        del os.environ["COLUMNS"]  # abc, 0, -5: every reader of COLUMNS (Rich, shutil) falls back
    if sys.stdout is None:
        from xentropy_cli.output import ClosedStream

        sys.stdout = ClosedStream()
        try:  # keep fd 1 taken, so no file this run opens lands on it
            fd = os.open(os.devnull, os.O_WRONLY)
            if fd != 1:
                os.close(fd)
        except OSError:
            pass
    owner = os.getpid()

    def terminated(signum, frame):
        if os.getpid() != owner:  # a forked worker: die as before
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            try:
                if signal.getsignal(number) == signal.SIG_DFL:
                    signal.signal(number, terminated)
            except (OSError, ValueError):  # not the main thread
                pass


_SIGINTS: list[int] = []  # Ctrl-Cs seen by the xent command, swallowed or not


def _sigint(signum, frame):
    """Python's own SIGINT handler, remembering the signal: a KeyboardInterrupt raised where
    Python only reports it (a weakref callback of the import system, a __del__) must still end
    the run with 130, never a success."""
    _SIGINTS.append(signum)
    raise KeyboardInterrupt


def _unraisable(info) -> None:
    """A Ctrl-C swallowed where Python can only report it: no "Exception ignored" traceback (the
    run ends with 130, see _sigint); anything else as Python reports it."""
    import sys

    if isinstance(info.exc_value, KeyboardInterrupt):
        return
    sys.__unraisablehook__(info)


def run_main(call, standalone: bool = True):
    """Run the Click/Typer entry ``call`` (in non-standalone mode) and make every way it can end
    one line and a documented exit code: Click's usage errors (exit 2, ``xent: error: …``), a
    stdout that is full or closed while --help/--version/the output is written (exit 1), Ctrl-C
    (130), SIGTERM (143). ``standalone``: exit the process with the code, else return it."""
    import sys

    try:
        prepare_process()
        code = call()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except KeyboardInterrupt as error:
        _interrupted(getattr(error, "exit_code", EXIT_INTERRUPTED))
        raise  # not reached: _interrupted ends the process
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_OK
    except OSError as error:
        code = _stdout_failed(error)
    except Exception as error:
        parts = _click_error(error)
        if parts is None:
            raise
        message, code = parts
        report(message)
    if standalone:  # the process ends here: a Ctrl-C from now on is 130, quietly, temp files gone
        _late_interrupts()
        if _SIGINTS:  # one came and was swallowed
            _interrupted()
    code = _flushed(code or 0)
    if not standalone:
        return code
    # The interpreter's exit collects garbage several times over every object it holds (~0.1 s
    # after a streamed run, a tenth of reading a 1M-row file); none of it needs collecting now.
    import gc

    gc.freeze()
    if "llvmlite.binding" in sys.modules:
        _end_before_llvm_teardown(code)
    sys.exit(code)


def _end_before_llvm_teardown(code: int) -> None:
    """The ``xent`` command, once LLVM is loaded (the compiled parser): the other threads and the
    atexit handlers (temporary files go), then the end, without the interpreter's teardown and
    the C library's exit, whose run of LLVM's C++ destructors reads its code back into memory:
    201 MB peak instead of 159 on the headline file, with llvmlite installed minutes before
    (bench/README.md). Any other process (the Python API, tests) returns and exits as usual."""
    import threading

    from xentropy_cli import _is_command

    if not _is_command():
        return
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    _end(code)


def _late_interrupts() -> None:
    import signal

    try:
        signal.signal(signal.SIGINT, lambda signum, frame: _interrupted())
    except (ValueError, OSError):  # not the main thread
        pass


def _flushed(code: int) -> int:
    """Flush stdout before the exit: a failure is one line and exit 1 after a success, and is
    silenced after an error (already reported), so the interpreter's exit never adds its own."""
    try:
        _flush_stdout()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as error:
        if code == 0:
            return _stdout_failed(error)
        _silence_stdout()
    return code


def _flush_stdout() -> None:
    import sys

    if sys.stdout is not None:
        sys.stdout.flush()


def _stdout_failed(error: OSError) -> int:
    from xentropy_cli.output import stdout_failure

    _silence_stdout()
    report(stdout_failure(error).one_line())
    return EXIT_DATA


def _click_error(error: Exception) -> tuple[str, int] | None:
    """Click's UsageError/BadParameter/Abort as (one line, exit code), or None if not Click's."""
    if type(error).__name__ == "Abort":
        return "interrupted", EXIT_INTERRUPTED
    if not (hasattr(error, "format_message") and hasattr(error, "exit_code")):
        return None
    context = getattr(error, "ctx", None)
    code = error.exit_code if isinstance(error.exit_code, int) else EXIT_USAGE
    if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
        message = f"{context.command_path} needs a command; see '{context.command_path} --help'"
        return message + ": " + ", ".join(getattr(context.command, "commands", {}) or ()), code
    message = " ".join(str(error.format_message()).split()).rstrip(".")
    if context is not None and code == EXIT_USAGE:
        message += f"; see '{context.command_path} --help'"
    return message, code


def _interrupted(code: int = EXIT_INTERRUPTED) -> None:
    """Ctrl-C (130) or SIGTERM/SIGHUP (128 + its number): exit with ``code``, whatever else
    arrives. Further SIGINTs and SIGTERMs are ignored, and the process ends here (after the atexit
    handlers, which remove temporary files): pyarrow re-sends a SIGINT it caught, and one arriving
    while the interpreter shuts down would otherwise end it by signal."""
    import signal

    for name in ("SIGINT", "SIGTERM"):
        try:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        except (ValueError, OSError, AttributeError):  # not the main thread
            pass
    _newline()
    _end(code)


def _end(code: int) -> None:
    """The atexit handlers (temporary files go), stdout and stderr flushed, then ``os._exit``:
    no interpreter teardown, whatever happens in between."""
    import atexit
    import os
    import sys

    try:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
    finally:
        os._exit(code)


def _silence_stdout() -> None:
    import os
    import sys

    try:
        target = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, target)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    try:  # what is still buffered goes nowhere, so the exit does not complain about it again
        if sys.stdout is not None and hasattr(sys.stdout, "buffer"):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    except OSError:
        pass
