"""The API's result objects: each draws itself (``__rich__``, ``_repr_html_``) and writes the
command's output (``text``, ``to_json``, ``to_dict``) through the same emitter ``xent`` uses.

Rich is imported only when a result is drawn.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from xentropy_cli.convert import get_profile
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Inputs, Notice, StageResult
from xentropy_cli.errors import UsageError

if TYPE_CHECKING:
    import numpy.typing as npt

    from xentropy_cli.core.compare import Row
    from xentropy_cli.core.explain import Divergence
    from xentropy_cli.core.grad import CheckResult, GradResult, SurrogateResult
    from xentropy_cli.core.types import Result as CoreResult
    from xentropy_cli.render import Output

    NDArray: TypeAlias = npt.NDArray[Any]

#: One stage's output: ``.name``, ``.array``, ``.changed`` (cells it altered, or None), ``.note``.
Stage = StageResult

IN_MEMORY = "in-memory"  # the JSON "reader" of compute: the API always works in memory
HTML_WIDTH = 110


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
