"""Split a set into reps on the hinge signal (mean hip flexion) and mark each rep's phases.

A rep starts when the athlete leaves the top position and ends on return to it (SPEC.md).

Detection: peaks of the hinge signal found with ``scipy.signal.find_peaks``; a peak is a rep when
its prominence (how far the signal drops back towards the top on both sides) exceeds both an
absolute floor (``MIN_PROMINENCE_DEG``: fidgets, weight shifts and the antiphase hip swing of walking
in or out stay below it) and a fraction of the set's range (so noise on a deep rep's bottom pause is
not a second rep). Pauses at the top or bottom do not matter: prominence ignores time.

Boundaries: hinge movements are smooth point-to-point movements whose profile is close to minimum
jerk (Flash & Hogan, J Neurosci 1985). A threshold or velocity-onset rule on such a profile is
always late (the first 10% of the time moves only 1% of the way; Hodges & Bui 1996 discuss the
bias), so each phase's start and end are *extrapolated*: the times the phase crosses 20% and 80% of
its excursion (robust to noise) are fitted by a minimum-jerk profile, whose start and end are the
phase's start and end. They are clamped between the previous rep's end and the crossings, so a
movement that is not minimum-jerk still gets a boundary between sensible limits.

Phases per rep: eccentric (start -> arrival at the bottom), bottom pause, concentric (bottom ->
return to the top) and top (rest at the top before the next rep; null for the last rep).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.signal import find_peaks

MIN_RANGE_DEG = 10.0  # a set whose hinge moves less than this has no reps
MIN_PROMINENCE_DEG = 8.0  # a rep moves the hinge at least this far from the top and back
PROMINENCE_FRACTION = 0.12  # ... and at least this fraction of the set's range
MIN_REP_S = 0.4  # peaks closer than this are one rep
LOW_LEVEL, HIGH_LEVEL = 0.2, 0.8  # excursion fractions whose crossings are fitted
# Minimum-jerk progress u at which the profile reaches 20% / 80% of its excursion.
_U_LOW, _U_HIGH = 0.3265979378414098, 0.6734020621585904

REP_BOUNDARIES = {
    "rep": pl.Int32,
    "t_start_s": pl.Float64,
    "t_bottom_s": pl.Float64,
    "t_end_s": pl.Float64,
    "eccentric_s": pl.Float64,
    "bottom_pause_s": pl.Float64,
    "concentric_s": pl.Float64,
    "top_pause_s": pl.Float64,
    "duration_s": pl.Float64,
    "peak_hinge_velocity_deg_s": pl.Float64,
}


def segment_reps(
    t_s: np.ndarray,
    hinge_deg: np.ndarray,
    min_prominence_deg: float = MIN_PROMINENCE_DEG,
    min_rep_s: float = MIN_REP_S,
) -> pl.DataFrame:
    """Rep boundaries and phase durations (seconds from the first sample), one row per rep.

    Parameters
    ----------
    t_s : sample times, s. hinge_deg : the hinge signal (flexion positive), already filtered.
    min_prominence_deg : smallest rep excursion counted. min_rep_s : shortest rep spacing.

    Returns
    -------
    A table with ``REP_BOUNDARIES`` columns. ``t_bottom_s`` is the deepest point of the rep.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(hinge_deg, dtype=np.float64)
    finite = np.isfinite(x)
    if finite.sum() < 10:
        return pl.DataFrame(schema=REP_BOUNDARIES)
    x = np.interp(np.arange(len(x)), np.flatnonzero(finite), x[finite])
    top, bottom = np.percentile(x, [2, 99])
    span = bottom - top
    if span < MIN_RANGE_DEG:
        return pl.DataFrame(schema=REP_BOUNDARIES)
    rate = (len(t_s) - 1) / (t_s[-1] - t_s[0])
    velocity = np.gradient(x, t_s)
    peaks, props = find_peaks(
        x,
        prominence=max(min_prominence_deg, PROMINENCE_FRACTION * span),
        distance=max(1, int(min_rep_s * rate)),
    )
    # Boundaries of the region each peak owns: the lowest point between neighbouring peaks.
    valleys = [0] + [int(a + np.argmin(x[a : b + 1])) for a, b in zip(peaks[:-1], peaks[1:], strict=True)]
    valleys.append(len(x) - 1)
    rows = []
    previous_end_t = t_s[0]
    for k, peak in enumerate(peaks):
        lo, hi = valleys[k], valleys[k + 1]
        ecc = _phase(t_s, x, lo, peak, rising=True)
        con = _phase(t_s, x, peak, hi, rising=False)
        start = float(np.clip(ecc[0], max(previous_end_t, t_s[lo]), ecc[2]))
        end = float(np.clip(con[1], con[2], t_s[hi]))
        bottom_in = float(np.clip(ecc[1], ecc[3], t_s[peak]))
        bottom_out = float(np.clip(con[0], t_s[peak], con[3]))
        inside = (t_s >= start) & (t_s <= end)
        rows.append(
            {
                "rep": k + 1,
                "t_start_s": start,
                "t_bottom_s": float(t_s[peak]),
                "t_end_s": end,
                "eccentric_s": bottom_in - start,
                "bottom_pause_s": bottom_out - bottom_in,
                "concentric_s": end - bottom_out,
                "top_pause_s": None,
                "duration_s": end - start,
                "peak_hinge_velocity_deg_s": float(np.abs(velocity[inside]).max()) if inside.any() else None,
            }
        )
        if k > 0:
            rows[k - 1]["top_pause_s"] = max(start - rows[k - 1]["t_end_s"], 0.0)
        previous_end_t = end
    return pl.DataFrame(rows, schema=REP_BOUNDARIES)


