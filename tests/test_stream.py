"""Streamed runs (engines.stream, io.fastcsv, core.sums/partial) give the in-memory numbers.

Every streamed value below is compared bit for bit with ``pipeline.run`` on the same rows read
in memory, and where a hand formula exists (Σ −log p[label] ÷ N, summed exactly with math.fsum),
with that too. Files are small; XENT_STREAM_MIN_BYTES=0 and a small XENT_CHUNK_BYTES force the
streaming engine onto them, with many chunks on two worker processes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from xentropy_cli import io
from xentropy_cli.cli import app
from xentropy_cli.core import partial, pipeline, profiles, sums
from xentropy_cli.core.types import Options
from xentropy_cli.engines import stream
from xentropy_cli.errors import DataError
from xentropy_cli.io import fastcsv, jitcsv

K = 4


def write_csv(path, y, p, w=None, fmt="%.8f"):
    """A CSV with true_*, pred_* (and weight) columns; values as ``fmt`` writes them."""
    names = [f"true_{j}" for j in range(y.shape[1])] + [f"pred_{j}" for j in range(p.shape[1])]
    cols = [y, p] + ([w.reshape(-1, 1)] if w is not None else [])
    if w is not None:
        names.append("weight")
    def text(v):
        return repr(float(v)) if fmt is None else fmt % v

    body = "\n".join(",".join([f"{int(v)}" for v in row[: y.shape[1]]] + [text(v) for v in row[y.shape[1]:]])
                     for row in np.hstack(cols))
    path.write_text(",".join(names) + "\n" + body + "\n")
    return path


def data(n, seed=0, zeros=False, above_one=False):
    rng = np.random.default_rng(seed)
    y = np.eye(K)[rng.integers(0, K, n)]
    p = np.round(rng.dirichlet(np.ones(K), n), 8)
    if zeros:
        p[::97, 0] = 0.0
    if above_one:
        p[::53] *= 1.7
    return y, p


LOOKS_FIXED = stream._looks_fixed


@pytest.fixture(params=["numpy", jitcsv.READER])
def streaming(monkeypatch, request):
    """Stream every CSV, in 4 KB chunks, in two parts: on two processes with the numpy reader, and
    on two threads with the compiled parser (which releases the GIL)."""
    if request.param == jitcsv.READER and not jitcsv.available():
        pytest.skip("llvmlite (the compiled parser, which streams on threads) is not installed")
    monkeypatch.setenv("XENT_STREAM_MIN_BYTES", "0")
    monkeypatch.setenv("XENT_CHUNK_BYTES", "4096")
    monkeypatch.setenv("XENT_WORKERS", "2")
    monkeypatch.setenv("XENT_READER", request.param)
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    if request.param == jitcsv.READER:  # threads for these fixed-width files too (see below)
        monkeypatch.setattr(stream, "_looks_fixed", lambda lay: False)
    return request.param


@pytest.mark.parametrize("fmt", ["%.8f", None])
def test_the_compiled_parser_streams_on_threads_unless_the_lines_are_fixed_width(tmp_path, monkeypatch, fmt):
    """Fixed-width chunks are numpy's fixed-width reader's, which holds the GIL: processes."""
    pytest.importorskip("llvmlite")
    monkeypatch.setenv("XENT_STREAM_MIN_BYTES", "0")
    monkeypatch.setenv("XENT_READER", jitcsv.READER)
    path = write_csv(tmp_path / "w.csv", *data(500, seed=3), fmt=fmt)
    job = stream.plan([str(path)])
    assert job is not None and job.threads == (fmt is None)


def streamed(path, profile="naive", options=None, **read):
    job = stream.plan([str(path)], **read)
    assert job is not None, "the file should be streamed"
    options = options or Options()
    out = stream.run(job, stream.Task(profiles.get(profile), options,
                                      keep_rows=(options.reduction == "none")))
    return out


def in_memory(path, profile="naive", options=None, **read):
    return pipeline.run(io.read([str(path)], **read), profiles.get(profile), options or Options())


def notices(result):
    return [(n.code, n.message, n.rows[: partial.ROW_LIMIT]) for n in result.notices]


# --- sums: chunk-invariant and exact -------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


@given(st.lists(finite, min_size=1, max_size=60), st.data())
@settings(max_examples=200, deadline=None)
def test_sum_of_merged_chunks_is_the_sum_of_all(values, draw):
    a = np.array(values)
    cut = draw.draw(st.integers(0, a.size))
    merged = sums.merge(sums.of(a[:cut]), sums.of(a[cut:]))
    assert sums.value(merged) == sums.total(a) == np.sum(a)  # up to EXACT_ABOVE: numpy's sum


@given(st.lists(finite, min_size=1, max_size=60), st.lists(st.integers(0, 60), max_size=5))
@settings(max_examples=200, deadline=None)
def test_exact_sum_does_not_depend_on_chunks(values, cuts):
    """Above EXACT_ABOVE values (lowered here to 4), Σ is math.fsum's exactly rounded sum."""
    a = np.array(values)
    bounds = sorted({0, a.size, *(c % (a.size + 1) for c in cuts)})
    old = sums.EXACT_ABOVE
    sums.EXACT_ABOVE = 4
    try:
        parts = [sums.of(a[x:y]) for x, y in zip(bounds[:-1], bounds[1:], strict=True)]
        total = parts[0]
        for part in parts[1:]:
            total = sums.merge(total, part)
        expected = math.fsum(values) if a.size > 4 else np.sum(a)
        assert sums.value(total) == expected
    finally:
        sums.EXACT_ABOVE = old


def test_float32_exact_sum_rounds_the_exact_sum_once_more():
    rng = np.random.default_rng(3)
    a = rng.random(70_000).astype(np.float32)  # > EXACT_ABOVE
    expected = np.float32(math.fsum(a.astype(np.float64).tolist()))
    assert sums.total(a) == expected
    assert sums.value(sums.merge(sums.of(a[:12345]), sums.of(a[12345:]))) == expected


# --- the fast CSV parser is exact ------------------------------------------------------------------

decimal = st.builds(
    lambda sign, whole, frac, dot: f"{sign}{whole}{'.' + frac if dot else ''}",
    st.sampled_from(["", "", "-"]), st.integers(0, 10**9).map(str),
    st.text("0123456789", max_size=12), st.booleans())


