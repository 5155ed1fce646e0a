"""The reverse pass over a profile's stages: one backward step per stage, and each autodiff
system's conventions as data.

A run's loss is L = (1/D)·Σᵢ wᵢ·lᵢ (D = N, Σw, Σ c[target], or 1 for sum and none). The pass
seeds ḡ_logp (and ḡ_log1mp for binary) from lᵢ, then walks the stages in reverse, each step
handing the gradient of its output back to its input (its vector–Jacobian product). ``BACKWARD``
maps a stage name to its step; stages without one (cast, smooth, combine, reduce) pass ḡ through.

``EXACT`` is the true derivative. The frameworks differentiate the same forward with their own
autodiff, and measured against it (tools/gen_grad.py, tests/golden/grad_edges.json) they depart
from the derivative in five places, all modelled here:

- log's backward is ḡ/p as IEEE arithmetic gives it (TensorFlow ḡ·(1/p), JAX and torch ḡ/p):
  where p = 0 and ḡ = 0 (a class with y = 0), 0·(1/0) is nan; where p = 0 and y > 0 it is −inf;
  1/p overflows float32 for subnormal p. The derivative of 0·log p is 0.
- torch's F.binary_cross_entropy has a hand-written backward, ḡ·(p − y)/max(p(1 − p), 1e-12),
  which ignores the −100 floor on its forward logs and floors the denominator.
- TensorFlow's softmax_cross_entropy_with_logits (Keras 3 and tf.keras, categorical from logits)
  backpropagates softmax(z) − ỹ, which is the derivative only when the row of ỹ sums to 1.
- jnp.clip is max/min, whose gradient splits ties: at a clip bound exactly JAX passes ½ḡ.
  tf.clip_by_value and torch.clamp pass all of ḡ there.
- JAX differentiates normalise's division p/s by s as −ḡ·p·s⁻², which is nan or ±inf where s²
  underflows float32 (rows summing to less than about 1e-19); TensorFlow and torch do not.

Checked and found to agree with the derivative (no model needed): normalise, log_softmax,
sparse softmax cross-entropy, sigmoid cross-entropy from logits (TensorFlow's composite form at
z = 0 too), log-sigmoid (JAX, optax), torch's binary_cross_entropy_with_logits. xlogy is on no
profile's path (TensorFlow's xlogy gives 0 at x = y = 0, JAX's and torch's nan).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from xentropy_cli.core.types import Array, Notice, Result, StageResult

P_STAGES = ("normalise", "clip", "softmax", "sigmoid")  # stages whose output is the new p


@dataclass(frozen=True)
class Backprop:
    """How one autodiff system differentiates the stages (``EXACT``: the true derivative)."""

    name: str
    engine: str  # what computes it, as a person would name it
    ieee_log: bool  # log's backward is ḡ/p as computed: 0·(1/0) = nan (else 0 where ḡ = 0)
    clip_tie: float  # the share of ḡ a clip passes at a bound exactly
    fused_softmax_xent: bool  # categorical from logits backpropagates softmax(z) − ỹ
    bce_floor: float | None  # binary on probabilities: ḡ·(p − y)/max(p(1 − p), floor)
    model_dtype: bool  # evaluated in the profile's dtype on its own forward pass
    div_pow: bool = False  # the backward of p/s to s is −ḡ·p·s⁻² (JAX), not −ḡ·(p/s)/s


EXACT = Backprop("exact", "the true derivative", ieee_log=False, clip_tie=1.0,
                 fused_softmax_xent=False, bce_floor=None, model_dtype=False)
TENSORFLOW = Backprop("tensorflow", "tf.GradientTape", ieee_log=True, clip_tie=1.0,
                      fused_softmax_xent=True, bce_floor=None, model_dtype=True)
JAX = Backprop("jax", "jax.grad", ieee_log=True, clip_tie=0.5, fused_softmax_xent=False,
               bce_floor=None, model_dtype=True, div_pow=True)
TORCH = Backprop("torch", "torch autograd", ieee_log=True, clip_tie=1.0, fused_softmax_xent=False,
                 bce_floor=1e-12, model_dtype=True)
#: by the profile's ``kernel`` (its backend library); numpy has no autodiff: the derivative.
BY_KERNEL = {"tensorflow": TENSORFLOW, "xla": JAX, "torch": TORCH}

# Why a framework's gradient departs, by code, in the order a cell is put down to them (the
# words are render/words.py's BACKWARD_REASONS; the notice code is "backward_" + the reason).
REASONS = ("log_zero_grad", "log_of_zero", "bce_floor", "softmax_xent", "clip_tie", "div_pow",
           "float32")


@dataclass
class Grads:
    """The gradient in flight: with respect to p, log p and log(1 − p)."""

    p: Array | None = None
    logp: Array | None = None
    log1mp: Array | None = None

    def add_p(self, g: Array) -> None:
        self.p = g if self.p is None else self.p + g


@dataclass(frozen=True)
class Step:
    """One stage as the reverse pass sees it: the p it read and the stage that made that p."""

    name: str
    stage: StageResult
    p_in: Array
    source: str | None


@dataclass
class Context:
    """What every step may need: the rules, ỹ (N, K), wᵢ/D as a column, the log base and offset,
    the clip ε; the steps record the clip mask and where a framework rule fired."""

    rules: Backprop
    kind: str
    y: Array
    scale: Array
    ln_base: float
    offset: float
    eps: float | None
    dtype: np.dtype
    clipped: Array
    fired: dict[str, Array] = field(default_factory=dict)

    def fire(self, code: str, mask: Array) -> None:
        if mask.any():
            self.fired[code] = self.fired.get(code, np.zeros(mask.shape, bool)) | mask


# --- the backward steps, in the order of the stages they invert -----------------------------------

def back_normalise(ctx: Context, step: Step, g: Grads) -> Grads:
    """normalise p̂ = p/s, s = Σp:  ∂p̂ⱼ/∂pₖ = (δⱼₖ − p̂ⱼ)/s,  so ḡ_pₖ = (ḡₖ − Σⱼ ḡⱼ·p̂ⱼ)/s.

    JAX (``rules.div_pow``) differentiates the division by s as ḡ_s = Σⱼ (−ḡⱼ·pⱼ)·s⁻², and s⁻² is
    inf where s² underflows (a row summing to less than about 1e-19 in float32): 0·inf = nan and
    ±inf where the derivative is finite. TensorFlow and torch take (−p/s)/s, which does not.
    """
    if g.p is None:
        return g
    s = np.sum(step.p_in, axis=-1, keepdims=True)
    if ctx.rules.div_pow:
        one = s.dtype.type(1)
        inv_square = one / (s * s)
        g_s = np.sum(-g.p * step.p_in * inv_square, axis=-1, keepdims=True)
        g.p = g.p / s + g_s
        ctx.fire("div_pow", np.broadcast_to(np.isinf(inv_square) | (inv_square == 0), g.p.shape))
        return g
    p_hat = np.asarray(step.stage.array)
    g.p = (g.p - np.sum(g.p * p_hat, axis=-1, keepdims=True)) / s
    return g


def back_clip(ctx: Context, step: Step, g: Grads) -> Grads:
    """clip p ← min(max(p, ε), 1 − ε):  ḡ_p = ḡ·[ε < p < 1 − ε], 0 where clipped, and at a
    bound exactly ``rules.clip_tie``·ḡ (1: TensorFlow, torch and the one-sided derivative; ½: JAX)."""
    clipped = np.asarray(step.stage.changed, bool)
    ctx.clipped = clipped
    if g.p is None:
        return g
    g.p = np.where(clipped, 0.0, g.p).astype(g.p.dtype)
    if ctx.rules.clip_tie != 1.0 and ctx.eps is not None:
        lo = step.p_in.dtype.type(ctx.eps)
        tie = (step.p_in == lo) | (step.p_in == step.p_in.dtype.type(1) - lo)
        g.p = np.where(tie, g.p * g.p.dtype.type(ctx.rules.clip_tie), g.p)
        ctx.fire("clip_tie", tie & (g.p != 0))
    return g


def _log_vjp(ctx: Context, g: Array, x: Array, floored: Array | None, sign: float) -> Array:
    """ḡ_p = sign·ḡ/(x·ln b) for x = p + offset (or 1 − p + offset). The derivative: 0 where ḡ = 0
    (0·log 0 = 0) and where a floor was active; a framework (``ieee_log``) divides as it computes."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = g / (x * x.dtype.type(ctx.ln_base)) * x.dtype.type(sign)
    if ctx.rules.ieee_log:
        ctx.fire("log_zero_grad", (x == 0) & (g == 0))
        ctx.fire("log_of_zero", (x == 0) & (g != 0))
        return out
    out = np.where(g == 0, 0.0, out).astype(out.dtype)
    if floored is not None:
        out = np.where(floored, 0.0, out).astype(out.dtype)
    return out


