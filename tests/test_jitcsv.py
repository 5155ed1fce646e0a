"""The compiled parser (``io.jitcsv``, the ``fast`` extra's reader) gives float()'s bits for every
cell it takes, refuses every chunk outside its grammar, and the streamed reader falls back to numpy
wherever it refuses or cannot start. (The hard cases every parser must get right, and the seeded
random ones, are in tests/test_fastcsv.py, which runs this parser too.)"""

from __future__ import annotations

import math
import random
import re
import struct
import sys
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("llvmlite")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xentropy_cli.engines import common  # noqa: E402
from xentropy_cli.io import columns as colmod  # noqa: E402
from xentropy_cli.io import fastcsv, jitcsv  # noqa: E402


def _layout(width: int, delimiter: str = ",") -> fastcsv.Layout:
    names = [f"true_{i}" for i in range(width // 2)] + [f"pred_{i}" for i in range(width - width // 2)]
    return fastcsv.Layout("t.csv", delimiter, names, colmod.resolve_columns(names, None, None, None),
                          width, 0, 2, 0)


def _columns(width: int, delimiter: str = ",") -> SimpleNamespace:
    """What Jit needs of a Layout: every column read, in file order."""
    return SimpleNamespace(used=list(range(width)), n_columns=width, delimiter=delimiter)


def _parse(cells: list[str], width: int = 1, delimiter: str = ",") -> np.ndarray:
    rows = [delimiter.join(cells[i:i + width]) for i in range(0, len(cells), width)]
    return jitcsv.Jit(_columns(width, delimiter)).parse(("\n".join(rows) + "\n").encode())


def _bits(values) -> list[int]:
    return [struct.unpack("<q", struct.pack("<d", float(v)))[0] for v in np.ravel(values)]


def _same_as_float(cells: list[str], width: int = 1) -> None:
    got = _parse(cells, width)
    assert _bits(got) == _bits([float(c) for c in cells]), cells


def test_every_path_gives_floats_bits():
    _same_as_float([
        "0", "-0", "+0.0", "-0e5", "0e999999999", "7", "-7", "+7", "5.", ".5", "-.5", "+.5",  # zeros, signs
        "0.018053696", "3.2484673e-05", "0.00013199499868761483",  # Clinger; Eisel–Lemire
        "6.000000000000000000e+00", "6.190338134765625000e-01",  # exact: trailing zeros moved to q
        "1e23", "9007199254740993", "1.00000000000000011102230246251565404236316680908203125",  # halfway
        "123456789012345678901234567890", "0.1000000000000000055511151231257827",  # over 19 digits
        "0.000000000000000000000000000012345", "00000000000000000000001.5",  # leading zeros
        "4.9406564584124654e-324", "2.2250738585072011e-308", "1e-320",  # subnormal: float()
        "1.7976931348623157e308", "1E5", "1e+05", "1e-05", "1e0000000000000000000001",  # exponents
        "1e-99999999999", "12345678901234567890123e-3",
        "0.", "0.e5", "9.e-3", "3.2484673e-05", "7.0", "0.0000000000000000001", "1.0000000000000000000001",
        "0.00000000000000000000000000000000000000000000012345678901234567",  # a digit and a dot first
        "0.0", "0.00000000", "0.000000000", "0.000000001", "0.0e5", "0.00000000e-5", "0.00082726736",
        "0.000000000123456789012345678901", "0.00000000012345678901234567", "0.0001234567890123456789",
        "0.000123456789012345678", "0.00001", "0.0000000000000000000000000000000000000000000000000001",
    ])


def test_nineteen_digits_after_zeros_are_read_by_the_parser_and_twenty_by_float():
    """Zeros after "0." are not significant digits: 19 digits after them still fit M exactly
    (the parser decides), 20 go to float() (the hard list), as without the zeros."""
    for zeros in (0, 1, 3, 8, 9, 12):
        for digits, hard in (("1234567890123456789", 0), ("12345678901234567891", 1)):
            cell = f"0.{'0' * zeros}{digits}"
            parser = jitcsv.Jit(_columns(1))
            got = parser.parse(f"{cell}\n".encode())
            assert _bits(got) == _bits([float(cell)]) and int(parser.hard_count[0]) == hard, cell


def test_zeros_after_the_dot_of_every_length_mid_chunk_and_at_its_end():
    """After "0." the parser takes up to eight zeros in one word: every count of zeros, then
    digits or not, then an exponent or not, with fewer than eight bytes left or more."""
    cells = [f"0.{'0' * zeros}{digits}{exponent}" for zeros in range(13)
             for digits in ("", "7", "1234567", "12345678", "123456789012345678901")
             for exponent in ("", "e-3", "E5")]
    for cell in cells:
        _same_as_float([cell], 1)  # alone: the chunk ends right after it
        _same_as_float([cell, "0.5", cell], 3)
    _same_as_float(cells, 1)


@pytest.mark.parametrize("cell", ["5.e", "0.e+", "1..5", "2.5.", "0.x", "3.-1", "0.00000000x", "0.0-"])
def test_a_digit_and_a_dot_then_anything_else_is_refused(cell):
    with pytest.raises(ValueError):
        _parse([cell, "0.5"], 2)


def test_cells_of_every_length_end_to_end_and_at_the_end_of_the_chunk():
    """Every length 1–30 of digit runs, the last line's cells included (the bytes after them are
    fewer than the 8 the parser reads at a time)."""
    rng = random.Random(5)
    cells = []
    for length in range(1, 31):
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        cells += [digits, f"{digits[:1]}.{digits[1:]}", f"0.{digits}", f"{digits}e-{length}"]
    for width in (1, 3, 4):
        keep = len(cells) // width * width
        _same_as_float(cells[:keep], width)
        _same_as_float(cells[::-1][:keep], width)


FORMATS = ["{!r}", "{:.18e}", "{:.17g}", "{:.7g}", "{:.3f}", "{:.12E}", "{:.0f}", "{:.25f}"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_seeded_random_values_in_the_formats_people_write(fmt):
    rng = np.random.default_rng(20261202)
    values = rng.standard_normal(30_000) * 10.0 ** rng.integers(-30, 30, 30_000)
    values[::7] = rng.random(values[::7].size).astype(np.float32)
    cells = [fmt.format(v) for v in values.tolist()]
    _same_as_float(cells, 6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=40),
       st.sampled_from(FORMATS))
def test_any_finite_float_written_any_way(values, fmt):
    _same_as_float([fmt.format(v) for v in values])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "-", "+"]), st.text("0123456789", min_size=1, max_size=26),
                          st.text("0123456789", max_size=26),
                          st.one_of(st.none(), st.integers(-400, 400))), min_size=1, max_size=20))
