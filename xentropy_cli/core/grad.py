"""Gradients of a profile's cross-entropy: the framework's and the true derivative, by finite
differences, and the surrogate form.

The analytic gradient is a reverse pass (core/backward.py, one backward step per stage) over the
very stages ``pipeline.run`` executed:

    L = (1/D)·Σᵢ wᵢ·lᵢ,   D = N (mean, sum_over_batch_size), Σw (mean_with_sample_weight),
                              Σ c[target] (torch with class weights), 1 (sum, none)

    log          p → ln p / ln b            ḡ_p = ḡ_logp / ((p + offset)·ln b)  (0 where floored)
    clip         p → min(max(p, ε), 1 − ε)  ḡ_p = ḡ_out · [ε ≤ p ≤ 1 − ε]  (0 where clipped)
    normalise    p → p̂ = p / Σp             ḡ_p = (ḡ_p̂ − Σⱼ ḡ_p̂ⱼ·p̂ⱼ) / Σp
    log_softmax  z → log softmax(z)         ḡ_z = ḡ_logp − softmax(z)·Σₖ ḡ_logp
    softmax      z → P = softmax(z)         ḡ_z = P ⊙ (ḡ_P − Σₖ Pₖ·ḡ_Pₖ)
    log_sigmoid  z → log σ, log(1 − σ)      ḡ_z = ḡ_logp·σ(−z) − ḡ_log1mp·σ(z)

so with logits and no clip the true derivative is the textbook (softmax(z)·Σỹ − ỹ)·w/D, i.e.
p − y. It is computed in float64 with the profile's stage structure (its ``pipeline.plan``) and
its clip epsilon for the dtype it models. The framework's gradient is the same pass in the
profile's dtype on its own forward run, under its autodiff's conventions (``backward.BY_KERNEL``),
which depart from the derivative at some edges (nan from 0·(1/0), torch's BCE floor, …).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from xentropy_cli.core import backward as bw
from xentropy_cli.core import pipeline
from xentropy_cli.core import stages as st
from xentropy_cli.core.backward import Departure, departing, departure_notice, group_departures
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.quiet import quietly
from xentropy_cli.core.types import Array, Inputs, Notice, Options, Result
from xentropy_cli.core.validate import Prepared, prepare
from xentropy_cli.errors import UsageError, XentError

#: finite differences: pass when |numeric − analytic| ≤ RTOL·max(|numeric|, |analytic|) + atol,
#: atol = ATOL_FACTOR·max(1, |L|)/hᵢ, about 50× the rounding error ε·|L|/hᵢ of a central difference.
RTOL = 1e-6
ATOL_FACTOR = 1e-14
#: cells=None checks every cell up to this many, else a random sample of DEFAULT_SAMPLE cells.
MAX_ALL_CELLS = 1000
DEFAULT_SAMPLE = 200

class CheckFailed(XentError):
    """The finite-difference check disagreed with the analytic gradient (exit 1)."""

    exit_code = 1


def require_pass(check: CheckResult) -> None:
    """Raise CheckFailed unless the check passed."""
    if check.passed:
        return
    if not check.rows.size:
        raise CheckFailed("the gradient check scored no cell",
                          hint="every checked cell sits on a clip bound or where the loss is undefined")
    r, c = check.worst or (0, 0)
    raise CheckFailed(f"the gradient check failed in {check.n_failed} of {check.rows.size} cells "
                      f"(max rel error {check.max_rel_error:.3g}; worst at sample {r + 1}, class {c})",
                      hint="see the check's table or --format json for every cell")


@dataclass(frozen=True)
class GradResult:
    """∂L/∂(input) for every cell. ``clipped`` marks the cells of the clip stage's operand where the
    clip was active: their gradient through the clip is exactly 0 (for the input cell itself only
    when nothing couples the row before the clip, i.e. no normalise)."""

    profile: str
    kind: str
    wrt: str  # "logits" | "probabilities"
    reduction: str
    divisor: float
    grad: Array  # (N, K) float64
    clipped: Array  # (N, K) bool
    value: float | Array
    dtype_modelled: str
    stages: tuple[str, ...]
    n_samples: int
    n_classes: int
    notes: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()  # the run's warnings (clipped cells, log 0, …), departures
    derivative: str = "exact"  # which of the two ``grad`` is: "framework" or "exact"
    engine: str = "the true derivative"  # what computes the framework's gradient
    framework: Array | None = None  # what the framework backpropagates (float64 widening)
    exact: Array | None = None  # the true derivative, float64
    departs: Array | None = None  # (N, K) bool: framework departs from the derivative
    departures: tuple[Departure, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """Central finite differences against the analytic gradient, on ``rows``/``cols`` cells."""

    passed: bool
    h: float
    rtol: float
    atol: float  # the absolute floor at h, for |L| ≤ 1 (it scales with max(1, |L|)/hᵢ)
    cells_total: int
    rows: Array  # checked cells
    cols: Array
    analytic: Array
    numeric: Array
    abs_error: Array
    rel_error: Array
    max_abs_error: float
    max_rel_error: float
    worst: tuple[int, int] | None  # (row, col) of the largest excess over the tolerance
    failed: Array  # per checked cell: beyond the tolerance
    n_failed: int
    kinks: tuple[tuple[int, int], ...]  # skipped: the ±h evaluations straddle a clip/floor bound
    undefined: tuple[tuple[int, int], ...]  # skipped: the loss is not finite or not defined at ±h
    sampled: bool
    method: str  # "scalar": L itself differenced; "per-row": each row's wᵢlᵢ, ÷ D
    notes: tuple[str, ...] = ()
    engine: str = "the true derivative"  # the profile's autodiff
    departures: tuple[Departure, ...] = ()  # where it departs from the derivative checked here


@dataclass(frozen=True)
class SurrogateResult:
    """L₂ = (1/D)·Σᵢ wᵢ·((sᵢ·Pᵢ − Q̃ᵢ)·zᵢ).sum(), P = softmax(z) held constant (stop-gradient).

    Q̃ = c ⊙ Q (class weights c, else Q), sᵢ = Σₖ Q̃ᵢₖ (1 for targets that sum to 1, where this is
    the seed's ((P − Q)·z).sum(−1).mean()). Binary: ((σ(z) − y)·z).mean(−1).
    """

    value: float | Array
    cross_entropy: float | Array
    grad: Array  # ∂L₂/∂z with P constant: (s·P − Q̃)·w/D
    analytic: Array  # gradient(...).grad
    max_gap: float  # max |grad − analytic|
    notes: tuple[str, ...] = ()


# --- set-up ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Setup:
    prep: Prepared
    names: tuple[str, ...]
    options64: Options
    dtype_modelled: np.dtype
    eps: float | None


def _setup(inputs: Inputs, profile: Profile, options: Options | None) -> _Setup:
    """Validate, plan, and pin the clip ε to the modelled dtype before switching to float64."""
    options = options or Options()
    prep = prepare(inputs, profile, options)
    names = pipeline.plan(profile, prep.kind, inputs.from_logits, options)
    dtype = pipeline.compute_dtype(profile, options, prep.y_pred)
    eps = pipeline.clip_eps(profile, options, dtype) if "clip" in names else None
    options64 = replace(options, dtype="float64")
    if eps is not None:
        options64 = replace(options64, clip=float(eps))
    return _Setup(prep, names, options64, dtype, eps)


def _float64(inputs: Inputs) -> Inputs:
    return replace(inputs, y_pred=np.asarray(inputs.y_pred, dtype=np.float64))


def _targets(result: Result, prep: Prepared) -> Array:
    """ỹ (N, K) as the combine stage saw it: smoothed if smoothing ran, sparse labels one-hot."""
    if "smooth" in result.stage_names:
        y = np.asarray(result.stage("smooth").array)
        if y.ndim == 2:
            return y.astype(np.float64)
    y = np.asarray(prep.y_true)
    if y.ndim == 1:
        targets = st.one_hot(y, prep.n_classes, np.dtype(np.float64))
        # a label out of range one-hots to a zero row (JAX, numpy): the row's loss is −0·Σ log p,
        # a constant, so its gradient is 0 (validation stood label 0 in for it)
        if prep.void_rows is not None:
            targets[np.asarray(prep.void_rows, bool)] = 0.0
        return targets
    return y.astype(np.float64)


def _weights(prep: Prepared, n: int) -> Array:
    """wᵢ per sample (1 without weights; a single weight broadcast). One sample with N weights (a
    1-D binary input, which Keras 3 reads as one sample and weighs N times): Σw on that sample."""
    if prep.sample_weight is None:
        return np.ones(n)
    w = np.asarray(prep.sample_weight, dtype=np.float64)
    if n == 1 and w.size > 1:
        return np.array([w.sum()])
    return np.broadcast_to(w, (n,)).copy()


def divisor(result: Result) -> float:
    """D: the reduction's divisor from the run (N, Σw or Σ c[target]); 1 for sum and none."""
    if result.reduction in ("sum", "none"):
        return 1.0
    return float(result.divisor)


def _scale(prep: Prepared, result: Result) -> Array:
    """wᵢ / D as an (N, 1) column (0 everywhere when D = 0: divide_no_nan)."""
    d = divisor(result)
    w = _weights(prep, prep.n_samples)
    if d == 0:
        return np.zeros((prep.n_samples, 1))
    return (w / d)[:, None]


# --- the reverse pass --------------------------------------------------------------------------

def softmax(z: Array) -> Array:
    """softmax(z) = exp(z − max z) / Σ exp(z − max z), stable at ±1000."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def sigmoid(z: Array) -> Array:
    """σ(z) = 1/(1 + e^(−z)), evaluated without overflow for either sign."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _seed(kind: str, y: Array, scale: Array, class_weight: Array | None, outputs: int) -> bw.Grads:
    """Seed the reverse pass from lᵢ: categorical/sparse ḡ_logp = −c⊙ỹ·wᵢ/D; binary
    ḡ_logp = −y/K·wᵢ/D and ḡ_log1mp = −(1 − y)/K·wᵢ/D (K = ``outputs``: 1 where the framework
    reduces all N·K elements, as torch's and optax's sum and mean do)."""
    if kind == "binary":
        k = y.dtype.type(outputs)
        return bw.Grads(logp=-y / k * scale, log1mp=-(y.dtype.type(1) - y) / k * scale)
    if class_weight is not None:
        y = y * class_weight.astype(y.dtype)[None, :]
    return bw.Grads(logp=-y * scale)


@dataclass(frozen=True)
class _Pass:
    grad: Array
    clipped: Array
    fired: dict[str, Array]
    scale: Array  # wᵢ/D, (N, 1)


def _backward(result: Result, prep: Prepared, x0: Array, ln_base: float, offset: float,
              eps: float | None, rules: bw.Backprop = bw.EXACT, flush: bool = False) -> _Pass:
    """One reverse pass over ``result``'s stages in x0's dtype, under ``rules``. ``flush``: a
    subnormal result reads as 0 (TensorFlow and XLA run with flush-to-zero set)."""
    from xentropy_cli.core.profiles import get

    dtype = x0.dtype
    y = _targets(result, prep).astype(dtype)
    scale = _scale(prep, result).astype(dtype)
    # per sample: the mean over K outputs; torch's and optax's sum and mean reduce the N·K
    # elements (their divisor is N·K), so no 1/K there
    whole = get(result.profile).binary_outputs == "elements" and result.reduction != "none"
    outputs = y.shape[1] if prep.kind == "binary" and not whole else 1
    ctx = bw.Context(rules, prep.kind, y, scale, ln_base, offset, eps, dtype, np.zeros(x0.shape, bool))
    seed = _seed(prep.kind, y, scale, prep.class_weight, outputs)
    grad = bw.backward(result, seed, ctx, x0) + x0.dtype.type(0)  # −0 reads as 0
    if flush:
        grad = np.where(np.abs(grad) < np.finfo(grad.dtype).tiny, grad.dtype.type(0), grad)
    return _Pass(grad, ctx.clipped, ctx.fired, scale)


# --- public functions: each runs @quietly, so nothing in this module raises numpy's warnings ------

def _forward(inputs: Inputs, profile: Profile, setup: _Setup) -> Result:
    return pipeline.run(_float64(inputs), profile, setup.options64)


def _x0(setup: _Setup) -> Array:
    return np.asarray(setup.prep.y_pred, dtype=np.float64)


def _notes(setup: _Setup, result: Result, profile: Profile, wrt: str, rules: bw.Backprop,
           derivative: str) -> list[str]:
    notes = []
    if rules is bw.EXACT and derivative == "framework" and setup.dtype_modelled != np.float64:
        notes.append(f"{profile.framework} has no autodiff: this is the true derivative")
    if derivative == "exact" or rules is bw.EXACT and setup.dtype_modelled != np.float64:
        notes.append(f"computed in float64 (the profile computes in {setup.dtype_modelled}), "
                     "with its stages" + (f" and clip ε = {st.fmt(setup.eps)}" if setup.eps else ""))
    if wrt == "logits" and "softmax" in result.stage_names:
        notes.append("gradient of the exact softmax (max-shifted); the naive forward pass may "
                     "overflow where this does not")
    if profile.log_floor is not None and "log" in result.stage_names and derivative == "exact":
        notes.append(f"the log floor {st.fmt(profile.log_floor)} passes no gradient where active "
                     "(torch's own backward for BCE uses (p − y)/max(p(1 − p), 1e-12) instead)")
    return notes


DERIVATIVES = ("framework", "exact")


@quietly
def gradient(inputs: Inputs, profile: Profile, options: Options | None = None,
             derivative: str = "framework") -> GradResult:
    """∂L/∂(y_pred) of the profile's loss L, every cell: the gradient the profile's framework
    backpropagates (``derivative="framework"``) and the true derivative, both kept.

    The true derivative, in float64 on the profile's stages:
    Logits:        ∂L/∂zᵢ = (softmax(zᵢ)·Σₖỹᵢₖ − ỹᵢ)·wᵢ/D  (= (p − y)·w/D for targets summing to 1);
                   with class weights c: (P·Σₖcₖỹₖ − c⊙ỹ)·w/D; binary: (σ(z) − y)/K·w/D.
    Probabilities: −ỹ/p through the profile's normalise Jacobian and clip (0 where clipped),
                   binary −(y/p − (1 − y)/(1 − p))/K·w/D.
    With --reduction none each row is ∂(wᵢ·lᵢ)/∂xᵢ (D = 1).
    The framework's: the same reverse pass in the profile's dtype on its own forward pass, under
    its autodiff's conventions (``backward.BY_KERNEL``; profiles without autodiff: the derivative).
    """
    if derivative not in DERIVATIVES:
        raise UsageError(f"--derivative {derivative!r} is not one of {', '.join(DERIVATIVES)}",
                         hint="--derivative framework (what the framework backpropagates) or exact")
    setup = _setup(inputs, profile, options)
    result = _forward(inputs, profile, setup)
    base = setup.options64.base
    ln_base = float(np.log(base)) if base else 1.0
    offset = profile.binary_log_offset if setup.prep.kind == "binary" else 0.0
    exact = _backward(result, setup.prep, _x0(setup), ln_base, offset, setup.eps)
    rules = bw.BY_KERNEL.get(profile.kernel, bw.EXACT)
    framework, model = exact, result
    departures: tuple[Departure, ...] = ()
    departs = np.zeros(exact.grad.shape, bool)
    if rules is not bw.EXACT:
        model = pipeline.run(inputs, profile, options or Options())
        x0 = np.asarray(model.stages[0].array)
        eps = pipeline.clip_eps(profile, options or Options(), x0.dtype) if setup.eps is not None else None
        framework = _backward(model, setup.prep, x0, ln_base, offset, eps, rules,
                              profile.flush_subnormals)
        # departures are judged against the derivative at the input the framework saw (rounded)
        x64 = x0.astype(np.float64)
        same_input = exact if np.array_equal(x64, _x0(setup)) else _backward(
            _forward(replace(inputs, y_pred=x64.reshape(np.shape(inputs.y_pred))), profile, setup),
            setup.prep, x64, ln_base, offset, setup.eps)
        departs = departing(framework.grad, same_input.grad, same_input.scale)
        departures = group_departures(departs, framework.fired, framework.grad, same_input.grad)
    chosen, run = (framework, model) if derivative == "framework" else (exact, result)
    wrt = "logits" if inputs.from_logits else "probabilities"
    notes = _notes(setup, result, profile, wrt, rules, derivative)
    n_clipped = int(chosen.clipped.sum())
    if n_clipped:
        notes.append(f"the clip was active in {n_clipped} cell{'s' if n_clipped > 1 else ''}: "
                     "no gradient flows through them (the loss stops learning there)")
        if "normalise" in result.stage_names:
            notes.append("normalise runs before the clip, so the input cell under a clipped one can "
                         "still get gradient through its row's sum")
    bad = int((~np.isfinite(chosen.grad)).sum())
    if bad:
        notes.append(f"{bad} gradient cell{'s are' if bad > 1 else ' is'} not finite")
    notices = run.notices
    if derivative == "framework":
        notices += tuple(departure_notice(d) for d in departures)
    return GradResult(
        profile=profile.name, kind=setup.prep.kind, wrt=wrt, reduction=result.reduction,
        divisor=divisor(result), grad=chosen.grad.astype(np.float64), clipped=chosen.clipped,
        value=run.value, dtype_modelled=str(setup.dtype_modelled), stages=result.stage_names,
        n_samples=setup.prep.n_samples, n_classes=exact.grad.shape[1], notes=tuple(notes),
        notices=notices, derivative=derivative, engine=rules.engine,
        framework=framework.grad.astype(np.float64), exact=exact.grad, departs=departs,
        departures=departures,
    )


def _scalar(result: Result) -> float:
    """The run's value as one number (reduction none: Σᵢ wᵢ·lᵢ, whose gradient stacks the rows)."""
    return float(np.sum(result.value)) if result.reduction == "none" else float(result.value)


def _kink_masks(result: Result) -> list[Array]:
    return [np.asarray(s.changed) for s in result.stages
            if s.name in ("clip", "log", "log1m") and s.changed is not None]


def _step(x: float, h: float, from_logits: bool, binary: bool) -> float:
    """hᵢ: h·max(1, |x|) for logits; for probabilities h times the distance to the log's pole
    (x, and 1 − x for binary), so steps near 0 stay inside the domain."""
    if from_logits:
        return h * max(1.0, abs(x))
    distance = min(x, 1.0 - x) if binary else x
    return h * distance if distance > 0 else h


def _pick_cells(shape: tuple[int, int], cells: int | None, rng_seed: int) -> tuple[Array, Array, bool]:
    total = shape[0] * shape[1]
    if cells is None:
        cells = total if total <= MAX_ALL_CELLS else DEFAULT_SAMPLE
    if cells >= total:
        flat = np.arange(total)
        return flat // shape[1], flat % shape[1], False
    flat = np.sort(np.random.default_rng(rng_seed).choice(total, size=cells, replace=False))
    return flat // shape[1], flat % shape[1], True


# A step that leaves the probabilities' domain (a negative or non-finite p, an all-zero row): the
# framework still computes a number there, but the derivative is not defined across it.
_OUT_OF_DOMAIN = frozenset({"negative_prediction", "non_finite", "zero_row"})


def _evaluate(inputs: Inputs, profile: Profile, setup: _Setup, x: Array) -> Result | None:
    """pipeline.run in float64 at y_pred = x (given in the prepared shape); None if refused or
    if the step left the domain of probabilities."""
    try:
        result = pipeline.run(replace(inputs, y_pred=x.reshape(np.shape(inputs.y_pred))), profile,
                              setup.options64)
    except XentError:
        return None
    if not inputs.from_logits and any(n.code in _OUT_OF_DOMAIN for n in result.notices):
        return None
    return result


def _straddles(up: Result, down: Result) -> Array:
    """Per row: did a clip (or log floor) move different cells at +h than at −h?"""
    out = np.zeros(up.n_samples, bool)
    for a, b in zip(_kink_masks(up), _kink_masks(down), strict=True):
        out |= (a != b).reshape(a.shape[0], -1).any(axis=1)
    return out


def _scalar_cell(inputs: Inputs, profile: Profile, setup: _Setup, x0: Array, r: int, c: int,
                 step: float) -> tuple[str, float]:
    """(L(x + hᵢeᵢ) − L(x − hᵢeᵢ)) / (2hᵢ) of the run's scalar value: ("ok"|"kink"|"undefined", value)."""
    x = x0.copy()
    x[r, c] = x0[r, c] + step
    plus = x[r, c]
    up = _evaluate(inputs, profile, setup, x)
    x[r, c] = x0[r, c] - step
    down = _evaluate(inputs, profile, setup, x)
    if up is None or down is None or not np.isfinite([_scalar(up), _scalar(down)]).all():
        return "undefined", float("nan")
    if _straddles(up, down)[r]:
        return "kink", float("nan")
    width = plus - x[r, c]
    if not width > 0:  # the step vanished beside x (or x is not finite): no difference quotient
        return "undefined", float("nan")
    return "ok", (_scalar(up) - _scalar(down)) / width


def _row_batch(inputs: Inputs, profile: Profile, setup: _Setup, x0: Array, rows: Array, cols: Array,
               steps: Array, d: float) -> list[tuple[str, float]]:
    """Cells in distinct rows, perturbed together: row r's term wᵣ·lᵣ (Result.per_sample) depends on
    row r alone, so ∂L/∂x_rc = (wᵣlᵣ(x + h) − wᵣlᵣ(x − h)) / (2h·D)."""
    x = x0.copy()
    x[rows, cols] = x0[rows, cols] + steps
    plus = x[rows, cols]
    up = _evaluate(inputs, profile, setup, x)
    x[rows, cols] = x0[rows, cols] - steps
    minus = x[rows, cols]
    down = _evaluate(inputs, profile, setup, x)
    if up is None or down is None:
        if rows.size == 1:
            return [("undefined", float("nan"))]
        return [cell for k in range(rows.size) for cell in
                _row_batch(inputs, profile, setup, x0, rows[k:k + 1], cols[k:k + 1], steps[k:k + 1], d)]
    f_up = np.asarray(up.per_sample, dtype=np.float64)[rows]
    f_down = np.asarray(down.per_sample, dtype=np.float64)[rows]
    kink = _straddles(up, down)[rows]
    numeric = (f_up - f_down) / (plus - minus) / d if d else np.zeros(rows.size)
    return [("kink" if kink[k] else "ok" if np.isfinite([f_up[k], f_down[k]]).all() else "undefined",
             float(numeric[k])) for k in range(rows.size)]


def _batches(rows: Array) -> Array:
    """Batch number of each cell: its rank among the checked cells of its row (rows sorted)."""
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, rows.size]))
    return np.arange(rows.size) - first


