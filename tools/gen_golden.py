#!/usr/bin/env python3
"""Record golden fixtures: run the real frameworks on the corpus, write tests/golden/<framework>.json.

    python3 tools/gen_golden.py                 # every framework
    python3 tools/gen_golden.py --only torch,sklearn

Run with the system python it creates (or reuses) a venv with the pinned frameworks
(default ``.venv-golden``, or ``$XENT_GOLDEN_VENV``) and re-executes itself inside it. Each
framework then runs in a subprocess of its own (Keras 3 once per ``KERAS_BACKEND``). Numbers are
stored as float64 JSON numbers: float32 results are widened exactly, so nothing is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PINS = {
    "tensorflow": "2.21.0",
    "keras": "3.15.1",
    "tf-keras": "2.21.0",
    "torch": "2.13.0",
    "scikit-learn": "1.9.1",
    "jax": "0.10.2",
    "optax": "0.2.8",
}
from golden_corpus import FRAMEWORKS, PROFILE_OF  # noqa: E402

KERAS3 = FRAMEWORKS[:4]
KERAS_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight")
DEFAULT_REDUCTIONS = {
    **{fw: KERAS_REDUCTIONS for fw in KERAS3},
    "tf-keras": ("sum_over_batch_size", "sum"),
    "torch": ("mean", "sum"),
    "sklearn": ("mean_with_sample_weight", "sum"),
    "optax": ("mean", "sum"),
    "naive": ("mean", "sum", "sum_over_batch_size", "mean_with_sample_weight"),
}
CALLS = {
    **{fw: "keras.losses.{Categorical,SparseCategorical,Binary}Crossentropy(from_logits, "
           "label_smoothing, reduction)(y_true, y_pred, sample_weight) on numpy inputs, "
           f"KERAS_BACKEND={fw.split('-')[1]}" for fw in KERAS3},
    "tf-keras": "tf_keras.losses.{Categorical,SparseCategorical,Binary}Crossentropy(from_logits, "
                "label_smoothing, reduction)(y_true, y_pred, sample_weight), input dtype kept",
    "torch": "float32 tensors. probabilities: -(y*torch.log(p)).sum(-1) (.mean()/.sum()), "
             "F.nll_loss(torch.log(p), t, weight), F.binary_cross_entropy(p, y); logits: "
             "F.cross_entropy(z, y or t, weight, label_smoothing), "
             "F.binary_cross_entropy_with_logits(z, y); binary per sample = reduction='none' .mean(-1)",
    "sklearn": "sklearn.metrics.log_loss(y_true, y_proba, sample_weight, normalize); per sample: "
               "log_loss on each row with normalize=False, labels=all classes, times w in float64",
    "optax": "float32. optax.softmax_cross_entropy(z, y) (optax.smooth_labels first), "
             "softmax_cross_entropy_with_integer_labels(z, t), "
             "sigmoid_binary_cross_entropy(z, y).mean(-1) per sample; mean/sum = jnp.mean/jnp.sum "
             "(binary: of the elementwise output)",
    "naive": "numpy float64 textbook: -sum(xlogy(y, p)), xlogy = where(y == 0, 0, y * np.log(p)); "
             "softmax = exp(z)/sum exp(z) unshifted; "
             "binary -mean(xlogy(y, p) + xlogy(1-y, 1-p)); sigmoid 1/(1+exp(-z)); "
             "weighted mean 0 when the weights sum to 0",
}


# --- venv bootstrap ---------------------------------------------------------------------------

def venv_path() -> Path:
    return Path(os.environ.get("XENT_GOLDEN_VENV", ROOT / ".venv-golden")).resolve()


def in_venv(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv


def pins_satisfied(python: Path) -> bool:
    check = ("import importlib.metadata as m, json, sys; pins = json.loads(sys.argv[1]); "
             "bad = [p for p, v in pins.items() if not m.version(p).split('+')[0] == v]; "
             "sys.exit(1 if bad else 0)")
    return subprocess.run([str(python), "-c", check, json.dumps(PINS)],
                          capture_output=True).returncode == 0


def ensure_venv(venv: Path) -> Path:
    """Create the venv and install the pinned frameworks into it, unless they are already there."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not pins_satisfied(python):
        specs = [f"{name}=={version}" for name, version in PINS.items()]
        subprocess.run([str(python), "-m", "pip", "install", "numpy", "scipy", *specs], check=True)
    return python


