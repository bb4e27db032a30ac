"""Sagittal segment and joint angles from body-worn IMUs with unknown mounting (SPEC.md conventions).

Input: canonical IMU frames (schema.IMU_FRAMES): per placement accelerometer (m/s^2, specific
force incl. gravity), gyroscope (rad/s) in the sensor frame, optional quaternion (w-first,
sensor -> global, z up). Nothing is assumed about how a sensor is strapped on; each sensor is
calibrated from its own data:

1. **Still reference**: the quietest ``STILL_S`` window of the first ``STILL_SEARCH_S`` (lowest gyro
   norm) before the first rep (`movement_onset`; without any gyroscope, `tilt_onset`) is the
   athlete at the start position. Its mean gyro is the gyro bias (for the fusion
   below, refined so that the integrated gyro agrees with gravity wherever the sensor pauses:
   `gyro_bias`); its mean accelerometer direction is "up" in the sensor frame at the reference
   posture, and its magnitude, which must be g, calibrates the accelerometer's scale. A recording
   that moves in its first half second takes the athlete standing after the set; one still at
   neither end (a logger started with the first rep and stopped with the last) is first read
   against a posture inside a rep, then re-read against the frames where it stands, the hinge's
   extreme at which the body is highest (`_standing_frames`). So is a deadlift or hip thrust
   whose still start is its set-up at the bottom (`_standing_elsewhere`).
2. **Up direction over time**: from the quaternion (up = R^T z) when present; otherwise a
   complementary filter on the up vector (Mahony et al., IEEE TAC 2008, reduced to tilt): the
   bias-corrected gyro turns the estimate (exact axis-angle steps, so 12.5 Hz consumer bands work)
   and the normalised accelerometer pulls it with time constant ``TAU_S``, less when |acc| is far
   from g (movement). Written in the first sample's frame the filter is linear, so it runs as a
   prefix scan over whole arrays, not a loop over samples; run forwards and backwards in time and
   averaged, so the accelerometer pull adds no lag. Gravity makes the tilt drift-free; heading,
   which drifts, is never used. A logger that exports orientation and acceleration but no
   gyroscope (the quaternion is the device's own fusion) gets its angular velocity from the
   quaternion's rate of change; only a sensor with neither is left to the accelerometer alone
   (`gravity_motion`).
3. **Medio-lateral axis**: a hinge rotates every segment about the athlete's medio-lateral axis, so
   the first principal component of the bias-corrected gyro is that axis in the sensor frame. The
   axis is horizontal in the standing (or supine) reference, so the gyro's component along the
   reference's up is left out first: a shin that tilts 4 deg but twists 15 deg about its long axis
   would otherwise be read about its near-vertical long axis, where the up vector's projection is
   a few hundredths of g and its "tilt" swings by a hundred degrees.
4. **Sagittal tilt change** = signed angle of the up vector about that axis, relative to the still
   reference. A single sensor cannot tell forward from backward (a sensor strapped the other way
   round sees the same signals), so signs come from anatomy: the trunk inclines forward in every
   hinge; of the two signs of a thigh the one that makes the hip flex more over the reps' bottoms
   (hips travel back) is taken, except the free leg of a single-leg RDL, which swings back with the
   trunk; a shank takes the sign that makes the knee flex more (less in a hip-thrust bridge, where
   shank and thigh both turn backwards as the hips drop).

Angles (change from the reference posture plus the posture's known value, ``REFERENCE_POSTURES``):
trunk inclination = tilt of the hip->shoulder chord rebuilt from the spine segments the sensors
ride on (sacrum -> pelvis, lower_back (L1) -> lumbar, upper_back (T2) -> thoracic; segment length
fractions and standing tilts ``SPINE_LENGTHS``/``SPINE_STANDING_TILT_DEG``, a neutral S-shaped
spine, cf. Winter 2009 and the body model in ``simulate.body``), missing segments borrow the
neighbour's change; thoracic flexion = upper_back - lower_back; lumbar flexion = lower_back - sacrum;
pelvis tilt = sacrum; hip flexion = trunk - thigh; knee flexion = shank - thigh; ankle = shank;
hip travel behind the ankles = the leg as two links on its foot (`hip_behind_ankle`).
A metric whose sensor is missing is null. Angles are low-passed with the zero-lag Butterworth of
``filters`` (``cutoff_hz``).

Beside the sagittal angles, descriptors that no sagittal angle can see and that do not depend on
how a sensor was strapped on (`segment_descriptors`, schema ``IMU_DESCRIPTOR_COLUMNS``). Each body
sensor gets an anatomical frame from its own data: the medio-lateral axis of step 3, signed by the
anatomy of step 4 so that it points to the athlete's left; the segment's longitudinal axis, the
still reference's "up" turned about that axis by the segment's known tilt in the reference posture;
and the antero-posterior axis completing a right-handed frame (a functional calibration as in Favre
et al., J Biomech 2009, 42:2330, with gravity giving the vertical). Then:

- **frontal tilt** = elevation of the segment's medio-lateral axis, asin(up . e_ml): its roll about
  its antero-posterior axis whatever its sagittal tilt (a Cardan sequence, sagittal first, as in
  Wu et al., J Biomech 2002, 35:543), drift-free because gravity fixes it. Knee valgus moves
  thigh and shank in the frontal plane, which no sagittal angle sees;
- **angular velocity about the segment's own axes** (frontal: about the antero-posterior axis;
  axial: about the longitudinal one) and its norm, from the bias-corrected gyroscope: independent
  of posture and of accelerometer offsets;
- **relative rotation of adjacent segments** in the frontal plane: knee valgus = the shank's
  frontal tilt plus the thigh's (each positive when its knee end moves towards the midline), hip
  adduction = the thigh's plus the trunk's tilt towards that side.

Left and right mean the same: frontal tilts, valgus and adduction are positive towards the
midline, axial rates positive for internal rotation; the trunk (its lowest sensor present: sacrum,
else lower_back, else upper_back, the segment next to the thighs) tilts and turns positive to the
athlete's right. Sensor axes are taken as right-handed, as accelerometers and gyroscopes give them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import least_squares

from hinge_analytics.kinematics.filters import DEFAULT_CUTOFF_HZ, interpolate_gaps, lowpass
from hinge_analytics.numeric import nanmean, nanmean_stack, quat_matrix, true_runs
from hinge_analytics.schema import (
    ACCELEROMETER_CHANNELS,
    ANGLES,
    BODY_PLACEMENTS,
    BOTTOM_START_EXERCISES,
    DESCRIPTOR_SEGMENTS,
    GYROSCOPE_CHANNELS,
    LYING_EXERCISES,
    QUATERNION_CHANNELS,
    SWING_EXERCISES,
    conform,
    segment_rate_column,
)

GRAVITY = 9.81
STILL_S = 0.5
STILL_SEARCH_S = 3.0
TAU_S = 3.0  # complementary-filter time constant: trust the gyro over shorter times
MAX_GAP_S = 0.5
MOVING_RAD_S = 0.6  # ~35 deg/s: faster than sway or a fidget, slower than any rep
STILL_RAD_S = 0.2  # slower than this the accelerometer reads gravity alone (offset calibration)
# A still window whose mean rate would turn the sensor this far (deg, about a horizontal axis)
# and whose gravity turns at least ``TURN_SEEN`` of that is a movement, not the gyroscope's bias;
# so is one turning faster than any consumer gyroscope's bias (MPU-6050 datasheet, zero-rate
# output tolerance +-20 deg/s).
MIN_TURN_DEG = 1.0
TURN_SEEN = 0.5
MAX_BIAS_RAD_S = 0.35
MAX_OFFSET_G = 1.0  # hobby boards ship 0.6 g off on one axis (the real squat set)
# Weight of the offset fit's pull towards zero, per m/s^2 of offset and per root still sample: as
# much as the samples however many there are (the same board's fitted offset in 60 real sets, median
# spread 0.1-0.4 m/s^2 per axis; 0.2-1.2 with a fixed pull that a few hundred samples drowned).
OFFSET_PULL = 0.1
OFFSET_GAIN = 0.5  # a fitted offset must at least halve the still samples' distance from g
CALIBRATED_G = 0.03  # still samples this close to 1 g (median): the accelerometer needs no offset
QUASI_STATIC_G = 0.03  # |acc| this close to 1 g and the gyro under STILL_RAD_S: gravity alone
QUASI_STATIC_RUN_S = 0.25  # for this long at least: a pause, not a swing's turnaround
MIN_QUASI_STATIC_S = 1.0  # of such samples before the gyro bias is fitted to them
# A bias change of w rad/s must cut the gravity mismatch at every quasi-static sample by about
# w x this many seconds to be taken: directions gravity cannot see stay at the first guess.
BIAS_PRIOR_S = 1.0
BIAS_UNIT = 0.01  # rad/s: the size of a consumer gyro's bias, the fit's step of one
DEEP_SHARE = 0.2  # of a set's samples: the bottoms of its reps, where a thigh's sign is judged
ONSET_TILT_DEG = 5.0  # a segment turned this far from its start has begun a rep (sway: 1-2 deg)
GRAVITY_CUTOFF_HZ = 2.0  # accelerometer-only tilt: jolts and noise above this are not posture
# A set whose reference posture lies inside a rep (`_standing_frames`): hinge and vertical
# acceleration compared below this frequency (reps last 1-10 s), and trusted when they correlate
# at least this well; standing is looked for in this share of the frames at the hinge's standing
# extreme, at the level where most of them rest (bins of this share of the hinge's range).
POLARITY_CUTOFF_HZ = 1.5
MIN_POLARITY_R = 0.2
STANDING_BAND_SHARE = 0.3
REST_LEVEL_BIN = 0.03
# The hinge's extreme frames, and how far past standing a lean-back at lockout reaches (of the range).
STANDING_EXTREME_SHARE = 0.1
PAST_STANDING_SHARE = 0.15
FAR_FROM_REFERENCE = 0.5  # of the hinge's range: a still reference that far from standing is a rep's bottom

SPINE_SEGMENTS = ("sacrum", "lower_back", "upper_back")  # pelvis, lumbar, thoracic
# Lifts whose shins stay near vertical (knees soft and still, ~0-10 deg of shank tilt): with
# sensors on the shins alone, their reps move the hinge signal about as much as a weight shift.
STILL_SHIN_EXERCISES = {
    "romanian_deadlift": "a Romanian deadlift",
    "single_leg_rdl": "a single-leg RDL",
    "good_morning": "a good morning",
    "kettlebell_swing": "a kettlebell swing",
}
SPINE_LENGTHS = np.array([0.22, 0.33, 0.45])  # fractions of the hip -> shoulder chord
SPINE_STANDING_TILT_DEG = np.array([-25.0, -8.0, 12.0])
# The thigh's share of hip -> ankle length: hip -> knee 0.245 and knee -> ankle 0.246 of stature
# (Winter, Biomechanics and Motor Control of Human Movement, 4th ed., 2009, Table 4.1).
THIGH_SHARE = 0.245 / (0.245 + 0.246)

# Known segment tilts (deg, forward from vertical) at the start position of each exercise family.
# Quiet standing: trunk chord and thighs vertical, knees ~3 deg soft. Hip thrust lockout: trunk and
# thighs level (-90 deg), shanks vertical, knees ~90 deg.
REFERENCE_POSTURES = {
    "standing": {"trunk": 0.0, "thigh": 0.0, "shank": 3.0},
    "supine_bridge": {"trunk": -90.0, "thigh": -90.0, "shank": 0.0},
}


def reference_posture(exercise: str | None) -> str:
    return "supine_bridge" if exercise in LYING_EXERCISES else "standing"


# --------------------------------------------------------------------------- per-sensor calibration
def _channels(frames: pl.DataFrame, placement: str, names: tuple[str, ...], rate: float) -> np.ndarray | None:
    cols = [f"{placement}_{c}" for c in names]
    if any(c not in frames.columns for c in cols) or all(
        frames[c].null_count() == frames.height for c in cols
    ):
        return None
    out = np.column_stack(
        [
            interpolate_gaps(frames[c].cast(pl.Float64).fill_null(np.nan).to_numpy(), rate, MAX_GAP_S)
            for c in cols
        ]
    )
    # Leading/trailing gaps: hold the nearest sample (the athlete is at rest there).
    for k in range(out.shape[1]):
        v = out[:, k]
        ok = np.isfinite(v)
        if ok.any() and not ok.all():
            idx = np.arange(len(v))
            outer = (idx < idx[ok][0]) | (idx > idx[ok][-1])
            v[outer] = np.interp(idx[outer], idx[ok], v[ok])
    return out


def _angular_velocity(frames: pl.DataFrame, placement: str, rate: float) -> np.ndarray | None:
    """A sensor's angular velocity (rad/s, sensor frame): its gyroscope, else the rate of its own
    orientation output (a logger exporting quaternions and acceleration only), else None."""
    gyr = _channels(frames, placement, GYROSCOPE_CHANNELS, rate)
    if gyr is not None or len(frames) < 2:
        return gyr
    quat = _channels(frames, placement, QUATERNION_CHANNELS, rate)
    if quat is None or not np.all(np.isfinite(quat)):
        return None
    return angular_velocity_from_quaternion(quat, frames["t_s"].to_numpy(), rate)


def movement_onset(gyros: list[np.ndarray], rate: float) -> int:
    """First sample where any sensor turns faster than ``MOVING_RAD_S`` (the first rep begins)."""
    onsets = []
    for gyr in gyros:
        moving = np.flatnonzero(np.nan_to_num(np.linalg.norm(gyr, axis=1)) > MOVING_RAD_S)
        if len(moving):
            onsets.append(int(moving[0]))
    return min(onsets) if onsets else int(round(STILL_SEARCH_S * rate))


def gravity_up(acc: np.ndarray, rate: float) -> np.ndarray:
    """Unit "up" per sample of an accelerometer without a gyroscope: its specific force low-passed
    at ``GRAVITY_CUTOFF_HZ`` (inclinometry; see `gravity_motion`)."""
    smooth = lowpass(acc, rate, min(GRAVITY_CUTOFF_HZ, 0.4 * rate))
    with np.errstate(invalid="ignore", divide="ignore"):
        return smooth / np.linalg.norm(smooth, axis=1, keepdims=True)


def tilt_onset(accs: list[np.ndarray], rate: float) -> int:
    """First sample where any accelerometer's gravity direction (`gravity_up`) has turned
    ``ONSET_TILT_DEG`` from where it pointed over the first ``STILL_S``: the first rep begins. For
    recordings without any gyroscope, where `movement_onset` has nothing to go on and the quietest
    window of the first ``STILL_SEARCH_S`` can be a slow stretch of the first rep (randomised seed
    31 RZ0118, an upper-back sensor 30 deg into the rep: trunk 13 deg low)."""
    onsets = []
    for acc in accs:
        up = gravity_up(acc, rate)
        start = nanmean(up[: max(2, int(round(STILL_S * rate)))])
        if not np.all(np.isfinite(start)):
            continue
        start /= np.linalg.norm(start)
        turned = np.degrees(np.arccos(np.clip(np.nan_to_num(up @ start, nan=1.0), -1.0, 1.0)))
        moving = np.flatnonzero(turned > ONSET_TILT_DEG)
        if len(moving):
            onsets.append(int(moving[0]))
    return min(onsets) if onsets else int(round(STILL_SEARCH_S * rate))


def still_window(gyr: np.ndarray, rate: float, onset: int | None = None, settled: int | None = None) -> slice:
    """The quietest ``STILL_S`` window (lowest mean gyro norm) before the first movement (``onset``)
    and within the first ``STILL_SEARCH_S``: the start position, never a pause at a rep's bottom.

    A recording that moves within its first ``STILL_S`` started late, in the middle of a rep, and
    has no start position; when the sensor is still (mean under ``STILL_RAD_S``) somewhere after
    the last movement (``settled``, when given) within the last ``STILL_SEARCH_S``, the quietest
    window there is taken instead: the athlete standing after the set. Taken from the first half
    second, a squat set cut 2 s into its first rep read hip flexion over 200 deg. A recording that
    starts in a pause at a rep's bottom is not told from one that starts standing.
    """
    n = len(gyr)
    w = max(2, int(round(STILL_S * rate)))
    if onset is not None and onset < w and settled is not None and n - settled > w:
        first = max(settled, n - int(round(STILL_SEARCH_S * rate)))
        end, mean_rate = _quietest(gyr[first:], w, first)
        if mean_rate < STILL_RAD_S:
            return end
    limit = (
        int(round(STILL_SEARCH_S * rate)) if onset is None else min(onset, int(round(STILL_SEARCH_S * rate)))
    )
    search = min(n, max(w + 1, limit))
    return slice(0, min(n, w)) if search <= w else _quietest(gyr[:search], w, 0)[0]


def first_bias(gyr: np.ndarray, gravity: np.ndarray, still: slice, rate: float) -> np.ndarray:
    """The gyroscope's bias as the still window's mean rate, unless that rate is a movement
    (over ``MAX_BIAS_RAD_S``, or `_turning` against ``gravity``: the accelerometer or the
    device's own up vector, in the sensor frame); then the median rate over the samples slower
    than ``STILL_RAD_S``.

    A recording that moves from its first sample to its last (a logger started with the set and
    stopped with it) has no rest: its window's mean rate, taken for bias, is a rep's (up to
    1 rad/s), which the fusion integrated into 200 deg of drift."""
    bias = nanmean(gyr[still])
    duration_s = (still.stop - still.start) / rate
    if np.linalg.norm(bias) > MAX_BIAS_RAD_S or _turning(gravity[still], bias, duration_s):
        rests = np.linalg.norm(np.nan_to_num(gyr, nan=np.inf), axis=1) < STILL_RAD_S
        bias = np.median(gyr[rests], axis=0) if rests.any() else np.zeros(3)
    return bias


def _turning(acc: np.ndarray, mean_rate: np.ndarray, duration_s: float) -> bool:
    """Whether a window's mean angular velocity is the sensor turning rather than its bias: the
    turn it makes about a horizontal axis over the window exceeds ``MIN_TURN_DEG`` and gravity,
    the accelerometer's mean over the window's first and last thirds, turns at least ``TURN_SEEN``
    of it. A bias turns nothing the accelerometer sees; a turn about the vertical is left alone,
    since gravity cannot tell it from a bias."""
    first, last, seen = _gravity_turn(acc)
    up = first + last
    if not (np.all(np.isfinite(up)) and np.all(np.isfinite(mean_rate))) or np.linalg.norm(up) == 0:
        return False
    up /= np.linalg.norm(up)
    claimed = np.degrees(np.linalg.norm(mean_rate - (mean_rate @ up) * up)) * duration_s * 2 / 3
    return bool(claimed > MIN_TURN_DEG and seen >= TURN_SEEN * claimed)


def _gravity_turn(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """A window's mean specific force over its first and its last third, and the angle (deg)
    between them: how far gravity turned in the sensor across the window (NaN without data)."""
    third = max(1, len(acc) // 3)
    first, last = nanmean(acc[:third]), nanmean(acc[-third:])
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = first @ last / (np.linalg.norm(first) * np.linalg.norm(last))
    return first, last, float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _quietest(gyr: np.ndarray, w: int, offset: int) -> tuple[slice, float]:
    """The ``w`` samples of ``gyr`` with the lowest mean norm, as a slice ``offset`` samples on,
    and that mean (inf over a missing sample)."""
    norm = np.nan_to_num(np.linalg.norm(gyr, axis=1), nan=np.inf)
    means = np.convolve(norm, np.ones(w) / w, mode="valid")
    best = int(np.argmin(means))
    return slice(best + offset, best + offset + w), float(means[best])


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product of w-first quaternions, broadcast over leading axes."""
    pw, px, py, pz = np.moveaxis(p, -1, 0)
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ],
        axis=-1,
    )


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (n, 3) by unit quaternions q (n, 4): q v q*."""
    w, xyz = q[:, :1], q[:, 1:]
    t = 2.0 * np.cross(xyz, v)
    return v + w * t + np.cross(xyz, t)


def _inclusive_scan(arrays: tuple[np.ndarray, ...], combine) -> tuple[np.ndarray, ...]:
    """Hillis-Steele prefix scan over axis 0 of an associative ``combine(earlier, later)`` acting on
    tuples of arrays (one element per sample each).

    log2(n) whole-array steps instead of a loop over samples (Blelloch, CMU-CS-90-190, 1990).
    """
    n, step = len(arrays[0]), 1
    while step < n:
        merged = combine(tuple(a[:-step] for a in arrays), tuple(a[step:] for a in arrays))
        arrays = tuple(np.concatenate([a[:step], m]) for a, m in zip(arrays, merged, strict=True))
        step *= 2
    return arrays


def gyro_orientation(gyr: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Unit quaternions (n, 4) taking sensor-frame vectors at sample k to the frame at sample 0.

    Each step turns by the trapezoidal mean rate times dt as an exact axis-angle quaternion (so the
    12.5 Hz band of consumer sensors integrates correctly); body-frame rates compose on the right,
    q_k = q_(k-1) dq_k, evaluated as a prefix product.
    """
    rotvec = np.zeros((len(gyr), 3))
    rotvec[1:] = 0.5 * (gyr[1:] + gyr[:-1]) * np.diff(t_s)[:, None]
    rotvec = np.nan_to_num(rotvec)
    half = 0.5 * np.linalg.norm(rotvec, axis=1)
    axis = rotvec / np.where(half > 0, 2 * half, 1.0)[:, None]
    steps = np.column_stack([np.cos(half), axis * np.sin(half)[:, None]])
    (q,) = _inclusive_scan((steps,), lambda earlier, later: (quat_multiply(earlier[0], later[0]),))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def up_from_fusion(acc: np.ndarray, gyr: np.ndarray, t_s: np.ndarray, up0: np.ndarray) -> np.ndarray:
    """Complementary filter: the global up direction in the sensor frame at every sample.

    Up is fixed in the world, so in the frame the sensor had at sample 0 it is constant up to gyro
    drift. There the filter is linear, v_k = (1 - g_k) v_(k-1) + g_k R_k a_k/|a_k| with
    g_k = dt / (TAU_S + dt), scaled down while |acc| differs from g; it is evaluated as a prefix
    scan, then turned back into each sample's sensor frame (up_k = R_k^T v_k). This is Mahony's
    filter reduced to tilt, with the per-step renormalisation moved to the end.
    """
    norms = np.linalg.norm(acc, axis=1)
    valid = np.isfinite(norms) & (norms > 1e-6)
    dt = np.diff(t_s, prepend=t_s[0])
    gain = np.where(valid, dt / (TAU_S + dt) * np.exp(-(((norms - GRAVITY) / 0.7) ** 2)), 0.0)
    gain[0] = 0.0
    rotation = gyro_orientation(gyr, t_s)
    pull = np.where(valid[:, None], acc / np.where(valid, norms, 1.0)[:, None], 0.0)
    decay = 1.0 - gain
    drive = gain[:, None] * quat_rotate(rotation, pull)
    drive[0] = up0 / np.linalg.norm(up0)
    decay[0] = 0.0
    _, up_initial_frame = _inclusive_scan(
        (decay, drive),
        lambda earlier, later: (later[0] * earlier[0], later[0][:, None] * earlier[1] + later[1]),
    )
    conjugate = rotation * np.array([1.0, -1.0, -1.0, -1.0])
    up = quat_rotate(conjugate, up_initial_frame)
    return up / np.linalg.norm(up, axis=1, keepdims=True)


