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

from hinge_analytics.simulate.body import (
    ANKLE_HEIGHT,
    SHANK,
    SPINE_LENGTHS,
    SPINE_STANDING_TILT_DEG,
    THIGH,
    TRUNK,
    Pose,
    circle_intersection,
)


@dataclass(frozen=True)
class ExerciseProfile:
    """Bottom-of-rep posture ranges (deg) and tempo ranges (s) of one exercise.

    The bottom posture is drawn as trunk inclination, knee flexion and shank tilt; hip flexion
    follows (hip = trunk - thigh, thigh = shank - knee), so the three joint angles always fit one
    body. ``hip`` is the literature range the result is checked against (tests, docs).
    """

    trunk: tuple[float, float]  # bottom trunk chord inclination range, deg
    hip: tuple[float, float]  # expected bottom hip flexion range (literature), deg
    knee: tuple[float, float]  # bottom knee flexion range, deg
    eccentric_s: tuple[float, float]
    bottom_pause_s: tuple[float, float]
    concentric_s: tuple[float, float]
    top_pause_s: tuple[float, float]
    standing_knee: float = 3.0  # knee flexion at the top
    supine: bool = False
    unilateral: bool = False
    shank: tuple[float, float] = (0.0, 6.0)  # bottom shank forward tilt (knees ahead of ankles), deg
    swing: bool = False  # arms swing a kettlebell
    bar_over_midfoot: bool = False  # straight arms hold a barbell whose path stays over the midfoot


EXERCISE_PROFILES: dict[str, ExerciseProfile] = {
    # Conventional deadlift from the floor: knees ~75-95 deg, shins inclined over the bar.
    "deadlift": ExerciseProfile(
        (42, 55),
        (95, 135),
        (75, 95),
        (1.0, 2.0),
        (0.2, 0.6),
        (1.0, 1.6),
        (0.6, 1.5),
        shank=(12, 20),
        bar_over_midfoot=True,
    ),
    "romanian_deadlift": ExerciseProfile(
        (55, 75), (65, 100), (15, 25), (2.0, 3.0), (0.3, 1.0), (1.0, 1.6), (0.6, 1.5)
    ),
    # Stance leg of a single-leg RDL; the free leg swings back in line with the trunk.
    "single_leg_rdl": ExerciseProfile(
        (65, 85), (70, 110), (15, 25), (1.8, 2.6), (0.3, 0.8), (1.2, 1.8), (0.8, 1.6), unilateral=True
    ),
    # ~1 s per rep, no pause at the bottom, a fast hip snap and the bell floating at chest height.
    "kettlebell_swing": ExerciseProfile(
        (45, 65),
        (55, 97),
        (20, 35),
        (0.45, 0.6),
        (0.0, 0.05),
        (0.3, 0.42),
        (0.05, 0.15),
        shank=(3, 10),
        swing=True,
    ),
    "good_morning": ExerciseProfile(
        (65, 85), (60, 105), (5, 20), (2.0, 3.0), (0.3, 0.8), (1.2, 1.8), (0.6, 1.4), shank=(0, 5)
    ),
    # Supine, upper back on a bench, feet on the floor: lockout with trunk and thighs level (tilt
    # -90 deg), knees ~90 deg; at the bottom the hips drop to ~80-95 deg of flexion.
    "hip_thrust": ExerciseProfile(
        (0, 0),
        (80, 95),
        (100, 125),  # bottom knee follows from the closed chain (hip_thrust_chain)
        (1.0, 1.6),
        (0.2, 0.5),
        (0.8, 1.2),
        (0.5, 1.2),
        standing_knee=90.0,
        supine=True,
    ),
}


@dataclass(frozen=True)
class PhaseShape:
    """Progress 0 -> 1 of one movement phase over its normalised time u in [0, 1].

    ``order`` 5 is the minimum-jerk quintic (Flash & Hogan, J Neurosci 1985), which hinge movements
    are close to but not exactly; 3 is the cubic smoothstep (acceleration jumps at the ends, a
    brisker start), 7 the septic one (zero jerk at the ends, a softer start). ``skew`` warps time
    (u -> u**skew), moving the velocity peak earlier (< 1: an explosive start) or later (> 1);
    keep it within 0.6-1.7 so the velocity still starts and ends at zero.
    """

    order: int = 5
    skew: float = 1.0

    def progress(self, u: np.ndarray) -> np.ndarray:
        w = np.clip(u, 0.0, 1.0) ** self.skew
        if self.order == 3:
            return w * w * (3 - 2 * w)
        if self.order == 7:
            return w**4 * (35 - 84 * w + 70 * w**2 - 20 * w**3)
        return _min_jerk(w)


