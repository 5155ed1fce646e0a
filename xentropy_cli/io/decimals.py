"""Decimal text to float64 with numpy vector operations, exact: the cells of a CSV chunk.

``cells(data, delimiter, n_columns, rows)`` reads every cell of a chunk of whole lines at once.
A cell is taken when it is ``[+-]digits[.digits][(e|E)[+-]digits]`` (at least one digit before
the exponent), at most 16 bytes long, with an integer mantissa M (its digits without the dot)
of at most 2^53 and a decimal exponent q (the exponent minus the digits after the dot) with
|q| ≤ 22. Then M and 10^|q| are both exact float64 values and the value is ``M * 10^q`` or
``M / 10^-q``: one IEEE operation, so correctly rounded, the same bits as ``float(cell)``
(Clinger's fast path; -0 included). Shortest float32 reprs (≤ 9 digits) and ``%.7g``-style
cells all qualify down to 1e-22·M. Every other cell (more digits, far exponents, anything that
is not such a number) is reported as not taken, and the caller reads it with an exact parser.

How: the cells' ends are the delimiter and newline bytes (``np.flatnonzero``); the 16 bytes
before each end are gathered as two little-endian 64-bit words (bytes of the previous cell
masked off), so the last digit of every cell sits in the same byte. Within the words (SWAR:
eight bytes per integer operation) the exponent, the sign and the dot are found and removed,
every remaining byte is checked to be a digit, and each word of eight digits becomes its integer
with three multiply-shift steps (``eight_digits``). Shifts stay below 64 bits and no
``bitwise_count`` is needed, so numpy ≥ 1.24 gives the same answers.
"""

from __future__ import annotations

import numpy as np

_U = np.uint64
_ALL = _U(0xFFFFFFFFFFFFFFFF)
BLOCK = 1 << 15  # cells parsed at once (their arrays stay in cache and below malloc's mmap threshold)
WIDTH = 16  # bytes of a cell the vector parser reads; longer cells are not taken
_TWO53 = _U(1 << 53)
_POSITION = _U(0x0001020304050607)  # t · this, for t = 1 << 8p, has p in its top byte


def _bytes(value: int) -> np.uint64:
    return _U(int.from_bytes(bytes([value]) * 8, "little"))


_ZERO, _SIX, _HIGH_NIBBLES, _LOW7 = _bytes(0x30), _bytes(0x06), _bytes(0xF0), _bytes(0x7F)
_CASE, _E, _DOT, _ONES = _bytes(0x20), _bytes(ord("e")), _bytes(ord(".")), _bytes(0x01)
_DOT_TO_ZERO = _U(ord(".") ^ ord("0"))
_3, _7, _8, _56, _BYTE = _U(3), _U(7), _U(8), _U(56), _U(0xFF)

# the last k bytes (k = 0..16) of a 16-byte window, as masks of its first and second word
_TAIL0 = np.array([((1 << 64) - 1) << (8 * (16 - k)) & ((1 << 64) - 1) if k > 8 else 0
                   for k in range(17)], _U)
_TAIL1 = np.array([((1 << 64) - 1) << (8 * (8 - min(k, 8))) & ((1 << 64) - 1) for k in range(17)], _U)
_POWERS = np.array([10 ** k for k in range(18)], _U)
_LOW = np.array([(1 << (8 * k)) - 1 for k in range(9)], _U)  # the first k bytes of a word
# value = M · _MUL[q + 22] / _DIV[q + 22]: one of the two is 1, the other 10^|q| (exact)
_Q = np.arange(45) - 22
_MUL = np.where(_Q > 0, 10.0 ** np.abs(_Q), 1.0)
_DIV = np.where(_Q < 0, 10.0 ** np.abs(_Q), 1.0)


def eight_digits(v: np.ndarray) -> np.ndarray:
    """Eight digit values 0–9, one per byte (first digit lowest), as the integer they spell."""
    v = (v * _U(2561)) >> _8
    v = ((v & _U(0x00FF00FF00FF00FF)) * _U(6553601)) >> _U(16)
    return ((v & _U(0x0000FFFF0000FFFF)) * _U(42949672960001)) >> _U(32)


