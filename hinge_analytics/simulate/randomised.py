"""A domain-randomised validation batch: every set draws its own body, tempo, depth, view and device.

The team simulator (``simulate.team``) is what the product's segmentation and angles were tuned on;
this generator is for checking them, never for tuning. It reuses the same physics (body model and
forward kinematics, ``simulate.body``; exercise kinematics, ``simulate.motion``; IMU signal
synthesis, ``simulate.imu``; file writers, ``simulate.writers``) but draws, per set and
independently, the things real recordings vary in (domain randomisation: Tobin et al., IROS 2017,
"Domain randomization for transferring deep neural networks from simulation to the real world"):

- body: stature 1.5-2.0 m, either sex (women: hip breadth +12 %, shoulder breadth -7 % relative to
  stature, the order of the sex difference in the ANSUR II means, Gordon et al. 2014,
  NATICK/TR-15/007), every segment length 15-20 % either side of Winter's (2009) table mean;
- tempo: eccentric and concentric 0.5-6 s each (log-uniform), pauses at the top and holds at the
  bottom 0-3 s, isometric holds of 10-20 s at the bottom in some sets, touch-and-go sets without
  pauses, and phase profiles that are not exactly minimum jerk (``motion.PhaseShape``). Kettlebell
  swings stay ballistic (0.35-1 s phases, no holds: Lake & Lauder, J Strength Cond Res 2012);
- depth: partial reps at 40-70 % of the full posture, depth varying rep to rep, 1-12 reps;
- form: coach-taxonomy mistakes in some reps (severity 0.3-1), each with a shape of its own (what
  defines the label within +-25 % of the team simulator's, what comes with it 0-2x, the spine
  giving way early or late in the descent: `draw_mistake_shape`), and a lean-back of 4-15 deg at
  lockout in some others, labelled `hyperextension` as SPEC.md's taxonomy has it;
- style: where the athlete looks at the bottom, from the floor ahead to straight ahead (the neck
  extended 0-45 deg, `GAZE_DEG`), as real lifters do;
- exercise: all six of ``schema.EXERCISES``; a single-leg RDL's manifest ``side`` is its stance leg;
  half the deadlift and hip thrust sets are filmed from the set-up (`SET_UP_SHARE`): held at the
  bottom, at the bar or against the bench, then the first rep's pull (a rep with no way down);
- pose: a camera on either side (athlete facing image-left or -right), yawed up to 35 deg
  (oblique; 50-90 deg, from the front or back, with ``views="end_on"``), rolled up to 10 deg,
  pitched, portrait or landscape; 15-120 fps with dropped frames (timestamps or frame numbers
  kept); estimator noise of different spectra: white jitter, band-limited drift, spikes,
  left/right label swaps, depth noise of world landmarks; the far leg hidden behind the near one
  in side views (MediaPipe reports ~0.1-0.4 visibility for it and positions that wander and lean
  towards the visible leg);
- IMU: any subset of ``schema.BODY_PLACEMENTS``, sensors strapped at any angle (upside down too),
  12.5-200 Hz, white noise, constant bias, random-walk and band-limited gyro drift (IEEE Std
  952-1997 names these terms; Woodman 2007, Cambridge TR-696), orientation with heading drift and
  tilt error, some sets without quaternions, some sensors without a gyroscope, lost packets.

Truth is exact: rep boundaries come from the motion plan (a rep starts when the athlete leaves the
top position and ends on return to it, SPEC.md) and peak angles from the noise-free body sampled at
``FINE_RATE_HZ`` or more (``team.truth_from_points``: hip flexion is the mean of both hips, the
stance hip's in single-leg work), never from the rendered files. Frames and IMU samples are
instants of that same finely simulated body.

Output (like ``simulate_team``): ``recordings/``, ``manifest.csv``, ``truth_reps.csv``
(schema.TRUTH_REPS), ``rep_labels.csv``, plus ``truth_recordings.csv`` (one row per set with every
randomised parameter, ``REGIME_COLUMNS``) and ``truth_rep_regimes.csv`` (each rep's tempo, range
of motion and lean-back, ``REP_REGIME_COLUMNS``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import polars as pl
from scipy.ndimage import uniform_filter1d

from hinge_analytics.numeric import quat_matrix
from hinge_analytics.schema import (
    BODY_PLACEMENTS,
    BOTTOM_START_EXERCISES,
    EXERCISES,
    FORMATS,
    LABELS,
    TRUTH_REPS,
    conform,
)
from hinge_analytics.simulate import imu, writers
from hinge_analytics.simulate.body import Anthropometry, Pose, forward_kinematics, rotate_heading
from hinge_analytics.simulate.camera import SideCamera, framed_camera
from hinge_analytics.simulate.motion import (
    EXERCISE_PROFILES,
    MISTAKE_COMPONENTS,
    PhaseShape,
    RepPlan,
    SetPlan,
    simulate_set,
)
from hinge_analytics.simulate.team import BASE_LOAD_KG, MANIFEST_SCHEMA, START_DATE, truth_from_points

DEFAULT_FORMATS: tuple[str, ...] = ("mediapipe_csv", "openpose_json", "coco17_json", "trc", "imu_csv")
SUPPORTED_FORMATS: tuple[str, ...] = FORMATS
MISTAKES = tuple(label for label in LABELS if label != "good")
# The body is simulated at least this fast; frames and IMU samples are every k-th instant of it.
FINE_RATE_HZ = 400.0
# Where the pose cameras stand, by name: the share of sets filmed off the side and how far off
# (deg, either way round). "side", the validation batch's, films half its sets side on and half
# 10-35 deg off; "end_on" films every set 50-90 deg off the side, from the front or the back,
# where a 2D picture barely shows the hinge (the product says so, and must still count it).
CAMERA_VIEWS: dict[str, tuple[float, tuple[float, float]]] = {
    "side": (0.5, (10.0, 35.0)),
    "end_on": (1.0, (50.0, 90.0)),
}
# Phone and camera frame rates (Hz), NTSC rates included; a quarter of the sets take any rate.
POSE_RATES = (15.0, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0, 90.0, 100.0, 119.88, 120.0)
# Consumer/research IMU output rates (Movella DOT 1-120 Hz, APDM, generic loggers up to 200 Hz).
IMU_RATES = (12.5, 15.0, 20.0, 25.0, 30.0, 50.0, 60.0, 100.0, 120.0, 200.0)
PHASE_S = (0.5, 6.0)
SWING_PHASE_S = (0.35, 1.0)
ISOMETRIC_S = (10.0, 20.0)
PARTIAL_ROM = (0.4, 0.7)
LEAN_BACK_DEG = (4.0, 15.0)  # lean-back past standing at lockout, when a rep has one
# Where the athlete looks at the bottom: from the floor ahead (neck neutral, the team simulator's
# head) to straight ahead, which a trunk leaning 60-70 deg needs 45 deg of neck extension or more
# for. Real lifters' ear -> shoulder line, against the trunk, reads up to 35 deg more extended than
# the team simulator's good reps (deadlifts about 33, an RDL 16, good mornings about 0: SmartLift
# and real videos, `bench/shift.py`).
GAZE_DEG = (0.0, 45.0)
# Share of deadlift and hip thrust sets filmed from the set-up (at the bar on the floor, seated
# against the bench): how conventional deadlifts start, where the team simulator's all start
# standing with the bar in hand.
SET_UP_SHARE = 0.5
# A mistake's shape (`draw_mistake_shape`): the components that make it what its label says, as
# `motion._bottom_targets` names them, vary less than the ones that come with it.
DEFINING_COMPONENTS: dict[str, tuple[str, ...]] = {
    "rounded_back": ("thoracic",),
    "lumbar_flexion": ("lumbar",),
    "hyperextension": ("top_lean", "top_lumbar"),
    "squatting": ("knee",),
    "hips_not_back": ("thigh", "top_lean"),
}
DEFINING_SCALE = (0.75, 1.25)
OTHER_SCALE = (0.0, 2.0)
SPINE_ONSET = (0.5, 2.0)  # exponent on the spine's flexion time course (log-uniform)
SEGMENT_SPREAD = (0.15, 0.20)
HIDDEN_LEG = ("knee", "ankle", "heel", "toe", "small_toe")

# truth_recordings.csv: one row per set, every randomised parameter (null where it does not apply).
REGIME_COLUMNS: dict[str, pl.DataType] = {
    "recording_id": pl.String,
    "exercise": pl.String,
    "format": pl.String,
    "variant": pl.String,  # world/image (mediapipe), BODY_25/COCO_18, m/mm (trc), dot/generic (imu)
    "side": pl.String,
    "n_reps": pl.Int64,
    "duration_s": pl.Float64,
    "sample_rate_hz": pl.Float64,
    # body
    "sex": pl.String,
    "stature_m": pl.Float64,
    "segment_spread": pl.Float64,
    **{f"scale_{f.name}": pl.Float64 for f in fields(Anthropometry) if f.name != "stature_m"},
    "knee_asymmetry_deg": pl.Float64,
    "depth_scale": pl.Float64,
    "fatigue": pl.Float64,
    # set and tempo
    "lead_in_s": pl.Float64,
    "lead_out_s": pl.Float64,
    "fidget": pl.Boolean,
    "sway_deg": pl.Float64,
    "heading_drift_deg": pl.Float64,
    "body_roll_deg": pl.Float64,
    "gaze_deg": pl.Float64,
    "starts_at_bottom": pl.Boolean,  # filmed from the set-up: the first rep is its pull alone
    "eccentric_s": pl.Float64,  # the set's base tempo; each rep varies by tempo_cv
    "concentric_s": pl.Float64,
    "tempo_cv": pl.Float64,
    "top_pause_s": pl.Float64,
    "bottom_pause_s": pl.Float64,
    "touch_and_go": pl.Boolean,
    "isometric_reps": pl.Int64,
    "partial_reps": pl.Int64,
    "min_range_of_motion": pl.Float64,
    "depth_sd": pl.Float64,
    "lean_back_reps": pl.Int64,
    "mistake_reps": pl.Int64,
    "profile_order": pl.Int64,
    "eccentric_skew": pl.Float64,
    "concentric_skew": pl.Float64,
    # pose: camera and estimator
    "view": pl.String,  # side (|yaw| < 10 deg), oblique, or end_on (50 deg or more)
    "camera_side": pl.String,  # the athlete's side the camera stands on
    "facing": pl.String,  # image_left / image_right
    "camera_yaw_deg": pl.Float64,
    "camera_roll_deg": pl.Float64,
    "camera_pitch_deg": pl.Float64,
    "camera_distance_m": pl.Float64,
    "portrait": pl.Boolean,
    "image_size_columns": pl.Boolean,
    "dropped_fraction": pl.Float64,
    "noise_white_m": pl.Float64,
    "noise_drift_m": pl.Float64,
    "noise_drift_hz": pl.Float64,
    "noise_depth_factor": pl.Float64,
    "spike_rate": pl.Float64,
    "spike_max_m": pl.Float64,
    "swap_windows": pl.Int64,
    "dropout_rate": pl.Float64,
    "hidden_leg": pl.Boolean,
    "hidden_visibility_lo": pl.Float64,
    "hidden_visibility_hi": pl.Float64,
    "hidden_jitter_m": pl.Float64,
    "hidden_pull": pl.Float64,
    # IMU
    "placements": pl.String,
    "n_sensors": pl.Int64,
    "hinge_pair": pl.Boolean,  # a trunk sensor and a thigh sensor: the hip angle is measurable
    "quaternions": pl.Boolean,
    "accelerometer_only": pl.String,
    "gyro_deg_s": pl.Boolean,
    "mounting": pl.String,  # aligned (<= 20 deg) or any (uniform over all orientations)
    "upside_down": pl.Int64,  # sensors whose own up axis points more than 90 deg from the world's
    "global_heading_deg": pl.Float64,
    "packet_loss": pl.Float64,
    "acc_white": pl.Float64,
    "acc_bias": pl.Float64,
    "gyr_white": pl.Float64,
    "gyr_bias": pl.Float64,
    "gyr_random_walk": pl.Float64,
    "gyr_low_freq": pl.Float64,
    "gyr_low_hz": pl.Float64,
    "quat_heading_drift_deg_min": pl.Float64,
    "quat_tilt_noise_deg": pl.Float64,
    "quat_tilt_wander_deg": pl.Float64,
}
REP_REGIME_COLUMNS: dict[str, pl.DataType] = {
    "recording_id": pl.String,
    "rep": pl.Int64,
    "label": pl.String,
    "eccentric_s": pl.Float64,
    "bottom_pause_s": pl.Float64,
    "concentric_s": pl.Float64,
    "top_pause_s": pl.Float64,
    "isometric": pl.Boolean,
    "range_of_motion": pl.Float64,
    "lean_back_deg": pl.Float64,
}


# --------------------------------------------------------------------------- regime
@dataclass(frozen=True)
class EstimatorNoise:
    """Pose-estimator error model, in metres at the athlete (pixels = metres x pixels per metre)."""

    white_m: float = 0.0  # white jitter SD per axis
    drift_m: float = 0.0  # RMS of band-limited wander (below drift_hz)
    drift_hz: float = 0.5
    depth_factor: float = 1.0  # world landmarks: the axis away from the lens is this much noisier
    spike_rate: float = 0.0  # per landmark and frame; a spike lasts 1-3 frames
    spike_max_m: float = 0.1  # spikes displace 3 cm to this far
    swap_windows: int = 0  # short left/right label swaps of every pair
    dropout_rate: float = 0.0  # chance per landmark of a 3-10 frame low-confidence stretch
    hidden_leg: bool = False  # the far leg (knee, ankle, heel, toes) is hidden in the view
    hidden_visibility: tuple[float, float] = (0.1, 0.4)
    hidden_jitter_m: float = 0.0
    hidden_pull: float = 0.0  # hidden landmark drawn this fraction towards the visible leg's
    confidence_spread: bool = True  # False: every confidence a constant 0.9 (noise-free checks)


@dataclass(frozen=True)
class PoseView:
    """The camera and estimator of a pose recording."""

    side: float  # +1 camera on the athlete's right, -1 on the left
    yaw_deg: float = 0.0
    roll_deg: float = 0.0
    distance_m: float = 3.0
    height_offset_m: float | None = None  # lens above the framing centre; None = level (no pitch)
    portrait: bool = False
    fill: float = 0.85
    noise: EstimatorNoise = field(default_factory=EstimatorNoise)
    dropped_fraction: float = 0.0
    variant: str = "world"  # mediapipe world/image; openpose BODY_25/COCO_18; trc m/mm
    image_size_columns: bool = True
    lab_heading_deg: float = 0.0  # trc/c3d: the athlete's heading in the lab


@dataclass(frozen=True)
class ImuNoise:
    """MEMS error terms per sensor (IEEE Std 952-1997 names; magnitudes of consumer to research
    grade sensors, Woodman 2007)."""

    acc_white: float = 0.0  # m/s^2 SD per sample
    acc_bias: float = 0.0  # m/s^2, |bias| per axis at most
    gyr_white: float = 0.0  # rad/s SD per sample
    gyr_bias: float = 0.0  # rad/s, |bias| per axis at most
    gyr_random_walk: float = 0.0  # rad/s per sqrt(s): bias instability as a random walk
    gyr_low_freq: float = 0.0  # rad/s RMS of band-limited (< gyr_low_hz) drift, e.g. temperature
    gyr_low_hz: float = 0.1
    quat_heading_drift_deg_min: float = 0.0  # |heading drift| of the fusion output, deg per minute
    quat_tilt_noise_deg: float = 0.0  # white tilt error SD
    quat_tilt_wander_deg: float = 0.0  # slow tilt error RMS (fusion filter under motion)


@dataclass(frozen=True)
class ImuSetup:
    placements: tuple[str, ...]
    mountings: dict[str, np.ndarray]
    quaternions: bool = True
    accelerometer_only: tuple[str, ...] = ()
    gyro_deg_s: bool = False
    layout: str = "generic"  # generic | dot
    noise: ImuNoise = field(default_factory=ImuNoise)
    packet_loss: float = 0.0
    global_heading_deg: float = 0.0
    mounting: str = "any"


@dataclass
class SetRegime:
    """Everything drawn for one set: what the athlete does, who they are, how it is recorded."""

    exercise: str
    fmt: str
    plan: SetPlan
    body: Anthropometry
    sample_rate_hz: float
    view: PoseView | None = None
    imu: ImuSetup | None = None
    record: dict[str, object] = field(default_factory=dict)  # flat REGIME_COLUMNS values


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def draw_body(rng: np.random.Generator) -> tuple[Anthropometry, dict[str, object]]:
    """Stature, sex and per-segment length factors (module docstring)."""
    sex = "female" if rng.random() < 0.5 else "male"
    spread = float(rng.uniform(*SEGMENT_SPREAD))
    names = [f.name for f in fields(Anthropometry) if f.name != "stature_m"]
    scales = {name: float(rng.uniform(1 - spread, 1 + spread)) for name in names}
    if sex == "female":
        scales["hip_width"] *= 1.12
        scales["shoulder_width"] *= 0.93
    body = Anthropometry(float(rng.uniform(1.5, 2.0)), **scales)
    record: dict[str, object] = {"sex": sex, "stature_m": body.stature_m, "segment_spread": spread}
    record |= {f"scale_{k}": v for k, v in scales.items()}
    return body, record


def draw_mistake_shape(rng: np.random.Generator, label: str) -> dict[str, object]:
    """A mistake rep's own shape (`motion.RepPlan` fields): the components that define its label
    (`DEFINING_COMPONENTS`) scaled by 0.75-1.25, every other component of the change by 0-2 (on
    average as the team simulator draws it, but one athlete's rounded back comes with a trunk that
    drops, another's without), and the spine giving way early or late in the descent (exponent
    0.5-2, log-uniform). A model that learnt one simulator's coupling of a mistake's signs fails on
    another's (issue: macro-F1 0.90 -> 0.44 on an independently built generator)."""
    defining = DEFINING_COMPONENTS.get(label, ())
    scales = {
        part: float(rng.uniform(*(DEFINING_SCALE if part in defining else OTHER_SCALE)))
        for part in MISTAKE_COMPONENTS
    }
    return {"mistake_scales": scales, "spine_onset": _log_uniform(rng, *SPINE_ONSET)}