@dataclass
class RepPlan:
    """One rep's label and, optionally, its exact tempo and shape.

    Every optional field left at its default keeps the exercise profile's random draws (tempo
    with fatigue) and a full-depth minimum-jerk rep, as the team simulator uses them.
    """

    label: str
    severity: float  # 0 for good reps; 0.3 mild ... 1.0 severe
    eccentric_s: float | None = None  # descent duration; None = drawn from the exercise profile
    bottom_pause_s: float | None = None  # hold at the bottom (an isometric hold when long)
    concentric_s: float | None = None
    top_pause_s: float | None = None  # 0 = the next rep starts the moment this one ends
    range_of_motion: float = 1.0  # fraction of the bottom posture reached (partial reps < 1)
    # Lockout lean-back: hips pushed forward, trunk back (hip extension). A `hyperextension` rep
    # that gives it is drawn with this lean instead of the severity's.
    lean_back_deg: float = 0.0
    eccentric_shape: PhaseShape | None = None  # None = minimum jerk
    concentric_shape: PhaseShape | None = None
    hold_drift: float = 0.0  # bottom hold sags back up by this fraction of the range, ~every 5 s
    # A mistake's shape (domain randomisation, ``simulate.randomised``): each component of its
    # change from the good rep (``MISTAKE_COMPONENTS``) times its own factor; None = as drawn.
    mistake_scales: dict[str, float] | None = None
    # Exponent on the spine's flexion time course (upper back, neck and shoulders as progress^k,
    # lumbar as progress^2k): above 1 the spine gives way late in the descent, below 1 early.
    spine_onset: float = 1.0


@dataclass
class SetPlan:
    exercise: str
    reps: list[RepPlan]
    stance_side: str | None = None  # single-leg RDL stance leg
    knee_asymmetry_deg: float = 0.0  # athlete trait: left knee bends this much more than right
    depth_scale: float = 1.0  # athlete trait: fraction of the exercise's typical range
    fatigue: float = 1.0  # how much the last rep of the set degrades (0 = none)
    fidget: bool | None = None  # small shuffle before the first rep; None = random
    lead_in_s: float | None = None  # standing still before the first rep; None = 1.2-2.2 s
    lead_out_s: float | None = None  # ... and after the last; None = 1.2-2.2 s
    sway_deg: float = 0.5  # quiet-standing trunk sway amplitude (0.3 Hz)
    heading_deg: float = 2.0  # slow turn about the vertical (out of the camera's plane) amplitude
    roll_deg: float = 1.5  # side-to-side trunk lean amplitude (0.2 Hz; the IMUs feel it)
    # athlete style: the neck extends this far at the bottom to look ahead rather than at the floor
    gaze_deg: float = 0.0
    # Filmed from the set-up: the lifter starts at the bottom (at the bar on the floor, seated
    # against the bench), held there ``lead_in_s``, and the first rep is its pull alone.
    starts_at_bottom: bool = False


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


def _smooth_envelope(time: np.ndarray, knots_t: list[float], knots_v: list[float]) -> np.ndarray:
    """Piecewise-linear envelope through the knots with min-jerk corners (C2, no steps)."""
    if not knots_t:
        return np.zeros_like(time)
    order = np.argsort(knots_t, kind="stable")
    kt, kv = np.asarray(knots_t)[order], np.asarray(knots_v)[order]
    out = np.full(time.shape, kv[0], dtype=np.float64)
    for k in range(1, len(kt)):
        span = max(kt[k] - kt[k - 1], 1e-6)
        out += (kv[k] - kv[k - 1]) * _min_jerk((time - kt[k - 1]) / span)
    return out


