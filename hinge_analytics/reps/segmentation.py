"""Split a set into reps on the hinge signal (mean hip flexion) and mark each rep's phases.

A rep starts when the athlete leaves the top position and ends on return to it (SPEC.md). Peaks
are found with ``scipy.signal.find_peaks`` using a prominence relative to the recording's own
range, so depth, exercise and units of the signal do not matter. Onset/offset: from the crossing
of 20% of the rep's excursion, walk outwards while the hinge velocity stays above 5% of the rep's
peak velocity - a velocity threshold finds the true start of a smooth (minimum-jerk-like) movement
far closer than an amplitude threshold (cf. onset detection in Hodges & Bui, EEG Clin Neurophysiol
1996). Bottom phase = the time the signal stays within 5% of the rep's excursion from its peak.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.signal import find_peaks

MIN_RANGE_DEG = 15.0  # a set whose hinge moves less than this has no reps
PROMINENCE = 0.45  # fraction of the recording's hinge range
MIN_REP_S = 0.4
START_LEVEL = 0.2
VELOCITY_FRACTION = 0.05
BOTTOM_BAND = 0.05

REP_BOUNDARIES = {
    "rep": pl.Int32,
    "t_start_s": pl.Float64,
    "t_bottom_s": pl.Float64,
    "t_end_s": pl.Float64,
    "eccentric_s": pl.Float64,
    "bottom_pause_s": pl.Float64,
    "concentric_s": pl.Float64,
    "duration_s": pl.Float64,
    "peak_hinge_velocity_deg_s": pl.Float64,
}


def segment_reps(t_s: np.ndarray, hinge_deg: np.ndarray) -> pl.DataFrame:
    """Rep boundaries and phase durations (seconds from the first sample), one row per rep."""
    t_s = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(hinge_deg, dtype=np.float64)
    finite = np.isfinite(x)
    if finite.sum() < 10:
        return pl.DataFrame(schema=REP_BOUNDARIES)
    x = np.interp(np.arange(len(x)), np.flatnonzero(finite), x[finite])
    top, bottom = np.percentile(x, [5, 98])
    span = bottom - top
    if span < MIN_RANGE_DEG:
        return pl.DataFrame(schema=REP_BOUNDARIES)
    rate = (len(t_s) - 1) / (t_s[-1] - t_s[0])
    velocity = np.gradient(x, t_s)
    peaks, _ = find_peaks(
        x,
        prominence=PROMINENCE * span,
        distance=max(1, int(MIN_REP_S * rate)),
        height=top + 0.5 * span,
    )
    rows = []
    previous_end = 0
    for k, peak in enumerate(peaks):
        lower_left = previous_end
        next_peak = peaks[k + 1] if k + 1 < len(peaks) else len(x) - 1
        base_left = x[lower_left : peak + 1].min()
        base_right = x[peak : next_peak + 1].min()
        start = _onset(x, velocity, peak, base_left, lower_left, direction=-1)
        end = _onset(x, velocity, peak, base_right, next_peak, direction=+1)
        excursion = x[peak] - max(base_left, base_right)
        near_bottom = np.flatnonzero(x[start : end + 1] >= x[peak] - BOTTOM_BAND * excursion) + start
        bottom_in, bottom_out = near_bottom[0], near_bottom[-1]
        rows.append(
            {
                "rep": k + 1,
                "t_start_s": t_s[start],
                "t_bottom_s": t_s[peak],
                "t_end_s": t_s[end],
                "eccentric_s": t_s[bottom_in] - t_s[start],
                "bottom_pause_s": t_s[bottom_out] - t_s[bottom_in],
                "concentric_s": t_s[end] - t_s[bottom_out],
                "duration_s": t_s[end] - t_s[start],
                "peak_hinge_velocity_deg_s": float(np.abs(velocity[start : end + 1]).max()),
            }
        )
        previous_end = end
    return pl.DataFrame(rows, schema=REP_BOUNDARIES)


def _onset(x: np.ndarray, velocity: np.ndarray, peak: int, base: float, limit: int, direction: int) -> int:
    """Index where the movement into/out of ``peak`` begins/ends, searching towards ``limit``."""
    level = base + START_LEVEL * (x[peak] - base)
    i = peak
    while i != limit and x[i] > level:
        i += direction
    segment = velocity[min(i, peak) : max(i, peak) + 1]
    v_peak = np.abs(segment).max() if len(segment) else 0.0
    threshold = VELOCITY_FRACTION * max(
        v_peak, np.abs(velocity[min(limit, peak) : max(limit, peak) + 1]).max()
    )
    # Outwards from the crossing while still moving (towards the peak = positive slope inwards).
    while i != limit and direction * -velocity[i] > threshold:
        i += direction
    return i
