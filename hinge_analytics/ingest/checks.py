"""Plausibility checks shared by every reader: time axis, sample rate, person present.

Each failed check raises BadRecording with a sentence a coach understands.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.numeric import nanmean_stack, nanmedian
from hinge_analytics.schema import landmark_columns

MIN_DURATION_S = 2.0
MIN_FRAMES = 20
RATE_TOLERANCE = 0.10  # a file whose rate differs from the manifest's by more is suspect
MAX_MISSING_FRACTION = 0.5  # person (hips/shoulders/knees) missing in more frames than this
MAX_GAP_S = 0.5  # a longer stretch without data is a gap: kept empty, it loses the reps over it
MAX_REORDERED_FRACTION = 0.1  # of a sensor's steps: more going back is not late packets
# The body is found when one of each of these pairs is seen. In a side view the far leg is hidden
# and estimators give its knee and ankle a low confidence (MediaPipe: 0.1-0.5): that is normal, not
# a missing athlete, so a frame needs a hip, a shoulder and a knee of either side.
KEY_JOINTS = ("hip", "shoulder", "knee")
MIN_CONFIDENCE = 0.3
JUMP_TRUNK_LENGTHS = 0.4  # a body moving this far between two frames is a cut between clips
MAX_JUMPS = 2
PERSIST_FRAMES = 10


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


def logger_order(t: np.ndarray, columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(sample times, indices of the rows to keep, in time order) of a sensor's samples as a
    logger wrote them, undoing three habits of loggers before `check_increasing` judges the clock:

    - rows out of order by less than ``MAX_GAP_S`` (packets that arrived late) are put back in
      order when they are few (``MAX_REORDERED_FRACTION`` of the steps); a larger step back, or a
      file in reverse, is left to be refused (two recordings joined, a broken export);
    - a sample written twice (same time and values: a packet sent again) is kept once;
    - samples that share a time with different values are a batch the logger stamped on arrival
      (MetaWear sensors pack three samples per packet at high rates, mbientlab
      MetaWear-SDK-iOS-macOS-tvOS issue 1): they are spread over the step to the next time, at
      most the file's typical sample step apart.

    ``columns``: the channels, (n,) or (n, k) each, NaN allowed; they are only compared (stacked)
    when the clock does not already increase, in which case ``t`` and all rows are returned."""
    n = len(t)
    if n < 2 or np.all(np.diff(t) > 0):
        return t, np.arange(n)
    values = np.column_stack(list(columns))
    steps = np.diff(t)
    back = steps < 0
    occasional = back.mean() <= MAX_REORDERED_FRACTION and np.all(steps[back] > -MAX_GAP_S)
    order = np.argsort(t, kind="stable") if occasional else np.arange(n)
    t, values = t[order], values[order]
    same_time = np.diff(t) == 0
    same_values = np.all((values[1:] == values[:-1]) | (np.isnan(values[1:]) & np.isnan(values[:-1])), axis=1)
    keep = np.concatenate([[True], ~(same_time & same_values)])
    order, t = order[keep], t[keep].astype(np.float64)
    first = np.flatnonzero(np.concatenate([[True], np.diff(t) != 0]))  # each run of one time
    if len(first) in (1, len(t)):  # nothing to spread, or nothing to spread it by
        return t, order
    sizes = np.diff(np.append(first, len(t)))
    after = np.append(t[first[1:]] - t[first[:-1]], np.inf)  # to the next time
    typical = float(np.median((after / sizes)[:-1]))
    spread = np.minimum(after / sizes, typical)
    within = np.arange(len(t)) - np.repeat(first, sizes)
    return t + within * np.repeat(spread, sizes), order


def fill_gaps(t: np.ndarray, step: float) -> np.ndarray:
    """``t`` with evenly spaced samples (``step`` apart) added inside steps over ``MAX_GAP_S``."""
    long = np.flatnonzero(np.diff(t) > MAX_GAP_S)
    if not len(long):
        return t
    pieces, previous = [], 0
    for i in long:
        pieces.append(t[previous : i + 1])
        pieces.append(np.arange(t[i] + step, t[i + 1] - 0.5 * step, step))
        previous = i + 1
    pieces.append(t[previous:])
    return np.concatenate(pieces)


