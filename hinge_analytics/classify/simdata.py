"""Simulated training/benchmark data for the classifier: a team in every format, all six exercises,
plus copies of the all-sensor IMU recordings with fewer sensors (files of the other placements left
out), so one lake scores every modality and sensor subset on the same athletes and reps."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import ingest_chunk
from hinge_analytics.schema import BODY_PLACEMENTS, EXERCISES
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
