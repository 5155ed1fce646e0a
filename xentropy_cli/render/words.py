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
            parts.append(f"{_plural(count, 'value')} clipped {way} to {fmt(bound)}")
    return "; ".join(parts)


def _log_zero(n: Notice) -> str:
    return (f"log 0 made the loss infinite in {n.counts[0]} sample(s): a predicted probability "
            "of exactly 0 for a true class")


def _nan(n: Notice) -> str:
    return f"the loss is nan in {n.counts[0]} sample(s) (0·log 0, or softmax overflow)"


SENTENCES: dict[str, Callable[[Notice], str]] = {
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
