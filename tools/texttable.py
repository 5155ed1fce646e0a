"""Text tables for the tools' reports: Markdown, or columns padded to their widest cell."""

from __future__ import annotations

from collections.abc import Sequence


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     for row in [header, *rows])


def show(header: Sequence[str], rows: Sequence[Sequence[str]], as_markdown: bool) -> None:
    """Print the table: Markdown (``--markdown``) or aligned columns."""
    print(markdown(header, rows) if as_markdown else aligned(header, rows))
