"""Where two runs part ways: stage snapshots, the first divergent stage, per-row contributions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xentropy_cli.core import profiles
from xentropy_cli.core.stages import fmt
from xentropy_cli.core.types import Array, Result

# Where each stage sits in the computation, so runs with different stage lists line up.
CANONICAL = ("cast", "smooth", "normalise", "softmax", "sigmoid", "clip", "log", "log_softmax",
             "log_sigmoid", "log1m", "renormalise", "combine", "reduce")
_OPERAND_KEY = {"p": "p", "y": "y", "log p": "logp", "log(1−p)": "log1mp", "loss": "losses"}
RTOL, ATOL = 1e-5, 1e-9


@dataclass(frozen=True)
class Divergence:
    stage: str | None  # first stage whose output differs beyond rounding; None: they agree
    rows: tuple[int, ...]  # 0-based rows that differ at that stage
    stage_gaps: dict[str, float]  # largest |P − Q| after each stage
    contributions: Array  # per row: its share of value_P − value_Q
    difference: float
    account: str


def _written_key(result: Result, stage_name: str, operand: str) -> str:
    """Which part of the state a stage wrote. Logits are "z" until softmax or sigmoid makes p."""
    if stage_name == "reduce":
        return "value"
    key = _OPERAND_KEY.get(operand, "p")
    if key == "p" and result.from_logits and stage_name == "cast":
        return "z"
    return key


def snapshots(result: Result, inputs_y: Array, inputs_p: Array) -> dict[str, dict[str, Array]]:
    """The state {y, p or z, logp, log1mp, losses, value} after each stage, keyed by stage name.

    ``state["written"]`` names the key the stage itself wrote.
    """
    state: dict[str, Array] = {"y": inputs_y, ("z" if result.from_logits else "p"): inputs_p}
    out: dict[str, dict[str, Array]] = {}
    for stage in result.stages:
        key = _written_key(result, stage.name, stage.operand)
        state = {**state, key: np.asarray(stage.array), "written": key}  # type: ignore[dict-item]
        out[stage.name] = state
    return out


def _state_at(snaps: dict[str, dict[str, Array]], stage: str, first: dict[str, Array]):
    """A run's state after ``stage``, or after its last stage that comes before it."""
    position = CANONICAL.index(stage)
    best = first
    for name, state in snaps.items():
        if CANONICAL.index(name) <= position:
            best = state
    return best


def _gap(a: Array | None, b: Array | None) -> tuple[float, Array]:
    if a is None or b is None or np.shape(a) != np.shape(b):
        return 0.0, np.zeros(0, bool)
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    differs = ~np.isclose(a64, b64, rtol=RTOL, atol=ATOL, equal_nan=True)
    with np.errstate(invalid="ignore"):
        gap = np.where(differs, np.abs(a64 - b64), 0.0)
    return float(np.fmax.reduce(gap.ravel())) if gap.size else 0.0, differs  # nan-skipping, quiet


def contributions(p: Result, q: Result) -> Array:
    """Per row: wᵢ·lᵢ/D under P minus the same under Q, so they add up to value_P − value_Q."""
    def share(r: Result) -> Array:
        per = np.asarray(r.per_sample, np.float64)
        if r.elements is not None and r.reduction != "none":  # torch/optax reduce the N·K elements:
            per = per * r.elements.shape[-1]  # a row's share is K times its mean over outputs
        if r.reduction in ("none", "sum"):
            return per
        return per / r.divisor if r.divisor else np.zeros_like(per)

    sp, sq = share(p), share(q)
    with np.errstate(invalid="ignore"):
        if sp.shape != sq.shape:  # a 1-D binary input: one sample to Keras, N to the other
            return np.asarray([np.nansum(sp) - np.nansum(sq)])
        return sp - sq


def diverge(p: Result, q: Result, y: Array, pred: Array) -> Divergence:
    first = {"y": y, ("z" if p.from_logits else "p"): pred}
    snaps_p, snaps_q = snapshots(p, y, pred), snapshots(q, y, pred)
    names = [n for n in CANONICAL if n in snaps_p or n in snaps_q]
    gaps: dict[str, float] = {}
    first_stage: str | None = None
    rows: tuple[int, ...] = ()
    for name in names:
        key = (snaps_p.get(name) or snaps_q[name])["written"]
        a = _state_at(snaps_p, name, first).get(key)
        b = _state_at(snaps_q, name, first).get(key)
        gap, differs = _gap(a, b)
        gaps[name] = gap
        if first_stage is None and differs.any():
            first_stage = name
            rows = tuple(int(r) for r in np.flatnonzero(differs.reshape(differs.shape[0], -1).any(1))) \
                if differs.ndim else ()
    contrib = contributions(p, q)
    difference = float(np.nansum(contrib)) if p.reduction == q.reduction == "none" else \
        _scalar(p.value) - _scalar(q.value)
    account = _account(p, q, first_stage, rows, contrib, difference, snaps_p, snaps_q, first)
    return Divergence(first_stage, rows, gaps, contrib, difference, account)