# --- inputs ---------------------------------------------------------------------------------

def applies(fw: str, c: dict[str, Any]) -> bool:
    """Whether the framework has a call for this case (a refusal it makes is still recorded)."""
    import numpy as np
    from golden_corpus import materialise

    if c["only"]:
        return fw in c["only"]
    inp = c["inputs"]
    kind, logits, ls = inp["kind"], inp["from_logits"], inp["label_smoothing"]
    weighted = inp["sample_weight"] is not None
    if inp["class_weight"] is not None:
        return fw == "torch"
    if fw in KERAS3 or fw == "tf-keras":
        return not (kind == "sparse" and ls)
    if fw == "torch":
        return not weighted and not (ls and (not logits or kind == "binary"))
    if fw == "sklearn":
        cols = np.shape(materialise(inp["y_pred"]))[-1]
        return not logits and not ls and (kind != "binary" or cols == 1)
    if fw == "optax":
        return logits and not weighted and not (ls and kind != "categorical")
    return not (kind == "sparse" and ls)  # naive: the textbook has no smoothing of labels


def arrays(inp: dict[str, Any]):
    """y_true (labels int64 or floats in the case dtype), y_pred, sample weight, class weight."""
    import numpy as np
    from golden_corpus import materialise

    dtype = inp["dtype"]
    yt = materialise(inp["y_true"], dtype)
    if inp["kind"] == "sparse":
        yt = yt.astype(np.int64)
    yp = materialise(inp["y_pred"], dtype)
    sw = inp["sample_weight"]
    if isinstance(sw, (int, float)):
        sw = float(sw)
    elif sw is not None:
        sw = materialise(sw)
    cw = None if inp["class_weight"] is None else np.asarray(inp["class_weight"], np.float64)
    return yt, yp, sw, cw


def floats(x: Any) -> list[float] | float:
    import numpy as np

    a = np.asarray(x).astype(np.float64)
    return a.tolist()


# --- runners: each returns (per_sample, {reduction: value}, dtype of the result) --------------

def keras_loss(losses, kind: str, from_logits: bool, label_smoothing: float):
    """(loss class, keywords) of ``losses`` (``keras.losses`` or ``tf_keras.losses``) for ``kind``;
    the sparse loss takes no label smoothing."""
    cls = {"categorical": losses.CategoricalCrossentropy,
           "sparse": losses.SparseCategoricalCrossentropy,
           "binary": losses.BinaryCrossentropy}[kind]
    kw = {"from_logits": from_logits}
    if kind != "sparse":
        kw["label_smoothing"] = label_smoothing
    return cls, kw


def run_keras3(inp, reductions):
    import keras

    yt, yp, sw, _ = arrays(inp)
    cls, kw = keras_loss(keras.losses, inp["kind"], inp["from_logits"], inp["label_smoothing"])

    def call(reduction):
        out = cls(reduction=reduction, **kw)(yt, yp, sample_weight=sw)
        return keras.ops.convert_to_numpy(out)

    per = call(None)
    return per, {r: (lambda r=r: call(r)) for r in reductions}, str(per.dtype)


def run_tf_keras(inp, reductions):
    import tf_keras

    yt, yp, sw, _ = arrays(inp)
    cls, kw = keras_loss(tf_keras.losses, inp["kind"], inp["from_logits"], inp["label_smoothing"])

    def call(reduction):
        return cls(reduction=reduction, **kw)(yt, yp, sample_weight=sw).numpy()

    per = call("none")
    return per, {r: (lambda r=r: call(r)) for r in reductions}, str(per.dtype)