def test_any_mantissa_and_exponent(parts):
    cells = [f"{sign}{whole}{'.' + frac if frac else ''}{'' if e is None else f'e{e}'}"
             for sign, whole, frac, e in parts]
    cells = [c for c in cells if np.isfinite(float(c))]
    if cells:
        _same_as_float(cells)


@pytest.mark.parametrize("text", [
    b"1,2\n3,\n", b"1,2\n,4\n", b"1,2\n3\n", b"1,2,3\n4,5\n", b"1,x\n", b"1,nan\n", b"1,inf\n",
    b"1,-inf\n", b"1,1e400\n", b"1,-1e400\n", b"1, 2\n", b"1 ,2\n", b"1,\"2\"\n", b"1,2\n\n3,4\n",
    b"1,2\r\r\n", b"1\r,2\r\n", b"1,2\r3\n", b"1,2\n3,4\r",
    b"1,e5\n", b"1,1e\n", b"1,1e+\n", b"1,.\n", b"1,-\n", b"1,+\n", b"1,1..2\n",
    b"1,1e5e5\n", b"1,1-2\n", b"1,0x10\n", b"1,1_0\n", b"1,1.5.\n", b"1,--1\n", b"1,2", b"1;2\n",
    b"1,1e123456789x\n", b"1,1e123456789.5\n", "1,\u0661\n".encode(),
])
def test_chunks_outside_the_grammar_are_refused(text):
    with pytest.raises(ValueError):
        jitcsv.Jit(_layout(2)).parse(text)


