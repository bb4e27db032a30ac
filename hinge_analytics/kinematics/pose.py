"""Sagittal joint and segment angles from pose landmarks (SPEC.md conventions).

Processing chain, per landmark and axis (see ``filters``): low-confidence samples dropped
(``MIN_CONFIDENCE``), left/right label swaps undone by continuity (``correct_swaps``), the unknown
aspect ratio of normalised image coordinates estimated from segment-length constancy
(``estimate_aspect``), Hampel spike rejection, gaps up to ``filters.DEFAULT_MAX_GAP_S`` filled,
zero-lag Butterworth low-pass at ``cutoff_hz`` (6 Hz default, Winter 2009).

The sagittal plane is found from the data, not assumed: vertical is canonical +y; forward is the
median horizontal heel->toe direction (the feet point where the athlete faces), so it does not
matter which side faces the camera. Segment tilt = atan2(forward, up) of the segment's
lower->upper vector; hip flexion = trunk tilt - thigh tilt; knee flexion = shank tilt - thigh
tilt; ankle dorsiflexion = shank tilt (foot flat). Trunk = hip centre -> shoulder centre.

Spine-shape proxies (pose sees no vertebrae):
- upper-back rounding = tilt of shoulder centre -> ear centre (the nose when no ears are tracked)
  minus trunk tilt (head and shoulders curling forward of the trunk line);
- shoulder protraction = signed distance of the shoulder centre in front of the hip-centre ->
  ear-centre line, in trunk lengths (shoulders rolling forward of the spine).
No pelvis-tilt proxy is given: two hip landmarks do not define a pelvis orientation.

Hidden side: in a side view the far leg is behind the near one and estimators guess it, with a low
confidence (MediaPipe's visibility 0.1-0.5 on the far knee and ankle). A side whose knee is seen
with confidence ``HIDDEN_SIDE_CONFIDENCE`` or less in half the frames gives no hip, knee or ankle
angles (null, not guessed), and the hinge signal comes from the side that is seen. A side whose knee
is seen but whose ankle is not gives its hip angle (trunk and thigh) but no knee or ankle angle:
filmed at an angle, an estimator can be half sure of a far knee it draws close to the near one while
it guesses the far ankle, and the shank between them is a guess. A side whose knee bends backwards
past ``MAX_KNEE_HYPEREXTENSION_DEG`` in ``IMPOSSIBLE_SHARE`` of the frames is mis-tracked (a knee
hyperextends 5-10 deg at most, ``plausibility``): it gives no leg angles either, rather than a knee
bent the wrong way (randomised seed 61 RZ0113: the right ankle drawn 0.25 m ahead of the left for a
whole swing set, -47 deg; seed 88 RZ0008: a single-leg RDL's stance knee taking the pulled-in free
leg's landmarks between reps).

Hinge signal (what reps and their bottoms are found on, ``hinge_from_trunk``): hip flexion, or,
when the thighs barely move, hip flexion as the trunk's tilt predicts it plus the thighs' movement
beyond the landmarks' noise. A 2D picture filmed end on (from the front or back) shows little of
either: a standing lift's reps are then cut on the trunk's lean read from its height in the picture
(`trunk_lean_from_height`), a lying lift's on the hips' drop (`hips_drop_deg`).

Hip travel = horizontal distance of the hip centre behind the ankle centre divided by leg length
(thigh + shank, median over the recording).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from hinge_analytics.kinematics.filters import DEFAULT_CUTOFF_HZ, clean
from hinge_analytics.kinematics.plausibility import (
    IMPOSSIBLE_SHARE,
    MAX_KNEE_HYPEREXTENSION_DEG,
    check_shin_lengths,
    share_over,
)
from hinge_analytics.numeric import nanmean_stack, nanmedian, true_runs
from hinge_analytics.schema import ANGLES, EXERCISES, LANDMARKS, LYING_EXERCISES, conform, landmark_columns

MIN_CONFIDENCE = 0.3
HIDDEN_SIDE_CONFIDENCE = 0.5  # median confidence at or below which a knee or an ankle is hidden
SWAP_MARGIN = 0.6  # swap only when the swapped labels fit the track this much better
ASPECT_RANGE = (0.3, 3.0)  # y-scale factors searched for normalised image coordinates
ASPECT_TOLERANCE = 0.03  # an estimate this close to 1 is taken as square pixels
THIGH_FOLLOWS = 0.7  # thigh-on-trunk slope under which the trunk carries the hinge
NOISE_MULTIPLE = 3.0  # residual thigh movement beyond this many robust SDs is kept as movement
# A pair's midpoint is carried across one side's dropout up to this long (`_mid`); over a longer
# stretch of a rep the pair's offset in the picture is no longer known.
MAX_ONE_SIDED_S = 1.0
_PAIRED = sorted({lm.rsplit("_", 1)[0] for lm in LANDMARKS if lm.endswith(("_left", "_right"))})


def raw_positions(
    frames: pl.DataFrame, planar: bool = False, landmarks: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """(n, 3) positions per landmark with low-confidence samples as NaN; z = 0 when ``planar``.

    ``landmarks`` limits the result to those (default: every canonical landmark in ``frames``).
    """
    wanted = set(LANDMARKS if landmarks is None else landmarks)
    columns = set(frames.columns)
    present = [
        lm
        for lm in LANDMARKS
        if lm in wanted
        and landmark_columns(lm)[0] in columns
        and frames[landmark_columns(lm)[0]].null_count() != frames.height
    ]
    if not present:
        return {}
    exprs = []
    for lm in present:
        x, y, z, c = landmark_columns(lm)
        exprs += [pl.col(col).cast(pl.Float64) if col in columns else pl.lit(0.0) for col in (x, y, z)]
        exprs.append(pl.col(c).cast(pl.Float64).fill_null(0.0) if c in columns else pl.lit(1.0))
    values = frames.select([e.alias(str(k)) for k, e in enumerate(exprs)]).to_numpy()
    out = {}
    for j, lm in enumerate(present):
        p = values[:, 4 * j : 4 * j + 3].copy()
        if planar:
            p[:, 2] = 0.0
        p[values[:, 4 * j + 3] < MIN_CONFIDENCE] = np.nan
        out[lm] = p
    return out


def correct_swaps(p: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    """Undo frame-wise left/right label swaps of paired landmarks by trajectory continuity.

    For each pair (e.g. knee_left/knee_right) and frame, both labellings are compared with a
    constant-velocity prediction from the corrected previous frames; the labels are exchanged when
    the swapped assignment is clearly closer (``SWAP_MARGIN``) and the difference exceeds both the
    landmark's own frame-to-frame noise and the pair's separation in that frame. A swap can gain at
    most twice the separation (triangle inequality), so pairs that nearly overlap (both knees in a
    2D side view) are not flipped back and forth by jitter, and there a swap would change little:
    on simulated image-coordinate recordings without any swap, the separation term halved the
    samples wrongly exchanged (1,479 -> 794) and left every angle error the same or lower.
    Returns corrected copies and the number of swapped samples.

    The rule is sequential (a swap changes the history later frames are predicted from) but is
    evaluated without a loop over frames: a window of frames is decided at once (vectorised) under
    the hypothesis that every frame keeps the state of the last decided one (labels as read, or
    exchanged); the first frame whose decision contradicts the hypothesis is where it flips, and
    the frames before it are final. The result is identical to the frame-by-frame rule, and the
    cost is a few vectorised passes per change of state rather than one per frame.
    """
    out = dict(p)
    swapped = 0
    for name in _PAIRED:
        left, right = p.get(f"{name}_left"), p.get(f"{name}_right")
        if left is None or right is None:
            continue
        L, R, n_swapped = _correct_pair(left, right)
        swapped += n_swapped
        out[f"{name}_left"], out[f"{name}_right"] = L, R
    return out, swapped


_SWAP_WINDOW = 32  # frames decided per vectorised pass right after a change of state


def _correct_pair(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    # The pair's own frame-to-frame noise, from both landmarks: taken from one label alone, a clip
    # and its mirrored copy (labels exchanged) would be corrected differently.
    steps = np.linalg.norm(np.diff(np.stack([left, right], axis=1), axis=0), axis=2)
    noise = 3.0 * float(np.nanmedian(steps)) if np.isfinite(steps).any() else 0.0
    n = len(left)
    L, R = left.copy(), right.copy()  # final for frames < start; as read from start on
    exchanged = False  # the hypothesis for frames >= start: labels exchanged or as read
    n_swapped = 0
    start, width = 1, n  # frame 0 has no history and is never exchanged; most pairs need one pass
    while start < n:
        stop = min(n, start + width)
        if exchanged:
            L[start:stop], R[start:stop] = right[start:stop], left[start:stop]
        flags = _swap_flags(L, R, left, right, noise, start, stop)
        contradicts = np.flatnonzero(flags != exchanged)
        if not len(contradicts):  # the whole window is decided as hypothesised
            n_swapped += (stop - start) if exchanged else 0
            start, width = stop, 4 * width
            continue
        j = start + int(contradicts[0])
        n_swapped += (j - start) if exchanged else 1  # frames start..j-1, or frame j
        if exchanged:  # frame j keeps its labels: undo the hypothesis on the rest of the window
            L[j:stop], R[j:stop] = left[j:stop], right[j:stop]
        else:  # frame j is exchanged; the next window assumes the frames after it are too
            L[j], R[j] = right[j], left[j]
        exchanged = not exchanged
        start, width = j + 1, _SWAP_WINDOW
    return L, R, n_swapped


def _prediction(v: np.ndarray, ok: np.ndarray, lo: int, start: int, stop: int) -> np.ndarray:
    """Constant-velocity prediction of frames ``start..stop-1`` from the two latest all-finite
    frames before each (the latest alone when only one exists; NaN when none). ``ok`` flags the
    all-finite frames of ``v[lo:stop]``, and ``v[lo:start]`` holds two of them unless ``lo`` is 0."""
    idx = np.arange(lo, stop)
    last = np.maximum.accumulate(np.where(ok, idx, -1))  # latest finite frame <= i
    prev1 = np.concatenate([[-1], last[:-1]])  # latest finite frame < i
    prev2 = np.where(prev1 > lo, last[np.maximum(prev1 - 1 - lo, 0)], -1)  # the one before it
    k = start - lo
    prev1, prev2 = prev1[k:], prev2[k:]
    pred = np.full((stop - start, 3), np.nan)
    one = prev1 >= 0
    pred[one] = v[prev1[one]]
    two = prev2 >= 0
    pred[two] = 2 * v[prev1[two]] - v[prev2[two]]
    return pred


def _norm_rows(d: np.ndarray) -> np.ndarray:
    return np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])


def _swap_flags(
    L: np.ndarray, R: np.ndarray, left: np.ndarray, right: np.ndarray, noise: float, start: int, stop: int
) -> np.ndarray:
    """For frames ``start..stop-1``: would the frame-by-frame rule exchange the labels as read
    (``left``/``right``), given the history ``L``/``R`` of the frames before each?"""
    lo = max(0, start - 2 * _SWAP_WINDOW)  # enough history unless a long stretch is missing
    ok_l, ok_r = (np.all(np.isfinite(v[lo:stop]), axis=1) for v in (L, R))
    if lo > 0 and min(np.count_nonzero(ok_l[: start - lo]), np.count_nonzero(ok_r[: start - lo])) < 2:
        lo = 0
        ok_l, ok_r = (np.all(np.isfinite(v[:stop]), axis=1) for v in (L, R))
    pl_, pr = _prediction(L, ok_l, lo, start, stop), _prediction(R, ok_r, lo, start, stop)
    li, ri = left[start:stop], right[start:stop]
    keep = _norm_rows(li - pl_) + _norm_rows(ri - pr)
    swap = _norm_rows(li - pr) + _norm_rows(ri - pl_)
    apart = _norm_rows(li - ri)
    with np.errstate(invalid="ignore"):
        clearer = (swap < SWAP_MARGIN * keep) & (keep - swap > np.maximum(noise, apart))
        return np.isfinite(keep) & np.isfinite(swap) & clearer


_RIGID = (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("hip", "shoulder"))
ASPECT_LANDMARKS = frozenset(f"{j}_{s}" for pair in _RIGID for j in pair for s in ("left", "right"))
# The landmarks pose_analysis reads after cleaning (elbows are not used, wrists only to level a
# deadlift's picture; the nose stands in for the ears in marker sets with neither ears nor a head
# marker, which `ingest.markers` puts in the ears' place).
ANGLE_LANDMARKS = frozenset(
    {"nose"}
    | {
        f"{j}_{s}"
        for j in ("ear", "shoulder", "hip", "knee", "ankle", "heel", "toe")
        for s in ("left", "right")
    }
)
BAR_LANDMARKS = frozenset({"wrist_left", "wrist_right"})
# Lifts whose bar travels plumb: a deadlift's bar stays over the midfoot, the lifter's balance
# point, drifting a few cm over ~0.5 m of travel (Rippetoe, Starting Strength, 3rd ed., 2011, ch. 4).
# An RDL's or good morning's bar swings with the trunk and a swing's bell on an arc: no reference.
PLUMB_BAR_EXERCISES = frozenset({"deadlift"})
MIN_BAR_PATH_ELONGATION = 3.0  # the wrists' travel along their path over across it
MAX_ROLL_DEG = 45.0  # a tripod or a hand-held phone; a sideways picture is a rotation flag ignored
# Lifts that stand tall on both feet at every lockout. Others are left to the plausibility check:
# a hip thrust (or a coach's own glute bridge) lies, and a single-leg RDL's free leg and trunk make
# one level line at the bottom, longer than the body standing.
TWO_FOOTED_STANDING_EXERCISES = frozenset(EXERCISES) - LYING_EXERCISES - {"single_leg_rdl"}
STANDING_HINGES = frozenset(EXERCISES) - LYING_EXERCISES
# Shoulder width over trunk length, standing, in a 2D picture above which the camera faces the
# athlete (after the aspect correction, which squashes a face-on picture's height). Randomised dev
# batches (seeds 0, 7, 31, 41, 43, 47, 48, 61; 547 2D sets): side views 0.02-0.43, up to 35 deg off
# the side 0.05-0.84; a front-view prototype (seed 101), 60-90 deg off: over 0.95 in 37 of 38.
FRONT_VIEW_SHOULDER_WIDTH = 0.95
# Above this the camera stands about 25 deg or more off the side. The shoulders' width in the
# picture is about 0.75 trunk lengths x sin(angle off the side). Randomised dev seeds 61, 73, 75,
# 76 (238 2D sets): none of 118 within 10 deg of the side is over it, 53 of 79 beyond 20 deg are;
# on seeds 61, 73 and 75 those read peak hip flexion 5.6 deg off, the others 2.6. Real videos: 0.11
# side on, 0.58-0.78 at 41-60 deg (docs/validation-2026-12-05.md, "Pictures filmed at an angle").
OBLIQUE_VIEW_SHOULDER_WIDTH = 0.40
UPRIGHT_TRUNK_SHARE = 0.95  # of the trunk's longest picture length: the athlete standing
# Beyond the landmarks' noise: a hinge seen 80 deg off the side still moves the shoulders 0.2
# trunk lengths across the picture.
MIN_BACKWARD_LEAN_TRUNK_LENGTHS = 0.1
# A 2D picture whose hinge signal spans less than this share of the trunk's lean its height shows
# is taken end on (`trunk_lean_from_height`): 70 deg of lean seen 60 deg off the side tilts 54 deg
# across the picture, 80 deg off 25 deg.
SHOWN_LEAN_SHARE = 0.5
# ... and only where the trunk leans this far in its deepest frames (95th percentile): near upright
# the cosine is flat, and an athlete standing still under 1-2 cm of landmark noise reads 10-27 deg
# of "lean" (simulated rest recordings, seeds 0-5), which cut reps out of nothing.
MIN_END_ON_LEAN_DEG = 35.0


def estimate_aspect(p: dict[str, np.ndarray]) -> float:
    """Scale for y that makes body segments keep their length (normalised image coordinates).

    Normalised image landmarks are x / width and y / height; with the image size unknown, lengths
    are distorted by an unknown factor on y. A hinge rotates the trunk and thighs through large
    angles, so the factor a minimising the summed variance of log segment length
    sqrt(dx^2 + (a dy)^2) over the recording is well determined. Returns 1.0 when the data cannot
    tell or the estimate is within ``ASPECT_TOLERANCE`` of 1.
    """
    vectors = []
    for a, b in _RIGID:
        for side in ("left", "right"):
            pa, pb = p.get(f"{a}_{side}"), p.get(f"{b}_{side}")
            if pa is not None and pb is not None:
                d = (pb - pa)[:, :2]
                d = d[np.all(np.isfinite(d), axis=1)]
                if len(d) > 20:
                    vectors.append(d)
    if len(vectors) < 2:
        return 1.0
    grid = np.exp(np.linspace(np.log(ASPECT_RANGE[0]), np.log(ASPECT_RANGE[1]), 241))

    def cost(a: np.ndarray, step: int = 1) -> np.ndarray:
        """Summed variance for every candidate in ``a`` at once (every ``step``-th sample)."""
        total = np.zeros(len(a))
        for d in vectors:
            d = d[::step]
            total = total + np.var(np.log(np.hypot(d[:, 0], a[:, None] * d[:, 1]) + 1e-12), axis=1)
        return total

    # The cost is smooth and unimodal in a: a cheap look on every 8th sample and grid point gives
    # a start, and a local search on the full data finds the grid minimum from there.
    rough = cost(grid[::8], step=8)
    costs = _local_min(cost, grid, 8 * int(np.argmin(rough)))
    k = min(costs, key=lambda i: (costs[i], i))
    fine = np.linspace(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)], 41)
    fine_costs = _local_min(cost, fine, 20)
    best = float(fine[min(fine_costs, key=lambda i: (fine_costs[i], i))])
    ends = cost(grid[[0, -1]])  # a unimodal cost is largest at an end of the grid
    largest = max(float(ends.max()), max(costs.values()))
    # Flat cost (segments that hardly rotate): the aspect is not identifiable.
    if largest < 1.5 * costs[k] or abs(best - 1.0) < ASPECT_TOLERANCE:
        return 1.0
    return best


def landmark_positions(
    frames: pl.DataFrame,
    sample_rate_hz: float,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
    planar: bool = False,
    estimate_image_aspect: bool = False,
    landmarks: Iterable[str] | None = None,
) -> dict[str, np.ndarray]:
    """Cleaned (n, 3) positions per landmark (module docstring chain). ``planar`` ignores z.

    ``landmarks`` limits the result to those (default: every canonical landmark in ``frames``);
    landmarks and pairs are processed independently, so a subset is the same as the full result.
    """
    keep = set(LANDMARKS if landmarks is None else landmarks)
    needed = keep | (ASPECT_LANDMARKS if estimate_image_aspect else set())
    p, _ = correct_swaps(raw_positions(frames, planar, needed))
    if estimate_image_aspect:
        aspect = estimate_aspect(p)
        for v in p.values():
            v[:, 1] *= aspect
    p = {lm: v for lm, v in p.items() if lm in keep}
    if not p:
        return {}
    # Every landmark axis cleaned in one vectorised call; planar z stays 0 (cleaning 0 gives 0).
    names = list(p)
    axes = 2 if planar else 3
    stacked = np.concatenate([p[lm][:, :axes] for lm in names], axis=1)
    cleaned = clean(stacked, sample_rate_hz, cutoff_hz)
    out = {}
    for j, lm in enumerate(names):
        v = np.zeros((len(stacked), 3))
        v[:, :axes] = cleaned[:, j * axes : (j + 1) * axes]
        out[lm] = v
    return out


def _local_min(cost, candidates: np.ndarray, start: int, width: int = 4) -> dict[int, float]:
    """Costs of candidates around ``start``, widened until the smallest is not at the window's edge
    (or at an end of ``candidates``): the minimum of a unimodal cost without evaluating them all."""
    n = len(candidates)
    lo, hi = max(0, start - width), min(n, start + width + 1)
    known: dict[int, float] = {}
    while True:
        todo = [i for i in range(lo, hi) if i not in known]
        if todo:
            known.update(zip(todo, cost(candidates[todo]).tolist(), strict=True))
        k = min(range(lo, hi), key=lambda i: (known[i], i))
        if k == lo and lo > 0:
            lo = max(0, lo - 2 * width)
        elif k == hi - 1 and hi < n:
            hi = min(n, hi + 2 * width)
        else:
            return known


def _mid(p: dict[str, np.ndarray], name: str, max_one_sided: int = 0) -> np.ndarray | None:
    """Midpoint of the ``name`` pair. Where one side drops out for at most ``max_one_sided``
    frames between frames that see both, it is the seen side plus half the pair's offset,
    interpolated across the dropout: filmed at an angle the two sides lie apart in the picture
    (shoulders 0.2 m at 34 deg), and the seen side alone moved the trunk 20 deg for the 0.4 s a
    shoulder dropped out (randomised seed 0, an OpenPose RDL that counted a rep more)."""
    left, right = p.get(f"{name}_left"), p.get(f"{name}_right")
    if left is None or right is None:
        return left if right is None else right
    mid = nanmean_stack([left, right])
    seen_left, seen_right = np.isfinite(left).all(axis=1), np.isfinite(right).all(axis=1)
    both = seen_left & seen_right
    offset = right - left
    for run in true_runs(seen_left ^ seen_right):
        before, after = run.start - 1, run.stop
        if run.stop - run.start > max_one_sided or before < 0 or after == len(mid):
            continue
        if not (both[before] and both[after]):
            continue
        share = (np.arange(run.start, run.stop) - before) / (after - before)
        half = (offset[before] * (1 - share)[:, None] + offset[after] * share[:, None]) / 2
        mid[run] = np.where(seen_left[run][:, None], left[run] + half, right[run] - half)
    return mid


def forward_direction(
    p: dict[str, np.ndarray],
    sides: tuple[str, ...] = ("left", "right"),
    lying: bool = False,
    hinging: bool = False,
) -> np.ndarray:
    """Unit horizontal (x, 0, z) vector the athlete faces: median heel -> toe direction of the feet
    on ``sides`` (a single-leg RDL's free foot points down and back, so only the stance foot counts).

    A standing hinge (``hinging``) leans the trunk forward at its bottoms and back at most slightly
    at lockout, so feet that point against the trunk's largest leans (`_leans_back`) point the
    wrong way (a coach's other lifts are left alone: an overhead press leans back). Seen
    from the front or back, a 2D picture shows the feet end on, and their turn-out and the
    estimator's guess give either sign (real RDL landmarks turned 60-80 deg off the side read the
    trunk leaning back 55 deg, and counted 0-2 of 3 reps).

    Without feet (COCO-17), the direction of the largest horizontal excursions of a segment that
    only ever leans one way: the trunk (hip -> shoulder), which leans far forward at the bottom of
    every standing hinge and at most slightly back at lockout; in a hip thrust (``lying``) the
    thighs (hip -> knee), which point forward throughout. A median would not do: standing, both
    vectors are nearly vertical and their horizontal part is noise.
    """
    # A foot or knee the estimator never saw with confidence has no samples left: a hidden stance
    # foot is no evidence, and the next cue decides (randomised seed 808 RZ0088: a single-leg RDL
    # whose far, stance foot was dropped read the default +x, and its trunk leaning back).
    vectors = _seen([p[f"toe_{s}"] - p[f"heel_{s}"] for s in sides if f"toe_{s}" in p and f"heel_{s}" in p])
    knees = _seen([p[f"knee_{s}"] - p[f"hip_{s}"] for s in sides if f"knee_{s}" in p and f"hip_{s}" in p])
    hip, sho = _mid(p, "hip"), _mid(p, "shoulder")
    trunk = _seen([sho - hip] if hip is not None and sho is not None else [])
    if vectors:
        v = nanmedian(np.concatenate(vectors))
        v = np.array([v[0], 0.0, v[2]])
    else:
        order = (knees, trunk) if lying else (trunk, knees)
        v = next((_largest_excursion(np.concatenate(c)) for c in order if c), np.ones(3))
    norm = np.linalg.norm(v)
    v = v / norm if norm > 0 else np.array([1.0, 0.0, 0.0])
    return -v if vectors and trunk and hinging and _leans_back(trunk[0], v) else v


def _seen(tracks: list[np.ndarray], at_least: int = 3) -> list[np.ndarray]:
    """The (n, 3) tracks with at least ``at_least`` complete samples."""
    return [v for v in tracks if np.isfinite(v).all(axis=1).sum() >= at_least]


def _leans_back(trunk: np.ndarray, forward: np.ndarray, share: float = 0.2) -> bool:
    """Whether the ``share`` of the trunk's (hip -> shoulder) largest excursions from standing
    along ``forward`` lean back, on average by more than ``MIN_BACKWARD_LEAN_TRUNK_LENGTHS``: a
    standing lift's largest are its bottoms, forward."""
    t = trunk[np.all(np.isfinite(trunk), axis=1)]
    if len(t) < 3:
        return False
    along = t @ forward
    # Upright is where the shoulders stand highest over the hips; seen from the side the trunk
    # keeps its length in the picture as it leans, so its length would not tell.
    lean = along - float(np.median(along[_standing(t[:, 1])]))
    large = lean[np.abs(lean) >= np.quantile(np.abs(lean), 1 - share)]
    length = float(np.percentile(np.linalg.norm(t, axis=1), 95))
    return bool(large.mean() < -MIN_BACKWARD_LEAN_TRUNK_LENGTHS * length)


def _largest_excursion(v: np.ndarray, share: float = 0.2) -> np.ndarray:
    """Horizontal (x, 0, z) axis of ``v``'s horizontal parts, pointing the way of its largest
    ``share`` of excursions along it."""
    h = v[np.all(np.isfinite(v), axis=1)][:, [0, 2]]
    if len(h) < 3:
        return np.ones(3)
    axis = np.linalg.svd(h, full_matrices=False)[2][0]
    along = h @ axis
    large = along[np.abs(along) >= np.quantile(np.abs(along), 1 - share)]
    axis = axis * (np.sign(large.sum()) or 1.0)
    return np.array([axis[0], 0.0, axis[1]])


def camera_roll_deg(p: dict[str, np.ndarray]) -> float | None:
    """How far (deg) the picture's vertical is turned from the plumb line of the bar path: the
    principal direction of the wrists' 2D track, where it is a line (``MIN_BAR_PATH_ELONGATION``)
    within ``MAX_ROLL_DEG`` of the picture's vertical; None otherwise. Positive: the path leans
    towards +x going up."""
    wrists = [p[w][:, :2] for w in sorted(BAR_LANDMARKS) if w in p]
    if not wrists:
        return None
    track = nanmean_stack(wrists)
    track = track[np.isfinite(track).all(axis=1)]
    if len(track) < 10:
        return None
    _, spread, axes = np.linalg.svd(track - track.mean(axis=0), full_matrices=False)
    if spread[1] <= 0 or spread[0] / spread[1] < MIN_BAR_PATH_ELONGATION:
        return None
    along = axes[0] if axes[0][1] >= 0 else -axes[0]
    roll = float(np.degrees(np.arctan2(along[0], along[1])))
    return roll if abs(roll) <= MAX_ROLL_DEG else None


def _standing(length: np.ndarray) -> np.ndarray:
    """Frames where a body line's picture ``length`` (or its height) is at least
    ``UPRIGHT_TRUNK_SHARE`` of its longest (95th percentile): the athlete standing tall, the line
    seen at its full length."""
    with np.errstate(invalid="ignore"):
        return length >= UPRIGHT_TRUNK_SHARE * np.nanpercentile(length, 95)


def quarter_turn_deg(p: dict[str, np.ndarray], exercise: str | None) -> float:
    """The rotation (deg, as `levelled` takes it: 90 or -90) that stands a sideways 2D picture of a
    standing lift upright, or 0. A phone records upright video with a rotation flag; a tool that
    ignores the flag writes landmarks of a body lying on its side (SmartLift's
    deadlift_3_good_MOV: standing tall, its ankles -> shoulders line lies 90-98 deg off the
    picture's vertical). Standing tall, that line is plumb, and a standing lift stands tall at
    every lockout: its median direction over the frames where it is longest (`_standing`) tells
    the quarter turn. Upside-down bodies are left alone: a y axis read the wrong way looks the
    same, and the plausibility check names that cause."""
    ankle, shoulder = _mid(p, "ankle"), _mid(p, "shoulder")
    if exercise not in TWO_FOOTED_STANDING_EXERCISES or ankle is None or shoulder is None:
        return 0.0
    body = (shoulder - ankle)[:, :2]
    length = np.linalg.norm(body, axis=1)
    if np.isfinite(length).sum() < 10:
        return 0.0
    tall = _standing(length)
    direction = np.median(body[tall] / length[tall, None], axis=0)
    off_vertical = float(np.degrees(np.arctan2(direction[0], direction[1])))
    return float(np.sign(off_vertical) * 90.0) if 45.0 < abs(off_vertical) < 135.0 else 0.0


def levelled(p: dict[str, np.ndarray], roll_deg: float) -> dict[str, np.ndarray]:
    """Every landmark turned in the picture's plane by ``roll_deg``: a direction that far off the
    picture's vertical towards +x becomes vertical (the bar path of `camera_roll_deg`, the body of
    `quarter_turn_deg`)."""
    c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    out = {}
    for name, v in p.items():
        v = v.copy()
        v[:, 0], v[:, 1] = c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]
        out[name] = v
    return out


