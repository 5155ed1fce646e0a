"""Which columns of a table are y_true, y_pred and the sample weight.

Recognised by name (case-insensitive, in header order):

- y_true: ``true_*``, ``y_true*``, ``target*``, ``label``, ``y``
- y_pred: ``pred_*``, ``y_pred*``, ``prob_*``, ``proba_*``, ``logit_*``, and the names people give
  a single prediction column: ``prediction``, ``pred``, ``prob``, ``proba``, ``probability``,
  ``score``, ``p``, ``y_prob``, ``y_proba``, ``y_score``, ``logit``
- weight: ``weight``, ``sample_weight``

``--true-cols`` / ``--pred-cols`` / ``--weight-col`` override with a comma-separated list whose
items are exact names, fnmatch globs (``p*``), single indices (``3``, ``-1``) or Python slices
(``0:3``, ``4:``, ``::2``). When only one side is overridden and the other side is not recognised
by name, the other side is every column not claimed by the override or the weight.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from xentropy_cli.errors import DataError, UsageError

TRUE_PATTERNS = ("true_*", "y_true*", "target*", "label", "y")
PRED_PATTERNS = ("pred_*", "y_pred*", "prob_*", "proba_*", "logit_*", "prediction", "pred", "prob",
                 "proba", "probability", "score", "p", "y_prob", "y_proba", "y_score", "logit")
WEIGHT_PATTERNS = ("weight", "sample_weight")

_INDEX = re.compile(r"^-?\d+$")
_SLICE = re.compile(r"^(-?\d*):(-?\d*)(?::(-?\d*))?$")
_FLAG = {"y_true": "--true-cols", "y_pred": "--pred-cols", "weight": "--weight-col"}


@dataclass(frozen=True)
class Columns:
    """Column indices (into the header) and names of each role."""

    true_idx: tuple[int, ...]
    pred_idx: tuple[int, ...]
    weight_idx: int | None
    true_names: tuple[str, ...]
    pred_names: tuple[str, ...]


def _matches(name: str, patterns: Sequence[str]) -> bool:
    lowered = name.strip().lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in patterns)


def recognise(header: Sequence[str], patterns: Sequence[str]) -> list[int]:
    """Indices of the columns whose names match one of ``patterns`` (case-insensitive)."""
    return [i for i, name in enumerate(header) if _matches(name, patterns)]


def _shown(header: Sequence[str], limit: int = 12) -> str:
    names = ", ".join(repr(name) for name in header[:limit])
    return names + (f", … ({len(header)} in all)" if len(header) > limit else "")


def _select_item(item: str, header: Sequence[str], flag: str, source: str) -> list[int]:
    """The columns one override item names: exact name, glob, index or slice."""
    n = len(header)
    if item in header:
        return [i for i, name in enumerate(header) if name == item]
    if _INDEX.match(item):
        index = int(item)
        if not -n <= index < n:
            raise UsageError(f"{flag} {item}: there are only {n} columns (0..{n - 1})",
                             where=source or None, hint=f"the columns are {_shown(header)}")
        return [index % n]
    sliced = _SLICE.match(item)
    if sliced:
        parts = [int(p) if p not in (None, "") else None for p in sliced.groups()]
        if parts[2] == 0:
            raise UsageError(f"{flag} {item}: a slice step cannot be 0", where=source or None,
                                 hint="e.g. 0:3 or ::2")
        chosen = list(range(n))[slice(*parts)]
        if not chosen:
            raise UsageError(f"{flag} {item} selects no column of the {n}",
                             where=source or None, hint=f"the columns are {_shown(header)}")
        return chosen
    if any(ch in item for ch in "*?["):
        chosen = [i for i, name in enumerate(header) if fnmatch.fnmatchcase(name, item)]
        if not chosen:  # globs are forgiving about case, like recognition
            chosen = [i for i, name in enumerate(header) if fnmatch.fnmatchcase(name.lower(), item.lower())]
        if chosen:
            return chosen
    else:
        chosen = [i for i, name in enumerate(header) if name.strip().lower() == item.strip().lower()]
        if chosen:
            return chosen
    raise UsageError(f"{flag} {item!r} matches no column", where=source or None,
                     hint=f"the columns are {_shown(header)}; give names, globs or indices like 0:3")


def select(spec: str, header: Sequence[str], flag: str, source: str = "") -> list[int]:
    """Resolve an override like ``"a,b"``, ``"pred_*"``, ``"0:3"`` or ``"1,4:6"`` to indices."""
    items = [item.strip() for item in spec.split(",")]
    if not spec.strip() or any(not item for item in items):
        raise UsageError(f"{flag} {spec!r} has an empty item", where=source or None,
                         hint="give comma-separated names, globs or indices like 0:3")
    chosen: list[int] = []
    for item in items:
        for index in _select_item(item, header, flag, source):
            if index not in chosen:
                chosen.append(index)
    return chosen


def _no_columns_error(header: Sequence[str], missing: str, source: str) -> DataError:
    return DataError(
        f"no {missing} columns among {_shown(header)}",
        where=source or None,
        hint="name them true_*/y_true*/target*/label/y and pred_*/y_pred*/prob_*/logit_* "
             "(one column: prediction/pred/prob/proba/score/p/y_prob/y_score) "
             "(weight: weight/sample_weight), or pass --true-cols and --pred-cols "
             "(names, globs or index ranges like 0:3) and --weight-col",
    )


def resolve_columns(header: list[str], true_cols: str | None = None, pred_cols: str | None = None,
                    weight_col: str | None = None, source: str = "") -> Columns:
    """Decide the y_true, y_pred and weight columns of ``header`` (see the module docstring).

    Raises DataError when nothing is recognised, UsageError when an override is invalid or
    two roles claim the same column.
    """
    header = [str(name) for name in header]
    weight: list[int]
    if weight_col is not None:
        weight = select(weight_col, header, "--weight-col", source)
        if len(weight) != 1:
            raise UsageError(f"--weight-col {weight_col!r} selects {len(weight)} columns; it takes one",
                             where=source or None, hint="name one column, e.g. --weight-col weight")
    else:
        weight = recognise(header, WEIGHT_PATTERNS)[:1]
    true = select(true_cols, header, "--true-cols", source) if true_cols is not None else None
    pred = select(pred_cols, header, "--pred-cols", source) if pred_cols is not None else None

    claimed = set(weight) | set(true or ()) | set(pred or ())
    if true is None:
        true = [i for i in recognise(header, TRUE_PATTERNS) if i not in claimed]
        if not true and pred is not None:
            true = [i for i in range(len(header)) if i not in claimed]
    claimed |= set(true)
    if pred is None:
        pred = [i for i in recognise(header, PRED_PATTERNS) if i not in claimed]
        if not pred and true_cols is not None:
            pred = [i for i in range(len(header)) if i not in claimed]

    if not true or not pred:
        missing = "y_true or y_pred" if not true and not pred else ("y_true" if not true else "y_pred")
        raise _no_columns_error(header, missing, source)
    _check_disjoint(header, true, pred, weight, source)
    return Columns(
        true_idx=tuple(true),
        pred_idx=tuple(pred),
        weight_idx=weight[0] if weight else None,
        true_names=tuple(header[i] for i in true),
        pred_names=tuple(header[i] for i in pred),
    )


def _check_disjoint(header: Sequence[str], true: list[int], pred: list[int], weight: list[int],
                    source: str) -> None:
    roles = {"y_true": set(true), "y_pred": set(pred), "weight": set(weight)}
    names = list(roles)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            both = roles[names[a]] & roles[names[b]]
            if both:
                column = header[min(both)]
                raise UsageError(
                    f"column {column!r} is both {names[a]} and {names[b]}", where=source or None,
                    hint=f"choose the columns with {_FLAG[names[a]]} and {_FLAG[names[b]]}")
