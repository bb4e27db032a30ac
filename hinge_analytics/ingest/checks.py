"""Plausibility checks shared by every reader: time axis, sample rate, person present.

Each failed check raises BadRecording with a sentence a coach understands.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.schema import landmark_columns

MIN_DURATION_S = 2.0
MIN_FRAMES = 20
RATE_TOLERANCE = 0.10  # a file whose rate differs from the manifest's by more is suspect
MAX_MISSING_FRACTION = 0.5  # person (hips/shoulders/knees) missing in more frames than this
MAX_GAP_S = 0.5  # a longer stretch without data is a gap: kept empty, it loses the reps over it
# The body is found when one of each of these pairs is seen. In a side view the far leg is hidden
# and estimators give its knee and ankle a low confidence (MediaPipe: 0.1-0.5): that is normal, not
# a missing athlete, so a frame needs a hip, a shoulder and a knee of either side.
KEY_JOINTS = ("hip", "shoulder", "knee")
MIN_CONFIDENCE = 0.3


def time_axis(timestamps_s: np.ndarray | None, n_frames: int, sample_rate_hz: float | None) -> np.ndarray:
    """Seconds from the first sample: the file's own timestamps, else frame / manifest rate."""
    if timestamps_s is None:
        if sample_rate_hz is None:
            raise BadRecording(
                "The file has no timestamps and the manifest gives no sample_rate_hz; "
                "add the camera's frame rate to the manifest."
            )
        return np.arange(n_frames, dtype=np.float64) / sample_rate_hz
    t = np.asarray(timestamps_s, dtype=np.float64)
    if not np.all(np.isfinite(t)):
        raise BadRecording("Some timestamps are missing or not numbers; re-export the recording.")
    steps = check_increasing(t)
    if sample_rate_hz is not None and len(steps):
        file_rate = 1.0 / float(np.median(steps))
        if abs(file_rate - sample_rate_hz) > RATE_TOLERANCE * sample_rate_hz:
            raise BadRecording(
                f"The file runs at {file_rate:.1f} Hz but the manifest says {sample_rate_hz:g} Hz; "
                "check which one is right."
            )
    return t - t[0]


def check_increasing(t: np.ndarray, where: str = "", unit: str = "frame") -> np.ndarray:
    """Raise unless ``t`` strictly increases; returns its steps. ``where`` names the file."""
    steps = np.diff(t)
    if np.any(steps <= 0):
        index = int(np.argmax(steps <= 0)) + 1
        raise BadRecording(
            f"The timestamps{where} go backwards or repeat at {unit} {index}; the file is probably "
            "two recordings joined or a corrupted export. Re-export it."
        )
    return steps


def check_length(t_s: np.ndarray) -> None:
    if len(t_s) < MIN_FRAMES or t_s[-1] < MIN_DURATION_S:
        raise BadRecording(
            f"The recording is too short ({len(t_s)} frames, {t_s[-1] if len(t_s) else 0:.1f} s) "
            "to contain a rep."
        )


def check_person_present(frames: pl.DataFrame, t_s: np.ndarray) -> None:
    """The athlete must be visible in most frames (``KEY_JOINTS``); shorter absences are gaps."""
    present = np.ones(frames.height, dtype=bool)
    for joint in KEY_JOINTS:
        seen = np.zeros(frames.height, dtype=bool)
        columns = [landmark_columns(f"{joint}_{side}") for side in ("left", "right")]
        if not any(x in frames.columns for x, *_ in columns):
            raise BadRecording(f"The file has no {joint} keypoints.")
        for x, _, _, conf in columns:
            if x in frames.columns:
                xs = frames[x].to_numpy().astype(np.float64)
                cs = frames[conf].fill_null(1.0).to_numpy().astype(np.float64)
                seen |= np.isfinite(xs) & (cs >= MIN_CONFIDENCE)
        present &= seen
    missing = 1.0 - present.mean()
    if missing > MAX_MISSING_FRACTION:
        raise BadRecording(
            f"The athlete is not detected in {missing:.0%} of the frames; film the whole body "
            "from the side, in good light."
        )