def run_torch(inp, reductions):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    yt, yp, sw, cw = arrays(inp)
    if sw is not None:
        raise TypeError("torch losses take no sample weight")
    kind, logits, ls = inp["kind"], inp["from_logits"], inp["label_smoothing"]
    x = torch.from_numpy(yp.astype(np.float32))
    w = None if cw is None else torch.from_numpy(cw.astype(np.float32))
    t = torch.from_numpy(yt) if kind == "sparse" else torch.from_numpy(yt.astype(np.float32))

    def call(reduction):
        if kind == "categorical" and not logits:
            per = -(t * torch.log(x)).sum(-1)
            return {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]
        if kind == "sparse" and not logits:
            return F.nll_loss(torch.log(x), t, weight=w, reduction=reduction)
        if kind == "binary" and not logits:
            out = F.binary_cross_entropy(x, t, reduction=reduction)
            return out.mean(-1) if reduction == "none" else out
        if kind == "binary":
            out = F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
            return out.mean(-1) if reduction == "none" else out
        return F.cross_entropy(x, t, weight=w, label_smoothing=ls, reduction=reduction)

    per = call("none").numpy()
    return per, {r: (lambda r=r: call(r).numpy()) for r in reductions}, str(per.dtype)


def run_sklearn(inp, reductions):
    import numpy as np
    from sklearn.metrics import log_loss

    yt, yp, sw, _ = arrays(inp)
    kind = inp["kind"]
    if kind == "binary":
        yt, yp = yt[:, 0], yp[:, 0]
    if kind == "categorical" and np.all((yt == 0) | (yt == 1)) and np.all(yt.sum(1) == 1):
        row_labels, classes = yt.argmax(1), list(range(yt.shape[1]))
    else:
        row_labels, classes = yt, None
    reduced = {
        "mean_with_sample_weight": lambda: log_loss(yt, yp, sample_weight=sw),
        "sum": lambda: log_loss(yt, yp, sample_weight=sw, normalize=False),
    }
    log_loss(yt, yp, sample_weight=sw)  # raises the refusals before the per-row calls
    classes = classes if classes is not None else np.unique(row_labels).tolist()
    per = np.asarray([log_loss(row_labels[i:i + 1], yp[i:i + 1], normalize=False, labels=classes)
                      for i in range(yp.shape[0])])
    if sw is not None:  # log_loss refuses a zero weight on a single row: weigh in float64 here
        per = per * sw
    return per, {r: reduced[r] for r in reductions}, "python float"


def run_optax(inp, reductions):
    import jax.numpy as jnp
    import numpy as np
    import optax

    yt, yp, sw, _ = arrays(inp)
    if sw is not None:
        raise TypeError("optax losses take no sample weight")
    z = jnp.asarray(yp.astype(np.float32))
    kind = inp["kind"]
    if kind == "sparse":
        per = optax.softmax_cross_entropy_with_integer_labels(z, jnp.asarray(yt.astype(np.int32)))
    elif kind == "binary":  # per sample: the mean over outputs; mean/sum: over every element
        elements = optax.sigmoid_binary_cross_entropy(z, jnp.asarray(yt.astype(np.float32)))
        per = elements.mean(-1)
    else:
        labels = jnp.asarray(yt.astype(np.float32))
        if inp["label_smoothing"]:
            labels = optax.smooth_labels(labels, inp["label_smoothing"])
        per = optax.softmax_cross_entropy(z, labels)
    ops = {"mean": jnp.mean, "sum": jnp.sum}
    whole = elements if kind == "binary" else per
    return np.asarray(per), {r: (lambda r=r: np.asarray(ops[r](whole))) for r in reductions}, \
        str(np.asarray(per).dtype)


