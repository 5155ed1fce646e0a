#!/usr/bin/env python3
"""`xent compare` on a 1M-row CSV: one pass for every profile, against N separate `xent compute` runs.

Usage (from the repository root, xent installed in this interpreter's environment):

    python3 bench/compare_bench.py               # best of 3, bench/data/big_1m.csv (made by bench/run.py)
    python3 bench/compare_bench.py --repeat 1 --huge   # also bench/data/big_10m.csv (10x the rows)

It prints, per file: the wall time of `xent compare FILE --all --format csv`, the summed wall time
of one `xent compute FILE --profile P --format plain` per profile, their ratio, and the peak memory
of `compare`: the largest sum of the resident memory of the process and all its worker processes,
sampled every 20 ms from /proc (Linux), and ru_maxrss (the largest single process). It checks
that every value `compare` prints equals the one `compute` prints, bit for bit.

Nothing here asserts a time; the memory bound (< 300 MB at any size, issue 16) is reported as
ok/over. bench/run.py (the perf helper's) generates the data; this script only reads it.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import run as bench_run  # noqa: E402  (bench/run.py: the data and the timing helpers)

PROFILES = ("naive", "keras", "keras-jax", "keras-torch", "keras-numpy", "tf-keras", "torch", "sklearn",
            "optax")
BOUND_MB = 300


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and every descendant, in MB (0 when it has gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


def measured(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall s, peak summed RSS MB of the process tree, ru_maxrss MB of the largest child, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=bench_run.env_with())
    peak = 0.0
    out_parts: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: out_parts.append(proc.stdout.read()))  # type: ignore
    reader.start()
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.02)
    reader.join()
    elapsed = time.perf_counter() - start
    err = proc.stderr.read()  # type: ignore[union-attr]
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-400:]}")
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak, maxrss, "".join(out_parts)


def bench(path: Path, repeat: int, xent: list[str]) -> dict:
    bench_run.warm(path)
    best_compare, peak, maxrss, text = float("inf"), 0.0, 0.0, ""
    for _ in range(repeat):
        elapsed, p, m, text = measured([*xent, "compare", str(path), "--all", "--format", "csv"])
        best_compare, peak, maxrss = min(best_compare, elapsed), max(peak, p), max(maxrss, m)
    values = {row["profile"]: row["value"] for row in csv.DictReader(io.StringIO(text))}
    separate, mismatches = 0.0, []
    for profile in PROFILES:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            done = subprocess.run([*xent, "compute", str(path), "--profile", profile, "--format", "plain",
                                   "-q"], capture_output=True, text=True, env=bench_run.env_with())
            best = min(best, time.perf_counter() - start)
        separate += best
        expected = done.stdout.strip() if done.returncode == 0 else ""
        if values.get(profile, "") != expected:
            mismatches.append(f"{profile}: compare {values.get(profile)!r} vs compute {expected!r}")
    return {"file": path.name, "rows": sum(1 for _ in open(path, "rb")) - 1, "compare": best_compare,
            "separate": separate, "peak": peak, "maxrss": maxrss, "mismatches": mismatches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--huge", action="store_true", help="also the 10M-row file (1.3 GB)")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    bench_run.DATA.mkdir(parents=True, exist_ok=True)
    if not bench_run.BIG.exists():
        bench_run.generate(1_000_000, bench_run.BIG)
    files = [bench_run.BIG]
    if args.huge:
        bench_run.ensure_data()
        files.append(bench_run.HUGE)
    xent = bench_run.xent_command(args.python)
    print(f"xent compare --all (one pass, {len(PROFILES)} profiles) vs one xent compute per profile; "
          f"best of {args.repeat}; {os.cpu_count()} cores")
    print(f"{'file':<16}{'rows':>12}{'compare s':>11}{'N computes s':>14}{'ratio':>7}"
          f"{'peak MB (tree)':>16}{'max proc MB':>13}  bound  values")
    for path in files:
        r = bench(path, args.repeat, xent)
        ok = "ok" if r["peak"] < BOUND_MB else "OVER"
        same = "equal" if not r["mismatches"] else "DIFFER: " + "; ".join(r["mismatches"])
        print(f"{r['file']:<16}{r['rows']:>12,}{r['compare']:>11.2f}{r['separate']:>14.2f}"
              f"{r['compare'] / r['separate']:>7.2f}{r['peak']:>16.0f}{r['maxrss']:>13.0f}  {ok:<5}  {same}")


if __name__ == "__main__":
    main()
