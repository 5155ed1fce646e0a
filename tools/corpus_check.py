#!/usr/bin/env python3
"""Each profile against its framework on the differential corpus (tests/golden/corpus/).

    python3 tools/corpus_check.py              # per profile: bit-identical shares, worst ulp, refusals
    python3 tools/corpus_check.py --cases      # every case and slot that is not bit-identical
    python3 tools/corpus_check.py --write      # regenerate xentropy_cli/core/agreement.py

No framework is needed: the inputs are rebuilt from their seeds (tools/fuzz_corpus.py, checked
against the recorded sha256), written as the JSON or .npz file a user would give xent, read back
through ``xentropy_cli.io.read`` and run through ``pipeline.run`` for every slot (per sample and
each reduction). A value is compared in ulp of xent's result dtype and relatively; a refusal of
the framework must be a refusal of xent's, and a number of the framework's a number of xent's.

The profiles that are numpy (naive, sklearn, keras-numpy) follow the local numpy, whose float64
(and some float32) kernels give other bits with AVX-512 than without: the corpus records both
variants and the one matching this process's numpy dispatch is used (``numpy_variant``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "golden" / "corpus"
AGREEMENT = ROOT / "xentropy_cli" / "core" / "agreement.py"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_corpus as fz  # noqa: E402
import texttable  # noqa: E402
from conformance import HUGE, relative, ulp_diff  # noqa: E402
from gen_golden import NUMPY_VARIANTS  # noqa: E402
from golden_corpus import FRAMEWORKS, PROFILE_OF  # noqa: E402

from xentropy_cli import io  # noqa: E402
from xentropy_cli.core import kernels, pipeline, profiles  # noqa: E402
from xentropy_cli.core.types import Inputs, Options  # noqa: E402
from xentropy_cli.errors import XentError  # noqa: E402

SLOTS = ("none", "sum", "mean", "sum_over_batch_size", "mean_with_sample_weight")
VALUE, RAISED, NO_CALL = 0, 1, 2
NUMPY_FRAMEWORKS = ("naive", "sklearn", "keras-numpy")


def numpy_variant() -> str:
    """The numpy dispatch path of this process (``kernels.numpy_dispatch()``): the numpy
    frameworks' recordings to compare with."""
    return kernels.numpy_dispatch()


def recorded_variants(framework: str) -> list[str]:
    """The dispatch paths a numpy framework was recorded on, the default first."""
    default = json.loads((CORPUS / f"{framework}.meta.json").read_text())["numpy_dispatch"]
    others = sorted(p.stem.split("@", 1)[1] for p in CORPUS.glob(f"{framework}@*.npz"))
    return [default] + [o for o in others if o != default]


def matched(framework: str, variant: str | None = None) -> bool:
    """Whether this numpy path was recorded (always, for the frameworks that are not numpy)."""
    return framework not in NUMPY_FRAMEWORKS or (variant or numpy_variant()) in recorded_variants(framework)


def use_corpus(path: Path) -> None:
    """Read another corpus's recordings (an independent one drawn with another seed)."""
    global CORPUS
    CORPUS = path.resolve()
    groups.cache_clear()


def cases() -> list[dict[str, Any]]:
    return json.loads((CORPUS / "corpus.json").read_text())["cases"]


@dataclass
class Recorded:
    framework: str
    meta: dict[str, Any]
    status: np.ndarray
    reduced: np.ndarray
    err_index: np.ndarray
    per_sample: np.ndarray
    offsets: np.ndarray

    def per(self, c: int) -> np.ndarray:
        return self.per_sample[self.offsets[c]:self.offsets[c + 1]]

    def error(self, c: int, j: int) -> str:
        return self.meta["errors"][int(self.err_index[c, j])]


