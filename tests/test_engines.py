"""The engines under every process start method, interrupts, and the Dask engine's guard rails.

Streamed results are compared bit for bit with the in-memory pipeline on the same rows, with the
workers started by fork, spawn and forkserver (engines.pool; XENT_START_METHOD chooses).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from xentropy_cli import io
from xentropy_cli.cli import app
from xentropy_cli.core import partial, pipeline, profiles
from xentropy_cli.core.types import Notice, Options
from xentropy_cli.engines import pool, stream
from xentropy_cli.errors import DataError

METHODS = [m for m in pool.METHODS if m in __import__("multiprocessing").get_all_start_methods()]
ROOT = Path(__file__).resolve().parent.parent
K = 4


def write_csv(path, n, seed=0, bad_row=None):
    rng = np.random.default_rng(seed)
    y = np.eye(K)[rng.integers(0, K, n)]
    p = rng.dirichlet(np.ones(K), n).astype(np.float32)
    p[::97, 0] = 0.0  # log 0 somewhere: warnings to merge
    lines = ["true_0,true_1,true_2,true_3,pred_0,pred_1,pred_2,pred_3"]
    lines += [",".join([str(int(v)) for v in a] + [repr(float(v)) for v in b])
              for a, b in zip(y, p, strict=True)]
    if bad_row is not None:
        lines[bad_row] = lines[bad_row].replace(",0.", ",x.", 1)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def two_workers(monkeypatch):
    monkeypatch.setenv("XENT_STREAM_MIN_BYTES", "0")
    monkeypatch.setenv("XENT_CHUNK_BYTES", "8192")
    monkeypatch.setenv("XENT_WORKERS", "2")
    monkeypatch.setenv("XENT_READER", "numpy")
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("profile", ["keras", "naive"])
def test_streamed_numbers_are_the_same_under_every_start_method(tmp_path, two_workers, monkeypatch,
                                                                method, profile):
    monkeypatch.setenv("XENT_START_METHOD", method)
    path = write_csv(tmp_path / "s.csv", 3000, seed=3)
    job = stream.plan([str(path)])
    assert job is not None and job.workers == 2
    options = Options(reduction="none")
    got = stream.run(job, stream.Task(profiles.get(profile), options, keep_rows=True))
    try:
        want = pipeline.run(io.read([str(path)]), profiles.get(profile), options)
        every = np.concatenate(list(got.per_sample()))
        assert every.tobytes() == np.asarray(want.per_sample).tobytes()
        assert got.workers == 2
        assert [(n.code, n.counts, n.rows[:partial.ROW_LIMIT]) for n in got.result.notices] == \
            [(n.code, n.counts, n.rows[:partial.ROW_LIMIT]) for n in want.notices]
    finally:
        folder = got.rows.folder
        got.close()
    assert not os.path.exists(folder)  # the per-sample files are removed
    value = stream.run(job, stream.Task(profiles.get(profile), Options()))
    assert value.result.value == pipeline.run(io.read([str(path)]), profiles.get(profile)).value


@pytest.mark.parametrize("method", METHODS)
def test_a_bad_cell_in_a_worker_is_the_in_memory_error_under_every_start_method(
        tmp_path, two_workers, monkeypatch, method):
    monkeypatch.setenv("XENT_START_METHOD", method)
    path = write_csv(tmp_path / "b.csv", 3000, seed=4, bad_row=2900)  # in the second worker's range
    with pytest.raises(DataError) as streamed_error:
        stream.run(stream.plan([str(path)]), stream.Task(profiles.get("keras"), Options()))
    with pytest.raises(DataError) as memory_error:
        io.read([str(path)])
    assert streamed_error.value.one_line() == memory_error.value.one_line()
    assert f"b.csv:{2901}" in streamed_error.value.one_line()


def test_an_unknown_start_method_is_refused(monkeypatch):
    monkeypatch.setenv("XENT_START_METHOD", "vfork")
    with pytest.raises(Exception, match="XENT_START_METHOD='vfork'"):
        pool.context()


# --- threads: the compiled parser releases the GIL ------------------------------------------------

@pytest.fixture
def two_threads(monkeypatch):
    pytest.importorskip("llvmlite")
    monkeypatch.setenv("XENT_STREAM_MIN_BYTES", "0")
    monkeypatch.setenv("XENT_CHUNK_BYTES", "8192")
    monkeypatch.setenv("XENT_WORKERS", "3")
    monkeypatch.setenv("XENT_READER", "llvmlite")
    monkeypatch.setattr(stream, "MIN_PART_BYTES", 1)

    def no_processes(*args, **kwargs):
        raise AssertionError("the compiled parser's ranges are read by threads, not processes")

    monkeypatch.setattr(pool, "start", no_processes)


@pytest.mark.parametrize("profile", ["keras", "naive", "torch"])
def test_threads_give_the_in_memory_bits(tmp_path, two_threads, profile):
    path = write_csv(tmp_path / "t.csv", 3000, seed=8)
    job = stream.plan([str(path)])
    assert job is not None and job.threads and job.workers == 3
    options = Options(reduction="none")
    got = stream.run(job, stream.Task(profiles.get(profile), options, keep_rows=True))
    try:
        want = pipeline.run(io.read([str(path)]), profiles.get(profile), options)
        assert np.concatenate(list(got.per_sample())).tobytes() == np.asarray(want.per_sample).tobytes()
        assert got.workers == 3 and got.reader == "llvmlite"
        assert [(n.code, n.counts, n.rows[:partial.ROW_LIMIT]) for n in got.result.notices] == \
            [(n.code, n.counts, n.rows[:partial.ROW_LIMIT]) for n in want.notices]
    finally:
        folder = got.rows.folder
        got.close()
    assert not os.path.exists(folder)


def test_threads_report_the_first_bad_row_in_file_order(tmp_path, two_threads):
    """Bad cells in the first and the last range: the first one's error, as in memory, although
    the last range's thread meets its own first (its range is read as the first one is)."""
    path = write_csv(tmp_path / "b.csv", 3000, seed=4, bad_row=2900)
    lines = path.read_text().splitlines(keepends=True)
    lines[900] = lines[900].replace(",0.", ",y.", 1)
    path.write_text("".join(lines))
    with pytest.raises(DataError) as streamed_error:
        stream.run(stream.plan([str(path)]), stream.Task(profiles.get("keras"), Options()))
    with pytest.raises(DataError) as memory_error:
        io.read([str(path)])
    assert streamed_error.value.one_line() == memory_error.value.one_line()
    assert "b.csv:901:" in streamed_error.value.one_line()