def _fused_log_stage(step: Step) -> bool:
    """log of a softmax/sigmoid output: the softmax/sigmoid step differentiates both together."""
    return step.source in ("softmax", "sigmoid")


def back_log(ctx: Context, step: Step, g: Grads) -> Grads:
    """log  log p ← max(ln(p + offset)/ln b, floor):  ḡ_p = ḡ_logp/((p + offset)·ln b), 0 where
    floored (see ``_log_vjp`` for what a framework does at p = 0)."""
    floored = step.stage.changed
    if g.logp is None:
        return g
    if _fused_log_stage(step):
        if floored is not None and floored.any():
            g.logp = np.where(floored, 0.0, g.logp).astype(g.logp.dtype)
        return g
    x = step.p_in + step.p_in.dtype.type(ctx.offset) if ctx.offset else step.p_in
    g.add_p(_log_vjp(ctx, g.logp, x, floored, 1.0))
    g.logp = None
    return g


def back_log1m(ctx: Context, step: Step, g: Grads) -> Grads:
    """log1m  log(1 − p) ← max(ln(1 − p + offset)/ln b, floor):  ḡ_p = −ḡ_log1mp/((1 − p + offset)·ln b).

    torch's F.binary_cross_entropy (``rules.bce_floor``) replaces this step and log's with its own
    backward of the elementwise loss, ḡ_p = ḡ·(p − ỹ)/max(p(1 − p), 1e-12), where ḡ, the upstream
    gradient of each element, is −(ḡ_logp + ḡ_log1mp).
    """
    if g.log1mp is None:
        return g
    if _fused_log_stage(step):
        floored = step.stage.changed
        if floored is not None and floored.any():
            g.log1mp = np.where(floored, 0.0, g.log1mp).astype(g.log1mp.dtype)
        return g
    p = step.p_in
    if ctx.rules.bce_floor is not None and g.logp is not None:
        upstream = -(g.logp + g.log1mp)
        denominator = np.maximum(p * (p.dtype.type(1) - p), p.dtype.type(ctx.rules.bce_floor))
        with np.errstate(divide="ignore", invalid="ignore"):
            g.add_p(upstream * (p - ctx.y.astype(p.dtype)) / denominator / p.dtype.type(ctx.ln_base))
        ctx.fire("bce_floor", p * (p.dtype.type(1) - p) < p.dtype.type(ctx.rules.bce_floor))
        g.logp = g.log1mp = None
        return g
    one = p.dtype.type(1)
    x = one - p + p.dtype.type(ctx.offset) if ctx.offset else one - p
    g.add_p(_log_vjp(ctx, g.log1mp, x, step.stage.changed, -1.0))
    g.log1mp = None
    return g


