"""Video ingest against the pose estimator's own limit, in one run.

Three timings over the same clips, with the same number of worker processes:

1. **bare loop**: OpenCV decode + MediaPipe ``Pose.process`` (``model_complexity=1``) per frame,
   clips spread over a process pool: what the estimator alone costs;
2. **reader**: ``hinge_analytics.ingest.video.read_video`` (the same loop, plus the landmark table,
   its cache file and the canonical pose frames) over the same pool;
3. **hinge ingest**: the command a coach runs, on a manifest of the clips (angles, reps, metrics,
   the lake's commit and Prefect included), with an empty landmark cache.

Ratios to the bare loop are printed from the same run (machines here are noisy). Needs the video
extra and clips: by default the real phone videos of ``../shared/realdata/real_video_dev``.

    .venv/bin/python bench/video.py [--clips DIR] [--processes 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hinge_analytics.ingest.video import VIDEO_SUFFIXES

DEFAULT_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "real_video_dev" / "videos"
HINGE = Path(sys.executable).with_name("hinge")


def bare_loop(clip: str) -> int:
    """Frames estimated: decode and Pose.process only."""
    import cv2
    import mediapipe as mp

    capture = cv2.VideoCapture(clip)
    frames = 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True) as pose:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            frames += 1
    capture.release()
    return frames


def reader(clip: str) -> int:
    from hinge_analytics.ingest.video import read_video

    return read_video(Path(clip)).frames.height


def _pooled(function, clips: list[str], processes: int) -> tuple[float, int]:
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        frames = sum(pool.map(function, clips))
    return time.perf_counter() - started, frames


def _cli(clips: list[str], work: Path) -> float:
    manifest = work / "manifest.csv"
    rows = [f"clip{i},{Path(clip).name},A{i},2026-01-05,deadlift,video" for i, clip in enumerate(clips)]
    header = "recording_id,path,athlete_id,session_date,exercise,format\n"
    manifest.write_text(header + "\n".join(rows) + "\n")
    env = {**os.environ, "HINGE_LANDMARK_CACHE": str(work / "cache-cli")}
    started = time.perf_counter()
    done = subprocess.run(
        [str(HINGE), "ingest", str(manifest), "--batch-dir", str(Path(clips[0]).parent), "--lake",
         str(work / "lake"), "--quiet"],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if not done.stdout.startswith(f"ingested {len(clips)} recording(s)"):
        sys.exit(f"hinge ingest did not ingest every clip: {done.stdout}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    clips = sorted(str(p) for p in args.clips.glob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not clips:
        sys.exit(f"no clips in {args.clips}")
    with tempfile.TemporaryDirectory(prefix="hinge-bench-video-") as tmp:
        work = Path(tmp)
        os.environ["HINGE_LANDMARK_CACHE"] = str(work / "cache-reader")
        bare_s, frames = _pooled(bare_loop, clips, args.processes)
        reader_s, _ = _pooled(reader, clips, args.processes)
        cli_s = _cli(clips, work)
    print(f"{len(clips)} clips, {frames} frames, {args.processes} process(es)")
    print(f"{'':<14}{'wall s':>8}{'frames/s':>10}{'x bare':>8}")
    for name, seconds in (("bare loop", bare_s), ("reader", reader_s), ("hinge ingest", cli_s)):
        print(f"{name:<14}{seconds:>8.1f}{frames / seconds:>10.1f}{seconds / bare_s:>8.2f}")


if __name__ == "__main__":
    main()
