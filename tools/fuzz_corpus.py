"""The differential corpus: seeded random cases, stratified over what users feed a loss.

numpy only, so that ``tools/gen_corpus.py`` (inside the frameworks' venv) and
``tests/test_corpus.py`` (no framework installed) build bit-identical cases. Case ``i`` is drawn
from ``np.random.default_rng([MASTER_SEED, i])``: its settings (``spec``) and then its arrays
(``arrays``). The fixture stores each case's settings and the sha256 of its arrays, so a change in
numpy's random streams, or in this file, fails loudly instead of comparing different inputs.

Strata (shares are per case):
- kinds: categorical (soft and one-hot targets), sparse labels (N,) and (N, 1), binary (N, 1),
  binary 1-D (N,), multi-output binary (N, K);
- predictions: probabilities, or logits of scale 1 to 1000 (exact ±1000 included);
- awkward values: exact 0 and 1, values below 1e-12 (float32 subnormals included), float32 edge
  values (tiny, 1 − 2⁻²⁴, the clip bounds and their neighbours), rows that do not sum to 1,
  all-zero rows; and a degenerate stratum: negative, nan, > 1 predictions, labels out of range,
  fractional labels, negative weights;
- label smoothing; no, scalar, per-sample and all-zero weights; N from 1 to 5,000 (most small),
  K from 2 to 100; every reduction is recorded for every case;
- float32 and float64 inputs, through JSON (read as float64 text: the framework is given the
  float64 values JSON gives) or npz (dtype kept).

No numpy transcendental ufunc is used (np.exp and np.log give other bits on other CPUs): sizes
use Python's math on scalars, whose result only matters through int(); the arrays use only
numpy's random generators and IEEE arithmetic.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

MASTER_SEED = 20261202
N_CASES = 2400
F32 = np.float32
F32_EDGES = np.array([
    np.finfo(F32).tiny, np.finfo(F32).smallest_subnormal, 1e-45, 1e-38, 1e-30, 1e-13,
    F32(1e-7), np.nextafter(F32(1e-7), F32(0)), np.nextafter(F32(1e-7), F32(1)),
    F32(1) - F32(1e-7), np.nextafter(F32(1) - F32(1e-7), F32(1)), 1 - 2.0**-24, 1 - 2.0**-23,
    np.finfo(F32).eps, np.finfo(F32).eps / 2, 0.5, 1.0, 0.0,
], dtype=np.float64)
TINY = np.array([1e-13, 1e-20, 1e-30, 1e-39, 1e-45, 5e-300, 1e-320, 2.2e-16, 1.1e-16],
                dtype=np.float64)
KINDS = (("categorical", 30), ("sparse", 20), ("sparse_col", 5), ("binary", 17), ("binary_1d", 11),
         ("binary_multi", 17))
AWKWARD = ("exact0", "exact1", "tiny", "f32edge", "unnormalised", "zero_row")


def _choice(rng: np.random.Generator, weighted: tuple[tuple[str, int], ...]) -> str:
    names = [n for n, _ in weighted]
    w = np.array([x for _, x in weighted], np.float64)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _size(rng: np.random.Generator) -> int:
    """N: most cases small, a few up to 5,000."""
    band = _choice(rng, (("tiny", 60), ("small", 27), ("mid", 11), ("large", 2)))
    lo, hi = {"tiny": (1, 8), "small": (9, 64), "mid": (65, 300), "large": (301, 5000)}[band]
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))) if hi > lo else lo


def spec(i: int, seed: int = MASTER_SEED) -> dict[str, Any]:
    """The settings of case ``i`` (everything but the arrays); another ``seed`` draws an
    independent corpus (its cases carry the seed)."""
    rng = np.random.default_rng([seed, i, 0])
    kind = _choice(rng, KINDS)
    n = _size(rng)
    if kind == "binary_multi":
        k = int(rng.integers(2, 21))
    elif kind in ("binary", "binary_1d"):
        k = 1
    else:
        k = int(math.exp(rng.uniform(math.log(2), math.log(101))))
        k = min(max(k, 2), 100)
    if n * k > 40000:
        n = max(1, 40000 // k)
    logits = bool(rng.random() < 0.35)
    degenerate = bool(rng.random() < 0.08)
    awkward = [a for a in AWKWARD if rng.random() < 0.18] if not logits else []
    if kind.startswith("binary") and "zero_row" in awkward:
        awkward.remove("zero_row")
    smoothing = 0.0
    if rng.random() < 0.25:
        smoothing = float(rng.choice([0.1, 0.2, 0.01, 0.3, 0.5, 1 / 3, 0.05, rng.uniform(0, 1)]))
    weight = _choice(rng, (("none", 40), ("scalar", 15), ("per_sample", 35), ("zeros", 5),
                           ("zero_scalar", 5)))
    dtype = "float32" if rng.random() < 0.5 else "float64"
    via = "json" if rng.random() < 0.3 and not degenerate else "npz"
    soft = kind in ("categorical", "binary", "binary_1d", "binary_multi") and rng.random() < 0.25
    scale = float(rng.choice([1.0, 3.0, 10.0, 100.0, 1000.0])) if logits else 0.0
    out = {"i": i, "kind": kind, "n": n, "k": k, "from_logits": logits, "scale": scale,
           "awkward": awkward, "degenerate": degenerate, "soft": bool(soft),
           "label_smoothing": smoothing, "weight": weight, "dtype": dtype, "via": via}
    return out if seed == MASTER_SEED else {**out, "seed": seed}


def loss_kind(s: dict[str, Any]) -> str:
    """categorical, sparse or binary: the loss the case is for."""
    return {"sparse_col": "sparse", "binary_1d": "binary", "binary_multi": "binary"}.get(
        s["kind"], s["kind"])


def arrays(s: dict[str, Any]) -> dict[str, np.ndarray]:
    """y_true, y_pred and (if any) sample_weight as the framework is given them: npz cases in the
    case dtype, JSON cases in float64 (of values that the case dtype holds)."""
    rng = np.random.default_rng([s.get("seed", MASTER_SEED), s["i"], 1])
    n, k, kind = s["n"], s["k"], s["kind"]
    binary = kind.startswith("binary")
    cols = k
    # --- predictions
    if s["from_logits"]:
        p = rng.normal(0.0, s["scale"], (n, cols))
        if s["scale"] >= 100:
            hits = rng.random((n, cols)) < 0.1
            p[hits] = rng.choice([1000.0, -1000.0, 0.0, 88.5, -89.0, 90.0, -103.5], hits.sum())
        p = np.clip(p, -1000.0, 1000.0)
    elif binary:
        p = rng.random((n, cols))
        if rng.random() < 0.3:
            u = rng.random((n, cols))  # confident predictions: near 0 or 1 (no exp: see above)
            u6 = u * u * u * u * u * u
            p = np.where(rng.random((n, cols)) < 0.5, u6, 1.0 - u6)
    else:
        alpha = float(rng.choice([0.05, 0.3, 1.0, 5.0]))
        p = rng.dirichlet(np.full(cols, alpha), size=n)
    for a in s["awkward"]:
        mask = rng.random((n, cols)) < 0.15
        if a == "exact0":
            p[mask] = 0.0
        elif a == "exact1":
            if binary:
                p[mask] = 1.0
            else:
                rows = rng.random(n) < 0.2
                hot = np.eye(cols)[rng.integers(0, cols, n)]
                p[rows] = hot[rows]
        elif a == "tiny":
            p[mask] = rng.choice(TINY, mask.sum())
        elif a == "f32edge":
            p[mask] = rng.choice(F32_EDGES, mask.sum())
        elif a == "unnormalised" and not binary:
            p = p * rng.uniform(0.3, 3.0, (n, 1))
        elif a == "zero_row":
            p[rng.random(n) < 0.2] = 0.0
    # --- targets
    if kind in ("sparse", "sparse_col"):
        t = rng.integers(0, k, n).astype(np.float64)
        if s["degenerate"] and rng.random() < 0.5:
            t[rng.integers(0, n)] = float(rng.choice([k, -1, 0.5, k + 3]))
        y = t[:, None] if kind == "sparse_col" else t
    elif binary:
        y = rng.integers(0, 2, (n, cols)).astype(np.float64)
        if s["soft"]:
            y = rng.random((n, cols))
    else:
        y = np.eye(cols)[rng.integers(0, cols, n)]
        if s["soft"]:
            y = rng.dirichlet(np.full(cols, 1.0), size=n)
        if "zero_row" in s["awkward"] and rng.random() < 0.5:
            y[rng.integers(0, n)] = 0.0
    if s["degenerate"]:
        what = rng.choice(["negative", "nan", "above1", "weight"])
        r, c = int(rng.integers(0, n)), int(rng.integers(0, cols))
        if what == "negative":
            p[r, c] = -abs(p[r, c]) - 0.25
        elif what == "nan":
            p[r, c] = np.nan
        elif what == "above1":
            p[r, c] = 1.5 if not s["from_logits"] else np.inf
    if kind == "binary_1d":
        y, p = y[:, 0], p[:, 0]
    # --- weights
    w: np.ndarray | None = None
    if s["weight"] == "scalar":
        w = np.asarray(float(rng.choice([2.3, 0.5, 3.0, rng.uniform(0, 4)])))
    elif s["weight"] == "zero_scalar":
        w = np.asarray(0.0)
    elif s["weight"] == "per_sample":
        w = rng.uniform(0, 3, n)
        w[rng.random(n) < 0.1] = 0.0
        if rng.random() < 0.2:
            w = rng.integers(0, 4, n).astype(np.float64)
    elif s["weight"] == "zeros":
        w = np.zeros(n)
    if s["degenerate"] and w is not None and w.ndim == 1 and rng.random() < 0.4:
        w[rng.integers(0, n)] = -1.0
    # --- dtype: values the case dtype holds; JSON gives the framework float64 of them
    dt = np.dtype(s["dtype"])
    as_given = np.float64 if s["via"] == "json" else dt
    out = {"y_true": y.astype(dt).astype(as_given), "y_pred": p.astype(dt).astype(as_given)}
    if loss_kind(s) == "sparse":
        out["y_true"] = y.astype(as_given)  # labels stay exact (fractional ones included)
    if w is not None:
        out["sample_weight"] = w.astype(dt).astype(as_given)
    return out


def digest(a: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in ("y_true", "y_pred", "sample_weight"):
        if name in a:
            h.update(name.encode() + str(a[name].dtype).encode() + str(a[name].shape).encode())
            h.update(np.ascontiguousarray(a[name]).tobytes())
    return h.hexdigest()


def json_text(a: dict[str, np.ndarray]) -> str:
    """The case as the JSON a user writes (float64 repr of every value: exact)."""
    return json.dumps({name: v.tolist() for name, v in a.items()})