def back_renormalise(ctx: Context, step: Step, g: Grads) -> Grads:
    """renormalise  log p̂ = log_softmax(log p):  ḡ_logp = ḡ − p̂·Σₖ ḡ  (TensorFlow's sparse loss
    takes log p as logits; its fused backward softmax − onehot is this, as a one-hot row sums to 1)."""
    if g.logp is None:
        return g
    probs = _exp(np.asarray(step.stage.array), g.logp.dtype)
    g.logp = g.logp - probs * np.sum(g.logp, axis=-1, keepdims=True)
    return g


def back_softmax(ctx: Context, step: Step, g: Grads) -> Grads:
    """softmax  P = softmax(z), with the log after it:
    ḡ_z = (ḡ_logp − P·Σₖ ḡ_logp)/ln b + P ⊙ (ḡ_P − Σⱼ Pⱼ·ḡ_Pⱼ)."""
    probs = _softmax(step.p_in)
    out = np.zeros_like(step.p_in)
    if g.logp is not None:
        out = out + (g.logp - probs * np.sum(g.logp, axis=-1, keepdims=True)) / out.dtype.type(ctx.ln_base)
    if g.p is not None:
        out = out + probs * (g.p - np.sum(probs * g.p, axis=-1, keepdims=True))
    return Grads(p=out)


