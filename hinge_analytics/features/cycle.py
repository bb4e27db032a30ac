"""Every rep read in the same order: from standing down to the bottom and back up.

`reps.segmentation` cuts a set from its rest position. Most sets rest standing, and their reps run
standing -> bottom -> standing in time (SPEC.md). A set that rests at the bottom (a deadlift filmed
from the set-up to the bar back on the floor) is cut from there: each rep leaves the floor, locks
out and comes back down. A first pull from the set-up holds only the rise. The features that read
a rep as starting and ending standing (its angle curves and their standing reference, its lockout,
the standing posture of its frontal descriptors) would read such a rep inside out, and a model
trained on reps from standing would meet a shape it never saw (the real side-view deadlift rv02 of
`real_video_dev`, set up at the bar, good form: docs/validation-2026-12-06.md).

So those features read every rep in cycle order. A rep from the floor is read from the middle of
its lockout round to it, lowering first. A first pull fills the cycle's second half, and the
first half (the lowering before it) stays empty. The cycle position of a frame at time ``t`` is
``offset + elapsed / length``. ``elapsed`` is the time since ``pivot``, wrapped into the rep.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def _column(reps: pl.DataFrame, name: str) -> np.ndarray:
    if name not in reps.columns:
        return np.full(reps.height, np.nan)
    return reps[name].cast(pl.Float64).fill_null(np.nan).to_numpy()


def rep_cycles(reps: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per rep of ``reps`` (segmentation's ``REP_BOUNDARIES`` columns): the time its cycle is
    read from (``pivot``, s), the cycle's length (s) and the cycle position of the pivot.

    A rep starts at the bottom when its bottom is its start (`reps.segmentation`); it is a first
    pull when it also has no eccentric phase. Without those columns a rep runs from standing."""
    start, end = _column(reps, "t_start_s"), _column(reps, "t_end_s")
    with np.errstate(invalid="ignore"):
        from_bottom = _column(reps, "t_bottom_s") <= start
    first_pull = from_bottom & np.isnan(_column(reps, "eccentric_s"))
    lockout = start + _column(reps, "concentric_s") + np.nan_to_num(_column(reps, "top_pause_s")) / 2
    pivot = np.where(from_bottom & ~first_pull, lockout, start)
    duration = end - start
    return pivot, np.where(first_pull, 2 * duration, duration), np.where(first_pull, 0.5, 0.0)


def cycle_position(
    t: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    pivot: np.ndarray,
    length: np.ndarray,
    offset: np.ndarray,
) -> np.ndarray:
    """Cycle position (0 standing, through the bottom, to 1 standing again) of frames at ``t``
    inside their reps; the other arguments are each frame's rep's (broadcast), from `rep_cycles`."""
    elapsed = t - pivot
    elapsed = np.where(elapsed < 0, elapsed + (end - start), elapsed)
    with np.errstate(divide="ignore", invalid="ignore"):
        return offset + elapsed / length


def standing_times(reps: pl.DataFrame) -> np.ndarray:
    """When each rep of ``reps`` stands: where its cycle starts (`rep_cycles`), or for a first pull,
    which only rises, its end."""
    pivot, _, offset = rep_cycles(reps)
    return np.where(offset > 0, _column(reps, "t_end_s"), pivot)


# A lockout is held for a moment, not through a rest: past this after a rep's return to standing,
# what the athlete does (walking about, a stretch) is no part of the rep.
LOCKOUT_TAIL_S = 2.0


def lockout_spans(reps: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per rep of ``reps``, the times (from, to) its lockout is read between.

    A rep from standing returns to standing at its end, and a lean-back past standing comes after
    that, at the top, before the next descent: so its lockout is read from its bottom to the next
    rep's bottom (a rep from the floor: the next one's start), at most ``LOCKOUT_TAIL_S`` past its
    end. Its own start belongs to the previous rep's lockout. A rep from the floor locks out
    inside its own span."""
    start, bottom, end = (_column(reps, c) for c in ("t_start_s", "t_bottom_s", "t_end_s"))
    with np.errstate(invalid="ignore"):
        from_bottom = bottom <= start
    after = np.append(np.where(from_bottom, start, bottom)[1:], np.inf)
    upright = ~from_bottom & np.isfinite(bottom)
    until = np.where(upright, np.minimum(np.fmax(after, end), end + LOCKOUT_TAIL_S), end)
    return np.where(upright, bottom, start), until
