"""Pick the athlete among the people a 2-D pose estimator found in each frame.

Real outputs hold more than one person per frame (the Pose2Sim demo has a low-confidence ghost at
the image edge in every frame; COCO files hold several people per image), and ``people[0]`` is not
the athlete. Each person is followed frame to frame by position (track continuity), preferring
confident detections, from the most confident detection of the recording and from each person in
the most crowded frame; the athlete is the well-seen track whose posture changes most (a coach or
a spotter stands by).
"""

from __future__ import annotations

import numpy as np

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.numeric import nanmedian, nanpercentile

MIN_KEYPOINTS = 3  # a detection with fewer confident keypoints is ignored
# Confidence traded per body size of jump between frames: a lifter's keypoints move a few
# hundredths of a body size per frame, so a nearer detection wins over a more confident one
# unless they nearly coincide (a partial and a full detection of the same body).
JUMP_PENALTY = 2.0
# A detection further than this (body sizes) from where the person was is someone else: people
# stand at least a shoulder apart.
MAX_JUMP = 0.5
MAX_PEOPLE = 6  # people followed from the most crowded frame to find the athlete among them
SURE_SHARE = 0.3  # of the best track's confidence x coverage: a track this well seen is a person
POSTURE_SMOOTHING = 5  # detections: a rolling median of the posture before its range is read


def _summaries(people: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For (D, K, 3) x/y/confidence detections: usable mask (>= MIN_KEYPOINTS seen), mean confidence,
    centroid (D, 2) and size (bounding-box diagonal) of the seen keypoints, all at once."""
    seen = people[:, :, 2] > 0
    count = seen.sum(axis=1)
    xy = people[:, :, :2]
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(seen[:, :, None], xy, 0.0).sum(axis=1) / count[:, None]
    high = np.where(seen[:, :, None], xy, -np.inf).max(axis=1)
    low = np.where(seen[:, :, None], xy, np.inf).min(axis=1)
    with np.errstate(invalid="ignore"):
        size = np.maximum(np.linalg.norm(high - low, axis=1), 1e-6)
    return count >= MIN_KEYPOINTS, people[:, :, 2].mean(axis=1), centre, size


def track_athlete(frames: list[list[np.ndarray]], n_keypoints: int) -> np.ndarray:
    """``frames[i]`` = the (K, 3) detections of frame i -> (n, K, 3), NaN where nobody fits.

    Confidence 0 marks a keypoint that was not detected; its x, y become NaN. Detections are
    summarised in one array pass; only the choice among several people follows the track in time.
    Where several people are in the picture, each is followed from the frame that shows the most
    of them, and the athlete is the one who moves (`_pick_track`).
    """
    n = len(frames)
    out = np.full((n, n_keypoints, 3), np.nan)
    counts = np.array([len(people) for people in frames])
    if counts.sum() == 0:
        raise BadRecording("No person was detected in any frame of the recording.")
    detections = np.stack([p for people in frames for p in people]).reshape(-1, n_keypoints, 3)
    frame_of = np.repeat(np.arange(n), counts)
    usable, confidence, centre, size = _summaries(detections)
    if not usable.any():
        raise BadRecording("No person was detected in any frame of the recording.")
    first = np.concatenate([[0], np.cumsum(counts)])  # detections of frame i: first[i]:first[i + 1]

    def follow(seed: int) -> np.ndarray:
        """The detection chosen in each frame (-1: none) on the track through ``seed``."""
        chosen = np.full(n, -1)
        chosen[frame_of[seed]] = seed
        for order in (range(frame_of[seed] + 1, n), range(frame_of[seed] - 1, -1, -1)):
            track = seed
            for i in order:
                mine = np.arange(first[i], first[i + 1])
                jump = np.linalg.norm(centre[mine] - centre[track], axis=1) / size[track]
                near = usable[mine] & (jump <= MAX_JUMP)
                if not near.any():
                    continue  # nobody where the person was: missing here, not someone else
                mine, jump = mine[near], jump[near]
                track = chosen[i] = int(mine[np.argmax(confidence[mine] - JUMP_PENALTY * jump)])
        return chosen

    candidates = np.flatnonzero(usable)
    seeds = [int(candidates[np.argmax(confidence[candidates])])]
    per_frame = np.bincount(frame_of[candidates], minlength=n)
    if per_frame.max() > 1:
        crowded = int(np.argmax(per_frame))
        seeds += [int(d) for d in candidates[frame_of[candidates] == crowded][:MAX_PEOPLE]]
    tracks = {tuple(t) for t in (follow(seed) for seed in dict.fromkeys(seeds))}
    chosen = _pick_track([np.array(t) for t in sorted(tracks)], detections, centre, size)
    picked = chosen >= 0
    out[picked] = detections[chosen[picked]]
    missing = ~(out[:, :, 2] > 0)
    out[missing, 0] = np.nan
    out[missing, 1] = np.nan
    out[:, :, 2] = np.nan_to_num(out[:, :, 2], nan=0.0)
    return out


def _pick_track(
    tracks: list[np.ndarray], detections: np.ndarray, centre: np.ndarray, size: np.ndarray
) -> np.ndarray:
    """The athlete's track among the people's: of the tracks seen at least ``SURE_SHARE`` as well
    as the best (`_keypoint_confidence` x share of frames covered; a ghost of random
    low-confidence points is not a person), the one whose posture changes most over the
    recording (its posture's range x share of frames covered: a track that lost the athlete
    halfway moves less over the whole). A coach or spotter standing by can be the most confident
    detection in the picture; followed from there, the athlete's reps were lost (a static
    bystander beside a simulated RDL: 0 reps for 4)."""
    if len(tracks) == 1:
        return tracks[0]
    seen = [t[t >= 0] for t in tracks]
    coverage = np.array([len(s) / len(t) for s, t in zip(seen, tracks, strict=True)])
    quality = np.array([_keypoint_confidence(detections[s]) for s in seen]) * coverage
    sure = quality >= SURE_SHARE * quality.max()
    movement = np.array([_posture_range(detections[s], centre[s], size[s]) if len(s) else 0.0 for s in seen])
    return tracks[int(np.argmax(np.where(sure, movement * coverage, -1.0)))]


def _keypoint_confidence(people: np.ndarray) -> float:
    """The median confidence of the keypoints a track's detections show (a whole-body model's
    unseen face and hand points do not count against a person)."""
    shown = people[:, :, 2][people[:, :, 2] > 0]
    return float(np.median(shown)) if len(shown) else 0.0


def _posture_range(people: np.ndarray, centre: np.ndarray, size: np.ndarray) -> float:
    """How far a track's posture changes: keypoints relative to the body's centre, in body sizes,
    smoothed over ``POSTURE_SMOOTHING`` detections (jitter is not movement), the 5-95 % range of
    each, median over the keypoints."""
    shape = (people[:, :, :2] - centre[:, None, :]) / size[:, None, None]
    shape[people[:, :, 2] <= 0] = np.nan
    if len(shape) >= POSTURE_SMOOTHING:
        windows = np.lib.stride_tricks.sliding_window_view(shape, POSTURE_SMOOTHING, axis=0)
        shape = nanmedian(windows, axis=-1)  # NaN for keypoints never seen in a window
    spread = nanpercentile(shape, 95, axis=0) - nanpercentile(shape, 5, axis=0)
    value = nanmedian(np.linalg.norm(spread, axis=-1).ravel())
    return float(value) if np.isfinite(value) else 0.0
