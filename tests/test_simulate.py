import numpy as np
import polars as pl

from hinge_analytics.simulate.body import (
    SHANK,
    THIGH,
    Anthropometry,
    forward_kinematics,
)
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set
from hinge_analytics.simulate.team import simulate_team


def test_segment_lengths_are_constant_and_match_winter():
    rng = np.random.default_rng(0)
    plan = SetPlan("romanian_deadlift", [RepPlan("good", 0.0), RepPlan("squatting", 1.0)])
    _, pose, _ = simulate_set(plan, 60.0, rng)
    body = Anthropometry(1.80)
    points = forward_kinematics(pose, body)
    for side in ("left", "right"):
        thigh = np.linalg.norm(points[f"hip_{side}"] - points[f"knee_{side}"], axis=1)
        shank = np.linalg.norm(points[f"knee_{side}"] - points[f"ankle_{side}"], axis=1)
        np.testing.assert_allclose(thigh, THIGH * 1.80, rtol=1e-9)
        np.testing.assert_allclose(shank, SHANK * 1.80, rtol=1e-9)


def test_truth_rep_boundaries_are_ordered_and_within_recording(tmp_path):
    manifest = simulate_team(
        tmp_path, athletes=2, sessions=1, exercises=("romanian_deadlift", "deadlift"), seed=3
    )
    truth = pl.read_csv(tmp_path / "truth_reps.csv")
    labels = pl.read_csv(tmp_path / "rep_labels.csv")
    assert truth.height == labels.height > 0
    assert (truth["t_start_s"] < truth["t_bottom_s"]).all()
    assert (truth["t_bottom_s"] < truth["t_end_s"]).all()
    # consecutive reps never overlap
    for _, part in truth.group_by("recording_id"):
        part = part.sort("rep")
        assert (part["t_start_s"][1:] >= part["t_end_s"][:-1]).all()
    assert pl.read_csv(manifest).height == 8  # 2 athletes x 2 exercises x 2 sets


def test_simulation_is_deterministic(tmp_path):
    a = simulate_team(tmp_path / "a", athletes=1, sessions=1, seed=5)
    b = simulate_team(tmp_path / "b", athletes=1, sessions=1, seed=5)
    assert pl.read_csv(a).height == 4  # default exercises x 2 sets
    assert (a.parent / "truth_reps.csv").read_text() == (b.parent / "truth_reps.csv").read_text()


def test_squatting_bends_knees_more_than_good_reps():
    rng = np.random.default_rng(1)
    plan = SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * 3 + [RepPlan("squatting", 1.0)] * 3)
    time, pose, truth = simulate_set(plan, 60.0, rng)
    knee = pose.shank_left - pose.thigh_left
    peaks = [
        knee[(time >= s) & (time <= e)].max() for s, e in zip(truth.t_start_s, truth.t_end_s, strict=True)
    ]
    assert min(peaks[3:]) > max(peaks[:3]) + 20


def test_a_set_filmed_from_its_set_up_opens_at_the_bottom_and_starts_with_a_pull():
    reps = [RepPlan("good", 0.0, eccentric_s=1.0, bottom_pause_s=0.5, concentric_s=1.0, top_pause_s=0.5)] * 3
    kwargs = dict(fidget=False, lead_in_s=2.0, lead_out_s=1.0, sway_deg=0.0, roll_deg=0.0, heading_deg=0.0)
    set_up = SetPlan("deadlift", reps, starts_at_bottom=True, **kwargs)
    time, pose, truth = simulate_set(set_up, 50.0, np.random.default_rng(1))
    _, standing_pose, _ = simulate_set(SetPlan("deadlift", reps, **kwargs), 50.0, np.random.default_rng(1))
    hip = pose.trunk_chord - pose.thigh_left
    deepest = float((standing_pose.trunk_chord - standing_pose.thigh_left).max())
    assert hip[time < 2.0].min() > deepest - 1.0  # held at the bar for the whole set-up
    # The first rep is its pull (start = bottom), the others whole reps as in a set started standing.
    assert truth.t_start_s == [2.0, 3.5, 6.5]
    assert truth.t_bottom_s == [2.0, 4.5, 7.5]
    assert truth.t_end_s == [3.0, 6.0, 9.0]
