"""Write simulated landmark trajectories in the real tools' file formats, with estimator noise.

Each writer takes landmark positions (metres, body frame after the heading rotation: x forward,
y up, z the athlete's right) and writes the file exactly as the tool lays it out (keypoint orders in
``hinge_analytics.formats``; layouts in docs/formats.md and docs/simulator.md). 2-D formats are
projected by ``camera.SideCamera`` first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.formats import (
    BODY_25,
    COCO_17,
    COCO_18,
    COCO_WHOLEBODY,
    HALPE_26,
    MEDIAPIPE_33,
    POSE2SIM_MARKERS,
)
from hinge_analytics.simulate.camera import SideCamera

# Which simulated point stands in for each MediaPipe (or MMPose Halpe-26 / COCO-WholeBody) keypoint
# the body model has no joint of that name for.
_SIDE_PREFIXED_SOURCE = {
    "left_eye_inner": "eye_left",
    "left_eye": "eye_left",
    "left_eye_outer": "eye_left",
    "right_eye_inner": "eye_right",
    "right_eye": "eye_right",
    "right_eye_outer": "eye_right",
    "mouth_left": "mouth_left",
    "mouth_right": "mouth_right",
    "left_pinky": "hand_left",
    "left_index": "hand_left",
    "left_thumb": "hand_left",
    "right_pinky": "hand_right",
    "right_index": "hand_right",
    "right_thumb": "hand_right",
    "left_foot_index": "toe_left",
    "right_foot_index": "toe_right",
    "left_big_toe": "toe_left",
    "right_big_toe": "toe_right",
    "left_small_toe": "small_toe_left",
    "right_small_toe": "small_toe_right",
    "head": "head",
    "neck": "neck",
    "hip": "mid_hip",
}

# OpenPose / Pose2Sim names -> simulated point.
_OPENPOSE_SOURCE = {
    "Nose": "nose",
    "Neck": "neck",
    "MidHip": "mid_hip",
    "Head": "head",
    "REye": "eye_right",
    "LEye": "eye_left",
    "REar": "ear_right",
    "LEar": "ear_left",
    "RBigToe": "toe_right",
    "LBigToe": "toe_left",
    "RSmallToe": "small_toe_right",
    "LSmallToe": "small_toe_left",
    "RHeel": "heel_right",
    "LHeel": "heel_left",
}
for _side, _s in (("L", "left"), ("R", "right")):
    for _joint in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"):
        _OPENPOSE_SOURCE[f"{_side}{_joint}"] = f"{_joint.lower()}_{_s}"


def _canonical_source(mediapipe_name: str) -> str:
    if mediapipe_name in _SIDE_PREFIXED_SOURCE:
        return _SIDE_PREFIXED_SOURCE[mediapipe_name]
    if mediapipe_name == "nose":
        return "nose"
    side, joint = mediapipe_name.split("_", 1)
    return f"{joint}_{side}"


def _keypoint_source(name: str) -> str | None:
    """The simulated point an OpenPose or MMPose keypoint name stands for; None for the face and
    hand points of COCO-WholeBody, which the simulated estimator does not detect."""
    if name in _OPENPOSE_SOURCE:
        return _OPENPOSE_SOURCE[name]
    if name.startswith(("face_", "hand_")):
        return None
    return _canonical_source(name)


def _keypoint_arrays(
    names: tuple[str, ...], uv: dict[str, np.ndarray], conf: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(n, K, 2) positions and (n, K) confidences in the order ``names``; undetected points are 0."""
    n = len(next(iter(uv.values())))
    sources = [_keypoint_source(k) for k in names]
    xy = np.stack([uv[s] if s else np.zeros((n, 2)) for s in sources], axis=1)
    c = np.stack([conf[s] if s else np.zeros(n) for s in sources], axis=1)
    return xy, c


