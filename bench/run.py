#!/usr/bin/env python3
"""xent's performance budget, measured: start-up, the files people have end to end, peak memory, maths.

Usage (from the repository root):

    python3 bench/run.py                          # everything, medians of 5 alternating runs
    python3 bench/run.py --only layouts --layout pandas_f32   # one section, one file layout
    python3 bench/run.py --only layouts --layout pandas_f32 --commands --repeat 3   # compare, explain
    python3 bench/run.py --only layouts --layout pandas_f32 --floors   # + pyarrow/polars alone
    python3 bench/run.py --data /tmp/xent-bench   # where the generated files go (~1.3 GB for 1M rows)

Sections: startup, layouts (the realistic files of bench/layouts.py, 1M rows each, against a fresh
pandas.read_csv + numpy process; ``--commands``: compare and explain instead of compute), memory
(peak RSS on 1M and 10M rows of the pandas-written file), maths. Every timed row alternates the
commands it compares, run by run, and reports medians with the load average before and after.

What it needs (it says which interpreters it found and skips what it cannot run):

- ``--python`` (default: this interpreter): numpy + xent installed (``pip install -e .``). The
  numpy-only runs use it with XENT_READER=numpy, so pyarrow is never imported even if installed.
- ``--fast-python``: an interpreter with xent and the ``fast`` extra (pyarrow). Default: this
  interpreter if it can import pyarrow, else ``.venv-bench/bin/python`` if that exists.
- ``--pandas-python``: an interpreter with pandas, for the reference. Default: this one if it
  can import pandas, else ``.venv-bench/bin/python``. Make one with:
  ``python3 -m venv --system-site-packages .venv-bench && .venv-bench/bin/pip install pandas pyarrow
  && .venv-bench/bin/pip install --no-deps -e .``
- ``--fast-python``: the ``fast`` extra is pyarrow (``pip install -e '.[fast]'``); ``auto``
  reads with pyarrow when it is installed, else with polars.
- about 2.5 GB free under ``--data`` (default bench/data/, git-ignored; generated once with
  pandas, bench/layouts.py): seven 1M-row layouts (124–275 MB) and the pandas-written file ×10.

Nothing here asserts: it prints a table of ratios against the budget in the design.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
SAMPLE = ROOT / "samples" / "keras_question.csv"
K = 10

REFERENCE = """
import pandas as pd, numpy as np
df = pd.read_csv({path!r}, sep={sep!r})
p = df.filter(regex="^(prob|pred)_").to_numpy()
if "label" in df.columns:
    l = -np.log(p[np.arange(len(p)), df["label"].to_numpy().astype(np.int64)])
else:
    l = -np.sum(df.filter(like="true_").to_numpy() * np.log(p), axis=1)
w = df["weight"].to_numpy() if "weight" in df.columns else 1.0
print(np.sum(w * l) / len(l))
"""

# The fastest readers installable, with nothing of xent around them: how low a ratio can go here
# (``--floors``). Each reads the whole file on every core and computes the reference's mean.
FLOOR_LOSS = """
names = list(cols)
p = np.column_stack([cols[n] for n in names if n.startswith(("prob_", "pred_"))])
if "label" in cols:
    l = -np.log(p[np.arange(len(p)), cols["label"].astype(np.int64)])
else:
    l = -np.sum(np.column_stack([cols[n] for n in names if n.startswith("true_")]) * np.log(p), axis=1)
w = cols["weight"] if "weight" in cols else 1.0
print(np.sum(w * l) / len(l))
"""
FLOORS = {
    "pyarrow": "import numpy as np, pyarrow as pa, pyarrow.csv as csv\n"
               "names = open({path!r}).readline().rstrip('\\n').split({sep!r})  # all float64, as xent\n"
               "types = csv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64()))\n"
               "t = csv.read_csv({path!r}, parse_options=csv.ParseOptions(delimiter={sep!r}),\n"
               "                 convert_options=types)\n"
               "def column(n):  # to_numpy() would import pandas\n"
               "    return np.concatenate([np.frombuffer(c.buffers()[1], np.float64, len(c), c.offset * 8)\n"
               "                           for c in t.column(n).chunks])\n"
               "cols = {{n: column(n) for n in t.column_names}}\n",
    "polars": "import numpy as np, polars as pl\n"
              "t = pl.read_csv({path!r}, separator={sep!r})\n"
              "cols = {{n: t[n].to_numpy() for n in t.columns}}\n",
}

RSS = """
import os, resource, subprocess, sys, time


