"""Elementary functions as each library computes them, in exact float32/float64 numpy arithmetic:
glibc's logf, log1pf and expf, Eigen's packet log/exp/log1p (TensorFlow), XLA:CPU's Cephes
polynomials with fused multiply-adds, and the correctly rounded log (PyTorch's stand-in), with the
exact-arithmetic helpers they need (fma32/fma64). ``core.kernels`` decides which elements of a
tensor take which of these; see its docstring for what each framework does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
F32 = np.float32
F64 = np.float64
_U32 = np.uint32


def _flush(x: Array) -> Array:
    """Denormals-are-zero: a subnormal input reads as a zero of the same sign."""
    return np.where(np.abs(x) < np.finfo(F32).tiny, np.copysign(F32(0), x), x)


# --- exact arithmetic helpers ---------------------------------------------------------------

def _bits_f32(bits: int) -> np.float32:
    """The float32 whose IEEE bit pattern is ``bits``."""
    return F32(np.array(bits, dtype=_U32).view(F32)[()])


def _two_sum(a: Array, b: Array) -> tuple[Array, Array]:
    """s + e = a + b exactly, s = fl(a + b) (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: Array) -> tuple[Array, Array]:
    """a = hi + lo with hi holding the top 26 bits (Veltkamp's split, factor 2²⁷ + 1)."""
    c = F64(134217729.0) * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a: Array, b: Array) -> tuple[Array, Array]:
    """p + e = a·b exactly, p = fl(a·b) (Dekker's product)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _round_to_odd(s: Array, err: Array) -> Array:
    """The value s + err rounded to odd, given s = RN(s + err): s, or its neighbour towards err when
    s is inexact and its last significand bit is even (``nextafter(s, ±inf)``).

    The neighbour is one step of s's bit pattern: +1 moves away from zero (err has s's sign), −1
    towards it (several times faster than ``np.nextafter``). s = 0 never needs the step: TwoSum
    gives err = 0 whenever s = 0; it is stepped as ``nextafter`` would all the same."""
    bits = s.view(np.int64)
    fix = (err != 0) & ((bits & 1) == 0) & np.isfinite(s)
    away = (err > 0) == (s > 0)
    stepped = (bits + np.where(away, fix, -fix.astype(np.int64))).view(F64)
    zero = fix & (s == 0)
    if zero.any():
        stepped[zero] = np.where(err[zero] > 0, F64(5e-324), F64(-5e-324))
    return stepped


Operand = Array | np.floating | float  # fma: arrays or single numbers, broadcast


def fma64(a: Operand, b: Operand, c: Operand) -> Array:
    """fl(a·b + c) in float64 with one rounding: (uh, ul) = a·b, (th, tl) = c + uh, th + RO(tl + ul).

    Exact where Dekker's product is (|a·b| well inside the normal range: its low part ul must not
    underflow, nor the split overflow) and the result is normal: every operand the glibc and
    XLA kernels here pass. Against glibc's fma, results in the subnormal range differ in the last
    bit on about 14 % of random triples, and products near the overflow threshold may too."""
    a, b, c = (np.asarray(v, F64) for v in (a, b, c))
    with np.errstate(all="ignore"):
        uh, ul = _two_prod(a, b)
        th, tl = _two_sum(c, uh)
        v, verr = _two_sum(tl, ul)
        out = th + _round_to_odd(v, verr)
        return np.where(np.isfinite(out), out, a * b + c)


def fma32(a: Operand, b: Operand, c: Operand) -> Array:
    """fl₃₂(a·b + c) with one rounding: a·b is exact in float64; the float64 sum is rounded to odd
    (53 ≥ 24 + 2 bits), so rounding it to float32 gives the correctly rounded result."""
    a, b, c = (np.asarray(v, F32).astype(F64) for v in (a, b, c))
    with np.errstate(all="ignore"):
        s, err = _two_sum(a * b, c)
        s = _round_to_odd(s, np.where(np.isfinite(err), err, 0.0))
        return s.astype(F32)


def _specials(x: Array, r: Array, zero: float = -np.inf) -> Array:
    """IEEE log at the edges: log(+inf) = +inf, log(x < 0) = log(nan) = nan, log(±0) = −inf."""
    r = np.where(x == np.inf, F32(np.inf), r)
    r = np.where((x < 0) | np.isnan(x), F32(np.nan), r)
    return np.where(x == 0, F32(zero), r).astype(F32)


# --- glibc logf (Arm optimized-routines algorithm, glibc ≥ 2.28, FMA variant) -----------------
# Table and polynomial of glibc's e_logf_data.c: (1/c, log c) for 16 subintervals of [OFF, 2·OFF].
_LOGF_TAB = np.array([[float.fromhex(a), float.fromhex(b)] for a, b in (
    ("0x1.661ec79f8f3bep+0", "-0x1.57bf7808caadep-2"), ("0x1.571ed4aaf883dp+0", "-0x1.2bef0a7c06ddbp-2"),
    ("0x1.49539f0f010bp+0", "-0x1.01eae7f513a67p-2"), ("0x1.3c995b0b80385p+0", "-0x1.b31d8a68224e9p-3"),
    ("0x1.30d190c8864a5p+0", "-0x1.6574f0ac07758p-3"), ("0x1.25e227b0b8eap+0", "-0x1.1aa2bc79c81p-3"),
    ("0x1.1bb4a4a1a343fp+0", "-0x1.a4e76ce8c0e5ep-4"), ("0x1.12358f08ae5bap+0", "-0x1.1973c5a611cccp-4"),
    ("0x1.0953f419900a7p+0", "-0x1.252f438e10c1ep-5"), ("0x1p+0", "0x0p+0"),
    ("0x1.e608cfd9a47acp-1", "0x1.aa5aa5df25984p-5"), ("0x1.ca4b31f026aap-1", "0x1.c5e53aa362eb4p-4"),
    ("0x1.b2036576afce6p-1", "0x1.526e57720db08p-3"), ("0x1.9c2d163a1aa2dp-1", "0x1.bc2860d22477p-3"),
    ("0x1.886e6037841edp-1", "0x1.1058bc8a07ee1p-2"), ("0x1.767dcf5534862p-1", "0x1.4043057b6ee09p-2"),
)])
_LOGF_A = tuple(float.fromhex(h) for h in ("-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2",
                                            "-0x1.ffffef20a4123p-2"))
_LN2_F64 = float.fromhex("0x1.62e42fefa39efp-1")
_LOGF_OFF = 0x3F330000


def glibc_logf(x: Array, daz: bool = False) -> Array:
    """glibc logf: x = 2ᵏ·z, z ∈ [OFF, 2·OFF); r = z/c − 1 (FMA); log x = log1p(r) + log c + k·ln 2,
    log1p(r) ≈ r + A₂r² + A₁r³ + A₀r⁴, all in float64 with FMAs, rounded once to float32.

    ``daz``: the caller runs with denormals-are-zero (TensorFlow, XLA), so glibc's rescaling of a
    subnormal x by 2²³ gives 0 and log x comes out as −150·ln 2 = −103.97208.
    """
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        sub = (x > 0) & (x < np.finfo(F32).tiny)
        scaled = np.zeros_like(x) if daz else x * F32(2.0**23)
        ix = np.where(sub, scaled.view(_U32) - _U32(23 << 23), x.view(_U32))
        tmp = ix - _U32(_LOGF_OFF)
        i = ((tmp >> _U32(19)) % _U32(16)).astype(np.intp)
        k = (tmp.view(np.int32) >> 23).astype(F64)
        z = (ix - (tmp & _U32(0xFF800000))).view(F32).astype(F64)
        invc, logc = _LOGF_TAB[i, 0], _LOGF_TAB[i, 1]
        r = fma64(z, invc, -1.0)
        y0 = fma64(k, _LN2_F64, logc)
        r2 = r * r
        y = fma64(_LOGF_A[1], r, _LOGF_A[2])
        y = fma64(_LOGF_A[0], r2, y)
        y = fma64(y, r2, y0 + r)
        out = y.astype(F32)
    return _specials(x, np.where(x == 1, F32(0), out))


# --- glibc log1pf (fdlibm's float log1p, glibc < 2.40, no FMA) --------------------------------
_L1P_LN2_HI, _L1P_LN2_LO = _bits_f32(0x3F317180), _bits_f32(0x3717F7D1)
_L1P_LP = tuple(_bits_f32(b) for b in (0x3F2AAAAB, 0x3ECCCCCD, 0x3E924925, 0x3E638E29, 0x3E3A3325,
                                       0x3E1CD04F, 0x3E178897))


def _log1pf_reduce(x: Array, hx: Array) -> tuple[Array, Array, Array, Array]:
    """fdlibm's argument reduction: 1 + x = 2ᵏ·(1 + f) with √½ ≤ 1 + f < √2, c the rounding error
    of 1 + x divided by it; k = 0 (f = x) for −0.2929 < x < 0.41422."""
    one = F32(1)
    u = one + x
    big = hx >= 0x5A000000
    u = np.where(big, x, u)
    hu = u.view(np.int32)
    k = (hu >> 23) - 127
    c = np.where(k > 0, one - (u - x), x - (u - one)) / u
    c = np.where(big, F32(0), c)
    hu = hu & 0x007FFFFF
    low = hu < 0x3504F7
    u = np.where(low, hu | 0x3F800000, hu | 0x3F000000).view(F32)
    k = np.where(low, k, k + 1)
    hu = np.where(low, hu, (0x00800000 - hu) >> 2)
    small = (hx < 0x3ED413D7) & ((hx > 0) | (hx <= np.int32(-1097468385)))  # 0xbe95f61f as int32
    f = np.where(small, x, u - one)
    return f, np.where(small, 0, k), np.where(small, F32(0), c), np.where(small, 1, hu)


def glibc_log1pf(x: Array) -> Array:
    """glibc log1pf (fdlibm): log(1+x) = k·ln2_hi − ((f²/2 − (s·(f²/2 + R) + (k·ln2_lo + c))) − f),
    s = f/(2+f), R = s²·Lp(s²) of degree 7, in float32 with every operation rounded."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        hx = x.view(np.int32)
        ax = hx & 0x7FFFFFFF
        f, k, c, hu = _log1pf_reduce(x, hx)
        kf = k.astype(F32)
        hfsq = F32(0.5) * f * f
        s = f / (F32(2) + f)
        z = s * s
        lp = _L1P_LP
        r = z * (lp[0] + z * (lp[1] + z * (lp[2] + z * (lp[3] + z * (lp[4] + z * (lp[5] + z * lp[6]))))))
        out = np.where(k == 0, f - (hfsq - s * (hfsq + r)),
                       kf * _L1P_LN2_HI - ((hfsq - (s * (hfsq + r) + (kf * _L1P_LN2_LO + c))) - f))
        # |f| < 2⁻²⁰ after reduction (hu == 0)
        r0 = hfsq * (F32(1) - F32(0.66666666666666666) * f)
        tiny = np.where(k == 0, f - r0, kf * _L1P_LN2_HI - ((r0 - (kf * _L1P_LN2_LO + c)) - f))
        zero_f = np.where(k == 0, F32(0), kf * _L1P_LN2_HI + (c + kf * _L1P_LN2_LO))
        out = np.where(hu == 0, np.where(f == 0, zero_f, tiny), out)
        out = np.where(ax < 0x31000000, np.where(ax < 0x24800000, x, x - x * x * F32(0.5)), out)
        out = np.where(x == -1, F32(-np.inf), np.where((x < -1) | np.isnan(x), F32(np.nan), out))
        return np.where(x == np.inf, F32(np.inf), out).astype(F32)


