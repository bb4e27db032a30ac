"""Split a set into reps on the hinge signal (mean hip flexion) and mark each rep's phases.

A rep starts when the athlete leaves the rest position of the set (standing, or the floor in a
deadlift from the floor) and ends on return to it (SPEC.md).

Rest position: where the set begins and ends. A deadlift filmed from the setup at the bar starts
and ends at the bottom, so its reps are excursions *up* from there (bar leaves the floor -> back on
the floor); every other set rests at the top. When both ends of the recording sit in the deeper
half of the set's range, the signal is segmented upside down.

An RDL, a single-leg RDL or a good morning rests standing whatever its ends (``rests_standing``):
a set filmed from picking the bar up off the floor to putting it back down has both ends deep, and
cut from there it counted the stretch between the floor and the first rep as one rep more.

Detection: peaks of the hinge signal found with ``scipy.signal.find_peaks``; a peak is a rep when
its prominence (how far the signal drops back towards the rest position on both sides), and its
height above the rest position (a dip of noise below rest can inflate prominence), exceed an
absolute floor (``MIN_PROMINENCE_DEG``: fidgets and weight shifts stay below it), a fraction of the
set's range (``PROMINENCE_FRACTION``: partial reps of 40 % depth count, estimator drift at rest does
not; the same fraction of the set's median rep instead when one rep far deeper than the others sets
the range and the signal holds no bump that such a floor would let through) and a fraction of the
set's own typical rep (``TYPICAL_FRACTION`` of the median prominence), and when the signal comes
back at least halfway from the peak to the rest position on both sides (``RETURN_FRACTION``): a
wobble during a 20 s hold at the bottom, however large, never does, while reps that stop short of
full lockout still do. Pauses at the top or bottom do not matter: prominence ignores time.

Boundaries: hinge movements are smooth point-to-point movements close to minimum jerk (Flash &
Hogan, J Neurosci 1985). A threshold on such a profile is late (the first 10 % of the time moves
only 1 % of the way; Hodges & Bui 1996 discuss the bias), so each phase's start and end are
*extrapolated*: the times the phase crosses 20% and 80% of its excursion (robust to noise) are
fitted by a minimum-jerk profile, whose start and end are the phase's start and end. They are
clamped between the previous rep's end and the crossings, so a movement that is not minimum-jerk
still gets a boundary between sensible limits. (Anchoring the start on a speed threshold instead
was tried: on noisy landmarks the speed dips under any threshold well after the movement began.)
Between two reps a phase runs from the deepest point between them. In a set cut from the bottom
(both ends deep), the first rep's runs from the last turn of the signal before it (a local
extreme of ``min_prominence`` or more, in the rest half of the rep's excursion), and the last
rep's to the first turn after it, else from or to the recording's edge. A swing set that opens on
the parked bell holds the set-up crouch and then the hike pass, whose backswing is the first
rep's start: read from the crouch, the first swing's window took in the set-up's knees (88 deg
against 55-60 in the other swings of a real clip), and so did the last swing's the park's.

Gaps: a stretch without data longer than ``MAX_GAP_S`` is bridged for detection only; a rep that
overlaps it is dropped (the reps on either side are kept), unless the stretch is too short to hide
a return to rest and lies within the rep's held bottom (`_boundary_gaps`).

First pull: a deadlift or a hip thrust begins at the bottom (the bar on the floor, the lifter seated
against the bench), so a recording of one that starts there, held deep, and ends at the top holds
the whole lift of its first rep, though not the lowering before it. Segmented from the top, that
rise is no peak (it lies at the recording's edge) and the set counts one rep short: touch-and-go
deadlifts filmed from the set-up to the last lockout. With ``first_rep_from_bottom`` that rise is
a rep: it starts when the lifter leaves the bottom and has no eccentric phase. Other lifts that
start deep were caught mid-rep (a clip cut after the descent); their rise stays uncounted.

Set-down: a set ends by setting the load down (a swing's bell parked in front, a deadlift's bar
lowered to the floor), held there while the hands let go, and then standing up. A swing never
stops at the bottom (the bell passes between the legs) and a touch-and-go set's reps barely do,
so that hold tells the set-down apart. Cut from the top, setting down and standing up are one
excursion more: swings filmed from walking up to the bell, or holding it, to standing after the
park counted one swing too many, and so did deadlifts filmed from the walk-in, or from the set-up
(first pull counted), to standing after the bar is down. With ``last_hold_ends_set`` a last rep
is dropped when it is held at the bottom ``PARK_HOLD_S`` longer than the longest turn of the two
or more reps between the first (which may hold a set-up) and it, and those all turned within
``PARK_HOLD_S``. The set's own turns say how long a turn reads: the slower, fatigued last turn
of a touch-and-go set read 0.51 s against 0.46 s before it, and one rep between says too little.
Not where the recording opens deep and its first rise went uncounted (swings on the parked bell):
the set-down then keeps its place in the count, and its window is the set-down's. Paused reps
(dead-stop deadlifts) leave the rule out: a set of them filmed from the set-up to standing after
the set-down counts one more, and one filmed to the last lockout, as the real clips at hand end,
counts right.

Phases per rep: eccentric (start -> arrival at the bottom), bottom pause, concentric (bottom ->
return to the top) and top (rest at the top before the next rep; null for the last rep). A rep
from the floor starts with its concentric pull: its "bottom" is the floor position it starts from,
its bottom pause is the rest on the floor after it, its top pause the stop at lockout.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.signal import find_peaks

from hinge_analytics.ingest.checks import MAX_GAP_S
from hinge_analytics.numeric import true_runs

MIN_RANGE_DEG = 10.0  # a set whose hinge moves less than this has no reps
MIN_PROMINENCE_DEG = 8.0  # a rep moves the hinge at least this far from the top and back
PROMINENCE_FRACTION = 0.3  # ... and at least this fraction of the set's range
TYPICAL_FRACTION = 0.3  # ... and of the set's median rep prominence
RETURN_FRACTION = 0.5  # between reps the signal comes back at least this far towards rest
# Of a rep's excursion: frames at least this deep hold its bottom. Selected at 0.9 of an excursion
# whose top is the hold's noisiest frame, a hold keeps only its upper noise (`features.metrics`).
HOLD_PHASE = 0.75
MIN_REP_S = 0.4  # peaks closer than this are one rep
REST_AT_BOTTOM = 0.6  # both ends deeper than this fraction of the range: the set rests at the bottom
PARK_HOLD_S = 0.5  # a swing's bell turns at the bottom within ~0.15 s; a load set down rests there
EDGE_S = 0.5  # how much of each end of the recording tells its rest position
LOW_LEVEL, HIGH_LEVEL = 0.2, 0.8  # excursion fractions whose crossings are fitted
# Minimum-jerk progress u at which the profile reaches 20% / 80% of its excursion.
_U_LOW, _U_HIGH = 0.3265979378414098, 0.6734020621585904

REP_BOUNDARIES = {
    "rep": pl.Int32,
    "t_start_s": pl.Float64,
    "t_bottom_s": pl.Float64,
    "t_end_s": pl.Float64,
    "eccentric_s": pl.Float64,
    "bottom_pause_s": pl.Float64,
    "concentric_s": pl.Float64,
    "top_pause_s": pl.Float64,
    "duration_s": pl.Float64,
    "peak_hinge_velocity_deg_s": pl.Float64,
}


def segment_reps(
    t_s: np.ndarray,
    hinge_deg: np.ndarray,
    min_prominence: float = MIN_PROMINENCE_DEG,
    min_rep_s: float = MIN_REP_S,
    min_range: float = MIN_RANGE_DEG,
    first_rep_from_bottom: bool = False,
    rests_standing: bool = False,
    last_hold_ends_set: bool = False,
) -> pl.DataFrame:
    """Rep boundaries and phase durations (seconds from the first sample), one row per rep.

    Parameters
    ----------
    t_s : sample times, s. hinge_deg : the hinge signal (flexion positive), already filtered, or
        any rep signal that rises away from the rest position and back (e.g. an implement's
        height); ``min_prominence`` and ``min_range`` are then in that signal's units.
    min_prominence : smallest rep excursion counted. min_rep_s : shortest rep spacing.
    min_range : a signal that moves less than this over the whole recording has no reps.
    first_rep_from_bottom : the lift starts at the bottom (module docstring, "First pull").
    rests_standing : every rep of the lift starts and ends standing (module docstring).
    last_hold_ends_set : the set ends by setting its load down (module docstring, "Set-down").

    Returns
    -------
    A table with ``REP_BOUNDARIES`` columns, empty when the set holds no rep.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(hinge_deg, dtype=np.float64)
    finite = np.isfinite(x)
    if finite.sum() < 10:
        return pl.DataFrame(schema=REP_BOUNDARIES)
    gaps = long_gaps(t_s, finite)
    x = np.interp(t_s, t_s[finite], x[finite])
    top, bottom = np.percentile(x[finite], [2, 99])
    span = bottom - top
    if span < min_range:
        return pl.DataFrame(schema=REP_BOUNDARIES)
    starts_deep, ends_deep = (depth > REST_AT_BOTTOM for depth in _edge_depths(t_s, x, top, span))
    from_bottom = starts_deep and ends_deep and not rests_standing
    if from_bottom:
        x = -x
    rate = (len(t_s) - 1) / (t_s[-1] - t_s[0])
    velocity = np.gradient(x, t_s)
    rest = np.percentile(x, 2)
    distance = max(1, int(min_rep_s * rate))
    floor = max(min_prominence, PROMINENCE_FRACTION * span)
    peaks = _rep_peaks(x, rest, floor, min_prominence, distance)
    first_pull = None
    if first_rep_from_bottom and starts_deep and not from_bottom:
        first_pull = _rise_from_start(x, peaks, rest, floor)
        if first_pull is not None:
            peaks = np.concatenate([[first_pull], peaks]).astype(int)
    if gaps is not None:
        gaps = _boundary_gaps(t_s, x, gaps, peaks, rest)
    # Boundaries of the region each peak owns: the lowest point between neighbouring peaks, or
    # the edge of a gap between them (what the bridge drew there is no data).
    valleys = [0] + [int(a + np.argmin(x[a : b + 1])) for a, b in zip(peaks[:-1], peaks[1:], strict=True)]
    valleys.append(len(x) - 1)
    if from_bottom and len(peaks):
        valleys[0] = _turn(x, 0, int(peaks[0]), rest, min_prominence, last=True)
        valleys[-1] = _turn(x, int(peaks[-1]), len(x) - 1, rest, min_prominence, last=False)
    gap_at = np.flatnonzero(gaps) if gaps is not None else np.empty(0, dtype=int)
    rows = []
    previous_end_t = t_s[0]
    for k, peak in enumerate(peaks):
        lo, hi = valleys[k], valleys[k + 1]
        if len(gap_at):
            if gaps[peak]:
                continue
            before, after = gap_at[(gap_at < peak) & (gap_at > lo)], gap_at[(gap_at > peak) & (gap_at < hi)]
            lo = int(before[-1]) + 1 if len(before) else lo
            hi = int(after[0]) - 1 if len(after) else hi
            drop = RETURN_FRACTION * (x[peak] - rest)
            if x[peak] - x[lo : peak + 1].min() < drop or x[peak] - x[peak : hi + 1].min() < drop:
                continue  # the rep runs into the gap: the data holds its leaving or its return only
        pull_only = peak == first_pull  # the lowering before it is not in the recording
        con = _phase(t_s, x, peak, hi, rising=False)
        end = float(np.clip(con[1], con[2], t_s[hi]))
        turn_out = float(np.clip(con[0], t_s[peak], con[3]))
        if pull_only:
            start = turn_in = turn_out
        else:
            ecc = _phase(t_s, x, lo, peak, rising=True)
            start = float(np.clip(ecc[0], max(previous_end_t, t_s[lo]), ecc[2]))
            turn_in = float(np.clip(ecc[1], ecc[3], t_s[peak]))
        previous_end_t = end
        if gaps is not None and gaps[(t_s >= start) & (t_s <= end)].any():
            continue
        inside = (t_s >= start) & (t_s <= end)
        speed = float(np.abs(velocity[inside]).max()) if inside.any() else None
        first, turn, second = turn_in - start, turn_out - turn_in, end - turn_out
        rows.append(
            {
                "t_start_s": start,
                "t_bottom_s": start if from_bottom or pull_only else float(t_s[peak]),
                "t_end_s": end,
                "eccentric_s": second if from_bottom else (None if pull_only else first),
                "bottom_pause_s": None if from_bottom or pull_only else turn,
                "concentric_s": first if from_bottom else second,
                "top_pause_s": turn if from_bottom else None,
                "duration_s": end - start,
                "peak_hinge_velocity_deg_s": speed,
            }
        )
    if last_hold_ends_set and _set_down_last(rows) and (first_pull is not None or not starts_deep):
        rows.pop()
    for k, row in enumerate(rows):
        row["rep"] = k + 1
        rest = max(rows[k + 1]["t_start_s"] - row["t_end_s"], 0.0) if k + 1 < len(rows) else None
        row["bottom_pause_s" if from_bottom else "top_pause_s"] = rest
    return pl.DataFrame(rows, schema=REP_BOUNDARIES)


