"""Which of a kettlebell's repeated movements are swings.

A sensor on the bell counts every excursion of the load (``kinematics.implement``): the cleans,
jerks, presses and snatches a kettlebell athlete does in the same recording rise and return as
swings do. What sets a swing apart is how the bell is held, which an accelerometer on the bell
reads whatever angle it was strapped on at:

- **The pull stays along the bell's hanging axis.** In a swing the bell hangs from the hand and
  the arm can only pull along itself, as a pendulum's rod does, so the specific force on the
  bell (handle tension per unit mass, T = v^2/L + g cos(theta)) points along the handle axis
  through the whole cycle while its size runs from ~0 g at the float to ~3 g at the bottom
  passages. Racked (clean, jerk, press) the bell lies against the forearm, its handle axis
  45-90 deg off the line of pull; overhead (snatch, jerk lockout) it lies on the back of the
  forearm. So: the |f|-weighted 90th percentile of the angle between the pull and the hanging
  axis, over samples pulling harder than ``MIN_PULL_G`` (below it the direction is noise), must
  be at most ``MAX_OFF_AXIS_DEG``. The hanging axis is the direction of gravity while the bell
  rests standing or hanging still (its handle axis vertical); of several rest orientations, the
  one held longest (a bell is parked standing, racked only briefly). Without any rest, the rep's
  own mean pull stands in: a bell that keeps one line of pull through the rep is then accepted,
  so a snatch (bell flipping overhead) is told from a swing but a jerk may not be.
- **A swing peaks in a float.** At the top of a swing the bell is ballistic, its handle slack:
  the pull, g cos(theta0) at an apex theta0 from hanging, falls below ``MAX_FLOAT_G`` (a swing
  to 60 deg or higher) within ``FLOAT_WINDOW_S`` of the rep's highest point. Lifting the bell off
  the floor and holding it before the first hike rises and returns too, held at ~1 g.

On the real kettlebell recordings (``bench/realdata.py``, ktbl) labelled swings read 4-13 deg
about their own mean pull and keep within ~7 deg of the standing axis; racked jerks and the
unlabelled rack work pull 45-60 deg off it and snatches spread 59-97 deg about their own mean.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.ingest.checks import MAX_GAP_S
from hinge_analytics.kinematics.filters import interpolate_gaps, lowpass
from hinge_analytics.kinematics.implement import ACC_LOWPASS_HZ, GRAVITY, placement_channels, rest_samples
from hinge_analytics.numeric import true_runs
from hinge_analytics.schema import ACCELEROMETER_CHANNELS, GYROSCOPE_CHANNELS

SWING_PLACEMENTS = frozenset({"implement"})  # a sensor on the bell itself
MIN_PULL_G = 0.5
MAX_OFF_AXIS_DEG = 25.0
OFF_AXIS_QUANTILE = 0.9
MAX_FLOAT_G = 0.5
FLOAT_WINDOW_S = 0.4
SAME_REST_DEG = 15.0  # rests whose gravity directions are this close are one orientation


def hanging_axis(acc: np.ndarray, rest: np.ndarray) -> np.ndarray | None:
    """Unit gravity direction (sensor frame) of the rest orientation held longest, or None."""
    runs = true_runs(rest)
    if not runs:
        return None
    directions = np.array([acc[run].mean(axis=0) for run in runs])
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    lengths = np.array([run.stop - run.start for run in runs], dtype=float)
    close = directions @ directions.T >= np.cos(np.radians(SAME_REST_DEG))
    held = close @ lengths
    members = close[int(np.argmax(held))]
    axis = (directions[members] * lengths[members, None]).sum(axis=0)
    return axis / np.linalg.norm(axis)


def off_axis_deg(acc: np.ndarray, axis: np.ndarray | None) -> float:
    """|f|-weighted ``OFF_AXIS_QUANTILE`` of the angle between the pull and ``axis`` (the rep's
    own mean pull when None) over samples pulling harder than ``MIN_PULL_G``; NaN without any."""
    norm = np.linalg.norm(acc, axis=1)
    pulling = norm > MIN_PULL_G * GRAVITY
    if not pulling.any():
        return float("nan")
    f, weight = acc[pulling], norm[pulling]
    if axis is None:
        axis = f.sum(axis=0) / np.linalg.norm(f.sum(axis=0))
    angle = np.degrees(np.arccos(np.clip(f @ axis / weight, -1.0, 1.0)))
    order = np.argsort(angle)
    cumulative = np.cumsum(weight[order]) / weight.sum()
    return float(angle[order][min(np.searchsorted(cumulative, OFF_AXIS_QUANTILE), len(angle) - 1)])


def swing_mask(
    frames: pl.DataFrame, sample_rate_hz: float, placement: str, boundaries: pl.DataFrame
) -> np.ndarray:
    """True per rep of ``boundaries`` (``segment_reps``' table) that is a swing (module docstring).

    ``frames`` are canonical IMU frames (schema.IMU_FRAMES) with ``<placement>_acc_*``; a gyroscope,
    when present, only sharpens the rest detection.
    """
    keep = np.ones(boundaries.height, dtype=bool)
    acc = placement_channels(frames, placement, ACCELEROMETER_CHANNELS)
    if acc is None or boundaries.height == 0:
        return keep
    rate = float(sample_rate_hz)
    t_s = frames["t_s"].cast(pl.Float64).to_numpy()
    gyr = placement_channels(frames, placement, GYROSCOPE_CHANNELS)
    acc = interpolate_gaps(acc, rate, MAX_GAP_S)
    finite = np.isfinite(acc).all(axis=1)
    if gyr is not None:
        gyr = interpolate_gaps(gyr, rate, MAX_GAP_S)
    rest = np.zeros(len(t_s), dtype=bool)
    for run in true_runs(finite):
        if run.stop - run.start >= 15:
            acc[run] = lowpass(acc[run], rate, min(ACC_LOWPASS_HZ, 0.4 * rate))
            rest[run] = rest_samples(acc[run], None if gyr is None else gyr[run], rate)
    axis = hanging_axis(acc, rest)
    pull = np.linalg.norm(acc, axis=1)
    reps = boundaries.select("t_start_s", "t_bottom_s", "t_end_s").iter_rows()
    for k, (start, top, end) in enumerate(reps):
        inside = (t_s >= start) & (t_s <= end) & finite
        near_top = (np.abs(t_s - top) <= FLOAT_WINDOW_S) & finite
        floats = near_top.any() and pull[near_top].min() < MAX_FLOAT_G * GRAVITY
        keep[k] = floats and not off_axis_deg(acc[inside], axis) > MAX_OFF_AXIS_DEG
    return keep


def keep_swings(
    frames: pl.DataFrame, sample_rate_hz: float, placement: str, boundaries: pl.DataFrame
) -> tuple[pl.DataFrame, str | None]:
    """(the swings of ``boundaries``, renumbered; a sentence on what was left out, or None)."""
    keep = swing_mask(frames, sample_rate_hz, placement, boundaries)
    if keep.all():
        return boundaries, None
    # segment_reps leaves the pause after the last rep null; a rep followed by a movement that is
    # no swing ends its run of swings the same way
    between = next(c for c in ("top_pause_s", "bottom_pause_s") if boundaries[c][-1] is None)
    ends_run = np.append(~keep[1:], True)
    swings = (
        boundaries.with_columns(
            pl.when(pl.Series(ends_run)).then(None).otherwise(pl.col(between)).alias(between)
        )
        .filter(pl.Series(keep))
        .with_columns(rep=pl.int_range(1, int(keep.sum()) + 1, dtype=boundaries.schema["rep"]))
    )
    dropped = int((~keep).sum())
    how = "racked or overhead (a clean, jerk, press or snatch) or held without swinging"
    if not keep.any():
        movements = "repeated movement was" if dropped == 1 else f"{dropped} repeated movements were"
        return swings, f"No swings found: the bell's {movements} {how}."
    if dropped == 1:
        return swings, f"1 repeated movement of the bell is left out: it was {how}."
    return swings, f"{dropped} repeated movements of the bell are left out: they were {how}."
