"""Reading a large CSV/TSV file in chunks of whole lines, fast, with the in-memory reader's answers.

``layout(path, …)`` reads the head of the file: delimiter and header exactly as ``io.table`` decides
them, and the columns as ``io.columns`` resolves them. It raises ``NotStreamable`` for anything the
chunked reader does not handle (quotes, whitespace-separated columns, UTF-16, no header and no
column options, …): the caller then reads the file in memory, which gives the canonical result or
error.

``parse(layout, data, first_line)`` turns a chunk of whole lines into an (rows, columns) float64
block (``_fast``): every cell the vector parser of ``io.decimals`` takes (the common ones: up to
24 bytes and 19 digits, float32 and float64 reprs, ``%.7g``, ``%.18e``) gets ``float()``'s bits
from integer operations and at most one exact IEEE operation, the others go through numpy's own
parser (the function ``float()`` uses); both correctly rounded, after checking that every line has its
fields and only numbers. Anything else (spaces, nan, empty or ragged fields, odd characters): the
chunk goes through ``io.table`` instead, which reads it, or raises the same error as the in-memory
reader with the same ``file:line``. Fixed-width lines (``0.%08d``, and ``np.savetxt``'s default
``%.18e`` when no value needs a sign or a three-digit exponent) are read faster still by
``parse_fixed``.

``Arrow`` (pyarrow, the ``fast`` extra) and ``Polars`` read the same blocks with those libraries'
CSV readers when they are installed; each is imported only by the process that uses it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from xentropy_cli.io import columns as colmod
from xentropy_cli.io import decimals, source, table

READER_NUMPY = "numpy"
READER_FIXED = "numpy-fixed-width"
READER_ARROW = "pyarrow"
READER_POLARS = "polars"
HEAD_BYTES = 1 << 17
_BOM = b"\xef\xbb\xbf"


class NotStreamable(Exception):
    """The file needs the in-memory reader (the reason is the message)."""


@dataclass(frozen=True)
class Layout:
    """Where the data of a delimited file sits and which columns are which."""

    path: str
    delimiter: str
    header: list[str] | None
    columns: colmod.Columns
    n_columns: int
    body_start: int  # byte offset of the first data line
    first_line: int  # file line number of the first data line
    size: int
    name: str = ""  # what messages call the file (``<stdin>`` for a copy of stdin); default: path
    scientific: bool = True  # parse_fixed reads %.Ne fields (False: they are left to the chosen reader)

    @property
    def source(self) -> str:
        return self.name or self.path

    @property
    def used(self) -> list[int]:
        """The columns read: y_true, then y_pred, then the weight."""
        cols = list(self.columns.true_idx) + list(self.columns.pred_idx)
        return cols + ([self.columns.weight_idx] if self.columns.weight_idx is not None else [])


def layout(path: str, true_cols: str | None = None, pred_cols: str | None = None,
           weight_col: str | None = None, input_format: str = "auto", name: str | None = None) -> Layout:
    """Delimiter, header and columns of a CSV/TSV file, decided as ``io.read`` decides them.
    ``name``: what messages call it (default: ``path``)."""
    shown = name or path
    if path == "-" or not os.path.isfile(path):
        raise NotStreamable("not a regular file")
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        handle.seek(max(0, os.path.getsize(path) - HEAD_BYTES))
        tail = handle.read()
    size = os.path.getsize(path) - (len(tail) - _body_end(tail))
    fmt = source.sniff(source.Raw(path, head, os.path.splitext(path)[1].lower()), input_format)
    if fmt not in ("csv", "tsv"):
        raise NotStreamable(f"{fmt} is read in memory")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head or b'"' in head:
        raise NotStreamable("UTF-16, binary or quoted text")
    if head.count(b"\r") != head.count(b"\r\n"):  # a line that ends at a lone \r (old Mac files)
        raise NotStreamable("carriage returns without newlines")
    skip = len(_BOM) if head.startswith(_BOM) else 0
    cut = head.rfind(b"\n") + 1 if size > len(head) else len(head)
    if cut <= skip:
        raise NotStreamable("no complete line in the head")
    try:
        text = head[skip:cut].decode("utf-8")
    except UnicodeDecodeError:
        raise NotStreamable("not UTF-8") from None
    delimiter = "\t" if fmt == "tsv" else table.sniff_delimiter(text + ("\n" if size > len(head) else ""))
    if delimiter == table.WHITESPACE:
        raise NotStreamable("whitespace-separated")
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or first + 1 >= len(lines):
        raise NotStreamable("no data line in the head")
    parsed = table.parse("\n".join(lines[: first + 2]) + "\n", shown, delimiter)
    header = parsed.header
    if header is None and true_cols is None and pred_cols is None:
        raise NotStreamable("no header: the in-memory reader says what to do")
    names = header if header is not None else [str(i) for i in range(parsed.n_columns)]
    cols = colmod.resolve_columns(names, true_cols, pred_cols, weight_col, source=shown)
    body = first + 1 if header is not None else first  # index of the first data line
    body_start = skip + sum(len(line.encode()) + 1 for line in lines[:body])
    return Layout(path, delimiter, header, cols, len(names), body_start, body + 1, size, name or "")


def _body_end(tail: bytes) -> int:
    """Where the body ends in ``tail``, the file's last bytes: blank lines at the end are skipped
    by the in-memory reader too, so the body stops before them, at the end of the last line that
    is not blank (with its spaces and tabs: a tab there is an empty field of a TSV row), without
    its \r. (A tail of blanks only: at its first newline, or its end.)"""
    last = len(tail.rstrip(b" \t\r\n"))
    newline = tail.find(b"\n", last)
    end = len(tail) if newline < 0 else newline
    return end - 1 if end > last and tail[end - 1:end] == b"\r" else end


def ranges(lay: Layout, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges of the body, each starting at the beginning of a line."""
    bounds = [lay.body_start]
    with open(lay.path, "rb") as handle:
        for i in range(1, parts):
            guess = lay.body_start + (lay.size - lay.body_start) * i // parts
            handle.seek(max(guess - 1, bounds[-1]))
            block = handle.read(1 << 16)
            newline = block.find(b"\n")
            bounds.append(lay.size if newline < 0 else handle.tell() - len(block) + newline + 1)
    bounds.append(lay.size)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def lines(data: bytes) -> int:
    """Newlines in ``data`` (numpy counts them several times faster than ``bytes.count``)."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))


def _blocks(path: str, start: int, stop: int, size: int) -> Iterator[bytes]:
    """Bytes [start, stop) of ``path``, ``size`` at a time (fewer at the end, or where the file is
    shorter than ``stop``)."""
    with open(path, "rb") as handle:
        handle.seek(start)
        left = stop - start
        while left > 0:
            data = handle.read(min(size, left))
            if not data:
                break
            left -= len(data)
            yield data


def count_lines(path: str, start: int, stop: int, block: int = 1 << 22) -> int:
    """Newlines in bytes [start, stop) of ``path``."""
    return sum(lines(data) for data in _blocks(path, start, stop, block))


def chunks(path: str, start: int, stop: int, size: int = 1 << 20) -> Iterator[bytes]:
    """Bytes [start, stop) of ``path`` in pieces of whole lines (each ends with a newline; a last
    line without one gets one). The partial line after a piece's last newline is read again at
    the start of the next piece, not carried over: one copy of each byte fewer. A line longer
    than ``size`` is read whole. A file that has become shorter than ``stop`` is a DataError."""
    with open(path, "rb") as handle:
        at, piece = start, size
        while at < stop:
            handle.seek(at)
            want = min(piece, stop - at)
            data = handle.read(want)
            if len(data) < want:  # it was measured longer: a value from part of it would be wrong
                from xentropy_cli.errors import DataError

                raise DataError("the file changed while it was read (it is shorter now)", where=path,
                                hint="read a copy that nothing is writing to")
            end = data.rfind(b"\n") + 1
            if end == 0:
                if at + len(data) == stop:
                    yield data + b"\n"
                    return
                piece *= 2  # a line longer than a piece: read more of it
                continue
            yield data if end == len(data) else data[:end]
            at, piece = at + end, size


# --- one chunk ---------------------------------------------------------------------------------

def parse_fixed(lay: Layout, data: bytes) -> np.ndarray | None:
    """The used columns of a chunk whose lines all have one fixed format (see ``_fixed``), or None."""
    block = _fixed(data, lay.delimiter, lay.n_columns, lay.scientific)
    if block is None or lay.used == list(range(lay.n_columns)):
        return block
    return block[:, lay.used]


def parse(lay: Layout, data: bytes, first_line: int) -> np.ndarray:
    """The used columns of a chunk of whole lines as an (rows, len(used)) float64 block.

    ``first_line`` is the file line of the chunk's first line (for error messages). Raises the
    in-memory reader's DataError for a bad cell or row; NotStreamable for blank lines, quotes,
    lone carriage returns or bytes that are not UTF-8 (the in-memory reader decides those).
    """
    if b"\r" in data:
        if data.count(b"\r") != data.count(b"\r\n"):
            raise NotStreamable("carriage returns without newlines")
        data = data.replace(b"\r\n", b"\n")
    rows = lines(data)
    block = _fast(data, lay.delimiter, lay.n_columns, rows)
    if block is None:
        return _slow(lay, data, first_line)
    used = lay.used
    return block if used == list(range(lay.n_columns)) else block[:, used]


# --- fixed-width lines (numbers written with a fixed format, e.g. "%.8f" or "%.18e") -------------

_U = np.uint64
_ASCII_ZERO = _U(0x3030303030303030)
_ALL = _U(0xFFFFFFFFFFFFFFFF)
_SIGN_BIT = _U(1 << 63)
# ``%.Ne`` (np.savetxt's default is %.18e): a sign, one digit, a dot, N ≤ 18 digits, e±exponent
_SCIENTIFIC = re.compile(rb"(-?)[0-9]\.([0-9]{0,18})([eE])[+-]([0-9]{1,3})")


@dataclass(frozen=True)
class _Scientific:
    """``count`` fields written as ``[-]d.<digits>e±<exponent>`` (``%.Ne``), ``step`` bytes apart:
    ``first`` is the offset of the first one's leading digit."""

    first: int
    step: int
    count: int
    columns: np.ndarray  # their indices among the line's fields
    digits: int  # after the dot
    exponent: int  # digits of the exponent
    negative: bool  # a '-' before each (checked as a mark)

    @property
    def size(self) -> int:
        """Bytes of each field."""
        return self.negative + self.digits + 4 + self.exponent


