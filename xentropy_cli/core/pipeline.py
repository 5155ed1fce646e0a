"""run(inputs, profile) -> Result: the profile's stages, in order, over validated inputs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from xentropy_cli.core import kernels, sums
from xentropy_cli.core import stages as st
from xentropy_cli.core.choices import Reduction
from xentropy_cli.core.profiles import CLIP, LOG, NORMALISE, SMOOTH, Profile
from xentropy_cli.core.types import Array, Inputs, Notice, Options, Result, StageResult
from xentropy_cli.core.validate import Prepared, prepare
from xentropy_cli.errors import XentError


@dataclass
class _State:
    """The arrays in flight. ``y`` holds integer labels (sparse) until a stage needs them one-hot."""

    y: Array
    p: Array
    logp: Array | None = None
    log1mp: Array | None = None
    losses: Array | None = None
    elements: Array | None = None  # binary, profiles that reduce the (N, K) output: its elements
    results: list[StageResult] = field(default_factory=list)
    chunk: bool = False  # see run(chunk=)


def plan(profile: Profile, kind: str, from_logits: bool, options: Options) -> tuple[str, ...]:
    """The profile's stage list for this input, with the user's --normalise/--clip switches."""
    names = list(profile.path(kind, from_logits))
    if options.normalise is False and NORMALISE in names:
        names.remove(NORMALISE)
    if options.normalise and NORMALISE not in names and not from_logits and kind != "binary":
        after = names.index(SMOOTH) + 1 if SMOOTH in names else 1
        names.insert(after, NORMALISE)
    if options.clip is False and CLIP in names:
        names.remove(CLIP)
    if isinstance(options.clip, float) and CLIP not in names and LOG in names:
        if not from_logits or "sigmoid" in names or "softmax" in names:
            names.insert(names.index(LOG), CLIP)
    return tuple(names)


def clip_eps(profile: Profile, options: Options, dtype: np.dtype) -> float:
    if isinstance(options.clip, float):
        return options.clip
    eps = profile.eps_for(dtype)
    return 1e-7 if eps is None else eps


def compute_dtype(profile: Profile, options: Options, y_pred: Array) -> np.dtype:
    if options.dtype:
        return np.dtype(options.dtype)
    if profile.dtype == "input":
        return y_pred.dtype if np.issubdtype(y_pred.dtype, np.floating) else np.dtype("float64")
    return np.dtype(profile.dtype)


def run(inputs: Inputs, profile: Profile, options: Options | None = None, *,
        chunk: bool = False) -> Result:
    """Run every stage of ``profile`` on ``inputs`` and keep what each one produced.

    ``chunk=True``: a block of a streamed or sharded run (core.partial.run_chunk), whose input
    arrays are not changed afterwards: arrays already in the compute dtype are not copied by
    the cast stage, and with reduction ``none`` Σ w·l is not summed (``weighted_sum`` is nan:
    core.partial sums the per-sample losses itself). Values, stages, notes and notices are
    the same.
    """
    # log 0, overflow and 0·inf are reported as notices, never as numpy's RuntimeWarnings
    with np.errstate(all="ignore"):
        return _run(inputs, profile, options or Options(), chunk)


def run_each(inputs: Inputs, profile: Profile, options: Options, reductions: Iterable[Reduction]
             ) -> dict[str, Result | XentError]:
    """``run`` with each of ``reductions`` (the user's ``options.reduction`` is ignored), the
    stages computed once: {reduction: its Result, or the XentError that ``run`` raises}."""
    out: dict[str, Result | XentError] = {}
    shared: tuple[_State, np.dtype] | None = None
    with np.errstate(all="ignore"):
        for reduction in reductions:
            opts = replace(options, reduction=reduction)
            try:
                prep = prepare(inputs, profile, opts)
                if shared is None:
                    shared = _stages(inputs, profile, opts, prep)
                out[reduction] = _reduced(inputs, profile, opts, prep, *shared)
            except XentError as exc:
                out[reduction] = exc
    return out


def _run(inputs: Inputs, profile: Profile, options: Options, chunk: bool = False) -> Result:
    prep = prepare(inputs, profile, options)
    state, dtype = _stages(inputs, profile, options, prep, chunk)
    return _reduced(inputs, profile, options, prep, state, dtype)


def _stages(inputs: Inputs, profile: Profile, options: Options, prep: Prepared,
            chunk: bool = False) -> tuple[_State, np.dtype]:
    """Every stage up to the per-sample losses (state.losses), in the compute dtype."""
    dtype = compute_dtype(profile, options, prep.y_pred)
    names = plan(profile, prep.kind, inputs.from_logits, options)
    state = _State(y=prep.y_true, p=prep.y_pred, chunk=chunk)
    for name in names[:-1]:
        _STAGES[name](state, profile, options, dtype, prep)
    return state, dtype


def _reduced(inputs: Inputs, profile: Profile, options: Options, prep: Prepared, state: _State,
             dtype: np.dtype) -> Result:
    """The weighing and the reduce stage, from the per-sample losses of ``_stages``."""
    chunk = state.chunk
    weights = None
    if prep.sample_weight is not None:
        given = scalar_weight(profile, prep.sample_weight)
        weights = given.astype(weight_dtype(profile, dtype, given))
    each = _made(state.losses)
    losses = each if weights is None else each.astype(np.result_type(each.dtype, weights.dtype))
    weighted = st.weigh(losses, weights)  # a 1-D binary input's one loss broadcasts to N weights
    reduction = options.reduction or profile.reduction
    divisor, divisor_name = _divisor(profile, reduction, weights, prep, weighted)
    summed = weighted if state.elements is None else state.elements.reshape(-1)
    total: np.floating
    if chunk and reduction == "none":
        total = np.float64(np.nan)
    elif reduction == "sum" and profile.weighted_sum == "dot" and weights is not None \
            and weights.ndim == 1 and weights.shape == losses.shape and not chunk:
        total = st.dot(losses, weights)
    else:
        total = sums.total(summed, total_kernel(profile, prep.kind, options.kernel))  # summed once
    reduced = st.reduce(weighted, "none", None) if reduction == "none" else \
        st.reduce_total(total, reduction, divisor, divisor_name, profile.zero_division,
                        profile.mean_by_reciprocal)
    value = reduced.array if reduction == "none" else float(reduced.array)
    per = np.asarray(state.losses)
    finite = bool(np.isfinite(np.min(per)) and np.isfinite(np.max(per))) if per.size else True
    found = None if finite else first_non_finite(state.results, per)
    notices = tuple(_with_outcome(n, prep, state, weighted) for n in prep.notices)
    notices += tuple(_result_notices(state, clip_eps(profile, options, dtype), finite))
    return Result(
        profile=profile.name,
        models=profile.models,
        kind=prep.kind,  # type: ignore[arg-type]
        from_logits=inputs.from_logits,
        dtype=str(dtype),
        reduction=reduction,
        stages=tuple(state.results) + (reduced,),
        per_sample=weighted,
        value=value,
        weighted_sum=float(total),
        divisor=float(divisor) if divisor is not None else float("nan"),
        n_samples=weighted.shape[0] if prep.one_sample else prep.n_samples,
        n_classes=prep.n_classes,
        notices=notices,
        reason=prep.kind_reason,
        elements=state.elements,
        first_non_finite=found,
    )


def scalar_weight(profile: Profile, sample_weight: Array) -> Array:
    """A single-number weight as the framework holds it before casting it to the losses' dtype
    (tf.keras: w rounded to float32 first, even for float64 losses)."""
    if profile.scalar_weight_dtype and sample_weight.ndim == 0:
        return sample_weight.astype(profile.scalar_weight_dtype)
    return sample_weight


def _made(a: Array | None) -> Array:
    """An array an earlier stage of the plan has made (every plan ends in combine)."""
    if a is None:
        raise AssertionError("a stage ran before the stage that makes its operand")
    return a


def weight_dtype(profile: Profile, dtype: np.dtype, sample_weight: Array) -> np.dtype:
    """The dtype samples are weighed in: the compute dtype, or (sklearn's np.average) the
    promotion of the losses' and the weights' dtypes, so float32 losses with float64 weights
    are weighed and averaged in float64."""
    return np.result_type(dtype, sample_weight.dtype) if profile.weight_promotion else dtype


def counted(profile: Profile, kind: str, n: int, n_outputs: int) -> int:
    """How many losses a mean divides by: N, or N·K when the framework reduces every output of a
    binary loss (torch's reduction="mean" over an (N, K) tensor, jnp.mean of optax's output)."""
    return n * n_outputs if kind == "binary" and profile.binary_outputs == "elements" else n


def _divisor(profile: Profile, reduction: str, weights: Array | None, prep: Prepared,
             losses: Array) -> tuple[float | None, str]:
    n = counted(profile, prep.kind, losses.shape[0], prep.n_classes)
    weight_total = target_total = None
    # Keras returns a scalar loss (one sample, a 1-D binary input) unreduced: w·l under every
    # reduction, so a single weight is not divided out again
    scalar_loss = prep.one_sample and losses.shape[0] == 1
    if reduction == "mean_with_sample_weight" and weights is not None and not scalar_loss:
        # Σ w in the dtype and order of the profile's sums; one number counts once
        weight_total = float(sums.total(weights.reshape(-1), profile.kernel))
    if prep.class_weight is not None and prep.labels is not None and profile.class_weight:
        target_total = float(sums.total(target_weights(prep.class_weight, prep.labels, losses.dtype)))
    lone = weights is not None and weights.ndim == 0 and losses.shape == (1,)
    return divisor(profile, reduction, n, weight_total, target_total, prep.source, lone)


def target_weights(class_weight: Array, labels: Array, dtype: np.dtype) -> Array:
    """w[targetᵢ] per sample: torch's class-weighted mean divides by their sum."""
    return class_weight.astype(dtype)[labels.astype(np.intp)]


def divisor(profile: Profile, reduction: str, n: int, weight_total: float | None,
            target_total: float | None, source: str = "",
            lone_scalar: bool = False) -> tuple[float | None, str]:
    """The reduction's denominator and its name: N, Σ w (Keras/sklearn weighted mean) or
    Σ w[target] (torch with class weights); None for ``none`` and ``sum``.

    ``weight_total`` is Σ w (None: no sample weights); ``target_total`` is Σ w[target] (None: no
    class weights). Streamed and sharded runs call this with totals combined from partials.
    ``lone_scalar``: one sample with a single-number weight, whose loss Keras 3 squeezes to
    shape () and then leaves unreduced (``profile.one_sample_unreduced``): the divisor is 1.
    """
    if reduction == "mean_with_sample_weight":
        if lone_scalar and profile.one_sample_unreduced:
            return 1, "1 (Keras 3 leaves one sample with a single weight unreduced)"
        if weight_total is None:
            return n, "N"
        if weight_total == 0 and profile.zero_division == "error":
            from xentropy_cli.errors import DataError

            raise DataError("the sample weights sum to zero, so their weighted mean is undefined",
                            where=source, hint="give at least one positive weight")
        return weight_total, "Σ w"
    if reduction in ("mean", "sum_over_batch_size"):
        if target_total is not None:
            return target_total, "Σ w[target]"
        return n, "N"
    return None, ""


def first_non_finite(results: list[StageResult] | tuple[StageResult, ...], losses: Array,
                     kind: str = "any") -> tuple[str, int, int | None, float] | None:
    """Where the first non-finite loss comes from: its row (the first whose loss is nan, inf, or
    with ``kind`` "nan"/"inf" that one), and the first stage whose output holds a nan or inf in
    that row, as (stage, row, column or None, value), 0-based; None when every loss is finite.
    A cell already nan or inf in the input is found at the cast stage."""
    bad_losses = np.isnan(losses) if kind == "nan" else np.isinf(losses) if kind == "inf" \
        else ~np.isfinite(losses)
    if not bad_losses.any():
        return None
    row = int(np.flatnonzero(bad_losses)[0])
    for stage in results:
        a = np.asarray(stage.array)
        if a.dtype.kind != "f" or a.ndim == 0 or a.shape[0] <= row:
            continue
        cells = a[row]
        bad = ~np.isfinite(cells)
        if bad.any():
            col = int(np.flatnonzero(np.atleast_1d(bad))[0]) if cells.ndim else None
            value = float(cells[col]) if col is not None else float(cells)
            return stage.name, row, col, value
    return None


def _with_outcome(notice: Notice, prep: Prepared, state: _State, weighted: Array) -> Notice:
    """A nan or inf input cell (``non_finite``) with what the framework made of it: the first
    stage that turned a y_pred cell into a finite number (texts[3], values[2]; "" when none
    did) and the loss of its row, weighted for a weight (values[1])."""
    if notice.code != "non_finite" or not notice.rows or len(notice.texts) != 3:
        return notice
    row = notice.rows[0] - 1
    losses = np.asarray(weighted if notice.texts[0] == "sample_weight" else _made(state.losses))
    flat = losses.reshape(-1)
    if not flat.size:
        return notice
    loss = float(flat[min(row, flat.size - 1)])
    stage, turned = "", float("nan")
    p = np.asarray(prep.y_pred)
    if notice.texts[0] == "y_pred" and p.ndim == 2 and row < p.shape[0]:
        col = int(np.flatnonzero(~np.isfinite(p[row]))[0]) if not np.isfinite(p[row]).all() else None
        for result in state.results[1:] if col is not None else ():
            a = np.asarray(result.array)
            if result.operand == "p" and a.shape == p.shape and np.isfinite(a[row, col]):
                stage, turned = result.name, float(a[row, col])
                break
    return replace(notice, texts=(*notice.texts, stage), values=(notice.values[0], loss, turned))


def _where(found: tuple[str, int, int | None, float] | None) -> dict:
    """Notice fields for where a nan or inf first appears: texts (stage,), values (column
    1-based or 0, value); its row is the notice's first row."""
    if found is None:
        return {}
    stage, _, col, value = found
    return {"texts": (stage,), "values": (0 if col is None else col + 1, value)}


def _result_notices(state: _State, clip_bound: float, finite: bool = True) -> list[Notice]:
    notices = []
    for result in state.results:
        if result.name == CLIP and result.changed is not None and result.changed.any():
            rows = tuple(int(r) + 1 for r in np.flatnonzero(result.changed.any(axis=-1)))
            lo = result.array.dtype.type(clip_bound)
            hi = result.array.dtype.type(1) - lo
            up = int(np.count_nonzero(result.changed & (result.array == lo)))
            down = int(np.count_nonzero(result.changed)) - up
            notices.append(Notice("clipped", rows, counts=(up, down), values=(float(lo), float(hi))))
    losses = _made(state.losses)
    if finite:
        return notices
    inf_rows = tuple(int(r) + 1 for r in np.flatnonzero(np.isinf(losses)))
    if inf_rows:
        where = _where(first_non_finite(state.results, losses, "inf"))
        notices.append(Notice("log_zero", inf_rows, counts=(len(inf_rows),), **where))
    nan_rows = tuple(int(r) + 1 for r in np.flatnonzero(np.isnan(losses)))
    if nan_rows:
        where = _where(first_non_finite(state.results, losses, "nan"))
        notices.append(Notice("nan", nan_rows, counts=(len(nan_rows),), **where))
    return notices


# --- stage handlers: each takes the state and appends one StageResult -------------------------

def _cast(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.cast(s.p, dtype, copy=not s.chunk)
    if s.y.ndim == 2:
        s.y = s.y.astype(dtype, copy=not s.chunk)
    if profile.flush_subnormals:  # the framework's first op reads subnormal inputs as 0 (DAZ)
        flushed = st.flush_subnormal(result.array)
        if flushed is not result.array:
            n = int(np.count_nonzero(flushed != result.array))
            result = replace(result, array=flushed, note=result.note + f"; {n} subnormal value"
                             f"{'s' if n > 1 else ''} read as 0 (the CPU's denormals-are-zero mode)")
        if s.y.ndim == 2:
            s.y = st.flush_subnormal(s.y)
    s.p = result.array
    s.results.append(result)


def _smooth(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    made_one_hot = bool(options.label_smoothing) and s.y.ndim == 1
    if made_one_hot:
        s.y = st.one_hot(s.y, prep.n_classes, dtype)
    k = 2 if prep.kind == "binary" else prep.n_classes
    result = st.smooth(s.y, options.label_smoothing, k, profile.smoothing_rounding)
    if made_one_hot:
        result = replace(result, note="labels made one-hot, then " + result.note)
    s.y = result.array
    s.results.append(result)


def _normalise(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.normalise(s.p, _sum_kernel(profile, options))
    if profile.flush_subnormals:  # a subnormal quotient is written as 0 (flush-to-zero)
        result = replace(result, array=st.flush_subnormal(result.array))
    s.p = result.array
    s.results.append(result)


def _clip(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.clip(s.p, clip_eps(profile, options, dtype))
    s.p = result.array
    s.results.append(result)


def _offset(profile: Profile, prep: Prepared) -> float:
    return profile.binary_log_offset if prep.kind == "binary" else 0.0


def _floor(profile: Profile, prep: Prepared) -> float | None:
    return profile.log_floor if prep.kind == "binary" else None


def _log(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.log(s.p, _kernel(profile, options, prep), options.base, _offset(profile, prep),
                    _floor(profile, prep))
    s.logp = result.array
    s.results.append(result)


def _log1m(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.log1m(s.p, _kernel(profile, options, prep), options.base, _offset(profile, prep),
                      _floor(profile, prep), profile.log1m)
    s.log1mp = result.array
    s.results.append(result)


def _sum_kernel(profile: Profile, options: Options) -> str:
    """Whose order of addition (and division by a row total) the row sums follow."""
    return options.kernel or profile.kernel


def total_kernel(profile: Profile, kind: str, kernel: str | None = None) -> str:
    """Whose order Σ w·l follows (``kernel``: the user's --kernel): torch's F.nll_loss adds the
    picked losses in its own cascade ("torch-nll"), not as torch.sum."""
    chosen = kernel or profile.kernel
    return "torch-nll" if chosen == "torch" and kind == "sparse" and profile.loss_total == "torch" \
        else chosen


def _softmax_sum_kernel(profile: Profile, options: Options) -> str:
    """Σ exp inside log-softmax: TensorFlow and XLA reduce as in any sum; torch's log_softmax
    and log_sigmoid kernels have their own vectorised loops: "torch-vec" adds as ATen's
    map_reduce_all and takes SLEEF's exp, log and log1p (kernels.py)."""
    kernel = _sum_kernel(profile, options)
    return "torch-vec" if kernel == "torch" else kernel


def _kernel(profile: Profile, options: Options, prep: Prepared) -> str:
    if options.kernel:
        return options.kernel
    return (profile.binary_kernel if prep.kind == "binary" else None) or profile.kernel


def _in_base(a: Array, options: Options) -> Array:
    return a if options.base is None else a / a.dtype.type(np.log(options.base))


def _softmax(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.softmax(s.p)
    s.p = result.array
    s.results.append(result)


def _log_softmax(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.log_softmax(s.p, "lse" if prep.kind in profile.lse_kinds else "shifted",
                            _softmax_sum_kernel(profile, options), scalar_log=prep.kind == "sparse")
    s.logp = _in_base(result.array, options)
    s.results.append(replace(result, array=s.logp))


def _renormalise(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.renormalise(_made(s.logp), _softmax_sum_kernel(profile, options))
    s.logp = result.array
    s.results.append(result)


def _sigmoid(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    result = st.sigmoid(s.p)
    s.p = result.array
    s.results.append(result)


def _log_sigmoid(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    logp, log1mp = st.log_sigmoid(s.p, profile.flush_subnormals, _softmax_sum_kernel(profile, options))
    s.logp = _in_base(logp.array, options)
    s.log1mp = _in_base(log1mp.array, options)
    s.results += [replace(logp, array=s.logp), replace(log1mp, array=s.log1mp)]


def _combine(s: _State, profile: Profile, options: Options, dtype, prep: Prepared) -> None:
    if prep.kind == "binary":
        from_logits = any(r.name == "log_sigmoid" for r in s.results)  # s.p still holds z
        form = profile.binary_logits if from_logits else "log_sigmoid"
        whole = profile.binary_outputs == "elements"
        kernel = _sum_kernel(profile, options)
        result = st.combine_binary(s.y, _made(s.logp), _made(s.log1mp), profile.zero_times_inf, form, s.p,
                                   "none" if whole else "mean", options.base,
                                   profile.flush_subnormals, kernel)
        if whole:  # the per-sample mean over K, and the elements kept for sum and mean
            s.elements = result.array
            result = replace(result, array=kernels.mean_last(s.elements, kernel),
                             note=f"per sample mean over outputs of {st.binary_formula(form, s.p)}")
    elif prep.kind == "sparse" and options.label_smoothing and profile.loss_total == "torch" \
            and prep.class_weight is None:
        result = st.combine_smoothed_labels(_made(prep.labels), _made(s.logp), options.label_smoothing,
                                            _sum_kernel(profile, options))
    elif s.y.ndim == 1:
        logp = _made(s.logp)
        one_hot = profile.label_range in ("zero", "zero_negative")  # Keras's JAX, NumPy backends
        result = _void_labels(st.combine_sparse(s.y, logp, prep.class_weight), logp, prep,
                              s.y if one_hot else None)
    else:
        result = st.combine_categorical(s.y, _made(s.logp), prep.class_weight, profile.zero_times_inf,
                                        _sum_kernel(profile, options))
        if profile.loss_total == "torch" and any(r.name == "log_softmax" for r in s.results):
            # F.cross_entropy with class probabilities: sum and mean add all N·K products
            s.elements = st.categorical_terms(s.y, _made(s.logp), prep.class_weight)
    s.losses = result.array
    s.results.append(result)


def _void_labels(result: StageResult, logp: Array, prep: Prepared,
                 one_hot: Array | None = None) -> StageResult:
    """Rows whose label the framework does not index: an all-zero one-hot row gives
    −Σₖ 0·log pₖ (−0, or nan beside a −inf or nan), jnp.take_along_axis's fill gives nan.
    ``one_hot`` (the labels): the framework one-hots them and sums y·log p over the classes
    (Keras's JAX and NumPy backends), so a nan or ±inf log p in another class makes the row
    nan (0·inf)."""
    other = None
    if one_hot is not None and not np.isfinite(logp).all():
        bad = ~np.isfinite(logp)
        bad[np.arange(logp.shape[0]), one_hot.astype(np.intp)] = False
        other = bad.any(axis=-1)
    if prep.void_rows is None and prep.nan_rows is None and (other is None or not other.any()):
        return result
    out = result.array.copy()
    if other is not None and other.any():
        out[other] = np.nan
    if prep.void_rows is not None and prep.void_rows.any():
        rows = prep.void_rows
        out[rows] = -np.sum(np.zeros_like(logp[rows]) * logp[rows], axis=-1)
    if prep.nan_rows is not None and prep.nan_rows.any():
        out[prep.nan_rows] = np.nan
    return replace(result, array=out)


_STAGES = {
    "cast": _cast,
    "smooth": _smooth,
    "normalise": _normalise,
    "clip": _clip,
    "log": _log,
    "log1m": _log1m,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "renormalise": _renormalise,
    "sigmoid": _sigmoid,
    "log_sigmoid": _log_sigmoid,
    "combine": _combine,
}