def run_naive(inp, reductions):
    import numpy as np
    yt, yp, sw, _ = arrays(inp)

    def xlogy(a, b):  # numpy's log, as the naive profile uses (scipy's xlogy calls the C library)
        return np.where(a == 0, 0.0, a * np.log(b))

    yp = yp.astype(np.float64)
    kind, ls = inp["kind"], inp["label_smoothing"]
    with np.errstate(all="ignore"):
        if inp["from_logits"]:
            if kind == "binary":
                yp = 1.0 / (1.0 + np.exp(-yp))
            else:
                yp = np.exp(yp) / np.exp(yp).sum(-1, keepdims=True)
        if kind == "sparse":
            y = np.eye(yp.shape[1])[yt]
        else:
            y = yt.astype(np.float64)
        if ls:
            y = y * (1.0 - ls) + ls / (2 if kind == "binary" else y.shape[1])
        if kind == "binary":
            per = -np.mean(xlogy(y, yp) + xlogy(1.0 - y, 1.0 - yp), axis=-1)
        elif kind == "sparse":
            per = -np.log(yp[np.arange(yp.shape[0]), yt])
        else:
            per = -np.sum(xlogy(y, yp), axis=-1)
        w = np.ones_like(per) if sw is None else np.broadcast_to(np.asarray(sw, np.float64), per.shape)
        weighted = per * w if sw is not None else per
        n = per.shape[0]
        values = {
            "mean": lambda: np.sum(weighted) / n,
            "sum_over_batch_size": lambda: np.sum(weighted) / n,
            "sum": lambda: np.sum(weighted),
            "mean_with_sample_weight": lambda: _divide_no_nan(np.sum(weighted),
                                                              np.sum(sw) if sw is not None else n),
        }
    return weighted, {r: values[r] for r in reductions}, "float64"


def _divide_no_nan(total, divisor):
    return 0.0 if divisor == 0 else total / divisor


RUNNERS = {**{fw: run_keras3 for fw in KERAS3}, "tf-keras": run_tf_keras, "torch": run_torch,
           "sklearn": run_sklearn, "optax": run_optax, "naive": run_naive}