# --- Eigen plog_float (TensorFlow, AVX without FMA) ------------------------------------------
_SQRTHF = F32(0.707106781186547524)
_EIGEN_ALPHA = (F32(0.18256296349849254), F32(1.0000000190281063), F32(1.0000000190281136))
_EIGEN_BETA = (F32(0.049616247954120038), F32(0.59923249590823520), F32(1.4999999999999927), F32(1.0))


def _frexp_eigen(a: Array) -> tuple[Array, Array]:
    """Eigen's pfrexp: a = m·2ᵉ, m ∈ [0.5, 1) (subnormals scaled by 2²⁴ first)."""
    sub = np.abs(a) < np.finfo(F32).tiny
    na = np.where(sub, a * F32(2.0**24), a)
    bexp = ((na.view(_U32) >> _U32(23)) & _U32(0xFF)).astype(F32)
    m = ((na.view(_U32) & _U32(0x807FFFFF)) | _U32(0x3F000000)).view(F32)
    return m, bexp + np.where(sub, F32(-150), F32(-126))


def eigen_plog(x: Array) -> Array:
    """Eigen plog_float (Packet8f, no FMA): x = m·2ᵉ, m shifted to [√½, √2) − 1;
    log(1+m) ≈ m·P(m)/Q(m) with P, Q of degree 2 and 3 (Horner, each multiply-add rounded twice);
    log x = e·ln 2 + that."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        m, e = _frexp_eigen(x)
        mask = m < _SQRTHF
        m = (m - F32(1)) + np.where(mask, m, F32(0))
        e = e - np.where(mask, F32(1), F32(0))
        a0, a1, a2 = _EIGEN_ALPHA
        b0, b1, b2, b3 = _EIGEN_BETA
        p = m * ((a0 * m + a1) * m + a2)
        q = ((b0 * m + b1) * m + b2) * m + b3
        r = e * F32(_LN2_F64) + p / q
    return _specials(x, r)


_CEPHES_P64 = (1.01875663804580931796E-4, 4.97494994976747001425E-1, 4.70579119878881725854E0,
               1.44989225341610930846E1, 1.79368678507819816313E1, 7.70838733755885391666E0)
_CEPHES_Q64 = (1.0, 1.12873587189167450590E1, 4.52279145837532221105E1, 8.29875266912776603211E1,
               7.11544750618563894466E1, 2.31251620126765340583E1)


def eigen_plog_double(x: Array) -> Array:
    """Eigen plog_double (Packet4d, no FMA): x = m·2ᵉ, m → [√½, √2) − 1;
    log(1+m) = m − m²/2 + m³·P(m)/Q(m) (Cephes, degree 5/5, each multiply-add rounded twice)."""
    x = np.asarray(x, F64)
    with np.errstate(all="ignore"):
        sub = np.abs(x) < np.finfo(F64).tiny
        na = np.where(sub, x * 2.0**53, x)
        bits = na.view(np.uint64)
        e = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(F64) + np.where(sub, -1075.0, -1022.0)
        m = ((bits & np.uint64(0x800FFFFFFFFFFFFF)) | np.uint64(0x3FE0000000000000)).view(F64)
        mask = m < 0.70710678118654752440
        m = (m - 1.0) + np.where(mask, m, 0.0)
        e = e - np.where(mask, 1.0, 0.0)
        p, q = _CEPHES_P64, _CEPHES_Q64
        m2 = m * m
        m3 = m2 * m
        num = ((p[0] * m + p[1]) * m + p[2]) * m3 + ((p[3] * m + p[4]) * m + p[5])
        den = ((q[0] * m + q[1]) * m + q[2]) * m3 + ((q[3] * m + q[4]) * m + q[5])
        y = (num * m3) / den
        y = -0.5 * m2 + y
        r = e * _LN2_F64 + (m + y)
        r = np.where(x == np.inf, np.inf, r)
        r = np.where((x < 0) | np.isnan(x), np.nan, r)
        return np.where(x == 0, -np.inf, r)


# --- XLA:CPU Cephes log (LLVM fuses multiply-adds: AllowFPOpFusion = Fast) --------------------
_XLA_P = tuple(_bits_f32(b) for b in (0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A, 0xBDFE5D4F, 0x3E11E9BF,
                                      0xBE2AAE50, 0x3E4CCEAC, 0xBE7FFFFC, 0x3EAAAAAA))
_XLA_Q1, _XLA_Q2 = _bits_f32(0xB95E8083), _bits_f32(0x3F318000)


def xla_log(x: Array) -> Array:
    """XLA:CPU log: x = m·2ᵉ (subnormals raised to 2⁻¹²⁶), m → [√½, √2) − 1; Cephes
    log(1+m) = m − m²/2 + m³·P(m) with P of degree 8 in three Estrin-style parts; + e·(q1 + q2)."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        t = np.where((x > np.finfo(F32).tiny) & ~np.isnan(x), x, np.finfo(F32).tiny)
        emm0 = (t.view(_U32) >> _U32(23)).astype(np.int32) - 127
        m = ((t.view(_U32) & _U32(0x807FFFFF)) | _U32(0x3F000000)).view(F32)
        e = F32(1) + emm0.astype(F32)
        mask = m < _SQRTHF
        m, e = (m - F32(1)) + np.where(mask, m, F32(0)), e - np.where(mask, F32(1), F32(0))
        p = _XLA_P
        m2 = m * m
        m3 = m2 * m
        y = fma32(fma32(m, p[0], p[1]), m, p[2])
        y1 = fma32(fma32(m, p[3], p[4]), m, p[5])
        y2 = fma32(fma32(m, p[6], p[7]), m, p[8])
        y = fma32(fma32(y, m3, y1), m3, y2)
        y = fma32(y, m3, _XLA_Q1 * e)
        m = fma32(F32(-0.5), m2, m)
        r = fma32(_XLA_Q2, e, m + y)
    return _specials(x, r)


