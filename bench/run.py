#!/usr/bin/env python3
"""xent's performance budget, measured: start-up, a 1M-row CSV end to end, peak memory, in-memory maths.

Usage (from the repository root):

    python3 bench/run.py                 # everything, best of 3 runs each
    python3 bench/run.py --repeat 5      # more runs (the machine is noisy: best-of is reported)
    python3 bench/run.py --only startup  # one section: startup, big, memory, maths

What it needs (it says which interpreters it found and skips what it cannot run):

- ``--python`` (default: this interpreter): numpy + xent installed (``pip install -e .``). The
  numpy-only runs use it with XENT_READER=numpy, so pyarrow is never imported even if installed.
- ``--fast-python``: an interpreter with xent and the ``fast`` extra (pyarrow). Default: this
  interpreter if it can import pyarrow, else ``.venv-bench/bin/python`` if that exists.
- ``--pandas-python``: an interpreter with pandas, for the reference. Default: this one if it
  can import pandas, else ``.venv-bench/bin/python``. Make one with:
  ``python3 -m venv --system-site-packages .venv-bench && .venv-bench/bin/pip install pandas pyarrow
  && .venv-bench/bin/pip install --no-deps -e .``
- about 1.5 GB free under bench/data/ (generated once, git-ignored): big_1m.csv (1,000,000 rows
  × 10 one-hot + 10 probabilities, ~130 MB) and big_10m.csv (the same rows ten times).

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
BIG = DATA / "big_1m.csv"
HUGE = DATA / "big_10m.csv"
VARIABLE = DATA / "big_1m_variable.csv"  # big_1m's numbers without trailing zeros: lines of any width
SAMPLE = ROOT / "samples" / "keras_question.csv"
K = 10

REFERENCE = """
import pandas as pd, numpy as np
df = pd.read_csv({path!r})
y = df.filter(like="true_").to_numpy()
p = df.filter(like="pred_").to_numpy()
print(-np.sum(y * np.log(p), axis=1).mean())
"""

RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
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

def generate(rows: int, path: Path, seed: int = 0) -> None:
    """rows × (K one-hot targets, K probabilities written with 8 decimals that sum to exactly 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    scale = 10 ** 8
    header = ",".join([f"true_{i}" for i in range(K)] + [f"pred_{i}" for i in range(K)])
    fmt = ",".join(["%d"] * K + ["0.%08d"] * K)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as out:
        out.write(header + "\n")
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            q = rng.dirichlet(np.full(K, 0.7), n)
            ints = np.maximum(np.floor(q * scale).astype(np.int64), 1)
            ints[:, -1] = 0
            ints[:, -1] = scale - ints.sum(axis=1)
            low = ints[:, -1] < 1  # give the last class at least 1e-8 from the largest one
            j = ints[low, :-1].argmax(axis=1)
            ints[np.flatnonzero(low), j] -= 1 - ints[low, -1]
            ints[low, -1] = 1
            onehot = np.zeros((n, K), np.int64)
            onehot[np.arange(n), rng.integers(0, K, n)] = 1
            out.write("\n".join(fmt % tuple(r) for r in np.hstack([onehot, ints]).tolist()) + "\n")
    tmp.replace(path)


def ensure_data() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    if not BIG.exists():
        print(f"generating {BIG.relative_to(ROOT)} (1,000,000 rows) …", flush=True)
        generate(1_000_000, BIG)
    if not HUGE.exists():
        print(f"generating {HUGE.relative_to(ROOT)} (10,000,000 rows: big_1m's rows ten times) …",
              flush=True)
        tmp = HUGE.with_suffix(".tmp")
        with open(BIG, "rb") as src, open(tmp, "wb") as out:
            header = src.readline()
            body = src.read()
            out.write(header)
            for _ in range(10):
                out.write(body)
        tmp.replace(HUGE)
    if not VARIABLE.exists():
        import re

        print(f"generating {VARIABLE.relative_to(ROOT)} (big_1m without trailing zeros) …", flush=True)
        tmp = VARIABLE.with_suffix(".tmp")
        tmp.write_bytes(re.sub(rb"(\.\d*?)0+(?=[,\n])", rb"\1", BIG.read_bytes()))
        tmp.replace(VARIABLE)


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


CPU: dict[str, float] = {}  # best CPU seconds (user + system) of each command, by name


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


def best(runs: dict[str, tuple[list[str], dict | None]], repeat: int) -> dict[str, tuple[float, str]]:
    """Best wall time of each command, the commands interleaved run by run (best CPU in CPU)."""
    out: dict[str, tuple[float, str]] = {}
    for _ in range(repeat):
        for name, (cmd, env) in runs.items():
            elapsed, cpu, text = timed(cmd, env)
            CPU[name] = min(CPU.get(name, float("inf")), cpu)
            if name not in out or elapsed < out[name][0]:
                out[name] = (elapsed, text)
    return out


def peak_rss_mb(cmd: list[str], env: dict | None = None) -> float:
    done = subprocess.run([sys.executable, "-c", RSS, *cmd], capture_output=True, text=True, env=env)
    kb, code = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed ({code})")
    return int(kb) / 1024


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
    }
    timed(runs["xent compute (3 rows)"][0], env)  # writes the .pyc files once
    got = best(runs, max(args.repeat, 5))
    base, base_cpu = got["import numpy"][0], CPU["import numpy"]
    rows.append(("start-up", "python -c 'import numpy'", f"{base:.3f} s (cpu {base_cpu:.3f} s)", "1.00", ""))
    for name in ("xent --version", "xent compute (3 rows)"):
        ratio = got[name][0] / base
        rows.append(("start-up", name, f"{got[name][0]:.3f} s (cpu {CPU[name]:.3f} s)",
                     f"{ratio:.2f} (cpu {CPU[name] / base_cpu:.2f})", verdict(ratio, 2.0)))