@quietly
def finite_difference(inputs: Inputs, profile: Profile, options: Options | None = None,
                      cells: int | None = None, h: float = 1e-6, rng_seed: int = 0) -> CheckResult:
    """∂L/∂xᵢ ≈ (L(x + hᵢeᵢ) − L(x − hᵢeᵢ)) / (2hᵢ) from ``pipeline.run`` in float64, per cell.

    hᵢ: see ``_step``. Pass: |numeric − analytic| ≤ 1e-6·max(|numeric|, |analytic|) +
    1e-14·max(1, |L|)/hᵢ (the floor is ~50× a central difference's rounding error ε·|L|/hᵢ).
    Cells whose ±hᵢ runs differ in which cells a clip (or log floor) moved straddle a kink and are
    reported, not scored; so are cells where the loss is not finite or is refused at ±hᵢ (a negative
    probability). ``cells``: check that many random cells (seeded); None = all, or a sample of 200
    beyond 1000 cells.

    Method "scalar" (up to 1000 cells, finite L): two runs per cell, differencing L itself.
    Method "per-row" (larger inputs, or L not finite): L = Σᵢ wᵢlᵢ / D and row i's term depends on
    row i alone, so one pair of runs perturbs one checked cell in every row at once and differences
    each row's wᵢlᵢ (Result.per_sample), divided by the run's D.
    """
    setup = _setup(inputs, profile, options)
    analytic = gradient(inputs, profile, options, derivative="exact")
    base = _forward(inputs, profile, setup)
    magnitude = max(1.0, abs(_scalar(base))) if np.isfinite(_scalar(base)) else 1.0
    x0 = _x0(setup)
    rows, cols, sampled = _pick_cells(x0.shape, cells, rng_seed)
    binary = setup.prep.kind == "binary"
    steps = np.array([_step(float(x0[r, c]), h, inputs.from_logits, binary)
                      for r, c in zip(rows.tolist(), cols.tolist(), strict=True)], float)
    method = "scalar" if x0.size <= MAX_ALL_CELLS and np.isfinite(_scalar(base)) else "per-row"
    outcome: list[tuple[str, float]] = [("", 0.0)] * rows.size
    if method == "scalar":
        for k in range(rows.size):
            outcome[k] = _scalar_cell(inputs, profile, setup, x0, int(rows[k]), int(cols[k]), steps[k])
    else:
        batch = _batches(rows)
        for b in range(int(batch.max()) + 1 if rows.size else 0):
            idx = np.flatnonzero(batch == b)
            for at, cell in zip(idx.tolist(), _row_batch(inputs, profile, setup, x0, rows[idx],
                                                          cols[idx], steps[idx], divisor(base)),
                                strict=True):
                outcome[at] = cell
    status = np.array([s for s, _ in outcome])
    numeric = np.array([v for _, v in outcome], float)
    ok = (status == "ok") & np.isfinite(analytic.grad[rows, cols])
    kinks = tuple(zip(rows[status == "kink"].tolist(), cols[status == "kink"].tolist(), strict=True))
    bad = ~ok & (status != "kink")
    undefined = tuple(zip(rows[bad].tolist(), cols[bad].tolist(), strict=True))
    return _score(analytic, rows[ok], cols[ok], numeric[ok], steps[ok], magnitude, h, x0.size, kinks,
                  undefined, sampled, method)


