"""Elementwise kernels by framework. Frameworks round float32 logarithms differently.

``log(x, kernel)`` computes the natural log the way the named library does, bit for bit, in exact
float32/float64 numpy arithmetic. ``numpy`` is numpy's own ``np.log``. The others model what each
framework's CPU build does on an x86-64 AVX2 machine (measured with tools/gen_kernel_sweep.py):

- ``tensorflow``: Eigen's vectorised ``plog_float`` on 8-float AVX packets (TensorFlow's wheel is
  built without FMA, so every multiply-add rounds twice) for the first ``n − n mod 8`` elements of
  the tensor in memory order, and the C library's ``logf`` for the last ``n mod 8``.
- ``torch``: Intel MKL's ``vsLn`` (PyTorch's x86 wheels call it for every contiguous or strided
  float32 log). MKL is closed source: this kernel is the correctly rounded log, which agrees with it
  on about 92.5 % of inputs and is never more than 1 ulp away. ``F.binary_cross_entropy`` does not
  use it: it calls the C library's ``logf`` and ``log1pf`` element by element (kernel ``glibc``).
- ``xla``: XLA:CPU's Cephes polynomial (LLVM fuses its multiply-adds into FMAs) for every element,
  except one-dimensional arrays of 3, 5, 6, 7, 11, 13, 14 or 15 elements, whose last ``n mod 8``
  elements LLVM scalarises into calls to the C library's ``logf``.
- ``glibc``: glibc 2.36's ``logf`` (its FMA variant, picked at run time on FMA machines), the
  scalar fallback of the two above.

``exp(x, kernel)`` and ``log1p(x, kernel)`` do the same for eˣ and ln(1 + x) (log-softmax,
log-sigmoid), verified bit for bit on sweeps recorded from the frameworks:

- ``tensorflow``: Eigen's ``pexp_float`` / ``generic_log1p`` (over ``plog_float``) on packets of 8,
  glibc's ``expf`` / ``log1pf`` on the last n mod 8; in float64 ``pexp_double`` / ``generic_log1p``
  over ``plog_double`` on packets of 4 and the C library on the n mod 4. Inside TensorFlow's
  softmax cross-entropy kernels exp feeds a row sum, so every row has its own packets and tail
  (``exp(rows=True)``); the sparse kernel takes the row sum's log with the C library's logf.
- ``xla``: XLA:CPU's Cephes exp and log1p with fused multiply-adds (log1p calls XLA's log above
  √2 − 1), glibc's ``expf`` on the same scalarised 1-D tails as log.

Fused multiply-adds are emulated exactly: a float32 product is exact in float64, and the float64
sum is rounded to odd before the final rounding to float32, which makes the double rounding
harmless (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums", 2008). A float64 FMA
uses an exact product (Veltkamp/Dekker), TwoSum and the same round-to-odd step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from xentropy_cli.core.libm import (  # noqa: F401 - re-exported: kernels.glibc_logf, …
    _flush,
    eigen_log1p,
    eigen_pexp,
    eigen_pexp_double,
    eigen_plog,
    eigen_plog_double,
    fma32,
    fma64,
    glibc_expf,
    glibc_log1pf,
    glibc_logf,
    rounded_log,
    xla_exp,
    xla_log,
    xla_log1p,
)

Array = np.ndarray
F32 = np.float32
F64 = np.float64
_U32 = np.uint32

# Where a cell sits in its tensor can change its result, the one fact both engines align to:
PACKET = 8  # TensorFlow's float32 kernels work on packets of 8 cells (float64: 4) and a scalar tail
YNNPACK_FROM = 4096  # XLA sums rows one way below this many cells in the tensor, another from it on


# --- numpy ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def numpy_dispatch() -> str:
    """A short name for the bits this process's numpy gives from its own log, exp and log1p.

    numpy sends float64 (and some float32) transcendental ufuncs to different code on different
    CPUs: its own AVX-512 loops where the CPU has them, the C library elsewhere. The profiles that
    *are* numpy (naive, sklearn, keras-numpy) follow it, as the real framework on the same machine
    does. Two processes with the same name give the same bits on the probe, 3 × 2 × 4096 values
    where the known variants differ on dozens.
    """
    rng = np.random.default_rng(20261202)
    probes = {np.log: rng.uniform(1e-12, 2.0, 4096), np.exp: rng.uniform(-60.0, 60.0, 4096),
              np.log1p: rng.uniform(-0.5, 5.0, 4096)}
    import hashlib  # here, not at the top: only this probe needs it, and `xent` starts faster

    digest = hashlib.sha256()
    with np.errstate(all="ignore"):
        for ufunc, x in probes.items():
            for dtype in (F64, F32):
                digest.update(np.ascontiguousarray(ufunc(x.astype(dtype))).tobytes())
    return digest.hexdigest()[:12]


def _numpy_log(x: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


# --- framework kernels: which elements of a tensor take which path --------------------------

def _with_tail(x: Array, packet: Callable[[Array], Array], tail: int, daz: bool,
               scalar: Callable[..., Array] = glibc_logf) -> Array:
    """``packet`` on the flat array in memory order, ``scalar`` (glibc's logf unless told) on its
    last ``tail`` elements. ``daz``: the framework sets the CPU's denormals-are-zero flag while it
    runs its kernels."""
    flat = np.ascontiguousarray(x, dtype=F32).reshape(-1)
    out = np.array(packet(_flush(flat) if daz else flat), F32)
    if tail:
        out[flat.size - tail:] = scalar(flat[flat.size - tail:], daz=daz)
    return out.reshape(np.shape(x))


def _tensorflow_log(x: Array, tail: int | None = None) -> Array:
    """tf.math.log: Eigen packets of 8 over the flat tensor, glibc logf for the n mod 8 left over
    (TensorFlow runs its ops with denormals flushed to zero)."""
    return _with_tail(x, eigen_plog, np.size(x) % 8 if tail is None else tail, daz=True)


def _tensorflow_log64(x: Array, tail: int | None = None) -> Array:
    """tf.math.log on float64: Eigen packets of 4, glibc's log for the n mod 4 left over.
    Subnormal inputs read as 0 in the packets."""
    from xentropy_cli.core import glibc64

    flat = np.ascontiguousarray(x, dtype=F64).reshape(-1)
    out = eigen_plog_double(np.where(np.abs(flat) < np.finfo(F64).tiny, np.copysign(0.0, flat), flat))
    tail = flat.size % 4 if tail is None else tail
    if tail:
        out[flat.size - tail:] = glibc64.log(flat[flat.size - tail:])
    return out.reshape(np.shape(x))


def _xla_tail(shape: tuple[int, ...]) -> int:
    """Elements XLA:CPU leaves to scalar logf calls: only 1-D arrays whose last tile of n mod 8
    (n < 16) LLVM shrinks to a vector of 3, 5, 6 or 7 floats, which it cannot vectorise."""
    n = int(np.prod(shape))
    return n % 8 if len(shape) == 1 and n < 16 and n % 8 in (3, 5, 6, 7) else 0


def _xla_log(x: Array, tail: int | None = None) -> Array:
    """jnp.log on CPU (jax/optax, Keras's JAX backend)."""
    return _with_tail(x, xla_log, _xla_tail(np.shape(x)) if tail is None else tail, daz=True)


def _torch_log(x: Array) -> Array:
    """torch.log on CPU: MKL vsLn on every element, approximated by the correctly rounded log."""
    return rounded_log(np.asarray(x, F32))


LOG_KERNELS: dict[str, Callable[..., Array]] = {
    "numpy": _numpy_log,
    "tensorflow": _tensorflow_log,
    "torch": _torch_log,
    "xla": _xla_log,
    "glibc": glibc_logf,
    "rounded": rounded_log,
    "torch-vec": _torch_log,
}


# --- summation order by framework -------------------------------------------------------------

def _seqsum(a: Array, axis: int) -> Array:
    """((0 + a₀) + a₁) + …, one rounding per addition, along ``axis`` (an accumulator set to 0)."""
    a = np.moveaxis(a, axis, 0)
    zero = np.zeros((1,) + a.shape[1:], a.dtype)
    return np.add.accumulate(np.concatenate([zero, a]), axis=0, dtype=a.dtype)[-1]


def _lane_tree(acc: Array) -> Array:
    """Halve the last axis until one lane is left: lanes i and i + w/2 are added."""
    while acc.shape[-1] > 1:
        h = acc.shape[-1] // 2
        acc = acc[..., :h] + acc[..., h:]
    return acc[..., 0]


def _eigen_rows(a: Array) -> Array:
    """Eigen's InnerMostDimReducer on rows of at most 1024 packets (TensorFlow's reduce_sum, AVX):
    4 packet accumulators over blocks of 4 packets, then single packets, then a scalar tail; the
    result is tail + predux(packets), predux adding lanes i and i + w/2 down to one."""
    w = 8 if a.dtype == F32 else 4
    n, k = a.shape
    start, acc = 0, np.zeros((n, w), a.dtype)
    if k >= 4 * w:
        start = k // (4 * w) * 4 * w
        p = _seqsum(a[:, :start].reshape(n, start // (4 * w), 4, w), 1)
        acc = ((p[:, 0] + p[:, 1]) + p[:, 2]) + p[:, 3]
    for j in range(start, k // w * w, w):
        acc = acc + a[:, j:j + w]
    start = max(start, k // w * w)
    return _seqsum(a[:, start:], 1) + _lane_tree(acc)


def _eigen_sum(a: Array, first: int = 0) -> Array:
    """Eigen's tree reduction of one row: halves split at a packet boundary above 1024 packets."""
    w = 8 if a.dtype == F32 else 4
    n = a.size
    if n <= w * 1024:
        return _eigen_rows(a.reshape(1, n))[0]
    split = w * -(-(first + -(-n // 2)) // w)
    left = min(split - first, n)
    total = a.dtype.type(0) + _eigen_sum(a[:left], first)
    return total + _eigen_sum(a[left:], split) if left < n else total


def _tensorflow_sum(a: Array) -> Array:
    """tf.reduce_sum over the last axis (also Keras's ops.sum / ops.mean), verified bit for bit
    against TensorFlow 2.21 for rows up to 1023 and full sums up to 3,000,000 values."""
    if a.shape[-1] <= (8 if a.dtype == F32 else 4) * 1024:
        return _eigen_rows(a.reshape(-1, a.shape[-1])).reshape(a.shape[:-1])
    first = np.arange(int(np.prod(a.shape[:-1]))) * a.shape[-1]
    rows = a.reshape(-1, a.shape[-1])
    return np.array([_eigen_sum(r, int(f)) for r, f in zip(rows, first, strict=True)]).reshape(a.shape[:-1])


def _ceil_log2(n: int) -> int:
    return 1 if n <= 2 else int(n - 1).bit_length()


def _cascade(v: Array) -> Array:
    """PyTorch's multi_row_sum over axis 1: running sums of 16 (2^level_power) elements, carried
    up 4 levels of accumulators, so only sums of similar size meet."""
    b, size, rest = v.shape[0], v.shape[1], v.shape[2:]
    step = 1 << max(4, _ceil_log2(size) // 4)

    def groups(x: Array) -> tuple[Array, Array]:
        m = x.shape[1] // step
        return _seqsum(x[:, :m * step].reshape(b, m, step, *rest), 2), _seqsum(x[:, m * step:], 1)

    chunks, tail = groups(v)
    level1, rem1 = groups(chunks)
    level2, rem2 = groups(level1)
    return ((tail + rem1) + rem2) + _seqsum(level2, 1)


def _torch_row_sum(v: Array) -> Array:
    """row_sum: the row seen as (−1, 4) for 4 independent cascades, the leftover added to the
    first, then the four added in order."""
    b, n = v.shape[:2]
    m = n // 4
    p = _cascade(v[:, :m * 4].reshape(b, m, 4, *v.shape[2:]))
    first = p[:, 0]
    for i in range(m * 4, n):
        first = first + v[:, i]
    return ((first + p[:, 1]) + p[:, 2]) + p[:, 3]


def _torch_rows(a: Array) -> Array:
    """cascade_sum on contiguous rows: 8-float vectors through row_sum, then the scalar tail and
    the 8 lanes added one by one (rows shorter than 8: row_sum on the scalars)."""
    b, k = a.shape
    zero = a.dtype.type(0)
    w = 8 if a.dtype == F32 else 4
    if k < w:
        return zero + _torch_row_sum(a)
    nv = k // w
    lanes = _torch_row_sum(a[:, :nv * w].reshape(b, nv, w))
    total = _seqsum(a[:, nv * w:], 1)
    for lane in range(w):
        total = total + lanes[:, lane]
    return zero + total


TORCH_THREADS = 2  # torch.get_num_threads() on the machine the golden fixtures were recorded on


def _torch_sum(a: Array) -> Array:
    """torch.sum over the last axis (torch.mean divides it by n). A 1-D sum of 32768 values or
    more is split into one chunk per thread (two-pass reduction), so it depends on the number of
    threads of the machine that ran torch: ``TORCH_THREADS``."""
    if a.ndim > 1 or a.size < 32768:
        return _torch_rows(a.reshape(-1, a.shape[-1])).reshape(a.shape[:-1])
    threads = min(TORCH_THREADS, -(-a.size // 32768))
    chunk = -(-a.size // threads)
    parts = np.zeros(TORCH_THREADS, a.dtype)
    parts[:threads] = [_torch_rows(a[i:i + chunk].reshape(1, -1))[0] for i in range(0, a.size, chunk)]
    return _torch_rows(parts.reshape(1, -1))[0]


def _xla_windows(a: Array) -> Array:
    """XLA's plain reduce: a running sum from 0; over 32 values the tree-reduction rewriter first
    sums windows of 32 (zero padding split evenly, the odd one after), then the window sums."""
    k = a.shape[-1]
    if k <= 32:
        return _seqsum(a, -1)
    m = -(-k // 32)
    lo = (m * 32 - k) // 2
    padded = np.zeros(a.shape[:-1] + (m * 32,), a.dtype)
    padded[..., lo:lo + k] = a
    return _xla_windows(_seqsum(padded.reshape(*a.shape[:-1], m, 32), -1))


def _xla_sum(a: Array, whole: int | None = None) -> Array:
    """jnp.sum over the last axis on XLA:CPU. Under 4096 input elements: ``_xla_windows``; from
    4096 on XLA calls YNNPACK, modelled (rows of up to 80 verified; longer rows and 1-D sums of
    4096+ values are not) as 16-float accumulators over zero-padded rows, lanes halved at the end."""
    if (a.size if whole is None else whole) < YNNPACK_FROM:
        return _xla_windows(a)
    k = a.shape[-1]
    m = -(-k // 16)
    padded = np.zeros(a.shape[:-1] + (m * 16,), a.dtype)
    padded[..., :k] = a
    return _lane_tree(_seqsum(padded.reshape(*a.shape[:-1], m, 16), -2))


SUM_KERNELS: dict[str, Callable[[Array], Array]] = {
    "numpy": lambda a: np.sum(a, axis=-1, dtype=a.dtype),
    "tensorflow": _tensorflow_sum,
    "torch": _torch_sum,
    "xla": _xla_sum,
    # torch's vectorised log_softmax/log_sigmoid loops (ATen's own, not cascade_sum): not modelled,
    # numpy's pairwise order stands in; their exp/log/log1p are torch's stand-ins.
    "torch-vec": lambda a: np.sum(a, axis=-1, dtype=a.dtype),
}


def sum_last(a: Array, kernel: str = "numpy", keepdims: bool = False, whole: int | None = None) -> Array:
    """Σ over the last axis in the order the library named by ``kernel`` adds (float32/float64).

    ``whole``: the element count of the whole tensor when ``a`` is a block of its rows (a chunk):
    XLA chooses its reduction by the tensor's size (YNNPACK from 4096 elements).
    """
    a = np.asarray(a)
    if a.ndim == 0 or not np.issubdtype(a.dtype, np.floating):
        out = np.sum(a, axis=-1)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            if kernel == "xla":
                out = np.asarray(_xla_sum(a, whole), a.dtype)
            else:
                out = np.asarray(SUM_KERNELS.get(kernel, SUM_KERNELS["numpy"])(a), a.dtype)
    return np.expand_dims(out, -1) if keepdims else out


def divide_last(a: Array, d: Array, kernel: str = "numpy") -> Array:
    """a / d with d broadcast over the last axis (a row total, or a count). XLA rewrites a division
    by a broadcast into a multiplication by its reciprocal: a · (1/d), two roundings."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kernel == "xla" and np.issubdtype(np.asarray(a).dtype, np.floating):
            return a * (np.asarray(d).dtype.type(1) / d)
        return a / d


def mean_last(a: Array, kernel: str = "numpy") -> Array:
    """Mean over the last axis: the framework's sum, divided by n as ``divide_last`` divides."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        return np.mean(a, axis=-1)
    return divide_last(sum_last(a, kernel), a.dtype.type(a.shape[-1]), kernel)


def _tensorflow_log1p(x: Array, tail: int | None = None) -> Array:
    """tf.math.log1p: Eigen's generic_log1p on packets of 8, glibc log1pf on the n mod 8 left over."""
    return _with_tail(x, eigen_log1p, np.size(x) % 8 if tail is None else tail, daz=True,
                      scalar=lambda v, daz: glibc_log1pf(v))


def _xla_log1p(x: Array, tail: int | None = None) -> Array:
    """jnp.log1p on CPU: XLA's log1p; a scalarised tail (``_xla_tail``) takes glibc's logf for
    |x| ≥ √2 − 1 (not verified on the tail)."""
    return _with_tail(x, xla_log1p, _xla_tail(np.shape(x)) if tail is None else tail, daz=True,
                      scalar=lambda v, daz: xla_log1p(v, lambda u: glibc_logf(u, daz=daz)))


def _rounded_log1p(x: Array) -> Array:
    """fl₃₂(ln(1 + x)) through glibc's float64 log1p (emulated): the stand-in for torch's float32
    log1p (SLEEF, not emulated), the same on every CPU."""
    from xentropy_cli.core import glibc64

    return glibc64.log1p(np.asarray(x, F32).astype(F64)).astype(F32)


LOG1P_KERNELS: dict[str, Callable[..., Array]] = {
    "numpy": np.log1p, "glibc": glibc_log1pf, "tensorflow": _tensorflow_log1p, "xla": _xla_log1p,
    "torch": _rounded_log1p, "torch-vec": _rounded_log1p,
}


def _tensorflow_log1p64(x: Array, tail: int | None = None) -> Array:
    """tf.math.log1p on float64: generic_log1p with plog_double on packets of 4, glibc's log1p on
    the n mod 4 left over."""
    from xentropy_cli.core import glibc64

    flat = np.ascontiguousarray(x, dtype=F64).reshape(-1)
    with np.errstate(all="ignore"):
        u = flat + 1.0
        log_u = eigen_plog_double(u)
        out = np.where((u == 1.0) | (u == log_u), flat, flat * (log_u / (u - 1.0)))
        tail = flat.size % 4 if tail is None else tail
        if tail:
            out[flat.size - tail:] = glibc64.log1p(flat[flat.size - tail:])
    return out.reshape(np.shape(x))


def log1p(x: Array, kernel: str = "numpy", tail: int | None = None) -> Array:
    """ln(1 + x) as the library named by ``kernel`` computes it (float64: TensorFlow's own kernel,
    numpy for every other library). PyTorch's binary_cross_entropy takes log(1 − p) as glibc's
    log1pf(−p). ``tail`` as in ``log``."""
    if x.dtype == np.float64 and kernel == "tensorflow":
        return _tensorflow_log1p64(x, tail)
    if x.dtype != np.float32:
        return np.log1p(x)
    fn = LOG1P_KERNELS.get(kernel, LOG1P_KERNELS["numpy"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return fn(x) if tail is None or kernel not in _TAILED else fn(x, tail)


def _tensorflow_exp(x: Array, tail: int | None = None) -> Array:
    """tf.math.exp: Eigen's pexp_float on packets of 8, glibc expf on the n mod 8 left over."""
    return _with_tail(x, eigen_pexp, np.size(x) % 8 if tail is None else tail, daz=True,
                      scalar=glibc_expf)


def _xla_exp(x: Array, tail: int | None = None) -> Array:
    """jnp.exp on CPU: XLA's exp; glibc expf on the 1-D tails ``_xla_tail`` picks (as for log)."""
    return _with_tail(x, xla_exp, _xla_tail(np.shape(x)) if tail is None else tail, daz=True,
                      scalar=glibc_expf)


def _numpy_exp(x: Array) -> Array:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return np.exp(x)


def _rounded_exp(x: Array) -> Array:
    """fl₃₂(eˣ) through glibc's float64 exp (emulated), flushed below the normal range: the
    stand-in for torch's float32 exp (SLEEF, not emulated), the same on every CPU."""
    from xentropy_cli.core import glibc64

    with np.errstate(over="ignore"):
        return glibc64.exp(np.asarray(x, F32).astype(F64)).astype(F32)


EXP_KERNELS: dict[str, Callable[..., Array]] = {
    "numpy": _numpy_exp, "tensorflow": _tensorflow_exp, "xla": _xla_exp, "glibc": glibc_expf,
    "torch": _rounded_exp, "torch-vec": _rounded_exp,
}


def _tensorflow_exp_rows(x: Array) -> Array:
    """exp inside an Eigen row reduction (TensorFlow's softmax cross-entropy kernels): each row is
    read in packets of 8 (float64: 4) from its first element, its last K mod 8 (4) one by one
    (glibc's expf / exp)."""
    from xentropy_cli.core import glibc64

    k = x.shape[-1]
    w = 8 if x.dtype == F32 else 4
    out = eigen_pexp(_flush(x)) if w == 8 else eigen_pexp_double(x)
    if k % w:
        out[..., k - k % w:] = (glibc_expf(x[..., k - k % w:], daz=True) if w == 8
                                else glibc64.exp(x[..., k - k % w:]))
    return out


def _tensorflow_exp64(x: Array, tail: int | None = None) -> Array:
    """tf.math.exp on float64: Eigen's pexp_double on packets of 4, glibc's exp on the n mod 4
    left over."""
    from xentropy_cli.core import glibc64

    flat = np.ascontiguousarray(x, dtype=F64).reshape(-1)
    out = eigen_pexp_double(flat)
    tail = flat.size % 4 if tail is None else tail
    if tail:
        out[flat.size - tail:] = glibc64.exp(flat[flat.size - tail:])
    return out.reshape(np.shape(x))


def exp(x: Array, kernel: str = "numpy", tail: int | None = None, rows: bool = False) -> Array:
    """eˣ as the library named by ``kernel`` computes it: float32 only (numpy's exp for float64 and
    for libraries not modelled). ``x`` is the whole tensor in row-major order; ``tail`` as in ``log``.
    ``rows``: the exp feeds a sum over the last axis in the same kernel (log-softmax), so each row
    has its own packets and tail in TensorFlow.
    """
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64) or (x.dtype == np.float64 and kernel != "tensorflow"):
        return _numpy_exp(x)
    if rows and kernel == "tensorflow" and x.ndim:
        return _tensorflow_exp_rows(x)
    if x.dtype == np.float64:
        return _tensorflow_exp64(x, tail)
    fn = EXP_KERNELS.get(kernel, _numpy_exp)
    return fn(x) if tail is None or kernel not in _TAILED else fn(x, tail)


def _glibc_log64(x: Array) -> Array:
    """glibc's float64 log (TensorFlow's scalar std::log: the log of each row sum in its sparse
    softmax cross-entropy kernel)."""
    from xentropy_cli.core import glibc64

    return glibc64.log(np.asarray(x, F64))


LOG64_KERNELS: dict[str, Callable[..., Array]] = {"tensorflow": _tensorflow_log64,
                                                      "glibc": _glibc_log64}


_TAILED = {"tensorflow", "xla"}


def log(x: Array, kernel: str = "numpy", tail: int | None = None) -> Array:
    """ln x as the library named by ``kernel`` computes it. float64: TensorFlow's own kernel, numpy
    for every other library (their float64 logs are not modelled).

    ``x`` is the whole tensor, flattened in row-major order. When it is only a block of a larger
    tensor (a chunk or a shard), ``tail`` says how many of its last elements are in the whole
    tensor's scalar tail (the last n mod 8 of n, TensorFlow; 0 for a block that does not end the
    tensor): the path an element takes depends only on that, not on where the block starts.
    """
    if x.dtype == np.float64:
        fn = LOG64_KERNELS.get(kernel, _numpy_log)
    elif x.dtype == np.float32:
        fn = LOG_KERNELS.get(kernel, _numpy_log)
    else:
        return _numpy_log(x)
    return fn(x) if tail is None or kernel not in _TAILED else fn(x, tail)
