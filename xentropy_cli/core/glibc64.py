"""glibc's float64 ``exp``, ``log`` and ``log1p``, in numpy arithmetic alone.

TensorFlow computes most float64 elements of ``tf.math.exp``/``log``/``log1p`` in Eigen packets and
hands the elements left over (the last n mod 4 of a tensor, or of a row) to the C library. On
x86-64 Linux that is glibc (≥ 2.28), whose results these functions reproduce bit for bit on any
CPU. numpy's own ``np.exp``/``np.log``/``np.log1p`` cannot stand in for them: on CPUs with AVX-512
numpy dispatches them to its own SIMD code, which differs from glibc on 0.4–8 % of inputs.

- ``exp`` and ``log`` follow the Arm optimized-routines algorithms (glibc's ``e_exp.c`` and
  ``e_log.c``, tables of 128 entries) as x86-64 glibc runs them on any CPU with FMA (its
  ``__exp_fma``/``__log_fma`` variants; GCC contracts a·b + c into one fused multiply-add);
- ``log1p`` is fdlibm's (glibc's ``s_log1p.c``), built the same way: its polynomial's
  multiply-adds fused, the products it shares between branches not.

Fused multiply-adds are exact emulations (``kernels.fma64``), so nothing here depends on the CPU.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np

from xentropy_cli.core.kernels import fma64

Array = np.ndarray
F64 = np.float64
_U64 = np.uint64


def _hex(text: str) -> tuple[float, ...]:
    return tuple(float.fromhex(h) for h in text.split())


def _asdouble(bits: Array) -> Array:
    return np.asarray(bits, _U64).view(F64)


def _asuint64(x: Array) -> Array:
    return np.asarray(x, F64).view(_U64)


# --- exp --------------------------------------------------------------------------------------
_EXP_N = 128
_EXP_INVLN2N = float.fromhex("0x1.71547652b82fep0") * _EXP_N
_EXP_NEGLN2HI, _EXP_NEGLN2LO = _hex("-0x1.62e42fefa0000p-8 -0x1.cf79abc9e3b3ap-47")
_EXP_SHIFT = float.fromhex("0x1.8p52")
_EXP_C2, _EXP_C3, _EXP_C4, _EXP_C5 = _hex("0x1.ffffffffffdbdp-2 0x1.555555555543cp-3 "
                                          "0x1.55555cf172b91p-5 0x1.1111167a4d017p-7")


def _exp_table() -> tuple[Array, Array]:
    """2^(k/N) ≈ H[k]·(1 + T[k]): H[k] = 2^(k/N) rounded to float64, T[k] = (2^(k/N) − H[k])/H[k]
    rounded, from 40-digit decimal arithmetic. Returns (T, bits of H[k] − k·2⁵²/N)."""
    getcontext().prec = 40
    tails, scales = [], []
    for k in range(_EXP_N):
        exact = Decimal(2) ** (Decimal(k) / _EXP_N)
        h = float(exact)
        tails.append(float((exact - Decimal(h)) / Decimal(h)))
        scales.append(int(np.float64(h).view(_U64)) - (k << 45))
    return np.array(tails, F64), np.array(scales, _U64)


_EXP_TAIL, _EXP_SBITS = _exp_table()


def exp(x: Array) -> Array:
    """glibc exp: x = k·ln2/N + r, |r| ≤ ln2/2N; exp x = 2^(k/N)·(1 + tail + r + r²(C₂ + rC₃)
    + r⁴(C₄ + rC₅)), the multiply-adds fused; results beyond ±1024·ln 2 and subnormal ones as
    glibc's special case (rounded once, then scaled)."""
    x = np.asarray(x, F64)
    with np.errstate(all="ignore"):
        kd = fma64(_EXP_INVLN2N, x, _EXP_SHIFT)
        ki = _asuint64(kd)
        kd = kd - _EXP_SHIFT
        r = fma64(kd, _EXP_NEGLN2LO, fma64(kd, _EXP_NEGLN2HI, x))
        idx = (ki % _U64(_EXP_N)).astype(np.intp)
        tail = _EXP_TAIL[idx]
        sbits = _EXP_SBITS[idx] + (ki << _U64(45))
        r2 = r * r
        tmp = fma64(r2 * r2, fma64(r, _EXP_C5, _EXP_C4), fma64(r2, fma64(r, _EXP_C3, _EXP_C2), tail + r))
        out = fma64(_asdouble(sbits), tmp, _asdouble(sbits))
        large = np.abs(x) >= 512.0
        if large.any():  # glibc's special case, only where it applies
            out[large] = _exp_large(tmp[large], sbits[large], ki[large])
        out = np.where(np.abs(x) >= 1024.0, np.where(x > 0, np.inf, 0.0), out)
        out = np.where(np.abs(x) < 2.0**-54, 1.0 + x, out)
        return np.where(np.isnan(x), x, out)


