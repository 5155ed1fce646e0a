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
- ``torch-vec``: ATen's vectorised loops (log_softmax, log_sigmoid), which call SLEEF's
  ``Sleef_expf16_u10``, ``Sleef_logf16_u10`` and ``Sleef_log1pf16_u10`` (AVX-512 build, FMA;
  emulated exactly in libm.py) and add Σ exp(z − max) as ``vec::map_reduce_all`` does.
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
    sleef_expf,
    sleef_log1pf,
    sleef_logf,
    xla_exp,
    xla_log,
    xla_log1p,
)
from xentropy_cli.core.sumorder import (  # noqa: F401 - re-exported: kernels.sum_last, …
    BLOCK_CELLS,
    YNNPACK_FROM,
    divide_last,
    mean_last,
    sum_last,
)

Array = np.ndarray
F32 = np.float32
F64 = np.float64
_U32 = np.uint32

# Where a cell sits in its tensor can change its result, the one fact both engines align to:
PACKET = 8  # TensorFlow's float32 kernels work on packets of 8 cells (float64: 4) and a scalar tail


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
    "torch-vec": sleef_logf,
}


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
    """fl₃₂(ln(1 + x)) through glibc's float64 log1p (emulated), the same on every CPU: torch's
    elementwise log1p stand-in where no vectorised loop is modelled."""
    from xentropy_cli.core import glibc64

    return glibc64.log1p(np.asarray(x, F32).astype(F64)).astype(F32)


LOG1P_KERNELS: dict[str, Callable[..., Array]] = {
    "numpy": np.log1p, "glibc": glibc_log1pf, "tensorflow": _tensorflow_log1p, "xla": _xla_log1p,
    "torch": _rounded_log1p, "torch-vec": sleef_log1pf,
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
    return in_blocks(_log1p, x, kernel, tail)


def _log1p(x: Array, kernel: str, tail: int | None) -> Array:
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
    """fl₃₂(eˣ) through glibc's float64 exp (emulated), the same on every CPU: the stand-in for
    torch.exp on a tensor (MKL's vsExp, closed source); its vectorised loops use ``sleef_expf``."""
    from xentropy_cli.core import glibc64

    with np.errstate(over="ignore"):
        return glibc64.exp(np.asarray(x, F32).astype(F64)).astype(F32)


EXP_KERNELS: dict[str, Callable[..., Array]] = {
    "numpy": _numpy_exp, "tensorflow": _tensorflow_exp, "xla": _xla_exp, "glibc": glibc_expf,
    "torch": _rounded_exp, "torch-vec": sleef_expf,
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
        return in_blocks(lambda b, k, t: _numpy_exp(b), x, kernel, tail)
    if rows and kernel == "tensorflow" and x.ndim:
        return _row_blocks(_tensorflow_exp_rows, x)
    return in_blocks(_exp, x, kernel, tail)


def _exp(x: Array, kernel: str, tail: int | None) -> Array:
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
    return in_blocks(_log, x, kernel, tail)


def _log(x: Array, kernel: str, tail: int | None) -> Array:
    if x.dtype == np.float64:
        if kernel not in LOG64_KERNELS:  # numpy's log, which takes no tail (jnp.log on float64)
            return _numpy_log(x)
        fn = LOG64_KERNELS[kernel]
    elif x.dtype == np.float32:
        fn = LOG_KERNELS.get(kernel, _numpy_log)
    else:
        return _numpy_log(x)
    return fn(x) if tail is None or kernel not in _TAILED else fn(x, tail)


# --- memory: elementwise kernels run a block at a time ----------------------------------------



def _whole_tail(x: Array, kernel: str) -> int | None:
    """How many of the tensor's last cells take the scalar path (what the kernel computes itself
    when it is given the whole tensor and no ``tail``)."""
    if kernel == "tensorflow" and x.dtype in (F32, F64):
        return x.size % (PACKET if x.dtype == F32 else PACKET // 2)
    if kernel == "xla" and x.dtype == F32:
        return _xla_tail(np.shape(x))
    return None


def in_blocks(fn: Callable[[Array, str, int | None], Array], x: Array, kernel: str,
              tail: int | None) -> Array:
    """``fn(x, kernel, tail)`` computed on ``BLOCK_CELLS`` cells at a time, so the emulated kernels'
    float64 temporaries (a dozen arrays of the input's size) stay the size of a block whatever
    the tensor's. Bit for bit the whole-tensor result: every block starts at a multiple of
    8·PACKET cells in memory order, and each is told which of its cells are in the tensor's
    scalar tail (its last ones, in the last block)."""
    x = np.asarray(x)
    if x.size <= BLOCK_CELLS:
        return fn(x, kernel, tail)
    last = _whole_tail(x, kernel) if tail is None else tail
    flat = np.ascontiguousarray(x).reshape(-1)
    out: Array | None = None
    for start in range(0, flat.size, BLOCK_CELLS):
        stop = min(start + BLOCK_CELLS, flat.size)
        block_tail = None if last is None else max(0, min(stop - start, stop - (flat.size - last)))
        part = np.asarray(fn(flat[start:stop], kernel, block_tail))
        if out is None:
            out = np.empty(flat.size, part.dtype)
        out[start:stop] = part
    assert out is not None
    return out.reshape(x.shape)


def _row_blocks(fn: Callable[[Array], Array], x: Array) -> Array:
    """``fn`` of a row-wise kernel (each row its own packets and tail) on whole rows, about
    ``BLOCK_CELLS`` cells at a time."""
    if x.ndim < 2 or x.size <= BLOCK_CELLS:
        return fn(x)
    step = max(1, BLOCK_CELLS // max(x.shape[-1], 1))
    return np.concatenate([fn(x[i:i + step]) for i in range(0, x.shape[0], step)])
