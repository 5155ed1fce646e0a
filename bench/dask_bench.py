#!/usr/bin/env python3
"""--engine dask on a LocalCluster of 2 worker processes against single-process streaming, on the
same 10,000,000 rows (bench/run.py's big_1m.csv ten times: 10 one-hot + 10 probability columns).

Usage (from the repository root, with the dask extra installed: pip install -e '.[dask]'):

    python3 bench/dask_bench.py                  # best of 1 run each
    python3 bench/dask_bench.py --repeat 3 --profile keras

Data (generated once under bench/data/, git-ignored): big_1m.csv and big_10m.csv as bench/run.py
makes them; bench/data/dask/csv/part-0…9.csv (hard links to big_1m.csv, so no extra disk) and
bench/data/dask/parquet/part-0…9.parquet (big_1m.csv converted once with pyarrow, then linked).
The rows, and so the values, are the same in every run: the script checks that they agree.

Runs, each a fresh `xent compute` process (wall time includes start-up and, for dask, starting
and stopping the cluster):

- stream ×1: `XENT_WORKERS=1 xent compute big_10m.csv` (engines.stream, one process)
- stream ×2: the same with XENT_WORKERS=2 (two processes)
- dask parquet: `xent compute bench/data/dask/parquet --engine dask --workers 2`
- dask csv: `xent compute bench/data/dask/csv --engine dask --workers 2`
- dask start-up: `--engine dask --workers 2` on one 1,000-row CSV (the cluster's fixed cost)

Nothing here asserts a time; it prints a table (see bench/DASK.md for measured numbers).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIG, DATA, HUGE, ROOT, ensure_data, env_with, timed, warm, xent_command  # noqa: E402

SHARDS = 10
DASK = DATA / "dask"


def link_or_copy(source: Path, target: Path) -> None:
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        import shutil

        shutil.copyfile(source, target)


def ensure_shards() -> tuple[Path, Path, Path]:
    """10 CSV and 10 Parquet shards of big_1m.csv's rows, and a 1,000-row CSV."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_dir, parquet_dir, tiny_dir = DASK / "csv", DASK / "parquet", DASK / "tiny"
    for folder in (csv_dir, parquet_dir, tiny_dir):
        folder.mkdir(parents=True, exist_ok=True)
    first = parquet_dir / "part-0.parquet"
    if not first.exists():
        print(f"converting {BIG.relative_to(ROOT)} to Parquet …", flush=True)
        pq.write_table(pacsv.read_csv(BIG), first.with_suffix(".tmp"))
        first.with_suffix(".tmp").replace(first)
    for i in range(SHARDS):
        link_or_copy(BIG, csv_dir / f"part-{i}.csv")
        link_or_copy(first, parquet_dir / f"part-{i}.parquet")
    tiny = tiny_dir / "tiny.csv"
    if not tiny.exists():
        with open(BIG) as src:
            tiny.write_text("".join(src.readline() for _ in range(1001)))
    return csv_dir, parquet_dir, tiny


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best is shown")
    parser.add_argument("--profile", default="naive", help="the xent profile (default naive)")
    parser.add_argument("--workers", type=int, default=2, help="dask worker processes (default 2)")
    args = parser.parse_args()

    ensure_data()
    csv_dir, parquet_dir, tiny = ensure_shards()
    for path in (HUGE, BIG, parquet_dir / "part-0.parquet"):
        warm(path)
    xent = xent_command(sys.executable)
    profile = ["-P", args.profile, "-q"]
    dask = ["--engine", "dask", "--workers", str(args.workers)]
    runs = {
        "stream ×1 (one process)": ([*xent, "compute", str(HUGE), *profile], env_with(XENT_WORKERS="1")),
        "stream ×2 (two processes)": ([*xent, "compute", str(HUGE), *profile], env_with(XENT_WORKERS="2")),
        f"dask parquet, LocalCluster({args.workers})": ([*xent, "compute", str(parquet_dir), *profile,
                                                         *dask], None),
        f"dask csv, LocalCluster({args.workers})": ([*xent, "compute", str(csv_dir), *profile, *dask],
                                                    None),
        "dask start-up (1,000 rows)": ([*xent, "compute", str(tiny), *profile, *dask], None),
    }
    results: dict[str, tuple[float, float, str]] = {}
    for _ in range(args.repeat):
        for name, (cmd, env) in runs.items():
            print(f"running {name} …", file=sys.stderr, flush=True)
            wall, cpu, text = timed(cmd, env)
            if name not in results or wall < results[name][0]:
                results[name] = (wall, cpu, text)
    values = {text for name, (_, _, text) in results.items() if "start-up" not in name}
    agree = "agree" if len(values) == 1 else "DIFFER: " + ", ".join(sorted(values))
    print(f"\nprofile {args.profile}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"best of {args.repeat}; values {agree}\n")
    print(f"{'run':<34} {'rows':>12} {'wall s':>8} {'rows/s':>11} {'CPU s':>7}  value")
    for name, (wall, cpu, text) in results.items():
        rows = 1_000 if "start-up" in name else 10_000_000
        print(f"{name:<34} {rows:>12,} {wall:>8.2f} {rows / wall:>11,.0f} {cpu:>7.2f}  {text}")


if __name__ == "__main__":
    main()