# --- exp: glibc expf, Eigen pexp_float, XLA:CPU's Cephes exp ----------------------------------
_EXPF_N = 32
_EXPF_TAB = np.array([np.float64(2.0 ** (i / _EXPF_N)).view(np.uint64) - np.uint64(i << 47)
                      for i in range(_EXPF_N)], np.uint64)
_EXPF_INVLN2N = float.fromhex("0x1.71547652b82fep+0") * _EXPF_N
_EXPF_SHIFT = float.fromhex("0x1.8p+52")
_EXPF_C = (float.fromhex("0x1.c6af84b912394p-5") / _EXPF_N**3,
           float.fromhex("0x1.ebfce50fac4f3p-3") / _EXPF_N**2,
           float.fromhex("0x1.62e42ff0c52d6p-1") / _EXPF_N)


def _ftz(r: Array) -> Array:
    """Flush-to-zero: a subnormal result comes out as 0 (TensorFlow's and XLA's threads)."""
    return np.where(np.abs(r) < np.finfo(F32).tiny, F32(0), r).astype(F32)


def glibc_expf(x: Array, daz: bool = False) -> Array:
    """glibc expf (Arm optimized-routines, FMA variant): x·32/ln 2 = k + r (k rounded to nearest);
    exp x = 2^(k/32)·(1 + C₂r + C₁r² + C₀r³), 2^(k/32) from a 32-entry table, all in float64 with
    FMAs, rounded once to float32. ``daz``: a subnormal result is flushed to 0."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        xd = x.astype(F64)
        z = _EXPF_INVLN2N * xd
        kd = z + _EXPF_SHIFT
        ki = kd.view(np.uint64)
        r = z - (kd - _EXPF_SHIFT)
        s = (_EXPF_TAB[(ki % np.uint64(_EXPF_N)).astype(np.intp)] + (ki << np.uint64(47))).view(F64)
        y = fma64(fma64(_EXPF_C[0], r, _EXPF_C[1]), r * r, fma64(_EXPF_C[2], r, 1.0)) * s
        out = y.astype(F32)
        out = np.where(x > F32(88.72283935546875), F32(np.inf), out)
        out = np.where(x < F32(-103.97207641601562), F32(0), out)
        out = np.where(np.isnan(x), x, out)
    return _ftz(out) if daz else out


_EXP_LOG2EF = F32(1.44269504088896341)
_EIGEN_EXP_P = tuple(F32(v) for v in (0.49999988079071044921875, 0.16666518151760101318359375,
                                      4.166965186595916748046875e-2, 8.36894474923610687255859375e-3,
                                      1.37449637986719608306884765625e-3))
_EXP_C1, _EXP_C2 = F32(-0.693359375), F32(2.12194440e-4)


def _times_pow2(y: Array, m: Array) -> Array:
    """y·2ᵐ, exact for a normal result (m is an integer), flushed to 0 below the normal range."""
    return _ftz(np.ldexp(y.astype(F64), m.astype(np.int32)).astype(F32))


def eigen_pexp(x: Array) -> Array:
    """Eigen pexp_float (Packet8f, no FMA): m = ⌊x·log₂e + ½⌋, r = (x + m·C₁) + m·C₂ (Cody–Waite,
    C₁ + C₂ = −ln 2); exp r ≈ 1 + r + r²·(p₂ + r·p₃ + r²·(p₄ + …)) (degree 6, even/odd Horner,
    each multiply-add rounded twice); exp x = max(2ᵐ·exp r, x); 0 below −104, inf above 88.723."""
    x0 = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        x = np.where(np.isnan(x0), x0, np.minimum(x0, F32(88.723)))
        m = np.floor(x * _EXP_LOG2EF + F32(0.5))
        r = (m * _EXP_C1 + x)
        r = m * _EXP_C2 + r
        p2, p3, p4, p5, p6 = _EIGEN_EXP_P
        r2 = r * r
        p_even = r2 * (r2 * p6 + p4) + p2
        y = r2 * (r * (r2 * p5 + p3) + p_even) + (r + F32(1))
        out = np.where(x0 < F32(-104), F32(0), _times_pow2(y, m))
        return np.where(np.isnan(x0), x0, np.maximum(out, x0)).astype(F32)


_XLA_EXP_P = tuple(F32(v) for v in (1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                                    1.6666665459E-1, 5.0000001201E-1))


def xla_exp(x: Array) -> Array:
    """XLA:CPU exp (Cephes, LLVM fuses the multiply-adds): x clamped to [−87.8, 88.8],
    n = ⌊fma(x, log₂e, ½)⌋, r = fma(C₂', n, fma(−C₁', n, x)); exp r ≈ 1 + (r + r²·P(r)) with P of
    degree 5 (Horner in FMAs); exp x = max(2ⁿ·exp r, x), subnormal results flushed.
    Verified for x ≤ 88.3 (the top of the range, n = 128, is not modelled)."""
    x0 = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        x = np.clip(x0, F32(-87.8), F32(88.8))
        n = np.floor(fma32(x, _EXP_LOG2EF, F32(0.5)))
        r = fma32(_EXP_C2, n, fma32(_EXP_C1, n, x))
        p = _XLA_EXP_P
        y = fma32(r, p[0], p[1])
        for c in p[2:]:
            y = fma32(y, r, c)
        y = F32(1) + fma32(y, r * r, r)
        out = np.maximum(_times_pow2(y, n), x0)
        return np.where(np.isnan(x0), x0, out).astype(F32)


_CEPHES_EXP_P64 = (1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1)
_CEPHES_EXP_Q64 = (3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1,
                   2.00000000000000000009e0)


def eigen_pexp_double(x: Array) -> Array:
    """Eigen pexp_double (Packet4d, no FMA): n = ⌊x·log₂e + ½⌋, g = (x − n·C₁) − n·C₂;
    exp g = 1 + 2·gP(g²)/(Q(g²) − gP(g²)) (Cephes, P of degree 2, Q of degree 3);
    exp x = max(2ⁿ·exp g, x), 0 below −745.519, subnormal results flushed."""
    x0 = np.asarray(x, F64)
    with np.errstate(all="ignore"):
        x = np.where(np.isnan(x0), x0, np.minimum(x0, 709.784))
        n = np.floor(1.4426950408889634073599 * x + 0.5)
        x = (x - n * 0.693145751953125) - n * 1.42860682030941723212e-6
        x2 = x * x
        p, q = _CEPHES_EXP_P64, _CEPHES_EXP_Q64
        px = ((p[0] * x2 + p[1]) * x2 + p[2]) * x
        qx = ((q[0] * x2 + q[1]) * x2 + q[2]) * x2 + q[3]
        out = np.ldexp(2.0 * (px / (qx - px)) + 1.0, np.clip(n, -2000, 2000).astype(np.int32))
        out = np.where((np.abs(out) < np.finfo(F64).tiny) | (x0 < -745.519), 0.0, out)
        return np.where(np.isnan(x0), x0, np.maximum(out, x0))


# --- log1p: Eigen's generic_log1p (TensorFlow), XLA's Cephes log1p ------------------------------

def eigen_log1p(x: Array) -> Array:
    """Eigen generic_log1p (Kahan): u = 1 + x; log1p x = x if u == 1 (or u = inf), else
    x·(plog(u) / (u − 1)), plog being Eigen's plog_float."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        u = x + F32(1)
        log_u = eigen_plog(_flush(u))
        return np.where((u == F32(1)) | (u == log_u), x, x * (log_u / (u - F32(1)))).astype(F32)


