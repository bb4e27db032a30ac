"""A sagittal multi-segment body model driven by segment angles, with anthropometry from stature.

Segment lengths are fractions of stature H from Winter, *Biomechanics and Motor Control of Human
Movement*, 4th ed. (2009), Fig. 4.1: ankle height 0.039H, knee 0.285H, hip (greater trochanter)
0.530H, shoulder 0.818H, chin 0.870H, eye 0.936H; upper arm 0.186H, forearm 0.146H, foot 0.152H,
hip width 0.191H, shoulder width 0.259H. The trunk (hip joint -> shoulder, 0.288H) is split into a
pelvis, a lumbar and a thoracic segment so spine shape can change while the chord stays put.

Segment angles are **forward tilts from vertical** in degrees (the upper end ahead of the lower end
is positive), all in the body's sagittal plane: body-frame x = forward, y = up, z = the athlete's
right. Joint angles follow SPEC.md: hip flexion = trunk chord tilt - thigh tilt; knee flexion =
shank tilt - thigh tilt; 0 deg upright.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Winter (2009) fractions of stature.
ANKLE_HEIGHT = 0.039
SHANK = 0.285 - 0.039
THIGH = 0.530 - 0.285
TRUNK = 0.818 - 0.530
UPPER_ARM = 0.186
FOREARM = 0.146
FOOT = 0.152
HIP_JOINT_SEPARATION = 0.191 * 0.5  # hip joint centres ~ half the hip breadth apart
SHOULDER_WIDTH = 0.259
HEAD_TO_EAR = 0.936 - 0.818  # shoulder -> ear height in standing

# The trunk chord is built from three spine segments; standing tilts give a neutral S-shaped spine
# (pelvis segment backwards to S1, lordotic lumbar, kyphotic thoracic), lengths as trunk fractions.
SPINE_LENGTHS = np.array([0.22, 0.33, 0.45])  # pelvis (hip joint->S1), lumbar (S1->L1), thoracic (L1->C7)
SPINE_STANDING_TILT_DEG = np.array([-25.0, -8.0, 12.0])


@dataclass(frozen=True)
class Anthropometry:
    """Stature and, optionally, per-segment length factors on Winter's (2009) stature fractions.

    A factor of 1.0 (the default) is the table mean: Winter's fractions are population averages
    that individuals depart from (the randomised simulator, ``simulate.randomised``, draws factors
    15-20 % either side, and relatively wider hips and narrower shoulders for women). ``feet``
    scales ankle height and foot length, ``head`` the shoulder -> ear -> nose offsets and the ear
    breadth.
    """

    stature_m: float
    shank: float = 1.0
    thigh: float = 1.0
    trunk: float = 1.0
    upper_arm: float = 1.0
    forearm: float = 1.0
    feet: float = 1.0
    head: float = 1.0
    hip_width: float = 1.0
    shoulder_width: float = 1.0

    def length(self, fraction: float) -> float:
        return fraction * self.stature_m


@dataclass
class Pose:
    """Segment tilts (deg) and offsets over time; every array has shape (n_frames,)."""

    shank_left: np.ndarray
    shank_right: np.ndarray
    thigh_left: np.ndarray
    thigh_right: np.ndarray
    trunk_chord: np.ndarray  # hip-centre -> shoulder-centre line
    lumbar_flexion: np.ndarray  # lumbar segment tilt relative to pelvis, minus standing
    thoracic_flexion: np.ndarray  # thoracic relative to lumbar, minus standing
    neck_flexion: np.ndarray  # head relative to thoracic
    shoulder_protraction: np.ndarray  # shoulders forward of the spine, fraction of stature
    heading_deg: np.ndarray  # small rotation about the vertical axis (out-of-plane motion)
    stance_side: str | None = None  # single-leg work: the other leg hangs from the hips
    arm_flexion_deg: np.ndarray | None = None  # straight arms swung forward from plumb (swing)
    hands_on_hips: bool = False  # hip thrust: the hands hold the bar across the hips
    bar_over_midfoot: bool = False  # deadlift: straight arms hold the bar over the midfoot
    roll_deg: np.ndarray | None = None  # small side-to-side lean of the trunk (out-of-plane)


def _unit(tilt_deg: np.ndarray) -> np.ndarray:
    """Forward-tilt angle -> sagittal unit vector (x forward, y up)."""
    r = np.radians(tilt_deg)
    return np.stack([np.sin(r), np.cos(r)], axis=-1)


def spine_segment_tilts(pose: Pose) -> np.ndarray:
    """Absolute tilts (n, 3) of pelvis, lumbar, thoracic segments whose chord tilt is trunk_chord.

    Rotating every segment by b rotates the chord by b, so b = target chord - chord at b = 0.
    """
    relative = (
        np.stack(
            [
                np.zeros_like(pose.trunk_chord),
                pose.lumbar_flexion,
                pose.lumbar_flexion + pose.thoracic_flexion,
            ],
            axis=-1,
        )
        + SPINE_STANDING_TILT_DEG
    )
    chord = (SPINE_LENGTHS * _unit(relative).transpose(2, 0, 1)).sum(axis=-1)  # (2, n)
    chord_tilt = np.degrees(np.arctan2(chord[0], chord[1]))
    return relative + (pose.trunk_chord - chord_tilt)[:, None]


def forward_kinematics(pose: Pose, body: Anthropometry) -> dict[str, np.ndarray]:
    """Joint and landmark positions (n, 3) in metres, body frame: ankles on the floor at x = 0.

    Tilts beyond +-90 deg are allowed: a hip thrust is the same chain lying back (trunk and thigh
    near -90 deg). ``rotate_heading`` then adds the out-of-plane heading.

    Each leg is its own chain from its ankle, so a side that bends its knee more drops that hip
    (pelvic obliquity) instead of sliding its foot.
    """
    n = len(pose.trunk_chord)
    zeros = np.zeros(n)
    H = body.stature_m
    out: dict[str, np.ndarray] = {}

    def lift(xy: np.ndarray, z: float | np.ndarray) -> np.ndarray:
        return np.column_stack([xy[:, 0], xy[:, 1], np.broadcast_to(z, (n,))])

    sides = (("left", -1.0), ("right", 1.0))
    if pose.stance_side == "right":
        sides = sides[::-1]  # the stance leg is built first, from its foot on the floor
    stance_hip = None
    for side, sign in sides:
        z = sign * HIP_JOINT_SEPARATION * H / 2 * body.hip_width
        shank = getattr(pose, f"shank_{side}")
        thigh = getattr(pose, f"thigh_{side}")
        if pose.stance_side is not None and stance_hip is not None:
            hip = stance_hip
            knee = hip - THIGH * H * body.thigh * _unit(thigh)
            ankle = knee - SHANK * H * body.shank * _unit(shank)
        else:
            ankle = np.column_stack([zeros, np.full(n, ANKLE_HEIGHT * H * body.feet)])
            knee = ankle + SHANK * H * body.shank * _unit(shank)
            hip = knee + THIGH * H * body.thigh * _unit(thigh)
            stance_hip = hip
        out[f"ankle_{side}"] = lift(ankle, z)
        out[f"knee_{side}"] = lift(knee, z)
        out[f"hip_{side}"] = lift(hip, z)
        heel = np.array([-0.25 * FOOT * H * body.feet, -ANKLE_HEIGHT * H * body.feet])
        toe = np.array([0.75 * FOOT * H * body.feet, -ANKLE_HEIGHT * H * body.feet])
        out[f"heel_{side}"] = lift(ankle + heel, z)
        out[f"toe_{side}"] = lift(ankle + toe, z)

    hip_centre = (out["hip_left"] + out["hip_right"]) / 2
    tilts = spine_segment_tilts(pose)
    point = hip_centre[:, :2].copy()
    spine_points = []
    for k in range(3):
        point = point + TRUNK * H * SPINE_LENGTHS[k] * body.trunk * _unit(tilts[:, k])
        spine_points.append(point.copy())
    c7 = spine_points[-1]
    thoracic_dir = _unit(tilts[:, 2])
    protraction = (
        pose.shoulder_protraction[:, None] * H * np.column_stack([thoracic_dir[:, 1], -thoracic_dir[:, 0]])
    )  # along the thoracic segment's forward normal
    shoulder = c7 + protraction
    head_dir = _unit(tilts[:, 2] + pose.neck_flexion)
    ear = c7 + HEAD_TO_EAR * H * body.head * head_dir
    nose = ear + 0.06 * H * body.head * np.column_stack([head_dir[:, 1], -head_dir[:, 0]]) * 0.9
    if pose.hands_on_hips:
        # Two-link arm reaching the bar on the hips, elbow bent towards the ceiling.
        bar = hip_centre[:, :2] + np.array([0.0, 0.03 * H])
        upper, fore = UPPER_ARM * H * body.upper_arm, FOREARM * H * body.forearm
        elbow = circle_intersection(shoulder, upper, bar, fore, upper=True)
        wrist = elbow + fore * _direction(bar - elbow)
    elif pose.bar_over_midfoot:
        # Straight arms from the shoulders to a bar over the midfoot: a deadlift's bar travels
        # plumb over the middle of the foot, the lifter's balance point (Rippetoe, Starting
        # Strength, 3rd ed., 2011, ch. 4; bar-path studies find a few cm of drift over ~0.5 m).
        arm = (UPPER_ARM * body.upper_arm + FOREARM * body.forearm) * H
        midfoot = 0.25 * FOOT * H * body.feet  # the foot runs from -0.25 to +0.75 foot lengths
        reach = np.clip(midfoot - shoulder[:, 0], -0.95 * arm, 0.95 * arm)
        wrist = shoulder + np.column_stack([reach, -np.sqrt(arm**2 - reach**2)])
        elbow = shoulder + (wrist - shoulder) * UPPER_ARM * body.upper_arm * H / arm
    elif pose.arm_flexion_deg is not None:
        # Straight arms swinging the bell: angle from hanging plumb, forward positive.
        down = _unit(pose.arm_flexion_deg + 180.0)
        elbow = shoulder + UPPER_ARM * H * body.upper_arm * down
        wrist = elbow + FOREARM * H * body.forearm * down
    else:
        # Arms hang plumb from the shoulders to the bar (gravity), slightly bent at the elbow.
        elbow = shoulder + UPPER_ARM * H * body.upper_arm * _unit(np.full(n, 180.0 - 6.2))
        wrist = elbow + FOREARM * H * body.forearm * _unit(np.full(n, 180.0 + 3.9))
    for side, sign in (("left", -1.0), ("right", 1.0)):
        zs = sign * SHOULDER_WIDTH * H / 2 * body.shoulder_width
        out[f"shoulder_{side}"] = lift(shoulder, zs)
        out[f"ear_{side}"] = lift(ear, sign * 0.07 * H * body.head)
        out[f"elbow_{side}"] = lift(elbow, zs)
        out[f"wrist_{side}"] = lift(wrist, zs)
    out["nose"] = lift(nose, 0.0)
    out["sacrum"] = lift(spine_points[0], 0.0)
    out["l1"] = lift(spine_points[1], 0.0)
    out["c7"] = lift(c7, 0.0)
    return out


def _direction(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def circle_intersection(
    a: np.ndarray, ra: float, b: np.ndarray, rb: float | np.ndarray, upper: bool = True
) -> np.ndarray:
    """The point at distance ``ra`` from ``a`` and ``rb`` from ``b`` (both (n, 2)), higher (or lower) one.

    Two-link inverse kinematics in the sagittal plane; when the links cannot reach, the point on
    the line a->b is returned (the chain is straight).
    """
    d_vec = np.asarray(b, dtype=np.float64) - a
    d = np.maximum(np.linalg.norm(d_vec, axis=-1), 1e-9)
    along = (ra**2 - np.asarray(rb) ** 2 + d**2) / (2 * d)
    across = np.sqrt(np.clip(ra**2 - along**2, 0.0, None))
    e = d_vec / d[:, None]
    perp = np.column_stack([-e[:, 1], e[:, 0]])
    p1 = a + along[:, None] * e + across[:, None] * perp
    p2 = a + along[:, None] * e - across[:, None] * perp
    pick_first = (p1[:, 1] >= p2[:, 1]) == upper
    return np.where(pick_first[:, None], p1, p2)


def rotate_heading(points: dict[str, np.ndarray], heading_deg: np.ndarray) -> dict[str, np.ndarray]:
    """Rotate every point about the vertical axis through the origin by ``heading_deg``."""
    r = np.radians(heading_deg)
    c, s = np.cos(r), np.sin(r)
    rotated = {}
    for name, p in points.items():
        x = c * p[:, 0] + s * p[:, 2]
        z = -s * p[:, 0] + c * p[:, 2]
        rotated[name] = np.column_stack([x, p[:, 1], z])
    return rotated


def sagittal_tilt_deg(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Forward tilt (deg) of the segment lower->upper, measured in the x-y plane."""
    d = upper - lower
    return np.degrees(np.arctan2(d[:, 0], d[:, 1]))
