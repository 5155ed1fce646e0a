"""xent: cross-entropy the way each framework computes it, stage by stage.

The Python API (``import xentropy_cli as xent``) is imported on first use, so the ``xent``
command starts no slower for it::

    xent.compute(y_true, y_pred, "keras").value      # 16.11809539794922
    xent.explain(y_true, y_pred, "keras")            # every stage beside the textbook formula
    xent.compare(y_true, y_pred), xent.grad(...), xent.profiles()

``xentropy_cli.testing.assert_matches`` checks a port of a loss against a profile's bits.
"""

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