def simulate_set(
    plan: SetPlan, sample_rate_hz: float, rng: np.random.Generator
) -> tuple[np.ndarray, Pose, SetTruth]:
    """Time axis, segment tilts for every frame, and the true rep boundaries of one set.

    The athlete stands still (sometimes shuffling a little first), performs the planned reps
    (each with its own tempo and depth; later reps slower and shallower with fatigue), and stands
    still again; a small sway, lean and heading drift give out-of-plane motion. A set filmed from
    its set-up (``plan.starts_at_bottom``) opens held at the first rep's bottom instead, and that
    rep starts with its pull: its start and bottom are the same instant.
    """
    prof = EXERCISE_PROFILES[plan.exercise]
    truth = SetTruth()
    all_targets = []
    t = _uniform(rng, (1.2, 2.2)) if plan.lead_in_s is None else plan.lead_in_s  # standing still
    fidget = plan.fidget if plan.fidget is not None else bool(rng.random() < 0.4)
    fidget_at = _uniform(rng, (0.2, max(0.3, t - 1.0)))
    # (start, end, kind, rep index or None outside the reps)
    set_up = plan.starts_at_bottom and bool(plan.reps)
    segments: list[tuple[float, float, str, int | None]] = [
        (0.0, t, "hold_bottom", 0) if set_up else (0.0, t, "hold_top", None)
    ]
    n_reps = len(plan.reps)
    for k, rep in enumerate(plan.reps):
        fatigue = plan.fatigue * k / max(n_reps - 1, 1)
        targets = _bottom_targets(prof, plan, rep, fatigue, rng)
        all_targets.append(targets)
        # A rep's own tempo, where given, is exact (no fatigue stretch): it is the truth.
        ecc = _uniform(rng, prof.eccentric_s) if rep.eccentric_s is None else rep.eccentric_s
        pause = _uniform(rng, prof.bottom_pause_s) if rep.bottom_pause_s is None else rep.bottom_pause_s
        if rep.concentric_s is None:
            con = _uniform(rng, prof.concentric_s) * (1 + 0.25 * fatigue)
        else:
            con = rep.concentric_s
        if rep.top_pause_s is None:
            top = _uniform(rng, prof.top_pause_s) * (1 + 0.5 * fatigue)
        else:
            top = rep.top_pause_s
        if k == 0 and set_up:
            ecc = pause = 0.0  # the set-up hold before it is its only time at the bottom
        truth.t_start_s.append(t)
        segments.append((t, t + ecc, "down", k))
        truth.t_bottom_s.append(t + ecc)
        segments.append((t + ecc, t + ecc + pause, "hold_bottom", k))
        segments.append((t + ecc + pause, t + ecc + pause + con, "up", k))
        t = t + ecc + pause + con
        truth.t_end_s.append(t)
        segments.append((t, t + top, "hold_top", k))
        t += top
    lead_out = _uniform(rng, (1.2, 2.2)) if plan.lead_out_s is None else plan.lead_out_s
    segments.append((t, t + lead_out, "hold_top", None))
    duration = segments[-1][1]
    time = np.arange(0.0, duration, 1.0 / sample_rate_hz)

    progress = np.zeros_like(time)  # 0 at the top, 1 at the bottom
    rep_index = np.full(time.shape, -1)
    for t0, t1, kind, index in segments:
        inside = (time >= t0) & (time < t1)
        rep = plan.reps[index] if index is not None else None
        if kind == "down":
            u = (time[inside] - t0) / (t1 - t0)
            shape = rep.eccentric_shape if rep is not None else None
            progress[inside] = _min_jerk(u) if shape is None else shape.progress(u)
        elif kind == "up":
            u = (time[inside] - t0) / (t1 - t0)
            shape = rep.concentric_shape if rep is not None else None
            progress[inside] = 1.0 - (_min_jerk(u) if shape is None else shape.progress(u))
        elif kind == "hold_bottom":
            progress[inside] = 1.0
            if rep is not None and rep.hold_drift > 0:
                # A long hold is never still: the hips creep up and settle back, one sag per ~5 s,
                # with zero velocity where the hold meets the descent and the ascent.
                u = (time[inside] - t0) / (t1 - t0)
                sags = max(1, round((t1 - t0) / 5.0))
                progress[inside] = 1.0 - rep.hold_drift * np.sin(np.pi * sags * u) ** 2
        if rep is not None:
            rep_index[inside] = index
            if rep.range_of_motion != 1.0:
                progress[inside] *= rep.range_of_motion
    # Lockout-only changes (leaning back) ramp in over the end of the concentric phase and out at
    # the start of the next rep's descent, never as a step.
    lock_t: list[float] = [0.0]
    lockout = {"top_lean": [0.0], "top_lumbar": [0.0]}
    if any(rep.lean_back_deg for rep in plan.reps):
        lockout["top_hip"] = [0.0]
    for i, targets in enumerate(all_targets):
        up_start = truth.t_end_s[i] - 0.3
        nxt = truth.t_start_s[i + 1] if i + 1 < n_reps else truth.t_end_s[i] + 0.8
        lock_t += [up_start, truth.t_end_s[i], nxt, nxt + 0.3]
        for key, knots in lockout.items():
            knots += [0.0, targets.get(key, 0.0), targets.get(key, 0.0), 0.0]
    lockout_signals = {key: _smooth_envelope(time, lock_t, knots) for key, knots in lockout.items()}
    reps_on = (
        _smooth_envelope(
            time,
            [truth.t_start_s[0], truth.t_start_s[0] + 0.5, truth.t_end_s[-1], truth.t_end_s[-1] + 0.6],
            [0.0, 1.0, 1.0, 0.0],
        )
        if n_reps
        else np.zeros_like(time)
    )
    pose = _pose_from_progress(
        prof, plan, all_targets, progress, rep_index, lockout_signals, reps_on, time, rng
    )
    if fidget and not prof.supine:
        # A small shuffle before the first rep: a weight shift and a turn of a few degrees.
        bump = np.exp(-0.5 * ((time - fidget_at) / 0.25) ** 2)
        pose.trunk_chord = pose.trunk_chord + rng.uniform(2.0, 4.0) * bump
        pose.heading_deg = pose.heading_deg + rng.uniform(-6.0, 6.0) * _min_jerk((time - fidget_at) / 0.8)
        for side in ("left", "right"):
            dip = rng.uniform(1.0, 4.0) * bump
            setattr(pose, f"thigh_{side}", getattr(pose, f"thigh_{side}") - dip / 2)
            setattr(pose, f"shank_{side}", getattr(pose, f"shank_{side}") + dip / 2)
    return time, pose, truth