def view_note(ratio: float | None) -> str | None:
    """A sentence for the coach when a 2D picture is not a side view: standing (the frames where
    the trunk is longest in the picture), the shoulders lie apart by about their width times the
    sine of the camera's angle off the side; side on they overlap.

    - More than ``FRONT_VIEW_SHOULDER_WIDTH`` trunk lengths apart: filmed from the front or back.
      Seen face on, a hinge turns the trunk towards the camera, where it shortens without turning,
      so the picture hardly shows the angles the product measures (docs/validation-2026-12-04.md:
      2D sets filmed 60-90 deg off the side were counted exactly in 27 of 38, with hip angles
      11-25 deg off).
    - More than ``OBLIQUE_VIEW_SHOULDER_WIDTH``: filmed at an angle. Reps count as from the side,
      but the sagittal angles are foreshortened and mixed with sideways movement (real videos
      41-60 deg off: peak hip flexion 6-23 deg from MediaPipe's 3D landmarks of the same frames).

    3D (world) landmarks see the hinge from anywhere; they get no note. ``ratio``: `shoulder_spread`
    of the recording."""
    if ratio is None:
        return None
    apart = f"the shoulders are {ratio:.2f} trunk lengths apart in the picture"
    if ratio > FRONT_VIEW_SHOULDER_WIDTH:
        return (
            f"Filmed from the front or back ({apart}): a 2D pose barely shows the hinge from there, "
            "so reps and angles may be wrong. Film from the side, or use an estimator's 3D (world) "
            "landmarks."
        )
    if ratio > OBLIQUE_VIEW_SHOULDER_WIDTH:
        return (
            f"Filmed at an angle to the side ({apart}; side on they nearly overlap): reps "
            "are counted as usual, but hip, knee and trunk angles from a 2D pose can be 5-20 deg "
            "off there. Film from the side, or use an estimator's 3D (world) landmarks."
        )
    return None


