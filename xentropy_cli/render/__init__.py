"""Where output goes and in which form. Rich is imported only when a table is drawn."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from xentropy_cli import output
from xentropy_cli.core.choices import COLORS, FORMATS, choose
from xentropy_cli.core.types import Notice, Result
from xentropy_cli.errors import StrictError, report
from xentropy_cli.render import machine

BY_EXTENSION = {".json": "json", ".csv": "csv", ".txt": "plain"}  # -o FILE with --format auto


def _strict_error(notices: tuple[Notice, ...], first: str) -> StrictError:
    many = "s" if len(notices) != 1 else ""
    return StrictError(f"{len(notices)} warning{many} and --strict: {first}",
                       hint="fix the input, or drop --strict")


class Output:
    """One command's output: format, colour, destination, and what happens to warnings."""

    def __init__(self, fmt: str, color: str, path: Path | None, quiet: bool, strict: bool,
                 stdout: Any = None):
        choose(fmt, FORMATS, "--format")
        choose(color, COLORS, "--color")
        self.stdout = stdout or sys.stdout
        self.path = None if output.is_stdout(path) else path
        self.quiet = quiet
        self.strict = strict
        self.to_terminal = path is None and _isatty(self.stdout)
        if fmt == "auto" and path is not None and Path(path).suffix.lower() in BY_EXTENSION:
            fmt = BY_EXTENSION[Path(path).suffix.lower()]  # -o out.json: JSON unless --format says
        self.format = fmt if fmt != "auto" else ("table" if self.to_terminal else "plain")
        self.color = color == "always" or (color == "auto" and _color_wanted(self.to_terminal))

    # --- warnings ----------------------------------------------------------------------------
    def warn(self, notices: tuple[Notice, ...]) -> None:
        """Warnings go to stderr (never stdout); with --strict they end the run with exit 1."""
        if not self.quiet:
            for notice in notices:
                rows = _rows(notice.rows)
                report(f"{notice.message}{rows}", prefix="warning")
        if self.strict and notices:
            raise _strict_error(notices, notices[0].message)

    # --- commands ----------------------------------------------------------------------------
    def emit_compute(self, result: Result, reader: str | None = None, rows=None) -> None:
        """``reader``: how the input was read (JSON "reader"). ``rows``: for a streamed run, a
        callable giving every per-sample w·l in blocks (``result.per_sample`` holds the first few)."""
        if rows is not None and (self.format in ("csv", "plain", "json")
                                 and (result.reduction == "none" or self.format == "csv")):
            self.write_pieces(machine.streamed_pieces(self.format, result, rows, reader))
        elif self.format == "json":
            extra = {} if reader is None else {"reader": reader}
            self.write(machine.dumps(machine.result_json(result, **extra)))
        elif self.format == "csv":
            self.write(machine.per_sample_csv(result))
        elif self.format == "plain":
            self.write(machine.plain(result))
        else:
            from xentropy_cli.render import tables

            self.write(self.draw(tables.compute_panel(result)))

    def emit_explain(self, inputs, result_p: Result, result_q: Result, divergence, rows: int,
                     summary=None, classes: tuple[int, ...] | None = None, extra: dict | None = None) -> None:
        """The explain output. ``summary`` (core.explain.Rows): the rows shown among all rows
        read and the histogram of every row; default: the results hold every row. The same
        fields and columns whatever the input's size (docs/json.md)."""
        from xentropy_cli.render import tables

        summary = summary or tables.summary(result_p, result_q, divergence, rows, inputs)
        local = tables.local_rows(result_p, summary)
        if self.format == "json":
            self.write(machine.dumps(explain_json(result_p, result_q, divergence, summary, local, rows,
                                                  extra)))
        elif self.format == "csv":
            self.write(_explain_csv(result_p, result_q, divergence, summary, local))
        else:
            self.write(self.draw(*tables.explain_views(inputs, result_p, result_q, divergence, rows,
                                                       summary, classes, self.width())))

    def emit_compare(self, rows, reader: str | None = None) -> None:
        """The comparison, one row per profile; with --strict, any profile's warning ends the run
        with exit 1 before anything is written (as compute's warnings do)."""
        if self.strict:
            warned = [(row.profile.name, notice) for row in rows if row.result is not None
                      for notice in row.result.notices]
            if warned:
                name, first = warned[0]
                raise _strict_error(tuple(notice for _, notice in warned), f"{name}: {first.message}")
        if self.format == "json":
            self.write(machine.dumps(compare_json(rows, reader)))
        elif self.format in ("csv", "plain"):
            self.write(compare_csv(rows, "," if self.format == "csv" else "\t"))
        else:
            from xentropy_cli.render import tables

            self.write(self.draw(tables.compare_table(rows, self.width())))

    def emit_profiles(self, profiles) -> None:
        if self.format == "json":
            from xentropy_cli import __version__

            self.write(machine.dumps({"schema": machine.SCHEMA, "command": "profiles",
                                      "xent_version": __version__,
                                      "profiles": [_profile_json(p) for p in profiles]}))
        elif self.format == "csv":
            self.write(_profiles_csv(profiles))
        else:
            from xentropy_cli.render import tables

            self.write(self.draw(tables.profiles_table(profiles)))

    def emit_examples(self, examples: dict) -> None:
        if self.format == "json":
            from xentropy_cli import __version__

            self.write(machine.dumps({"schema": machine.SCHEMA, "command": "examples",
                                      "xent_version": __version__,
                                      "examples": {name: text for name, (text, _) in examples.items()}}))
        else:
            self.write("".join(f"{name}\t{text}\n" for name, (text, _) in examples.items()))

    # --- plumbing ----------------------------------------------------------------------------
    def draw(self, *renderables) -> str:
        """Render Rich objects to text: coloured on a terminal, plain in a pipe or file."""
        from rich.console import Console

        buffer = io.StringIO()
        width = self.width()
        console = Console(file=buffer, width=width, force_terminal=self.color, no_color=not self.color,
                          color_system="auto" if self.color else None, highlight=False,
                          emoji=False, legacy_windows=False)
        for renderable in renderables:
            console.print(renderable)
        return buffer.getvalue()

    def width(self) -> int:
        """The width tables are laid out for: the terminal's, else COLUMNS (invalid: 80)."""
        if self.to_terminal:
            return _terminal_width()
        return columns()

    def write_pieces(self, pieces) -> None:
        """Like ``write``, for text that comes in pieces (a streamed run's rows): never all of it
        in memory at once."""
        if self.path is None:
            output.to_stdout(self.stdout, pieces)
            return
        output.write(self.path, lambda handle: handle.writelines(pieces))

    def write(self, text: str) -> None:
        """To stdout, or to --output whole or not at all (a temporary file, then a rename)."""
        self.write_pieces((text,))


