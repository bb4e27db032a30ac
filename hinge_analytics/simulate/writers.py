"""Write simulated landmark trajectories in the real tools' file formats, with estimator noise.

Each writer takes body-frame landmark positions (metres, x forward, y up, z right) and writes the
file exactly as the tool lays it out (see hinge_analytics.formats for the keypoint orders).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.formats import MEDIAPIPE_33

# Which simulated point stands in for each MediaPipe landmark the body model has no joint for.
_MEDIAPIPE_SOURCE = {
    "left_eye_inner": "nose",
    "left_eye": "nose",
    "left_eye_outer": "ear_left",
    "right_eye_inner": "nose",
    "right_eye": "nose",
    "right_eye_outer": "ear_right",
    "mouth_left": "nose",
    "mouth_right": "nose",
    "left_pinky": "wrist_left",
    "left_index": "wrist_left",
    "left_thumb": "wrist_left",
    "right_pinky": "wrist_right",
    "right_index": "wrist_right",
    "right_thumb": "wrist_right",
    "left_foot_index": "toe_left",
    "right_foot_index": "toe_right",
}


def _canonical_source(mediapipe_name: str) -> str:
    if mediapipe_name in _MEDIAPIPE_SOURCE:
        return _MEDIAPIPE_SOURCE[mediapipe_name]
    if mediapipe_name == "nose":
        return "nose"
    side, joint = mediapipe_name.split("_", 1)
    return f"{joint}_{side}"


def add_pose_noise(
    points: dict[str, np.ndarray], rng: np.random.Generator, jitter_m: float = 0.006
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Pose-estimator noise: per-landmark jitter plus short low-visibility dropouts.

    Returns noisy positions and a visibility score (0..1) per landmark and frame.
    """
    noisy, visibility = {}, {}
    for name, p in points.items():
        n = len(p)
        noisy[name] = p + rng.normal(0.0, jitter_m, p.shape)
        vis = np.clip(rng.normal(0.95, 0.03, n), 0.0, 1.0)
        if rng.random() < 0.3:  # an occluded stretch on some landmarks
            start = int(rng.integers(0, max(n - 10, 1)))
            vis[start : start + int(rng.integers(3, 10))] = rng.uniform(0.05, 0.3)
        visibility[name] = vis
    return noisy, visibility


def write_mediapipe_csv(
    path: Path,
    time_s: np.ndarray,
    points: dict[str, np.ndarray],
    visibility: dict[str, np.ndarray],
    facing: float = 1.0,
) -> None:
    """MediaPipe Pose *world* landmarks as CSV: metres, origin at the hip centre, y pointing down.

    One row per frame: ``timestamp_ms`` then ``<landmark>_x,_y,_z,_visibility`` for the 33 landmarks
    in MediaPipe's order. ``facing`` = +1 when the athlete faces image-right, -1 image-left.
    """
    hip_centre = (points["hip_left"] + points["hip_right"]) / 2
    columns: dict[str, np.ndarray] = {"timestamp_ms": np.round(time_s * 1000.0, 3)}
    for name in MEDIAPIPE_33:
        source = _canonical_source(name)
        p = points[source] - hip_centre
        columns[f"{name}_x"] = np.round(facing * p[:, 0], 5)
        columns[f"{name}_y"] = np.round(-p[:, 1], 5)
        columns[f"{name}_z"] = np.round(facing * p[:, 2], 5)
        columns[f"{name}_visibility"] = np.round(visibility[source], 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(columns).write_csv(path)
