#!/usr/bin/env python3
"""How bit-exact each profile is: a Markdown table on the golden fixtures and on the kernel sweep.

    python3 tools/bitexact_table.py

First table: per log kernel, the share of the 1,000,846-value sweep (tests/golden/kernels_sweep.*,
recorded from the real frameworks by tools/gen_kernel_sweep.py) on which our emulation gives the
framework's float32 bits, and the worst distance in ulp; also on the [1e-7, 1] part alone.
Last table: per profile, the share of per-sample values and of reduced values bit-identical on
the differential corpus (tests/golden/corpus/, figures stored by tools/corpus_check.py --write),
the worst ulp and relative difference, and in how many calls xent refuses exactly when the
framework raises (and gives a number exactly when it does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(TOOLS))

import conformance  # noqa: E402
import corpus_check  # noqa: E402
import gen_kernel_sweep as sweep  # noqa: E402
from texttable import markdown  # noqa: E402

from xentropy_cli.core import kernels, sumorder  # noqa: E402

NOTES = {
    "tensorflow": "Eigen plog_float on 8-float packets (no FMA) + glibc logf on the last n mod 8",
    "xla": "Cephes polynomial with LLVM-fused FMAs; glibc logf on 1-D tails of 3, 5, 6, 7 (n < 16)",
    "torch": "MKL vsLn is closed source: stand-in is the correctly rounded log",
    "glibc": "glibc 2.36 logf, FMA variant (TensorFlow's and XLA's scalar path)",
    "glibc_log1p": "glibc 2.36 log1pf (torch's binary_cross_entropy)",
}


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a − b| in float32 ulp, 0 for two nans, 2⁶² for a nan against a number."""
    return conformance.ulp_diff(a, b, np.dtype(np.float32))


def sweep_rows() -> list[tuple[str, ...]]:
    meta = json.loads((sweep.GOLDEN / "kernels_sweep.json").read_text())
    data = np.load(sweep.GOLDEN / "kernels_sweep.npz")
    x, x1p = sweep.sweep_inputs(meta["seed"]), sweep.log1p_inputs(meta["seed"])
    refs = {"x": kernels.glibc_logf(x), "x1p": kernels.glibc_log1pf(x1p)}
    probs = slice(meta["parts"]["all_positive"], x.size - sweep.edge_values().size)
    rows = []
    for name in ("tensorflow", "xla", "torch", "glibc", "glibc_log1p"):
        ref = refs["x1p" if name.endswith("log1p") else "x"]
        recorded = sweep.rebuild(ref, np.cumsum(data[f"{name}_idx"].astype(np.int64)), data[f"{name}_delta"])
        ours = kernels.glibc_log1pf(x1p) if name == "glibc_log1p" else kernels.log(x, name)
        d = ulps(ours, recorded)
        part = d if name == "glibc_log1p" else d[probs]
        rows.append((name, f"{100 * (d == 0).mean():.4f}%", conformance.fmt_ulp(int(d.max())),
                     f"{100 * (part == 0).mean():.4f}%", NOTES[name]))
    return rows


EXP_NOTES = {
    "exp_tensorflow": "Eigen pexp_float on 8-float packets (no FMA) + glibc expf on the last n mod 8",
    "exp_xla": "Cephes exp with LLVM-fused FMAs; glibc expf on 1-D tails of 3, 5, 6, 7 (n < 16)",
    "exp_glibc": "glibc 2.36 expf (TensorFlow's and XLA's scalar path)",
    "log1p_tensorflow": "Eigen generic_log1p: x·plog(1 + x)/((1 + x) − 1), glibc log1pf on the tail",
    "log1p_xla": "Cephes rational log1p with FMAs below √2 − 1 in size, XLA's log(1 + x) above",
}


def exp_rows() -> list[tuple[str, ...]]:
    """The exp and log1p sweeps (float32, tests/golden/kernels_sweep.* "exp" section)."""
    meta = json.loads((sweep.GOLDEN / "kernels_sweep.json").read_text())
    data = np.load(sweep.GOLDEN / "kernels_sweep.npz")
    xe, xl = sweep.exp_inputs(meta["seed"]), sweep.log1p_fw_inputs(meta["seed"])
    refs = {"exp": kernels.glibc_expf(xe), "log1p": kernels.glibc_log1pf(xl)}
    rows = []
    for name, note in EXP_NOTES.items():
        fn, kernel = name.split("_")
        idx = np.cumsum(data[f"{name}_idx"].astype(np.int64))
        recorded = sweep.rebuild(refs[fn], idx, data[f"{name}_delta"])
        ours = kernels.exp(xe, kernel) if fn == "exp" else kernels.log1p(xl, kernel)
        d = ulps(ours, recorded)
        rows.append((name, f"{d.size:,}", f"{100 * (d == 0).mean():.4f}%",
                     conformance.fmt_ulp(int(d.max())), note))
    return rows


