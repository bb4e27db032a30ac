"""Simulate a team: athletes with traits, weekly sessions, load progression, labelled reps, truth.

Writes a batch exactly as a coach would bring it (recordings + ``manifest.csv``) plus the coach's
``rep_labels.csv`` and the simulator's ``truth_reps.csv`` (SPEC.md ``hinge simulate``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.features.metrics import bottom_phase
from hinge_analytics.schema import BODY_PLACEMENTS, EXERCISES, FORMATS, LABELS, TRUTH_REPS, conform
from hinge_analytics.simulate import imu, writers
from hinge_analytics.simulate.body import (
    Anthropometry,
    Pose,
    forward_kinematics,
    rotate_heading,
    sagittal_tilt_deg,
)
from hinge_analytics.simulate.camera import random_side_camera
from hinge_analytics.simulate.motion import EXERCISE_PROFILES, RepPlan, SetPlan, simulate_set
from hinge_analytics.simulate.writers import add_pose_noise, write_mediapipe_csv

MISTAKES = tuple(label for label in LABELS if label != "good")
SUPPORTED_FORMATS: tuple[str, ...] = FORMATS
# The library default stays the two barbell hinges the shared test fixtures were built on; the CLI
# (`hinge simulate --exercises all`) simulates all six.
DEFAULT_EXERCISES: tuple[str, ...] = ("romanian_deadlift", "deadlift")
START_DATE = dt.date(2026, 9, 7)  # a Monday
BASE_LOAD_KG = {
    "deadlift": 100.0,
    "romanian_deadlift": 70.0,
    "single_leg_rdl": 20.0,
    "kettlebell_swing": 24.0,
    "good_morning": 40.0,
    "hip_thrust": 90.0,
}


@dataclass(frozen=True)
class Athlete:
    athlete_id: str
    stature_m: float
    habitual_mistake: str
    mistake_rate: float  # probability that a fresh rep is faulty
    knee_asymmetry_deg: float  # left knee bends this much more than the right
    depth_scale: float
    too_heavy_too_soon: bool  # load climbs fast while form falls


def make_athletes(n: int, rng: np.random.Generator) -> list[Athlete]:
    athletes = []
    for i in range(n):
        athletes.append(
            Athlete(
                athlete_id=f"A{i + 1:03d}",
                stature_m=float(rng.uniform(1.50, 2.00)),
                habitual_mistake=str(rng.choice(MISTAKES)),
                mistake_rate=float(rng.uniform(0.35, 0.6)),
                # One athlete in four has a clear asymmetry (|SI| well over 10%).
                knee_asymmetry_deg=float(rng.choice([-1, 1]) * rng.uniform(8, 14))
                if i % 4 == 1
                else float(rng.normal(0, 1.0)),
                depth_scale=float(rng.uniform(0.9, 1.08)),
                too_heavy_too_soon=(i % 4 == 2),
            )
        )
    return athletes


def _plan_reps(athlete: Athlete, n_reps: int, week: int, rng: np.random.Generator) -> list[RepPlan]:
    """Labels for one set: mistakes grow with fatigue (later reps) and, for athletes who go too
    heavy too soon, with the weeks."""
    reps = []
    for k in range(n_reps):
        fatigue = 0.25 * k / max(n_reps - 1, 1)
        overload = 0.08 * week if athlete.too_heavy_too_soon else 0.0
        p_mistake = min(athlete.mistake_rate + fatigue + overload, 0.95)
        if rng.random() < p_mistake:
            habitual = rng.random() < 0.5
            label = athlete.habitual_mistake if habitual else str(rng.choice(MISTAKES))
            severity = float(np.clip(rng.uniform(0.3, 0.9) + 0.4 * fatigue, 0.3, 1.0))
            reps.append(RepPlan(label, severity))
        else:
            reps.append(RepPlan("good", 0.0))
    return reps


def truth_from_points(
    points: dict[str, np.ndarray],
    time_s: np.ndarray,
    starts,
    bottoms,
    ends,
    stance_side: str | None = None,
    pose: Pose | None = None,
) -> list[dict]:
    """Per-rep truth measured on the noise-free body-frame landmarks (SPEC.md angle definitions).

    Hip flexion is the mean of both hips, or the stance hip's in single-leg work (``stance_side``);
    upper-back rounding is pose's proxy (shoulder -> ear line against hip -> shoulder), read over the
    rep's bottom phase as the product reads it (the median over `features.metrics.bottom_phase`):
    a lifter who looks ahead holds the ear line at its most flexed while standing, so a maximum over
    the rep would be the standing head, not the back at the bottom. With the
    ``pose`` the points come from, also the spine's peak lumbar and thoracic flexion (each segment's
    tilt relative to the one below it, minus standing: what sensors on the sacrum, lower and upper
    back measure); landmarks have no spine points.
    """
    hip_c = (points["hip_left"] + points["hip_right"]) / 2
    sho_c = (points["shoulder_left"] + points["shoulder_right"]) / 2
    trunk = sagittal_tilt_deg(hip_c, sho_c)
    ear_c = (points["ear_left"] + points["ear_right"]) / 2
    rounding = sagittal_tilt_deg(sho_c, ear_c) - trunk
    knee, hip = {}, {}
    for side in ("left", "right"):
        thigh = sagittal_tilt_deg(points[f"knee_{side}"], points[f"hip_{side}"])
        shank = sagittal_tilt_deg(points[f"ankle_{side}"], points[f"knee_{side}"])
        knee[side] = shank - thigh
        hip[side] = trunk - thigh
    hinge = hip[stance_side] if stance_side in ("left", "right") else (hip["left"] + hip["right"]) / 2
    rows = []
    for t0, tb, t1 in zip(starts, bottoms, ends, strict=True):
        inside = (time_s >= t0) & (time_s <= t1)
        rows.append(
            {
                "t_start_s": t0,
                "t_bottom_s": tb,
                "t_end_s": t1,
                "peak_hip_flexion_deg": float(np.max(hinge[inside])),
                "peak_knee_flexion_left_deg": float(np.max(knee["left"][inside])),
                "peak_knee_flexion_right_deg": float(np.max(knee["right"][inside])),
                "peak_trunk_inclination_deg": float(np.max(trunk[inside])),
                "peak_upper_back_rounding_deg": float(
                    np.median(rounding[inside][bottom_phase(hinge[inside])])
                ),
            }
        )
        if pose is not None:
            rows[-1]["peak_lumbar_flexion_deg"] = float(np.max(pose.lumbar_flexion[inside]))
            rows[-1]["peak_thoracic_flexion_deg"] = float(np.max(pose.thoracic_flexion[inside]))
    return rows


def simulate_team(
    out_dir: Path,
    athletes: int = 4,
    sessions: int = 3,
    formats: tuple[str, ...] = ("mediapipe_csv",),
    exercises: tuple[str, ...] = DEFAULT_EXERCISES,
    sets_per_exercise: int = 2,
    seed: int = 0,
    bad: int = 0,
    all_sensors_share: float = 0.5,
) -> Path:
    """Write a simulated batch into ``out_dir``; returns the manifest path.

    Also writes ``rep_labels.csv`` (the coach's labels), ``truth_reps.csv`` (schema.TRUTH_REPS),
    ``athletes.csv`` (each athlete's planted traits) and, with ``bad`` > 0, bad inputs listed in
    ``bad_files.csv`` (see ``simulate.bad``). Each recording's format is drawn from ``formats``.
    An IMU recording carries all seven sensors with probability ``all_sensors_share``, else a
    random subset of two to six.
    """
    unknown = set(formats) - set(SUPPORTED_FORMATS)
    if unknown:
        raise ValueError(f"the simulator cannot write {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    if not formats:
        raise ValueError("choose at least one format")
    bad_exercises = set(exercises) - set(EXERCISES)
    if bad_exercises:
        raise ValueError(f"unknown exercise(s) {sorted(bad_exercises)}; choose from {', '.join(EXERCISES)}")
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest, labels, truth = [], [], []
    team = make_athletes(athletes, rng)
    format_cycle: list[str] = []  # shuffled blocks of every format: each appears once per block
    for athlete in team:
        body = Anthropometry(athlete.stature_m)
        for week in range(sessions):
            date = START_DATE + dt.timedelta(weeks=week)
            growth = 0.10 if athlete.too_heavy_too_soon else 0.025
            for exercise in exercises:
                load = round(BASE_LOAD_KG[exercise] * (1 + growth * week) / 2.5) * 2.5
                for set_number in range(1, sets_per_exercise + 1):
                    if not format_cycle:
                        format_cycle = [formats[i] for i in rng.permutation(len(formats))]
                    fmt = format_cycle.pop()
                    recording_id = f"{athlete.athlete_id}-{date:%Y%m%d}-{exercise}-s{set_number}"
                    side = None
                    if exercise == "single_leg_rdl":
                        side = "left" if set_number % 2 else "right"
                    plan = SetPlan(
                        exercise=exercise,
                        reps=_plan_reps(athlete, int(rng.integers(5, 9)), week, rng),
                        stance_side=side,
                        knee_asymmetry_deg=athlete.knee_asymmetry_deg,
                        depth_scale=athlete.depth_scale,
                    )
                    rel_path, rate = write_recording(
                        out_dir, recording_id, fmt, plan, body, truth, rng, all_sensors_share
                    )
                    manifest.append(
                        {
                            "recording_id": recording_id,
                            "path": rel_path,
                            "athlete_id": athlete.athlete_id,
                            "session_date": date.isoformat(),
                            "exercise": exercise,
                            "side": side,
                            "load_kg": load,
                            "set_number": set_number,
                            "format": fmt,
                            "sample_rate_hz": rate,
                            "label": None,
                        }
                    )
                    labels.extend(
                        {"recording_id": recording_id, "rep": k + 1, "label": r.label}
                        for k, r in enumerate(plan.reps)
                    )
    if bad:
        from hinge_analytics.simulate.bad import write_bad_inputs

        bad_rows, bad_manifest = write_bad_inputs(out_dir, bad, rng)
        manifest.extend(bad_manifest)
        pl.DataFrame(bad_rows).write_csv(out_dir / "bad_files.csv")
    manifest_path = out_dir / "manifest.csv"
    pl.DataFrame(manifest, schema=MANIFEST_SCHEMA).write_csv(manifest_path)
    pl.DataFrame(labels, schema={"recording_id": pl.String, "rep": pl.Int64, "label": pl.String}).write_csv(
        out_dir / "rep_labels.csv"
    )
    conform(pl.DataFrame(truth), TRUTH_REPS).write_csv(out_dir / "truth_reps.csv")
    athletes_table(team).write_csv(out_dir / "athletes.csv")
    return manifest_path


MANIFEST_SCHEMA = {
    "recording_id": pl.String,
    "path": pl.String,
    "athlete_id": pl.String,
    "session_date": pl.String,
    "exercise": pl.String,
    "side": pl.String,
    "load_kg": pl.Float64,
    "set_number": pl.Int64,
    "format": pl.String,
    "sample_rate_hz": pl.Float64,
    "label": pl.String,
}


def athletes_table(team: list[Athlete]) -> pl.DataFrame:
    """The planted traits, so tests and demos know who is asymmetric or goes too heavy too soon."""
    return pl.DataFrame(
        {
            "athlete_id": [a.athlete_id for a in team],
            "stature_m": [round(a.stature_m, 3) for a in team],
            "habitual_mistake": [a.habitual_mistake for a in team],
            "mistake_rate": [round(a.mistake_rate, 3) for a in team],
            "knee_asymmetry_deg": [round(a.knee_asymmetry_deg, 2) for a in team],
            "asymmetric": [abs(a.knee_asymmetry_deg) >= 5.0 for a in team],
            "depth_scale": [round(a.depth_scale, 3) for a in team],
            "too_heavy_too_soon": [a.too_heavy_too_soon for a in team],
        }
    )


# Frame/sample rates per format (Hz): phone video, Pose2Sim/mocap, optical mocap, IMU loggers.
_RATES = {
    "mediapipe_csv": (30.0, 60.0),
    "openpose_json": (30.0, 60.0),
    "coco17_json": (30.0, 60.0),
    "trc": (60.0, 100.0),
    "c3d": (100.0, 120.0),
    "imu_csv": (60.0, 100.0),
}


def write_recording(
    out_dir: Path,
    recording_id: str,
    fmt: str,
    plan: SetPlan,
    body: Anthropometry,
    truth: list[dict],
    rng: np.random.Generator,
    all_sensors_share: float = 0.5,
) -> tuple[str, float | None]:
    """Simulate one set and write it as ``fmt``; appends its truth rows.

    Returns the manifest path (relative to ``out_dir``) and the manifest ``sample_rate_hz`` (only
    for formats whose files carry no time: openpose_json, coco17_json).
    """
    sample_rate = float(rng.choice(_RATES[fmt]))
    time_s, pose, set_truth = simulate_set(plan, sample_rate, rng)
    body_points = forward_kinematics(pose, body)
    for k, row in enumerate(
        truth_from_points(
            body_points,
            time_s,
            set_truth.t_start_s,
            set_truth.t_bottom_s,
            set_truth.t_end_s,
            stance_side=plan.stance_side,
            pose=pose,
        )
    ):
        truth.append(
            {
                "recording_id": recording_id,
                "rep": k + 1,
                "label": plan.reps[k].label,
                "severity": plan.reps[k].severity,
                **row,
            }
        )
    world = rotate_heading(body_points, pose.heading_deg)
    folder = out_dir / "recordings"
    supine = EXERCISE_PROFILES[plan.exercise].supine
    if fmt == "mediapipe_csv":
        if rng.random() < 0.5:
            noisy, visibility = add_pose_noise(world, rng)
            write_mediapipe_csv(
                folder / f"{recording_id}.csv", time_s, noisy, visibility, facing=_facing(rng)
            )
        else:
            camera = random_side_camera(rng, supine)
            uv, depth, conf = writers.noisy_image_points(world, camera, rng)
            writers.write_mediapipe_image_csv(folder / f"{recording_id}.csv", time_s, uv, depth, conf, camera)
        return f"recordings/{recording_id}.csv", None
    if fmt in ("openpose_json", "coco17_json"):
        camera = random_side_camera(rng, supine)
        uv, _, conf = writers.noisy_image_points(world, camera, rng)
        if fmt == "coco17_json":
            writers.write_coco17_json(folder / f"{recording_id}.json", uv, conf, camera)
            return f"recordings/{recording_id}.json", sample_rate
        model = "BODY_25" if rng.random() < 0.6 else "COCO_18"
        writers.write_openpose_json(folder / recording_id, recording_id, uv, conf, camera, model, rng)
        return f"recordings/{recording_id}", sample_rate
    if fmt in ("trc", "c3d"):
        lab = writers.lab_frame(world, float(rng.uniform(0, 360)), rng.uniform(-1.0, 1.0, 2))
        if fmt == "trc":
            units = "m" if rng.random() < 0.5 else "mm"
            jitter = 0.008 if units == "m" else 0.0015  # markerless (Pose2Sim) vs optical markers
            noisy, _ = add_pose_noise(lab, rng, jitter_m=jitter, spike_rate=0.0, swap_windows=0)
            writers.write_trc(folder / f"{recording_id}.trc", time_s, noisy, units=units)
            return f"recordings/{recording_id}.trc", None
        noisy, _ = add_pose_noise(lab, rng, jitter_m=0.0015, spike_rate=0.0, swap_windows=0)
        _marker_gaps(noisy, rng)
        writers.write_c3d(folder / f"{recording_id}.c3d", time_s, noisy)
        return f"recordings/{recording_id}.c3d", None
    if fmt == "imu_csv":
        every = rng.random() < all_sensors_share
        n_sensors = len(BODY_PLACEMENTS) if every else int(rng.integers(2, len(BODY_PLACEMENTS)))
        chosen = tuple(
            p for p in BODY_PLACEMENTS if p in set(rng.choice(BODY_PLACEMENTS, n_sensors, replace=False))
        )
        signals = imu.imu_signals(
            time_s, pose, body, chosen, rng=rng, global_heading_deg=float(rng.uniform(0, 360))
        )
        if sample_rate == 60.0:
            imu.write_imu_dot(folder / recording_id, time_s, signals, rng)
        else:
            imu.write_imu_generic(folder / recording_id, time_s, signals)
        return f"recordings/{recording_id}", None
    raise ValueError(f"the simulator cannot write {fmt}")


def _marker_gaps(points: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Optical mocap loses a marker now and then for a few frames (NaN), in place."""
    for p in points.values():
        if rng.random() < 0.15:
            start = int(rng.integers(0, max(len(p) - 8, 1)))
            p[start : start + int(rng.integers(2, 8))] = np.nan


def _facing(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


__all__ = ["simulate_team", "Athlete", "Pose", "SUPPORTED_FORMATS", "truth_from_points"]
