"""Arrays typed on the command line (-t/-p/-w, --labels, --class-weight).

Accepted forms, tried in this order:

- JSON: ``[[1,0],[0,1]]``, ``[2,0,1]``, ``2.3``
- numpy's print form: ``[[1. 0.] [0. 1.]]`` (commas and newlines allowed; a wrapping
  ``array(…)``, ``tensor(…)`` or ``tf.Tensor(…, shape=…, dtype=…)`` is removed)
- rows split by ``;`` or newlines, numbers by commas or spaces: ``"1 0; 0 1"``. One row without a
  ``;`` is a 1-D array (``"2,0,1"``); a trailing ``;`` makes it a one-row table (``".9 .1;"``).
"""

from __future__ import annotations

import json
import re

import numpy as np

from xentropy_cli.errors import UsageError
from xentropy_cli.io.arrays import BadValue, number_from_text, path_text, plural, to_float_array

_WRAPPER = re.compile(
    r"^\s*(?:array|tensor|tf\.Tensor|np\.array|torch\.tensor)\((.*?)"
    r"(?:,\s*(?:shape|dtype|requires_grad|device|grad_fn)=.*)?\)\s*$", re.DOTALL)
_TOKEN = re.compile(r"\[|\]|[^\s,\[\]]+")
_SEPARATOR = re.compile(r"[,\s]+")


def parse(text: str, flag: str) -> np.ndarray:
    """The float64 array that ``text`` writes; a UsageError names the flag and what is wrong."""
    body = text.strip()
    wrapped = _WRAPPER.match(body)
    if wrapped:
        body = wrapped.group(1).strip()
    if not body:
        raise UsageError(f"{flag} is empty", hint="give numbers, e.g. [[1,0],[0,1]] or \"1 0; 0 1\"")
    if "..." in body or "…" in body:
        raise UsageError(f"{flag} holds '...': numpy printed the array summarised",
                         hint="print it in full (numpy.set_printoptions(threshold=sys.maxsize)) "
                              "or save it with numpy.save and pass the file")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        value = _numpy_form(body, flag) if "[" in body else _rows_form(body, flag)
    try:
        return to_float_array(value)
    except BadValue as bad:
        raise UsageError(f"{path_text(flag, bad.path)} {bad.message}", hint=bad.hint) from None


def _number(token: str, flag: str) -> float:
    try:
        return number_from_text(token)
    except ValueError:
        raise UsageError(f"{flag}: {token[:40]!r} is not a number",
                         hint="write numbers like 0.9, 1e-11 or 1") from None


def _numpy_form(body: str, flag: str) -> object:
    """``[[1. 0.] [0. 1.]]`` → nested lists, by a bracket stack."""
    stack: list[list] = []
    result: object = None
    for token in _TOKEN.findall(body):
        if token == "[":
            stack.append([])
        elif token == "]":
            if not stack:
                raise UsageError(f"{flag}: a ']' has no matching '['", hint="check the brackets")
            done = stack.pop()
            if stack:
                stack[-1].append(done)
            elif result is None:
                result = done
            else:
                raise UsageError(f"{flag}: more than one array", hint="wrap the rows in one [ … ]")
        else:
            if not stack:
                raise UsageError(f"{flag}: {token[:40]!r} is outside the brackets",
                                 hint="check the brackets")
            stack[-1].append(_number(token, flag))
    if stack or result is None:
        raise UsageError(f"{flag}: a '[' is not closed", hint="check the brackets")
    return result


def _rows_form(body: str, flag: str) -> object:
    """``"1 0; 0 1"`` → [[1, 0], [0, 1]]; ``"2,0,1"`` → [2, 0, 1]; ``"2.3"`` → 2.3."""
    table = ";" in body or "\n" in body
    rows = [row.strip() for row in re.split(r"[;\n]", body)]
    rows = [row for row in rows if row]
    if not rows:
        raise UsageError(f"{flag} holds no numbers", hint="e.g. \"1 0; 0 1\"")
    parsed = [[_number(token, flag) for token in _SEPARATOR.split(row) if token] for row in rows]
    for i, row in enumerate(parsed[1:], 2):
        if len(row) != len(parsed[0]):
            raise UsageError(f"{flag}: row {i} has {plural(len(row), 'number')} but row 1 has "
                             f"{len(parsed[0])}",
                             hint="every row needs the same number of values")
    if table:
        return parsed
    return parsed[0][0] if len(parsed[0]) == 1 else parsed[0]


def parse_vector(text: str, flag: str) -> np.ndarray:
    """A flat list for --labels / --class-weight: ``"0,1,2"``, ``"1 2 0.5"`` or ``[1, 2, 0.5]``."""
    array = parse(text, flag)
    if array.ndim > 1 and array.shape[0] != 1 and array.shape[-1] != 1:
        raise UsageError(f"{flag} must be one list of numbers, not a table of {array.shape}",
                         hint="e.g. 0,1,2")
    return array.reshape(-1)
