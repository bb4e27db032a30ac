"""Keypoint orders and names of the real tools, mapped to the canonical landmark set (schema).

Shared by the readers (ingest) and the writers (simulate) so both speak the tools' exact layouts.

Sources:
- MediaPipe Pose Landmarker, 33 landmarks:
  https://ai.google.dev/edge/mediapipe/solutions/vision/pose_landmarker (landmark index list).
- OpenPose BODY_25 and COCO-18: openpose/doc/02_output.md ("Pose Output Format").
- COCO-17: COCO keypoint annotation format, https://cocodataset.org/#format-data (person category
  ``keypoints`` list), as used by MMPose, RTMPose, YOLO-pose and MoveNet.
- Halpe-26 and COCO-WholeBody (133): MMPose ``configs/_base_/datasets/halpe26.py`` and
  ``coco_wholebody.py``; both begin with COCO-17's order.
"""

from __future__ import annotations

MEDIAPIPE_33: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

BODY_25: tuple[str, ...] = (
    "Nose",
    "Neck",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
    "MidHip",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "REye",
    "LEye",
    "REar",
    "LEar",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
)

# BODY_25B (Pose2Sim/skeletons.py, object BODY_25B; docs/formats.md): 25 keypoints like BODY_25,
# in a COCO-like order.
BODY_25B: tuple[str, ...] = (
    "Nose",
    "LEye",
    "REye",
    "LEar",
    "REar",
    "LShoulder",
    "RShoulder",
    "LElbow",
    "RElbow",
    "LWrist",
    "RWrist",
    "LHip",
    "RHip",
    "LKnee",
    "RKnee",
    "LAnkle",
    "RAnkle",
    "Neck",
    "Head",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
)

COCO_18: tuple[str, ...] = (
    "Nose",
    "Neck",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "REye",
    "LEye",
    "REar",
    "LEar",
)

COCO_17: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

# Halpe-26: COCO-17, then head top, neck, mid-hip and the feet. RTMPose's body-with-feet model and
# Pose2Sim's default 2D model ("Body_with_feet"), whose per-frame JSON is OpenPose's layout.
HALPE_26: tuple[str, ...] = (
    *COCO_17,
    "head",
    "neck",
    "hip",
    "left_big_toe",
    "right_big_toe",
    "left_small_toe",
    "right_small_toe",
    "left_heel",
    "right_heel",
)

# COCO-WholeBody: COCO-17, six foot points, 68 face and 2 x 21 hand points (RTMW, MMPose's
# "wholebody" inferencer, Pose2Sim's "Whole_body"). Face and hand points are named by index only.
COCO_WHOLEBODY: tuple[str, ...] = (
    *COCO_17,
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
    *(f"face_{k}" for k in range(68)),
    *(f"hand_{side}_{k}" for side in ("left", "right") for k in range(21)),
)

# Keypoint orders that begin with COCO-17's, by their number of keypoints: an MMPose or Pose2Sim
# export says which one it is only by its length.
COCO_ORDERS: dict[int, tuple[str, ...]] = {len(o): o for o in (COCO_17, HALPE_26, COCO_WHOLEBODY)}

# Marker names of a Pose2Sim TRC (BODY_25B triangulation), in the order Pose2Sim writes them
# (tests/data/real/trc/pose2sim_BalancingTrial_0-100.trc). The simulator writes TRC and C3D with them.
POSE2SIM_MARKERS: tuple[str, ...] = (
    "RHip",
    "RKnee",
    "RAnkle",
    "RBigToe",
    "RSmallToe",
    "RHeel",
    "LHip",
    "LKnee",
    "LAnkle",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "Neck",
    "Head",
    "Nose",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
)


def _from_side_prefixed(name: str) -> str | None:
    """``left_knee`` -> ``knee_left``; ``left_foot_index`` -> ``toe_left``."""
    for side in ("left", "right"):
        prefix = f"{side}_"
        if name.startswith(prefix):
            joint = name[len(prefix) :]
            joint = {"foot_index": "toe", "big_toe": "toe"}.get(joint, joint)
            return f"{joint}_{side}"
    return "nose" if name == "nose" else None


def _from_openpose(name: str) -> str | None:
    """``LKnee`` -> ``knee_left``; ``LBigToe`` -> ``toe_left``; Neck/MidHip/eyes -> None."""
    if name == "Nose":
        return "nose"
    side = {"L": "left", "R": "right"}.get(name[:1])
    joint = {
        "Shoulder": "shoulder",
        "Elbow": "elbow",
        "Wrist": "wrist",
        "Hip": "hip",
        "Knee": "knee",
        "Ankle": "ankle",
        "Heel": "heel",
        "BigToe": "toe",
        "Ear": "ear",
    }.get(name[1:])
    return f"{joint}_{side}" if side and joint else None


def canonical_map(names: tuple[str, ...]) -> dict[str, int]:
    """Canonical landmark -> index into ``names`` for every landmark the layout has."""
    side_prefixed = any(n.startswith(("left_", "right_")) for n in names)
    convert = _from_side_prefixed if side_prefixed else _from_openpose
    mapping: dict[str, int] = {}
    for index, name in enumerate(names):
        canonical = convert(name)
        if canonical is not None and canonical not in mapping:
            mapping[canonical] = index
    return mapping
