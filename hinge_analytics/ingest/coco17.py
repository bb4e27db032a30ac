"""COCO-17 keypoints per frame (MMPose, RTMPose, YOLO-pose exports), SPEC.md ``coco17_json``.

Keypoint order: the COCO person category (https://cocodataset.org/#format-data, "Keypoint
Detection"): nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles (left before right).
The orders that extend it are read too, told apart by their length (``formats.COCO_ORDERS``):
Halpe-26 (RTMPose body with feet) and COCO-WholeBody's 133 points (RTMW, MMPose "wholebody"),
whose heels and big toes give the foot.
Layouts accepted (docs/formats.md), all one JSON file, pixels (or 0..1), y down:

- MMPose >= 1.0 inferencer / demo predictions (MMPose docs ``user_guides/inference.md``): a list of
  ``{"frame_id", "instances": [{"keypoints": [[x, y], ...17], "keypoint_scores": [...17]}]}``, or
  the demo's ``{"meta_info": ..., "instance_info": [that list]}``, or one ``{"instances": [...]}``;
- COCO results (https://cocodataset.org/#format-results):
  ``[{"image_id", "category_id": 1, "keypoints": [x, y, s] * 17, "score"}]``;
- COCO annotations: ``{"images", "annotations": [{"image_id", "keypoints": [x, y, v] * 17}]}``,
  where v is a 0/1/2 visibility flag (0 = not labelled), not a score; v=2 -> 1.0, v=1 -> 0.5;
- generic per-frame exports (YOLO-pose users): a list of ``{"frame"|"frame_id"|"image_id",
  "keypoints": [[x, y, conf], ...] or [x, y, conf] * 17}``, optionally with ``timestamp_s``
  or ``timestamp_ms``.

Frames are ordered by their frame/image id; the time axis is the export's timestamps if present,
else frame id / ``sample_rate_hz`` from the manifest. Several people per frame are resolved by
``people.track_athlete``. COCO-17 has no feet: heel/toe stay empty. MoveNet's (y, x, score) tensor
order must be converted to (x, y, score) by the exporter; it cannot be told apart from the data.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from hinge_analytics.formats import COCO_ORDERS, canonical_map
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import PoseArrays, PoseRead
from hinge_analytics.ingest.people import track_athlete

MAX_BYTES = 512 * 1024 * 1024
_FRAME_KEYS = ("frame_id", "frame", "frame_index", "image_id", "idx")


def _keypoints(instance: dict, visibility_flags: bool) -> np.ndarray:
    """One detection -> (K, 3) x, y, confidence, K one of ``COCO_ORDERS`` (17, 26 or 133)."""
    kp = instance.get("keypoints")
    if not isinstance(kp, list):
        raise BadRecording("A detection has no keypoints list.")
    arr = np.asarray(kp, dtype=np.float64)
    if arr.ndim == 1:
        width = next((w for w in (3, 2) if arr.size % w == 0 and arr.size // w in COCO_ORDERS), None)
        arr = arr.reshape(-1, width) if width else arr
    if arr.ndim != 2 or arr.shape[0] not in COCO_ORDERS or arr.shape[1] not in (2, 3):
        raise BadRecording(
            f"A detection has {arr.size} keypoint values; COCO-17 needs 17 keypoints "
            "(Halpe-26 26, COCO-WholeBody 133)."
        )
    k = arr.shape[0]
    scores = instance.get("keypoint_scores")
    if arr.shape[1] == 2:
        conf = np.asarray(scores, dtype=np.float64) if scores is not None else np.ones(k)
        if conf.shape != (k,):
            raise BadRecording(f"keypoint_scores must hold {k} numbers, one per keypoint.")
        arr = np.column_stack([arr, conf])
    if visibility_flags:
        arr[:, 2] = np.select([arr[:, 2] >= 2, arr[:, 2] >= 1], [1.0, 0.5], 0.0)
    if not np.all(np.isfinite(arr)):
        raise BadRecording("The keypoints hold NaN or infinite values.")
    arr[:, 2] = np.clip(arr[:, 2], 0.0, 1.0)
    return arr


def _frame_id(item: dict, default: int) -> float:
    for key in _FRAME_KEYS:
        value = item.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return float(default)


def _timestamp(item: dict) -> float | None:
    for key, scale in (("timestamp_s", 1.0), ("time_s", 1.0), ("timestamp_ms", 0.001)):
        value = item.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) * scale
    return None


def _frames(doc: object) -> tuple[list[tuple[float, float | None, list[dict]]], bool]:
    """(frame id, timestamp, detections) per frame, and whether the third value is a v-flag."""
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        by_image: dict[float, list[dict]] = {}
        for image in doc.get("images") or []:
            if isinstance(image, dict) and isinstance(image.get("id"), int | float):
                by_image.setdefault(float(image["id"]), [])
        for ann in doc["annotations"]:
            if isinstance(ann, dict) and isinstance(ann.get("image_id"), int | float):
                by_image.setdefault(float(ann["image_id"]), []).append(ann)
        return [(k, None, v) for k, v in sorted(by_image.items())], True
    if isinstance(doc, dict) and isinstance(doc.get("instance_info"), list):
        doc = doc["instance_info"]
    if isinstance(doc, dict) and isinstance(doc.get("instances"), list):
        doc = [doc]
    if not isinstance(doc, list) or not doc:
        raise BadRecording("The JSON file holds no COCO-17 keypoint frames.")
    frames: dict[float, tuple[float | None, list[dict]]] = {}
    for index, item in enumerate(doc):
        if not isinstance(item, dict):
            raise BadRecording("The JSON file is not a list of frames or detections.")
        fid = _frame_id(item, index)
        detections = item["instances"] if isinstance(item.get("instances"), list) else [item]
        stamp, existing = frames.get(fid, (_timestamp(item), []))
        existing.extend(d for d in detections if isinstance(d, dict) and "keypoints" in d)
        frames[fid] = (stamp, existing)
    return [(k, v[0], v[1]) for k, v in sorted(frames.items())], False


def load_coco17_json(path: Path, sample_rate_hz: float | None = None) -> PoseArrays:
    """Parse a COCO-17 keypoint JSON file into canonical landmarks (image units, y up)."""
    if not path.is_file():
        raise BadRecording("The COCO-17 recording is not a JSON file.")
    if path.stat().st_size > MAX_BYTES:
        raise BadRecording("The JSON file is larger than 512 MB; split the recording.")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadRecording(f"The file is not valid JSON ({type(exc).__name__}).") from None
    frames, flags = _frames(doc)
    if not frames:
        raise BadRecording("The JSON file holds no frames.")
    people = [[_keypoints(d, flags) for d in detections] for _, _, detections in frames]
    counts = {len(p) for detections in people for p in detections}
    if len(counts) > 1:
        raise BadRecording(
            f"The detections mix keypoint sets ({', '.join(map(str, sorted(counts)))} keypoints); "
            "export the recording with one pose model."
        )
    k = counts.pop() if counts else 17
    athlete = track_athlete(people, k)
    xyz, conf = {}, {}
    for canonical, index in canonical_map(COCO_ORDERS[k]).items():
        p = athlete[:, index, :]
        xyz[canonical] = np.column_stack([p[:, 0], -p[:, 1], np.zeros(len(p))])
        conf[canonical] = p[:, 2]
    stamps = [s for _, s, _ in frames]
    if all(s is not None for s in stamps):
        return PoseArrays(xyz, conf, "image", timestamps_s=np.array(stamps, dtype=np.float64))
    return PoseArrays(xyz, conf, "image", frame_numbers=np.array([f for f, _, _ in frames]))


def read_coco17_json(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """Read a COCO-17 keypoint JSON file (see module docstring) into canonical pose frames."""
    return load_coco17_json(path, sample_rate_hz).to_read(sample_rate_hz)
