"""Pick the athlete among the people a 2-D pose estimator found in each frame.

Real outputs hold more than one person per frame (the Pose2Sim demo has a low-confidence ghost at
the image edge in every frame; COCO files hold several people per image), and ``people[0]`` is not
the athlete. The athlete is seeded as the most confident detection of the recording, then followed
frame to frame by position (track continuity), preferring confident detections.
"""

from __future__ import annotations

import numpy as np

from hinge_analytics.ingest.errors import BadRecording

MIN_KEYPOINTS = 3  # a detection with fewer confident keypoints is ignored
JUMP_PENALTY = 0.5  # confidence traded per body size of jump between frames


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
    candidates = np.flatnonzero(usable)
    seed = int(candidates[np.argmax(confidence[candidates])])
    first = np.concatenate([[0], np.cumsum(counts)])  # detections of frame i: first[i]:first[i + 1]
    chosen = np.full(n, -1)
    chosen[frame_of[seed]] = seed

    def follow(order: range, start: int) -> None:
        track = start
        for i in order:
            mine = np.arange(first[i], first[i + 1])
            mine = mine[usable[mine]]
            if len(mine) == 0:
                continue
            if len(mine) > 1:
                jump = np.linalg.norm(centre[mine] - centre[track], axis=1) / size[track]
                mine = mine[[np.argmax(confidence[mine] - JUMP_PENALTY * np.minimum(jump, 4.0))]]
            track = chosen[i] = int(mine[0])

    follow(range(frame_of[seed] + 1, n), seed)
    follow(range(frame_of[seed] - 1, -1, -1), seed)
    picked = chosen >= 0
    out[picked] = detections[chosen[picked]]
    missing = ~(out[:, :, 2] > 0)
    out[missing, 0] = np.nan
    out[missing, 1] = np.nan
    out[:, :, 2] = np.nan_to_num(out[:, :, 2], nan=0.0)
    return out
