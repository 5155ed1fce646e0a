"""The Python API: ``import xentropy_cli as xent; xent.compute(y_true, y_pred, "keras")``.

Arrays already in memory go straight to the same core the ``xent`` command uses; the CLI's
commands call the ``*_inputs`` functions below once they have read their files, so a command and
its Python call give the same numbers and the same JSON (``to_dict()`` *is* the command's
``--format json`` output, produced by the same emitter).

Inputs: nested lists (read like JSON: float64), numpy arrays, anything with ``__array__`` or
``__dlpack__`` (torch CPU tensors, JAX arrays, TensorFlow eager tensors; no framework is
imported), their dtype kept; or a pandas DataFrame whose columns follow the CSV rules
(``true_*``/``pred_*``/``weight`` …; pandas is not imported either).

Rich is imported only when a result is drawn (``__rich__``, ``_repr_html_``).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np

from xentropy_cli.core import profiles as _profiles
from xentropy_cli.core.choices import FloatType, Kernel, LossKind, Reduction
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import KINDS, Inputs, Notice, Options, StageResult
from xentropy_cli.errors import DataError, StrictError, UsageError, XentError

if TYPE_CHECKING:
    import numpy.typing as npt

    from xentropy_cli.core.compare import Row
    from xentropy_cli.core.explain import Divergence
    from xentropy_cli.core.grad import CheckResult, GradResult, SurrogateResult
    from xentropy_cli.core.types import Result as CoreResult
    from xentropy_cli.render import Output

    NDArray: TypeAlias = npt.NDArray[Any]

__all__ = [
    "compute", "explain", "compare", "grad", "profiles",
    "Result", "Explanation", "Comparison", "ComparisonRow", "Gradient", "Profiles",
    "Stage", "Notice", "Profile", "ArrayLike",
    "XentError", "DataError", "UsageError", "StrictError",
]

#: One stage's output: ``.name``, ``.array``, ``.changed`` (cells it altered, or None), ``.note``.
Stage = StageResult

DEFAULT_COMPARE = ("naive", "keras", "tf-keras", "torch", "sklearn", "optax")
API_SOURCE = "input"  # how errors name arrays passed in Python ("input: y_pred row 2, column 1")
DATAFRAME_SOURCE = "DataFrame"
IN_MEMORY = "in-memory"  # the JSON "reader" of compute: the API always works in memory
HTML_WIDTH = 110


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
ProfileLike: TypeAlias = "str | Profile"


# --- turning Python values into arrays ------------------------------------------------------------

def as_array(value: object, name: str) -> NDArray:
    """``value`` as a numeric numpy array, its dtype kept (lists are read like JSON: float64).

    Booleans become float64; text, objects, complex numbers are a DataError naming ``name``.
    Never imports a framework: tensors convert through ``__array__`` or ``__dlpack__``.
    """
    from xentropy_cli.io import arrays

    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, list | tuple | int | float | bool) and not isinstance(value, np.generic):
        try:
            array = arrays.to_float_array(value)
        except arrays.BadValue as bad:
            raise DataError(f"{arrays.path_text(name, bad.path)} {bad.message}", where=API_SOURCE,
                            hint=bad.hint) from None
    elif isinstance(value, np.generic):
        array = np.asarray(value)
    elif hasattr(value, "__array__"):
        array = _convert(np.asarray, value, name)
    elif hasattr(value, "__dlpack__"):
        array = _convert(np.from_dlpack, value, name)
    else:
        raise DataError(f"{name} is a {type(value).__name__}, not an array", where=API_SOURCE,
                        hint="pass a list, a numpy array, a tensor or a pandas DataFrame")
    return arrays.check_numeric(np.asarray(array), API_SOURCE, name)


def _convert(how: Any, value: object, name: str) -> NDArray:
    try:
        return np.asarray(how(value))
    except Exception as exc:  # noqa: BLE001 - every framework raises its own kinds
        text = " ".join(str(exc).split())[:160]
        raise DataError(f"{name} ({type(value).__name__}) cannot be read as a numpy array "
                        f"({type(exc).__name__}: {text})", where=API_SOURCE,
                        hint="detach it, move it to the CPU and give it a float dtype first, "
                             "e.g. t.detach().cpu().float()") from None


def _is_dataframe(value: object) -> bool:
    """A pandas-like DataFrame (``columns`` and ``iloc``), recognised without importing pandas."""
    return hasattr(value, "columns") and hasattr(value, "iloc") and not isinstance(value, np.ndarray)


def _column(frame: Any, index: int, header: list[str]) -> NDArray:
    try:
        array = np.asarray(frame.iloc[:, index].to_numpy())
    except Exception as exc:  # noqa: BLE001 - pandas extension arrays raise many kinds
        raise DataError(f"column {header[index]} cannot be read as numbers ({type(exc).__name__})",
                        where=DATAFRAME_SOURCE, hint="convert it with df[col].astype(float)") from None
    if array.dtype == object:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            bad = next((v for v in array if not _is_number(v)), array[0] if array.size else None)
            raise DataError(f"column {header[index]} holds {bad!r}, not a number", where=DATAFRAME_SOURCE,
                            hint="fix that value, or choose other columns with true_cols/pred_cols") from None
    from xentropy_cli.io import arrays

    return arrays.check_numeric(array, DATAFRAME_SOURCE, f"column {header[index]}")


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _block(frame: Any, indices: Sequence[int], header: list[str]) -> NDArray:
    """Columns side by side in their common dtype (float32 columns stay float32)."""
    columns = [_column(frame, i, header) for i in indices]
    return np.ascontiguousarray(np.stack(columns, axis=1))


def _labels_1d(y_true: NDArray) -> NDArray:
    """The CSV reader's rule (io._labels_1d): one integer-valued y_true column is a label per sample."""
    if y_true.ndim == 2 and y_true.shape[1] == 1 and y_true.shape[0] > 0:
        column = y_true[:, 0]
        if np.issubdtype(column.dtype, np.integer) or bool(np.all(column == np.round(column))):
            return np.ascontiguousarray(column)
    return y_true


