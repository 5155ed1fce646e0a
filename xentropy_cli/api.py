"""The Python API: ``import xentropy_cli as xent; xent.compute(y_true, y_pred, "keras")``.

Arrays already in memory go straight to the same core the ``xent`` command uses; the CLI's
commands call the ``*_inputs`` functions below once they have read their files, so a command and
its Python call give the same numbers and the same JSON (``to_dict()`` *is* the command's
``--format json`` output, produced by the same emitter).

Here: the public functions and the ``*_inputs`` path. Python values become ``Inputs`` and
``Options`` in ``convert`` (lists, numpy arrays, tensors, DataFrames; no framework or pandas is
imported); the result objects (``Result``, ``Explanation`` …) are in ``results``. Every public
name is importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from xentropy_cli.convert import API_SOURCE as API_SOURCE
from xentropy_cli.convert import DATAFRAME_SOURCE as DATAFRAME_SOURCE
from xentropy_cli.convert import ProfileLike as ProfileLike
from xentropy_cli.convert import as_array as as_array
from xentropy_cli.convert import get_profile as get_profile
from xentropy_cli.convert import make_inputs as make_inputs
from xentropy_cli.convert import make_options as make_options
from xentropy_cli.core import profiles as _profiles
from xentropy_cli.core.choices import FloatType, Kernel, LossKind, Reduction
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Inputs, Notice, Options
from xentropy_cli.errors import DataError, StrictError, UsageError, XentError
from xentropy_cli.results import IN_MEMORY as IN_MEMORY
from xentropy_cli.results import Comparison, ComparisonRow, Explanation, Gradient, Profiles, Result, Stage

__all__ = [
    "compute", "explain", "compare", "grad", "profiles",
    "Result", "Explanation", "Comparison", "ComparisonRow", "Gradient", "Profiles",
    "Stage", "Notice", "Profile", "ArrayLike",
    "XentError", "DataError", "UsageError", "StrictError",
]

DEFAULT_COMPARE = ("naive", "keras", "tf-keras", "torch", "sklearn", "optax")


@runtime_checkable
class SupportsArray(Protocol):
    """Anything numpy can convert with ``np.asarray`` (torch CPU tensors, JAX, TF eager …)."""

    def __array__(self) -> Any: ...


@runtime_checkable
class SupportsDLPack(Protocol):
    """Anything exporting DLPack (``np.from_dlpack`` reads it without copying)."""

    def __dlpack__(self) -> Any: ...


Derivative: TypeAlias = Literal["framework", "exact"]
ArrayLike: TypeAlias = "SupportsArray | SupportsDLPack | Sequence[Any] | float | int"


def _strict(notices: tuple[Notice, ...]) -> None:
    if notices:
        raise StrictError(f"{len(notices)} warning(s) and strict=True: {notices[0].message}",
                          hint="fix the input, or drop strict=True")


# --- the one path the CLI shares: already-read Inputs in, results out -------------------------------------

def compute_inputs(inputs: Inputs, profile: Profile, options: Options) -> Result:
    """``xent compute`` on inputs already read (the in-memory path of the command)."""
    from xentropy_cli.core import pipeline

    return Result(pipeline.run(inputs, profile, options))


def explain_inputs(inputs: Inputs, profile: Profile, against: Profile, options: Options,
                   rows: int = 10, classes: tuple[int, ...] | None = None) -> Explanation:
    """``xent explain`` on inputs already read: both runs and where they part ways."""
    from xentropy_cli.core import explain as explain_core
    from xentropy_cli.core import pipeline

    result_p = pipeline.run(inputs, profile, options)
    result_q = pipeline.run(inputs, against, options)
    divergence = explain_core.diverge(result_p, result_q, inputs.y_true, inputs.y_pred)
    return Explanation(inputs, Result(result_p), Result(result_q), divergence, rows, classes)


def compare_inputs(inputs: Inputs, chosen: Sequence[Profile], options: Options) -> Comparison:
    """``xent compare`` on inputs already read."""
    from xentropy_cli.core import compare as compare_core

    return Comparison(compare_core.compare(inputs, list(chosen), options))


def grad_inputs(inputs: Inputs, profile: Profile, options: Options, check: bool = False,
                cells: int | None = None, surrogate: bool = False,
                derivative: Derivative | str = "framework") -> Gradient:
    """``xent grad`` on inputs already read: the gradient, and the check and surrogate if asked."""
    from xentropy_cli.core import grad as grad_core

    if cells is not None and cells < 1:
        raise UsageError(f"cells={cells} is not a positive number", hint="e.g. cells=200")
    if derivative not in grad_core.DERIVATIVES:
        raise UsageError(f"derivative={derivative!r} is not one of {', '.join(grad_core.DERIVATIVES)}",
                         hint="'framework' (what the framework backpropagates) or 'exact'")
    result = grad_core.gradient(inputs, profile, options, derivative)
    checked = grad_core.finite_difference(inputs, profile, options, cells=cells) if check else None
    sur = grad_core.surrogate(inputs, profile, options) if surrogate else None
    return Gradient(result, checked, sur)


# --- the public functions -------------------------------------------------------------------------

def compute(y_true: ArrayLike, y_pred: ArrayLike | None = None, profile: ProfileLike = "naive", *,
            loss: LossKind = "auto", from_logits: bool = False, label_smoothing: float = 0.0,
            sample_weight: ArrayLike | None = None, class_weight: ArrayLike | None = None,
            labels: ArrayLike | None = None, reduction: Reduction | None = None,
            dtype: FloatType | None = None,
            normalise: bool | None = None, clip: float | bool | None = None, base: float | str = "e",
            kernel: Kernel | None = None, true_cols: str | None = None, pred_cols: str | None = None,
            weight_col: str | None = None, strict: bool = False) -> Result:
    """The cross-entropy of ``y_pred`` against ``y_true`` as ``profile`` computes it.

    ``y_true``/``y_pred``: lists, numpy arrays, tensors (dtype kept), or one pandas DataFrame as
    ``y_true`` with ``y_pred`` omitted (CSV column rules; ``true_cols``/``pred_cols``/``weight_col``
    override them). The keywords are the command's options (``clip=False`` is ``--no-clip``).
    ``strict=True`` raises StrictError when there is any warning.

    >>> import xentropy_cli as xent
    >>> xent.compute([[0, 1]], [[0.99999999999, 1e-11]], profile="keras").value
    16.11809539794922
    """
    inputs = make_inputs(y_true, y_pred, sample_weight=sample_weight, loss=loss, from_logits=from_logits,
                         labels=labels, class_weight=class_weight, true_cols=true_cols,
                         pred_cols=pred_cols, weight_col=weight_col)
    options = make_options(label_smoothing, reduction, dtype, normalise, clip, base, kernel)
    result = compute_inputs(inputs, get_profile(profile), options)
    if strict:
        _strict(result.warnings)
    return result


def explain(y_true: ArrayLike, y_pred: ArrayLike | None = None, profile: ProfileLike = "keras",
            against: ProfileLike = "naive", *, loss: LossKind = "auto", from_logits: bool = False,
            label_smoothing: float = 0.0, sample_weight: ArrayLike | None = None,
            class_weight: ArrayLike | None = None, labels: ArrayLike | None = None,
            reduction: Reduction | None = None, dtype: FloatType | None = None, normalise: bool | None = None,
            clip: float | bool | None = None, base: float | str = "e", kernel: Kernel | None = None,
            rows: int = 10, true_cols: str | None = None, pred_cols: str | None = None,
            weight_col: str | None = None, strict: bool = False) -> Explanation:
    """``profile`` beside ``against``, stage by stage (``xent explain``).

    ``.first_divergence`` names the first stage where they part ways, ``.contributions`` each row's
    share of the difference, ``.narrative`` says it in words; a notebook shows the stage tables.
    ``rows``: how many rows the tables show (those that matter most).
    """
    inputs = make_inputs(y_true, y_pred, sample_weight=sample_weight, loss=loss, from_logits=from_logits,
                         labels=labels, class_weight=class_weight, true_cols=true_cols,
                         pred_cols=pred_cols, weight_col=weight_col)
    options = make_options(label_smoothing, reduction, dtype, normalise, clip, base, kernel)
    if rows < 1:
        raise UsageError(f"rows={rows} is not a positive number", hint="e.g. rows=10")
    explanation = explain_inputs(inputs, get_profile(profile), get_profile(against), options, rows)
    if strict:
        _strict(explanation.warnings)
    return explanation


def compare(y_true: ArrayLike, y_pred: ArrayLike | None = None,
            profiles: Sequence[ProfileLike] | str | None = None, *, loss: LossKind = "auto",
            from_logits: bool = False, label_smoothing: float = 0.0,
            sample_weight: ArrayLike | None = None, class_weight: ArrayLike | None = None,
            labels: ArrayLike | None = None, reduction: Reduction | None = None,
            dtype: FloatType | None = None,
            true_cols: str | None = None, pred_cols: str | None = None,
            weight_col: str | None = None) -> Comparison:
    """One row per profile: value, first stage that differs from naive, largest per-sample gap.

    ``profiles``: names (default naive, keras, tf-keras, torch, sklearn, optax), a comma-separated
    string, or ``"all"``. A profile that cannot take the input is a row saying why.
    """
    inputs = make_inputs(y_true, y_pred, sample_weight=sample_weight, loss=loss, from_logits=from_logits,
                         labels=labels, class_weight=class_weight, true_cols=true_cols,
                         pred_cols=pred_cols, weight_col=weight_col)
    options = make_options(label_smoothing, reduction, dtype)
    if profiles is None:
        names: Sequence[ProfileLike] = DEFAULT_COMPARE
    elif isinstance(profiles, str):
        names = list(_profiles.PROFILES) if profiles == "all" else \
            [n.strip() for n in profiles.split(",") if n.strip()]
    else:
        names = list(profiles)
    if not names:
        raise UsageError("no profiles to compare", hint="e.g. profiles=['keras', 'torch']")
    return compare_inputs(inputs, [get_profile(n) for n in names], options)


def grad(y_true: ArrayLike, y_pred: ArrayLike | None = None, profile: ProfileLike = "naive", *,
         loss: LossKind = "auto", from_logits: bool = False, label_smoothing: float = 0.0,
         sample_weight: ArrayLike | None = None, class_weight: ArrayLike | None = None,
         labels: ArrayLike | None = None, reduction: Reduction | None = None, dtype: FloatType | None = None,
         normalise: bool | None = None, clip: float | bool | None = None, base: float | str = "e",
         kernel: Kernel | None = None, derivative: Derivative = "framework", check: bool = False,
         cells: int | None = None, surrogate: bool = False, true_cols: str | None = None,
         pred_cols: str | None = None, weight_col: str | None = None, strict: bool = False) -> Gradient:
    """∂L/∂y_pred through the profile's stages (``xent grad``).

    ``derivative="framework"`` (default): the gradient the profile's framework backpropagates (nan
    and floors included), with a warning where it departs from the true derivative; ``"exact"``:
    the true derivative, in float64.

    ``check=True`` adds central finite differences (``.check``, ``.passed``; it does not raise),
    ``surrogate=True`` the log-free surrogate ((P − Q)·z).sum(−1).mean() (logits only).
    """
    inputs = make_inputs(y_true, y_pred, sample_weight=sample_weight, loss=loss, from_logits=from_logits,
                         labels=labels, class_weight=class_weight, true_cols=true_cols,
                         pred_cols=pred_cols, weight_col=weight_col)
    options = make_options(label_smoothing, reduction, dtype, normalise, clip, base, kernel)
    if cells is not None and not check:
        raise UsageError("cells only applies to check=True", hint="add check=True")
    gradient = grad_inputs(inputs, get_profile(profile), options, check, cells, surrogate, derivative)
    if strict:
        _strict(gradient.warnings)
    return gradient


def profiles() -> Profiles:
    """Every profile: its stages, dtype, eps, reduction and the framework version it models."""
    return Profiles(list(_profiles.PROFILES.values()))

