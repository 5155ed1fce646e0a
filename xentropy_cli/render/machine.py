"""Machine-readable output: JSON (versioned), CSV and plain. No rich here, so pipes stay fast."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np

from xentropy_cli import __version__
from xentropy_cli.core.types import Notice, Result

SCHEMA = 1


def number(x: Any) -> float | str:
    """A float for JSON: float32 values widen exactly; inf and nan become the strings JSON lacks."""
    value = float(x)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def numbers(a: np.ndarray) -> Any:
    """A nested list of JSON numbers from an array of any shape."""
    if a.ndim == 0:
        return number(a)
    if a.dtype.kind in "iub":
        return a.tolist()
    return [numbers(row) for row in a] if a.ndim > 1 else [number(x) for x in a]


def text(x: Any) -> str:
    """A number as plain text: the shortest repr that reads back to the same float."""
    value = float(x)
    return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else
                                                       ("inf" if value > 0 else "-inf"))


def notices_json(notices: tuple[Notice, ...]) -> list[dict[str, Any]]:
    return [{"code": n.code, "rows": list(n.rows), "message": n.message} for n in notices]


def result_json(result: Result, command: str = "compute", **extra: Any) -> dict[str, Any]:
    from xentropy_cli.core import profiles

    profile = profiles.get(result.profile)
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "command": command,
        "xent_version": __version__,
        "loss": result.kind,
        "loss_reason": result.kind_reason,
        "profile": result.profile,
        "framework": profile.framework,
        "models": result.models,
        "from_logits": result.from_logits,
        "dtype": result.dtype,
        "reduction": result.reduction,
        "value": numbers(np.asarray(result.value)),
        "n_samples": result.n_samples,
        "n_classes": result.n_classes,
        "stages": list(result.stage_names),
        "warnings": notices_json(result.notices),
    }
    if result.reduction == "none":
        data["per_sample"] = numbers(result.per_sample)
    if result.first_non_finite is not None:  # where a nan or inf loss first appears (1-based)
        stage, row, col, value = result.first_non_finite
        data["first_non_finite"] = {"stage": stage, "row": row + 1,
                                    "column": None if col is None else col + 1, "value": number(value)}
    data.update(extra)
    return data


def stages_json(result: Result) -> list[dict[str, Any]]:
    return [
        {
            "name": stage.name,
            "operand": stage.operand,
            "note": stage.note,
            "array": numbers(np.asarray(stage.array)),
            "changed": None if stage.changed is None else np.asarray(stage.changed).tolist(),
        }
        for stage in result.stages
    ]


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n"


def plain(result: Result) -> str:
    """The value alone; one per line for --reduction none."""
    if result.reduction == "none":
        return "".join(text(x) + "\n" for x in result.per_sample)
    return text(result.value) + "\n"


def per_sample_csv(result: Result) -> str:
    """One row per sample: its number (1-based) and its (weighted) loss."""
    out = io.StringIO()
    out.write("sample,loss\n")
    for i, x in enumerate(result.per_sample, start=1):
        out.write(f"{i},{text(x)}\n")
    return out.getvalue()


# --- streamed runs: every row, without holding them all ---------------------------------------

def _texts(block: np.ndarray, quote: bool = False) -> list[str]:
    """``text(x)`` for each value (JSON: non-finite values quoted, as ``number`` writes them)."""
    values = block.astype(np.float64, copy=False)
    if np.isfinite(values).all():
        return list(map(repr, values.tolist()))
    return [f'"{text(x)}"' if quote and not math.isfinite(x) else text(x) for x in values.tolist()]


def streamed_pieces(fmt: str, result: Result, rows, reader: str | None = None):
    """The text of ``plain`` / ``per_sample_csv`` / ``result_json`` for a streamed run, in pieces;
    ``rows()`` yields the per-sample w·l in blocks, in row order."""
    if fmt == "plain":
        for block in rows():
            yield "".join(t + "\n" for t in _texts(block))
    elif fmt == "csv":
        yield "sample,loss\n"
        first = 1
        for block in rows():
            yield "".join(f"{i},{t}\n" for i, t in enumerate(_texts(block), first))
            first += block.shape[0]
    else:
        data = result_json(result, **({} if reader is None else {"reader": reader}))
        data["value"] = data["per_sample"] = "\x00rows\x00"
        head, middle, tail = dumps(data).split(json.dumps("\x00rows\x00"))
        for text_part in (head, middle):
            yield text_part + "["
            sep = ""
            for block in rows():
                texts = _texts(block, quote=True)
                if texts:
                    yield sep + ", ".join(texts)
                    sep = ", "
            yield "]"
        yield tail
