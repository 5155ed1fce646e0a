"""The stages of a cross-entropy computation: small pure numpy functions.

Each function keeps the floating dtype it is given (a float32 array stays float32, as it does in
the framework being modelled) and carries its formula in its docstring. Functions that can change
cells return a ``StageResult`` with the mask of cells they changed and a one-line note.
"""

from __future__ import annotations

import numpy as np

from xentropy_cli.core import kernels, sums
from xentropy_cli.core.types import Array, StageResult


def _rows_text(rows: Array, limit: int = 5) -> str:
    shown = ", ".join(str(int(r) + 1) for r in rows[:limit])
    more = f", … ({len(rows)} in all)" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def fmt(x: float | np.floating) -> str:
    """A number as a person would write it: 1.99, 1e-07, 0.9999999."""
    return f"{float(x):.7g}"


def cast(a: Array, dtype: np.dtype, operand: str = "p", copy: bool = True) -> StageResult:
    """a ← a as ``dtype`` (round to nearest). Marks the cells whose value the rounding moved.
    ``copy=False``: an array already in ``dtype`` is passed on as it is (not copied)."""
    dtype = np.dtype(dtype)
    out = a.astype(dtype, copy=copy)
    source = a.dtype
    if source == dtype:
        return StageResult("cast", out, np.zeros(a.shape, bool), f"stays {dtype}", operand)
    if np.issubdtype(source, np.floating) and np.finfo(source).bits > np.finfo(dtype).bits:
        changed = out.astype(source) != a
    else:
        changed = np.zeros(a.shape, bool)
    n = int(changed.sum())
    note = f"{source} → {dtype}"
    if n:
        note += f"; {n} value{'s' if n > 1 else ''} rounded"
    return StageResult("cast", out, changed, note, operand)


def flush_subnormal(a: Array) -> Array:
    """a ← 0 where |a| < the dtype's smallest normal number (sign kept): how a CPU running with
    flush-to-zero and denormals-are-zero (TensorFlow's and XLA's op kernels) reads and writes
    subnormals. Returns ``a`` itself when it holds none."""
    if not np.issubdtype(a.dtype, np.floating):
        return a
    tiny = np.finfo(a.dtype).tiny
    with np.errstate(invalid="ignore"):
        sub = (np.abs(a) < tiny) & (a != 0)
    if not sub.any():
        return a
    return np.where(sub, a * a.dtype.type(0), a)


def one_hot(labels: Array, n_classes: int, dtype: np.dtype) -> Array:
    """y[i, k] ← 1 if labels[i] == k else 0."""
    y = np.zeros((labels.shape[0], n_classes), dtype=dtype)
    y[np.arange(labels.shape[0]), labels.astype(np.intp)] = 1
    return y


def smooth(y: Array, epsilon: float, n_classes: int, rounding: str = "tensor") -> StageResult:
    """y ← y·(1 − ε) + ε / K  (binary: K = 2, so y·(1 − ε) + ε/2), in y's dtype.

    Where the two constants are rounded to that dtype differs between frameworks (``rounding``):
    ``"tensor"`` ε is first a tensor of the dtype, then 1 − ε and ε / K are computed in it
    (tf.keras); ``"keras"`` 1 − ε (and binary ε/2) are Python floats rounded once, categorical
    ε / K is the dtype's ε divided by the dtype's K (Keras 3: ``ls / cast(K)``);
    ``"python"`` 1 − ε and ε / K are both Python floats rounded once (optax.smooth_labels, torch);
    ``"keras-torch"`` as ``"keras"``, but ε / K is (1/K)·ε, as torch divides a Python float by a
    tensor (Keras 3 on the torch backend).
    """
    if not epsilon:
        return StageResult("smooth", y, np.zeros(y.shape, bool), "no label smoothing", "y")
    t = y.dtype.type
    if rounding == "tensor":
        factor, addend = t(1) - t(epsilon), t(epsilon) / t(n_classes)
    elif rounding == "keras":  # binary's Python 0.5·ε rounds as the dtype's ε / 2
        factor, addend = t(1.0 - epsilon), t(epsilon) / t(n_classes)
    elif rounding == "keras-torch":  # ε / cast(K) on torch is K.reciprocal() · ε (__rtruediv__)
        factor, addend = t(1.0 - epsilon), (t(1) / t(n_classes)) * t(epsilon)
    else:
        factor, addend = t(1.0 - epsilon), t(epsilon / n_classes)
    out = y * factor + addend
    note = f"targets smoothed: y·(1 − {fmt(epsilon)}) + {fmt(epsilon)}/{n_classes}"
    return StageResult("smooth", out, out != y, note, "y")