def recorded(framework: str, variant: str | None = None) -> Recorded:
    """A framework's recordings; for numpy frameworks the dispatch variant (default: this
    process's)."""
    data = np.load(CORPUS / f"{framework}.npz")
    meta = json.loads((CORPUS / f"{framework}.meta.json").read_text())
    per, red = data["per_sample"].copy(), data["reduced"].copy()
    variant = variant or numpy_variant()
    if framework in NUMPY_FRAMEWORKS and variant != meta["numpy_dispatch"] and \
            (CORPUS / f"{framework}@{variant}.npz").exists():
        diff = np.load(CORPUS / f"{framework}@{variant}.npz")
        per[diff["per_sample_at"]] = diff["per_sample_value"]
        flat = red.reshape(-1)
        flat[diff["reduced_at"]] = diff["reduced_value"]
    return Recorded(framework, meta, data["status"], red, data["err_index"], per, data["offsets"])


def inputs_of(case: dict[str, Any], tmp: Path) -> Inputs:
    """The case as xent reads it from the JSON or .npz file a user would write."""
    a = fz.arrays(case)
    if fz.digest(a) != case["sha256"]:
        raise AssertionError(f"case {case['i']}: regenerated inputs differ from the recorded ones")
    path = tmp / f"case{case['i']}.{case['via']}"
    if case["via"] == "json":
        path.write_text(fz.json_text(a))
    else:
        np.savez(path, **a)
    return io.read([str(path)], kind=fz.loss_kind(case), from_logits=case["from_logits"])


@dataclass
class Outcome:
    """xent against the framework on one case: per slot an ulp distance, 'refused' or a miss."""

    case: int
    dtype: str = ""
    per_ulp: np.ndarray | None = None
    per_rel: float = 0.0
    reduced_ulp: dict[str, int] = field(default_factory=dict)
    reduced_rel: dict[str, float] = field(default_factory=dict)
    refusals: dict[str, bool] = field(default_factory=dict)  # slot -> xent refused too
    wrong_refusals: list[str] = field(default_factory=list)  # slots xent refused, framework did not


def compare(rec: Recorded, c: int, case: dict[str, Any], inputs: Inputs | None) -> Outcome:
    profile = profiles.get(PROFILE_OF[rec.framework])
    out = Outcome(c)
    wanted = [slot for j, slot in enumerate(SLOTS) if rec.status[c, j] != NO_CALL]
    results = {} if inputs is None else pipeline.run_each(
        inputs, profile, Options(label_smoothing=case["label_smoothing"]), wanted)
    for j, slot in enumerate(SLOTS):
        status = rec.status[c, j]
        if status == NO_CALL:
            continue
        result = results.get(slot)
        if isinstance(result, XentError):
            result = None
        if status == RAISED:
            out.refusals[slot] = result is None
            continue
        if result is None:
            out.wrong_refusals.append(slot)
            continue
        dtype = np.dtype(result.per_sample.dtype)
        out.dtype = str(dtype)
        if slot == "none":
            ours, gold = np.ravel(result.per_sample), rec.per(c)
            if ours.shape != gold.shape:
                out.per_ulp = np.full(max(gold.size, 1), HUGE, np.int64)
                out.per_rel = float("inf")
                continue
            out.per_ulp = ulp_diff(ours, gold, dtype) if gold.size else np.zeros(0, np.int64)
            out.per_rel = float(relative(ours, gold).max()) if gold.size else 0.0
        else:
            value = np.asarray(result.value)
            gold = rec.reduced[c, j]
            out.reduced_ulp[slot] = int(ulp_diff(value, gold, dtype)[0])
            out.reduced_rel[slot] = float(relative(value, [gold])[0])
    return out