def _marks(z: np.ndarray) -> np.ndarray:
    """0x01 in every byte of ``z`` that is 0, else 0 (exact: no carry crosses a byte)."""
    t = z & _LOW7
    t += _LOW7
    t |= z
    t |= _LOW7
    return (~t) >> _7


def _digits(d: np.ndarray) -> np.ndarray:
    """Whether every byte of ``d`` (a byte XOR '0') is 0–9: neither it nor it + 6 reaches 16 (a
    carry from the byte below only adds to a sum already 16 or more)."""
    return ((d | (d + _SIX)) & _HIGH_NIBBLES) == 0


def _one_or_none(t: np.ndarray) -> np.ndarray:
    """Whether at most one byte of ``t`` is marked."""
    return (t & (t - _U(1))) == 0


def cells(data: bytes, delimiter: str, n_columns: int, rows: int) -> tuple[np.ndarray, np.ndarray,
                                                                          np.ndarray, np.ndarray] | None:
    """(values, taken, ends, lengths) of every cell of a chunk of whole lines, in row order.

    ``values[i]`` is exact where ``taken[i]``; the other cells (the ``lengths[i]`` bytes of
    ``data`` before ``ends[i]``) need an exact parser. None when the lines do not all have
    ``n_columns`` cells.
    """
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero((buf == ord(delimiter)) | (buf == 10))
    n = ends.size
    if n != rows * n_columns or (n and (buf[ends[n_columns - 1::n_columns]] != 10).any()):
        return None
    lengths = np.empty(n, np.intp)
    if n:
        lengths[0] = ends[0]
        np.subtract(ends[1:], ends[:-1] + 1, out=lengths[1:])
    padded = bytes(WIDTH) + data
    any_e = b"e" in data or b"E" in data  # else no cell has an exponent
    values, taken = np.empty(n), np.empty(n, bool)
    single = lengths == 1
    if 8 * np.count_nonzero(single) > n:  # many one-byte cells (one-hot targets, labels): a digit
        digit = buf.take(ends[single] - 1) - np.uint8(ord("0"))
        values[single] = digit
        taken[single] = digit <= 9
        rest = np.flatnonzero(~single)
    else:
        rest = None
    for a in range(0, n if rest is None else rest.size, BLOCK):  # a block at a time: bounded memory
        cut = slice(a, a + BLOCK) if rest is None else rest[a:a + BLOCK]
        values[cut], taken[cut] = _numbers(padded, ends[cut], lengths[cut], any_e)
    retry = np.flatnonzero(~taken)
    if retry.size:  # a sign: the same window without the cell's first byte
        first = buf.take(ends.take(retry) - lengths.take(retry))
        signed = (first == ord("-")) | (first == ord("+"))
        if signed.any():
            again = retry[signed]
            found, ok = _numbers(padded, ends.take(again), lengths.take(again) - 1, any_e)
            found[first[signed] == ord("-")] *= -1.0  # -0.0 too
            values[again] = found
            taken[again] = ok
    return values, taken, ends, lengths