@pytest.mark.parametrize("text", [b"1,x\n", b"1,nan\n", b"1,1e400\n", b"1,2\n3\n", b"1, 2\n"])
def test_the_stream_parser_then_answers_as_the_numpy_reader(text):
    lay = _layout(2)
    want = _answer(lambda: fastcsv.parse(lay, text, 2))
    assert _answer(lambda: common.Parser(lay, jitcsv.READER)(text, 2)) == want


def _answer(read):
    try:
        return ("values", _bits(read()))
    except Exception as error:  # noqa: BLE001 - the numpy reader's error is the answer to compare
        return ("error", type(error).__name__, str(error))


def test_a_parser_that_cannot_start_leaves_the_chunks_to_numpy(monkeypatch):
    def broken():
        raise RuntimeError("LLVM IR parsing error")

    monkeypatch.setattr(jitcsv, "_compiled", broken)
    parse = common.Parser(_layout(2), jitcsv.READER)
    assert _bits(parse(b"0.25,0.75\n0.5,0.125\n", 2)) == _bits([0.25, 0.75, 0.5, 0.125])  # not fixed-width
    assert parse.used == {fastcsv.READER_NUMPY} and parse.kind == fastcsv.READER_NUMPY


def test_many_cells_for_float_are_read_after_a_second_pass(monkeypatch):
    monkeypatch.setattr(jitcsv, "HARD_CELLS", 3)
    cells = ["1.2345678901234567890123", "0.1", "9007199254740993", "1e23", "2.5"] * 40
    _same_as_float(cells, 5)


def test_tabs_and_semicolons():
    for delimiter in ("\t", ";"):
        got = _parse(["1.5", "-2e-3", "0.1", "7"], 2, delimiter)
        assert _bits(got) == _bits([1.5, -2e-3, 0.1, 7.0])


def test_the_used_columns_in_y_true_y_pred_weight_order():
    names = ["weight", "pred_0", "true_0", "pred_1", "true_1"]
    lay = fastcsv.Layout("t.csv", ",", names, colmod.resolve_columns(names, None, None, None), 5, 0, 2, 0)
    got = jitcsv.Jit(lay).parse(b"0.5,0.25,1,0.75,0\n2,0.125,0,0.875,1\n")
    assert got.tolist() == [[1, 0, 0.25, 0.75, 0.5], [0, 1, 0.125, 0.875, 2]]


_CELL = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _reference(data: bytes, width: int) -> list[float] | None:
    """What the parser must answer: every cell's float() when every line has ``width`` cells of
    its grammar and every value is finite, else None (it must refuse)."""
    values = []
    for line in data.split(b"\n")[:-1]:
        cells = line.removesuffix(b"\r").split(b",")  # "\r\n" ends a line too
        if len(cells) != width or not all(_CELL.fullmatch(c) for c in cells):
            return None
        values += [float(c) for c in cells]
    return values if all(math.isfinite(v) for v in values) else None


@pytest.mark.parametrize("seed", range(6))
def test_random_bytes_never_crash_and_get_the_right_answer(seed):
    """Chunks of random bytes, mostly number bytes (digits, dots, signs, exponents, commas,
    newlines) and some others: the parser reads each byte at most where the chunk has one, and
    answers float()'s values exactly when the chunk is numbers of its grammar, else refuses."""
    rng = random.Random(seed)
    alphabet = b"0123456789" * 6 + b"..eE+-,,,,\n\n\n" + b" xn\r\t\x00\xff_"
    taken = refused = 0
    for _ in range(1500):
        width = rng.randint(1, 4)
        size = rng.choice([1, 2, 5, 12, 40, 200])
        data = bytes(rng.choice(alphabet) for _ in range(size)) + b"\n"
        if rng.random() < 0.5:  # mostly valid: numbers, with a few bytes changed
            cells = [rng.choice(["0", "-1.5", "3e-5", "123456789012345678901234", ".5", "7."])
                     for _ in range(width * rng.randint(1, 5))]
            rows = [",".join(cells[i:i + width]) for i in range(0, len(cells), width)]
            data = bytearray(("\n".join(rows) + "\n").encode())
            for _ in range(rng.randint(0, 2)):
                data[rng.randrange(len(data) - 1)] = rng.choice(alphabet)
            data = bytes(data)
        want = _reference(data, width)
        try:
            got = _bits(jitcsv.Jit(_columns(width)).parse(data))
        except ValueError:
            assert want is None, data
            refused += 1
            continue
        assert want is not None and got == _bits(want), data
        taken += 1
    assert taken > 300 and refused > 300


