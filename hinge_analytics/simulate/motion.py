"""Exercise kinematics, mistakes with a severity, tempo and fatigue: one set -> segment tilts + truth.

Bottom-of-rep targets (trunk chord inclination T, hip flexion H, knee flexion K, degrees) are taken
from hinge literature: RDL hip flexion 60-90 deg with knees ~15-25 deg; conventional deadlift from
the floor knee ~80-100 deg, hip ~100-115 deg (Escamilla et al., Med Sci Sports Exerc 2002;
Hales et al., J Strength Cond Res 2009); good morning knee ~5-20 deg (Vigotsky et al., PeerJ 2015);
kettlebell swing ~1 s per rep with a fast hip snap, hip ~60-80 deg (Lake & Lauder, J Strength Cond
Res 2012); hip thrust from ~90 deg hip flexion to full extension, knee ~90 deg (Contreras 2015).
Thigh tilt = T - H and shank tilt = thigh + K follow from the joint-angle definitions in body.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hinge_analytics.simulate.body import Pose


@dataclass(frozen=True)
class ExerciseProfile:
    trunk: tuple[float, float]  # bottom trunk chord inclination range, deg
    hip: tuple[float, float]  # bottom hip flexion range, deg
    knee: tuple[float, float]  # bottom knee flexion range, deg
    eccentric_s: tuple[float, float]
    bottom_pause_s: tuple[float, float]
    concentric_s: tuple[float, float]
    top_pause_s: tuple[float, float]
    standing_knee: float = 3.0  # knee flexion at the top
    supine: bool = False
    unilateral: bool = False


EXERCISE_PROFILES: dict[str, ExerciseProfile] = {
    "deadlift": ExerciseProfile(
        (45, 60), (95, 115), (80, 100), (1.0, 2.0), (0.2, 0.6), (1.0, 1.6), (0.6, 1.5)
    ),
    "romanian_deadlift": ExerciseProfile(
        (60, 80), (65, 90), (15, 25), (2.0, 3.0), (0.3, 1.0), (1.0, 1.6), (0.6, 1.5)
    ),
    "single_leg_rdl": ExerciseProfile(
        (65, 85), (70, 90), (15, 25), (1.8, 2.6), (0.3, 0.8), (1.2, 1.8), (0.8, 1.6), unilateral=True
    ),
    "kettlebell_swing": ExerciseProfile(
        (45, 65), (60, 80), (20, 35), (0.45, 0.6), (0.0, 0.05), (0.35, 0.5), (0.05, 0.15)
    ),
    "good_morning": ExerciseProfile(
        (70, 85), (70, 90), (5, 20), (2.0, 3.0), (0.3, 0.8), (1.2, 1.8), (0.6, 1.4)
    ),
    "hip_thrust": ExerciseProfile(
        (0, 0),
        (80, 95),
        (80, 95),
        (1.0, 1.6),
        (0.2, 0.5),
        (0.8, 1.2),
        (0.5, 1.2),
        standing_knee=90.0,
        supine=True,
    ),
}


@dataclass
class RepPlan:
    label: str
    severity: float  # 0 for good reps; 0.3 mild ... 1.0 severe


@dataclass
class SetPlan:
    exercise: str
    reps: list[RepPlan]
    stance_side: str | None = None  # single-leg RDL stance leg
    knee_asymmetry_deg: float = 0.0  # athlete trait: left knee bends this much more than right
    depth_scale: float = 1.0  # athlete trait: fraction of the exercise's typical range


@dataclass
class SetTruth:
    t_start_s: list[float] = field(default_factory=list)
    t_bottom_s: list[float] = field(default_factory=list)
    t_end_s: list[float] = field(default_factory=list)


def _min_jerk(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk progress 0 -> 1 (Flash & Hogan, J Neurosci 1985)."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10 - 15 * u + 6 * u**2)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def simulate_set(
    plan: SetPlan, sample_rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, Pose, SetTruth]:
    """Time axis, segment tilts for every frame, and the true rep boundaries of one set.

    The athlete stands still, performs the planned reps (each with its own tempo and depth), and
    stands still again; a small sway and heading drift give out-of-plane motion.
    """
    prof = EXERCISE_PROFILES[plan.exercise]
    truth = SetTruth()
    all_targets = []
    t = _uniform(rng, (1.0, 2.0))  # standing still before the first rep
    segments = [(0.0, t, "hold_top", None)]
    for rep in plan.reps:
        targets = _bottom_targets(prof, plan, rep, rng)
        all_targets.append(targets)
        ecc = _uniform(rng, prof.eccentric_s)
        pause = _uniform(rng, prof.bottom_pause_s)
        con = _uniform(rng, prof.concentric_s)
        top = _uniform(rng, prof.top_pause_s)
        truth.t_start_s.append(t)
        segments.append((t, t + ecc, "down", targets))
        truth.t_bottom_s.append(t + ecc)
        segments.append((t + ecc, t + ecc + pause, "hold_bottom", targets))
        segments.append((t + ecc + pause, t + ecc + pause + con, "up", targets))
        t = t + ecc + pause + con
        truth.t_end_s.append(t)
        segments.append((t, t + top, "hold_top", targets))
        t += top
    segments.append((t, t + _uniform(rng, (1.0, 2.0)), "hold_top", None))
    duration = segments[-1][1]
    time = np.arange(0.0, duration, 1.0 / sample_rate_hz)

    progress = np.zeros_like(time)  # 0 at the top, 1 at the bottom
    rep_index = np.full(time.shape, -1)
    for k, (t0, t1, kind, targets) in enumerate(segments):
        inside = (time >= t0) & (time < t1)
        if kind == "down":
            progress[inside] = _min_jerk((time[inside] - t0) / (t1 - t0))
        elif kind == "up":
            progress[inside] = 1.0 - _min_jerk((time[inside] - t0) / (t1 - t0))
        elif kind == "hold_bottom":
            progress[inside] = 1.0
        if targets is not None:
            rep_index[inside] = (k - 1) // 4
    pose = _pose_from_progress(prof, plan, all_targets, progress, rep_index, time, rng)
    return time, pose, truth


def _bottom_targets(
    prof: ExerciseProfile, plan: SetPlan, rep: RepPlan, rng: np.random.Generator
) -> dict[str, float]:
    """Bottom-position targets for one rep, with rep-to-rep variability and its mistake applied."""
    depth = plan.depth_scale * rng.normal(1.0, 0.04)
    trunk = _uniform(rng, prof.trunk) * depth
    hip = _uniform(rng, prof.hip) * depth
    knee = _uniform(rng, prof.knee)
    s = rep.severity
    targets = {
        "trunk": trunk,
        "hip": hip,
        "knee": knee,
        "lumbar": 0.0,
        "thoracic": 0.0,
        "neck": 0.0,
        "protraction": 0.0,
        "top_lean": 0.0,
        "top_lumbar": 0.0,
        "ankle_lean": 0.0,
    }
    if rep.label == "rounded_back":
        targets.update(thoracic=35 * s, neck=15 * s, protraction=0.035 * s, hip=hip - 8 * s)
    elif rep.label == "lumbar_flexion":
        targets.update(lumbar=28 * s, hip=hip - 15 * s, thoracic=6 * s)
    elif rep.label == "hyperextension":
        targets.update(top_lean=-14 * s, top_lumbar=-22 * s)
    elif rep.label == "squatting":
        targets.update(knee=knee + 50 * s, trunk=trunk - 25 * s, hip=hip + 10 * s)
    elif rep.label == "hips_not_back":
        # Thigh stays near vertical (hips over ankles): hip flexion falls towards trunk tilt.
        targets.update(hip=hip - s * (hip - trunk - 2), knee=knee * (1 - 0.5 * s), ankle_lean=8 * s)
    return targets


def _pose_from_progress(
    prof: ExerciseProfile,
    plan: SetPlan,
    reps_targets: list[dict[str, float]],
    progress: np.ndarray,
    rep_index: np.ndarray,
    time: np.ndarray,
    rng: np.random.Generator,
) -> Pose:
    n = len(progress)
    value: dict[str, np.ndarray] = {}
    for i, targets in enumerate(reps_targets):
        inside = rep_index == i
        for k, v in targets.items():
            value.setdefault(k, np.zeros(n))[inside] = v

    p = progress
    at_top = (rep_index >= 0) & (p < 0.05)
    # Weight drifting to the toes: the whole body pivots forward about the ankles.
    ankle_lean = value["ankle_lean"] * p
    # Quiet-standing sway (~0.5 deg) and a slow heading drift: the simulator is not a statue.
    sway = 0.5 * np.sin(2 * np.pi * 0.3 * time + rng.uniform(0, 6.3))
    trunk = value["trunk"] * p + value["top_lean"] * at_top + sway + ankle_lean
    hip = value["hip"] * p
    knee = prof.standing_knee + (value["knee"] - prof.standing_knee) * p
    thigh = trunk - hip
    if prof.supine:
        # Hip thrust, back on a bench and shins vertical: trunk and thigh are near horizontal at
        # lockout (tilt -90 deg) and fold about the hips as the hips drop.
        trunk = -90.0 + hip / 2 + value["top_lean"] * at_top
        thigh = trunk - hip
        knee = -thigh
    asym = plan.knee_asymmetry_deg * p
    knees = {"left": knee + asym / 2, "right": knee - asym / 2}
    # Each thigh takes half of its knee's extra bend, the shank the other half.
    thighs = {side: thigh - (knees[side] - knee) / 2 for side in ("left", "right")}
    if plan.stance_side is not None:
        # The free leg swings back in line with the trunk, nearly straight.
        free = "right" if plan.stance_side == "left" else "left"
        knees[free] = 5.0 * p
        thighs[free] = 0.9 * trunk
    return Pose(
        shank_left=thighs["left"] + knees["left"],
        shank_right=thighs["right"] + knees["right"],
        thigh_left=thighs["left"],
        thigh_right=thighs["right"],
        trunk_chord=trunk,
        lumbar_flexion=value["lumbar"] * p**2 + value["top_lumbar"] * at_top,
        thoracic_flexion=value["thoracic"] * p,
        neck_flexion=value["neck"] * p,
        shoulder_protraction=value["protraction"] * p,
        heading_deg=2.0 * np.sin(2 * np.pi * time / max(time[-1], 1.0) + rng.uniform(0, 6.3)),
        stance_side=plan.stance_side,
    )
