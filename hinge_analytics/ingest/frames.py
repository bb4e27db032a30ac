"""Build the canonical frame tables (schema.POSE_FRAMES / IMU_FRAMES) from a reader's arrays."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from hinge_analytics.ingest.checks import (
    check_length,
    check_one_clip,
    check_person_present,
    fill_gaps,
    logger_order,
    time_axis,
)
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.numeric import frame_with_nulls
from hinge_analytics.schema import IMU_CHANNELS, LANDMARKS, landmark_columns

# Normalised image coordinates lie within about 0..1 (a guessed landmark a little outside the
# picture); a body whose median coordinate is further out than this is in pixels.
PIXEL_COORDINATE_ABOVE = 2.0


@dataclass(frozen=True)
class RecordingRead:
    """What a reader returns: canonical frames (without recording_id/ingest_id) and facts."""

    modality: str  # "pose" | "imu"
    frames: pl.DataFrame
    sample_rate_hz: float
    sensors: str  # pose: coordinate kind (world_m | image | image_px); imu: comma-separated placements
    estimator: str | None = None  # the pose estimator run at ingest (videos), with its version
    # its whole output (schema.VIDEO_LANDMARKS without the keys), kept in the lake
    estimator_output: pl.DataFrame | None = None
    notes: tuple[str, ...] = ()  # what the reader decided for the coach to know (units read from the data)


# Kept as an alias so reader signatures say what they return.
PoseRead = RecordingRead


@dataclass
class PoseArrays:
    """What a pose reader parsed, before the plausibility checks: canonical y-up landmarks.

    ``xyz[landmark]`` is (n, 3), NaN = not seen; ``conf[landmark]`` (n,) in 0..1.
    ``timestamps_s`` from the file, else ``frame_numbers`` (the tool's frame index, which keeps
    dropped frames visible) times the manifest's rate. ``file_rate_hz`` is a rate the file states.
    """

    xyz: dict[str, np.ndarray]
    conf: dict[str, np.ndarray]
    coordinates: str  # world_m | image (pixels are told apart when tabulated: `image_units`)
    timestamps_s: np.ndarray | None = None
    frame_numbers: np.ndarray | None = None
    file_rate_hz: float | None = None

    @property
    def n_frames(self) -> int:
        return len(next(iter(self.xyz.values()))) if self.xyz else 0

    def to_read(self, sample_rate_hz: float | None) -> RecordingRead:
        """Check and tabulate; raises BadRecording with the reason when implausible."""
        if not self.xyz or self.n_frames == 0:
            raise BadRecording("The file holds no body keypoints.")
        timestamps = self.timestamps_s
        if timestamps is None and self.frame_numbers is not None:
            rate = sample_rate_hz or self.file_rate_hz
            if rate is None:
                raise BadRecording(
                    "The file has no timestamps and the manifest gives no sample_rate_hz; "
                    "add the camera's frame rate to the manifest."
                )
            frames = np.asarray(self.frame_numbers, dtype=np.float64)
            timestamps = (frames - frames[0]) / rate
        elif timestamps is None and self.file_rate_hz is not None and sample_rate_hz is None:
            sample_rate_hz = self.file_rate_hz
        return pose_frames_from_arrays(self.xyz, self.conf, timestamps, sample_rate_hz, self.coordinates)


def _rate(t_s: np.ndarray) -> float:
    """Samples per second: the mean step over steps within half again of the median one. The
    median alone is biased by a clock that counts whole milliseconds (60 Hz in steps of 16 and
    17 ms reads 58.8 Hz); the mean over every step by gaps and dropped frames."""
    if len(t_s) < 2:
        return float("nan")
    steps = np.diff(t_s)
    regular = steps[steps <= 1.5 * np.median(steps)]
    return float(1.0 / np.mean(regular))


def image_units(xyz: dict[str, np.ndarray], coordinates: str) -> str:
    """``image_px`` for ``image`` coordinates that are pixels, else ``coordinates`` unchanged.

    COCO-17 and OpenPose exports hold pixels (or, by an option of the tool, 0..1), and video pixels
    are square: their aspect is known. Estimating it from segment lengths
    (`kinematics.pose.estimate_aspect`, for normalised coordinates) only adds error there: a hip
    thrust filmed from the side read 0.37 and hip flexion 35 deg short, and real side-view
    deadlifts read 0.72-0.79 (docs/validation-2026-12-05.md)."""
    if coordinates != "image":
        return coordinates
    values = [np.abs(v[:, :2][np.isfinite(v[:, :2])]) for v in xyz.values()]
    values = np.concatenate(values) if values else np.empty(0)
    return "image_px" if len(values) and np.median(values) > PIXEL_COORDINATE_ABOVE else coordinates


def frame_sized(read: RecordingRead, image_size: tuple[int, int] | None) -> RecordingRead:
    """``read`` with normalised image landmarks (x and y fractions of the frame's width and
    height: MediaPipe's ``pose_landmarks``, OpenPose's ``--keypoint_scale`` 1-3) put in one unit,
    the frame's height, given the frame's (width, height) in pixels; MediaPipe's z is on x's scale.
    Landmarks in pixels or metres, and IMU recordings, are returned as they are."""
    if image_size is None or read.modality != "pose" or read.sensors != "image":
        return read
    aspect = image_size[0] / image_size[1]
    scaled = [c for lm in LANDMARKS for c in (landmark_columns(lm)[0], landmark_columns(lm)[2])]
    frames = read.frames.with_columns(pl.col(c) * aspect for c in scaled if c in read.frames.columns)
    return replace(read, frames=frames, sensors="image_px")


def pose_frames_from_arrays(
    xyz: dict[str, np.ndarray],
    conf: dict[str, np.ndarray],
    timestamps_s: np.ndarray | None,
    sample_rate_hz: float | None,
    coordinates: str,
) -> RecordingRead:
    """``xyz[landmark]`` is (n, 3) with y up; ``conf[landmark]`` (n,) in 0..1; NaN = not seen.
    ``coordinates``: the reader's kind; image coordinates in pixels become ``image_px``
    (`image_units`)."""
    coordinates = image_units(xyz, coordinates)
    xyz = {k: np.asarray(v, dtype=np.float64) for k, v in xyz.items()}
    conf = {k: np.asarray(v, dtype=np.float64) for k, v in conf.items()}
    if timestamps_s is not None:
        # Frames written twice or a few out of order are mended as a sensor's samples are; a jump
        # in the timestamps (frames the estimator or the export dropped) becomes empty frames, so
        # the reps over it are lost rather than the two sides of it bridged into one.
        timestamps_s, xyz, conf = _logger_ordered(np.asarray(timestamps_s, dtype=np.float64), xyz, conf)
    n = len(next(iter(xyz.values())))
    t_s = time_axis(timestamps_s, n, sample_rate_hz)
    if timestamps_s is not None and n > 1:
        t_s, xyz, conf = _gaps_left_empty(t_s, xyz, conf)
        n = len(t_s)
    check_length(t_s)
    data: dict[str, np.ndarray] = {"frame": np.arange(n, dtype=np.int32), "t_s": t_s}
    for lm in LANDMARKS:
        if lm not in xyz:
            continue
        x, y, z, c = landmark_columns(lm)
        p = np.asarray(xyz[lm], dtype=np.float64)
        data[x], data[y], data[z] = p[:, 0], p[:, 1], p[:, 2]
        data[c] = np.clip(np.nan_to_num(conf[lm], nan=0.0), 0.0, 1.0)
    frames = frame_with_nulls(data)
    check_person_present(frames, t_s)
    check_one_clip(frames, coordinates)
    return RecordingRead("pose", frames, _rate(t_s), coordinates)


def _logger_ordered(
    t: np.ndarray, xyz: dict[str, np.ndarray], conf: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The frames in time order, each written once (`checks.logger_order`)."""
    if not np.all(np.isfinite(t)):
        return t, xyz, conf  # refused by `time_axis`
    t, rows = logger_order(t, [*xyz.values(), *conf.values()])
    return t, {k: v[rows] for k, v in xyz.items()}, {k: v[rows] for k, v in conf.items()}


