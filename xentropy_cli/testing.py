"""Check a port of a loss against a profile's exact values, without installing the framework.

    from xentropy_cli.testing import assert_matches

    def my_keras_loss(y_true, y_pred):           # numpy in, one number out
        ...

    assert_matches(my_keras_loss, profile="keras-numpy")          # bit for bit (rtol=0)

``assert_matches`` generates seeded cases (exact 0 and 1, tiny values, rows not summing to 1,
logits of ±1000, ties …), calls your function on each, and compares with the value xent computes
for the profile. On the first difference it raises an AssertionError showing that case, both
values and the stage where your function and the profile part ways (found by re-running the
profile with one stage changed at a time until one reproduces your numbers).

What "passes" means
-------------------
``rtol=0.0`` asks for the very bits xent computes for the profile, on every case. xent matches
each framework to the degree ``xent profiles`` states (Keras with TensorFlow: bit-identical per
sample on the golden cases), so a pass means your function returns what that framework returns,
bit for bit, on these cases.

Bits depend on the log kernel and on the order of additions, not only on the formula. TensorFlow's
float32 log (Eigen's polynomial, emulated in ``xentropy_cli.core.kernels``) differs from numpy's,
torch's and XLA's by 1–4 ulp on about a quarter of values. So a faithful numpy port of Keras's
formula (np.log, np.sum) matches ``profile="keras-numpy"`` (Keras on its numpy backend) bit for
bit, but against ``profile="keras"`` (the TensorFlow backend) it fails at rtol=0, naming the
``log`` stage; it passes there with ``rtol=1e-6`` (a few float32 ulp). A JAX port should be checked
against ``keras-jax``, a torch port against ``keras-torch``. numpy's own float32 log also gives
different bits on CPUs with and without AVX-512, exactly as real numpy code does on those machines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from xentropy_cli.api import compute_inputs
from xentropy_cli.convert import get_profile, make_options
from xentropy_cli.core.choices import Kernel, Kind
from xentropy_cli.core.profiles import CLIP, LOG_SIGMOID, LOG_SOFTMAX, NORMALISE, Profile
from xentropy_cli.core.types import Inputs, Options
from xentropy_cli.errors import UsageError, XentError

__all__ = ["assert_matches", "generate_cases", "Case"]

Array = npt.NDArray[Any]
LossFn = Callable[..., Any]
_DIAGNOSED_CASES = 12  # differing cases each candidate explanation is tried on
_KERNELS: tuple[Kernel, ...] = ("tensorflow", "xla", "torch", "numpy")
_KERNEL_NAMES = {"tensorflow": "TensorFlow's (Eigen)", "xla": "XLA's (JAX)", "torch": "torch's (MKL)",
                 "numpy": "numpy's"}


@dataclass(frozen=True)
class Case:
    """One generated input: ``y_true`` (float32 targets, or int64 labels for sparse) and ``y_pred``
    (float32 probabilities or logits), and what makes it an edge case."""

    index: int
    y_true: Array
    y_pred: Array
    flavour: str


# --- the cases ------------------------------------------------------------------------------------

def generate_cases(loss: Kind = "categorical", from_logits: bool = False, cases: int = 200,
                   seed: int = 0) -> list[Case]:
    """The cases ``assert_matches`` uses: the same list for the same arguments, on every machine."""
    if loss not in ("categorical", "sparse", "binary"):
        raise UsageError(f"unknown loss {loss!r}", hint="choose categorical, sparse or binary")
    if cases < 1:
        raise UsageError(f"cases={cases} is not a positive number", hint="e.g. cases=200")
    rng = np.random.default_rng(seed)
    fixed = _fixed_cases(loss, from_logits)
    out = [Case(i, y, p, flavour) for i, (y, p, flavour) in enumerate(fixed[:cases])]
    flavours = _LOGIT_FLAVOURS if from_logits else _PROB_FLAVOURS
    while len(out) < cases:
        flavour = flavours[len(out) % len(flavours)]
        n = int(rng.integers(1, 9))
        k = int(rng.integers(1, 5)) if loss == "binary" else int(rng.integers(2, 7))
        pred = _logits(rng, flavour, n, k) if from_logits else _probabilities(rng, flavour, n, k, loss)
        out.append(Case(len(out), _targets(rng, loss, n, k, flavour), pred, flavour))
    return out


_PROB_FLAVOURS = ("sums to 1", "exact 0 and 1", "rows not summing to 1", "tiny values", "near 1",
                  "soft targets", "sums to 1", "one-hot predictions")
_LOGIT_FLAVOURS = ("normal logits", "logits of ±1000", "tied logits", "large logits", "soft targets",
                   "normal logits", "mixed 0 and ±1000")


def _fixed_cases(loss: str, from_logits: bool) -> list[tuple[Array, Array, str]]:
    f32 = np.float32
    if from_logits:
        y = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], f32)
        z = np.array([[1, 2, 3], [0, 0, 0], [1000, -1000, 0]], f32)
        if loss == "sparse":
            return [(np.array([2, 0, 1]), z, "seed logits")]
        if loss == "binary":
            return [(y, z, "seed logits")]
        return [(y, z, "seed logits")]
    if loss == "categorical":
        return [
            (np.eye(3, dtype=f32), np.array([[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]], f32),
             "the Keras question (row 2 sums to 1.99)"),
            (np.array([[0, 1]], f32), np.array([[0.99999999999, 1e-11]], f32),
             "the Keras question's 1×2 case (1e-11 is clipped)"),
        ]
    if loss == "sparse":
        return [(np.array([1, 0]), np.array([[.3, .3, .4], [0, .5, .5]], f32), "exact 0 for a label")]
    return [(np.array([[0], [0], [1], [1]], f32), np.array([[1], [1], [1], [0]], f32),
             "exact 0 and 1 (y=[0,0,1,1], p=[1,1,1,0])")]


def _targets(rng: np.random.Generator, loss: str, n: int, k: int, flavour: str) -> Array:
    if loss == "sparse":
        return rng.integers(0, k, n).astype(np.int64)
    if loss == "binary":
        if flavour == "soft targets":
            return rng.random((n, k)).astype(np.float32)
        return rng.integers(0, 2, (n, k)).astype(np.float32)
    if flavour == "soft targets":
        return rng.dirichlet(np.ones(k), n).astype(np.float32)
    return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


def _probabilities(rng: np.random.Generator, flavour: str, n: int, k: int, loss: str) -> Array:
    if loss == "binary":
        p = rng.random((n, k))
        if flavour in ("exact 0 and 1", "one-hot predictions"):
            p = np.where(rng.random((n, k)) < 0.5, np.round(p), p)
        elif flavour == "tiny values":
            p = np.where(rng.random((n, k)) < 0.5, 10.0 ** -rng.uniform(6, 40, (n, k)), p)
        elif flavour == "near 1":
            p = 1 - 10.0 ** -rng.uniform(5, 12, (n, k))
        return p.astype(np.float32)
    p = rng.dirichlet(np.ones(k) * rng.choice([0.3, 1.0, 3.0]), n)
    if flavour == "exact 0 and 1":
        p = np.where(rng.random((n, k)) < 0.3, 0.0, p)
        p[rng.integers(0, n)] = np.eye(k)[rng.integers(0, k)]
        empty = np.flatnonzero(p.sum(axis=1) == 0)  # an all-zero row is no distribution
        p[empty, rng.integers(0, k, empty.size)] = 1.0
    elif flavour == "one-hot predictions":
        p = np.eye(k)[rng.integers(0, k, n)]
    elif flavour == "rows not summing to 1":
        p = np.minimum(p * rng.uniform(0.3, 2.5, (n, 1)), 1.0)
    elif flavour == "tiny values":
        p = np.where(rng.random((n, k)) < 0.4, 10.0 ** -rng.uniform(6, 40, (n, k)), p)
    elif flavour == "near 1":
        big = rng.integers(0, k, n)
        p = np.full((n, k), 0.0)
        p[np.arange(n), big] = 1 - 10.0 ** -rng.uniform(5, 12, n)
        p += 10.0 ** -rng.uniform(8, 13, (n, k)) * (p == 0)
    return p.astype(np.float32)


def _logits(rng: np.random.Generator, flavour: str, n: int, k: int) -> Array:
    z = rng.normal(0, 3, (n, k))
    if flavour == "logits of ±1000":
        z = rng.choice([-1000.0, 1000.0], (n, k)) + rng.normal(0, 1, (n, k))
    elif flavour == "tied logits":
        z = np.repeat(rng.normal(0, 3, (n, 1)), k, axis=1)
    elif flavour == "large logits":
        z = rng.normal(0, 60, (n, k))
    elif flavour == "mixed 0 and ±1000":
        z = np.where(rng.random((n, k)) < 0.5, 0.0, rng.choice([-1000.0, 1000.0], (n, k)))
    return z.astype(np.float32)


# --- comparing ------------------------------------------------------------------------------------

def _as_numbers(value: object) -> Array:
    from xentropy_cli.convert import as_array

    if isinstance(value, int | float | np.generic):
        return np.asarray(value, dtype=np.float64)
    return np.asarray(as_array(value, "the loss"), dtype=np.float64)


def _same(mine: Array, theirs: Array, rtol: float) -> bool:
    if mine.shape != theirs.shape:
        return False
    if rtol == 0:
        return bool(np.array_equal(mine, theirs, equal_nan=True))
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isclose(mine, theirs, rtol=rtol, atol=0.0, equal_nan=True)))


def _expected(inputs: Inputs, profile: Profile, options: Options) -> Array:
    result = compute_inputs(inputs, profile, options)
    return np.asarray(result.per_sample if result.reduction == "none" else result.value, np.float64)


def _ulps(a: float, b: float) -> str:
    """How far apart two float32 values are, in float32 units in the last place."""
    if not (math.isfinite(a) and math.isfinite(b)) or np.float32(a) != a or np.float32(b) != b:
        return ""

    def ordered(x: float) -> int:
        bits = int(np.array(x, np.float32).view(np.int32))
        return bits if bits >= 0 else -(bits & 0x7FFFFFFF)

    return f" ({abs(ordered(a) - ordered(b))} float32 ulp apart)"


# --- which stage: re-run the profile with one stage changed ---------------------------------------------

@dataclass(frozen=True)
class _Variant:
    stage: str  # where it departs from the profile
    what: str  # what the changed stage does, in words
    profile: Profile
    options: Options
    order: int  # position of the stage in the pipeline (ties go to the earlier stage)
    kernel_changed: bool


def _variants(profile: Profile, loss: str, from_logits: bool, base: Options) -> list[_Variant]:
    from xentropy_cli.core import profiles as all_profiles

    path = profile.path(loss, from_logits)
    structural: list[tuple[str, str, Profile, Options]] = []
    if profile.dtype != "float64":
        structural.append(("cast", "computes in float64, not float32", profile,
                           replace(base, dtype="float64")))
    if NORMALISE in path:
        structural.append((NORMALISE, "does not divide each row of y_pred by its sum", profile,
                           replace(base, normalise=False)))
    elif not from_logits and loss != "binary":
        structural.append((NORMALISE, "divides each row of y_pred by its sum", profile,
                           replace(base, normalise=True)))
    if CLIP in path:
        structural.append((CLIP, "does not clip y_pred into [ε, 1 − ε]", profile, replace(base, clip=False)))
        for eps in (1e-7, 1e-15, float(np.finfo(np.float32).eps)):
            if eps != profile.eps:
                structural.append((CLIP, f"clips at ε = {eps:g}, not {profile.eps}", profile,
                                   replace(base, clip=eps)))
    elif "log" in path:
        structural.append((CLIP, "clips y_pred into [1e-7, 1 − 1e-7]", profile, replace(base, clip=1e-7)))
    for stage, naive_stage in ((LOG_SOFTMAX, "softmax, then the log"),
                               (LOG_SIGMOID, "the sigmoid, then the log")):
        if stage in path:
            structural.append((stage, f"takes {naive_stage} (not {stage})", all_profiles.NAIVE,
                               replace(base, dtype=None if profile.dtype == "input" else profile.dtype)))
    if profile.reduction != "none":
        for reduction, what in (("sum", "adds the per-sample losses instead of averaging them"),
                                ("mean", "averages the per-sample losses")):
            if reduction != profile.reduction and reduction in profile.reductions:
                if not (reduction == "mean" and profile.reduction == "sum_over_batch_size"):
                    structural.append(("reduce", what, profile, replace(base, reduction=reduction)))
    order = {name: i for i, name in enumerate(path)}
    kernels = [None] + [k for k in _KERNELS if k != profile.kernel]
    out = [_Variant("log", f"uses {_KERNEL_NAMES[k]} log and sums, not {_KERNEL_NAMES.get(profile.kernel)}",
                    profile, replace(base, kernel=k), order.get("log", order.get(LOG_SOFTMAX, 0)), True)
           for k in kernels if k is not None]
    for stage, what, other, options in structural:
        for k in kernels:
            suffix = "" if k is None else f", and uses {_KERNEL_NAMES[k]} log and sums"
            out.append(_Variant(stage, what + suffix, other, replace(options, kernel=k),
                                order.get(stage, len(order)), k is not None))
    return out


def _diagnose(fails: Sequence[tuple[Case, Inputs, Array]], variants: Sequence[_Variant],
              rtol: float) -> tuple[_Variant | None, int]:
    """The variant that reproduces the user's values on the most differing cases."""
    best: tuple[_Variant | None, int] = (None, 0)
    best_key: tuple[int, int, int] | None = None
    for variant in variants:
        matched = 0
        for _case, inputs, mine in fails:
            try:
                theirs = _expected(inputs, variant.profile, variant.options)
            except XentError:
                continue
            matched += _same(mine, theirs, rtol)
        key = (-matched, int(variant.kernel_changed), variant.order)
        if matched and (best_key is None or key < best_key):
            best, best_key = (variant, matched), key
    return best


