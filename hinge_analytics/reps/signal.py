"""The per-frame signal a recording's reps are cut on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from hinge_analytics.kinematics.implement import MIN_PROMINENCE_M, MIN_RANGE_M
from hinge_analytics.reps.segmentation import MIN_PROMINENCE_DEG, MIN_RANGE_DEG


@dataclass(frozen=True)
class RepSignal:
    """The per-frame signal a recording's reps are cut on, and its thresholds for ``segment_reps``."""

    name: str  # an angles column
    values: np.ndarray
    min_prominence: float
    min_range: float

    @property
    def from_body(self) -> bool:
        return self.name == "hinge_deg"


def rep_signal(angles: pl.DataFrame) -> RepSignal:
    """The hinge (hip flexion, else the trunk's or a thigh's tilt) when the body is measured, else
    the load's height (SPEC.md: sensors off the body give reps and timing, no body angles)."""
    hinge = angles["hinge_deg"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if np.isfinite(hinge).any() or "load_height_m" not in angles.columns:
        return RepSignal("hinge_deg", hinge, MIN_PROMINENCE_DEG, MIN_RANGE_DEG)
    height = angles["load_height_m"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return RepSignal("load_height_m", height, MIN_PROMINENCE_M, MIN_RANGE_M)
