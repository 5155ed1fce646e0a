"""Decimal text to float64 with numpy vector operations, exact: the cells of a CSV chunk.

``cells(data, delimiter, n_columns, rows)`` reads every cell of a chunk of whole lines at once.
A cell is ``[+-]digits[.digits][(e|E)[+-]digits]`` (at least one digit before the exponent);
M is its integer mantissa (its digits without the dot) and q its decimal exponent (the
exponent minus the digits after the dot). Two paths take it, both giving the bits of
``float(cell)``:

- Clinger's fast path, for cells of at most 16 bytes with M ≤ 2^53 and |q| ≤ 22: M and 10^|q|
  are exact float64 values and the value is ``M * 10^q`` or ``M / 10^-q``, one IEEE operation,
  so correctly rounded (-0 included). Shortest float32 reprs (≤ 9 digits) and ``%.7g``-style
  cells all qualify down to 1e-22·M.
- Eisel–Lemire (``_eisel_lemire``, Go's ``strconv.eiselLemire64``), for the cells that path
  leaves (the cells over 16 bytes directly, when they are over 1/8 of a chunk) of at most
  24 bytes after the sign with M < 10^19 (at most 19 digits after any leading zeros):
  pandas' float64 shortest reprs (17 digits) and ``np.savetxt``'s ``%.18e`` (19 digits, 24
  bytes). M, normalised, times a 128-bit table value of 10^q (rounded down; computed at import
  with Python integers) gives the result's 54 leading bits; a second product decides when the
  first is too close to a rounding boundary. What it cannot decide (a product that stays on the
  boundary, an exact halfway case such as 1e23, an exact double with q < 0 such as
  ``6.000000000000000000e+00``) is retried exactly (``_trimmed``: trailing zeros moved to q then
  Clinger's path, or M = 5^-q·N, or an integer that float64 holds).

The Eisel–Lemire cells are found in two ways. ``_point`` takes the common form ``d.ddd…`` (one
integer digit, a dot, digits: pandas' float64 reprs of probabilities) with a single test on the
masked words and no dot removal (M = X − 9·d·10^(k−2), X being the digits with the dot read as
0), and the same form before a two-digit exponent (``d.ddd…e-05``), read from the window's last
four bytes; ``_general`` finds the sign, the exponent and the dot anywhere in the window for the
rest. In a chunk of mostly long cells (float64 dumps) every cell but the one-byte ones (labels,
one-hot targets) goes this way, without a Clinger pass.

Every other cell (20 or more digits, more than 24 bytes, subnormal or infinite results, the
halfway cases, anything that is not such a number) is reported as not taken, and the caller
reads it with an exact parser.

How: the cells' ends are the delimiter and newline bytes (``np.flatnonzero``); the 16 (24)
bytes before each end are gathered as two (three) little-endian 64-bit words (bytes of the
previous cell masked off), so the last digit of every cell sits in the same byte. Within the
words (SWAR: eight bytes per integer operation) the exponent, the sign and the dot are found and
removed, every remaining byte is checked to be a digit, and each word of eight digits becomes
its integer with three multiply-shift steps (``eight_digits``). The 64×64 → 128-bit products
are built from 32-bit halves. Shifts stay below 64 bits and no ``bitwise_count`` is needed, so
numpy ≥ 1.24 gives the same answers; every operation is on integers (or one exact IEEE
operation), so the bits do not depend on the CPU's vector extensions.
"""

from __future__ import annotations

import numpy as np

_U = np.uint64
_ALL = _U(0xFFFFFFFFFFFFFFFF)
BLOCK = 1 << 15  # cells parsed at once (their arrays stay in cache and below malloc's mmap threshold)
WIDTH = 16  # bytes of a cell Clinger's path reads
WIDE = 24  # bytes of a cell (after its sign) the Eisel–Lemire path reads; longer cells are not taken
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
# the last k bytes (k = 0..24) of a 24-byte window, as masks of its three words
_WIDE_TAILS = np.array([[((1 << 64) - 1) << (8 * min(max(WIDE - k - 8 * j, 0), 8)) & ((1 << 64) - 1)
                         for k in range(WIDE + 1)] for j in range(3)], _U)
_WIDE_ZEROS = _WIDE_TAILS & _ZERO  # '0' in each of those bytes


