"""Record each framework's float32 log (and glibc's logf/log1pf) over a seeded sweep of inputs.

Run in the frameworks' venv, from the repository root:

    /work/fwvenv/bin/python tools/gen_kernel_sweep.py            (everything)
    /work/fwvenv/bin/python tools/gen_kernel_sweep.py --exp-only (add exp and log1p to the fixture)

It writes tests/golden/kernels_sweep.json (versions, machine, counts, sha256 of every full output)
and tests/golden/kernels_sweep.npz (compact data). Outputs are not stored raw: for each source only
the positions where it differs from a fixed reference (``kernels.glibc_logf``, pure IEEE numpy
arithmetic, so the same on every machine; ``kernels.glibc_log1pf`` for log1p) and the difference
of the float32 bit patterns. The test rebuilds every output from the seed, the reference and these
differences, and checks its sha256.

The sweep (``sweep_inputs``) is 1,000,000+ float32 values: bit patterns uniform over all positive
finite floats (every exponent, subnormals included), bit patterns uniform over [1e-7, 1] (the
probabilities a loss takes the log of), values uniform over [1e-7, 1), and edge values. It is one
1-D array, as the frameworks see it: TensorFlow's last n mod 8 elements take its scalar path.
The shape probes record small arrays of many shapes, whose tails take the scalar paths.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SEED = 20260909
PARTS = {"all_positive": 400_000, "probabilities_bits": 400_000, "probabilities_uniform": 200_000}


def edge_values() -> np.ndarray:
    """Zeros, ±1, ±inf, nan, the smallest normal and subnormal, 1e-7 and 1 − 1e-7, and every power
    of two 2⁻¹⁴⁹ … 2¹²⁷ with its two neighbours."""
    f32 = np.float32
    powers = np.ldexp(np.ones(277, np.float64), np.arange(-149, 128)).astype(f32)
    near = np.concatenate([np.nextafter(powers, f32(0)), powers, np.nextafter(powers, f32(np.inf))])
    fixed = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-7, 1 - 1e-7, 0.5, 0.9, 0.05,
                      0.89 / 1.99, 0.94, 0.7071067811865476], f32)
    return np.concatenate([fixed, near]).astype(f32)


def sweep_inputs(seed: int = SEED) -> np.ndarray:
    """The sweep, regenerated identically from ``seed`` by the generator and the tests."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array([1e-7, 1.0], np.float32).view(np.uint32)
    parts = [
        rng.integers(1, 0x7F7FFFFF, PARTS["all_positive"], dtype=np.uint32, endpoint=True).view(np.float32),
        rng.integers(lo, hi, PARTS["probabilities_bits"], dtype=np.uint32, endpoint=True).view(np.float32),
        rng.uniform(1e-7, 1.0, PARTS["probabilities_uniform"]).astype(np.float32),
        edge_values(),
    ]
    return np.concatenate(parts)


def log1p_inputs(seed: int = SEED) -> np.ndarray:
    """Arguments of log1p in binary cross-entropy: −p for the probabilities of the sweep, and the
    rest of the sweep as it is."""
    x = sweep_inputs(seed)
    return np.concatenate([-x[PARTS["all_positive"]:], x]).astype(np.float32)


def shape_list() -> list[tuple[int, ...]]:
    """Small shapes whose scalar tails differ: 1-D 1…40, 2-D up to 12×12, and a few larger ones."""
    shapes: list[tuple[int, ...]] = [(n,) for n in range(1, 41)]
    shapes += [(n, k) for n in range(1, 13) for k in range(1, 13)]
    return shapes + [(100, 10), (1001, 3), (2, 3, 5), (257,), (1001,)]


def bit_diff(out: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions where ``out`` differs from ``ref`` bit for bit (NaNs compare by their bits too),
    and out's bits minus ref's bits there, as int64."""
    ob, rb = out.view(np.uint32).astype(np.int64), ref.view(np.uint32).astype(np.int64)
    idx = np.flatnonzero(ob != rb)
    return idx, ob[idx] - rb[idx]


def rebuild(ref: np.ndarray, idx: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The recorded output, from the reference and the recorded differences."""
    bits = ref.view(np.uint32).astype(np.int64)
    bits[idx] += delta
    return bits.astype(np.uint32).view(np.float32)


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, np.float32).tobytes()).hexdigest()


