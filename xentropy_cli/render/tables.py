"""Rich tables and panels for compute, explain, compare and profiles (render/grad.py draws grad's;
render.Output and engines.pool's progress bar import Rich too, only when they draw)."""

from __future__ import annotations

import numpy as np
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from xentropy_cli.core import profiles
from xentropy_cli.core.explain import CANONICAL
from xentropy_cli.core.stages import fmt
from xentropy_cli.core.types import Result
from xentropy_cli.render import machine

CHANGED = "*"  # marks changed cells so the difference survives NO_COLOR and copy-paste
FULL_MATRIX_MAX_COLUMNS = 3


def _framework(result: Result) -> str:
    profile = profiles.get(result.profile)
    return f"{profile.name} — {profile.framework} ({profile.models})"


def compute_panel(result: Result):
    lines = Text()
    if result.reduction == "none":
        lines.append("per-sample losses (--reduction none)\n", style="bold")
    else:
        lines.append(machine.text(result.value), style="bold cyan")
        lines.append(f"   {result.reduction}\n")
    profile = profiles.get(result.profile)
    lines.append(f"profile   {profile.name} — {profile.framework}\n")
    lines.append(f"models    {profile.models}\n")
    lines.append(f"loss      {result.kind}: {result.kind_reason}\n")
    lines.append(f"dtype     {result.dtype}   samples {result.n_samples}   classes {result.n_classes}"
                 f"   {'logits' if result.from_logits else 'probabilities'}\n")
    lines.append(f"stages    {' → '.join(result.stage_names)}")
    parts: list = [lines]
    if result.reduction == "none":
        table = Table(box=box.SIMPLE, show_edge=False)
        table.add_column("sample", justify="right")
        table.add_column("loss", justify="right")
        for i, value in enumerate(result.per_sample[:50], start=1):
            table.add_row(str(i), machine.text(value))
        parts.append(table)
        if result.n_samples > 50:
            parts.append(Text(f"… {result.n_samples - 50} more rows: use --format csv for all"))
    for notice in result.notices:
        parts.append(Text(f"warning: {notice.message}", style="yellow"))
    return Panel(Group(*parts), title="xent compute", title_align="left", expand=False)


def _shown_rows(divergence, n: int, limit: int) -> list[int]:
    """The rows to show: all when few; else those contributing most to the difference."""
    if n <= limit:
        return list(range(n))
    score = np.nan_to_num(np.abs(divergence.contributions), nan=np.inf)
    return sorted(np.argsort(-score, kind="stable")[:limit].tolist())


def _true_column(inputs, result: Result, row: int) -> int:
    y = np.asarray(inputs.y_true)
    if result.kind == "sparse" and (y.ndim == 1 or y.shape[1] == 1):
        return int(y.reshape(-1)[row])
    return int(np.argmax(y[row])) if y.ndim == 2 else 0


def _cell(value, changed: bool) -> Text:
    text = f"{float(value):.6g}" + (CHANGED if changed else " ")
    return Text(text, style="bold yellow" if changed else "")


def _stage_table(name: str, inputs, shown: list[int], p: Result, q: Result) -> Table:
    stage_p = _find(p, name)
    stage_q = _find(q, name)
    any_stage = stage_p or stage_q
    table = Table(title=f"{name}", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)
    table.add_column("row", justify="right")
    matrix = any_stage is not None and np.ndim(any_stage.array) == 2
    wide = matrix and np.shape(any_stage.array)[1] > FULL_MATRIX_MAX_COLUMNS
    for label, stage in ((p.profile, stage_p), (q.profile, stage_q)):
        if not matrix:
            table.add_column(f"{label} {stage.operand if stage else ''}".strip(), justify="right")
        elif wide:
            table.add_column(f"{label} [true]", justify="right")
        else:
            for k in range(np.shape(any_stage.array)[1]):
                table.add_column(f"{label}[{k}]" if k == 0 else f"[{k}]", justify="right")
    for row in shown:
        cells: list = [str(row + 1)]
        for stage in (stage_p, stage_q):
            width = 1 if (not matrix or wide) else np.shape(any_stage.array)[1]
            if stage is None:
                cells += ["·"] * width
                continue
            array = np.asarray(stage.array)
            changed = None if stage.changed is None else np.asarray(stage.changed)
            if array.ndim == 0:
                cells.append(_cell(array, False))
            elif array.ndim == 1 or not matrix:
                cells.append(_cell(array[row], bool(changed is not None and changed[row])))
            elif wide:
                col = _true_column(inputs, p, row)
                cells.append(_cell(array[row, col], bool(changed is not None and changed[row, col])))
            else:
                cells += [_cell(array[row, k], bool(changed is not None and changed[row, k]))
                          for k in range(array.shape[1])]
        table.add_row(*cells)
    notes = Text()
    for label, stage in ((p.profile, stage_p), (q.profile, stage_q)):
        notes.append(f"{label}: ", style="bold")
        notes.append((stage.note if stage else "no such stage") + "\n")
    table.caption = notes.plain.rstrip()
    table.caption_justify = "left"
    return table


