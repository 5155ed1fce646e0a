"""Frozen values that flow through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xentropy_cli.core.choices import (
    FLOAT_TYPES,
    KERNELS,
    KINDS,
    REDUCTIONS,
    FloatType,
    Kernel,
    Kind,
    LossKind,
    Reduction,
    choose,
)

__all__ = ["Array", "Kind", "LossKind", "Reduction", "Kernel", "FloatType", "KINDS", "REDUCTIONS",
           "KERNELS", "FLOAT_TYPES", "choose", "Inputs", "Options", "Notice", "StageResult", "Result"]

Array = np.ndarray


@dataclass(frozen=True)
class Inputs:
    """What the user gave: targets, predictions and optional weights.

    ``y_true`` is (N, K) for categorical and binary, (N,) integer-valued for sparse.
    ``sample_weight`` is None, a 0-d array (one number, broadcast) or an (N,) array.
    """

    y_true: Array
    y_pred: Array
    sample_weight: Array | None = None
    kind: LossKind = "auto"
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
    """The user's overrides of a profile. ``None`` means: as the profile does it.

    Checked once, here: an unknown reduction, dtype or kernel, or a clip outside (0, 0.5), is a
    UsageError naming the valid values (the CLI and the Python API build Options alike).
    """

    label_smoothing: float = 0.0
    reduction: Reduction | None = None
    dtype: FloatType | None = None
    normalise: bool | None = None
    clip: float | bool | None = None  # EPS, False for no clip stage, None for the profile's
    base: float | None = None  # None: natural log
    kernel: Kernel | None = None

    def __post_init__(self) -> None:
        if self.reduction is not None:
            choose(self.reduction, REDUCTIONS, "--reduction")
        if self.dtype is not None:
            choose(self.dtype, FLOAT_TYPES, "--dtype")
        if self.kernel is not None:
            choose(self.kernel, KERNELS, "--kernel")
        if self.clip is True or (not isinstance(self.clip, bool) and self.clip is not None
                                 and not 0 < self.clip < 0.5):
            from xentropy_cli.errors import UsageError

            raise UsageError(f"--clip {self.clip} is outside (0, 0.5)", hint="a typical value is 1e-7")


@dataclass(frozen=True)
class Notice:
    """A warning, as data: a ``code`` a program can match, the 1-based ``rows`` it concerns, the
    ``counts`` it reports and the ``values`` it shows (those of its first occurrence).

    Notices of adjacent chunks merge as data (core/partial.py): counts add up, rows join, values
    stay the first chunk's. ``message`` is the sentence render/words.py makes of it; nothing
    reads a sentence back. A new code needs one entry in render/words.py.

    codes: looks_like_logits (counts: cells above 1), not_normalised (counts: rows; values: the
    first row's sum), zero_weights, clipped (counts: cells up, cells down; values: the bounds),
    log_zero and nan (counts: samples; texts: the stage where the first one appears; values: its
    column, 1-based or 0, and value; its row is rows[0]). Degenerate input the framework computes
    with (core/validate/): non_finite (texts: the input, the first cell's place, the framework,
    and after the pipeline the stage that made that cell finite or ""; values: the cell, its row's
    loss, weighted for a weight, and what the stage made of it), negative_prediction, zero_row,
    target_outside, negative_target, negative_weight (values: the first value; texts: its place
    and the framework), fractional_label and label_out_of_range (values: label, class or K), one_sample
    (counts: outputs; texts: framework), zero_target_row and odd_target_row (counts: rows;
    values: the odd row's sum), sklearn_columns (counts: columns).
    """

    code: str
    rows: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()
    values: tuple[float | int | str, ...] = ()
    texts: tuple[str, ...] = ()  # words it quotes (a cell's place, a framework, a stage): the first's

    @property
    def message(self) -> str:
        from xentropy_cli.render.words import sentence  # words live in render/; core holds data

        return sentence(self)


@dataclass(frozen=True)
class KindReason:
    """Why the loss has its kind, as data; render/words.py words it (``text``), and nothing reads
    the words back.

    codes: given (--loss), pred_1d, pred_one_column, labels (``columns``: y_pred's), shapes_differ,
    rows_sum_to_1, finite_rows_sum_to_1 (nan/inf rows set aside), odd_rows (``rows``: the odd
    target rows, 1-based), multi_label,
    sklearn_one_column, sklearn_columns. ``one_sample``: the framework reads a 1-D y as one
    sample of N outputs.
    """

    code: str
    kind: str
    rows: tuple[int, ...] = ()
    columns: int = 0
    one_sample: bool = False

    @property
    def text(self) -> str:
        from xentropy_cli.render.words import kind_reason  # words live in render/; core holds data

        return kind_reason(self)


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
    reason: KindReason | None = None  # why the loss has its kind
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

    @property
    def kind_reason(self) -> str:
        """Why the loss has its kind, in words (the JSON "loss_reason")."""
        return "" if self.reason is None else self.reason.text


class Inconsistent(ValueError):
    """The chunks decided something that depends on all rows differently (the auto loss kind,
    or scikit-learn's classes taken from y_true): the caller must run on all rows at once."""
