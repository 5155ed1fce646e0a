"""numpy's floating-point warnings off for a core entry point.

log 0, overflow and 0·inf are part of what xent models: its results report them as notices, so
numpy's RuntimeWarnings about them must not reach the caller as well (``pipeline.run`` does the
same with ``np.errstate`` around its own body).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np

_P = ParamSpec("_P")
_R = TypeVar("_R")


def quietly(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` run under ``np.errstate(all="ignore")``."""
    @functools.wraps(fn)
    def quiet(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    return quiet