def _bottom_targets(
    prof: ExerciseProfile, plan: SetPlan, rep: RepPlan, fatigue: float, rng: np.random.Generator
) -> dict[str, float]:
    """Bottom-position targets for one rep, with rep-to-rep variability, fatigue and its mistake."""
    depth = plan.depth_scale * rng.normal(1.0, 0.04) * (1.0 - 0.04 * fatigue)
    s = rep.severity
    targets = {
        "trunk": 0.0,
        "hip": 0.0,
        "knee": 0.0,
        "lumbar": 0.0,
        "thoracic": 0.0,
        "neck": 0.0,
        "protraction": 0.0,
        "top_lean": 0.0,
        "top_lumbar": 0.0,
        "ankle_lean": 0.0,
    }
    if prof.supine:
        targets["hip"] = _uniform(rng, prof.hip) * depth
        _uniform(rng, prof.knee)  # the chain sets the knee; drawn so seeded teams stay the same
        targets["knee"] = 0.0  # extra knee bend at the bottom (a knee-dominant thrust)
        good = dict(targets)
        if rep.label == "hyperextension" and not rep.lean_back_deg:
            targets.update(top_lean=-15 * s, top_lumbar=-22 * s)
        elif rep.label == "rounded_back":
            targets.update(thoracic=25 * s, neck=20 * s, protraction=0.03 * s)
        elif rep.label == "lumbar_flexion":
            targets.update(lumbar=20 * s, hip=targets["hip"] + 8 * s)
        elif rep.label == "squatting":
            # Knee-dominant: feet too close, the knees fold further as the hips drop.
            targets.update(knee=35 * s)
        elif rep.label == "hips_not_back":
            # The hips never finish: short of full extension at the top, a shallower drop.
            targets.update(top_lean=12 * s, hip=targets["hip"] * (1 - 0.2 * s))
        return _lean_back(_reshaped(good, targets, rep.mistake_scales), rep, supine=True)
    trunk = _uniform(rng, prof.trunk) * depth
    knee = _uniform(rng, prof.knee)
    shank = _uniform(rng, prof.shank)
    thigh = shank - knee
    # Fatigue lets the upper back relax a little even on reps a coach would still call good.
    targets.update(trunk=trunk, knee=knee, thoracic=3.0 * fatigue, thigh=thigh)
    good = dict(targets)
    if rep.label == "rounded_back":
        targets.update(thoracic=35 * s, neck=15 * s, protraction=0.035 * s, trunk=trunk - 4 * s)
        targets["thigh"] += 4 * s
    elif rep.label == "lumbar_flexion":
        targets.update(lumbar=28 * s, thoracic=6 * s, trunk=trunk - 5 * s)
        targets["thigh"] += 10 * s
    elif rep.label == "hyperextension" and not rep.lean_back_deg:
        targets.update(top_lean=-14 * s, top_lumbar=-22 * s)
    elif rep.label == "squatting":
        targets.update(knee=knee + 50 * s, trunk=trunk - 25 * s)
        targets["thigh"] = thigh - 50 * s + 15 * s  # shank tilts 15*s further forward
    elif rep.label == "hips_not_back":
        # Thigh stays near vertical (hips over ankles), weight drifts to the toes.
        targets.update(thigh=(1 - s) * thigh + 2 * s, knee=knee * (1 - 0.5 * s), ankle_lean=8 * s)
    targets = _reshaped(good, targets, rep.mistake_scales)
    targets["hip"] = targets["trunk"] - targets.pop("thigh")
    return _lean_back(targets, rep, supine=False)


