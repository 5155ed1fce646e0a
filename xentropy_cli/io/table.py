"""Delimited text (CSV, TSV, semicolon, whitespace) to cells with their file line numbers, then numbers.

The delimiter is sniffed from the first lines: tab, then semicolon, then comma, each only if it
splits every sampled line into the same number (> 1) of fields; else runs of whitespace (as
``numpy.savetxt`` writes); else one column. Quoted fields, CRLF and a byte order mark are handled.
Numbers are converted a whole block at a time by numpy; the cell-by-cell search for the cell that
is not a number runs only when that fails.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from operator import itemgetter

import numpy as np

from xentropy_cli.errors import DataError
from xentropy_cli.io.arrays import is_number_text

WHITESPACE = " "
_CANDIDATES = ("\t", ";", ",")
_SAMPLE_LINES = 20
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")


@dataclass
class Table:
    """Data rows, the file line of each row, and the header (None when there is none).

    Unquoted delimited text keeps each row as its line of text (``texts``), which numpy's C
    parser converts in one call; ``rows`` (cells) are split from it only when needed.
    """

    source: str
    delimiter: str
    header: list[str] | None
    lines: list[int]
    texts: list[str] | None = None
    _rows: list[list[str]] | None = None

    @property
    def rows(self) -> list[list[str]]:
        if self._rows is None:
            self._rows = [text.split(self.delimiter) for text in self.texts or ()]
        return self._rows

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    @property
    def n_columns(self) -> int:
        return len(self.header) if self.header is not None else len(self.rows[0])

    def first_line(self) -> int | None:
        """The file line of row 0 when rows sit on consecutive lines (so line = first + row)."""
        if self.lines and self.lines[-1] - self.lines[0] == len(self.lines) - 1:
            return self.lines[0]
        return None

    def column_name(self, j: int) -> str:
        if self.header is not None and self.header[j]:
            return self.header[j]
        return str(j + 1)


def sniff_delimiter(text: str) -> str:
    """Tab, semicolon, comma or whitespace: the first that splits the sampled lines evenly."""
    head = _logical_lines(text[:65536])
    if len(text) > 65536 and len(head) > 1:
        head.pop()  # possibly cut in the middle
    sample = [line for line in head if line.strip()][:_SAMPLE_LINES]
    if not sample:
        return ","
    for delimiter in _CANDIDATES:
        counts = {len(row) for row in csv.reader(sample, delimiter=delimiter, skipinitialspace=True)}
        if len(counts) == 1 and counts.pop() > 1:
            return delimiter
    counts = {len(line.split()) for line in sample}
    if len(counts) == 1 and counts.pop() > 1 and '"' not in text[:4096]:
        return WHITESPACE
    # ragged: the delimiter the first line uses most, so the ragged row is reported as such
    first = sample[0]
    best = max(_CANDIDATES, key=first.count)
    return best if first.count(best) else ","


def parse(text: str, source: str, delimiter: str | None = None) -> Table:
    """Split ``text`` into rows; the first row is a header when any of its cells is not a number."""
    delimiter = delimiter or sniff_delimiter(text)
    texts: list[str] | None = None
    if delimiter == WHITESPACE:
        rows, lines = _split_whitespace(text)
    elif '"' not in text:
        texts, lines = _plain_lines(text)
        rows = [texts[0].split(delimiter)] if texts else []
    else:
        rows, lines = _split_quoted(text, delimiter, source)
    if not lines:
        raise DataError("is empty: there is no data", where=source,
                        hint="give a header line and one row per sample")
    header = None
    if not _is_numeric_row(rows[0]):
        header = [cell.strip() for cell in rows[0]]
        header_line = lines[0]
        lines = lines[1:]
        if texts is not None:
            texts = texts[1:]
        else:
            rows = rows[1:]
        if not lines:
            raise DataError("has a header but no data rows", where=f"{source}:{header_line}",
                            hint="add one row per sample below the header")
    table = Table(source, delimiter, header, lines, texts, None if texts is not None else rows)
    _check_ragged(table)
    return table


def _is_numeric_row(cells: list[str]) -> bool:
    for cell in cells:
        text = cell.strip()
        if not text:
            continue
        try:
            float(text)
        except ValueError:
            if not _DECIMAL_COMMA.match(text):
                return False
    return True


def _logical_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _plain_lines(text: str) -> tuple[list[str], list[int]]:
    numbered = [(i, line) for i, line in enumerate(_logical_lines(text), 1) if line.strip()]
    return [line for _, line in numbered], [i for i, _ in numbered]


def _split_whitespace(text: str) -> tuple[list[list[str]], list[int]]:
    numbered = [(i, line.split()) for i, line in enumerate(_logical_lines(text), 1)]
    numbered = [(i, cells) for i, cells in numbered if cells]
    return [cells for _, cells in numbered], [i for i, _ in numbered]


def _split_quoted(text: str, delimiter: str, source: str) -> tuple[list[list[str]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    previous_end = 0
    try:
        for row in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(start)
    except csv.Error as exc:
        raise DataError(f"is not valid CSV ({exc})", where=f"{source}:{previous_end + 1}",
                        hint="check the quotes on that line") from None
    return rows, lines


def _check_ragged(table: Table) -> None:
    width = table.n_columns
    if table.texts is not None:
        lengths = [text.count(table.delimiter) + 1 for text in table.texts]
    else:
        lengths = list(map(len, table.rows))
    if lengths.count(width) == len(lengths):
        return
    row = next(i for i, n in enumerate(lengths) if n != width)
    against = "the header has" if table.header is not None else "the first row has"
    raise DataError(f"row has {lengths[row]} fields but {against} {width}",
                    where=f"{table.source}:{table.lines[row]}",
                    hint="every row needs the same columns; check for a missing or extra "
                         f"{_delimiter_name(table.delimiter)}")


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ";": "semicolon", ",": "comma", WHITESPACE: "value"}[delimiter]


def numbers(table: Table, columns: list[int]) -> np.ndarray:
    """The cells of ``columns`` as an (N, len(columns)) float64 array.

    Numbers are ASCII decimals and the words ``nan``, ``inf`` and ``infinity`` (any case, with a
    sign), as ``numpy.savetxt``, pandas and Python's ``float`` write them: they become nan and
    ±inf, which the profile then treats as its framework does (core/validate/). A cell that is
    anything else, or empty (a missing value), is a DataError at ``file:line:column``. With
    semicolons as delimiter, decimal commas (``0,5``) are read as decimal points.
    """
    fast = _fast_numbers(table, columns)
    if fast is not None:
        return fast
    rows = table.rows
    if columns == list(range(table.n_columns)):
        block: list = rows
    elif len(columns) == 1:
        block = [(cell,) for cell in map(itemgetter(columns[0]), rows)]
    else:
        block = list(map(itemgetter(*columns), rows))
    try:
        array = np.array(block, dtype=np.float64)
    except ValueError:
        retried = _retry_decimal_comma(table, block, columns)
        if retried is None:
            raise _first_bad_cell(table, block, columns) from None
        array = retried
    _check_ascii(table, block, columns)
    return array.reshape(len(rows), len(columns))


def _check_ascii(table: Table, block: list, columns: list[int]) -> None:
    """numpy (through Python's float) took every cell; only ASCII decimal numbers may pass.

    Checked a slab of rows at a time on the joined text (C speed); a slab with a non-ASCII
    character or an underscore is searched cell by cell for the first cell that is not a number.
    """
    step = 4096
    for start in range(0, len(block), step):
        slab = block[start:start + step]
        text = "".join(["".join(row) for row in slab])
        if text.isascii() and "_" not in text:
            continue
        for r, row in enumerate(slab, start):
            for k, cell in enumerate(row):
                if not is_number_text(cell) and not (table.delimiter == ";" and
                                                     _DECIMAL_COMMA.match(cell)):
                    raise _not_a_number(table, r, columns, k, cell)


def _fast_numbers(table: Table, columns: list[int]) -> np.ndarray | None:
    """numpy's C parser over the unquoted lines; None when any cell needs a closer look."""
    if table.texts is None:
        return None
    usecols = None if columns == list(range(table.n_columns)) else columns
    try:
        array = np.loadtxt(table.texts, delimiter=table.delimiter, dtype=np.float64, comments=None,
                           ndmin=2, usecols=usecols, quotechar=None)
    except (ValueError, TypeError):
        return None
    return array if array.shape == (table.n_rows, len(columns)) else None


def _retry_decimal_comma(table: Table, block: list, columns: list[int]) -> np.ndarray | None:
    if table.delimiter != ";":
        return None
    fixed = [[cell.replace(",", ".") for cell in row] for row in block]
    try:
        return np.array(fixed, dtype=np.float64)
    except ValueError:
        return None


def _first_bad_cell(table: Table, block: list, columns: list[int]) -> DataError:
    for r, row in enumerate(block):
        for k, cell in enumerate(row):
            if not is_number_text(cell):
                if table.delimiter == ";" and _DECIMAL_COMMA.match(cell):
                    continue
                return _not_a_number(table, r, columns, k, cell)
    return DataError("holds cells that are not numbers", where=table.source,
                     hint="check the file for text in number columns")


def _not_a_number(table: Table, r: int, columns: list[int], k: int, cell: str) -> DataError:
    """Row ``r``'s cell in ``columns[k]`` is not a number: file:line:column (the column in
    characters, when the row is a plain line of text), what the cell holds and what to do."""
    shown = cell.strip()
    where = f"{table.source}:{table.lines[r]}"
    if table.texts is not None and table.delimiter != WHITESPACE:
        cells = table.texts[r].split(table.delimiter)
        where += f":{sum(len(c) + 1 for c in cells[:columns[k]]) + 1}"
    if not shown:
        return DataError(f"column {table.column_name(columns[k])} is empty: a missing value, not a "
                         "number", where=where,
                         hint="fill or drop that row; pandas writes NaN as an empty cell: write "
                              "to_csv(na_rep='nan') to have xent compute with nan as the framework does")
    extra = ", not a number" if shown.isascii() else ", not a number (numbers are ASCII digits)"
    return DataError(f"column {table.column_name(columns[k])} is {shown[:40]!r}{extra}", where=where,
                     hint="fix that cell, or choose other columns with --true-cols/--pred-cols")
