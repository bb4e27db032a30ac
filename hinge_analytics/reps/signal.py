"""The per-frame signal a recording's reps are cut on."""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.kinematics.implement import MIN_PROMINENCE_M, MIN_RANGE_M, RepSignal
from hinge_analytics.reps.segmentation import MIN_PROMINENCE_DEG, MIN_RANGE_DEG
from hinge_analytics.schema import LOAD_HEIGHT, TRUNK_HEIGHT


def rep_signal(angles: pl.DataFrame) -> RepSignal:
    """The hips' drop where kinematics gave one (a squat or lunge read by trunk sensors alone,
    `kinematics.trunk_height`; unit m), else the hinge (hip flexion, else the trunk's or a thigh's
    tilt; unit deg) when the body is measured, else the load's height (unit m; SPEC.md: sensors
    off the body give reps and timing, no body angles)."""
    if TRUNK_HEIGHT in angles.columns:
        drop = angles[TRUNK_HEIGHT].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if np.isfinite(drop).any():
            return RepSignal(drop, TRUNK_HEIGHT, "m", MIN_RANGE_M, MIN_PROMINENCE_M)
    hinge = angles["hinge_deg"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if LOAD_HEIGHT in angles.columns and not np.isfinite(hinge).any():
        height = angles[LOAD_HEIGHT].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if np.isfinite(height).any():
            return RepSignal(height, LOAD_HEIGHT, "m", MIN_RANGE_M, MIN_PROMINENCE_M)
    return RepSignal(hinge, "hinge_deg", "deg", MIN_RANGE_DEG, MIN_PROMINENCE_DEG)
