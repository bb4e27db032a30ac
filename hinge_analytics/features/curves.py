"""Per-rep angle curves (schema.REP_CURVES): each rep's angles averaged in ``CURVE_POINTS`` equal
slices of its own time, from standing through the bottom back to standing, so the shape of the
movement reaches the classifier (where in the rep the back rounds: lumbar flexion vs upper-back
rounding), not only its peaks.

Slice ``i`` holds the frames with ``i <= CURVE_POINTS u < i + 1``, ``u`` the frame's position in its
rep's cycle (`features.cycle`; ``(t - t_start) / (t_end - t_start)`` for a rep from standing; the
frame at ``u = 1`` goes to the last slice) -- time normalisation as in gait analysis, where
cycles are compared at 0-100 % of their duration (Winter, Biomechanics and Motor Control of Human
Movement, 4th ed., 2009, ch. 1). Computed at ingest from the float32 angles the lake stores, so
prediction never has to read the frame-level ``angles`` table.

`curves_from_standing` re-expresses each curve relative to the standing posture around its rep
(the mean of its first and last slices, or the one that holds data: a rep starts and ends standing,
SPEC.md, and a first pull has no first half). A sensor whose
still reference was taken mid-movement, a tilt that drifted over the set, or an athlete's habitual
posture shift the stored curve as a whole; the rep's own shape does not move. On the real squat dev
set (3 subjects, leave-one-subject-out through `hinge train`, five seeds) macro-F1 was 0.82 (median)
with them and 0.55 without (logistic regression then wins the estimator selection and its calibration
fails); with neither them nor the IMU descriptors of ``features.descriptors``, 0.67.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.features.cycle import cycle_position, rep_cycles
from hinge_analytics.numeric import frame_with_nulls, nanmean_stack
from hinge_analytics.schema import (
    ANGLES,
    CURVE_ANGLES,
    CURVE_COLUMNS,
    CURVE_POINTS,
    REP_CURVES,
    STANDING_CURVE_COLUMNS,
)

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
    """One row per rep of ``reps`` (``rep, t_start_s, t_end_s``, and the phase columns that
    `cycle.rep_cycles` reads) with its ``CURVE_COLUMNS``, from one recording's frame ``angles``
    (``t_s`` ascending). A slice without a value is null."""
    n = CURVE_POINTS
    values = np.stack(
        [nanmean_stack([_stored(angles, c) for c in sources]) for sources in CURVE_SOURCES.values()],
        axis=1,
    )
    t = angles["t_s"].to_numpy()
    start, end = reps["t_start_s"].to_numpy(), reps["t_end_s"].to_numpy()
    pivot, length, offset = rep_cycles(reps)
    # every (rep, frame) pair with t_start <= t <= t_end, as flat index arrays (frames are sorted)
    first, after = np.searchsorted(t, start, "left"), np.searchsorted(t, end, "right")
    counts = np.maximum(after - first, 0)
    rep_of = np.repeat(np.arange(len(start)), counts)
    frame = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts - first, counts)
    at = (start[rep_of], end[rep_of], pivot[rep_of], length[rep_of], offset[rep_of])
    position = n * cycle_position(t[frame], *at)
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


def curves_from_standing(reps: pl.DataFrame) -> pl.DataFrame:
    """``STANDING_CURVE_COLUMNS`` for every row of ``reps`` (which holds ``CURVE_COLUMNS``; a
    missing one counts as null): each curve minus the mean of its first and last slice (of the one
    with a value when the other has none)."""
    exprs = []
    for k in range(len(CURVE_ANGLES)):
        part = slice(k * CURVE_POINTS, (k + 1) * CURVE_POINTS)
        values = [
            pl.col(c).cast(pl.Float64) if c in reps.columns else pl.lit(None, pl.Float64)
            for c in CURVE_COLUMNS[part]
        ]
        standing = pl.mean_horizontal(values[0], values[-1])
        exprs += [(v - standing).alias(c) for v, c in zip(values, STANDING_CURVE_COLUMNS[part], strict=True)]
    return reps.select(exprs)