def _exp_large(tmp: Array, sbits: Array, ki: Array) -> Array:
    """glibc's ``specialcase`` for 512 ≤ |x| < 1024: the scale's exponent moved out of range and
    back; results in the subnormal range rounded once (hi + lo) before they are scaled down."""
    positive = (ki & _U64(0x80000000)) == 0
    up = _asdouble(sbits - _U64(1009 << 52))
    big = 2.0**1009 * fma64(up, tmp, up)
    scale = _asdouble(sbits + _U64(1022 << 52))
    scaled_tmp = scale * tmp  # one product for both sums below: GCC fuses neither
    y = scale + scaled_tmp
    lo = (scale - y) + scaled_tmp
    hi = 1.0 + y
    lo = 1.0 - hi + y + lo
    tiny = np.where(y < 1.0, (hi + lo) - 1.0, y)
    tiny = np.where(tiny == 0.0, 0.0, tiny)
    return np.where(positive, big, 2.0**-1022 * tiny)


# --- log --------------------------------------------------------------------------------------
_LOG_N = 128
_LOG_OFF = 0x3FE6000000000000
_LOG_LN2HI, _LOG_LN2LO = _hex("0x1.62e42fefa3800p-1 0x1.ef35793c76730p-45")
_LOG_A = _hex("-0x1.0000000000001p-1 0x1.555555551305bp-2 -0x1.fffffffeb459p-3 0x1.999b324f10111p-3 "
              "-0x1.55575e506c89fp-3")
_LOG_B = _hex("-0x1p-1 0x1.5555555555577p-2 -0x1.ffffffffffdcbp-3 0x1.999999995dd0cp-3 "
              "-0x1.55555556745a7p-3 0x1.24924a344de3p-3 -0x1.fffffa4423d65p-4 0x1.c7184282ad6cap-4 "
              "-0x1.999eb43b068ffp-4 0x1.78182f7afd085p-4 -0x1.5521375d145cdp-4")