@dataclass(frozen=True)
class _Fixed:
    """Where the digits of every field sit in a line of ``width`` bytes (from the chunk's first)."""

    width: int
    n_columns: int
    columns: np.ndarray  # the plain decimal fields (the rest are ``scientific``)
    ends: np.ndarray  # per group of ≤ 8 digits: the offset just after its last digit
    masks: np.ndarray  # per group: the bytes of its 8-byte window that are its digits
    scales: np.ndarray  # per group: 10^(digits of the field's mantissa after it)
    starts: np.ndarray  # first group of each plain decimal field
    divisors: np.ndarray  # per plain decimal field: 10^(digits after its dot)
    more: tuple  # (k, fields that have a (k+1)-th group)
    marks: tuple  # (first offset, step, count, byte): separators, dots, e, minus signs, the newline
    single: tuple  # (first offset, step, count, groups): one-digit groups, read as bytes
    wide: tuple  # (first word offset, step, count, groups, masks): groups of 2–8 digits
    scientific: tuple  # _Scientific runs
    padded: bool  # a word starts before its line's first byte (8 zero bytes go before the data)


def _progressions(offsets: list[int]) -> list[tuple[int, int, list[int]]]:
    """Sorted distinct offsets as arithmetic runs (first, step, indices into ``offsets``), so each
    run is read as one strided view (offsets of fields of one width are evenly spaced)."""
    order = sorted(range(len(offsets)), key=lambda i: offsets[i])
    out: list[tuple[int, int, list[int]]] = []
    for i in order:
        if out:
            first, step, members = out[-1]
            last = offsets[members[-1]]
            if len(members) == 1 and offsets[i] > last:
                out[-1] = (first, offsets[i] - last, members + [i])
                continue
            if offsets[i] - last == step:
                members.append(i)
                continue
        out.append((offsets[i], 1, [i]))
    return out


