"""The `xent` command: options in, core calls, output out. No maths and no file parsing here."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer 0.2x carries its own copy of click: its types and errors are the ones it uses
    from typer._click import core as click_core
    from typer._click import exceptions as click_errors
    from typer._click import shell_completion
    from typer._click import types as click_types
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import core as click_core  # type: ignore[no-redef]
    from click import exceptions as click_errors  # type: ignore[no-redef]
    from click import shell_completion  # type: ignore[no-redef]
    from click import types as click_types  # type: ignore[no-redef]

from xentropy_cli import __version__
from xentropy_cli.core import choices
from xentropy_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError, guarded, report, run_main, shown

if TYPE_CHECKING:
    from xentropy_cli.io import ReadSpec


class _Group(TyperGroup):
    """Click's own usage errors (an unknown option, a bad or missing value) in xent's style: one
    line on stderr, exit 2; the rest as Typer does it."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """errors.run_main around it all: a full or closed stdout under --help/--version is one
        line (exit 1), SIGTERM ends with 143 after the temporary files are gone."""
        return run_main(lambda: self._main(args, prog_name, complete_var, windows_expand_args, **extra),
                        standalone_mode)

    def _main(self, args: Sequence[str] | None, prog_name: str | None, complete_var: str | None,
              windows_expand_args: bool, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as error:  # bare `xent`: the help, as before
            error.show()
            raise SystemExit(error.exit_code) from None
        except click_errors.ClickException as error:
            report(_one_line(error))
            usage = isinstance(error, click_errors.UsageError)
            raise SystemExit(EXIT_USAGE if usage else error.exit_code) from None
        except typer.Abort:
            sys.stderr.write("\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        return rv if isinstance(rv, int) else 0


def _one_line(error: click_errors.ClickException) -> str:
    text = " ".join(error.format_message().split()).rstrip(".")
    ctx = getattr(error, "ctx", None)
    if isinstance(error, click_errors.UsageError) and not isinstance(error, _BadChoice) and ctx is not None:
        text += f"; see {ctx.command_path} --help"
    return text


class _BadChoice(click_errors.BadParameter):
    def format_message(self) -> str:
        return self.message


class _Choice(click_types.ParamType):
    """One of a closed set of values, completed by the shell. ``values`` is called when needed (so
    building the CLI imports nothing heavy); ``canonical`` maps aliases to a value; a bad value is
    ``unknown WHAT 'x'; choose one of …`` (exit 2)."""

    name = "choice"

    def __init__(self, values: Callable[[], Sequence[str]], what: str | None = None,
                 canonical: Callable[[str], str] | None = None):
        self.values, self.what, self.canonical = values, what, canonical

    def get_metavar(self, param: click_core.Parameter, ctx: click_core.Context | None = None) -> str:
        return "[" + "|".join(self.values()) + "]"

    def convert(self, value: Any, param: click_core.Parameter | None, ctx: click_core.Context | None) -> Any:
        key = self.canonical(value) if self.canonical else value
        if key in self.values():
            return key
        what = self.what or (param.opts[0] if param is not None and param.opts else "value")
        raise _BadChoice(f"unknown {what} {value!r}; choose one of {', '.join(self.values())}",
                         ctx=ctx, param=param)

    def shell_complete(self, ctx: click_core.Context, param: click_core.Parameter,
                       incomplete: str) -> list[Any]:
        return [shell_completion.CompletionItem(v) for v in self.values() if v.startswith(incomplete)]


def _fixed(values: Sequence[str]) -> _Choice:
    return _Choice(lambda: tuple(values))


def _profile_names() -> tuple[str, ...]:
    from xentropy_cli.core import profiles

    return tuple(profiles.PROFILES)


def _profile_key(name: str) -> str:
    from xentropy_cli.core import profiles

    return profiles.canonical(name)


def _example_names() -> tuple[str, ...]:
    from xentropy_cli import examples

    return tuple(examples.EXAMPLES)


_PROFILE = _Choice(_profile_names, "profile", _profile_key)

class _Typer(typer.Typer):
    """Typer whose whole call (building the Click command included) runs inside errors.run_main,
    so a signal or a full stdout at any moment after start-up ends as one line and its code."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        standalone = kwargs.get("standalone_mode", True)
        return run_main(lambda: super(_Typer, self).__call__(*args, **kwargs), standalone)