def _shown(a: Array) -> str:
    return np.array2string(np.asarray(a), separator=", ", floatmode="unique", max_line_width=100,
                           threshold=60)


def _stage_dump(inputs: Inputs, profile: Profile, options: Options) -> str:
    result = compute_inputs(inputs, profile, options)
    lines = []
    for name, stage in result.stages.items():
        text = _shown(np.asarray(stage.array)).replace("\n", "\n      ")
        lines.append(f"    {name}: {text}")
    return "\n".join(lines)


# --- the assertion --------------------------------------------------------------------------------

def assert_matches(loss_fn: LossFn, profile: str | Profile = "keras", loss: Kind = "categorical",
                   from_logits: bool = False, cases: int = 200, seed: int = 0, rtol: float = 0.0, *,
                   converter: Callable[[Array], Any] | None = None) -> None:
    """Assert that ``loss_fn(y_true, y_pred)`` gives the profile's value on generated cases.

    ``loss_fn`` takes float32 numpy arrays (int64 labels for ``loss="sparse"``) and returns one
    number (or, for a profile that does not reduce, one per sample), as anything numpy can read.
    ``converter``: applied to each input array first (e.g. ``torch.from_numpy`` or ``jnp.asarray``).
    ``rtol=0.0``: identical bits (see the module docstring for what that can mean for a port).
    Cases the profile refuses (as its framework raises) are skipped.

    Raises AssertionError naming the first differing case, both values, and the stage where your
    function and the profile part ways.
    """
    chosen = get_profile(profile)
    if loss not in ("categorical", "sparse", "binary"):
        raise UsageError(f"unknown loss {loss!r}", hint="choose categorical, sparse or binary")
    if not rtol >= 0:
        raise UsageError(f"rtol={rtol} is negative", hint="0.0 asks for identical bits")
    chosen.path(loss, from_logits)  # refuses at once what the framework never computes
    options = make_options()
    fails: list[tuple[Case, Inputs, Array]] = []
    first: tuple[Case, Array, Array] | None = None
    checked = refused = 0
    for case in generate_cases(loss, from_logits, cases, seed):
        inputs = Inputs(case.y_true, case.y_pred, kind=loss, from_logits=from_logits,
                        source=f"case {case.index}")
        try:
            theirs = _expected(inputs, chosen, options)
        except XentError:
            refused += 1
            continue
        args = (case.y_true.copy(), case.y_pred.copy())
        try:
            out = loss_fn(*(args if converter is None else map(converter, args)))
        except Exception as exc:
            exc.add_note(f"xentropy_cli.testing: loss_fn raised on case {case.index} ({case.flavour}): "
                         f"y_true={_shown(case.y_true)}, y_pred={_shown(case.y_pred)}")
            raise
        mine = _as_numbers(out)
        if mine.size == 1 and theirs.ndim == 0:
            mine = mine.reshape(())
        checked += 1
        if not _same(mine, theirs, rtol):
            fails.append((case, inputs, mine))
            if first is None:
                first = (case, mine, theirs)
    if first is None:
        if checked == 0:
            raise UsageError(f"profile {chosen.name} refused all {cases} generated cases",
                             hint="choose the loss and from_logits your framework accepts")
        return
    raise AssertionError(_failure(chosen, loss, from_logits, rtol, first, fails, checked, refused, options,
                                  seed))


