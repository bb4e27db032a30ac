"""Strap-free IMU descriptors (frontal tilts, knee valgus, hip adduction, rates about each segment's
own axes), their per-rep summaries, curves relative to standing, and the card's trust note."""

import numpy as np
import polars as pl
import pytest

from hinge_analytics.classify.card import trust_notes
from hinge_analytics.classify.features import model_input, usable_features, with_derived
from hinge_analytics.features.curves import curves_from_standing
from hinge_analytics.features.descriptors import DESCRIPTOR_INPUTS, rep_descriptors
from hinge_analytics.features.metrics import rep_metrics
from hinge_analytics.ingest.frames import imu_frames_from_arrays
from hinge_analytics.kinematics import imu as K
from hinge_analytics.reps.segmentation import segment_reps
from hinge_analytics.schema import (
    ANGLES,
    CURVE_COLUMNS,
    IMU_DESCRIPTOR_COLUMNS,
    REP_DESCRIPTOR_COLUMNS,
    REP_METRIC_COLUMNS,
    STANDING_CURVE_COLUMNS,
)
from hinge_analytics.simulate.body import Anthropometry
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set

sim_imu = pytest.importorskip("hinge_analytics.simulate.imu")
RATE = 100.0
G = np.array([0.0, 0.0, 9.81])