def _dataframe_inputs(frame: Any, true_cols: str | None, pred_cols: str | None,
                      weight_col: str | None) -> Inputs:
    """The CSV column rules on a DataFrame's header (see ``io.columns``)."""
    from xentropy_cli.io.columns import resolve_columns

    header = [str(name) for name in frame.columns]
    cols = resolve_columns(header, true_cols, pred_cols, weight_col, source=DATAFRAME_SOURCE)
    y_true = _labels_1d(_block(frame, cols.true_idx, header))
    y_pred = _block(frame, cols.pred_idx, header)
    weight = None if cols.weight_idx is None else _column(frame, cols.weight_idx, header)
    return Inputs(np.ascontiguousarray(y_true), y_pred, weight, source=DATAFRAME_SOURCE,
                  true_names=cols.true_names, pred_names=cols.pred_names)


def make_inputs(y_true: object, y_pred: object | None = None, *, sample_weight: object | None = None,
                loss: LossKind = "auto", from_logits: bool = False, labels: object | None = None,
                class_weight: object | None = None, true_cols: str | None = None,
                pred_cols: str | None = None, weight_col: str | None = None) -> Inputs:
    """``core.types.Inputs`` from Python values (see the module docstring)."""
    if loss not in KINDS:
        raise UsageError(f"unknown loss {loss!r}", hint=f"choose one of {', '.join(KINDS)}")
    if y_pred is None:
        if not _is_dataframe(y_true):
            raise UsageError("y_pred is missing",
                             hint="pass y_true and y_pred, or one DataFrame with true_*/pred_* columns")
        inputs = _dataframe_inputs(y_true, true_cols, pred_cols, weight_col)
        if sample_weight is not None:
            if inputs.sample_weight is not None:
                raise UsageError("sample weights are given twice: in the DataFrame and by sample_weight",
                                 where=DATAFRAME_SOURCE, hint="drop one of them")
            inputs = replace(inputs, sample_weight=as_array(sample_weight, "sample_weight"))
    else:
        if true_cols is not None or pred_cols is not None or weight_col is not None:
            raise UsageError("true_cols/pred_cols/weight_col select columns of one DataFrame",
                             hint="pass the DataFrame alone as the first argument")
        weight = None if sample_weight is None else as_array(sample_weight, "sample_weight")
        inputs = Inputs(np.atleast_1d(as_array(y_true, "y_true")),
                        np.atleast_1d(as_array(y_pred, "y_pred")), weight, source=API_SOURCE)
    for name, array in (("y_true", inputs.y_true), ("y_pred", inputs.y_pred)):
        if array.size == 0:
            raise DataError(f"{name} is empty: there are no samples", where=inputs.source,
                            hint="the input needs at least one row")
    return replace(inputs, kind=loss, from_logits=from_logits,
                   labels=None if labels is None else as_array(labels, "labels").reshape(-1),
                   class_weight=None if class_weight is None else
                   as_array(class_weight, "class_weight").reshape(-1))


