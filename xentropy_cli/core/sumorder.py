"""Summation order by framework: Σ over the last axis (and a tensor's total) added in the order
each framework's CPU kernel adds, bit for bit: Eigen's packet trees (TensorFlow), ATen's cascade
and vectorised reductions (torch), XLA's row loops and windows, numpy's pairwise sum. The
elementwise kernels are in kernels.py, which re-exports ``sum_last``, ``divide_last`` and
``mean_last``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
F32 = np.float32

YNNPACK_FROM = 4096  # XLA sums rows one way below this many cells in the tensor, another from it on
BLOCK_CELLS = 1 << 16  # a multiple of 8·PACKET: packets and tails fall where they fall in the tensor


def _seqsum(a: Array, axis: int) -> Array:
    """((0 + a₀) + a₁) + …, one rounding per addition, along ``axis`` (an accumulator set to 0)."""
    a = np.moveaxis(a, axis, 0)
    if a.shape[0] <= 64:  # a few terms over many sums (rows of classes): one vector addition per term
        total = np.zeros(a.shape[1:], a.dtype)
        for term in a:
            np.add(total, term, out=total)
        return total
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


# torch's threads for a 1-D sum of 32768+ values (one chunk each): the losses' fixtures (golden,
# corpus, shapes, gradients) are recorded with torch.set_num_threads(1); a user's torch
# defaults to one thread per core, which moves such sums by an ulp or so
TORCH_THREADS = 1


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


def _torch_nll_total(v: Array) -> Array:
    """Σ v as ATen's nll_loss_out_frame adds the picked losses for reduction sum and mean: 8
    levels of partial sums; level 0 adds one loss at a time and hands its sum up a level after
    every row index b that is a multiple of 2ᵖ (p = max(4, ⌈log₂ N⌉ // 8)), level j after every
    multiple of 2^(p·(j+1)); the first loss (b = 0) goes straight to the top level; at the end
    the levels are added from 0 up."""
    n = v.shape[-1]
    step = 1 << max(4, _ceil_log2(n) // 8)
    zero = np.zeros(v.shape[:-1], v.dtype)
    if n == 0:
        return zero
    rest, left = v[..., 1:], []
    for _ in range(7):
        m = rest.shape[-1] // step
        done = _seqsum(rest[..., :m * step].reshape(*rest.shape[:-1], m, step), -1)
        left.append(_seqsum(rest[..., m * step:], -1))
        rest = done
    top = _seqsum(np.concatenate([v[..., :1], rest], axis=-1), -1)
    total = zero
    for part in left + [top]:
        total = total + part
    return total


TORCH_LANES = 16  # floats in ATen's Vectorized<float> on the recording machine (AVX-512; AVX2: 8)


def _torch_vec_sum(a: Array) -> Array:
    """Σ over the last axis as ATen's ``vec::map_reduce_all`` adds (log_softmax's Σ exp(z − max)):
    rows shorter than one vector of ``TORCH_LANES`` are added one by one from the first; longer
    rows go into one vector accumulator, a vector at a time, the last partial vector into its first
    lanes only (``Vec::set``), then lanes i and i + w/2 are added down to one (the shuffle tree of
    ``vec_reduce_all``)."""
    w = TORCH_LANES if a.dtype == F32 else TORCH_LANES // 2
    k = a.shape[-1]
    if k < w:
        total = a[..., 0]
        for j in range(1, k):
            total = total + a[..., j]
        return total
    full = k // w * w
    acc = a[..., :w].copy()
    for j in range(w, full, w):
        acc = acc + a[..., j:j + w]
    if k > full:
        acc[..., :k - full] = acc[..., :k - full] + a[..., full:]
    return _lane_tree(acc)


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
    # torch's vectorised log_softmax loop (ATen's map_reduce_all, not cascade_sum)
    "torch-vec": _torch_vec_sum,
    # F.nll_loss's own cascade over the picked losses (reduction sum and mean)
    "torch-nll": _torch_nll_total,
}


def sum_last(a: Array, kernel: str = "numpy", keepdims: bool = False, whole: int | None = None) -> Array:
    """Σ over the last axis in the order the library named by ``kernel`` adds (float32/float64).

    ``whole``: the element count of the whole tensor when ``a`` is a block of its rows (a chunk):
    XLA chooses its reduction by the tensor's size (YNNPACK from 4096 elements).
    """
    a = np.asarray(a)
    step = max(1, BLOCK_CELLS // max(a.shape[-1], 1)) if a.ndim else 1
    if a.ndim >= 2 and a.size > BLOCK_CELLS and a.size // max(a.shape[-1], 1) > step \
            and np.issubdtype(a.dtype, np.floating):
        # rows are summed independently: a block of rows at a time keeps the emulations'
        # temporaries small (XLA picks its algorithm by the whole tensor's size, passed on);
        # a single row wider than a block is summed whole
        rows = a.reshape(-1, a.shape[-1])
        whole = a.size if whole is None else whole
        out = np.concatenate([sum_last(rows[i:i + step], kernel, whole=whole)
                              for i in range(0, rows.shape[0], step)]).reshape(a.shape[:-1])
    elif a.ndim == 0 or not np.issubdtype(a.dtype, np.floating):
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
