"""The domain-randomised validation generator (hinge_analytics.simulate.randomised): valid batches
the readers accept, exact and self-consistent truth, reproducible seeds, recorded regimes."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.kinematics import angles_for
from hinge_analytics.kinematics.pose import tilt_deg
from hinge_analytics.schema import BODY_PLACEMENTS, EXERCISES, TRUTH_REPS
from hinge_analytics.simulate import randomised as rz
from hinge_analytics.simulate.body import Anthropometry, forward_kinematics
from hinge_analytics.simulate.motion import MISTAKE_COMPONENTS, PhaseShape, RepPlan, SetPlan, simulate_set

FORMATS = ("mediapipe_csv", "openpose_json", "coco17_json", "trc", "imu_csv")


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("randomised")
    rz.simulate_randomised(out, n_sets=6, seed=4, formats=FORMATS, max_reps=3)
    return out


def test_batch_is_complete_and_every_recording_reads(batch):
    manifest = pl.read_csv(batch / "manifest.csv")
    assert set(manifest["format"]) == set(FORMATS)
    rows, rejected = read_manifest(batch / "manifest.csv")
    assert not rejected and len(rows) == 6
    for row in rows:
        fmt, read = read_recording(row.file, row.format, row.sample_rate_hz)  # raises if refused
        assert fmt == row.format and read.frames.height > 20
        if row.exercise == "single_leg_rdl":
            assert row.side in ("left", "right")
        else:
            assert row.side is None
    truth = pl.read_csv(batch / "truth_reps.csv")
    assert tuple(truth.columns) == tuple(TRUTH_REPS)
    assert set(truth["recording_id"]) == set(manifest["recording_id"])
    assert (truth["t_start_s"] <= truth["t_bottom_s"]).all()
    assert (truth["t_bottom_s"] < truth["t_end_s"]).all()
    regimes = pl.read_csv(batch / "truth_recordings.csv", infer_schema_length=None)
    set_up = set(regimes.filter(pl.col("starts_at_bottom"))["recording_id"])
    # A set filmed from its set-up starts its first rep at the bottom (the pull alone), no other rep.
    pull_only = truth.filter(pl.col("t_start_s") == pl.col("t_bottom_s"))
    assert set(pull_only["rep"]) <= {1} and set(pull_only["recording_id"]) == set_up
    for _, part in truth.group_by("recording_id"):
        part = part.sort("rep")
        assert (part["t_start_s"][1:] >= part["t_end_s"][:-1]).all()  # touch-and-go: equal
    assert pl.read_csv(batch / "rep_labels.csv").height == truth.height


def test_regime_parameters_are_recorded(batch):
    regimes = pl.read_csv(batch / "truth_recordings.csv", infer_schema_length=None)
    manifest = pl.read_csv(batch / "manifest.csv")
    assert tuple(regimes.columns) == tuple(rz.REGIME_COLUMNS)
    assert regimes["recording_id"].to_list() == manifest["recording_id"].to_list()
    assert regimes["format"].to_list() == manifest["format"].to_list()
    for column in (
        "stature_m",
        "sex",
        "eccentric_s",
        "concentric_s",
        "n_reps",
        "sample_rate_hz",
        "duration_s",
    ):
        assert regimes[column].null_count() == 0, column
    pose = regimes.filter(pl.col("format") != "imu_csv")
    for column in ("view", "camera_yaw_deg", "camera_roll_deg", "noise_white_m", "dropped_fraction"):
        assert pose[column].null_count() == 0, column
    imu = regimes.filter(pl.col("format") == "imu_csv")
    assert imu["placements"].null_count() == 0 and imu["view"].null_count() == imu.height
    truth = pl.read_csv(batch / "truth_reps.csv")
    reps = pl.read_csv(batch / "truth_rep_regimes.csv")
    assert reps.select("recording_id", "rep").equals(truth.select("recording_id", "rep"))
    counts = truth.group_by("recording_id").len().sort("recording_id")
    assert counts["len"].to_list() == regimes.sort("recording_id")["n_reps"].to_list()


def test_draws_cover_the_randomised_ranges():
    """Many regimes (draws only, nothing simulated) span the ranges the module promises."""
    rng = np.random.default_rng(0)
    regimes = [rz.draw_regime(rng, EXERCISES[i % 6], FORMATS[i % 5]) for i in range(600)]
    reps = [r for g in regimes for r in g.record["_reps"]]
    slow = [
        r for g, r in ((g, r) for g in regimes for r in g.record["_reps"]) if g.exercise != "kettlebell_swing"
    ]
    ecc = np.array([r["eccentric_s"] for r in slow])
    assert ecc.min() >= 0.5 and ecc.max() <= 6.0 and ecc.min() < 0.7 and ecc.max() > 5.0
    assert any(r["isometric"] and 10 <= r["bottom_pause_s"] <= 20 for r in reps)
    assert any(g.record["touch_and_go"] for g in regimes)
    partial = [r["range_of_motion"] for r in reps if r["range_of_motion"] < 0.72]
    assert partial and min(partial) >= 0.4 and max(partial) <= 0.7
    assert any(r["lean_back_deg"] > 0 for r in reps)
    n_reps = [g.record["n_reps"] for g in regimes]
    assert min(n_reps) == 1 and max(n_reps) == 12
    statures = [g.body.stature_m for g in regimes]
    assert 1.5 <= min(statures) < 1.55 and 1.95 < max(statures) <= 2.0
    thighs = [g.body.thigh for g in regimes]
    assert (
        min(thighs) < 0.86 and max(thighs) > 1.14 and {g.record["sex"] for g in regimes} == {"female", "male"}
    )
    views = [g.view for g in regimes if g.view is not None]
    yaw = np.array([v.yaw_deg for v in views])
    roll = np.array([v.roll_deg for v in views])
    assert np.abs(yaw).max() <= 35 and np.abs(yaw).max() > 30 and np.abs(roll).max() > 8
    assert {v.side for v in views} == {-1.0, 1.0} and any(v.noise.hidden_leg for v in views)
    rates = [g.sample_rate_hz for g in regimes if g.view is not None]
    assert min(rates) >= 15 and max(rates) <= 120
    setups = [(g.sample_rate_hz, g.imu) for g in regimes if g.imu is not None]
    assert min(r for r, _ in setups) == 12.5 and max(r for r, _ in setups) == 200
    assert {len(s.placements) for _, s in setups} == set(range(1, len(BODY_PLACEMENTS) + 1))
    assert any(not s.quaternions for _, s in setups) and any(s.accelerometer_only for _, s in setups)
    sides = {g.plan.stance_side for g in regimes if g.exercise == "single_leg_rdl"}
    assert sides == {"left", "right"}


def test_seed_reproduces_and_another_seed_differs(tmp_path):
    a = rz.simulate_randomised(
        tmp_path / "a", n_sets=3, seed=11, formats=("mediapipe_csv", "imu_csv"), max_reps=2
    )
    b = rz.simulate_randomised(
        tmp_path / "b", n_sets=3, seed=11, formats=("mediapipe_csv", "imu_csv"), max_reps=2
    )
    c = rz.simulate_randomised(
        tmp_path / "c", n_sets=3, seed=12, formats=("mediapipe_csv", "imu_csv"), max_reps=2
    )
    assert _digest(a.parent) == _digest(b.parent)
    assert _digest(a.parent) != _digest(c.parent)


def test_id_prefix_renames_the_same_draws(tmp_path):
    """Two batches in one lake need ids of their own; the prefix changes the ids, not the sets."""
    kwargs = {"n_sets": 2, "seed": 11, "formats": ("imu_csv",), "max_reps": 2}
    plain = pl.read_csv(rz.simulate_randomised(tmp_path / "a", **kwargs))
    other = pl.read_csv(rz.simulate_randomised(tmp_path / "b", id_prefix="RS", **kwargs))
    assert set(plain["recording_id"]).isdisjoint(other["recording_id"])
    assert set(plain["athlete_id"]).isdisjoint(other["athlete_id"])
    assert other["athlete_id"].str.starts_with("RS").all()
    same = ["exercise", "side", "load_kg", "format", "sample_rate_hz"]
    assert plain.select(same).equals(other.select(same))


def _plan(exercise: str, side: str | None = None) -> SetPlan:
    """Three reps of a moderate tempo, a partial one and a lean-back, each with a bottom pause
    (so that the product's 6 Hz low-pass keeps the peak) and non-minimum-jerk shapes."""
    shape = PhaseShape(order=3, skew=1.3)
    reps = [
        RepPlan("good", 0.0, 1.6, 0.6, 1.2, 1.0, 1.0, 0.0, shape, shape),
        RepPlan("good", 0.0, 2.2, 0.8, 1.8, 0.0, 0.55, 0.0),
        RepPlan("good", 0.0, 1.4, 0.5, 1.0, 1.5, 0.9, 8.0, None, PhaseShape(7, 0.8)),
    ]
    return SetPlan(exercise, reps, stance_side=side, fatigue=0.0, fidget=False, lead_in_s=2.0, lead_out_s=2.0)


@pytest.mark.parametrize(
    ("exercise", "fmt", "variant"),
    [
        ("romanian_deadlift", "mediapipe_csv", "world"),
        ("deadlift", "mediapipe_csv", "image"),
        ("good_morning", "trc", "m"),
        ("single_leg_rdl", "mediapipe_csv", "world"),
    ],
)
def test_noise_free_render_gives_the_truth_peaks_through_the_product(tmp_path, exercise, fmt, variant):
    """Zero estimator noise, a level side camera and an unusual body: the product's own reader and
    kinematics give every rep's peak angles within 1 deg of the truth (taken from the body at a
    finer rate), and the angles are back at the top between reps."""
    rng = np.random.default_rng(2)
    regime = rz.draw_regime(rng, exercise, fmt)
    side = "right" if exercise == "single_leg_rdl" else None
    view = rz.PoseView(
        side=-1.0, noise=rz.EstimatorNoise(confidence_spread=False), variant=variant, lab_heading_deg=30.0
    )
    body = Anthropometry(1.62, thigh=1.15, shank=0.86, trunk=1.12, hip_width=1.2)
    plan = replace(_plan(exercise, side), heading_deg=0.0)
    regime = replace(regime, plan=plan, body=body, view=view, sample_rate_hz=60.0)
    path, rate, truth = rz.write_set(tmp_path, "set", regime, rng)
    _, read = read_recording(tmp_path / path, fmt, rate)
    angles, _ = angles_for(read, exercise, side)
    t = angles["t_s"].to_numpy()
    sides = (side,) if side else ("left", "right")
    hip = np.nanmean([angles[f"hip_flexion_{s}_deg"].to_numpy() for s in sides], axis=0)
    for row in truth:
        inside = (t >= row["t_start_s"]) & (t <= row["t_end_s"])
        assert abs(np.nanmax(hip[inside]) - row["peak_hip_flexion_deg"]) < 1.0, row
        trunk = np.nanmax(angles["trunk_inclination_deg"].to_numpy()[inside])
        assert abs(trunk - row["peak_trunk_inclination_deg"]) < 1.0, row
        for s in ("left", "right") if not side else (side,):
            knee = np.nanmax(angles[f"knee_flexion_{s}_deg"].to_numpy()[inside])
            assert abs(knee - row[f"peak_knee_flexion_{s}_deg"]) < 1.0, (s, row)
    # Partial rep: about 55 % of the full reps' hip flexion.
    peaks = [r["peak_hip_flexion_deg"] for r in truth]
    assert 0.4 < peaks[1] / max(peaks[0], peaks[2]) < 0.7


def test_end_on_views_film_every_pose_set_from_the_front_or_back():
    """``views="end_on"`` turns every pose camera 50-90 deg off the side, either way round, and
    no leg hides behind the other."""
    rngs = (np.random.default_rng(k) for k in range(200))
    views = [rz.draw_view(rng, "openpose_json", "romanian_deadlift", "end_on") for rng in rngs]
    assert all(50.0 <= abs(v.yaw_deg) <= 90.0 and not v.noise.hidden_leg for v in views)
    assert {np.sign(v.yaw_deg) for v in views} == {-1.0, 1.0}
    with pytest.raises(ValueError, match="views"):
        rz.simulate_randomised(Path("unused"), views="overhead")


def test_truth_boundaries_are_where_the_body_leaves_and_regains_the_top():
    regime = rz.draw_regime(np.random.default_rng(5), "romanian_deadlift", "trc")
    regime = replace(
        regime, plan=replace(_plan("romanian_deadlift"), sway_deg=0.0, heading_deg=0.0, roll_deg=0.0)
    )
    time, pose, _, truth = rz.simulate_body(regime, np.random.default_rng(5))
    points = forward_kinematics(pose, regime.body)
    hinge = np.degrees(
        np.arctan2(*(points["shoulder_left"] - points["hip_left"])[:, :2].T)
        - np.arctan2(*(points["hip_left"] - points["knee_left"])[:, :2].T)
    )
    top = hinge[time < 1.5].mean()
    for k, row in enumerate(truth):
        start, end = row["t_start_s"], row["t_end_s"]
        if k == 0 or regime.plan.reps[k - 1].top_pause_s >= 0.2:
            before = (time > start - 0.2) & (time <= start)
            assert np.abs(hinge[before] - top).max() < 0.05  # at the top until the start
        else:  # touch-and-go: the top is only touched
            assert hinge[int(np.argmin(np.abs(time - start)))] == pytest.approx(top, abs=0.05)
        assert hinge[(time > start) & (time < start + 0.3)].max() > top + 0.05  # then it moves
        if regime.plan.reps[k].lean_back_deg == 0:
            # Back at the top at the end (the next rep may leave it at once: touch-and-go).
            assert hinge[int(np.argmin(np.abs(time - end)))] == pytest.approx(top, abs=0.05)
            assert hinge[(time > end - 0.3) & (time < end - 0.05)].min() > top + 0.001  # still arriving
        bottom = int(np.argmin(np.abs(time - row["t_bottom_s"])))
        assert hinge[bottom] == pytest.approx(row["peak_hip_flexion_deg"], abs=0.05)
    # The last rep locks out leaning back 8 deg: the hips extend 1.3x that past standing.
    assert hinge[int(np.argmin(np.abs(time - truth[-1]["t_end_s"])))] == pytest.approx(top - 10.4, abs=0.1)


def test_imu_files_follow_the_set_up(tmp_path):
    """Accelerometer-only sensors have no gyro columns, no quaternions when the set has none,
    and the noise-free accelerometer reads gravity at rest whatever the mounting."""
    rng = np.random.default_rng(8)
    regime = rz.draw_regime(rng, "good_morning", "imu_csv")
    setup = replace(
        regime.imu,
        placements=("upper_back", "sacrum", "thigh_left"),
        mountings={p: rz.uniform_rotation(rng) for p in ("upper_back", "sacrum", "thigh_left")},
        quaternions=False,
        accelerometer_only=("thigh_left",),
        layout="generic",
        noise=rz.ImuNoise(),
        packet_loss=0.01,
    )
    regime = replace(
        regime, imu=setup, plan=replace(_plan("good_morning"), fidget=False), sample_rate_hz=25.0
    )
    path, rate, truth = rz.write_set(tmp_path, "imu", regime, rng)
    assert rate is None and len(truth) == 3
    files = sorted((tmp_path / path).glob("*.csv"))
    assert [f.stem for f in files] == ["sacrum", "thigh_left", "upper_back"]
    for f in files:
        table = pl.read_csv(f)
        assert not any(c.startswith("quat") for c in table.columns)
        assert any(c.startswith("gyr") for c in table.columns) == (f.stem != "thigh_left")
        assert table["time_s"][0] == 0.0 and table.height < 25.0 * regime.record["duration_s"] + 1
        rest = table.filter(pl.col("time_s") < 1.5).select("acc_x", "acc_y", "acc_z").to_numpy()
        assert np.abs(np.linalg.norm(rest, axis=1) - 9.81).max() < 0.02
    _, read = read_recording(tmp_path / path, "imu_csv", None)
    assert read.sensors == "upper_back,sacrum,thigh_left"


def _thoracic(rep: RepPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time, progress proxy (the hip's flexion over its peak) and thoracic flexion of one rep."""
    plan = SetPlan("romanian_deadlift", [rep], fidget=False, fatigue=0.0, sway_deg=0.0)
    time, pose, _ = simulate_set(plan, 200.0, np.random.default_rng(3))
    hinge = pose.trunk_chord - pose.thigh_left
    return time, hinge / hinge.max(), pose.thoracic_flexion


def test_mistake_shapes_scale_each_component_and_move_the_spine_onset():
    """A randomised mistake keeps what defines its label within +-25 % and varies what comes with
    it 0-2x; the spine can give way late (onset exponent 2: a quarter of its bottom flexion at half
    depth) where the team shape bends it in step with the hinge."""
    rng = np.random.default_rng(0)
    for label, defining in rz.DEFINING_COMPONENTS.items():
        shape = rz.draw_mistake_shape(rng, label)
        scales = shape["mistake_scales"]
        assert set(scales) == set(MISTAKE_COMPONENTS)
        for part, factor in scales.items():
            low, high = rz.DEFINING_SCALE if part in defining else rz.OTHER_SCALE
            assert low <= factor <= high
        assert rz.SPINE_ONSET[0] <= shape["spine_onset"] <= rz.SPINE_ONSET[1]

    _, team_p, team = _thoracic(RepPlan("rounded_back", 1.0))
    halved = {part: 0.5 for part in MISTAKE_COMPONENTS}
    _, _, scaled = _thoracic(RepPlan("rounded_back", 1.0, mistake_scales=halved))
    assert scaled.max() == pytest.approx(0.5 * team.max(), rel=0.02)
    _, late_p, late = _thoracic(RepPlan("rounded_back", 1.0, spine_onset=2.0))
    assert late.max() == pytest.approx(team.max(), rel=0.02)
    half, half_late = np.argmin(np.abs(team_p - 0.5)), np.argmin(np.abs(late_p - 0.5))
    assert team[half] / team.max() == pytest.approx(0.5, abs=0.05)
    assert late[half_late] / late.max() == pytest.approx(0.25, abs=0.05)


def test_mistake_shapes_leave_the_rest_of_a_seed_alone(tmp_path):
    """Shapes come from their own stream: with or without them a seed has the same sets, reps,
    labels and boundaries; only the mistake reps' angles differ."""
    kwargs = {"n_sets": 12, "seed": 21, "formats": ("trc",), "max_reps": 6}
    fixed = pl.read_csv(
        rz.simulate_randomised(tmp_path / "a", mistake_shapes=False, **kwargs).parent / "truth_reps.csv"
    )
    shaped = pl.read_csv(rz.simulate_randomised(tmp_path / "b", **kwargs).parent / "truth_reps.csv")
    same = ["recording_id", "rep", "t_start_s", "t_bottom_s", "t_end_s", "label", "severity"]
    assert fixed.select(same).equals(shaped.select(same))
    mistakes = fixed["label"] != "good"
    assert mistakes.any()
    peaks = [c for c in fixed.columns if c.startswith("peak_")]
    moved = (
        (fixed.select(peaks) - shaped.select(peaks))
        .select(pl.any_horizontal(pl.all().abs() > 0.1))
        .to_series()
    )
    assert moved.filter(mistakes).any() and not moved.filter(~mistakes).any()


def test_an_athlete_who_looks_ahead_extends_the_neck_at_the_bottom_only():
    """Gaze is the athlete's style: the ear -> shoulder line against the trunk (what pose reads as
    upper-back rounding) turns back by the gaze at the bottom and not at all standing; the spine
    and everything below it move as before."""

    def rounding(gaze: float) -> tuple[np.ndarray, np.ndarray]:
        plan = SetPlan(
            "romanian_deadlift", [RepPlan("good", 0.0)], fidget=False, sway_deg=0.0, gaze_deg=gaze
        )
        time, pose, _ = simulate_set(plan, 100.0, np.random.default_rng(3))
        pts = forward_kinematics(pose, Anthropometry(1.75))
        mid = {k: (pts[f"{k}_left"] + pts[f"{k}_right"]) / 2 for k in ("hip", "shoulder", "ear")}
        forward = np.array([1.0, 0.0, 0.0])
        trunk = tilt_deg(mid["hip"], mid["shoulder"], forward)
        return pose.trunk_chord, tilt_deg(mid["shoulder"], mid["ear"], forward) - trunk

    trunk, neutral = rounding(0.0)
    same_trunk, ahead = rounding(30.0)
    np.testing.assert_allclose(trunk, same_trunk)
    bottom, standing = int(np.argmax(trunk)), int(np.argmin(trunk))
    assert abs(abs(neutral[bottom] - ahead[bottom]) - 30.0) < 1.0
    assert abs(neutral[standing] - ahead[standing]) < 1.0
    streams = [(np.random.default_rng(i), np.random.default_rng([i, 2])) for i in range(50)]
    regimes = [rz.draw_regime(rng, "deadlift", "trc", styles=styles) for rng, styles in streams]
    gazes = [g.plan.gaze_deg for g in regimes]
    assert min(gazes) >= rz.GAZE_DEG[0] and max(gazes) <= rz.GAZE_DEG[1] and np.ptp(gazes) > 20


def test_gaze_leaves_the_rest_of_a_seed_alone(tmp_path):
    """Gaze comes from its own stream: with or without it a seed has the same sets, reps, labels,
    boundaries and joint angles; only the head, so upper-back rounding, differs."""
    kwargs = {"n_sets": 8, "seed": 21, "formats": ("trc",), "max_reps": 4}
    neutral, ahead = (
        pl.read_csv(rz.simulate_randomised(tmp_path / name, gaze=gaze, **kwargs).parent / "truth_reps.csv")
        for name, gaze in (("a", False), ("b", True))
    )
    rounding = "peak_upper_back_rounding_deg"
    assert neutral.drop(rounding).equals(ahead.drop(rounding))
    assert (neutral[rounding] - ahead[rounding]).abs().max() > 5.0
