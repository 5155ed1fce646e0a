"""The same bits on every x86-64 CPU.

numpy sends its float64 (and some float32) log, exp and log1p to different code on CPUs with
AVX-512, with AVX2 only, and on the x86-64 baseline; ``NPY_DISABLE_CPU_FEATURES`` switches the
newer paths off in a process, so one machine can play all three. Every profile that emulates a
framework's kernels (TensorFlow, XLA, glibc, torch's stand-ins) must give identical bits on all of
them; the profiles that *are* numpy follow the local numpy and are compared with a recording made
on the same path (tests/test_golden.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xentropy_cli.core import kernels

ROOT = Path(__file__).resolve().parent.parent

# numpy ≥ 2.4's names (X86_V4: AVX-512; X86_V3: AVX2 and FMA). Switching off a path the CPU lacks is
# harmless; an unknown name makes numpy refuse to start, and the test then skips that path.
PATHS = {"avx2": "X86_V4 AVX512_ICL AVX512_SPR", "baseline": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}

PROBE = r"""
import hashlib, json, sys
import numpy as np
sys.path.insert(0, "tools")
import conformance as cf
from xentropy_cli.core import kernels
from xentropy_cli.errors import XentError
out = {"dispatch": kernels.numpy_dispatch()}
for fixture in cf.fixtures():
    if fixture["framework"] in ("naive", "sklearn", "keras-numpy"):
        continue
    digest = hashlib.sha256()
    for case in fixture["cases"]:
        for reduction in ["none", *case.get("reduced", {})]:
            try:
                result = cf.run(fixture["profile"], case, reduction)
            except XentError:
                digest.update(b"refused")
                continue
            value = result.per_sample if reduction == "none" else np.asarray(result.value)
            digest.update(np.ascontiguousarray(value).tobytes())
    out[fixture["framework"]] = digest.hexdigest()
print(json.dumps(out))
"""


def _probe(disabled: str | None) -> dict[str, str] | None:
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    if disabled:
        env["NPY_DISABLE_CPU_FEATURES"] = disabled
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode and "NPY_DISABLE_CPU_FEATURES" in done.stderr:
        return None  # this numpy does not know these names
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_emulated_profiles_give_the_same_bits_on_every_numpy_dispatch_path():
    here = _probe(None)
    assert here is not None
    compared = 0
    for name, disabled in PATHS.items():
        there = _probe(disabled)
        if there is None:
            continue
        dispatch = there.pop("dispatch")
        assert there == {k: v for k, v in here.items() if k != "dispatch"}, (name, dispatch)
        compared += 1
    if not compared:
        pytest.skip("this numpy names its CPU paths differently")


def test_numpy_dispatch_name_is_stable_in_a_process_and_short():
    assert kernels.numpy_dispatch() == kernels.numpy_dispatch()
    assert len(kernels.numpy_dispatch()) == 12