# ----------------------------------------------------------------------------- synthetic segments
def _rot(axis: int, deg: np.ndarray) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((len(a), 3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3  # cyclic: right-handed about every axis
    out[:, axis, axis] = 1.0
    out[:, i, i], out[:, i, j], out[:, j, i], out[:, j, j] = c, -s, s, c
    return out


def _segment(sagittal_deg: np.ndarray, roll_deg: np.ndarray, mount: np.ndarray) -> dict[str, np.ndarray]:
    """Accelerometer and gyroscope of a sensor strapped at ``mount`` on a segment tilted forward by
    ``sagittal_deg`` (about the athlete's left, world y) and then rolled by ``roll_deg`` (about
    forward, world x; positive = its top to the athlete's right). World: x forward, y left, z up."""
    r = _rot(0, roll_deg) @ _rot(1, sagittal_deg) @ mount
    dr = np.gradient(r, 1.0 / RATE, axis=0)
    omega = np.einsum("nij,nkj->nik", dr, r)  # R' R^T, skew-symmetric: angular velocity in world axes
    w_world = np.stack([omega[:, 2, 1], omega[:, 0, 2], omega[:, 1, 0]], axis=1)
    acc = np.einsum("nji,j->ni", r, G)
    gyr = np.einsum("nji,nj->ni", r, w_world)
    return {
        **{f"acc_{a}": acc[:, k] for k, a in enumerate("xyz")},
        **{f"gyr_{a}": gyr[:, k] for k, a in enumerate("xyz")},
    }


def _squat(valgus_deg: float, seed: int = 0, reps: int = 4):
    """Squat-like set: trunk forward 35 deg, thighs back 95 deg, shanks forward 35 deg at the bottom;
    on the way up each knee caves in by up to ``valgus_deg`` (thigh and shank share it), as in the
    real squat set's valgus class; sensors strapped at random. Returns the angles and how far the
    knees have caved in (0..1).

    A knee caving in by the same fraction of the depth all the way down and up would move each
    segment in one tilted plane: a turn about one axis, which a single sensor cannot tell from a
    sagittal turn of an athlete facing a little sideways. What it sees is the way up leaving the
    way down."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 2.0 + 2.5 * reps + 2.0, 1.0 / RATE)
    phase = np.clip((t - 2.0) / 2.5, 0, reps)
    moving = (t > 2.0) & (phase < reps)
    depth = np.where(moving, np.sin(np.pi * (phase % 1.0)) ** 2, 0.0)
    caved = np.where(moving & (phase % 1.0 > 0.5), np.sin(np.pi * (2 * (phase % 1.0) - 1.0)) ** 2, 0.0)
    mounts = {
        p: sim_imu.random_mounting(rng, max_deg=60.0, permute=True)
        for p in ("lower_back", "thigh_left", "thigh_right", "shank_left", "shank_right")
    }
    sensors = {"lower_back": _segment(35 * depth, 0 * depth, mounts["lower_back"])}
    for side, lateral in (("left", -1.0), ("right", 1.0)):  # the athlete's right is the roll's positive side
        # knee towards the midline: the thigh's top goes lateral, the shank's top (the knee) medial
        half = 0.5 * valgus_deg * caved
        sensors[f"thigh_{side}"] = _segment(-95 * depth, lateral * half, mounts[f"thigh_{side}"])
        sensors[f"shank_{side}"] = _segment(35 * depth, -lateral * half, mounts[f"shank_{side}"])
    read = imu_frames_from_arrays(sensors, t)
    return K.imu_angles(read.frames, read.sample_rate_hz, exercise="squat"), caved


def test_knee_valgus_is_positive_on_both_legs_whatever_the_mounting():
    angles, caved = _squat(valgus_deg=16.0)
    bottom = caved > 0.95
    for side in ("left", "right"):
        valgus = angles[f"knee_valgus_{side}_deg"].to_numpy()
        assert np.nanmedian(valgus[bottom]) == pytest.approx(16.0, abs=4.0), side
        assert np.nanmedian(angles[f"thigh_frontal_{side}_deg"].to_numpy()[bottom]) > 4.0
        assert np.nanmedian(angles[f"shank_frontal_{side}_deg"].to_numpy()[bottom]) > 4.0
        assert abs(np.nanmedian(valgus[:150])) < 0.5  # standing before the set: no valgus
    straight, _ = _squat(valgus_deg=0.0)
    assert np.nanmax(np.abs(straight["knee_valgus_left_deg"].to_numpy())) < 2.0


def test_frontal_rates_integrate_to_the_frontal_turn():
    angles, _ = _squat(valgus_deg=16.0, seed=3)
    bounds = segment_reps(angles["t_s"].to_numpy(), angles["hinge_deg"].to_numpy())
    reps = rep_metrics(angles, bounds)
    assert reps.height == 4
    # each leg segment rolls by half the valgus and back: about 8 deg of frontal turn per rep
    for column in ("turn_thigh_frontal_left_deg", "turn_shank_frontal_right_deg"):
        assert np.median(reps[column].to_numpy()) == pytest.approx(8.0, abs=2.5), column
    # a pure sagittal set barely turns about the antero-posterior or longitudinal axes
    straight, _ = _squat(valgus_deg=0.0, seed=3)
    flat = rep_metrics(straight, segment_reps(straight["t_s"].to_numpy(), straight["hinge_deg"].to_numpy()))
    assert flat["turn_thigh_frontal_left_deg"].max() < 2.0 and flat["turn_thigh_axial_left_deg"].max() < 2.0
    assert flat["range_knee_valgus_left_deg"].max() < 2.0


def _sim_set(exercise, mountings=None, roll=8.0, quats=False, seed=3):
    rng = np.random.default_rng(seed)
    plan = SetPlan(exercise, [RepPlan("good", 0.0)] * 4, roll_deg=roll)
    t, pose, _ = simulate_set(plan, 60.0, rng)
    signals = sim_imu.imu_signals(t, pose, Anthropometry(1.8), rng=rng, mountings=mountings, noise=False)
    sensors = {}
    for placement, s in signals.items():
        ch = {f"acc_{a}": s.acc[:, k] for k, a in enumerate("xyz")} | {
            f"gyr_{a}": s.gyr[:, k] for k, a in enumerate("xyz")
        }
        if quats:
            ch |= {f"quat_{a}": s.quat[:, k] for k, a in enumerate("wxyz")}
        sensors[placement] = ch
    read = imu_frames_from_arrays(sensors, t)
    roll_truth = pose.roll_deg - pose.roll_deg[:30].mean()
    return K.imu_angles(read.frames, read.sample_rate_hz, exercise=exercise), roll_truth


@pytest.mark.parametrize(
    ("exercise", "quats"), [("romanian_deadlift", False), ("good_morning", True), ("hip_thrust", False)]
)
def test_trunk_roll_reads_as_lateral_tilt_and_hip_adduction(exercise, quats):
    """The simulator rolls the trunk side to side (positive = to the right) and the thighs by 0.3 of
    it: the trunk's lateral tilt follows the roll, the thighs' frontal tilts mirror each other, hip
    adduction is the difference, also for a hip thrust that starts lying in a bridge."""
    rng = np.random.default_rng(5)
    mounts = {p: sim_imu.random_mounting(rng, max_deg=60.0, permute=True) for p in sim_imu.PLACEMENT_SEGMENT}
    angles, roll = _sim_set(exercise, mounts, quats=quats)
    expected = {
        "trunk_lateral_tilt_deg": roll,
        "thigh_frontal_left_deg": -0.3 * roll,  # its top to the right = its knee end out
        "thigh_frontal_right_deg": 0.3 * roll,
        "hip_adduction_left_deg": 0.7 * roll,
        "hip_adduction_right_deg": -0.7 * roll,
    }
    for column, truth in expected.items():
        got = angles[column].to_numpy()
        assert np.corrcoef(np.nan_to_num(got), truth)[0, 1] > 0.9, column
        # a thigh that barely swings (good morning) has a less certain medio-lateral axis
        assert np.sqrt(np.nanmean((got - truth) ** 2)) < 0.5 * np.std(truth) + 1.0, column


def test_descriptors_do_not_depend_on_how_sensors_are_strapped():
    identity = {p: np.eye(3) for p in sim_imu.PLACEMENT_SEGMENT}
    rng = np.random.default_rng(9)
    odd = {p: sim_imu.random_mounting(rng, max_deg=60.0, permute=True) for p in sim_imu.PLACEMENT_SEGMENT}
    a, _ = _sim_set("deadlift", identity, seed=1)
    b, _ = _sim_set("deadlift", odd, seed=1)
    for column in ("trunk_lateral_tilt_deg", "hip_adduction_left_deg", "thigh_angular_speed_left_deg_s"):
        assert np.nanmax(np.abs(a[column].to_numpy() - b[column].to_numpy())) < 1.5, column
    for column in ("trunk_axial_rate_deg_s", "thigh_frontal_rate_right_deg_s"):
        diff = a[column].to_numpy() - b[column].to_numpy()
        assert np.sqrt(np.nanmean(diff**2)) < 3.0, column


def test_every_descriptor_column_is_made_and_the_sagittal_angles_come_from_the_same_motion():
    angles, _ = _squat(valgus_deg=10.0)
    assert set(IMU_DESCRIPTOR_COLUMNS) <= set(angles.columns) and set(IMU_DESCRIPTOR_COLUMNS) <= set(ANGLES)
    present = [c for c in IMU_DESCRIPTOR_COLUMNS if angles[c].null_count() < angles.height]
    # no sacrum or upper back here: the trunk is the lower back; every descriptor has its sensor
    assert present == list(IMU_DESCRIPTOR_COLUMNS)
    t = np.arange(0, 10, 0.01)
    frames = imu_frames_from_arrays({"thigh_left": _segment(60 * np.sin(t) ** 2, 0 * t, np.eye(3))}, t).frames
    motion = K.sensor_motion(frames, "thigh_left", 100.0)
    np.testing.assert_array_equal(motion.tilt, K.sensor_tilt_change(frames, "thigh_left", 100.0))
    only = K.imu_angles(frames, 100.0)
    assert only["knee_valgus_left_deg"].null_count() == only.height  # no shank: no valgus
    assert only["thigh_frontal_left_deg"].null_count() < only.height


# ----------------------------------------------------------------------------- per-rep summaries
def _series(n: int) -> dict[str, np.ndarray]:
    return {c: np.full(n, np.nan) for c in DESCRIPTOR_INPUTS}


def test_rep_descriptors_are_relative_to_the_standing_posture_around_the_rep():
    t = np.arange(0, 3.0, 0.01)
    s = _series(len(t))
    bump = np.sin(np.pi * t / 3.0) ** 2
    s["knee_valgus_left_deg"] = 5.0 + 12.0 * bump  # a 5 deg offset from a wrong still reference
    s["thigh_axial_rate_left_deg_s"] = np.full(len(t), 20.0)  # turning 20 deg/s for 3 s
    s["trunk_angular_speed_deg_s"] = 30.0 * bump
    s["trunk_inclination_deg"] = 40.0 * bump - 10.0 * (np.abs(t - 1.5) < 0.3)
    s["ankle_dorsiflexion_left_deg"] = 25.0 * bump
    bottom = int(np.argmin(np.abs(t - 1.5)))
    row = rep_descriptors(t, s, np.arange(len(t)), bottom)
    assert set(row) == set(REP_DESCRIPTOR_COLUMNS)
    assert row["peak_knee_valgus_left_deg"] == pytest.approx(12.0, abs=0.1)
    assert row["range_knee_valgus_left_deg"] == pytest.approx(12.0, abs=0.1)
    assert row["turn_thigh_axial_left_deg"] == pytest.approx(20.0 * t[-1], rel=1e-6)
    assert row["peak_trunk_angular_speed_deg_s"] == pytest.approx(30.0, abs=0.1)
    assert row["bottom_trunk_minus_shank_deg"] == pytest.approx(40.0 - 10.0 - 25.0, abs=0.1)
    # the trunk's highest point is just outside the 10 deg dip, where the bump is sin^2(0.4 pi)
    assert row["trunk_drop_at_bottom_deg"] == pytest.approx(40.0 * np.sin(0.4 * np.pi) ** 2 - 30.0, abs=0.3)
    assert np.isnan(row["peak_knee_valgus_right_deg"])  # no right leg
    assert set(REP_DESCRIPTOR_COLUMNS) <= set(REP_METRIC_COLUMNS)


def test_curves_from_standing_subtract_the_ends_of_each_curve():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, len(CURVE_COLUMNS)))
    reps = pl.DataFrame({c: values[:, j] for j, c in enumerate(CURVE_COLUMNS)})
    out = curves_from_standing(reps)
    assert out.columns == list(STANDING_CURVE_COLUMNS)
    trunk = values[:, :20]
    np.testing.assert_allclose(
        out.select(STANDING_CURVE_COLUMNS[:20]).to_numpy(), trunk - (trunk[:, [0]] + trunk[:, [-1]]) / 2
    )
    # a frame without curves (labelled reps read without them) gets nulls, not an error
    assert curves_from_standing(pl.DataFrame({"rep": [1]})).null_count().sum_horizontal().item() == len(
        STANDING_CURVE_COLUMNS
    )


def test_models_trained_before_keep_their_inputs():
    """The classifier's input frame still holds every column an older model selects (the shipped
    default model's families), and the derived curves are usable features of new ones."""
    import json

    from hinge_analytics.classify import DEFAULT_MODEL_DIR

    meta = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    reps = pl.DataFrame({"athlete_id": ["a"], "session_date": ["2026-01-01"], "exercise": ["deadlift"]})
    columns = set(model_input(reps).columns)
    for key, family in meta["families"].items():
        assert set(family["features"]) <= columns, key
    curves = pl.DataFrame({c: [float(j)] * 3 for j, c in enumerate(CURVE_COLUMNS)})
    assert STANDING_CURVE_COLUMNS[0] in usable_features(with_derived(curves))


# ----------------------------------------------------------------------------- model card
def test_card_says_when_athletes_or_reps_are_too_few():
    few = {
        "athletes": 3,
        "label_counts": {"good": 30, "partial": 30},
        "label_athletes": {"good": 3, "partial": 3},
    }
    notes = trust_notes(few)
    assert len(notes) == 1 and "only 3 athletes" in notes[0]
    thin = {
        "athletes": 8,
        "label_counts": {"good": 400, "squatting": 12},
        "label_athletes": {"good": 8, "squatting": 2},
    }
    (note,) = trust_notes(thin)
    assert "`squatting` (12 reps, 2 athletes)" in note and "good" not in note
    plenty = {
        "athletes": 12,
        "label_counts": {"good": 900, "squatting": 200},
        "label_athletes": {"good": 12, "squatting": 9},
    }
    assert trust_notes(plenty) == []
