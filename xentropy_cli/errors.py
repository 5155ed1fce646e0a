"""The error family. Every failure the user can cause is an XentError with an exit code.

The CLI turns them into one line on stderr (``guarded``, around every command); nothing else does.
"""

from __future__ import annotations

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
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return " ".join(text.split())


class DataError(XentError):
    """The input data is malformed or inconsistent (exit 1)."""

    exit_code = EXIT_DATA


class UsageError(XentError):
    """The options asked for something impossible or unknown (exit 2)."""

    exit_code = EXIT_USAGE


class StrictError(XentError):
    """A warning raised to an error by --strict (exit 1)."""

    exit_code = EXIT_DATA


def report(message: str, prefix: str = "error") -> None:
    import sys

    sys.stderr.write(f"xent: {prefix}: {message}\n")


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
        except KeyboardInterrupt:
            _interrupted()
        except BrokenPipeError:
            _silence_stdout()
            raise SystemExit(EXIT_OK) from None
        except SystemExit:
            raise
        except Exception as error:  # a bug: never show the user a traceback unless asked
            if os.environ.get("XENT_DEBUG"):
                raise
            report(f"internal error: {type(error).__name__}: {error} "
                   "(set XENT_DEBUG=1 for details and please report it)")
            raise SystemExit(70) from None

    return wrapper


def _interrupted() -> None:
    """Ctrl-C: exit 130, whatever else arrives. Further SIGINTs are ignored, and the process ends
    here (after the atexit handlers, which remove temporary files): pyarrow re-sends a SIGINT it
    caught, and one arriving while the interpreter shuts down would otherwise end it by signal."""
    import atexit
    import os
    import signal
    import sys

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):  # not the main thread
        pass
    sys.stderr.write("\n")
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)


def _silence_stdout() -> None:
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
