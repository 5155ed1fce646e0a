#!/usr/bin/env python3
"""Record the gradients the frameworks really backpropagate: tests/golden/grad_edges.json and
tests/golden/grad.json.

    /work/fwvenv/bin/python tools/gen_grad.py            # every framework
    /work/fwvenv/bin/python tools/gen_grad.py --only torch,optax

Run it with a python that has the pinned frameworks (tensorflow 2.21.0, keras 3.15.1, tf-keras
2.21.0, torch 2.13.0, jax 0.10.2, optax 0.2.8; ``tools/gen_golden.py`` can build such a venv).
The cases are seeded random inputs with edge values (exact 0 and 1, probabilities below 1e-12
down to a float32 subnormal, the float32 clip bounds 1e-7 and 1 − 1e-7 exactly, targets whose
rows do not sum to 1, rows summing to less than 1e-19, logits at 0 and ±100), built here from
``np.random.default_rng(seed)`` and stored as the float32 values the framework was given
(widened exactly), so the fixture is self-contained. Each framework runs in a subprocess of its
own (Keras 3 once per backend) and differentiates the loss with its own autodiff in float32:

    keras, keras-jax, keras-torch   keras.losses.*Crossentropy(...)(y, x, sample_weight) under
                                    tf.GradientTape / jax.value_and_grad / torch autograd
    tf-keras                        tf_keras.losses.*Crossentropy under tf.GradientTape
    torch                           -(y * torch.log(x)).sum(-1), F.nll_loss(torch.log(x), t),
                                    F.binary_cross_entropy(x, y), F.cross_entropy(z, y or t),
                                    F.binary_cross_entropy_with_logits(z, y); .backward()
    optax                           optax.softmax_cross_entropy(z, y) (with_integer_labels,
                                    sigmoid_binary_cross_entropy(z, y)), jnp.mean or jnp.sum of
                                    the output (binary: all N·K elements); jax.value_and_grad

Each case records the loss value and ∂L/∂(y_pred) (nan and ±inf kept: JSON NaN/Infinity).
``grad.json`` holds the hand-picked cases of ``HAND`` (the seed cases, weights, class weights,
label smoothing), recorded the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "golden" / "grad_edges.json"
HAND_OUT = ROOT / "tests" / "golden" / "grad.json"
FRAMEWORKS = ("keras", "keras-jax", "keras-torch", "tf-keras", "torch", "optax")
N, K = 5, 4  # samples and classes (outputs) per case
SEEDS = range(4)  # per path and framework

# probabilities below 1e-12 (the last is a float32 subnormal), exact 0 and 1, 1 − 1e-9 (1 in float32)
P_EDGES = (0.0, 1.0, 1e-13, 1e-20, 1e-30, 1e-40, 1 - 1e-9)
Z_EDGES = (0.0, 100.0, -100.0, 30.0, -30.0)


def f32(x):
    import numpy as np

    return np.asarray(x, dtype=np.float32).astype(np.float64)


def _clip_bounds():
    import numpy as np

    lo = np.float32(1e-7)
    return float(lo), float(np.float32(1) - lo)


def probabilities(rng, kind: str):
    """Rows near a simplex (binary: uniform), a third of the cells replaced by edge values; one
    row (categorical, binary) holds the float32 clip bounds exactly, where a clip's gradient ties."""
    import numpy as np

    if kind == "binary":
        p = rng.uniform(size=(N, K))
    else:
        p = rng.dirichlet(np.ones(K), size=N)
    mask = rng.uniform(size=p.shape) < 0.35
    p[mask] = rng.choice(P_EDGES, int(mask.sum()))
    lo, hi = _clip_bounds()
    row = int(rng.integers(N))
    p[row] = [hi, lo, 0.0, 0.0] if kind != "binary" else [lo, hi, lo, hi]
    return f32(p)


def logits(rng):
    z = rng.normal(size=(N, K)) * 3
    mask = rng.uniform(size=z.shape) < 0.25
    z[mask] = rng.choice(Z_EDGES, int(mask.sum()))
    return f32(z)


def targets(rng, kind: str):
    """One-hot, soft and (categorical) rows that do not sum to 1: all zero, or two ones."""
    import numpy as np

    if kind == "sparse":
        return rng.integers(0, K, N).astype(float)
    if kind == "binary":
        y = (rng.uniform(size=(N, K)) < 0.5).astype(float)
        soft = rng.uniform(size=y.shape) < 0.2
        y[soft] = rng.choice([0.3, 0.955], int(soft.sum()))
        return f32(y)
    y = np.eye(K)[rng.integers(0, K, N)]
    y[1] = rng.dirichlet(np.ones(K))
    y[2] = 0.0
    y[3, :2] = 1.0
    return f32(y)


