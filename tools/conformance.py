#!/usr/bin/env python3
"""How close each profile is to its framework on the golden fixtures.

    python3 tools/conformance.py            # a table: per profile, bit-identical shares, worst ulp
    python3 tools/conformance.py --markdown # the same as a Markdown table (for the README)
    python3 tools/conformance.py --cases    # every case that is not bit-identical

Rows are per profile and compute dtype. Differences are in ulp of that dtype (units in the last
place: adjacent floats are 1 apart), plus the worst relative difference. A framework's refusal
must be a refusal of ours.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import texttable  # noqa: E402
from golden_corpus import FRAMEWORKS, materialise  # noqa: E402

from xentropy_cli.core import kernels, pipeline, profiles  # noqa: E402
from xentropy_cli.core.types import Inputs, Options  # noqa: E402
from xentropy_cli.errors import XentError  # noqa: E402

HUGE = 2**62  # the distance reported when one side is nan or they differ in kind


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def fixture(fw: str) -> dict[str, Any]:
    """The framework's fixture. A framework that is numpy (naive, sklearn, keras-numpy) was recorded
    once per numpy dispatch path; this picks the recording made on the path this process's numpy
    takes. Where none was (another numpy or CPU), it returns the default recording marked
    ``numpy_dispatch_matched = False``: its bits are another machine's, so only closeness holds."""
    default = load(GOLDEN / f"{fw}.json")
    if "numpy_dispatch" not in default:
        return default
    local = kernels.numpy_dispatch()
    variant = GOLDEN / "numpy-dispatch" / f"{fw}-{local}.json"
    chosen = default if default["numpy_dispatch"] == local else load(variant) if variant.exists() else None
    if chosen is None:
        return {**default, "numpy_dispatch_matched": False}
    return {**chosen, "numpy_dispatch_matched": True}


def fixtures() -> list[dict[str, Any]]:
    return [fixture(fw) for fw in FRAMEWORKS if (GOLDEN / f"{fw}.json").exists()]


def inputs_of(case: dict[str, Any]) -> Inputs:
    """The fixture's inputs as ``Inputs``, bit-identical to what the framework was given."""
    inp = case["inputs"]
    dtype = inp["dtype"]
    y_true = materialise(inp["y_true"], dtype)
    if inp["kind"] == "sparse":
        y_true = y_true.astype(np.int64)
    sw = inp["sample_weight"]
    weight = None if sw is None else (np.asarray(float(sw)) if isinstance(sw, (int, float))
                                      else materialise(sw))
    cw = inp["class_weight"]
    return Inputs(y_true=y_true, y_pred=materialise(inp["y_pred"], dtype), sample_weight=weight,
                  kind=inp["kind"], from_logits=inp["from_logits"],
                  class_weight=None if cw is None else np.asarray(cw, np.float64),
                  source=case["id"])


KERNEL: str | None = None  # --kernel: one log kernel for every profile


def run(profile_name: str, case: dict[str, Any], reduction: str):
    """Our Result for this case under ``reduction``."""
    opts = Options(label_smoothing=case["inputs"]["label_smoothing"], reduction=reduction,
                   kernel=KERNEL)
    return pipeline.run(inputs_of(case), profiles.get(profile_name), opts)


def ordered(a: np.ndarray) -> np.ndarray:
    """Floats mapped to integers in the same order, adjacent floats differing by 1."""
    bits = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}[a.dtype]
    i = a.view(bits).astype(np.int64)
    sign = np.int64(np.iinfo(bits).min)
    return np.where(i < 0, sign - i, i)