# (1/c, log c) for the 128 subintervals of [0x1.6p-1, 0x1.6p0) (glibc's e_log_data.c).
_LOG_TAB = np.array(_hex("""
0x1.734f0c3e0de9fp+0 -0x1.7cc7f79e69000p-2 0x1.713786a2ce91fp+0 -0x1.76feec20d0000p-2
0x1.6f26008fab5a0p+0 -0x1.713e31351e000p-2 0x1.6d1a61f138c7dp+0 -0x1.6b85b38287800p-2
0x1.6b1490bc5b4d1p+0 -0x1.65d5590807800p-2 0x1.69147332f0cbap+0 -0x1.602d076180000p-2
0x1.6719f18224223p+0 -0x1.5a8ca86909000p-2 0x1.6524f99a51ed9p+0 -0x1.54f4356035000p-2
0x1.63356aa8f24c4p+0 -0x1.4f637c36b4000p-2 0x1.614b36b9ddc14p+0 -0x1.49da7fda85000p-2
0x1.5f66452c65c4cp+0 -0x1.445923989a800p-2 0x1.5d867b5912c4fp+0 -0x1.3edf439b0b800p-2
0x1.5babccb5b90dep+0 -0x1.396ce448f7000p-2 0x1.59d61f2d91a78p+0 -0x1.3401e17bda000p-2
0x1.5805612465687p+0 -0x1.2e9e2ef468000p-2 0x1.56397cee76bd3p+0 -0x1.2941b3830e000p-2
0x1.54725e2a77f93p+0 -0x1.23ec58cda8800p-2 0x1.52aff42064583p+0 -0x1.1e9e129279000p-2
0x1.50f22dbb2bddfp+0 -0x1.1956d2b48f800p-2 0x1.4f38f4734ded7p+0 -0x1.141679ab9f800p-2
0x1.4d843cfde2840p+0 -0x1.0edd094ef9800p-2 0x1.4bd3ec078a3c8p+0 -0x1.09aa518db1000p-2
0x1.4a27fc3e0258ap+0 -0x1.047e65263b800p-2 0x1.4880524d48434p+0 -0x1.feb224586f000p-3
0x1.46dce1b192d0bp+0 -0x1.f474a7517b000p-3 0x1.453d9d3391854p+0 -0x1.ea4443d103000p-3
0x1.43a2744b4845ap+0 -0x1.e020d44e9b000p-3 0x1.420b54115f8fbp+0 -0x1.d60a22977f000p-3
0x1.40782da3ef4b1p+0 -0x1.cc00104959000p-3 0x1.3ee8f5d57fe8fp+0 -0x1.c202956891000p-3
0x1.3d5d9a00b4ce9p+0 -0x1.b81178d811000p-3 0x1.3bd60c010c12bp+0 -0x1.ae2c9ccd3d000p-3
0x1.3a5242b75dab8p+0 -0x1.a45402e129000p-3 0x1.38d22cd9fd002p+0 -0x1.9a877681df000p-3
0x1.3755bc5847a1cp+0 -0x1.90c6d69483000p-3 0x1.35dce49ad36e2p+0 -0x1.87120a645c000p-3
0x1.34679984dd440p+0 -0x1.7d68fb4143000p-3 0x1.32f5cceffcb24p+0 -0x1.73cb83c627000p-3
0x1.3187775a10d49p+0 -0x1.6a39a9b376000p-3 0x1.301c8373e3990p+0 -0x1.60b3154b7a000p-3
0x1.2eb4ebb95f841p+0 -0x1.5737d76243000p-3 0x1.2d50a0219a9d1p+0 -0x1.4dc7b8fc23000p-3
0x1.2bef9a8b7fd2ap+0 -0x1.4462c51d20000p-3 0x1.2a91c7a0c1babp+0 -0x1.3b08abc830000p-3
0x1.293726014b530p+0 -0x1.31b996b490000p-3 0x1.27dfa5757a1f5p+0 -0x1.2875490a44000p-3
0x1.268b39b1d3bbfp+0 -0x1.1f3b9f879a000p-3 0x1.2539d838ff5bdp+0 -0x1.160c8252ca000p-3
0x1.23eb7aac9083bp+0 -0x1.0ce7f57f72000p-3 0x1.22a012ba940b6p+0 -0x1.03cdc49fea000p-3
0x1.2157996cc4132p+0 -0x1.f57bdbc4b8000p-4 0x1.201201dd2fc9bp+0 -0x1.e370896404000p-4
0x1.1ecf4494d480bp+0 -0x1.d17983ef94000p-4 0x1.1d8f5528f6569p+0 -0x1.bf9674ed8a000p-4
0x1.1c52311577e7cp+0 -0x1.adc79202f6000p-4 0x1.1b17c74cb26e9p+0 -0x1.9c0c3e7288000p-4
0x1.19e010c2c1ab6p+0 -0x1.8a646b372c000p-4 0x1.18ab07bb670bdp+0 -0x1.78d01b3ac0000p-4
0x1.1778a25efbcb6p+0 -0x1.674f145380000p-4 0x1.1648d354c31dap+0 -0x1.55e0e6d878000p-4
0x1.151b990275fddp+0 -0x1.4485cdea1e000p-4 0x1.13f0ea432d24cp+0 -0x1.333d94d6aa000p-4
0x1.12c8b7210f9dap+0 -0x1.22079f8c56000p-4 0x1.11a3028ecb531p+0 -0x1.10e4698622000p-4
0x1.107fbda8434afp+0 -0x1.ffa6c6ad20000p-5 0x1.0f5ee0f4e6bb3p+0 -0x1.dda8d4a774000p-5
0x1.0e4065d2a9fcep+0 -0x1.bbcece4850000p-5 0x1.0d244632ca521p+0 -0x1.9a1894012c000p-5
0x1.0c0a77ce2981ap+0 -0x1.788583302c000p-5 0x1.0af2f83c636d1p+0 -0x1.5715e67d68000p-5
0x1.09ddb98a01339p+0 -0x1.35c8a49658000p-5 0x1.08cabaf52e7dfp+0 -0x1.149e364154000p-5
0x1.07b9f2f4e28fbp+0 -0x1.e72c082eb8000p-6 0x1.06ab58c358f19p+0 -0x1.a55f152528000p-6
0x1.059eea5ecf92cp+0 -0x1.63d62cf818000p-6 0x1.04949cdd12c90p+0 -0x1.228fb8caa0000p-6
0x1.038c6c6f0ada9p+0 -0x1.c317b20f90000p-7 0x1.02865137932a9p+0 -0x1.419355daa0000p-7
0x1.0182427ea7348p+0 -0x1.81203c2ec0000p-8 0x1.008040614b195p+0 -0x1.0040979240000p-9
0x1.fe01ff726fa1ap-1 0x1.feff384900000p-9 0x1.fa11cc261ea74p-1 0x1.7dc41353d0000p-7
0x1.f6310b081992ep-1 0x1.3cea3c4c28000p-6 0x1.f25f63ceeadcdp-1 0x1.b9fc114890000p-6
0x1.ee9c8039113e7p-1 0x1.1b0d8ce110000p-5 0x1.eae8078cbb1abp-1 0x1.58a5bd001c000p-5
0x1.e741aa29d0c9bp-1 0x1.95c8340d88000p-5 0x1.e3a91830a99b5p-1 0x1.d276aef578000p-5
0x1.e01e009609a56p-1 0x1.07598e598c000p-4 0x1.dca01e577bb98p-1 0x1.253f5e30d2000p-4
0x1.d92f20b7c9103p-1 0x1.42edd8b380000p-4 0x1.d5cac66fb5ccep-1 0x1.606598757c000p-4
0x1.d272caa5ede9dp-1 0x1.7da76356a0000p-4 0x1.cf26e3e6b2ccdp-1 0x1.9ab434e1c6000p-4
0x1.cbe6da2a77902p-1 0x1.b78c7bb0d6000p-4 0x1.c8b266d37086dp-1 0x1.d431332e72000p-4
0x1.c5894bd5d5804p-1 0x1.f0a3171de6000p-4 0x1.c26b533bb9f8cp-1 0x1.067152b914000p-3
0x1.bf583eeece73fp-1 0x1.147858292b000p-3 0x1.bc4fd75db96c1p-1 0x1.2266ecdca3000p-3
0x1.b951e0c864a28p-1 0x1.303d7a6c55000p-3 0x1.b65e2c5ef3e2cp-1 0x1.3dfc33c331000p-3
0x1.b374867c9888bp-1 0x1.4ba366b7a8000p-3 0x1.b094b211d304ap-1 0x1.5933928d1f000p-3
0x1.adbe885f2ef7ep-1 0x1.66acd2418f000p-3 0x1.aaf1d31603da2p-1 0x1.740f8ec669000p-3
0x1.a82e63fd358a7p-1 0x1.815c0f51af000p-3 0x1.a5740ef09738bp-1 0x1.8e92954f68000p-3
0x1.a2c2a90ab4b27p-1 0x1.9bb3602f84000p-3 0x1.a01a01393f2d1p-1 0x1.a8bed1c2c0000p-3
0x1.9d79f24db3c1bp-1 0x1.b5b515c01d000p-3 0x1.9ae2505c7b190p-1 0x1.c2967ccbcc000p-3
0x1.9852ef297ce2fp-1 0x1.cf635d5486000p-3 0x1.95cbaeea44b75p-1 0x1.dc1bd3446c000p-3
0x1.934c69de74838p-1 0x1.e8c01b8cfe000p-3 0x1.90d4f2f6752e6p-1 0x1.f5509c0179000p-3
0x1.8e6528effd79dp-1 0x1.00e6c121fb800p-2 0x1.8bfce9fcc007cp-1 0x1.071b80e93d000p-2
0x1.899c0dabec30ep-1 0x1.0d46b9e867000p-2 0x1.87427aa2317fbp-1 0x1.13687334bd000p-2
0x1.84f00acb39a08p-1 0x1.1980d67234800p-2 0x1.82a49e8653e55p-1 0x1.1f8ffe0cc8000p-2
0x1.8060195f40260p-1 0x1.2595fd7636800p-2 0x1.7e22563e0a329p-1 0x1.2b9300914a800p-2
0x1.7beb377dcb5adp-1 0x1.3187210436000p-2 0x1.79baa679725c2p-1 0x1.377266dec1800p-2
0x1.77907f2170657p-1 0x1.3d54ffbaf3000p-2 0x1.756cadbd6130cp-1 0x1.432eee32fe000p-2
"""), F64).reshape(_LOG_N, 2)