# hand-picked cases for grad.json: name → (profile, fields)
HAND: dict[str, dict[str, Any]] = {
    "keras_cat_seed3": {"profile": "keras", "y_true": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
                        "y_pred": [[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]]},
    "keras_cat_seed1x2": {"profile": "keras", "y_true": [[0, 1]], "y_pred": [[0.99999999999, 1e-11]]},
    "keras_sparse_tf": {"profile": "keras", "kind": "sparse", "y_true": [1, 0],
                        "y_pred": [[0.3, 0.6, 0.1], [1e-09, 0.5, 0.5]]},
    "keras_bin": {"profile": "keras", "kind": "binary", "y_true": [[1, 0], [0, 1]],
                  "y_pred": [[0.7, 0.2], [0.4, 0.9]]},
    "keras_logits_w": {"profile": "keras", "from_logits": True, "y_true": [[0, 0, 1], [1, 0, 0]],
                       "y_pred": [[1.0, 2, 3], [0, 0, 0]], "sample_weight": [2, 0.5]},
    "torch_ce_cw": {"profile": "torch", "kind": "sparse", "from_logits": True, "y_true": [2, 0],
                    "y_pred": [[1.0, 2, 3], [0, 0, 0]], "class_weight": [1, 2, 3]},
    "torch_ce_ls": {"profile": "torch", "kind": "sparse", "from_logits": True, "y_true": [2, 0],
                    "y_pred": [[1.0, 2, 3], [0, 0, 0]], "label_smoothing": 0.2},
}


def hand_cases() -> list[dict[str, Any]]:
    """HAND as runner cases (the runners read kind and from_logits; grad.json keeps the given fields)."""
    return [{"kind": "categorical", "from_logits": False, **fields, "id": f"hand:{name}"}
            for name, fields in HAND.items()]


PATHS = [(kind, lg) for lg in (False, True) for kind in ("categorical", "sparse", "binary")]


def cases() -> list[dict[str, Any]]:
    import numpy as np

    out = []
    for fw in FRAMEWORKS:
        for kind, from_logits in PATHS:
            if fw == "optax" and not from_logits:
                continue
            seeds = range(8) if fw == "optax" else SEEDS
            for seed in seeds:
                rng = np.random.default_rng([FRAMEWORKS.index(fw), PATHS.index((kind, from_logits)), seed])
                case: dict[str, Any] = {
                    "id": f"{fw}/{kind}{'/logits' if from_logits else ''}/{seed}",
                    "profile": fw, "kind": kind, "from_logits": from_logits, "dtype": "float32",
                    "y_true": targets(rng, kind).tolist(),
                    "y_pred": (logits(rng) if from_logits else probabilities(rng, kind)).tolist(),
                }
                keras_like = fw.startswith("keras") or fw == "tf-keras"
                if keras_like and seed % 2 == 1:
                    w = rng.uniform(0, 3, N)
                    w[0] = 0.0
                    case["sample_weight"] = f32(w).tolist()
                if keras_like and kind != "sparse" and seed == 2:
                    case["label_smoothing"] = 0.1
                if fw == "optax" and kind == "categorical" and seed == 5:
                    case["label_smoothing"] = 0.1
                if fw == "torch" and kind == "sparse" and seed == 3:
                    case["class_weight"] = [1.0, 2.0, 0.5, 3.0]
                if fw == "torch" and from_logits and kind != "binary" and seed == 2:
                    case["label_smoothing"] = 0.2
                if seed == 3 and fw != "optax":
                    case["reduction"] = "sum"
                if fw == "optax":
                    case["reduction"] = "sum" if seed % 2 else "mean"
                out.append(case)
    for kind, from_logits in PATHS:  # tf.keras keeps float64 input float64, gradient included
        rng = np.random.default_rng([99, PATHS.index((kind, from_logits))])
        out.append({"id": f"tf-keras/{kind}{'/logits' if from_logits else ''}/float64",
                    "profile": "tf-keras", "kind": kind, "from_logits": from_logits, "dtype": "float64",
                    "y_true": targets(rng, kind).tolist(),
                    "y_pred": (logits(rng) if from_logits else probabilities(rng, kind)).tolist()})
    for fw in FRAMEWORKS[:4]:  # rows summing to less than 1e-19: normalise's backward (JAX: s⁻²)
        for kind in ("categorical", "sparse"):
            for seed in range(2):
                rng = np.random.default_rng([FRAMEWORKS.index(fw), 50 + (kind == "sparse"), seed])
                p = probabilities(rng, kind)
                p[1] = [1e-30, 0.0, 1e-30, 0.0]
                p[3] = rng.choice([0.0, 1e-20, 1e-30, 1e-40], K)
                p[3, int(rng.integers(K))] = 1e-20
                p[4] = [1e-13, 0.0, 0.0, 2e-13]
                out.append({"id": f"{fw}/{kind}/tiny/{seed}", "profile": fw, "kind": kind,
                            "from_logits": False, "dtype": "float32", "y_true": targets(rng, kind).tolist(),
                            "y_pred": f32(p).tolist()})
    return out


