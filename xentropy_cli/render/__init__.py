"""Where output goes and in which form. Rich is imported only when a table is drawn."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xentropy_cli.core.choices import COLORS, FORMATS, choose
from xentropy_cli.core.types import Notice, Result
from xentropy_cli.errors import StrictError, report
from xentropy_cli.io import output
from xentropy_cli.render import machine


@dataclass(frozen=True)
class Provenance:
    """Where the rows an explain shows come from, when they are a few of many (a streamed file,
    Dask shards): ``heading`` goes above the table view, ``json`` into the JSON object, and
    ``samples`` (1-based rows of all the input) into the CSV's sample column (None: 1, 2, …)."""

    heading: tuple[str, ...] = ()
    json: Mapping[str, Any] = field(default_factory=dict)
    samples: tuple[int, ...] | None = None


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
        self.format = fmt if fmt != "auto" else ("table" if self.to_terminal else "plain")
        no_color_env = "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""
        self.color = color == "always" or (color == "auto" and self.to_terminal and not no_color_env)

    # --- warnings ----------------------------------------------------------------------------
    def warn(self, notices: tuple[Notice, ...]) -> None:
        """Warnings go to stderr (never stdout); with --strict they end the run with exit 1."""
        if not self.quiet:
            for notice in notices:
                rows = _rows(notice.rows)
                report(f"{notice.message}{rows}", prefix="warning")
        if self.strict and notices:
            raise StrictError(f"{len(notices)} warning(s) and --strict: {notices[0].message}",
                              hint="fix the input, or drop --strict")

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
                     provenance: Provenance | None = None) -> None:
        """``provenance``: the rows shown are some of many (engines.stream, engines.dask)."""
        if self.format == "json":
            data = machine.result_json(
                result_p, "explain", stages=machine.stages_json(result_p),
                against=machine.result_json(result_q, "explain", stages=machine.stages_json(result_q)),
                divergence={"stage": divergence.stage, "rows": [r + 1 for r in divergence.rows],
                            "difference": machine.number(divergence.difference),
                            "stage_gaps": {k: machine.number(v) for k, v in divergence.stage_gaps.items()},
                            "contributions": machine.numbers(divergence.contributions),
                            "account": divergence.account})
            data.update(provenance.json if provenance else {})
            self.write(machine.dumps(data))
        elif self.format == "csv":
            self.write(_explain_csv(result_p, result_q, divergence,
                                    provenance.samples if provenance else None))
        else:
            from xentropy_cli.render import tables

            heading = "".join(line + "\n" for line in provenance.heading) + "\n" if provenance else ""
            self.write(heading + self.draw(*tables.explain_views(inputs, result_p, result_q, divergence,
                                                                 rows)))

    def emit_compare(self, rows) -> None:
        if self.format == "json":
            self.write(machine.dumps([_compare_json(row) for row in rows]))
        elif self.format in ("csv", "plain"):
            sep = "," if self.format == "csv" else "\t"
            lines = [sep.join(("profile", "value", "dtype", "first_difference", "max_gap"))]
            for row in rows:
                value = machine.text(row.result.value) if row.result and row.result.reduction != "none" \
                    else ("" if row.result else "refused")
                dtype = row.result.dtype if row.result else ""
                lines.append(sep.join((row.profile.name, value, dtype, row.first_difference or "",
                                       machine.text(row.max_gap) if row.result else "")))
            self.write("\n".join(lines) + "\n")
        else:
            from xentropy_cli.render import tables

            self.write(self.draw(tables.compare_table(rows)))

    def emit_profiles(self, profiles) -> None:
        if self.format == "json":
            self.write(machine.dumps([_profile_json(p) for p in profiles]))
        else:
            from xentropy_cli.render import tables

            self.write(self.draw(tables.profiles_table(profiles)))

    def emit_examples(self, examples: dict) -> None:
        if self.format == "json":
            self.write(machine.dumps({name: text for name, (text, _) in examples.items()}))
        else:
            self.write("".join(f"{name}\t{text}\n" for name, (text, _) in examples.items()))

    # --- plumbing ----------------------------------------------------------------------------
    def draw(self, *renderables) -> str:
        """Render Rich objects to text: coloured on a terminal, plain in a pipe or file."""
        from rich.console import Console

        buffer = io.StringIO()
        width = _terminal_width() if self.to_terminal else columns()
        console = Console(file=buffer, width=width, force_terminal=self.color, no_color=not self.color,
                          color_system="auto" if self.color else None, highlight=False,
                          emoji=False, legacy_windows=False)
        for renderable in renderables:
            console.print(renderable)
        return buffer.getvalue()

    def write_pieces(self, pieces) -> None:
        """Like ``write``, for text that comes in pieces (a streamed run's rows): never all of it
        in memory at once."""
        if self.path is None:
            output.to_stdout(self.stdout, pieces)
            return
        output.write(self.path, lambda handle: handle.writelines(pieces))

    def write(self, text: str) -> None:
        """To stdout, or to --output whole or not at all (io.output: temporary file, then rename)."""
        self.write_pieces((text,))


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width() -> int:
    import shutil

    width = shutil.get_terminal_size((100, 24)).columns
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


def _compare_json(row) -> dict[str, Any]:
    data: dict[str, Any] = {"profile": row.profile.name, "models": row.profile.models}
    if row.result is None:
        data["refused"] = row.refusal
        return data
    data.update({"value": machine.numbers(__import__("numpy").asarray(row.result.value)),
                 "dtype": row.result.dtype, "reduction": row.result.reduction,
                 "first_difference": row.first_difference, "max_gap": machine.number(row.max_gap),
                 "warnings": machine.notices_json(row.result.notices)})
    return data


def _profile_json(profile) -> dict[str, Any]:
    return {"name": profile.name, "framework": profile.framework, "models": profile.models,
            "call": profile.call, "dtype": profile.dtype, "eps": profile.eps,
            "reduction": profile.reduction, "reductions": list(profile.reductions),
            "kernel": profile.kernel, "agreement": profile.agreement,
            "paths": {k: list(v) for k, v in profile.paths.items()}}


def _explain_csv(result_p: Result, result_q: Result, divergence,
                 samples: tuple[int, ...] | None = None) -> str:
    lines = [f"sample,{result_p.profile},{result_q.profile},contribution"]
    per_p, per_q = np.atleast_1d(result_p.per_sample), np.atleast_1d(result_q.per_sample)
    if per_p.size != per_q.size:  # a 1-D input: one sample to one profile, N to the other
        per_p, per_q = (np.atleast_1d(np.mean(a, dtype=np.float64)) if a.size > 1 else a
                        for a in (per_p, per_q))
    for i, (a, b, c) in enumerate(zip(per_p, per_q, divergence.contributions, strict=True), start=1):
        lines.append(f"{i if samples is None else samples[i - 1]},{machine.text(a)},{machine.text(b)},"
                     f"{machine.text(c)}")
    return "\n".join(lines) + "\n"
