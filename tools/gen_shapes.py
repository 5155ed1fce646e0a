#!/usr/bin/env python3
"""Record what each framework does on shapes and degenerate values: tests/golden/shapes.json.

    /path/to/frameworks/python tools/gen_shapes.py      # every framework, in a subprocess each
    python tools/gen_shapes.py --only torch,sklearn     # some of them (others kept from the file)

Run it with a python that has the pinned frameworks (tensorflow 2.21.0, keras 3.15.1, tf-keras
2.21.0, torch 2.13.0, scikit-learn 1.9.1, jax 0.10.2, optax 0.2.8), or let it use
``$XENT_GOLDEN_VENV`` / ``.venv-golden`` as tools/gen_golden.py does. Each case is given to each
framework as a user would give it (numpy arrays of the rank written in the case, float64 unless
the case says float32; sparse labels as the floats a text file holds). For every framework the
fixture records the output of ``reduction="none"`` (its own shape) and each reduction's value,
or the framework's error: the number-or-error table that tests/test_shapes.py holds xent to.

Per-sample values follow xent's definition: a binary loss over K outputs is the mean over the K
outputs, so for torch and optax (whose elementwise output is (N, K)) the fixture also stores
``elementwise`` and ``per_sample`` = its mean over the last axis taken by the framework.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "golden" / "shapes.json"
FRAMEWORKS = ("keras-tensorflow", "keras-jax", "keras-torch", "keras-numpy", "tf-keras", "torch",
              "sklearn", "optax")
KERAS3 = FRAMEWORKS[:4]
REDUCTIONS = {
    **{fw: ("sum_over_batch_size", "sum", "mean_with_sample_weight") for fw in KERAS3},
    "tf-keras": ("sum_over_batch_size", "sum"),
    "torch": ("mean", "sum"),
    "sklearn": ("mean_with_sample_weight", "sum"),
    "optax": ("mean", "sum"),
}

NAN, INF = float("nan"), float("inf")


def case(cid: str, group: str, kind: str, y_true: Any, y_pred: Any, *, from_logits: bool = False,
         sample_weight: Any = None, dtype: str = "float64", note: str = "") -> dict[str, Any]:
    return {"id": cid, "group": group, "note": note, "kind": kind, "from_logits": from_logits,
            "y_true": y_true, "y_pred": y_pred, "sample_weight": sample_weight, "dtype": dtype}


def cases() -> list[dict[str, Any]]:
    c: list[dict[str, Any]] = []
    add = c.append
    # --- §3 shapes: 1-D binary, (N, 1), multi-output --------------------------------------------
    y1, p1 = [1.0, 0.0, 1.0, 0.0], [0.9, 0.2, 0.6, 0.3]
    add(case("binary_1d", "shape", "binary", y1, p1))
    add(case("binary_1d_weighted", "shape", "binary", y1, p1, sample_weight=[1.0, 2.0, 0.5, 1.0]))
    add(case("binary_1d_scalar_weight", "shape", "binary", y1, p1, sample_weight=2.0))
    add(case("binary_1d_f32", "shape", "binary", y1, p1, dtype="float32"))
    add(case("binary_n1", "shape", "binary", [[v] for v in y1], [[v] for v in p1]))
    add(case("binary_n1_weighted", "shape", "binary", [[v] for v in y1], [[v] for v in p1],
             sample_weight=[1.0, 2.0, 0.5, 1.0]))
    add(case("binary_1d_logits", "shape", "binary", y1, [2.0, -1.5, 0.25, -0.75], from_logits=True))
    add(case("binary_1d_one", "shape", "binary", [1.0], [0.75]))
    ym = [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    pm = [[0.9, 0.2, 0.6], [0.3, 0.01, 0.7]]
    add(case("binary_multi", "shape", "binary", ym, pm))
    add(case("binary_multi_weighted", "shape", "binary", ym, pm, sample_weight=[1.0, 3.0]))
    add(case("binary_multi_logits", "shape", "binary", ym, [[2.0, -1.0, 0.5], [-3.0, -0.25, 4.0]],
             from_logits=True))
    add(case("binary_multi_edge", "shape", "binary", [[1.0, 0.0], [1.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
    add(case("categorical_1d", "shape", "categorical", [0.0, 1.0, 0.0], [0.2, 0.7, 0.1]))
    add(case("categorical_1d_logits", "shape", "categorical", [0.0, 1.0, 0.0], [0.5, 2.0, -1.0],
             from_logits=True))
    add(case("categorical_n1", "shape", "categorical", [[1.0], [1.0]], [[1.0], [1.0]],
             note="one-column categorical input"))
    add(case("categorical_n1_half", "shape", "categorical", [[1.0], [1.0]], [[0.5], [0.25]],
             note="one-column categorical input, p < 1"))
    add(case("mismatch_columns", "shape", "categorical", [[1.0, 0.0], [0.0, 1.0]],
             [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
    add(case("mismatch_rows", "shape", "categorical", [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]],
             [[0.5, 0.5], [0.1, 0.9]]))
    add(case("mismatch_labels_as_column", "shape", "categorical", [[0.0], [2.0]],
             [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
    add(case("mismatch_binary", "shape", "binary", [[1.0, 0.0], [0.0, 1.0]],
             [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
    add(case("mismatch_weights", "shape", "categorical", [[1.0, 0.0], [0.0, 1.0]],
             [[0.6, 0.4], [0.1, 0.9]], sample_weight=[1.0, 2.0, 3.0]))
    # --- §4 degenerate values: categorical ------------------------------------------------------
    yc = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    add(case("cat_zero_row", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.0, 0.0, 0.0], [0.1, 0.1, 0.8]]))
    add(case("cat_negative", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [-0.1, 0.6, 0.5], [0.1, 0.1, 0.8]]))
    add(case("cat_negative_true_class", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.6, -0.1, 0.5], [0.1, 0.1, 0.8]]))
    add(case("cat_nan", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, NAN, 0.3], [0.1, 0.1, 0.8]]))
    add(case("cat_above_one", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, 1.5, 0.3], [0.1, 0.1, 0.8]]))
    add(case("cat_inf", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, INF, 0.3], [0.1, 0.1, 0.8]]))
    add(case("cat_negative_weight", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], sample_weight=[1.0, -2.0, 0.5]))
    add(case("cat_zero_label_row", "degenerate", "categorical",
             [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
             [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))
    add(case("cat_soft_targets", "degenerate", "categorical",
             [[0.8, 0.1, 0.1], [0.0, 1.0, 0.0], [0.2, 0.0, 0.8]],
             [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))
    add(case("cat_negative_target", "degenerate", "categorical",
             [[1.0, 0.0, 0.0], [0.5, 1.0, -0.5], [0.0, 0.0, 1.0]],
             [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))
    add(case("cat_nan_target", "degenerate", "categorical",
             [[1.0, 0.0, 0.0], [0.0, NAN, 0.0], [0.0, 0.0, 1.0]],
             [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))
    add(case("cat_logits_nan", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, NAN, 0.3], [0.1, 0.1, 0.8]], from_logits=True))
    add(case("cat_logits_inf", "degenerate", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, INF, 0.3], [0.1, 0.1, 0.8]], from_logits=True))
    # --- sparse labels --------------------------------------------------------------------------
    ps = [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]
    add(case("sparse_ok", "degenerate", "sparse", [0.0, 1.0, 2.0], ps))
    add(case("sparse_fraction", "degenerate", "sparse", [0.0, 1.5, 2.0], ps))
    add(case("sparse_above", "degenerate", "sparse", [0.0, 5.0, 2.0], ps))
    add(case("sparse_negative", "degenerate", "sparse", [0.0, -1.0, 2.0], ps))
    add(case("sparse_zero_row", "degenerate", "sparse", [0.0, 1.0, 2.0],
             [[0.7, 0.2, 0.1], [0.0, 0.0, 0.0], [0.1, 0.1, 0.8]]))
    add(case("sparse_negative_pred", "degenerate", "sparse", [0.0, 1.0, 2.0],
             [[0.7, 0.2, 0.1], [0.2, -0.5, 0.3], [0.1, 0.1, 0.8]]))
    zs = [[1.0, 2.0, 0.5], [0.2, -1.0, 3.0], [0.0, 0.0, 0.0]]
    add(case("sparse_logits_fraction", "degenerate", "sparse", [0.0, 1.5, 2.0], zs, from_logits=True))
    add(case("sparse_logits_above", "degenerate", "sparse", [0.0, 5.0, 2.0], zs, from_logits=True))
    add(case("sparse_logits_negative", "degenerate", "sparse", [0.0, -1.0, 2.0], zs, from_logits=True))
    # --- binary ---------------------------------------------------------------------------------
    yb = [[1.0], [0.0], [1.0]]
    add(case("bin_above_one", "degenerate", "binary", yb, [[1.5], [0.2], [0.6]]))
    add(case("bin_negative", "degenerate", "binary", yb, [[0.9], [-0.2], [0.6]]))
    add(case("bin_nan", "degenerate", "binary", yb, [[0.9], [NAN], [0.6]]))
    add(case("bin_soft_targets", "degenerate", "binary", [[0.3], [0.0], [1.0]], [[0.9], [0.2], [0.6]]))
    add(case("bin_target_above_one", "degenerate", "binary", [[2.0], [0.0], [1.0]],
             [[0.9], [0.2], [0.6]]))
    add(case("bin_negative_weight", "degenerate", "binary", yb, [[0.9], [0.2], [0.6]],
             sample_weight=[1.0, -1.0, 2.0]))
    add(case("bin_logits_nan", "degenerate", "binary", yb, [[0.9], [NAN], [0.6]], from_logits=True))
    add(case("bin_logits_inf", "degenerate", "binary", yb, [[INF], [-INF], [0.6]], from_logits=True))
    add(case("bin_one_class", "degenerate", "binary", [[1.0], [1.0], [1.0]], [[0.9], [0.2], [0.6]]))
    # --- nan and inf in every input (text readers take nan, inf, -inf: issue 14 §4) ---------------
    pc = [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]
    add(case("cat_neg_inf", "nonfinite", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, 0.5, -INF], [0.1, 0.1, 0.8]]))
    add(case("cat_inf_true_class", "nonfinite", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, INF, 0.3], [0.1, 0.1, 0.8]], dtype="float32"))
    add(case("cat_inf_target", "nonfinite", "categorical",
             [[1.0, 0.0, 0.0], [0.0, INF, 0.0], [0.0, 0.0, 1.0]], pc))
    add(case("cat_nan_target_zero_class", "nonfinite", "categorical",
             [[1.0, 0.0, 0.0], [NAN, 1.0, 0.0], [0.0, 0.0, 1.0]], pc))
    add(case("cat_nan_weight", "nonfinite", "categorical", yc, pc, sample_weight=[1.0, NAN, 0.5]))
    add(case("cat_inf_weight", "nonfinite", "categorical", yc, pc, sample_weight=[1.0, INF, 0.5]))
    add(case("cat_scalar_nan_weight", "nonfinite", "categorical", yc, pc, sample_weight=NAN))
    add(case("cat_logits_neg_inf", "nonfinite", "categorical", yc,
             [[0.7, 0.2, 0.1], [0.2, 0.5, -INF], [0.1, 0.1, 0.8]], from_logits=True))
    add(case("cat_logits_nan_target", "nonfinite", "categorical",
             [[1.0, 0.0, 0.0], [0.0, NAN, 0.0], [0.0, 0.0, 1.0]], zs, from_logits=True))
    add(case("sparse_nan_pred", "nonfinite", "sparse", [0.0, 1.0, 2.0],
             [[0.7, 0.2, 0.1], [0.2, NAN, 0.3], [0.1, 0.1, 0.8]]))
    add(case("sparse_inf_pred", "nonfinite", "sparse", [0.0, 1.0, 2.0],
             [[0.7, 0.2, 0.1], [INF, 0.5, 0.3], [0.1, 0.1, 0.8]]))
    add(case("sparse_logits_nan", "nonfinite", "sparse", [0.0, 1.0, 2.0],
             [[1.0, 2.0, 0.5], [0.2, NAN, 3.0], [0.0, 0.0, 0.0]], from_logits=True))
    add(case("sparse_logits_inf", "nonfinite", "sparse", [0.0, 1.0, 2.0],
             [[1.0, 2.0, 0.5], [0.2, -1.0, INF], [0.0, 0.0, 0.0]], from_logits=True))
    add(case("sparse_nan_weight", "nonfinite", "sparse", [0.0, 1.0, 2.0], pc,
             sample_weight=[1.0, NAN, 0.5]))
    add(case("sparse_nan_label", "nonfinite", "sparse", [0.0, NAN, 2.0], pc))
    add(case("sparse_logits_nan_label", "nonfinite", "sparse", [0.0, NAN, 2.0], zs, from_logits=True))
    add(case("bin_inf", "nonfinite", "binary", yb, [[INF], [0.2], [0.6]]))
    add(case("bin_neg_inf", "nonfinite", "binary", yb, [[0.9], [-INF], [0.6]]))
    add(case("bin_nan_target", "nonfinite", "binary", [[1.0], [NAN], [1.0]], [[0.9], [0.2], [0.6]]))
    add(case("bin_inf_target", "nonfinite", "binary", [[1.0], [INF], [1.0]], [[0.9], [0.2], [0.6]]))
    add(case("bin_nan_weight", "nonfinite", "binary", yb, [[0.9], [0.2], [0.6]],
             sample_weight=[1.0, NAN, 2.0]))
    add(case("bin_inf_weight", "nonfinite", "binary", yb, [[0.9], [0.2], [0.6]],
             sample_weight=[1.0, INF, 2.0]))
    add(case("bin_logits_nan_target", "nonfinite", "binary", [[1.0], [NAN], [1.0]],
             [[2.0], [-1.5], [0.25]], from_logits=True))
    add(case("bin_multi_nan", "nonfinite", "binary", ym, [[0.9, NAN, 0.6], [0.3, 0.01, 0.7]]))
    return c


# --- runners: each returns (none output, {reduction: thunk}) ---------------------------------------

def arrays(c: dict[str, Any]):
    import numpy as np

    dtype = np.dtype(c["dtype"])
    yt = np.asarray(c["y_true"], dtype)
    yp = np.asarray(c["y_pred"], dtype)
    sw = c["sample_weight"]
    sw = None if sw is None else (float(sw) if isinstance(sw, (int, float)) else np.asarray(sw))
    return yt, yp, sw


def run_keras3(c, reductions):
    import keras

    yt, yp, sw = arrays(c)
    cls = {"categorical": keras.losses.CategoricalCrossentropy,
           "sparse": keras.losses.SparseCategoricalCrossentropy,
           "binary": keras.losses.BinaryCrossentropy}[c["kind"]]

    def call(reduction):
        out = cls(from_logits=c["from_logits"], reduction=reduction)(yt, yp, sample_weight=sw)
        return keras.ops.convert_to_numpy(out)

    return call(None), {r: (lambda r=r: call(r)) for r in reductions}


def run_tf_keras(c, reductions):
    import tf_keras

    yt, yp, sw = arrays(c)
    cls = {"categorical": tf_keras.losses.CategoricalCrossentropy,
           "sparse": tf_keras.losses.SparseCategoricalCrossentropy,
           "binary": tf_keras.losses.BinaryCrossentropy}[c["kind"]]

    def call(reduction):
        return cls(from_logits=c["from_logits"], reduction=reduction)(yt, yp, sample_weight=sw).numpy()

    return call("none"), {r: (lambda r=r: call(r)) for r in reductions}


def run_torch(c, reductions):
    """torch's own calls on float32 tensors; class-index targets go in as the labels' tensor (a
    float tensor for float labels, as torch.from_numpy gives it, int64 when they are integers)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    yt, yp, sw = arrays(c)
    if sw is not None:
        raise TypeError("torch losses take no sample weight")
    kind, logits = c["kind"], c["from_logits"]
    x = torch.from_numpy(yp.astype(np.float32))
    if kind == "sparse":
        t = torch.from_numpy(yt.astype(np.int64)) if np.all(yt == np.round(yt)) else torch.from_numpy(yt)
    else:
        t = torch.from_numpy(yt.astype(np.float32))

    def call(reduction):
        if kind == "categorical" and not logits:  # what nll_loss/cross_entropy check, kept here
            if t.shape != x.shape:
                raise ValueError(f"target {tuple(t.shape)} and input {tuple(x.shape)} differ")
            per = -(t * torch.log(x)).sum(-1)
            return {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]
        if kind == "sparse" and not logits:
            return F.nll_loss(torch.log(x), t, reduction=reduction)
        if kind == "binary" and not logits:
            return F.binary_cross_entropy(x, t, reduction=reduction)
        if kind == "binary":
            return F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
        return F.cross_entropy(x, t, reduction=reduction)

    none = call("none")
    extra = {"per_sample": none.mean(-1).numpy()} if kind == "binary" and none.ndim == 2 else {}
    return none.numpy(), {r: (lambda r=r: call(r).numpy()) for r in reductions}, extra


