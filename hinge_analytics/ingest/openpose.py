"""OpenPose ``--write_json`` output: a folder of per-frame JSON files (SPEC.md ``openpose_json``).

Layout per OpenPose ``doc/02_output.md`` ("JSON output format"):
``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, x1, ...], ...}]}``,
one file per frame named ``<video>_<frame:012d>_keypoints.json``; pixels, y down; a keypoint that
was not detected is ``0, 0, 0`` (confidence 0 = missing; a coordinate of exactly 0 with a real
confidence is a real coordinate).

Models: BODY_25 (75 numbers per person), COCO-18 (54 numbers), and BODY_25B (75 numbers in a
different, COCO-like order; Pose2Sim ``skeletons.py``). BODY_25 and BODY_25B cannot be told
apart by their length, so the order is chosen by anatomy on the tracked athlete: in BODY_25,
keypoint 1 (Neck) lies between the shoulders (2, 5); in BODY_25B keypoint 17 (Neck) lies between
the shoulders (5, 6). Pose2Sim and Sports2D run RTMPose and write its keypoints in this layout
(``poseEstimation.save_to_openpose``): Halpe-26 by default (78 numbers), COCO-17 (51) or
COCO-WholeBody (399), in the orders of ``formats.COCO_ORDERS``.

Frames are ordered by the trailing frame number of the file name (``*_000000000012_keypoints``,
Pose2Sim's ``cam01.0012``); the time axis is frame number / ``sample_rate_hz`` from the manifest
(OpenPose writes no timestamps), so a dropped frame file leaves a gap rather than shifting time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from hinge_analytics.formats import BODY_25, BODY_25B, COCO_18, COCO_ORDERS, canonical_map
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import PoseArrays, PoseRead
from hinge_analytics.ingest.people import track_athlete
from hinge_analytics.numeric import nanmedian

MAX_FILES = 200_000
MAX_FILE_BYTES = 16 * 1024 * 1024


def _frame_stem(path: Path) -> str:
    """An OpenPose/Pose2Sim frame file's name without ``.json`` and its ``_keypoints`` suffix."""
    return re.sub(r"(_keypoints|_openpose)$", "", path.name[: -len(".json")])


def frame_number(path: Path) -> int | None:
    """Trailing frame number of an OpenPose/Pose2Sim file name, or None."""
    match = re.search(r"(\d+)$", _frame_stem(path))
    return int(match.group(1)) if match else None


def _json_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise BadRecording("The OpenPose recording is neither a folder nor a JSON file.")
    files = [p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(".json")]
    if not files:
        raise BadRecording("The folder holds no OpenPose JSON files (*_keypoints.json).")
    if len(files) > MAX_FILES:
        raise BadRecording(f"The folder holds more than {MAX_FILES} JSON files; split the recording.")
    return files


def _people(path: Path) -> list[list[float]]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BadRecording(f"{path.name} is too large to be an OpenPose frame.")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadRecording(f"{path.name} is not valid JSON ({type(exc).__name__}).") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise BadRecording(f"{path.name} is not OpenPose output (it has no 'people' list).")
    out = []
    for person in doc["people"]:
        keypoints = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(keypoints, list):
            raise BadRecording(f"{path.name}: a person has no pose_keypoints_2d list.")
        if keypoints:
            out.append(keypoints)
    return out