def tree(pid):
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    out += tree(int(child))
    except OSError:
        pass
    return out


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
total = 0
while proc.poll() is None:
    total = max(total, sum(pss_kb(p) for p in tree(proc.pid)))
    time.sleep(0.02)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, total, proc.returncode)
"""

MATHS = """
import time, numpy as np
from xentropy_cli.core import pipeline, profiles
from xentropy_cli.core.types import Inputs, Options
rng = np.random.default_rng(0)
n = 1_000_000
y = np.zeros((n, {k})); y[np.arange(n), rng.integers(0, {k}, n)] = 1
p = rng.dirichlet(np.ones({k}), n)
p /= p.sum(axis=1, keepdims=True)
best_x = best_np = float("inf")
for _ in range({repeat}):
    t = time.perf_counter(); value = pipeline.run(Inputs(y, p), profiles.get("naive"), Options()).value
    best_x = min(best_x, time.perf_counter() - t)
    t = time.perf_counter(); ref = -np.sum(y * np.log(p), axis=1).mean()
    best_np = min(best_np, time.perf_counter() - t)
print(best_x, best_np, value, ref)
"""


# --- data ----------------------------------------------------------------------------------------

HEADLINE = "pandas_f32"  # the README's headline row: what people have (issue #19)
WHAT = {
    "pandas_f32": "pandas to_csv, float32 probs + label",
    "pandas_f64": "pandas to_csv, float64 probs + label",
    "savetxt_18e": "np.savetxt %.18e, probs + label",
    "savetxt_7g": "np.savetxt %.7g, one-hot + probs",
    "pandas_tsv": "pandas to_csv TSV, float32 + label",
    "pandas_weight": "pandas to_csv, float32 + label + weight",
    "fixed": "fixed width 0.%08d, one-hot + probs",
}


def data_file(args, name: str, rows: int = 1_000_000) -> Path:
    """The layout's file in --data, generated (with pandas, by bench/layouts.py) when missing."""
    sys.path.insert(0, str(ROOT / "bench"))
    import layouts

    path = layouts.path_of(args.data, name, rows)
    if not path.exists():
        if rows == 1_000_000:
            subprocess.run([args.pandas_python or sys.executable, str(ROOT / "bench" / "layouts.py"),
                            str(args.data), "--only", name], check=True)
        else:
            layouts.repeat(data_file(args, name), rows // 1_000_000, path)
    return path


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def warm(path: Path) -> None:
    with open(path, "rb") as handle:
        while handle.read(1 << 24):
            pass


# --- running ---------------------------------------------------------------------------------------

def has(python: str, module: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec(module) is not None
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def xent_command(python: str) -> list[str]:
    """The installed `xent` script beside ``python``, else ``python -m xentropy_cli``."""
    script = Path(python).parent / "xent"
    return [str(script)] if script.exists() else [python, "-m", "xentropy_cli"]


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command and every process it waited for, stdout)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout.strip()


def medians(runs: dict[str, tuple[list[str], dict | None]],
            repeat: int) -> dict[str, tuple[float, float, str]]:
    """(median wall, median CPU, stdout) of each command, the commands alternated run by run."""
    import statistics

    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    texts: dict[str, str] = {}
    for _ in range(repeat):
        for name, (cmd, env) in runs.items():
            elapsed, cpu, text = timed(cmd, env)
            walls[name].append(elapsed)
            cpus[name].append(cpu)
            texts[name] = text
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]), texts[name])
            for name in runs}


