"""Elementwise kernels by framework. Frameworks round float32 logarithms differently.

``log(x, kernel)`` computes the natural log the way the named library does. ``numpy`` is the
reference implementation; other kernels are emulated in exact float32 arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def _numpy_log(x: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


LOG_KERNELS: dict[str, Callable[[Array], Array]] = {"numpy": _numpy_log}


def log(x: Array, kernel: str = "numpy") -> Array:
    """ln x as the library named by ``kernel`` computes it (float64 always uses numpy)."""
    if x.dtype != np.float32:
        return _numpy_log(x)
    return LOG_KERNELS.get(kernel, _numpy_log)(x)