def test_threads_stop_at_their_next_chunk_when_the_first_range_fails(monkeypatch):
    """The first range's failure is raised once every thread has stopped, each at its next chunk."""
    started, chunks = __import__("threading").Event(), []

    def work_range(job, task, start, stop, path, done, index, progress=None):
        if index == 0:
            started.wait(10)
            raise DataError("the first range is bad", where="x.csv:2")
        while True:
            chunks.append(stop)
            started.set()
            progress(1)  # raises once the first range has failed
            time.sleep(0.001)

    monkeypatch.setattr(stream, "_work_range", work_range)
    job = stream.Job(layout=None, reader="llvmlite", workers=2, threads=True)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="the first range is bad"):
        stream._in_threads(job, stream.Task(profiles.get("naive"), Options()), [(0, 5), (5, 10)], None,
                           pool.Progress(False))
    assert 1 <= len(chunks) < 1000


def test_verbose_says_threads(tmp_path, two_threads):
    path = write_csv(tmp_path / "v.csv", 3000, seed=9)
    done = CliRunner().invoke(app, ["compute", str(path), "-v"])
    assert done.exit_code == 0, done.output
    assert "streamed in chunks on 3 threads: 3,000 rows in" in done.stderr
    from xentropy_cli import objload

    made = "its shipped object code, mapped without LLVM" if objload.supported() else "compiled from its IR"
    assert f"; the llvmlite parser: {made})" in done.stderr