def angular_velocity_from_quaternion(quat: np.ndarray, t_s: np.ndarray, rate: float) -> np.ndarray:
    """Angular velocity (rad/s, sensor frame, (n, 3)) of a sensor -> global orientation series.

    The series is made sign-continuous (q and -q are one orientation) and low-passed component by
    component like the angles (``DEFAULT_CUTOFF_HZ``): a fused orientation carries sample-to-sample
    jitter that differentiation would amplify, the more so the higher the rate. Body-frame rates
    compose on the right (q_k = q_(k-1) dq_k, as in `gyro_orientation`), so each step
    dq = conj(q_(k-1)) q_k is an axis-angle turn over dt (Diebel, "Representing attitude", Stanford
    2006, section 6); step rates are averaged onto the samples.
    """
    q = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    flips = np.concatenate([[1.0], np.where(np.sum(q[1:] * q[:-1], axis=1) < 0, -1.0, 1.0)])
    q = lowpass(q * np.cumprod(flips)[:, None], rate, DEFAULT_CUTOFF_HZ)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    step = quat_multiply(q[:-1] * np.array([1.0, -1.0, -1.0, -1.0]), q[1:])
    sin_half = np.linalg.norm(step[:, 1:], axis=1)
    angle = 2.0 * np.arctan2(sin_half, step[:, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        per_step = step[:, 1:] * (angle / np.where(sin_half > 0, sin_half, 1.0) / np.diff(t_s))[:, None]
    per_step = np.nan_to_num(per_step, nan=0.0, posinf=0.0, neginf=0.0)
    omega = np.empty((len(q), 3))
    omega[1:-1] = 0.5 * (per_step[:-1] + per_step[1:])
    omega[0], omega[-1] = per_step[0], per_step[-1]
    return omega


def up_from_quaternion(quat: np.ndarray) -> np.ndarray:
    """Global z (up) in the sensor frame: the third row of R(q) for a sensor->global quaternion."""
    q = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.column_stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])


