"""Warnings in words: the one place a ``Notice`` (code, rows, counts, values) becomes a sentence.

Core code raises notices as data and merges them as data (core/partial.py adds counts and joins
rows); only here are they worded. Adding a warning means adding its code to ``core.types`` and
one function here. Nothing in xent parses a sentence back.
"""

from __future__ import annotations

from collections.abc import Callable

from xentropy_cli.core.stages import fmt
from xentropy_cli.core.types import Notice


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _looks_like_logits(n: Notice) -> str:
    return f"{n.counts[0]} prediction(s) above 1 look like logits; pass --from-logits if they are"


def _not_normalised(n: Notice) -> str:
    count = n.counts[0]
    verb = "does" if count == 1 else "do"
    return (f"{_plural(count, 'row')} of y_pred {verb} not sum to 1 "
            f"(the first sums to {float(n.values[0]):.6g})")


def _zero_weights(n: Notice) -> str:
    return "every sample weight is 0, so the loss is 0"


def _clipped(n: Notice) -> str:
    parts = []
    for count, bound, way in zip(n.counts, n.values, ("up", "down"), strict=True):
        if count:
            parts.append(f"{_plural(count, 'value')} clipped {way} to {fmt(float(bound))}")
    return "; ".join(parts)


def _log_zero(n: Notice) -> str:
    return (f"log 0 made the loss infinite in {n.counts[0]} sample(s): a predicted probability "
            "of exactly 0 for a true class")


def _nan(n: Notice) -> str:
    return f"the loss is nan in {n.counts[0]} sample(s) (0·log 0, or softmax overflow)"


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
}


def sentence(notice: Notice) -> str:
    """The notice as the sentence stderr, JSON and tables show."""
    return SENTENCES[notice.code](notice)