def big(args, rows: list) -> None:
    for path, what in ((BIG, "1M × 10 CSV"), (VARIABLE, "1M × 10, any width")):
        warm(path)
        runs: dict[str, tuple[list[str], dict | None]] = {}
        if args.pandas_python:
            runs["pandas + numpy"] = ([args.pandas_python, "-c", REFERENCE.format(path=str(path))],
                                      env_with())
        runs["xent, numpy only"] = ([*xent_command(args.python), "compute", str(path), "-v"],
                                    env_with(XENT_READER="numpy"))
        if args.fast_python:
            runs["xent, fast (pyarrow)"] = ([*xent_command(args.fast_python), "compute", str(path), "-v"],
                                            env_with(XENT_READER="auto"))
        got = best(runs, args.repeat)
        base = got.get("pandas + numpy", (None, ""))[0]
        for name, (elapsed, text) in got.items():
            if name == "pandas + numpy":
                rows.append((what, f"reference: {name} (= {text})", f"{elapsed:.3f} s", "1.00", ""))
                continue
            target = 1.0 if "numpy only" in name else 0.6
            ratio = elapsed / base if base else float("nan")
            rows.append((what, f"{name} (= {text})", f"{elapsed:.3f} s",
                         f"{ratio:.2f}" if base else "n/a",
                         verdict(ratio, target) if base else "no pandas"))


def memory(args, rows: list) -> None:
    variants = [("numpy only", args.python, env_with(XENT_READER="numpy"))]
    if args.fast_python:
        variants.append(("fast (pyarrow)", args.fast_python, env_with(XENT_READER="auto")))
    for label, python, env in variants:
        xent = xent_command(python)
        small = min(peak_rss_mb([*xent, "compute", str(BIG)], env) for _ in range(2))
        large = min(peak_rss_mb([*xent, "compute", str(HUGE)], env) for _ in range(2))
        ratio = large / small
        ok = ratio <= 1.10 and large < 200
        rows.append(("peak RSS", f"xent {label}: 1M rows", f"{small:.0f} MB", "", ""))
        rows.append(("peak RSS", f"xent {label}: 10M rows", f"{large:.0f} MB", f"{ratio:.2f}",
                     "ok (≤ 1.10, < 200 MB)" if ok else "OVER (≤ 1.10, < 200 MB)"))


def maths(args, rows: list) -> None:
    code = MATHS.format(k=K, repeat=args.repeat)
    _, _, text = timed([args.python, "-c", code], env_with())
    ours, plain, value, ref = text.split()
    ratio = float(ours) / float(plain)
    rows.append(("in memory 1M × 10", "pipeline.run (naive) / -np.sum(y*np.log(p),1).mean()",
                 f"{float(ours):.3f} s / {float(plain):.3f} s", f"{ratio:.2f}",
                 "same value" if float(value) == float(ref) else f"values {value} vs {ref}"))


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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("startup", "big", "memory", "maths"), action="append")
    args = parser.parse_args()
    args.fast_python = args.fast_python or default_python("pyarrow")
    args.pandas_python = args.pandas_python or default_python("pandas")
    print(f"python (numpy only): {args.python}")
    print(f"python with pyarrow: {args.fast_python or 'none: the fast rows are skipped'}")
    print(f"python with pandas:  {args.pandas_python or 'none: no reference for the 1M-row ratios'}")
    coretype = os.environ.get("OPENBLAS_CORETYPE", "")
    print(f"cores: {len(os.sched_getaffinity(0))}; OPENBLAS_CORETYPE={coretype}")
    sections = args.only or ["startup", "big", "memory", "maths"]
    if {"big", "memory"} & set(sections):
        ensure_data()
    rows: list = []
    for name in sections:
        print(f"running {name} …", flush=True)
        {"startup": startup, "big": big, "memory": memory, "maths": maths}[name](args, rows)
    print()
    width = shutil.get_terminal_size((120, 20)).columns
    print_table(rows, width)


def print_table(rows: list, width: int) -> None:
    heads = ("what", "run", "measured", "ratio", "budget")
    cols = [max(len(str(r[i])) for r in [heads, *rows]) for i in range(5)]
    line = "  ".join(h.ljust(c) for h, c in zip(heads, cols, strict=True))
    print(line[:width])
    print("-" * min(len(line), width))
    for r in rows:
        print("  ".join(str(v).ljust(c) for v, c in zip(r, cols, strict=True))[:max(width, 200)])


if __name__ == "__main__":
    main()