def mediolateral_axis(gyr: np.ndarray, up_ref: np.ndarray) -> np.ndarray:
    """Dominant horizontal rotation axis (unit, sensor frame): first principal component of the
    gyro samples' components normal to ``up_ref``, the up direction of the still reference."""
    g = gyr[np.all(np.isfinite(gyr), axis=1)]
    g = g - np.outer(g @ up_ref, up_ref)
    _, _, vt = np.linalg.svd(g, full_matrices=False)
    return vt[0]


def tilt_change_deg(up: np.ndarray, up_ref: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Rotation (deg) of the segment about ``axis`` since the reference, from the up vector.

    The up vector turns by -theta in the sensor frame when the segment turns by +theta about axis.
    """

    def project(v: np.ndarray) -> np.ndarray:
        return v - np.outer(v @ axis, axis) if v.ndim == 2 else v - (v @ axis) * axis

    ref = project(up_ref)
    cur = project(up)
    sin = np.cross(ref, cur) @ axis
    cos = cur @ ref
    return -np.degrees(np.arctan2(sin, cos))


@dataclass
class SensorMotion:
    """One body sensor's motion in its own frame (`sensor_motion`)."""

    tilt: np.ndarray  # sagittal tilt change, deg, sign not yet anatomical
    up: np.ndarray  # (n, 3) unit world "up" in the sensor frame
    up_ref: np.ndarray  # (3,) unit "up" at the still reference
    axis: np.ndarray  # (3,) unit medio-lateral axis, sign arbitrary
    gyr: np.ndarray | None  # (n, 3) bias-corrected angular velocity, rad/s (None: no gyroscope)
    valid: np.ndarray  # (n,) samples with an accelerometer reading
    still: slice  # the window ``up_ref`` is read over (`still_window`)
    # (n, 3) specific force, m/s^2, offset-corrected where a gyroscope allows and scaled to read g
    # at rest (None: no accelerometer)
    force: np.ndarray | None = None


def sensor_tilt_change(
    frames: pl.DataFrame, placement: str, rate: float, onset: int | None = None
) -> np.ndarray | None:
    """Sagittal tilt change (deg, sign not yet anatomical) of one sensor's segment, or None."""
    motion = sensor_motion(frames, placement, rate, onset)
    return None if motion is None else motion.tilt


def sensor_motion(
    frames: pl.DataFrame, placement: str, rate: float, onset: int | None = None
) -> SensorMotion | None:
    """One sensor's sagittal tilt change with the up vectors, still reference, medio-lateral axis
    and bias-corrected gyroscope it comes from; None without an accelerometer or an orientation
    output."""
    gyr = _angular_velocity(frames, placement, rate)
    acc = _channels(frames, placement, ACCELEROMETER_CHANNELS, rate)
    return _motion(frames, placement, rate, onset, None, gyr, acc)


def _motion(
    frames: pl.DataFrame,
    placement: str,
    rate: float,
    onset: int | None,
    settled: int | None,
    gyr: np.ndarray | None,
    acc: np.ndarray | None,
) -> SensorMotion | None:
    """`sensor_motion` given the sensor's angular velocity (`_angular_velocity`) and accelerometer
    (`_channels`), read once per sensor by `imu_angles`, which also needs them for the movement
    onset and the reference test, and the sample after the last movement (``settled``, for
    `still_window`)."""
    if acc is not None and gyr is None:
        return gravity_motion(acc, rate, onset)
    oriented = orientation_motion(frames, placement, rate, onset, gyr, settled)
    if oriented is not None:
        if acc is not None:
            oriented.valid = np.isfinite(acc).all(axis=1)
            oriented.tilt[~oriented.valid] = np.nan  # a logging gap: the device's filter only held
            oriented.force = _to_gravity(acc)
        return oriented
    if acc is None or gyr is None:
        return None
    t_s = frames["t_s"].to_numpy()
    acc = acc - accelerometer_offset(acc, gyr)
    still = still_window(gyr, rate, onset, settled)
    up_ref = nanmean(acc[still])
    bias = first_bias(gyr, acc, still, rate)
    # At rest an accelerometer reads exactly 1 g: a cheap sensor reading 12.8 m/s^2 there (the
    # MPU6050s of a real squat set) is rescaled, else the filter's |acc| ~ g gate shuts the gravity
    # pull off and the tilt drifts with the gyro. Read where the sensor turns slowly: a set with no
    # rest has a still window that is a rep, whose mean specific force is not g.
    acc = acc * (GRAVITY / max(_rest_norm(acc, gyr - bias, up_ref), 1e-6))
    up_ref /= np.linalg.norm(up_ref)
    raw_gyr, gyr = gyr, gyr - bias
    # The fused tilt integrates the gyro through every movement, where the bias's error adds
    # up: it is refined; the medio-lateral axis and the rates keep this first guess (a barely
    # turning segment's axis is set by what is left of the bias either way).
    moves = movement_onset([raw_gyr], rate) if onset is None else onset
    fused = raw_gyr - gyro_bias(acc, raw_gyr, t_s, up_ref, still, moves, bias)
    # A window after the first movement, in the recording's first half: no rest before the set,
    # and the window may be inside a rep.
    after_onset = still.start >= moves and still.stop < len(t_s) / 2
    up = _two_way_fusion(acc, fused, t_s, up_ref, from_start=still.start < moves or after_onset)
    if after_onset:
        # A rep's own acceleration is in the window's mean specific force (13 deg off gravity in a
        # simulated deadlift): the tilt is measured from where the fusion, pulled to gravity all
        # through the set, puts up there.
        up_ref = nanmean(up[still])
        up_ref /= np.linalg.norm(up_ref)
    axis = mediolateral_axis(gyr, up_ref)
    tilt = lowpass(tilt_change_deg(up, up_ref, axis), rate, DEFAULT_CUTOFF_HZ)
    valid = np.isfinite(acc).all(axis=1)
    tilt[~valid] = np.nan  # a logging gap: the filter only held its state
    return SensorMotion(tilt, up, up_ref, axis, gyr, valid, still, acc)


def logged_stretches(acc: np.ndarray, gyr: np.ndarray) -> list[slice]:
    """The stretches between a sensor's logging gaps: rows where both its accelerometer and its
    gyroscope have data (`_channels` leaves a gap too long to bridge empty)."""
    return true_runs(np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1))