@given(st.lists(st.lists(decimal, min_size=3, max_size=3), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_fast_parser_gives_what_float_gives(rows):
    text = "".join(",".join(r) + "\n" for r in rows).encode()
    got = fastcsv._fast(text, ",", 3, len(rows))
    expected = np.array([[float(c) for c in r] for r in rows])
    assert got is not None  # any decimal, however long: numpy's parser is float()'s
    assert np.array_equal(got, expected)
    assert np.array_equal(np.signbit(got), np.signbit(expected))  # -0.0 stays -0.0


@pytest.mark.parametrize("text", [b"1,,2\n", b"1.2.3,4\n", b"1,2,3\n", b"1\n2,3,4\n", b"1-2,3\n",
                                  b" 1,2\n", b"nan,1\n", b"inf,1\n", b"1e400,1\n", b"1e,2\n",
                                  b"1_0,2\n", b"0x1,2\n", b"1,2\n\n"])
def test_fast_parser_passes_what_it_cannot_read_to_io_table(text):
    assert fastcsv._fast(text, ",", 2, text.count(b"\n")) is None


def test_fast_parser_reads_long_integers_exponents_and_decimals_exactly():
    text = (b"9007199254740993,0.1\n123456789012345678,3.14159265358979\n.5,1e-7\n"
            b"1.000000000000000111022302462515654,4.9406564584124654e-324\n")
    assert np.array_equal(fastcsv._fast(text, ",", 2, 4),
                          [[9007199254740993.0, 0.1], [123456789012345678.0, 3.14159265358979],
                           [0.5, 1e-7], [float("1.000000000000000111022302462515654"), 5e-324]])


fixed_format = st.tuples(st.integers(0, 6), st.one_of(st.none(), st.integers(0, 9)))


@given(st.lists(fixed_format, min_size=1, max_size=5), st.integers(1, 12), st.randoms())
@settings(max_examples=200, deadline=None)
def test_fixed_width_reader_gives_what_float_gives(formats, rows, rnd):
    def cell(whole, frac):
        digits = "".join(rnd.choice("0123456789") for _ in range(max(whole, 1 if frac is None else 0)))
        return digits if frac is None else digits + "." + "".join(
            rnd.choice("0123456789") for _ in range(frac if whole or frac else 1))

    lines = [",".join(cell(*f) for f in formats) for _ in range(rows)]
    got = fastcsv._fixed(("\n".join(lines) + "\n").encode(), ",", len(formats))
    expected = np.array([[float(c) for c in line.split(",")] for line in lines])
    if got is None:  # only when the lines are not all the same width, field by field
        assert len({tuple(len(c) for c in line.split(",")) for line in lines}) > 1
        return
    assert np.array_equal(got, expected)


def test_fixed_width_reader_declines_signs_exponents_and_other_widths():
    for text in (b"0.5,1\n-0.5,1\n", b"1e-07,1\n2e-07,1\n", b"0.5,1\n0.25,1\n", b"1,2\n1,x\n"):
        assert fastcsv._fixed(text, ",", 2) is None


def test_fixed_width_reader_declines_bytes_that_are_not_digits():
    # '/' and ':' sit just below and above '0'..'9'; 0xCA ^ '0' = 0xFA overflows a byte when 6 is added
    for bad in (b"/", b":", b"\xca", b"\xff", b" "):
        for at in (0, 2, 6, 8):  # a one-digit field; an 8-digit run; its last digit
            line = bytearray(b"1,0.12345678\n")
            line[at] = bad[0]
            assert fastcsv._fixed(b"0,0.50000000\n" + bytes(line), ",", 2) is None


def test_fixed_width_reader_word_that_starts_before_the_line():
    # "12.25": the run "25" ends 5 bytes into the line, so its 8-byte word starts 3 bytes before it
    got = fastcsv._fixed(b"12.25,3\n40.75,1\n", ",", 2)
    assert got.tolist() == [[12.25, 3.0], [40.75, 1.0]]


def _scientific_cell(rnd, digits: int, exponent_digits: int, negative: bool) -> str:
    """``[-]d.<digits>e±<exponent_digits>``: random mantissa digits and an exponent that keeps the
    value finite; a few cells are exact halfway cases, subnormals or zero (float() decides those)."""
    r = rnd.random()
    lead = "-" if negative else ""
    if r < 0.03 and digits >= 15 and exponent_digits >= 2:  # 2^53 + 1: halfway between two doubles, exactly
        return lead + "9.007199254740993".ljust(digits + 2, "0") + "e+" + "15".zfill(exponent_digits)
    if r < 0.06 and exponent_digits == 3:  # a subnormal
        return lead + "4.940656458412465442"[:digits + 2] + "e-324"
    if r < 0.08:
        return lead + "0." + "0" * digits + "e+" + "0" * exponent_digits
    top = 10 ** exponent_digits - 1
    low = 0 if exponent_digits == 1 else 10 ** (exponent_digits - 1)
    e = rnd.randint(low, min(top, 307))
    sign = rnd.choice("+-")
    mantissa = str(rnd.randint(1, 9)) + "." + "".join(rnd.choice("0123456789") for _ in range(digits))
    return f"{lead}{mantissa}e{sign}{e:0{exponent_digits}d}"


@pytest.mark.parametrize("seed", range(6))
def test_fixed_width_reader_reads_scientific_fields_as_float_does(seed):
    """``%.Ne`` fields (N = 0..18, exponents of 1–3 digits, negative columns, a plain integer column
    between them) on fixed-width lines: every cell has float()'s bits."""
    import random

    rnd = random.Random(seed)
    formats = [(rnd.randint(1, 18), rnd.randint(1, 3), rnd.random() < 0.3) for _ in range(rnd.randint(1, 6))]
    formats[0] = (18, 2, False)  # np.savetxt's default %.18e
    label = rnd.random() < 0.5
    lines = []
    for _ in range(rnd.randint(1, 400)):
        cells = [_scientific_cell(rnd, *f) for f in formats]
        lines.append(",".join(([str(rnd.randint(0, 9))] if label else []) + cells))
    data = ("\n".join(lines) + "\n").encode()
    got = fastcsv._fixed(data, ",", len(formats) + label)
    assert got is not None
    want = np.array([[float(c) for c in line.split(",")] for line in lines])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_fixed_width_reader_reads_savetxt_default_format():
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.random((300, 4)) ** rng.integers(1, 40, (300, 4)),
                             rng.integers(0, 10, (300, 1)).astype(float)], axis=1)
    values[::7, 1] = np.float32(values[::7, 1])  # float32 values: exact decimals, retried exactly
    import io as std_io

    out = std_io.StringIO()
    np.savetxt(out, values, delimiter=",")
    text = out.getvalue()
    widths = {len(line) for line in text.splitlines()}
    got = fastcsv._fixed(text.encode(), ",", 5)
    if len(widths) > 1:  # an exponent of 3 digits somewhere: other widths
        assert got is None
        return
    assert got is not None
    want = np.array([[float(c) for c in line.split(",")] for line in text.splitlines()])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
    assert np.array_equal(got, values)


