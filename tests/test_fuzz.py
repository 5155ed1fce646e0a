"""Property and fuzz tests of the readers.

1. Random valid arrays written in every format read back bit-identically (hypothesis).
2. Random bytes, random mutations of the sample files and random inline strings, through
   ``io.read`` and ``pipeline.run`` under every profile: each case ends in a Result or an
   XentError, never in another exception (seeded, bounded: a few hundred cases).
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from xentropy_cli import io as xio
from xentropy_cli.core import pipeline, profiles
from xentropy_cli.core.types import Options
from xentropy_cli.errors import XentError

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _text_table(y_true: np.ndarray, y_pred: np.ndarray, weight, sep: str = ",", header: bool = True) -> str:
    k_true, k_pred = y_true.shape[1], y_pred.shape[1]
    names = [f"true_{i}" for i in range(k_true)] + [f"pred_{i}" for i in range(k_pred)]
    names += ["weight"] if weight is not None else []
    lines = [sep.join(names)] if header else []
    for r in range(y_true.shape[0]):
        cells = [repr(float(v)) for v in y_true[r]] + [repr(float(v)) for v in y_pred[r]]
        cells += [repr(float(weight[r]))] if weight is not None else []
        lines.append(sep.join(cells))
    return "\n".join(lines) + "\n"


def _rows(a: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in a) + "\n"


def _npy(a: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, a)
    return buffer.getvalue()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _numpy_print(a: np.ndarray) -> str:
    return np.array2string(a, precision=17, floatmode="unique", threshold=sys.maxsize, max_line_width=200)


def _writers(y_true: np.ndarray, y_pred: np.ndarray, weight):
    """(name, files, sources, options, stdin) for every way of giving the same data."""
    records = [{"y_true": t.tolist(), "y_pred": p.tolist()} for t, p in zip(y_true, y_pred, strict=True)]
    if weight is not None:
        for record, w in zip(records, weight, strict=True):
            record["sample_weight"] = float(w)
    obj = {"y_true": y_true.tolist(), "y_pred": y_pred.tolist()}
    npz = {"y_true": y_true, "y_pred": y_pred}
    if weight is not None:
        obj["sample_weight"] = weight.tolist()
        npz["sample_weight"] = weight
    jsonl = "\n".join(json.dumps(r) for r in records)
    inline = {"y_true": json.dumps(y_true.tolist()), "y_pred": json.dumps(y_pred.tolist())}
    w_inline = {"sample_weight": json.dumps(weight.tolist())} if weight is not None else {}
    table = _text_table(y_true, y_pred, weight)
    yield "csv", {"d.csv": table}, ["d.csv"], {}, None
    yield "csv-crlf-bom", {"d.csv": "\ufeff" + table.replace("\n", "\r\n")}, ["d.csv"], {}, None
    yield "tsv", {"d.tsv": _text_table(y_true, y_pred, weight, "\t")}, ["d.tsv"], {}, None
    yield "semicolon", {"d.csv": _text_table(y_true, y_pred, weight, ";")}, ["d.csv"], {}, None
    yield "json", {"d.json": json.dumps(obj)}, ["d.json"], {}, None
    yield "json-records", {"d.json": json.dumps(records)}, ["d.json"], {}, None
    yield "jsonl", {"d.jsonl": jsonl}, ["d.jsonl"], {}, None
    yield "npz", {"d.npz": _npz(**npz)}, ["d.npz"], {}, None
    yield "stdin-csv", {}, ["-"], {}, table.encode()
    yield "stdin-json", {}, ["-"], {}, json.dumps(obj).encode()
    if len(records) > 1:  # one line of JSON Lines is also one JSON document: an object of 1-D arrays
        yield "stdin-jsonl", {}, ["-"], {}, jsonl.encode()
    yield "stdin-npz", {}, ["-"], {}, _npz(**npz)
    yield "two-npy", {"t.npy": _npy(y_true), "p.npy": _npy(y_pred)}, ["t.npy", "p.npy"], w_inline, None
    yield "two-csv", {"t.csv": _rows(y_true), "p.csv": _rows(y_pred)}, ["t.csv", "p.csv"], w_inline, None
    yield "inline-json", {}, [], {**inline, **w_inline}, None
    yield "inline-numpy", {}, [], {"y_true": _numpy_print(y_true), "y_pred": _numpy_print(y_pred),
                                   **w_inline}, None
    rows_form = {key: "; ".join(" ".join(repr(float(v)) for v in row) for row in a) + ";"
                 for key, a in (("y_true", y_true), ("y_pred", y_pred))}
    yield "inline-rows", {}, [], {**rows_form, **w_inline}, None


def _read(files: dict, sources: list, options: dict, stdin, directory: Path):
    for name, content in files.items():
        (directory / name).write_bytes(content.encode() if isinstance(content, str) else content)
    paths = [src if src == "-" else str(directory / src) for src in sources]
    return xio.read(paths, stdin=io.BytesIO(stdin) if stdin is not None else None, **options)


@st.composite
def datasets(draw):
    n = draw(st.integers(1, 12))
    k = draw(st.integers(2, 5))
    y_true = draw(hnp.arrays(np.float64, (n, k), elements=FINITE))
    y_pred = draw(hnp.arrays(np.float64, (n, k), elements=FINITE))
    weight = draw(st.none() | hnp.arrays(np.float64, (n,), elements=FINITE))
    return y_true, y_pred, weight


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_every_format_reads_back_identically(data):
    y_true, y_pred, weight = data
    with tempfile.TemporaryDirectory() as tmp:
        for name, files, sources, options, stdin in _writers(y_true, y_pred, weight):
            directory = Path(tmp) / name
            directory.mkdir()
            inputs = _read(files, sources, options, stdin, directory)
            assert inputs.y_true.dtype == np.float64 and inputs.y_pred.dtype == np.float64, name
            np.testing.assert_array_equal(inputs.y_true, y_true, err_msg=name, strict=True)
            np.testing.assert_array_equal(inputs.y_pred, y_pred, err_msg=name, strict=True)
            if weight is None:
                assert inputs.sample_weight is None, name
            else:
                np.testing.assert_array_equal(inputs.sample_weight, weight, err_msg=name, strict=True)


# --- fuzz: never anything but a Result or an XentError ---------------------------------------

# A larger round for a report: XENT_FUZZ_SCALE=10 XENT_FUZZ_SEED=7 pytest tests/test_fuzz.py -s
# (the counts are printed); CI runs the defaults.
SEED = int(os.environ.get("XENT_FUZZ_SEED") or 20240611)
SCALE = max(1, int(os.environ.get("XENT_FUZZ_SCALE") or 1))
PROFILE_NAMES = list(profiles.PROFILES)
SAMPLE_FILES = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in {".csv", ".json", ".jsonl", ".npy"})
SPECIAL = [b",", b";", b"\t", b"\n", b"\r\n", b'"', b"[", b"]", b"{", b"}", b"-", b".", b"e", b"nan", b"inf",
           b"1e400", b"0", b"1", b"\x00", b"\xff", b"\xef\xbb\xbf", b" ", b"null", b"true", b":", b"abc"]
N_MUTATIONS = 500 * SCALE
N_RANDOM_BYTES = 100 * SCALE
N_INLINE = 200 * SCALE


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        how = rng.randrange(6)
        at = rng.randrange(len(out) + 1)
        if how == 0 and out:  # flip a bit
            at = min(at, len(out) - 1)
            out[at] ^= 1 << rng.randrange(8)
        elif how == 1:  # insert a token
            out[at:at] = rng.choice(SPECIAL)
        elif how == 2 and out:  # delete a run
            del out[at:at + rng.randint(1, 8)]
        elif how == 3:  # truncate
            del out[at:]
        elif how == 4:  # duplicate a line
            lines = bytes(out).split(b"\n")
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            out = bytearray(b"\n".join(lines))
        else:  # overwrite with a random byte
            if out:
                out[min(at, len(out) - 1)] = rng.randrange(256)
    return bytes(out)


def _fuzz_cases():
    rng = random.Random(SEED)
    originals = {name: (SAMPLES / name).read_bytes() for name in SAMPLE_FILES}
    for i in range(N_MUTATIONS):
        name = rng.choice(SAMPLE_FILES)
        data = _mutate(originals[name], rng)
        as_stdin = rng.random() < 0.3
        yield f"mutation-{i}-{name}", name, data, as_stdin, rng.choice(PROFILE_NAMES), rng.random() < 0.2
    for i in range(N_RANDOM_BYTES):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        if rng.random() < 0.5:  # plausible starts reach deeper
            data = rng.choice([b"\x93NUMPY", b"PK\x03\x04", b"{", b"[", b"true_0,pred_0\n"]) + data
        yield f"bytes-{i}", rng.choice(["x.csv", "x.json", "x.npz", "x.npy", "x.dat"]), data, \
            rng.random() < 0.5, rng.choice(PROFILE_NAMES), False


def _other_commands(inputs, profile: str, fmt: str, counts: dict, failures: list, case_id: str) -> None:
    """What explain, compare and grad do with ``inputs`` after reading, rendered (``fmt``) to a
    string: each ends in output or an XentError; any other exception is added to ``failures``."""
    from xentropy_cli import render
    from xentropy_cli.core import compare, explain, grad
    from xentropy_cli.render import grad as grad_render

    chosen, other = profiles.get(profile), profiles.get("naive")
    out = render.Output(fmt, "never", None, True, False, stdout=io.StringIO())
    for command in ("explain", "compare", "grad"):
        try:
            if command == "explain":
                p, q = pipeline.run(inputs, chosen, Options()), pipeline.run(inputs, other, Options())
                out.emit_explain(inputs, p, q, explain.diverge(p, q, inputs.y_true, inputs.y_pred), 5)
            elif command == "compare":
                out.emit_compare(compare.compare(inputs, [chosen, other, profiles.get("sklearn")], Options()))
            else:
                result = grad.gradient(inputs, chosen, Options())
                check = grad.finite_difference(inputs, chosen, Options(), cells=8)
                grad_render.emit(out, result, result.notices, check, None)
            counts[command, "output"] += 1
        except XentError as error:
            assert "\n" not in error.one_line()
            counts[command, "error"] += 1
        except Exception:  # noqa: BLE001 - the point of the test
            counts[command, "failure"] += 1
            failures.append(f"{case_id} {command} ({profile}): {traceback.format_exc(limit=-3)}")


def _run_file_case(name, data, as_stdin, profile, logits, directory: Path):
    options = {"from_logits": logits}
    if name.endswith(".npy"):  # npy comes in pairs: the mutated one is y_pred
        (directory / "t.npy").write_bytes((SAMPLES / "y_true.npy").read_bytes())
        (directory / name).write_bytes(data)
        sources = [str(directory / "t.npy"), "-" if as_stdin else str(directory / name)]
    else:
        (directory / name).write_bytes(data)
        sources = ["-" if as_stdin else str(directory / name)]
    inputs = xio.read(sources, stdin=io.BytesIO(data), **options)
    return pipeline.run(inputs, profiles.get(profile), Options())


def _inline_cases():
    rng = random.Random(SEED + 1)
    alphabet = "0123456789.,; -e[]\n" + "nanif" + "{}\"'"
    for i in range(N_INLINE):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3)]
        if rng.random() < 0.5:
            texts[0], texts[1] = "[[1, 0], [0, 1]]", texts[1]
        yield f"inline-{i}", texts, rng.choice(PROFILE_NAMES)


FORMATS = ("json", "table", "csv", "plain")


def test_fuzz_never_raises_anything_but_xent_errors(tmp_path):
    import collections

    failures, outcomes = [], {"result": 0, "error": 0}
    commands: collections.Counter = collections.Counter()
    for i, (case_id, name, data, as_stdin, profile, logits) in enumerate(_fuzz_cases()):
        directory = tmp_path / case_id
        directory.mkdir()
        try:
            _run_file_case(name, data, as_stdin, profile, logits, directory)
            outcomes["result"] += 1
            inputs = _read_again(name, data, logits, directory)
            _other_commands(inputs, profile, FORMATS[i % len(FORMATS)], commands, failures, case_id)
        except XentError as error:
            assert "\n" not in error.one_line()
            outcomes["error"] += 1
        except Exception:  # noqa: BLE001 - the point of the test
            failures.append(f"{case_id} ({profile}): {traceback.format_exc(limit=-3)}")
    for i, (case_id, (t, p, w), profile) in enumerate(_inline_cases()):
        try:
            inputs = xio.read([], y_true=t, y_pred=p, sample_weight=w or None)
            pipeline.run(inputs, profiles.get(profile), Options())
            outcomes["result"] += 1
            _other_commands(inputs, profile, FORMATS[i % len(FORMATS)], commands, failures, case_id)
        except XentError:
            outcomes["error"] += 1
        except Exception:  # noqa: BLE001
            failures.append(f"{case_id} {t!r} {p!r} {w!r} ({profile}): {traceback.format_exc(limit=-3)}")
    known = [f for f in failures if _known_explain_bug(f)]
    assert not [f for f in failures if not _known_explain_bug(f)], "\n".join(failures[:5]) + \
        f"\n... {len(failures)} failures"
    assert sum(outcomes.values()) == N_MUTATIONS + N_RANDOM_BYTES + N_INLINE
    # the mutations are mild enough that some inputs still compute
    assert outcomes["result"] > 0 and outcomes["error"] > 0
    # every input that computes also goes through explain, compare and grad (the report quotes these)
    for command in ("explain", "compare", "grad"):
        assert sum(commands[command, end] for end in ("output", "error", "failure")) == outcomes["result"]
        assert commands[command, "output"] > 0
    print(f"fuzz: {dict(outcomes)}; other commands: {dict(commands)}")
    if known:  # the only failure allowed, until issue 16's fix of core/explain.py lands
        pytest.xfail(f"{len(known)} inputs hit issue 16 (explain on binary input with a clipped "
                     "prediction: [row, col] indexing in core/explain.py)")


def _known_explain_bug(failure: str) -> bool:
    """Issue 16 (the explain helper's): core/explain.py's account of a clip or log stage indexes a
    binary stage's array with [row, col] (1-D, or one column). The only failure tolerated, as xfail."""
    return "IndexError" in failure and ("in _what_happened" in failure or "in _log_sentence" in failure)


def _read_again(name, data, logits, directory: Path):
    """The Inputs of a file case that computed (read from the file written for it)."""
    if name.endswith(".npy"):
        return xio.read([str(directory / "t.npy"), str(directory / name)], from_logits=logits)
    return xio.read([str(directory / name)], from_logits=logits)


# --- fuzz: explain, compare and grad on inputs that parse -----------------------------------------
# The reader fuzz above mostly ends in read errors; these inputs all parse, in every kind and rank
# (1-D and 2-D binary, sparse, categorical, multi-output, one row, one class) with hostile values.

N_COMMAND_CASES = 160 * SCALE
PALETTE = [0.0, 1.0, 1e-12, 0.5, 1 - 1e-12, 2.0, -1.0, 1e308, -1e3, 1e3, 1e-320, 0.25]


def _value(rng: random.Random) -> float:
    return rng.choice(PALETTE) if rng.random() < 0.4 else rng.random()


def _command_cases():
    rng = random.Random(SEED + 2)
    for i in range(N_COMMAND_CASES):
        kind = rng.choice(["categorical", "sparse", "binary-1d", "binary-2d", "multi-output"])
        n, k = rng.randint(1, 6), rng.randint(1, 4)
        pred = [[_value(rng) for _ in range(k)] for _ in range(n)]
        if kind == "categorical":
            true = [[float(c == rng.randrange(k)) if rng.random() < 0.8 else _value(rng) for c in range(k)]
                    for _ in range(n)]
        elif kind == "sparse":
            true = [rng.randrange(k + (rng.random() < 0.1)) for _ in range(n)]
        elif kind == "binary-1d":
            true, pred = [float(rng.random() < 0.5) for _ in range(n)], [_value(rng) for _ in range(n)]
        elif kind == "binary-2d":
            true, pred = [[float(rng.random() < 0.5)] for _ in range(n)], [[_value(rng)] for _ in range(n)]
        else:
            true = [[float(rng.random() < 0.5) for _ in range(k)] for _ in range(n)]
        weight = rng.choice([None, None, json.dumps([rng.random() * 2 for _ in range(n)]), "2.5"])
        options = {"y_true": json.dumps(true), "y_pred": json.dumps(pred), "sample_weight": weight,
                   "from_logits": rng.random() < 0.3,
                   "kind": rng.choice(["auto", "auto", kind.split("-")[0] if kind != "multi-output"
                                       else "binary"])}
        yield f"command-{i}-{kind}", options, rng.choice(PROFILE_NAMES)


def test_fuzz_explain_compare_and_grad_on_inputs_that_parse():
    import collections

    failures: list[str] = []
    commands: collections.Counter = collections.Counter()
    read = 0
    for i, (case_id, options, profile) in enumerate(_command_cases()):
        try:
            inputs = xio.read([], **options)
        except XentError:
            continue
        read += 1
        _other_commands(inputs, profile, FORMATS[i % len(FORMATS)], commands, failures, case_id)
    print(f"command fuzz: {read} of {N_COMMAND_CASES} parsed; {dict(commands)}")
    assert read > N_COMMAND_CASES * 0.8
    for command in ("explain", "compare", "grad"):
        assert sum(commands[command, end] for end in ("output", "error", "failure")) == read
        assert commands[command, "output"] > read // 4, commands
    unknown = [f for f in failures if not _known_explain_bug(f)]
    assert not unknown, "\n".join(unknown[:5]) + f"\n... {len(unknown)} failures"
    if failures:
        pytest.xfail(f"{len(failures)} command runs hit issue 16 (explain on binary input with a "
                     "clipped prediction: [row, col] indexing in core/explain.py)")