@dataclass
class Tally:
    framework: str
    profile: str
    cases: int = 0
    samples: int = 0
    samples_exact: int = 0
    worst_sample: int = 0
    reduced: int = 0
    reduced_exact: int = 0
    worst_reduced: int = 0
    worst_rel: float = 0.0
    refusals: int = 0
    refusals_matched: int = 0
    values: int = 0
    values_matched: int = 0  # the framework gave a number and so did xent
    misses: list = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        if not (o.refusals or o.wrong_refusals or o.per_ulp is not None or o.reduced_ulp):
            return  # the framework has no call for this case
        self.cases += 1
        for slot, matched in o.refusals.items():
            self.refusals += 1
            self.refusals_matched += matched
            if not matched:
                self.misses.append((o.case, slot, "the framework raised, xent did not"))
        for slot in o.wrong_refusals:
            self.values += 1
            self.misses.append((o.case, slot, "xent refused, the framework gave a number"))
        if o.per_ulp is not None:
            self.values += 1
            self.values_matched += 1
            d = o.per_ulp
            self.samples += d.size
            self.samples_exact += int((d == 0).sum())
            if d.size:
                self.worst_sample = max(self.worst_sample, int(d.max()))
            self.worst_rel = max(self.worst_rel, o.per_rel)
            if d.size and d.max():
                self.misses.append((o.case, "none", f"{o.dtype} per sample max {int(d.max())} ulp "
                                    f"({int((d > 0).sum())}/{d.size} differ), rel {o.per_rel:.1e}"))
        for slot, ulp in o.reduced_ulp.items():
            self.values += 1
            self.values_matched += 1
            self.reduced += 1
            self.reduced_exact += ulp == 0
            self.worst_reduced = max(self.worst_reduced, ulp)
            self.worst_rel = max(self.worst_rel, o.reduced_rel[slot])
            if ulp:
                self.misses.append((o.case, slot, f"{o.dtype} {ulp} ulp, rel {o.reduced_rel[slot]:.1e}"))

    @property
    def refusal_agreement(self) -> str:
        return f"{self.refusals_matched + self.values_matched}/{self.refusals + self.values}"


def outcomes(frameworks=FRAMEWORKS, variant: str | None = None) -> dict[str, list[Outcome]]:
    """Every framework's outcomes over the corpus (each case read once, for all profiles)."""
    recs = {fw: recorded(fw, variant) for fw in frameworks}
    result: dict[str, list[Outcome]] = {fw: [] for fw in frameworks}
    with tempfile.TemporaryDirectory() as tmp:
        for c, case in enumerate(cases()):
            try:
                inputs = inputs_of(case, Path(tmp))
            except XentError:
                inputs = None  # xent cannot read it: every slot is a refusal
            for fw in frameworks:
                result[fw].append(compare(recs[fw], c, case, inputs))
    return result


GROUPS = ("all", "numeric")  # stored; --groups also shows "shape" and "degenerate"


def group_of(case: dict[str, Any]) -> str:
    """``shape``: what issue 14 §3 settles (1-D binary, (N, 1) sparse labels, the per-sample
    loss of multi-output binary); ``degenerate``: §4 (negative, nan, > 1 predictions, bad
    labels, negative weights, rows of probabilities that are all 0, drawn so or made so by exact
    zeros and values that round to 0); ``numeric``: the rest, where only rounding can differ."""
    if case["kind"] in ("binary_1d", "sparse_col", "binary_multi"):
        return "shape"
    if case["degenerate"] or "zero_row" in case["awkward"]:
        return "degenerate"
    if not case["from_logits"] and not case["kind"].startswith("binary"):
        p = fz.arrays(case)["y_pred"]
        if (p.astype(case["dtype"]).sum(axis=-1) == 0).any():
            return "degenerate"
    return "numeric"


@lru_cache(maxsize=1)
def groups() -> tuple[str, ...]:
    return tuple(group_of(c) for c in cases())


def tallies(results: dict[str, list[Outcome]], group: str = "all") -> list[Tally]:
    """One Tally per framework, over every case (``group="all"``) or one group of cases."""
    out = []
    for fw, items in results.items():
        t = Tally(fw, PROFILE_OF[fw])
        for o in items:
            if group == "all" or groups()[o.case] == group:
                t.add(o)
        out.append(t)
    return out


SUMMARY = CORPUS / "agreement.json"
FIELDS = ("cases", "samples", "samples_exact", "worst_sample", "reduced", "reduced_exact",
          "worst_reduced", "worst_rel", "refusals", "refusals_matched", "values", "values_matched")