def profile_rows() -> list[tuple[str, ...]]:
    """Per profile, on the differential corpus (tests/golden/corpus/agreement.json, measured by
    tools/corpus_check.py): all 2,400 cases, and the "numeric" ones (no 1-D/(N, 1) shapes and no
    degenerate values). A profile gets another row for each of numpy's CPU paths (without AVX-512,
    without AVX2) on which its figures differ."""
    data = corpus_check.stored()
    rows = []
    for fw in corpus_check.FRAMEWORKS:
        if fw not in data:
            continue
        default = corpus_check.default_variant(fw)
        keys = [default] + sorted(k for k in data[fw] if k != default)
        for i, key in enumerate(keys):
            figures = data[fw].get(key)
            if figures is None or (i and figures == data[fw][keys[0]]):
                continue  # another numpy CPU path with the same figures
            name = corpus_check.PROFILE_OF[fw] + (f" (numpy path {key})" if i else "")
            cells = [name]
            for group in corpus_check.GROUPS:
                t = corpus_check.from_figures(fw, figures[group])
                cells += [f"{t.samples_exact}/{t.samples} ({corpus_check.pct(t.samples_exact, t.samples)})",
                          f"{t.reduced_exact}/{t.reduced} ({corpus_check.pct(t.reduced_exact, t.reduced)})",
                          f"{corpus_check.fmt_ulp(max(t.worst_sample, t.worst_reduced))} / {t.worst_rel:.0e}"]
            t = corpus_check.from_figures(fw, figures["all"])
            cells.append(t.refusal_agreement)
            rows.append(tuple(cells))
    return rows


def sum_rows() -> list[tuple[str, ...]]:
    """Per framework: the summation probes (rows and 1-D sums) whose sum we give bit for bit."""
    data = np.load(sweep.GOLDEN / "kernels_sweep.npz")
    rows = []
    notes = {"tensorflow": "Eigen packet accumulators + tree above 8192 values",
             "tensorflow64": "the same in float64 (4-double packets)",
             "torch": "cascade_sum; 1-D sums of 32768+ split over 2 threads (the sweep's; "
                      "the losses' fixtures use 1)",
             "xla": "running sums / windows of 32; YNNPACK from 4096 elements: rows ≤ 80 only"}
    threads = sumorder.TORCH_THREADS
    sumorder.TORCH_THREADS = 2  # the sweep ran with torch's default threads on two cores
    for name, note in notes.items():
        dtype = "float64" if name.endswith("64") else "float32"
        recorded, at, hit, shapes = data[f"sum_{name}"], 0, 0, sweep.reduction_shapes()
        for i, shape in enumerate(shapes):
            ours = np.ravel(kernels.sum_last(sweep.reduction_input(i, shape, dtype), name.replace("64", "")))
            hit += ours.tobytes() == recorded[at:at + ours.size].tobytes()
            at += ours.size
        rows.append((name, f"{hit}/{len(shapes)}", note))
    sumorder.TORCH_THREADS = threads
    return rows


def main() -> int:
    print("### float32 log kernels on the 1,000,846-value sweep\n")
    print(markdown(("kernel", "bit-identical", "worst ulp", "bit-identical on [1e-7, 1]", "what it models"),
                   sweep_rows()))
    print("\n### float32 exp and log1p (arguments of log-softmax and log-sigmoid)\n")
    print(markdown(("kernel", "values", "bit-identical", "worst ulp", "what it models"), exp_rows()))
    print("\n### sums over the last axis (probe shapes whose every output is bit-identical)\n")
    print(markdown(("kernel", "shapes exact", "order modelled"), sum_rows()))
    print("\n### profiles on the differential corpus (tools/gen_corpus.py, 2,400 random cases)\n")
    print("naive, sklearn and keras-numpy are numpy, whose float64 log and exp take other code on CPUs\n"
          "with AVX-512: they were recorded on each numpy dispatch path (AVX-512, AVX2, baseline x86-64)\n"
          "and compare with the one this process takes. Every other kernel is emulated in plain float\n"
          "arithmetic and gives the same bits on any CPU. A second row shows a numpy path on which a\n"
          "profile's figures differ.\n")
    print(markdown(("profile", "per sample identical", "reduced identical", "worst ulp / relative",
                    "numeric: per sample", "numeric: reduced", "numeric: worst ulp / relative",
                    "number iff number"), profile_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