def log(x: Array) -> Array:
    """glibc log: x = 2ᵏ·z, z ∈ [0x1.6p-1, 0x1.6p0) in one of 128 subintervals around c;
    r = fma(z, 1/c, −1); log x = k·ln2 + log c + r + A₀r² + r³(A₁ + A₂r + r²(A₃ + A₄r)), with
    hi/lo parts; for x within [1 − 2⁻⁴, 1 + 0x1.09p-4] a degree-11 polynomial in r = x − 1 whose
    first term is split exactly (``_log_near_one``)."""
    x = np.asarray(x, F64)
    near = (x >= 1.0 - 2.0**-4) & (x < 1.0 + float.fromhex("0x1.09p-4"))
    if near.any():  # each path only on its own elements: the same bits, a fraction of the work
        out = np.empty_like(x)
        with np.errstate(all="ignore"):
            out[near] = _log_near_one(x[near])
        far = ~near
        out[far] = _log_far(x[far])
        return out
    return _log_far(x)


def _log_far(x: Array) -> Array:
    """``log`` away from 1 (the table path), and its special values."""
    with np.errstate(all="ignore"):
        sub = (x > 0) & (x < np.finfo(F64).tiny)
        ix = np.where(sub, _asuint64(x * 2.0**52) - _U64(52 << 52), _asuint64(np.abs(x)))
        tmp = ix - _U64(_LOG_OFF)
        i = ((tmp >> _U64(52 - 7)) % _U64(_LOG_N)).astype(np.intp)
        k = (tmp.view(np.int64) >> 52).astype(F64)
        z = _asdouble(ix - (tmp & _U64(0xFFF << 52)))
        invc, logc = _LOG_TAB[i, 0], _LOG_TAB[i, 1]
        r = fma64(z, invc, -1.0)
        w = k * _LOG_LN2HI + logc  # k·ln2hi is exact (|k| < 2¹¹, ln2hi has 42 bits): as fma
        hi = w + r
        lo = fma64(k, _LOG_LN2LO, (w - hi) + r)
        r2 = r * r
        a = _LOG_A
        poly = fma64(r2, fma64(r, a[4], a[3]), fma64(r, a[2], a[1]))
        out = fma64(r * r2, poly, fma64(r2, a[0], lo)) + hi
        out = np.where(x == np.inf, np.inf, out)
        out = np.where((x < 0) | np.isnan(x), np.nan, out)
        return np.where(x == 0, -np.inf, out)