def test_fixed_width_reader_declines_scientific_lines_that_do_not_fit():
    first = b"1.500000000000000000e+00,-2.500000000000000000e-01\n"
    for second in (b"-1.50000000000000000e+00,2.500000000000000000e-01\n",  # the sign moved
                   b"1.500000000000000000e+00,+2.500000000000000000e-01\n",
                   b"1.500000000000000000e+00,-2.500000000000000000e-1\n",  # another width
                   b"1.500000000000000000e+00,-2.50000000000000000e-001\n",
                   b"1.500000000000000000e+00,-2.500000000000000000E-01\n",  # E where e was
                   b"1.500000000000000000e+00,-2.500000000000000000e*01\n"):
        assert fastcsv._fixed(first + second, ",", 2) is None, second
    assert fastcsv._fixed(first + first, ",", 2).tolist() == [[1.5, -0.25]] * 2
    assert fastcsv._fixed(b"1.5e+00,2.50e-01\n", ",", 2).tolist() == [[1.5, 0.25]]
    assert fastcsv._fixed(b"1.5e+00,2e-01\n", ",", 2) is None  # no dot: not %.Ne (io.decimals reads it)


def test_fixed_width_reader_declines_scientific_bytes_that_are_not_digits():
    line = b"1.234567890123456789e+05"
    for at in range(len(line)):
        for bad in (b"/", b":", b"\xca", b" "):
            cell = bytearray(line)
            cell[at] = bad[0]
            assert fastcsv._fixed(line + b"\n" + bytes(cell) + b"\n", ",", 1) is None, (at, bad)


@pytest.mark.parametrize("name", ["naive", "keras", "torch", "sklearn"])
def test_pipeline_chunk_mode_changes_nothing_but_the_unsummed_total(name):
    """run(chunk=True) skips copies and Σ w·l: per-sample bits, stages and warnings are the same.
    Row 1: ln 2 = 0.6931471805599453 (naive); the rest trip the fast checks' fallbacks."""
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]], float)
    p = np.array([[0.5, 0.5], [1.0, 0.0], [0.3, 0.6], [0.0, 1.0], [0.2, 0.8]])
    inputs = io.Inputs(y, p, source="t")
    profile = profiles.get(name)
    options = Options(reduction="none")
    whole = pipeline.run(inputs, profile, options)
    chunk = pipeline.run(inputs, profile, options, chunk=True)
    assert np.array_equal(whole.per_sample.view(np.uint8), chunk.per_sample.view(np.uint8))
    assert [(r.name, r.note) for r in whole.stages] == [(r.name, r.note) for r in chunk.stages]
    assert whole.notices == chunk.notices and math.isnan(chunk.weighted_sum)
    if name == "naive":
        assert chunk.per_sample[0] == 0.6931471805599453
        assert [n.code for n in chunk.notices] == ["not_normalised", "log_zero"]


# --- streamed == in memory ----------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["naive", "sklearn", "keras", "tf-keras", "torch", "keras-jax"])
def test_streamed_value_is_the_in_memory_value(tmp_path, streaming, profile):
    y, p = data(3000, zeros=profile in ("keras", "tf-keras"))
    path = write_csv(tmp_path / "d.csv", y, p)
    got, want = streamed(path, profile), in_memory(path, profile)
    assert got.result.value == want.value
    assert got.result.n_samples == want.n_samples == 3000
    assert got.workers == 2 and got.result.dtype == want.dtype
    assert notices(got.result) == notices(want)
    if profile == "naive":  # by hand: mean of −log p[label], as the CSV wrote p
        labels = y.argmax(axis=1)
        by_hand = math.fsum(-math.log(p[i, labels[i]]) for i in range(3000)) / 3000
        assert abs(got.result.value - by_hand) <= 1e-15 * by_hand


def test_streamed_value_above_the_exact_sum_threshold(tmp_path, streaming, monkeypatch):
    """70,000 rows (> 65,536): both paths sum exactly; float32 too, 0 ulp apart."""
    monkeypatch.setenv("XENT_CHUNK_BYTES", str(1 << 18))
    y, p = data(70_000, seed=5)
    path = write_csv(tmp_path / "d.csv", y, p, fmt="%.6f")
    cells = [line.split(",") for line in path.read_text().splitlines()[1:]]
    by_hand = math.fsum(-math.log(float(row[K + row.index("1")])) for row in cells) / 70_000
    for profile in ("naive", "keras", "sklearn"):
        got, want = streamed(path, profile), in_memory(path, profile)
        assert got.result.value == want.value
    assert streamed(path, "naive").result.value == by_hand


def test_warnings_count_and_place_rows_over_the_whole_file(tmp_path, streaming):
    y, p = data(2000, zeros=True, above_one=True)
    path = write_csv(tmp_path / "d.csv", y, p)
    got, want = streamed(path, "keras"), in_memory(path, "keras")
    codes = [n.code for n in want.notices]
    assert codes == ["looks_like_logits", "not_normalised", "clipped"]
    assert notices(got.result) == notices(want)
    logits = next(n for n in got.result.notices if n.code == "looks_like_logits")
    by_hand = tuple(i + 1 for i in range(2000) if (p[i] > 1).any())  # 1-based, across chunks
    assert logits.rows == by_hand and len(by_hand) > 10


def test_sample_weights_and_weighted_means(tmp_path, streaming):
    y, p = data(2500, seed=2)
    w = np.round(np.random.default_rng(9).random(2500) * 3, 3)
    path = write_csv(tmp_path / "w.csv", y, p, w)
    for profile, reduction in (("keras", "mean_with_sample_weight"), ("sklearn", None),
                               ("naive", "sum"), ("tf-keras", "sum_over_batch_size")):
        options = Options(reduction=reduction)
        assert streamed(path, profile, options).result.value == in_memory(path, profile, options).value
    losses = -np.log(np.round(p, 8)[np.arange(2500), y.argmax(axis=1)])
    by_hand = math.fsum((losses * w).tolist()) / math.fsum(w.tolist())
    got = streamed(path, "sklearn").result.value
    assert abs(got - by_hand) <= 1e-14 * by_hand


