"""Per-rep metrics from frame angles and rep boundaries (schema.REPS).

Peak = maximum over the rep; range = max - min over the rep; bottom = value at the hinge peak;
top trunk inclination = mean over the last 15% of the rep (lockout). Symmetry index
SI = 100 (L - R) / (0.5 (L + R)) on peak values, sign = left larger (SPEC.md; Robinson et al.,
J Manipulative Physiol Ther 1987).
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from hinge_analytics.schema import REP_METRIC_COLUMNS, REPS, conform

_ANGLE_KEYS = (
    "hip_flexion_left_deg",
    "hip_flexion_right_deg",
    "knee_flexion_left_deg",
    "knee_flexion_right_deg",
    "ankle_dorsiflexion_left_deg",
    "ankle_dorsiflexion_right_deg",
    "trunk_inclination_deg",
    "thoracic_flexion_deg",
    "lumbar_flexion_deg",
    "upper_back_rounding_deg",
)
LOW_CONFIDENCE = 0.5


def symmetry_index(left: float, right: float) -> float:
    """SI (%) = 100 (L - R) / (0.5 (L + R)); NaN when undefined."""
    mean = 0.5 * (left + right)
    if not np.isfinite(mean) or abs(mean) < 1e-6:
        return float("nan")
    return 100.0 * (left - right) / mean


def _stat(fn, values: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(fn(values)) if len(values) else float("nan")


def rep_metrics(angles: pl.DataFrame, boundaries: pl.DataFrame) -> pl.DataFrame:
    """One row per rep: boundaries plus every metric of schema.REP_METRIC_COLUMNS."""
    t = angles["t_s"].to_numpy()
    series = {
        k: angles[k].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if k in angles.columns
        else np.full(len(t), np.nan)
        for k in (*_ANGLE_KEYS, "hip_travel_leg_lengths", "confidence")
    }
    rows = []
    for rep in boundaries.iter_rows(named=True):
        inside = (t >= rep["t_start_s"]) & (t <= rep["t_end_s"])
        bottom = int(np.argmin(np.abs(t - rep["t_bottom_s"])))
        row = dict(rep)
        for k in _ANGLE_KEYS:
            v = series[k][inside]
            row[f"peak_{k}"] = _stat(np.nanmax, v)
            row[f"range_{k}"] = _stat(np.nanmax, v) - _stat(np.nanmin, v)
            row[f"bottom_{k}"] = float(series[k][bottom])
        hip = (series["hip_flexion_left_deg"] + series["hip_flexion_right_deg"]) / 2
        row["peak_hip_flexion_deg"] = _stat(np.nanmax, hip[inside])
        trunk = series["trunk_inclination_deg"][inside]
        row["min_trunk_inclination_deg"] = _stat(np.nanmin, trunk)
        row["min_lumbar_flexion_deg"] = _stat(np.nanmin, series["lumbar_flexion_deg"][inside])
        tail = trunk[int(0.85 * len(trunk)) :]
        row["top_trunk_inclination_deg"] = _stat(np.nanmean, tail)
        travel = series["hip_travel_leg_lengths"]
        row["bottom_hip_travel_leg_lengths"] = float(travel[bottom])
        row["peak_hip_travel_leg_lengths"] = _stat(np.nanmax, travel[inside])
        knee_bottom = (
            np.nanmean([row["bottom_knee_flexion_left_deg"], row["bottom_knee_flexion_right_deg"]])
            if np.isfinite([row["bottom_knee_flexion_left_deg"], row["bottom_knee_flexion_right_deg"]]).any()
            else np.nan
        )
        hip_bottom = float(hip[bottom])
        row["knee_to_hip_ratio"] = knee_bottom / hip_bottom if abs(hip_bottom) > 1 else float("nan")
        row["si_hip_flexion_pct"] = symmetry_index(
            row["peak_hip_flexion_left_deg"], row["peak_hip_flexion_right_deg"]
        )
        row["si_knee_flexion_pct"] = symmetry_index(
            row["peak_knee_flexion_left_deg"], row["peak_knee_flexion_right_deg"]
        )
        row["low_confidence_fraction"] = _stat(np.mean, series["confidence"][inside] < LOW_CONFIDENCE)
        rows.append(row)
    schema = {k: v for k, v in REPS.items() if k not in ("recording_id", "ingest_id", "pipeline_version")}
    if not rows:
        return pl.DataFrame(schema=schema)
    return conform(pl.DataFrame(rows).fill_nan(None), schema)


__all__ = ["rep_metrics", "symmetry_index", "REP_METRIC_COLUMNS"]