def _rep_peaks(x: np.ndarray, rest: float, floor: float, min_prominence: float, distance: int) -> np.ndarray:
    """Indices of the peaks of ``x`` that are reps (module docstring, "Detection"); ``floor``: the
    excursion a rep needs against the set's range."""
    peaks, prominences = _excursions(x, rest, floor, distance)
    if not len(peaks):
        return peaks
    # One rep far deeper than the others (a squatting rep in a set of Romanian deadlifts cut on the
    # thigh) sets the range, and the floor then drops ordinary reps. Against the set's typical rep,
    # a lower floor counts them, but only on a signal that holds no bump between half that floor
    # and it: under an estimator's drift such bumps are many, and the range's floor keeps them out.
    lower = max(min_prominence, PROMINENCE_FRACTION * float(np.median(x[peaks] - rest)))
    if lower < floor and len(find_peaks(x, prominence=(lower / 2, lower), distance=distance)[0]) == 0:
        peaks, prominences = _excursions(x, rest, lower, distance)
    if not len(peaks):
        return peaks
    return peaks[prominences >= TYPICAL_FRACTION * np.median(prominences)]


def _excursions(x: np.ndarray, rest: float, floor: float, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Peaks of ``x`` (and their prominences) that rise ``floor`` above their surroundings and
    above ``rest``, and from which the signal comes back at least ``RETURN_FRACTION`` of the way
    to rest on both sides."""
    peaks, props = find_peaks(x, prominence=floor, distance=distance)
    height = x[peaks] - rest
    returns = props["prominences"] >= RETURN_FRACTION * height
    # Prominence is measured from the higher neighbouring valley, which a noise dip can push below
    # the rest position: the excursion from rest itself must be as large.
    keep = returns & (height >= floor)
    return peaks[keep], props["prominences"][keep]


def _turn(x: np.ndarray, a: int, b: int, rest: float, prominence: float, last: bool) -> int:
    """The last (``last``) or first local minimum of ``x[a..b]``, one of whose ends is a rep's
    peak, that stands ``prominence`` below its surroundings inside that stretch and lies in the
    rest half of the rep's excursion (a wobble of a hold at the peak is no turn): where the
    signal turned before (after) the rep. ``a`` (``b``), the recording's edge, when there is none."""
    stretch = x[a : b + 1]
    half = rest + RETURN_FRACTION * (x[b if last else a] - rest)
    turns, _ = find_peaks(-stretch, prominence=prominence)
    turns = turns[stretch[turns] <= half]
    if not len(turns):
        return a if last else b
    return a + int(turns[-1] if last else turns[0])


def long_gaps(t_s: np.ndarray, finite: np.ndarray) -> np.ndarray | None:
    """Samples inside runs without data longer than ``MAX_GAP_S`` (None when there are none)."""
    if finite.all():
        return None
    gaps = np.zeros(len(t_s), dtype=bool)
    for run in true_runs(~finite):
        before, after = t_s[max(run.start - 1, 0)], t_s[min(run.stop, len(t_s) - 1)]
        if after - before > MAX_GAP_S:
            gaps[run] = True
    return gaps if gaps.any() else None


def _boundary_gaps(
    t_s: np.ndarray, x: np.ndarray, gaps: np.ndarray, peaks: np.ndarray, rest: float
) -> np.ndarray | None:
    """The runs of ``gaps`` that could hide a rep's turn or where it returns to rest and leaves
    again, or that lose the bottom its peak angles are read from.

    Going back to rest and away takes about as long as a rep, so a run shorter than half the
    set's rep spacing (median time between peaks), with the signal on both of its edges in the
    nearest rep's held bottom (``HOLD_PHASE`` of its excursion from rest), lies inside that hold:
    the bridge keeps the rep (0.5 s of dropped frames at the bottom of a slow RDL dropped it).
    A run reaching further up the rep still drops it: its bottom, or its return, may be lost."""
    if len(peaks) < 2:
        return gaps
    half_rep_s = 0.5 * float(np.median(np.diff(t_s[peaks])))
    kept = gaps.copy()
    for run in true_runs(gaps):
        before, after = max(run.start - 1, 0), min(run.stop, len(t_s) - 1)
        nearest = peaks[np.argmin(np.abs(peaks - (run.start + run.stop) // 2))]
        deep = rest + HOLD_PHASE * (x[nearest] - rest)
        if t_s[after] - t_s[before] < half_rep_s and min(x[before], x[after]) > deep:
            kept[run] = False
    return kept if kept.any() else None


def _set_down_last(rows: list[dict]) -> bool:
    """Whether the last of ``rows`` is held at the bottom ``PARK_HOLD_S`` longer than any of the
    two or more reps between the first (which may hold a set-up) and it, and those all turned
    within ``PARK_HOLD_S`` (module docstring, "Set-down")."""
    if len(rows) < 4 or rows[-1]["bottom_pause_s"] is None:
        return False
    longest_between = max(row["bottom_pause_s"] or 0.0 for row in rows[1:-1])
    return longest_between <= PARK_HOLD_S and rows[-1]["bottom_pause_s"] > longest_between + PARK_HOLD_S


def _edge_depths(t_s: np.ndarray, x: np.ndarray, top: float, span: float) -> tuple[float, float]:
    """Where the recording's first and last ``EDGE_S`` lie in the range (0 top, 1 bottom)."""
    first = np.median(x[t_s <= t_s[0] + EDGE_S])
    last = np.median(x[t_s >= t_s[-1] - EDGE_S])
    return float((first - top) / span), float((last - top) / span)


def _rise_from_start(x: np.ndarray, peaks: np.ndarray, rest: float, floor: float) -> int | None:
    """The deepest sample before the first rep (or in the whole recording) when the signal rises
    from it at least ``RETURN_FRACTION`` of the way to rest before that rep: a first pull (module
    docstring). None when it does not."""
    end = int(peaks[0]) if len(peaks) else len(x) - 1
    valley = int(np.argmin(x[: end + 1]))
    deepest = int(np.argmax(x[: valley + 1]))
    height = x[deepest] - rest
    if valley == deepest or height < floor or x[deepest] - x[valley] < RETURN_FRACTION * height:
        return None
    return deepest


def _crossing(t_s: np.ndarray, x: np.ndarray, a: int, b: int, level: float, rising: bool) -> float:
    """Time (linearly interpolated) the monotone-ish phase x[a..b] crosses ``level``.

    Rising: the last upward crossing before b; falling: the first downward crossing after a.
    """
    seg = x[a : b + 1]
    if rising:
        below = np.flatnonzero(seg < level)
        i = a + (below[-1] if len(below) else 0)
    else:
        above = np.flatnonzero(seg < level)
        i = a + (above[0] - 1 if len(above) else len(seg) - 2)
    i = int(np.clip(i, a, max(b - 1, a)))
    x0, x1 = x[i], x[i + 1] if i + 1 < len(x) else x[i]
    frac = 0.0 if x1 == x0 else float(np.clip((level - x0) / (x1 - x0), 0.0, 1.0))
    return float(t_s[i] + frac * ((t_s[i + 1] if i + 1 < len(t_s) else t_s[i]) - t_s[i]))


def _phase(t_s: np.ndarray, x: np.ndarray, a: int, b: int, rising: bool) -> tuple[float, float, float, float]:
    """Minimum-jerk fit of one phase: (t_begin, t_finish, t_low_crossing, t_high_crossing).

    Rising phases go from the rest position (x[a] region) up to the peak b; falling from peak a
    back to rest. Crossing levels are taken from that phase's own excursion.
    """
    base = x[a : b + 1].min()
    peak = x[b] if rising else x[a]
    exc = peak - base
    t_lo = _crossing(t_s, x, a, b, base + LOW_LEVEL * exc, rising)
    t_hi = _crossing(t_s, x, a, b, base + HIGH_LEVEL * exc, rising)
    if rising:
        duration = max(t_hi - t_lo, 0.0) / (_U_HIGH - _U_LOW)
        return t_lo - _U_LOW * duration, t_lo + (1 - _U_LOW) * duration, t_lo, t_hi
    duration = max(t_lo - t_hi, 0.0) / (_U_HIGH - _U_LOW)
    return t_hi - _U_LOW * duration, t_hi + (1 - _U_LOW) * duration, t_lo, t_hi
