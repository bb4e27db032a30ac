"""Map motion-capture marker names (TRC, C3D) to the canonical landmarks, and find "up".

Marker sets differ per lab and tool; the names handled here are those of the real files in
``tests/data/real`` and of the common sets:

- Pose2Sim / OpenPose keypoints triangulated to markers: ``RHip``, ``LKnee``, ``RBigToe``, ``Neck`` ...
  (Pose2Sim ``skeletons.py``);
- OpenCap / Pose2Sim LSTM augmenter: ``r.ASIS_study``, ``r_knee_study``/``r_mknee_study``, ``RHJC_study``;
- Vicon Plug-in Gait: ``RASI LASI RPSI LPSI RKNE RANK RHEE RTOE RSHO RELB RWRA/RWRB RFHD RBHD``
  (Vicon Plug-in Gait Reference Guide, "Marker placement");
- Cortex/EVaRT style exports shipped with OpenSim: ``R.ASIS V.Sacral R.Heel R.Toe.Tip R.Acromium``.

Where no hip marker exists the hip joint centre is estimated from the pelvis markers with
Harrington et al. (2007), J Biomech 40:595-602 (ASIS + PSIS/sacrum), or Bell et al. (1990),
Hum Mov Sci 9:225-231 (ASIS only, vertical from the data).
"""

from __future__ import annotations

import re

import numpy as np

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.numeric import nanmean_stack, nanmedian, nanmin

# canonical joint -> alternatives in order of preference; an alternative averages its markers
# (lateral + medial markers average to the joint centre).
_ALTERNATIVES: dict[str, tuple[tuple[str, ...], ...]] = {
    "hip": (("hjc",), ("hip",), ("hipjc",), ("jchip",)),
    "knee": (
        ("knee", "mknee"),
        ("knee",),
        ("kne",),
        ("kneelat", "kneemed"),
        ("lknee", "mknee"),
        ("lfe", "mfe"),
        ("lfe",),
        ("kneejc",),
        ("lknee",),
    ),
    "ankle": (
        ("ankle", "mankle"),
        ("ankle",),
        ("ank",),
        ("anklelat", "anklemed"),
        ("lma", "mma"),
        ("lma",),
        ("lankle", "mankle"),
        ("lankle",),
        ("anklejc",),
    ),
    "heel": (("heel",), ("hee",), ("calc",), ("cal",)),
    "toe": (("bigtoe",), ("toe",), ("toetip",), ("toemed",), ("fm1",), ("mt1",), ("mt2",), ("fm2",)),
    "shoulder": (("shoulder",), ("sho",), ("acromion",), ("acromium",), ("acr",), ("shoulderjc",)),
    "elbow": (
        ("elbow",),
        ("lelbow", "melbow"),
        ("elbowlat", "elbowmed"),
        ("elb",),
        ("lateralepicondyle",),
        ("lelbow",),
        ("elbowlat",),
    ),
    "wrist": (("wrist",), ("lwrist", "mwrist"), ("wristlat", "wristmed"), ("wra", "wrb"), ("wra",)),
    "ear": (("ear",), ("temple",), ("fhd", "bhd"), ("tragus",)),
}
_PELVIS = {"asis": "asis", "asi": "asis", "psis": "psis", "psi": "psis"}
_SACRUM = ("sacr", "sacrum", "sacral", "vsacral", "sacrl")
_HEAD = ("head", "tophead", "headtop", "vertex")  # unsided markers at the top of the head
_UPPER = ("shoulder_left", "shoulder_right", "ear_left", "ear_right", "nose")
_LOWER = ("ankle_left", "ankle_right", "heel_left", "heel_right", "toe_left", "toe_right")
_CLEARANCE_M = 0.05
FLAT_FOOT_M = 0.1  # heel to toe along up; a foot is 0.2-0.3 m long


def split_label(label: str) -> tuple[str | None, str]:
    """``'Subject:R.ASIS_study '`` -> ('right', 'asis'); ``'LKnee'`` -> ('left', 'knee');
    ``'LateralEpicondyleL'`` -> ('left', 'lateralepicondyle'); ``'V.Sacral'`` -> (None, 'vsacral')."""
    name = label.strip().rsplit(":", 1)[-1].strip()
    name = re.sub(r"[_.\s-]*study$", "", name, flags=re.IGNORECASE)
    side = None
    m = re.match(r"^(left|right)[_.\s-]*(.+)$", name, flags=re.IGNORECASE)
    if m:
        side, name = m.group(1).lower(), m.group(2)
    else:
        m = re.match(r"^([LRlr])(?:[_.\s-]+|(?=[A-Z0-9]))(.+)$", name)
        if m:
            side, name = ("left" if m.group(1).lower() == "l" else "right"), m.group(2)
        else:
            m = re.match(r"^(.+?)[_.\s-]+(left|right|l|r)$", name, flags=re.IGNORECASE)
            camel = re.match(r"^(.*[a-z])([LR])$", name)
            if m:
                side, name = ("left" if m.group(2).lower().startswith("l") else "right"), m.group(1)
            elif camel:
                side, name = ("left" if camel.group(2) == "L" else "right"), camel.group(1)
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return side, key