# Beyond these rates a time column is in the other unit: no pose estimator or IMU logger samples
# over 5 kHz, and none under 1 Hz. Seconds in a timestamp_ms column read as 30,000 frames a second
# and made a 20-minute set "too short (1.2 s)"; milliseconds in a seconds column, the reverse.
MAX_PLAUSIBLE_HZ = 5000.0
MIN_PLAUSIBLE_HZ = 1.0
TIME_UNIT_NAMES = {1.0: "seconds", 1e-3: "milliseconds", 1e-6: "microseconds"}


def check_time_unit(
    values: np.ndarray, column: str, scale: float, name: str, fix: str | None = None
) -> None:
    """Raise BadRecording with a hint when ``column`` (values x ``scale`` = seconds) steps at a rate
    no recording has, naming the unit (``TIME_UNIT_NAMES``) the values look like. ``fix``: what to
    do about it, when the column's name does not set its unit (a declared layout)."""
    finite = values[np.isfinite(values)]
    steps = np.diff(finite) * scale
    steps = steps[steps > 0]
    if len(steps) < 2:
        return
    step = float(np.median(steps))
    rate = float(f"{1.0 / step:.2g}")  # two significant digits: 60,000, not 59,999
    if MIN_PLAUSIBLE_HZ <= rate <= MAX_PLAUSIBLE_HZ:
        return
    span = float(finite[-1] - finite[0]) * scale
    raw_step, raw_span = step / scale, span / scale
    plausible = [u for u in TIME_UNIT_NAMES if _plausible(raw_step * u)]
    likely = min(plausible, key=lambda u: abs(np.log(u / scale))) if plausible else None
    pace = f"{rate:,.0f} samples a second" if rate >= 1.0 else f"one sample every {step:.3g} s"
    total = f"{span:.1f} s" if span < 3600 else f"{span / 3600:.1f} h"
    looks = ""
    if likely is not None:
        seconds = raw_span * likely
        length = f"{seconds / 60:.1f} min" if likely == 1.0 else f"{seconds:.1f} s"
        looks = f". The values look like {TIME_UNIT_NAMES[likely]} ({length})"
    hint = fix or {
        1.0: "name the column with _s (e.g. timestamp_s), or export milliseconds.",
        1e-3: "name the column with _ms (e.g. timestamp_ms), or export seconds.",
    }.get(likely or 0.0, "check the unit of the time column.")
    raise BadRecording(
        f"The {column} column of {name} advances by {raw_step:.3g} a sample: as "
        f"{TIME_UNIT_NAMES.get(scale, 'seconds')} that is {pace} and {total} in all{looks}: {hint}"
    )


def time_scale(values: np.ndarray) -> float:
    """Seconds per unit of a time column that does not name its unit: the first of s, ms and us
    whose median step is a sampling rate a recording has (``MIN/MAX_PLAUSIBLE_HZ``); seconds
    when none is (`check_time_unit` then says what the values look like)."""
    steps = np.diff(values)
    steps = steps[steps > 0]
    if len(steps) < 2:
        return 1.0
    step = float(np.median(steps))
    return next((scale for scale in TIME_UNIT_NAMES if _plausible(step * scale)), 1.0)


def _plausible(step_s: float) -> bool:
    """Whether samples ``step_s`` seconds apart are a rate recordings have."""
    return MIN_PLAUSIBLE_HZ <= 1.0 / step_s <= MAX_PLAUSIBLE_HZ


def check_length(t_s: np.ndarray) -> None:
    if len(t_s) < MIN_FRAMES or t_s[-1] < MIN_DURATION_S:
        raise BadRecording(
            f"The recording is too short ({len(t_s)} frames, {t_s[-1] if len(t_s) else 0:.1f} s) "
            "to contain a rep."
        )


