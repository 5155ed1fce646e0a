"""Warnings in words: the one place a ``Notice`` (code, rows, counts, values) becomes a sentence.

Core code raises notices as data and merges them as data (core/partial.py adds counts and joins
rows); only here are they worded. Adding a warning means adding its code to ``core.types`` and
one function here. Nothing in xent parses a sentence back.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xentropy_cli.core.stages import fmt
from xentropy_cli.core.types import Notice


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _looks_like_logits(n: Notice) -> str:
    count = n.counts[0]
    verb = "looks" if count == 1 else "look"
    return f"{_plural(count, 'prediction')} above 1 {verb} like logits; pass --from-logits if they are"


def _showing_gap(total: float) -> str:
    """A row sum with enough decimals to show how far it is from 1: 1.99, 0.99999988."""
    gap = abs(total - 1.0)
    if gap != gap:  # nan
        return "nan"
    decimals = 2 if gap >= 0.01 or gap == 0 else int(math.ceil(-math.log10(gap))) + 1
    return f"{total:.{min(decimals, 17)}f}"


def _not_normalised(n: Notice) -> str:
    count, total = n.counts[0], float(n.values[0])
    verb = "does" if count == 1 else "do"
    return (f"{_plural(count, 'row')} of y_pred {verb} not sum to 1 (row {n.rows[0]} sums to "
            f"{_showing_gap(total)}, off by {total - 1:+.3g})")


def _zero_weights(n: Notice) -> str:
    return "every sample weight is 0, so the loss is 0"


def _clipped(n: Notice) -> str:
    parts = []
    for count, bound, way in zip(n.counts, n.values, ("up", "down"), strict=True):
        if count:
            parts.append(f"{_plural(count, 'value')} clipped {way} to {fmt(float(bound))}")
    return "; ".join(parts)


def _first_appears(n: Notice) -> str:
    """Where the first nan or inf loss comes from (stage, row, column, value), when known."""
    if not n.texts or not n.rows:
        return ""
    column = int(n.values[0])
    cell = f"row {n.rows[0]}" + (f", column {column}" if column else "")
    return f"; it first appears at stage {n.texts[0]}, {cell} ({float(n.values[1])})"


def _log_zero(n: Notice) -> str:
    return (f"the loss is infinite in {_plural(n.counts[0], 'sample')}: log 0 of a probability of exactly "
            f"0 for a true class, or an infinite input{_first_appears(n)}")


def _nan(n: Notice) -> str:
    return (f"the loss is nan in {_plural(n.counts[0], 'sample')} (0·log 0, 0/0, nan input, or softmax "
            f"overflow){_first_appears(n)}")


# --- degenerate input the framework computes with (core/validate/) -------------------------
# texts: (the first cell's place, the framework); values: (the first value, …)

def _value(x: float | int | str) -> str:
    return f"{float(x):g}"


def _non_finite(n: Notice) -> str:
    which, where, framework = n.texts
    return (f"{which} is {float(n.values[0])} at {where}: {framework} computes with it, so the "
            "loss of that row is nan or inf")


def _negative_prediction(n: Notice) -> str:
    where, framework = n.texts
    return (f"probability {_value(n.values[0])} at {where} is negative: {framework} computes with "
            "it as given; if these are logits, pass --from-logits")


def _zero_row(n: Notice) -> str:
    where, framework = n.texts
    more = f" (and {n.counts[0] - 1} more)" if n.counts[0] > 1 else ""
    return (f"y_pred row {n.rows[0]} is all 0{f' ({where})' if where else ''}{more}: {framework} "
            "computes with it (no distribution to normalise)")


def _target_outside(n: Notice) -> str:
    where, framework = n.texts
    return (f"binary target {_value(n.values[0])} at {where} is outside [0, 1]: {framework} "
            "computes with it as given")


def _negative_target(n: Notice) -> str:
    where, framework = n.texts
    return f"target {_value(n.values[0])} at {where} is negative: {framework} computes with it as given"


def _negative_weight(n: Notice) -> str:
    where, framework = n.texts
    return f"sample weight {_value(n.values[0])} ({where}) is negative: {framework} weighs with it as given"


def _fractional_label(n: Notice) -> str:
    where, framework = n.texts
    label, kept = n.values
    return (f"label {_value(label)} ({where}) is not an integer: {framework} casts labels to "
            f"integers, so it counts as class {int(kept)}")


def _label_out_of_range(n: Notice) -> str:
    where, framework, how = n.texts
    label, k, taken = n.values
    what = {"from the end": f"jnp.take_along_axis counts it from the end (class {int(taken)})",
            "nan": "jnp.take_along_axis reads nan for it",
            "zero row": "its one-hot row is all 0, so the loss of that row is −0·Σ log p (0, or nan)"}
    return (f"label {_value(label)} ({where}) is outside 0..{int(k) - 1}: {framework} does not "
            f"check it; {what[how]}")


def _one_sample(n: Notice) -> str:
    return (f"y_true and y_pred are 1-D: {n.texts[0]} averages binary cross-entropy over the last "
            f"axis, so it reads them as one sample of {n.counts[0]} outputs (sum and none give "
            "their mean); for one loss per sample give them as a column, [[1], [0], …], or as "
            "CSV columns")


def _zero_target_row(n: Notice) -> str:
    more = f" (and {n.counts[0] - 1} more)" if n.counts[0] > 1 else ""
    return (f"y_true row {n.rows[0]} is all 0{more}: its loss is 0 under categorical "
            "cross-entropy, the kind the other rows show; pass --loss binary if the file is "
            "multi-label")


def _odd_target_row(n: Notice) -> str:
    return (f"y_true row {n.rows[0]} sums to {float(n.values[0])!r}, not 1, while the other rows "
            "sum to 1: read as categorical cross-entropy; pass --loss binary if the file is "
            "multi-label")


def _sklearn_columns(n: Notice) -> str:
    return (f"scikit-learn's log_loss reads the {n.counts[0]} columns of y_pred as classes: it "
            "computes −Σ y·log p per row (categorical), not binary cross-entropy per output")


# backward_<reason> (core/backward.py): the framework's gradient departs from the true derivative;
# counts: cells; values: row (1-based), class, the framework's value, the true derivative's.
BACKWARD_REASONS = {
    "log_zero_grad": "0·(1/0) in log's backward (p = 0 in a class with y = 0)",
    "log_of_zero": "ḡ/0 in log's backward (p = 0 in a class with y > 0)",
    "bce_floor": "torch's binary_cross_entropy backward (p − y)/max(p(1 − p), 1e-12) ignores the "
                 "log floor",
    "softmax_xent": "TensorFlow's softmax_cross_entropy_with_logits backpropagates softmax(z) − y, "
                    "which assumes the targets of a row sum to 1",
    "clip_tie": "jnp.clip (max/min) passes half the gradient at a clip bound exactly",
    "div_pow": "JAX's division backward −ḡ·p·s⁻² overflows where a row sums to less than about "
               "1e-19 (s² underflows float32)",
    "float32": "float32 arithmetic (1/p overflows, or rounding puts a value on a clip bound)",
}


def _backward(reason: str) -> Callable[[Notice], str]:
    def words(n: Notice) -> str:
        row, col, framework, exact = n.values
        more = f"; {n.counts[0]} cells in all" if n.counts[0] > 1 else ""
        return (f"the backpropagated gradient departs from the true derivative: "
                f"{BACKWARD_REASONS[reason]}, at row {int(row)}, class {int(col)}: "
                f"{framework:.7g} where the true derivative is {exact:.7g}{more}")
    return words


SENTENCES: dict[str, Callable[[Notice], str]] = {
    **{f"backward_{reason}": _backward(reason) for reason in BACKWARD_REASONS},
    "looks_like_logits": _looks_like_logits,
    "not_normalised": _not_normalised,
    "zero_weights": _zero_weights,
    "clipped": _clipped,
    "log_zero": _log_zero,
    "nan": _nan,
    "non_finite": _non_finite,
    "negative_prediction": _negative_prediction,
    "zero_row": _zero_row,
    "target_outside": _target_outside,
    "negative_target": _negative_target,
    "negative_weight": _negative_weight,
    "fractional_label": _fractional_label,
    "label_out_of_range": _label_out_of_range,
    "one_sample": _one_sample,
    "zero_target_row": _zero_target_row,
    "odd_target_row": _odd_target_row,
    "sklearn_columns": _sklearn_columns,
}


def sentence(notice: Notice) -> str:
    """The notice as the sentence stderr, JSON and tables show."""
    return SENTENCES[notice.code](notice)