def draw_plan(
    rng: np.random.Generator,
    exercise: str,
    max_reps: int = 12,
    shapes: np.random.Generator | None = None,
    styles: np.random.Generator | None = None,
    set_ups: np.random.Generator | None = None,
) -> tuple[SetPlan, dict[str, object], list[dict]]:
    """The set's motion: 1-``max_reps`` reps with their own tempo, depth, lean-back and label.
    ``shapes``: the stream mistake shapes are drawn from (`draw_mistake_shape`); None keeps every
    mistake at the team simulator's shape. ``styles``: the stream the athlete's style is drawn from
    (where they look, `GAZE_DEG`); None keeps the team simulator's neutral head. ``set_ups``: the
    stream that films a deadlift or hip thrust from its set-up (`SET_UP_SHARE`); None starts every
    set standing."""
    swing, supine = EXERCISE_PROFILES[exercise].swing, EXERCISE_PROFILES[exercise].supine
    n_reps = int(rng.integers(1, max_reps + 1))
    phase = SWING_PHASE_S if swing else PHASE_S
    ecc_base, con_base = _log_uniform(rng, *phase), _log_uniform(rng, *phase)
    tempo_cv = float(rng.uniform(0.0, 0.2))
    touch_and_go = bool(rng.random() < 0.2)
    top_base = 0.0 if touch_and_go else float(rng.uniform(0.0, 0.5 if swing else 3.0))
    bottom_base = 0.0 if touch_and_go else float(rng.uniform(0.0, 0.1 if swing else 3.0))
    isometric = set()
    if not swing and not touch_and_go and rng.random() < 0.12:
        # A few reps of the set held 10-20 s at the bottom (bounded so a set stays minutes long).
        isometric = set(rng.choice(n_reps, size=min(n_reps, int(rng.integers(1, 4))), replace=False).tolist())
    partial_share = float(rng.uniform(0.2, 1.0)) if rng.random() < 0.3 else 0.0
    lean_share = float(rng.uniform(0.2, 1.0)) if rng.random() < 0.3 else 0.0
    mistake_share = float(rng.uniform(0.0, 0.6)) if rng.random() < 0.6 else 0.0
    depth_sd = float(rng.uniform(0.0, 0.1))
    order = int(rng.choice([3, 5, 5, 7]))
    ecc_skew, con_skew = float(rng.uniform(0.7, 1.5)), float(rng.uniform(0.6, 1.4))
    reps, rep_rows = [], []
    for k in range(n_reps):
        # Each rep's tempo scatters log-normally about the set's (coefficient of variation tempo_cv).
        ecc = float(np.clip(ecc_base * np.exp(rng.normal(0.0, tempo_cv)), *phase))
        con = float(np.clip(con_base * np.exp(rng.normal(0.0, tempo_cv)), *phase))
        top = 0.0 if touch_and_go else float(np.clip(top_base * rng.uniform(0.7, 1.3), 0.0, 3.0))
        bottom = 0.0 if touch_and_go else float(np.clip(bottom_base * rng.uniform(0.7, 1.3), 0.0, 3.0))
        drift = 0.0
        if k in isometric:
            bottom, drift = float(rng.uniform(*ISOMETRIC_S)), float(rng.uniform(0.02, 0.08))
        partial = rng.random() < partial_share
        rom = (
            float(rng.uniform(*PARTIAL_ROM))
            if partial
            else float(np.clip(rng.normal(1.0, depth_sd), 0.75, 1.15))
        )
        lean = float(rng.uniform(*LEAN_BACK_DEG)) if rng.random() < lean_share else 0.0
        if rng.random() < mistake_share:
            # One label per rep: a rep with another mistake locks out upright.
            label, severity, lean = str(rng.choice(MISTAKES)), float(rng.uniform(0.3, 1.0)), 0.0
        elif lean:
            # Leaning back past standing at lockout is SPEC.md's `hyperextension`, not a good rep.
            label, severity = "hyperextension", min(1.0, lean / LEAN_BACK_DEG[1])
        else:
            label, severity = "good", 0.0
        shape = (
            draw_mistake_shape(shapes, label) if shapes is not None and label != "good" and not lean else {}
        )
        shape_ecc = PhaseShape(order, float(np.clip(ecc_skew * rng.uniform(0.9, 1.1), 0.6, 1.7)))
        shape_con = PhaseShape(order, float(np.clip(con_skew * rng.uniform(0.9, 1.1), 0.6, 1.7)))
        reps.append(
            RepPlan(
                label,
                severity,
                eccentric_s=ecc,
                bottom_pause_s=bottom,
                concentric_s=con,
                top_pause_s=top,
                range_of_motion=rom,
                lean_back_deg=lean,
                eccentric_shape=shape_ecc,
                concentric_shape=shape_con,
                hold_drift=drift,
                **shape,
            )
        )
        rep_rows.append(
            {
                "rep": k + 1,
                "label": label,
                "eccentric_s": ecc,
                "bottom_pause_s": bottom,
                "concentric_s": con,
                "top_pause_s": top,
                "isometric": k in isometric,
                "range_of_motion": rom,
                "lean_back_deg": lean,
            }
        )
    side = str(rng.choice(["left", "right"])) if exercise == "single_leg_rdl" else None
    # (drawn for every set, so one exercise's draw never shifts another's)
    set_up_draw = set_ups.random() if set_ups is not None else 1.0
    from_set_up = exercise in BOTTOM_START_EXERCISES and set_up_draw < SET_UP_SHARE
    if from_set_up:
        # The first rep is its pull: no way down, and the set-up hold (the lead-in) is its pause.
        # It starts where the bar rests on the floor (the hips on it, in a hip thrust): full depth.
        full = max(reps[0].range_of_motion, 1.0)
        rep_rows[0].update(eccentric_s=None, bottom_pause_s=0.0, isometric=False, range_of_motion=full)
        reps[0] = replace(reps[0], hold_drift=0.0, range_of_motion=full)
        isometric.discard(0)
    asymmetric = rng.random() < 0.25
    lead_in, lead_out = float(rng.uniform(0.5, 4.0)), float(rng.uniform(0.5, 4.0))
    plan = SetPlan(
        exercise=exercise,
        reps=reps,
        stance_side=side,
        knee_asymmetry_deg=float(
            rng.choice([-1, 1]) * rng.uniform(8, 14) if asymmetric else rng.normal(0.0, 1.5)
        ),
        depth_scale=float(rng.uniform(0.85, 1.1)),
        fatigue=float(rng.uniform(0.0, 1.0)),
        # A shuffle needs standing time before the first rep, or the rep would start mid-shuffle.
        fidget=bool(rng.random() < 0.4) if lead_in >= 1.5 else False,
        lead_in_s=lead_in,
        lead_out_s=lead_out,
        sway_deg=float(rng.uniform(0.2, 1.5)),
        heading_deg=float(rng.uniform(0.0, 6.0)),
        roll_deg=float(rng.uniform(0.0, 4.0)),
        # (a hip thrust's head rests on the bench)
        gaze_deg=0.0 if styles is None or supine else float(styles.uniform(*GAZE_DEG)),
        starts_at_bottom=from_set_up,
    )
    record: dict[str, object] = {
        "side": side,
        "n_reps": n_reps,
        "knee_asymmetry_deg": plan.knee_asymmetry_deg,
        "depth_scale": plan.depth_scale,
        "fatigue": plan.fatigue,
        "lead_in_s": lead_in,
        "lead_out_s": lead_out,
        "fidget": plan.fidget,
        "sway_deg": plan.sway_deg,
        "heading_drift_deg": plan.heading_deg,
        "body_roll_deg": plan.roll_deg,
        "gaze_deg": plan.gaze_deg,
        "starts_at_bottom": from_set_up,
        "eccentric_s": ecc_base,
        "concentric_s": con_base,
        "tempo_cv": tempo_cv,
        "top_pause_s": top_base,
        "bottom_pause_s": bottom_base,
        "touch_and_go": touch_and_go,
        "isometric_reps": len(isometric),
        "partial_reps": sum(r["range_of_motion"] < 0.72 for r in rep_rows),
        "min_range_of_motion": min(r["range_of_motion"] for r in rep_rows),
        "depth_sd": depth_sd,
        "lean_back_reps": sum(r["lean_back_deg"] > 0 for r in rep_rows),
        "mistake_reps": sum(r["label"] != "good" for r in rep_rows),
        "profile_order": order,
        "eccentric_skew": ecc_skew,
        "concentric_skew": con_skew,
    }
    return plan, record, rep_rows


