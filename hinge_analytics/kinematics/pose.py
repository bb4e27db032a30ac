"""Sagittal joint and segment angles from pose landmarks (SPEC.md conventions).

The sagittal plane is found from the data, not assumed: vertical is canonical +y; forward is the
median horizontal heel->toe direction (the feet point where the athlete faces), so it does not
matter which side faces the camera. Segment tilt = atan2(forward, up) of the segment's
lower->upper vector; hip flexion = trunk tilt - thigh tilt; knee flexion = shank tilt - thigh
tilt; ankle dorsiflexion = shank tilt (foot flat). Trunk = hip centre -> shoulder centre.
Upper-back rounding proxy = tilt of shoulder centre -> ear centre minus trunk tilt (the head and
shoulders curling forward of the trunk line). Hip travel = horizontal distance of the hip centre
behind the ankle centre divided by leg length (thigh + shank, median over the recording).
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from hinge_analytics.kinematics.filters import DEFAULT_CUTOFF_HZ, clean
from hinge_analytics.schema import ANGLES, LANDMARKS, conform, landmark_columns

MIN_CONFIDENCE = 0.3


def landmark_positions(
    frames: pl.DataFrame,
    sample_rate_hz: float,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
    planar: bool = False,
) -> dict[str, np.ndarray]:
    """Cleaned (n, 3) positions per landmark: low-confidence samples dropped, spikes removed,
    short gaps filled, zero-lag low-pass. ``planar`` ignores z (2D image keypoints)."""
    out = {}
    for lm in LANDMARKS:
        x, y, z, c = landmark_columns(lm)
        if x not in frames.columns or frames[x].null_count() == frames.height:
            continue
        conf = frames[c].fill_null(0.0).to_numpy()
        cols = []
        for axis_col in (x, y, z):
            v = frames[axis_col].cast(pl.Float64).fill_null(np.nan).to_numpy().copy()
            if planar and axis_col == z:
                v = np.zeros_like(v)
            v[conf < MIN_CONFIDENCE] = np.nan
            cols.append(clean(v, sample_rate_hz, cutoff_hz))
        out[lm] = np.column_stack(cols)
    return out


def _mid(p: dict[str, np.ndarray], name: str) -> np.ndarray | None:
    left, right = p.get(f"{name}_left"), p.get(f"{name}_right")
    if left is None or right is None:
        return left if right is None else right
    return nanmean_stack([left, right])


def nanmean_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Element-wise mean ignoring NaN (NaN where every input is NaN), without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(arrays), axis=0)


def forward_direction(p: dict[str, np.ndarray]) -> np.ndarray:
    """Unit horizontal (x, 0, z) vector the athlete faces: median heel -> toe direction.

    Falls back to the direction the shoulders move relative to the hips at the deepest hinge.
    """
    vectors = [
        p[f"toe_{s}"] - p[f"heel_{s}"] for s in ("left", "right") if f"toe_{s}" in p and f"heel_{s}" in p
    ]
    if vectors:
        v = np.nanmedian(np.concatenate(vectors), axis=0)
    else:
        v = np.nanmedian(_mid(p, "shoulder") - _mid(p, "hip"), axis=0)
        # The trunk leans forward in every hinge: the horizontal part of hip->shoulder at depth.
    v = np.array([v[0], 0.0, v[2]])
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else np.array([1.0, 0.0, 0.0])


def tilt_deg(lower: np.ndarray, upper: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Forward tilt from vertical (deg) of lower->upper, in the sagittal plane."""
    d = upper - lower
    return np.degrees(np.arctan2(d @ forward, d[:, 1]))


def pose_angles(
    frames: pl.DataFrame,
    sample_rate_hz: float,
    coordinates: str,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
) -> pl.DataFrame:
    """Angles per frame (schema.ANGLES) from canonical pose frames."""
    p = landmark_positions(frames, sample_rate_hz, cutoff_hz, planar=(coordinates == "image"))
    forward = forward_direction(p)
    hip_c, sho_c, ear_c, ank_c = (_mid(p, k) for k in ("hip", "shoulder", "ear", "ankle"))
    n = frames.height
    nan = np.full(n, np.nan)
    trunk = tilt_deg(hip_c, sho_c, forward) if hip_c is not None and sho_c is not None else nan
    out: dict[str, np.ndarray] = {"trunk_inclination_deg": trunk}
    leg_lengths = []
    for side in ("left", "right"):
        hip, knee, ankle = (p.get(f"{j}_{side}") for j in ("hip", "knee", "ankle"))
        thigh = tilt_deg(knee, hip, forward) if hip is not None and knee is not None else nan
        shank = tilt_deg(ankle, knee, forward) if knee is not None and ankle is not None else nan
        out[f"hip_flexion_{side}_deg"] = trunk - thigh
        out[f"knee_flexion_{side}_deg"] = shank - thigh
        out[f"ankle_dorsiflexion_{side}_deg"] = shank
        if hip is not None and knee is not None and ankle is not None:
            leg_lengths.append(np.linalg.norm(hip - knee, axis=1) + np.linalg.norm(knee - ankle, axis=1))
    if ear_c is not None and sho_c is not None:
        out["upper_back_rounding_deg"] = tilt_deg(sho_c, ear_c, forward) - trunk
    if leg_lengths and hip_c is not None and ank_c is not None:
        leg = np.nanmedian(np.concatenate(leg_lengths))
        out["hip_travel_leg_lengths"] = ((ank_c - hip_c) @ forward) / leg
    out["hinge_deg"] = nanmean_stack([out["hip_flexion_left_deg"], out["hip_flexion_right_deg"]])
    conf_cols = [
        landmark_columns(lm)[3]
        for lm in ("hip_left", "hip_right", "knee_left", "knee_right", "shoulder_left", "shoulder_right")
    ]
    confidence = frames.select(
        pl.min_horizontal([pl.col(c).fill_null(0.0) for c in conf_cols if c in frames.columns])
    ).to_series()
    table = pl.DataFrame({"frame": frames["frame"], "t_s": frames["t_s"], **out}).fill_nan(None)
    return conform(
        table.with_columns(confidence=confidence),
        {k: v for k, v in ANGLES.items() if k not in ("recording_id", "ingest_id")},
    )
