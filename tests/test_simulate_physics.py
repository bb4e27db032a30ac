"""Physical sanity of the simulator: body, exercise ranges, mistakes, fatigue, IMU physics."""

import numpy as np
import pytest

from hinge_analytics.numeric import quat_matrix
from hinge_analytics.simulate.body import FOREARM, UPPER_ARM, Anthropometry, forward_kinematics
from hinge_analytics.simulate.imu import imu_signals
from hinge_analytics.simulate.motion import EXERCISE_PROFILES, RepPlan, SetPlan, simulate_set
from hinge_analytics.simulate.team import truth_from_points

LABELS = ("good", "rounded_back", "lumbar_flexion", "hyperextension", "squatting", "hips_not_back")


def _set(exercise, reps, rate=60.0, seed=0, **kw):
    rng = np.random.default_rng(seed)
    side = "left" if exercise == "single_leg_rdl" else None
    plan = SetPlan(exercise, reps, stance_side=side, **kw)
    time, pose, truth = simulate_set(plan, rate, rng)
    body = Anthropometry(1.75)
    points = forward_kinematics(pose, body)
    rows = truth_from_points(points, time, truth.t_start_s, truth.t_bottom_s, truth.t_end_s)
    return time, pose, body, points, rows


@pytest.mark.parametrize("exercise", sorted(EXERCISE_PROFILES))
def test_arm_lengths_constant_in_every_exercise(exercise):
    _, _, _, points, _ = _set(exercise, [RepPlan("good", 0.0)] * 2)
    for side in ("left", "right"):
        upper = np.linalg.norm(points[f"shoulder_{side}"] - points[f"elbow_{side}"], axis=1)
        fore = np.linalg.norm(points[f"elbow_{side}"] - points[f"wrist_{side}"], axis=1)
        np.testing.assert_allclose(upper, UPPER_ARM * 1.75, rtol=1e-6)
        np.testing.assert_allclose(fore, FOREARM * 1.75, rtol=1e-6)


# Literature ranges for good reps at the bottom (deg): motion.py docstring cites the sources.
RANGES = {
    "deadlift": {"hip": (90, 140), "knee": (70, 100), "trunk": (35, 60)},
    "romanian_deadlift": {"hip": (60, 105), "knee": (10, 30), "trunk": (50, 80)},
    "single_leg_rdl": {"hip": (35, 70), "knee": (10, 30), "trunk": (60, 90)},  # hip = mean of sides
    "kettlebell_swing": {"hip": (50, 100), "knee": (15, 40), "trunk": (40, 70)},
    "good_morning": {"hip": (60, 110), "knee": (3, 22), "trunk": (60, 90)},
    "hip_thrust": {"hip": (75, 100), "knee": (95, 130), "trunk": (-65, -35)},
}


@pytest.mark.parametrize("exercise", sorted(RANGES))
def test_good_reps_stay_within_literature_ranges(exercise):
    time, _, _, _, rows = _set(exercise, [RepPlan("good", 0.0)] * 6, seed=4)
    r = RANGES[exercise]
    for row in rows:
        assert r["hip"][0] <= row["peak_hip_flexion_deg"] <= r["hip"][1], row
        assert r["knee"][0] <= row["peak_knee_flexion_left_deg"] <= r["knee"][1], row
        assert r["trunk"][0] <= row["peak_trunk_inclination_deg"] <= r["trunk"][1], row
    durations = [row["t_end_s"] - row["t_start_s"] for row in rows]
    if exercise == "kettlebell_swing":
        assert 0.7 < np.mean(durations) < 1.2  # ~1 s reps
    else:
        assert np.mean(durations) > 1.8
    assert time[-1] - rows[-1]["t_end_s"] > 1.0 and rows[0]["t_start_s"] > 1.0  # standing still


def test_hip_thrust_is_supine_with_level_trunk_at_lockout():
    time, pose, _, points, rows = _set("hip_thrust", [RepPlan("good", 0.0)] * 3)
    lockout = time < rows[0]["t_start_s"]
    assert np.all(np.abs(pose.trunk_chord[lockout] + 90) < 3)
    assert np.all(np.abs(pose.thigh_left[lockout] + 90) < 3)
    # shoulders stay near bench height, behind the hips
    assert np.all(points["shoulder_left"][:, 0] < points["hip_left"][:, 0])
    assert np.ptp(points["shoulder_left"][:, 1]) < 0.1


def test_single_leg_rdl_free_leg_swings_back():
    _, pose, _, points, rows = _set("single_leg_rdl", [RepPlan("good", 0.0)] * 2)
    bottom = np.argmax(pose.trunk_chord)
    assert points["ankle_right"][bottom, 1] > 0.4  # the free foot is off the floor at the bottom
    assert points["ankle_right"][bottom, 0] < points["hip_right"][bottom, 0] - 0.5


