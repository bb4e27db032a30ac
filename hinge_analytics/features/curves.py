"""Per-rep angle curves (schema.REP_CURVES): each rep's angles averaged in ``CURVE_POINTS`` equal
slices of its own time, start to end, so the shape of the movement reaches the classifier (where in
the rep the back rounds: lumbar flexion vs upper-back rounding), not only its peaks.

Slice ``i`` holds the frames with ``i <= CURVE_POINTS (t - t_start) / (t_end - t_start) < i + 1``
(the frame at ``t_end`` goes to the last slice) -- time normalisation as in gait analysis, where
cycles are compared at 0-100 % of their duration (Winter, Biomechanics and Motor Control of Human
Movement, 4th ed., 2009, ch. 1). Computed at ingest from the float32 angles the lake stores, so
prediction never has to read the frame-level ``angles`` table.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.numeric import frame_with_nulls, nanmean_stack
from hinge_analytics.schema import ANGLES, CURVE_ANGLES, CURVE_COLUMNS, CURVE_POINTS, REP_CURVES

# Curve name (schema.CURVE_ANGLES) -> the angles it follows, averaged (a side-less angle is the mean
# of the sides that are seen: a side view hides the far leg).
CURVE_SOURCES: dict[str, tuple[str, ...]] = {
    "trunk": ("trunk_inclination_deg",),
    "upper_back": ("upper_back_rounding_deg",),
    "hip": ("hip_flexion_left_deg", "hip_flexion_right_deg"),
    "knee": ("knee_flexion_left_deg", "knee_flexion_right_deg"),
    "lumbar": ("lumbar_flexion_deg",),
    "thoracic": ("thoracic_flexion_deg",),
}
assert tuple(CURVE_SOURCES) == CURVE_ANGLES


def _stored(angles: pl.DataFrame, column: str) -> np.ndarray:
    """``column`` at the precision the lake stores it (NaN where missing)."""
    if column not in angles.columns:
        return np.full(angles.height, np.nan)
    return angles[column].cast(ANGLES[column]).to_numpy().astype(np.float64)


def rep_curves(angles: pl.DataFrame, reps: pl.DataFrame) -> pl.DataFrame:
    """One row per rep of ``reps`` (``rep, t_start_s, t_end_s``) with its ``CURVE_COLUMNS``, from
    one recording's frame ``angles`` (``t_s`` ascending). A slice without a value is null."""
    n = CURVE_POINTS
    values = np.stack(
        [nanmean_stack([_stored(angles, c) for c in sources]) for sources in CURVE_SOURCES.values()],
        axis=1,
    )
    t = angles["t_s"].to_numpy()
    start, end = reps["t_start_s"].to_numpy(), reps["t_end_s"].to_numpy()
    # every (rep, frame) pair with t_start <= t <= t_end, as flat index arrays (frames are sorted)
    first, after = np.searchsorted(t, start, "left"), np.searchsorted(t, end, "right")
    counts = np.maximum(after - first, 0)
    rep_of = np.repeat(np.arange(len(start)), counts)
    frame = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts - first, counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        position = n * (t[frame] - start[rep_of]) / (end - start)[rep_of]
    cell = rep_of * n + np.clip(np.nan_to_num(np.floor(position)), 0, n - 1).astype(np.int64)
    size = len(start) * n
    means = []
    for k in range(len(CURVE_ANGLES)):
        v = values[frame, k]
        known = np.isfinite(v)
        with np.errstate(divide="ignore", invalid="ignore"):
            means.append(
                np.bincount(cell[known], v[known], minlength=size) / np.bincount(cell[known], minlength=size)
            )
    table = np.stack(means, axis=1).reshape(len(start), n, len(CURVE_ANGLES)).transpose(0, 2, 1)
    table = table.reshape(len(start), n * len(CURVE_ANGLES))
    columns = {"rep": reps["rep"].to_numpy(), **{c: table[:, j] for j, c in enumerate(CURVE_COLUMNS)}}
    return frame_with_nulls(columns, {c: REP_CURVES[c] for c in ("rep", *CURVE_COLUMNS)})