def draw_view(rng: np.random.Generator, fmt: str, exercise: str, views: str = "side") -> PoseView:
    """Camera placement, frame drops and estimator noise for a pose recording; ``views`` names the
    cameras' angles off the side (`CAMERA_VIEWS`)."""
    supine = EXERCISE_PROFILES[exercise].supine
    share, (least, most) = CAMERA_VIEWS[views]
    oblique = rng.random() < share
    yaw = float(rng.choice([-1, 1]) * rng.uniform(least, most)) if oblique else float(rng.normal(0.0, 3.0))
    roll = float(rng.uniform(-10.0, 10.0)) if rng.random() < 0.5 else float(rng.normal(0.0, 1.0))
    # Seen from the front or back, neither leg stands behind the other.
    hidden = rng.random() < (0.4 if oblique else 0.7) and abs(yaw) < CAMERA_VIEWS["end_on"][1][0]
    lo = float(rng.uniform(0.1, 0.2) if not oblique else rng.uniform(0.2, 0.35))
    hi = float(rng.uniform(0.3, 0.4) if not oblique else rng.uniform(0.45, 0.6))
    optical = fmt == "c3d" or (fmt == "trc" and rng.random() < 0.3)
    noise = EstimatorNoise(
        white_m=_log_uniform(rng, 0.0005, 0.002) if optical else _log_uniform(rng, 0.002, 0.02),
        drift_m=float(rng.uniform(0.005, 0.03)) if not optical and rng.random() < 0.5 else 0.0,
        drift_hz=float(rng.uniform(0.1, 1.0)),
        depth_factor=float(rng.uniform(1.0, 3.0)),
        spike_rate=_log_uniform(rng, 1e-4, 5e-3) if not optical and rng.random() < 0.5 else 0.0,
        spike_max_m=float(rng.uniform(0.05, 0.15)),
        swap_windows=int(rng.choice([0, 0, 1, 2, 3])) if not optical else 0,
        dropout_rate=float(rng.uniform(0.0, 0.3)),
        # Several cameras (Pose2Sim) or optical markers see both legs.
        hidden_leg=bool(hidden) and fmt not in ("trc", "c3d"),
        hidden_visibility=(lo, hi),
        hidden_jitter_m=float(rng.uniform(0.02, 0.06)),
        hidden_pull=float(rng.uniform(0.0, 0.5)),
    )
    variant = {
        "mediapipe_csv": "world" if rng.random() < 0.5 else "image",
        "openpose_json": "BODY_25" if rng.random() < 0.6 else "COCO_18",
        "coco17_json": "mmpose",
        "trc": "mm" if optical else "m",
        "c3d": "mm",
    }[fmt]
    drops = fmt != "c3d" and rng.random() < 0.5
    return PoseView(
        side=1.0 if rng.random() < 0.5 else -1.0,
        yaw_deg=yaw,
        roll_deg=roll,
        distance_m=float(rng.uniform(2.0, 5.0)),
        height_offset_m=float(rng.uniform(-0.4, 0.6)),
        portrait=(not supine) and bool(rng.random() < 0.5),
        fill=float(rng.uniform(0.6, 0.95)),
        noise=noise,
        dropped_fraction=float(rng.uniform(0.005, 0.1)) if drops else 0.0,
        variant=variant,
        image_size_columns=bool(rng.random() < 0.5),
        lab_heading_deg=float(rng.uniform(0.0, 360.0)),
    )


