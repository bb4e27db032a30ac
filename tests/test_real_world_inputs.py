"""What real recordings do that the simulator's defaults do not: rest, accelerometer-only sensors,
logging gaps, y-up landmarks, a hidden far leg, sets that rest on the floor."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hinge_analytics.ingest.checks import check_one_clip
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.pipeline import process_recording
from hinge_analytics.reps.segmentation import segment_reps
from hinge_analytics.schema import landmark_columns
from hinge_analytics.simulate.body import Anthropometry, forward_kinematics
from hinge_analytics.simulate.imu import imu_signals, write_imu_generic
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set
from hinge_analytics.simulate.writers import write_mediapipe_csv

RATE = 50.0


def _manifest(folder: Path, path: str, fmt: str, exercise: str = "romanian_deadlift") -> Path:
    manifest = folder / "manifest.csv"
    manifest.write_text(
        "recording_id,path,athlete_id,session_date,exercise,format\n"
        f"r1,{path},A1,2026-01-05,{exercise},{fmt}\n"
    )
    return manifest


def _process(manifest: Path):
    rows, rejected = read_manifest(manifest)
    assert not rejected
    return process_recording(rows[0])


def _pose_csv(folder: Path, reps: int, seed: int = 0) -> tuple[Path, list[float]]:
    rng = np.random.default_rng(seed)
    t, pose, truth = simulate_set(SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * reps), 30.0, rng)
    points = forward_kinematics(pose, Anthropometry(1.75))
    path = folder / "set.csv"
    write_mediapipe_csv(path, t, points, {k: np.ones(len(t)) for k in points})
    return path, truth.t_start_s


def test_a_rest_recording_is_kept_with_zero_reps_and_says_so(tmp_path):
    _pose_csv(tmp_path, reps=0)
    done = _process(_manifest(tmp_path, "set.csv", "mediapipe_csv"))
    assert done.reps.height == 0 and done.curves.height == 0
    assert done.angles.height == done.read.frames.height > 0
    assert done.note and done.note.startswith("No reps found")


def test_a_rate_too_low_to_trust_every_rep_is_said(tmp_path):
    path, _ = _pose_csv(tmp_path, reps=4)
    manifest = _manifest(tmp_path, "set.csv", "mediapipe_csv")
    assert "samples a second" not in (_process(manifest).note or "")
    pl.read_csv(path).gather_every(6).write_csv(path)  # 30 -> 5 frames a second
    assert "Recorded at 5.0 samples a second" in _process(manifest).note


def test_landmarks_with_y_up_are_quarantined_with_the_cause(tmp_path):
    path, _ = _pose_csv(tmp_path, reps=3)
    table = pl.read_csv(path)
    table.with_columns([(-pl.col(c)).alias(c) for c in table.columns if c.endswith("_y")]).write_csv(path)
    with pytest.raises(BadRecording, match="upside down"):
        _process(_manifest(tmp_path, "set.csv", "mediapipe_csv"))


def test_a_hidden_far_leg_is_not_a_missing_athlete(tmp_path):
    rng = np.random.default_rng(1)
    t, pose, truth = simulate_set(SetPlan("deadlift", [RepPlan("good", 0.0)] * 4), 30.0, rng)
    points = forward_kinematics(pose, Anthropometry(1.75))
    visibility = {k: np.ones(len(t)) for k in points}
    for joint in ("knee_right", "ankle_right", "heel_right", "toe_right"):  # the far leg in a side view
        visibility[joint] = rng.uniform(0.05, 0.45, len(t))
        points[joint] = points[joint] + rng.normal(0, 0.05, points[joint].shape)
    write_mediapipe_csv(tmp_path / "set.csv", t, points, visibility)
    done = _process(_manifest(tmp_path, "set.csv", "mediapipe_csv", "deadlift"))
    assert done.reps.height == len(truth.t_start_s)
    assert done.angles["knee_flexion_right_deg"].null_count() == done.angles.height
    assert done.angles["knee_flexion_left_deg"].null_count() < done.angles.height


def _imu_set(tmp_path: Path, reps: int, **writer) -> list[float]:
    rng = np.random.default_rng(2)
    t, pose, truth = simulate_set(SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * reps), RATE, rng)
    signals = imu_signals(t, pose, Anthropometry(1.8), placements=("lower_back", "thigh_left"), rng=rng)
    write_imu_generic(tmp_path / "set", t, signals, quaternions=False, **writer)
    return [truth.t_start_s, truth.t_end_s, t]


def test_an_accelerometer_only_imu_gives_reps_and_angles(tmp_path):
    starts, _, _ = _imu_set(tmp_path, 5, accelerometer_only=("lower_back", "thigh_left"))
    done = _process(_manifest(tmp_path, "set", "imu_csv"))
    assert done.reps.height == 5
    assert np.median(np.abs(done.reps["t_start_s"].to_numpy() - starts)) < 0.2
    assert done.reps["peak_hip_flexion_deg"].min() > 40


def test_a_gap_mid_set_loses_only_the_reps_over_it(tmp_path):
    """A gap over the third rep's return to standing loses that rep; a second short gap deep in
    the fifth rep cannot hide a return and a new start, so the fifth is kept. The note names both."""
    rng = np.random.default_rng(2)
    t, pose, truth = simulate_set(SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * 6), RATE, rng)
    middle = 0.5 * (truth.t_start_s[2] + truth.t_end_s[2])
    lost = (t > middle) & (t < truth.t_end_s[2] + 0.5)
    fifth = 0.5 * (truth.t_start_s[4] + truth.t_end_s[4])
    keep = ~(lost | ((t > fifth - 0.4) & (t < fifth + 0.4)))
    signals = imu_signals(t, pose, Anthropometry(1.8), placements=("lower_back", "thigh_left"), rng=rng)
    write_imu_generic(tmp_path / "set", t, signals, quaternions=False, keep=dict.fromkeys(signals, keep))
    done = _process(_manifest(tmp_path, "set", "imu_csv"))
    assert done.reps.height == 5
    found = done.reps["t_start_s"].to_numpy()
    expected = np.delete(np.asarray(truth.t_start_s), 2)
    assert np.max(np.abs(found - expected)) < 0.3
    assert done.note and "reps over those stretches are left out" in done.note
    assert "(rep 4): the rep is kept" in done.note


def test_angles_after_a_logging_gap_do_not_hold_what_they_read_before_it(tmp_path):
    """Fused across a gap, the orientation came out holding its state from before it, and the gyro
    bias was fitted through it: 3 s lost at the bottom of an RDL left the trunk at 25 deg while
    standing after it, the next rep's hip flexion 11 deg high and the rep before it 5 deg low."""
    peaks = {}
    for name, lost_s in (("whole", None), ("gap", (15.15, 18.16))):
        rng = np.random.default_rng(2)
        t, pose, truth = simulate_set(SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * 6), RATE, rng)
        keep = np.ones(len(t), dtype=bool) if lost_s is None else ~((t > lost_s[0]) & (t < lost_s[1]))
        signals = imu_signals(t, pose, Anthropometry(1.8), placements=("lower_back", "thigh_left"), rng=rng)
        write_imu_generic(tmp_path / name, t, signals, quaternions=False, keep=dict.fromkeys(signals, keep))
        done = _process(_manifest(tmp_path, name, "imu_csv"))
        bottoms = done.reps["t_bottom_s"].to_numpy()
        peaks[name] = {
            k: done.reps["peak_hip_flexion_deg"][int(np.argmin(np.abs(bottoms - b)))]
            for k, b in enumerate(truth.t_bottom_s)
            if lost_s is None or not lost_s[0] - 1 < b < lost_s[1] + 1
        }
    assert sorted(peaks["gap"]) == [0, 1, 3, 4, 5]
    for k, value in peaks["gap"].items():
        assert abs(value - peaks["whole"][k]) < 1.5, k


