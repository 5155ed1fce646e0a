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
from xentropy_cli.core.stages import fmt
from xentropy_cli.core.types import KindReason, Result
from xentropy_cli.errors import UsageError
from xentropy_cli.render import machine, words

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
        lines.append(f"   {result.reduction}")
    profile = profiles.get(result.profile)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(no_wrap=True)
    facts.add_column()
    facts.add_row("profile", f"{profile.name} — {profile.framework}")
    facts.add_row("models", profile.models)
    facts.add_row("loss", loss_line(result.kind, result.reason))
    what = "logits" if result.from_logits else "probabilities"
    facts.add_row("input", f"{plural(result.n_samples, 'sample')}, "
                           f"{plural(result.n_classes, 'class', 'classes')}, {what}, "
                           f"computed in {result.dtype}")
    facts.add_row("stages", " → ".join(result.stage_names))
    parts: list = [lines, facts]
    if result.reduction == "none":
        table = Table(box=box.SIMPLE, show_edge=False)
        table.add_column("sample", justify="right")
        table.add_column("loss", justify="right")
        for i, value in enumerate(result.per_sample[:50], start=1):
            table.add_row(str(i), machine.text(value))
        parts.append(table)
        if result.n_samples > 50:
            parts.append(Text(f"… {result.n_samples - 50} more rows: use --format csv for all"))
    # warnings go to stderr once (Output.warn), never into the panel as well
    return Panel(Group(*parts), title="xent compute", title_align="left", expand=False)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 sample``, ``3 samples``, ``1 class``, ``2 classes``."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def loss_line(kind: str, reason: KindReason | None) -> str:
    """``categorical cross-entropy — every y_true row sums to 1``: the kind once, then why."""
    why = words.kind_why(reason)
    return f"{kind} cross-entropy — {why}" if why else f"{kind} cross-entropy"


def _cell_text(value: float, changed: bool) -> Text:
    """A number in 6 significant digits, then the change marker (or a space): never cut."""
    text = f"{float(value):.6g}" + (CHANGED if changed else " ")
    return Text(text, style="bold yellow" if changed else "")


HIDDEN = "…"  # a column header (and cells) standing for columns not shown


def _class_columns(n_cols: int, kind: str, classes: tuple[int, ...] | None) -> list[int | str]:
    """Which columns of a (rows, n_cols) stage to show, with HIDDEN where columns are left out.

    All of them up to FULL_MATRIX_MAX_COLUMNS; beyond: ``--classes`` if given, else the true
    class of each row ("true") for categorical and sparse targets, the first outputs for binary."""
    if classes is None and n_cols <= FULL_MATRIX_MAX_COLUMNS:
        return list(range(n_cols))
    if classes is None:
        if kind in ("categorical", "sparse"):
            return ["true", HIDDEN]
        classes = tuple(range(FULL_MATRIX_MAX_COLUMNS))
    out: list[int | str] = []
    previous = -1
    for k in classes:
        if k >= n_cols:
            raise UsageError(f"--classes {k}: y_pred has {plural(n_cols, 'column')} (0–{n_cols - 1})",
                             hint=f"choose classes from 0 to {n_cols - 1}")
        if k > previous + 1:
            out.append(HIDDEN)
        out.append(k)
        previous = k
    if previous < n_cols - 1:
        out.append(HIDDEN)
    return out


def _true_columns(inputs, result: Result, local: list[int], n_cols: int) -> list[int]:
    """Per shown row, the column of its true class (categorical: the largest target)."""
    y = np.asarray(inputs.y_true)
    out = []
    for row in local:
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and n_cols > 1):
            label = float(y.reshape(-1)[row])
            out.append(int(label) if np.isfinite(label) and 0 <= label < n_cols else 0)
        elif y.ndim == 2:
            out.append(min(int(np.argmax(y[row])), n_cols - 1))
        else:
            out.append(0)
    return out


