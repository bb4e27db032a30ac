"""A still of each rep's bottom position from the athlete's own video, skeleton drawn on it.

Coaches look before they read: next to a rep's label and cue, the frame at the rep's bottom
(``t_bottom_s``, the deepest point of the hinge) shows what the label is about. The frame is sought
in the video the recording was ingested from (``recordings.source_file``) and the skeleton is the
estimator's own image landmarks for that frame, from the lake's ``video_landmarks`` (for lakes
written before that table, the landmark cache of ``ingest/video.py``); the estimator is never run
here. Without the video extra, the video file or its landmarks there is no still, and the report
says so instead.

Stills are small JPEGs inlined as data URIs, so a report page stays one self-contained file.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.formats import MEDIAPIPE_33
from hinge_analytics.ingest.video import cached_landmarks, open_upright

STILL_HEIGHT_PX = 180
JPEG_QUALITY = 70
# Segments drawn: the sagittal chain a hinge is judged on (ear-shoulder-hip-knee-ankle-foot), the arms
# to the bar, and the shoulder and hip lines (MediaPipe Pose landmark names).
BONES: tuple[tuple[str, str], ...] = (
    ("left_ear", "left_shoulder"),
    ("right_ear", "right_shoulder"),
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    *(
        (f"{side}_{a}", f"{side}_{b}")
        for side in ("left", "right")
        for a, b in (
            ("shoulder", "elbow"),
            ("elbow", "wrist"),
            ("shoulder", "hip"),
            ("hip", "knee"),
            ("knee", "ankle"),
            ("ankle", "heel"),
            ("heel", "foot_index"),
        )
    ),
)
MIN_VISIBILITY = 0.5  # a bone is drawn when MediaPipe thinks both of its ends are in view
_COLOURS = {"left": (60, 160, 255), "right": (255, 170, 40), "mid": (240, 240, 240)}  # BGR


def rep_stills(
    video: Path, times_s: Sequence[float], landmarks: pl.DataFrame | None = None
) -> list[str] | None:
    """One ``data:image/jpeg;base64,...`` URI per time (s from the recording's start), or None when
    the video, the video extra or the video's landmarks are not there. ``landmarks``: estimator
    output rows (``schema.VIDEO_LANDMARKS``) around those times; the cache's when none given."""
    try:
        import cv2
    except ImportError:
        return None
    if not video.is_file():
        return None
    if landmarks is None or not landmarks.height:
        landmarks = cached_landmarks(video, estimate=False)
    if landmarks is None:
        return None
    t_ms = landmarks["timestamp_ms"].to_numpy()
    capture = open_upright(cv2, video)  # the orientation the landmarks were estimated in
    if capture is None:
        return None
    stills = []
    try:
        first_ms = None
        for t in times_s:
            # frame times in the cache start at 0; the container's may not
            if first_ms is None:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok = capture.grab()
                first_ms = float(capture.get(cv2.CAP_PROP_POS_MSEC)) if ok else 0.0
            capture.set(cv2.CAP_PROP_POS_MSEC, first_ms + 1000.0 * float(t))
            ok, frame = capture.read()
            if not ok:
                stills.append("")
                continue
            shown_ms = float(capture.get(cv2.CAP_PROP_POS_MSEC)) - first_ms
            row = int(np.argmin(np.abs(t_ms - shown_ms)))  # the skeleton of the frame shown
            _draw(cv2, frame, landmarks.row(row, named=True))
            stills.append(_jpeg(cv2, frame))
    finally:
        capture.release()
    return stills


def _draw(cv2, frame: np.ndarray, row: dict) -> None:  # noqa: ANN001  (cv2: optional extra)
    height, width = frame.shape[:2]
    thickness = max(2, round(height / 160))

    def point(name: str) -> tuple[int, int] | None:
        x, y, vis = row[f"image_{name}_x"], row[f"image_{name}_y"], row[f"{name}_visibility"]
        if any(v is None for v in (x, y, vis)) or not np.isfinite([x, y, vis]).all() or vis < MIN_VISIBILITY:
            return None
        return round(x * width), round(y * height)

    for a, b in BONES:
        pa, pb = point(a), point(b)
        if pa is None or pb is None:
            continue
        side = a.split("_")[0] if a.split("_")[0] == b.split("_")[0] else "mid"
        cv2.line(frame, pa, pb, _COLOURS.get(side, _COLOURS["mid"]), thickness, cv2.LINE_AA)
    for name in MEDIAPIPE_33[11:]:
        p = point(name)
        if p is not None:
            cv2.circle(frame, p, thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)


def _jpeg(cv2, frame: np.ndarray) -> str:  # noqa: ANN001
    height, width = frame.shape[:2]
    scaled = cv2.resize(frame, (max(1, round(width * STILL_HEIGHT_PX / height)), STILL_HEIGHT_PX))
    ok, data = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return f"data:image/jpeg;base64,{base64.b64encode(data.tobytes()).decode()}" if ok else ""