# --- runners (inside the framework's subprocess) -----------------------------------------------

def _arrays(case):
    import numpy as np

    dtype = np.dtype(case.get("dtype", "float32"))
    y = np.asarray(case["y_true"], dtype)
    if case["kind"] == "sparse":
        y = y.astype(np.int64)
    x = np.asarray(case["y_pred"], dtype)
    sw = None if "sample_weight" not in case else np.asarray(case["sample_weight"], dtype)
    return y, x, sw


def _keras_loss(module, case):
    cls = {"categorical": module.losses.CategoricalCrossentropy,
           "sparse": module.losses.SparseCategoricalCrossentropy,
           "binary": module.losses.BinaryCrossentropy}[case["kind"]]
    kw = {"from_logits": case["from_logits"]}
    if case["kind"] != "sparse":
        kw["label_smoothing"] = case.get("label_smoothing", 0.0)
    reduction = case.get("reduction", "sum_over_batch_size")
    return cls(reduction=reduction, **kw), (f"{module.__name__}.losses.{cls.__name__}"
                                            f"(reduction={reduction!r}, {kw})")


def run_keras(case, backend: str):
    import numpy as np

    if backend == "tf-keras":
        import tf_keras as module
    else:
        import keras as module
    loss, call = _keras_loss(module, case)
    y, x, sw = _arrays(case)
    if backend in ("tensorflow", "tf-keras"):
        import tensorflow as tf

        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = loss(y, v, sample_weight=sw)
        return float(value), np.asarray(tape.gradient(value, v)), call + " under tf.GradientTape"
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        value, grad = jax.value_and_grad(lambda v: loss(y, v, sample_weight=sw))(jnp.asarray(x))
        return float(value), np.asarray(grad), call + " under jax.value_and_grad"
    import torch

    v = torch.tensor(x, requires_grad=True)
    value = loss(torch.from_numpy(y), v, sample_weight=None if sw is None else torch.from_numpy(sw))
    value.backward()
    return float(value), v.grad.numpy(), call + " under torch autograd"


def run_torch(case):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    y, x, _ = _arrays(case)
    kind, lg, ls = case["kind"], case["from_logits"], case.get("label_smoothing", 0.0)
    reduction = case.get("reduction", "mean")
    v = torch.tensor(x, requires_grad=True)
    t = torch.from_numpy(y)
    w = None if "class_weight" not in case else torch.tensor(case["class_weight"], dtype=torch.float32)
    if kind == "categorical" and not lg:
        per = -(t * torch.log(v)).sum(-1)
        value, call = (per.mean() if reduction == "mean" else per.sum()), \
            f"-(y * torch.log(x)).sum(-1).{reduction}()"
    elif kind == "sparse" and not lg:
        value = F.nll_loss(torch.log(v), t, weight=w, reduction=reduction)
        call = f"F.nll_loss(torch.log(x), t, weight={case.get('class_weight')}, reduction={reduction!r})"
    elif kind == "binary":
        fn = F.binary_cross_entropy_with_logits if lg else F.binary_cross_entropy
        value = fn(v, t, reduction=reduction)
        call = f"F.{fn.__name__}(x, y, reduction={reduction!r})"
    else:
        value = F.cross_entropy(v, t, weight=w, label_smoothing=ls, reduction=reduction)
        call = (f"F.cross_entropy(z, {'t' if kind == 'sparse' else 'y'}, weight={case.get('class_weight')}, "
                f"label_smoothing={ls}, reduction={reduction!r})")
    value.backward()
    return float(value), v.grad.numpy().astype(np.float32), call + "; .backward()"