def test_two_threads_compile_the_parser_once(monkeypatch):
    jitcsv = pytest.importorskip("xentropy_cli.io.jitcsv")
    pytest.importorskip("llvmlite")
    import threading

    jitcsv._compile.cache_clear()
    got: list = []
    threads = [threading.Thread(target=lambda: got.append(jitcsv._compiled()[0])) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got[0] is got[1] and jitcsv._compile.cache_info().misses == 1


# --- LLVM loads beside the imports -----------------------------------------------------------------

@pytest.fixture
def fresh_preload(monkeypatch):
    from xentropy_cli import engines

    monkeypatch.setattr(engines, "_LOADING", None)
    monkeypatch.setenv("XENT_JIT_OBJECT", "0")  # LLVM compiles, so it is preloaded (not on x86-64 Linux else)
    loaded: list[str] = []
    monkeypatch.setattr(engines, "_load", loaded.append)
    return engines, loaded


@pytest.mark.parametrize("reader", [None, "auto", "llvmlite"])
def test_llvm_starts_loading_for_a_run_that_may_use_the_compiled_parser(tmp_path, monkeypatch, fresh_preload,
                                                                        reader):
    pytest.importorskip("llvmlite")
    engines, loaded = fresh_preload
    csv = tmp_path / "p.csv"
    csv.write_text("pred_0,pred_1\n0.25,0.75\n0.5,0.5\n0.125,0.875\n")
    if reader is None:
        monkeypatch.delenv("XENT_READER", raising=False)
    else:
        monkeypatch.setenv("XENT_READER", reader)
    engines.preload_compiler([str(csv)])
    engines.compiler_loaded()
    from llvmlite.utils import get_library_name

    assert len(loaded) == 1 and os.path.isfile(loaded[0])
    assert os.path.basename(loaded[0]) == get_library_name()
    engines.preload_compiler([str(csv)])  # once per process
    engines.compiler_loaded()
    assert len(loaded) == 1


@pytest.mark.parametrize("lines, fixed", [
    (["0.12345678,0.87654322", "0.50000000,0.50000000", "0.25000000,0.75000000"], True),
    (["0.1234568,0.8765432", "0.5,0.5", "0.25,0.75"], False),  # pandas' shortest reprs
    (["1.000000000000000000e+00,0.000000000000000000e+00"] * 3, False),  # %.18e: the compiled parser's
    (["0.5,0.5"], False),  # one line: no guess
])
def test_llvm_is_not_loaded_for_a_fixed_width_head(tmp_path, monkeypatch, fresh_preload, lines, fixed):
    """numpy's fixed-width reader takes those lines, on processes: no compilation, and a worker
    forked from a process that has LLVM loaded starts later."""
    pytest.importorskip("llvmlite")
    engines, loaded = fresh_preload
    monkeypatch.delenv("XENT_READER", raising=False)
    path = tmp_path / "head.csv"
    path.write_text("pred_0,pred_1\n" + "\n".join(lines) + "\n")
    assert engines._parsed_by_llvm([str(path)], "auto") == (not fixed)
    engines.preload_compiler([str(path)])
    engines.compiler_loaded()
    assert len(loaded) == (0 if fixed else 1)


@pytest.mark.parametrize("name, text, forced", [
    ("-", "", "auto"),  # stdin: it may never end (it is copied first); loaded when needed
    ("p.json", '{"y_true": [1], "y_pred": [[0.5, 0.5]]}', "auto"),
    ("p.npz", "PK\x03\x04", "auto"),
    ("p.csv", 'a,b\n"0.5",0.5\n0.25,0.75\n', "auto"),  # quoted: read in memory
    ("p.dat", "pred_0,pred_1\n0.25,0.75\n0.5,0.5\n0.125,0.875\n", "auto"),
])
def test_llvm_is_not_loaded_for_what_is_read_in_memory(tmp_path, monkeypatch, fresh_preload, name, text,
                                                      forced):
    """Those runs read in memory (or may not stream at all): LLVM's pages would only add to their
    peak memory (tests/test_process.py holds it under its bounds)."""
    engines, loaded = fresh_preload
    monkeypatch.delenv("XENT_READER", raising=False)
    path = "-" if name == "-" else str(tmp_path / name)
    if name != "-":
        (tmp_path / name).write_text(text)
    engines.preload_compiler([path], forced)
    engines.compiler_loaded()
    assert loaded == [] and engines._LOADING is None
    if name == "p.dat":  # the same text, forced to CSV: loaded
        pytest.importorskip("llvmlite")
        engines.preload_compiler([path], "csv")
        engines.compiler_loaded()
        assert len(loaded) == 1


@pytest.mark.parametrize("reader", ["numpy", "pyarrow", "polars"])
def test_llvm_is_not_loaded_for_another_reader(tmp_path, monkeypatch, fresh_preload, reader):
    engines, loaded = fresh_preload
    monkeypatch.setenv("XENT_READER", reader)
    csv = tmp_path / "p.csv"
    csv.write_text("pred_0,pred_1\n0.25,0.75\n0.5,0.5\n0.125,0.875\n")
    engines.preload_compiler([str(csv)])
    engines.compiler_loaded()
    assert loaded == [] and engines._LOADING is None


def test_llvm_not_installed_starts_nothing(tmp_path, monkeypatch, fresh_preload):
    import importlib.util

    engines, loaded = fresh_preload
    monkeypatch.delenv("XENT_READER", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    csv = tmp_path / "p.csv"
    csv.write_text("pred_0,pred_1\n0.25,0.75\n0.5,0.5\n0.125,0.875\n")
    engines.preload_compiler([str(csv)])
    assert loaded == [] and engines._LOADING is None


def test_llvm_is_not_loaded_where_the_shipped_object_code_is_mapped(tmp_path, monkeypatch, fresh_preload):
    """x86-64 Linux maps the parser's object code without LLVM (objload): nothing to preload."""
    pytest.importorskip("llvmlite")
    from xentropy_cli import objload

    engines, loaded = fresh_preload
    monkeypatch.delenv("XENT_JIT_OBJECT")
    monkeypatch.delenv("XENT_READER", raising=False)
    csv = tmp_path / "p.csv"
    csv.write_text("pred_0,pred_1\n0.25,0.75\n0.5,0.5\n0.125,0.875\n")
    engines.preload_compiler([str(csv)])
    engines.compiler_loaded()
    assert len(loaded) == (0 if objload.supported() else 1)


def test_a_library_that_does_not_load_is_left_to_llvmlite(tmp_path):
    from xentropy_cli import engines

    junk = tmp_path / "libllvmlite.so"
    junk.write_bytes(b"not a library")
    engines._load(str(junk))  # no exception: llvmlite's own load says what is wrong, as before


def test_the_compiler_and_a_fork_wait_for_the_loading_thread(tmp_path, monkeypatch, fresh_preload):
    """jitcsv imports llvmlite.binding, and pool starts a worker, only once the thread is done:
    a fork while another thread holds the loader's lock would leave the child waiting forever."""
    import threading

    engines, _ = fresh_preload
    release, order = threading.Event(), []

    def slow(path):
        release.wait(10)
        order.append("loaded")

    monkeypatch.setattr(engines, "_load", slow)
    monkeypatch.delenv("XENT_READER", raising=False)
    pytest.importorskip("llvmlite")
    csv = tmp_path / "p.csv"
    csv.write_text("pred_0,pred_1\n0.25,0.75\n0.5,0.5\n0.125,0.875\n")
    engines.preload_compiler([str(csv)])
    assert engines._LOADING is not None and engines._LOADING.is_alive()

    def fork(*args, **kwargs):
        order.append("fork")
        raise RuntimeError("stop here")

    ctx = type("Ctx", (), {"Pipe": staticmethod(fork)})()
    threading.Timer(0.2, release.set).start()
    with pytest.raises(RuntimeError, match="stop here"):
        pool.start(ctx, print, ())
    assert order == ["loaded", "fork"]


def test_the_compiler_waits_for_the_loading_thread_before_llvmlite(monkeypatch):
    pytest.importorskip("llvmlite")
    monkeypatch.setenv("XENT_JIT_OBJECT", "0")
    from xentropy_cli import engines
    from xentropy_cli.io import jitcsv

    calls = []
    monkeypatch.setattr(engines, "compiler_loaded", lambda: calls.append("waited"))
    jitcsv._compile.cache_clear()
    try:
        assert jitcsv._compiled()[0] is not None and calls == ["waited"]
    finally:
        jitcsv._compile.cache_clear()


def test_profiles_pickle_by_name_so_spawned_workers_get_the_same_value():
    import pickle
    from dataclasses import replace

    assert pickle.loads(pickle.dumps(profiles.KERAS)) is profiles.KERAS
    custom = replace(profiles.KERAS, name="mine", eps=1e-5)
    assert pickle.loads(pickle.dumps(custom)) == custom


# --- warnings are data ---------------------------------------------------------------------------

def test_notices_merge_as_data_and_are_worded_once():
    a = Notice("clipped", (1, 2), counts=(2, 0), values=(1e-7, 0.9999999))
    b = Notice("clipped", (5,), counts=(0, 1), values=(1e-7, 0.9999999))
    merged = partial._merge_notice(a, b)
    assert merged == Notice("clipped", (1, 2, 5), counts=(2, 1), values=(1e-7, 0.9999999))
    assert merged.message == "2 values clipped up to 1e-07; 1 value clipped down to 0.9999999"
    one = Notice("not_normalised", (3,), counts=(1,), values=(1.99,))
    assert one.message == "1 row of y_pred does not sum to 1 (row 3 sums to 1.99, off by +0.99)"
    two = partial._merge_notice(one, Notice("not_normalised", (9,), counts=(1,), values=(0.5,)))
    assert two.message == "2 rows of y_pred do not sum to 1 (row 3 sums to 1.99, off by +0.99)"


# --- Ctrl-C is an interrupt, every time -----------------------------------------------------------

@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """About 25 MB: long enough to be interrupted while it is being read."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = np.random.default_rng(0)
    n = 400_000
    y = np.eye(K, dtype=np.int8)[rng.integers(0, K, n)]
    p = rng.dirichlet(np.ones(K), n)
    with open(path, "w") as handle:
        handle.write("true_0,true_1,true_2,true_3,pred_0,pred_1,pred_2,pred_3\n")
        np.savetxt(handle, np.hstack([y, p]), fmt=["%d"] * K + ["%.17g"] * K, delimiter=",")
    return path


def _timed_run(args: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    """(seconds, stdout) of one run."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "xentropy_cli", *args], env=env, capture_output=True,
                          timeout=300)
    return time.monotonic() - began, done.stdout


@pytest.mark.parametrize("reader", ["pyarrow", "numpy", "llvmlite"])
def test_ctrl_c_during_a_streamed_run_exits_130_every_time(big_csv, reader, tmp_path):
    """SIGINT at ten moments spread over the streaming part of a run (after start-up, before the
    end, both measured here first, the file made longer until the streaming takes a second)."""
    pytest.importorskip("pyarrow")
    pytest.importorskip(reader if reader != "numpy" else "numpy")
    env = dict(os.environ, XENT_READER=reader, XENT_CHUNK_BYTES="262144", XENT_WORKERS="2")
    start_up = _timed_run(["compute", str(ROOT / "samples" / "keras_question.csv")], env)[0]
    path, body = big_csv, big_csv.read_bytes()
    header_end = body.index(b"\n") + 1
    whole, answer = _timed_run(["compute", str(path)], env)
    while whole - start_up < 1.0 and path.stat().st_size < 400e6:
        path = tmp_path / f"longer{path.stat().st_size}.csv"
        path.write_bytes(body[:header_end] + body[header_end:] * 4)
        body = path.read_bytes()
        whole, answer = _timed_run(["compute", str(path)], env)
    interrupted = 0
    for attempt in range(10):
        process = subprocess.Popen([sys.executable, "-m", "xentropy_cli", "compute", str(path)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                   start_new_session=True)
        time.sleep(start_up + (whole - start_up) * (0.15 + 0.06 * attempt))
        if process.poll() is not None:  # finished before the signal: nothing to test this time
            process.communicate()
            continue
        os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
        out, err = process.communicate(timeout=60)
        if process.returncode == 0:  # the signal came as the finished run was leaving (a loaded
            assert out == answer and err == b"", (attempt, out, err)  # machine): the whole answer
            continue
        # Otherwise never a success: 130, or (a signal that came while the finished run was
        # shutting down, after its output) death by SIGINT, which a shell reports as 130 too.
        assert process.returncode in (130, -signal.SIGINT), (attempt, process.returncode, out, err)
        assert b"Traceback" not in err
        if process.returncode == 130:
            assert out == b"", (attempt, out, err)
            interrupted += 1
    assert interrupted >= 5, "the runs ended too soon to be interrupted"


# --- Parquet without Dask ------------------------------------------------------------------------

def test_one_parquet_file_is_read_in_memory_without_dask(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(5)
    y = np.eye(3)[rng.integers(0, 3, 50)]
    p = rng.dirichlet(np.ones(3), 50).astype(np.float32)
    table = pa.table({**{f"true_{j}": y[:, j] for j in range(3)}, **{f"pred_{j}": p[:, j] for j in range(3)}})
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=16)
    np.savez(tmp_path / "p.npz", y_true=y, y_pred=p)
    got = io.read([str(tmp_path / "p.parquet")])
    assert got.y_pred.dtype == np.float32 and got.y_pred.tobytes() == p.tobytes()
    want = pipeline.run(io.read([str(tmp_path / "p.npz")]), profiles.get("keras"))
    result = CliRunner().invoke(app, ["compute", str(tmp_path / "p.parquet"), "--keras-compat",
                                      "-f", "plain"])
    assert result.exit_code == 0 and float(result.stdout) == want.value
    bad = CliRunner().invoke(app, ["compute", str(tmp_path / "p.npz"), "--input-format", "parquet"])
    assert bad.exit_code == 1 and "p.npz" in bad.stderr and "Parquet" in bad.stderr


# --- Dask: fail fast and quietly, bounded, nothing left behind -----------------------------------

def _xent(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "xentropy_cli", *args], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=timeout)


def _shard(tmp_path):
    return write_csv(tmp_path / "shard.csv", 40, seed=6)


@pytest.mark.parametrize("address,message", [
    ("not a url", "is not a Dask scheduler address"),
    ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler at tcp://127.0.0.1:1"),
])
def test_a_bad_scheduler_fails_at_once_with_one_line(tmp_path, address, message):
    pytest.importorskip("distributed")
    started = time.monotonic()
    result = _xent("compute", str(_shard(tmp_path)), "--engine", "dask", "--scheduler", address)
    assert time.monotonic() - started < 15  # Dask alone: 15 s of retries, then 30 s in Client.__del__
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("xent: error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_workers_beyond_four_per_core_are_refused(tmp_path):
    pytest.importorskip("distributed")
    limit = 4 * pool.cores()
    result = CliRunner().invoke(app, ["compute", str(_shard(tmp_path)), "--engine", "dask",
                                      "--workers", str(limit + 1)])
    assert result.exit_code == 2 and f"give at most {limit}" in result.stderr


def test_a_local_cluster_leaves_no_scratch_space_behind(tmp_path):
    pytest.importorskip("distributed")
    temp = tmp_path / "tmp"
    temp.mkdir()
    shard = _shard(tmp_path)
    result = _xent("compute", str(shard), "--engine", "dask", "--workers", "1", "-f", "plain",
                   env={"TMPDIR": str(temp)})
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pipeline.run(io.read([str(shard)]), profiles.get("naive")).value
    assert list(temp.iterdir()) == []  # no dask-scratch-space, no xent-dask-* folder


@pytest.mark.parametrize("broken", ["raise ImportError('half uninstalled')\n", ""],
                         ids=["import-fails", "no-utils"])
def test_an_llvmlite_that_does_not_import_leaves_the_other_readers(tmp_path, broken):
    """An llvmlite whose import fails, or one without llvmlite.utils (where the preload looks for
    the library's name): the auto reader streams with another parser, XENT_READER=llvmlite is a
    usage error, never an internal error."""
    package = tmp_path / "site" / "llvmlite"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(broken)
    path = tmp_path / "p.csv"
    path.write_bytes((ROOT / "samples" / "keras_question.csv").read_bytes())
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), XENT_STREAM_MIN_BYTES="0")
    want = subprocess.run([sys.executable, "-m", "xentropy_cli", "compute", str(path)], capture_output=True,
                          env=dict(env, XENT_READER="numpy"), timeout=120)
    assert want.returncode == 0 and want.stdout
    auto = subprocess.run([sys.executable, "-m", "xentropy_cli", "compute", str(path)], capture_output=True,
                          env=dict(env, XENT_READER="auto"), timeout=120)
    assert (auto.returncode, auto.stdout, auto.stderr) == (0, want.stdout, want.stderr)
    named = subprocess.run([sys.executable, "-m", "xentropy_cli", "compute", str(path)], capture_output=True,
                           env=dict(env, XENT_READER="llvmlite"), timeout=120)
    if broken:
        assert named.returncode == 2 and named.stderr.startswith(b"xent: error: XENT_READER=llvmlite needs")
    else:  # no version to check: tried, and its chunks left to numpy
        assert (named.returncode, named.stdout) == (0, want.stdout)
    assert b"internal error" not in auto.stderr + named.stderr
