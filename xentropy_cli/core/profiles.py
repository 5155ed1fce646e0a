"""Each framework's cross-entropy convention, as data.

A profile names the ordered stages it runs for each kind of target (categorical, sparse,
binary) on probabilities and on logits, its dtype rule, epsilon, reduction and what it accepts.
Adding a framework means adding one ``Profile`` here and its golden fixtures.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from types import MappingProxyType
from typing import Literal, Union, get_args, get_origin, get_type_hints

from xentropy_cli.core.agreement import AGREEMENT
from xentropy_cli.core.choices import Kernel, Kind, Reduction
from xentropy_cli.errors import UsageError

CAST, SMOOTH, NORMALISE, CLIP, LOG, LOG1M = "cast", "smooth", "normalise", "clip", "log", "log1m"
SOFTMAX, LOG_SOFTMAX, RENORMALISE = "softmax", "log_softmax", "renormalise"
SIGMOID, LOG_SIGMOID = "sigmoid", "log_sigmoid"
COMBINE, REDUCE = "combine", "reduce"

# The stage every profile ends with, and the paths most of them share.
_TAIL = (COMBINE, REDUCE)
KERAS_PATHS = {
    "categorical": (CAST, SMOOTH, NORMALISE, CLIP, LOG) + _TAIL,
    "categorical/logits": (CAST, SMOOTH, LOG_SOFTMAX) + _TAIL,
    # The TensorFlow backend feeds log(clip(p)) to sparse_softmax_cross_entropy_with_logits.
    "sparse": (CAST, CLIP, LOG, RENORMALISE) + _TAIL,
    "sparse/logits": (CAST, LOG_SOFTMAX) + _TAIL,
    "binary": (CAST, SMOOTH, CLIP, LOG, LOG1M) + _TAIL,
    "binary/logits": (CAST, SMOOTH, LOG_SIGMOID) + _TAIL,
}
# The JAX, torch and numpy backends normalise sparse probabilities instead.
KERAS_OTHER_BACKEND_PATHS = {**KERAS_PATHS, "sparse": (CAST, NORMALISE, CLIP, LOG) + _TAIL}
KERAS_REDUCTIONS: tuple[Reduction, ...] = (
    "sum_over_batch_size", "none", "sum", "mean", "mean_with_sample_weight")


@dataclass(frozen=True)
class Profile:
    """One framework's convention. Every mode below is a ``Literal``: a value outside it is refused
    when the profile is built (``__post_init__``), so a typo cannot fall back to a default."""

    name: str
    framework: str
    models: str
    call: str
    dtype: Literal["float32", "float64", "input"]  # "input": compute in the input's dtype
    eps: float | Literal["finfo"] | None  # clip epsilon; "finfo" = machine epsilon of the dtype
    paths: Mapping[str, tuple[str, ...]]
    reduction: Reduction
    reductions: tuple[Reduction, ...]
    sample_weight: Literal["any", "per-sample", "none"] = "any"  # "any": scalar or per sample
    class_weight: bool = False
    smoothing: tuple[Kind, ...] = ("categorical", "binary")
    # where 1 − ε and ε/K are rounded to the dtype (stages.smooth): "tensor" (tf.keras), "keras"
    # (Keras 3: 1 − ε a Python float, ε/K = ε ÷ cast(K)), "python" (optax, torch: both Python floats)
    smoothing_rounding: Literal["tensor", "keras", "keras-torch", "python"] = "tensor"
    # Keras 3 returns a loss of shape () unreduced: one sample with a scalar weight is w·l under
    # every reduction (mean_with_sample_weight does not divide by w)
    one_sample_unreduced: bool = False
    # a single-number weight becomes a tensor of this dtype first (tf.keras: convert_to_tensor of
    # a Python float is float32, then cast to the losses' dtype); None: straight to the dtype
    scalar_weight_dtype: Literal["float32"] | None = None
    # how Σ w·l is added for reduction "sum" with per-sample weights: "sum" as every other sum
    # (kernel's order), "dot" numpy.dot (scikit-learn's np.average path for normalize=False)
    weighted_sum: Literal["sum", "dot"] = "sum"
    # how 0·log 0 comes out: "nan" as tensors multiply, "zero" = xlogy
    zero_times_inf: Literal["nan", "zero"] = "nan"
    zero_division: Literal["zero", "error"] = "zero"  # "zero" = divide_no_nan; "error" = refuse
    # reduction "mean" as Σ × fl(1/N): jnp.mean divides by a constant, which XLA's algebraic
    # simplifier turns into a multiplication by its reciprocal (optax users call jnp.mean)
    mean_by_reciprocal: bool = False
    binary_log_offset: float = 0.0
    log_floor: float | None = None  # binary cross-entropy on probabilities only (torch: −100)
    log1m: Literal["log", "log1p"] = "log"  # "log1p": log(1 − p) as log1p(−p) (torch's binary loss)
    binary_kernel: Kernel | None = None  # log kernel of binary on probabilities, when not ``kernel``
    # binary from logits, elementwise: "log_sigmoid" −(y·log σ(z) + (1−y)·log σ(−z)) (JAX, optax);
    # "tensorflow" (max(z, 0) − z·y) + log1p(exp(−|z|)); "torch" (1 − y)·z − log σ(z)
    binary_logits: Literal["log_sigmoid", "tensorflow", "torch"] = "log_sigmoid"
    # binary over K outputs: every profile's per-sample loss is the mean over the K outputs;
    # "mean": the framework reduces those per-sample means (Keras); "elements": it reduces its
    # elementwise (N, K) output itself (torch's sum adds all N·K elements and its mean divides
    # by N·K; optax users call jnp.sum / jnp.mean on sigmoid_binary_cross_entropy's output)
    binary_outputs: Literal["mean", "elements"] = "mean"
    # how sum and mean add the losses: "rows" the per-sample losses in the kernel's order;
    # "torch" as torch's F.cross_entropy / F.nll_loss do: sparse labels in nll_loss's own cascade
    # (kernels "torch-nll"), class-probability targets from logits as Σ over all N·K products
    # y·log p (then ÷ N)
    loss_total: Literal["rows", "torch"] = "rows"
    lse_kinds: tuple[Kind, ...] = ()  # kinds whose log-softmax is z − logsumexp(z) (optax labels)
    weight_promotion: bool = False  # weigh in numpy's promoted dtype of losses and weights (sklearn)
    flush_subnormals: bool = False  # TensorFlow and XLA set flush-to-zero: exp(−90) is 0 in float32
    sorted_labels: bool = False  # sparse labels are any values, mapped to sorted unique classes
    # What the framework does with input that parses but is degenerate (measured by
    # tools/gen_shapes.py, recorded in tests/golden/shapes.json):
    # a 1-D binary y (N,): "samples" (N samples), "one_sample" (Keras averages over the last axis:
    # one sample with N outputs; N per-sample weights broadcast), "one_sample_no_weights" (tf_keras:
    # per-sample weights raise)
    binary_1d: Literal["samples", "one_sample", "one_sample_no_weights"] = "samples"
    # sparse labels given as a column (N, 1): "squeeze" (read as N labels), "refuse" (optax's
    # integer-label loss and torch's nll_loss/cross_entropy raise on it)
    label_column: Literal["squeeze", "refuse"] = "squeeze"
    # sparse labels that are not integers: "truncate" (cast to int), "refuse"
    fractional_labels: Literal["truncate", "refuse"] = "refuse"
    # labels outside 0..K−1: "refuse"; "zero" (JAX one_hot: an all-zero row, loss −0·Σ log p);
    # "zero_negative" (numpy one_hot: negative labels give a zero row, labels ≥ K raise);
    # "take" (jnp.take_along_axis: negative labels count from the end, the rest read nan)
    label_range: Literal["refuse", "zero", "zero_negative", "take"] = "refuse"
    # binary on probabilities: "any" (computed as given); "unit" (torch's binary_cross_entropy
    # raises unless 0 ≤ p ≤ 1 and 0 ≤ y ≤ 1, nan included); "unit_after_clip" (Keras's torch
    # backend clips p first, so only a nan p or a y outside [0, 1] raises)
    binary_range: Literal["any", "unit", "unit_after_clip"] = "any"
    finite_inputs: bool = False  # scikit-learn's check_array raises on nan and inf
    kernel: Kernel = "numpy"
    agreement: str = ""
    refusals: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, allowed in _choices().items():
            value = getattr(self, name)
            for item in value if isinstance(value, tuple) else (value,):
                if item not in allowed and not (name == "eps" and isinstance(item, float)):
                    raise ValueError(f"profile {self.name}: {name} {item!r} is not one of {allowed}")

    def __reduce__(self) -> tuple:
        """Pickled by name when it is one of PROFILES (its mapping proxies do not pickle): worker
        processes started by spawn or forkserver, and Dask workers, get the same value."""
        if PROFILES.get(self.name) is self:
            return (get, (self.name,))
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["paths"], values["refusals"] = dict(self.paths), dict(self.refusals)
        return (_rebuilt, (values,))

    def path(self, kind: str, from_logits: bool) -> tuple[str, ...]:
        key = f"{kind}/logits" if from_logits else kind
        if key not in self.paths:
            reason = self.refusals.get(key) or self.refusals.get(
                "logits" if from_logits else "probabilities"
            )
            what = f"{kind} targets on {'logits' if from_logits else 'probabilities'}"
            raise UsageError(
                f"profile {self.name} has no {what}",
                hint=reason or "choose another --profile (see `xent profiles`)",
            )
        return self.paths[key]

    def shapes(self) -> str:
        """How the framework reads the rank of what it is given (``xent profiles`` prints it)."""
        one_d = {
            "samples": "1-D binary y and p (N,): N samples",
            "one_sample": "1-D binary y and p (N,): one sample of N outputs (it averages over the "
                          "last axis: none and sum give one loss, their mean; N weights each weigh "
                          "it)",
            "one_sample_no_weights": "1-D binary y and p (N,): one sample of N outputs (it "
                                     "averages over the last axis; N sample weights raise)",
        }[self.binary_1d]
        if self.sorted_labels:
            multi = "a y_pred of K ≥ 2 columns is one column per class (no multi-output binary)"
        elif self.binary_outputs == "elements":
            multi = ("binary (N, K): per sample the mean of the K outputs; sum and mean reduce all "
                     "N·K elements, as the framework reduces its elementwise output")
        else:
            multi = "binary (N, K): per sample the mean of the K outputs; sum and mean reduce those"
        labels = ("sparse labels (N,); a column (N, 1) raises" if self.label_column == "refuse"
                  else "sparse labels (N,) or (N, 1)")
        return f"{one_d}; {multi}; {labels}; CSV columns are (N, 1): one sample per row"

    def eps_for(self, dtype) -> float | None:
        import numpy as np

        if self.eps == "finfo":
            return float(np.finfo(dtype).eps)
        return self.eps


def _rebuilt(values: dict) -> Profile:
    return Profile(**{**values, "paths": _frozen(values["paths"])})


@cache
def _choices() -> dict[str, tuple[object, ...]]:
    """Each Literal-typed field of Profile and the values it allows (tuples: per element)."""
    def allowed(hint: object) -> tuple[object, ...]:
        origin = get_origin(hint)
        if origin is Literal:
            return get_args(hint)
        if origin in (Union, types.UnionType, tuple):
            return tuple(v for arg in get_args(hint) if arg is not Ellipsis
                         for v in ((None,) if arg is type(None) else allowed(arg)))
        return ()

    hints = get_type_hints(Profile)
    out = {f.name: allowed(hints[f.name]) for f in fields(Profile)}
    return {name: values for name, values in out.items() if values and values != (None,)}


def _measured(name: str, why: str) -> str:
    """The agreement figures tools/corpus_check.py measured on the differential corpus
    (core/agreement.py, generated), then what the remaining differences come from."""
    return f"{AGREEMENT[name]}. {why}" if name in AGREEMENT else why


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(dict(d))


NAIVE = Profile(
    name="naive",
    framework="the textbook formula",
    models="numpy, float64",
    call="-np.sum(np.where(y == 0, 0, y * np.log(p)), axis=-1).mean()  # 0·log 0 = 0",
    dtype="float64",
    eps=None,
    paths=_frozen({
        "categorical": (CAST, SMOOTH, LOG) + _TAIL,
        "categorical/logits": (CAST, SMOOTH, SOFTMAX, LOG) + _TAIL,
        "sparse": (CAST, LOG) + _TAIL,
        "sparse/logits": (CAST, SOFTMAX, LOG) + _TAIL,
        "binary": (CAST, SMOOTH, LOG, LOG1M) + _TAIL,
        "binary/logits": (CAST, SMOOTH, SIGMOID, LOG, LOG1M) + _TAIL,
    }),
    reduction="mean",
    reductions=("mean", "none", "sum", "sum_over_batch_size", "mean_with_sample_weight"),
    zero_times_inf="zero",
    agreement=_measured(
        "naive",
        "numpy float64 textbook code: it follows the local numpy, whose log and exp take "
        "other CPU paths with AVX-512, as the textbook code on that machine does",
    ),
)

KERAS = Profile(
    name="keras",
    framework="Keras 3, TensorFlow backend",
    models="keras 3.15.1, tensorflow 2.21.0",
    call="keras.losses.CategoricalCrossentropy() (Sparse…, Binary…)",
    dtype="float32",
    eps=1e-7,
    paths=_frozen(KERAS_PATHS),
    reduction="sum_over_batch_size",
    reductions=KERAS_REDUCTIONS,
    smoothing_rounding="keras",
    one_sample_unreduced=True,
    smoothing=("categorical", "binary"),
    binary_logits="tensorflow",
    flush_subnormals=True,
    kernel="tensorflow",
    refusals={"sparse/smooth": "Keras's sparse losses take no label_smoothing"},
    binary_1d="one_sample",
    fractional_labels="truncate",
    agreement=_measured(
        "keras",
        "TensorFlow's log, exp, log1p and sums are emulated bit for bit",
    ),
)

KERAS_JAX = Profile(
    name="keras-jax",
    framework="Keras 3, JAX backend",
    models="keras 3.15.1, jax 0.10.2",
    call="keras.losses.CategoricalCrossentropy() with KERAS_BACKEND=jax",
    dtype="float32",
    eps=1e-7,
    paths=_frozen(KERAS_OTHER_BACKEND_PATHS),
    reduction="sum_over_batch_size",
    reductions=KERAS_REDUCTIONS,
    smoothing_rounding="keras",
    one_sample_unreduced=True,
    flush_subnormals=True,
    kernel="xla",
    binary_1d="one_sample",
    fractional_labels="truncate",
    label_range="zero",
    agreement=_measured(
        "keras-jax",
        "XLA's log, exp, log1p and sums emulated; rows over 80 columns (YNNPACK) and "
        "XLA's fusion of a batch's ops are not",
    ),
)

KERAS_TORCH = Profile(
    name="keras-torch",
    framework="Keras 3, PyTorch backend",
    models="keras 3.15.1, torch 2.13.0",
    call="keras.losses.CategoricalCrossentropy() with KERAS_BACKEND=torch",
    dtype="float32",
    eps=1e-7,
    paths=_frozen(KERAS_OTHER_BACKEND_PATHS),
    reduction="sum_over_batch_size",
    reductions=KERAS_REDUCTIONS,
    smoothing_rounding="keras-torch",
    one_sample_unreduced=True,
    # binary goes through torch's F.binary_cross_entropy(_with_logits): scalar logf, log1p(−p)
    log1m="log1p",
    binary_kernel="glibc",
    binary_logits="torch",
    kernel="torch",
    binary_1d="one_sample",
    fractional_labels="truncate",
    binary_range="unit_after_clip",
    agreement=_measured(
        "keras-torch",
        "log-softmax and log-sigmoid emulated bit for bit (SLEEF's expf, logf and log1pf, ATen's "
        "order of addition); torch.log on probabilities is MKL's vsLn (closed source), whose "
        "stand-in, the correctly rounded log, is at most 1 ulp away",
    ),
)

KERAS_NUMPY = Profile(
    name="keras-numpy",
    framework="Keras 3, NumPy backend",
    models="keras 3.15.1, numpy backend",
    call="keras.losses.CategoricalCrossentropy() with KERAS_BACKEND=numpy",
    dtype="float32",
    eps=1e-7,
    paths=_frozen({
        **KERAS_OTHER_BACKEND_PATHS,
        # The numpy backend has no log-sigmoid: it applies sigmoid, then clips as for probabilities.
        "binary/logits": (CAST, SMOOTH, SIGMOID, CLIP, LOG, LOG1M) + _TAIL,
    }),
    reduction="sum_over_batch_size",
    reductions=KERAS_REDUCTIONS,
    smoothing_rounding="keras",
    one_sample_unreduced=True,
    kernel="numpy",
    binary_1d="one_sample",
    fractional_labels="truncate",
    label_range="zero_negative",
    agreement=_measured(
        "keras-numpy",
        "the NumPy backend is numpy: it follows the local numpy (other CPU paths with "
        "AVX-512)",
    ),
)

TF_KERAS = Profile(
    name="tf-keras",
    framework="tf.keras (Keras 2)",
    models="tf_keras 2.21.0, tensorflow 2.21.0",
    call="tf_keras.losses.CategoricalCrossentropy()",
    dtype="input",
    eps=1e-7,
    paths=_frozen(KERAS_PATHS),
    reduction="sum_over_batch_size",
    reductions=("sum_over_batch_size", "none", "sum"),
    scalar_weight_dtype="float32",
    binary_log_offset=1e-7,
    binary_logits="tensorflow",
    flush_subnormals=True,
    kernel="tensorflow",
    refusals={"reduction": "tf.keras has no mean_with_sample_weight reduction"},
    binary_1d="one_sample_no_weights",
    fractional_labels="truncate",
    agreement=_measured(
        "tf-keras",
        "TensorFlow's float32 and float64 kernels emulated",
    ),
)

TORCH = Profile(
    name="torch",
    framework="PyTorch",
    models="torch 2.13.0",
    call="F.nll_loss(log p) / F.cross_entropy(logits) / F.binary_cross_entropy(p)",
    dtype="float32",
    eps=None,
    paths=_frozen({
        # On probabilities torch is handed log p: nothing normalises or clips it.
        "categorical": (CAST, SMOOTH, LOG) + _TAIL,
        "categorical/logits": (CAST, SMOOTH, LOG_SOFTMAX) + _TAIL,
        "sparse": (CAST, SMOOTH, LOG) + _TAIL,
        "sparse/logits": (CAST, SMOOTH, LOG_SOFTMAX) + _TAIL,
        "binary": (CAST, LOG, LOG1M) + _TAIL,
        "binary/logits": (CAST, LOG_SIGMOID) + _TAIL,
    }),
    reduction="mean",
    reductions=("mean", "none", "sum"),
    sample_weight="none",
    class_weight=True,
    smoothing=("categorical", "sparse"),
    smoothing_rounding="python",  # target * (1 - ls) + ls / K: both Python floats, cast once
    log_floor=-100.0,
    log1m="log1p",
    binary_kernel="glibc",  # F.binary_cross_entropy is a scalar loop: std::log, std::log1p
    binary_logits="torch",
    binary_outputs="elements",  # reduction="sum" adds every output, "mean" divides by N·K
    kernel="torch",
    refusals={"sample_weight": "torch losses take no sample weight; multiply reduction='none' "
                               "losses yourself, or use --profile keras",
              "sparse/column": "nll_loss and cross_entropy take class indices of shape (N,): "
                               "'0D or 1D target tensor expected, multi-target not supported'"},
    binary_range="unit",
    label_column="refuse",
    loss_total="torch",
    agreement=_measured(
        "torch",
        "log-softmax, log-sigmoid, nll_loss's sums and label smoothing emulated bit for bit "
        "(SLEEF's expf, logf and log1pf, as on AVX-512 and AVX2); torch.log on probabilities is "
        "MKL's vsLn (closed source), whose stand-in, the correctly rounded log, is at most 1 ulp "
        "away; a 1-D sum of 32768+ values is split as by one thread",
    ),
)

SKLEARN = Profile(
    name="sklearn",
    framework="scikit-learn log_loss",
    models="scikit-learn 1.9.1",
    call="sklearn.metrics.log_loss(y_true, y_proba, sample_weight=w)",
    dtype="input",
    eps="finfo",
    paths=_frozen({
        "categorical": (CAST, CLIP, LOG) + _TAIL,
        "sparse": (CAST, CLIP, LOG) + _TAIL,
        "binary": (CAST, CLIP, LOG, LOG1M) + _TAIL,
    }),
    reduction="mean_with_sample_weight",
    reductions=("mean_with_sample_weight", "sum", "none"),
    sample_weight="per-sample",
    weighted_sum="dot",
    weight_promotion=True,  # np.average(float32 losses, float64 weights) is float64
    smoothing=(),
    zero_times_inf="zero",
    zero_division="error",
    sorted_labels=True,
    refusals={
        "logits": "log_loss takes probabilities: apply softmax first, or use --profile torch, "
                  "optax or keras with --from-logits",
        "sample_weight": "log_loss rejects a single number as sample_weight: give one weight "
                         "per sample",
        "reduction": "log_loss(normalize=True), its default, is --reduction mean_with_sample_weight "
                     "(Σ w·l ÷ Σ w; ÷ N without weights); normalize=False is --reduction sum",
    },
    finite_inputs=True,
    agreement=_measured(
        "sklearn",
        "numpy: it follows the local numpy (its log takes other CPU paths with AVX-512) and "
        "its BLAS dot for weighted sums",
    ),
)

OPTAX = Profile(
    name="optax",
    framework="optax",
    models="optax 0.2.8, jax 0.10.2",
    call="optax.softmax_cross_entropy(logits, labels) (…_with_integer_labels, "
         "sigmoid_binary_cross_entropy)",
    dtype="float32",
    eps=None,
    paths=_frozen({
        "categorical/logits": (CAST, SMOOTH, LOG_SOFTMAX) + _TAIL,
        "sparse/logits": (CAST, LOG_SOFTMAX) + _TAIL,
        "binary/logits": (CAST, SMOOTH, LOG_SIGMOID) + _TAIL,
    }),
    reduction="none",
    reductions=("none", "mean", "sum"),
    sample_weight="none",
    smoothing_rounding="python",  # (1.0 - alpha) * labels + alpha / num_categories (an int)
    smoothing=("categorical",),  # optax.smooth_labels: (1 − α)·y + α/K over the classes
    lse_kinds=("sparse",),  # softmax_cross_entropy_with_integer_labels: logsumexp(z) − z[label]
    flush_subnormals=True,
    kernel="xla",
    refusals={
        "probabilities": "optax losses take logits: pass --from-logits with logits, or "
                         "log-probabilities as logits, or use --profile keras",
        "sample_weight": "optax losses take no sample weight; weigh the per-example losses "
                         "yourself, or use --profile keras",
        "binary/smooth": "optax.smooth_labels spreads α over the classes of a categorical "
                         "target; smooth binary targets yourself",
        "sparse/column": "softmax_cross_entropy_with_integer_labels wants labels of one dimension "
                         "less than the logits: 'indices and arr must have the same number of "
                         "dimensions'",
    },
    binary_outputs="elements",
    mean_by_reciprocal=True,
    label_column="refuse",
    label_range="take",
    agreement=_measured(
        "optax",
        "XLA's exp, log1p, sums and jnp.mean (Σ × fl(1/N)) are emulated; rows over 80 columns "
        "(YNNPACK) are not, nor the sum over all N·K outputs of a multi-output binary loss: XLA "
        "compiles that reduction for the host CPU, where LLVM vectorises it with reassociated "
        "adds in an order its cost model picks",
    ),
)

PROFILES: Mapping[str, Profile] = MappingProxyType({
    p.name: p for p in (NAIVE, KERAS, KERAS_JAX, KERAS_TORCH, KERAS_NUMPY, TF_KERAS, TORCH, SKLEARN,
                        OPTAX)
})


ALIASES: Mapping[str, str] = MappingProxyType({
    "tf.keras": "tf-keras", "tfkeras": "tf-keras", "keras-tf": "keras", "keras-tensorflow": "keras",
    "pytorch": "torch", "scikit-learn": "sklearn", "textbook": "naive", "keras3": "keras",
    "keras2": "tf-keras"})


def canonical(name: str) -> str:
    """The profile name ``name`` stands for (case, ``_`` and aliases folded); maybe not a profile."""
    key = name.strip().lower().replace("_", "-")
    return ALIASES.get(key, key)


def get(name: str) -> Profile:
    key = canonical(name)
    if key not in PROFILES:
        raise UsageError(f"unknown profile {name!r}", hint=f"choose one of {', '.join(PROFILES)}")
    return PROFILES[key]