def _numbers(padded: bytes, ends: np.ndarray, lengths: np.ndarray,
             any_e: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(values, taken) of the unsigned cells of ``lengths`` bytes ending before ``ends`` in
    ``padded[WIDTH:]``."""
    n = ends.size
    size = np.minimum(lengths, WIDTH)
    taken = (lengths - 1).astype(_U) < _U(WIDTH)  # 1 to 16 bytes
    windows = np.ndarray((len(padded) - WIDTH + 1,), f"V{WIDTH}", padded, 0, (1,))[ends]
    words = windows.view("<u8").reshape(n, 2)
    w0 = words[:, 0] & _TAIL0.take(size)  # bytes 0–7 and 8–15 of the window; the cell ends at byte 15
    w1 = words[:, 1] & _TAIL1.take(size)
    exponent = _exponent(w0, w1, size, taken, any_e)
    # the dot, read as a digit 0: the digits then spell X = I·10^(F+1) + R, for the integer part I
    # and the F digits R after the dot, and M = I·10^F + R = X − 9·I·10^F
    t0, t1 = _marks(w0 ^ _DOT), _marks(w1 ^ _DOT)
    taken &= (((t0 + t1) * _ONES) >> _56) <= _U(1)  # at most one dot
    w0 ^= t0 * _DOT_TO_ZERO
    w1 ^= t1 * _DOT_TO_ZERO
    dot = np.minimum(t0 | t1, _U(1))
    after = dot * _U(15) - ((t0 * _POSITION) >> _56) - ((t1 * _POSITION) >> _56) - np.minimum(t1, _U(1)) * _8
    np.minimum(after, _U(15), out=after)  # (several dots: not taken)
    taken &= size.astype(_U) - dot - _U(1) < _U(WIDTH)  # a digit besides the dot
    d0 = w0 ^ (_ZERO & _TAIL0.take(size))
    d1 = w1 ^ (_ZERO & _TAIL1.take(size))
    taken &= _digits(d0)
    taken &= _digits(d1)
    mantissa = eight_digits(d0)
    mantissa *= _U(100_000_000)
    mantissa += eight_digits(d1)
    whole = np.flatnonzero((mantissa >= _POWERS.take((after + _U(1)).astype(np.intp))) & (dot != 0))
    if whole.size:  # an integer part other than 0
        scale = after[whole].astype(np.intp)
        x = mantissa[whole]
        mantissa[whole] = x - _U(9) * (x // _POWERS.take(scale + 1)) * _POWERS.take(scale)
    taken &= mantissa <= _TWO53
    q = exponent - after.astype(np.int64)
    q += 22
    taken &= q.astype(_U) <= _U(44)
    index = np.minimum(q.astype(_U), _U(44)).astype(np.intp)
    values = mantissa.astype(np.float64)
    values *= _MUL.take(index)
    values /= _DIV.take(index)
    return values, taken


def _exponent(w0: np.ndarray, w1: np.ndarray, size: np.ndarray, taken: np.ndarray,
              any_e: bool = True) -> np.ndarray:
    """The exponent of every cell (0 without one), read from and then removed from the window
    (the mantissa moves to its end); ``size`` becomes the mantissa's length. An exponent must
    sit in the last eight bytes, after at least one byte: else the cell is not taken."""
    exponent = np.zeros(w0.size, np.int64)
    if not any_e:
        return exponent
    marks = _marks((w1 | _CASE) ^ _E)
    at = np.flatnonzero(marks != 0)
    if not at.size:
        return exponent
    t = marks[at]
    taken[at] &= _one_or_none(t)
    where = np.minimum((t * _POSITION) >> _56, _7)  # byte of the e in w1 (if it is the only one)
    x1, x0 = w1[at], w0[at]
    text = (x1 >> _8) >> (where << _3)  # the bytes after the e, first lowest
    lead = text & _BYTE
    minus = lead == ord("-")
    sign = (minus | (lead == ord("+"))).astype(_U)
    text >>= sign << _3
    count = _7 - where - sign  # digits of the exponent
    ok = (where >= _U(1)) & (count - _U(1) < _7)
    count = np.clip(count, _U(1), _7).astype(np.intp)
    d = text ^ (_ZERO & _LOW.take(count))
    ok &= _digits(d)
    value = eight_digits(d << ((_8 - count.astype(_U)) << _3)).astype(np.int64)
    value[minus] *= -1
    exponent[at] = value
    taken[at] &= ok
    shift = (_8 - np.maximum(where, _U(1))) << _3  # move the mantissa to the window's end
    w1[at] = (x1 << shift) | (x0 >> (_U(64) - shift))
    w0[at] = x0 << shift
    size[at] = np.maximum(size[at] - (_8 - np.maximum(where, _U(1))).astype(np.intp), 0)
    return exponent