def _color_wanted(to_terminal: bool) -> bool:
    """--color auto: NO_COLOR (set, not empty) turns colour off; else FORCE_COLOR (set, not empty,
    not 0) turns it on even off a terminal; else colour on a terminal only."""
    if os.environ.get("NO_COLOR", "") != "":
        return False
    force = os.environ.get("FORCE_COLOR", "")
    if force != "" and force.lower() not in ("0", "false", "no"):
        return True
    return to_terminal


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width() -> int:
    import shutil

    try:
        width = shutil.get_terminal_size((100, 24)).columns
    except (ValueError, OSError):
        width = DEFAULT_COLUMNS
    return width if width > 0 else DEFAULT_COLUMNS


DEFAULT_COLUMNS = 80


def columns() -> int:
    """``COLUMNS`` when it is a positive whole number (at most 10000), else 80."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isascii() and text.isdigit() and 0 < int(text) <= 10_000:
        return int(text)
    return DEFAULT_COLUMNS


def _rows(rows: tuple[int, ...]) -> str:
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:8])
    return f" (row{'s' if len(rows) > 1 else ''} {shown}{', …' if len(rows) > 8 else ''})"


COMPARE_COLUMNS = ("profile", "status", "value", "dtype", "reduction", "first_difference", "max_gap",
                   "refusal")


def compare_csv(rows, sep: str = ",") -> str:
    """One line per profile. ``value`` is a number (``inf``/``nan`` as text), or empty when the
    profile refused the input (``status`` says ``refused``, ``refusal`` why) or has no single
    value (reduction none: ``status`` says ``per_sample``)."""
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    writer.writerow(COMPARE_COLUMNS)
    for row in rows:
        data = _compare_row(row)
        writer.writerow([data["profile"], data["status"],
                         "" if data["status"] != "ok" else data["value_text"],
                         data["dtype"] or "", data["reduction"] or "", data["first_difference"] or "",
                         "" if row.result is None else machine.text(row.max_gap),
                         data["refusal"] or ""])
    return buffer.getvalue()


def compare_json(rows, reader: str | None = None) -> dict[str, Any]:
    """``xent compare --format json``: one object, one entry per profile (docs/json.md)."""
    from xentropy_cli import __version__

    done = [row.result for row in rows if row.result is not None]
    data: dict[str, Any] = {
        "schema": machine.SCHEMA, "command": "compare", "xent_version": __version__,
        "n_samples": done[0].n_samples if done else None,
        "n_classes": done[0].n_classes if done else None,
        "loss": done[0].kind if done else None,
        "rows": [_compare_row(row) for row in rows],
    }
    if reader is not None:
        data["reader"] = reader
    return data


def _compare_row(row) -> dict[str, Any]:
    result = row.result
    data: dict[str, Any] = {"profile": row.profile.name, "models": row.profile.models}
    if result is None:
        data.update({"status": "refused", "value": None, "value_text": "", "dtype": None,
                     "reduction": None, "first_difference": None, "max_gap": None, "warnings": [],
                     "refusal": row.refusal})
        return data
    per_sample = result.reduction == "none"
    data.update({"status": "per_sample" if per_sample else "ok",
                 **machine.value_fields(result.value, not per_sample),
                 "dtype": result.dtype, "reduction": result.reduction,
                 "first_difference": row.first_difference, "max_gap": machine.number(row.max_gap),
                 "warnings": machine.notices_json(result.notices), "refusal": None})
    return data


def _profile_json(profile) -> dict[str, Any]:
    return {"name": profile.name, "framework": profile.framework, "models": profile.models,
            "call": profile.call, "dtype": profile.dtype, "eps": profile.eps,
            "reduction": profile.reduction, "reductions": list(profile.reductions),
            "kernel": profile.kernel, "shapes": profile.shapes(), "agreement": profile.agreement,
            "paths": {k: list(v) for k, v in profile.paths.items()}}


_PROFILE_COLUMNS = ("name", "framework", "models", "call", "dtype", "eps", "reduction", "kernel",
                    "agreement")


def _profiles_csv(profiles) -> str:
    """One line per profile: its scalar fields (JSON holds the stage paths too)."""
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_PROFILE_COLUMNS)
    for profile in profiles:
        fields = _profile_json(profile)
        writer.writerow(["" if fields[c] is None else fields[c] for c in _PROFILE_COLUMNS])
    return buffer.getvalue()


def _explain_csv(result_p: Result, result_q: Result, divergence, summary, local: list[int]) -> str:
    """One line per row shown (all rows when there are at most --rows): its number among all
    rows, both losses and its contribution to the difference."""
    lines = [f"sample,{result_p.profile},{result_q.profile},contribution"]
    per_p, per_q = np.atleast_1d(result_p.per_sample), np.atleast_1d(result_q.per_sample)
    if per_p.size != per_q.size:  # a 1-D input: one sample to one profile, N to the other
        per_p, per_q = (np.atleast_1d(np.mean(a, dtype=np.float64)) if a.size > 1 else a
                        for a in (per_p, per_q))
    contributions = np.atleast_1d(divergence.contributions)
    for row, i in zip(summary.shown, local, strict=True):
        lines.append(f"{row + 1},{machine.text(per_p[min(i, per_p.size - 1)])},"
                     f"{machine.text(per_q[min(i, per_q.size - 1)])},"
                     f"{machine.text(contributions[min(i, contributions.size - 1)])}")
    return "\n".join(lines) + "\n"


def _shown_stages(result: Result, local: list[int]) -> list[dict[str, Any]]:
    """stages_json with every per-row array cut to the rows shown."""
    from xentropy_cli.core.explain import _matrix

    n = np.asarray(result.per_sample).reshape(-1).shape[0]
    out = []
    for data, stage in zip(machine.stages_json(result, arrays=False), result.stages, strict=True):
        array = np.asarray(stage.array)
        if array.ndim and n and _matrix(array, n).shape[0] == n and array.shape[0] == n:
            data["array"] = machine.numbers(array[local])
            data["changed"] = None if stage.changed is None else np.asarray(stage.changed)[local].tolist()
        else:
            data["array"] = machine.numbers(array)
            data["changed"] = None if stage.changed is None else np.asarray(stage.changed).tolist()
        out.append(data)
    return out


def explain_json(result_p: Result, result_q: Result, divergence, summary, local: list[int], limit: int,
                 extra: dict | None = None) -> dict[str, Any]:
    """``xent explain --format json`` (docs/json.md): the same fields at any size; stage arrays
    and contributions for the rows shown, the histogram over every row."""
    from xentropy_cli.render import tables

    contributions = np.asarray(divergence.contributions, np.float64)
    per_p = np.asarray(result_p.per_sample).reshape(-1)
    per_q = np.asarray(result_q.per_sample).reshape(-1)
    hist = summary.histogram
    top = [{"file_row": summary.shown[i] + 1, "loss": machine.number(per_p[local[i]]),
            "against_loss": machine.number(per_q[local[i]]),
            "contribution": machine.number(contributions[local[i]])}
           for i in tables._top_order(divergence, local)[:limit]]
    data = machine.result_json(
        result_p, "explain", stages=_shown_stages(result_p, local),
        against=machine.result_json(result_q, "explain", stages=_shown_stages(result_q, local)),
        divergence={"stage": divergence.stage,
                    "rows": [summary.shown[r] + 1 if r < len(summary.shown) else r + 1
                             for r in _local_to_shown(divergence.rows, local)],
                    "difference": machine.number(divergence.difference),
                    "stage_gaps": {k: machine.number(v) for k, v in divergence.stage_gaps.items()},
                    "contributions": [machine.number(contributions[i]) for i in local],
                    "account": divergence.account},
        rows_read=summary.read,
        rows_shown=[{"row": i + 1, "file_row": row + 1, **({"where": summary.where[i]}
                                                            if i < len(summary.where) else {})}
                    for i, row in enumerate(summary.shown)],
        histogram={"rows": hist.rows, "edges": [float(e) for e in hist.edges],
                   "counts": {"profile": hist.counts[0].tolist(), "against": hist.counts[1].tolist()},
                   "non_finite": {"profile": hist.non_finite[0], "against": hist.non_finite[1]}},
        top=top)
    data.pop("per_sample", None)
    data["against"].pop("per_sample", None)
    data.update(extra or {})
    return data


def _local_to_shown(rows, local: list[int]) -> list[int]:
    """divergence.rows (indices into the results' rows) as indices among the rows shown,
    dropping rows that are not shown."""
    where = {row: i for i, row in enumerate(local)}
    return [where[r] for r in rows if r in where]