class _Column:
    """A column of a stage table: its header when it starts its profile's columns (``header``)
    and when it follows another of them (``short``: "[1]"), its cells, its profile (``group``)."""

    def __init__(self, header: str, cells: list, group: str, short: str | None = None):
        self.header, self.cells, self.group = header, cells, group
        self.short = short or header

    def width(self, header: str) -> int:
        return max([len(header)] + [len(c.plain if isinstance(c, Text) else c) for c in self.cells])


def _headers(columns: list[_Column]) -> list[str]:
    """The full header for the first column of each profile in a piece, the short one after."""
    out, previous = [], None
    for column in columns:
        out.append(column.header if column.group != previous else column.short)
        previous = column.group
    return out


def _stage_columns(name: str, inputs, local: list[int], p: Result, q: Result,
                   classes: tuple[int, ...] | None) -> tuple[list[_Column], list[_Column]]:
    """(columns shared by every piece: row, and the true class; each profile's columns)."""
    from xentropy_cli.core.explain import _matrix

    n = len(np.asarray(p.per_sample).reshape(-1)) if np.ndim(p.per_sample) else 1
    stages = [(p, _find(p, name)), (q, _find(q, name))]
    shape_of = next(_matrix(s.array, n).shape for _, s in stages if s is not None)
    n_cols = shape_of[1]
    columns = [1] if n_cols == 1 else _class_columns(n_cols, p.kind, classes)
    shared = [_Column("row", [str(r) for r in local], "row")]
    trues = _true_columns(inputs, p, local, n_cols) if "true" in columns else []
    if trues:
        shared.append(_Column("class", [str(c) for c in trues], "row"))
    own: list[_Column] = []
    for result, stage in stages:
        label = result.profile
        matrix = None if stage is None else _matrix(stage.array, n)
        changed = None if stage is None or stage.changed is None else _matrix(stage.changed, n) != 0
        for k in columns:
            if n_cols == 1:
                header = f"{label} {stage.operand if stage else ''}".strip()
            elif k == "true":
                header = f"{label} true"
            elif k == HIDDEN:
                header = HIDDEN
            else:
                header = f"{label}[{k}]"
            short = f"[{k}]" if isinstance(k, int) and n_cols > 1 else None
            cells: list = []
            for i in range(len(local)):
                if k == HIDDEN:
                    cells.append(HIDDEN)
                    continue
                if matrix is None:
                    cells.append("·")
                    continue
                col = trues[i] if k == "true" else (0 if n_cols == 1 else int(k))
                r = min(i if len(local) and matrix.shape[0] == len(local) else local[i], matrix.shape[0] - 1)
                flag = bool(changed is not None and changed[r, min(col, changed.shape[1] - 1)])
                cells.append(_cell_text(matrix[r, min(col, matrix.shape[1] - 1)], flag))
            own.append(_Column(header, cells, label, short))
    return shared, own


def _fit(shared: list[_Column], own: list[_Column], width: int) -> list[list[_Column]]:
    """Cut the columns into pieces that fit ``width``, each with the shared columns first:
    all in one when they fit, else one piece per profile (stacked), else as many as it takes.
    Numbers are never cut."""
    def size(columns: list[_Column]) -> int:
        return _measure(_table("", columns, len(columns[0].cells)))

    if size(shared + own) <= width:
        return [own]
    pieces: list[list[_Column]] = []
    for group in dict.fromkeys(c.group for c in own):
        piece: list[_Column] = []
        for column in (c for c in own if c.group == group):
            if piece and size(shared + piece + [column]) > width:
                pieces.append(piece)
                piece = []
            piece.append(column)
        if piece:
            pieces.append(piece)
    return pieces


def _table(title: str, columns: list[_Column], n_rows: int) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, title_style="bold")
    for header in _headers(columns):
        table.add_column(header, justify="right", no_wrap=True, overflow="fold")
    for r in range(n_rows):
        table.add_row(*[column.cells[r] for column in columns])
    return table


