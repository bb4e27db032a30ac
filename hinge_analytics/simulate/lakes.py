"""Simulated lakes with known truth, for training the shipped model, benchmarks and tests.

- `build_lake`: a simulated team in every format, all six exercises, plus copies of the all-sensor
  IMU recordings with fewer sensors (files of the other placements left out), so one lake scores
  every modality and sensor subset on the same athletes and reps; ingested like any batch.
- `synthetic_reps` / `write_rep_rows`: rep-level rows written straight into a lake, without
  recordings, for tests and benchmarks of the analytics (``bench/aggregate.py``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.jobs.ingest import ingest_chunk
from hinge_analytics.lake import Lake
from hinge_analytics.schema import BODY_PLACEMENTS, EXERCISES, LABELS
from hinge_analytics.simulate.team import SUPPORTED_FORMATS, simulate_team

# Sensor subsets a coach is likely to own, by name -> placements.
IMU_SUBSETS: dict[str, tuple[str, ...]] = {
    "trunk3": ("upper_back", "lower_back", "sacrum"),
    "back2": ("upper_back", "lower_back"),
    "lower_back": ("lower_back",),
    "sacrum_thighs": ("sacrum", "thigh_left", "thigh_right"),
}


def add_sensor_subsets(manifest_path: Path, subsets: dict[str, tuple[str, ...]] = IMU_SUBSETS) -> None:
    """Append to the manifest and labels, for each all-seven-sensor IMU recording, one copy per
    subset holding only that subset's sensor files (recording_id suffixed ``~<subset>``)."""
    root = manifest_path.parent
    manifest = pl.read_csv(manifest_path, infer_schema_length=None)
    labels = pl.read_csv(root / "rep_labels.csv")
    new_rows, new_labels = [], []
    for row in manifest.filter(pl.col("format") == "imu_csv").iter_rows(named=True):
        folder = root / row["path"]
        files = {f.stem: f for f in folder.glob("*.csv")} if folder.is_dir() else {}
        if set(files) != set(BODY_PLACEMENTS):
            continue
        for name, placements in subsets.items():
            rid = f"{row['recording_id']}~{name}"
            target = folder.parent / f"{folder.name}~{name}"
            target.mkdir(parents=True, exist_ok=True)
            for p in placements:
                shutil.copy2(files[p], target / files[p].name)
            new_rows.append({**row, "recording_id": rid, "path": str(Path(row["path"]).parent / target.name)})
            new_labels.append(
                labels.filter(pl.col("recording_id") == row["recording_id"]).with_columns(
                    recording_id=pl.lit(rid)
                )
            )
    if new_rows:
        pl.concat([manifest, pl.DataFrame(new_rows, schema=manifest.schema)]).write_csv(manifest_path)
        pl.concat([labels, *new_labels]).write_csv(root / "rep_labels.csv")


def build_lake(
    out_dir: Path,
    athletes: int,
    sessions: int,
    seed: int,
    formats: tuple[str, ...] = SUPPORTED_FORMATS,
    exercises: tuple[str, ...] = EXERCISES,
    subsets: dict[str, tuple[str, ...]] | None = IMU_SUBSETS,
    all_sensors_share: float = 0.5,
) -> tuple[Lake, Path]:
    """Simulate, add sensor subsets, ingest; returns (lake, labels file)."""
    manifest = simulate_team(
        out_dir / "data",
        athletes=athletes,
        sessions=sessions,
        formats=formats,
        exercises=exercises,
        seed=seed,
        all_sensors_share=all_sensors_share,
    )
    if subsets and "imu_csv" in formats:
        add_sensor_subsets(manifest, subsets)
    lake = Lake(out_dir / "lake")
    lake.create()
    rows, _ = read_manifest(manifest)
    ingest_chunk(lake, rows)
    return lake, manifest.parent / "rep_labels.csv"


START = dt.date(2024, 1, 1)  # a Monday
RECORDING_FIELDS = ("athlete_id", "session_date", "exercise", "side", "load_kg", "set_number")


def write_rep_rows(lake: Lake, reps: pl.DataFrame, ingest_id: str = "synthetic") -> None:
    """Write one row per rep (recording metadata + rep metrics + label/cue/confidence) as the
    ``recordings``, ``reps`` and ``predictions`` tables of ``lake`` (appended, one commit each)."""
    lake.create()
    # Unless the rows say otherwise, markers triangulated from several cameras: both legs measured.
    source = {"modality": "pose", "format": "trc", "sensors": "world_m"}
    reps = reps.with_columns(
        ingest_id=pl.lit(ingest_id),
        pipeline_version=pl.lit("synthetic"),
        model_version=pl.lit("synthetic"),
        predicted_label=pl.col("label"),
        predicted_at=pl.lit(dt.datetime.now(dt.UTC)),
        **{k: pl.lit(v) for k, v in source.items() if k not in reps.columns},
    )
    recordings = reps.group_by("recording_id", maintain_order=True).agg(
        *(pl.first(c) for c in (*RECORDING_FIELDS, "ingest_id", "pipeline_version", *source)),
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