def extended_points(points: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Add the landmarks estimators report but the body model does not carry (eyes, neck, ...)."""
    out = dict(points)
    up = np.array([0.0, 1.0, 0.0])
    for side in ("left", "right"):
        ear, nose = points[f"ear_{side}"], points["nose"]
        out[f"eye_{side}"] = nose + 0.35 * (ear - nose) + 0.01 * up
        out[f"mouth_{side}"] = nose + 0.15 * (ear - nose) - 0.04 * up
        wrist, elbow = points[f"wrist_{side}"], points[f"elbow_{side}"]
        out[f"hand_{side}"] = wrist + 0.35 * (wrist - elbow)
        toe, heel = points[f"toe_{side}"], points[f"heel_{side}"]
        lateral = np.sign(toe[:, 2:3] - points["nose"][:, 2:3] + 1e-12) * np.array([0.0, 0.0, 0.03])
        out[f"small_toe_{side}"] = heel + 0.85 * (toe - heel) + lateral
    out["neck"] = (points["shoulder_left"] + points["shoulder_right"]) / 2
    out["mid_hip"] = (points["hip_left"] + points["hip_right"]) / 2
    ear_c = (points["ear_left"] + points["ear_right"]) / 2
    out["head"] = ear_c + 1.2 * (ear_c - out["neck"]) * 0.5
    return out


# --------------------------------------------------------------------------- estimator noise
def add_pose_noise(
    points: dict[str, np.ndarray],
    rng: np.random.Generator,
    jitter_m: float = 0.006,
    spike_rate: float = 0.0005,
    swap_windows: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Pose-estimator noise on 3-D landmarks: jitter, rare spikes, low-visibility dropouts and short
    left/right swaps.

    Jitter is white Gaussian (``jitter_m`` per axis); a spike moves one landmark 3-8 cm for one
    frame; a dropout is a 3-10 frame stretch with visibility 0.05-0.3 (the position wanders more);
    a swap exchanges every left/right pair for 2-5 frames (the classic side-view leg flip).
    Returns noisy positions and a visibility score (0..1) per landmark and frame.
    """
    noisy, visibility = {}, {}
    for name, p in points.items():
        n = len(p)
        q = p + rng.normal(0.0, jitter_m, p.shape)
        spikes = rng.random(n) < spike_rate
        if spikes.any():
            direction = rng.normal(size=(int(spikes.sum()), 3))
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            q[spikes] += direction * rng.uniform(0.03, 0.08, (int(spikes.sum()), 1))
        vis = np.clip(rng.normal(0.95, 0.03, n), 0.0, 1.0)
        if rng.random() < 0.3:  # an occluded stretch on some landmarks
            start = int(rng.integers(0, max(n - 10, 1)))
            stop = start + int(rng.integers(3, 10))
            vis[start:stop] = rng.uniform(0.05, 0.3)
            q[start:stop] += rng.normal(0.0, 2 * jitter_m, q[start:stop].shape)
        noisy[name], visibility[name] = q, vis
    swap_sides(noisy, visibility, rng, swap_windows)
    return noisy, visibility


def swap_sides(
    values: dict[str, np.ndarray],
    scores: dict[str, np.ndarray],
    rng: np.random.Generator,
    windows: int | None = None,
    max_frames: int = 5,
) -> None:
    """Exchange left and right landmarks (in place) for a few windows of 2 to ``max_frames`` frames."""
    n = len(next(iter(values.values())))
    k = int(rng.choice([0, 0, 1, 1, 2])) if windows is None else windows
    for _ in range(k):
        start = int(rng.integers(0, max(n - 6, 1)))
        sl = slice(start, start + int(rng.integers(2, max_frames + 1)))
        for name in list(values):
            if name.endswith("_left") and name[:-5] + "_right" in values:
                other = name[:-5] + "_right"
                for table in (values, scores):
                    a = table[name][sl].copy()
                    table[name][sl] = table[other][sl]
                    table[other][sl] = a


def noisy_image_points(
    points: dict[str, np.ndarray], camera: SideCamera, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Project landmarks and add 2-D estimator noise in pixels.

    Returns (uv pixels (n, 2), depth from the camera (n,), confidence (n,)); the far side of the
    body gets lower confidence, more jitter and occasional misses (confidence 0).
    """
    ext = extended_points(points)
    uv, depth = {}, {}
    for name, p in ext.items():
        uv[name], depth[name] = camera.project(p)
    hip_depth = (depth["hip_left"] + depth["hip_right"]) / 2
    body_px = camera.focal_px * 1.0 / float(np.median(hip_depth))  # pixels per metre at the athlete
    conf = {}
    for name in ext:
        n = len(uv[name])
        far = depth[name] > hip_depth + 0.02
        sigma = body_px * np.where(far, 0.012, 0.006)
        q = uv[name] + rng.normal(0.0, 1.0, (n, 2)) * sigma[:, None]
        spikes = rng.random(n) < 0.001
        q[spikes] += rng.normal(0.0, 0.08 * body_px, (int(spikes.sum()), 2))
        c = np.clip(np.where(far, rng.normal(0.62, 0.12, n), rng.normal(0.86, 0.06, n)), 0.02, 0.99)
        if rng.random() < 0.35:
            start = int(rng.integers(0, max(n - 12, 1)))
            c[start : start + int(rng.integers(3, 12))] *= rng.uniform(0.1, 0.4)
        uv[name], conf[name] = q, c
    swap_sides(uv, conf, rng)
    return uv, depth, conf


# --------------------------------------------------------------------------- mediapipe_csv
def write_mediapipe_csv(
    path: Path,
    time_s: np.ndarray,
    points: dict[str, np.ndarray],
    visibility: dict[str, np.ndarray],
    facing: float = 1.0,
    camera: SideCamera | None = None,
) -> None:
    """MediaPipe Pose *world* landmarks as CSV: metres, origin at the hip centre, y pointing down.

    One row per frame: ``timestamp_ms`` then ``<landmark>_x,_y,_z,_visibility`` for the 33 landmarks
    in MediaPipe's order. ``facing`` = +1 when the athlete faces image-right, -1 image-left;
    ``camera`` (instead of ``facing``) gives the axes of the camera that filmed the athlete.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mediapipe_world_table(time_s, points, visibility, facing, camera).write_csv(path)


def mediapipe_world_table(
    time_s: np.ndarray,
    points: dict[str, np.ndarray],
    visibility: dict[str, np.ndarray],
    facing: float = 1.0,
    camera: SideCamera | None = None,
) -> pl.DataFrame:
    """The table ``write_mediapipe_csv`` writes.

    With ``camera``, the axes are the camera's (x image-right, y image-down, z away from the lens),
    as MediaPipe's world landmarks are: its model sees no gravity, so a tilted or pitched phone
    tilts "vertical" too (Pose Landmarker guide, ai.google.dev/edge/mediapipe/solutions/vision/
    pose_landmarker: world coordinates in metres, origin at the hip midpoint).
    """
    ext = extended_points(points)
    vis = {**{k: visibility.get(k) for k in ext}}
    for name, source in (("eye", "ear"), ("mouth", "ear"), ("hand", "wrist"), ("small_toe", "toe")):
        for side in ("left", "right"):
            vis[f"{name}_{side}"] = visibility.get(f"{name}_{side}", visibility[f"{source}_{side}"])
    hip_centre = (points["hip_left"] + points["hip_right"]) / 2
    columns: dict[str, np.ndarray] = {"timestamp_ms": np.round(time_s * 1000.0, 3)}
    axes = camera.rotation() if camera is not None else None
    for name in MEDIAPIPE_33:
        source = _canonical_source(name)
        p = ext[source] - hip_centre
        if axes is None:
            columns[f"{name}_x"] = np.round(facing * p[:, 0], 5)
            columns[f"{name}_y"] = np.round(-p[:, 1], 5)
            columns[f"{name}_z"] = np.round(facing * p[:, 2], 5)
        else:
            c = p @ axes.T
            columns[f"{name}_x"] = np.round(c[:, 0], 5)
            columns[f"{name}_y"] = np.round(c[:, 1], 5)
            columns[f"{name}_z"] = np.round(c[:, 2], 5)
        columns[f"{name}_visibility"] = np.round(vis[source], 4)
    return pl.DataFrame(columns)


def write_mediapipe_image_csv(
    path: Path,
    time_s: np.ndarray,
    uv: dict[str, np.ndarray],
    depth: dict[str, np.ndarray],
    conf: dict[str, np.ndarray],
    camera: SideCamera,
    frame_numbers: np.ndarray | None = None,
    image_size: bool = True,
) -> None:
    """MediaPipe *normalised image* landmarks: x = u / width, y = v / height (origin top-left, y
    down), z = depth relative to the hip midpoint on the scale of x (negative = nearer the camera);
    ``image_width``/``image_height`` columns give the frame size in pixels (left out when
    ``image_size`` is False). ``frame_numbers``: the video frame of each row (default 0, 1, ...;
    a dropped frame leaves a gap)."""
    hip_depth = (depth["hip_left"] + depth["hip_right"]) / 2
    n = len(time_s)
    columns: dict[str, np.ndarray] = {
        "frame": np.arange(n) if frame_numbers is None else np.asarray(frame_numbers),
        "timestamp_ms": np.round(time_s * 1000.0, 3),
    }
    if image_size:
        columns["image_width"] = np.full(n, camera.width)
        columns["image_height"] = np.full(n, camera.height)
    for name in MEDIAPIPE_33:
        source = _canonical_source(name)
        columns[f"{name}_x"] = np.round(uv[source][:, 0] / camera.width, 6)
        columns[f"{name}_y"] = np.round(uv[source][:, 1] / camera.height, 6)
        z = (depth[source] - hip_depth) * camera.focal_px / hip_depth / camera.width
        columns[f"{name}_z"] = np.round(z, 6)
        columns[f"{name}_visibility"] = np.round(conf[source], 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(columns).write_csv(path)


# --------------------------------------------------------------------------- openpose_json
# OpenPose's own models, and the RTMPose models Pose2Sim writes in OpenPose's layout.
OPENPOSE_MODELS = {
    "BODY_25": BODY_25,
    "COCO_18": COCO_18,
    "HALPE_26": HALPE_26,
    "COCO_WHOLEBODY": COCO_WHOLEBODY,
}


def write_openpose_json(
    folder: Path,
    stem: str,
    uv: dict[str, np.ndarray],
    conf: dict[str, np.ndarray],
    camera: SideCamera,
    model: str,
    rng: np.random.Generator,
    frame_numbers: np.ndarray | None = None,
) -> None:
    """OpenPose ``--write_json`` output: one ``<stem>_<frame:012d>_keypoints.json`` per frame
    (``frame_numbers`` name the files; default 0, 1, ...: a dropped frame leaves a gap).

    ``{"version":1.3,"people":[{"person_id":[-1],"pose_keypoints_2d":[x,y,c,...], "face_keypoints_2d":[],
    ...}]}`` in BODY_25 or COCO-18 order, or as Pose2Sim writes RTMPose's Halpe-26 or
    COCO-WholeBody keypoints (``model``), pixels; a keypoint below the detection threshold is
    ``0,0,0``. Some recordings get a low-confidence ghost person at the image edge in some frames.
    """
    names = OPENPOSE_MODELS[model]
    n = len(next(iter(uv.values())))
    xy, c = _keypoint_arrays(names, uv, conf)
    outside = (
        (xy[..., 0] < 0) | (xy[..., 0] >= camera.width) | (xy[..., 1] < 0) | (xy[..., 1] >= camera.height)
    )
    missing = (c < 0.1) | outside
    kp = np.concatenate([np.round(xy, 3), np.round(c, 6)[..., None]], axis=2)
    kp[missing] = 0.0
    ghost_rate = float(rng.choice([0.0, 0.0, 0.3, 0.9]))
    ghost_x = float(rng.uniform(0, 0.08 * camera.width))
    folder.mkdir(parents=True, exist_ok=True)
    empty = '"face_keypoints_2d":[],"hand_left_keypoints_2d":[],"hand_right_keypoints_2d":[],'
    empty += '"pose_keypoints_3d":[],"face_keypoints_3d":[],'
    empty += '"hand_left_keypoints_3d":[],"hand_right_keypoints_3d":[]'
    flat = _csv_lines(kp.reshape(n, -1))
    for f in range(n):
        people = [_person(flat[f], empty)]
        if ghost_rate and rng.random() < ghost_rate:
            g = np.zeros_like(kp[f])
            g[:, 0] = ghost_x + rng.normal(0, 15, len(names))
            g[:, 1] = rng.uniform(0.2, 0.9) * camera.height + rng.normal(0, 120, len(names))
            g[:, 2] = rng.uniform(0.05, 0.35, len(names))
            g[rng.random(len(names)) < 0.5] = 0.0
            people.append(_person(_csv_lines(np.round(g, 3).reshape(1, -1))[0], empty))
        text = '{"version":1.3,"people":[' + ",".join(people) + "]}"
        number = f if frame_numbers is None else int(frame_numbers[f])
        (folder / f"{stem}_{number:012d}_keypoints.json").write_text(text)


def _csv_lines(values: np.ndarray) -> list[str]:
    """Each row of a 2-D float array as comma-separated numbers (fast, via polars)."""
    frame = pl.DataFrame(values, schema=[f"c{k}" for k in range(values.shape[1])], orient="row")
    return frame.write_csv(include_header=False).splitlines()


def _person(flat: str, empty: str) -> str:
    return '{"person_id":[-1],"pose_keypoints_2d":[' + flat + "]," + empty + "}"


# --------------------------------------------------------------------------- coco17_json
def write_coco17_json(
    path: Path,
    uv: dict[str, np.ndarray],
    conf: dict[str, np.ndarray],
    camera: SideCamera,
    frame_numbers: np.ndarray | None = None,
    keypoints: tuple[str, ...] = COCO_17,
) -> None:
    """MMPose ``MMPoseInferencer(pred_out_dir=...)`` predictions for a video: one JSON per
    recording, a list of ``{"frame_id": i, "instances": [{"keypoints": [[x, y] * 17],
    "keypoint_scores": [s * 17], "bbox": [[x1, y1, x2, y2]], "bbox_score": s}]}`` (pixels, COCO-17
    order or ``keypoints``' (Halpe-26, COCO-WholeBody), frame_id from 0, or ``frame_numbers``: a
    dropped frame leaves a gap). The file has no timestamps: the manifest carries ``sample_rate_hz``.
    """
    xy, s = _keypoint_arrays(keypoints, uv, conf)
    body = np.array([_keypoint_source(k) is not None for k in keypoints])
    frames = []
    for f in range(len(xy)):
        lo, hi = xy[f][body].min(axis=0), xy[f][body].max(axis=0)
        pad = 0.08 * (hi - lo)
        frames.append(
            {
                "frame_id": f if frame_numbers is None else int(frame_numbers[f]),
                "instances": [
                    {
                        "keypoints": np.round(xy[f], 2).tolist(),
                        "keypoint_scores": np.round(s[f], 4).tolist(),
                        "bbox": [np.round(np.concatenate([lo - pad, hi + pad]), 2).tolist()],
                        "bbox_score": round(float(np.clip(s[f].mean() + 0.1, 0, 1)), 4),
                    }
                ],
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(frames, separators=(",", ":")))


# --------------------------------------------------------------------------- trc / c3d
def _markers(points: dict[str, np.ndarray]) -> np.ndarray:
    """(n, n_markers, 3) in POSE2SIM_MARKERS order."""
    ext = extended_points(points)
    return np.stack([ext[_OPENPOSE_SOURCE[m]] for m in POSE2SIM_MARKERS], axis=1)


def lab_frame(
    points: dict[str, np.ndarray], heading_deg: float, origin_m: np.ndarray
) -> dict[str, np.ndarray]:
    """Place the athlete in a lab: rotate about the vertical (y) axis and shift on the floor."""
    r = np.radians(heading_deg)
    c, s = np.cos(r), np.sin(r)
    out = {}
    for name, p in points.items():
        out[name] = np.column_stack(
            [c * p[:, 0] + s * p[:, 2] + origin_m[0], p[:, 1], -s * p[:, 0] + c * p[:, 2] + origin_m[1]]
        )
    return out


def write_trc(
    path: Path,
    time_s: np.ndarray,
    points: dict[str, np.ndarray],
    units: str = "m",
    frame_numbers: np.ndarray | None = None,
) -> None:
    """OpenSim/Pose2Sim ``.trc``: tab-separated, Y up, ``units`` 'm' (Pose2Sim) or 'mm' (mocap).
    ``frame_numbers`` (0-based video frames) keep the Frame# of rows around dropped frames.

    Line 1 ``PathFileType\\t4\\t(X/Y/Z)\\t<name>``; line 2 the keys ``DataRate CameraRate NumFrames
    NumMarkers Units OrigDataRate OrigDataStartFrame OrigNumFrames``; line 3 their values; line 4
    ``Frame#\\tTime\\t<marker>\\t\\t\\t...``; line 5 ``\\t\\tX1\\tY1\\tZ1\\t...``; mocap style ('mm') adds
    a blank line and starts Time at 0, Pose2Sim style ('m') starts Time at 1/DataRate. NaN = gap.
    """
    xyz = _markers(points) * (1000.0 if units == "mm" else 1.0)
    n, m, _ = xyz.shape
    rate = 1.0 / float(np.median(np.diff(time_s)))
    frame = np.arange(1, n + 1) if frame_numbers is None else np.asarray(frame_numbers) + 1
    t = time_s - time_s[0] + (1.0 / rate if units == "m" else 0.0)
    rate_text = f"{rate:.2f}" if units == "mm" else f"{rate:g}"
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate_text}\t{rate_text}\t{n}\t{m}\t{units}\t{rate_text}\t1\t{n}",
        "Frame#\tTime\t" + "\t\t\t".join(POSE2SIM_MARKERS) + "\t\t",
        "\t\t" + "\t".join(f"X{k}\tY{k}\tZ{k}" for k in range(1, m + 1)),
    ]
    if units == "mm":
        lines.append("")
    data = pl.DataFrame(
        {
            "f": frame,
            "t": np.round(t, 6),
            **{f"c{k}": np.round(xyz[:, k // 3, k % 3], 6) for k in range(3 * m)},
        }
    )
    body = data.write_csv(separator="\t", include_header=False, null_value="")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n" + body.replace("NaN", ""))


def write_c3d(path: Path, time_s: np.ndarray, points: dict[str, np.ndarray]) -> None:
    """Optical-mocap style ``.c3d`` written with ezc3d: POINT:LABELS (POSE2SIM_MARKERS names),
    POINT:RATE, POINT:UNITS 'mm', Y up, float storage; gaps are NaN."""
    import ezc3d

    xyz = _markers(points) * 1000.0  # (n, m, 3)
    n, m, _ = xyz.shape
    rate = 1.0 / float(np.median(np.diff(time_s)))
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = list(POSE2SIM_MARKERS)
    c3d.add_parameter("POINT", "UNITS", ["mm"])
    data = np.ones((4, m, n))
    data[:3] = xyz.transpose(2, 1, 0)
    c3d["data"]["points"] = data
    path.parent.mkdir(parents=True, exist_ok=True)
    c3d.write(str(path))