def back_log_softmax(ctx: Context, step: Step, g: Grads) -> Grads:
    """log_softmax  log p = z − logsumexp(z):  ḡ_z = (ḡ_logp − P·Σₖ ḡ_logp)/ln b.

    TensorFlow's softmax_cross_entropy_with_logits (``rules.fused_softmax_xent``, categorical)
    backpropagates (P − ỹ)·ḡ_l instead, ḡ_l = wᵢ/D the upstream gradient of the row's loss: that
    is ḡ_logp + P·wᵢ/D, the derivative only where Σₖ ỹₖ = 1.
    """
    probs = _softmax(step.p_in)
    if g.logp is None:
        return Grads(p=np.zeros_like(probs))
    if ctx.rules.fused_softmax_xent and ctx.kind == "categorical":
        upstream = ctx.scale.astype(probs.dtype)
        out = g.logp + probs * upstream
        sums = np.sum(ctx.y, axis=-1, keepdims=True)
        ctx.fire("softmax_xent", np.broadcast_to((sums != 1) & (upstream != 0), probs.shape))
    else:
        out = g.logp - probs * np.sum(g.logp, axis=-1, keepdims=True)
    return Grads(p=out / out.dtype.type(ctx.ln_base))


def back_sigmoid(ctx: Context, step: Step, g: Grads) -> Grads:
    """sigmoid  σ(z), with the logs after it:  ḡ_z = (ḡ_logp·(1 − σ) − ḡ_log1mp·σ)/ln b + ḡ_σ·σ(1 − σ)."""
    return _sigmoid_back(ctx, step, g, ctx.ln_base)


def back_log_sigmoid(ctx: Context, step: Step, g: Grads) -> Grads:
    """log_sigmoid  log σ(z), log(1 − σ(z)):  ḡ_z = (ḡ_logp·(1 − σ) − ḡ_log1mp·σ)/ln b
    (every framework's sigmoid cross-entropy from logits backpropagates (σ(z) − y)·ḡ: the same)."""
    return _sigmoid_back(ctx, step, g, ctx.ln_base)


def _sigmoid_back(ctx: Context, step: Step, g: Grads, ln_base: float) -> Grads:
    """1 − σ(z) is taken as σ(−z), as the frameworks' log-sigmoid backward does: exact where σ(z)
    rounds to 1 (z = 30 in float32 gives ḡ·9.4e-14, not 0)."""
    s, s_neg = _sigmoid(step.p_in), _sigmoid(-step.p_in)
    out = np.zeros_like(s)
    if g.logp is not None:
        out = out + g.logp * s_neg / s.dtype.type(ln_base)
    if g.log1mp is not None:
        out = out - g.log1mp * s / s.dtype.type(ln_base)
    if g.p is not None:
        out = out + g.p * s * s_neg
    return Grads(p=out)


#: stage name → its backward step, in forward order; the other stages pass ḡ through.
BACKWARD: dict[str, Callable[[Context, Step, Grads], Grads]] = {
    "normalise": back_normalise,
    "clip": back_clip,
    "log": back_log,
    "log1m": back_log1m,
    "renormalise": back_renormalise,
    "softmax": back_softmax,
    "log_softmax": back_log_softmax,
    "sigmoid": back_sigmoid,
    "log_sigmoid": back_log_sigmoid,
}


# --- where a framework departs from the derivative ---------------------------------------------

@dataclass(frozen=True)
class Departure:
    """Cells where the framework's gradient departs from the true derivative, for one reason."""

    code: str  # one of backward.REASONS
    cells: int
    rows: tuple[int, ...]  # 0-based
    first: tuple[int, int]  # (row, col), 0-based
    framework: float
    exact: float


#: a framework's cell departs from the derivative when nan/inf differ, or by more than this share
#: of the larger of the two plus ``DEPART_SCALE`` of the row's wᵢ/D (the unit of p − y): float32
#: rounding, cancellation included, stays far below both.
DEPART_REL = 1e-3
DEPART_SCALE = 1e-5