def run_optax(case):
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    y, x, _ = _arrays(case)
    kind = case["kind"]
    reduce = {"mean": jnp.mean, "sum": jnp.sum}[case["reduction"]]
    if kind == "sparse":
        def per(z):
            return optax.softmax_cross_entropy_with_integer_labels(z, jnp.asarray(y.astype(np.int32)))
        call = "optax.softmax_cross_entropy_with_integer_labels(z, t)"
    elif kind == "binary":  # jnp.sum / jnp.mean of the elementwise (N, K) output
        def per(z):
            return optax.sigmoid_binary_cross_entropy(z, jnp.asarray(y))
        call = "optax.sigmoid_binary_cross_entropy(z, y)"
    else:
        labels = jnp.asarray(y)
        if case.get("label_smoothing"):
            labels = optax.smooth_labels(labels, case["label_smoothing"])

        def per(z):
            return optax.softmax_cross_entropy(z, labels)
        call = "optax.softmax_cross_entropy(z, y" + (" smoothed" if case.get("label_smoothing") else "") + ")"
    value, grad = jax.value_and_grad(lambda z: reduce(per(z)))(jnp.asarray(x))
    return float(value), np.asarray(grad), f"jnp.{case['reduction']}({call}) under jax.value_and_grad"


def child(fw: str, path: str) -> None:
    """Differentiate every case of one framework; print {id: {value, gradient, call}} as JSON."""
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    todo = [c for c in json.loads(Path(path).read_text()) if c["profile"] == fw]
    out = {}
    with np.errstate(all="ignore"):
        for case in todo:
            if fw == "torch":
                value, grad, call = run_torch(case)
            elif fw == "optax":
                value, grad, call = run_optax(case)
            else:
                backend = {"keras": "tensorflow", "keras-jax": "jax", "keras-torch": "torch",
                           "tf-keras": "tf-keras"}[fw]
                value, grad, call = run_keras(case, backend)
            out[case["id"]] = {"value": value, "gradient": np.asarray(grad, np.float64).tolist(),
                               "call": call}
    print(json.dumps(out))


def versions(fw: str) -> str:
    import importlib.metadata as m

    names = {"keras": ["keras", "tensorflow"], "keras-jax": ["keras", "jax"],
             "keras-torch": ["keras", "torch"], "tf-keras": ["tf-keras", "tensorflow"],
             "torch": ["torch"], "optax": ["optax", "jax"]}[fw]
    return ", ".join(f"{n} {m.version(n)}" for n in names)


def write_hand(recorded: dict[str, dict[str, Any]], chosen: list[str]) -> None:
    """grad.json: {recorded_with, cases: {name: {given fields, call, gradient, value}}}; cases of
    frameworks not run this time are kept as they were."""
    old = json.loads(HAND_OUT.read_text())["cases"] if HAND_OUT.exists() else {}
    out = {}
    for name, fields in HAND.items():
        got = recorded.get(f"hand:{name}")
        if fields["profile"] in chosen and got is not None:
            out[name] = {**fields, "call": got["call"], "gradient": got["gradient"], "value": got["value"]}
        elif name in old:
            out[name] = old[name]
    doc = {"recorded_with": "tools/gen_grad.py (HAND): float32, tf.GradientTape under Keras 3 "
                            "(TensorFlow backend) and torch autograd", "cases": out}
    HAND_OUT.write_text(json.dumps(doc, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated frameworks (default: all)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    chosen = args.only.split(",") if args.only else list(FRAMEWORKS)
    all_cases = cases() + hand_cases()
    old = json.loads(OUT.read_text()) if OUT.exists() else {"frameworks": {}, "cases": []}
    recorded = {c["id"]: c for c in old["cases"] if c["profile"] not in chosen}
    frameworks = {k: v for k, v in old["frameworks"].items() if k not in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.json"
        path.write_text(json.dumps(all_cases))
        for fw in chosen:
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu",
                       CUDA_VISIBLE_DEVICES="")
            if fw.startswith("keras"):
                env["KERAS_BACKEND"] = {"keras": "tensorflow", "keras-jax": "jax",
                                        "keras-torch": "torch"}[fw]
            proc = subprocess.run([sys.executable, __file__, "--child", fw, str(path)], env=env,
                                  capture_output=True, text=True, check=False)
            if proc.returncode:
                sys.exit(f"{fw} failed:\n{proc.stderr[-3000:]}")
            results = json.loads(proc.stdout.strip().splitlines()[-1])
            for case in all_cases:
                if case["id"] in results:
                    recorded[case["id"]] = {**case, **results[case["id"]]}
            frameworks[fw] = versions(fw)
            print(f"{fw}: {len(results)} cases", file=sys.stderr)
    write_hand({k: v for k, v in recorded.items() if k.startswith("hand:")}, chosen)
    ordered = [recorded[c["id"]] for c in all_cases
               if c["id"] in recorded and not c["id"].startswith("hand:")]
    doc = {"recorded_with": "tools/gen_grad.py: float32 inputs, each framework's own autodiff",
           "frameworks": frameworks, "n": N, "k": K, "cases": ordered}
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(ordered)} cases, {OUT.stat().st_size} bytes",
          file=sys.stderr)


if __name__ == "__main__":
    main()
