"""Built-in examples: the cases from the seed documents, so `xent explain` shows something at once."""

from __future__ import annotations

import numpy as np

from xentropy_cli.core.types import Inputs
from xentropy_cli.errors import UsageError

EXAMPLES: dict[str, tuple[str, Inputs]] = {
    "keras-question": (
        "the 3×3 case from the Keras question: row 2 of y_pred sums to 1.99",
        Inputs(np.eye(3), np.array([[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]]),
               source="example keras-question"),
    ),
    "tiny": (
        "the 1×2 case from the Keras question: 1e-11 is clipped to 1e-7",
        Inputs(np.array([[0.0, 1.0]]), np.array([[0.99999999999, 0.00000000001]]),
               source="example tiny"),
    ),
}


def get(name: str) -> Inputs:
    if name not in EXAMPLES:
        raise UsageError(f"unknown example {name!r}", hint=f"choose one of {', '.join(EXAMPLES)}")
    return EXAMPLES[name][1]
