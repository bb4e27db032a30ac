"""Accuracy of reps and peak angles against the simulator's ground truth.

Simulates a team doing every exercise in the given formats (noise on), runs each recording
through the steps of ``hinge_analytics.pipeline.process_recording`` (read -> angles -> reps ->
metrics, with the manifest's exercise and side passed to the angles) and prints, per modality and
per exercise: rep count exact %, within +-1 %, median |boundary error| (start and end, s) and
the MAE of peak hip flexion, knee flexion (L, R) and trunk inclination against
``truth_reps.csv``. IMU sets are also simulated in memory (``simulate.imu``: random mountings,
12.5-100 Hz, half without quaternions) when no IMU file format is requested.

    .venv/bin/python bench/accuracy.py [--athletes 6] [--sessions 2] [--seed 1] [--formats a,b]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.features.metrics import rep_metrics
from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import imu_frames_from_arrays
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.kinematics import angles_for
from hinge_analytics.reps.segmentation import segment_reps
from hinge_analytics.schema import EXERCISES, IMU_FORMATS
from hinge_analytics.simulate import team

PEAKS = (
    "peak_hip_flexion_deg",
    "peak_knee_flexion_left_deg",
    "peak_knee_flexion_right_deg",
    "peak_trunk_inclination_deg",
)


def process(read, exercise: str | None, side: str | None) -> pl.DataFrame:
    """angles -> reps -> metrics, as process_recording does."""
    angles = angles_for(read, exercise=exercise, side=side)
    bounds = segment_reps(angles["t_s"].to_numpy(), angles["hinge_deg"].to_numpy())
    return rep_metrics(angles, bounds, stance_side=side)


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
            try:
                fmt, read = read_recording(row.file, row.format, row.sample_rate_hz)
                reps = process(read, row.exercise, row.side).with_columns(
                    recording_id=pl.lit(row.recording_id)
                )
            except BadRecording:
                reps, fmt = pl.DataFrame({"recording_id": [row.recording_id]}), str(row.format)
            found.append(reps.with_columns(exercise=pl.lit(row.exercise), format=pl.lit(fmt)))
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
                forward_kinematics(pose, body), t, st.t_start_s, st.t_bottom_s, st.t_end_s, side
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
            found.append(
                reps.with_columns(
                    recording_id=pl.lit(rid), exercise=pl.lit(exercise), format=pl.lit("imu_csv")
                )
                if reps.height
                else pl.DataFrame({"recording_id": [rid], "exercise": [exercise], "format": ["imu_csv"]})
            )
    return pl.concat(found, how="diagonal_relaxed"), pl.DataFrame(truth)


def summarise(found: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    n_found = found.group_by("recording_id", "exercise", "format").agg(n=pl.col("rep").drop_nulls().len())
    n_true = truth.group_by("recording_id").agg(n_true=pl.len())
    counts = n_found.join(n_true, on="recording_id", how="left").with_columns(
        modality=pl.when(pl.col("format").is_in(list(IMU_FORMATS)))
        .then(pl.lit("imu"))
        .otherwise(pl.lit("pose"))
    )
    matched = _match(found, truth).join(counts.select("recording_id", "modality"), on="recording_id")
    out = []
    for (modality, exercise), c in sorted(
        counts.group_by("modality", "exercise"), key=lambda kv: (kv[0][0], kv[0][1])
    ) + [((m, "ALL"), counts.filter(pl.col("modality") == m)) for m in sorted(set(counts["modality"]))]:
        m = matched.filter(pl.col("modality") == modality)
        if exercise != "ALL":
            m = m.filter(pl.col("exercise") == exercise)
        diff = (c["n"] - c["n_true"]).abs()
        row = {
            "modality": modality,
            "exercise": exercise,
            "sets": c.height,
            "exact_pct": 100 * float((diff == 0).mean()),
            "within1_pct": 100 * float((diff <= 1).mean()),
            "start_err_s": float(m["err_start"].abs().median()) if m.height else float("nan"),
            "end_err_s": float(m["err_end"].abs().median()) if m.height else float("nan"),
            "start_bias_s": float(m["err_start"].median()) if m.height else float("nan"),
        }
        for p in PEAKS:
            short = (
                p.removeprefix("peak_")
                .removesuffix("_deg")
                .replace("_flexion", "")
                .replace("_inclination", "")
            )
            row[f"mae_{short}"] = float((m[p] - m[f"{p}_true"]).abs().mean()) if m.height else float("nan")
        out.append(row)
    return pl.DataFrame(out)


def _match(found: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Pair each true rep with the found rep whose bottom is nearest (within the true rep)."""
    rows = []
    found = found.filter(pl.col("rep").is_not_null())
    by_rec = {k[0]: g for k, g in found.group_by("recording_id")}
    for rec, tr in truth.group_by("recording_id"):
        f = by_rec.get(rec[0])
        if f is None:
            continue
        fb = f["t_bottom_s"].to_numpy()
        for t in tr.iter_rows(named=True):
            k = int(np.argmin(np.abs(fb - t["t_bottom_s"])))
            if not t["t_start_s"] <= fb[k] <= t["t_end_s"]:
                continue
            r = f.row(k, named=True)
            rows.append(
                {
                    "recording_id": rec[0],
                    "exercise": r["exercise"],
                    "err_start": r["t_start_s"] - t["t_start_s"],
                    "err_end": r["t_end_s"] - t["t_end_s"],
                    **{p: r[p] for p in PEAKS},
                    **{f"{p}_true": t[p] for p in PEAKS},
                }
            )
    return pl.DataFrame(rows)


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
