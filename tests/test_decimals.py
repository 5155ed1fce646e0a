"""The vector decimal parser (io.decimals) gives float()'s bits for every cell it takes, takes the
cells people write, and leaves everything else to the exact parser (fastcsv._fast then reads
those with numpy's PyOS_string_to_double, or gives up on the chunk).

Clinger's fast path: a cell of at most 16 bytes is taken when its digit string M ≤ 2^53 and its
decimal exponent q has |q| ≤ 22; M·10^q (or M / 10^-q) is then one correctly rounded IEEE
operation. Eisel–Lemire: a cell of at most 24 bytes after its sign with M < 10^19 is taken when
the 128-bit product with 10^q decides the rounding (not halfway, not subnormal or infinite).
The hand-picked cases sit on both sides of each of those limits; the seeded and hypothesis cases
compare every taken cell with float() and every chunk _fast returns with float() cell by cell.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xentropy_cli.io import decimals, fastcsv


@pytest.fixture(autouse=True)
def vector_parser_on(monkeypatch):
    """_fast reads chunks whole with fromstring for a while after one that was mostly long cells,
    and decimals skips its d.ddd… path for a while after a block mostly of other cells: start
    every test with both in use."""
    monkeypatch.setattr(fastcsv, "_whole_left", 0)
    monkeypatch.setattr(decimals, "_point_off", 0)


@pytest.fixture(params=["d.ddd… path first", "general path only"])
def paths(request, monkeypatch):
    """Long cells read by _point then _general (the default), or by _general alone (as after a
    block of %.18e cells)."""
    if request.param == "general path only":
        monkeypatch.setattr(decimals, "_point", lambda buf, padded, ends, lengths, any_e=True: (
            np.zeros(ends.size, np.uint64), np.zeros(ends.size, bool)))


def parse(cells: list[str], width: int = 1, sep: str = ","):
    """decimals.cells on rows of ``width`` cells: (values, taken)."""
    rows = [sep.join(cells[i:i + width]) for i in range(0, len(cells), width)]
    data = ("\n".join(rows) + "\n").encode()
    got = decimals.cells(data, sep, width, len(rows))
    assert got is not None
    values, taken, ends, lengths = got
    assert [data[e - n:e].decode() for e, n in zip(ends.tolist(), lengths.tolist(), strict=True)] == cells
    return values, taken


def bits(x) -> int:
    return int(np.float64(x).view(np.uint64))


def assert_taken_cells_are_float(cells: list[str], width: int = 1, sep: str = ","):
    values, taken = parse(cells, width, sep)
    for text, value, ok in zip(cells, values, taken, strict=True):
        if ok:
            assert bits(value) == bits(float(text)), (text, value, float(text))
    return taken


TAKEN = [  # inside the fast path: taken, and float()'s bits
    "0", "1", "-0", "-0.0", "+0", "-0e-5", "-.0", "0.5", ".5", "5.", "-.5", "+5.", "1.e1", "1e0", "1e-0",
    "-1e-0", "1e5", "1E5", "1e+05", "1e-05", "0.1", "0.2", "0.3", "1e22", "1e-22", "9e-22",
    "9007199254740992",  # 2^53
    "1234567890e-22", "12345678.9e-21", "9.00719925474e15", "1234567.12345678", "9.999999e22", "3e-22",
    "0.018053696", "3.2484673e-05", "0.0024822159", "0.79285914", "2.6149315e-05",  # float32 repr
    "0.0180537", "3.248467e-05", "6", "-123.456e+20", "4.5e16", "0.0000000000001", "1e-7",
]
TAKEN_WIDE = [  # beyond Clinger's path, read by Eisel–Lemire (at most 24 bytes after the sign, M < 10^19)
    "1e-23", "1.5e-23", "9999999999999999", "12345678901234567", "0.00013199499868761483",
    "6.000000000000000000e+00", "-6.000000000000000000e+00", "6.190338134765625000e-01",
    "123456789012345e-22", "12345678.9e-22", "1.7976931348623157e308", "-1.7976931348623157e308",
    "2.2250738585072014e-308", "-2.2250738585072014e-308", "00000000000000000000001",
    "1.234567890123456789e-05", "-1.234567890123456789e-05", "+1.234567890123456789E+05",
    "9999999999999999999", "9.999999999999999999e-01", "1844674407370955161", "9007199254740991",
    "9007199254740992", "9007199254740994", "18014398509481983", "18014398509481985",
    "0.0000000000000000001234", "-0.0000000000000000000000", "0e999", "-0e-999", "1e300", "1e-300",
    "3.0517578125e-05", "0.018053696135132764", "1e308", "1.5E+300",
    # d.ddd… (_point): one integer digit, a dot, digits, 2 to 24 bytes, M < 10^19
    "0.9999999999999999999", "9.999999999999999999", "1.000000000000000000", "0.00000000000000000000",
    "0.00000000000000000001", "0.0000000000000000000001", "0.0000099999999999999994",
    "3.248467462870540000", "0.30000000000000004", "4.00000000000000000", "00.0000000000000001",
    # d.ddd…e±dd (_point on the bytes before the exponent)
    "3.24846746287054e-05", "9.999999999999999999e-99", "1.0e+99", "5.e-30", "1.7976931348623157e+99",
    "0.000000000000000001e+50", "2.2250738585072014E-30", "7.2057594037927933e+16",
    # exact doubles Eisel–Lemire leaves undecided, read by _trimmed: trailing zeros then Clinger,
    # M / 5^3 · 2^-3, integers with an odd part ≤ 2^53
    "6.190338134765625000e-01", "1.834217343420569750e+15", "2.876230247643199600e+16",
    "9.007199254740992000e+15", "1.801439850948198400e+16", "9.223372036854775808e+18",
]
NOT_TAKEN = [  # beyond both paths (the exact parser reads them) or not numbers at all
    "1e23",  # 10^23 is exactly halfway between two doubles: Eisel–Lemire cannot decide
    "9007199254740993", "9.007199254740993000e+15",  # 2^53 + 1: halfway
    "18014398509481986",  # 2^54 + 2: halfway
    "5e-324", "4.9406564584124654e-324", "2.225073858507201e-308",  # subnormals
    "1e309", "1.7976931348623159e308", "1e400",  # infinite
    "12345678901234567890", "99999999999999999999", "0.12345678901234567890",  # 20 digits: M ≥ 10^19
    "1.0000000000000000000", "1844674407370955161.6", "18446744073709551615", "18446744073709551616",
    "0.000000000000000000000123", "0.00000000000000000001234",  # 26 and 25 bytes
    "1.2345678901234567890", "9.9999999999999999999", "0.0000012345678901234567890",  # M ≥ 10^19
    # a byte other than the dot where d.ddd… has it: XOR with '.' makes '-', '/', ',', '+' digits
    "8-", "8/", "8+", "1-5", "1/5", "1+5", "0-00000000000000001", "0/00000000000000001",
    "0+00000000000000001", "0..0000000000000001", "0.000000000000000.1",
    "1.2345678901234567e-0-", "1.2345678901234567e.05", "1.2345678901234567-e05", "1.23456789012345.e-05",
    "1.2345678901234567ee05", "1.2345678901234567e0-5", "1.23456789012345678901e-05", "1.5e-05e-05",
    "1.e-05e-05", "e-05", "1e-05e",
    "1e0000005",  # the e is not in the last eight bytes
    "-1.234567890123456789e-305",  # 25 bytes after the sign
    "1e-349", "1e348", "1234e-352",  # the decimal exponent is outside the table
    ".", "-", "+", "e5", "1e", "1e+", "1e-", "--1", "+-1", "1..2", "1.2.3", "1e5e5", "1-2", "1+",
    ".e1", "-e1", "1e.5", "1.5e5.5", "", "nan", "inf", " 1", "1 ", "0x10", "1_000", "-+1", "+-0",
    "0.000.0000000000000001", "1.2345678901234567.8", "1.23456789012345678e1.5", "12345678901234567-8",
    "1234567890123456789e", "1.234567890123456789e-", "--1.23456789012345678", "1.2345678901234567e+-5",
]


def test_hand_picked_cells_inside_the_fast_path_are_taken_with_floats_bits():
    taken = assert_taken_cells_are_float(TAKEN)
    assert taken.all(), [t for t, ok in zip(TAKEN, taken, strict=True) if not ok]
    values, _ = parse(["-0", "-0.0", "-0e-5", "-.0"])
    assert [bits(v) for v in values] == [bits(-0.0)] * 4


def test_hand_picked_long_cells_are_taken_by_eisel_lemire_with_floats_bits(paths):
    taken = assert_taken_cells_are_float(TAKEN_WIDE)
    assert taken.all(), [t for t, ok in zip(TAKEN_WIDE, taken, strict=True) if not ok]
    values, _ = parse(["-0.0000000000000000000000", "-0e-999"])
    assert [bits(v) for v in values] == [bits(-0.0)] * 2


def test_short_cells_among_mostly_long_ones_take_the_wide_paths(paths):
    """In a chunk of mostly long cells (float64 dumps) the short ones skip Clinger's path and go
    to _point / _general with the long ones: still taken, with float()'s bits."""
    rng = np.random.default_rng(12)
    long = [repr(float(x)) for x in rng.random(3 * len(TAKEN)) / 7 + 0.01]
    cells = [c for i, short in enumerate(TAKEN) for c in [short] + long[3 * i:3 * i + 3]]
    taken = assert_taken_cells_are_float(cells + NOT_TAKEN + long[:2 * len(NOT_TAKEN)])
    assert taken[:len(cells)].all(), [t for t, ok in zip(cells, taken, strict=False) if not ok]
    assert not taken[len(cells):len(cells) + len(NOT_TAKEN)].any()


