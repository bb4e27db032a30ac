"""IMU angles against the simulator's truth: unknown mountings, with and without quaternions, low rates."""

import numpy as np
import pytest

from hinge_analytics.features.metrics import rep_metrics
from hinge_analytics.ingest.frames import imu_frames_from_arrays
from hinge_analytics.kinematics import imu as K
from hinge_analytics.reps.segmentation import segment_reps
from hinge_analytics.simulate.body import Anthropometry, forward_kinematics
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set
from hinge_analytics.simulate.team import truth_from_points

sim_imu = pytest.importorskip("hinge_analytics.simulate.imu")

PEAKS = (
    "peak_hip_flexion_deg",
    "peak_knee_flexion_left_deg",
    "peak_knee_flexion_right_deg",
    "peak_trunk_inclination_deg",
)


def _imu_set(exercise, rate, seed, quats, mountings=None, side=None, placements=None):
    rng = np.random.default_rng(seed)
    plan = SetPlan(
        exercise,
        [RepPlan("good", 0.0), RepPlan("rounded_back", 0.7), RepPlan("squatting", 0.6), RepPlan("good", 0.0)],
        stance_side=side,
        knee_asymmetry_deg=8.0,
    )
    t, pose, truth = simulate_set(plan, rate, rng)
    body = Anthropometry(1.8)
    tr = truth_from_points(
        forward_kinematics(pose, body), t, truth.t_start_s, truth.t_bottom_s, truth.t_end_s
    )
    kwargs = {"placements": placements} if placements else {}
    signals = sim_imu.imu_signals(t, pose, body, rng=rng, mountings=mountings, **kwargs)
    sensors = {}
    for placement, s in signals.items():
        ch = {f"acc_{a}": s.acc[:, k] for k, a in enumerate("xyz")}
        ch |= {f"gyr_{a}": s.gyr[:, k] for k, a in enumerate("xyz")}
        if quats:
            ch |= {f"quat_{a}": s.quat[:, k] for k, a in enumerate("wxyz")}
        sensors[placement] = ch
    read = imu_frames_from_arrays(sensors, t)
    angles = K.imu_angles(read.frames, read.sample_rate_hz, exercise=exercise, stance_side=side)
    reps = rep_metrics(angles, segment_reps(angles["t_s"].to_numpy(), angles["hinge_deg"].to_numpy()))
    return reps, tr, angles


@pytest.mark.parametrize(
    ("exercise", "rate", "quats", "side"),
    [
        ("romanian_deadlift", 60.0, True, None),
        ("deadlift", 25.0, False, None),
        ("kettlebell_swing", 100.0, False, None),
        ("hip_thrust", 12.5, False, None),
        ("single_leg_rdl", 50.0, True, "right"),
    ],
)
def test_imu_peaks_and_counts_match_truth(exercise, rate, quats, side):
    reps, truth, _ = _imu_set(exercise, rate, seed=3, quats=quats, side=side)
    assert reps.height == len(truth)
    for column in PEAKS:
        err = np.abs(reps[column].to_numpy() - np.array([r[column] for r in truth]))
        assert err.mean() < 5.0, f"{exercise} {column} MAE {err.mean():.1f}"


def test_imu_angles_do_not_depend_on_how_sensors_are_strapped():
    identity = {p: np.eye(3) for p in sim_imu.PLACEMENT_SEGMENT}
    rng = np.random.default_rng(5)
    odd = {p: sim_imu.random_mounting(rng, max_deg=60.0, permute=True) for p in sim_imu.PLACEMENT_SEGMENT}
    a, _, _ = _imu_set("good_morning", 50.0, seed=1, quats=False, mountings=identity)
    b, _, _ = _imu_set("good_morning", 50.0, seed=1, quats=False, mountings=odd)
    for column in PEAKS:
        assert np.allclose(a[column].to_numpy(), b[column].to_numpy(), atol=2.0), column


def test_missing_sensor_gives_null_metrics_not_guesses():
    placements = ("upper_back", "lower_back", "sacrum", "thigh_left", "thigh_right")
    reps, truth, angles = _imu_set("romanian_deadlift", 50.0, seed=2, quats=False, placements=placements)
    assert reps.height == len(truth)
    assert angles["knee_flexion_left_deg"].null_count() == angles.height
    assert reps["peak_knee_flexion_left_deg"].null_count() == reps.height
    assert reps["peak_lumbar_flexion_deg"].null_count() == 0


def test_tilt_change_sign_and_size_from_gravity_alone():
    # A sensor turning 60 deg about its own y axis: up vector turns -60 deg about y.
    angle = np.radians(np.linspace(0, 60, 50))
    up = np.column_stack([-np.sin(angle), np.zeros_like(angle), np.cos(angle)])
    change = K.tilt_change_deg(up, up[0], np.array([0.0, 1.0, 0.0]))
    assert change[-1] == pytest.approx(60.0, abs=1e-6)