def check_person_present(frames: pl.DataFrame, t_s: np.ndarray) -> None:
    """The athlete must be visible (``KEY_JOINTS``) in most frames between the first and the last
    that show them, for at least ``MIN_DURATION_S``; shorter absences are gaps. Frames before the
    athlete walks into the picture or after they leave it are not counted against them: a phone
    is started before the lifter steps in (20 s of empty frames before a real 14-s deadlift clip
    read as "not detected in 58 % of the frames")."""
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
    shown = np.flatnonzero(present)
    if len(shown) == 0 or t_s[shown[-1]] - t_s[shown[0]] < MIN_DURATION_S:
        raise BadRecording(
            "The athlete is detected in too few frames to analyse; film the whole body from the "
            "side, in good light."
        )
    missing = 1.0 - present[shown[0] : shown[-1] + 1].mean()
    if missing > MAX_MISSING_FRACTION:
        raise BadRecording(
            f"The athlete is not detected in {missing:.0%} of the frames; film the whole body "
            "from the side, in good light."
        )


def _frame_intervals(frames: pl.DataFrame) -> np.ndarray | float:
    """How many frame intervals each step between rows spans (1 without times, or out of order)."""
    if "t_s" not in frames.columns or frames.height < 2:
        return 1.0
    dt = np.diff(frames["t_s"].to_numpy().astype(np.float64))
    typical = float(np.median(dt))
    return np.maximum(dt / typical, 1.0) if typical > 0 else 1.0


def check_one_clip(frames: pl.DataFrame, coordinates: str = "image") -> None:
    """Refuse files that join several clips: between two frames the whole body jumps.

    Distances are taken in the picture's plane for image coordinates and in space for
    ``world_m``: a 3D file's axes are the capture's (Pose2Sim's Y is up, and the athlete may face
    along Z), so an athlete lying along the depth axis in a hip thrust would have no trunk length
    left in X-Y and the markers' noise would pass for jumps.

    The median displacement of shoulders, hips, knees and ankles from one frame to the next stays
    under a fifth of a trunk length in real recordings (0.19 at most over the real landmark files
    at hand, 15-60 fps); a cut between clips moves it by more than ``JUMP_TRUNK_LENGTHS``.
    A jump counts when the body stays away for ``PERSIST_FRAMES`` (a spike or a left/right swap
    comes straight back); one can be a person re-detected, ``MAX_JUMPS`` or more is a spliced
    file, whose reps would mix different sets. Between two frames with dropped frames between
    them (under the ``MAX_GAP_S`` that leaves a gap) the body may travel as far as that many frame
    intervals allow: a fast deadlift pull filmed at 24 fps moved 0.45 trunk lengths across 0.21 s
    without frames.
    """
    points = {}
    for joint in ("shoulder", "hip", "knee", "ankle"):
        for side in ("left", "right"):
            x, y, z, _ = landmark_columns(f"{joint}_{side}")
            axes = [x, y, z] if coordinates == "world_m" else [x, y]
            if all(c in frames.columns for c in axes):
                points[f"{joint}_{side}"] = frames.select(pl.col(axes).cast(pl.Float64)).to_numpy()
    shoulders = [v for k, v in points.items() if k.startswith("shoulder")]
    hips = [v for k, v in points.items() if k.startswith("hip")]
    if len(points) < 4 or not shoulders or not hips:
        return
    size = float(nanmedian(np.linalg.norm(nanmean_stack(shoulders) - nanmean_stack(hips), axis=1)))
    if not np.isfinite(size) or size <= 0:
        return
    xy = np.stack(list(points.values()), axis=1)  # (frames, joints, 2 or 3)
    steps = nanmedian(np.linalg.norm(np.diff(xy, axis=0), axis=2), axis=1) / size
    candidates = np.flatnonzero(np.nan_to_num(steps) > JUMP_TRUNK_LENGTHS * _frame_intervals(frames)) + 1
    # A cut leaves the body somewhere else; a glitch (a spike, a swap, a re-detection) comes back.
    centre = nanmedian(np.moveaxis(xy, 1, 0))  # (frames, 2 or 3), over joints
    jumps = [
        i
        for i in candidates
        if np.linalg.norm(nanmedian(centre[i : i + PERSIST_FRAMES]) - centre[i - 1])
        > JUMP_TRUNK_LENGTHS * size
    ]
    if len(jumps) >= MAX_JUMPS:
        shown = ", ".join(str(int(i)) for i in jumps[:5]) + (", ..." if len(jumps) > 5 else "")
        raise BadRecording(
            f"The athlete jumps across the picture {len(jumps)} times (at frames {shown}): the file "
            "looks like several clips joined together. Split it into one file per set."
        )