def normalise(p: Array, kernel: str = "numpy") -> StageResult:
    """p ← p / Σₖ p  per row, so every row sums to 1 (Σ and ÷ as ``kernel``'s library does them)."""
    total = kernels.sum_last(p, kernel, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = kernels.divide_last(p, total, kernel)
    changed = out != p
    rows = np.flatnonzero(changed.any(axis=-1))
    if rows.size == 0:
        note = "every row already summed to 1"
    elif rows.size == 1:
        note = f"row {rows[0] + 1} summed to {fmt(total[rows[0], 0])} and was divided by it"
    else:
        note = f"{_rows_text(rows)} did not sum to 1; each was divided by its sum"
    return StageResult("normalise", out, changed, note)


def clip(p: Array, eps: float) -> StageResult:
    """p ← min(max(p, ε), 1 − ε). Marks the cells it moved."""
    lo = p.dtype.type(eps)
    hi = p.dtype.type(1) - lo
    out = np.clip(p, lo, hi)
    raised = p < lo
    lowered = p > hi
    parts = []
    if raised.any():
        n = int(raised.sum())
        parts.append(f"{n} value{'s' if n > 1 else ''} clipped up to {fmt(lo)}")
    if lowered.any():
        n = int(lowered.sum())
        parts.append(f"{n} value{'s' if n > 1 else ''} clipped down to {fmt(hi)}")
    note = "; ".join(parts) if parts else f"nothing outside [{fmt(lo)}, {fmt(hi)}]"
    return StageResult("clip", out, raised | lowered, note)


def log(p: Array, kernel: str = "numpy", base: float | None = None, offset: float = 0.0,
        floor: float | None = None) -> StageResult:
    """log p ← max(ln(p + offset) / ln(base), floor).

    offset is 0 except in tf.keras binary (1e-7); floor is None except in torch's binary loss (−100).
    """
    x = p + p.dtype.type(offset) if offset else p
    return _logged("log", "log p", x, kernel, base, offset, floor)


def log1m(p: Array, kernel: str = "numpy", base: float | None = None, offset: float = 0.0,
          floor: float | None = None, form: str = "log") -> StageResult:
    """log(1 − p) ← max(ln(1 − p + offset) / ln(base), floor): binary cross-entropy's second term.

    ``form="log1p"`` computes ln(1 − p) as log1p(−p), without rounding 1 − p first (torch's
    binary_cross_entropy): for p = 1e-12 in float32 it gives −1e-12 where log(1 − p) gives 0.
    """
    if form == "log1p":
        return _logged("log1m", "log(1 − p) as log1p(−p)", -p, kernel, base, offset, floor,
                       lambda x: kernels.log1p(x, kernel))
    x = p.dtype.type(1) - p
    if offset:
        x = x + p.dtype.type(offset)
    return _logged("log1m", "log(1 − p)", x, kernel, base, offset, floor)


def _logged(name: str, what: str, x: Array, kernel: str, base: float | None, offset: float,
            floor: float | None, fn=None) -> StageResult:
    if fn is None:
        out = kernels.log(x, kernel)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = fn(x)
    if base is not None:
        out = out / out.dtype.type(np.log(base))
    note = what + (f" with {fmt(offset)} added inside the log" if offset else "")
    note += f", base {fmt(base)}" if base else ", natural log"
    changed = None
    if floor is not None:
        floored = np.maximum(out, out.dtype.type(floor))
        changed = floored != out
        n = int(changed.sum())
        note += f"; {n} value{'s' if n != 1 else ''} raised to the floor {fmt(floor)}" if n else ""
        out = floored
    lowest = np.min(out) if out.size else 0  # −inf or nan: count the −inf cells
    n_inf = int(np.isneginf(out).sum()) if lowest == -np.inf or lowest != lowest else 0
    if n_inf:
        note += f"; log 0 = −inf in {n_inf} cell{'s' if n_inf > 1 else ''}"
    operand = "log(1−p)" if name == "log1m" else "log p"
    return StageResult(name, out, changed, note, operand)


def softmax(z: Array) -> StageResult:
    """p ← exp(z) / Σₖ exp(z), computed as written (no max shift), so it can overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        out = e / np.sum(e, axis=-1, keepdims=True)
    bad = np.flatnonzero(~np.isfinite(out).all(axis=-1))
    note = "softmax exp(z)/Σexp(z)"
    if bad.size:
        note += f"; exp overflowed in {_rows_text(bad)} (gives nan): use a log-softmax profile"
    return StageResult("softmax", out, None, note)


def log_softmax(z: Array, form: str = "shifted", kernel: str = "numpy",
                scalar_log: bool = False) -> StageResult:
    """log p ← (z − m) − ln Σₖ exp(z − m), with m = maxₖ z (stable at ±1000).

    ``form="lse"`` rounds in the other order, log p ← z − (ln Σₖ exp(z − m) + m), as
    z − logsumexp(z) (optax's integer-label loss: logsumexp(z) − z[label]), with m = 0 where the
    max is inf or nan, as jax.nn.logsumexp: a row holding +inf gives −inf for the other classes.
    exp, Σ and ln as ``kernel``'s library computes them: TensorFlow's fused kernel takes exp inside
    its row sums (packets start at each row, ``kernels.exp(rows=True)``) and, when ``scalar_log``
    (its sparse kernel), the C library's logf of each row sum.
    """
    m = np.max(z, axis=-1, keepdims=True)
    if form == "lse":  # jax.nn.logsumexp shifts by 0 where the max is not finite (inf or nan)
        m = np.where(np.isfinite(m), m, m.dtype.type(0))
    shifted = z - m
    total = kernels.sum_last(kernels.exp(shifted, kernel, rows=True), kernel, keepdims=True)
    log_sum = kernels.log(total, "glibc" if scalar_log and kernel == "tensorflow" else kernel)
    if form == "lse":
        out = z - (log_sum + m)
        return StageResult("log_softmax", out, None, "log-softmax z − logsumexp(z)", "log p")
    out = shifted - log_sum
    return StageResult("log_softmax", out, None, "log-softmax z − max − log Σ exp(z − max)", "log p")


def renormalise(logp: Array, kernel: str = "numpy") -> StageResult:
    """log p ← log_softmax(log p) = log(p / Σₖ p): TensorFlow's sparse loss treats log p as logits."""
    result = log_softmax(logp, kernel=kernel, scalar_log=True)
    changed = result.array != logp
    rows = np.flatnonzero(changed.any(axis=-1))
    note = "log p used as logits: softmax renormalises each row"
    if rows.size:
        note += f" ({_rows_text(rows)} changed)"
    return StageResult("renormalise", result.array, changed, note, "log p")


def sigmoid(z: Array) -> StageResult:
    """p ← 1 / (1 + exp(−z))."""
    with np.errstate(over="ignore"):
        out = z.dtype.type(1) / (z.dtype.type(1) + np.exp(-z))
    return StageResult("sigmoid", out, None, "sigmoid 1/(1 + exp(−z))")


def softplus_tail(z: Array, flush: bool = False, kernel: str = "numpy") -> Array:
    """log1p(exp(−|z|)), the term every stable sigmoid cross-entropy shares (exp and log1p over
    the whole tensor as ``kernel``'s library computes them).

    ``flush``: a subnormal exp(−|z|) reads as 0 (|z| > 87.3 in float32), as in TensorFlow and
    XLA, which run with the CPU's flush-to-zero flag set.
    """
    e = kernels.exp(-np.abs(z), kernel)
    if flush:
        e = np.where(e < np.finfo(e.dtype).tiny, e.dtype.type(0), e)
    return kernels.log1p(e, kernel)


def log_sigmoid(z: Array, flush: bool = False, kernel: str = "numpy") -> tuple[StageResult, StageResult]:
    """log σ(z) = −(max(−z, 0) + log1p(exp(−|z|)));  log(1 − σ(z)) = log σ(−z)."""
    soft = softplus_tail(z, flush, kernel)
    log_p = -(np.maximum(-z, z.dtype.type(0)) + soft)
    log_1mp = -(np.maximum(z, z.dtype.type(0)) + soft)
    return (
        StageResult("log_sigmoid", log_p, None, "log σ(z), stable form", "log p"),
        StageResult("log1m", log_1mp, None, "log(1 − σ(z)) = log σ(−z)", "log(1−p)"),
    )


def combine_categorical(y: Array, logp: Array, class_weight: Array | None = None,
                        zero_times_inf: str = "nan", kernel: str = "numpy") -> StageResult:
    """lᵢ ← −Σₖ wₖ·yᵢₖ·log pᵢₖ  (wₖ = 1 without class weights).

    ``zero_times_inf="zero"`` uses the convention 0·log 0 = 0 (scipy's xlogy), as the textbook
    formula and scikit-learn do; ``"nan"`` multiplies as the tensor libraries do.
    """
    terms = y * logp
    if zero_times_inf == "zero":
        terms = np.where(y == 0, terms.dtype.type(0), terms)
    if class_weight is not None:
        terms = terms * class_weight.astype(terms.dtype)
    out = -kernels.sum_last(terms, kernel)
    return StageResult("combine", out, None, "per sample −Σ y·log p", "loss")


def categorical_terms(y: Array, logp: Array, class_weight: Array | None = None) -> Array:
    """−yᵢₖ·log pᵢₖ (·wₖ), every product of ``combine_categorical`` before the row sums: what
    torch's F.cross_entropy with class probabilities adds up whole for sum and mean."""
    terms = y * logp
    if class_weight is not None:
        terms = terms * class_weight.astype(terms.dtype)
    return -terms


def combine_smoothed_labels(labels: Array, logp: Array, epsilon: float,
                            kernel: str = "numpy") -> StageResult:
    """lᵢ ← (1 − ε)·(−log pᵢ,labelᵢ) + (−Σₖ log pᵢₖ)·(ε/K), torch's F.cross_entropy with class
    indices and label smoothing (1 − ε and ε/K Python floats rounded once to the dtype): the
    same loss as −Σ y·log p of the smoothed one-hot y, rounded otherwise."""
    t = logp.dtype.type
    k = logp.shape[-1]
    nll = -logp[np.arange(logp.shape[0]), labels.astype(np.intp)]
    smooth = -kernels.sum_last(logp, kernel)
    out = t(1.0 - epsilon) * nll + smooth * t(epsilon / k)
    note = f"per sample (1 − {fmt(epsilon)})·(−log p[label]) + (−Σ log p)·{fmt(epsilon)}/{k}"
    return StageResult("combine", out, None, note, "loss")


def combine_sparse(labels: Array, logp: Array, class_weight: Array | None = None) -> StageResult:
    """lᵢ ← −w[labelᵢ]·log pᵢ,labelᵢ."""
    out = -logp[np.arange(logp.shape[0]), labels.astype(np.intp)]
    if class_weight is not None:
        out = out * class_weight.astype(out.dtype)[labels.astype(np.intp)]
    return StageResult("combine", out, None, "per sample −log p[label]", "loss")


def combine_binary(y: Array, logp: Array, log1mp: Array, zero_times_inf: str = "nan",
                   form: str = "log_sigmoid", z: Array | None = None, over: str = "mean",
                   base: float | None = None, flush: bool = False, kernel: str = "numpy") -> StageResult:
    """lᵢ ← meanₖ (``over="sum"``: Σₖ; ``over="none"``: the (N, K) elements) of the elementwise loss,
    which is

    −(y·log p + (1 − y)·log(1 − p))            on probabilities, and from logits z by default;
    (max(z, 0) − z·y) + log1p(exp(−|z|))       ``form="tensorflow"`` (sigmoid_cross_entropy_with_logits);
    (1 − y)·z − log σ(z), log σ(z) = min(z, 0) − log1p(exp(−|z|))   ``form="torch"``.

    The three are equal in exact arithmetic and round differently. ``zero_times_inf="zero"`` drops
    a term whose factor is 0 (0·log 0 = 0), as in ``combine_categorical``; ``flush`` as in
    ``softplus_tail``.
    """
    one = y.dtype.type(1)
    if form in ("tensorflow", "torch") and z is not None:
        soft = softplus_tail(z, flush, kernel if form == "tensorflow" else "torch-vec")
        if form == "tensorflow":
            elements = (np.where(z >= 0, z, z.dtype.type(0)) - z * y) + soft
        else:
            elements = (one - y) * z - (np.minimum(z, z.dtype.type(0)) - soft)
        if base is not None:
            elements = elements / elements.dtype.type(np.log(base))
    else:
        one_minus_y = one - y
        first, second = y * logp, one_minus_y * log1mp
        if zero_times_inf == "zero":
            first = np.where(y == 0, first.dtype.type(0), first)
            second = np.where(one_minus_y == 0, second.dtype.type(0), second)
        elements = -(first + second)
    what = binary_formula(form, z)
    if over == "none":  # the framework's elementwise (N, K) output (torch and optax reduce it whole)
        return StageResult("combine", elements, None, f"elementwise {what}", "loss")
    out = kernels.sum_last(elements, kernel) if over == "sum" else kernels.mean_last(elements, kernel)
    return StageResult("combine", out, None, f"per sample {over} over outputs of {what}", "loss")


def binary_formula(form: str, z: Array | None) -> str:
    """The elementwise loss ``combine_binary`` computes with ``form``, as its notes write it."""
    if form in ("tensorflow", "torch") and z is not None:
        return {"tensorflow": "(max(z, 0) − z·y) + log1p(exp(−|z|))", "torch": "(1 − y)·z − log σ(z)"}[form]
    return "−(y·log p + (1−y)·log(1−p))"


def weigh(losses: Array, sample_weight: Array | None) -> Array:
    """lᵢ ← wᵢ·lᵢ  (a single weight is broadcast to every sample)."""
    if sample_weight is None:
        return losses
    return losses * sample_weight.astype(losses.dtype)


def dot(losses: Array, weights: Array) -> np.floating:
    """Σ wᵢ·lᵢ as numpy.dot computes it (the BLAS dot product of the local numpy, in its own
    order of addition): scikit-learn's ``normalize=False`` with sample weights."""
    return np.dot(losses, weights)


def divide_no_nan(total: Array | np.floating, divisor: Array | np.floating) -> Array | np.floating:
    """total / divisor, and 0 where the divisor is 0 (TensorFlow's divide_no_nan)."""
    if divisor == 0:
        return total.dtype.type(0)
    return total / divisor


def reduce(weighted: Array, reduction: str, divisor: float | None, divisor_name: str = "N",
           zero_division: str = "zero", kernel: str = "numpy") -> StageResult:
    """none: w·l;  sum: Σ w·l;  the means: Σ w·l ÷ divisor (N, Σ w or Σ w[target], per profile).

    ``zero_division="zero"`` returns 0 for a zero divisor, as Keras's divide_no_nan does.
    """
    if reduction == "none":
        return StageResult("reduce", weighted, None, "no reduction: one loss per sample", "loss")
    return reduce_total(sums.total(weighted, kernel), reduction, divisor, divisor_name, zero_division)


def reduce_total(total: np.floating, reduction: str, divisor: float | None, divisor_name: str = "N",
                 zero_division: str = "zero", reciprocal: bool = False) -> StageResult:
    """``reduce`` from Σ w·l already summed (see core/sums.py): streamed runs end here too.

    ``reciprocal``: the mean is Σ w·l × fl(1/N), two roundings (jnp.mean: XLA rewrites a division
    by a constant into a multiplication by its reciprocal)."""
    if reduction == "sum":
        return StageResult("reduce", np.asarray(total), None, f"Σ w·l = {fmt(total)}", "loss")
    d = total.dtype.type(divisor)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if reciprocal and reduction == "mean" and d != 0:
            inverse = total.dtype.type(1) / d
            note = f"Σ w·l = {fmt(total)} × 1/{divisor_name} = {fmt(inverse)}"
            return StageResult("reduce", np.asarray(total * inverse), None, note, "loss")
        value = divide_no_nan(total, d) if zero_division == "zero" else total / d
    note = f"Σ w·l = {fmt(total)} ÷ {divisor_name} = {fmt(d)}"
    return StageResult("reduce", np.asarray(value), None, note, "loss")
