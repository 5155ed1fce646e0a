"""The error family. Every failure the user can cause is an XentError with an exit code.

The CLI turns them into one line on stderr (see ``cli.run_guarded``); nothing else does.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class XentError(Exception):
    """Base class: a message, where it happened, and what to do about it."""

    exit_code = EXIT_DATA

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

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