@pytest.mark.parametrize(("version", "usable"), [("0.43.0", False), ("0.44.0rc2", False), ("0.45.0", True),
                                                 ("0.47.1", True), ("1.0.0", True)])
def test_an_llvmlite_too_old_to_compile_the_parser_is_not_chosen(monkeypatch, version, usable):
    """Below the fast extra's llvmlite>=0.45 (numba 0.60 pins 0.43, which has no new pass manager)
    "auto" must choose the next reader (pyarrow), not a parser that cannot start (which left every
    chunk to numpy)."""
    import llvmlite

    monkeypatch.setattr(llvmlite, "__version__", version)
    assert jitcsv.available() is usable


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mprotect through libc: Linux")
def test_no_byte_is_read_outside_the_chunk():
    """Native code: the parser reads no byte before the chunk's first nor past its last (the
    8-byte words near the end are copied, not read). Each chunk sits against an unreadable
    page, at its end and at its start: a read outside it would end the process (SIGSEGV)."""
    import ctypes
    import mmap

    from xentropy_cli.io import decimals

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = mmap.PAGESIZE
    memory = mmap.mmap(-1, 3 * page)
    base = ctypes.addressof(ctypes.c_char.from_buffer(memory))
    assert libc.mprotect(base, page, 0) == 0 and libc.mprotect(base + 2 * page, page, 0) == 0
    function = jitcsv._compiled()[0]
    hard, count = np.empty(3 * 64, np.int64), np.zeros(1, np.int64)
    rng = random.Random(11)
    alphabet = b"0123456789" * 6 + b"..eE+-,,,\n\n\n" + b" x\r\x00\xff"
    cells = ["0", "7", "-1.5", "3e-5", "1e12345678", "12345678901234567890123", ".5", "7.", "1e-400",
             "0.000000000000000000000000001", "123456789.12345678"]
    answers = set()
    try:
        for _ in range(3000):
            if rng.random() < 0.5:
                data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) + b"\n"
            else:
                data = (",".join(rng.choice(cells) for _ in range(rng.randint(1, 9))) + "\n").encode()
            n = len(data)
            for at in (2 * page - n, page):  # against the page after it, and the page before it
                memory[at:at + n] = data
                out = np.empty(n // 2 + 1)
                answers.add(function(ctypes.cast(base + at, ctypes.c_char_p), n, rng.randint(1, 3), b",",
                                     out.ctypes.data, out.size, decimals._TEN_HI.ctypes.data,
                                     decimals._TEN_LO.ctypes.data, hard.ctypes.data, hard.size // 3,
                                     count.ctypes.data) >= 0)
    finally:
        libc.mprotect(base, 3 * page, mmap.PROT_READ | mmap.PROT_WRITE)
        memory.close()
    assert answers == {True, False}  # chunks taken and chunks refused


def test_windows_line_ends_are_read_as_line_ends():
    """pandas on Windows writes "\\r\\n": the same values, hard cells (read by float()) included."""
    cells = ["0.25", "1", "3.2484673e-05", "123456789012345678901234", "7", "1e23"]
    data = "".join(f"{a},{b}\r\n" for a, b in zip(cells[::2], cells[1::2], strict=True)).encode()
    got = jitcsv.Jit(_columns(2)).parse(data)
    assert _bits(got) == _bits([float(c) for c in cells])


# --- the object code shipped for x86-64 Linux (io/jit/) -----------------------------------------

def test_the_package_ships_the_parsers_object_code_for_its_ir():
    """x86-64 Linux maps the parser's object code instead of generating it; the file is named by
    the IR's digest, so an IR changed without ``tools/gen_jit_object.py`` fails here."""
    import llvmlite.binding as llvm

    triple = llvm.get_process_triple()
    shipped = jitcsv._shipped_object(triple)
    if triple == jitcsv.SHIPPED_TRIPLE:
        assert shipped is not None, "run tools/gen_jit_object.py: the shipped object is not this IR's"
        assert [p.name for p in jitcsv.shipped_object_path(triple).parent.iterdir()] == [
            jitcsv.shipped_object_path(triple).name]  # no stale object beside it
    else:
        assert shipped is None


def test_the_shipped_object_and_the_compiled_ir_read_every_cell_alike():
    """The object code mapped without LLVM (what x86-64 Linux runs), the same code loaded by LLVM
    (where the kernel refuses the mapping) and the IR compiled here (what other platforms run)
    give the same bits on seeded random cells of every kind, and the same refusals."""
    import llvmlite.binding as llvm

    from xentropy_cli import objload

    shipped = jitcsv._shipped_object(llvm.get_process_triple())
    if shipped is None or not objload.supported():
        pytest.skip("no object code shipped for this platform: every run compiles")
    loaded, compiled = jitcsv._engine(shipped), jitcsv._engine(None)  # each engine owns its code
    functions = [jitcsv._mapped(shipped), loaded[0], compiled[0]]
    rng = random.Random(20261203)
    kinds = [lambda: repr(rng.random()), lambda: f"{rng.random():.7g}", lambda: f"{rng.random():.18e}",
             lambda: repr(float(np.float32(rng.random()))), lambda: str(rng.randint(0, 9)),
             lambda: f"{rng.uniform(-1e300, 1e300):.17g}", lambda: f"{rng.random() * 10.0 ** -310:.17g}",
             lambda: "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30))),
             lambda: rng.choice(["1e23", "9007199254740993", "-0", ".5", "7.", "1e-400", "x", ""])]
    for width in (1, 3, 11):
        for _ in range(60):
            cells = [rng.choice(kinds)() for _ in range(width * rng.randint(1, 40))]
            rows = (",".join(cells[i:i + width]) for i in range(0, len(cells), width))
            data = ("\n".join(rows) + "\n").encode()
            answers = []
            for function in functions:
                parser = jitcsv.Jit(_columns(width))
                parser.function = function
                answers.append(_answer(lambda parser=parser, data=data: parser.parse(data)))
            assert answers[0] == answers[1] == answers[2], data


@pytest.mark.parametrize("damage", ["truncated", "changed", "empty"])
def test_a_damaged_object_file_is_not_loaded_but_compiled(tmp_path, monkeypatch, damage):
    """LLVM crashes on a damaged object (measured: SIGSEGV), so its CRC-32 is checked first."""
    import llvmlite.binding as llvm

    stored = jitcsv.object_code()
    flipped = stored[:40] + bytes([stored[40] ^ 1]) + stored[41:]  # one bit of the code
    broken = {"truncated": stored[:-100], "changed": flipped, "empty": b""}[damage]
    path = tmp_path / "xent_parse.o"
    path.write_bytes(broken)
    monkeypatch.setattr(jitcsv, "shipped_object_path", lambda triple: path)
    assert jitcsv._shipped_object(llvm.get_process_triple()) is None
    path.write_bytes(stored)
    assert jitcsv._shipped_object(llvm.get_process_triple()) == stored[4:]
    monkeypatch.setenv("XENT_JIT_OBJECT", "0")
    assert jitcsv._shipped_object(llvm.get_process_triple()) is None


def test_an_object_that_llvm_does_not_take_leaves_the_ir_to_compile(monkeypatch):
    """A whole object file without the parser in it (as an LLVM that read it otherwise would
    see): the run compiles the IR and reads as always."""
    llvm, machine = jitcsv._target()
    module = llvm.parse_assembly("define i64 @other() {\n  ret i64 0\n}\n")
    module.triple, module.data_layout = machine.triple, str(machine.target_data)
    other = bytes(machine.emit_object(module))
    with pytest.raises(RuntimeError):
        jitcsv._engine(other)
    monkeypatch.setattr(jitcsv, "_shipped_object", lambda triple: other)
    jitcsv._compile.cache_clear()
    try:
        function = jitcsv._compiled()[0]
        parser = jitcsv.Jit(_columns(2))
        parser.function = function
        assert _bits(parser.parse(b"0.25,3.2484673e-05\n")) == _bits([0.25, 3.2484673e-05])
    finally:
        jitcsv._compile.cache_clear()