# What a mistake changes at the bottom (or at lockout), as `_bottom_targets` names it: the
# components a randomised mistake shape scales one by one.
MISTAKE_COMPONENTS: tuple[str, ...] = (
    "trunk",
    "thigh",
    "hip",
    "knee",
    "lumbar",
    "thoracic",
    "neck",
    "protraction",
    "top_lean",
    "top_lumbar",
    "ankle_lean",
)


def _reshaped(
    good: dict[str, float], mistake: dict[str, float], scales: dict[str, float] | None
) -> dict[str, float]:
    """The mistake's targets with each component's change from the good rep scaled by its factor."""
    if not scales:
        return mistake
    return {k: good[k] + scales.get(k, 1.0) * (v - good[k]) for k, v in mistake.items()}


def _lean_back(targets: dict[str, float], rep: RepPlan, supine: bool) -> dict[str, float]:
    """Add the rep's own lockout lean-back, a hip hyperextension: standing, the trunk tilts back by
    ``lean_back_deg`` while the hips push forward (thighs and shanks tilt 0.3x as far forward), so
    the hip extends 1.3x the lean and the low back arches with it; lying (hip thrust), the hips
    rise past level by ``lean_back_deg``."""
    lean = rep.lean_back_deg
    if lean:
        targets["top_lean"] -= lean
        targets["top_lumbar"] -= lean
        if not supine:
            targets["top_hip"] = targets.get("top_hip", 0.0) - 1.3 * lean
    return targets


SHOULDER_SLIDE = 0.06  # fraction of stature the shoulder slides at 90 deg of hip flexion


def hip_thrust_chain(
    hip_flexion_deg: np.ndarray, lockout_knee_deg: float | np.ndarray = 90.0
) -> dict[str, np.ndarray]:
    """Supine closed chain: feet on the floor, upper back pivoting on a bench, hips dropping.

    The shoulder stays where it is at lockout (trunk and thigh level, knee ``lockout_knee_deg``);
    for each hip flexion the knee is where the shank (from the ankle) and the thigh+trunk chord
    (from the shoulder) meet. Returns shank, thigh and trunk-chord tilts in degrees.
    """
    chord = TRUNK * np.linalg.norm((SPINE_LENGTHS * _tilt_unit(SPINE_STANDING_TILT_DEG)).sum(axis=1))
    n = len(hip_flexion_deg)
    ankle = np.tile([0.0, ANKLE_HEIGHT], (n, 1))
    lock_thigh = -np.broadcast_to(np.asarray(lockout_knee_deg, dtype=np.float64), (n,))  # shank vertical
    shoulder = (
        ankle
        + SHANK * _tilt_unit(0.0)[:, 0]
        + THIGH * _tilt_unit(lock_thigh).T
        + chord * _tilt_unit(-90.0)[:, 0]
    )
    # The upper back rolls over the bench edge as the hips drop: the shoulder slides towards the feet.
    drop = np.clip(np.asarray(hip_flexion_deg, dtype=np.float64) / 90.0, 0.0, None)[:, None]
    shoulder = shoulder + drop * np.array([SHOULDER_SLIDE, -0.02])
    h = np.radians(hip_flexion_deg)
    reach = np.sqrt(THIGH**2 + chord**2 + 2 * THIGH * chord * np.cos(h))
    knee = circle_intersection(ankle, SHANK, shoulder, reach, upper=True)
    shank = np.degrees(np.arctan2(knee[:, 0] - ankle[:, 0], knee[:, 1] - ankle[:, 1]))
    d = knee - shoulder  # knee seen from the shoulder = -(thigh + trunk chord)
    d_tilt = np.degrees(np.arctan2(-d[:, 0], -d[:, 1]))  # tilt of (thigh-up + chord) vector
    phi = np.degrees(np.arctan2(chord * np.sin(h), THIGH + chord * np.cos(h)))
    thigh = d_tilt - phi
    return {"shank": shank, "thigh": thigh, "trunk": thigh + hip_flexion_deg}