def shoulder_spread(p: dict[str, np.ndarray], coordinates: str) -> float | None:
    """The shoulders' distance apart over the trunk's length in a 2D picture, standing (`view_note`;
    None for 3D landmarks or without shoulders and hips). The view limits were measured after the
    aspect correction of normalised pictures, which face on squashes the picture's height: square
    pixels (``image_px``) read about 0.75 there, so their height is corrected the same way here,
    while the angles keep the pixels as they are."""
    if not coordinates.startswith("image"):
        return None
    if coordinates == "image_px":
        height = np.array([1.0, estimate_aspect(p), 1.0])
        p = {name: v * height for name, v in p.items()}
    left, right, hip = p.get("shoulder_left"), p.get("shoulder_right"), _mid(p, "hip")
    if left is None or right is None or hip is None:
        return None
    width = np.linalg.norm(left - right, axis=1)
    trunk = np.linalg.norm(0.5 * (left + right) - hip, axis=1)
    if not np.isfinite(trunk).any():
        return None
    upright = _standing(trunk)  # seen at an angle, the trunk shortens as it leans
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(nanmedian(width[upright] / trunk[upright]))


def tilt_deg(lower: np.ndarray, upper: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Forward tilt from vertical (deg) of lower->upper, in the sagittal plane."""
    d = upper - lower
    return np.degrees(np.arctan2(d @ forward, d[:, 1]))


def pose_analysis(
    frames: pl.DataFrame,
    sample_rate_hz: float,
    coordinates: str,
    cutoff_hz: float = DEFAULT_CUTOFF_HZ,
    stance_side: str | None = None,
    exercise: str | None = None,
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Angles per frame (schema.ANGLES without ids) from canonical pose frames, and what the coach
    should know about them (a sideways picture turned upright, `quarter_turn_deg`; `view_note`).

    ``coordinates`` is the reader's coordinate kind: ``world_m`` (3D metres), ``image`` (2D
    normalised, z ignored, aspect ratio estimated when it is not square) or ``image_px`` (2D
    pixels, square). ``stance_side`` (single-leg work): the hinge signal is the stance hip's.
    ``exercise``: a hip thrust lies on a bench, which tells where forward is without feet.
    Raises BadRecording when the shins change length as no body can (`check_shin_lengths`).
    """
    image = coordinates.startswith("image")
    level = image and exercise in PLUMB_BAR_EXERCISES
    p = landmark_positions(
        frames,
        sample_rate_hz,
        cutoff_hz,
        image,
        estimate_image_aspect=coordinates == "image",
        landmarks=ANGLE_LANDMARKS | BAR_LANDMARKS if level else ANGLE_LANDMARKS,
    )
    notes = []
    turn = quarter_turn_deg(p, exercise) if image else 0.0
    if turn:
        p = levelled(p, turn)
        notes.append(
            "The picture lies on its side (the video's rotation flag was probably ignored when the "
            "landmarks were made); it was turned upright for the analysis."
        )
    roll = camera_roll_deg(p) if level else None
    if roll is not None:  # a picture's vertical is only as plumb as the phone was held
        p = levelled(p, roll)
    stance = (stance_side,) if stance_side in ("left", "right") else ()
    forward = forward_direction(
        p, stance or ("left", "right"), lying=exercise in LYING_EXERCISES, hinging=exercise in STANDING_HINGES
    )
    one_sided = int(MAX_ONE_SIDED_S * sample_rate_hz)
    hip_c, sho_c, ear_c, ank_c = (_mid(p, k, one_sided) for k in ("hip", "shoulder", "ear", "ankle"))
    if ear_c is None:
        ear_c = p.get("nose")
    n = frames.height
    nan = np.full(n, np.nan)
    trunk = tilt_deg(hip_c, sho_c, forward) if hip_c is not None and sho_c is not None else nan
    out: dict[str, np.ndarray] = {"trunk_inclination_deg": trunk}
    leg_lengths, shins = [], []
    # A side is seen through its knee; one whose hip or knee has no position at all (a converter
    # that left the columns empty) gives no thigh, and the other side serves instead.
    placed = tuple(s for s in ("left", "right") if all(_placed(p, f"{j}_{s}") for j in ("hip", "knee")))
    seen_sides = tuple(s for s in visible_sides(frames) if s in placed) or placed or ("left", "right")
    shank_sides = tuple(s for s in visible_sides(frames, "ankle") if s in seen_sides) or seen_sides
    if stance and stance[0] not in shank_sides:
        # Single-leg work with the stance ankle hidden: the estimator draws the stance knee towards
        # the near leg, which here is the free leg swinging back, so the stance thigh is a guess
        # (randomised seed 88: stance hip 44-72 deg for 82-103).
        seen_sides = tuple(s for s in seen_sides if s != stance[0]) or seen_sides
    for side in ("left", "right"):
        hip, knee = (p.get(f"{j}_{side}") if side in seen_sides else None for j in ("hip", "knee"))
        ankle = p.get(f"ankle_{side}") if side in shank_sides else None
        thigh = tilt_deg(knee, hip, forward) if hip is not None and knee is not None else nan
        shank = tilt_deg(ankle, knee, forward) if knee is not None and ankle is not None else nan
        backwards = share_over(thigh - shank, MAX_KNEE_HYPEREXTENSION_DEG)  # knee = shank - thigh
        if backwards > IMPOSSIBLE_SHARE:
            hip = knee = ankle = None
            thigh = shank = nan
            notes.append(
                f"The {side} leg's landmarks bend its knee backwards in {backwards:.0%} of the frames, "
                "which no knee does: the estimator lost that leg (often to the other one), so its "
                "hip, knee and ankle angles are left out."
            )
        out[f"hip_flexion_{side}_deg"] = trunk - thigh
        out[f"knee_flexion_{side}_deg"] = shank - thigh
        out[f"ankle_dorsiflexion_{side}_deg"] = shank
        if knee is not None and ankle is not None:
            shins.append(np.linalg.norm(knee - ankle, axis=1))
        if hip is not None and knee is not None and ankle is not None:
            leg_lengths.append(np.linalg.norm(hip - knee, axis=1) + shins[-1])
    if ear_c is not None and sho_c is not None:
        out["upper_back_rounding_deg"] = tilt_deg(sho_c, ear_c, forward) - trunk
    if ear_c is not None and sho_c is not None and hip_c is not None:
        out["shoulder_protraction_trunk_lengths"] = _ahead_of_line(hip_c, ear_c, sho_c, forward)
    check_shin_lengths(shins)
    if leg_lengths and hip_c is not None and ank_c is not None:
        leg = float(nanmedian(np.concatenate(leg_lengths)))
        out["hip_travel_leg_lengths"] = ((ank_c - hip_c) @ forward) / leg
    hip = nanmean_stack([out[f"hip_flexion_{s}_deg"] for s in stance or ("left", "right")])
    if np.isfinite(hip).any():
        out["hinge_deg"] = hinge_from_trunk(hip, trunk)
    else:
        # No hip angle on the legs that count: the trunk leans as the hips flex (a single-leg
        # RDL's free hip hardly flexes, so its leg does not stand in for the stance leg).
        out["hinge_deg"] = trunk
        if stance:
            notes.append(
                f"The stance leg ({stance[0]}) is not tracked in this view (hidden behind the free "
                "leg, or lost by the estimator): its hip and knee angles are not given, and reps are "
                "counted on the trunk's lean. Film from the stance leg's side to measure them."
            )
        else:
            notes.append(
                "Neither leg is tracked well enough for hip angles, so reps are counted on the trunk's lean."
            )
    if image and exercise not in LYING_EXERCISES and hip_c is not None and sho_c is not None:
        lean = trunk_lean_from_height(hip_c, sho_c)
        deep = np.isfinite(lean).any() and np.nanpercentile(lean, 95) >= MIN_END_ON_LEAN_DEG
        if deep and _spread(out["hinge_deg"]) < SHOWN_LEAN_SHARE * _spread(lean):
            out["hinge_deg"] = lean
            notes.append(
                "The trunk's lean hardly shows across the picture from this camera, so reps are "
                "counted on how far the trunk shortens in the picture as it leans."
            )
    spread = shoulder_spread(p, coordinates)
    if exercise in LYING_EXERCISES and spread is not None and spread > FRONT_VIEW_SHOULDER_WIDTH:
        # Filmed from the feet or the head, a lying lift's trunk and thighs point along the lens:
        # their picture turns through 150 deg or more as the hips pass the shoulders' height, no
        # angle of the body's (randomised end-on hip thrusts: "hip flexion" of 160-330 deg, which
        # the plausibility check read as a y axis pointing up). The hips' drop below the
        # shoulders and knees is the same from there: reps are cut on it, no angle is given.
        out = {k: np.full(n, np.nan) for k in out} | {"hinge_deg": hips_drop_deg(p)}
        notes.append(
            "Filmed from the feet or the head, a 2D picture of this lying lift shows no body angle "
            "to measure: reps are counted, angles are not given. Film from the side."
        )
    conf_cols = [landmark_columns(f"{j}_{s}")[3] for j in ("hip", "knee", "shoulder") for s in seen_sides]
    present = [c for c in conf_cols if c in frames.columns]
    confidence = (
        frames.select(pl.min_horizontal([pl.col(c).fill_null(0.0) for c in present])).to_series()
        if present
        else pl.Series(np.zeros(n))
    )
    table = pl.DataFrame({"frame": frames["frame"], "t_s": frames["t_s"], **out}).fill_nan(None)
    angles = conform(
        table.with_columns(confidence=confidence),
        {k: v for k, v in ANGLES.items() if k not in ("recording_id", "ingest_id")},
    )
    note = view_note(spread)
    return angles, (*notes, note) if note else tuple(notes)


def hips_drop_deg(p: dict[str, np.ndarray]) -> np.ndarray:
    """How far a lying lift's hips hang below the line from the shoulders to the knees, as the
    angle (deg) that drop makes over a shin's length: the heights are a level camera's from any
    direction, and a hip thrust's shins stand near plumb, so their picture keeps their length
    (its 95th percentile). A rep signal for a lying lift filmed end on, not an angle to report."""
    hip, shoulder, knee, ankle = (_mid(p, k) for k in ("hip", "shoulder", "knee", "ankle"))
    if hip is None or shoulder is None or knee is None or ankle is None:
        return np.full(len(next(iter(p.values()))), np.nan)
    shin = np.nanpercentile(np.linalg.norm((knee - ankle)[:, :2], axis=1), 95)
    drop = 0.5 * (shoulder[:, 1] + knee[:, 1]) - hip[:, 1]
    return np.degrees(np.arcsin(np.clip(drop / shin, -1.0, 1.0)))


def trunk_lean_from_height(hip: np.ndarray, shoulder: np.ndarray) -> np.ndarray:
    """The trunk's lean from vertical (deg, unsigned) read from its height in a 2D picture: the
    arccos of the hip -> shoulder vertical extent over its standing length (its longest, 95th
    percentile). A level camera sees an upright trunk at full length from any direction and a
    leaning one shortened by cos(lean) whichever way it leans, where a picture's tilt shows only
    the part of the lean across the picture (orthographic projection; Hartley & Zisserman,
    Multiple View Geometry, 2nd ed., 2004, sec. 6.3). Near upright the cosine is flat, so the
    landmarks' noise reads as 10 deg of lean or more (`MIN_END_ON_LEAN_DEG`): a rep signal, not an
    angle to report."""
    d = (shoulder - hip)[:, :2]
    standing = np.nanpercentile(np.linalg.norm(d, axis=1), 95)
    return np.degrees(np.arccos(np.clip(d[:, 1] / standing, -1.0, 1.0)))


def _spread(v: np.ndarray) -> float:
    """5th to 95th percentile range of the finite values of ``v`` (0 when there are none)."""
    v = v[np.isfinite(v)]
    return float(np.subtract(*np.percentile(v, [95, 5]))) if len(v) else 0.0


def hinge_from_trunk(hip_deg: np.ndarray, trunk_deg: np.ndarray) -> np.ndarray:
    """The hinge signal reps are cut on: hip flexion, or hip flexion as the trunk's tilt predicts it
    when the thighs barely move.

    Hip flexion (trunk tilt - thigh tilt) takes the hip landmark's error twice: moving the hip
    forward tilts the trunk back and the thigh forward, by 1/trunk and 1/thigh length. With the
    knee's error on top it is about twice as noisy as the trunk's tilt alone, and an estimator's
    slow drift then lifts extra peaks out of partial reps and holds. In a good morning, a Romanian
    or a single-leg deadlift the thighs stay near vertical, so the thigh term adds that noise and
    little movement. The thigh's tilt is regressed on the trunk's over the set; under
    ``THIGH_FOLLOWS`` the fitted line (hip flexion = (1 - slope) trunk + offset) is the signal,
    plus whatever part of hip flexion's residual from it lies beyond ``NOISE_MULTIPLE`` robust SDs
    (MAD x 1.4826) of that residual: soft thresholding, as in wavelet shrinkage (Donoho & Johnstone,
    Biometrika 1994). Noise stays out; a rep whose knees fold on their own (a `squatting` rep in a
    good-morning set) keeps its depth instead of falling under the set's rep floor.
    Median slopes on randomised sets: good morning -0.14, Romanian deadlift -0.26, swing -0.37;
    where the thighs turn with the trunk (deadlift from the floor -1.36, hip thrust -1.22) hip
    flexion is kept. Joint angles are not changed, only the signal reps and bottoms are found on.
    Where the trunk carries the hinge, a frame whose hip angle is missing (knee not found) but whose
    trunk is seen takes the fitted value: the signal is the trunk's there.
    """
    thigh = trunk_deg - hip_deg
    both = np.isfinite(thigh) & np.isfinite(trunk_deg)
    if both.sum() < 3:
        return hip_deg
    trunk_centred = trunk_deg[both] - trunk_deg[both].mean()
    trunk_spread = float(trunk_centred @ trunk_centred)
    if trunk_spread <= 0:
        return hip_deg
    slope = float(trunk_centred @ (thigh[both] - thigh[both].mean())) / trunk_spread
    if abs(slope) >= THIGH_FOLLOWS:
        return hip_deg
    offset = float(np.mean(hip_deg[both] - (1 - slope) * trunk_deg[both]))
    fitted = (1 - slope) * trunk_deg + offset
    residual = hip_deg - fitted
    deviation = np.abs(residual[both] - np.median(residual[both]))
    noise = NOISE_MULTIPLE * 1.4826 * float(np.median(deviation))
    kept = np.sign(residual) * np.maximum(np.abs(residual) - noise, 0.0)
    return np.where(np.isfinite(trunk_deg), fitted + np.nan_to_num(kept), hip_deg)


def _placed(p: dict[str, np.ndarray], name: str) -> bool:
    """Whether landmark ``name`` has a position in at least one frame."""
    return name in p and bool(np.isfinite(p[name]).all(axis=-1).any())


def visible_sides(frames: pl.DataFrame, joint: str = "knee") -> tuple[str, ...]:
    """The sides whose ``joint`` the camera sees (module docstring, "Hidden side"); both when neither is."""
    median = {}
    for side in ("left", "right"):
        conf = landmark_columns(f"{joint}_{side}")[3]
        if conf in frames.columns and frames[conf].null_count() < frames.height:
            median[side] = float(frames[conf].cast(pl.Float64).fill_null(0.0).median())
    seen = tuple(s for s, c in median.items() if c > HIDDEN_SIDE_CONFIDENCE)
    return seen or ("left", "right")


def _ahead_of_line(a: np.ndarray, b: np.ndarray, q: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Signed sagittal distance of q in front of the line a->b, in units of |a->b| (trunk lengths)."""
    up = np.array([0.0, 1.0, 0.0])

    def sagittal(v: np.ndarray) -> np.ndarray:
        return np.column_stack([v @ forward, v @ up])

    d, r = sagittal(b - a), sagittal(q - a)
    length = np.linalg.norm(d, axis=1)
    # Cross product sign: positive when q lies on the forward side of the upward line a->b.
    cross = d[:, 1] * r[:, 0] - d[:, 0] * r[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return cross / length**2
