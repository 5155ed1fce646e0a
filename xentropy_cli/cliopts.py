"""The `xent` command's options, each declared once: the input options every reading command takes
(``reads_input``), the profile and pipeline options of the computing commands (``computes``), and
the output options, checked into ``io.ReadSpec``, ``Profile`` and ``Options`` in one place."""

from __future__ import annotations

import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from xentropy_cli.clikit import Choice, bundled, fixed
from xentropy_cli.core import choices
from xentropy_cli.errors import UsageError

if TYPE_CHECKING:
    from xentropy_cli.io import ReadSpec


def _profile_names() -> tuple[str, ...]:
    from xentropy_cli.core import profiles

    return tuple(profiles.PROFILES)


def _profile_key(name: str) -> str:
    from xentropy_cli.core import profiles

    return profiles.canonical(name)


def _example_names() -> tuple[str, ...]:
    from xentropy_cli import examples

    return tuple(examples.EXAMPLES)


PROFILE = Choice(_profile_names, "profile", _profile_key)


# --- the input options, declared once: every command that reads data gets them (reads_input) ---
Sources = Annotated[list[str] | None, typer.Argument(
    help="Input files: one table (CSV/TSV/JSON/JSONL/NPZ/Parquet), or y_true then y_pred. "
         "'-' is stdin.", show_default=False)]
YTrue = Annotated[str | None, typer.Option("--y-true", "-t", help="y_true inline: JSON, numpy print "
                                           "form or rows split by ';'.", show_default=False)]
YPred = Annotated[str | None, typer.Option("--y-pred", "-p", help="y_pred inline.", show_default=False)]
Weight = Annotated[str | None, typer.Option("--sample-weight", "-w", help="Sample weights inline, "
                                            "or one number.", show_default=False)]
TrueCols = Annotated[str | None, typer.Option(help="y_true columns: names, globs or a range like 0:3.")]
PredCols = Annotated[str | None, typer.Option(help="y_pred columns: names, globs or a range like 3:6.")]
WeightCol = Annotated[str | None, typer.Option(help="The sample-weight column.")]
InputFormat = Annotated[str, typer.Option(help="auto|csv|tsv|json|jsonl|npy|npz|parquet.")]
Loss = Annotated[choices.LossKind, typer.Option("--loss", click_type=fixed(choices.KINDS),
                                                help="The kind of target (auto: decided from the "
                                                     "shapes, and said).")]
FromLogits = Annotated[bool, typer.Option("--from-logits", help="y_pred holds logits, not probabilities.")]
Labels = Annotated[str | None, typer.Option(help="All class labels, e.g. 0,1,2 (scikit-learn).")]
ClassWeight = Annotated[str | None, typer.Option(help="Per-class weights, e.g. 1,2,1 (torch).")]

_INPUT: tuple[tuple[str, Any, Any], ...] = (
    ("sources", Sources, None), ("y_true", YTrue, None), ("y_pred", YPred, None),
    ("sample_weight", Weight, None), ("true_cols", TrueCols, None), ("pred_cols", PredCols, None),
    ("weight_col", WeightCol, None), ("input_format", InputFormat, "auto"), ("loss", Loss, "auto"),
    ("from_logits", FromLogits, False), ("labels", Labels, None), ("class_weight", ClassWeight, None),
)


def _read_spec(sources: list[str] | None, **given: Any) -> ReadSpec:
    from xentropy_cli.io import ReadSpec

    return ReadSpec(tuple(sources or ()), kind=given.pop("loss"), **given)


reads_input = bundled(_INPUT, "spec", _read_spec)  # spec: io.ReadSpec


# --- options shared by the commands that compute ------------------------------------------------
Profile = Annotated[str, typer.Option("--profile", "-P", click_type=PROFILE,
                                      help="The framework's convention (see `xent profiles`).")]
KerasCompat = Annotated[bool, typer.Option("--keras-compat", help="Same as --profile keras.")]
Smoothing = Annotated[float, typer.Option("--label-smoothing", help="Label smoothing ε.")]
Reduction = Annotated[choices.Reduction | None, typer.Option(
    click_type=fixed(choices.REDUCTIONS), help="(default: the profile's).", show_default=False)]