def run_sklearn(c, reductions):
    """log_loss(y_true, y_pred, sample_weight, normalize) on the arrays as given."""
    from sklearn.metrics import log_loss

    yt, yp, sw = arrays(c)
    reduced = {
        "mean_with_sample_weight": lambda: log_loss(yt, yp, sample_weight=sw),
        "sum": lambda: log_loss(yt, yp, sample_weight=sw, normalize=False),
    }
    value = log_loss(yt, yp, sample_weight=sw)  # raises what log_loss raises
    return None, {r: reduced[r] for r in reductions}, {"value": value}


def run_optax(c, reductions):
    import jax.numpy as jnp
    import numpy as np
    import optax

    yt, yp, sw = arrays(c)
    if sw is not None:
        raise TypeError("optax losses take no sample weight")
    if not c["from_logits"]:
        raise TypeError("optax losses take logits")
    z = jnp.asarray(yp.astype(np.float32))
    kind = c["kind"]
    if kind == "sparse":
        labels = yt.astype(np.int32) if np.all(yt == np.round(yt)) else yt.astype(np.float32)
        out = optax.softmax_cross_entropy_with_integer_labels(z, jnp.asarray(labels))
    elif kind == "binary":
        out = optax.sigmoid_binary_cross_entropy(z, jnp.asarray(yt.astype(np.float32)))
    else:
        out = optax.softmax_cross_entropy(z, jnp.asarray(yt.astype(np.float32)))
    ops = {"mean": jnp.mean, "sum": jnp.sum}
    extra = {"per_sample": np.asarray(out.mean(-1))} if kind == "binary" and out.ndim == 2 else {}
    return np.asarray(out), {r: (lambda r=r: np.asarray(ops[r](out))) for r in reductions}, extra


