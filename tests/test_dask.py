"""--engine dask on a LocalCluster of 2 worker processes: the same numbers as one in-memory run.

Shards are generated here (8 × 100,000 rows, Parquet and CSV). The reference is the in-memory
pipeline on the concatenated rows, and for `naive` also the textbook formula in numpy.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="--engine dask needs the dask extra "
                                                        "(pip install 'xentropy-cli[dask]')")
pa = pytest.importorskip("pyarrow", reason="Parquet shards need pyarrow (the dask extra)")
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from xentropy_cli.cli import app  # noqa: E402
from xentropy_cli.core import pipeline, profiles  # noqa: E402
from xentropy_cli.core.types import Inputs, Options  # noqa: E402
from xentropy_cli.engines import dask as engine  # noqa: E402
from xentropy_cli.errors import DataError  # noqa: E402

SHARDS, ROWS, K = 8, 100_000, 3
# Rows (global, 0-based) whose true class gets p = 1e-9: Keras clips it to 1e-7, naive does not.
PLANTED = (150_003, 420_000, 799_999)


# --- data --------------------------------------------------------------------------------------

def _columns(y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> dict[str, np.ndarray]:
    cols = {f"true_{k}": y[:, k] for k in range(y.shape[1])}
    cols |= {f"pred_{k}": p[:, k] for k in range(p.shape[1])}
    return cols | ({"weight": w} if w is not None else {})


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Shortest round-trip decimals, so the CSV holds exactly the float64 values."""
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    pacsv.write_csv(pa.table(columns), str(path), options)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = SHARDS * ROWS
    labels = rng.integers(0, K, n)
    y = np.eye(K)[labels]
    p = rng.dirichlet(np.ones(K), n)
    for row in PLANTED:  # a true-class probability of 1e-9, the rest split evenly
        p[row] = (1 - 1e-9) / (K - 1)
        p[row, labels[row]] = 1e-9
    w = np.round(rng.random(n) * 2, 6)
    root = tmp_path_factory.mktemp("shards")
    (root / "parquet").mkdir()
    (root / "csv").mkdir()
    for s in range(SHARDS):
        part = slice(s * ROWS, (s + 1) * ROWS)
        columns = _columns(y[part], p[part], w[part])
        # two row groups per file: the engine may cut a file between them
        pq.write_table(pa.table(columns), str(root / "parquet" / f"part-{s}.parquet"),
                       row_group_size=ROWS // 2)
        _write_csv(root / "csv" / f"part-{s}.csv", columns)
    return {"root": root, "y": y, "p": p, "w": w, "labels": labels}


@pytest.fixture(scope="module")
def client():
    import dask
    from distributed import Client, LocalCluster

    with warnings.catch_warnings(), dask.config.set(engine.LOCAL_CONFIG):
        # another cluster on this machine may hold port 8787
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1", silence_logs=50)
    with cluster, Client(cluster, set_as_default=False) as c:
        yield c


def _reference(data, profile: str, options: Options | None = None):
    inputs = Inputs(data["y"], data["p"], data["w"], source="all.csv")
    return pipeline.run(inputs, profiles.get(profile), options or Options())


def _shards(data, fmt: str, rows_per_shard: int = engine.ROWS_PER_SHARD):
    pattern = str(data["root"] / fmt / f"*.{fmt}")
    return engine.plan(engine.expand([pattern]), rows_per_shard)


def _job(profile: str, **extra) -> engine.Job:
    return engine.Job(profile=profile, options=extra.pop("options", Options()), **extra)


def _invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result


# --- equality with one in-memory run -----------------------------------------------------------

def test_naive_value_is_the_textbook_formula_over_all_shards(data, client):
    shards = _shards(data, "parquet", rows_per_shard=ROWS // 2)  # 16 shards: files cut in two
    assert len(shards) == 16 and shards[1].file_row == ROWS // 2 and shards[1].row_groups == (1,)
    run = engine.execute(client, shards, _job("naive"))
    # by hand: l = −Σ y·log p, weighted, summed exactly (math.fsum), ÷ N
    per = -np.sum(data["y"] * np.log(data["p"]), axis=1) * data["w"]
    expected = math.fsum(per.tolist()) / (SHARDS * ROWS)
    assert run.result.n_samples == 800_000
    assert abs(run.result.value - expected) <= 1e-12 * expected
    assert run.result.value == _reference(data, "naive").value  # and bit for bit the in-memory run


@pytest.mark.parametrize("profile", ["keras", "keras-torch", "tf-keras", "sklearn"])
def test_parquet_value_is_bit_identical_to_one_run(data, client, profile):
    """float32 (keras, keras-torch) included: the bound is 0 ulp, since core.sums rounds Σ w·l
    exactly above 65,536 rows, however the rows are cut into shards."""
    expected = _reference(data, profile)
    run = engine.execute(client, _shards(data, "parquet"), _job(profile))
    assert run.result.value == expected.value
    assert run.result.dtype == expected.dtype == ("float32" if profile.startswith("keras") else "float64")
    assert run.result.n_samples == expected.n_samples == 800_000


def test_csv_shards_per_sample_and_value_match_one_run(data, client):
    """Per-sample w·l bit for bit, in shard order; the keras (float32) value bit for bit."""
    sink = engine._CollectSink()
    run = engine.execute(client, _shards(data, "csv"), _job("keras", per_sample=True), sink)
    expected = _reference(data, "keras")
    got = sink.array(run.result.dtype)
    assert got.dtype == np.float32 and got.shape == (800_000,)
    assert np.array_equal(got.view(np.uint32), expected.per_sample.view(np.uint32))
    assert run.result.value == expected.value
    got_notices = {n.code: n for n in run.result.notices}
    want_notices = {n.code: n for n in expected.notices}
    assert got_notices["clipped"] == want_notices["clipped"]  # count, message and global rows
    assert {r + 1 for r in PLANTED} <= set(got_notices["clipped"].rows)


def test_cli_streams_per_sample_csv_in_shard_order(data, client):
    result = _invoke("compute", data["root"] / "parquet", "--engine", "dask", "--scheduler",
                     client.scheduler.address, "--reduction", "none", "--format", "csv", "-q")
    assert result.exit_code == 0, result.stderr
    expected = _reference(data, "naive", Options(reduction="none")).per_sample
    lines = result.stdout.splitlines()
    assert lines[0] == "sample,loss" and len(lines) == 800_001
    for i in (0, 99_999, 100_000, 420_000, 799_999):  # across shard boundaries
        assert lines[i + 1] == f"{i + 1},{float(expected[i])!r}"
    assert result.stderr == ""  # no progress line when stderr is not a terminal


def test_folder_output_is_one_file_per_shard_as_a_single_run_writes_it(data, client, tmp_path):
    out = tmp_path / "out"
    result = _invoke("compute", data["root"] / "csv" / "part-[34].csv", "--engine", "dask",
                     "--scheduler", client.scheduler.address, "--reduction", "none",
                     "--format", "csv", "--output", out, "-P", "keras", "-q")
    assert result.exit_code == 0, result.stderr
    assert sorted(os.listdir(out)) == ["part-3.csv", "part-4.csv"]
    single = _invoke("compute", data["root"] / "csv" / "part-4.csv", "--reduction", "none",
                     "--format", "csv", "-P", "keras", "-q")
    assert (out / "part-4.csv").read_text() == single.stdout
    assert single.stdout.splitlines()[20_001] == f"20001,{float(_keras_row(data, 420_000))!r}"


def _keras_row(data, row: int) -> float:
    """Keras on the planted row by hand: clipped to float32(1e-7), weight w (float32)."""
    w = np.float32(data["w"][row])
    return float(np.float32(-np.log(np.float32(1e-7))) * w)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("profile, dtype", [("keras", np.uint32), ("tf-keras", np.uint64),
                                            ("keras-jax", np.uint32)])
def test_shards_of_any_length_give_the_losses_of_one_tensor(tmp_path, client, fmt, profile, dtype):
    """TensorFlow logs the flat tensor's last n mod 8 cells (float64: mod 4) on a scalar path, so
    a row's loss depends on where the tensor ends: the engine computes each shard where it sits."""
    rng = np.random.default_rng(13)  # a seed whose shard ends reach the scalar path (checked below)
    sizes = (1001, 1003, 998)  # 3 cells a row: no shard ends on a multiple of 8 cells
    y = np.eye(3)[rng.integers(0, 3, sum(sizes))]
    p = rng.dirichlet(np.ones(3), sum(sizes))
    start = 0
    for i, size in enumerate(sizes):
        columns = _columns(y[start:start + size], p[start:start + size], None)
        if fmt == "csv":
            _write_csv(tmp_path / f"s{i}.csv", columns)
        else:
            pq.write_table(pa.table(columns), str(tmp_path / f"s{i}.parquet"))
        start += size
    chosen = profiles.get(profile)
    expected = pipeline.run(Inputs(y, p), chosen, Options(reduction="none")).per_sample
    one_by_one = np.concatenate([pipeline.run(Inputs(y[a:a + n], p[a:a + n]), chosen,
                                              Options(reduction="none")).per_sample
                                 for a, n in ((0, 1001), (1001, 1003), (2004, 998))])
    assert not np.array_equal(one_by_one, expected)  # this data does reach the scalar path
    sink = engine._CollectSink()
    shards = engine.plan(engine.expand([str(tmp_path)]))
    run = engine.execute(client, shards, _job(profile, per_sample=True), sink)
    assert np.array_equal(sink.array(run.result.dtype).view(dtype), expected.view(dtype))
    assert run.result.value == pipeline.run(Inputs(y, p), chosen).value


# --- explain -----------------------------------------------------------------------------------

def test_explain_shows_the_rows_that_matter_most_across_shards(data, client):
    result = _invoke("explain", data["root"] / "parquet", "--engine", "dask", "--scheduler",
                     client.scheduler.address, "--rows", "3", "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows_read"] == 800_000 and report["engine"]["shards"] == 8
    assert [r["file_row"] for r in report["rows_shown"]] == [150_004, 420_001, 800_000]
    wheres = [r["where"] for r in report["rows_shown"]]
    assert wheres == [f"{data['root'] / 'parquet' / 'part-1.parquet'}:50004 (row 150,004 of all)",
                      f"{data['root'] / 'parquet' / 'part-4.parquet'}:20001 (row 420,001 of all)",
                      f"{data['root'] / 'parquet' / 'part-7.parquet'}:100000 (row 800,000 of all)"]
    # by hand: keras clips 1e-9 to 1e-7 (−ln float32(1e-7) = 16.11809539794922), naive takes
    # −ln 1e-9 = 20.72326583694641; each row's share is w·(l_keras − l_naive) ÷ N
    for k, row in enumerate(PLANTED):
        w = data["w"][row]
        expected = (float(np.float32(16.11809539794922) * np.float32(w)) - 20.72326583694641 * w) / 8e5
        assert report["divergence"]["contributions"][k] == pytest.approx(expected, rel=1e-6)
    assert report["value"] == engine.execute(client, _shards(data, "parquet"), _job("keras")).result.value


def test_explain_ranks_rows_by_their_share_of_all_rows_when_the_divisors_differ(tmp_path, client):
    """keras divides by N, sklearn by Σ w: the shards are ranked again with both global divisors,
    and the rows, contributions and account are those of one explain on the concatenated file."""
    rng = np.random.default_rng(3)
    n = 90
    y = np.eye(3)[rng.integers(0, 3, n)]
    p = np.round(rng.dirichlet(np.ones(3), n), 4)  # rounded: rows sum to 1 ± 1e-4, so keras renormalises
    w = np.round(rng.random(n) * 3, 3)
    columns = _columns(y, p, w)
    _write_csv(tmp_path / "all.csv", columns)
    (tmp_path / "shards").mkdir()
    for i in range(3):
        _write_csv(tmp_path / "shards" / f"s{i}.csv", {k: v[30 * i:30 * i + 30] for k, v in columns.items()})
    args = ["--rows", "4", "-P", "keras", "--against", "sklearn", "--format", "json", "-q"]
    single = json.loads(_invoke("explain", tmp_path / "all.csv", *args).stdout)
    result = _invoke("explain", tmp_path / "shards", "--engine", "dask", "--scheduler",
                     client.scheduler.address, *args)
    assert result.exit_code == 0, result.stderr
    dask = json.loads(result.stdout)
    # the same rows as one explain of the whole file (which ranks all 90 rows in memory)
    top = [r["file_row"] for r in single["rows_shown"]]
    assert [r["file_row"] for r in dask["rows_shown"]] == top
    assert [r["where"].split(" (row ")[1] for r in dask["rows_shown"]] == [f"{t:,} of all)" for t in top]
    assert dask["divergence"]["contributions"] == single["divergence"]["contributions"]
    assert (dask["value"], dask["against"]["value"]) == (single["value"], single["against"]["value"])
    assert dask["divergence"]["stage"] == single["divergence"]["stage"] == "normalise"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_compare_reads_every_shard_once_and_gives_the_single_file_rows(tmp_path, client, fmt):
    """compare --engine dask: every profile per block of each shard, combined by the driver; the
    same values, first differences and gaps as compare on the concatenated file."""
    rng = np.random.default_rng(4)
    n = 90
    y = np.eye(3)[rng.integers(0, 3, n)]
    p = np.round(rng.dirichlet(np.ones(3), n), 4)
    p[7] = [1e-9, 0.5, 0.5 - 1e-9]
    w = np.round(rng.random(n) * 3, 3)
    columns = _columns(y, p, w)
    _write_csv(tmp_path / "all.csv", columns)
    (tmp_path / "shards").mkdir()
    for i in range(3):
        part = {k: v[30 * i:30 * i + 30] for k, v in columns.items()}
        if fmt == "csv":
            _write_csv(tmp_path / "shards" / f"s{i}.csv", part)
        else:
            pq.write_table(pa.table(part), str(tmp_path / "shards" / f"s{i}.parquet"))
    args = ["--all", "--format", "json", "-q"]
    single = json.loads(_invoke("compare", tmp_path / "all.csv", *args).stdout)
    result = _invoke("compare", tmp_path / "shards", "--engine", "dask", "--scheduler",
                     client.scheduler.address, *args)
    assert result.exit_code == 0, result.stderr
    dask = json.loads(result.stdout)
    assert dask["n_samples"] == 90 and dask["reader"] == "dask"
    for a, b in zip(dask["rows"], single["rows"], strict=True):
        assert {k: a[k] for k in ("profile", "status", "value", "first_difference", "max_gap")} == \
            {k: b[k] for k in ("profile", "status", "value", "first_difference", "max_gap")}
    keras = next(r for r in dask["rows"] if r["profile"] == "keras")
    assert keras["first_difference"] == "normalise"  # rows sum to 1 ± 1e-4: keras divides


# --- faults ------------------------------------------------------------------------------------

def test_a_worker_killed_mid_run_gives_the_same_number(data, client):
    """The first shard's result arrives; then a worker process dies (os._exit) while the others
    are pending or held in its memory: Dask runs them again, and the value does not change."""
    killed = threading.Event()
    before = set(client.scheduler_info()["workers"])

    def kill_one_worker(shard, part, per_sample, first_row):
        if not killed.is_set():
            killed.set()
            victim = sorted(client.scheduler_info()["workers"])[0]
            try:
                client.run(os._exit, 1, workers=[victim])
            except Exception:  # the connection to the killed worker closes
                pass

    run = engine.execute(client, _shards(data, "parquet"), _job("keras", per_sample=True),
                         kill_one_worker)
    assert killed.is_set()
    assert run.result.value == _reference(data, "keras").value
    client.wait_for_workers(2, timeout=60)
    assert set(client.scheduler_info()["workers"]) != before  # one worker process was replaced


def test_killed_worker_is_one_clear_error():
    from distributed.scheduler import KilledWorker

    class Done:
        def result(self):
            raise KilledWorker("run_shard-1", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)

    driver = engine._Driver.__new__(engine._Driver)
    driver.sink, driver.written = None, 0
    with pytest.raises(engine.ShardFailed) as caught:
        driver.result_of(Done())
    assert "no value is printed, since it would not cover every shard" in caught.value.message
    assert caught.value.exit_code == 1


@pytest.fixture()
def small(tmp_path):
    """Three small CSV shards, good ones: y (one-hot), p, weight."""
    folder = tmp_path / "small"
    folder.mkdir()
    y = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    p = np.array([[.7, .2, .1], [.1, .8, .1], [.2, .2, .6], [.5, .25, .25], [.3, .4, .3], [.1, .1, .8]])
    for s in range(3):
        _write_csv(folder / f"s{s}.csv", _columns(y[2 * s:2 * s + 2], p[2 * s:2 * s + 2], None))
    return folder


HEADER = "true_0,true_1,true_2,pred_0,pred_1,pred_2\n"


@pytest.mark.parametrize("name, content, message", [
    ("s1.csv", "true_0,true_1,true_2,p0,p1,p2\n1,0,0,0.5,0.25,0.25\n",
     "s1.csv: no y_pred columns among 'true_0', 'true_1', 'true_2', 'p0', 'p1', 'p2'"),
    ("s1.csv", "true_0,true_1,pred_0,pred_1\n1,0,0.5,0.5\n",  # fine alone, not beside the others
     "s1.csv: has columns y_true [true_0, true_1], y_pred [pred_0, pred_1] but {root}/s0.csv has "
     "y_true [true_0, true_1, true_2], y_pred [pred_0, pred_1, pred_2]"),
    ("s2.csv", HEADER + "1,0,0,0.5,0.25,0.25\n0,1,0,0.5,abc,0.25\n",
     "s2.csv:3:11: column pred_1 is 'abc', not a number"),
    ("s2.csv", HEADER + "1,0,0,0.5,0.25,0.25\n0,1,0,0.5,0.5\n",
     "s2.csv:3: row has 5 fields but the header has 6"),
])
def test_a_bad_shard_is_named_with_its_file_and_row(small, client, name, content, message):
    (small / name).write_text(content)
    result = _invoke("compute", small, "--engine", "dask", "--scheduler", client.scheduler.address)
    assert result.exit_code == 1
    assert result.stdout == ""  # no number that covers only some shards
    assert result.stderr.startswith(f"xent: error: {small}/" + message.format(root=small))


def test_a_bad_cell_deep_in_a_large_csv_shard_names_its_line(data, tmp_path, client):
    lines = (data["root"] / "csv" / "part-2.csv").read_text().splitlines(keepends=True)
    cells = lines[70_001].split(",")  # line 70,002 of the file: the second block of 65,536 rows
    cells[4] = "abc"
    lines[70_001] = ",".join(cells)
    (tmp_path / "part-2.csv").write_text("".join(lines))
    (tmp_path / "part-1.csv").write_text("".join(lines[:1000]))
    with pytest.raises(DataError) as caught:
        engine.execute(client, engine.plan(engine.expand([str(tmp_path)])), _job("naive"))
    assert caught.value.one_line().startswith(f"{tmp_path / 'part-2.csv'}:70002:25: column pred_1 is 'abc', "
                                              "not a number")


def test_quoted_csv_shards_are_read_by_the_in_memory_reader(small, client):
    text = (small / "s1.csv").read_text().splitlines(keepends=True)
    (small / "s1.csv").write_text('"' + text[0].rstrip("\n").replace(",", '","') + '"\n' + "".join(text[1:]))
    run = engine.execute(client, engine.plan(engine.expand([str(small)])), _job("naive"))
    # by hand: −(ln .7 + ln .8 + ln .6 + ln .5 + ln .4 + ln .8) ÷ 6
    expected = -sum(math.log(x) for x in (.7, .8, .6, .5, .4, .8)) / 6
    assert run.result.value == pytest.approx(expected, rel=1e-15)


def test_a_bad_parquet_cell_names_its_row_in_the_file(tmp_path, client):
    cells = ["0.5"] * 6
    cells[3] = "n/a"
    table = pa.table({"label": [0, 1, 0, 1, 0, 1], "pred_0": ["0.5"] * 6, "pred_1": cells})
    pq.write_table(table, str(tmp_path / "a.parquet"), row_group_size=2)
    shards = engine.plan(engine.expand([str(tmp_path)]), rows_per_shard=2)
    assert [s.file_row for s in shards] == [0, 2, 4]
    with pytest.raises(DataError) as caught:
        engine.execute(client, shards, _job("naive"))
    assert caught.value.one_line().startswith(f"{tmp_path / 'a.parquet'}:4: column pred_1 is 'n/a', "
                                              "not a number")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_nan_and_inf_shards_give_the_in_memory_losses_and_warnings(tmp_path, client, fmt):
    """Seeded nan/±inf cells in targets, predictions and weights (CSV: as np.savetxt and Python
    write them; Parquet: float64 columns, and string columns of those words in one shard): per
    sample w·l bit for bit with one in-memory run, and the same warnings, per input."""
    rng = np.random.default_rng(17)
    n, sizes = 1500, (500, 700, 300)
    y = np.eye(3)[rng.integers(0, 3, n)]
    p = rng.dirichlet(np.ones(3), n)
    w = rng.random(n) * 2
    for a in (y, p, w.reshape(-1, 1)):
        hits = rng.random(a.shape) < 0.01
        a[hits] = rng.choice([np.nan, np.inf, -np.inf], int(hits.sum()))
    columns, start = _columns(y, p, w), 0
    for i, size in enumerate(sizes):
        part = {k: v[start:start + size] for k, v in columns.items()}
        if fmt == "csv":
            text = ",".join(part) + "\n" + "".join(
                ",".join(repr(float(part[k][r])) for k in part) + "\n" for r in range(size))
            (tmp_path / f"s{i}.csv").write_text(text.replace("nan", "NaN" if i == 1 else "nan"))
        else:
            if i == 2:  # text cells, as a CSV-to-Parquet conversion may leave them
                part = {k: pa.array([repr(float(x)) for x in v]) for k, v in part.items()}
            pq.write_table(pa.table(part), str(tmp_path / f"s{i}.parquet"))
        start += size
    expected = pipeline.run(Inputs(y, p, w), profiles.get("keras"), Options(reduction="none"))
    sink = engine._CollectSink()
    run = engine.execute(client, engine.plan(engine.expand([str(tmp_path)])),
                         _job("keras", per_sample=True), sink)
    got = sink.array(run.result.dtype)
    assert np.array_equal(got.view(np.uint32), expected.per_sample.view(np.uint32))
    assert np.isnan(run.result.value)
    def key(notice):  # non_finite: one warning per input it names
        return notice.code, notice.texts[:1] if notice.code == "non_finite" else ()

    got_notices = {key(m): m.rows for m in run.result.notices}
    want_notices = {key(m): m.rows for m in expected.notices}
    assert got_notices == want_notices
    assert {("non_finite", ("y_pred",)), ("non_finite", ("y_true",)),
            ("non_finite", ("sample_weight",))} <= set(got_notices)


# --- decisions taken over all rows, as one run takes them -------------------------------------

def test_auto_loss_is_binary_everywhere_when_one_shard_is_multi_label(small, client):
    # two multi-hot rows (one odd row alone never changes the kind: issue 16)
    (small / "s2.csv").write_text(HEADER + "1,1,0,.6,.3,.1\n0,1,1,.1,.1,.8\n")
    shards = engine.plan(engine.expand([str(small)]))
    run = engine.execute(client, shards, _job("naive", per_sample=True), sink := engine._CollectSink())
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 1, 0], [0, 1, 1]], float)
    p = np.array([[.7, .2, .1], [.1, .8, .1], [.2, .2, .6], [.5, .25, .25], [.6, .3, .1], [.1, .1, .8]])
    # by hand: binary cross-entropy, mean over the 3 outputs, then over the 6 rows
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)
    assert run.result.kind == "binary" and run.result.kind_reason.startswith("y_true rows do not sum")
    np.testing.assert_allclose(sink.array("float64"), bce, rtol=1e-15)
    assert run.result.value == pipeline.run(Inputs(y, p), profiles.get("naive")).value