Dtype = Annotated[choices.FloatType | None, typer.Option(
    click_type=fixed(choices.FLOAT_TYPES), help="Compute in this dtype.", show_default=False)]
Normalise = Annotated[bool | None, typer.Option("--normalise/--no-normalise", "--normalize/--no-normalize",
                                                help="Force the normalise stage on or off.",
                                                show_default=False)]
Clip = Annotated[float | None, typer.Option("--clip", metavar="EPS", help="Clip into [EPS, 1−EPS].")]
NoClip = Annotated[bool, typer.Option("--no-clip", help="Remove the clip stage.")]
Base = Annotated[str, typer.Option(click_type=fixed(tuple(choices.BASES)),
                                   help="Log base: e or nats, 2 or bits, 10.")]
Kernel = Annotated[choices.Kernel | None, typer.Option(
    click_type=fixed(choices.KERNELS), help="Whose float32 log, exp and sums.", show_default=False)]


class Setup(typing.NamedTuple):
    """A computing command's profile and the user's overrides of it, checked."""

    profile: Any  # core.profiles.Profile
    options: Any  # core.types.Options


def _setup(profile: str, keras_compat: bool, label_smoothing: float, reduction: str | None,
           dtype: str | None, normalise: bool | None, clip: float | None, no_clip: bool,
           base: str, kernel: str | None) -> Setup:
    from xentropy_cli.core import profiles

    return Setup(profiles.get(profile_name(profile, keras_compat)),
                 checked_options(label_smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel))


def computes(default_profile: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The profile and pipeline options (declared once), given to the command as ``setup``."""
    return bundled((
        ("profile", Profile, default_profile), ("keras_compat", KerasCompat, False),
        ("label_smoothing", Smoothing, 0.0), ("reduction", Reduction, None), ("dtype", Dtype, None),
        ("normalise", Normalise, None), ("clip", Clip, None), ("no_clip", NoClip, False),
        ("base", Base, "e"), ("kernel", Kernel, None)), "setup", _setup)


Format = Annotated[choices.Format, typer.Option("--format", "-f", click_type=fixed(choices.FORMATS),
                                                help="auto: table on a terminal, plain in a pipe.")]
Color = Annotated[choices.Color, typer.Option(click_type=fixed(choices.COLORS),
                                              help="NO_COLOR is respected.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write here (atomically), not "
                                             "stdout; .json/.csv/.txt choose the format unless "
                                             "--format is given.")]
Strict = Annotated[bool, typer.Option("--strict", help="Turn warnings into errors (exit 1).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No warnings or progress on stderr.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Say on stderr how the input was read "
                                       "(reader, streaming, processes, time).")]
Engine = Annotated[choices.Engine, typer.Option(
    click_type=fixed(choices.ENGINES), help="dask runs every shard (files, a glob or a folder of "
                                            "Parquet/CSV/TSV) on a Dask cluster.")]
Scheduler = Annotated[str | None, typer.Option(metavar="ADDRESS", help="With --engine dask: a running "
                                               "scheduler, e.g. tcp://host:8786 (default: local "
                                               "worker processes).", show_default=False)]
Workers = Annotated[int | None, typer.Option(help="With --engine dask and no --scheduler: how many local "
                                             "worker processes (default: the cores).",
                                             show_default=False)]
Example = Annotated[str | None, typer.Option(click_type=Choice(_example_names),
                                             help="Use a built-in example.", show_default=False)]


def checked_options(smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel):
    """The user's overrides, checked once (core.types.Options refuses unknown values)."""
    from xentropy_cli.core.types import Options

    if clip is not None and no_clip:
        raise UsageError("--clip and --no-clip contradict each other", hint="give one of them")
    base_value = choices.BASES[choices.choose(base, tuple(choices.BASES), "--base")]
    return Options(label_smoothing=smoothing, reduction=reduction, dtype=dtype, normalise=normalise,
                   clip=False if no_clip else clip, base=base_value, kernel=kernel)


def profile_name(profile: str, keras_compat: bool) -> str:
    if keras_compat and profile not in ("naive", "keras"):
        raise UsageError(f"--keras-compat contradicts --profile {profile}", hint="give one of them")
    return "keras" if keras_compat else profile
