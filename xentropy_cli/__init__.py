"""xent: cross-entropy the way each framework computes it, stage by stage.

The Python API (``import xentropy_cli as xent``) is imported on first use, so the ``xent``
command starts no slower for it::

    xent.compute(y_true, y_pred, "keras").value      # 16.11809539794922
    xent.explain(y_true, y_pred, "keras")            # every stage beside the textbook formula
    xent.compare(y_true, y_pred), xent.grad(...), xent.profiles()

``xentropy_cli.testing.assert_matches`` checks a port of a loss against a profile's bits.
"""


def _is_command() -> bool:
    """Whether this process is the ``xent`` command: its script, or ``python -m xentropy_cli``."""
    import os
    import sys

    args = list(getattr(sys, "orig_argv", ())[1:])
    command = False
    while args:
        arg = args.pop(0)
        if arg in ("-X", "-W", "--check-hash-based-pycs"):  # options that take a value
            args = args[1:]
        elif arg.startswith("-m"):
            command = (arg[2:] or (args[0] if args else "")) == "xentropy_cli"
            break
        elif arg.startswith("-c") or arg == "-":
            break
        elif not arg.startswith("-"):  # the script: bin/xent, xent-script.py, xent.exe
            name = os.path.basename(arg).lower()
            command = name in ("xent", "xent-script.py", "xent.exe") or (
                name == "__main__.py" and os.path.basename(os.path.dirname(arg)).lower() == "xent.exe")
            break
    return command


def _quiet_interrupts() -> None:
    """A Ctrl-C while the command starts up (importing typer, rich, numpy) ends it with 130 and no
    traceback; ``errors.run_main`` hands SIGINT back to Python as soon as the command runs."""
    import _signal  # type: ignore[import-not-found]  # the C module: signal.py would import enum
    import os
    import sys

    def interrupted(signum: int, frame: object) -> None:
        try:
            sys.stderr.write("\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - a closed stderr: still exit quietly
            pass
        os._exit(130)

    try:
        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            _signal.signal(_signal.SIGINT, interrupted)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGINT
        pass


def _short_blas_spin() -> None:
    """OpenBLAS's idle threads spin for ~0.1 s of CPU after numpy's import (on a core the stream
    workers need) unless told otherwise before it; a shorter spin changes no number: xent's one
    BLAS call, sklearn's dot, keeps its threads. A value the user set is kept."""
    import os

    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


if _is_command():  # a program that imports the package keeps its own signals and environment
    _quiet_interrupts()  # first: a Ctrl-C in _short_blas_spin's os.environ was a traceback (CI)
    _short_blas_spin()

__version__ = "0.1.0"

TYPE_CHECKING = False  # not `from typing import …`: importing typing would slow `xent --version`
if TYPE_CHECKING:
    from typing import Any

    from xentropy_cli import testing
    from xentropy_cli.api import (
        ArrayLike,
        Comparison,
        ComparisonRow,
        Explanation,
        Gradient,
        Notice,
        Profile,
        Profiles,
        Result,
        Stage,
        compare,
        compute,
        explain,
        grad,
        profiles,
    )
    from xentropy_cli.errors import DataError, StrictError, UsageError, XentError

__all__ = [
    "__version__", "compute", "explain", "compare", "grad", "profiles",
    "Result", "Explanation", "Comparison", "ComparisonRow", "Gradient", "Profiles", "Stage", "Notice",
    "Profile", "ArrayLike", "XentError", "DataError", "UsageError", "StrictError", "testing",
]

_API = frozenset(("compute", "explain", "compare", "grad", "profiles", "Result", "Explanation",
                  "Comparison", "ComparisonRow", "Gradient", "Profiles", "Stage", "Notice", "Profile",
                  "ArrayLike"))
_ERRORS = frozenset(("XentError", "DataError", "UsageError", "StrictError"))


def __getattr__(name: str) -> "Any":
    """Import the API (numpy and the core) only when a program first asks for it."""
    import importlib

    if name in _API:
        return getattr(importlib.import_module("xentropy_cli.api"), name)
    if name in _ERRORS:
        return getattr(importlib.import_module("xentropy_cli.errors"), name)
    if name == "testing":
        return importlib.import_module("xentropy_cli.testing")
    raise AttributeError(f"module 'xentropy_cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
