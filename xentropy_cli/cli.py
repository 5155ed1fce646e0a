"""The `xent` command: options in, core calls, output out. No maths and no file parsing here.

The options are declared in ``cliopts``, the Click/Typer fittings in ``clikit``."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from xentropy_cli import __version__
from xentropy_cli.clikit import Group, Typer
from xentropy_cli.cliopts import (
    PROFILE,
    Color,
    Dtype,
    Engine,
    Example,
    Format,
    Output,
    Quiet,
    Reduction,
    Scheduler,
    Setup,
    Smoothing,
    Strict,
    Verbose,
    Workers,
    checked_options,
    computes,
    reads_input,
)
from xentropy_cli.errors import UsageError, guarded, shown

if TYPE_CHECKING:
    from xentropy_cli.io import ReadSpec

app = Typer(
    name="xent",
    cls=Group,
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


def _engine(engine: str, scheduler: str | None, workers: int | None, spec: ReadSpec):
    """None for the local engine; else (the --engine's module, its request): engines.ENGINES."""
    from xentropy_cli import engines

    return engines.remote(engine, spec, scheduler, workers)


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
    from xentropy_cli import render

    chosen, options = setup
    remote = _engine(engine, scheduler, workers, spec)
    if remote is not None:
        runner, request = remote
        runner.compute(request, chosen, options, render.Output(format, color, output, quiet, strict))
        return
    out = render.Output(format, color, output, quiet, strict)
    stdin = None  # what io.read reads for '-' when the streaming engine read stdin first
    if _may_stream(spec):
        done, stdin = _stream(spec).try_compute(spec, chosen, options, out, verbose)
        if done:
            return
    from xentropy_cli import api  # the in-memory path (a streamed run does without it)

    inputs = spec.read(stdin, "compute")
    result = api.compute_inputs(inputs, chosen, options)  # the Python API's path
    _say_in_memory(verbose, inputs)
    out.warn(result.warnings)
    result.emit(out)


READ_IN_MEMORY = "in-memory"


def _may_stream(spec) -> bool:
    from xentropy_cli import engines

    return engines.may_stream(spec)


def _stream(spec):
    from xentropy_cli import engines

    engines.preload_compiler(list(spec.sources), spec.input_format)
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
    against: Annotated[str, typer.Option(click_type=PROFILE, help="The profile to compare with.")] = "naive",
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
    """Every stage of --profile beside --against, and where and why they part ways.

    With no input and a terminal on stdin it explains a built-in example, the Keras question
    (--example keras-question; --list-examples lists them).

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
    remote = _engine(engine, scheduler, workers, spec)
    if remote is not None:
        runner, request = remote
        runner.explain(request, chosen, other, options, rows, out, classes=shown_classes)
        return
    stdin = None
    if not example and _may_stream(spec):
        done, stdin = _stream(spec).try_explain(spec, chosen, other, options, rows, out, verbose,
                                                shown_classes)
        if done:
            return
    if example or (not spec.given and sys.stdin.isatty()):
        inputs = examples.get(example or "keras-question")
    else:
        inputs = (spec if spec.given else replace(spec, sources=("-",))).read(stdin, "explain")
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
    options = checked_options(label_smoothing, reduction, dtype, None, None, False, "e", None)
    out = render.Output(format, color, output, quiet, strict)
    remote = _engine(engine, scheduler, workers, spec)
    if remote is not None:
        runner, request = remote
        runner.compare(request, chosen, options, out)
        return
    stdin = None
    if _may_stream(spec):
        done, stdin = _stream(spec).try_compare(spec, chosen, options, out, verbose)
        if done:
            return
    inputs = spec.read(stdin, "compare")
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
        inputs = (spec if spec.given else replace(spec, sources=("-",))).read(command="grad")
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