def markers_to_landmarks(labels: list[str], points: np.ndarray) -> dict[str, np.ndarray]:
    """``points`` (n_frames, n_markers, 3), metres, any axes -> canonical landmark -> (n, 3).

    NaN marks a missing sample. Labels that map to nothing are ignored.
    """
    by_key: dict[tuple[str | None, str], np.ndarray] = {}
    for i, label in enumerate(labels):
        side, key = split_label(label)
        by_key.setdefault((side, key), points[:, i, :])
    out: dict[str, np.ndarray] = {}
    for joint, alternatives in _ALTERNATIVES.items():
        for side in ("left", "right"):
            for alternative in alternatives:
                found = [by_key.get((side, k)) for k in alternative]
                if all(f is not None for f in found):
                    out[f"{joint}_{side}"] = nanmean_stack(found)  # type: ignore[arg-type]
                    break
    if (None, "nose") in by_key:
        out["nose"] = by_key[(None, "nose")]
    head = next((by_key[(None, k)] for k in _HEAD if (None, k) in by_key), None)
    if head is not None and "ear_left" not in out and "ear_right" not in out:
        # Pose2Sim's triangulated keypoints (BODY_25B, HALPE_26) carry no ears but the top of the
        # head, which lies on the neck's line through the ears as they do: the upper-back rounding
        # proxy (shoulder -> ear against hip -> shoulder) reads it, and not the nose, which sits a
        # face's depth ahead of that line (+25-31 deg on simulated Pose2Sim files).
        out["ear_left"] = out["ear_right"] = head
    if "hip_left" not in out or "hip_right" not in out:
        pelvis = {(s, _PELVIS[k]): v for (s, k), v in by_key.items() if k in _PELVIS}
        sacrum = next((v for (s, k), v in by_key.items() if s is None and k in _SACRUM), None)
        hips = estimate_hip_centres(pelvis, sacrum)
        for side, p in hips.items():
            out.setdefault(f"hip_{side}", p)
    return out