def test_hand_picked_cells_beyond_it_are_left_to_the_exact_parser(paths):
    taken = assert_taken_cells_are_float(NOT_TAKEN)
    assert not taken.any(), [t for t, ok in zip(NOT_TAKEN, taken, strict=True) if ok]


FORMATS = {
    "float32 shortest repr (pandas)": lambda v: str(np.float32(v)) if abs(v) < 3e38 else repr(float(v)),
    "%.7g (np.savetxt)": lambda v: f"{v:.7g}",
    "%.8f": lambda v: f"{v:.8f}",
    "%g": lambda v: f"{v:g}",
    "%+.6E": lambda v: f"{v:+.6E}",
    "%.15g": lambda v: f"{v:.15g}",
    "float64 repr": lambda v: repr(float(v)),
    "%.18e": lambda v: f"{v:.18e}",
    "%.17g": lambda v: f"{v:.17g}",
    "%.20g": lambda v: f"{v:.20g}",
}


def _values(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([
        rng.dirichlet(np.ones(10), n // 40).ravel(),  # softmax-like outputs
        rng.random(n // 4) ** 8,  # small probabilities, exponents down to e-30 and beyond
        -rng.standard_normal(n // 4) * 10.0 ** rng.integers(-25, 25, n // 4),  # signed, all scales
        rng.integers(-10**6, 10**6, n // 4) / 10.0 ** rng.integers(0, 12, n // 4),
    ])


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("seed", [0, 1])
def test_seeded_random_cells_taken_are_floats_bits(fmt, seed):
    cells = [FORMATS[fmt](v) for v in _values(seed, 8_000)]
    assert_taken_cells_are_float(cells[: len(cells) // 4 * 4], 4)


@pytest.mark.parametrize("fmt", ["float32 shortest repr (pandas)", "%.7g (np.savetxt)", "%.8f"])
def test_the_layouts_people_write_are_taken_whole(fmt):
    """Softmax outputs as pandas (float32) and np.savetxt(%.7g) write them: every cell is taken."""
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(10) * 0.5, 2_000).astype(np.float32)
    p = p[(p > 1e-7).all(axis=1)]  # 1e-8 as %.7g has q = -29: beyond the fast path
    cells = [str(int(i)) for i in rng.integers(0, 10, len(p))]
    columns = [[FORMATS[fmt](v) for v in col] for col in p.T]
    cells = [c for row in zip(cells, *columns, strict=True) for c in row]
    taken = assert_taken_cells_are_float(cells, 11)
    assert taken.all()
    assert_taken_cells_are_float(cells, 11, "\t")


def test_fast_mixes_taken_cells_with_exactly_parsed_ones():
    """A chunk with a few cells beyond both paths (20 significant digits): those go to numpy's own
    parser, the rest stay vector-parsed, and every value is float()'s."""
    rng = np.random.default_rng(5)
    v = rng.random(4_000)
    cells = [f"{x + 1:.19f}" if i % 10 == 0 else str(np.float32(x)) if i % 3 else repr(float(x))
             for i, x in enumerate(v)]
    data = "".join(",".join(cells[i:i + 4]) + "\n" for i in range(0, len(cells), 4)).encode()
    _, taken = parse(cells, 4)
    assert 0.85 < taken.mean() < 0.95  # both kinds are there
    got = fastcsv._fast(data, ",", 4, len(cells) // 4)
    want = np.array([float(c) for c in cells]).reshape(-1, 4)
    assert got is not None and np.array_equal(got.view(np.uint64), want.view(np.uint64))


@pytest.mark.parametrize("text", [b"1,2\n3,\n", b"1,2\n3\n", b"1,2,3\n4,5\n", b"1,x\n", b"1,nan\n",
                                  b"1,inf\n", b"1,1e400\n", b"1, 2\n", b"1,1-2\n", b"1,.\n", b"1,--1\n",
                                  b"1,1e5e5\n", b"0.5,0.25\n1.5,\n", b",1\n"])
def test_fast_gives_up_on_chunks_that_are_not_all_finite_numbers(text):
    assert fastcsv._fast(text, ",", 2, text.count(b"\n")) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.-+eE", min_size=1, max_size=20), min_size=1, max_size=40))
def test_any_cell_of_number_bytes(cells):
    """Whatever the bytes: a taken cell is float()'s bits; a chunk _fast reads is float() cell by
    cell; when _fast reads a chunk, every cell of it is a finite float()."""
    assert_taken_cells_are_float(cells)
    data = ("\n".join(cells) + "\n").encode()
    got = fastcsv._fast(data, ",", 1, len(cells))
    if got is not None:
        want = np.array([float(c) for c in cells])
        assert np.array_equal(got.ravel().view(np.uint64), want.view(np.uint64))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=4, max_size=40),
       st.sampled_from(sorted(FORMATS)))
def test_any_float_written_any_way(values, fmt):
    cells = [FORMATS[fmt](v) for v in values]
    cells = [c for c in cells if np.isfinite(float(c))]
    if not cells:
        return
    assert_taken_cells_are_float(cells)
    got = fastcsv._fast(("\n".join(cells) + "\n").encode(), ",", 1, len(cells))
    want = np.array([float(c) for c in cells])
    assert got is not None and np.array_equal(got.ravel().view(np.uint64), want.view(np.uint64))


def test_random_junk_never_taken_wrongly():
    rng = random.Random(11)
    cells = ["".join(rng.choice("0123456789.-+eE") for _ in range(rng.randint(1, 18))) for _ in range(40_000)]
    assert_taken_cells_are_float(cells, 4)


def test_mostly_long_cells_switch_the_next_chunks_to_numpys_parser(monkeypatch):
    """Cells of 20 significant digits: the vector parser would miss most of them, so _fast reads
    that chunk and the next ones whole with fromstring (same values), then tries it again."""
    cells = [f"{x + 1:.19f}" for x in np.random.default_rng(2).random(400)]
    data = ("\n".join(cells) + "\n").encode()
    want = np.array([float(c) for c in cells]).reshape(-1, 1)
    for _ in range(3):
        got = fastcsv._fast(data, ",", 1, len(cells))
        assert got is not None and np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert fastcsv._whole_left == fastcsv._WHOLE_AFTER_MISS - 2


@pytest.mark.parametrize("fmt", ["float64 repr", "%.18e", "%.17g"])
def test_float64_dumps_are_read_by_the_vector_parser(fmt):
    """pandas' float64 shortest reprs and np.savetxt's %.18e: every cell is taken (no fromstring,
    no whole-chunk switch), with float()'s bits."""
    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.ones(10) * 0.5, 1_000)
    cells = [c for row in p for c in [FORMATS[fmt](float(x)) for x in row]]
    taken = assert_taken_cells_are_float(cells, 10)
    assert taken.mean() > 0.99
    data = "".join(",".join(cells[i:i + 10]) + "\n" for i in range(0, len(cells), 10)).encode()
    got = fastcsv._fast(data, ",", 10, len(cells) // 10)
    want = np.array([float(c) for c in cells]).reshape(-1, 10)
    assert got is not None and np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert fastcsv._whole_left == 0


def test_cells_split_into_many_blocks_give_the_same_bits(monkeypatch):
    """cells() parses BLOCK cells at a time (and the one-byte cells of one-hot targets apart):
    with blocks of 997 cells every block boundary falls inside a row, and each cell still gets
    float()'s bits and the same verdict as in one block."""
    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.ones(6) * 0.5, 3_500).astype(np.float32)
    p = p[(p > 1e-7).all(axis=1)][:3_000]  # smaller ones as float32 reprs have q < -22
    onehot = np.eye(6, dtype=int)[rng.integers(0, 6, len(p))]
    cells = [c for t, q in zip(onehot, p, strict=True) for c in [str(v) for v in t] + [str(v) for v in q]]
    cells[5] = "12345678901234567890"  # one cell beyond both paths
    cells[7::12] = [repr(float(x)) for x in rng.random(len(cells[7::12]))]  # Eisel–Lemire's
    whole_values, whole_taken = parse(cells, 12)
    monkeypatch.setattr(decimals, "BLOCK", 997)
    values, taken = parse(cells, 12)
    assert np.array_equal(taken, whole_taken) and not taken[5] and taken.sum() == len(cells) - 1
    assert np.array_equal(values[taken].view(np.uint64), whole_values[taken].view(np.uint64))
    assert_taken_cells_are_float(cells, 12)


# --- Eisel–Lemire: the table, the integer pieces and the hard cases -------------------------------

GO_TABLE = {  # Go's strconv detailedPowersOfTen rows (hi, lo), copied by hand: 10^q ≈ T·2^(⌊q·log2 10⌋ − 127)
    -348: (0xFA8FD5A0081C0288, 0x1732C869CD60E453), -308: (0xE61ACF033D1A45DF, 0x6FB92487298E33BD),
    -27: (0x9E74D1B791E07E48, 0x775EA264CF55347D), -2: (0xA3D70A3D70A3D70A, 0x3D70A3D70A3D70A3),
    -1: (0xCCCCCCCCCCCCCCCC, 0xCCCCCCCCCCCCCCCC), 0: (0x8000000000000000, 0),
    28: (0x813F3978F8940984, 0x4000000000000000), 43: (0xE596B7B0C643C719, 0x6D9CCD05D0000000),
    308: (0x8E679C2F5E44FF8F, 0x570F09EAA7EA7648), 347: (0xD13EB46469447567, 0x4B7195F2D2D1A9FB),
}


def test_the_power_of_ten_table_is_10_to_the_q_rounded_down_to_128_bits():
    from fractions import Fraction

    for q in range(decimals.Q_MIN, decimals.Q_MAX + 1):
        i = q - decimals.Q_MIN
        t = (int(decimals._TEN_HI[i]) << 64) | int(decimals._TEN_LO[i])
        e = (217706 * q) >> 16  # the exponent the algorithm assumes
        exact = Fraction(10) ** q / Fraction(2) ** (e - 127)
        assert 1 << 127 <= t < 1 << 128 and t <= exact < t + 1, q
    for q, (hi, lo) in GO_TABLE.items():
        i = q - decimals.Q_MIN
        assert (int(decimals._TEN_HI[i]), int(decimals._TEN_LO[i])) == (hi, lo), q


def test_leading_zeros_are_exact_at_every_power_of_two():
    xs = sorted({x for k in range(64) for x in (2 ** k - 1, 2 ** k, 2 ** k + 1, 2 ** k + 2 ** max(k - 53, 0))
                 if 0 < x < 10 ** 19} | {10 ** 19 - 1, 2 ** 63 - 1, 2 ** 63 + 1})
    rng = np.random.default_rng(4)
    xs += [int(x) >> int(s) or 1 for x, s in zip(rng.integers(0, 2 ** 63, 2_000, np.uint64),
                                                  rng.integers(0, 63, 2_000), strict=True)]
    got = decimals._leading_zeros(np.array(xs, np.uint64))
    assert [int(z) for z in got] == [64 - x.bit_length() for x in xs]


def test_high_halves_of_64_by_64_bit_products():
    rng = np.random.default_rng(6)
    edges = np.array([0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 63, 2 ** 64 - 1], np.uint64)
    a = np.concatenate([rng.integers(0, 2 ** 64 - 1, 5_000, np.uint64, endpoint=True), np.tile(edges, 6)])
    b = np.concatenate([rng.integers(0, 2 ** 64 - 1, 5_000, np.uint64, endpoint=True), np.repeat(edges, 6)])
    high, low = decimals._high(a, b), a * b
    for x, y, h, lo in zip(a.tolist(), b.tolist(), high.tolist(), low.tolist(), strict=True):
        assert (h << 64) | lo == x * y


def _check_cells(cells: list[str]) -> np.ndarray:
    """Every taken cell is float()'s bits (compared as arrays), and _fast over the cells gives
    float() everywhere; returns taken."""
    data = ("\n".join(cells) + "\n").encode()
    got = decimals.cells(data, ",", 1, len(cells))
    assert got is not None
    values, taken, _, _ = got
    want = np.array([float(c) for c in cells])
    wrong = np.flatnonzero(taken & (values.view(np.uint64) != want.view(np.uint64)))
    assert not wrong.size, [(cells[i], values[i], want[i]) for i in wrong[:5]]
    if np.isfinite(want).all():
        block = fastcsv._fast(data, ",", 1, len(cells))
        assert block is not None and np.array_equal(block.ravel().view(np.uint64), want.view(np.uint64))
    return taken


@pytest.mark.parametrize("fmt", ["repr", "%.18e", "%.17g"])
def test_random_float64_over_the_whole_exponent_range(fmt):
    """200,000 float64 from random bits (every exponent, both signs, subnormals included)."""
    rng = np.random.default_rng({"repr": 21, "%.18e": 22, "%.17g": 23}[fmt])
    x = rng.integers(0, 0x7FF0000000000000, 200_000, np.uint64, endpoint=False)
    x |= rng.integers(0, 2, x.size, np.uint64) << np.uint64(63)
    values = x.view(np.float64).tolist()
    cells = [repr(v) if fmt == "repr" else format(v, fmt[1:]) for v in values]
    taken = _check_cells(cells)
    short = np.array([len(c.lstrip("-")) <= 24 for c in cells])
    normal = np.abs(x.view(np.float64)) >= 2.2250738585072014e-308
    assert not taken[~normal].any()  # subnormals: not taken
    assert taken[short & normal].mean() > 0.99


def test_float64_near_the_ends_of_the_range_and_2_to_the_53():
    v = [np.nextafter(a, b) for a, b in [(2.2250738585072014e-308, 0), (2.2250738585072014e-308, 1)]]
    v += [2.2250738585072014e-308, 1.7976931348623157e308, np.nextafter(1.7976931348623157e308, 0), 1e-307,
          1e308, 9.9999999999999994e307, 4.9406564584124654e-324, 2.0 ** -1022 * 1.5]
    v += [float(2 ** 53 + k) for k in range(-4, 5)] + [float(2 ** 54 + k) for k in range(-4, 5)]
    v += [float(2 ** 64 - 2 ** 11 * k) for k in range(4)]
    cells = [f(float(x)) for x in v for f in (repr, lambda y: f"{y:.18e}", lambda y: f"{y:.17g}",
                                              lambda y: f"{y:.20g}", lambda y: f"{-y:.16e}")]
    cells += [str(2 ** 53 + k) for k in range(-4, 5)] + [str(2 ** 54 + k) for k in range(-6, 7)]
    cells += [str(2 ** 63 + k) for k in (-1, 0, 1)] + ["9999999999999999999", "-9999999999999999999"]
    taken = _check_cells(cells)
    assert taken[cells.index("9999999999999999999")] and not taken[cells.index(str(2 ** 53 + 1))]


def _midpoints(rng: np.random.Generator, n: int) -> list:
    """Decimals exactly halfway between two neighbouring doubles (normal ones, all exponents)."""
    from decimal import Decimal

    x = rng.integers(0x0010000000000000, 0x7FE0000000000000, n, np.uint64).view(np.float64)
    return [(Decimal(a) + Decimal(float(np.nextafter(a, np.inf)))) / 2 for a in np.abs(x)]


def test_halfway_cases_and_their_neighbours_with_19_or_more_digits():
    """Exact midpoints between two doubles (float() rounds them to even), written in full (up to
    hundreds of digits), cut to 19, 17 and 16 significant digits down and up, and midpoints that
    have at most 19 digits (integers above 2^53, k + 1/8 near 2^50)."""
    from decimal import ROUND_CEILING, ROUND_FLOOR, Context

    rng = np.random.default_rng(31)
    cells = []
    for mid in _midpoints(rng, 3_000):
        cells.append(f"{mid:e}")  # every digit
        for digits in (19, 17, 16):
            for rounding in (ROUND_FLOOR, ROUND_CEILING):
                cells.append(f"{Context(prec=digits, rounding=rounding).plus(mid):e}")
    ints = rng.integers(2 ** 53, 10 ** 19, 3_000, np.uint64).tolist()
    for x in ints:  # halfway integers: the bit below the last of 53 is 1, all under it 0
        ulp = 1 << (x.bit_length() - 53)
        mid = x // ulp * ulp + ulp // 2
        cells += [str(mid), str(mid - 1), str(mid + 1), f"{str(mid)[0]}.{str(mid)[1:]}e{len(str(mid)) - 1}"]
    for k in rng.integers(2 ** 50, 2 ** 51, 1_000).tolist():
        cells += [f"{k}.125", f"{k}.375", f"{k}.125000", f"{k}.126", f"{k}.124"]
    taken = _check_cells(cells)
    assert 0.2 < taken.mean() < 1.0


def test_products_on_the_ambiguity_boundary():
    """M·10^q whose first 64×64-bit product has its nine low bits of the high word all ones and
    carries when M is added to its low word: the second product decides (or the cell is not
    taken). The cases are found with Python integers and must all be float()'s bits."""
    rng = np.random.default_rng(41)
    cells, seen = [], 0
    mantissas = rng.integers(1, 10 ** 19, 400_000, np.uint64).tolist()
    qs = rng.integers(-340, 300, 400_000).tolist()
    for m, q in zip(mantissas, qs, strict=True):
        t = decimals._power_of_ten(q)
        man = m << (64 - m.bit_length())
        product = man * (t >> 64)
        high, low = product >> 64, product & (2 ** 64 - 1)
        if high & 0x1FF == 0x1FF and low + man >= 2 ** 64:
            seen += 1
            cells += [f"{m}e{q}", f"{m - 1}e{q}", f"{m + 1}e{q}"]
    assert seen > 50
    taken = _check_cells(cells)
    assert taken.mean() > 0.9


def test_subnormals_and_long_leading_zeros():
    rng = np.random.default_rng(51)
    sub = rng.integers(1, 0x0010000000000000, 5_000, np.uint64).view(np.float64).tolist()
    cells = [repr(v) for v in sub] + [f"{v:.18e}" for v in sub[:1_000]] + [f"-{v!r}" for v in sub[:1_000]]
    taken = _check_cells(cells)
    assert not taken.any()
    zeros = ["0." + "0" * k + "1234" for k in range(0, 24)] + ["-0." + "0" * k + "5" for k in range(25)]
    zeros += ["0." + "0" * k for k in range(1, 25)] + ["0" * k + "1.5" for k in range(1, 25)]
    taken = _check_cells(zeros)
    lengths = np.array([len(z.lstrip("-")) for z in zeros])
    assert taken[lengths <= 24].all() and not taken[lengths > 24].any()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2 * 10 ** 19), st.integers(-360, 330), st.integers(0, 20),
                          st.booleans()), min_size=1, max_size=40))
def test_any_mantissa_and_exponent(parts):
    """M·10^q written with the dot anywhere and a sign: every taken cell is float()'s bits."""
    cells = []
    for m, q, dot, minus in parts:
        digits = str(m)
        dot = min(dot, len(digits))
        text = digits[:len(digits) - dot] + "." + digits[len(digits) - dot:] if dot else digits
        cells.append(("-" if minus else "") + f"{text}e{q + dot}")
    _check_cells(cells)