def _scalar(value) -> float:
    a = np.asarray(value, np.float64)
    return float(a) if a.ndim == 0 else float(np.sum(a))


def _who(result: Result) -> str:
    profile = profiles.get(result.profile)
    return "the naive formula" if profile.name == "naive" else profile.framework


def _account(p: Result, q: Result, stage: str | None, rows: tuple[int, ...], contrib: Array,
             difference: float, snaps_p, snaps_q, first) -> str:
    if stage is None:
        return f"{_who(p)} and {_who(q)} agree at every stage (difference {fmt(difference)})."
    actor, other, actor_snaps = (p, q, snaps_p) if stage in snaps_p else (q, p, snaps_q)
    row = max(rows, key=lambda r: abs(contrib[r]) if r < len(contrib) else 0) if rows else 0
    if stage in _LOG_STAGES:
        sentence = _log_sentence(stage, actor, other, actor_snaps, snaps_q if actor is p else snaps_p,
                                 first, row)
    else:
        what = _what_happened(stage, actor, actor_snaps, first, row)
        sentence = f"{_who(actor)} {what}; {_who(other)} {_what_other(stage, first, row)}."
    if rows and len(contrib):
        share = float(np.nansum(contrib[list(rows)]))
        who = f"Row {row + 1} alone" if len(rows) == 1 else f"Rows {', '.join(str(r + 1) for r in rows[:5])}"
        sentence += f" {who} account{'s' if len(rows) == 1 else ''} for {fmt(share)} of the " \
                    f"{fmt(difference)} difference."
    return f"The first stage where they part ways is {stage}. " + sentence


_LOG_STAGES = ("log", "log_softmax", "log_sigmoid", "log1m", "renormalise")


def _log_sentence(stage: str, actor: Result, other: Result, actor_snaps, other_snaps, first,
                  row: int) -> str:
    """Both runs' log of the true class in the row that matters most."""
    mine = _state_at(actor_snaps, stage, first)
    theirs = _state_at(other_snaps, stage, first)
    key = mine["written"]
    a, b = np.asarray(mine[key], np.float64), np.asarray(theirs.get(key, np.nan), np.float64)
    y = np.asarray(mine.get("y"))
    col = int(y[row]) if y.ndim == 1 else int(np.argmax(y[row])) if y.ndim == 2 else 0
    label = "log(1 − p)" if key == "log1mp" else "log p"
    where = f"row {row + 1}, class {col}" if a.ndim == 2 and a.shape[1] > 1 else f"row {row + 1}"
    a_val = a[row, col] if a.ndim == 2 else a[row]
    b_val = b[row, col] if b.ndim == 2 else (b[row] if b.ndim else b)
    return (f"{_who(actor)} computed {label} = {fmt(float(a_val))} in {where} "
            f"({actor.stage(stage).note}); {_who(other)} got {fmt(float(b_val))}.")


def _what_happened(stage: str, result: Result, snaps, first, row: int) -> str:
    before_p = np.asarray(first.get("p", first.get("z")), np.float64)
    after = snaps.get(stage, {})
    if stage == "normalise":
        total = float(np.sum(before_p[row]))
        return f"divided row {row + 1} by its sum {fmt(total)} before the log"
    if stage == "clip":
        changed = result.stage("clip").changed
        cells = np.flatnonzero(changed[row]) if changed is not None else np.zeros(0, np.intp)
        y = np.asarray(after.get("y", first["y"]))
        if len(cells):
            # prefer the cell of the true class: it is the one the loss reads
            true_cells = [c for c in cells if y.ndim == 2 and y[row, c] > 0]
            c = int((true_cells or cells)[0])
            text = (f"clipped {fmt(before_p[row, c])} to {fmt(after['p'][row, c])} in row {row + 1}, "
                    f"class {c}")
            return text + _cast_remark(result, before_p, row)
        return f"clipped row {row + 1}"
    if stage == "cast":
        return f"rounded the input to {result.dtype} (row {row + 1} changed)"
    if stage == "smooth":
        return f"smoothed the targets ({result.stage('smooth').note})"
    if stage in ("log", "log_softmax", "log_sigmoid", "log1m", "renormalise"):
        return f"computed the logarithm differently ({result.stage(stage).note})"
    return f"changed row {row + 1} in its {stage} stage ({result.stage(stage).note})"


def _cast_remark(result: Result, before_p: Array, row: int) -> str:
    """Mention the float32 rounding that came first, when it moved a value of this row."""
    try:
        cast = result.stage("cast")
    except KeyError:
        return ""
    if cast.changed is None or not np.asarray(cast.changed)[row].any():
        return ""
    c = int(np.flatnonzero(np.asarray(cast.changed)[row])[0])
    return (f", after cast to {result.dtype} had turned {float(before_p[row, c])!r} into "
            f"{float(np.asarray(cast.array)[row, c])!r}")


def _what_other(stage: str, first, row: int) -> str:
    p = np.asarray(first.get("p", first.get("z")), np.float64)
    if stage in ("normalise", "clip", "cast"):
        return f"used row {row + 1} as it was ({', '.join(fmt(x) for x in p[row][:6])})"
    return "did not"