def test_torch_class_weights_divide_by_their_sum(tmp_path, streaming):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 1500)
    p = np.round(rng.dirichlet(np.ones(3), 1500), 8)
    path = tmp_path / "s.csv"
    path.write_text("label,pred_0,pred_1,pred_2\n" + "".join(
        f"{lab},{a:.8f},{b:.8f},{c:.8f}\n" for lab, (a, b, c) in zip(labels, p, strict=True)))
    read = {"class_weight": "1,2,0.5"}
    got, want = streamed(path, "torch", **read), in_memory(path, "torch", **read)
    assert got.result.value == want.value and got.result.kind == "sparse"


def test_logits_with_negative_numbers(tmp_path, streaming):
    rng = np.random.default_rng(8)
    y = np.eye(K)[rng.integers(0, K, 1200)]
    z = np.round(rng.normal(0, 3, (1200, K)), 5)
    path = write_csv(tmp_path / "z.csv", y, z, fmt="%.5f")
    for profile in ("naive", "keras", "torch", "optax"):
        options = Options(reduction="mean") if profile == "optax" else Options()
        got = streamed(path, profile, options, from_logits=True)
        want = in_memory(path, profile, options, from_logits=True)
        assert got.result.value == want.value


def test_reduction_none_rows_are_the_in_memory_rows(tmp_path, streaming):
    y, p = data(1500, seed=6)
    path = write_csv(tmp_path / "d.csv", y, p)
    options = Options(reduction="none")
    got = streamed(path, "keras", options)
    rows = np.concatenate(list(got.per_sample()))
    want = in_memory(path, "keras", options)
    assert rows.dtype == np.float32
    assert np.array_equal(rows.view(np.uint32), want.per_sample.view(np.uint32))
    assert np.array_equal(got.result.per_sample, want.per_sample[:stream.HEAD_ROWS])
    got.close()


def test_keras_jax_rows_at_the_end_of_each_range_are_the_in_memory_rows(tmp_path, streaming, monkeypatch):
    """XLA's row sum (keras-jax's normalise) adds a tensor of under 4096 cells another way: the
    rows left over at the end of each worker's range join its last whole block, so no block is
    that small where the file is not (they were a block of their own: 1-ulp losses there)."""
    monkeypatch.setenv("XENT_CHUNK_BYTES", str(256 << 10))  # chunks of ~4,000 rows, 12,000+ cells
    y, p = data(20_011, seed=21)
    path = write_csv(tmp_path / "d.csv", y, p, fmt="%.17g")
    options = Options(reduction="none")
    got = streamed(path, "keras-jax", options)
    rows = np.concatenate(list(got.per_sample()))
    want = in_memory(path, "keras-jax", options)
    assert rows.shape == want.per_sample.shape == (20_011,)
    assert np.array_equal(rows.view(np.uint32), want.per_sample.view(np.uint32))
    got.close()


@pytest.mark.parametrize("fmt", [None, "%.18e", "%.20g"])
def test_float64_dumps_stream_to_the_in_memory_bits(tmp_path, streaming, monkeypatch, fmt):
    """Unrounded float64 probabilities as pandas (shortest repr) and np.savetxt (%.18e) write them,
    read by the vector parser's Eisel–Lemire path, and with 20 digits (numpy's own parser): the
    streamed per-sample losses and value are the in-memory ones, bit for bit."""
    monkeypatch.setenv("XENT_CHUNK_BYTES", str(64 << 10))
    rng = np.random.default_rng(61)
    y = np.eye(K)[rng.integers(0, K, 5_000)]
    p = rng.dirichlet(np.ones(K) * 0.3, 5_000)
    path = write_csv(tmp_path / "f64.csv", y, p, fmt=fmt)
    options = Options(reduction="none")
    got = streamed(path, "naive", options)
    rows = np.concatenate(list(got.per_sample()))
    want = in_memory(path, "naive", options)
    assert np.array_equal(rows.view(np.uint64), want.per_sample.view(np.uint64))
    got.close()
    assert streamed(path).result.value == in_memory(path).value


def test_a_bad_cell_deep_in_the_file_is_the_in_memory_error(tmp_path, streaming):
    y, p = data(3000, seed=1)
    path = write_csv(tmp_path / "bad.csv", y, p)
    lines = path.read_text().splitlines(keepends=True)
    lines[2500] = lines[2500].replace(lines[2500].split(",")[6], "abc", 1)
    path.write_text("".join(lines))
    with pytest.raises(DataError) as memory_error:
        io.read([str(path)])
    with pytest.raises(DataError) as stream_error:
        streamed(path)
    assert stream_error.value.one_line() == memory_error.value.one_line()
    assert "bad.csv:2501:31: column pred_2 is 'abc'" in stream_error.value.one_line()


def test_a_negative_probability_names_its_line(tmp_path, streaming):
    """numpy computes with it (log of a negative is nan): a warning naming the line, the same
    streamed and in memory; scikit-learn raises, so under sklearn it is the same one error."""
    y, p = data(3000, seed=1)
    p[2200, 1] = -0.25
    path = write_csv(tmp_path / "neg.csv", y, p)
    memory, stream_out = in_memory(path), streamed(path).result
    found = [n for n in notices(stream_out) if n[0] == "negative_prediction"]
    assert found == [n for n in notices(memory) if n[0] == "negative_prediction"]
    assert ":2202" in found[0][1] and found[0][2] == (2201,)  # header is line 1
    with pytest.raises(DataError) as memory_error:
        in_memory(path, "sklearn")
    with pytest.raises(DataError) as stream_error:
        streamed(path, "sklearn")
    assert stream_error.value.one_line() == memory_error.value.one_line()
    assert ":2202" in stream_error.value.one_line()


def test_ragged_row_is_the_in_memory_error(tmp_path, streaming):
    y, p = data(800, seed=1)
    path = write_csv(tmp_path / "r.csv", y, p)
    lines = path.read_text().splitlines(keepends=True)
    lines[700] = lines[700].rstrip("\n").rsplit(",", 1)[0] + "\n"
    path.write_text("".join(lines))
    with pytest.raises(DataError) as memory_error:
        io.read([str(path)])
    with pytest.raises(DataError) as stream_error:
        streamed(path)
    assert stream_error.value.one_line() == memory_error.value.one_line()
    assert "r.csv:701: row has 7 fields but the header has 8" in stream_error.value.one_line()