def uniform_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation drawn uniformly over all orientations (Shoemake, "Uniform random rotations",
    Graphics Gems III, 1992): a unit quaternion from three uniform numbers."""
    u1, u2, u3 = rng.random(3)
    q = np.array(
        [
            np.sqrt(u1) * np.cos(2 * np.pi * u3),
            np.sqrt(1 - u1) * np.sin(2 * np.pi * u2),
            np.sqrt(1 - u1) * np.cos(2 * np.pi * u2),
            np.sqrt(u1) * np.sin(2 * np.pi * u3),
        ]
    )
    return quat_matrix(q[None, :])[0]


def draw_imu(rng: np.random.Generator, placements: tuple[str, ...] | None = None) -> ImuSetup:
    """Sensors (``placements``, or a random subset), their mounting, channels, file layout and
    error terms."""
    n = int(rng.integers(1, len(BODY_PLACEMENTS) + 1))
    chosen = set(rng.choice(BODY_PLACEMENTS, n, replace=False).tolist())
    chosen = set(placements) if placements else chosen
    placements = tuple(p for p in BODY_PLACEMENTS if p in chosen)
    mounting = "any" if rng.random() < 0.6 else "aligned"
    mountings = {
        p: uniform_rotation(rng) if mounting == "any" else imu.random_mounting(rng, 20.0, permute=False)
        for p in placements
    }
    quaternions = bool(rng.random() < 0.5)
    acc_only = tuple(p for p in placements if rng.random() < 0.2)
    layout = "dot" if quaternions and not acc_only and rng.random() < 0.4 else "generic"
    noise = ImuNoise(
        acc_white=_log_uniform(rng, 0.005, 0.08),
        acc_bias=float(rng.uniform(0.0, 0.3)),
        gyr_white=_log_uniform(rng, 0.002, 0.03),
        gyr_bias=float(rng.uniform(0.0, 0.05)),
        gyr_random_walk=_log_uniform(rng, 5e-5, 2e-3),
        gyr_low_freq=float(rng.uniform(0.0, 0.02)) if rng.random() < 0.5 else 0.0,
        gyr_low_hz=float(rng.uniform(0.05, 0.5)),
        quat_heading_drift_deg_min=float(rng.uniform(0.0, 5.0)),
        quat_tilt_noise_deg=float(rng.uniform(0.1, 1.0)),
        quat_tilt_wander_deg=float(rng.uniform(0.0, 2.0)),
    )
    return ImuSetup(
        placements=placements,
        mountings=mountings,
        quaternions=quaternions,
        accelerometer_only=acc_only,
        gyro_deg_s=layout == "generic" and bool(rng.random() < 0.3),
        layout=layout,
        noise=noise,
        packet_loss=float(rng.uniform(0.002, 0.02)) if rng.random() < 0.3 else 0.0,
        global_heading_deg=float(rng.uniform(0.0, 360.0)),
        mounting=mounting,
    )


def draw_regime(
    rng: np.random.Generator,
    exercise: str,
    fmt: str,
    max_reps: int = 12,
    imu_placements: tuple[str, ...] | None = None,
    shapes: np.random.Generator | None = None,
    styles: np.random.Generator | None = None,
    set_ups: np.random.Generator | None = None,
    views: str = "side",
) -> SetRegime:
    """One set's every random choice (the order of draws is part of the seed's meaning); mistake
    shapes, the athlete's style and set-ups come from their own streams ``shapes``, ``styles`` and
    ``set_ups`` (`draw_plan`); ``views``: where pose cameras stand (`CAMERA_VIEWS`)."""
    body, body_record = draw_body(rng)
    plan, plan_record, rep_rows = draw_plan(rng, exercise, max_reps, shapes, styles, set_ups)
    if fmt == "imu_csv":
        rate = float(rng.choice(IMU_RATES))
        setup = draw_imu(rng, imu_placements)
        return SetRegime(
            exercise,
            fmt,
            plan,
            body,
            rate,
            imu=setup,
            record={**body_record, **plan_record, "_reps": rep_rows},
        )
    if fmt == "c3d":
        rate = float(rng.choice([100.0, 120.0, 150.0, 200.0]))
    elif rng.random() < 0.75:
        rate = float(rng.choice(POSE_RATES))
    else:
        rate = round(float(rng.uniform(15.0, 120.0)), 2)
    view = draw_view(rng, fmt, exercise, views)
    return SetRegime(
        exercise, fmt, plan, body, rate, view=view, record={**body_record, **plan_record, "_reps": rep_rows}
    )


# --------------------------------------------------------------------------- noise
def band_limited(rng: np.random.Generator, n: int, rate_hz: float, corner_hz: float, dims: int) -> np.ndarray:
    """(n, dims) Gaussian noise of unit RMS per column whose spectrum falls off above ``corner_hz``
    (second-order Butterworth magnitude, shaped in the frequency domain)."""
    white = rng.normal(size=(n, dims))
    if n < 4:
        return white
    freq = np.fft.rfftfreq(n, 1.0 / rate_hz)
    spectrum = np.fft.rfft(white, axis=0) / np.sqrt(1.0 + (freq / corner_hz) ** 4)[:, None]
    x = np.fft.irfft(spectrum, n=n, axis=0)
    return x / np.maximum(x.std(axis=0), 1e-12)


def _spikes(
    rng: np.random.Generator, n: int, dims: int, rate: float, scale: tuple[float, float]
) -> np.ndarray:
    """Outliers of 1-3 frames in random directions (a detector locking onto the wrong blob)."""
    out = np.zeros((n, dims))
    for start in np.flatnonzero(rng.random(n) < rate):
        direction = rng.normal(size=dims)
        direction /= np.linalg.norm(direction)
        out[start : start + int(rng.integers(1, 4))] += direction * rng.uniform(*scale)
    return out


def estimator_noise(
    points: dict[str, np.ndarray],
    rate_hz: float,
    spec: EstimatorNoise,
    rng: np.random.Generator,
    far_side: str | None,
    unit: float = 1.0,
    axes: np.ndarray | None = None,
    confidence: tuple[float, float, float, float] = (0.95, 0.03, 0.75, 0.1),
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Noisy positions and confidences of ``points`` ((n, d) each, metres x ``unit``).

    ``axes`` (rows: image right, down, away from the lens) turns 3-D noise into the camera's frame,
    where depth is the noisiest axis (``depth_factor``). ``far_side`` names the side of the body
    away from the camera: lower confidence there, and the hidden-leg model when ``spec.hidden_leg``.
    ``confidence`` = (mean, SD) near side, (mean, SD) far side.
    """
    noisy, conf = {}, {}
    names = list(points)
    for name in names:
        p = points[name]
        n, d = p.shape
        scale = np.ones(d)
        if d == 3 and axes is not None:
            scale = np.array([1.0, 1.0, spec.depth_factor])
        e = rng.normal(size=(n, d)) * spec.white_m * scale
        if spec.drift_m:
            e = e + band_limited(rng, n, rate_hz, spec.drift_hz, d) * spec.drift_m * scale
        if spec.spike_rate:
            e = e + _spikes(rng, n, d, spec.spike_rate, (0.03, spec.spike_max_m))
        if d == 3 and axes is not None:
            e = e @ axes  # camera-frame error -> body frame
        far = far_side is not None and name.endswith("_" + far_side)
        mean, sd = confidence[2:] if far else confidence[:2]
        c = np.clip(rng.normal(mean, sd, n), 0.02, 0.99)
        if spec.dropout_rate and rng.random() < spec.dropout_rate:
            start = int(rng.integers(0, max(n - 10, 1)))
            stop = start + int(rng.integers(3, 11))
            c[start:stop] = rng.uniform(0.05, 0.3)
            e[start:stop] += rng.normal(0.0, 2 * max(spec.white_m, 0.003), e[start:stop].shape)
        if not spec.confidence_spread:
            c = np.full(n, 0.9)
        q = p + e * unit
        if spec.hidden_leg and far and name.rsplit("_", 1)[0] in HIDDEN_LEG:
            partner = points.get(name.rsplit("_", 1)[0] + ("_right" if far_side == "left" else "_left"))
            if partner is not None:
                q = q + spec.hidden_pull * (partner - p)
            q = q + unit * spec.hidden_jitter_m * (
                rng.normal(size=(n, d)) + band_limited(rng, n, rate_hz, 1.0, d)
            )
            lo, hi = spec.hidden_visibility
            c = np.clip(rng.uniform(lo, hi) + 0.08 * band_limited(rng, n, rate_hz, 0.5, 1)[:, 0], 0.02, 0.6)
        noisy[name], conf[name] = q, c
    writers.swap_sides(noisy, conf, rng, spec.swap_windows, max_frames=6)
    return noisy, conf