_PLANS: dict[tuple, _Fixed] = {}


def _scientific_runs(found: list[tuple[int, int, tuple[int, int, bool]]]) -> tuple[_Scientific, ...]:
    """``found`` (leading digit's offset, field, format) as runs of one format at a fixed step."""
    runs = []
    for key in sorted({f[2] for f in found}):
        members = [f for f in found if f[2] == key]
        for first, step, m in _progressions([f[0] for f in members]):
            runs.append(_Scientific(first, step, len(m), np.array([members[i][1] for i in m], np.intp), *key))
    return tuple(runs)


def _fixed_plan(line: bytes, sep: int, n_columns: int, scientific: bool = True) -> _Fixed | None:
    body = line[:-1]
    seps = [i for i, c in enumerate(body) if c == sep]
    if len(seps) != n_columns - 1:
        return None
    ends: list[int]
    ends, masks, scales, starts, divisors, dots, columns = [], [], [], [], [], [], []
    found, others = [], []  # scientific fields; (offset, byte) of their e and minus marks
    for field, (a, b) in enumerate(zip([0] + [x + 1 for x in seps], seps + [len(body)], strict=True)):
        text = body[a:b]
        match = _SCIENTIFIC.fullmatch(text)
        if match and not scientific:
            return None
        if match:
            lead, n = a + len(match[1]), len(match[2])
            found.append((lead, field, (n, len(match[4]), bool(match[1]))))
            dots.append(lead + 1)
            others += [(lead + 2 + n, match[3][0])] + ([(a, ord("-"))] if match[1] else [])
            continue
        dot = text.find(b".")
        runs = [(a, b)] if dot < 0 else [(a, a + dot), (a + dot + 1, b)]
        digits = sum(rb - ra for ra, rb in runs)
        if digits == 0 or digits > 15:
            return None  # an empty field, or a mantissa that may not be exact in float64
        if dot >= 0:
            dots.append(a + dot)
        columns.append(field)
        divisors.append(10.0 ** (0 if dot < 0 else b - (a + dot + 1)))
        starts.append(len(ends))
        after = 0
        for ra, rb in reversed(runs):
            end = rb
            while end > ra:
                size = min(8, end - ra)
                ends.append(end)
                masks.append(((1 << (8 * size)) - 1) << (8 * (8 - size)))
                scales.append(10.0 ** after)
                after += size
                end -= size
    counts = np.diff(starts + [len(ends)])
    more = tuple((k, np.flatnonzero(counts > k)) for k in range(1, int(counts.max(initial=1))))
    width = len(line)
    marks = tuple((first, step, len(m), sep) for first, step, m in _progressions(seps))
    marks += tuple((first, step, len(m), ord(".")) for first, step, m in _progressions(dots))
    for byte in sorted({b for _, b in others}):
        at = [o for o, b in others if b == byte]
        marks += tuple((first, step, len(m), byte) for first, step, m in _progressions(at))
    marks += ((width - 1, 1, 1, 10),)
    one = [i for i, m in enumerate(masks) if m == 0xFF << 56]
    single = tuple((first, step, len(m), np.array([one[j] for j in m], np.intp))
                   for first, step, m in _progressions([ends[i] - 1 for i in one]))
    many = [i for i, m in enumerate(masks) if m != 0xFF << 56]
    exponents = _scientific_runs(found)
    padded = (any(ends[i] < 8 for i in many)  # a word (8 bytes ending at a run's end) starts before 0
              or any(r.digits % 8 and r.first + r.digits < 6 for r in exponents))
    wide = tuple((first + (8 if padded else 0) - 8, step, len(m), np.array([many[j] for j in m], np.intp),
                  np.array([[masks[many[j]]] for j in m], _U))
                 for first, step, m in _progressions([ends[i] for i in many]))
    return _Fixed(width, n_columns, np.array(columns, np.intp), np.array(ends, np.intp),
                  np.array(masks, _U), np.array(scales), np.array(starts, np.intp), np.array(divisors),
                  more, marks, single, wide, exponents, padded)


