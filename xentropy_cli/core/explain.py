"""Where two runs part ways: stage snapshots, the first divergent stage, per-row contributions."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from xentropy_cli.core import profiles
from xentropy_cli.core.quiet import quietly
from xentropy_cli.core.stages import fmt
from xentropy_cli.core.types import Array, Result

# Where each stage sits in the computation, so runs with different stage lists line up.
CANONICAL = ("cast", "smooth", "normalise", "softmax", "sigmoid", "clip", "log", "log_softmax",
             "log_sigmoid", "log1m", "renormalise", "combine", "reduce")
_OPERAND_KEY = {"p": "p", "y": "y", "log p": "logp", "log(1−p)": "log1mp", "loss": "losses"}
RTOL, ATOL = 1e-5, 1e-9


@dataclass(frozen=True)
class RowRef:
    """Rows the account names, as data: 0-based rows of the results explained (``renumbered``
    makes them rows of all the rows read). In words (render/words.py): "row 3", "Rows 1, 3"."""

    rows: tuple[int, ...]
    capital: bool = False  # starts a sentence


#: The account of why two runs differ: text, and the rows it names as ``RowRef``.
Account = tuple["str | RowRef", ...]


def _say(*parts: str | RowRef | Account) -> Account:
    """One account from text, row mentions and accounts (nested tuples are flattened)."""
    out: list[str | RowRef] = []
    for part in parts:
        out.extend(part if isinstance(part, tuple) else (part,))
    return tuple(out)


def _row(row: int) -> RowRef:
    return RowRef((row,))


@dataclass(frozen=True)
class Divergence:
    stage: str | None  # first stage whose output differs beyond rounding; None: they agree
    rows: tuple[int, ...]  # 0-based rows that differ at that stage
    stage_gaps: dict[str, float]  # largest |P − Q| after each stage
    contributions: Array  # per row: its share of value_P − value_Q
    difference: float
    story: Account  # the account as data; ``account`` is its words

    @property
    def account(self) -> str:
        """The account in words (render/words.py): what ``xent explain`` says under "why they differ"."""
        from xentropy_cli.render.words import account  # words live in render/; core holds data

        return account(self.story)


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
    with np.errstate(invalid="ignore", over="ignore"):
        gap = np.where(differs, np.abs(a64 - b64), 0.0)
    return float(np.fmax.reduce(gap.ravel())) if gap.size else 0.0, differs  # nan-skipping, quiet


def first_difference(p: Result, q: Result, y: Array, pred: Array, before: str | None = None) -> str | None:
    """The first stage whose output differs beyond rounding (as ``diverge`` finds it), looking
    only at stages that come before ``before`` (a stage already known to differ), else None."""
    first = {"y": y, ("z" if p.from_logits else "p"): pred}
    snaps_p, snaps_q = snapshots(p, y, pred), snapshots(q, y, pred)
    stop = CANONICAL.index(before) if before is not None else len(CANONICAL)
    for name in CANONICAL[:stop]:
        if name not in snaps_p and name not in snaps_q:
            continue
        key = (snaps_p.get(name) or snaps_q[name])["written"]
        _, differs = _gap(_state_at(snaps_p, name, first).get(key), _state_at(snaps_q, name, first).get(key))
        if differs.any():
            return name
    return before


def contributions(p: Result, q: Result) -> Array:
    """Per row: wᵢ·lᵢ/D under P minus the same under Q, so they add up to value_P − value_Q."""
    def share(r: Result) -> Array:
        per = np.asarray(r.per_sample, np.float64)
        if r.elements is not None and r.reduction != "none" and r.kind == "binary":
            # torch/optax reduce a binary loss's N·K elements: a row's share is K times its mean
            # over outputs (torch's categorical elements add up to the row's loss itself)
            per = per * r.elements.shape[-1]
        if r.reduction in ("none", "sum"):
            return per
        return per / r.divisor if r.divisor else np.zeros_like(per)

    sp, sq = share(p), share(q)
    with np.errstate(invalid="ignore"):
        if sp.shape != sq.shape:  # a 1-D binary input: one sample to Keras, N to the other
            return np.asarray([np.nansum(sp) - np.nansum(sq)])
        return sp - sq


@quietly
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
            rows = tuple(int(r) for r in np.flatnonzero(_matrix(differs, p.n_samples).any(1))) \
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
             difference: float, snaps_p, snaps_q, first) -> Account:
    if stage is None:
        return (f"{_who(p)} and {_who(q)} agree at every stage (difference {fmt(difference)}).",)
    actor, other, actor_snaps = (p, q, snaps_p) if stage in snaps_p else (q, p, snaps_q)
    row = max(rows, key=lambda r: abs(contrib[r]) if r < len(contrib) else 0) if rows else 0
    if stage in _LOG_STAGES:
        sentence = _log_sentence(stage, actor, other, actor_snaps, snaps_q if actor is p else snaps_p,
                                 first, row)
    else:
        what = _what_happened(stage, actor, actor_snaps, first, row)
        sentence = _say(f"{_who(actor)} ", what, f"; {_who(other)} ",
                        _what_other(stage, first, row, actor.n_samples), ".")
    rows = tuple(r for r in rows if r < len(contrib)) if len(contrib) else rows
    if _same_value(p, q):
        # the stages part ways, the reductions bring them back together (e.g. a sum over the
        # outputs per sample, then ÷ N·K, against a mean per sample, then ÷ N)
        why = "the two reduce differently to the same loss" if stage in ("combine", "reduce") \
            else "what differs is rounding"
        return _say(f"The first stage where they part ways is {stage}. ", sentence,
                    f" The values agree within rounding all the same ({machine_text(p.value)} and "
                    f"{machine_text(q.value)}, difference {fmt(difference)}): {why}.")
    if len(contrib) and not np.isfinite(difference):  # a share of nan or inf says nothing
        bad = tuple(int(r) for r in np.flatnonzero(~np.isfinite(contrib))[:5])
        if bad:
            verb = "gives" if len(bad) == 1 else "give"
            sentence = _say(sentence, " ", RowRef(bad, capital=True),
                            f" {verb} a non-finite contribution, so the difference is {fmt(difference)}.")
        return _say(f"The first stage where they part ways is {stage}. ", sentence)
    if rows and len(contrib):
        share = float(np.nansum(contrib[list(rows)]))
        who = _say(RowRef((row,), capital=True), " alone") if len(rows) == 1 else \
            (RowRef(tuple(rows[:5]), capital=True),)
        sentence = _say(sentence, " ", who, f" account{'s' if len(rows) == 1 else ''} for {fmt(share)} of "
                        f"the {fmt(difference)} difference.")
    return _say(f"The first stage where they part ways is {stage}. ", sentence)


def _same_value(p: Result, q: Result) -> bool:
    """Both runs reduce to one finite value and the two agree within rounding (RTOL)."""
    if p.reduction == "none" or q.reduction == "none":
        return False
    a, b = np.asarray(p.value, np.float64), np.asarray(q.value, np.float64)
    if a.ndim or b.ndim or not (np.isfinite(a) and np.isfinite(b)):
        return False
    return bool(np.isclose(a, b, rtol=RTOL, atol=ATOL))


def machine_text(value) -> str:
    """The shortest text that reads back to the same float (as render.machine.text)."""
    return repr(float(value))


_LOG_STAGES = ("log", "log_softmax", "log_sigmoid", "log1m", "renormalise")


def _matrix(a, rows: int) -> Array:
    """``a`` as (rows, cells per row) in float64 whatever its rank: a 1-D vector of one value per
    row is a column, a 1-D vector of one sample's outputs (Keras's 1-D binary y) is one row, a
    scalar is one cell."""
    a = np.asarray(a, np.float64)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim >= 2:
        return a.reshape(a.shape[0], -1)
    return a.reshape(-1, 1) if a.shape[0] == rows or rows == 0 else a.reshape(1, -1)


def _at(a: Array, row: int, col: int) -> float:
    """Cell (row, col) of ``_matrix(a)``; the last row or column when the index is beyond it."""
    if a.size == 0:
        return float("nan")
    return float(a[min(row, a.shape[0] - 1), min(col, a.shape[1] - 1)])


def _column(kind: str, y, a: Array, b: Array | None, row: int) -> int:
    """The cell of ``row`` to talk about: the true class for categorical and sparse targets; for
    binary (one or many outputs) the output where the two runs differ most."""
    cols = a.shape[1]
    if cols <= 1:
        return 0
    y = np.asarray(y)
    if kind in ("categorical", "sparse"):
        if y.ndim >= 1 and y.size and (y.ndim == 1 or y.shape[-1] == 1):
            label = y.reshape(-1)[min(row, y.size - 1)]
            if np.isfinite(label) and 0 <= label < cols:
                return int(label)
        elif y.ndim == 2 and y.shape[1] == cols:
            return int(np.argmax(y[min(row, y.shape[0] - 1)]))
    if b is not None and b.shape == a.shape:
        with np.errstate(invalid="ignore"):
            gap = np.abs(a[row] - b[row])
        gap = np.where(np.isnan(gap), np.inf, gap)
        return int(np.argmax(gap))
    return 0


def _log_sentence(stage: str, actor: Result, other: Result, actor_snaps, other_snaps, first,
                  row: int) -> Account:
    """Both runs' log of the true class (binary: of the output that differs most) in the row
    that matters most."""
    mine = _state_at(actor_snaps, stage, first)
    theirs = _state_at(other_snaps, stage, first)
    key = mine["written"]
    n = actor.n_samples
    a = _matrix(mine[key], n)
    b = _matrix(theirs.get(key, np.nan), n)
    col = _column(actor.kind, mine.get("y"), a, b, row)
    label = "log(1 − p)" if key == "log1mp" else "log p"
    noun = "output" if actor.kind == "binary" else "class"
    where = _say(_row(row), f", {noun} {col}" if a.shape[1] > 1 else "")
    a_val, b_val = _at(a, row, col), _at(b, row, col)
    return _say(f"{_who(actor)} computed {label} = {fmt(a_val)} in ", where,
                f" ({actor.stage(stage).note}); {_who(other)} got {fmt(b_val)}.")


def _what_happened(stage: str, result: Result, snaps, first, row: int) -> Account:
    n = result.n_samples
    before_p = _matrix(first.get("p", first.get("z")), n)
    after = snaps.get(stage, {})
    if stage == "normalise":
        total = float(np.sum(before_p[min(row, before_p.shape[0] - 1)]))
        return _say("divided ", _row(row), f" by its sum {fmt(total)} before the log")
    if stage == "clip":
        changed = result.stage("clip").changed
        mask = _matrix(changed, n) != 0 if changed is not None else np.zeros((0, 0), bool)
        cells = np.flatnonzero(mask[row]) if row < mask.shape[0] else np.zeros(0, np.intp)
        y = _matrix(after.get("y", first["y"]), n)
        if len(cells):
            # prefer the cell of the true class: it is the one the loss reads
            true_cells = [c for c in cells if result.kind == "categorical" and y.shape == mask.shape
                          and y[row, c] > 0]
            c = int((true_cells or cells)[0])
            noun = "output" if result.kind == "binary" else "class"
            where = _say(_row(row), f", {noun} {c}" if mask.shape[1] > 1 else "")
            return _say(f"clipped {fmt(_at(before_p, row, c))} to {fmt(_at(_matrix(after['p'], n), row, c))} "
                        "in ", where, _cast_remark(result, before_p, row))
        return _say("clipped ", _row(row))
    if stage == "cast":
        return _say(f"rounded the input to {result.dtype} (", _row(row), " changed)")
    if stage == "smooth":
        return (f"smoothed the targets ({result.stage('smooth').note})",)
    if stage in ("log", "log_softmax", "log_sigmoid", "log1m", "renormalise"):
        return (f"computed the logarithm differently ({result.stage(stage).note})",)
    return _say("changed ", _row(row), f" in its {stage} stage ({result.stage(stage).note})")


def _cast_remark(result: Result, before_p: Array, row: int) -> str:
    """Mention the float32 rounding that came first, when it moved a value of this row."""
    try:
        cast = result.stage("cast")
    except KeyError:
        return ""
    n = result.n_samples
    changed = _matrix(cast.changed, n) != 0 if cast.changed is not None else None
    if changed is None or row >= changed.shape[0] or not changed[row].any():
        return ""
    c = int(np.flatnonzero(changed[row])[0])
    return (f", after cast to {result.dtype} had turned {_at(before_p, row, c)!r} into "
            f"{_at(_matrix(cast.array, n), row, c)!r}")


def _what_other(stage: str, first, row: int, n: int) -> Account:
    p = _matrix(first.get("p", first.get("z")), n)
    if stage in ("normalise", "clip", "cast") and row < p.shape[0]:
        cells = p[row]
        shown = ", ".join(fmt(x) for x in cells[:6]) + (", …" if cells.size > 6 else "")
        return _say("used ", _row(row), f" as it was ({shown})")
    return ("did not",)


# --- what every row says, however many rows there are -------------------------------------------

BINS = 8


@dataclass(frozen=True)
class Histogram:
    """Per-sample losses of both runs counted in ``BINS`` equal bins from the smallest to the
    largest finite loss of either run (the last bin includes its right edge, as numpy's does).

    ``rows``: how many rows it covers; ``non_finite``: per run, the losses that are inf or nan."""

    edges: Array
    counts: tuple[Array, Array]
    non_finite: tuple[int, int]
    rows: int


def _finite_range(block: Array) -> tuple[float, float] | None:
    finite = block[np.isfinite(block)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


@quietly
def histogram(blocks, bins: int = BINS) -> Histogram:
    """The Histogram of per-sample loss pairs; ``blocks()`` yields (n, 2) float64 arrays
    (column 0: the profile, column 1: the other) and is called twice (range, then counts), so a
    streamed run can read its rows from disk a block at a time."""
    low, high, rows = np.inf, -np.inf, 0
    for block in blocks():
        found = _finite_range(block)
        rows += block.shape[0]
        if found:
            low, high = min(low, found[0]), max(high, found[1])
    edges = _edges(low, high, bins)
    counts = (np.zeros(max(edges.size - 1, 0), np.int64), np.zeros(max(edges.size - 1, 0), np.int64))
    non_finite = [0, 0]
    for block in blocks():
        for j in (0, 1):
            column = block[:, j]
            finite = np.isfinite(column)
            non_finite[j] += int(column.size - finite.sum())
            if edges.size:
                counts[j][:] += np.histogram(column[finite], edges)[0]
    return Histogram(edges, counts, (non_finite[0], non_finite[1]), rows)


def _edges(low: float, high: float, bins: int) -> Array:
    """``bins`` equal bins from ``low`` to ``high`` (none when nothing is finite), increasing and
    finite whatever the span: halved when high − low overflows, one bin when a span of a few
    subnormals cannot be split, one bin of one step above a single value."""
    if not np.isfinite(low):
        return np.zeros(0)
    if high <= low:
        up = np.nextafter(low, np.inf)
        return np.array([low, up] if np.isfinite(up) else [np.nextafter(low, -np.inf), low])
    edges = np.linspace(low, high, bins + 1)
    if not np.isfinite(edges).all():
        edges = np.linspace(low / 2, high / 2, bins + 1) * 2
    if not (np.isfinite(edges).all() and (np.diff(edges) > 0).all()):
        edges = np.array([low, high])
    return edges


def pairs(p: Result, q: Result) -> Array:
    """(n, 2) float64: each row's loss under ``p`` and under ``q``."""
    a = np.asarray(p.per_sample, np.float64).reshape(-1)
    b = np.asarray(q.per_sample, np.float64).reshape(-1)
    if a.size != b.size:  # a 1-D input: one sample to one profile, N to the other: its mean
        a, b = (np.atleast_1d(np.mean(x)) if x.size > 1 else x for x in (a, b))
    return np.column_stack([a, b])


def shown_rows(contributions: Array, limit: int) -> list[int]:
    """The rows to show: all when there are at most ``limit``; else the ``limit`` rows that
    contribute most to the difference (nan first, ties: the earlier row), in row order."""
    n = len(contributions)
    if n <= limit:
        return list(range(n))
    score = np.nan_to_num(np.abs(np.asarray(contributions, np.float64)), nan=np.inf)
    return sorted(np.argsort(-score, kind="stable")[:limit].tolist())


@dataclass(frozen=True)
class Rows:
    """Which rows an explain output shows, out of how many, and what every row adds up to.

    ``shown``: for each row of the results handed to the renderer, its 0-based row among all
    rows read (a streamed run hands over only the rows it kept)."""

    read: int
    shown: tuple[int, ...]
    histogram: Histogram
    where: tuple[str, ...] = ()  # file:line of each row shown, when known


def renumbered(divergence: Divergence, numbers: list[int] | tuple[int, ...]) -> Divergence:
    """``divergence`` of the rows kept (row i is row ``numbers[i]`` of all, 0-based) with the
    rows its account names made rows of all the rows read (a row beyond ``numbers`` is kept)."""
    def one(part: str | RowRef) -> str | RowRef:
        if isinstance(part, str) or not all(0 <= r < len(numbers) for r in part.rows):
            return part
        return replace(part, rows=tuple(numbers[r] for r in part.rows))

    return replace(divergence, story=tuple(one(part) for part in divergence.story))