def make_options(label_smoothing: float = 0.0, reduction: Reduction | None = None,
                 dtype: FloatType | None = None, normalise: bool | None = None,
                 clip: float | bool | None = None, base: float | str = "e",
                 kernel: Kernel | None = None) -> Options:
    """``core.types.Options`` from keyword arguments (Options itself refuses unknown values, for the
    CLI and the API alike). ``clip``: None (as the profile does), False (no clip stage), True (a
    clip at 1e-7, added if the profile has none) or ε. ``base``: e, 2, 10, "nats" or "bits"."""
    from xentropy_cli.core import choices

    if isinstance(base, int | float) and not isinstance(base, bool) and base in (math.e, 2, 10):
        base = {math.e: "e", 2: "2", 10: "10"}[base]
    base_value = choices.BASES[choices.choose(str(base), tuple(choices.BASES), "base")]
    if dtype is not None:
        try:
            dtype = np.dtype(dtype).name  # type: ignore[assignment]  # np.float32 and "float32" alike
        except TypeError:
            pass
    if not 0 <= float(label_smoothing) <= 1:
        raise UsageError(f"label_smoothing {label_smoothing} is outside [0, 1]", hint="e.g. 0.1")
    return Options(label_smoothing=float(label_smoothing), reduction=reduction, dtype=dtype,
                   normalise=normalise, clip=1e-7 if clip is True else clip, base=base_value, kernel=kernel)


def get_profile(profile: ProfileLike) -> Profile:
    return profile if isinstance(profile, Profile) else _profiles.get(profile)


# --- rendering helpers ----------------------------------------------------------------------------

def _machine_output(fmt: str = "json") -> tuple[Output, io.StringIO]:
    from xentropy_cli.render import Output

    buffer = io.StringIO()
    return Output(fmt, "never", None, True, False, stdout=buffer), buffer


def _html(renderable: object) -> str:
    """Rich's own HTML export of ``renderable`` (inline styles), as a fragment for Jupyter."""
    from rich.console import Console

    console = Console(record=True, file=io.StringIO(), width=HTML_WIDTH, force_terminal=True,
                      color_system="truecolor", highlight=False, emoji=False, legacy_windows=False)
    console.print(renderable)
    return console.export_html(
        inline_styles=True,
        code_format="<pre style=\"font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',"
                    "monospace;line-height:1.2\">{code}</pre>")


def _group(renderables: Sequence[object]) -> object:
    from rich.console import Group

    return Group(*renderables)  # type: ignore[arg-type]


def _strict(notices: tuple[Notice, ...]) -> None:
    if notices:
        raise StrictError(f"{len(notices)} warning(s) and strict=True: {notices[0].message}",
                          hint="fix the input, or drop strict=True")


class _Rendered:
    """``__rich__`` / ``_repr_html_`` / ``to_json`` from one ``_views`` and one ``_emit``."""

    def _views(self) -> list[object]:
        raise NotImplementedError

    def emit(self, out: Output) -> None:
        """Write through a ``render.Output`` in its format: what the ``xent`` command does."""
        raise NotImplementedError

    def __rich__(self) -> object:
        """The same tables ``xent`` draws in a terminal."""
        return _group(self._views())

    def _repr_html_(self) -> str:
        return _html(self.__rich__())

    def to_json(self) -> str:
        """Exactly what the command prints with ``--format json`` (one line and a newline)."""
        return self.text("json")

    def to_dict(self) -> dict[str, Any]:
        """Exactly the object the command prints with ``--format json`` (grad: with its check and
        surrogate when asked)."""
        data: dict[str, Any] = json.loads(self.to_json())
        return data

    def text(self, fmt: str = "table") -> str:
        """The command's output in ``fmt``: table (plain text, no colour), json, csv or plain."""
        out, buffer = _machine_output(fmt)
        self.emit(out)
        return buffer.getvalue()


# --- results --------------------------------------------------------------------------------------

