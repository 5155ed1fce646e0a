"""Output for `xent grad`: the gradient, its finite-difference check and the surrogate form.

Formats follow ``render.Output``: json (``"schema": 2, "command": "grad"``; docs/json.md), csv
(one row per cell), plain (the gradient matrix, one sample per line, space-separated) and a Rich
table. Rich is imported only when a table is drawn.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from xentropy_cli import __version__
from xentropy_cli.core import profiles
from xentropy_cli.core.grad import CheckResult, Departure, GradResult, SurrogateResult
from xentropy_cli.core.stages import fmt
from xentropy_cli.core.types import Notice
from xentropy_cli.render import machine
from xentropy_cli.render.words import BACKWARD_REASONS

DEPARTS = "≠"  # marks a cell where the framework's gradient departs from the true derivative
TABLE_ROWS = 20  # gradient rows drawn in the table; csv/json/plain give all of them
WORST_CELLS = 5  # checked cells listed in the table, largest error first


# --- machine formats -----------------------------------------------------------------------------

def _cells(rows, cols) -> list[list[int]]:
    """Cells as 1-based [sample, class] pairs (sample numbers as everywhere else; classes 0-based
    like the column index of y_pred)."""
    return [[int(r) + 1, int(c)] for r, c in zip(rows, cols, strict=True)]


def _framework(g: GradResult) -> np.ndarray:
    return g.grad if g.framework is None else g.framework


def _exact(g: GradResult) -> np.ndarray:
    return g.grad if g.exact is None else g.exact


def _departs(g: GradResult) -> np.ndarray:
    return np.zeros(g.grad.shape, bool) if g.departs is None else g.departs


def departure_json(d: Departure) -> dict[str, Any]:
    """One reason the framework's gradient departs from the true derivative, and its first cell."""
    return {"code": d.code, "reason": BACKWARD_REASONS[d.code], "cells": d.cells,
            "rows": [r + 1 for r in d.rows],
            "first": [d.first[0] + 1, d.first[1]], "framework": machine.number(d.framework),
            "true_derivative": machine.number(d.exact)}


def check_json(check: CheckResult) -> dict[str, Any]:
    return {
        "passed": check.passed,
        "method": check.method,
        "h": check.h,
        "rtol": check.rtol,
        "atol": check.atol,
        "cells_total": check.cells_total,
        "cells_checked": int(check.rows.size),
        "sampled": check.sampled,
        "max_abs_error": machine.number(check.max_abs_error),
        "max_rel_error": machine.number(check.max_rel_error),
        "failed": check.n_failed,
        "worst": None if check.worst is None else [check.worst[0] + 1, check.worst[1]],
        "kinks": [[r + 1, c] for r, c in check.kinks],
        "undefined": [[r + 1, c] for r, c in check.undefined],
        "compared_with": "the true derivative",
        "framework_departs": [departure_json(d) for d in check.departures],
        "notes": list(check.notes),
    }


def surrogate_json(sur: SurrogateResult) -> dict[str, Any]:
    data = _surrogate_json(sur)
    if np.ndim(sur.value):
        data["per_sample"] = machine.numbers(np.asarray(sur.value))
    return data


def _surrogate_json(sur: SurrogateResult) -> dict[str, Any]:
    return {
        "formula": "((P − Q)·z).sum(−1) reduced as the profile reduces, P = softmax(z) held constant",
        **machine.value_fields(sur.value, np.ndim(sur.value) == 0),
        "cross_entropy": machine.numbers(np.asarray(sur.cross_entropy)),
        "gradient": machine.numbers(sur.grad),
        "max_gap": machine.number(sur.max_gap),
        "notes": list(sur.notes),
    }


