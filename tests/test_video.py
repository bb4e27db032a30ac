"""Phone videos in (`format = video`, ingest/video.py).

Without a person on screen a video is quarantined with a reason; with the video extra missing the
reason says how to install it; the estimator's output is cached by the video's hash. On the real
clips of ../shared/realdata/real_video_dev (used in place, skipped where absent) the counts are the
eye-counted ones and the angles those of the reference landmark CSVs, which were made with the
same estimator and settings (its SOURCE.md).
"""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hinge_analytics.ingest import detect_format, read_recording
from hinge_analytics.ingest import video as video_module
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.pipeline import process_recording

cv2 = pytest.importorskip("cv2", reason="the video extra is not installed")
REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "real_video_dev"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real videos are not in ../shared/realdata")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(video_module.CACHE_ENV, str(tmp_path / "landmark-cache"))


def _empty_video(path: Path, frames: int = 45, fps: float = 30.0) -> Path:
    """A grey clip with a moving square: decodable, no person."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (160, 120))
    for i in range(frames):
        frame = np.full((120, 160, 3), 128, np.uint8)
        frame[40:60, i % 140 : i % 140 + 20] = 255
        writer.write(frame)
    writer.release()
    return path


def _manifest(folder: Path, rows: list[str]) -> Path:
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(["recording_id,path,athlete_id,session_date,exercise,format", *rows, ""]))
    return manifest


def test_a_video_is_detected_by_its_bytes_as_well_as_its_name(tmp_path):
    clip = _empty_video(tmp_path / "set1.mp4")
    assert detect_format(clip) == "video"
    renamed = clip.rename(tmp_path / "set1.bin")
    assert detect_format(renamed) == "video"  # the ftyp box, whatever the name


def test_a_video_without_a_person_is_quarantined_with_a_reason(tmp_path):
    with pytest.raises(BadRecording, match="No person was found in any of the 150 frames"):
        read_recording(_empty_video(tmp_path / "empty.mp4", frames=150), "video", None)


def test_a_file_that_is_no_video_is_quarantined(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(200))
    with pytest.raises(BadRecording, match="(?i)video"):
        read_recording(broken, "video", None)


def test_without_the_video_extra_the_reason_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe raises ImportError
    with pytest.raises(BadRecording, match=r"hinge_analytics\[video\]"):
        read_recording(_empty_video(tmp_path / "x.mp4"), "video", None)


def test_frame_times_come_from_the_container_else_from_the_rate():
    variable = np.array([0.0, 33.0, 70.0, 100.0, 180.0])  # a phone's variable frame rate
    assert np.array_equal(video_module._frame_times(variable + 5.0, 30.0), variable)
    assert np.allclose(video_module._frame_times(np.zeros(4), 25.0), [0, 40, 80, 120])
    with pytest.raises(BadRecording, match="frame rate"):
        video_module._frame_times(np.zeros(3), 0.0)


def test_the_estimator_runs_once_per_video(tmp_path, monkeypatch):
    clip = _empty_video(tmp_path / "clip.mp4", frames=10)
    calls = []
    real = video_module.estimate_landmarks

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(video_module, "estimate_landmarks", counting)
    first = video_module.cached_landmarks(clip)
    second = video_module.cached_landmarks(clip)
    assert len(calls) == 1 and first.equals(second)
    assert first.height == 10 and first["image_width"][0] == 160
    assert first.select(pl.col("left_hip_x").is_nan().all()).item()  # no person in any frame


@pytest.mark.slow
@needs_real
def test_real_phone_videos_count_as_the_eye_and_match_the_reference_landmarks(tmp_path):
    truth = pl.read_csv(REAL / "truth_recordings.csv")
    reference = pl.read_csv(REAL / "manifest.csv")
    manifest = tmp_path / "manifest.csv"
    rows = [
        f"{r['recording_id']},videos/{r['recording_id']}.mp4,{r['athlete_id']},2025-01-01,{r['exercise']},"
        for r in reference.iter_rows(named=True)
    ]
    header = "recording_id,path,athlete_id,session_date,exercise,format\n"
    manifest.write_text(header + "\n".join(rows) + "\n")
    valid, rejected = read_manifest(manifest, batch_dir=REAL)
    assert not rejected
    for row in valid:
        done = process_recording(row)
        assert done.fmt == "video"
        expected = truth.filter(pl.col("recording_id") == row.recording_id)["n_reps"].item()
        assert done.reps.height == expected, row.recording_id
        ref_row = reference.filter(pl.col("recording_id") == row.recording_id).row(0, named=True)
        _, ref = read_recording(REAL / ref_row["path"], "mediapipe_csv", ref_row["sample_rate_hz"])
        assert done.read.frames.height == ref.frames.height
        # same estimator, settings and decoder (OpenCV 4.11, pinned by the extra)
        ours, theirs = (
            r.frames.select("hip_left_x", "hip_left_y", "knee_left_y").to_numpy().astype(float)
            for r in (done.read, ref)
        )
        assert np.nanmedian(np.abs(ours - theirs)) < 0.01  # metres (the same decoder: 0.0)


def test_each_video_is_a_chunk_of_its_own(tmp_path):
    """Chunks are what the flow's workers share out: videos in one chunk ran one after another."""
    from hinge_analytics.jobs.ingest import plan_batch
    from hinge_analytics.lake import Lake

    for name in ("a.csv", "b.csv", "c.csv"):
        (tmp_path / name).write_text("timestamp_ms,left_hip_x\n0,0\n")
    for name in ("v1.mp4", "v2.mov"):
        _empty_video(tmp_path / name, frames=2)
    names = ["a.csv", "v1.mp4", "b.csv", "v2.mov", "c.csv"]
    rows = [f"r{i},{name},A1,2026-01-05,deadlift," for i, name in enumerate(names)]
    batch = plan_batch(_manifest(tmp_path, rows), Lake(str(tmp_path / "lake")))
    chunks = [[row.file.name for row in chunk] for chunk, _ in batch.chunks(2)]
    assert chunks == [["v1.mp4"], ["a.csv", "b.csv"], ["v2.mov"], ["c.csv"]]


