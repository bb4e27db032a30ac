"""Rep-level rows written straight into a lake, without recordings: for tests and benchmarks of the
analytics (``bench/aggregate.py``). Real data comes in through ``hinge ingest``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import now_utc
from hinge_analytics.schema import LABELS

START = dt.date(2024, 1, 1)  # a Monday
RECORDING_FIELDS = ("athlete_id", "session_date", "exercise", "side", "load_kg", "set_number")


def write_rep_rows(lake: Lake, reps: pl.DataFrame, ingest_id: str = "synthetic") -> None:
    """Write one row per rep (recording metadata + rep metrics + label/cue/confidence) as the
    ``recordings``, ``reps`` and ``predictions`` tables of ``lake`` (appended, one commit each)."""
    lake.create()
    reps = reps.with_columns(
        ingest_id=pl.lit(ingest_id),
        pipeline_version=pl.lit("synthetic"),
        model_version=pl.lit("synthetic"),
        predicted_label=pl.col("label"),
        predicted_at=pl.lit(now_utc()),
        modality=pl.lit("pose"),
    )
    recordings = reps.group_by("recording_id", maintain_order=True).agg(
        *(pl.first(c) for c in (*RECORDING_FIELDS, "ingest_id", "pipeline_version", "modality")),
        n_reps=pl.len(),
    )
    lake.append("reps", reps)
    lake.append("predictions", reps)
    lake.append("recordings", recordings)


def synthetic_reps(
    n_reps: int,
    seed: int = 0,
    sessions: int = 52,
    exercises: tuple[str, ...] = ("deadlift", "romanian_deadlift"),
    sets: int = 3,
    reps_per_set: int = 6,
) -> pl.DataFrame:
    """About ``n_reps`` plausible rep rows for a team that trains weekly (vectorised numpy)."""
    rng = np.random.default_rng(seed)
    per_athlete = sessions * len(exercises) * sets * reps_per_set
    athletes = max(1, round(n_reps / per_athlete))
    n_rec = athletes * sessions * len(exercises) * sets
    athlete = np.repeat(np.arange(athletes), sessions * len(exercises) * sets)
    week = np.tile(np.repeat(np.arange(sessions), len(exercises) * sets), athletes)
    exercise = np.tile(np.repeat(np.arange(len(exercises)), sets), athletes * sessions)
    set_number = np.tile(np.arange(1, sets + 1), athletes * sessions * len(exercises))
    base_load = np.array([100.0, 70.0, 20.0, 24.0, 40.0, 90.0])[: len(exercises)][exercise]
    load = np.round(base_load * (1 + 0.02 * week) / 2.5) * 2.5
    dates = np.datetime64(START, "D") + (7 * week).astype("timedelta64[D]")
    rec_ids = np.char.add("R", np.arange(n_rec).astype(str))
    recordings = pl.DataFrame(
        {
            "recording_id": rec_ids,
            "athlete_id": np.char.add("A", athlete.astype(str)),
            "session_date": dates,
            "exercise": np.array(exercises)[exercise],
            "side": pl.Series([None] * n_rec, dtype=pl.String),
            "load_kg": load,
            "set_number": set_number.astype(np.int32),
        }
    )
    n = n_rec * reps_per_set
    knee = rng.normal(60, 20, n).clip(5, 130)
    asym = rng.normal(0, 2, n)
    labels = np.array(LABELS)[rng.choice(len(LABELS), n, p=[0.5] + [0.1] * (len(LABELS) - 1))]
    return (
        recordings.with_columns(rep=pl.lit(list(range(1, reps_per_set + 1)), dtype=pl.List(pl.Int32)))
        .explode("rep")
        .with_columns(
            label=labels,
            cue=pl.lit("Keep the chest up."),
            confidence=rng.uniform(0.5, 1, n),
            peak_hip_flexion_deg=rng.normal(90, 10, n),
            peak_hip_flexion_left_deg=rng.normal(90, 10, n),
            peak_hip_flexion_right_deg=rng.normal(90, 10, n),
            peak_knee_flexion_left_deg=knee + asym,
            peak_knee_flexion_right_deg=knee - asym,
            peak_ankle_dorsiflexion_left_deg=rng.normal(30, 5, n),
            peak_ankle_dorsiflexion_right_deg=rng.normal(30, 5, n),
            peak_trunk_inclination_deg=rng.normal(60, 10, n),
            peak_upper_back_rounding_deg=rng.normal(20, 4, n),
            knee_to_hip_ratio=rng.uniform(0.1, 1, n),
            duration_s=rng.uniform(2, 4, n),
            eccentric_s=rng.uniform(0.8, 1.6, n),
            bottom_pause_s=rng.uniform(0, 0.4, n),
            concentric_s=rng.uniform(0.6, 1.4, n),
            peak_hinge_velocity_deg_s=rng.normal(120, 20, n),
        )
    )
