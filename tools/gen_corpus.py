#!/usr/bin/env python3
"""Record the differential corpus: every framework on every case of tools/fuzz_corpus.py.

    XENT_GOLDEN_VENV=/work/fwvenv python3 tools/gen_corpus.py            # every framework
    XENT_GOLDEN_VENV=/work/fwvenv python3 tools/gen_corpus.py --only torch

Like gen_golden.py it runs itself inside the venv with the pinned frameworks, one subprocess per
framework (Keras 3 once per backend). Writes tests/golden/corpus/:
- ``corpus.json``: the case settings and the sha256 of their arrays, each framework's versions,
  call and error texts;
- ``<framework>.npz``: per case and slot (none, sum, mean, sum_over_batch_size,
  mean_with_sample_weight) a status (0 value, 1 the framework raised, 2 it has no such call),
  the reduced values, the per-sample values (concatenated, float64 widening of the result) and
  the error index;
- keras-jax and optax run on every 8th and 3rd case only (``STEP``): eager JAX compiles each op
  for each new shape;
- for the frameworks that are numpy (naive, sklearn, keras-numpy) one recording per numpy
  dispatch path (gen_golden.NUMPY_VARIANTS: default, without AVX-512, without AVX2 either), named
  by ``kernels.numpy_dispatch()``; ``<framework>.meta.json`` names the default's, and each other
  path is stored as the positions that differ from it: ``<framework>@<dispatch>.npz``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_corpus as fz  # noqa: E402
from gen_golden import (  # noqa: E402
    CALLS,
    KERAS3,
    NUMPY_VARIANTS,
    error_text,
    framework_env,
    in_frameworks_venv,
    keras_loss,
    run_workers,
    versions,
)
from golden_corpus import FRAMEWORKS, PROFILE_OF  # noqa: E402

OUT = ROOT / "tests" / "golden" / "corpus"
SLOTS = ("none", "sum", "mean", "sum_over_batch_size", "mean_with_sample_weight")
VALUE, RAISED, NO_CALL = 0, 1, 2
NUMPY_FRAMEWORKS = ("naive", "sklearn", "keras-numpy")
# JAX compiles every op for every new shape when a loss runs eagerly (seconds per case on two
# cores): the JAX frameworks run on every STEP-th case only.
STEP = {"keras-jax": 8, "optax": 3}
CORPUS_CALLS = {
    **CALLS,
    "torch": CALLS["torch"] + "; multi-output binary per sample = reduction='none' .mean(-1), "
             "1-D binary per sample = reduction='none'",
    "sklearn": "sklearn.metrics.log_loss(y_true, y_proba, sample_weight, normalize); per sample: "
               "log_loss on each row with normalize=False, labels=all classes, in y_proba's dtype, "
               "times w as np.average multiplies; multi-output binary has no call",
    "optax": CALLS["optax"] + "; 1-D binary: N examples",
    "naive": "numpy float64 textbook, per sample: -sum(xlogy(y, p)) (categorical), -log p[label] "
             "(sparse), -mean(xlogy(y, p) + xlogy(1-y, 1-p)) over a row's K outputs (binary; a "
             "1-D y and p are N samples of one output); xlogy(x, q) = where(x == 0, 0, "
             "x * np.log(q)) with numpy's log; softmax = exp(z)/sum exp(z) unshifted; sigmoid "
             "1/(1+exp(-z)); weighted mean 0 when the weights sum to 0",
}


class NoCall(Exception):
    """The framework has no call for this setting (torch has no sample weight, …)."""


def _weight(a: dict) -> Any:
    w = a.get("sample_weight")
    if w is None:
        return None
    return float(w) if w.ndim == 0 else w  # a scalar weight as users pass it: a Python float


def _keras_loss(losses, s):
    """gen_golden.keras_loss for case ``s``; sparse with label smoothing has no Keras call."""
    kind = fz.loss_kind(s)
    if kind == "sparse" and s["label_smoothing"]:
        raise NoCall
    return keras_loss(losses, kind, s["from_logits"], s["label_smoothing"])


def run_keras3(s, a, slot):
    import keras

    cls, kw = _keras_loss(keras.losses, s)
    out = cls(reduction=None if slot == "none" else slot, **kw)(
        a["y_true"], a["y_pred"], sample_weight=_weight(a))
    return keras.ops.convert_to_numpy(out)


def run_tf_keras(s, a, slot):
    import tf_keras

    cls, kw = _keras_loss(tf_keras.losses, s)
    return cls(reduction=slot, **kw)(a["y_true"], a["y_pred"], sample_weight=_weight(a)).numpy()


def run_torch(s, a, slot):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    if "sample_weight" in a:
        raise NoCall
    kind, logits, ls = fz.loss_kind(s), s["from_logits"], s["label_smoothing"]
    if ls and (not logits or kind == "binary"):
        raise NoCall
    x = torch.from_numpy(a["y_pred"].astype(np.float32))
    yt = a["y_true"]
    # class indices as a user hands them to torch: a Long tensor of integer labels; fractional
    # labels have no Long form without the user truncating them, so torch gets them as they are
    # (and raises, as in tests/golden/shapes.json)
    integral = kind == "sparse" and bool(np.all(yt == np.trunc(yt)))
    t = torch.from_numpy(yt.astype(np.int64)) if integral else \
        torch.from_numpy(yt if kind == "sparse" else yt.astype(np.float32))
    torch.nn._reduction.get_enum(slot)  # raises for a reduction torch does not have
    if kind == "categorical" and not logits:
        per = -(t * torch.log(x)).sum(-1)
        return {"none": per, "mean": per.mean(), "sum": per.sum()}[slot]
    if kind == "sparse" and not logits:
        out = F.nll_loss(torch.log(x), t, reduction=slot)
    elif kind == "binary":
        fn = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
        out = fn(x, t, reduction=slot)
        if slot == "none" and out.ndim == 2:
            out = out.mean(-1)
    else:
        out = F.cross_entropy(x, t, label_smoothing=ls, reduction=slot)
    return out


def run_sklearn(s, a, slot):
    import numpy as np
    from sklearn.metrics import log_loss

    if s["from_logits"] or s["label_smoothing"] or s["kind"] == "binary_multi":
        raise NoCall
    if slot not in ("none", "sum", "mean_with_sample_weight"):
        raise NoCall
    yt, yp, sw = a["y_true"], a["y_pred"], a.get("sample_weight")
    if s["kind"] == "binary":
        yt, yp = yt[:, 0], yp[:, 0]
    if slot != "none":
        return log_loss(yt, yp, sample_weight=sw, normalize=slot != "sum")
    log_loss(yt, yp, sample_weight=sw)  # raises the refusals before the per-row calls
    if s["kind"] == "categorical" and np.all((yt == 0) | (yt == 1)) and np.all(yt.sum(1) == 1):
        row_labels, classes = yt.argmax(1), list(range(yt.shape[1]))
    elif s["kind"] == "categorical" and np.all((yt == 0) | (yt == 1)):
        # an indicator matrix with all-zero rows: log_loss reads it as multilabel-indicator and
        # gives such a row the loss 0; a one-row call cannot be made of it, so each row's loss
        # is the whole call with that row's weight 1 and every other 0 (normalize=False)
        per = np.asarray([log_loss(yt, yp, sample_weight=np.eye(1, yp.shape[0], i)[0], normalize=False)
                          for i in range(yp.shape[0])], dtype=yp.dtype)
        return per if sw is None else per * sw
    else:
        row_labels = yt
        classes = np.unique(row_labels).tolist()
    per = np.asarray([log_loss(row_labels[i:i + 1], yp[i:i + 1], normalize=False, labels=classes)
                      for i in range(yp.shape[0])], dtype=yp.dtype)  # each row's loss, as computed
    if sw is not None:  # weighed as np.average does: np.multiply(losses, w) in their promoted dtype
        per = per * sw
    return per


def run_optax(s, a, slot):
    import jax.numpy as jnp
    import numpy as np
    import optax

    if "sample_weight" in a or not s["from_logits"]:
        raise NoCall
    kind = fz.loss_kind(s)
    if s["label_smoothing"] and kind != "categorical":
        raise NoCall
    if slot not in ("none", "mean", "sum"):
        raise NoCall
    z = jnp.asarray(a["y_pred"].astype(np.float32))
    if kind == "sparse":
        per = optax.softmax_cross_entropy_with_integer_labels(z, jnp.asarray(a["y_true"].astype(np.int32)))
    elif kind == "binary":
        # per example: the mean of a row's K outputs, or (1-D) the element itself: optax reads
        # (N,) as N examples; sum and mean reduce the elementwise output, as users call them
        elementwise = optax.sigmoid_binary_cross_entropy(z, jnp.asarray(a["y_true"].astype(np.float32)))
        if slot != "none":
            return {"mean": jnp.mean, "sum": jnp.sum}[slot](elementwise)
        per = elementwise.mean(-1) if elementwise.ndim == 2 else elementwise
    else:
        labels = jnp.asarray(a["y_true"].astype(np.float32))
        if s["label_smoothing"]:
            labels = optax.smooth_labels(labels, s["label_smoothing"])
        per = optax.softmax_cross_entropy(z, labels)
    return {"none": per, "mean": jnp.mean(per), "sum": jnp.sum(per)}[slot]


def run_naive(s, a, slot):
    import numpy as np

    def xlogy(x, y):  # 0·log 0 = 0, with numpy's log (the profile's call), not scipy's libm log
        return np.where(x == 0, 0.0, x * np.log(y))

    kind, ls = fz.loss_kind(s), s["label_smoothing"]
    if kind == "sparse" and ls:
        raise NoCall
    yt, yp, sw = a["y_true"], a["y_pred"].astype(np.float64), a.get("sample_weight")
    if s["from_logits"]:
        if kind == "binary":
            yp = 1.0 / (1.0 + np.exp(-yp))
        else:
            yp = np.exp(yp) / np.exp(yp).sum(-1, keepdims=True)
    if kind == "sparse":
        labels = yt.reshape(-1).astype(np.int64)
        if (labels != yt.reshape(-1)).any() or (labels < 0).any() or (labels >= yp.shape[1]).any():
            raise IndexError("labels must be integers in [0, K)")
        per = -np.log(yp[np.arange(yp.shape[0]), labels])
    else:
        y = yt.astype(np.float64)
        if ls:
            y = y * (1.0 - ls) + ls / (2 if kind == "binary" else y.shape[-1])
        if kind == "binary":  # per sample the mean of a row's K outputs; 1-D: N samples of one
            y, yp = (y[:, None], yp[:, None]) if y.ndim == 1 else (y, yp)
            per = -np.mean(xlogy(y, yp) + xlogy(1.0 - y, 1.0 - yp), axis=-1)
        else:
            per = -np.sum(xlogy(y, yp), axis=-1)
    weighted = per if sw is None else per * sw.astype(np.float64)
    n = np.size(per)
    total = np.sum(weighted)
    if slot == "none":
        return weighted
    if slot == "sum":
        return total
    if slot in ("mean", "sum_over_batch_size"):
        return total / n
    divisor = n if sw is None else np.sum(sw.astype(np.float64))
    return 0.0 if divisor == 0 else total / divisor


RUNNERS = {**{fw: run_keras3 for fw in KERAS3}, "tf-keras": run_tf_keras, "torch": run_torch,
           "sklearn": run_sklearn, "optax": run_optax, "naive": run_naive}


def worker(fw: str, out: Path, variant: str, seed: int = fz.MASTER_SEED, n_cases: int = fz.N_CASES) -> None:
    import numpy as np

    cases = [fz.spec(i, seed) for i in range(n_cases)]
    status = np.full((len(cases), len(SLOTS)), NO_CALL, np.int8)
    reduced = np.full((len(cases), len(SLOTS)), np.nan)
    err_index = np.full((len(cases), len(SLOTS)), -1, np.int16)
    per_parts, offsets, dtypes = [], [0], []
    errors: list[str] = []
    run = RUNNERS[fw]
    step = STEP.get(fw, 1)
    for c, s in enumerate(cases):
        a = fz.arrays(s)
        per = np.zeros(0)
        dtype = ""
        for j, slot in enumerate(SLOTS if c % step == 0 else ()):
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                try:
                    value = np.asarray(run(s, a, slot))
                except NoCall:
                    continue
                except Exception as exc:  # the framework refuses: that is the golden answer
                    text = error_text(exc, 200)  # the corpus stores shorter messages
                    if text not in errors:
                        errors.append(text)
                    status[c, j], err_index[c, j] = RAISED, errors.index(text)
                    continue
            status[c, j] = VALUE
            if slot == "none":
                per, dtype = value.astype(np.float64).reshape(-1), str(value.dtype)
            else:
                reduced[c, j] = float(value.astype(np.float64))
        per_parts.append(per)
        offsets.append(offsets[-1] + per.size)
        dtypes.append(dtype)
    per_sample = np.concatenate(per_parts) if per_parts else np.zeros(0)
    sys.path.insert(0, str(ROOT))
    from xentropy_cli.core.kernels import numpy_dispatch

    dispatch = numpy_dispatch()
    name = fw if variant == "default" else f"{fw}@{dispatch}"
    np.savez_compressed(out / f"{name}.npz", status=status, reduced=reduced, err_index=err_index,
                        per_sample=per_sample, offsets=np.asarray(offsets, np.int64))
    (out / f"{name}.meta.json").write_text(json.dumps({
        "framework": fw, "profile": PROFILE_OF[fw], "numpy_dispatch": dispatch,
        "npy_disable_cpu_features": os.environ.get("NPY_DISABLE_CPU_FEATURES", ""),
        "versions": versions(fw),
        "call": CORPUS_CALLS[fw], "errors": errors, "result_dtypes": dtypes}) + "\n")
    print(f"{fw} ({variant}): {int((status == VALUE).sum())} values, "
          f"{int((status == RAISED).sum())} refusals, {per_sample.size} per-sample values")


def as_diff(fw: str, out: Path) -> None:
    """Store each other dispatch path's recording as the positions where it differs from the
    default one (or drop it, where the path gives the default's bits)."""
    import numpy as np

    base = np.load(out / f"{fw}.npz")
    default = json.loads((out / f"{fw}.meta.json").read_text())["numpy_dispatch"]
    for meta_path in sorted(out.glob(f"{fw}@*.meta.json")):
        meta = json.loads(meta_path.read_text())
        path = out / f"{fw}@{meta['numpy_dispatch']}.npz"
        meta_path.unlink()
        if meta["numpy_dispatch"] == default:
            path.unlink()
            continue
        other = np.load(path)
        if "status" not in other.files:  # already a diff
            continue
        for key in ("status", "err_index", "offsets"):
            assert np.array_equal(base[key], other[key]), (fw, key)
        diff = {}
        for key in ("per_sample", "reduced"):
            a, b = base[key].reshape(-1), other[key].reshape(-1)
            where = np.flatnonzero((a != b) & ~(np.isnan(a) & np.isnan(b)))
            diff[f"{key}_at"], diff[f"{key}_value"] = where.astype(np.int64), b[where]
        np.savez_compressed(path, **diff)
        print(f"{fw}@{meta['numpy_dispatch']} (NPY_DISABLE_CPU_FEATURES="
              f"{meta['npy_disable_cpu_features']!r}): {diff['per_sample_at'].size} per-sample and "
              f"{diff['reduced_at'].size} reduced values differ")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated frameworks: " + ",".join(FRAMEWORKS))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--seed", type=int, default=fz.MASTER_SEED,
                        help="another master seed draws an independent corpus (write it with --out)")
    parser.add_argument("--cases", type=int, default=fz.N_CASES, help="how many cases to draw")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="default", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        worker(args.worker, out, args.variant, args.seed, args.cases)
        return 0
    again = in_frameworks_venv(__file__, argv)
    if again is not None:
        return again
    chosen = args.only.split(",") if args.only else list(FRAMEWORKS)
    if set(chosen) - set(FRAMEWORKS):
        parser.error(f"unknown framework(s) {sorted(set(chosen) - set(FRAMEWORKS))}")
    if True:  # cheap, and the same whatever --only says
        specs = [fz.spec(i, args.seed) for i in range(args.cases)]
        tmp = out / f".corpus.json.{os.getpid()}"  # runs for other frameworks may write it too
        tmp.write_text(json.dumps({
            "master_seed": args.seed, "generated_by": "tools/gen_corpus.py",
            "slots": SLOTS, "cases": [{**s, "sha256": fz.digest(fz.arrays(s))} for s in specs],
        }, separators=(",", ":")) + "\n")
        tmp.replace(out / "corpus.json")
    status = 0
    for fw in chosen:
        variants = NUMPY_VARIANTS if fw in NUMPY_FRAMEWORKS else ("",)
        code = run_workers(fw, framework_env(fw, inherit_numpy_features=False), variants,
                           lambda disabled, fw=fw: [sys.executable, __file__, "--worker", fw, "--variant",
                                                    "other" if disabled else "default", "--out", str(out),
                                                    "--seed", str(args.seed), "--cases", str(args.cases)])
        status = status or code
        if fw in NUMPY_FRAMEWORKS and not status:
            as_diff(fw, out)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