def _fixed(data: bytes, delimiter: str, n_columns: int, scientific: bool = True) -> np.ndarray | None:
    """Every line the same width with every field in the same place: read all fields at once.

    Plain decimals (``_decimal_fields``): each run of ≤ 8 digits is read as one little-endian
    8-byte word (digit bytes checked, other bytes masked), turned into its integer by three
    multiply-shift steps, and a field's mantissa M (≤ 15 digits, so exact) is Σ run·10ⁱ; the value
    is M / 10^(digits after the dot), correctly rounded as for ``_fast``. ``%.Ne`` fields
    (``_scientific``, ≤ 19 digits, unless ``scientific`` is False): Eisel–Lemire on M and the
    exponent, as ``io.decimals``. Anything else (signs that vary, other widths, longer mantissas):
    None.
    """
    first = data.find(b"\n") + 1
    if first <= 1 or len(data) % first:
        return None
    key = (delimiter, n_columns, first, scientific)
    cached = _PLANS.get(key)  # the previous chunk's plan: every line is checked against it
    block = None if cached is None else _read_fixed(data, delimiter, cached)
    if block is None:
        plan = _fixed_plan(data[:first], ord(delimiter), n_columns, scientific)
        block = None if plan is None else _read_fixed(data, delimiter, plan)
        if block is not None:
            _PLANS[key] = plan  # type: ignore[assignment]
    return block


