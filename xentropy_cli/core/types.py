"""Frozen values that flow through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Array = np.ndarray
Kind = Literal["categorical", "sparse", "binary"]
KINDS: tuple[str, ...] = ("auto", "categorical", "sparse", "binary")
REDUCTIONS: tuple[str, ...] = (
    "none",
    "sum",
    "mean",
    "sum_over_batch_size",
    "mean_with_sample_weight",
)


@dataclass(frozen=True)
class Inputs:
    """What the user gave: targets, predictions and optional weights.

    ``y_true`` is (N, K) for categorical and binary, (N,) integer-valued for sparse.
    ``sample_weight`` is None, a 0-d array (one number, broadcast) or an (N,) array.
    """

    y_true: Array
    y_pred: Array
    sample_weight: Array | None = None
    kind: str = "auto"
    from_logits: bool = False
    class_weight: Array | None = None
    labels: Array | None = None
    source: str = "input"
    true_names: tuple[str, ...] = ()
    pred_names: tuple[str, ...] = ()
    first_line: int | None = None  # file line of sample 1, when the input is a text table

    def where(self, row: int | None = None, col: int | None = None, which: str = "y_pred") -> str:
        """Locate a cell for an error message: ``preds.csv:14: column pred_2``."""
        if row is None:
            return self.source
        names = self.pred_names if which == "y_pred" else self.true_names
        if self.first_line is not None:
            text = f"{self.source}:{self.first_line + row}"
            if col is not None:
                text += f": column {names[col] if col < len(names) else col + 1}"
            return text
        text = f"{self.source}: {which} row {row + 1}"
        return text + (f", column {col + 1}" if col is not None else "")


@dataclass(frozen=True)
class Options:
    """The user's overrides of a profile. ``None`` means: as the profile does it."""

    label_smoothing: float = 0.0
    reduction: str | None = None
    dtype: str | None = None
    normalise: bool | None = None
    clip: float | bool | None = None
    base: float | None = None
    kernel: str | None = None


@dataclass(frozen=True)
class Notice:
    """A warning: a code a program can match, the rows it concerns, and a sentence."""

    code: str
    message: str
    rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class StageResult:
    """One stage's output. ``changed`` marks the cells this stage altered (None: not cellwise)."""

    name: str
    array: Array
    changed: Array | None = None
    note: str = ""
    operand: str = "p"


@dataclass(frozen=True)
class Result:
    """Everything a run produced: every stage, the per-sample losses and the reduced value."""

    profile: str
    models: str
    kind: Kind
    from_logits: bool
    dtype: str
    reduction: str
    stages: tuple[StageResult, ...]
    per_sample: Array
    value: float | Array
    weighted_sum: float
    divisor: float
    n_samples: int
    n_classes: int
    notices: tuple[Notice, ...] = field(default_factory=tuple)
    kind_reason: str = ""
    # binary under a profile that reduces its elementwise output (torch, optax): the (N, K)
    # elements whose sum ``sum`` and ``mean`` reduce; per_sample holds their mean over K
    elements: Array | None = None
    # where a nan or inf first appears: (stage, 0-based row, 0-based column or None, value)
    first_non_finite: tuple[str, int, int | None, float] | None = None

    def stage(self, name: str) -> StageResult:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)