def _measure(table: Table) -> int:
    """The narrowest width Rich draws ``table`` at without cutting a cell (the trailing space
    that stands in for the change marker may go)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=100_000, color_system=None, legacy_windows=False)
    return console.measure(table).minimum


def _stage_tables(name: str, inputs, local: list[int], labels: list[int], p: Result, q: Result,
                  classes: tuple[int, ...] | None, width: int) -> list:
    shared, own = _stage_columns(name, inputs, local, p, q, classes)
    shared[0].cells = [str(r) for r in labels]
    out: list = []
    for i, piece in enumerate(_fit(shared, own, width)):
        out.append(_table(name if i == 0 else f"{name} (continued)", shared + piece, len(labels)))
    notes = Text()
    for result in (p, q):
        stage = _find(result, name)
        notes.append(f"{result.profile}: ", style="bold")
        notes.append((stage.note if stage else "no such stage") + "\n")
    notes.rstrip()
    out.append(notes)
    return out


def _find(result: Result, name: str):
    for stage in result.stages:
        if stage.name == name:
            return stage
    return None


def _histogram(p: Result, q: Result, histogram, width: int) -> Table:
    table = Table(title=f"per-sample losses ({plural(histogram.rows, 'row')})", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_style="bold")
    table.add_column("loss from", justify="right", no_wrap=True)
    for r in (p, q):
        table.add_column(r.profile, no_wrap=True)
    counts = histogram.counts
    top = max([1] + [int(c.max()) for c in counts if c.size])
    digits = len(f"{top:,}")
    bar_width = max(4, min(20, (width - 12 - 2 * (digits + 4)) // 2))
    for i in range(len(histogram.edges) - 1):
        cells = [fmt(histogram.edges[i])]
        for c in counts:
            bar = "█" * int(round(bar_width * c[i] / top))
            cells.append(f"{bar} {c[i]:,}" if c[i] else "")
        table.add_row(*cells)
    if any(histogram.non_finite):
        table.add_row("inf or nan", *[f"{k:,}" if k else "" for k in histogram.non_finite])
    return table


def _top_rows(divergence, p: Result, q: Result, local: list[int], labels: list[int], limit: int) -> Table:
    table = Table(title="rows that contribute most to the difference", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_style="bold")
    for name in ("row", f"{p.profile} loss", f"{q.profile} loss", "contribution"):
        table.add_column(name, justify="right", no_wrap=True)
    for i in _top_order(divergence, local)[:limit]:
        row = local[i]
        table.add_row(str(labels[i]), fmt(p.per_sample[row]), fmt(q.per_sample[row]),
                      fmt(divergence.contributions[row]))
    return table


def _top_order(divergence, local: list[int]) -> list[int]:
    """Indices into ``local``, the row that contributes most first (nan first, ties: earlier)."""
    contrib = np.asarray(divergence.contributions, np.float64)
    score = np.nan_to_num(np.abs(contrib[local]), nan=np.inf) if len(local) else np.zeros(0)
    return np.argsort(-score, kind="stable").tolist()


def explain_views(inputs, p: Result, q: Result, divergence, limit: int, rows=None,
                  classes: tuple[int, ...] | None = None, width: int = 80) -> list:
    """Every stage of both runs for the rows shown, the reduction, the histogram of every row,
    the rows that contribute most and the account. ``rows`` (core.explain.Rows): which rows
    these are among all rows read (default: the results hold every row)."""
    from xentropy_cli.core import explain as explain_core

    rows = rows or summary(p, q, divergence, limit)
    local = local_rows(p, rows)
    labels = [r + 1 for r in rows.shown]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    for word, result in (("profile", p), ("against", q)):
        profile = profiles.get(result.profile)
        head.add_row(word, f"{profile.name} — {profile.framework}")
        head.add_row("", f"models {profile.models}")
    head.add_row("loss", loss_line(p.kind, p.reason))
    head.add_row("input", f"{plural(rows.read, 'sample')}, {plural(p.n_classes, 'class', 'classes')}")
    if len(rows.shown) < rows.read:
        verb = "contributes" if len(rows.shown) == 1 else "contribute"
        head.add_row("rows", f"showing the {plural(len(rows.shown), 'row')} that {verb} most; "
                             f"{rows.read - len(rows.shown):,} not shown (--rows N)")
        for label, where in zip(labels, rows.where, strict=False):
            head.add_row("", f"row {label:,} = {where}")
    header = head
    views: list = [header]
    names = [name for name in explain_core.CANONICAL if _find(p, name) or _find(q, name)]
    for name in names:
        if name == "reduce":
            continue
        views.extend(_stage_tables(name, inputs, local, labels, p, q, classes, width))
    value_p = machine.text(p.value) if p.reduction != "none" else "per sample"
    value_q = machine.text(q.value) if q.reduction != "none" else "per sample"
    reduce_text = Text()
    reduce_text.append("reduce\n", style="bold")
    reduce_text.append(f"  {p.profile}: {value_p}   ({_find(p, 'reduce').note})\n")
    reduce_text.append(f"  {q.profile}: {value_q}   ({_find(q, 'reduce').note})")
    views.append(reduce_text)
    views.append(_histogram(p, q, rows.histogram, width))
    views.append(_top_rows(divergence, p, q, local, labels, min(limit, 5)))
    views.append(Panel(Text(divergence.account), title="why they differ", title_align="left"))
    return views


def summary(p: Result, q: Result, divergence, limit: int, inputs=None):
    """core.explain.Rows for results that hold every row (an in-memory run); with ``inputs``
    read from a text table, where each row shown is in it (file:line)."""
    from xentropy_cli.core import explain as explain_core

    per = explain_core.pairs(p, q)
    shown = tuple(explain_core.shown_rows(divergence.contributions, limit))
    where: tuple[str, ...] = ()
    if inputs is not None and getattr(inputs, "first_line", None) is not None:
        where = tuple(inputs.where(row) for row in shown)
    return explain_core.Rows(per.shape[0], shown, explain_core.histogram(lambda: [per]), where)


def local_rows(p: Result, rows) -> list[int]:
    """Where each shown row is in the results' arrays: the row itself when they hold every
    row, else its place among the rows kept (a streamed run keeps the rows it shows)."""
    n = np.asarray(p.per_sample).reshape(-1).shape[0]
    return list(rows.shown) if n == rows.read else list(range(len(rows.shown)))


def compare_table(rows, width: int = 80) -> Group:
    """One line per profile when that fits ``width``; else one block per profile (stacked), so
    no number is ever cut."""
    header = ("profile", "value", "dtype", "differs at", "max gap")
    lines, refusals = [], []
    for row in rows:
        if row.result is None:
            lines.append((row.profile.name, "refused", "", "see below", ""))
            refusals.append(Text(f"{row.profile.name}: {row.refusal}", style="red"))
            continue
        value = machine.text(row.result.value) if row.result.reduction != "none" else "per sample"
        lines.append((row.profile.name, value, row.result.dtype, row.first_difference or "—",
                      fmt(row.max_gap)))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(header)]
    legend = Text("differs at: first stage whose output differs from naive beyond rounding; "
                  "max gap: largest |per-sample loss − naive per-sample loss|", style="dim")
    if sum(widths) + 3 * (len(widths) - 1) <= width:
        table = Table(title="xent compare", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                      pad_edge=False, title_style="bold")
        for name, justify in zip(header, ("left", "right", "left", "left", "right"), strict=True):
            table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for line in lines:
            table.add_row(line[0], Text(line[1], style="red") if line[1] == "refused" else line[1],
                          *line[2:])
        return Group(table, legend, *refusals)
    blocks: list = [Text("xent compare", style="bold")]
    for line in lines:
        block = Text()
        block.append(f"{line[0]}  ", style="bold")
        block.append(line[1], style="red" if line[1] == "refused" else "cyan")
        if line[1] != "refused":
            block.append(f"\n  {line[2]} · differs at {line[3]} · max gap {line[4]}")
        blocks.append(block)
    return Group(*blocks, legend, *refusals)


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
        block.append(f"  shapes: {profile.shapes()}\n")
        block.append(f"  agreement: {profile.agreement or 'not yet measured'}\n")
        blocks.append(block)
    return Group(*blocks)