def imu_noise(
    signal: imu.ImuSignals, rate_hz: float, spec: ImuNoise, rng: np.random.Generator
) -> imu.ImuSignals:
    """``signal`` with the error terms of ``spec`` (accelerometer and gyroscope in the sensor frame,
    orientation errors applied in the global frame, as a fusion filter's output drifts)."""
    n = len(signal.acc)
    dt = 1.0 / rate_hz
    acc = signal.acc + rng.normal(0.0, spec.acc_white, (n, 3)) + rng.uniform(-1, 1, 3) * spec.acc_bias
    walk = np.cumsum(rng.normal(0.0, spec.gyr_random_walk * np.sqrt(dt), (n, 3)), axis=0)
    gyr = (
        signal.gyr
        + rng.normal(0.0, spec.gyr_white, (n, 3))
        + rng.uniform(-1, 1, 3) * spec.gyr_bias
        + walk
        + band_limited(rng, n, rate_hz, spec.gyr_low_hz, 3) * spec.gyr_low_freq
    )
    t = np.arange(n) * dt
    yaw = np.radians(rng.uniform(-1, 1) * spec.quat_heading_drift_deg_min / 60.0) * t
    tilt = np.radians(
        rng.normal(0.0, spec.quat_tilt_noise_deg, (n, 2))
        + band_limited(rng, n, rate_hz, 0.3, 2) * spec.quat_tilt_wander_deg
    )
    error = _axis_rotation(2, yaw) @ _axis_rotation(0, tilt[:, 0]) @ _axis_rotation(1, tilt[:, 1])
    quat = imu.rotation_to_quaternion(error @ signal.rotation)
    return imu.ImuSignals(acc, gyr, quat, signal.rotation, signal.segment_tilt_deg)


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations by ``angle`` (rad) about coordinate axis 0, 1 or 2."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((len(angle), 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[:, axis, axis] = 1.0
    out[:, i, i], out[:, j, j], out[:, i, j], out[:, j, i] = c, c, -s, s
    return out