def _two_way_fusion(
    acc: np.ndarray, gyr: np.ndarray, t_s: np.ndarray, up0: np.ndarray, from_start: bool
) -> np.ndarray:
    """`_fused_stretch` of each stretch between logging gaps (`logged_stretches`). A pass carried
    across a gap comes out of it holding the state it went in with, stale by whatever the athlete
    did meanwhile: 3 s lost at the bottom of a simulated RDL left the trunk reading 25 deg while
    standing and the next rep's hip flexion 10 deg high. The stretch at the still window's end of
    the recording starts from ``up0``; the others from their first accelerometer reading, a guess
    their passes leave behind."""
    stretches = logged_stretches(acc, gyr)
    if len(stretches) <= 1:
        return _fused_stretch(acc, gyr, t_s, up0, from_start)
    up = np.full(acc.shape, np.nan)
    anchored = stretches[0] if from_start else stretches[-1]
    for stretch in stretches:
        first = acc[stretch.start] / np.linalg.norm(acc[stretch.start])
        start, forward_first = (up0, from_start) if stretch == anchored else (first, True)
        up[stretch] = _fused_stretch(acc[stretch], gyr[stretch], t_s[stretch], start, forward_first)
    return up


def _fused_stretch(
    acc: np.ndarray, gyr: np.ndarray, t_s: np.ndarray, up0: np.ndarray, from_start: bool
) -> np.ndarray:
    """Forward and time-reversed passes of `up_from_fusion` averaged: the accelerometer pull's lag
    cancels (offline). The first pass starts at the end the still window lies nearer, from its up
    vector ``up0``; the second starts where the first ended; the first is then run again from where
    the second ended, so that neither pass that is kept starts from a guess. Started from the far
    end (a set with no rest, whose window lies near the start), the first pass carried its
    starting error into the average for seconds: a simulated deadlift's thigh drifted 21 deg."""
    def forward(start: np.ndarray) -> np.ndarray:
        return up_from_fusion(acc, gyr, t_s, start)

    def backward(start: np.ndarray) -> np.ndarray:
        return up_from_fusion(acc[::-1], -gyr[::-1], -t_s[::-1], start)[::-1]

    if from_start:
        later = backward(forward(up0)[-1])
        earlier = forward(later[0])
    else:
        earlier = forward(backward(up0)[0])
        later = backward(earlier[-1])
    up = earlier + later
    return up / np.linalg.norm(up, axis=1, keepdims=True)


def _rest_norm(acc: np.ndarray, gyr: np.ndarray, still_mean: np.ndarray) -> float:
    """What the accelerometer reads at rest: its median norm over the samples turning slower than
    ``STILL_RAD_S``, else the still window's mean."""
    with np.errstate(invalid="ignore"):
        slow = np.linalg.norm(gyr, axis=1) < STILL_RAD_S
    norms = np.linalg.norm(acc[slow], axis=1)
    norms = norms[np.isfinite(norms)]
    return float(np.median(norms)) if len(norms) else float(np.linalg.norm(still_mean))


