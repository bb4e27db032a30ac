"""Rep segmentation on simulated sets of every exercise: counts, boundaries, phases."""

import numpy as np
import pytest

from hinge_analytics.reps.segmentation import segment_reps
from hinge_analytics.schema import EXERCISES
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set


@pytest.mark.parametrize("exercise", EXERCISES)
def test_boundaries_match_truth_for_every_exercise(exercise):
    rng = np.random.default_rng(4)
    side = "left" if exercise == "single_leg_rdl" else None
    plan = SetPlan(exercise, [RepPlan("good", 0.0)] * 5 + [RepPlan("hips_not_back", 0.8)], stance_side=side)
    t, pose, truth = simulate_set(plan, 30.0, rng)
    # The hinge signal the pipeline segments on: mean hip flexion = trunk - thigh, plus noise.
    hinge = pose.trunk_chord - (pose.thigh_left + pose.thigh_right) / 2 + rng.normal(0, 0.5, len(t))
    reps = segment_reps(t, hinge)
    assert reps.height == len(truth.t_start_s)
    start_err = np.abs(reps["t_start_s"].to_numpy() - truth.t_start_s)
    end_err = np.abs(reps["t_end_s"].to_numpy() - truth.t_end_s)
    assert np.median(start_err) < 0.15 and np.median(end_err) < 0.15
    phases = reps["eccentric_s"] + reps["bottom_pause_s"] + reps["concentric_s"]
    assert np.allclose(phases.to_numpy(), reps["duration_s"].to_numpy())
    assert reps["top_pause_s"][-1] is None and (reps["top_pause_s"].drop_nulls() >= 0).all()


def test_pauses_and_fidgets_are_not_reps():
    t = np.arange(0, 30, 1 / 30)
    x = np.zeros_like(t)
    for s in (3.0, 12.0, 22.0):  # long pauses between reps
        inside = (t >= s) & (t < s + 3)
        x[inside] = 70 * np.sin(np.pi * (t[inside] - s) / 3) ** 2
    x += 4 * np.exp(-0.5 * ((t - 8.0) / 0.3) ** 2)  # a fidget
    x += 3 * np.sin(2 * np.pi * 1.8 * t) * (t > 27)  # walking out: small antiphase hip swing
    reps = segment_reps(t, x)
    assert reps.height == 3