def _order_for(length: int, people: list[np.ndarray]) -> tuple[str, tuple[str, ...]]:
    """The keypoint order of ``people`` ((K, 3) detections of the athlete): COCO-18 and the COCO-17
    family by length; BODY_25 or BODY_25B by which of the two neck keypoints lies between its
    order's shoulders.

    The neck's distance from the shoulders' midpoint is measured in body sizes (the bounding box of
    the detected keypoints), not in shoulder widths: in a side view the shoulders overlap, their
    width is noise, and a width-normalised distance blows up for the right order too."""
    if length == 54:
        return "COCO-18", COCO_18
    if length // 3 in COCO_ORDERS:
        return f"RTMPose {length // 3}", COCO_ORDERS[length // 3]
    if length != 75:
        raise BadRecording(
            f"Each person has {length // 3} keypoints; OpenPose BODY_25 has 25 and COCO-18 18, and "
            "Pose2Sim's RTMPose models write 26 (Halpe-26), 17 (COCO-17) or 133 (COCO-WholeBody)."
        )
    e25, e25b = [], []
    for p in people:
        seen = p[:, 2] > 0
        if seen.sum() < 3:
            continue
        size = float(np.linalg.norm(np.ptp(p[seen, :2], axis=0))) + 1e-9

        def gap(neck: int, a: int, b: int, person: np.ndarray = p, size: float = size) -> float:
            if min(person[neck, 2], person[a, 2], person[b, 2]) <= 0:
                return np.nan
            return float(np.linalg.norm(person[neck, :2] - (person[a, :2] + person[b, :2]) / 2) / size)

        e25.append(gap(1, 2, 5))
        e25b.append(gap(17, 5, 6))
    a, b = nanmedian(e25), nanmedian(e25b)
    if np.isfinite(b) and (not np.isfinite(a) or b < a):
        return "BODY_25B", BODY_25B
    return "BODY_25", BODY_25


def video_name(path: Path) -> str:
    """The video an OpenPose frame file belongs to: its name without the frame number."""
    return re.sub(r"_?\d+$", "", _frame_stem(path))


def load_openpose_json(path: Path, sample_rate_hz: float | None = None) -> PoseArrays:
    """Parse an OpenPose JSON folder into canonical landmarks (image pixels, y up)."""
    files = _json_files(path)
    videos = sorted({video_name(f) for f in files})
    if len(videos) > 1:  # two runs in one folder would be read as one clip spliced onto another
        shown = ", ".join(repr(v) for v in videos[:3]) + (", ..." if len(videos) > 3 else "")
        raise BadRecording(
            f"The folder holds the frames of {len(videos)} videos ({shown}); give each video's "
            "OpenPose output a folder of its own, one recording per manifest row."
        )
    numbers = [frame_number(f) for f in files]
    if all(n is not None for n in numbers) and len(set(numbers)) == len(numbers):
        order = sorted(range(len(files)), key=lambda i: numbers[i])  # type: ignore[arg-type,return-value]
        frame_numbers = np.array([numbers[i] for i in order], dtype=np.float64)
    else:
        order = sorted(range(len(files)), key=lambda i: files[i].name)
        frame_numbers = np.arange(len(files), dtype=np.float64)
    raw = [_people(files[i]) for i in order]
    lengths = {len(k) for people in raw for k in people}
    if not lengths:
        raise BadRecording("No person was detected in any frame of the recording.")
    if len(lengths) > 1:
        raise BadRecording("The frames mix keypoint models (different keypoint counts); re-run OpenPose.")
    length = lengths.pop()
    if length % 3:
        raise BadRecording("pose_keypoints_2d must hold x, y, confidence triples.")
    try:
        frames = [[np.asarray(k, dtype=np.float64).reshape(-1, 3) for k in people] for people in raw]
    except (TypeError, ValueError):
        raise BadRecording("pose_keypoints_2d holds values that are not numbers.") from None
    if not all(np.all(np.isfinite(p)) for people in frames for p in people):
        raise BadRecording("pose_keypoints_2d holds NaN or infinite values.")
    # The athlete is tracked before the keypoint order is known (tracking reads only confidences and
    # positions), so the order is decided on the athlete, not on low-confidence ghosts.
    athlete = track_athlete(frames, length // 3)
    _, names = _order_for(length, list(np.nan_to_num(athlete)))
    xyz, conf = {}, {}
    for canonical, index in canonical_map(names).items():
        p = athlete[:, index, :]
        xyz[canonical] = np.column_stack([p[:, 0], -p[:, 1], np.zeros(len(p))])
        conf[canonical] = np.clip(p[:, 2], 0.0, 1.0)
    return PoseArrays(xyz, conf, "image", frame_numbers=frame_numbers)


def read_openpose_json(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """Read an OpenPose JSON folder (see module docstring); needs the manifest's frame rate."""
    if sample_rate_hz is None:
        raise BadRecording(
            "OpenPose JSON files carry no frame rate; add the video's frame rate as sample_rate_hz "
            "in the manifest."
        )
    return load_openpose_json(path, sample_rate_hz).to_read(sample_rate_hz)