def _log_near_one(x: Array) -> Array:
    """log x for x near 1: r = x − 1; y = r³·B(r) + lo + hi, hi + lo = r − r²/2 computed exactly
    from r split into 27 high bits and the rest."""
    b = _LOG_B
    r = x - 1.0
    r2 = r * r
    r3 = r * r2
    inner = fma64(r3, b[10], fma64(r2, b[9], fma64(r, b[8], b[7])))
    middle = fma64(r3, inner, fma64(r2, b[6], fma64(r, b[5], b[4])))
    outer = fma64(r3, middle, fma64(r2, b[3], fma64(r, b[2], b[1])))
    w = r * 2.0**27
    rhi = (r + w) - w
    rlo = r - rhi
    w = rhi * rhi * b[0]
    hi = r + w
    lo = (r - hi) + w
    lo = fma64(b[0] * rlo, rhi + r, lo)
    y = fma64(r3, outer, lo)
    return np.where(x == 1.0, 0.0, y + hi)


# --- log1p ------------------------------------------------------------------------------------
_L1P_LN2_HI = 6.93147180369123816490e-01
_L1P_LN2_LO = 1.90821492927058770002e-10
_L1P_LP = (6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
           2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
           1.479819860511658591e-01)


def log1p(x: Array) -> Array:
    """glibc log1p (fdlibm): 1 + x = 2ᵏ(1 + f), √½ < 1 + f < √2, c the rounding error of 1 + x over
    it; s = f/(2 + f), R = Lp₁z + Lp₂z² + … + Lp₇z⁷ (z = s², multiply-adds fused);
    log1p x = k·ln2_hi − ((f²/2 − (s(f²/2 + R) + (k·ln2_lo + c))) − f)."""
    x = np.asarray(x, F64)
    with np.errstate(all="ignore"):
        hx = (_asuint64(x) >> _U64(32)).astype(np.int64).astype(np.int32)
        ax = hx & 0x7FFFFFFF
        small = (hx < 0x3FDA827A) & ((hx > 0) | (hx <= np.int32(-1076707645)))  # 0xbfd2bec3
        u = np.where(hx < 0x43400000, 1.0 + x, x)
        hu = (_asuint64(u) >> _U64(32)).astype(np.int64).astype(np.int32)
        k = (hu >> 20) - 1023
        c = np.where(hx < 0x43400000, np.where(k > 0, 1.0 - (u - x), x - (u - 1.0)) / u, 0.0)
        hu = hu & 0x000FFFFF
        low = hu < 0x6A09E
        high_word = np.where(low, hu | 0x3FF00000, hu | 0x3FE00000).astype(np.int64)
        u = _asdouble((_asuint64(u) & _U64(0xFFFFFFFF)) | (high_word.astype(_U64) << _U64(32)))
        k = np.where(low, k, k + 1)
        hu = np.where(low, hu, (0x00100000 - hu) >> 2)
        f = np.where(small, x, u - 1.0)
        k = np.where(small, 0, k)
        c = np.where(small, 0.0, c)
        hu = np.where(small, 1, hu)
        kd = k.astype(F64)
        hfsq = 0.5 * f * f
        s = f / (2.0 + f)
        z = s * s
        lp = _L1P_LP
        z2 = z * z
        z4 = z2 * z2
        big_r = fma64(z2 * z4, fma64(z, lp[6], lp[5]),
                      fma64(z4, fma64(z, lp[4], lp[3]), fma64(z, lp[0], z2 * fma64(z, lp[2], lp[1]))))
        s_term = s * (hfsq + big_r)  # shared by both branches: GCC fuses none of its uses
        out = np.where(k == 0, f - (hfsq - s_term),
                       fma64(kd, _L1P_LN2_HI, -((hfsq - (s_term + fma64(kd, _L1P_LN2_LO, c))) - f)))
        tiny_r = hfsq * fma64(-0.66666666666666666, f, 1.0)
        tiny = np.where(k == 0, f - tiny_r,
                        fma64(kd, _L1P_LN2_HI, -((tiny_r - fma64(kd, _L1P_LN2_LO, c)) - f)))
        exact_f = np.where(k == 0, 0.0, fma64(kd, _L1P_LN2_HI, fma64(kd, _L1P_LN2_LO, c)))
        out = np.where(hu == 0, np.where(f == 0, exact_f, tiny), out)
        out = np.where(ax < 0x3E200000, np.where(ax < 0x3C900000, x, x - x * x * 0.5), out)
        out = np.where(x == -1.0, -np.inf, np.where((x < -1.0) | np.isnan(x), np.nan, out))
        return np.where(x == np.inf, np.inf, out)