class Result(_Rendered):
    """The loss under one profile: ``value``, ``per_sample``, every stage and the warnings."""

    def __init__(self, core: CoreResult):
        self._core = core

    @property
    def core(self) -> CoreResult:
        """The core's frozen ``Result`` (what the renderers take)."""
        return self._core

    @property
    def value(self) -> float:
        """The reduced loss as a Python float: float32 results widen exactly (16.11809539794922)."""
        if self._core.reduction == "none":
            raise UsageError("reduction='none' gives one loss per sample, not one value",
                             hint="read .per_sample")
        return float(self._core.value)

    @property
    def per_sample(self) -> NDArray:
        """wᵢ·lᵢ per sample, in the dtype the profile computes in."""
        return self._core.per_sample

    @property
    def stages(self) -> Mapping[str, Stage]:
        """Stage name → Stage (``.array``, ``.changed``, ``.note``), in the order they ran."""
        return MappingProxyType({stage.name: stage for stage in self._core.stages})

    @property
    def warnings(self) -> tuple[Notice, ...]:
        """Structured warnings (``.code``, ``.rows`` 1-based, …), as ``--format json`` lists them."""
        return self._core.notices

    @property
    def profile(self) -> str:
        """The profile's name."""
        return self._core.profile

    @property
    def models(self) -> str:
        """The framework versions the profile models."""
        return self._core.models

    @property
    def loss(self) -> str:
        """categorical, sparse or binary (what ``loss="auto"`` decided)."""
        return self._core.kind

    @property
    def loss_reason(self) -> str:
        """Why that loss."""
        return self._core.kind_reason

    @property
    def dtype(self) -> str:
        """The dtype the profile computed in: float32 or float64."""
        return self._core.dtype

    @property
    def reduction(self) -> str:
        return self._core.reduction

    @property
    def from_logits(self) -> bool:
        return self._core.from_logits

    @property
    def n_samples(self) -> int:
        return self._core.n_samples

    @property
    def n_classes(self) -> int:
        return self._core.n_classes


    def emit(self, out: Output) -> None:
        out.emit_compute(self._core, reader=IN_MEMORY)

    def _views(self) -> list[object]:
        from xentropy_cli.render import tables

        return [tables.compute_panel(self._core)]

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        shown = "per sample" if self._core.reduction == "none" else repr(self.value)
        return (f"<xent.Result {self.profile} {self.loss}: {shown} ({self.dtype}, {self.reduction}"
                f"{f', {len(self.warnings)} warning(s)' if self.warnings else ''})>")


class Explanation(_Rendered):
    """A profile beside another, stage by stage: where they part ways and which rows matter."""

    def __init__(self, inputs: Inputs, result: Result, against: Result, divergence: Divergence,
                 rows: int = 10, classes: tuple[int, ...] | None = None):
        self._inputs = inputs
        self.classes = classes
        self.result = result
        self.against = against
        self._divergence = divergence
        self.rows = rows

    @property
    def first_divergence(self) -> str | None:
        """The first stage whose output differs beyond rounding (None: they agree)."""
        return self._divergence.stage

    @property
    def divergent_rows(self) -> tuple[int, ...]:
        """0-based rows that differ at ``first_divergence``."""
        return self._divergence.rows

    @property
    def contributions(self) -> NDArray:
        """Per row: its share of value(profile) − value(against); they add up to ``difference``."""
        return self._divergence.contributions

    @property
    def difference(self) -> float:
        return float(self._divergence.difference)

    @property
    def stage_gaps(self) -> Mapping[str, float]:
        """Largest |profile − against| after each stage."""
        return MappingProxyType(dict(self._divergence.stage_gaps))

    @property
    def narrative(self) -> str:
        """The plain-English account ``xent explain`` prints under "why they differ"."""
        return self._divergence.account

    @property
    def warnings(self) -> tuple[Notice, ...]:
        return self.result.warnings


    def emit(self, out: Output) -> None:
        out.emit_explain(self._inputs, self.result.core, self.against.core, self._divergence, self.rows,
                         classes=self.classes)

    def _views(self) -> list[object]:
        from xentropy_cli.render import tables

        return list(tables.explain_views(self._inputs, self.result.core, self.against.core,
                                         self._divergence, self.rows, classes=self.classes))

    def __repr__(self) -> str:
        return (f"<xent.Explanation {self.result.profile} against {self.against.profile}: "
                f"first divergence {self.first_divergence}, difference {self.difference!r}>")


@dataclass(frozen=True)
class ComparisonRow:
    """One profile in a comparison: its result, or why it refused the input."""

    profile: str
    result: Result | None
    first_difference: str | None  # first stage that differs from naive; None when it agrees
    max_gap: float  # largest |per-sample loss − naive per-sample loss|
    refusal: str = ""

    @property
    def value(self) -> float | None:
        return None if self.result is None or self.result.reduction == "none" else self.result.value