def _read_fixed(data: bytes, delimiter: str, plan: _Fixed) -> np.ndarray | None:
    """Every field of every line as the plan places them; None if a line does not fit the plan.

    Fields that repeat at a fixed step along the line (one column after another) are read as one
    strided (fields, rows) view each: no gather, and every operation runs along the rows.
    """
    rows, width = len(data) // plan.width, plan.width
    for first, step, count, byte in plan.marks:  # separators, dots and newlines where they belong
        if (np.ndarray((count, rows), np.uint8, data, first, (step, width)) != byte).any():
            return None
    base = bytes(8) + data if plan.padded else data  # a word ending at offset e starts at e − 8
    decimal = _decimal_fields(data, base, plan, rows) if plan.columns.size else None
    if not plan.scientific:
        return None if decimal is None else decimal.T
    if plan.columns.size and decimal is None:
        return None
    block = np.empty((plan.n_columns, rows))
    if decimal is not None:
        block[plan.columns] = decimal
    for run in plan.scientific:
        values = _scientific(data, base, 8 if plan.padded else 0, width, rows, run)
        if values is None:
            return None
        block[run.columns] = values
    return block.T


def _decimal_fields(data: bytes, base: bytes, plan: _Fixed, rows: int) -> np.ndarray | None:
    """The plain decimal fields (``plan.columns``) as (fields, rows), or None for a byte that is not a
    digit where the first line has one."""
    width = plan.width
    runs = np.empty((plan.ends.size, rows))  # (groups, rows)
    for first, step, count, groups in plan.single:  # one digit (a 0/1 target, an integer part)
        ones = np.ndarray((count, rows), np.uint8, data, first, (step, width)) - np.uint8(48)
        if (ones > 9).any():
            return None  # not a digit where the first line has one
        runs[groups] = ones
    for first, step, count, groups, masks in plan.wide:
        word = np.ndarray((count, rows), _U, base, first, (step, width)) ^ _ASCII_ZERO
        if (masks != _ALL).any():
            word &= masks
        if not decimals.digits(word).all():
            return None  # a byte that is not a digit where the first line has one
        runs[groups] = decimals.eight_digits(word)
    runs *= plan.scales[:, None]
    mantissa = runs[plan.starts]
    for extra, fields in plan.more:  # fields with more than one run of digits
        mantissa[fields] += runs[plan.starts[fields] + extra]
    mantissa /= plan.divisors[:, None]
    return mantissa