def _score(analytic: GradResult, rows: Array, cols: Array, numeric: Array, steps: Array,
           magnitude: float, h: float, total: int, kinks: tuple, undefined: tuple,
           sampled: bool, method: str) -> CheckResult:
    exact = analytic.grad[rows, cols]
    abs_err = np.abs(numeric - exact)
    size = np.maximum(np.abs(numeric), np.abs(exact))
    tol = RTOL * size + ATOL_FACTOR * magnitude / steps
    rel = np.where(size > 0, abs_err / size, 0.0)
    failed = abs_err > tol
    worst = None
    if rows.size:
        k = int(np.argmax(abs_err - tol))
        worst = (int(rows[k]), int(cols[k]))
    notes = []
    if sampled:
        notes.append(f"checked a random sample of {rows.size + len(kinks) + len(undefined)} of "
                     f"{total} cells")
    if kinks:
        notes.append(f"{len(kinks)} cell(s) sit within h of a clip bound (a kink) and were not scored")
    if not rows.size:
        notes.append("no cell could be scored, so the check cannot pass")
    if undefined:
        notes.append(f"{len(undefined)} cell(s) were not scored: the loss is not finite or not "
                     "defined a step away")
    return CheckResult(
        passed=bool(rows.size) and not failed.any(), h=h, rtol=RTOL, atol=ATOL_FACTOR / h,
        cells_total=total, rows=rows, cols=cols, analytic=exact, numeric=numeric,
        abs_error=abs_err, rel_error=rel,
        max_abs_error=float(abs_err.max()) if rows.size else float("nan"),
        max_rel_error=float(rel.max()) if rows.size else float("nan"),
        worst=worst, failed=failed, n_failed=int(failed.sum()), kinks=kinks, undefined=undefined,
        sampled=sampled, method=method, notes=tuple(notes), engine=analytic.engine,
        departures=analytic.departures,
    )