app = _Typer(
    name="xent",
    cls=_Group,
    help="Cross-entropy the way Keras, tf.keras, PyTorch, scikit-learn and optax compute it, "
         "stage by stage.\n\nExamples:\n\n"
         "  xent compute --keras-compat samples/keras_question.csv\n\n"
         "  xent explain --keras-compat samples/keras_question.csv\n\n"
         "  xent compare samples/keras_question.csv --all\n\n"
         "  python predict.py | xent compute - --format plain",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

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
Loss = Annotated[choices.LossKind, typer.Option("--loss", click_type=_fixed(choices.KINDS),
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


def _bundled(params: tuple[tuple[str, Any, Any], ...], into: str,
             build: Callable[..., Any]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator giving a command the options ``params`` (declared once, first in its help) and
    calling it with ``into=build(**those options)``; the command's own options follow."""
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        hints = typing.get_type_hints(command, localns={"ReadSpec": object, "Setup": object},
                                      include_extras=True)
        kind = inspect.Parameter.KEYWORD_ONLY  # Typer passes every option by name
        shared = [inspect.Parameter(name, kind, default=default, annotation=annotation)
                  for name, annotation, default in params]
        own = [p.replace(annotation=hints[p.name], kind=kind)
               for p in inspect.signature(command).parameters.values() if p.name != into]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            given = {name: kwargs.pop(name) for name, _, _ in params}
            return command(**{into: build(**given)}, **kwargs)

        every = shared + own
        wrapper.__signature__ = inspect.Signature(every)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in every}
        return wrapper

    return decorate


def _read_spec(sources: list[str] | None, **given: Any) -> ReadSpec:
    from xentropy_cli.io import ReadSpec

    return ReadSpec(tuple(sources or ()), kind=given.pop("loss"), **given)


reads_input = _bundled(_INPUT, "spec", _read_spec)  # spec: io.ReadSpec


# --- options shared by the commands that compute ------------------------------------------------
Profile = Annotated[str, typer.Option("--profile", "-P", click_type=_PROFILE,
                                      help="The framework's convention (see `xent profiles`).")]
KerasCompat = Annotated[bool, typer.Option("--keras-compat", help="Same as --profile keras.")]
Smoothing = Annotated[float, typer.Option("--label-smoothing", help="Label smoothing ε.")]
Reduction = Annotated[choices.Reduction | None, typer.Option(
    click_type=_fixed(choices.REDUCTIONS), help="(default: the profile's).", show_default=False)]
Dtype = Annotated[choices.FloatType | None, typer.Option(
    click_type=_fixed(choices.FLOAT_TYPES), help="Compute in this dtype.", show_default=False)]
Normalise = Annotated[bool | None, typer.Option("--normalise/--no-normalise", "--normalize/--no-normalize",
                                                help="Force the normalise stage on or off.",
                                                show_default=False)]
Clip = Annotated[float | None, typer.Option("--clip", metavar="EPS", help="Clip into [EPS, 1−EPS].")]
NoClip = Annotated[bool, typer.Option("--no-clip", help="Remove the clip stage.")]
Base = Annotated[str, typer.Option(click_type=_fixed(tuple(choices.BASES)),
                                   help="Log base: e or nats, 2 or bits, 10.")]
Kernel = Annotated[choices.Kernel | None, typer.Option(
    click_type=_fixed(choices.KERNELS), help="Whose float32 log, exp and sums.", show_default=False)]


class Setup(typing.NamedTuple):
    """A computing command's profile and the user's overrides of it, checked."""

    profile: Any  # core.profiles.Profile
    options: Any  # core.types.Options


def _setup(profile: str, keras_compat: bool, label_smoothing: float, reduction: str | None,
           dtype: str | None, normalise: bool | None, clip: float | None, no_clip: bool,
           base: str, kernel: str | None) -> Setup:
    from xentropy_cli.core import profiles

    return Setup(profiles.get(_profile_name(profile, keras_compat)),
                 _options(label_smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel))


def computes(default_profile: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The profile and pipeline options (declared once), given to the command as ``setup``."""
    return _bundled((
        ("profile", Profile, default_profile), ("keras_compat", KerasCompat, False),
        ("label_smoothing", Smoothing, 0.0), ("reduction", Reduction, None), ("dtype", Dtype, None),
        ("normalise", Normalise, None), ("clip", Clip, None), ("no_clip", NoClip, False),
        ("base", Base, "e"), ("kernel", Kernel, None)), "setup", _setup)


Format = Annotated[choices.Format, typer.Option("--format", "-f", click_type=_fixed(choices.FORMATS),
                                                help="auto: table on a terminal, plain in a pipe.")]
Color = Annotated[choices.Color, typer.Option(click_type=_fixed(choices.COLORS),
                                              help="NO_COLOR is respected.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write here (atomically), not "
                                             "stdout; .json/.csv/.txt choose the format unless "
                                             "--format is given.")]
Strict = Annotated[bool, typer.Option("--strict", help="Turn warnings into errors (exit 1).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No warnings or progress on stderr.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Say on stderr how the input was read "
                                       "(reader, streaming, processes, time).")]
Engine = Annotated[choices.Engine, typer.Option(
    click_type=_fixed(choices.ENGINES), help="dask runs every shard (files, a glob or a folder of "
                                             "Parquet/CSV/TSV) on a Dask cluster.")]
Scheduler = Annotated[str | None, typer.Option(metavar="ADDRESS", help="With --engine dask: a running "
                                               "scheduler, e.g. tcp://host:8786 (default: local "
                                               "worker processes).", show_default=False)]
Workers = Annotated[int | None, typer.Option(help="With --engine dask and no --scheduler: how many local "
                                             "worker processes (default: the cores).",
                                             show_default=False)]
Example = Annotated[str | None, typer.Option(click_type=_Choice(_example_names),
                                             help="Use a built-in example.", show_default=False)]


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"xent {__version__}\n")  # a closed stdout fails here (run_main: exit 1)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """xent: cross-entropy, framework by framework."""


def _options(smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel):
    """The user's overrides, checked once (core.types.Options refuses unknown values)."""
    from xentropy_cli.core.types import Options

    if clip is not None and no_clip:
        raise UsageError("--clip and --no-clip contradict each other", hint="give one of them")
    base_value = choices.BASES[choices.choose(base, tuple(choices.BASES), "--base")]
    return Options(label_smoothing=smoothing, reduction=reduction, dtype=dtype, normalise=normalise,
                   clip=False if no_clip else clip, base=base_value, kernel=kernel)


def _profile_name(profile: str, keras_compat: bool) -> str:
    if keras_compat and profile not in ("naive", "keras"):
        raise UsageError(f"--keras-compat contradicts --profile {profile}", hint="give one of them")
    return "keras" if keras_compat else profile


def _dask_request(engine, scheduler, workers, spec):
    """None for the local engine; for --engine dask, what to read (Dask itself is not imported)."""
    if engine not in ("local", "dask"):
        raise UsageError(f"unknown --engine {engine!r}", hint="choose local or dask")
    if engine == "local":
        if scheduler is not None or workers is not None:
            raise UsageError("--scheduler and --workers need --engine dask", hint="add --engine dask")
        return None
    if spec.inline:
        raise UsageError("--engine dask reads shard files, not -t/-p", hint="drop --engine dask")
    if workers is not None and (workers < 1 or scheduler is not None):
        raise UsageError(f"--workers {workers}: give a number ≥ 1, and only without --scheduler",
                         hint="a running scheduler brings its own workers")
    from xentropy_cli.engines.dask import Request

    return Request(spec, scheduler, workers)


@app.command()
@guarded
@reads_input
@computes("naive")
def compute(
    spec: ReadSpec, setup: Setup,
    format: Format = "auto", color: Color = "auto", output: Output = None, strict: Strict = False,
    quiet: Quiet = False, engine: Engine = "local", scheduler: Scheduler = None, workers: Workers = None,
    verbose: Verbose = False,
) -> None:
    """The loss under a profile (default: the textbook formula).

    Examples:

    \b
      xent compute samples/keras_question.csv                 # 0.09458991187728844
      xent compute --keras-compat samples/keras_question.csv  # 0.3239681124687195
      xent compute -t '[[0,1]]' -p '[[0.99999999999,1e-11]]' --profile tf-keras
      cat preds.csv | xent compute - --reduction none --format csv
      xent compute 'preds/*.parquet' --engine dask --keras-compat   # every shard, one value
    """
    from xentropy_cli import api, render

    chosen, options = setup
    request = _dask_request(engine, scheduler, workers, spec)
    if request is not None:
        from xentropy_cli.engines import dask as dask_engine

        dask_engine.compute(request, chosen, options, render.Output(format, color, output, quiet, strict))
        return
    out = render.Output(format, color, output, quiet, strict)
    stdin = None  # what io.read reads for '-' when the streaming engine read stdin first
    if _may_stream(spec):
        done, stdin = _stream().try_compute(spec, chosen, options, out, verbose)
        if done:
            return
    inputs = spec.read(stdin)
    result = api.compute_inputs(inputs, chosen, options)  # the Python API's path
    _say_in_memory(verbose, inputs)
    out.warn(result.warnings)
    result.emit(out)


READ_IN_MEMORY = "in-memory"


def _may_stream(spec) -> bool:
    from xentropy_cli import engines

    return engines.may_stream(spec)


def _stream():
    from xentropy_cli.engines import commands

    return commands


def _say_in_memory(verbose: bool, inputs) -> None:
    if verbose:
        sys.stderr.write(f"xent: read {shown(inputs.source)} in memory ({READ_IN_MEMORY} reader)\n")


@app.command()
@guarded
@reads_input
@computes("keras")
def explain(
    spec: ReadSpec, setup: Setup,
    against: Annotated[str, typer.Option(click_type=_PROFILE, help="The profile to compare with.")] = "naive",
    rows: Annotated[int, typer.Option(help="Show at most this many rows (those that matter most).")] = 10,
    classes: Annotated[str | None, typer.Option(help="Show these columns of y_pred, e.g. 0,3,7 (default: "
                                                "all up to 3, else each row's true class).",
                                                show_default=False)] = None,
    example: Example = None,
    list_examples: Annotated[bool, typer.Option("--list-examples", help="List built-in examples.")] = False,
    format: Format = "auto", color: Color = "auto", output: Output = None, strict: Strict = False,
    quiet: Quiet = False, engine: Engine = "local", scheduler: Scheduler = None, workers: Workers = None,
    verbose: Verbose = False,
) -> None:
    """Every stage, PROFILE beside --against, and where and why they part ways.

    With no input and a terminal on stdin it explains the Keras question from the seed
    (--example keras-question).

    Examples:

    \b
      xent explain                                   # the built-in Keras question
      xent explain --keras-compat samples/keras_question.csv
      xent explain --example tiny --profile tf-keras
      xent explain preds.csv --profile torch --against keras --rows 5
      xent explain 'preds/*.parquet' --engine dask   # the rows that matter most, of every shard
    """
    from xentropy_cli import api, examples, render
    from xentropy_cli.core import profiles

    if rows < 1:
        raise UsageError(f"--rows {rows} is not a positive number", hint="e.g. --rows 10")
    shown_classes = _classes(classes)
    out = render.Output(format, color, output, quiet, strict)
    if list_examples:
        out.emit_examples(examples.EXAMPLES)
        return
    chosen, options = setup
    other = profiles.get(against)
    request = _dask_request(engine, scheduler, workers, spec)
    if request is not None:
        from xentropy_cli.engines import dask as dask_engine

        dask_engine.explain(request, chosen, other, options, rows, out, classes=shown_classes)
        return
    stdin = None
    if not example and _may_stream(spec):
        done, stdin = _stream().try_explain(spec, chosen, other, options, rows, out, verbose, shown_classes)
        if done:
            return
    if example or (not spec.given and sys.stdin.isatty()):
        inputs = examples.get(example or "keras-question")
    else:
        inputs = (spec if spec.given else replace(spec, sources=("-",))).read(stdin)
    explanation = api.explain_inputs(inputs, chosen, other, options, rows, classes=shown_classes)
    out.warn(explanation.warnings)
    explanation.emit(out)  # the Python API's path


def _classes(text: str | None) -> tuple[int, ...] | None:
    """--classes 0,3,7 → (0, 3, 7), sorted, each once."""
    if text is None:
        return None
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 0:
        raise UsageError(f"--classes {text!r} is not a list of column numbers",
                         hint="give 0-based columns of y_pred, e.g. --classes 0,3,7")
    return tuple(values)


@app.command()
@guarded
@reads_input
def compare(
    spec: ReadSpec,
    profiles_: Annotated[str, typer.Option("--profiles", help="Comma-separated profiles.")] =
        "naive,keras,tf-keras,torch,sklearn,optax",
    all_: Annotated[bool, typer.Option("--all", help="Every profile.")] = False,
    label_smoothing: Smoothing = 0.0, reduction: Reduction = None, dtype: Dtype = None,
    format: Format = "auto", color: Color = "auto", output: Output = None, strict: Strict = False,
    quiet: Quiet = False, engine: Engine = "local", scheduler: Scheduler = None, workers: Workers = None,
    verbose: Verbose = False,
) -> None:
    """One row per profile: value, first stage that differs from naive, largest per-sample gap.

    A large file is read once, in chunks: every profile runs on each chunk, in bounded memory.

    Examples:

    \b
      xent compare samples/keras_question.csv
      xent compare samples/logits.csv --from-logits --all
      xent compare preds.csv --profiles keras,tf-keras,torch,sklearn --format json
      xent compare 'preds/*.parquet' --engine dask --all
    """
    from xentropy_cli import api, render
    from xentropy_cli.core import profiles

    names = list(profiles.PROFILES) if all_ else [n.strip() for n in profiles_.split(",") if n.strip()]
    if not names:
        raise UsageError("--profiles names no profile", hint=f"e.g. --profiles {','.join(profiles.PROFILES)}")
    chosen = [profiles.get(n) for n in dict.fromkeys(names)]
    options = _options(label_smoothing, reduction, dtype, None, None, False, "e", None)
    out = render.Output(format, color, output, quiet, strict)
    request = _dask_request(engine, scheduler, workers, spec)
    if request is not None:
        from xentropy_cli.engines import dask as dask_engine

        dask_engine.compare(request, chosen, options, out)
        return
    stdin = None
    if _may_stream(spec):
        done, stdin = _stream().try_compare(spec, chosen, options, out, verbose)
        if done:
            return
    inputs = spec.read(stdin)
    _say_in_memory(verbose, inputs)
    api.compare_inputs(inputs, chosen, options).emit(out)  # the Python API's path


@app.command()
@guarded
@reads_input
@computes("naive")
def grad(
    spec: ReadSpec, setup: Setup,
    check: Annotated[bool, typer.Option("--check", help="Compare with central finite differences "
                                        "of the loss; exit 1 if they disagree.")] = False,
    cells: Annotated[int | None, typer.Option("--cells", metavar="N", help="Check N random cells "
                                              "(default: all, or 200 beyond 1000 cells).",
                                              show_default=False)] = None,
    derivative: Annotated[str, typer.Option("--derivative", help="framework: the gradient the "
                                            "profile's framework backpropagates (nan and floors "
                                            "included); exact: the true derivative. Both are in "
                                            "the table, csv and json.")] = "framework",
    surrogate: Annotated[bool, typer.Option("--surrogate", help="Show the surrogate "
                                            "((P − Q)·z).sum(−1).mean(), P = softmax(z) held "
                                            "constant: same gradient, no log (logits only).")] = False,
    example: Example = None,
    format: Format = "auto", color: Color = "auto", output: Output = None, strict: Strict = False,
    quiet: Quiet = False,
) -> None:
    """The gradient of the loss with respect to y_pred, with a finite-difference check.

    softmax(z) − y for logits, −y/p for probabilities, through the profile's normalise and clip
    (0 where the clip is active). By default the gradient the profile's framework backpropagates
    (torch autograd, tf.GradientTape, jax.grad, in its dtype), with a warning where it departs
    from the true derivative; --derivative exact gives the true derivative, in float64.
    With no input and a terminal on stdin it uses the Keras question (--example keras-question).

    Examples:

    \b
      xent grad --check                              # the built-in Keras question
      xent grad -t '[[0,0,1],[1,0,0]]' -p '[[1,2,3],[0,0,0]]' --from-logits
      xent grad -t '[[0,1]]' -p '[[0.99999999999,1e-11]]' --keras-compat   # all 0: the clip stops learning
      xent grad logits.csv --from-logits --profile torch --check --cells 500
      xent grad -t '[[1,0,0]]' -p '[[0.5,0.5,0]]' --profile torch   # nan: torch's log backward at p = 0
      xent grad logits.csv --from-logits --surrogate --format json
    """
    from xentropy_cli import api, render
    from xentropy_cli.core import grad as grad_core

    chosen, options = setup
    if cells is not None and cells < 1:
        raise UsageError(f"--cells {cells} is not a positive number", hint="e.g. --cells 200")
    if cells is not None and not check:
        raise UsageError("--cells only applies to --check", hint="add --check")
    if derivative not in grad_core.DERIVATIVES:
        raise UsageError(f"--derivative {derivative!r} is not one of {', '.join(grad_core.DERIVATIVES)}",
                         hint="--derivative framework (what the framework backpropagates) or exact")
    if example or (not spec.given and sys.stdin.isatty()):
        from xentropy_cli import examples

        inputs = examples.get(example or "keras-question")
    else:
        inputs = (spec if spec.given else replace(spec, sources=("-",))).read()
    gradient = api.grad_inputs(inputs, chosen, options, check, cells, surrogate,  # the Python API's path
                               derivative)
    out = render.Output(format, color, output, quiet, strict)
    out.warn(gradient.warnings)
    gradient.emit(out)
    if gradient.check is not None:
        grad_core.require_pass(gradient.check)


@app.command(name="profiles")
@guarded
def profiles_command(
    format: Format = "auto", color: Color = "auto", output: Output = None,
) -> None:
    """Each profile's stages, dtype, eps, reduction, the version it models and how close it is.

    Examples:

    \b
      xent profiles
      xent profiles --format json | jq '.profiles[].name'
    """
    from xentropy_cli import api, render

    api.profiles().emit(render.Output(format, color, output, False, False))  # the Python API's path
