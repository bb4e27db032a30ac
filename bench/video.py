"""Video ingest against the pose estimator's own limit, in one run.

Three timings over the same clips, with the same number of worker processes:

1. **bare loop**: OpenCV decode + MediaPipe ``Pose.process`` (``model_complexity=1``) per frame,
   clips spread over a process pool: what the estimator alone costs;
2. **reader**: ``hinge_analytics.ingest.video.read_video`` (the same loop, plus the landmark table,
   its cache file and the canonical pose frames) over the same pool;
3. **hinge ingest**: the command a coach runs, on a manifest of the clips (angles, reps, metrics,
   the lake's commit included; in the command's own process, as no Prefect server is named),
   with an empty landmark cache.

Ratios to the bare loop are printed from the same run (machines here are noisy). Needs the video
extra and clips: by default the real phone videos of ``../shared/realdata/real_video_dev``.
``--copies N`` runs N byte-distinct copies of each clip (a trailing MP4 ``free`` box, so the
landmark cache, keyed by the video's hash, cannot serve a copy). ``--long-minutes M`` then ingests
one 1080p video of M minutes made by looping the first clip, for the command's peak memory.

    .venv/bin/python bench/video.py [--clips DIR] [--processes 2] [--copies 1] [--long-minutes 0]
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

from pipeline import cli_command, split_peak

from hinge_analytics.ingest.video import VIDEO_SUFFIXES

DEFAULT_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "real_video_dev" / "videos"


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


def _distinct_copies(clips: list[str], copies: int, folder: Path) -> list[str]:
    """Each clip ``copies`` times, each copy with its own bytes: an MP4 ``free`` box (ISO/IEC
    14496-12, skipped by readers) of a different length appended."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for clip in clips:
        data = Path(clip).read_bytes()
        for k in range(copies):
            target = folder / f"{Path(clip).stem}-{k}{Path(clip).suffix}"
            target.write_bytes(data + (8 + k).to_bytes(4, "big") + b"free" + bytes(k))
            out.append(str(target))
    return out


def _long_video(clip: str, minutes: float, target: Path) -> Path:
    """A 1080p, 30 fps video of ``minutes`` made by looping ``clip``'s frames."""
    import cv2

    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (1920, 1080))
    frames = int(minutes * 60 * 30)
    capture = cv2.VideoCapture(clip)
    written = 0
    while written < frames:
        ok, frame = capture.read()
        if not ok:
            if written == 0:
                sys.exit(f"{clip} could not be read")
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        writer.write(cv2.resize(frame, (1920, 1080)))
        written += 1
    capture.release()
    writer.release()
    return target


def _cli(clips: list[str], work: Path) -> tuple[float, float]:
    """(wall s, peak RSS MB) of ``hinge ingest`` over ``clips`` in a fresh process."""
    work.mkdir(parents=True, exist_ok=True)
    manifest = work / "manifest.csv"
    rows = [f"clip{i},{Path(clip).name},A{i},2026-01-05,deadlift,video" for i, clip in enumerate(clips)]
    header = "recording_id,path,athlete_id,session_date,exercise,format\n"
    manifest.write_text(header + "\n".join(rows) + "\n")
    env = {**os.environ, "HINGE_LANDMARK_CACHE": str(work / "cache-cli")}
    started = time.perf_counter()
    folder, lake = str(Path(clips[0]).parent), str(work / "lake")
    command = cli_command("ingest", str(manifest), "--batch-dir", folder, "--lake", lake, "--quiet")
    done = subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output, peak = split_peak(done.stdout)
    if peak is None or not output or not output[0].startswith(f"ingested {len(clips)} recording(s)"):
        sys.exit(f"hinge ingest did not ingest every clip: {done.stdout}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--long-minutes", type=float, default=0.0)
    args = parser.parse_args()
    clips = sorted(str(p) for p in args.clips.glob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not clips:
        sys.exit(f"no clips in {args.clips}")
    with tempfile.TemporaryDirectory(prefix="hinge-bench-video-") as tmp:
        work = Path(tmp)
        if args.copies > 1:
            clips = _distinct_copies(clips, args.copies, work / "clips")
        os.environ["HINGE_LANDMARK_CACHE"] = str(work / "cache-reader")
        bare_s, frames = _pooled(bare_loop, clips, args.processes)
        reader_s, _ = _pooled(reader, clips, args.processes)
        cli_s, cli_peak = _cli(clips, work / "cli")
        print(f"{len(clips)} clips, {frames} frames, {args.processes} process(es)")
        print(f"{'':<14}{'wall s':>8}{'frames/s':>10}{'x bare':>8}")
        for name, seconds in (("bare loop", bare_s), ("reader", reader_s), ("hinge ingest", cli_s)):
            print(f"{name:<14}{seconds:>8.1f}{frames / seconds:>10.1f}{seconds / bare_s:>8.2f}")
        print(f"hinge ingest peak RSS {cli_peak:.0f} MB")
        if args.long_minutes > 0:
            long = _long_video(clips[0], args.long_minutes, work / "long.mp4")
            long_s, long_peak = _cli([str(long)], work / "long")
            print(
                f"one {args.long_minutes:g}-minute 1080p video: hinge ingest {long_s:.0f} s "
                f"({1000 * long_s / (args.long_minutes * 1800):.1f} ms a frame), peak RSS {long_peak:.0f} MB"
            )


if __name__ == "__main__":
    main()