def test_no_still_without_the_video_or_its_cached_landmarks(tmp_path):
    from hinge_analytics.report import _stills
    from hinge_analytics.report.stills import rep_stills

    clip = _empty_video(tmp_path / "clip.mp4", frames=5)
    assert rep_stills(tmp_path / "gone.mp4", [0.1]) is None
    assert rep_stills(clip, [0.1]) is None  # never estimated here: no landmarks cached
    reps = pl.DataFrame(
        {"athlete_id": ["A1"], "recording_id": ["r1"], "session_date": ["2026-01-05"],
         "exercise": ["deadlift"], "set_number": [1], "rep": [1], "t_bottom_s": [0.1], "label": ["good"],
         "cue": [None]}
    )  # fmt: skip
    no_landmarks = pl.DataFrame({"recording_id": []}, schema={"recording_id": pl.String})
    assert "No stills" in _stills(reps, {"r1": str(tmp_path / "gone.mp4")}, no_landmarks)


def _filmed_deadlifts(folder: Path, reps: int = 3) -> tuple[Path, pl.DataFrame]:
    """A clip as long as a simulated deadlift set, and what the estimator would find in it: the
    simulated world landmarks, and image landmarks drawn from them (the clip shows no person)."""
    from hinge_analytics.simulate.body import Anthropometry, forward_kinematics
    from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set
    from hinge_analytics.simulate.writers import mediapipe_world_table

    plan = SetPlan("deadlift", [RepPlan("good", 0.0)] * reps)
    t, pose, _ = simulate_set(plan, 30.0, np.random.default_rng(4))
    points = forward_kinematics(pose, Anthropometry(1.75))
    world = mediapipe_world_table(t, points, {k: np.ones(len(t)) for k in points})
    image = [
        (0.5 + pl.col(f"{name}_{a}") / 3).cast(pl.Float32).alias(f"image_{name}_{a}")
        for name in video_module.MEDIAPIPE_33
        for a in ("x", "y", "z")
    ]
    table = world.select(
        pl.col("timestamp_ms").cast(pl.Float64),
        pl.lit(160, pl.Int32).alias("image_width"),
        pl.lit(120, pl.Int32).alias("image_height"),
        *[pl.col(c).cast(pl.Float32) for c in world.columns if c != "timestamp_ms"],
        *image,
    )
    return _empty_video(folder / "set.mp4", frames=len(t), fps=30.0), table