def peak_rss_mb(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(peak RSS of the largest process, peak sum of PSS over the process and its workers) in MB;
    the sum is sampled every 20 ms from /proc (0 where there is no /proc)."""
    done = subprocess.run([sys.executable, "-c", RSS, *cmd], capture_output=True, text=True, env=env)
    kb, pss, code = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed ({code})")
    return int(kb) / 1024, int(pss) / 1024


def env_with(**extra: str) -> dict:
    """This environment, with bytecode caching on (an installed package has its .pyc files;
    PYTHONDONTWRITEBYTECODE=1 would make every run compile xent's modules again)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


# --- the sections ----------------------------------------------------------------------------------

def startup(args, rows: list) -> None:
    xent = xent_command(args.python)
    env = env_with()
    runs = {
        "import numpy": ([args.python, "-c", "import numpy"], env),
        "xent --version": ([*xent, "--version"], env),
        "xent compute (3 rows)": ([*xent, "compute", str(SAMPLE)], env),
        "xent compute -t/-p": ([*xent, "compute", "-t", "[[0,1],[1,0]]", "-p", "[[0.1,0.9],[0.8,0.2]]"], env),
    }
    timed(runs["xent compute (3 rows)"][0], env)  # writes the .pyc files once
    got = medians(runs, max(args.repeat, 5))  # medians of alternating runs, as the header says
    base, base_cpu = got["import numpy"][0], got["import numpy"][1]
    rows.append(("start-up", "python -c 'import numpy'", f"{base:.3f} s (cpu {base_cpu:.3f} s)", "1.00", "",
                 load()))
    for name in ("xent --version", "xent compute (3 rows)", "xent compute -t/-p"):
        wall, cpu = got[name][0], got[name][1]
        rows.append(("start-up", name, f"{wall:.3f} s (cpu {cpu:.3f} s)",
                     f"{wall / base:.2f} (cpu {cpu / base_cpu:.2f})", verdict(wall / base, 2.0), load()))


def layouts(args, rows: list) -> None:
    """Each realistic layout: xent numpy only and with the fast extra against pandas + numpy."""
    for name in args.layout or list(WHAT):
        path = data_file(args, name)
        warm(path)
        sep = "\t" if path.suffix == ".tsv" else ","
        runs: dict[str, tuple[list[str], dict | None]] = {}
        if args.pandas_python:
            runs["pandas + numpy"] = ([args.pandas_python, "-c", REFERENCE.format(path=str(path), sep=sep)],
                                      env_with())
        if args.floors:
            for library, read in FLOORS.items():
                python = next((py for py in (args.floor_python, args.fast_python, args.pandas_python)
                               if py and has(py, library)), None)
                if python:
                    runs[f"floor: {library} + numpy, no xent"] = (
                        [python, "-c", read.format(path=str(path), sep=sep) + FLOOR_LOSS], env_with())
        if not args.commands:
            runs["xent, numpy only"] = ([*xent_command(args.python), "compute", str(path), "-v"],
                                        env_with(XENT_READER="numpy"))
            if args.fast_python:
                runs["xent, fast"] = ([*xent_command(args.fast_python), "compute", str(path), "-v"],
                                      env_with(XENT_READER="auto"))
        else:  # compare (read in memory until it streams: the reader does not matter) and explain
            runs["xent compare (all profiles)"] = ([*xent_command(args.python), "compare", str(path)],
                                                   env_with(XENT_READER="numpy"))
            for label, python, reader in (("numpy only", args.python, "numpy"),
                                          ("fast", args.fast_python, "auto")):
                if python:
                    runs[f"xent explain, {label}"] = ([*xent_command(python), "explain", str(path)],
                                                      env_with(XENT_READER=reader))
        before = load()
        got = medians(runs, args.repeat)
        where = f"{WHAT[name]} ({path.stat().st_size / 1e6:.0f} MB)"
        base = got.get("pandas + numpy", (None, None, ""))[0]
        for run, (wall, cpu, text) in got.items():
            value = text.splitlines()[-1] if text else ""
            shown = f"{wall:.2f} s (cpu {cpu:.2f} s)"
            if run == "pandas + numpy":
                rows.append((where, f"reference: {run} (= {value})", shown, "1.00", "", before))
                continue
            target = 1.0 if "numpy only" in run else 0.5
            ratio = wall / base if base else float("nan")
            budget = verdict(ratio, target) if base and run.startswith("xent,") else "reported"
            shows_value = run.startswith(("xent,", "floor:"))
            rows.append((where, f"{run}" + (f" (= {value})" if shows_value else ""), shown,
                         f"{ratio:.2f}" if base else "n/a", budget if base else "no pandas", load()))


def memory(args, rows: list) -> None:
    variants = [("numpy only", args.python, env_with(XENT_READER="numpy"))]
    if args.fast_python:
        variants.append(("fast", args.fast_python, env_with(XENT_READER="auto")))
    small_file, large_file = data_file(args, HEADLINE), data_file(args, HEADLINE, 10_000_000)
    for label, python, env in variants:
        xent = xent_command(python)
        before = load()
        small = [peak_rss_mb([*xent, "compute", str(small_file)], env) for _ in range(2)]
        large = [peak_rss_mb([*xent, "compute", str(large_file)], env) for _ in range(2)]
        rss = (max(r for r, _ in small), max(r for r, _ in large))
        pss = (max(p for _, p in small), max(p for _, p in large))
        ratio = rss[1] / rss[0]
        ok = ratio <= 1.10 and pss[1] < 200
        rows.append(("peak memory, pandas float32 file", f"xent {label}: 1M rows (largest process RSS; all "
                     "processes' PSS)", f"{rss[0]:.0f} MB; {pss[0]:.0f} MB", "", "", before))
        rows.append(("peak memory, pandas float32 file", f"xent {label}: 10M rows",
                     f"{rss[1]:.0f} MB; {pss[1]:.0f} MB", f"{ratio:.2f}; {pss[1] / pss[0]:.2f}",
                     "ok (≤ 1.10, < 200 MB)" if ok else "OVER (≤ 1.10, < 200 MB)", load()))


def maths(args, rows: list) -> None:
    code = MATHS.format(k=K, repeat=args.repeat)
    _, _, text = timed([args.python, "-c", code], env_with())
    ours, plain, value, ref = text.split()
    ratio = float(ours) / float(plain)
    rows.append(("in memory 1M × 10", "pipeline.run (naive) / -np.sum(y*np.log(p),1).mean()",
                 f"{float(ours):.3f} s / {float(plain):.3f} s", f"{ratio:.2f}",
                 "same value" if float(value) == float(ref) else f"values {value} vs {ref}", load()))


def verdict(ratio: float, target: float) -> str:
    return f"ok (≤ {target:g})" if ratio <= target else f"OVER (≤ {target:g})"


def default_python(module: str) -> str | None:
    if importlib.util.find_spec(module) is not None:
        return sys.executable
    venv = ROOT / ".venv-bench" / "bin" / "python"
    return str(venv) if venv.exists() and has(str(venv), module) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--fast-python", default=None)
    parser.add_argument("--pandas-python", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=("startup", "layouts", "memory", "maths"), action="append")
    parser.add_argument("--layout", choices=tuple(WHAT), action="append", help="only these layouts")
    parser.add_argument("--commands", action="store_true",
                        help="compare and explain instead of compute (use with --layout pandas_f32)")
    parser.add_argument("--floors", action="store_true",
                        help="also time pyarrow and polars reading the whole file alone (no xent)")
    parser.add_argument("--floor-python", default=None,
                        help="an interpreter with polars (and pyarrow) for --floors")
    parser.add_argument("--data", type=Path, default=DATA, help="where the generated files are kept")
    args = parser.parse_args()
    args.fast_python = args.fast_python or default_python("pyarrow") or default_python("polars")
    args.pandas_python = args.pandas_python or default_python("pandas")
    print(f"python (numpy only): {args.python}")
    print(f"python with polars/pyarrow: {args.fast_python or 'none: the fast rows are skipped'}")
    print(f"python with pandas:  {args.pandas_python or 'none: no reference for the 1M-row ratios'}")
    import platform

    print(f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"Python {platform.python_version()}, load average {load()} at the start")
    sections = args.only or ["startup", "layouts", "memory", "maths"]
    rows: list = []
    for name in sections:
        print(f"running {name} …", flush=True)
        {"startup": startup, "layouts": layouts, "memory": memory, "maths": maths}[name](args, rows)
    print()
    width = shutil.get_terminal_size((120, 20)).columns
    print_table(rows, width)


def print_table(rows: list, width: int) -> None:
    heads = ("what", "run", "median (wall, cpu)", "ratio", "budget", "load after")
    cols = [max(len(str(r[i])) for r in [heads, *rows]) for i in range(6)]
    line = "  ".join(h.ljust(c) for h, c in zip(heads, cols, strict=True))
    print(line[:width])
    print("-" * min(len(line), width))
    for r in rows:
        print("  ".join(str(v).ljust(c) for v, c in zip(r, cols, strict=True))[:max(width, 200)])


if __name__ == "__main__":
    main()