def test_sensor_files_whose_clocks_started_apart_are_lined_up_by_their_movements(tmp_path):
    """Separate loggers count time from their own start: a thigh logger started 1.5 s after the
    lower-back one read a real squat set's hip flexion 20-60 deg low without a word."""
    peaks = {}
    for late_s in (0.0, 1.5):
        folder = tmp_path / f"late{late_s}"
        rng = np.random.default_rng(2)
        t, pose, _ = simulate_set(SetPlan("deadlift", [RepPlan("good", 0.0)] * 5), RATE, rng)
        signals = imu_signals(t, pose, Anthropometry(1.8), placements=("lower_back", "thigh_left"), rng=rng)
        write_imu_generic(folder / "set", t, signals, quaternions=False)
        thigh = folder / "set" / "thigh_left.csv"
        written = pl.read_csv(thigh)
        written.with_columns(pl.col(written.columns[0]) - late_s).write_csv(thigh)
        done = _process(_manifest(folder, "set", "imu_csv", "deadlift"))
        assert done.reps.height == 5
        peaks[late_s] = done.reps["peak_hip_flexion_deg"].to_numpy()
        assert ("clock" in (done.note or "")) == (late_s > 0), done.note
    assert "thigh_left sensor's clock reads 1.50 s behind the lower_back" in done.note
    assert np.max(np.abs(peaks[1.5] - peaks[0.0])) < 2.0