def test_video_landmarks_are_kept_in_the_lake_and_outlive_the_cache(tmp_path, monkeypatch):
    """The estimator's output goes into the lake's video_landmarks; a re-analysis where the cache
    is gone takes it from there instead of running the estimator, and report stills draw it."""
    import shutil

    from hinge_analytics.jobs.ingest import ingest_manifest
    from hinge_analytics.jobs.query import query
    from hinge_analytics.jobs.report import build_reports
    from hinge_analytics.lake import Lake

    clip, estimated = _filmed_deadlifts(tmp_path)
    calls = []
    monkeypatch.setattr(video_module, "estimate_landmarks", lambda path: calls.append(path) or estimated)
    manifest = _manifest(tmp_path, ["r1,set.mp4,A1,2026-01-05,deadlift,video"])
    lake = Lake(str(tmp_path / "lake"))
    summary = ingest_manifest(manifest, lake)
    assert summary.ingested == ["r1"] and summary.reps == 3 and len(calls) == 1
    kept = query(lake, "SELECT * FROM video_landmarks ORDER BY frame")
    assert kept.height == estimated.height and kept["frame"].to_list() == list(range(estimated.height))
    assert kept["video_sha256"].unique().to_list() == [video_module.video_sha256(clip)]
    assert kept.select(estimated.columns).equals(estimated)  # image landmarks and sizes included

    shutil.rmtree(tmp_path / "landmark-cache")  # another machine, or a cleared cache
    again = ingest_manifest(manifest, lake, force=True)
    assert again.ingested == ["r1"] and again.reps == 3
    assert len(calls) == 1  # from the lake, not the estimator
    assert query(lake, "SELECT count(*) AS n FROM video_landmarks")["n"].item() == estimated.height

    shutil.rmtree(tmp_path / "landmark-cache")
    pages = build_reports(lake, tmp_path / "reports")
    page = pages[0].read_text()
    assert page.count("data:image/jpeg;base64,") == 3  # one still per rep, skeleton from the lake


@pytest.mark.slow
@needs_real
def test_stills_show_each_rep_bottom_with_the_skeleton():
    from hinge_analytics.report.stills import STILL_HEIGHT_PX, rep_stills

    clip = REAL / "videos" / "rv13_good_morning_pvc.mp4"
    read = read_recording(clip, "video", None)[1]  # fills the landmark cache
    assert read.estimator and read.estimator.startswith("mediapipe-pose-full")
    stills = rep_stills(clip, [1.0, 3.0, 5.0])
    assert stills is not None and len(stills) == 3
    assert all(s.startswith("data:image/jpeg;base64,") for s in stills)
    jpeg = np.frombuffer(base64.b64decode(stills[0].split(",", 1)[1]), np.uint8)
    assert cv2.imdecode(jpeg, cv2.IMREAD_COLOR).shape[0] == STILL_HEIGHT_PX