@pytest.mark.parametrize(
    ("label", "metric", "sign"),
    [
        ("squatting", "peak_knee_flexion_left_deg", 1),
        ("hips_not_back", "peak_hip_flexion_deg", -1),
        ("rounded_back", "peak_trunk_inclination_deg", 0),
    ],
)
def test_mistake_severity_is_graded(label, metric, sign):
    """Mild mistakes change the metric less than severe ones (same random draws)."""
    values = []
    for severity in (0.0, 0.3, 1.0):
        rep_label = "good" if severity == 0 else label
        _, _, _, _, rows = _set("romanian_deadlift", [RepPlan(rep_label, severity)] * 4, seed=9, fatigue=0)
        values.append(np.mean([r[metric] for r in rows]))
    if sign:
        assert sign * (values[1] - values[0]) > 0
        assert sign * (values[2] - values[1]) > sign * (values[1] - values[0])


def test_rounded_back_rounds_the_thoracic_spine_mildly_then_severely():
    peaks = []
    for severity in (0.3, 1.0):
        _, pose, _, _, _ = _set("romanian_deadlift", [RepPlan("rounded_back", severity)] * 2, fatigue=0)
        peaks.append(pose.thoracic_flexion.max())
    assert 5 < peaks[0] < 15 and peaks[1] > 30


def test_fatigue_slows_the_last_reps():
    first, last = [], []
    for seed in range(6):
        _, _, _, _, rows = _set("romanian_deadlift", [RepPlan("good", 0.0)] * 8, seed=seed, fatigue=1.0)
        durations = [r["t_end_s"] - r["t_start_s"] for r in rows]
        first.append(np.mean(durations[:3]))
        last.append(np.mean(durations[-3:]))
    assert np.mean(last) > np.mean(first)


def test_imu_reads_gravity_at_rest_and_is_consistent():
    time, pose, body, _, rows = _set("romanian_deadlift", [RepPlan("good", 0.0)] * 2, rate=100.0)
    rng = np.random.default_rng(1)
    ideal = imu_signals(time, pose, body, rng=rng, global_heading_deg=37.0, noise=False)
    noisy = imu_signals(time, pose, body, rng=np.random.default_rng(1), global_heading_deg=37.0)
    rest = time < rows[0]["t_start_s"] - 0.2
    for placement, s in ideal.items():
        mag = np.linalg.norm(s.acc[rest], axis=1)
        assert np.all(np.abs(mag - 9.81) < 0.05), placement
        assert np.abs(np.linalg.norm(noisy[placement].acc[rest], axis=1).mean() - 9.81) < 0.15
        # quaternion is the sensor->global rotation; gravity seen through it points up
        r = quat_matrix(s.quat)
        np.testing.assert_allclose(r, s.rotation, atol=1e-9)
        up = np.einsum("nij,nj->ni", r[rest], s.acc[rest])
        np.testing.assert_allclose(up[:, 2], 9.81, atol=0.05)
    # during the rep the thigh/trunk sensors feel more than gravity alone
    assert np.abs(np.linalg.norm(ideal["upper_back"].acc, axis=1) - 9.81).max() > 0.3


def test_gyro_integrates_to_the_orientation_change():
    time, pose, body, _, _ = _set("kettlebell_swing", [RepPlan("good", 0.0)] * 3, rate=100.0)
    signals = imu_signals(time, pose, body, rng=np.random.default_rng(3), noise=False)
    dt = time[1] - time[0]
    for placement in ("upper_back", "sacrum", "thigh_left", "shank_right"):
        s = signals[placement]
        r = s.rotation[0].copy()
        for k in range(len(time) - 1):
            w = (s.gyr[k] + s.gyr[k + 1]) / 2 * dt  # sensor-frame rotation vector
            angle = np.linalg.norm(w)
            if angle > 0:
                a = w / angle
                kx = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
                r = r @ (np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx)
        err = np.degrees(np.arccos(np.clip((np.trace(r.T @ s.rotation[-1]) - 1) / 2, -1, 1)))
        assert err < 1.0, (placement, err)
        if placement in ("upper_back", "sacrum"):
            total = np.degrees(np.abs(s.gyr).sum(axis=0).max() * dt)
            assert total > 200  # the trunk really moved: 3 reps of ~50 deg down and up


def test_imu_segment_tilt_truth_matches_the_sensor_orientation_change():
    time, pose, body, _, rows = _set("romanian_deadlift", [RepPlan("good", 0.0)] * 2, rate=60.0)
    s = imu_signals(time, pose, body, placements=("thigh_left",), noise=False)["thigh_left"]
    rel = np.einsum("ji,njk->nik", s.rotation[0], s.rotation)  # sensor rotation since frame 0
    angle = np.degrees(np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1, 1)))
    change = np.abs(s.segment_tilt_deg - s.segment_tilt_deg[0])
    assert np.abs(angle - change).max() < 6.0  # heading/roll sway adds a few degrees