def departing(framework: Array, exact: Array, scale: Array) -> Array:
    """Cells where ``framework`` departs from ``exact``: nan or ±inf in one and not the other, or
    |a − b| > 1e-3·max(|a|, |b|) + 1e-5·|wᵢ/D|."""
    a = framework.astype(np.float64)
    b = exact
    with np.errstate(invalid="ignore", over="ignore"):
        special = ~np.isfinite(a) | ~np.isfinite(b)
        same_special = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
        gap = np.abs(np.where(special, 0.0, a - b))
        size = np.maximum(np.abs(np.where(special, 0.0, a)), np.abs(np.where(special, 0.0, b)))
    return (special & ~same_special) | (gap > DEPART_REL * size + DEPART_SCALE * np.abs(scale))


def group_departures(mask: Array, fired: dict[str, Array], framework: Array,
                exact: Array) -> tuple[Departure, ...]:
    """Group the departing cells by the first rule that fired in the cell (else: overflow of the
    framework's dtype; else a rule that fired in its row, which normalise couples; else float32
    arithmetic), in ``backward.REASONS`` order."""
    if not mask.any():
        return ()
    codes = np.full(mask.shape, "", dtype=object)
    for code in REASONS:
        if code in fired:
            hit = fired[code] & mask & (codes == "")
            codes[hit] = code
    with np.errstate(invalid="ignore"):
        overflow = np.isinf(framework) & np.isfinite(exact) & (np.abs(exact) > np.finfo(framework.dtype).max)
    codes[overflow & mask & (codes == "")] = "float32"
    for code in REASONS:
        if code in fired:
            row_hit = fired[code].any(axis=-1, keepdims=True) & mask & (codes == "")
            codes[row_hit] = code
    codes[mask & (codes == "")] = "float32"
    out = []
    for code in REASONS:
        cells = np.argwhere(codes == code)
        if cells.size:
            r, c = int(cells[0][0]), int(cells[0][1])
            out.append(Departure(code, len(cells), tuple(sorted({int(i) for i in cells[:, 0]})),
                                 (r, c), float(framework[r, c]), float(exact[r, c])))
    return tuple(out)


def departure_notice(d: Departure) -> Notice:
    """One warning per reason, as data: counts (cells,), values (row, class, framework, true)."""
    r, c = d.first
    return Notice(f"backward_{d.code}", tuple(i + 1 for i in d.rows), counts=(d.cells,),
                  values=(float(r + 1), float(c), d.framework, d.exact))


# --- helpers -------------------------------------------------------------------------------------

def _softmax(z: Array) -> Array:
    """softmax(z) = exp(z − max z)/Σ exp(z − max z), in float64, returned in z's dtype."""
    z64 = z.astype(np.float64)
    e = np.exp(z64 - np.max(z64, axis=-1, keepdims=True))
    return (e / np.sum(e, axis=-1, keepdims=True)).astype(z.dtype)


def _sigmoid(z: Array) -> Array:
    """σ(z) = 1/(1 + e^(−z)) without overflow for either sign, in float64, returned in z's dtype."""
    z64 = z.astype(np.float64)
    e = np.exp(-np.abs(z64))
    return np.where(z64 >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype)


def _exp(a: Array, dtype: np.dtype) -> Array:
    with np.errstate(over="ignore"):
        return np.exp(a.astype(np.float64)).astype(dtype)


def trace(result: Result, x0: Array) -> list[Step]:
    """The stages in forward order, each with the p it read (x0 for the first) and its source."""
    steps = []
    p, source = x0, None
    skip_log1m = False
    for stage in result.stages:
        if stage.name == "log1m" and skip_log1m:
            skip_log1m = False
            continue  # the second half of log_sigmoid
        skip_log1m = stage.name == "log_sigmoid"
        steps.append(Step(stage.name, stage, p, source))
        if stage.name in P_STAGES:
            p, source = np.asarray(stage.array), stage.name
    return steps


def backward(result: Result, seed: Grads, ctx: Context, x0: Array) -> Array:
    """Walk the stages in reverse from the seed; return ∂L/∂x0 (zeros if nothing reached x0)."""
    g = seed
    with np.errstate(all="ignore"):
        for step in reversed(trace(result, x0)):
            back = BACKWARD.get(step.name)
            if back is not None:
                g = back(ctx, step, g)
    return np.zeros(x0.shape, x0.dtype) if g.p is None else g.p