def estimate_hip_centres(
    pelvis: dict[tuple[str | None, str], np.ndarray], sacrum: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Hip joint centres from ASIS (+ PSIS or sacrum), in the markers' own (y-up) frame.

    Harrington et al. 2007 (mm): posterior 0.24 PD + 9.9, inferior 0.30 PW + 10.9,
    lateral 0.33 PW + 7.3 (PW = inter-ASIS width, PD = ASIS-PSIS depth). Without PSIS: Bell et
    al. 1990, posterior 0.19 PW, inferior 0.30 PW, lateral 0.36 PW, anterior from vertical.
    Called after the points are turned y-up (see ``to_y_up``), so "up" is +y.
    """
    rasi, lasi = pelvis.get(("right", "asis")), pelvis.get(("left", "asis"))
    if rasi is None or lasi is None:
        return {}
    rpsi, lpsi = pelvis.get(("right", "psis")), pelvis.get(("left", "psis"))
    mid_psis = nanmean_stack([rpsi, lpsi]) if rpsi is not None and lpsi is not None else sacrum
    origin = (rasi + lasi) / 2
    lateral = rasi - lasi
    width = np.linalg.norm(lateral, axis=1, keepdims=True)
    z = lateral / width
    if mid_psis is not None:
        back_to_front = origin - mid_psis
        depth = np.linalg.norm(back_to_front, axis=1, keepdims=True)
        x = back_to_front - np.sum(back_to_front * z, axis=1, keepdims=True) * z
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        posterior, inferior, outward = 0.24 * depth + 0.0099, 0.30 * width + 0.0109, 0.33 * width + 0.0073
    else:
        x = np.cross(np.array([0.0, 1.0, 0.0]), z)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        posterior, inferior, outward = 0.19 * width, 0.30 * width, 0.36 * width
    y = np.cross(z, x)
    base = origin - posterior * x - inferior * y
    return {"right": base + outward * z, "left": base - outward * z}


def up_axis(landmarks: dict[str, np.ndarray], default: int) -> tuple[int, float]:
    """(axis index, sign) of "up": the direction in which every other body point sits above the feet.

    The feet are the lowest points of every hinge exercise, standing or lying on a bench (hip
    thrust), so "up" is the axis direction that puts the most non-foot landmarks at least
    ``_CLEARANCE_M`` above the lower foot; ties go to the largest median height of the shoulders
    and head. (Head-minus-feet alone fails lying down: the body's long axis is then horizontal.)
    Each foot is the mean of its markers (ankle, heel, toe): along a horizontal axis a foot spans its
    length, and measured from its tip the knees of a hip thrust, above the ankles, would sit "above"
    it. The lower foot, not both feet's mean: at the bottom of a single-leg RDL the free foot is at
    hip height, and measured from the mean the hanging hands and the stance knee sit below "the
    feet" while every point sits ahead of them. Falls back to ``default`` (+) when the feet or the
    rest of the body are missing.

    A foot on the floor is flat: its heel and toe lie within ``FLAT_FOOT_M`` of each other along
    up, a foot's length apart along the body's long axis. Lying on a bench (hip thrust), that long
    axis can otherwise win: measured along it, from the toes, every other point sits "above" the
    feet, while along up the hips come down near the floor at the bottom of each rep. So an axis
    along which even the flatter foot spans more than ``FLAT_FOOT_M`` (median over frames) is not
    up, when heel and toe are both marked.
    """
    feet = [
        nanmean_stack(markers)
        for side in ("left", "right")
        if (markers := [landmarks[k] for k in _LOWER if k.endswith(side) and k in landmarks])
    ]
    body = [v for k, v in landmarks.items() if k not in _LOWER]
    if not feet or not body:
        return default, 1.0
    feet_xyz, body_xyz = np.stack(feet), np.stack(body)  # (sides, n, 3), (k, n, 3)
    upper = nanmean_stack([landmarks[k] for k in _UPPER if k in landmarks] or body)  # (n, 3)
    best, best_score = (default, 1.0), (-1.0, -np.inf)
    for axis in _flat_foot_axes(landmarks):
        for sign in (1.0, -1.0):
            ground = nanmin(sign * feet_xyz[:, :, axis])  # (n,) the lower foot in this direction
            heights = sign * body_xyz[:, :, axis] - ground
            valid = np.isfinite(heights)
            if not valid.any():
                continue
            above = heights[valid] > _CLEARANCE_M
            head_height = float(nanmedian(sign * upper[:, axis] - ground))
            score = (float(above.mean()), head_height)
            if score > best_score:
                best, best_score = (axis, sign), score
    return best


def _flat_foot_axes(landmarks: dict[str, np.ndarray]) -> list[int]:
    """The axes along which the flatter foot's heel and toe lie within ``FLAT_FOOT_M`` (all three
    when no foot has both marked, or when none qualifies: then the feet say nothing)."""
    spans = [
        np.abs(landmarks[f"heel_{side}"] - landmarks[f"toe_{side}"])
        for side in ("left", "right")
        if f"heel_{side}" in landmarks and f"toe_{side}" in landmarks
    ]
    if not spans:
        return [0, 1, 2]
    flatter = nanmedian(nanmin(np.stack(spans), axis=0))  # (3,): per axis, over frames
    axes = [axis for axis in range(3) if flatter[axis] <= FLAT_FOOT_M]
    return axes or [0, 1, 2]


# Proper rotations taking +axis (with sign) to +y.
_TO_Y_UP = {
    (1, 1.0): np.eye(3),
    (1, -1.0): np.diag([1.0, -1.0, -1.0]),
    (2, 1.0): np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),
    (2, -1.0): np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]),
    (0, 1.0): np.array([[0, -1.0, 0], [1.0, 0, 0], [0, 0, 1.0]]),
    (0, -1.0): np.array([[0, 1.0, 0], [-1.0, 0, 0], [0, 0, 1.0]]),
}


def to_y_up(points: np.ndarray, axis: int, sign: float) -> np.ndarray:
    """Rotate (..., 3) points so that the given axis becomes +y (right-handedness kept)."""
    return points @ _TO_Y_UP[(axis, sign)].T


def unit_scale(units: str) -> float:
    """Metres per unit for a TRC/C3D ``Units`` value."""
    scale = {"mm": 0.001, "cm": 0.01, "m": 1.0, "dm": 0.1, "millimeters": 0.001, "meters": 1.0}.get(
        units.strip().strip("'\"").lower()
    )
    if scale is None:
        raise BadRecording(f"The file says its units are {units!r}; only mm, cm or m are understood.")
    return scale


def landmarks_from_markers(
    labels: list[str], points: np.ndarray, default_up: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Marker trajectories (metres, file axes) -> canonical y-up landmarks and confidences.

    Confidence is 1 where the marker was tracked, 0 where it is missing (NaN).
    """
    raw = markers_to_landmarks(labels, points)
    axis, sign = up_axis(raw, default_up)
    rotated = to_y_up(points, axis, sign)
    xyz = markers_to_landmarks(labels, rotated)
    conf = {k: np.isfinite(v).all(axis=1).astype(np.float64) for k, v in xyz.items()}
    if not xyz:
        shown = ", ".join(labels[:8]) + (" ..." if len(labels) > 8 else "")
        raise BadRecording(
            f"None of the marker names ({shown}) could be matched to body landmarks such as hips, "
            "knees and shoulders; rename the markers (e.g. RHip, LKnee, RSHO) and re-export."
        )
    return xyz, conf