RUNNERS = {**{fw: run_keras3 for fw in KERAS3}, "tf-keras": run_tf_keras, "torch": run_torch,
           "sklearn": run_sklearn, "optax": run_optax}


def num(x: Any) -> Any:
    """float64 JSON-safe: nan/inf as strings, arrays as nested lists, a 0-d result as a number."""
    import numpy as np

    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        v = float(a)
        return v if math.isfinite(v) else str(v)
    return [num(v) for v in a]


def error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


def record(fw: str, c: dict[str, Any]) -> dict[str, Any]:
    import warnings

    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            got = RUNNERS[fw](c, REDUCTIONS[fw])
        except Exception as exc:
            return {"error": error_text(exc)}
        none, thunks, extra = got if len(got) == 3 else (*got, {})
        out: dict[str, Any] = {}
        if none is not None:
            out["none"] = num(none)
            out["shape"] = list(np.shape(none))
            out["dtype"] = str(np.asarray(none).dtype)
        for key, value in extra.items():
            out[key] = num(value)
        reduced = {}
        for name, thunk in thunks.items():
            try:
                reduced[name] = num(thunk())
            except Exception as exc:
                reduced[name] = {"error": error_text(exc)}
        out["reduced"] = reduced
        return out


def worker(fw: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from xentropy_cli.core.kernels import numpy_dispatch

    return {"dispatch": numpy_dispatch(), "results": {c["id"]: record(fw, c) for c in cases()}}


# The frameworks that are numpy follow the CPU paths numpy dispatches to (see gen_golden.py):
# they are recorded once per path, and tests/test_shapes.py takes the path of its own numpy.
NUMPY_BACKED = ("sklearn", "keras-numpy")
NUMPY_VARIANTS = ("X86_V4 AVX512_ICL AVX512_SPR", "X86_V3 X86_V4 AVX512_ICL AVX512_SPR")


def run_worker(fw: str, disable: str = "") -> dict[str, Any]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    if fw in KERAS3:
        env["KERAS_BACKEND"] = fw.split("-", 1)[1]
    if fw == "tf-keras":
        env["TF_USE_LEGACY_KERAS"] = "1"
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = disable
    done = subprocess.run([sys.executable, __file__, "--worker", fw], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return json.loads(done.stdout)


def versions() -> dict[str, str]:
    import importlib.metadata as md

    import numpy as np

    names = ("tensorflow", "keras", "tf-keras", "torch", "scikit-learn", "jax", "optax")
    return {**{n: md.version(n) for n in names}, "numpy": np.__version__,
            "python": sys.version.split()[0]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated frameworks: " + ",".join(FRAMEWORKS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        json.dump(worker(args.worker), sys.stdout)
        return 0
    try:
        import keras  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gen_golden import ensure_venv, venv_path

        python = ensure_venv(venv_path())
        return subprocess.run([str(python), __file__, *argv]).returncode
    chosen = args.only.split(",") if args.only else list(FRAMEWORKS)
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    results = {c["id"]: dict(old.get("results", {}).get(c["id"], {})) for c in cases()}
    dispatch = old.get("numpy_dispatch", {})
    for fw in chosen:
        got = run_worker(fw)
        for cid, outcome in got["results"].items():
            results[cid][fw] = outcome
        if fw in NUMPY_BACKED:
            dispatch[fw] = {"default": got["dispatch"], got["dispatch"]: got["results"]}
            for disable in NUMPY_VARIANTS:
                variant = run_worker(fw, disable)
                dispatch[fw].setdefault(variant["dispatch"], variant["results"])
        refused = sum("error" in r.get(fw, {}) for r in results.values())
        print(f"{fw}: {len(results)} cases ({refused} refused)", file=sys.stderr)
    doc = {"generated_by": "tools/gen_shapes.py", "versions": versions(),
           "reductions": REDUCTIONS, "cases": cases(), "results": results,
           "numpy_dispatch": dispatch}
    text = json.dumps(doc, indent=None, separators=(",", ":"))
    # one case per line keeps diffs readable
    text = text.replace('{"id":', '\n{"id":').replace('},"', '},\n"', 0)
    OUT.write_text(text + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(results)} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