def gyro_bias(
    acc: np.ndarray,
    gyr: np.ndarray,
    t_s: np.ndarray,
    up_ref: np.ndarray,
    still: slice,
    onset: int,
    first_guess: np.ndarray | None = None,
) -> np.ndarray:
    """Constant gyroscope bias (rad/s, sensor frame): the one that makes the gyro-integrated
    gravity direction agree with the accelerometer wherever the sensor reads gravity alone.

    The mean over the ``still`` window is the first guess (unless ``first_guess`` is given), but
    half a second of an athlete "standing still" can hold a rock or a fidget: taken for bias, it
    turns the up vector by degrees per second whenever the accelerometer cannot pull it back,
    which is all through a touch-and-go set (|acc| rarely near g). A simulated 20 Hz deadlift's
    lower-back tilt drifted 119 deg in 27 s on the gyro alone that way. A rock averages out over
    the recording, a bias does not, so the bias is refined by least squares over the quasi-static
    samples: |acc| within ``QUASI_STATIC_G`` of g and the gyro under ``STILL_RAD_S``, for
    ``QUASI_STATIC_RUN_S`` at least (a limb turning round passes both for an instant, while it
    accelerates hardest), between the logging gaps around the still window. This
    is the integral term of Mahony's filter (Mahony et al., IEEE TAC 2008), solved offline for a
    constant bias, with the Jacobian of the up vector in closed form. A robust loss limits
    samples that still carry some acceleration. A tie to the first guess (``BIAS_PRIOR_S``) holds
    what gravity cannot see: the bias about the vertical, and, in a lift that turns about one
    axis, the part of the bias in the plane of that turn that only rotates the heading.
    Besides the window, only samples after the movement's ``onset`` count (before it, a slow rock
    passes for quasi-static while its own acceleration tilts the reading), and at least
    ``MIN_QUASI_STATIC_S`` of them are needed, else the first guess stands.
    """
    first_guess = nanmean(gyr[still]) if first_guess is None else first_guess
    norms = np.linalg.norm(acc, axis=1)
    with np.errstate(invalid="ignore"):
        candidates = (np.abs(norms - GRAVITY) < QUASI_STATIC_G * GRAVITY) & (
            np.linalg.norm(gyr, axis=1) < STILL_RAD_S
        )
    dt = np.diff(t_s, prepend=t_s[0])
    quiet = np.zeros_like(candidates)
    for run in true_runs(candidates):
        if t_s[run.stop - 1] - t_s[run.start] >= QUASI_STATIC_RUN_S:
            quiet[run] = True
    quiet[: max(still.stop, onset) if still.start < onset else onset] = False
    # Integrated through a logging gap, the gyro turns the frame by nothing where the athlete
    # moved: samples beyond one would be compared with gravity through a wrong rotation.
    logged = logged_stretches(acc, gyr)
    around = next((r for r in logged if r.start <= still.start < r.stop), slice(0, len(t_s)))
    quiet[: around.start] = False
    quiet[around.stop :] = False
    if not np.all(np.isfinite(first_guess)) or np.nansum(dt[quiet]) < MIN_QUASI_STATIC_S:
        return first_guess
    quiet[still] = True
    gravity = acc[quiet] / norms[quiet, None]
    tie = BIAS_PRIOR_S * np.sqrt(3 * len(gravity))
    # Parameters: the bias in units of BIAS_UNIT (so that the solver's step tolerance means the same
    # for both), and "up" in the first sample's frame (the sensor may have moved before its still
    # window). The solver asks for the Jacobian where it has just evaluated the mismatch.
    last: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def model(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = x.tobytes()
        if key not in last:
            rotations = quat_matrix(gyro_orientation(gyr - BIAS_UNIT * x[:3], t_s))  # k -> first
            up_first = x[3:] / np.linalg.norm(x[3:])
            last.clear()
            last[key] = np.einsum("nji,j->ni", rotations[quiet], up_first), rotations, up_first
        return last[key]

    def mismatch(x: np.ndarray) -> np.ndarray:
        up, _, _ = model(x)
        return np.concatenate([(up - gravity).ravel(), tie * (BIAS_UNIT * x[:3] - first_guess)])

    def jacobian(x: np.ndarray) -> np.ndarray:
        # A bias change d turns sample k's frame by -Phi_k d, Phi_k = R_k^T sum_(j<=k) R_j dt_j,
        # so up_k = R_k^T u moves by -[up_k]x Phi_k d; u = x[3:] / |x[3:]| moves it by R_k^T du.
        up, rotations, up_first = model(x)
        swept = np.cumsum(rotations * dt[:, None, None], axis=0)
        turned = rotations[quiet]
        phi = np.einsum("nji,njk->nik", turned, swept[quiet])
        skew = np.zeros((len(up), 3, 3))
        skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -up[:, 2], up[:, 1], -up[:, 0]
        skew -= skew.transpose(0, 2, 1)
        normalise = (np.eye(3) - np.outer(up_first, up_first)) / np.linalg.norm(x[3:])
        data = np.concatenate(
            [
                -BIAS_UNIT * np.einsum("nij,njk->nik", skew, phi),
                np.einsum("nji,jk->nik", turned, normalise),
            ],
            axis=2,
        ).reshape(-1, 6)
        return np.vstack([data, np.hstack([tie * BIAS_UNIT * np.eye(3), np.zeros((3, 3))])])

    rotations = quat_matrix(gyro_orientation(gyr - first_guess, t_s))
    up_first = np.einsum("nij,nj->i", rotations[quiet], gravity)
    start = np.concatenate([first_guess / BIAS_UNIT, up_first / np.linalg.norm(up_first)])
    fit = least_squares(mismatch, start, jac=jacobian, loss="soft_l1", f_scale=0.05, xtol=1e-3, ftol=1e-6)
    return BIAS_UNIT * fit.x[:3]


def accelerometer_offset(acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
    """Constant offset (m/s^2, sensor frame) of an uncalibrated accelerometer, or zeros.

    Whenever a sensor is still it reads exactly g, in whatever orientation; an offset on one axis
    makes that reading depend on the orientation (12.4-14.8 m/s^2 within one real squat set). The
    offset is the centre of the sphere of radius g that the still samples lie on (accelerometer
    autocalibration, Frosio et al., IEEE Trans Instrum Meas 2009), fitted by least squares with a
    weak pull towards zero (a set covers only some orientations). Kept only when it brings the still
    samples clearly closer to g (``OFFSET_GAIN``) and is smaller than ``MAX_OFFSET_G`` g. The pull
    (``OFFSET_PULL``) keeps the offset least where the orientations seen leave it free. The robust
    loss acts on each of its components, an L1-like prior that favours an offset along the
    sensor's own axes, as a chip's trim errors lie: pulling on the offset's length instead spread
    the real squat boards' offsets over all three axes, and the squat coach path fell from 0.902
    to 0.694 macro-F1 (docs/validation-2026-12-07.md).

    Not fitted when the still samples already read g to within ``CALIBRATED_G`` (median): the
    gyroscope's still gate also passes a swinging limb's turnarounds, where the angular velocity is
    zero for an instant and the acceleration largest, and a sensor resting in one orientation pins
    the sphere's centre only along that direction, so those few samples alone would place it (a
    simulated free shank read 0.65-1.25 g there and got a 0.9 g offset that halved its tilt).
    """
    zero = np.zeros(3)
    still = np.all(np.isfinite(acc), axis=1) & (
        np.nan_to_num(np.linalg.norm(gyr, axis=1), nan=9.0) < STILL_RAD_S
    )
    samples = acc[still]
    if len(samples) < 20:
        return zero
    samples = samples[:: max(1, len(samples) // 2000)]

    # still samples in one orientation fix the centre only along it: a pull the samples drowned let
    # the fit slide along that line (a real thigh got a 1 g offset, or none, by the third decimal)
    pull = OFFSET_PULL * np.sqrt(len(samples))

    def residuals(offset: np.ndarray) -> np.ndarray:
        return np.concatenate([np.linalg.norm(samples - offset, axis=1) - GRAVITY, pull * offset])

    before = np.median(np.abs(residuals(zero)[:-3]))
    if before < CALIBRATED_G * GRAVITY:
        return zero
    fit = least_squares(residuals, zero, loss="soft_l1", f_scale=0.5)
    after = np.median(np.abs(residuals(fit.x)[:-3]))
    if np.linalg.norm(fit.x) > MAX_OFFSET_G * GRAVITY or after > OFFSET_GAIN * before:
        return zero
    return fit.x


def tilt_from_gravity(acc: np.ndarray, rate: float, onset: int | None = None) -> np.ndarray:
    """Sagittal tilt change (deg, sign not yet anatomical) of an accelerometer-only sensor
    (`gravity_motion`)."""
    return gravity_motion(acc, rate, onset).tilt


def orientation_motion(
    frames: pl.DataFrame,
    placement: str,
    rate: float,
    onset: int | None,
    gyr: np.ndarray | None,
    settled: int | None = None,
) -> SensorMotion | None:
    """`SensorMotion` of a sensor that exports its own orientation (a quaternion, a rotation matrix
    or Euler angles; with or without acceleration, as Movella DOT's "Orientation" modes write it):
    up = R^T z, exact to the device's own fusion; ``gyr`` is its gyroscope or the orientation's
    rate of change (`_angular_velocity`). None without a complete orientation."""
    quat = _channels(frames, placement, QUATERNION_CHANNELS, rate)
    if quat is None or gyr is None or not np.all(np.isfinite(quat)):
        return None
    up = up_from_quaternion(quat)
    still = still_window(gyr, rate, onset, settled)
    up_ref = np.mean(up[still], axis=0)
    up_ref /= np.linalg.norm(up_ref)
    gyr = gyr - first_bias(gyr, up, still, rate)
    axis = mediolateral_axis(gyr, up_ref)
    tilt = lowpass(tilt_change_deg(up, up_ref, axis), rate, DEFAULT_CUTOFF_HZ)
    return SensorMotion(tilt, up, up_ref, axis, gyr, np.ones(len(up), dtype=bool), still)


def gravity_motion(acc: np.ndarray, rate: float, onset: int | None = None) -> SensorMotion:
    """`SensorMotion` of an accelerometer-only sensor (``gyr`` None).

    Without a gyroscope the low-passed specific force is taken as "up" (``GRAVITY_CUTOFF_HZ``;
    inclinometry, e.g. Fisher, "Using an accelerometer for inclination sensing", Analog Devices
    AN-1057, 2010). A hinge is slow, so its own accelerations, which this cannot remove, stay small
    beside g (about 2 m/s^2 at the thigh): they are this method's error. The up
    vector then turns in the plane normal to the medio-lateral axis, which is the direction of
    least variance of the up vectors (smallest singular vector); the still reference is the
    quietest window before the first movement, movement being the accelerometer's jerk.
    """
    up = gravity_up(acc, rate)
    jerk = np.vstack([np.zeros((1, 3)), np.diff(acc, axis=0) * rate]) / GRAVITY
    still = still_window(jerk, rate, onset)
    up_ref = nanmean(up[still])
    up_ref /= np.linalg.norm(up_ref)
    finite = np.all(np.isfinite(up), axis=1)
    _, _, vt = np.linalg.svd(up[finite], full_matrices=False)
    tilt = tilt_change_deg(up, up_ref, vt[-1])
    return SensorMotion(tilt, up, up_ref, vt[-1], None, finite, still, _to_gravity(acc))


def _to_gravity(acc: np.ndarray) -> np.ndarray:
    """``acc`` scaled so that its median norm is g (a hinge's accelerations are small beside g)."""
    return acc * (GRAVITY / max(float(np.nanmedian(np.linalg.norm(acc, axis=1))), 1e-6))


# --------------------------------------------------------------------------- strap-free descriptors
def anatomical_frame(motion: SensorMotion, sign: float, reference_tilt_deg: float) -> np.ndarray:
    """Rows: the segment's medio-lateral (to the athlete's left), antero-posterior (forward) and
    longitudinal axes, unit vectors in the sensor frame.

    ``sign``: the anatomical sign `imu_angles` gave the sensor's sagittal tilt (a forward tilt is a
    turn about the left-pointing axis in a right-handed frame). ``reference_tilt_deg``: the
    segment's sagittal tilt in the reference posture, so that the longitudinal axis is the
    segment's own, not the reference's vertical (a hip thrust starts with the trunk level).
    """
    up_ref = motion.up_ref / np.linalg.norm(motion.up_ref)
    ml = sign * motion.axis
    ml = ml - (ml @ up_ref) * up_ref
    ml /= np.linalg.norm(ml)
    # A segment tilted forward by theta sees "up" turned back by theta about its medio-lateral axis.
    angle = np.radians(reference_tilt_deg)
    longitudinal = up_ref * np.cos(angle) + np.cross(ml, up_ref) * np.sin(angle)
    return np.vstack([ml, np.cross(ml, longitudinal), longitudinal])


def frontal_tilt_deg(motion: SensorMotion, frame: np.ndarray) -> np.ndarray:
    """Roll of the segment about its antero-posterior axis, deg, positive = its top towards the
    athlete's right: the elevation of its medio-lateral axis (``frame[0]``) above the horizontal."""
    return np.degrees(np.arcsin(np.clip(motion.up @ frame[0], -1.0, 1.0)))


def segment_descriptors(
    motions: dict[str, SensorMotion],
    signs: dict[str, float],
    reference_tilts: dict[str, float],
    rate: float,
    n: int,
) -> dict[str, np.ndarray]:
    """Every column of schema ``IMU_DESCRIPTOR_COLUMNS`` (NaN where its sensor is missing) from
    the body sensors' motions, the anatomical signs of their sagittal tilts and their sagittal
    tilts in the reference posture (deg), all keyed by placement."""
    nan = np.full(n, np.nan)
    out: dict[str, np.ndarray] = {}
    frontal: dict[str, np.ndarray] = {}
    for segment, placements in DESCRIPTOR_SEGMENTS.items():
        name, _, side = segment.partition("_")
        # The midline is to the right of a left segment: mirror the right side so both read alike.
        medial = -1.0 if side == "right" else 1.0
        # Legs: positive when the knee end of the segment moves towards the midline.
        towards = {"thigh": -medial, "shank": medial}.get(name, 1.0)
        tilt, rates = nan, {"frontal_rate": nan, "axial_rate": nan, "angular_speed": nan}
        placement = next((p for p in placements if p in motions), None)
        if placement is not None:
            motion = motions[placement]
            frame = anatomical_frame(motion, signs[placement], reference_tilts[placement])
            tilt = lowpass(frontal_tilt_deg(motion, frame), rate, DEFAULT_CUTOFF_HZ)
            tilt[~motion.valid] = np.nan
            if motion.gyr is not None:
                gyr = np.degrees(motion.gyr)
                rates = {
                    "frontal_rate": towards * lowpass(gyr @ frame[1], rate, DEFAULT_CUTOFF_HZ),
                    # +longitudinal turns the front to the left: internal rotation of the right leg,
                    # a trunk turning left (negated: the trunk's signs point to the right)
                    "axial_rate": -medial * lowpass(gyr @ frame[2], rate, DEFAULT_CUTOFF_HZ),
                    "angular_speed": lowpass(np.linalg.norm(gyr, axis=1), rate, DEFAULT_CUTOFF_HZ),
                }
        frontal[segment] = towards * tilt
        for kind, values in rates.items():
            out[segment_rate_column(segment, kind)] = values
    out["trunk_lateral_tilt_deg"] = frontal["trunk"]
    for side, medial in (("left", 1.0), ("right", -1.0)):
        thigh, shank = frontal[f"thigh_{side}"], frontal[f"shank_{side}"]
        out[f"thigh_frontal_{side}_deg"] = thigh
        out[f"shank_frontal_{side}_deg"] = shank
        out[f"knee_valgus_{side}_deg"] = thigh + shank
        out[f"hip_adduction_{side}_deg"] = thigh + medial * frontal["trunk"]
    return out


# --------------------------------------------------------------------------- angles
def _extreme(x: np.ndarray) -> float:
    """The larger-magnitude of the 1st/99th percentiles, signed (the rep-bottom excursion)."""
    lo, hi = np.nanpercentile(x, [1, 99])
    return float(hi if abs(hi) >= abs(lo) else lo)


def _deepest(x: np.ndarray, share: float = DEEP_SHARE) -> np.ndarray:
    """Frames where ``x`` lies furthest out the way of its largest excursion (`_extreme`): its top
    ``share`` of samples that way, the bottoms of a set's reps."""
    way = np.sign(_extreme(x)) or 1.0
    signed = way * x
    with np.errstate(invalid="ignore"):
        return signed >= np.nanpercentile(signed, 100 * (1 - share))


def _spine_signs(spine: dict[str, np.ndarray]) -> dict[str, float]:
    """Anatomical sign of each spine sensor's tilt change: the trunk inclines forward at the
    bottom of every hinge.

    The segments of one spine turn together (their flexion is small beside the trunk's
    inclination), so each is aligned with the segments before it, the one whose forward and
    backward excursions differ most going first; then all take the sign that makes their sum's
    extreme forward. Judged one by one, a sensor read from gravity alone in a swing with a
    lean-back at lockout can show a backward excursion as large as its forward one and flip alone
    (a lumbar flexion of 54 deg where the truth was 5).
    """

    def decisiveness(x: np.ndarray) -> float:
        lo, hi = np.abs(np.nanpercentile(x, [1, 99]))
        return float(abs(hi - lo) / max(hi + lo, 1e-9))

    if not spine:
        return {}
    order = sorted(spine, key=lambda p: -decisiveness(spine[p]))
    signs: dict[str, float] = {}
    aligned = np.zeros_like(spine[order[0]])
    for p in order:
        signs[p] = -1.0 if float(np.dot(np.nan_to_num(spine[p]), aligned)) < 0 else 1.0
        aligned = aligned + signs[p] * np.nan_to_num(spine[p])
    if _extreme(np.sum([signs[p] * spine[p] for p in order], axis=0)) < 0:
        signs = {p: -v for p, v in signs.items()}
    return signs


def _chord_tilt(spine: dict[str, np.ndarray]) -> np.ndarray:
    """Tilt change of the hip -> shoulder chord from the spine segments' tilt changes."""
    changes = []
    for k, name in enumerate(SPINE_SEGMENTS):
        if name in spine:
            changes.append(spine[name])
        else:  # borrow the nearest present neighbour (upper first for the pelvis)
            order = sorted((j for j, m in enumerate(SPINE_SEGMENTS) if m in spine), key=lambda j: abs(j - k))
            changes.append(spine[SPINE_SEGMENTS[order[0]]])
    tilts = np.radians(np.column_stack(changes) + SPINE_STANDING_TILT_DEG)
    fwd = (SPINE_LENGTHS * np.sin(tilts)).sum(axis=1)
    up = (SPINE_LENGTHS * np.cos(tilts)).sum(axis=1)
    r0 = np.radians(SPINE_STANDING_TILT_DEG)
    chord0 = np.degrees(np.arctan2((SPINE_LENGTHS * np.sin(r0)).sum(), (SPINE_LENGTHS * np.cos(r0)).sum()))
    return np.degrees(np.arctan2(fwd, up)) - chord0


def imu_angles(
    frames: pl.DataFrame,
    sample_rate_hz: float,
    exercise: str | None = None,
    stance_side: str | None = None,
) -> pl.DataFrame:
    """Angles per frame (schema.ANGLES without ids) from canonical IMU frames.

    ``exercise`` picks the reference posture (hip thrust starts lying in a bridge, everything else
    standing); ``stance_side`` (single-leg RDL) marks the other thigh as the free leg.
    """
    n = frames.height
    rates = {p: _angular_velocity(frames, p, sample_rate_hz) for p in BODY_PLACEMENTS}
    gyros = [g for g in rates.values() if g is not None]
    read = {p: _channels(frames, p, ACCELEROMETER_CHANNELS, sample_rate_hz) for p in BODY_PLACEMENTS}
    accs = {p: a for p, a in read.items() if a is not None}
    # The first and the last movement (read backwards from the end): the still reference lies
    # before the one or, in a recording started mid-rep, after the other (`still_window`; turning
    # rates tell a still end, so recordings without any gyroscope keep the start).
    settled = None
    if gyros:
        onset = movement_onset(gyros, sample_rate_hz)
        settled = n - movement_onset([g[::-1] for g in gyros], sample_rate_hz)
    else:
        onset = tilt_onset(list(accs.values()), sample_rate_hz)
    motions = {
        p: m
        for p in BODY_PLACEMENTS
        if (m := _motion(frames, p, sample_rate_hz, onset, settled, rates[p], read[p])) is not None
    }
    change = {p: m.tilt for p, m in motions.items()}
    ref = REFERENCE_POSTURES[reference_posture(exercise)]
    out, signs = _body_angles(change, ref, stance_side, n)
    standing = _standing_elsewhere(
        out["hinge_deg"], motions, accs, sample_rate_hz, bool(gyros), exercise in BOTTOM_START_EXERCISES
    )
    if standing is not None:
        change = {p: c - np.nanmedian(c[standing]) for p, c in change.items()}
        out, signs = _body_angles(change, ref, stance_side, n)
    standing_tilts = {
        **{p: ref["trunk"] + t for p, t in zip(SPINE_SEGMENTS, SPINE_STANDING_TILT_DEG, strict=True)},
        **{f"{leg}_{side}": ref[leg] for leg in ("thigh", "shank") for side in ("left", "right")},
    }
    out.update(segment_descriptors(motions, signs, standing_tilts, sample_rate_hz, n))
    needed = [change[p] for p in change]
    confidence = np.isfinite(np.column_stack(needed)).all(axis=1).astype(float) if needed else np.zeros(n)
    table = pl.DataFrame({"frame": frames["frame"], "t_s": frames["t_s"], **out, "confidence": confidence})
    return conform(
        table.fill_nan(None), {k: v for k, v in ANGLES.items() if k not in ("recording_id", "ingest_id")}
    )


def _body_angles(
    change: dict[str, np.ndarray], ref: dict[str, float], stance_side: str | None, n: int
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The sagittal angles and the hinge signal (`imu_angles`) from each sensor's tilt change
    against the reference posture ``ref``, with the anatomical sign each sensor's tilt got."""
    nan = np.full(n, np.nan)
    signs = dict.fromkeys(change, 1.0)
    spine = {p: change[p] for p in SPINE_SEGMENTS if p in change}
    for p, sign in _spine_signs(spine).items():
        spine[p] = sign * spine[p]
        signs[p] = sign
    out: dict[str, np.ndarray] = {}
    trunk = _chord_tilt(spine) + ref["trunk"] if spine else nan
    out["trunk_inclination_deg"] = trunk
    out["thoracic_flexion_deg"] = (
        spine["upper_back"] - spine["lower_back"] if {"upper_back", "lower_back"} <= spine.keys() else nan
    )
    out["lumbar_flexion_deg"] = (
        spine["lower_back"] - spine["sacrum"] if {"lower_back", "sacrum"} <= spine.keys() else nan
    )
    out["pelvis_tilt_deg"] = spine.get("sacrum", nan)
    thigh_back: dict[str, np.ndarray] = {}
    shank_forward: dict[str, np.ndarray] = {}
    hip_travel: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        thigh_c, shank_c = change.get(f"thigh_{side}"), change.get(f"shank_{side}")
        free_leg = stance_side in ("left", "right") and stance_side != side
        thigh = nan
        if thigh_c is not None:
            if spine:
                # Hip flexion = trunk - thigh: the sign that flexes the hip more, the free leg less,
                # over the reps' bottoms taken together (`_deepest`): judged on the single largest
                # excursion, one rep whose thigh turns the other way (knees pushed forward) picks
                # the wrong sign for the whole set.
                deep = _deepest(trunk - ref["trunk"])
                flex = [float(np.nanmean((trunk - ref["trunk"] - s * thigh_c)[deep])) for s in (1.0, -1.0)]
                sign = (1.0, -1.0)[int(np.argmin(flex) if free_leg else np.argmax(flex))]
            else:
                # No trunk: a standing hinge's thighs rotate backward (hips go back, knees ahead);
                # a single-leg RDL's free thigh swings the other way, its knee behind the hip.
                sign = -1.0 if (_extreme(thigh_c) > 0) != free_leg else 1.0
            thigh = sign * thigh_c + ref["thigh"]
            signs[f"thigh_{side}"] = sign
        shank = nan
        if shank_c is not None:
            base = thigh - ref["thigh"] if thigh_c is not None else np.zeros(n)
            knee_opts = [_extreme(s * shank_c - base) for s in (1.0, -1.0)]
            # Standing, shank and thigh turn opposite ways (knee flexes more); in a bridge the hips
            # drop and both turn backwards (knee flexes less).
            pick = np.argmin if ref is REFERENCE_POSTURES["supine_bridge"] else np.argmax
            signs[f"shank_{side}"] = (1.0, -1.0)[int(pick(knee_opts))]
            shank = signs[f"shank_{side}"] * shank_c + ref["shank"]
        out[f"hip_flexion_{side}_deg"] = trunk - thigh
        # The thigh rotating back = hips going back; a free thigh swinging back tilts forward.
        thigh_back[side] = thigh - ref["thigh"] if free_leg else ref["thigh"] - thigh
        shank_forward[side] = shank - ref["shank"]  # the shank tilting forward = knees bending
        out[f"knee_flexion_{side}_deg"] = shank - thigh
        out[f"ankle_dorsiflexion_{side}_deg"] = shank
        hip_travel[side] = hip_behind_ankle(thigh, shank)
    # The hinge signal reps are cut on: the working hips' flexion, else the trunk's inclination,
    # else the thighs' backward rotation (a thigh-only set), else the shanks' forward tilt (the
    # knees bend in every lift from the floor; a stiff-legged RDL moves them too little to count).
    # A single-leg RDL's free leg barely flexes its hip, so only the stance side gives hip flexion;
    # but its thigh swings back about as far as the trunk leans forward (the body stays a "T"), and
    # its shank with it: tens of degrees, where the stance thigh turns back only by the hip flexion
    # the trunk does not make, and the stance shank a few degrees. Without hips or trunk, the free
    # leg's segments come first; a free shank by its size, since which way a lone shank's mounting
    # turns is chosen for a bending knee, which the free leg need not show.
    working = (stance_side,) if stance_side in ("left", "right") else ("left", "right")
    free = tuple({"left", "right"} - set(working))
    finite_hips = [h for s in working if np.isfinite(h := out[f"hip_flexion_{s}_deg"]).any()]
    finite_thighs = [t for s in working if s in thigh_back and np.isfinite(t := thigh_back[s]).any()]
    free_thighs = [t for s in free if s in thigh_back and np.isfinite(t := thigh_back[s]).any()]
    free_shanks = [np.abs(v) for s in free if np.isfinite(v := shank_forward[s]).any()]
    finite_shanks = [v for s in working if np.isfinite(v := shank_forward[s]).any()]
    if finite_hips:
        hinge = np.mean(finite_hips, axis=0)
    elif spine:
        hinge = trunk - ref["trunk"]
    elif candidates := free_thighs or free_shanks or finite_thighs or finite_shanks:
        hinge = np.mean(candidates, axis=0)
    else:
        hinge = nan
    out["hinge_deg"] = hinge
    out["hip_travel_leg_lengths"] = nanmean_stack([hip_travel[s] for s in working])
    return out, signs


def _standing_elsewhere(
    hinge: np.ndarray,
    motions: dict[str, SensorMotion],
    accs: dict[str, np.ndarray],
    rate: float,
    gyroscopes: bool,
    starts_at_bottom: bool,
) -> np.ndarray | None:
    """The frames to re-read a set against when its still reference is not the athlete standing,
    else None. Two ways it is not:

    - the reference window holds a rep (`_moving_reference`): a logger started with the first rep;
    - in a lift that starts at the bottom (``starts_at_bottom``: a deadlift's set-up at the bar, a
      hip thrust seated against the bench), the window is still but held at the hinge's other
      extreme from where the body stands (`_standing_frames`). Read against it, the hinge came out
      offset by a rep's depth and reversed: a simulated thigh-only deadlift cut to open in a 2.5-s
      hold at its first bottom found 5 of 9 reps. A still reference is re-read only when standing
      lies more than ``FAR_FROM_REFERENCE`` of the hinge's range from it, so a set that starts
      standing keeps its reference. Other lifts keep a still reference: in a single-leg RDL the
      free leg rises as the hinge deepens, and the body's mean vertical acceleration misread the
      standing side of two sets of randomised seed 0 that started standing."""
    moving = _moving_reference(motions, accs)
    if not moving and not starts_at_bottom:
        return None
    standing = _standing_frames(hinge, _vertical_acceleration(motions, len(hinge)), rate)
    if standing is None:
        return None
    if not moving:
        still = np.zeros(len(hinge), dtype=bool)
        for m in motions.values():
            still[m.still] = True
        with np.errstate(invalid="ignore"):
            low, high = np.nanpercentile(hinge, [2, 98])
            apart = abs(float(np.nanmedian(hinge[standing]) - np.nanmedian(hinge[still])))
        if not apart > FAR_FROM_REFERENCE * (high - low):
            return None
    if not gyroscopes:
        # Tilt from gravity alone holds only while the sensors barely accelerate: a swing's
        # lockout, the hip snap, is no standing to read it at.
        standing &= _quasi_static(motions)
        standing = standing if standing.sum() >= STILL_S * rate else None
    return standing


def _moving_reference(motions: dict[str, SensorMotion], accs: dict[str, np.ndarray]) -> bool:
    """Whether a sensor's reference window (`SensorMotion.still`) holds a rep: its accelerometer's
    gravity turns at least ``ONSET_TILT_DEG`` in it, between the means of the window's first and
    last thirds. A recording that moves from its first half second and is not still after the set
    either (a logger started with the first rep and stopped with the last) then has its reference
    inside a rep. Read on gravity, a gyroscope's bias (0.2 rad/s on one of the real squat set's
    boards) is no movement, and a sensor without a gyroscope is judged the same way. Any one
    sensor decides: in a good morning the legs barely move."""
    return any(
        _gravity_turn(accs[p][m.still])[2] >= ONSET_TILT_DEG for p, m in motions.items() if p in accs
    )


def _vertical_acceleration(motions: dict[str, SensorMotion], n: int) -> np.ndarray:
    """The body sensors' mean vertical acceleration (m/s^2, up positive): each one's specific force
    along its up vector, less g."""
    forces = [(m.force, m.up) for m in motions.values() if m.force is not None]
    vertical = [np.einsum("ij,ij->i", force, up) - GRAVITY for force, up in forces]
    return nanmean_stack(vertical) if vertical else np.full(n, np.nan)


def _quasi_static(motions: dict[str, SensorMotion]) -> np.ndarray:
    """Frames where every sensor's specific force is within ``QUASI_STATIC_G`` of g."""
    with np.errstate(invalid="ignore"):
        calm = [
            np.abs(np.linalg.norm(m.force, axis=1) - GRAVITY) < QUASI_STATIC_G * GRAVITY
            for m in motions.values()
            if m.force is not None
        ]
    return np.all(calm, axis=0)


def _standing_frames(hinge: np.ndarray, vertical_acc: np.ndarray, rate: float) -> np.ndarray | None:
    """The frames where the athlete stands, for a set whose reference posture lies inside a rep
    (`_moving_reference`); None when the accelerations cannot tell.

    Measured from a posture inside a rep the hinge signal is offset, and reversed when that posture
    is a rep's bottom: which of its extremes is standing is read from the body's vertical
    acceleration. The body goes down as the hinge deepens, so the hinge's second derivative and the
    vertical acceleration are anti-correlated (r -0.4 to -0.98 on simulated sets of the six hinge
    lifts read from a still start). Standing is at the hinge's extreme on the side that way round
    (its lowest ``STANDING_BAND_SHARE`` of frames, or its highest when the correlation is
    positive), where most of those frames rest: the lockouts between reps and the standing after
    the set. Not the extreme itself: a lifter who leans back at some lockouts holds those past
    standing, and the lowest tenth of an IMU deadlift filmed from the set-up was its two lean-backs,
    which read every rep's lumbar flexion 7 deg high (randomised seed 88)."""
    smooth_hinge = lowpass(hinge, rate, POLARITY_CUTOFF_HZ)
    curvature = np.gradient(np.gradient(smooth_hinge)) * rate * rate
    vertical = lowpass(vertical_acc, rate, POLARITY_CUTOFF_HZ)
    known = np.isfinite(curvature) & np.isfinite(vertical)
    if known.sum() < 3 or np.std(curvature[known]) == 0 or np.std(vertical[known]) == 0:
        return None
    r = float(np.corrcoef(curvature[known], vertical[known])[0, 1])
    if abs(r) < MIN_POLARITY_R:
        return None
    way = 1.0 if r < 0 else -1.0  # +1: the hinge's low extreme is standing
    signed = way * hinge
    with np.errstate(invalid="ignore"):
        low, high = np.nanpercentile(signed, [2, 98])
        band = signed <= np.nanpercentile(signed, 100 * STANDING_BAND_SHARE)
    width = REST_LEVEL_BIN * (high - low)
    values = signed[band]
    if not width > 0 or not len(values):
        return band
    counts, edges = np.histogram(values, bins=max(1, int(np.ceil((values.max() - values.min()) / width))))
    densest = int(np.argmax(counts))
    level = float(edges[densest] + edges[densest + 1]) / 2
    extreme = signed <= np.nanpercentile(signed, 100 * STANDING_EXTREME_SHARE)
    if abs(level - float(np.nanmedian(signed[extreme]))) > PAST_STANDING_SHARE * (high - low):
        # Rested at a level well inside the range: a partial rep's top or a pause mid-rep, not
        # standing (a real partial-squat set rests 43 deg above its standing there).
        return extreme
    return band & (np.abs(signed - level) <= width)


def hip_behind_ankle(thigh_deg: np.ndarray, shank_deg: np.ndarray) -> np.ndarray:
    """Horizontal distance of the hip behind the ankle in leg lengths, from the thigh's and the
    shank's forward tilts (deg): the planar two-link leg standing on its foot, hip at
    ``THIGH_SHARE sin(thigh) + (1 - THIGH_SHARE) sin(shank)`` leg lengths ahead of the ankle.
    The coaching checkpoint "hips travel back" (SPEC.md; `hips_not_back`: "hips stay over the
    ankles") as pose measures it from landmarks (``kinematics.pose``), here without any position:
    only the two tilts and the segments' share of the leg."""
    thigh, shank = np.radians(thigh_deg), np.radians(shank_deg)
    return -(THIGH_SHARE * np.sin(thigh) + (1.0 - THIGH_SHARE) * np.sin(shank))


def shins_only_note(sensors: str, exercise: str | None, stance_side: str | None = None) -> str | None:
    """A sentence for the coach when a set's only body sensors are on the shins in a lift whose
    shins barely move (``STILL_SHIN_EXERCISES``): its reps are cut on a few degrees of shin tilt.
    Not when one is a single-leg RDL's free shin (``stance_side`` is the other), which swings back."""
    body = {p for p in sensors.split(",") if p in BODY_PLACEMENTS}
    if exercise not in STILL_SHIN_EXERCISES or not body or not body <= {"shank_left", "shank_right"}:
        return None
    if stance_side in ("left", "right") and body - {f"shank_{stance_side}"}:
        return None
    return (
        f"Only the shins carry sensors, and in {STILL_SHIN_EXERCISES[exercise]} the shins barely move "
        "(a few degrees): reps can be missed. A sensor on a thigh or the back counts them reliably."
    )


def gravity_tilt_note(frames: pl.DataFrame, sample_rate_hz: float, exercise: str | None) -> str | None:
    """A sentence for the coach when a swing's body sensors have neither a gyroscope nor an
    orientation output. Their tilt then comes from gravity alone (`gravity_motion`), which holds
    while the body's own accelerations stay small beside g, as in a hinge; in a swing they reach
    about g where the trunk reverses at the bottom (randomised seed 0 RZ0090, a 15 Hz upper back:
    thoracic flexion 5-9 deg off in every rep)."""
    if exercise not in SWING_EXERCISES:
        return None
    blind = [
        " ".join(reversed(p.split("_"))) if p.endswith(("_left", "_right")) else p.replace("_", " ")
        for p in BODY_PLACEMENTS
        if _channels(frames, p, ACCELEROMETER_CHANNELS, sample_rate_hz) is not None
        and _angular_velocity(frames, p, sample_rate_hz) is None
    ]
    if not blind:
        return None
    return (
        f"Sensors without a gyroscope ({', '.join(blind)}): their tilt is read from gravity alone, and "
        "a swing's own accelerations (about g at the bottom) shift it by several degrees, so the "
        "angles from them are approximate. Sensors with a gyroscope read them within a few degrees."
    )