_XLA_L1P_NUM = (4.5270000862445199635215E-5, 4.9854102823193375972212E-1, 6.5787325942061044846969E0,
                2.9911919328553073277375E1, 6.0949667980987787057556E1, 5.7112963590585538103336E1,
                2.0039553499201281259648E1)
_XLA_L1P_DEN = (1.0, 1.5062909083469192043167E1, 8.3047565967967209469434E1, 2.2176239823732856465394E2,
                3.0909872225312059774938E2, 2.1642788614495947685003E2, 6.0118660497603843919306E1)


def _fma_poly(x: Array, coefficients: tuple[float, ...]) -> Array:
    p: Operand = F32(coefficients[0])
    for c in coefficients[1:]:
        p = fma32(p, x, F32(c))
    return np.asarray(p)


def xla_log1p(x: Array, log: Callable[[Array], Array] | None = None) -> Array:
    """XLA:CPU log1p: for |x| < √2 − 1, x + fma(−½, x², x³·N(x)/D(x)) (Cephes, N and D of degree 6
    in FMAs); otherwise log(1 + x) with XLA's log (``log``: another log for the scalar path)."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        small = np.abs(x) < F32(0.41421356237309504880)
        large = (log or xla_log)(np.where(small, F32(1), x + F32(1)))
        x2 = x * x
        s = (x * x2) * (_fma_poly(x, _XLA_L1P_NUM) / _fma_poly(x, _XLA_L1P_DEN))
        s = x + fma32(F32(-0.5), x2, s)
        return np.where(small, s, large).astype(F32)


# --- correctly rounded log (stand-in for PyTorch's MKL vsLn) ----------------------------------

def rounded_log(x: Array) -> Array:
    """fl₃₂(ln x): the float64 log rounded once to float32. PyTorch's CPU wheel computes float32 log
    with Intel MKL's closed-source vsLn (errors up to 0.87 ulp), which no public algorithm
    reproduces; of the public ones this agrees with it most often (92.5 % of float32 inputs).
    The float64 log is glibc's, emulated, so the result does not depend on numpy's CPU dispatch."""
    from xentropy_cli.core import glibc64

    return glibc64.log(np.asarray(x, F32).astype(F64)).astype(F32)


# --- SLEEF 3.x, single precision, FMA build (ATen's Vectorized<float> on AVX2 and AVX-512) ------
_SLEEF_R_LN2F = F32(1.442695040888963407359924681001892137426645954152985934135449406931)
_SLEEF_L2UF, _SLEEF_L2LF = F32(0.693145751953125), F32(1.428606765330187045e-06)
_SLEEF_EXPF_P = tuple(F32(v) for v in (0.000198527617612853646278381, 0.00139304355252534151077271,
                                       0.00833336077630519866943359, 0.0416664853692054748535156,
                                       0.166666671633720397949219, 0.5))


def _pow2i(q: Array) -> Array:
    """2^q as SLEEF's vpow2i builds it: (q + 127) shifted into the exponent field."""
    return ((q.astype(np.int64) + 0x7F) << 23).astype(np.uint32).view(F32)


