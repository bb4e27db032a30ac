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


def _summary(person: np.ndarray) -> tuple[float, np.ndarray, float] | None:
    """(mean confidence, centroid, size) of a (K, 3) x/y/confidence array, or None if empty."""
    seen = person[:, 2] > 0
    if seen.sum() < MIN_KEYPOINTS:
        return None
    xy = person[seen, :2]
    size = float(np.linalg.norm(xy.max(axis=0) - xy.min(axis=0)))
    return float(np.mean(person[:, 2])), xy.mean(axis=0), max(size, 1e-6)


def track_athlete(frames: list[list[np.ndarray]], n_keypoints: int) -> np.ndarray:
    """``frames[i]`` = the (K, 3) detections of frame i -> (n, K, 3), NaN where nobody fits.

    Confidence 0 marks a keypoint that was not detected; its x, y become NaN.
    """
    n = len(frames)
    out = np.full((n, n_keypoints, 3), np.nan)
    summaries = [[_summary(p) for p in people] for people in frames]
    best = max(
        ((s[0], i, j) for i, row in enumerate(summaries) for j, s in enumerate(row) if s is not None),
        default=None,
    )
    if best is None:
        raise BadRecording("No person was detected in any frame of the recording.")
    _, seed_frame, seed_person = best

    def follow(order: range, start: tuple[np.ndarray, float]) -> None:
        centre, size = start
        for i in order:
            scored = [
                (s[0] - JUMP_PENALTY * min(np.linalg.norm(s[1] - centre) / size, 4.0), j)
                for j, s in enumerate(summaries[i])
                if s is not None
            ]
            if not scored:
                continue
            _, j = max(scored)
            out[i] = frames[i][j]
            _, centre, size = summaries[i][j]  # type: ignore[misc]

    seed = summaries[seed_frame][seed_person]
    assert seed is not None
    out[seed_frame] = frames[seed_frame][seed_person]
    follow(range(seed_frame + 1, n), (seed[1], seed[2]))
    follow(range(seed_frame - 1, -1, -1), (seed[1], seed[2]))
    missing = ~(out[:, :, 2] > 0)
    out[missing, 0] = np.nan
    out[missing, 1] = np.nan
    out[:, :, 2] = np.nan_to_num(out[:, :, 2], nan=0.0)
    return out