def _gaps_left_empty(
    t_s: np.ndarray, xyz: dict[str, np.ndarray], conf: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Empty frames (NaN, confidence 0) inside every jump of ``t_s`` over ``MAX_GAP_S``."""
    filled = fill_gaps(t_s, float(np.median(np.diff(t_s))))
    if len(filled) == len(t_s):
        return t_s, xyz, conf
    rows = np.searchsorted(filled, t_s)  # `fill_gaps` keeps every original time exactly

    def spread(values: np.ndarray, empty: float) -> np.ndarray:
        out = np.full((len(filled), *values.shape[1:]), empty)
        out[rows] = values
        return out

    return (
        filled,
        {k: spread(v, np.nan) for k, v in xyz.items()},
        {k: spread(v, 0.0) for k, v in conf.items()},
    )


def imu_frames_from_arrays(sensors: dict[str, dict[str, np.ndarray]], t_s: np.ndarray) -> RecordingRead:
    """``sensors[placement][channel]`` on a common time axis ``t_s`` (seconds from 0)."""
    check_length(t_s)
    data: dict[str, np.ndarray] = {"frame": np.arange(len(t_s), dtype=np.int32), "t_s": t_s}
    for placement, channels in sensors.items():
        for channel in IMU_CHANNELS:
            if channel in channels:
                data[f"{placement}_{channel}"] = channels[channel]
    return RecordingRead("imu", frame_with_nulls(data), _rate(t_s), ",".join(sensors))
