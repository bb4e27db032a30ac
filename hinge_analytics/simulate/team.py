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

from hinge_analytics.schema import EXERCISES, LABELS, TRUTH_REPS, conform
from hinge_analytics.simulate.body import (
    Anthropometry,
    Pose,
    forward_kinematics,
    rotate_heading,
    sagittal_tilt_deg,
)
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set
from hinge_analytics.simulate.writers import add_pose_noise, write_mediapipe_csv

MISTAKES = tuple(label for label in LABELS if label != "good")
SUPPORTED_FORMATS = ("mediapipe_csv",)
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
            severity = float(np.clip(rng.uniform(0.35, 0.9) + 0.1 * fatigue, 0.3, 1.0))
            reps.append(RepPlan(label, severity))
        else:
            reps.append(RepPlan("good", 0.0))
    return reps


def truth_from_points(points: dict[str, np.ndarray], time_s: np.ndarray, starts, bottoms, ends) -> list[dict]:
    """Per-rep truth measured on the noise-free body-frame landmarks (SPEC.md angle definitions)."""
    hip_c = (points["hip_left"] + points["hip_right"]) / 2
    sho_c = (points["shoulder_left"] + points["shoulder_right"]) / 2
    trunk = sagittal_tilt_deg(hip_c, sho_c)
    knee, hip = {}, {}
    for side in ("left", "right"):
        thigh = sagittal_tilt_deg(points[f"knee_{side}"], points[f"hip_{side}"])
        shank = sagittal_tilt_deg(points[f"ankle_{side}"], points[f"knee_{side}"])
        knee[side] = shank - thigh
        hip[side] = trunk - thigh
    rows = []
    for t0, tb, t1 in zip(starts, bottoms, ends, strict=True):
        inside = (time_s >= t0) & (time_s <= t1)
        rows.append(
            {
                "t_start_s": t0,
                "t_bottom_s": tb,
                "t_end_s": t1,
                "peak_hip_flexion_deg": float(np.max((hip["left"] + hip["right"])[inside] / 2)),
                "peak_knee_flexion_left_deg": float(np.max(knee["left"][inside])),
                "peak_knee_flexion_right_deg": float(np.max(knee["right"][inside])),
                "peak_trunk_inclination_deg": float(np.max(trunk[inside])),
            }
        )
    return rows


def simulate_team(
    out_dir: Path,
    athletes: int = 4,
    sessions: int = 3,
    formats: tuple[str, ...] = SUPPORTED_FORMATS,
    exercises: tuple[str, ...] = ("romanian_deadlift", "deadlift"),
    sets_per_exercise: int = 2,
    seed: int = 0,
) -> Path:
    """Write a simulated batch into ``out_dir``; returns the manifest path."""
    unknown = set(formats) - set(SUPPORTED_FORMATS)
    if unknown:
        raise ValueError(f"the simulator cannot write {sorted(unknown)} yet")
    bad_exercises = set(exercises) - set(EXERCISES)
    if bad_exercises:
        raise ValueError(f"unknown exercise(s) {sorted(bad_exercises)}")
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest, labels, truth = [], [], []
    for athlete in make_athletes(athletes, rng):
        body = Anthropometry(athlete.stature_m)
        for week in range(sessions):
            date = START_DATE + dt.timedelta(weeks=week)
            growth = 0.10 if athlete.too_heavy_too_soon else 0.025
            for exercise in exercises:
                load = round(BASE_LOAD_KG[exercise] * (1 + growth * week) / 2.5) * 2.5
                for set_number in range(1, sets_per_exercise + 1):
                    fmt = formats[int(rng.integers(len(formats)))]
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
                    rel_path = _write_recording(out_dir, recording_id, fmt, plan, body, truth, rng)
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
                            "sample_rate_hz": None,
                            "label": None,
                        }
                    )
                    labels.extend(
                        {"recording_id": recording_id, "rep": k + 1, "label": r.label}
                        for k, r in enumerate(plan.reps)
                    )
    manifest_path = out_dir / "manifest.csv"
    pl.DataFrame(manifest, infer_schema_length=None).write_csv(manifest_path)
    pl.DataFrame(labels).write_csv(out_dir / "rep_labels.csv")
    conform(pl.DataFrame(truth), TRUTH_REPS).write_csv(out_dir / "truth_reps.csv")
    return manifest_path


def _write_recording(
    out_dir: Path,
    recording_id: str,
    fmt: str,
    plan: SetPlan,
    body: Anthropometry,
    truth: list[dict],
    rng: np.random.Generator,
) -> str:
    sample_rate = 30.0
    time_s, pose, set_truth = simulate_set(plan, sample_rate, rng)
    body_points = forward_kinematics(pose, body)
    for k, row in enumerate(
        truth_from_points(body_points, time_s, set_truth.t_start_s, set_truth.t_bottom_s, set_truth.t_end_s)
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
    noisy, visibility = add_pose_noise(world, rng)
    rel_path = f"recordings/{recording_id}.csv"
    write_mediapipe_csv(out_dir / rel_path, time_s, noisy, visibility, facing=_facing(rng))
    return rel_path


def _facing(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


__all__ = ["simulate_team", "Athlete", "Pose"]