class Comparison(_Rendered, Mapping[str, ComparisonRow]):
    """Several profiles on one input: a read-only mapping from profile name to its row."""

    def __init__(self, rows: Sequence[Row]):
        self._rows = tuple(rows)
        self._by_name = {row.profile.name: ComparisonRow(
            row.profile.name, None if row.result is None else Result(row.result),
            row.first_difference, float(row.max_gap), row.refusal) for row in self._rows}

    def __getitem__(self, name: str) -> ComparisonRow:
        return self._by_name[get_profile(name).name if name not in self._by_name else name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


    def emit(self, out: Output) -> None:
        out.emit_compare(list(self._rows))

    def _views(self) -> list[object]:
        from xentropy_cli.render import tables

        return [tables.compare_table(list(self._rows))]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={'refused' if row.result is None else row.value!r}"
                          for name, row in self._by_name.items())
        return f"<xent.Comparison {shown}>"


class Gradient(_Rendered):
    """∂L/∂y_pred: what the framework backpropagates and the true derivative, with the
    finite-difference check and the surrogate form if asked."""

    def __init__(self, core: GradResult, check: CheckResult | None = None,
                 surrogate: SurrogateResult | None = None):
        self._core = core
        self.check = check
        self.surrogate = surrogate

    @property
    def core(self) -> GradResult:
        return self._core

    @property
    def gradient(self) -> NDArray:
        """(N, K): ∂L/∂z for logits, ∂L/∂p for probabilities, as ``derivative`` chose."""
        return self._core.grad

    @property
    def derivative(self) -> str:
        """'framework' (what the framework backpropagates) or 'exact' (the true derivative)."""
        return self._core.derivative

    @property
    def framework(self) -> NDArray | None:
        """What the profile's framework backpropagates (float64 widening), nan and floors included."""
        return self._core.framework

    @property
    def exact(self) -> NDArray | None:
        """The true derivative, float64."""
        return self._core.exact

    @property
    def departs(self) -> NDArray | None:
        """(N, K) bool: where the framework's gradient departs from the true derivative."""
        return self._core.departs

    @property
    def clipped(self) -> NDArray:
        """(N, K) bool: the clip was active, so no gradient flows through the cell."""
        return self._core.clipped

    @property
    def value(self) -> float:
        """The loss L (from the float64 run) whose gradient this is."""
        if np.ndim(self._core.value):
            raise UsageError("reduction='none' gives one loss per sample, not one value",
                             hint="read .gradient: each row is that sample's gradient")
        return float(self._core.value)

    @property
    def wrt(self) -> str:
        """'logits' or 'probabilities'."""
        return self._core.wrt

    @property
    def profile(self) -> str:
        return self._core.profile

    @property
    def passed(self) -> bool | None:
        """Whether the finite-difference check passed (None: not checked)."""
        return None if self.check is None else bool(self.check.passed)

    @property
    def warnings(self) -> tuple[Notice, ...]:
        return self._core.notices


    def emit(self, out: Output) -> None:
        from xentropy_cli.render import grad as grad_render

        grad_render.emit(out, self._core, self._core.notices, self.check, self.surrogate)

    def _views(self) -> list[object]:
        from xentropy_cli.render import grad as grad_render

        return list(grad_render.grad_views(self._core, self._core.notices, self.check, self.surrogate))

    def __repr__(self) -> str:
        check = "" if self.check is None else f", check {'passed' if self.passed else 'FAILED'}"
        return f"<xent.Gradient {self.profile} w.r.t. {self.wrt}, shape {self.gradient.shape}{check}>"


class Profiles(_Rendered, Mapping[str, Profile]):
    """Every profile by name: stages, dtype, eps, reduction and the version it models."""

    def __init__(self, chosen: Sequence[Profile]):
        self._by_name = {p.name: p for p in chosen}

    def __getitem__(self, name: str) -> Profile:
        return self._by_name[name] if name in self._by_name else get_profile(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


    def emit(self, out: Output) -> None:
        out.emit_profiles(list(self._by_name.values()))

    def _views(self) -> list[object]:
        from xentropy_cli.render import tables

        return [tables.profiles_table(list(self._by_name.values()))]

    def __repr__(self) -> str:
        return f"<xent.Profiles {', '.join(self._by_name)}>"


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

