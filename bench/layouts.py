#!/usr/bin/env python3
"""The files people really have, generated for bench/run.py: realistic layouts of model outputs.

Every layout is N rows of softmax outputs over K = 10 classes from the same seeded logits, written
the way a person writes them:

- pandas_f32: ``DataFrame.to_csv(index=False)`` of float32 outputs and an integer ``label`` column
  (sparse targets): shortest repr of float32 (``0.12345679``, ``1.2345e-05``);
- pandas_f64: the same of float64 outputs: shortest repr of float64 (up to 17 significant digits);
- savetxt_18e: ``np.savetxt(delimiter=",")`` with its default ``fmt="%.18e"``, label and probabilities;
- savetxt_7g: ``np.savetxt(fmt="%.7g", delimiter=",")`` of one-hot ``true_0..9`` and probabilities;
- pandas_tsv: pandas_f32 written with ``sep="\\t"``;
- pandas_weight: pandas_f32 with a float32 ``weight`` column;
- fixed: one-hot and ``"0.%08d"`` probabilities summing to exactly 1 (every line the same width).

``python3 bench/layouts.py DIR [--rows N] [--only NAME]`` writes DIR/NAME_<rows>.csv (.tsv).
Needs pandas (the writer being modelled). Files are written whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

K = 10
BLOCK = 200_000
LAYOUTS = ("pandas_f32", "pandas_f64", "savetxt_18e", "savetxt_7g", "pandas_tsv", "pandas_weight", "fixed")


def path_of(directory: Path, name: str, rows: int) -> Path:
    return Path(directory) / f"{name}_{rows // 1000}k.{'tsv' if name == 'pandas_tsv' else 'csv'}"


def _block(rng, n: int, dtype):
    import numpy as np

    logits = rng.normal(0.0, 3.0, (n, K))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = (e / e.sum(axis=1, keepdims=True)).astype(dtype)
    label = rng.integers(0, K, n)
    return label, probs


def _fixed_block(rng, n: int):
    import numpy as np

    scale = 10 ** 8
    q = rng.dirichlet(np.full(K, 0.7), n)
    ints = np.maximum(np.floor(q * scale).astype(np.int64), 1)
    ints[:, -1] = 0
    ints[:, -1] = scale - ints.sum(axis=1)
    low = ints[:, -1] < 1
    j = ints[low, :-1].argmax(axis=1)
    ints[np.flatnonzero(low), j] -= 1 - ints[low, -1]
    ints[low, -1] = 1
    onehot = np.zeros((n, K), np.int64)
    onehot[np.arange(n), rng.integers(0, K, n)] = 1
    return onehot, ints


def write(name: str, rows: int, path: Path, seed: int = 0) -> None:
    """One layout, ``rows`` rows, to ``path`` (through a temporary file)."""
    import io

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tmp = path.with_name(path.name + ".tmp")
    probs_names = [f"prob_{i}" for i in range(K)]
    with open(tmp, "w", newline="") as out:
        for start in range(0, rows, BLOCK):
            n = min(BLOCK, rows - start)
            head = start == 0
            if name == "fixed":
                onehot, ints = _fixed_block(rng, n)
                if head:
                    names = [f"true_{i}" for i in range(K)] + [f"pred_{i}" for i in range(K)]
                    out.write(",".join(names) + "\n")
                fmt = ",".join(["%d"] * K + ["0.%08d"] * K)
                out.write("\n".join(fmt % tuple(r) for r in np.hstack([onehot, ints]).tolist()) + "\n")
                continue
            dtype = np.float64 if name == "pandas_f64" else np.float32
            label, probs = _block(rng, n, dtype)
            if name.startswith("pandas"):
                frame = pd.DataFrame(probs, columns=probs_names)
                frame.insert(0, "label", label)
                if name == "pandas_weight":
                    frame["weight"] = rng.uniform(0.5, 2.0, n).astype(np.float32)
                frame.to_csv(out, index=False, header=head, sep="\t" if name == "pandas_tsv" else ",",
                             lineterminator="\n")
            elif name == "savetxt_18e":
                block = np.column_stack([label.astype(np.float64), probs.astype(np.float64)])
                buffer = io.StringIO()
                np.savetxt(buffer, block, delimiter=",", header=",".join(["label", *probs_names]) if head
                           else "", comments="")
                out.write(buffer.getvalue())  # an empty header writes no line
            elif name == "savetxt_7g":
                onehot = np.zeros((n, K))
                onehot[np.arange(n), label] = 1
                buffer = io.StringIO()
                names = [f"true_{i}" for i in range(K)] + probs_names
                np.savetxt(buffer, np.hstack([onehot, probs.astype(np.float64)]), fmt="%.7g", delimiter=",",
                           header=",".join(names) if head else "", comments="")
                out.write(buffer.getvalue())  # an empty header writes no line
            else:
                raise ValueError(name)
    os.replace(tmp, path)


def repeat(src: Path, times: int, path: Path) -> None:
    """``src``'s body ``times`` times under its header (the 10M-row memory check)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(src, "rb") as handle, open(tmp, "wb") as out:
        out.write(handle.readline())
        body = handle.read()
        for _ in range(times):
            out.write(body)
    os.replace(tmp, path)


def ensure(directory: Path, name: str, rows: int) -> Path:
    path = path_of(directory, name, rows)
    if not path.exists():
        Path(directory).mkdir(parents=True, exist_ok=True)
        print(f"generating {path} …", file=sys.stderr, flush=True)
        write(name, rows, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=LAYOUTS, action="append")
    args = parser.parse_args()
    for name in args.only or LAYOUTS:
        path = ensure(args.directory, name, args.rows)
        print(f"{path}  {path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