def grad_json(g: GradResult, notices: tuple[Notice, ...], check: CheckResult | None = None,
              sur: SurrogateResult | None = None) -> dict[str, Any]:
    profile = profiles.get(g.profile)
    data: dict[str, Any] = {
        "schema": machine.SCHEMA,
        "command": "grad",
        "xent_version": __version__,
        "loss": g.kind,
        "profile": g.profile,
        "framework": profile.framework,
        "models": profile.models,
        "wrt": g.wrt,
        "from_logits": g.wrt == "logits",
        "dtype": "float64" if g.derivative == "exact" or g.engine == "the true derivative"
                 else g.dtype_modelled,
        "dtype_modelled": g.dtype_modelled,
        "derivative": g.derivative,
        "autodiff": None if g.engine == "the true derivative" else g.engine,
        "reduction": g.reduction,
        "divisor": machine.number(g.divisor),
        **machine.value_fields(g.value, np.ndim(g.value) == 0),
        "n_samples": g.n_samples,
        "n_classes": g.n_classes,
        "stages": list(g.stages),
        "gradient": machine.numbers(g.grad),
        "framework_gradient": machine.numbers(_framework(g)),
        "true_derivative": machine.numbers(_exact(g)),
        "departs": _cells(*np.nonzero(_departs(g))),
        "departures": [departure_json(d) for d in g.departures],
        "clipped": _cells(*np.nonzero(g.clipped)),
        "notes": list(g.notes),
        "warnings": machine.notices_json(notices),
    }
    if np.ndim(g.value):
        data["per_sample"] = machine.numbers(np.asarray(g.value, dtype=np.float64))
    if check is not None:
        data["check"] = check_json(check)
    if sur is not None:
        data["surrogate"] = surrogate_json(sur)
    return data


def grad_csv(g: GradResult, check: CheckResult | None = None, sur: SurrogateResult | None = None) -> str:
    """One row per cell: sample (1-based), class, gradient (as --derivative chose), exact (the true
    derivative), departs (1 where the framework's gradient departs from it), clipped (0/1); with
    --check the numeric derivative and its status (ok, fail, kink, undefined, or empty where not
    checked); with --surrogate the surrogate's gradient."""
    n, k = g.grad.shape
    exact, departs = _exact(g), _departs(g)
    header = ["sample", "class", "gradient", "exact", "departs", "clipped"]
    numeric = status = None
    if check is not None:
        header += ["numeric", "check"]
        numeric, status = _check_columns(check, (n, k))
    if sur is not None:
        header.append("surrogate")
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for i in range(n):
        for j in range(k):
            row = [str(i + 1), str(j), machine.text(g.grad[i, j]), machine.text(exact[i, j]),
                   "1" if departs[i, j] else "0", "1" if g.clipped[i, j] else "0"]
            if numeric is not None and status is not None:
                row += [machine.text(numeric[i, j]) if status[i][j] in ("ok", "fail") else "",
                        status[i][j]]
            if sur is not None:
                row.append(machine.text(sur.grad[i, j]))
            out.write(",".join(row) + "\n")
    return out.getvalue()


def _check_columns(check: CheckResult, shape: tuple[int, int]) -> tuple[np.ndarray, list[list[str]]]:
    numeric = np.full(shape, np.nan)
    status = [[""] * shape[1] for _ in range(shape[0])]
    for idx, (r, c) in enumerate(zip(check.rows.tolist(), check.cols.tolist(), strict=True)):
        numeric[r, c] = check.numeric[idx]
        status[r][c] = "fail" if check.failed[idx] else "ok"
    for r, c in check.kinks:
        status[r][c] = "kink"
    for r, c in check.undefined:
        status[r][c] = "undefined"
    return numeric, status


def grad_plain(g: GradResult) -> str:
    """The gradient matrix: one sample per line, values space-separated (shortest round-trip repr)."""
    return "".join(" ".join(machine.text(x) for x in row) + "\n" for row in g.grad)


# --- the table -----------------------------------------------------------------------------------

def grad_views(g: GradResult, notices: tuple[Notice, ...], check: CheckResult | None = None,
               sur: SurrogateResult | None = None) -> list:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    parts: list = [_header(g), _matrix(g, g.grad, _departs(g))]
    if g.clipped.any():
        from xentropy_cli.render.tables import CHANGED

        parts.append(Text(f"{CHANGED} the clip was active in this cell: no gradient flows through it"))
    if _departs(g).any():
        parts.append(Text(f"{DEPARTS} {g.engine} departs from the true derivative in this cell",
                          style="bold magenta"))
    if g.n_samples > TABLE_ROWS:
        parts.append(Text(f"… {g.n_samples - TABLE_ROWS} more rows: use --format csv or json for all"))
    for note in g.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    for notice in notices:
        parts.append(Text(f"warning: {notice.message}", style="yellow"))
    views: list = [Panel(Group(*parts), title="xent grad", title_align="left", expand=False)]
    if g.departures:
        views.append(_departures_panel(g))
    if check is not None:
        views.append(_check_panel(check))
    if sur is not None:
        views.append(_surrogate_panel(sur))
    return views