def _scientific(data: bytes, base: bytes, pad: int, width: int, rows: int,
                run: _Scientific) -> np.ndarray | None:
    """A run of ``%.Ne`` fields as (fields, rows) float64, float()'s bits, or None for a byte that
    is not a digit (or an exponent sign) where the first line has one.

    M is the 1 + N digits without the dot (< 10^19, exact in uint64: the leading digit, then
    words of eight digits, then the last N mod 8 digits as the top bytes of the word that ends
    with them), q = ±exponent − N, and the value M·10^q comes from ``decimals.scaled``
    (Eisel–Lemire and its exact retries); the few cells it cannot decide (halfway cases,
    subnormals) are read by ``float()`` itself.
    """
    o, n = run.first, run.digits
    shape, strides = (run.count, rows), (run.step, width)

    def digit(at: int) -> np.ndarray:
        return np.ndarray(shape, np.uint8, data, at, strides) - np.uint8(48)

    def word(at: int) -> np.ndarray:
        return np.ndarray(shape, _U, base, at + pad, strides) ^ _ASCII_ZERO

    lead = digit(o)
    bad = lead > 9
    mantissa = lead.astype(_U)
    words = []
    groups = [(o + 2 + 8 * g, 8) for g in range(n // 8)] + ([(o + n - 6, n % 8)] if n % 8 else [])
    for at, size in groups:
        w = word(at)
        if size < 8:
            w &= _ALL << _U(8 * (8 - size))
        words.append(w)
        mantissa *= _U(10 ** size)
        mantissa += decimals.eight_digits(w)
    sign = np.ndarray(shape, np.uint8, data, o + 3 + n, strides)
    minus = sign == ord("-")
    bad |= ~minus & (sign != ord("+"))
    exponent = np.zeros(shape, np.int64)
    for j in range(run.exponent):
        d = digit(o + 4 + n + j)
        bad |= d > 9
        exponent *= 10
        exponent += d
    if bad.any() or (words and not decimals.digits(*words).all()):
        return None
    np.negative(exponent, out=exponent, where=minus)
    exponent -= n
    bits, ok = decimals.scaled(mantissa.ravel(), exponent.ravel())
    if run.negative:
        bits |= _SIGN_BIT
    values = bits.view(np.float64)
    for i in np.flatnonzero(~ok).tolist():  # rare: halfway cases, subnormal or huge values
        field, row = divmod(i, rows)
        start = row * width + o + field * run.step - run.negative
        values[i] = float(data[start:start + run.size])
    return values.reshape(shape)


_NUMBER_BYTES = b"0123456789.-+eE"
_ROW_END = b",nan,"  # the only nan numpy can read: the data has no "n"
# warnings.catch_warnings swaps the process's one list of filters: two threads of a stream
# (stream._in_threads) entering and leaving it interleaved would leave "error" in it for good
_STRICT = threading.Lock()
_WHOLE_AFTER_MISS = 15  # chunks read whole by numpy's parser after one the vector parser mostly missed
_whole_left = 0


def _fast(data: bytes, delimiter: str, n_columns: int, rows: int) -> np.ndarray | None:
    """Every field of a chunk of whole lines as float64, or None when the chunk needs a closer look.

    Each cell is read exactly as ``float()`` reads it, correctly rounded: by the vector parser
    (``io.decimals``: Clinger's fast path for at most 16 bytes, mantissa ≤ 2^53 and decimal
    exponent within ±22; Eisel–Lemire for up to 24 bytes and 19 digits) where it can, and the
    cells it cannot take by numpy's own parser (``_numbers``: CPython's ``PyOS_string_to_double``).
    None when a line does not have ``n_columns`` cells or a cell is not a finite number of digits,
    ``.-+eE`` (so no nan/inf, spaces, quotes or underscores). When over a quarter of a chunk's
    cells are beyond the vector parser (20-digit mantissas, cells over 24 bytes), that chunk and
    the next ones are read whole by numpy's parser (``_whole``).
    """
    global _whole_left
    if len(delimiter.encode()) != 1:
        return None
    if _whole_left > 0:
        _whole_left -= 1
        return _whole(data, delimiter, n_columns, rows)
    cells = decimals.cells(data, delimiter, n_columns, rows)
    if cells is None:
        return None
    values, taken, ends, lengths = cells
    slow = np.flatnonzero(~taken)
    if 4 * slow.size > values.size:
        _whole_left = _WHOLE_AFTER_MISS
        return _whole(data, delimiter, n_columns, rows)
    if slow.size:
        stops = ends.take(slow)
        starts = stops - lengths.take(slow)
        text = b",".join([data[a:b] for a, b in zip(starts.tolist(), stops.tolist(), strict=True)])
        found = _numbers(text, slow.size)
        if found is None:
            return None
        values[slow] = found
    return values.reshape(rows, n_columns)


def _numbers(text: bytes, count: int) -> np.ndarray | None:
    """``count`` comma-separated finite numbers, read by numpy's parser (``PyOS_string_to_double``,
    as ``float()``), or None for anything else (an empty cell, ``1-2``, nan, spaces, …)."""
    if text.translate(None, _NUMBER_BYTES + b","):
        return None
    with _STRICT, warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, dtype=np.float64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    if values.size != count or not np.isfinite(values).all():
        return None
    return values


def _whole(data: bytes, delimiter: str, n_columns: int, rows: int) -> np.ndarray | None:
    """Every field of the chunk read by numpy's own text-to-float64 parser, or None.

    ``np.fromstring(…, sep=",")``, in C over the whole chunk, reads each field with CPython's
    ``PyOS_string_to_double``, the function ``float()`` and ``np.loadtxt`` (the in-memory
    reader) use: correctly rounded, the same bits for every decimal, long mantissas, exponents and
    subnormals included. Only the bytes of numbers, delimiters and newlines are taken (so no
    nan/inf, spaces, quotes or underscores in the data); every newline becomes ``,nan,``, so the
    row ends are read in the same pass: numpy must read exactly ``rows · (n_columns + 1)`` values
    with nothing left over (an empty field or ``1-2`` stops it), a nan at the end of every row and
    finite values everywhere else, which holds only when every line has ``n_columns`` fields.
    """
    sep = delimiter.encode()
    if data.translate(None, _NUMBER_BYTES + sep + b"\n"):
        return None
    if sep != b",":
        data = data.replace(sep, b",")
    with _STRICT, warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(data.replace(b"\n", _ROW_END), dtype=np.float64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    if values.size != rows * (n_columns + 1):
        return None
    values = values.reshape(rows, n_columns + 1)
    block = values[:, :n_columns]
    if not np.isnan(values[:, n_columns]).all() or not np.isfinite(block).all():
        return None
    return block


def _slow(lay: Layout, data: bytes, first_line: int) -> np.ndarray:
    """The chunk through io.table: its values, or the in-memory reader's error at file:line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotStreamable("not UTF-8") from None
    texts = text.split("\n")[:-1]
    if '"' in text or any(not t.strip() for t in texts):
        raise NotStreamable("blank lines or quotes")
    lines = list(range(first_line, first_line + len(texts)))
    parsed = table.Table(lay.source, lay.delimiter, lay.header, lines, texts)
    _check_ragged(parsed, lay.n_columns)
    return table.numbers(parsed, lay.used)


def _check_ragged(parsed: table.Table, width: int) -> None:
    lengths = [t.count(parsed.delimiter) + 1 for t in parsed.texts or ()]
    if lengths.count(width) == len(lengths):
        return
    row = next(i for i, n in enumerate(lengths) if n != width)
    from xentropy_cli.errors import DataError

    against = "the header has" if parsed.header is not None else "the first row has"
    name = {"\t": "tab", ";": "semicolon", ",": "comma"}.get(parsed.delimiter, "value")
    raise DataError(f"row has {lengths[row]} fields but {against} {width}",
                    where=f"{parsed.source}:{parsed.lines[row]}",
                    hint=f"every row needs the same columns; check for a missing or extra {name}")


# --- pyarrow (the `fast` extra) -----------------------------------------------------------------

def arrow_available() -> bool:
    """True when pyarrow can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


class Arrow:
    """pyarrow's CSV reader (the ``fast`` extra) for chunks of whole lines of one layout.

    ``parse(data)`` gives the same (rows, len(used)) float64 block as ``fastcsv.parse`` (pyarrow's
    float parsing is correctly rounded too), or raises for anything unusual (a cell that is not a
    number, a ragged row, an empty cell): the caller then reads the chunk with ``fastcsv.parse``,
    which gives the in-memory reader's error. pyarrow is imported here, by the process that
    reads (after any fork), and allocates from the system allocator so memory is given back.
    """

    def __init__(self, lay: Layout, threads: bool = True):
        import pyarrow as pa
        from pyarrow import csv as pacsv

        pa.set_memory_pool(pa.system_memory_pool())
        self.pa, self.csv = pa, pacsv
        names = [f"c{i}" for i in range(lay.n_columns)]
        self.used = [names[i] for i in lay.used]
        self.read = pacsv.ReadOptions(column_names=names, block_size=1 << 20, use_threads=threads)
        self.parse_options = pacsv.ParseOptions(delimiter=lay.delimiter, quote_char=False,
                                                newlines_in_values=False, ignore_empty_lines=False)
        self.convert = pacsv.ConvertOptions(
            column_types={n: pa.float64() for n in self.used}, include_columns=self.used,
            null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False)

    def parse(self, data: bytes) -> np.ndarray:
        if b" " in data:
            raise ValueError("spaces: the numpy reader decides")
        table = self.csv.read_csv(self.pa.py_buffer(data), read_options=self.read,
                                  parse_options=self.parse_options, convert_options=self.convert)
        if table.num_rows != lines(data):
            raise ValueError("rows are not lines (carriage returns or a missing newline)")
        block = np.empty((table.num_rows, len(self.used)))
        for j, name in enumerate(self.used):
            block[:, j] = _doubles(table.column(name))
        if not np.isfinite(block).all():
            raise ValueError("a value is not finite")
        return block


def _doubles(column) -> np.ndarray:
    """A pyarrow float64 column as numpy, read from its buffers (``to_numpy`` would import pandas)."""
    parts = []
    for chunk in column.chunks:
        if chunk.null_count:
            raise ValueError("a cell is empty")
        data = chunk.buffers()[1]
        parts.append(np.frombuffer(data, np.float64, count=len(chunk), offset=chunk.offset * 8))
    return np.concatenate(parts) if len(parts) != 1 else parts[0]


# --- polars (the `fast` extra) ------------------------------------------------------------------

def polars_available() -> bool:
    """True when polars can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("polars") is not None


_FORKED_WITH_POLARS = False


def _after_fork() -> None:
    global _FORKED_WITH_POLARS
    _FORKED_WITH_POLARS = _FORKED_WITH_POLARS or "polars" in sys.modules


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def polars_usable() -> bool:
    """False in a process forked from one that had imported polars: polars' thread pool does not
    survive a fork (the child would wait for threads it does not have)."""
    return not _FORKED_WITH_POLARS


class Polars:
    """polars' CSV reader (the ``fast`` extra) for chunks of whole lines of one layout.

    ``parse(data)`` gives the same (rows, len(used)) float64 block as ``fastcsv.parse``: polars
    parses floats with a correctly rounded parser (fast-float's Eisel–Lemire with an exact
    fallback; tests/test_fastcsv.py checks hard cases against ``float()``). Anything unusual (a
    cell that is not a number, nan or inf, a ragged row, an empty cell, a quote) raises, and the
    caller reads the chunk with ``fastcsv.parse``, which gives the in-memory reader's error.
    Imported here, in the process that reads; ``threads=False`` (several worker processes) keeps
    polars to one thread each, which must be said before polars is first imported.
    """

    def __init__(self, lay: Layout, threads: bool = True):
        if not threads:
            os.environ.setdefault("POLARS_MAX_THREADS", "1")
        import polars as pl

        self.pl = pl
        self.used = list(lay.used)
        self.delimiter = lay.delimiter
        self.schema = {f"column_{i + 1}": pl.Float64 for i in range(lay.n_columns)}
        self.order = [f"column_{i + 1}" for i in lay.used]

    def parse(self, data: bytes) -> np.ndarray:
        if b'"' in data or b"\r" in data or b" " in data or b"n" in data or b"N" in data:
            raise ValueError("quotes, carriage returns, spaces, nan or inf: the numpy reader decides")
        frame = self.pl.read_csv(data, has_header=False, schema=self.schema, separator=self.delimiter,
                                 columns=self.used, quote_char=None, truncate_ragged_lines=False,
                                 raise_if_empty=True, ignore_errors=False)
        if frame.height != lines(data):
            raise ValueError("rows are not lines")
        frame = frame.select(self.order)  # polars keeps the file's order; ours: y_true, y_pred, weight
        block = frame.to_numpy(order="c")  # an empty cell (null) becomes nan
        if block.dtype != np.float64 or not np.isfinite(block).all():
            raise ValueError("a value is empty or not a finite float64")
        return block
