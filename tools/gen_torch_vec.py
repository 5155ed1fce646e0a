#!/usr/bin/env python3
"""Record torch's vectorised kernels that xent emulates: ATen's log_softmax (SLEEF expf and logf,
map_reduce_all's order of addition), F.logsigmoid (SLEEF expf and log1pf), F.nll_loss's cascade
for sum and mean, and F.cross_entropy with label smoothing (class indices and probabilities).

    /work/fwvenv/bin/python tools/gen_torch_vec.py

Writes tests/golden/torch_vec.npz (inputs are rebuilt from SEED by ``inputs``; only torch's
outputs are stored) and tests/golden/torch_vec.json (versions, CPU capability, threads).
tests/test_torch_vec.py holds xent's emulation to these bits. torch picks its kernels by CPU
capability (AVX-512 here: 16-float vectors; an AVX2 machine adds Σ exp in 8-float vectors).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "golden"
SEED = 20261202
WIDTHS = (1, 2, 3, 5, 8, 9, 15, 16, 17, 31, 32, 33, 40, 64)
NLL_SIZES = (1, 2, 3, 15, 16, 17, 31, 33, 255, 256, 257, 1000, 4097)
SMOOTHING = (0.1, 1 / 3, 0.5)


def inputs(seed: int = SEED) -> dict[str, np.ndarray]:
    """Every input, rebuilt identically by the test (numpy's random generators only)."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for k in WIDTHS:
        z = rng.normal(0.0, 3.0, (200, k))
        z[:20] *= 30.0  # wide rows: exp underflows, subnormal terms
        out[f"z{k}"] = z.astype(np.float32)
    s = np.concatenate([rng.normal(0.0, 5.0, 20000), rng.normal(0.0, 60.0, 4000),
                        [0.0, -0.0, 88.0, -88.0, -87.5, -95.0, -103.9, -104.0, 104.0, np.inf, -np.inf]])
    out["sigmoid_z"] = s.astype(np.float32)
    for n in NLL_SIZES:
        out[f"nll_logp{n}"] = -rng.exponential(1.0, (n, 5)).astype(np.float32)
        out[f"nll_t{n}"] = rng.integers(0, 5, n)
    out["ls_t"] = rng.integers(0, 7, 300)
    out["ls_z"] = rng.normal(0.0, 4.0, (300, 7)).astype(np.float32)
    out["ls_y"] = rng.dirichlet(np.ones(7), 300).astype(np.float32)
    return out


def main() -> int:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    a = inputs()
    rec: dict[str, np.ndarray] = {}
    for k in WIDTHS:
        rec[f"log_softmax{k}"] = F.log_softmax(torch.from_numpy(a[f"z{k}"]), dim=-1).numpy()
    rec["logsigmoid"] = F.logsigmoid(torch.from_numpy(a["sigmoid_z"])).numpy()
    for n in NLL_SIZES:
        lp, t = torch.from_numpy(a[f"nll_logp{n}"]), torch.from_numpy(a[f"nll_t{n}"])
        rec[f"nll_sum{n}"] = F.nll_loss(lp, t, reduction="sum").numpy()
        rec[f"nll_mean{n}"] = F.nll_loss(lp, t, reduction="mean").numpy()
    z, t, y = (torch.from_numpy(a[name]) for name in ("ls_z", "ls_t", "ls_y"))
    for i, ls in enumerate(SMOOTHING):
        rec[f"ls_labels{i}"] = F.cross_entropy(z, t, label_smoothing=ls, reduction="none").numpy()
        rec[f"ls_probs{i}"] = F.cross_entropy(z, y, label_smoothing=ls, reduction="none").numpy()
        rec[f"ls_probs_sum{i}"] = F.cross_entropy(z, y, label_smoothing=ls, reduction="sum").numpy()
    np.savez_compressed(OUT / "torch_vec.npz", **rec)
    (OUT / "torch_vec.json").write_text(json.dumps({
        "generated_by": "tools/gen_torch_vec.py", "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": 1, "seed": SEED,
    }, indent=1) + "\n")
    print(f"wrote {OUT / 'torch_vec.npz'} ({len(rec)} arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