def _formula(g: GradResult) -> str:
    if g.wrt == "logits":
        core = "(σ(z) − y)/K" if g.kind == "binary" else "softmax(z) − y"
    elif g.kind == "binary":
        core = "−(y/p − (1 − y)/(1 − p))/K"
    else:
        core = "−y/p"
    scale = "" if g.reduction in ("sum", "none") else f" ÷ {fmt(g.divisor)}"
    return f"∂L/∂{'z' if g.wrt == 'logits' else 'p'} = ({core})·w{scale}, through the profile's stages"


def _header(g: GradResult):
    from rich.text import Text

    profile = profiles.get(g.profile)
    text = Text()
    if g.reduction == "none":
        text.append("per-sample gradients (--reduction none)\n", style="bold")
    else:
        text.append(f"L = {machine.text(g.value)}", style="bold cyan")
        text.append(f"   {g.reduction}\n")
    text.append(f"profile   {profile.name} — {profile.framework} ({profile.models})\n")
    samples = f"{g.n_samples} sample{'s' if g.n_samples != 1 else ''}"
    columns = f"{g.n_classes} column{'s' if g.n_classes != 1 else ''}"
    text.append(f"loss      {g.kind}, gradient w.r.t. {g.wrt}, {samples}, {columns}\n")
    if g.derivative == "framework" and g.engine != "the true derivative":
        text.append(f"dtype     {g.dtype_modelled}, as the framework computes\n")
    else:
        modelled = "" if g.dtype_modelled == "float64" else f" (the profile computes in {g.dtype_modelled})"
        text.append(f"dtype     float64{modelled}\n")
    text.append(f"stages    {' → '.join(g.stages)}\n")
    if g.derivative == "framework" and g.engine != "the true derivative":
        text.append(f"gradient  {g.engine}'s (--derivative exact: the true derivative)\n")
    else:
        text.append("gradient  the true derivative of the profile's forward pass\n")
    text.append(_formula(g))
    return text


def _matrix(g: GradResult, values: np.ndarray, marked: np.ndarray, title: str | None = None):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from xentropy_cli.render.tables import CHANGED

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title,
                  title_justify="left")
    table.add_column("sample", justify="right")
    for j in range(g.n_classes):
        table.add_column(f"∂L/∂{'z' if g.wrt == 'logits' else 'p'}[{j}]", justify="right")
    for i in range(min(g.n_samples, TABLE_ROWS)):
        cells: list[str | Text] = [str(i + 1)]
        for j in range(g.n_classes):
            clipped, departs = bool(g.clipped[i, j]), bool(marked[i, j])
            mark = DEPARTS if departs else CHANGED if clipped else " "
            style = "bold magenta" if departs else "bold yellow" if clipped else ""
            cells.append(Text(f"{values[i, j]:.6g}" + mark, style=style))
        table.add_row(*cells)
    return table


def _departures_panel(g: GradResult):
    """Where the framework's gradient departs from the true derivative: the true derivative's
    matrix beside the one above, and one line per reason with its first cell."""
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    other, name = (_exact(g), "true derivative") if g.derivative == "framework" else \
        (_framework(g), f"what {g.engine} backpropagates")
    parts: list = [_matrix(g, other, _departs(g), title=name)]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="why",
                  title_justify="left")
    for column in ("cells", "first", "framework", "true", "reason"):
        table.add_column(column, justify="left" if column == "reason" else "right")
    for d in g.departures:
        table.add_row(str(d.cells), f"{d.first[0] + 1}, {d.first[1]}", f"{d.framework:.6g}",
                      f"{d.exact:.6g}", BACKWARD_REASONS[d.code])
    parts.append(table)
    return Panel(Group(*parts), title=f"{g.engine} departs from the true derivative",
                 title_align="left", expand=False)


