"""Every closed set of values an option or a profile takes, as ``Literal`` types and tuples.

Cheap to import (no numpy): the CLI builds its shell-completed choices from these, and
``core.types.Options`` and ``core.profiles.Profile`` check their fields against them once, when
they are built. ``choose`` is the one place an unknown value becomes a UsageError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

Kind = Literal["categorical", "sparse", "binary"]
LossKind = Literal["auto", "categorical", "sparse", "binary"]
Reduction = Literal["none", "sum", "mean", "sum_over_batch_size", "mean_with_sample_weight"]
Kernel = Literal["numpy", "tensorflow", "torch", "xla", "glibc"]  # whose log, exp and sums
FloatType = Literal["float32", "float64"]
Format = Literal["auto", "table", "json", "csv", "plain"]
Color = Literal["auto", "always", "never"]

KINDS: tuple[str, ...] = get_args(LossKind)
REDUCTIONS: tuple[str, ...] = get_args(Reduction)
KERNELS: tuple[str, ...] = get_args(Kernel)
FLOAT_TYPES: tuple[str, ...] = get_args(FloatType)
FORMATS: tuple[str, ...] = get_args(Format)
COLORS: tuple[str, ...] = get_args(Color)
# --base: the divisor ln(base) of every log, None for the natural log
BASES: dict[str, float | None] = {"e": None, "nats": None, "2": 2.0, "bits": 2.0, "10": 10.0}


def choose(value: str, choices: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``choices``, else a UsageError naming them all."""
    if value not in choices:
        from xentropy_cli.errors import UsageError

        raise UsageError(f"unknown {what} {value!r}", hint=f"choose one of {', '.join(choices)}")
    return value