def _find(result: Result, name: str):
    for stage in result.stages:
        if stage.name == name:
            return stage
    return None


def _histogram(p: Result, q: Result, bins: int = 8) -> Table:
    values = [np.asarray(r.per_sample, np.float64) for r in (p, q)]
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    table = Table(title="per-sample losses", title_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False)
    table.add_column("loss from", justify="right")
    for r in (p, q):
        table.add_column(r.profile)
    if finite.size == 0:
        return table
    edges = np.linspace(finite.min(), finite.max(), bins + 1) if finite.max() > finite.min() else \
        np.array([finite.min(), finite.min() + 1])
    counts = [np.histogram(v[np.isfinite(v)], edges)[0] for v in values]
    top = max(1, max(int(c.max()) for c in counts))
    for i in range(len(edges) - 1):
        cells = [fmt(edges[i])]
        for c in counts:
            bar = "█" * int(round(20 * c[i] / top))
            cells.append(f"{bar} {c[i]}" if c[i] else "")
        table.add_row(*cells)
    return table


def _top_rows(divergence, p: Result, q: Result, limit: int) -> Table:
    table = Table(title="rows that contribute most to the difference", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("row", f"{p.profile} loss", f"{q.profile} loss", "contribution"):
        table.add_column(name, justify="right")
    score = np.nan_to_num(np.abs(divergence.contributions), nan=np.inf)
    for row in np.argsort(-score, kind="stable")[:limit]:
        table.add_row(str(row + 1), fmt(p.per_sample[row]), fmt(q.per_sample[row]),
                      fmt(divergence.contributions[row]))
    return table


def explain_views(inputs, p: Result, q: Result, divergence, limit: int) -> list:
    n = p.n_samples
    shown = _shown_rows(divergence, n, limit)
    header = Text()
    header.append(f"{_framework(p)}\n  against {_framework(q)}\n")
    header.append(f"{p.kind} cross-entropy ({p.kind_reason}); {n} sample(s), {p.n_classes} class(es)")
    if len(shown) < n:
        header.append(f"\nshowing the {len(shown)} rows that contribute most; {n - len(shown)} rows "
                      "not shown (--rows N)")
    views: list = [header]
    names = [name for name in CANONICAL if _find(p, name) or _find(q, name)]
    for name in names:
        if name == "reduce":
            continue
        views.append(_stage_table(name, inputs, shown, p, q))
    value_p = machine.text(p.value) if p.reduction != "none" else "per sample"
    value_q = machine.text(q.value) if q.reduction != "none" else "per sample"
    reduce_text = Text()
    reduce_text.append("reduce\n", style="bold")
    reduce_text.append(f"  {p.profile}: {value_p}   ({_find(p, 'reduce').note})\n")
    reduce_text.append(f"  {q.profile}: {value_q}   ({_find(q, 'reduce').note})")
    views.append(reduce_text)
    views.append(_histogram(p, q))
    views.append(_top_rows(divergence, p, q, min(limit, 5)))
    views.append(Panel(Text(divergence.account), title="why they differ", title_align="left"))
    return views


def compare_table(rows) -> Group:
    table = Table(title="xent compare", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)
    for name, justify in (("profile", "left"), ("value", "right"), ("dtype", "left"),
                          ("differs at", "left"), ("max gap", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    refusals = []
    for row in rows:
        if row.result is None:
            table.add_row(row.profile.name, Text("refused", style="red"), "", "see below", "")
            refusals.append(Text(f"{row.profile.name}: {row.refusal}", style="red"))
            continue
        value = machine.text(row.result.value) if row.result.reduction != "none" else "per sample"
        table.add_row(row.profile.name, value, row.result.dtype, row.first_difference or "—",
                      fmt(row.max_gap))
    legend = Text("differs at: first stage whose output differs from naive beyond rounding; "
                  "max gap: largest |per-sample loss − naive per-sample loss|", style="dim")
    return Group(table, legend, *refusals)


def profiles_table(all_profiles) -> Group:
    blocks = []
    for profile in all_profiles:
        eps = "none" if profile.eps is None else ("finfo(dtype).eps" if profile.eps == "finfo"
                                                  else fmt(profile.eps))
        block = Text()
        block.append(profile.name, style="bold cyan")
        block.append(f"  {profile.framework} — {profile.models}\n")
        block.append(f"  dtype {profile.dtype} · eps {eps} · {profile.reduction} · "
                     f"log kernel {profile.kernel}\n")
        for key, path in profile.paths.items():
            block.append(f"  {key:<19}", style="dim")
            block.append(" → ".join(path) + "\n")
        block.append(f"  agreement: {profile.agreement or 'not yet measured'}\n")
        blocks.append(block)
    return Group(*blocks)