def _keep_mask(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """Frames (or packets) that arrived: bursts of 1-4 lost, never the first or the last, whose
    times define the recording's start and end."""
    keep = np.ones(n, dtype=bool)
    if fraction <= 0 or n < 4:
        return keep
    target = int(round(fraction * n))
    while (~keep).sum() < target:
        start = int(rng.integers(1, n - 1))
        keep[start : min(start + int(rng.integers(1, 5)), n - 1)] = False
    return keep


# --------------------------------------------------------------------------- rendering
def _every(pose: Pose, k: int) -> Pose:
    """Every k-th instant of a pose (the recording's samples of the finely simulated body)."""
    return replace(
        pose,
        **{
            f.name: getattr(pose, f.name)[::k]
            for f in fields(pose)
            if isinstance(getattr(pose, f.name), np.ndarray)
        },
    )


def simulate_body(regime: SetRegime, rng: np.random.Generator) -> tuple[np.ndarray, Pose, int, list[dict]]:
    """The set's motion at a fine rate (an integer multiple k of the recording's rate) and the
    truth rows: boundaries from the plan, peak angles from the noise-free body at the fine rate."""
    k = max(1, math.ceil(FINE_RATE_HZ / regime.sample_rate_hz))
    time_fine, pose_fine, truth = simulate_set(regime.plan, regime.sample_rate_hz * k, rng)
    points = forward_kinematics(pose_fine, regime.body)
    rows = truth_from_points(
        points,
        time_fine,
        truth.t_start_s,
        truth.t_bottom_s,
        truth.t_end_s,
        stance_side=regime.plan.stance_side,
        pose=pose_fine,
    )
    for row, rep in zip(rows, regime.plan.reps, strict=True):
        row.update(label=rep.label, severity=rep.severity)
    return time_fine, pose_fine, k, rows


def _far_side(side: float) -> str:
    return "left" if side > 0 else "right"  # a camera on the athlete's right sees the left leg less


def write_set(
    out_dir: Path, recording_id: str, regime: SetRegime, rng: np.random.Generator
) -> tuple[str, float | None, list[dict]]:
    """Simulate and write one set; returns (path relative to ``out_dir``, manifest sample_rate_hz,
    truth rows). Fills ``regime.record`` with the rendering facts (duration, drops, variant)."""
    time_fine, pose_fine, k, truth = simulate_body(regime, rng)
    time_s = time_fine[::k]
    pose = _every(pose_fine, k)
    regime.record.update(duration_s=float(time_s[-1]), sample_rate_hz=regime.sample_rate_hz)
    folder = out_dir / "recordings"
    if regime.imu is not None:
        return _write_imu(folder, recording_id, regime, time_fine, pose_fine, k, rng), None, truth
    view = regime.view
    assert view is not None
    world = rotate_heading(forward_kinematics(pose, regime.body), pose.heading_deg)
    keep = _keep_mask(rng, len(time_s), view.dropped_fraction)
    frames = np.flatnonzero(keep)
    regime.record.update(
        variant=view.variant,
        dropped_fraction=float(1 - keep.mean()),
        **_view_record(view),
    )
    fmt, noise = regime.fmt, view.noise
    if fmt in ("trc", "c3d"):
        lab = writers.lab_frame(world, view.lab_heading_deg, rng.uniform(-1.0, 1.0, 2))
        noisy, _ = estimator_noise(lab, regime.sample_rate_hz, noise, rng, None)
        noisy = {name: p[keep] for name, p in noisy.items()}
        if fmt == "trc":
            path = folder / f"{recording_id}.trc"
            writers.write_trc(path, time_s[keep], noisy, units=view.variant, frame_numbers=frames)
        else:
            path = folder / f"{recording_id}.c3d"
            writers.write_c3d(path, time_s, noisy)
        return f"recordings/{path.name}", None, truth
    camera = framed_camera(
        world,
        view.side,
        view.yaw_deg,
        view.roll_deg,
        view.distance_m,
        None if view.height_offset_m is None else _centre_height(world) + view.height_offset_m,
        view.portrait,
        view.fill,
    )
    regime.record["camera_pitch_deg"] = _pitch_deg(camera)
    far = _far_side(view.side)
    if fmt == "mediapipe_csv" and view.variant == "world":
        noisy, vis = estimator_noise(
            world,
            regime.sample_rate_hz,
            noise,
            rng,
            far,
            axes=camera.rotation(),
            confidence=(0.95, 0.03, 0.8, 0.1),
        )
        noisy = {name: p[keep] for name, p in noisy.items()}
        vis = {name: c[keep] for name, c in vis.items()}
        path = folder / f"{recording_id}.csv"
        writers.write_mediapipe_csv(path, time_s[keep], noisy, vis, camera=camera)
        return f"recordings/{path.name}", None, truth
    uv, depth, conf = _image_points(world, camera, regime, rng, far)
    uv = {name: p[keep] for name, p in uv.items()}
    depth = {name: p[keep] for name, p in depth.items()}
    conf = {name: c[keep] for name, c in conf.items()}
    if fmt == "mediapipe_csv":
        path = folder / f"{recording_id}.csv"
        writers.write_mediapipe_image_csv(
            path,
            time_s[keep],
            uv,
            depth,
            conf,
            camera,
            frame_numbers=frames,
            image_size=view.image_size_columns,
        )
        return f"recordings/{path.name}", None, truth
    if fmt == "coco17_json":
        path = folder / f"{recording_id}.json"
        writers.write_coco17_json(path, uv, conf, camera, frame_numbers=frames)
        return f"recordings/{path.name}", regime.sample_rate_hz, truth
    if fmt == "openpose_json":
        writers.write_openpose_json(
            folder / recording_id, recording_id, uv, conf, camera, view.variant, rng, frame_numbers=frames
        )
        return f"recordings/{recording_id}", regime.sample_rate_hz, truth
    raise ValueError(f"the randomised simulator cannot write {fmt}")


def _image_points(
    world: dict[str, np.ndarray], camera: SideCamera, regime: SetRegime, rng: np.random.Generator, far: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Projected landmarks (pixels) with 2-D estimator noise, depths and confidences."""
    assert regime.view is not None
    ext = writers.extended_points(world)
    uv, depth = {}, {}
    for name, p in ext.items():
        uv[name], depth[name] = camera.project(p)
    hip_depth = (depth["hip_left"] + depth["hip_right"]) / 2
    px_per_m = camera.focal_px / float(np.median(hip_depth))
    # MediaPipe's visibility runs higher than OpenPose/MMPose confidences on visible joints.
    confidence = (0.93, 0.04, 0.75, 0.1) if regime.fmt == "mediapipe_csv" else (0.86, 0.06, 0.62, 0.12)
    noisy, conf = estimator_noise(
        uv, regime.sample_rate_hz, regime.view.noise, rng, far, unit=px_per_m, confidence=confidence
    )
    return noisy, depth, conf


def _centre_height(world: dict[str, np.ndarray]) -> float:
    stacked = np.concatenate(list(world.values()))
    return float((stacked[:, 1].min() + stacked[:, 1].max()) / 2)


def _pitch_deg(camera: SideCamera) -> float:
    d = np.asarray(camera.target_m) - np.asarray(camera.position_m)
    return float(np.degrees(np.arctan2(-d[1], np.hypot(d[0], d[2]))))  # positive = looking down


def _view_record(view: PoseView) -> dict[str, object]:
    n = view.noise
    return {
        "view": "end_on" if abs(view.yaw_deg) >= 50 else "oblique" if abs(view.yaw_deg) >= 10 else "side",
        "camera_side": "right" if view.side > 0 else "left",
        "facing": "image_right" if view.side > 0 else "image_left",
        "camera_yaw_deg": view.yaw_deg,
        "camera_roll_deg": view.roll_deg,
        "camera_distance_m": view.distance_m,
        "portrait": view.portrait,
        "image_size_columns": view.image_size_columns,
        "noise_white_m": n.white_m,
        "noise_drift_m": n.drift_m,
        "noise_drift_hz": n.drift_hz,
        "noise_depth_factor": n.depth_factor,
        "spike_rate": n.spike_rate,
        "spike_max_m": n.spike_max_m,
        "swap_windows": n.swap_windows,
        "dropout_rate": n.dropout_rate,
        "hidden_leg": n.hidden_leg,
        "hidden_visibility_lo": n.hidden_visibility[0] if n.hidden_leg else None,
        "hidden_visibility_hi": n.hidden_visibility[1] if n.hidden_leg else None,
        "hidden_jitter_m": n.hidden_jitter_m if n.hidden_leg else None,
        "hidden_pull": n.hidden_pull if n.hidden_leg else None,
    }


def _write_imu(
    folder: Path,
    recording_id: str,
    regime: SetRegime,
    time_fine: np.ndarray,
    pose_fine: Pose,
    k: int,
    rng: np.random.Generator,
) -> str:
    """IMU files: ideal signals at the fine rate, averaged over each output interval (a sensor's
    anti-alias filter) and decimated, then the error terms at the output rate."""
    setup = regime.imu
    assert setup is not None
    ideal = imu.imu_signals(
        time_fine,
        pose_fine,
        regime.body,
        setup.placements,
        mountings=setup.mountings,
        global_heading_deg=setup.global_heading_deg,
        noise=False,
    )
    time_s = time_fine[::k]
    signals = {}
    for placement, s in ideal.items():
        acc = uniform_filter1d(s.acc, k, axis=0, mode="nearest")[::k]
        gyr = uniform_filter1d(s.gyr, k, axis=0, mode="nearest")[::k]
        sampled = imu.ImuSignals(acc, gyr, s.quat[::k], s.rotation[::k], s.segment_tilt_deg[::k])
        signals[placement] = imu_noise(sampled, regime.sample_rate_hz, setup.noise, rng)
    keep = {p: _keep_mask(rng, len(time_s), setup.packet_loss) for p in setup.placements}
    path = folder / recording_id
    if setup.layout == "dot":
        imu.write_imu_dot(path, time_s, signals, rng, keep=keep)
    else:
        imu.write_imu_generic(
            path,
            time_s,
            signals,
            quaternions=setup.quaternions,
            accelerometer_only=setup.accelerometer_only,
            gyro_deg_s=setup.gyro_deg_s,
            keep=keep,
        )
    n = setup.noise
    # A sensor is upside down when its own z axis points below the horizon at the first sample.
    upside = sum(int(ideal[p].rotation[0][2, 2] < 0) for p in setup.placements)
    regime.record.update(
        variant=setup.layout,
        placements=",".join(setup.placements),
        n_sensors=len(setup.placements),
        hinge_pair=bool(
            {"upper_back", "lower_back", "sacrum"} & set(setup.placements)
            and {"thigh_left", "thigh_right"} & set(setup.placements)
        ),
        quaternions=setup.quaternions,
        accelerometer_only=",".join(setup.accelerometer_only),
        gyro_deg_s=setup.gyro_deg_s,
        mounting=setup.mounting,
        upside_down=upside,
        global_heading_deg=setup.global_heading_deg,
        packet_loss=setup.packet_loss,
        acc_white=n.acc_white,
        acc_bias=n.acc_bias,
        gyr_white=n.gyr_white,
        gyr_bias=n.gyr_bias,
        gyr_random_walk=n.gyr_random_walk,
        gyr_low_freq=n.gyr_low_freq,
        gyr_low_hz=n.gyr_low_hz,
        quat_heading_drift_deg_min=n.quat_heading_drift_deg_min,
        quat_tilt_noise_deg=n.quat_tilt_noise_deg,
        quat_tilt_wander_deg=n.quat_tilt_wander_deg,
    )
    return f"recordings/{recording_id}"


# --------------------------------------------------------------------------- batch
def simulate_randomised(
    out_dir: Path,
    n_sets: int = 120,
    seed: int = 0,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    exercises: tuple[str, ...] = EXERCISES,
    max_reps: int = 12,
    imu_placements: tuple[str, ...] | None = None,
    id_prefix: str = "RZ",
    mistake_shapes: bool = True,
    gaze: bool = True,
    views: str = "side",
) -> Path:
    """Write a randomised validation batch into ``out_dir``; returns the manifest path.

    Exercises and formats are each dealt in shuffled rounds (every one once per round), so any
    ``n_sets`` covers them evenly; everything else is drawn per set (module docstring; ``max_reps``
    below 12 only to make small batches quick, e.g. in tests; ``imu_placements`` puts the same
    sensors on every IMU set, e.g. all seven, instead of a random subset; ``id_prefix`` starts every
    athlete and recording id, so two batches can share a lake; ``mistake_shapes`` False draws every
    mistake at the team simulator's shape, the rest of the batch unchanged; ``gaze`` False keeps
    every head neutral, as the team simulator's, the rest unchanged; ``views`` "end_on" films every
    pose set from the front or back, `CAMERA_VIEWS`). Writes ``manifest.csv``, ``truth_reps.csv``,
    ``rep_labels.csv``, ``truth_recordings.csv`` and ``truth_rep_regimes.csv`` next to
    ``recordings/``.
    """
    unknown = set(formats) - set(SUPPORTED_FORMATS)
    if unknown or not formats:
        raise ValueError(f"choose formats from {', '.join(SUPPORTED_FORMATS)} (got {sorted(formats)})")
    if views not in CAMERA_VIEWS:
        raise ValueError(f"choose views from {', '.join(CAMERA_VIEWS)} (got {views!r})")
    bad = set(exercises) - set(EXERCISES)
    if bad or not exercises:
        raise ValueError(f"choose exercises from {', '.join(EXERCISES)} (got {sorted(exercises)})")
    deal = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest, truth, labels, regimes, rep_regimes = [], [], [], [], []
    exercise_deck: list[str] = []
    format_deck: list[str] = []
    for i in range(n_sets):
        if not exercise_deck:
            exercise_deck = [exercises[j] for j in deal.permutation(len(exercises))]
        if not format_deck:
            format_deck = [formats[j] for j in deal.permutation(len(formats))]
        exercise, fmt = exercise_deck.pop(), format_deck.pop()
        athlete_id = f"{id_prefix}{i + 1:04d}"
        recording_id = f"{athlete_id}-{exercise}"
        # Every set draws from streams of its own, so a change to one set (a longer recording draws
        # more noise) leaves the others as they were; mistake shapes, the athlete's style and the
        # set-up have their own, so a seed's bodies, tempi, views and labels are the same with or
        # without them.
        rng, shapes, styles, set_ups = (np.random.default_rng([seed, stream, i]) for stream in range(4))
        shapes = shapes if mistake_shapes else None
        styles = styles if gaze else None
        regime = draw_regime(rng, exercise, fmt, max_reps, imu_placements, shapes, styles, set_ups, views)
        rel_path, rate, rows = write_set(out_dir, recording_id, regime, rng)
        side = regime.plan.stance_side
        manifest.append(
            {
                "recording_id": recording_id,
                "path": rel_path,
                "athlete_id": athlete_id,
                "session_date": (START_DATE + dt.timedelta(days=i)).isoformat(),
                "exercise": exercise,
                "side": side,
                "load_kg": round(BASE_LOAD_KG[exercise] * float(rng.uniform(0.5, 1.5)) / 2.5) * 2.5,
                "set_number": 1,
                "format": fmt,
                "sample_rate_hz": rate,
                "label": None,
            }
        )
        truth += [{"recording_id": recording_id, "rep": k + 1, **row} for k, row in enumerate(rows)]
        labels += [
            {"recording_id": recording_id, "rep": k + 1, "label": row["label"]} for k, row in enumerate(rows)
        ]
        record = dict(regime.record)
        rep_regimes += [{"recording_id": recording_id, **r} for r in record.pop("_reps")]
        regimes.append({**record, "recording_id": recording_id, "exercise": exercise, "format": fmt})
    manifest_path = out_dir / "manifest.csv"
    pl.DataFrame(manifest, schema=MANIFEST_SCHEMA).write_csv(manifest_path)
    conform(pl.DataFrame(truth), TRUTH_REPS).write_csv(out_dir / "truth_reps.csv")
    pl.DataFrame(labels, schema={"recording_id": pl.String, "rep": pl.Int64, "label": pl.String}).write_csv(
        out_dir / "rep_labels.csv"
    )
    regime_table(regimes).write_csv(out_dir / "truth_recordings.csv")
    pl.DataFrame(rep_regimes, schema=REP_REGIME_COLUMNS).write_csv(out_dir / "truth_rep_regimes.csv")
    return manifest_path


def regime_table(rows: list[dict[str, object]]) -> pl.DataFrame:
    """``REGIME_COLUMNS`` rows; a parameter that does not apply to a set's format is null."""
    return pl.DataFrame(
        [{name: row.get(name) for name in REGIME_COLUMNS} for row in rows], schema=REGIME_COLUMNS
    )


__all__ = [
    "DEFAULT_FORMATS",
    "REGIME_COLUMNS",
    "REP_REGIME_COLUMNS",
    "EstimatorNoise",
    "ImuNoise",
    "ImuSetup",
    "PoseView",
    "SetRegime",
    "draw_regime",
    "simulate_randomised",
    "write_set",
]
