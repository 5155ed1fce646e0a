"""Every chunk parser gives exactly float()'s float64 (correctly rounded) for every cell.

The numpy reader (``fastcsv._fast``), the compiled parser (``jitcsv``, llvmlite), polars and
pyarrow (the ``fast`` extra, when installed) on
the hard cases of decimal-to-binary conversion: 17–40 digit mantissas, decimals within a hair of
a midpoint between two doubles, exact midpoints (ties to even), subnormals, the largest finite
value, exponents with and without sign, signs, and the layouts people write (pandas' shortest
repr of float32 and float64, ``np.savetxt``'s ``%.18e`` and ``%.7g``).
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest

from xentropy_cli.io import columns as colmod
from xentropy_cli.io import fastcsv, jitcsv

HARD = [
    "0", "-0", "0.0", "-0.0", "1", "5.", ".5", "-.5", "1.e5", "00012.50", "1E5", "1e+05", "1e-05",
    "0.1", "0.30000000000000004", "3.14159265358979", "9007199254740993", "9007199254740993.0",
    "18446744073709551615", "123456789012345678901234567890",
    "1.00000000000000011102230246251565404236316680908203125",  # exactly between 1 and 1 + 2⁻⁵²
    "1.00000000000000011102230246251565404236316680908203124",
    "1.00000000000000011102230246251565404236316680908203126",
    "7.2057594037927933e16", "2.2250738585072011e-308", "2.2250738585072014e-308",
    "4.9406564584124654e-324", "2.4703282292062328e-324", "2.4703282292062329e-324", "1e-320",
    "1.7976931348623157e308", "1e22", "1e23", "8.98846567431158e307", "1e-44",
    "6.000000000000000000e+00", "3.248467328376136720e-05", "1.805369555950164795e-02",  # %.18e
    "0.00013199499868761483", "0.0024822158597416024", "3.24846746287054e-05",  # float64 repr
    "0.0024822159", "3.2484673e-05", "0.79285914",  # float32 repr
]


def _random_tokens(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.2:
            t = repr(rng.random() ** rng.randint(1, 60))
        elif r < 0.35:
            t = "%.18e" % (rng.random() ** rng.randint(1, 60))
        elif r < 0.45:
            t = "%.7g" % (rng.random() ** rng.randint(1, 5))
        elif r < 0.55:
            t = str(np.float32(rng.random() ** rng.randint(1, 20)))
        elif r < 0.75:  # a decimal near a midpoint between two doubles, 17-40 digits
            m = rng.getrandbits(52) | (1 << 52)
            mid = Fraction(2 * m + 1) * Fraction(2) ** rng.randint(-1100, 60)
            digits = str(mid.numerator * 10 ** 400 // mid.denominator)
            keep = rng.randint(17, 40)
            t = f"{digits[0]}.{digits[1:keep]}e{len(digits) - 401}"
        elif r < 0.9:
            d = rng.randint(1, 25)
            s = "".join(rng.choice("0123456789") for _ in range(d))
            i = rng.randint(0, d)
            t = (s[:i] or "0") + "." + s[i:]
            if rng.random() < 0.5:
                t += f"e{rng.choice(['', '-', '+'])}{rng.randint(0, 330):02d}"
        else:
            t = repr(rng.uniform(-1, 1) * 10 ** rng.randint(-300, 300))
        if rng.random() < 0.1 and not t.startswith("-"):
            t = "-" + t
        out.append(t)
    return out


def _rows(tokens: list[str], width: int) -> tuple[bytes, np.ndarray, int]:
    """Rows of ``width`` finite cells as CSV bytes, the float() of each cell, the row count."""
    rows = [tokens[i:i + width] for i in range(0, len(tokens) - width + 1, width)]
    rows = [r for r in rows if all(np.isfinite(float(t)) for t in r)]
    data = "".join(",".join(r) + "\n" for r in rows).encode()
    return data, np.array([[float(t) for t in r] for r in rows]), len(rows)


def _layout(width: int, size: int) -> fastcsv.Layout:
    names = [f"true_{i}" for i in range(width // 2)] + [f"pred_{i}" for i in range(width - width // 2)]
    cols = colmod.resolve_columns(names, None, None, None, source="t.csv")
    return fastcsv.Layout("t.csv", ",", names, cols, width, 0, 2, size)


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    bad = np.argwhere(got.view(np.int64) != want.view(np.int64))
    assert bad.size == 0, [(float(got[i, j]), float(want[i, j])) for i, j in bad[:5]]


def _parsers():
    yield "numpy", lambda lay, data, rows: fastcsv._fast(data, ",", lay.n_columns, rows)
    if fastcsv.polars_available():
        yield "polars", lambda lay, data, rows: fastcsv.Polars(lay).parse(data)
    if fastcsv.arrow_available():
        yield "pyarrow", lambda lay, data, rows: fastcsv.Arrow(lay).parse(data)
    if jitcsv.available():
        yield "llvmlite", lambda lay, data, rows: jitcsv.Jit(lay).parse(data)


PARSERS = dict(_parsers())


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_hand_picked_hard_cases(name):
    tokens = [t for t in HARD if np.isfinite(float(t))]
    tokens += tokens[: (-len(tokens)) % 2]
    data, want, rows = _rows(tokens, 2)
    lay = _layout(2, len(data))
    _same_bits(PARSERS[name](lay, data, rows), want)


@pytest.mark.parametrize("name", sorted(PARSERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_seeded_random_hard_cases(name, seed):
    data, want, rows = _rows(_random_tokens(seed, 20_000), 4)
    lay = _layout(4, len(data))
    _same_bits(PARSERS[name](lay, data, rows), want)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_tab_separated(name):
    data, want, rows = _rows(_random_tokens(7, 2_000), 4)
    data = data.replace(b",", b"\t")
    names = ["true_0", "true_1", "pred_0", "pred_1"]
    lay = fastcsv.Layout("t.tsv", "\t", names, colmod.resolve_columns(names, None, None, None), 4, 0, 2,
                         len(data))
    got = fastcsv._fast(data, "\t", 4, rows) if name == "numpy" else PARSERS[name](lay, data, rows)
    _same_bits(got, want)


@pytest.mark.parametrize("name", [n for n in sorted(PARSERS) if n != "numpy"])
@pytest.mark.parametrize("text", [b"1,2\n3,\n", b"1,2\n3\n", b"1,2,3\n4,5\n", b"1,x\n", b"1,nan\n",
                                  b"1,inf\n", b"1,1e400\n", b"1, 2\n", b"1,\"2\"\n", b"1,2\n\n3,4\n"])
def test_library_readers_refuse_what_the_numpy_reader_must_judge(name, text):
    lay = _layout(2, len(text))
    with pytest.raises(Exception):  # noqa: B017 - any error: the caller then uses fastcsv.parse
        PARSERS[name](lay, text, text.count(b"\n"))


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_columns_come_back_as_y_true_y_pred_weight_whatever_the_file_order(name):
    names = ["weight", "pred_0", "true_0", "pred_1", "true_1"]
    cols = colmod.resolve_columns(names, None, None, None, source="t.csv")
    data = b"0.5,0.25,1,0.75,0\n2,0.125,0,0.875,1\n"
    lay = fastcsv.Layout("t.csv", ",", names, cols, 5, 0, 2, len(data))
    want = np.array([[1, 0, 0.25, 0.75, 0.5], [0, 1, 0.125, 0.875, 2]])
    if name == "numpy":
        got = fastcsv.parse(lay, data, 2)
    else:
        got = PARSERS[name](lay, data, 2)
    assert np.array_equal(got, want)


def _chunks_by_hand(data: bytes) -> bytes:
    """What the pieces must add up to: the bytes, with a newline after an unfinished last line."""
    return data if not data or data.endswith(b"\n") else data + b"\n"


@pytest.mark.parametrize("seed", range(40))
def test_chunks_are_whole_lines_that_add_up_to_the_range(tmp_path, seed):
    rng = random.Random(seed)
    lines = [b"x" * rng.choice([0, 1, 5, 40, 300]) for _ in range(rng.randint(0, 60))]
    body = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
    path = tmp_path / "a.csv"
    path.write_bytes(body)
    start = rng.choice([0, body.find(b"\n") + 1])
    size = rng.choice([1, 7, 64, 1 << 20])
    pieces = list(fastcsv.chunks(str(path), start, len(body), size))
    assert b"".join(pieces) == _chunks_by_hand(body[start:])
    assert all(p.endswith(b"\n") and p.count(b"\n") >= 1 for p in pieces)
    assert all(len(p) <= size or p.index(b"\n") >= size for p in pieces)  # longer: its first line is


def test_a_file_that_became_shorter_is_an_error_not_a_value_of_part_of_it(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"1,0.5\n0,0.25\n1,0.75\n")
    from xentropy_cli.errors import DataError

    with pytest.raises(DataError, match="changed while it was read"):
        list(fastcsv.chunks(str(path), 0, 30, size=8))  # measured 30 bytes, 20 now
    assert b"".join(fastcsv.chunks(str(path), 0, 20, size=8)) == path.read_bytes()