def _libm(name: str):
    fn = getattr(ctypes.CDLL("libm.so.6"), name)
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return np.frompyfunc(lambda v: fn(float(v)), 1, 1)


def framework_logs(x: np.ndarray) -> dict[str, np.ndarray]:
    """log x by every framework, each given the whole 1-D float32 array."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import jax.numpy as jnp
    import tensorflow as tf
    import torch

    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "numpy": np.log(x),
            "tensorflow": tf.math.log(x).numpy(),
            "torch": torch.log(torch.from_numpy(x.copy())).numpy(),
            "xla": np.asarray(jnp.log(x)),
            "glibc": _libm("logf")(x).astype(np.float32),
        }
    return {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}


def shape_probe_inputs() -> np.ndarray:
    """Inputs where the vector and scalar paths of TensorFlow and XLA give different bits, so a
    probe shows which elements took which path."""
    from xentropy_cli.core import kernels

    x = sweep_inputs()[PARTS["all_positive"]:PARTS["all_positive"] + PARTS["probabilities_bits"]]
    g = kernels.glibc_logf(x)
    keep = (kernels.eigen_plog(x) != g) & (kernels.xla_log(x) != g)
    n = sum(int(np.prod(s)) for s in shape_list())
    return np.resize(x[keep], n)


def shape_probes() -> dict[str, np.ndarray]:
    """Each framework's log of the probe inputs cut into every shape of ``shape_list``."""
    import jax.numpy as jnp
    import tensorflow as tf
    import torch

    x = shape_probe_inputs()
    out: dict[str, list[np.ndarray]] = {"tensorflow": [], "xla": [], "torch": []}
    at = 0
    for shape in shape_list():
        n = int(np.prod(shape))
        a = x[at:at + n].reshape(shape)
        at += n
        out["tensorflow"].append(tf.math.log(a).numpy().ravel())
        out["xla"].append(np.asarray(jnp.log(a)).ravel())
        out["torch"].append(torch.log(torch.from_numpy(a.copy())).numpy().ravel())
    return {"probe_x": x, **{f"probe_{k}": np.concatenate(v).astype(np.float32) for k, v in out.items()}}


def reduction_shapes() -> list[tuple[int, ...]]:
    """Shapes of the summation probes: rows of 1…40 and some longer, the fixtures' (N, K), 1-D
    sums up to and past the frameworks' thresholds (TF 8192, torch 32768, XLA 32 and 4096)."""
    rows = [(7, k) for k in [*range(1, 41), 50, 64, 80, 100, 128, 1000]]
    rows += [(1000, 20), (33, 100), (1000, 3), (200, 10)]
    return rows + [(n,) for n in [*range(1, 41), 100, 1000, 4095, 8193, 32767, 32769, 100000]]


def reduction_input(i: int, shape: tuple[int, ...], dtype: str, seed: int = SEED) -> np.ndarray:
    """Probe ``i``: normal values scaled by 10^−3 … 10^3, so the order of addition shows."""
    rng = np.random.default_rng([seed, i, 64 if dtype == "float64" else 32])
    return (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4, shape)).astype(dtype)


def reduction_probes() -> dict[str, np.ndarray]:
    """Each framework's sum over the last axis of every probe (TensorFlow also in float64), and
    its p / Σp (normalise) and row mean on positive probes, flattened and concatenated."""
    import jax.numpy as jnp
    import tensorflow as tf
    import torch

    sums = {
        "tensorflow": lambda a: tf.reduce_sum(a, axis=-1).numpy(),
        "torch": lambda a: torch.sum(torch.from_numpy(a), dim=-1).numpy(),
        "xla": lambda a: np.asarray(jnp.sum(a, axis=-1)),
    }
    norms = {
        "tensorflow": lambda a: (a / tf.reduce_sum(a, axis=-1, keepdims=True)).numpy(),
        "torch": lambda a: (torch.from_numpy(a) / torch.sum(torch.from_numpy(a), -1, keepdim=True)).numpy(),
        "xla": lambda a: np.asarray(a / jnp.sum(jnp.asarray(a), axis=-1, keepdims=True)),
    }
    means = {
        "tensorflow": lambda a: tf.reduce_mean(a, axis=-1).numpy(),
        "torch": lambda a: torch.mean(torch.from_numpy(a), dim=-1).numpy(),
        "xla": lambda a: np.asarray(jnp.mean(a, axis=-1)),
    }
    out: dict[str, np.ndarray] = {}
    shapes = reduction_shapes()
    for name in sums:
        got = [np.ravel(sums[name](reduction_input(i, s, "float32"))) for i, s in enumerate(shapes)]
        out[f"sum_{name}"] = np.concatenate(got).astype(np.float32)
        rows = [s for s in shapes if len(s) == 2]
        pos = [np.abs(reduction_input(i, s, "float32")) for i, s in enumerate(rows)]
        out[f"normalise_{name}"] = np.concatenate([np.ravel(norms[name](a)) for a in pos]).astype(np.float32)
        out[f"mean_{name}"] = np.concatenate([np.ravel(means[name](a)) for a in pos]).astype(np.float32)
    got = [np.ravel(sums["tensorflow"](reduction_input(i, s, "float64"))) for i, s in enumerate(shapes)]
    out["sum_tensorflow64"] = np.concatenate(got)
    return out