def _rotate_90(path: Path) -> Path:
    """Mark an MP4 as filmed in portrait, as phones do: the track header's display matrix
    (ISO/IEC 14496-12, 'tkhd': 44 bytes after the box type in version 0) becomes a 90 deg turn."""
    data = bytearray(path.read_bytes())
    at = data.index(b"tkhd") + 4
    assert data[at] == 0, "version 1 track header"
    # a, b, u, c, d, v, x, y, w: 16.16 fixed point, u/v/w 2.30
    data[at + 40 : at + 76] = struct.pack(">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30)
    path.write_bytes(bytes(data))
    return path


def test_a_portrait_phone_video_is_turned_upright_from_its_rotation_flag(tmp_path):
    clip = _rotate_90(_empty_video(tmp_path / "portrait.mp4", frames=6))
    table = video_module.cached_landmarks(clip)
    assert (table["image_width"][0], table["image_height"][0]) == (120, 160)  # decoded upright


def test_a_truncated_video_is_quarantined_or_read_up_to_its_cut(tmp_path):
    clip = _empty_video(tmp_path / "cut.mp4", frames=150)
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with pytest.raises(BadRecording, match="(?i)video"):  # no readable video, or no person in it
        read_recording(clip, "video", None)


@pytest.mark.parametrize(
    ("scale", "shift", "reason"),
    [(1 / 20, 0.0, "too small in the picture"), (1.0, 0.45, "cut off at the edge")],
    ids=["far away", "feet out of the picture"],
)
def test_an_athlete_too_small_or_cut_off_is_quarantined_with_the_reason(
    tmp_path, monkeypatch, scale, shift, reason
):
    clip, estimated = _filmed_deadlifts(tmp_path, reps=2)
    image = [c for c in estimated.columns if c.startswith("image_") and c[-2:] in ("_x", "_y")]
    framed = estimated.with_columns(
        [((pl.col(c) - 0.5) * scale + 0.5 + (shift if c.endswith("_y") else 0.0)).alias(c) for c in image]
    )
    monkeypatch.setattr(video_module, "estimate_landmarks", lambda path: framed)
    with pytest.raises(BadRecording, match=reason):
        read_recording(clip, "video", None)
    monkeypatch.setattr(video_module, "estimate_landmarks", lambda path: estimated)
    monkeypatch.setenv(video_module.CACHE_ENV, str(tmp_path / "other-cache"))
    assert read_recording(clip, "video", None)[1].frames.height == estimated.height  # framed well


def test_video_frames_are_counted_as_they_are_estimated(tmp_path):
    """`hinge ingest` shows a bar of video frames: its total from the containers, advanced by the
    estimator frame by frame (in the ingest's worker threads)."""
    from hinge_analytics.jobs.ingest import ingest_manifest
    from hinge_analytics.lake import Lake

    class Frames:
        total, done = None, 0

        def start(self, total: int) -> None:
            self.total = total

        def advance(self, done: int) -> None:
            self.done += done

    _empty_video(tmp_path / "a.mp4", frames=40)
    _empty_video(tmp_path / "b.mp4", frames=21)
    manifest = _manifest(tmp_path, [f"{n},{n}.mp4,A1,2026-01-05,deadlift,video" for n in ("a", "b")])
    frames = Frames()
    summary = ingest_manifest(manifest, Lake(str(tmp_path / "lake")), frames=frames)
    assert len(summary.quarantined) == 2  # no person in either
    assert frames.total == 61 and frames.done == 61


def test_ctrl_c_stops_a_video_ingest_at_once(tmp_path):
    """A running chunk (a video being estimated) cannot be interrupted in its thread; the command
    leaves it and exits with 130 right away, and the lake is consistent (as at any kill)."""
    import os
    import signal
    import subprocess
    import time

    from test_reliability import assert_consistent

    from hinge_analytics.lake import Lake

    hinge = Path(sys.executable).parent / "hinge"
    _empty_video(tmp_path / "long.mp4", frames=6000)  # about a minute of estimation
    manifest = _manifest(tmp_path, ["r1,long.mp4,A1,2026-01-05,deadlift,video"])
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    command = [str(hinge), "ingest", str(manifest), "--lake", str(tmp_path / "lake")]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "lake" / "recordings").is_dir() and time.monotonic() < deadline:
            time.sleep(0.1)  # the batch is planned: estimation is under way
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - interrupted < 15  # not the minute the running chunk needs
    assert "interrupted" in err and "Traceback" not in err
    assert_consistent(Lake(str(tmp_path / "lake")))