def figures(t: Tally) -> dict[str, Any]:
    return {f: getattr(t, f) for f in FIELDS}


def from_figures(framework: str, d: dict[str, Any]) -> Tally:
    return Tally(framework, PROFILE_OF[framework], **d)


def default_variant(framework: str) -> str:
    """The numpy dispatch path of the machine the framework was recorded on."""
    return json.loads((CORPUS / f"{framework}.meta.json").read_text())["numpy_dispatch"]


def variant_key(framework: str, variant: str | None = None) -> str:
    """Where agreement.json keeps a framework's figures: per numpy dispatch path (None: the
    recording machine's). Every framework's, as xent's emulations of C library kernels may
    still lean on numpy's float64 ufuncs (and the numpy profiles are numpy)."""
    return variant or default_variant(framework)


def stored() -> dict[str, dict[str, Any]]:
    """tests/golden/corpus/agreement.json: per framework and numpy dispatch path, the tallies."""
    return json.loads(SUMMARY.read_text())["frameworks"] if SUMMARY.exists() else {}


def stored_tallies(variant: str | None = None, group: str = "all") -> list[Tally]:
    data = stored()
    return [from_figures(fw, data[fw][variant_key(fw, variant)][group]) for fw in FRAMEWORKS
            if fw in data]


def pct(a: int, b: int) -> str:
    if b == 0:
        return "–"
    text = f"{100 * a / b:.1f}%"
    return "100%" if a == b else ("99.9%" if text == "100.0%" else text)


def fmt_ulp(n: int) -> str:
    return "wrong" if n >= HUGE else str(n)