def _check_panel(check: CheckResult):
    from rich import box
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    head = Text()
    head.append("PASSED" if check.passed else "FAILED", style="bold green" if check.passed else "bold red")
    head.append(f"   {check.rows.size} of {check.cells_total} cells scored"
                f"{' (random sample)' if check.sampled else ''}, method {check.method}, h = {check.h:g}\n")
    head.append(f"max abs error {machine.text(check.max_abs_error)}   "
                f"max rel error {machine.text(check.max_rel_error)}   failed {check.n_failed}\n")
    head.append(f"pass: |numeric − analytic| ≤ {check.rtol:g}·max(|numeric|, |analytic|) "
                f"+ {check.atol:g}·max(1, |L|)·h/hᵢ")
    parts: list = [head]
    if check.rows.size:
        table = Table(title="largest errors", title_justify="left", box=box.SIMPLE_HEAD,
                      show_edge=False, pad_edge=False)
        for name in ("sample", "class", "analytic", "numeric", "abs error", "rel error"):
            table.add_column(name, justify="right")
        for k in np.argsort(-check.abs_error, kind="stable")[:WORST_CELLS]:
            table.add_row(str(int(check.rows[k]) + 1), str(int(check.cols[k])),
                          f"{check.analytic[k]:.10g}", f"{check.numeric[k]:.10g}",
                          f"{check.abs_error[k]:.2e}", f"{check.rel_error[k]:.2e}")
        parts.append(table)
    for note in check.notes:
        parts.append(Text(f"note: {note}", style="dim"))
    for d in check.departures:
        cells = f"{d.cells} cell{'s' if d.cells != 1 else ''}"
        parts.append(Text(f"{check.engine} departs from the derivative checked here in {cells}, "
                          f"first at sample {d.first[0] + 1}, class {d.first[1]} "
                          f"({d.framework:.7g} vs {d.exact:.7g}): {BACKWARD_REASONS[d.code]}",
                          style="magenta"))
    return Panel(Group(*parts), title="finite-difference check (against the true derivative)",
                 title_align="left", expand=False)


def _surrogate_panel(sur: SurrogateResult):
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    text = Text()
    text.append("L₂ = ((P − Q)·z).sum(−1), reduced as the profile reduces; P = softmax(z) held constant\n")
    text.append(f"surrogate value      {_value(sur.value)}\n")
    text.append(f"cross-entropy value  {_value(sur.cross_entropy)}\n")
    text.append(f"max |∂L₂/∂z − ∂L/∂z| {machine.text(sur.max_gap)}", style="bold")
    if sur.max_gap <= 1e-12:
        text.append("   the values differ; the gradients agree")
    parts: list = [text] + [Text(f"note: {note}", style="dim") for note in sur.notes]
    return Panel(Group(*parts), title="surrogate form (no log)", title_align="left", expand=False)


def _value(value) -> str:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return machine.text(array)
    shown = " ".join(machine.text(x) for x in array[:8])
    return f"per sample: {shown}{' …' if array.size > 8 else ''}"


# --- dispatch --------------------------------------------------------------------------------------

def emit(out, g: GradResult, notices: tuple[Notice, ...], check: CheckResult | None = None,
         sur: SurrogateResult | None = None) -> None:
    """Write the grad result through a ``render.Output`` in its chosen format."""
    if out.format == "json":
        out.write(machine.dumps(grad_json(g, notices, check, sur)))
    elif out.format == "csv":
        out.write(grad_csv(g, check, sur))
        _verdict(out, check)
    elif out.format == "plain":
        out.write(grad_plain(g))
        _verdict(out, check)
    else:
        out.write(out.draw(*grad_views(g, notices, check, sur)))


def verdict(check: CheckResult) -> str:
    """One line: pass or fail, the largest relative error, how many cells were scored."""
    scored = int(check.rows.size)
    word = "passed" if check.passed else "FAILED"
    return (f"gradient check {word}: largest relative error {machine.text(check.max_rel_error)} "
            f"(a cell passes within rtol {check.rtol:g} · |gradient| + atol, atol ≈ {check.atol:.3g} for "
            f"|L| ≤ 1), largest absolute error {machine.text(check.max_abs_error)}, "
            f"{check.n_failed} of {scored} cell{'s' if scored != 1 else ''} failed")


def _verdict(out, check: CheckResult | None) -> None:
    """In a pipe (plain, csv) stdout holds the gradient alone: the check's verdict goes to
    stderr, so `xent grad --check | …` still says whether it passed (a failure also exits 1)."""
    if check is None or out.quiet or not check.passed:
        return  # a failed check ends with its own error line (core.grad.require_pass)
    import sys

    sys.stderr.write(f"xent: {verdict(check)}\n")