def _point_zeros() -> np.ndarray:
    """``_WIDE_ZEROS`` with a '.' as the second byte of the cell (a cell of k bytes starts at byte
    24 − k of the window): XOR turns ``d.ddd…`` into digit values with the dot as 0. Cells of 0 or
    1 byte get 0xFF in their last byte, which no digit XORs to a digit."""
    table = _WIDE_ZEROS.copy()
    for k in range(WIDE + 1):
        at = WIDE - k + 1 if k >= 2 else WIDE - 1
        table[at // 8, k] ^= _U((0xFF if k < 2 else ord("0") ^ ord(".")) << (8 * (at % 8)))
    return table


_POINT_ZEROS = _point_zeros()
# 9·10^(k − 2) mod 2^64: a cell d.ddd… of k bytes, read with its dot as a 0, spells X = d·10^(k−1) + R
# and M = d·10^(k−2) + R = X − d·9·10^(k−2) (mod 2^64, exact when M < 2^64)
_NINES = np.array([9 * 10 ** (k - 2) % (1 << 64) if k >= 2 else 0 for k in range(WIDE + 1)], _U)
_POINT_OFF_BLOCKS = 16  # blocks read by the general wide path after one that was mostly not d.ddd…
_point_off = 0


def _power_of_ten(q: int) -> int:
    """10^q as a 128-bit integer T, 2^127 ≤ T < 2^128, rounded down: 10^q = T · 2^(e − 127) with
    e = ⌊q·log2(10)⌋ (Go's ``detailedPowersOfTen``, fast_float's table for q ≥ 0)."""
    if q >= 0:
        v = 10 ** q
        e = v.bit_length() - 1
        return v >> (e - 127) if e >= 127 else v << (127 - e)
    d = 10 ** -q  # not a power of two: 2^(127 + bits(d)) / d lies strictly in (2^127, 2^128)
    return (1 << (127 + d.bit_length())) // d


Q_MIN, Q_MAX = -348, 347  # the table's decimal exponents (a 19-digit M·10^q is 0 or ∞ beyond)
_TABLE = [_power_of_ten(q) for q in range(Q_MIN, Q_MAX + 1)]
_TEN_HI = np.array([t >> 64 for t in _TABLE], _U)
_TEN_LO = np.array([t & ((1 << 64) - 1) for t in _TABLE], _U)
_LOW32, _32, _9, _1FF = _U(0xFFFFFFFF), _U(32), _U(9), _U(0x1FF)
_FRACTION = _U((1 << 52) - 1)
_DOT_BYTE = _U(ord("."))
_FIVES = np.array([5 ** k for k in range(28)], _U)
_POWERS_19 = np.array([10 ** k for k in range(20)], _U)
_POSITION_1, _POSITION_2 = _POSITION + _U(8) * _ONES, _POSITION + _U(16) * _ONES


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


def digits(first: np.ndarray, *more: np.ndarray) -> np.ndarray:
    """Whether every byte of the words (bytes XOR '0'), element by element, is 0–9: neither it nor
    it + 6 reaches 16 (a carry from the byte below only adds to a sum already 16 or more)."""
    check = first + _SIX
    check |= first
    for word in more:
        check |= word
        check |= word + _SIX
    check &= _HIGH_NIBBLES
    return check == 0


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
    padded = bytes(WIDE) + data
    any_e = b"e" in data or b"E" in data  # else no cell has an exponent
    values, taken = np.empty(n), np.zeros(n, bool)
    narrow = None  # the cells for Clinger's path (None: all)
    long = lengths > WIDTH
    long_count = np.count_nonzero(long)
    many_long = 8 * long_count > n  # (float64 dumps): only Eisel–Lemire reads them
    single = lengths == 1
    count = np.count_nonzero(single)
    # many one-byte cells (one-hot targets, labels): a digit; when Clinger's path reads a subset
    # anyway (many long cells), even a label column of 1 in 16
    if (16 if many_long else 8) * count > n:
        ones = single if 4 * count > n else np.flatnonzero(single)  # (a mask is faster when dense)
        digit = buf.take(ends[ones] - 1) - np.uint8(ord("0"))
        values[ones] = digit
        taken[ones] = digit <= 9
        narrow = ~single
    if 2 * long_count > n:  # mostly long cells: the few short ones go the same way (no Clinger pass)
        _long(buf, padded, ends, lengths, np.flatnonzero(~taken), values, taken, any_e)
        return values, taken, ends, lengths
    if many_long:
        np.logical_not(long, out=long)
        narrow = long if narrow is None else narrow & long
    rest = None if narrow is None else np.flatnonzero(narrow)
    for a in range(0, n if rest is None else rest.size, BLOCK):  # a block at a time: bounded memory
        cut = slice(a, a + BLOCK) if rest is None else rest[a:a + BLOCK]
        values[cut], taken[cut] = _numbers(padded, ends[cut], lengths[cut], any_e)
    left = np.flatnonzero(~taken)
    retry = left[lengths.take(left) <= WIDTH + 1]
    if retry.size:  # a sign: the same window without the cell's first byte
        first = buf.take(ends.take(retry) - lengths.take(retry))
        signed = (first == ord("-")) | (first == ord("+"))
        if signed.any():
            again = retry[signed]
            found, ok = _numbers(padded, ends.take(again), lengths.take(again) - 1, any_e)
            found[first[signed] == ord("-")] *= -1.0  # -0.0 too
            values[again] = found
            taken[again] = ok
            left = left[~taken.take(left)]
    _long(buf, padded, ends, lengths, left, values, taken, any_e)  # up to 19 digits: Eisel–Lemire
    return values, taken, ends, lengths


def _long(buf: np.ndarray, padded: bytes, ends: np.ndarray, lengths: np.ndarray, cells: np.ndarray,
          values: np.ndarray, taken: np.ndarray, any_e: bool) -> None:
    """``values`` and ``taken`` of ``cells`` (indices), cells of up to 24 bytes and 19 digits:
    those written ``d.ddd…`` or ``d.ddd…e±dd`` by ``_point`` (the fewer operations) a block at a
    time, then all the others at once by ``_general`` (its cost per call is mostly per
    operation, not per cell). After a block that is mostly of other cells (signs, integers,
    three-digit exponents), the next ``_POINT_OFF_BLOCKS`` blocks go straight to ``_general``."""
    global _point_off
    general = []
    for a in range(0, cells.size, BLOCK):
        cut = cells[a:a + BLOCK]
        if _point_off > 0:
            _point_off -= 1
            general.append(cut)
            continue
        bits, ok = _point(buf, padded, ends.take(cut), lengths.take(cut), any_e)
        values[cut] = bits.view(np.float64)
        taken[cut] = ok
        missed = cut.take(np.flatnonzero(~ok))
        if 2 * missed.size > cut.size:
            _point_off = _POINT_OFF_BLOCKS
        general.append(missed)
    rest = np.concatenate(general) if len(general) > 1 else general[0] if general else cells
    for a in range(0, rest.size, BLOCK):
        cut = rest[a:a + BLOCK]
        values[cut], taken[cut] = _general(buf, padded, ends.take(cut), lengths.take(cut), any_e)


def _point(buf: np.ndarray, padded: bytes, ends: np.ndarray, lengths: np.ndarray,
           any_e: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(bits, taken) of the cells ``d.ddd…`` of 2 to 24 bytes (one digit, the dot, digits: pandas'
    float64 reprs of probabilities), also followed by ``e±dd`` (``_suffix``), whose digits spell
    M < 10^19.

    The 24 bytes before each end are three 64-bit words; masked to the cell and XORed with '0'
    bytes and a '.' where the dot must be (``_POINT_ZEROS``), every byte must be 0–9 and the second
    byte a dot: that finds the cells of this form (no sign, other exponent or second integer
    digit). The digits, the dot read as 0, spell X = d·10^(k−1) + R for k bytes before any
    exponent; M = X − 9·d·10^(k−2) (mod 2^64: exact, M < 10^19 when k ≤ 20 or X < 10^19) and
    q = 2 − k + the exponent, read by ``scaled``."""
    size = np.minimum(lengths, WIDE)
    window = np.ndarray((len(padded) - WIDE + 1,), f"V{WIDE}", padded, 0, (1,))[ends]
    words = window.view("<u8").reshape(ends.size, 3)
    w = [words[:, 0], words[:, 1], words[:, 2]]
    exponent = _suffix(w, lengths, size) if any_e else None
    d = []
    for k in range(3):
        x = w[k] & _WIDE_TAILS[k].take(size)
        x ^= _POINT_ZEROS[k].take(size)
        d.append(x)
    taken = digits(*d)
    taken &= lengths <= WIDE
    top = eight_digits(d[0])
    taken &= (top < _U(1000)) | (size <= 20)  # M < 10^19
    mantissa = top * _U(10 ** 16)
    mantissa += eight_digits(d[1]) * _U(100_000_000)
    mantissa += eight_digits(d[2])
    # the cell's first two bytes: d and the dot (the XOR above lets '-', '/', ',' and '+' pass as
    # digits where the dot must be; an empty cell at the very end reads a clipped index)
    start = ends - lengths
    lead = buf.take(start).astype(_U)  # d + '0' (where taken)
    start += 1
    taken &= buf.take(start, mode="clip") == ord(".")
    lead -= _U(ord("0"))
    lead *= _NINES.take(size)
    mantissa -= lead
    q = (2 - size).astype(np.int64, copy=False)
    if exponent is not None:
        q += exponent
    bits, ok = scaled(mantissa, q, taken)
    taken &= ok
    return bits, taken


def _suffix(words: list[np.ndarray], lengths: np.ndarray, size: np.ndarray) -> np.ndarray | None:
    """The exponent of the cells of at least 6 bytes that end with ``e±dd`` or ``E±dd`` (Python's
    repr below 1e-4, ``%.Ne``), 0 for the others, None if there is none. For those cells the four
    bytes leave the window ``words`` (the bytes before them move to its end: a shift by 0 or 32
    bits across the three words) and ``size``."""
    t = words[2] >> _32  # the cell's last four bytes, first lowest
    has = ((t | _CASE) & _BYTE) == ord("e")
    if not has.any():
        return None
    sign = (t >> _8) & _BYTE
    minus = sign == ord("-")
    has &= minus | (sign == ord("+"))
    pair = (t >> _U(16)) ^ _U(0x3030)  # the two digits' values, tens lowest (the bytes above: 0)
    has &= digits(pair)
    has &= lengths >= 6  # (size stays ≥ 2: the tables are indexed by it)
    value = (pair & _BYTE) * _U(10) + (pair >> _8)
    exponent = value.view(np.int64) * has
    np.negative(exponent, out=exponent, where=minus)
    shift = has.astype(_U) << _U(5)  # (x >> 1) >> (63 − s): x >> (64 − s), and 0 for s = 0
    words[2] = (words[2] << shift) | ((words[1] >> _U(1)) >> (_U(63) - shift))
    words[1] = (words[1] << shift) | ((words[0] >> _U(1)) >> (_U(63) - shift))
    words[0] = words[0] << shift
    size -= has * 4
    return exponent


def _numbers(padded: bytes, ends: np.ndarray, lengths: np.ndarray,
             any_e: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(values, taken) of the unsigned cells of ``lengths`` bytes ending before ``ends`` in
    ``padded[WIDE:]``."""
    n = ends.size
    size = np.minimum(lengths, WIDTH)
    taken = (lengths - 1).astype(_U) < _U(WIDTH)  # 1 to 16 bytes
    skip = WIDE - WIDTH
    windows = np.ndarray((len(padded) - WIDE + 1,), f"V{WIDTH}", padded, skip, (1,))[ends]
    words = windows.view("<u8").reshape(n, 2)
    w0 = words[:, 0] & _TAIL0.take(size)  # bytes 0–7 and 8–15 of the window; the cell ends at byte 15
    w1 = words[:, 1] & _TAIL1.take(size)
    pair = [w0, w1]
    exponent = _exponent(pair, size, taken, any_e)
    w0, w1 = pair
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
    taken &= digits(d0, d1)
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


def _exponent(words: list[np.ndarray], size: np.ndarray, taken: np.ndarray,
              any_e: bool = True) -> np.ndarray:
    """The exponent of every cell (0 without one), read from and then removed from the window
    ``words`` (its 64-bit words, first bytes first; the mantissa moves to the window's end);
    ``size`` becomes the mantissa's length. An exponent must sit in the last eight bytes, after
    at least one byte: else the cell is not taken."""
    n = size.size
    exponent = np.zeros(n, np.int64)
    if not any_e:
        return exponent
    marks = _marks((words[-1] | _CASE) ^ _E)
    at = np.flatnonzero(marks != 0)
    if not at.size:
        return exponent
    dense = 2 * at.size > n  # most cells have one (%.18e): whole arrays, no gather
    cut = slice(None) if dense else at
    t = marks if dense else marks[at]
    x = words if dense else [w[at] for w in words]
    where = np.minimum((t * _POSITION) >> _56, _7)  # byte of the e in the last word (if it is the only one)
    text = (x[-1] >> _8) >> (where << _3)  # the bytes after the e, first lowest
    lead = text & _BYTE
    minus = lead == ord("-")
    sign = (minus | (lead == ord("+"))).astype(_U)
    text >>= sign << _3
    count = _7 - where - sign  # digits of the exponent
    ok = (where >= _U(1)) & (count - _U(1) < _7) & _one_or_none(t)
    count = np.clip(count, _U(1), _7).astype(np.intp)
    d = text ^ (_ZERO & _LOW.take(count))
    ok &= digits(d)
    value = eight_digits(d << ((_8 - count.astype(_U)) << _3)).astype(np.int64)
    value[minus] *= -1
    moved = _8 - np.maximum(where, _U(1))  # bytes the mantissa moves to reach the window's end
    if dense:  # the cells without an exponent stay as they are
        has = t != 0
        ok |= ~has
        value *= has
        moved *= has
    exponent[cut] = value
    taken[cut] &= ok
    shift = moved << _3  # 0 (dense, no exponent) or 8–56 bits
    for k in range(len(words) - 1, 0, -1):  # (x >> 1) >> (63 − s): x >> (64 − s), and 0 for s = 0
        moved_word = (x[k] << shift) | ((x[k - 1] >> _U(1)) >> (_U(63) - shift))
        if dense:
            words[k] = moved_word
        else:
            words[k][at] = moved_word
    if dense:
        words[0] = x[0] << shift
    else:
        words[0][at] = x[0] << shift
    size[cut] = np.maximum(size[cut] - moved.astype(np.intp), 0)
    return exponent


def _general(buf: np.ndarray, padded: bytes, ends: np.ndarray, lengths: np.ndarray,
             any_e: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(values, taken) of the cells of ``lengths`` bytes ending before ``ends`` in ``buf``
    (``padded`` is ``buf`` after WIDE zero bytes): ``[+-]`` and at most 24 bytes of
    ``digits[.digits][(e|E)[+-]digits]`` whose digits, without the dot, spell M < 10^19, read
    by Eisel–Lemire (``_eisel_lemire``)."""
    n = ends.size
    first = buf.take(ends - lengths)  # the cell's first byte (the delimiter for an empty cell)
    minus = first == ord("-")
    size = lengths - (minus | (first == ord("+")))
    taken = (size - 1).astype(_U) < _U(WIDE)  # 1 to 24 bytes after the sign
    np.clip(size, 0, WIDE, out=size)
    window = np.ndarray((len(padded) - WIDE + 1,), f"V{WIDE}", padded, 0, (1,))[ends]
    words = window.view("<u8").reshape(n, 3)
    w = [words[:, k] & _WIDE_TAILS[k].take(size) for k in range(3)]
    exponent = _exponent(w, size, taken, any_e)
    w0, w1, w2 = w
    t0, t1, t2 = _marks(w0 ^ _DOT), _marks(w1 ^ _DOT), _marks(w2 ^ _DOT)
    taken &= (((t0 + t1 + t2) * _ONES) >> _56) <= _U(1)  # at most one dot
    # remove the dot: the bytes before it move one byte towards the end. With T = t0 + t1·2^64 +
    # t2·2^128 = 2^(8p) for a dot at byte p, T − 1 (borrowing across the words) masks the bytes
    # before it; without a dot nothing moves
    dot = ((t0 | t1 | t2) != 0).astype(_U)
    keep = dot * _ALL
    borrow0 = (t0 == 0).astype(_U)
    borrow1 = borrow0 & (t1 == 0)
    b0 = w0 & (t0 - _U(1)) & keep  # the bytes before the dot
    b1 = w1 & (t1 - borrow0) & keep
    b2 = w2 & (t2 - borrow1) & keep
    w2 ^= b2  # the bytes from the dot on, then without the dot
    w2 ^= t2 * _DOT_BYTE
    w2 |= b2 << _8
    w2 |= b1 >> _56
    w1 ^= b1
    w1 ^= t1 * _DOT_BYTE
    w1 |= b1 << _8
    w1 |= b0 >> _56
    w0 ^= b0
    w0 ^= t0 * _DOT_BYTE
    w0 |= b0 << _8
    # digits after the dot: 23 − its byte p = 8k + j, where t_k = 2^8j; t·(_POSITION + 8k·_ONES)
    # has j + 8k in its top byte
    after = t0 * _POSITION
    after += t1 * _POSITION_1
    after += t2 * _POSITION_2
    after >>= _56
    np.subtract(dot * _U(23), after, out=after)  # (several dots: not taken)
    count = size - dot.astype(np.intp)  # digits
    taken &= count > 0
    np.clip(count, 0, WIDE, out=count)
    d0 = w0 ^ _WIDE_ZEROS[0].take(count)
    d1 = w1 ^ _WIDE_ZEROS[1].take(count)
    d2 = w2 ^ _WIDE_ZEROS[2].take(count)
    taken &= digits(d0, d1, d2)
    top = eight_digits(d0)
    taken &= top < _U(1000)  # M < 10^19: at most 19 digits after the leading zeros
    mantissa = top * _U(10 ** 16)
    mantissa += eight_digits(d1) * _U(100_000_000)
    mantissa += eight_digits(d2)
    q = exponent - after.astype(np.int64)
    bits, ok = scaled(mantissa, q, taken)
    taken &= ok
    bits |= minus.astype(_U) << _U(63)
    return bits.view(np.float64), taken


def scaled(mantissa: np.ndarray, q: np.ndarray, wanted: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                                         np.ndarray]:
    """(bits, decided): the float64 bits of M·10^q, correctly rounded, for 0 ≤ M < 2^64, where
    decided: Eisel–Lemire (``_eisel_lemire``), then the exact retries (``_trimmed``) for what it
    leaves undecided (exact values such as 6.000000000000000000e+00 among them), only where
    ``wanted`` (default: everywhere). The cells left undecided (halfway cases, subnormal or
    infinite results) need an exact parser."""
    bits, ok = _eisel_lemire(mantissa, q)
    retry = np.flatnonzero(~ok if wanted is None else wanted & ~ok)
    if retry.size:
        ok[retry], bits[retry] = _trimmed(mantissa[retry], q[retry])
    return bits, ok


def _trimmed(mantissa: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(taken, bits) by Clinger's path after the trailing zeros of M are moved to q (M·10^q is
    unchanged): 6.000000000000000000e+00 is 6·10^0, 6.190338134765625000e-01 is
    6190338134765625·10^-16; exact doubles like these are the values Eisel–Lemire with a table
    rounded down cannot decide for q < 0. Taken when M ≤ 2^53 and |q| ≤ 22, or when
    M·10^q = (M / 5^-q)·2^q with an integer quotient of at most 2^53 (exact, normal), or when
    M·10^q is an integer below 10^19 whose odd part is at most 2^53 (float64 holds it)."""
    mantissa, q = mantissa.copy(), q.copy()
    for k in (16, 8, 4, 2, 1):  # the trailing zeros (at most 19), a binary search
        power = _U(10 ** k)
        zeros = np.flatnonzero((mantissa % power == 0) & (mantissa != 0))
        mantissa[zeros] //= power
        q[zeros] += k
    taken = (mantissa <= _TWO53) & ((q + 22).astype(_U) <= _U(44))
    index = np.clip(q + 22, 0, 44)
    values = mantissa.astype(np.float64)
    values *= _MUL.take(index)
    values /= _DIV.take(index)
    # M·10^q = (M / 5^-q)·2^q: exact when 5^-q divides M and the quotient is at most 2^53
    # (1.834217343420569750e+15 is 7336869373682279 / 4)
    halves = np.flatnonzero(~taken & (q < 0) & (q >= -27))
    if halves.size:
        m, down = mantissa[halves], -q[halves]
        fives = _FIVES.take(down)
        whole = m // fives
        values[halves] = np.ldexp(whole.astype(np.float64), (-down).astype(np.int32))  # exact: normal
        taken[halves] = (whole * fives == m) & (whole <= _TWO53)
    # an integer N = M·10^q < 10^19 (2.876230247643199600e+16): exact when its odd part ≤ 2^53
    integers = np.flatnonzero(~taken & (q >= 0) & (q <= 18))
    if integers.size:
        integers = integers[mantissa[integers] < _POWERS_19.take(19 - q[integers])]
        n = mantissa[integers] * _POWERS_19.take(q[integers])
        lowest = n & (~n + _U(1))  # the lowest set bit: n = odd · lowest
        values[integers] = n.astype(np.float64)  # exact where taken
        taken[integers] = (n // np.maximum(lowest, _U(1))) <= _TWO53
    return taken, values.view(_U)


def _high(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The high 64 bits of the 128-bit products a·b (from 32-bit halves, as Hacker's Delight's
    mulhu; the low 64 bits are a * b): t = a_hi·b_lo + (a_lo·b_lo >> 32) and
    w = a_lo·b_hi + (t mod 2^32) stay below 2^64, and the high word is
    a_hi·b_hi + (t >> 32) + (w >> 32)."""
    a_lo, a_hi, b_lo, b_hi = a & _LOW32, a >> _32, b & _LOW32, b >> _32
    t = a_lo * b_lo
    t >>= _32
    t += a_hi * b_lo
    w = a_lo
    w *= b_hi
    w += t & _LOW32
    t >>= _32
    a_hi *= b_hi
    a_hi += t
    w >>= _32
    a_hi += w
    return a_hi


def _leading_zeros(x: np.ndarray) -> np.ndarray:
    """The leading zero bits of every 0 < x < 2^64, exactly.

    e = the exponent of float64(x): 2^⌊log2 x⌋ ≤ x < 2^(⌊log2 x⌋ + 1) and the conversion is
    monotonic with both bounds exact doubles, so e is ⌊log2 x⌋ or, when x rounds up to the next
    power of two, one more; then x >> e is 0 and e is lowered by one."""
    e = (x.astype(np.float64).view(_U) >> _U(52)) - _U(1023)
    e -= (x >> e) == 0
    return _U(63) - e


def _eisel_lemire(mantissa: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bits, decided): the float64 bits nearest M·10^q for 0 ≤ M < 2^64, as Go's
    ``strconv.eiselLemire64`` computes them, where it can decide.

    M is shifted left by its leading zeros z (so its top bit is set) and multiplied by the
    128-bit table value T of 10^q (rounded down): the top 64 bits of the 192-bit product, with
    the exponent ⌊q·log2 10⌋ + 64 + 1023 − z − (1 if the product's top bit is clear), give 54
    bits of the result. When the bits below the 54 are all ones (0x1FF) and adding M to the
    low word carries, the product with the table's low word is added (the truncation of T can
    then matter); if it still cannot decide, the cell is not taken. A result exactly halfway
    between two doubles (the low bits all zero and the 54th bit one) is not taken either, nor is
    a subnormal, infinite or out-of-table result. Otherwise round half up to 53 bits. M = 0 is 0.
    """
    zero = mantissa == 0
    index = np.maximum(q, Q_MIN)
    np.minimum(index, Q_MAX, out=index)
    decided = index == q  # q within the table
    index -= Q_MIN
    zeros = _leading_zeros(mantissa | zero)
    man = mantissa << zeros
    exponent = (217706 * q) >> 16
    exponent -= zeros.view(np.int64)
    ten = _TEN_HI.take(index)
    high = _high(man, ten)
    low = man * ten
    wider = np.flatnonzero(((high & _1FF) == _1FF) & (low + man < man))
    if wider.size:  # the truncated part of 10^q may reach the 54 bits: add M · (T's low word)
        m, lo, hi = man[wider], low[wider], high[wider]
        ten_lo = _TEN_LO.take(index[wider])
        y_high, y_low = _high(m, ten_lo), m * ten_lo
        merged_lo = lo + y_high
        merged_hi = hi + (merged_lo < lo).astype(_U)
        decided[wider[((merged_hi & _1FF) == _1FF) & (merged_lo == _ALL) & (y_low + m < m)]] = False
        high[wider], low[wider] = merged_hi, merged_lo
    top = high >> _U(63)
    bits = high >> (top + _9)  # 54 bits
    halfway = low | (high & _1FF)  # 0 and the 54 bits end in 01: halfway, undecided
    decided &= (halfway != 0) | ((bits & _3) != _U(1))
    bits += bits & _U(1)
    bits >>= _U(1)
    carry = bits >> _U(53)  # rounded up to 2^53
    bits >>= carry
    top += carry  # the exponent: ⌊q·log2 10⌋ + 64 + 1023 − z − (1 − top) + carry
    top += _U(64 + 1023 - 1)
    exponent += top.view(np.int64)
    decided &= (exponent - 1).view(_U) < _U(0x7FE)  # neither subnormal nor infinite: 1 to 0x7FE
    bits &= _FRACTION
    exponent *= ~zero  # M = 0: +0 (the exponent of other undecided cells does not matter)
    bits |= exponent.view(_U) << _U(52)
    decided |= zero
    return bits, decided
