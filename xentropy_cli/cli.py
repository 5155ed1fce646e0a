"""The `xent` command: options in, core calls, output out. No maths and no file parsing here."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from xentropy_cli import __version__
from xentropy_cli.errors import UsageError, guarded

app = typer.Typer(
    name="xent",
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

# --- options shared by every command that reads data ------------------------------------------
Sources = Annotated[list[str] | None, typer.Argument(
    help="Input files: one table (CSV/TSV/JSON/JSONL/NPZ), or y_true then y_pred. '-' is stdin.",
    show_default=False)]
YTrue = Annotated[str | None, typer.Option("--y-true", "-t", help="y_true inline: JSON, numpy print "
                                           "form or rows split by ';'.", show_default=False)]
YPred = Annotated[str | None, typer.Option("--y-pred", "-p", help="y_pred inline.", show_default=False)]
Weight = Annotated[str | None, typer.Option("--sample-weight", "-w", help="Sample weights inline, "
                                            "or one number.", show_default=False)]
TrueCols = Annotated[str | None, typer.Option(help="y_true columns: names, globs or a range like 0:3.")]
PredCols = Annotated[str | None, typer.Option(help="y_pred columns: names, globs or a range like 3:6.")]
WeightCol = Annotated[str | None, typer.Option(help="The sample-weight column.")]
InputFormat = Annotated[str, typer.Option(help="auto|csv|tsv|json|jsonl|npy|npz.")]
Loss = Annotated[str, typer.Option("--loss", help="auto|categorical|sparse|binary.")]
FromLogits = Annotated[bool, typer.Option("--from-logits", help="y_pred holds logits, not probabilities.")]
Labels = Annotated[str | None, typer.Option(help="All class labels, e.g. 0,1,2 (scikit-learn).")]
ClassWeight = Annotated[str | None, typer.Option(help="Per-class weights, e.g. 1,2,1 (torch).")]
Profile = Annotated[str, typer.Option("--profile", "-P", help="naive|keras|keras-jax|keras-torch|"
                                      "keras-numpy|tf-keras|torch|sklearn|optax.")]
KerasCompat = Annotated[bool, typer.Option("--keras-compat", help="Same as --profile keras.")]
Smoothing = Annotated[float, typer.Option("--label-smoothing", help="Label smoothing ε.")]
Reduction = Annotated[str | None, typer.Option(help="none|sum|mean|sum_over_batch_size|"
                                               "mean_with_sample_weight (default: the profile's).")]
Dtype = Annotated[str | None, typer.Option(help="float32|float64: compute in this dtype.")]
Normalise = Annotated[bool | None, typer.Option("--normalise/--no-normalise", "--normalize/--no-normalize",
                                                help="Force the normalise stage on or off.",
                                                show_default=False)]
Clip = Annotated[float | None, typer.Option("--clip", metavar="EPS", help="Clip into [EPS, 1−EPS].")]
NoClip = Annotated[bool, typer.Option("--no-clip", help="Remove the clip stage.")]
Base = Annotated[str, typer.Option(help="Log base: e, 2 (bits) or 10.")]
Kernel = Annotated[str | None, typer.Option(help="float32 log kernel: numpy|tensorflow|torch|xla.")]
Format = Annotated[str, typer.Option("--format", "-f", help="auto|table|json|csv|plain (auto: table on "
                                     "a terminal, plain in a pipe).")]
Color = Annotated[str, typer.Option(help="auto|always|never (NO_COLOR is respected).")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write here (atomically), not stdout.")]
Strict = Annotated[bool, typer.Option("--strict", help="Turn warnings into errors (exit 1).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No warnings or progress on stderr.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Say on stderr how the input was read "
                                       "(reader, streaming, processes, time).")]
Engine = Annotated[str, typer.Option(help="local|dask: dask runs every shard (files, a glob or a folder "
                                     "of Parquet/CSV/TSV) on a Dask cluster.")]
Scheduler = Annotated[str | None, typer.Option(metavar="ADDRESS", help="With --engine dask: a running "
                                               "scheduler, e.g. tcp://host:8786 (default: local "
                                               "worker processes).", show_default=False)]
Workers = Annotated[int | None, typer.Option(help="With --engine dask and no --scheduler: how many local "
                                             "worker processes (default: the cores).",
                                             show_default=False)]


def _version(value: bool) -> None:
    if value:
        print(f"xent {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """xent: cross-entropy, framework by framework."""


def _options(smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel):
    from xentropy_cli.core.types import Options

    bases = {"e": None, "2": 2.0, "10": 10.0}
    if base not in bases:
        raise UsageError(f"unknown --base {base!r}", hint="choose e, 2 or 10")
    if clip is not None and no_clip:
        raise UsageError("--clip and --no-clip contradict each other", hint="give one of them")
    if clip is not None and not 0 < clip < 0.5:
        raise UsageError(f"--clip {clip} is outside (0, 0.5)", hint="a typical value is 1e-7")
    if dtype not in (None, "float32", "float64"):
        raise UsageError(f"unknown --dtype {dtype!r}", hint="choose float32 or float64")
    return Options(label_smoothing=smoothing, reduction=reduction, dtype=dtype, normalise=normalise,
                   clip=False if no_clip else clip, base=bases[base], kernel=kernel)


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


def _spec(sources, y_true, y_pred, sample_weight, true_cols, pred_cols, weight_col, input_format,
          loss, from_logits, labels, class_weight):
    """What to read, bundled once per command (io.ReadSpec is cheap to import: no numpy work)."""
    from xentropy_cli.io import ReadSpec

    return ReadSpec(tuple(sources or ()), y_true, y_pred, sample_weight, true_cols, pred_cols,
                    weight_col, input_format, loss, from_logits, labels, class_weight)


@app.command()
@guarded
def compute(
    sources: Sources = None,
    y_true: YTrue = None, y_pred: YPred = None, sample_weight: Weight = None,
    true_cols: TrueCols = None, pred_cols: PredCols = None, weight_col: WeightCol = None,
    input_format: InputFormat = "auto", loss: Loss = "auto", from_logits: FromLogits = False,
    labels: Labels = None, class_weight: ClassWeight = None,
    profile: Profile = "naive", keras_compat: KerasCompat = False, label_smoothing: Smoothing = 0.0,
    reduction: Reduction = None, dtype: Dtype = None, normalise: Normalise = None,
    clip: Clip = None, no_clip: NoClip = False, base: Base = "e", kernel: Kernel = None,
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
    from xentropy_cli.core import profiles

    chosen = profiles.get(_profile_name(profile, keras_compat))
    options = _options(label_smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel)
    spec = _spec(sources, y_true, y_pred, sample_weight, true_cols, pred_cols, weight_col, input_format,
                 loss, from_logits, labels, class_weight)
    request = _dask_request(engine, scheduler, workers, spec)
    if request is not None:
        from xentropy_cli.engines import dask as dask_engine

        dask_engine.compute(request, chosen, options, render.Output(format, color, output, quiet, strict))
        return
    out = render.Output(format, color, output, quiet, strict)
    if _may_stream(spec) and _stream().try_compute(spec, chosen, options, out, verbose):
        return
    inputs = spec.read()
    result = api.compute_inputs(inputs, chosen, options)  # the Python API's path
    _say_in_memory(verbose, inputs)
    out.warn(result.warnings)
    result.emit(out)


READ_IN_MEMORY = "in-memory"


def _may_stream(spec) -> bool:
    from xentropy_cli import engines

    return engines.may_stream(spec)


def _stream():
    from xentropy_cli.engines import stream

    return stream


def _say_in_memory(verbose: bool, inputs) -> None:
    if verbose:
        sys.stderr.write(f"xent: read {inputs.source} in memory ({READ_IN_MEMORY} reader)\n")


@app.command()
@guarded
def explain(
    sources: Sources = None,
    y_true: YTrue = None, y_pred: YPred = None, sample_weight: Weight = None,
    true_cols: TrueCols = None, pred_cols: PredCols = None, weight_col: WeightCol = None,
    input_format: InputFormat = "auto", loss: Loss = "auto", from_logits: FromLogits = False,
    labels: Labels = None, class_weight: ClassWeight = None,
    profile: Profile = "keras", keras_compat: KerasCompat = False,
    against: Annotated[str, typer.Option(help="The profile to compare with.")] = "naive",
    label_smoothing: Smoothing = 0.0,
    reduction: Reduction = None, dtype: Dtype = None, normalise: Normalise = None,
    clip: Clip = None, no_clip: NoClip = False, base: Base = "e", kernel: Kernel = None,
    rows: Annotated[int, typer.Option(help="Show at most this many rows (those that matter most).")] = 10,
    example: Annotated[str | None, typer.Option(help="Explain a built-in example: keras-question "
                                                "or tiny.")] = None,
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

    out = render.Output(format, color, output, quiet, strict)
    if list_examples:
        out.emit_examples(examples.EXAMPLES)
        return
    chosen = profiles.get(_profile_name(profile, keras_compat))
    other = profiles.get(against)
    options = _options(label_smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel)
    spec = _spec(sources, y_true, y_pred, sample_weight, true_cols, pred_cols, weight_col, input_format,
                 loss, from_logits, labels, class_weight)
    request = _dask_request(engine, scheduler, workers, spec)
    if request is not None:
        from xentropy_cli.engines import dask as dask_engine

        dask_engine.explain(request, chosen, other, options, rows, out)
        return
    if not example and _may_stream(spec) and _stream().try_explain(spec, chosen, other, options, rows,
                                                                   out, verbose):
        return
    if example or (not spec.given and sys.stdin.isatty()):
        inputs = examples.get(example or "keras-question")
    else:
        inputs = (spec if spec.given else replace(spec, sources=("-",))).read()
    explanation = api.explain_inputs(inputs, chosen, other, options, rows)  # the Python API's path
    out.warn(explanation.warnings)
    explanation.emit(out)


@app.command()
@guarded
def compare(
    sources: Sources = None,
    y_true: YTrue = None, y_pred: YPred = None, sample_weight: Weight = None,
    true_cols: TrueCols = None, pred_cols: PredCols = None, weight_col: WeightCol = None,
    input_format: InputFormat = "auto", loss: Loss = "auto", from_logits: FromLogits = False,
    labels: Labels = None, class_weight: ClassWeight = None,
    profiles_: Annotated[str, typer.Option("--profiles", help="Comma-separated profiles.")] =
        "naive,keras,tf-keras,torch,sklearn,optax",
    all_: Annotated[bool, typer.Option("--all", help="Every profile.")] = False,
    label_smoothing: Smoothing = 0.0, reduction: Reduction = None, dtype: Dtype = None,
    format: Format = "auto", color: Color = "auto", output: Output = None, strict: Strict = False,
    quiet: Quiet = False,
) -> None:
    """One row per profile: value, first stage that differs from naive, largest per-sample gap.

    Examples:

    \b
      xent compare samples/keras_question.csv
      xent compare samples/logits.csv --from-logits --all
      xent compare preds.csv --profiles keras,tf-keras,torch,sklearn --format json
    """
    from xentropy_cli import api, render
    from xentropy_cli.core import profiles

    names = list(profiles.PROFILES) if all_ else [n for n in profiles_.split(",") if n.strip()]
    chosen = [profiles.get(n) for n in names]
    options = _options(label_smoothing, reduction, dtype, None, None, False, "e", None)
    inputs = _spec(sources, y_true, y_pred, sample_weight, true_cols, pred_cols, weight_col,
                   input_format, loss, from_logits, labels, class_weight).read()
    comparison = api.compare_inputs(inputs, chosen, options)  # the Python API's path
    comparison.emit(render.Output(format, color, output, quiet, strict))


@app.command()
@guarded
def grad(
    sources: Sources = None,
    y_true: YTrue = None, y_pred: YPred = None, sample_weight: Weight = None,
    true_cols: TrueCols = None, pred_cols: PredCols = None, weight_col: WeightCol = None,
    input_format: InputFormat = "auto", loss: Loss = "auto", from_logits: FromLogits = False,
    labels: Labels = None, class_weight: ClassWeight = None,
    profile: Profile = "naive", keras_compat: KerasCompat = False, label_smoothing: Smoothing = 0.0,
    reduction: Reduction = None, dtype: Dtype = None, normalise: Normalise = None,
    clip: Clip = None, no_clip: NoClip = False, base: Base = "e", kernel: Kernel = None,
    check: Annotated[bool, typer.Option("--check", help="Compare with central finite differences "
                                        "of the loss; exit 1 if they disagree.")] = False,
    cells: Annotated[int | None, typer.Option("--cells", metavar="N", help="Check N random cells "
                                              "(default: all, or 200 beyond 1000 cells).",
                                              show_default=False)] = None,
    surrogate: Annotated[bool, typer.Option("--surrogate", help="Show the surrogate "
                                            "((P − Q)·z).sum(−1).mean(), P = softmax(z) held "
                                            "constant: same gradient, no log (logits only).")] = False,
    example: Annotated[str | None, typer.Option(help="Use a built-in example: keras-question or "
                                                "tiny.")] = None,
    format: Format = "auto", color: Color = "auto", output: Output = None, strict: Strict = False,
    quiet: Quiet = False,
) -> None:
    """The gradient of the loss with respect to y_pred, with a finite-difference check.

    softmax(z) − y for logits, −y/p for probabilities, through the profile's normalise and clip
    (0 where the clip is active). Computed in float64.
    With no input and a terminal on stdin it uses the Keras question (--example keras-question).

    Examples:

    \b
      xent grad --check                              # the built-in Keras question
      xent grad -t '[[0,0,1],[1,0,0]]' -p '[[1,2,3],[0,0,0]]' --from-logits
      xent grad -t '[[0,1]]' -p '[[0.99999999999,1e-11]]' --keras-compat   # all 0: the clip stops learning
      xent grad logits.csv --from-logits --profile torch --check --cells 500
      xent grad logits.csv --from-logits --surrogate --format json
    """
    from xentropy_cli import api, render
    from xentropy_cli.core import grad as grad_core
    from xentropy_cli.core import profiles

    chosen = profiles.get(_profile_name(profile, keras_compat))
    options = _options(label_smoothing, reduction, dtype, normalise, clip, no_clip, base, kernel)
    if cells is not None and cells < 1:
        raise UsageError(f"--cells {cells} is not a positive number", hint="e.g. --cells 200")
    if cells is not None and not check:
        raise UsageError("--cells only applies to --check", hint="add --check")
    spec = _spec(sources, y_true, y_pred, sample_weight, true_cols, pred_cols, weight_col, input_format,
                 loss, from_logits, labels, class_weight)
    if example or (not spec.given and sys.stdin.isatty()):
        from xentropy_cli import examples

        inputs = examples.get(example or "keras-question")
    else:
        inputs = (spec if spec.given else replace(spec, sources=("-",))).read()
    gradient = api.grad_inputs(inputs, chosen, options, check, cells, surrogate)  # the Python API's path
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
      xent profiles --format json | jq '.[].name'
    """
    from xentropy_cli import api, render

    api.profiles().emit(render.Output(format, color, output, False, False))  # the Python API's path