def _classes_file(path, last_class=3, columns=K):
    """Labels 0–2, and ``last_class`` once, 10 rows from the end: the blocks before it lack it."""
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 3000)
    labels[2990] = last_class
    p = np.round(rng.dirichlet(np.ones(columns), 3000), 8)
    path.write_text("label," + ",".join(f"pred_{j}" for j in range(columns)) + "\n" + "".join(
        f"{a}," + ",".join(f"{v:.8f}" for v in row) + "\n" for a, row in zip(labels, p, strict=True)))
    return labels, p


def test_a_block_without_one_of_the_classes_streams_with_the_files_classes(tmp_path, streaming):
    """scikit-learn takes its classes from all of y_true. A block that lacks one (class 3 is in
    the last 10 rows only) used to be the error "y_true has 3 classes … but y_pred has 4
    columns"; the stream now finds the file's classes in one more pass and runs with them as
    --labels: the in-memory value and rows, without reading the file in memory (a 0.01 MiB cap)."""
    path = tmp_path / "classes.csv"
    labels, p = _classes_file(path)
    options = Options(reduction="none")
    got, want = streamed(path, "sklearn", options), in_memory(path, "sklearn", options)
    try:
        assert np.concatenate(list(got.per_sample())).tobytes() == np.asarray(want.per_sample).tobytes()
        assert got.labels.tolist() == [0.0, 1.0, 2.0, 3.0]
    finally:
        got.close()
    env = {"XENT_STREAM_MIN_BYTES": "0", "XENT_CHUNK_BYTES": "4096", "XENT_MAX_INPUT_MB": "0.01",
           "XENT_READER": streaming}
    run = invoke("compute", path, "--profile", "sklearn", "-v", "--format", "json", env=env)
    assert run.exit_code == 0, run.output
    assert "streamed in chunks" in run.stderr and "in memory" not in run.stderr
    written = [float(f"{row[a]:.8f}") for a, row in zip(labels, p, strict=True)]
    by_hand = math.fsum(-math.log(v) for v in written) / 3000  # sklearn: −log p[label], no renormalising
    assert json.loads(run.stdout)["value"] == pytest.approx(by_hand, rel=1e-14)
    assert json.loads(run.stdout)["value"] == in_memory(path, "sklearn").value
    compared = invoke("compare", path, "--profiles", "naive,sklearn", "--format", "json", env=env)
    assert compared.exit_code == 0, compared.output
    rows = {row["profile"]: row for row in json.loads(compared.stdout)["rows"]}
    assert rows["sklearn"]["value"] == json.loads(run.stdout)["value"]
    explained = invoke("explain", path, "--profile", "sklearn", "--against", "naive", "--format", "json",
                       env=env)
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["value"] == json.loads(run.stdout)["value"]


def test_classes_that_are_not_one_per_column_over_the_file_are_the_in_memory_error(tmp_path, streaming):
    path = tmp_path / "three.csv"
    _classes_file(path, last_class=2)  # classes 0–2 everywhere, 4 columns of y_pred
    with pytest.raises(DataError) as memory_error:
        in_memory(path, "sklearn")
    with pytest.raises(stream.Fallback, match="y_true has 3 classes"):
        streamed(path, "sklearn")
    run = invoke("compute", path, "--profile", "sklearn",
                 env={"XENT_STREAM_MIN_BYTES": "0", "XENT_CHUNK_BYTES": "4096", "XENT_READER": streaming})
    assert run.exit_code == 1 and run.stderr == f"xent: error: {memory_error.value.one_line()}\n"


# --- through the command ------------------------------------------------------------------------

def invoke(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False, env=env)


ALWAYS = {"XENT_STREAM_MIN_BYTES": "0", "XENT_CHUNK_BYTES": "4096", "XENT_READER": "numpy"}
NEVER = {"XENT_STREAM_MIN_BYTES": str(1 << 40)}