def log64_inputs(seed: int = SEED) -> np.ndarray:
    """float64 sweep for TensorFlow's float64 log (tf.keras keeps float64 inputs in float64):
    bit patterns over all positive doubles, and values uniform over [1e-7, 1); odd length."""
    rng = np.random.default_rng([seed, 64])
    return np.concatenate([rng.integers(1, 0x7FEFFFFFFFFFFFFF, 100_000, dtype=np.uint64).view(np.float64),
                           rng.uniform(1e-7, 1.0, 100_003)])


def exp_inputs(seed: int = SEED) -> np.ndarray:
    """Arguments of exp in a loss: shifted logits and −|z|, so mostly [−104, 0] (uniform values,
    and bit patterns uniform over the negative floats down to −104), some up to 88.3 (beyond it
    XLA's exp is not modelled), and edge values; odd length, so TensorFlow's tail is used."""
    rng = np.random.default_rng([seed, 0xE])
    lo, hi = np.array([-0.0, -104.0], np.float32).view(np.uint32)
    edges = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, -87.33655, -87.33654, -103.97207,
                      -103.97208, -104.0, -104.00001, 88.0, 88.3, 1e-30, -1e-30, -1e-40], np.float32)
    return np.concatenate([rng.uniform(-104, 0, 150_000).astype(np.float32),
                           rng.integers(lo, hi, 100_000, dtype=np.uint32, endpoint=True).view(np.float32),
                           rng.uniform(-88, 88.3, 50_001).astype(np.float32), edges])


def log1p_fw_inputs(seed: int = SEED) -> np.ndarray:
    """Arguments of the frameworks' log1p in a loss: exp(−|z|) ∈ (0, 1] (the sweep's probabilities,
    bit patterns and uniform), −p, and values up to 1e3; odd length."""
    x = sweep_inputs(seed)
    a = PARTS["all_positive"]
    probs = np.concatenate([x[a:a + 150_000], x[a + PARTS["probabilities_bits"]:][:100_000]])
    rng = np.random.default_rng([seed, 0x1F])
    return np.concatenate([probs, -probs[:50_001], rng.uniform(0, 1e3, 20_000).astype(np.float32),
                           np.array([0.0, -0.0, -1.0, np.inf, np.nan, 1e-40, 0.41421354, 0.41421357],
                                    np.float32)])