def ulp_diff(ours: np.ndarray, golden: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """|ours − golden| in ulp of ``dtype``; 0 for equal infinities or two nans, HUGE for a golden
    value that ``dtype`` cannot hold (the framework computed in another dtype) or one-sided nan."""
    ours = np.atleast_1d(np.asarray(ours)).astype(dtype)
    gold64 = np.atleast_1d(np.asarray(golden, dtype=np.float64))
    gold = gold64.astype(dtype)
    with np.errstate(invalid="ignore"):
        unrepresentable = (gold.astype(np.float64) != gold64) & ~np.isnan(gold64)
    both_nan = np.isnan(ours) & np.isnan(gold)
    one_nan = np.isnan(ours) ^ np.isnan(gold)
    with np.errstate(over="ignore"):
        d = np.abs(ordered(np.where(np.isnan(ours), 0, ours).astype(dtype))
                   - ordered(np.where(np.isnan(gold), 0, gold).astype(dtype)))
    d = np.where(both_nan, 0, d)
    return np.where(one_nan | unrepresentable, HUGE, d)


@dataclass
class Tally:
    """Agreement of one profile with its framework, on the cases computed in one dtype."""

    framework: str
    profile: str
    dtype: str
    cases: int = 0
    refusals: int = 0
    refusals_matched: int = 0
    samples: int = 0
    samples_exact: int = 0
    worst_sample: int = 0
    reduced: int = 0
    reduced_exact: int = 0
    worst_reduced: int = 0
    worst_rel: float = 0.0
    misses: list = field(default_factory=list)


def compare_case(profile: str, case: dict[str, Any]) -> dict[str, Any]:
    """One fixture case against our pipeline: ulp per sample and per reduction, or refusals."""
    out: dict[str, Any] = {"id": case["id"], "refused": "error" in case}
    if "error" in case:
        try:
            run(profile, case, "none")
        except XentError as exc:
            out["we_refused"] = exc.one_line()
        else:
            out["we_refused"] = None
        return out
    try:
        ours = run(profile, case, "none")
    except XentError as exc:
        out["we_refused_wrongly"] = exc.one_line()
        return out
    dtype = np.dtype(ours.per_sample.dtype)
    out["dtype"] = str(dtype)
    out["per_sample"] = ulp_diff(ours.per_sample, case["per_sample"], dtype)
    out["rel_sample"] = relative(ours.per_sample, case["per_sample"])
    out["reduced"] = {}
    out["rel_reduced"] = {}
    for name, value in case["reduced"].items():
        if isinstance(value, dict):
            try:
                run(profile, case, name)
            except XentError as exc:
                out["reduced"][name] = ("refused", exc.one_line())
            else:
                out["reduced"][name] = ("refused", None)
            continue
        result = run(profile, case, name)
        out["reduced"][name] = int(ulp_diff(np.asarray(result.value), value, dtype)[0])
        out["rel_reduced"][name] = float(relative(np.asarray(result.value), [value])[0])
    return out


def relative(ours: np.ndarray, golden: Any) -> np.ndarray:
    a = np.atleast_1d(np.asarray(ours, np.float64))
    b = np.atleast_1d(np.asarray(golden, np.float64))
    with np.errstate(all="ignore"):
        rel = np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return np.where(same, 0.0, np.where(np.isnan(rel), np.inf, rel))


def compute_dtype(profile: str, case: dict[str, Any]) -> str:
    """The dtype our pipeline computes this case in (float32, float64)."""
    return str(pipeline.compute_dtype(profiles.get(profile), Options(), inputs_of(case).y_pred))


def tally(fixture: dict[str, Any]) -> list[Tally]:
    """One Tally per compute dtype of the fixture's cases (float32 first)."""
    rows: dict[str, Tally] = {}
    for case in fixture["cases"]:
        dtype = compute_dtype(fixture["profile"], case)
        t = rows.setdefault(dtype, Tally(fixture["framework"], fixture["profile"], dtype))
        add(t, case)
    return [rows[k] for k in sorted(rows)]


def add(t: Tally, case: dict[str, Any]) -> None:
    t.cases += 1
    r = compare_case(t.profile, case)
    if r["refused"]:
        t.refusals += 1
        t.refusals_matched += r["we_refused"] is not None
        if r["we_refused"] is None:
            t.misses.append((case["id"], "framework refused, we did not: " + case["error"]))
        return
    if "we_refused_wrongly" in r:
        t.misses.append((case["id"], "we refused, the framework did not: " + r["we_refused_wrongly"]))
        t.worst_sample = HUGE
        return
    d = r["per_sample"]
    t.samples += d.size
    t.samples_exact += int((d == 0).sum())
    t.worst_sample = max(t.worst_sample, int(d.max()))
    t.worst_rel = max(t.worst_rel, float(r["rel_sample"].max()))
    for name, v in r["reduced"].items():
        if isinstance(v, tuple):
            t.refusals += 1
            t.refusals_matched += v[1] is not None
            if v[1] is None:
                t.misses.append((case["id"], f"framework refused reduction {name}, we did not"))
            continue
        t.reduced += 1
        t.reduced_exact += v == 0
        t.worst_reduced = max(t.worst_reduced, v)
        t.worst_rel = max(t.worst_rel, r["rel_reduced"][name])
    if d.max() or any(isinstance(v, int) and v for v in r["reduced"].values()):
        bad = {k: v for k, v in r["reduced"].items() if isinstance(v, int) and v}
        t.misses.append((case["id"], f"{r['dtype']} per sample max {int(d.max())} ulp "
                         f"({int((d > 0).sum())}/{d.size} differ); reduced {bad}"))


def fmt_ulp(n: int) -> str:
    return "wrong" if n >= HUGE else str(n)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--cases", action="store_true", help="list cases that are not bit-identical")
    parser.add_argument("--kernel", help="force one log kernel (e.g. numpy) to see what kernels add")
    args = parser.parse_args(argv)
    global KERNEL
    KERNEL = args.kernel
    rows = [t for f in fixtures() for t in tally(f)]
    header = ("profile", "dtype", "cases", "per sample bit-identical", "worst ulp",
              "reduced bit-identical", "worst ulp", "worst relative", "refusals matched")
    lines = []
    for t in rows:
        lines.append((
            t.profile, t.dtype, str(t.cases),
            f"{t.samples_exact}/{t.samples} ({100 * t.samples_exact / max(t.samples, 1):.1f}%)",
            fmt_ulp(t.worst_sample),
            f"{t.reduced_exact}/{t.reduced} ({100 * t.reduced_exact / max(t.reduced, 1):.1f}%)",
            fmt_ulp(t.worst_reduced), f"{t.worst_rel:.1e}", f"{t.refusals_matched}/{t.refusals}",
        ))
    texttable.show(header, lines, args.markdown)
    if args.cases:
        for t in rows:
            for cid, text in t.misses:
                print(f"{t.profile:12} {cid:36} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