def agreement_text(figs: dict[str, Any], others: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
    """One line for ``xent profiles``, from one framework's stored figures (per group): the
    numeric cases in full, every case in brief; ``others``: the figures on numpy's other CPU
    paths, mentioned where they differ."""
    def one(figs: dict[str, Any]) -> str:
        n, a = figs["numeric"], figs["all"]
        text = (f"{n['cases']:,} numeric cases: per sample {pct(n['samples_exact'], n['samples'])} "
                f"bit-identical ({n['samples_exact']:,}/{n['samples']:,}"
                + (f", worst {fmt_ulp(n['worst_sample'])} ulp" if n["worst_sample"] else "")
                + f"), reduced {pct(n['reduced_exact'], n['reduced'])} ({n['reduced_exact']:,}/"
                f"{n['reduced']:,}" + (f", worst {fmt_ulp(n['worst_reduced'])} ulp"
                                       if n["worst_reduced"] else "") + ")")
        if n["worst_rel"]:
            text += f", worst relative {n['worst_rel']:.1e}"
        text += (f"; all {a['cases']:,} cases (1-D and multi-output binary, degenerate values): "
                 f"{pct(a['samples_exact'], a['samples'])} and {pct(a['reduced_exact'], a['reduced'])}")
        t = from_figures("naive", a)
        return text + f", refusing iff the framework raises in {t.refusal_agreement} calls"
    text = f"differential corpus, {one(figs)}"
    differ = [o for o in others if o != figs]
    if differ:
        text += " (numpy with AVX-512; on its other CPU paths: " + "; ".join(one(o) for o in differ) + ")"
    return text


def table(rows: list[Tally]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    header = ("profile", "cases", "per sample bit-identical", "worst ulp", "reduced bit-identical",
              "worst ulp", "worst relative", "refuses iff the framework raises")
    lines = [(t.profile, str(t.cases), f"{t.samples_exact}/{t.samples} ({pct(t.samples_exact, t.samples)})",
              fmt_ulp(t.worst_sample), f"{t.reduced_exact}/{t.reduced} ({pct(t.reduced_exact, t.reduced)})",
              fmt_ulp(t.worst_reduced), f"{t.worst_rel:.1e}", t.refusal_agreement) for t in rows]
    return header, lines


def agreement_module() -> str:
    """xentropy_cli/core/agreement.py, from tests/golden/corpus/agreement.json."""
    data = stored()
    lines = []
    for fw in FRAMEWORKS:
        if fw not in data:
            continue
        default = default_variant(fw)
        keys = [default] + sorted(k for k in data[fw] if k != default)
        text = agreement_text(data[fw][keys[0]], [data[fw][k] for k in keys[1:]])
        parts = textwrap.wrap(text, 90, drop_whitespace=False, break_on_hyphens=False)
        body = "\n".join(f"        {part!r}" for part in parts)
        lines.append(f"    {PROFILE_OF[fw]!r}: (\n{body}\n    ),")
    return ('"""Each profile\'s measured agreement with its framework, shown by `xent profiles`.\n\n'
            "Generated by `python tools/corpus_check.py --write` from the differential corpus in\n"
            "tests/golden/corpus/ (tests/test_corpus.py checks that it is current). Do not edit.\n"
            '"""\n\nAGREEMENT = {\n' + "\n".join(lines) + "\n}\n")


def write(variant: str, rows: dict[str, list[Tally]]) -> None:
    data = stored()
    for group, tallied in rows.items():
        for t in tallied:
            if not matched(t.framework, variant):
                continue  # a numpy path nobody recorded: its figures would compare other bits
            key = variant_key(t.framework, variant)
            data.setdefault(t.framework, {}).setdefault(key, {})[group] = figures(t)
    SUMMARY.write_text(json.dumps({"generated_by": "tools/corpus_check.py --write",
                                   "frameworks": {fw: data[fw] for fw in FRAMEWORKS if fw in data}},
                                  indent=1) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", action="store_true", help="list what is not bit-identical")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--only", help="comma-separated frameworks")
    parser.add_argument("--groups", action="store_true",
                        help="per group of cases (numeric, shape, degenerate): the same table")
    parser.add_argument("--agreement", action="store_true",
                        help="only regenerate core/agreement.py from the stored figures")
    parser.add_argument("--write", action="store_true",
                        help="store the figures (agreement.json) and regenerate core/agreement.py")
    parser.add_argument("--corpus", help="another recorded corpus (gen_corpus.py --seed S --out DIR): "
                                         "its figures, never written")
    args = parser.parse_args(argv)
    if args.corpus:
        if args.write or args.agreement:
            parser.error("--corpus is for reading another corpus: it cannot --write")
        use_corpus(Path(args.corpus))
    if args.agreement:
        AGREEMENT.write_text(agreement_module())
        return 0
    chosen = tuple(args.only.split(",")) if args.only else FRAMEWORKS
    variant = numpy_variant()
    results = outcomes(chosen)
    rows = tallies(results)
    header, lines = table(rows)
    texttable.show(header, lines, args.markdown)
    if args.groups:
        for group in ("numeric", "shape", "degenerate"):
            print(f"\n{group}:")
            for line in table(tallies(results, group))[1]:
                print("  ".join(line))
    if args.cases:
        all_cases = cases()
        for t in rows:
            for c, slot, text in t.misses:
                s = all_cases[c]
                what = (f"{s['kind']} n={s['n']} k={s['k']} {s['dtype']}/{s['via']}"
                        f"{' logits' if s['from_logits'] else ''} w={s['weight']}"
                        f"{' ls=' + format(s['label_smoothing'], 'g') if s['label_smoothing'] else ''}"
                        f"{' ' + ','.join(s['awkward']) if s['awkward'] else ''}"
                        f"{' degenerate' if s['degenerate'] else ''}")
                print(f"{t.profile:12} case {c:5} {slot:24} {text}   [{what}]")
    if args.write:
        write(variant, {group: tallies(results, group) for group in GROUPS})
        if not os.environ.get("NPY_DISABLE_CPU_FEATURES"):
            # once more on each of numpy's other CPU paths
            for disabled in NUMPY_VARIANTS[1:]:
                env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": disabled}
                subprocess.run([sys.executable, __file__, "--only", ",".join(chosen), "--write"],
                               env=env, check=True, stdout=subprocess.DEVNULL)
        AGREEMENT.write_text(agreement_module())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