def exp64_inputs(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """float64 arguments of exp ([−745, 0], [−5, 0] and [−700, 700]) and of log1p ([0, 1] and
    [−0.5, 5]), for tf-keras with float64 inputs; odd lengths (Eigen packets of 4, then scalars)."""
    rng = np.random.default_rng([seed, 64, 0xE])
    x = np.concatenate([rng.uniform(-745, 0, 50_000), rng.uniform(-5, 0, 50_000),
                        rng.uniform(-700, 700, 20_003)])
    return x, np.concatenate([rng.uniform(0, 1, 50_000), rng.uniform(-0.5, 5, 20_003)])


def eigen_log1p_double(x: np.ndarray) -> np.ndarray:
    """Eigen's generic_log1p with plog_double on every element (the float64 reference)."""
    from xentropy_cli.core import kernels

    with np.errstate(all="ignore"):
        u = x + 1.0
        log_u = kernels.eigen_plog_double(u)
        return np.where((u == 1.0) | (u == log_u), x, x * (log_u / (u - 1.0)))


def exp_shape_probe_inputs() -> np.ndarray:
    """Inputs on which the vector and scalar paths of exp differ in both TensorFlow and XLA."""
    from xentropy_cli.core import kernels

    x = exp_inputs()[:150_000]
    g = kernels.glibc_expf(x, daz=True)
    keep = (kernels.eigen_pexp(x) != g) & (kernels.xla_exp(x) != g)
    return np.resize(x[keep], sum(int(np.prod(s)) for s in shape_list()))


def exp_records() -> tuple[dict[str, np.ndarray], dict]:
    """exp (TensorFlow, XLA, glibc) over ``exp_inputs`` and log1p (TensorFlow, XLA) over
    ``log1p_fw_inputs``, stored as differences from kernels.glibc_expf / kernels.glibc_log1pf;
    TensorFlow's float64 exp and log1p over ``exp64_inputs``, stored as the bits that differ from
    Eigen's packet formulas; and exp of the shape probes, stored raw."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import jax.numpy as jnp
    import tensorflow as tf

    from xentropy_cli.core import kernels

    xe, xl = exp_inputs(), log1p_fw_inputs()
    with np.errstate(all="ignore"):
        outs = {
            "exp_tensorflow": (tf.math.exp(xe).numpy(), kernels.glibc_expf(xe)),
            "exp_xla": (np.asarray(jnp.exp(xe)), kernels.glibc_expf(xe)),
            "exp_glibc": (_libm("expf")(xe).astype(np.float32), kernels.glibc_expf(xe)),
            "log1p_tensorflow": (tf.math.log1p(xl).numpy(), kernels.glibc_log1pf(xl)),
            "log1p_xla": (np.asarray(jnp.log1p(xl)), kernels.glibc_log1pf(xl)),
        }
    arrays: dict[str, np.ndarray] = {}
    meta: dict = {"n_exp": int(xe.size), "n_log1p_fw": int(xl.size),
                  "reference": "kernels.glibc_expf(x) (log1p: kernels.glibc_log1pf(x))", "outputs": {}}
    for name, (out, ref) in outs.items():
        out = np.ascontiguousarray(out, np.float32)
        idx, delta = bit_diff(out, ref)
        arrays[f"{name}_idx"] = np.diff(idx, prepend=0).astype(np.uint32)
        arrays[f"{name}_delta"] = delta.astype(np.int64)
        meta["outputs"][name] = {"sha256": sha256(out), "n_differ_from_reference": int(idx.size)}
    x64, y64 = exp64_inputs(seed=SEED)
    for name, out, ref in (
            ("exp64_tensorflow", tf.math.exp(x64).numpy(), kernels.eigen_pexp_double(x64)),
            ("log1p64_tensorflow", tf.math.log1p(y64).numpy(), eigen_log1p_double(y64))):
        b, r = out.view(np.int64), ref.view(np.int64)
        idx = np.flatnonzero(b != r)
        arrays[f"{name}_idx"], arrays[f"{name}_bits"] = idx.astype(np.int64), b[idx]
        meta["outputs"][name] = {"sha256": hashlib.sha256(out.tobytes()).hexdigest(),
                                 "n_differ_from_reference": int(idx.size)}
    meta["n_exp64"], meta["n_log1p64"] = int(x64.size), int(y64.size)
    meta["reference64"] = "kernels.eigen_pexp_double(x); log1p: eigen_log1p_double(x) (this tool)"
    x = exp_shape_probe_inputs()
    probes: dict[str, list[np.ndarray]] = {"tensorflow": [], "xla": []}
    at = 0
    for shape in shape_list():
        n = int(np.prod(shape))
        a = x[at:at + n].reshape(shape)
        at += n
        probes["tensorflow"].append(tf.math.exp(a).numpy().ravel())
        probes["xla"].append(np.asarray(jnp.exp(a)).ravel())
    arrays["exp_probe_x"] = x
    for k, v in probes.items():
        arrays[f"exp_probe_{k}"] = np.concatenate(v).astype(np.float32)
    return arrays, meta


def machine() -> dict[str, str]:
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line
                break
    except OSError:
        pass
    simd = [f for f in ("avx512f", "avx2", "fma", "avx") if f" {f} " in flags + " "]
    return {"machine": platform.machine(), "cpu_simd": " ".join(simd), "libc": " ".join(platform.libc_ver())}


def versions() -> dict[str, str]:
    import jax
    import tensorflow as tf
    import torch

    return {"tensorflow": tf.__version__, "torch": torch.__version__, "jax": jax.__version__,
            "jaxlib": __import__("jaxlib").__version__, "numpy": np.__version__,
            "python": sys.version.split()[0]}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from xentropy_cli.core import kernels

    x = sweep_inputs()
    ref = kernels.glibc_logf(x)
    outs = framework_logs(x)
    x1p = log1p_inputs()
    ref1p = kernels.glibc_log1pf(x1p)
    with np.errstate(divide="ignore", invalid="ignore"):
        outs1p = {"glibc_log1p": _libm("log1pf")(x1p).astype(np.float32), "numpy_log1p": np.log1p(x1p)}
    arrays: dict[str, np.ndarray] = {}
    meta: dict = {"seed": SEED, "parts": PARTS, "n": int(x.size), "n_log1p": int(x1p.size),
                  "reference": "kernels.glibc_logf(x) (for log1p: kernels.glibc_log1pf(x1p))",
                  "versions": versions(), **machine(), "generated_by": "tools/gen_kernel_sweep.py",
                  "outputs": {}}
    for name, (out, r) in {**{k: (v, ref) for k, v in outs.items()},
                           **{k: (v, ref1p) for k, v in outs1p.items()}}.items():
        idx, delta = bit_diff(out, r)
        assert np.array_equal(rebuild(r, idx, delta).view(np.uint32), out.view(np.uint32))
        arrays[f"{name}_idx"] = np.diff(idx, prepend=0).astype(np.uint32)
        arrays[f"{name}_delta"] = delta.astype(np.int64)
        meta["outputs"][name] = {"sha256": sha256(out), "n_differ_from_reference": int(idx.size)}
    import tensorflow as tf

    x64 = log64_inputs()
    ref64 = kernels.eigen_plog_double(x64)
    out64 = tf.math.log(x64).numpy()
    b64, r64 = out64.view(np.int64), ref64.view(np.int64)
    idx64 = np.flatnonzero(b64 != r64)
    arrays["tensorflow64_idx"] = idx64.astype(np.int64)
    arrays["tensorflow64_bits"] = b64[idx64]
    meta["log64"] = {"n": int(x64.size), "reference": "kernels.eigen_plog_double(x)",
                     "sha256": hashlib.sha256(out64.tobytes()).hexdigest()}
    reductions = reduction_probes()
    arrays.update(reductions)
    meta["reduction_shapes"] = [list(s) for s in reduction_shapes()]
    probes = shape_probes()
    arrays.update(probes)
    meta["probe_shapes"] = [list(s) for s in shape_list()]
    meta["probe_sha256"] = {k: sha256(v) for k, v in probes.items()}
    exp_arrays, meta["exp"] = exp_records()
    arrays.update(exp_arrays)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(GOLDEN / "kernels_sweep.npz", **arrays)
    (GOLDEN / "kernels_sweep.json").write_text(json.dumps(meta, indent=1) + "\n")
    size = (GOLDEN / "kernels_sweep.npz").stat().st_size
    print(f"{x.size} inputs; npz {size / 1e6:.2f} MB")
    for name, m in meta["outputs"].items():
        print(f"  {name:12s} differs from reference at {m['n_differ_from_reference']}")


def add_exp() -> None:
    """``--exp-only``: record exp and log1p into the existing fixture, leaving the rest as it is."""
    sys.path.insert(0, str(ROOT))
    meta = json.loads((GOLDEN / "kernels_sweep.json").read_text())
    arrays = dict(np.load(GOLDEN / "kernels_sweep.npz"))
    exp_arrays, meta["exp"] = exp_records()
    arrays.update(exp_arrays)
    np.savez_compressed(GOLDEN / "kernels_sweep.npz", **arrays)
    (GOLDEN / "kernels_sweep.json").write_text(json.dumps(meta, indent=1) + "\n")
    for name, m in meta["exp"]["outputs"].items():
        print(f"  {name:16s} differs from reference at {m['n_differ_from_reference']}")


if __name__ == "__main__":
    add_exp() if "--exp-only" in sys.argv[1:] else main()
