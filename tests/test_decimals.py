"""The vector decimal parser (io.decimals) gives float()'s bits for every cell it takes, takes the
cells people write, and leaves everything else to the exact parser (fastcsv._fast then reads
those with numpy's PyOS_string_to_double, or gives up on the chunk).

Clinger's fast path: a cell is taken only when its digit string M ≤ 2^53 and its decimal exponent
q has |q| ≤ 22; M·10^q (or M / 10^-q) is then one correctly rounded IEEE operation. The hand-picked
cases sit on both sides of each of those limits; the seeded and hypothesis cases compare every
taken cell with float() and every chunk _fast returns with float() cell by cell.
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
    """_fast reads chunks whole with fromstring for a while after one that was mostly long cells:
    start every test with the vector parser in use."""
    monkeypatch.setattr(fastcsv, "_whole_left", 0)


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
NOT_TAKEN = [  # beyond the fast path (the exact parser reads them) or not numbers at all
    "1e23", "1e-23", "1.5e-23", "9007199254740993", "9999999999999999", "12345678901234567",
    "0.00013199499868761483", "6.000000000000000000e+00", "123456789012345e-22", "12345678.9e-22",
    "1.7976931348623157e308", "5e-324",
    "2.2250738585072014e-308", "4.9406564584124654e-324", "1e0000005", "00000000000000000000001",
    ".", "-", "+", "e5", "1e", "1e+", "1e-", "--1", "+-1", "1..2", "1.2.3", "1e5e5", "1-2", "1+",
    ".e1", "-e1", "1e.5", "1.5e5.5", "", "nan", "inf", " 1", "1 ", "0x10", "1_000", "1e400",
]


def test_hand_picked_cells_inside_the_fast_path_are_taken_with_floats_bits():
    taken = assert_taken_cells_are_float(TAKEN)
    assert taken.all(), [t for t, ok in zip(TAKEN, taken, strict=True) if not ok]
    values, _ = parse(["-0", "-0.0", "-0e-5", "-.0"])
    assert [bits(v) for v in values] == [bits(-0.0)] * 4


def test_hand_picked_cells_beyond_it_are_left_to_the_exact_parser():
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
    """A chunk with a few cells beyond the fast path: those go to numpy's own parser, the rest
    stay vector-parsed, and every value is float()'s."""
    rng = np.random.default_rng(5)
    v = rng.random(4_000)
    cells = [repr(float(x)) if i % 10 == 0 else str(np.float32(x)) for i, x in enumerate(v)]
    data = "".join(",".join(cells[i:i + 4]) + "\n" for i in range(0, len(cells), 4)).encode()
    _, taken = parse(cells, 4)
    assert 0.8 < taken.mean() < 1.0  # both kinds are there
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
    """17-digit float64 dumps: the vector parser would miss most cells, so _fast reads that chunk
    and the next ones whole with fromstring (same values), then tries the vector parser again."""
    cells = [repr(float(x)) for x in np.random.default_rng(2).random(400)]
    data = ("\n".join(cells) + "\n").encode()
    want = np.array([float(c) for c in cells]).reshape(-1, 1)
    for _ in range(3):
        got = fastcsv._fast(data, ",", 1, len(cells))
        assert got is not None and np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert fastcsv._whole_left == fastcsv._WHOLE_AFTER_MISS - 2


def test_cells_split_into_many_blocks_give_the_same_bits(monkeypatch):
    """cells() parses BLOCK cells at a time (and the one-byte cells of one-hot targets apart):
    with blocks of 997 cells every block boundary falls inside a row, and each cell still gets
    float()'s bits and the same verdict as in one block."""
    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.ones(6) * 0.5, 3_500).astype(np.float32)
    p = p[(p > 1e-7).all(axis=1)][:3_000]  # smaller ones as float32 reprs have q < -22
    onehot = np.eye(6, dtype=int)[rng.integers(0, 6, len(p))]
    cells = [c for t, q in zip(onehot, p, strict=True) for c in [str(v) for v in t] + [str(v) for v in q]]
    cells[5] = "12345678901234567"  # one cell beyond the fast path
    whole_values, whole_taken = parse(cells, 12)
    monkeypatch.setattr(decimals, "BLOCK", 997)
    values, taken = parse(cells, 12)
    assert np.array_equal(taken, whole_taken) and not taken[5] and taken.sum() == len(cells) - 1
    assert np.array_equal(values[taken].view(np.uint64), whole_values[taken].view(np.uint64))
    assert_taken_cells_are_float(cells, 12)
