"""Shapes and degenerate values: xent against what each framework did (tests/golden/shapes.json).

The fixture was recorded by tools/gen_shapes.py from tensorflow 2.21.0, keras 3.15.1 (four
backends), tf-keras 2.21.0, torch 2.13.0, scikit-learn 1.9.1, jax 0.10.2 and optax 0.2.8, on
inputs of the rank a user gives them: 1-D binary vectors, (N, 1) columns, multi-output (N, K),
one-column categorical, mismatched shapes, all-zero rows, negative / nan / inf predictions,
negative weights, fractional and out-of-range sparse labels. The rule held here, both ways:
where the framework returns a number xent returns the same number (nan and inf included; bits
where the profile is bit-exact, else the bound test_golden.py states); where it raises, xent
refuses with one XentError.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import conformance as cf  # noqa: E402

from xentropy_cli.core import pipeline, profiles  # noqa: E402
from xentropy_cli.core.types import Inputs, Options  # noqa: E402
from xentropy_cli.errors import XentError  # noqa: E402

FIXTURE = json.loads((Path(__file__).resolve().parent / "golden" / "shapes.json").read_text())
PROFILE_OF = {"keras-tensorflow": "keras", "keras-jax": "keras-jax", "keras-torch": "keras-torch",
              "keras-numpy": "keras-numpy", "tf-keras": "tf-keras", "torch": "torch",
              "sklearn": "sklearn", "optax": "optax"}
# ulp of the compute dtype a value may be off (test_golden.py says why each bound is not 0)
ULP = {"keras": 0, "keras-jax": 1, "keras-torch": 30, "keras-numpy": 0, "tf-keras": 0,
       "torch": 30, "sklearn": 0, "optax": 1}


def inputs_of(case: dict) -> Inputs:
    dtype = np.dtype(case["dtype"])
    sw = case["sample_weight"]
    weight = None if sw is None else np.asarray(sw, np.float64)
    return Inputs(np.asarray(case["y_true"], dtype), np.asarray(case["y_pred"], dtype), weight,
                  kind=case["kind"], from_logits=case["from_logits"], source=case["id"])


def run(profile: str, case: dict, reduction: str):
    return pipeline.run(inputs_of(case), profiles.get(profile), Options(reduction=reduction))


def _params():
    for case in FIXTURE["cases"]:
        for fw, outcome in FIXTURE["results"][case["id"]].items():
            yield pytest.param(PROFILE_OF[fw], case, outcome, id=f"{case['id']}:{fw}")


def _close(ours, gold, profile: str, dtype) -> int:
    return int(cf.ulp_diff(np.asarray(ours, np.float64), gold, np.dtype(dtype)).max())


@pytest.mark.parametrize(("profile", "case", "outcome"), list(_params()))
def test_refuses_iff_the_framework_raises_else_same_number(profile, case, outcome):
    if "error" in outcome:
        with pytest.raises(XentError):
            run(profile, case, "none")
        return
    first = run(profile, case, "none")
    dtype = first.per_sample.dtype
    gold = outcome.get("per_sample", outcome.get("none"))
    if gold is not None:
        want = np.shape(np.asarray(gold, np.float64)) or (1,)  # one sample: xent keeps a (1,) vector
        assert np.shape(first.per_sample) == want, first.per_sample
        off = _close(first.per_sample, gold, profile, dtype)
        assert off <= ULP[profile], f"per sample {first.per_sample} vs {gold} ({off} ulp)"
    for reduction, expected in outcome["reduced"].items():
        if isinstance(expected, dict):
            with pytest.raises(XentError):
                run(profile, case, reduction)
            continue
        value = run(profile, case, reduction).value
        off = _close(value, expected, profile, dtype)
        assert off <= ULP[profile], f"{reduction}: {value!r} vs {expected!r} ({off} ulp)"


def test_fixture_records_the_pinned_versions():
    v = FIXTURE["versions"]
    assert (v["keras"], v["tensorflow"], v["tf-keras"], v["scikit-learn"], v["optax"]) == \
        ("3.15.1", "2.21.0", "2.21.0", "1.9.1", "0.2.8")
    assert v["torch"].startswith("2.13.0") and v["jax"] == "0.10.2"
    assert len(FIXTURE["cases"]) >= 50
