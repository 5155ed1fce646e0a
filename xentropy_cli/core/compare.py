"""Many profiles on one input: each one's value and how it departs from the textbook formula."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from xentropy_cli.core import explain, pipeline, profiles
from xentropy_cli.core.profiles import Profile
from xentropy_cli.core.types import Inputs, Options, Result
from xentropy_cli.errors import XentError


@dataclass(frozen=True)
class Row:
    profile: Profile
    result: Result | None
    first_difference: str | None  # first stage that differs from naive; None when it agrees
    max_gap: float  # largest |per-sample loss − naive per-sample loss|
    refusal: str = ""  # why this profile cannot take the input


def compare(inputs: Inputs, chosen: list[Profile], options: Options) -> list[Row]:
    """Run every chosen profile; a profile that cannot take the input says why instead."""
    baseline = pipeline.run(inputs, profiles.NAIVE, replace(options, reduction="none"))
    rows = []
    for profile in chosen:
        try:
            result = pipeline.run(inputs, profile, options)
            per_sample = pipeline.run(inputs, profile, replace(options, reduction="none"))
        except XentError as error:
            rows.append(Row(profile, None, None, float("nan"), error.one_line()))
            continue
        divergence = explain.diverge(per_sample, baseline, inputs.y_true, inputs.y_pred)
        with np.errstate(invalid="ignore"):
            gaps = np.abs(per_sample.per_sample.astype(np.float64) - baseline.per_sample)
        max_gap = float(np.nanmax(gaps)) if np.isfinite(gaps).any() else float("nan")
        rows.append(Row(profile, result, divergence.stage, max_gap))
    return rows