def sleef_expf(x: Array) -> Array:
    """SLEEF xexpf (Sleef_expf16_u10, ATen's ``Vectorized<float>::exp``): q = rint(x/ln 2),
    s = fma(q, −L2L, fma(q, −L2U, x)); eˢ ≈ 1 + fma(s², P(s), s) with P of degree 5 (Horner in
    FMAs); eˣ = (eˢ·2^⌊q/2⌋)·2^(q−⌊q/2⌋); 0 below −104, inf above 100. Errors up to 1 ulp."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        q = np.rint(x * _SLEEF_R_LN2F)
        q = np.where(np.isfinite(q), q, 0).astype(np.int32)
        qf = q.astype(F32)
        s = fma32(qf, -_SLEEF_L2UF, x)
        s = fma32(qf, -_SLEEF_L2LF, s)
        p = _SLEEF_EXPF_P
        u = np.full_like(s, p[0])
        for c in p[1:]:
            u = fma32(u, s, c)
        u = F32(1) + fma32(s * s, u, s)
        half = q >> 1
        u = (u * _pow2i(half)) * _pow2i(q - half)
        u = np.where(x < F32(-104), F32(0), u)
        u = np.where(x > F32(100), F32(np.inf), u)
        return np.where(np.isnan(x), x, u).astype(F32)


def _sleef_exponent_mantissa(d: Array) -> tuple[Array, Array]:
    """AVX-512's vgetexp(d·(1/0.75)) and vgetmant(d) into [0.75, 1.5), as SLEEF's logs take them:
    d ≈ m·2ᵉ (the exponent comes from the rounded product, the mantissa from d itself)."""
    with np.errstate(all="ignore"):
        e = (np.frexp(d * F32(1.0 / 0.75))[1] - 1).astype(F32)
        mant, ex = np.frexp(d)
        m = (mant * F32(2)).astype(F32)
        m = np.where(m >= F32(1.5), m * F32(0.5), m).astype(F32)
    return e, m


def _sleef_log_tail(nx: Array, ny: Array, dx: Array, dy: Array, e: Array) -> Array:
    """The end SLEEF's logf_u1 and log1pf share: u = n/d as a double-float (dfdiv with FMA),
    e·ln 2 + 2u + u³·P(u²) in double-float, rounded once."""
    one = F32(1)
    t = one / dx
    qx = nx * t
    u = fma32(t, nx, -qx)
    qy = fma32(-dy, t, fma32(-dx, t, one))
    qy = fma32(qx, qy, fma32(ny, t, u))
    x2 = qx * qx
    p = fma32(fma32(np.full_like(x2, F32(0.3027294874)), x2, F32(0.3996108174)), x2, F32(0.6666694880))
    hi, lo = F32(0.69314718246459960938), F32(-1.904654323148236017e-09)
    sx = hi * e
    sy = fma32(lo, e, fma32(hi, e, -sx))
    ax, ay = qx * F32(2), qy * F32(2)
    rx = sx + ax
    ry = (((sx - rx) + ax) + sy) + ay
    y = (x2 * qx) * p
    sx2 = rx + y
    sy2 = ((rx - sx2) + y) + ry
    return (sx2 + sy2).astype(F32)


def sleef_logf(x: Array) -> Array:
    """SLEEF xlogf_u1 (Sleef_logf16_u10, ATen's ``Vectorized<float>::log``), AVX-512 build:
    x = m·2ᵉ, m ∈ [0.75, 1.5); u = (m − 1)/(m + 1) as a double-float (FMA); ln x = e·ln 2 + 2u +
    u³·(c₁ + c₂u² + c₃u⁴) in double-float, summed once at the end. Errors up to 1 ulp."""
    d = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        e, m = _sleef_exponent_mantissa(d)

        def add2(a: Array, b: Array) -> tuple[Array, Array]:
            rx = a + b
            v = rx - a
            return rx, (a - (rx - v)) + (b - v)

        nx, ny = add2(np.full_like(m, F32(-1)), m)
        dx, dy = add2(np.full_like(m, F32(1)), m)
        r = _sleef_log_tail(nx, ny, dx, dy, e)
    return _specials(d, r)


def sleef_log1pf(x: Array) -> Array:
    """SLEEF xlog1pf (Sleef_log1pf16_u10, ATen's ``Vectorized<float>::log1p``), AVX-512 build:
    1 + x ≈ 2ᵉ·(1 + m) with m = fma(x, 2⁻ᵉ, 2⁻ᵉ − 1); u = m/(2 + m) as a double-float; then as
    ``sleef_logf``. Errors up to 1 ulp."""
    d = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        e = (np.frexp((d + F32(1)) * F32(1.0 / 0.75))[1] - 1).astype(F32)
        t = _pow2i(-e.astype(np.int32))
        m = fma32(d, t, t - F32(1))
        dx = F32(2) + m
        dy = (F32(2) - dx) + m
        r = _sleef_log_tail(m, np.zeros_like(m), dx, dy, e)
        r = np.where(d > F32(1e38), F32(np.inf), r)
        r = np.where(d < F32(-1), F32(np.nan), r)
        r = np.where(d == F32(-1), F32(-np.inf), r)
        r = np.where((d == 0) & np.signbit(d), F32(-0.0), r)
        return np.where(np.isnan(d), d, r).astype(F32)
