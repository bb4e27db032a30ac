"""Per-rep metrics from frame angles and rep boundaries (schema.REPS).

Peak = maximum over the rep; range = max - min over the rep; bottom = value at the deepest hinge
point (``t_bottom_s``); top trunk inclination = mean over the last 15% of the rep (lockout).
Peak hip and knee flexion are the exceptions, because the maximum of a measured curve selects
noise. Both are read over the rep's bottom phase, the frames where the hinge is within
``BOTTOM_PHASE`` of its excursion from its deepest point: hip flexion (the hinge itself) as the
vertex of a least-squares parabola through them (parabolic peak interpolation), knee flexion as
their median (a hinge, squat, lunge or thrust bends the knees most in its deepest phase, often on a
plateau). On randomised development sets (seed 7, bench/randomised.py's generator) the maximum read
above the true peak by +1.3 (TRC) to +2.8 deg (OpenPose) for the hip and +2.5 to +5.1 deg for the
knee; mean absolute errors hip 1.47 -> 0.91 deg (TRC) and 3.51 -> 2.48 deg (OpenPose), knee
2.71 -> 1.17 and 5.53 -> 2.48 deg. The spine's shape is also the bottom phase's median: lumbar and
thoracic flexion (IMUs: one segment's tilt against the one below) and pose's upper-back rounding
(the shoulder -> ear line against the hip -> shoulder line). A back sensor without a gyroscope
reads its tilt from gravity, and in a fast rep the segment's own acceleration tilts that by tens
of degrees at the turns; a pose's shoulder -> ear line is a few centimetres long, so its
landmarks' noise turns it by several degrees from frame to frame. A maximum picks either. Against
the simulator's spine (randomised seeds 0 and 61, IMU sets): lumbar MAE 2.39 -> 1.51 and
11.58 -> 1.14 deg, thoracic 7.22 -> 1.65 and 13.61 -> 1.17 deg; upper-back rounding (seed 0, 2D
formats) 7.8-9.9 -> 2.3-3.6 deg, from a bias of +8 to +10 deg to within 1.3 deg.
Hip flexion without a side is the mean of both sides (one side when the other is not seen); in
single-leg work it is the stance leg's, the hip that hinges (the free leg's hip barely flexes: the
thigh swings back with the trunk). Symmetry index
SI = 100 (L - R) / (0.5 (L + R)), sign = left larger (SPEC.md; Robinson et al., J Manipulative
Physiol Ther 1987), on peak values and on at-bottom values. Tempo (eccentric, bottom pause,
concentric, top pause, s) comes from the segmentation. Lockout relative to standing
(``min_<angle>_from_standing_deg``): the lowest trunk inclination, hip flexion and lumbar flexion
over the rep's lockout (`cycle.lockout_spans`: from its bottom until the next descent, since a
lean-back follows the return to standing; the lowest value held for ``LOCKOUT_HOLD_S``: a
lean-back is held for a while, a frame of estimator noise is not) minus their median over quiet
standing (``STANDING_S`` before the first rep or after the last, whichever lies nearer the reps'
starts). SPEC.md's `hyperextension` is leaning back past standing at lockout; measured against the
athlete's own standing it does not depend on camera roll or sensor mounting, and unlike a median
over the set's reps it is not absorbed when every rep leans back. Quality flags: fraction of the rep's frames
under ``LOW_CONFIDENCE`` and fraction without a hinge angle. The IMU descriptors and the relations
between sagittal angles of ``schema.REP_DESCRIPTOR_COLUMNS`` come from `descriptors.rep_descriptors`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.features.cycle import cycle_position, lockout_spans, rep_cycles, standing_times
from hinge_analytics.features.descriptors import DESCRIPTOR_INPUTS, rep_descriptors
from hinge_analytics.numeric import frame_with_nulls, nanmax, nanmean, nanmean_stack, nanmedian, nanmin
from hinge_analytics.reps.segmentation import HOLD_PHASE  # a held bottom (no single peak) is read there
from hinge_analytics.schema import REP_ANGLES, REP_METRIC_COLUMNS, REPS, STANDING_LOCKOUT_ANGLES

LOW_CONFIDENCE = 0.5
BOTTOM_PHASE = 0.9  # of the rep's hinge excursion: the frames at least this deep make its bottom phase
# Angles whose peak is their median over the bottom phase: the knees, and the spine's shape (IMU
# lumbar and thoracic flexion, pose upper-back rounding).
BOTTOM_PHASE_PEAKS = (
    "knee_flexion_left",
    "knee_flexion_right",
    "lumbar_flexion",
    "thoracic_flexion",
    "upper_back_rounding",
)
STANDING_S = (2.0, 0.2)  # quiet standing: 2 s to 0.2 s before the first rep or after the last
MIN_STANDING_FRAMES = 5
# A lockout's lowest value is the lowest it holds for this long: a lean-back is held for a while, a
# few frames of estimator noise are not. A duration, not a share of the lockout's span, which runs
# from the bottom to the next bottom: in slow sets without a pause at the top (7-s reps) the span's
# 5th percentile sat above a half-second lean-back. Randomised seed 5, single-leg RDL lean-backs
# past standing (IMU, median): -4.6 deg in the slower half of the sets, -9.2 in the faster; held
# for 0.1 s, -9.1 and -9.3.
LOCKOUT_HOLD_S = 0.1
# The reps' starts against quiet standing: a start more flexed than standing by more than this
# means the window held something else (the real squat dev set: 10-65 deg above it); a lockout
# leaning back starts the next rep leaning back, so the other way only a lean no lockout reaches
# (a window bent over the bar or the bell) refuses it.
START_ABOVE_STANDING_DEG = 10.0
START_BELOW_STANDING_DEG = 25.0


def standing_values(
    t: np.ndarray, series: dict[str, np.ndarray], boundaries: pl.DataFrame
) -> dict[str, float]:
    """Median of each series over quiet standing before the set's first rep or after its last
    (``STANDING_S``), whichever lies nearer the reps' standing moments (NaN when neither has
    ``MIN_STANDING_FRAMES`` frames).

    A rep starts from the top position (SPEC.md), so its value where it stands (its start, or its
    lockout for a rep cut from the floor: `cycle.standing_times`) must lie, as the reps' median,
    between ``START_BELOW_STANDING_DEG`` below the reference and ``START_ABOVE_STANDING_DEG`` above
    it; otherwise neither window held standing (the athlete walking up, bent over the bar, a sensor
    being strapped on) and the value is NaN rather than an offset. The band is wider behind standing
    because a set that leans back at every lockout starts every rep from the lean. Checked at the
    floor reps' starts, the set-up at the bar passed for standing: the real side-view deadlift rv02
    read a lean-back past standing of 118-130 deg at every lockout."""
    if boundaries.is_empty():
        return {}
    first, last = float(boundaries["t_start_s"].min()), float(boundaries["t_end_s"].max())
    before = (t >= first - STANDING_S[0]) & (t <= first - STANDING_S[1])
    after = (t >= last + STANDING_S[1]) & (t <= last + STANDING_S[0])
    starts = np.searchsorted(t, standing_times(boundaries)).clip(0, len(t) - 1)
    out = {}
    for name, values in series.items():
        windows = [values[w][np.isfinite(values[w])] for w in (before, after)]
        references = [float(np.median(w)) for w in windows if len(w) >= MIN_STANDING_FRAMES]
        at_start = values[starts][np.isfinite(values[starts])]
        if not references or not len(at_start):
            out[name] = references[0] if references else float("nan")
            continue
        start = float(np.median(at_start))
        reference = min(references, key=lambda r: abs(start - r))
        fits = -START_BELOW_STANDING_DEG <= start - reference <= START_ABOVE_STANDING_DEG
        out[name] = reference if fits else float("nan")
    return out


def symmetry_index(left: float, right: float) -> float:
    """SI (%) = 100 (L - R) / (0.5 (L + R)); NaN when undefined."""
    mean = 0.5 * (left + right)
    if not np.isfinite(mean) or abs(mean) < 1e-6:
        return float("nan")
    return 100.0 * (left - right) / mean


def bottom_phase(hinge: np.ndarray, phase: float = BOTTOM_PHASE) -> np.ndarray:
    """The frames of a rep whose hinge is within ``1 - phase`` of its excursion from the deepest
    point (none when the rep has no hinge angle: reps cut on a load sensor)."""
    if not np.isfinite(hinge).any():
        return np.zeros(len(hinge), dtype=bool)
    low, high = np.nanmin(hinge), np.nanmax(hinge)
    with np.errstate(invalid="ignore"):
        return hinge >= low + phase * (high - low)


def _vertex(t: np.ndarray, values: np.ndarray, fallback: float, held: np.ndarray) -> float:
    """The peak of ``values`` over time ``t`` as the vertex of their least-squares parabola,
    clipped to their range; a parabola opening upwards (no single peak: a held bottom, whose
    curvature is the noise's) gives the median of ``held`` (the hold's frames, `HOLD_PHASE`), since
    the maximum is the noisiest frame of the hold; ``fallback`` without three finite values."""
    ok = np.isfinite(values)
    if ok.sum() < 3:
        return fallback
    x, y = t[ok] - t[ok].mean(), values[ok]
    a, b, c = np.polyfit(x, y, 2)
    if a >= 0:
        return float(nanmedian(held)) if np.isfinite(held).any() else float(np.median(y))
    top = np.clip(-b / (2 * a), x.min(), x.max())
    return float(np.clip(a * top**2 + b * top + c, y.min(), y.max()))


def _held_low(values: np.ndarray, frames: int) -> float:
    """The ``frames``-th lowest of ``values`` (their highest when there are fewer; NaN for none)."""
    if not len(values):
        return float("nan")
    k = min(frames, len(values)) - 1
    return float(np.partition(values, k)[k])


def _stat(fn, values: np.ndarray) -> float:
    return float(fn(values)) if len(values) else float("nan")


def rep_metrics(
    angles: pl.DataFrame, boundaries: pl.DataFrame, stance_side: str | None = None
) -> pl.DataFrame:
    """One row per rep: boundaries plus every metric of schema.REP_METRIC_COLUMNS.

    ``stance_side`` (single-leg work, the manifest's ``side``): side-less hip and knee values are
    the stance leg's, since the free leg's say nothing about the hinge; bilateral work takes the
    mean of both sides, or the side that is seen."""
    t = angles["t_s"].to_numpy()
    keys = (*REP_ANGLES, "hip_travel_leg_lengths", "confidence", "hinge_deg")
    inputs = [k for k in DESCRIPTOR_INPUTS if k not in keys]
    # Absent columns broadcast to the frame's height (a select of literals alone is one row).
    angles = angles.with_columns(
        [pl.lit(np.nan, pl.Float64).alias(k) for k in (*keys, *inputs) if k not in angles.columns]
    )
    every = angles.select([pl.col(k).cast(pl.Float64) for k in keys]).to_numpy()  # null -> NaN
    series = {k: every[:, j] for j, k in enumerate(keys)}
    described = angles.select([pl.col(k).cast(pl.Float64) for k in inputs]).to_numpy()
    series |= {k: described[:, j] for j, k in enumerate(inputs)}
    if stance_side in ("left", "right"):
        stance = ("left", "right").index(stance_side)

        def both_sides(pair: list[np.ndarray]) -> np.ndarray:
            return pair[stance]
    else:
        both_sides = nanmean_stack
    hip = both_sides([series["hip_flexion_left_deg"], series["hip_flexion_right_deg"]])
    shank = both_sides([series["ankle_dorsiflexion_left_deg"], series["ankle_dorsiflexion_right_deg"]])
    every_angle = every[:, : len(REP_ANGLES)]  # keys start with the angles
    lockout_series = {a: hip if a == "hip_flexion" else series[f"{a}_deg"] for a in STANDING_LOCKOUT_ANGLES}
    standing = standing_values(t, lockout_series, boundaries)
    rows = []
    pivot, length, offset = rep_cycles(boundaries)
    lockout_from, lockout_to = lockout_spans(boundaries)
    held = max(1, int(np.ceil(LOCKOUT_HOLD_S / float(np.median(np.diff(t)))))) if len(t) > 1 else 1
    for i, rep in enumerate(boundaries.iter_rows(named=True)):
        # The rep's frames in cycle order (`features.cycle`), and their times along it.
        frames = np.flatnonzero((t >= rep["t_start_s"]) & (t <= rep["t_end_s"]))
        if not len(frames):
            frames = np.array([int(np.argmin(np.abs(t - rep["t_bottom_s"])))])
        position = cycle_position(t[frames], rep["t_start_s"], rep["t_end_s"], pivot[i], length[i], offset[i])
        order = np.argsort(position, kind="stable")
        frames = frames[order]
        times = position[order] * length[i] if length[i] > 0 else t[frames]  # a rep of one instant
        bottom = int(np.argmin(np.abs(t - rep["t_bottom_s"])))
        row = dict(rep)
        highest = nanmax(every_angle[frames])  # NaN for an angle the recording lacks
        lowest = nanmin(every_angle[frames])
        for j, k in enumerate(REP_ANGLES):
            row[f"peak_{k}"] = float(highest[j])
            row[f"range_{k}"] = float(highest[j] - lowest[j])
            row[f"bottom_{k}"] = float(every_angle[bottom, j])
        deep = bottom_phase(series["hinge_deg"][frames])
        hold = bottom_phase(series["hinge_deg"][frames], HOLD_PHASE)
        t_deep = times[deep]
        hip_max = _stat(nanmax, hip[frames])
        row["range_hip_flexion_deg"] = hip_max - _stat(nanmin, hip[frames])
        row["peak_hip_flexion_deg"] = _vertex(t_deep, hip[frames][deep], hip_max, hip[frames][hold])
        for side in ("left", "right"):
            hip_side = series[f"hip_flexion_{side}_deg"][frames]
            row[f"peak_hip_flexion_{side}_deg"] = _vertex(
                t_deep, hip_side[deep], row[f"peak_hip_flexion_{side}_deg"], hip_side[hold]
            )
        for angle in BOTTOM_PHASE_PEAKS:
            deepest = series[f"{angle}_deg"][frames][deep]
            if np.isfinite(deepest).any():
                row[f"peak_{angle}_deg"] = float(np.nanmedian(deepest))
        row["bottom_hip_flexion_deg"] = float(hip[bottom])
        trunk = series["trunk_inclination_deg"][frames]
        row["min_trunk_inclination_deg"] = _stat(nanmin, trunk)
        row["min_lumbar_flexion_deg"] = _stat(nanmin, series["lumbar_flexion_deg"][frames])
        at_lockout = (t >= lockout_from[i]) & (t <= lockout_to[i])
        for a, values in lockout_series.items():
            window = values[at_lockout]
            seen = window[np.isfinite(window)]
            row[f"min_{a}_from_standing_deg"] = _held_low(seen, held) - standing[a]
        tail = trunk[int(0.85 * len(trunk)) :]
        row["top_trunk_inclination_deg"] = _stat(nanmean, tail)
        travel = series["hip_travel_leg_lengths"]
        row["bottom_hip_travel_leg_lengths"] = float(travel[bottom])
        row["peak_hip_travel_leg_lengths"] = _stat(nanmax, travel[frames])
        knee_bottom = float(
            both_sides([np.array([row[f"bottom_knee_flexion_{s}_deg"]]) for s in ("left", "right")])[0]
        )
        hip_bottom = row["bottom_hip_flexion_deg"]
        row["knee_to_hip_ratio"] = (
            knee_bottom / hip_bottom if np.isfinite(hip_bottom) and abs(hip_bottom) > 1 else float("nan")
        )
        for joint in ("hip", "knee"):
            for kind, suffix in (("peak", ""), ("bottom", "_bottom")):
                row[f"si_{joint}_flexion{suffix}_pct"] = symmetry_index(
                    row[f"{kind}_{joint}_flexion_left_deg"], row[f"{kind}_{joint}_flexion_right_deg"]
                )
        row["low_confidence_fraction"] = _stat(
            np.mean, np.nan_to_num(series["confidence"][frames], nan=0.0) < LOW_CONFIDENCE
        )
        row["missing_fraction"] = _stat(np.mean, ~np.isfinite(series["hinge_deg"][frames]))
        # a first pull's cycle starts halfway: only its end stands
        row.update(rep_descriptors(times, series, frames, bottom, shank, opens_standing=offset[i] == 0))
        rows.append(row)
    schema = {k: v for k, v in REPS.items() if k not in ("recording_id", "ingest_id", "pipeline_version")}
    if not rows:
        return pl.DataFrame(schema=schema)
    return frame_with_nulls({name: [row.get(name) for row in rows] for name in schema}, schema)


__all__ = ["rep_metrics", "symmetry_index", "REP_METRIC_COLUMNS"]