@quietly
def surrogate(inputs: Inputs, profile: Profile, options: Options | None = None) -> SurrogateResult:
    """L₂ = (1/D)·Σᵢ wᵢ·((sᵢ·Pᵢ − Q̃ᵢ)·zᵢ).sum() with P = softmax(z) treated as a constant.

    Its gradient (s·P − Q̃)·w/D equals the cross-entropy's, though the values differ: for Q rows
    summing to 1 and no weights, L₂ = ((P − Q)·z).sum(−1).mean() and ∂L₂/∂z = (P − Q)/N.
    Binary: L₂ = (1/D)·Σᵢ wᵢ·((σ(zᵢ) − yᵢ)·zᵢ).mean(), gradient (σ − y)/K·w/D.
    """
    if not inputs.from_logits:
        raise UsageError("the surrogate form needs logits",
                         hint="pass --from-logits with logits (it replaces log softmax(z))")
    setup = _setup(inputs, profile, options)
    result = _forward(inputs, profile, setup)
    prep = setup.prep
    z = _x0(setup)
    y = _targets(result, prep)
    if prep.kind == "binary":
        coeff = (sigmoid(z) - y) / y.shape[1]
    else:
        q = y * prep.class_weight[None, :] if prep.class_weight is not None else y
        coeff = softmax(z) * np.sum(q, axis=-1, keepdims=True) - q
    scale = _scale(prep, result)
    grad = coeff * scale
    per_sample = np.sum(grad * z, axis=-1)
    value = per_sample if result.reduction == "none" else float(np.sum(per_sample))
    analytic = gradient(inputs, profile, options, derivative="exact")
    gap = float(np.max(np.abs(grad - analytic.grad)))
    notes = ["P = softmax(z) is held constant (stop-gradient), so no log is evaluated"]
    if "clip" in result.stage_names:
        notes.append("this profile clips after the sigmoid/softmax; the surrogate ignores the clip, "
                     "so gradients differ where it is active")
    return SurrogateResult(value=value, cross_entropy=result.value, grad=grad,
                           analytic=analytic.grad, max_gap=gap, notes=tuple(notes))
