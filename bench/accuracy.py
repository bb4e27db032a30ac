"""Accuracy of reps and peak angles against the simulator's ground truth.

Simulates a team doing every exercise in the given formats (noise on), runs each recording
through the steps of ``hinge_analytics.pipeline.process_recording`` (read -> angles -> reps ->
metrics, with the manifest's exercise and side passed to the angles) and prints, per modality and
per exercise: rep count exact %, within +-1 %, median |boundary error| (start and end, s) and
the MAE of peak hip flexion, knee flexion (L, R) and trunk inclination against
``truth_reps.csv``. IMU sets are also simulated in memory (``simulate.imu``: random mountings,
12.5-100 Hz, half without quaternions) when no IMU file format is requested. Processing, matching
and scoring are ``bench/scoring.py``'s, shared with the randomised bench (bench/randomised.py).

    .venv/bin/python bench/accuracy.py [--athletes 6] [--sessions 2] [--seed 1] [--formats a,b]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from scoring import analyse, found_frame, process, with_modality
from scoring import summarise as summarise_by

from hinge_analytics.ingest.frames import imu_frames_from_arrays
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.schema import EXERCISES, IMU_FORMATS
from hinge_analytics.simulate import team

# The columns this bench has always printed (scoring.summarise computes a few more).
COLUMNS = (
    "modality",
    "exercise",
    "sets",
    "exact_pct",
    "within1_pct",
    "start_err_s",
    "end_err_s",
    "start_bias_s",
    "mae_hip",
    "mae_knee_left",
    "mae_knee_right",
    "mae_trunk",
)


def run(
    athletes: int, sessions: int, seed: int, formats: tuple[str, ...] = ("mediapipe_csv",)
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Found reps (one row per rep, or an empty row for a set without reps) and the truth."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = team.simulate_team(
            Path(tmp), athletes=athletes, sessions=sessions, formats=formats, exercises=EXERCISES, seed=seed
        )
        truth = pl.read_csv(Path(tmp) / "truth_reps.csv")
        rows, rejected = read_manifest(manifest)
        assert not rejected, rejected
        found = []
        for row in rows:
            fmt, reps, refused = analyse(row)
            found.append(
                found_frame(row.recording_id, reps, exercise=row.exercise, format=fmt, refused=refused)
            )
    return pl.concat(found, how="diagonal_relaxed"), truth


def run_imu_in_memory(sets_per_exercise: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """IMU sets straight from the simulator's in-memory API (no file format needed)."""
    from hinge_analytics.simulate.body import Anthropometry, forward_kinematics
    from hinge_analytics.simulate.imu import imu_signals
    from hinge_analytics.simulate.motion import SetPlan, simulate_set

    rng = np.random.default_rng(seed)
    athletes = team.make_athletes(max(4, sets_per_exercise), rng)
    found, truth = [], []
    for exercise in EXERCISES:
        for k in range(sets_per_exercise):
            athlete = athletes[k % len(athletes)]
            rate = float(rng.choice([12.5, 25.0, 60.0, 100.0]))
            quats = bool(rng.random() < 0.5)
            side = ("left", "right")[k % 2] if exercise == "single_leg_rdl" else None
            plan = SetPlan(
                exercise,
                team._plan_reps(athlete, int(rng.integers(5, 9)), 0, rng),
                stance_side=side,
                knee_asymmetry_deg=athlete.knee_asymmetry_deg,
                depth_scale=athlete.depth_scale,
            )
            t, pose, st = simulate_set(plan, rate, rng)
            body = Anthropometry(athlete.stature_m)
            rid = f"imu-{exercise}-{k}"
            rows = team.truth_from_points(
                forward_kinematics(pose, body), t, st.t_start_s, st.t_bottom_s, st.t_end_s, side, pose
            )
            truth += [{"recording_id": rid, "rep": i + 1, **r} for i, r in enumerate(rows)]
            sensors = {}
            for placement, s in imu_signals(t, pose, body, rng=rng).items():
                ch = {f"acc_{a}": s.acc[:, i] for i, a in enumerate("xyz")}
                ch |= {f"gyr_{a}": s.gyr[:, i] for i, a in enumerate("xyz")}
                if quats:
                    ch |= {f"quat_{a}": s.quat[:, i] for i, a in enumerate("wxyz")}
                sensors[placement] = ch
            reps = process(imu_frames_from_arrays(sensors, t), exercise, side)
            found.append(found_frame(rid, reps, exercise=exercise, format="imu_csv"))
    return pl.concat(found, how="diagonal_relaxed"), pl.DataFrame(truth)


def summarise(found: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per modality and exercise, then per modality over every exercise (``ALL``)."""
    table = summarise_by(with_modality(found), truth, ["modality", "exercise"], totals_within="modality")
    return table.select(COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athletes", type=int, default=6)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--formats", default=",".join(team.SUPPORTED_FORMATS), help="comma-separated simulator formats"
    )
    args = parser.parse_args()
    formats = tuple(f for f in args.formats.split(",") if f)
    found, truth = run(args.athletes, args.sessions, args.seed, formats)
    if not set(formats) & set(IMU_FORMATS):
        try:
            imu_found, imu_truth = run_imu_in_memory(2 * args.athletes * args.sessions, args.seed)
        except ImportError:  # a simulator without the IMU API
            imu_found, imu_truth = pl.DataFrame(), pl.DataFrame()
        found = pl.concat([found, imu_found], how="diagonal_relaxed")
        truth = pl.concat([truth, imu_truth], how="diagonal_relaxed")
    table = summarise(found, truth)
    with pl.Config(
        tbl_rows=100, tbl_cols=20, float_precision=2, tbl_width_chars=200, tbl_hide_dataframe_shape=True
    ):
        print(table)


if __name__ == "__main__":
    main()