def _failure(profile: Profile, loss: str, from_logits: bool, rtol: float,
             first: tuple[Case, Array, Array], fails: Sequence[tuple[Case, Inputs, Array]],
             checked: int, refused: int, options: Options, seed: int) -> str:
    case, mine, theirs = first
    tried = fails[:_DIAGNOSED_CASES]
    variant, matched = _diagnose(tried, _variants(profile, loss, from_logits, options), rtol)
    equal = "identical bits" if rtol == 0 else f"rtol={rtol:g}"
    lines = [
        f"loss_fn differs from profile {profile.name} ({profile.framework}, {profile.models}) "
        f"in {len(fails)} of {checked} cases ({equal}"
        f"{f'; {refused} cases the profile refuses were skipped' if refused else ''}).",
        f"First differing case: case {case.index} ({case.flavour}, {loss}"
        f"{' from logits' if from_logits else ''}):",
        f"  y_true = {_shown(case.y_true)}".replace("\n", "\n           "),
        f"  y_pred = {_shown(case.y_pred)}".replace("\n", "\n           "),
        f"  loss_fn:        {_shown(mine)}",
        f"  {profile.name + ':':<15} {_shown(theirs)}"
        + (_ulps(float(mine), float(theirs)) if mine.ndim == 0 and theirs.ndim == 0 else ""),
    ]
    change = "" if variant is None else (
        f"loss_fn gives what {profile.name} gives if its {variant.stage} stage is changed so that it "
        f"{variant.what} ({matched} of the {len(tried)} differing cases tried match that exactly)")
    if variant is not None and matched == len(tried):
        lines.append(f"They part ways at the {variant.stage} stage: {change}.")
    elif variant is not None and 2 * matched >= len(tried):
        lines.append(f"They most likely part ways at the {variant.stage} stage: {change}.")
    else:
        closest = "" if variant is None else f" (the closest: {change})"
        lines.append("No single change of one stage (dtype, normalise, clip, log kernel, log-softmax, "
                     f"reduction) reproduces loss_fn's values, so the stage is not known{closest}; "
                     "the profile's stages on this case, to compare with your function's:\n"
                     + _stage_dump(fails[0][1], profile, options))
    lines.append(f"Regenerate the case: xentropy_cli.testing.generate_cases({loss!r}, {from_logits}, "
                 f"cases={case.index + 1}, seed={seed})[{case.index}]; see it stage by stage with "
                 f"xentropy_cli.explain(y_true, y_pred, {profile.name!r}, loss={loss!r}).")
    return "\n".join(lines)