def test_a_set_that_rests_on_the_floor_counts_each_pull():
    t = np.arange(0, 20, 1 / 30)
    x = np.full_like(t, 110.0)  # set up at the bar: deep hinge
    for start in (2.0, 9.0, 15.0):  # bar leaves the floor, lockout, back down, pause on the floor
        inside = (t >= start) & (t < start + 3)
        x[inside] = 110 - 105 * np.sin(np.pi * (t[inside] - start) / 3) ** 2
    reps = segment_reps(t, x)
    assert reps.height == 3
    assert np.allclose(reps["t_start_s"].to_numpy(), [2.0, 9.0, 15.0], atol=0.15)
    assert np.allclose(reps["t_end_s"].to_numpy(), [5.0, 12.0, 18.0], atol=0.15)
    assert (reps["concentric_s"] > 1.0).all()


def _lying_world_frames(n: int, seed: int = 0) -> pl.DataFrame:
    # A hip thrust in a capture whose Y is up and whose athlete lies along Z (as Pose2Sim may
    # write it): in X-Y the trunk is a few centimetres long, 1 cm marker noise.
    rng = np.random.default_rng(seed)
    along = {"shoulder": -1.9, "hip": -1.4, "knee": -0.95, "ankle": -0.9}
    height = {"shoulder": 0.40, "hip": 0.40, "knee": 0.40, "ankle": 0.06}
    columns = {}
    for joint in along:
        for side, x in (("left", 0.45), ("right", 0.30)):
            names = landmark_columns(f"{joint}_{side}")[:3]
            for name, value in zip(names, (x, height[joint], along[joint]), strict=True):
                columns[name] = value + rng.normal(0.0, 0.01, n)
    return pl.DataFrame(columns)


def test_an_athlete_lying_along_the_depth_axis_is_one_clip():
    frames = _lying_world_frames(600)
    check_one_clip(frames, "world_m")  # in X-Y alone the noise would pass for 100+ jumps
    with pytest.raises(BadRecording, match="several clips"):
        check_one_clip(frames, "image")
    shifted = frames.with_columns([(pl.col(c) + 1.5).alias(c) for c in frames.columns if c.endswith("_z")])
    with pytest.raises(BadRecording, match="several clips"):
        check_one_clip(pl.concat([frames, shifted, frames, shifted]), "world_m")


def test_a_fast_pull_across_dropped_frames_is_no_cut_between_clips():
    """Twice the body moves 0.6 trunk lengths between two rows: a cut when the rows are one frame
    apart, a fast pull when five frames were dropped between them."""
    frames = _lying_world_frames(600).with_columns(t_s=np.arange(600) / 30.0)
    z = [c for c in frames.columns if c.endswith("_z")]
    moved = frames.with_columns(
        [(pl.col(c) + 0.3 * ((pl.col("t_s") >= 10.0) & (pl.col("t_s") < 15.0))).alias(c) for c in z]
    )
    with pytest.raises(BadRecording, match="several clips"):
        check_one_clip(moved, "world_m")
    dropped = moved.filter(~pl.col("t_s").is_between(9.8, 9.99) & ~pl.col("t_s").is_between(14.8, 14.99))
    check_one_clip(dropped, "world_m")


def test_several_clips_joined_in_one_file_are_refused(tmp_path):
    path, _ = _pose_csv(tmp_path, reps=2)
    clip = pl.read_csv(path)
    shifted = clip.with_columns([(pl.col(c) + 1.5).alias(c) for c in clip.columns if c.endswith("_x")])
    joined = pl.concat([clip, shifted, clip]).with_columns(
        timestamp_ms=pl.int_range(pl.len()) * (1000.0 / 30.0)
    )
    joined.write_csv(path)
    with pytest.raises(BadRecording, match="several clips"):
        _process(_manifest(tmp_path, "set.csv", "mediapipe_csv"))