def test_sklearn_takes_its_classes_from_every_shard(tmp_path, client):
    (tmp_path / "a.csv").write_text("label,pred_0,pred_1,pred_2\n0,.7,.2,.1\n1,.2,.7,.1\n")
    (tmp_path / "b.csv").write_text("label,pred_0,pred_1,pred_2\n2,.1,.1,.8\n")
    run = engine.execute(client, engine.plan(engine.expand([str(tmp_path / "*.csv")])), _job("sklearn"))
    # by hand: −(ln .7 + ln .7 + ln .8) ÷ 3 (shard b alone has one class; all shards have three)
    assert run.result.value == pytest.approx(-(2 * math.log(.7) + math.log(.8)) / 3, rel=1e-15)


# --- the command line around it ----------------------------------------------------------------

def test_version_does_not_import_dask():
    code = ("import sys\nfrom xentropy_cli.cli import app\ntry:\n    app(['--version'])\n"
            "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed', 'pyarrow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0].startswith("xent ")
    assert out.stdout.splitlines()[-1] == "[]"  # no dask, distributed or pyarrow module loaded


def test_without_scheduler_a_local_cluster_is_started_and_stopped(small):
    result = _invoke("compute", small, "--engine", "dask", "--workers", "1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    # by hand: −(ln .7 + ln .8 + ln .6 + ln .5 + ln .4 + ln .8) ÷ 6
    expected = -sum(math.log(x) for x in (.7, .8, .6, .5, .4, .8)) / 6
    assert json.loads(result.stdout)["value"] == pytest.approx(expected, rel=1e-15)
    assert json.loads(result.stdout)["n_samples"] == 6


def test_engine_options_are_checked_before_a_cluster_starts(tmp_path):
    assert "--scheduler and --workers need --engine dask" in _invoke(
        "compute", "x.csv", "--workers", "2").stderr
    result = _invoke("compute", "-t", "[[1,0]]", "-p", "[[.5,.5]]", "--engine", "dask")
    assert result.exit_code == 2 and "--engine dask reads shard files, not -t/-p" in result.stderr
    result = _invoke("compute", str(tmp_path / "nothing-*.parquet"), "--engine", "dask")
    assert result.exit_code == 2 and "matches no file" in result.stderr


def test_progress_counts_shards_and_rows_on_a_terminal():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = engine.Progress(8, True, stream, start=0.0)
    progress.update(3, 300_000)
    assert stream.getvalue().startswith("\rxent: dask: 3/8 shards, 300,000 rows, ")


def test_csv_shards_are_parsed_by_the_reader_the_stream_would_choose(tmp_path, monkeypatch):
    """With llvmlite installed (the fast extra), a CSV shard's chunks go through the compiled
    parser, as a streamed file's do; the values are the in-memory reader's."""
    from xentropy_cli.engines.dask import shards
    from xentropy_cli.io import jitcsv

    if not jitcsv.available():
        pytest.skip("llvmlite (the fast extra) is not installed")
    read: list[int] = []
    original = jitcsv.Jit.parse
    monkeypatch.setattr(jitcsv.Jit, "parse",
                        lambda self, data: read.append(len(data)) or original(self, data))
    path = tmp_path / "s.csv"
    path.write_text("label,prob_0,prob_1\n1,0.25,0.75\n0,0.5,0.5\n1,0.125,0.875\n")
    job = shards.Job(profile="naive", options=Options())
    blocks = list(shards.delimited_blocks(shards.Shard(0, str(path), "csv"), job, None))
    assert read and blocks[0][1].y_pred.tolist() == [[0.25, 0.75], [0.5, 0.5], [0.125, 0.875]]