def _tilt_unit(tilt_deg) -> np.ndarray:
    r = np.radians(np.atleast_1d(np.asarray(tilt_deg, dtype=np.float64)))
    return np.stack([np.sin(r), np.cos(r)])


def _pose_from_progress(
    prof: ExerciseProfile,
    plan: SetPlan,
    reps_targets: list[dict[str, float]],
    progress: np.ndarray,
    rep_index: np.ndarray,
    lockout: dict[str, np.ndarray],
    reps_on: np.ndarray,
    time: np.ndarray,
    rng: np.random.Generator,
) -> Pose:
    n = len(progress)
    value: dict[str, np.ndarray] = {}
    for i, targets in enumerate(reps_targets):
        inside = rep_index == i
        for k, v in targets.items():
            value.setdefault(k, np.zeros(n))[inside] = v
    if not reps_targets:
        value = {k: np.zeros(n) for k in ("trunk", "hip", "knee", "lumbar", "thoracic", "neck")}
        value.update(protraction=np.zeros(n), top_lean=np.zeros(n), top_lumbar=np.zeros(n))
        value["ankle_lean"] = np.zeros(n)
    # Each rep's spine onset; frames outside any rep (index -1) take the trailing 1.
    onset = np.array([rep.spine_onset for rep in plan.reps] + [1.0])[rep_index]
    top_lean, top_lumbar = lockout["top_lean"], lockout["top_lumbar"]

    p = progress
    # (clipped: rounding can leave progress a hair under 0, which a fractional power cannot take)
    spine = p if np.all(onset == 1.0) else np.clip(p, 0.0, None) ** onset
    ankle_lean = value["ankle_lean"] * p
    # Quiet-standing sway (~0.5 deg) and a slow heading drift: the simulator is not a statue.
    sway = plan.sway_deg * np.sin(2 * np.pi * 0.3 * time + rng.uniform(0, 6.3))
    trunk = value["trunk"] * p + top_lean + sway + ankle_lean
    hip = value["hip"] * p
    if "top_hip" in lockout:
        hip = hip + lockout["top_hip"]  # lockout lean-back: the hips extend past neutral
    knee = prof.standing_knee + (value["knee"] - prof.standing_knee) * p
    thigh = trunk - hip
    shank = thigh + knee
    if prof.supine:
        # targets["knee"] of a hip thrust is extra knee bend at the bottom (a knee-dominant thrust)
        chain = hip_thrust_chain(hip + top_lean, 90.0 + value["knee"] * p)
        trunk, thigh, shank = chain["trunk"], chain["thigh"], chain["shank"]
        knee = shank - thigh
    asym = plan.knee_asymmetry_deg * p
    knees = {"left": knee + asym / 2, "right": knee - asym / 2}
    # Each thigh takes half of its knee's extra bend, the shank the other half.
    thighs = {side: thigh - (knees[side] - knee) / 2 for side in ("left", "right")}
    if plan.stance_side is not None:
        # The free leg swings back in line with the trunk, nearly straight.
        free = "right" if plan.stance_side == "left" else "left"
        knees[free] = 5.0 + 10.0 * p
        thighs[free] = 0.9 * trunk - 5.0 * (1 - p)
    arm = None
    if prof.swing:
        # The bell passes between the thighs at the bottom and floats to chest height at the top
        # (a rep deeper than the profile's bottom, p > 1, keeps the bell between the thighs).
        arm = reps_on * (95.0 * np.clip(1 - p, 0.0, None) ** 1.5 - 35.0 * p)
    return Pose(
        shank_left=thighs["left"] + knees["left"],
        shank_right=thighs["right"] + knees["right"],
        thigh_left=thighs["left"],
        thigh_right=thighs["right"],
        trunk_chord=trunk,
        lumbar_flexion=value["lumbar"] * spine**2 + top_lumbar,
        thoracic_flexion=value["thoracic"] * spine,
        neck_flexion=value["neck"] * spine - plan.gaze_deg * np.clip(p, 0.0, None),
        shoulder_protraction=value["protraction"] * spine,
        heading_deg=plan.heading_deg * np.sin(2 * np.pi * time / max(time[-1], 1.0) + rng.uniform(0, 6.3)),
        stance_side=plan.stance_side,
        arm_flexion_deg=arm,
        hands_on_hips=prof.supine,
        bar_over_midfoot=prof.bar_over_midfoot,
        roll_deg=plan.roll_deg * np.sin(2 * np.pi * 0.2 * time + rng.uniform(0, 6.3)),
    )