@pytest.mark.parametrize("fmt", ["csv", "plain", "json"])
def test_command_output_is_the_same_streamed_or_not(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    y, p = data(1000, seed=7, zeros=True)
    path = write_csv(tmp_path / "d.csv", y, p)
    args = ("compute", path, "--keras-compat", "--reduction", "none", "--format", fmt)
    a, b = invoke(*args, env=ALWAYS), invoke(*args, env=NEVER)
    assert a.exit_code == b.exit_code == 0
    if fmt == "json":
        got, want = json.loads(a.stdout), json.loads(b.stdout)
        assert (got.pop("reader"), want.pop("reader")) == ("numpy-fixed-width", "in-memory")
        assert got == want and len(got["per_sample"]) == 1000
    else:
        assert a.stdout == b.stdout
    assert a.stderr == b.stderr  # the same warnings


def test_command_prints_no_value_when_a_row_is_bad(tmp_path):
    y, p = data(900, seed=3)
    path = tmp_path / "gap.csv"
    write_csv(path, y, p)
    lines = path.read_text().splitlines(keepends=True)
    lines[851] = lines[851].replace(lines[851].split(",")[4], "", 1)  # pandas' NaN: an empty cell
    path.write_text("".join(lines))
    result = invoke("compute", path, "--reduction", "none", env=ALWAYS)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "gap.csv:852:9: column pred_0 is empty: a missing value" in result.stderr


def test_a_file_too_large_to_read_whole_gets_its_column_error_not_the_size_limit(tmp_path):
    """The streamed reader cannot take a file whose columns name no predictions; the in-memory
    reader would refuse it for its size alone, so the column error is what the user sees, as for
    a small file."""
    path = tmp_path / "cols.csv"
    path.write_text("y,p0,p1\n" + "1,0.25,0.75\n" * 50_000)  # 600 KB
    small = invoke("compute", path, env={"XENT_MAX_INPUT_MB": "10"})
    large = invoke("compute", path, env={"XENT_MAX_INPUT_MB": "0.1", "XENT_STREAM_MIN_BYTES": "0"})
    assert "no y_pred columns among 'y', 'p0', 'p1'" in small.stderr
    assert large.exit_code == small.exit_code != 0
    assert large.stderr == small.stderr
    assert "beyond the" not in large.stderr


def test_verbose_names_the_reader(tmp_path):
    y, p = data(300, seed=3)
    path = write_csv(tmp_path / "v.csv", y, p, fmt=None)  # shortest repr: lines of any width
    fixed = write_csv(tmp_path / "f.csv", y, p)  # "%.8f": every line the same width
    streamed_run = invoke("compute", path, "--verbose", "--format", "json", env=ALWAYS)
    memory_run = invoke("compute", path, "--verbose", "--format", "json", env=NEVER)
    assert "numpy" in json.loads(streamed_run.stdout)["reader"].split("+")  # a one-line chunk
    assert ("reader (XENT_READER=numpy: numpy for lines of any width, numpy-fixed-width for "
            "fixed-width chunks; the head of the file is of any width), streamed in chunks on 1 "
            "process: 300 rows") in streamed_run.stderr
    fixed_run = invoke("compute", fixed, "--format", "json", env=ALWAYS)
    assert json.loads(fixed_run.stdout)["reader"] == "numpy-fixed-width"
    assert json.loads(memory_run.stdout)["reader"] == "in-memory"
    assert json.loads(streamed_run.stdout)["value"] == json.loads(memory_run.stdout)["value"]


def test_files_the_chunked_reader_does_not_take_are_read_in_memory(tmp_path):
    quoted = tmp_path / "q.csv"
    quoted.write_text('true_0,true_1,pred_0,pred_1\n1,0,"0.25",0.75\n0,1,0.5,0.5\n')
    blank = tmp_path / "b.csv"
    blank.write_text("true_0,true_1,pred_0,pred_1\n1,0,0.25,0.75\n\n0,1,0.5,0.5\n")
    for path in (quoted, blank):
        result = invoke("compute", path, "--verbose", "--format", "json", env=ALWAYS)
        assert result.exit_code == 0
        data_out = json.loads(result.stdout)
        assert data_out["value"] == (-math.log(0.25) - math.log(0.5)) / 2
        assert data_out["reader"] == "in-memory"


@pytest.mark.parametrize("reader", ["polars", "pyarrow", "llvmlite"])
def test_library_readers_give_the_same_numbers(tmp_path, monkeypatch, reader):
    available = {"polars": fastcsv.polars_available, "pyarrow": fastcsv.arrow_available,
                 "llvmlite": jitcsv.available}[reader]
    if not available():
        pytest.skip(f"{reader} (a fast reader) is not installed")
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    y, p = data(2000, seed=11, zeros=True)
    path = write_csv(tmp_path / "a.csv", y, p, fmt=None)  # not fixed-width: the library reads it
    env = dict(ALWAYS, XENT_READER=reader)
    fast = invoke("compute", path, "--keras-compat", "--format", "json", env=env)
    slow = invoke("compute", path, "--keras-compat", "--format", "json", env=ALWAYS)
    assert reader in json.loads(fast.stdout)["reader"].split("+")
    assert json.loads(fast.stdout)["value"] == json.loads(slow.stdout)["value"]
    lines = path.read_text().splitlines(keepends=True)
    cells = lines[1500].split(",")
    cells[K + 1] = "x" + cells[K + 1]
    lines[1500] = ",".join(cells)
    path.write_text("".join(lines))
    bad = invoke("compute", path, env=env)
    assert bad.exit_code == 1 and bad.stdout == ""
    column = 1 + sum(len(c) + 1 for c in cells[:K + 1])  # the cell's first character
    assert f"a.csv:1501:{column}: column pred_1 is 'x{cells[K + 1][1:]}', not a number" in bad.stderr


def test_explain_keeps_the_rows_that_contribute_most(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    y, p = data(1200, seed=12, zeros=True)
    path = write_csv(tmp_path / "e.csv", y, p, fmt=None)
    args = ("explain", path, "--profile", "keras", "--rows", "6", "--format", "json")
    streamed_json = json.loads(invoke(*args, env=ALWAYS).stdout)
    memory_json = json.loads(invoke(*args, env=NEVER).stdout)
    assert streamed_json["value"] == memory_json["value"]
    assert streamed_json["against"]["value"] == memory_json["against"]["value"]
    assert streamed_json["divergence"]["stage"] == memory_json["divergence"]["stage"]
    # by hand from every per-sample loss: the 6 largest |l_keras/N − l_naive/N| (both ÷ N)
    per = {name: np.array([float(x) for x in json.loads(invoke(
        "compute", path, "--profile", name, "--reduction", "none", "--format", "json", "-q",
        env=NEVER).stdout)["per_sample"]]) for name in ("keras", "naive")}
    with np.errstate(invalid="ignore"):
        shares = np.nan_to_num(np.abs(per["keras"] / 1200 - per["naive"] / 1200), nan=np.inf)
    expected = sorted(int(i) + 1 for i in np.argsort(-shares, kind="stable")[:6])
    assert [r["file_row"] for r in streamed_json["rows_shown"]] == expected
    # one schema at any size: the in-memory run shows the same rows, histogram over every row
    for key in ("rows_shown", "rows_read", "histogram", "top"):
        assert streamed_json[key] == memory_json[key], key
    assert memory_json["histogram"]["rows"] == 1200
    assert sum(memory_json["histogram"]["counts"]["profile"]) + \
        memory_json["histogram"]["non_finite"]["profile"] == 1200
    assert streamed_json["rows_read"] == 1200 and streamed_json["n_samples"] == 1200


def test_blank_lines_at_the_end_are_skipped_as_in_memory(tmp_path, streaming):
    y, p = data(900, seed=13)
    path = write_csv(tmp_path / "t.csv", y, p)
    path.write_text(path.read_text() + "\n\n  \n")
    got, want = streamed(path), in_memory(path)
    assert got.result.value == want.value and got.result.n_samples == 900


def test_stdin_is_copied_and_streamed(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    y, p = data(1500, seed=14)
    text = write_csv(tmp_path / "in.csv", y, p).read_text()
    args = ("compute", "-", "--keras-compat", "--format", "json", "--verbose")
    runner = CliRunner()
    a = runner.invoke(app, args, input=text, env=dict(ALWAYS, XENT_STREAM_MIN_BYTES="1000"))
    b = runner.invoke(app, args, input=text, env=NEVER)
    assert "read <stdin> with the" in a.stderr and "streamed in chunks" in a.stderr
    assert json.loads(a.stdout)["value"] == json.loads(b.stdout)["value"]
    bad = text.splitlines(keepends=True)
    bad[1200] = bad[1200].replace(",0.", ",y.", 1)
    c = runner.invoke(app, ("compute", "-"), input="".join(bad),
                      env=dict(ALWAYS, XENT_STREAM_MIN_BYTES="1000"))
    assert c.exit_code == 1 and c.stdout == ""
    assert "<stdin>:1201:9: column pred_" in c.stderr


@pytest.mark.parametrize("kernel", ["numpy", "torch", "xla"])
def test_a_kernel_option_orders_the_sums_as_in_memory(tmp_path, streaming, kernel):
    y, p = data(5000, seed=15)
    path = write_csv(tmp_path / "k.csv", y, p)
    options = Options(kernel=kernel)
    assert streamed(path, "keras", options).result.value == in_memory(path, "keras", options).value


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_torch_multi_output_binary_streams_its_elements(tmp_path, streaming, reduction):
    """torch reduces the N·K elements of a multi-output binary loss (its sum adds them all, its
    mean divides by N·K); streamed in chunks, the same value as in memory."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, (3000, 4)).astype(float)
    p = np.round(rng.uniform(0.01, 0.99, (3000, 4)), 8)
    path = write_csv(tmp_path / "multi.csv", y, p)
    options = Options(reduction=reduction)
    memory = in_memory(path, "torch", options, kind="binary")
    run = streamed(path, "torch", options, kind="binary")
    run.close()  # its per-sample files (reduction none), left in the temporary folder otherwise
    out = run.result
    assert memory.kind == out.kind == "binary"
    if reduction == "none":
        return
    elements = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    expected = elements.sum() if reduction == "sum" else elements.mean()
    assert out.value == pytest.approx(memory.value, rel=1e-6)
    assert out.value == pytest.approx(expected, rel=1e-5)


def test_a_process_that_used_polars_still_streams(tmp_path, monkeypatch):
    """polars' thread pool does not survive fork: workers forked after polars was used read
    without it (a second run in the same process would otherwise hang)."""
    if not fastcsv.polars_available():
        pytest.skip("polars (the fast extra) is not installed")
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    y, p = data(3000, seed=13)
    path = write_csv(tmp_path / "twice.csv", y, p, fmt=None)
    env = dict(ALWAYS, XENT_READER="polars", XENT_WORKERS="2")
    runs = [json.loads(invoke("compute", path, "--format", "json", env=env).stdout) for _ in range(2)]
    memory_run = json.loads(invoke("compute", path, "--format", "json", env=NEVER).stdout)
    assert runs[0]["value"] == runs[1]["value"] == memory_run["value"]
    assert "polars" in runs[1]["reader"].split("+")


@pytest.mark.parametrize("reader", ["numpy", "llvmlite"])
def test_savetxt_default_lines_go_to_the_fixed_width_reader_unless_the_compiled_one_reads(
        streaming, tmp_path, monkeypatch, reader):
    """np.savetxt's %.18e lines are fixed-width: numpy's fixed-width reader takes them (1 MiB
    chunks), except when llvmlite's compiled parser is the reader (it reads them faster); the
    value is the in-memory one either way."""
    if reader == jitcsv.READER and not jitcsv.available():
        pytest.skip("llvmlite is not installed")
    monkeypatch.setenv("XENT_READER", reader)
    monkeypatch.delenv("XENT_CHUNK_BYTES")
    monkeypatch.setattr(stream, "_looks_fixed", LOOKS_FIXED)  # the head decides here
    rng = np.random.default_rng(21)
    p = rng.dirichlet(np.ones(4), 300)
    y = rng.integers(0, 4, 300)
    path = tmp_path / "dump.csv"
    with open(path, "w") as handle:
        handle.write("label,prob_0,prob_1,prob_2,prob_3\n")
        np.savetxt(handle, np.column_stack([y, p]), delimiter=",")
    job = stream.plan([str(path)])
    assert job is not None and job.layout.scientific == (reader == "numpy")
    assert (job.chunk_bytes == stream.CHUNK_BYTES) == (reader == "numpy")
    out = stream.run(job, stream.Task(profiles.get("naive"), Options()))
    expected = pipeline.run(io.read([str(path)]), profiles.get("naive"), Options())
    assert out.result.value == expected.value
    assert ("numpy-fixed-width" in out.reader) == (reader == "numpy"), out.reader


@pytest.mark.parametrize("header_end", ["\r", "\r\r"])
def test_a_lone_carriage_return_in_the_head_is_read_as_in_memory(tmp_path, header_end):
    """The in-memory reader ends a line at a lone \\r (old Mac files); the body must not start one
    line late (it did: the first row was dropped and the value changed)."""
    path = tmp_path / "cr.csv"
    path.write_bytes(f"y_true,y_pred{header_end}1,0.9\r\n0,0.2\r\n1,0.6\r\n".encode())
    args = ("compute", path, "--reduction", "sum", "--format", "json")
    streamed_run, memory_run = invoke(*args, env=ALWAYS), invoke(*args, env=NEVER)
    assert streamed_run.exit_code == memory_run.exit_code == 0
    want = -math.log(0.9) - math.log(0.8) - math.log(0.6)
    assert json.loads(streamed_run.stdout)["value"] == json.loads(memory_run.stdout)["value"]
    assert json.loads(memory_run.stdout)["value"] == pytest.approx(want, rel=1e-12)


def test_a_trailing_tab_on_the_last_line_of_a_tsv_is_the_in_memory_error(tmp_path):
    """A tab after the last cell of a TSV file is an empty extra field for the in-memory reader
    (a ragged row); the streamed body must keep it instead of trimming it as trailing blank."""
    path = tmp_path / "t.tsv"
    path.write_bytes(b"y_true\ty_pred\n1\t0.9\n0\t0.2\n1\t0.6\t\n\n \t\n")
    args = ("compute", path)
    streamed_run, memory_run = invoke(*args, env=ALWAYS), invoke(*args, env=NEVER)
    assert memory_run.exit_code == 1 and "t.tsv:4: row has 3 fields but the header has 2" in memory_run.stderr
    assert (streamed_run.exit_code, streamed_run.stdout, streamed_run.stderr) == \
        (memory_run.exit_code, memory_run.stdout, memory_run.stderr)


@pytest.mark.parametrize("chunk", ["0", "-5"])
def test_a_chunk_size_that_is_not_positive_is_the_default(tmp_path, chunk):
    """XENT_CHUNK_BYTES=0 read no row ("there are no samples"); a negative one was an internal error."""
    y, p = data(300, seed=5)
    path = write_csv(tmp_path / "c.csv", y, p, fmt=None)
    args = ("compute", path, "--format", "json")
    streamed_run = invoke(*args, env={**ALWAYS, "XENT_CHUNK_BYTES": chunk, "XENT_WORKERS": "-1"})
    memory_run = invoke(*args, env=NEVER)
    assert streamed_run.exit_code == memory_run.exit_code == 0, streamed_run.stderr
    assert json.loads(streamed_run.stdout)["value"] == json.loads(memory_run.stdout)["value"]
    assert json.loads(streamed_run.stdout)["n_samples"] == 300


def test_windows_line_ends_are_read_by_the_compiled_parser(tmp_path, monkeypatch):
    """A CSV written with "\\r\\n" (pandas on Windows): the compiled parser reads it (not numpy
    after a refusal), with the value of the numpy reader and of the in-memory reader."""
    if not jitcsv.available():
        pytest.skip("llvmlite (the fast extra) is not installed")
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    y, p = data(3000, seed=5)
    path = write_csv(tmp_path / "a.csv", y, p, fmt=None)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    got = {}
    for reader in ("llvmlite", "numpy"):
        run = invoke("compute", path, "--keras-compat", "--format", "json",
                     env=dict(ALWAYS, XENT_READER=reader))
        got[reader] = json.loads(run.stdout)
    whole = invoke("compute", path, "--keras-compat", "--format", "json",
                   env=dict(ALWAYS, XENT_STREAM_MIN_BYTES=str(1 << 40)))
    assert "numpy" not in got["llvmlite"]["reader"].split("+")  # no chunk refused
    assert got["llvmlite"]["value"] == got["numpy"]["value"] == json.loads(whole.stdout)["value"]


@pytest.mark.parametrize("reader, missing", [("llvmlite", "available"), ("pyarrow", "arrow_available"),
                                             ("polars", "polars_available")])
def test_a_forced_reader_that_cannot_be_imported_is_a_usage_error(tmp_path, monkeypatch, reader, missing):
    """XENT_READER=llvmlite without llvmlite read every chunk with numpy while --verbose said
    llvmlite: now one line, exit 2."""
    module = jitcsv if reader == "llvmlite" else fastcsv
    monkeypatch.setattr(module, missing, lambda: False)
    y, p = data(200, seed=3)
    path = write_csv(tmp_path / "a.csv", y, p, fmt=None)
    run = invoke("compute", path, env=dict(ALWAYS, XENT_READER=reader))
    assert run.exit_code == 2 and run.stdout == ""
    assert f"XENT_READER={reader} needs" in run.stderr and "cannot import" in run.stderr


def test_threads_leave_the_warning_filters_as_they_were(tmp_path, monkeypatch):
    """Chunks the compiled parser declines (a cell of 1e999 in each) go to numpy's parser, which
    reads under warnings.catch_warnings: on four threads at once, their swaps of the one list of
    filters must not interleave (one left "error" in it for the rest of the process)."""
    import time
    import warnings

    if not jitcsv.available():
        pytest.skip("llvmlite (the compiled parser, which streams on threads) is not installed")
    monkeypatch.setenv("XENT_STREAM_MIN_BYTES", "0")
    monkeypatch.setenv("XENT_CHUNK_BYTES", "4096")
    monkeypatch.setenv("XENT_WORKERS", "4")
    monkeypatch.setenv("XENT_READER", jitcsv.READER)
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    y, p = data(20_000, seed=11)
    lines = write_csv(tmp_path / "inf.csv", y, p).read_text().split("\n")
    for i in range(1, len(lines) - 1, 40):  # about one in every chunk
        cells = lines[i].split(",")
        cells[K + 1] = "1e999"
        lines[i] = ",".join(cells)
    path = tmp_path / "inf.csv"
    path.write_text("\n".join(lines))
    want = in_memory(path)
    strict = warnings.simplefilter

    def slow(*args, **kwargs):  # another thread gets the GIL inside catch_warnings
        strict(*args, **kwargs)
        time.sleep(0.001)

    monkeypatch.setattr(warnings, "simplefilter", slow)
    before = list(warnings.filters)
    for _ in range(3):
        job = stream.plan([str(path)])
        assert job is not None and job.threads and job.workers == 4
        got = stream.run(job, stream.Task(profiles.get("naive"), Options())).result
        assert warnings.filters == before
        assert got.value == want.value or (math.isnan(got.value) and math.isnan(want.value))
        assert sorted(notices(got)) == sorted(notices(want))  # (the order may differ: docs/json.md)


def test_ctrl_c_while_the_first_range_waits_for_the_others_stops_them(tmp_path, monkeypatch):
    """SIGINT after the calling thread's range is done, while it waits for the other threads:
    KeyboardInterrupt, and the other threads stop at their next chunk (not read on to their
    ranges' ends behind the interrupted run)."""
    import signal
    import threading
    import time

    if not jitcsv.available():
        pytest.skip("llvmlite (the compiled parser, which streams on threads) is not installed")
    if not hasattr(signal, "pthread_kill"):
        pytest.skip("no signal to one thread here (Windows)")
    monkeypatch.setenv("XENT_STREAM_MIN_BYTES", "0")
    monkeypatch.setenv("XENT_CHUNK_BYTES", "4096")
    monkeypatch.setenv("XENT_WORKERS", "3")
    monkeypatch.setenv("XENT_READER", jitcsv.READER)
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)
    path = write_csv(tmp_path / "p.csv", *data(3000, seed=12), fmt=None)  # not fixed-width: threads
    job = stream.plan([str(path)])
    assert job is not None and job.threads and job.workers == 3
    real, until = stream.work, time.monotonic() + 20

    def work(job, task, start, stop, out=None, progress=lambda n: None, last=True):
        if start == job.layout.body_start:
            return real(job, task, start, stop, out, progress, last)
        while time.monotonic() < until:  # a range that takes long: a chunk every 10 ms
            progress(0)
            time.sleep(0.01)
        return stream.Share()

    monkeypatch.setattr(stream, "work", work)
    main = threading.get_ident()
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # (an earlier test's may exit)
    try:
        threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            stream.run(job, stream.Task(profiles.get("naive"), Options()))
    finally:
        signal.signal(signal.SIGINT, handler)
    time.sleep(0.5)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("xent-range-")]