def _crossing(t_s: np.ndarray, x: np.ndarray, a: int, b: int, level: float, rising: bool) -> float:
    """Time (linearly interpolated) the monotone-ish phase x[a..b] crosses ``level``.

    Rising: the last upward crossing before b; falling: the first downward crossing after a.
    """
    seg = x[a : b + 1]
    if rising:
        below = np.flatnonzero(seg < level)
        i = a + (below[-1] if len(below) else 0)
    else:
        above = np.flatnonzero(seg < level)
        i = a + (above[0] - 1 if len(above) else len(seg) - 2)
    i = int(np.clip(i, a, max(b - 1, a)))
    x0, x1 = x[i], x[i + 1] if i + 1 < len(x) else x[i]
    frac = 0.0 if x1 == x0 else float(np.clip((level - x0) / (x1 - x0), 0.0, 1.0))
    return float(t_s[i] + frac * ((t_s[i + 1] if i + 1 < len(t_s) else t_s[i]) - t_s[i]))


def _phase(t_s: np.ndarray, x: np.ndarray, a: int, b: int, rising: bool) -> tuple[float, float, float, float]:
    """Minimum-jerk fit of one phase: (t_begin, t_finish, t_low_crossing, t_high_crossing).

    Rising phases go from the top (x[a] region) up to the peak b; falling from peak a to the top.
    Crossing levels are taken from that phase's own excursion.
    """
    if rising:
        base, peak = x[a : b + 1].min(), x[b]
    else:
        base, peak = x[a : b + 1].min(), x[a]
    exc = peak - base
    t_lo = _crossing(t_s, x, a, b, base + LOW_LEVEL * exc, rising)
    t_hi = _crossing(t_s, x, a, b, base + HIGH_LEVEL * exc, rising)
    if rising:
        duration = max(t_hi - t_lo, 0.0) / (_U_HIGH - _U_LOW)
        return t_lo - _U_LOW * duration, t_lo + (1 - _U_LOW) * duration, t_lo, t_hi
    duration = max(t_lo - t_hi, 0.0) / (_U_HIGH - _U_LOW)
    return t_hi - _U_LOW * duration, t_hi + (1 - _U_LOW) * duration, t_lo, t_hi