def error_text(exc: BaseException, limit: int = 300) -> str:
    """A framework's error as one line: its type and the first ``limit`` characters."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}"


def record(fw: str, c: dict[str, Any]) -> dict[str, Any]:
    import warnings

    import numpy as np

    reductions = c["reductions"] or DEFAULT_REDUCTIONS[fw]
    out: dict[str, Any] = {"id": c["id"], "note": c["note"], "inputs": c["inputs"]}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            per, thunks, dtype = RUNNERS[fw](c["inputs"], reductions)
        except Exception as exc:  # the framework refuses this input: that is the golden answer
            out["error"] = error_text(exc)
            return out
        out["result_dtype"] = dtype
        out["per_sample"] = floats(per)
        reduced = {}
        for name, thunk in thunks.items():
            try:
                reduced[name] = float(np.asarray(thunk(), dtype=np.float64))
            except Exception as exc:
                reduced[name] = {"error": error_text(exc)}
        out["reduced"] = reduced
    return out


def versions(fw: str) -> dict[str, str]:
    import importlib.metadata as md

    import numpy as np

    names = {"tf-keras": ["tf-keras", "tensorflow"], "torch": ["torch"],
             "sklearn": ["scikit-learn", "scipy"], "optax": ["optax", "jax", "jaxlib"],
             "naive": ["scipy"], "keras-tensorflow": ["keras", "tensorflow"],
             "keras-jax": ["keras", "jax", "jaxlib"], "keras-torch": ["keras", "torch"],
             "keras-numpy": ["keras"]}[fw]
    out = {name: md.version(name) for name in names}
    out["numpy"] = np.__version__
    out["python"] = sys.version.split()[0]
    return out


# The frameworks that are numpy: their numbers follow the CPU paths numpy dispatches to, so they
# are recorded once per path (numpy 2.4's names: X86_V4 = AVX-512, X86_V3 = AVX2/FMA).
NUMPY_BACKED = ("naive", "sklearn", "keras-numpy")
NUMPY_VARIANTS = ("", "X86_V4 AVX512_ICL AVX512_SPR", "X86_V3 X86_V4 AVX512_ICL AVX512_SPR")


def fixture_path(fw: str, out_dir: Path, dispatch: str, default: bool) -> Path:
    """``<fw>.json`` for the run under numpy's default dispatch; other dispatch paths of a
    numpy-backed framework go to ``numpy-dispatch/<fw>-<dispatch>.json``."""
    return out_dir / f"{fw}.json" if default else out_dir / "numpy-dispatch" / f"{fw}-{dispatch}.json"


def worker(fw: str, out_dir: Path) -> None:
    """Run one framework over the corpus and write its fixture (one case per line)."""
    from golden_corpus import corpus

    from xentropy_cli.core.kernels import numpy_dispatch

    cases = [record(fw, c) for c in corpus() if applies(fw, c)]
    head = {
        "framework": fw,
        "profile": PROFILE_OF[fw],
        "versions": versions(fw),
        "call": CALLS[fw],
        "generated_by": "tools/gen_golden.py",
        "numpy_dispatch": numpy_dispatch(),
        "npy_disable_cpu_features": os.environ.get("NPY_DISABLE_CPU_FEATURES", ""),
    }
    lines = [json.dumps(head)[:-1] + ', "cases": [']
    lines.append(",\n".join(json.dumps(case) for case in cases))
    lines.append("]}")
    path = fixture_path(fw, out_dir, head["numpy_dispatch"], not head["npy_disable_cpu_features"])
    if path.parent != out_dir and (out_dir / f"{fw}.json").exists() and \
            load_head(out_dir / f"{fw}.json").get("numpy_dispatch") == head["numpy_dispatch"]:
        print(f"{fw}: NPY_DISABLE_CPU_FEATURES={head['npy_disable_cpu_features']!r} changes nothing here")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    errors = sum("error" in case for case in cases)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(cases)} cases "
          f"({errors} refused)")


def load_head(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


# --- what gen_golden.py and gen_corpus.py both do: the venv, then one worker per framework --------

def in_frameworks_venv(script: str, argv: list[str]) -> int | None:
    """None inside the frameworks' venv; outside it, create (or reuse) the venv, run ``script``
    again in it and return its exit code."""
    venv = venv_path()
    if in_venv(venv):
        return None
    python = ensure_venv(venv)
    return subprocess.run([str(python), script, *argv]).returncode


def framework_env(fw: str, inherit_numpy_features: bool = True) -> dict[str, str]:
    """The environment of ``fw``'s worker: TensorFlow quiet, hashing fixed, Keras 3's backend
    chosen by the framework's name; ``inherit_numpy_features=False`` drops the caller's
    NPY_DISABLE_CPU_FEATURES (numpy's default CPU path)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    if not inherit_numpy_features:
        env.pop("NPY_DISABLE_CPU_FEATURES", None)
    if fw in KERAS3:
        env["KERAS_BACKEND"] = fw.split("-", 1)[1]
    if fw == "tf-keras":
        env["TF_USE_LEGACY_KERAS"] = "1"
    return env


def run_workers(fw: str, env: dict[str, str], variants: tuple[str, ...],
                command: Callable[[str], list[str]]) -> int:
    """``command(disabled)`` once per numpy CPU path in ``variants`` ("" = the default path,
    else the NPY_DISABLE_CPU_FEATURES value), each in a subprocess; the first failure's code."""
    status = 0
    for disabled in variants:
        run_env = {**env, "NPY_DISABLE_CPU_FEATURES": disabled} if disabled else env
        done = subprocess.run(command(disabled), env=run_env)
        status = status or done.returncode
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated frameworks: " + ",".join(FRAMEWORKS))
    parser.add_argument("--out", default=str(ROOT / "tests" / "golden"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out_dir = Path(args.out).resolve()
    if args.worker:
        worker(args.worker, out_dir)
        return 0
    again = in_frameworks_venv(__file__, argv)
    if again is not None:
        return again
    chosen = args.only.split(",") if args.only else list(FRAMEWORKS)
    unknown = set(chosen) - set(FRAMEWORKS)
    if unknown:
        parser.error(f"unknown framework(s) {sorted(unknown)}")
    status = 0
    for fw in chosen:
        code = run_workers(fw, framework_env(fw), NUMPY_VARIANTS if fw in NUMPY_BACKED else ("",),
                           lambda _, fw=fw: [sys.executable, __file__, "--worker", fw, "--out", str(out_dir)])
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
