"""Cue evidence a coach can check: units they know, no symmetry ratios blown up near zero."""

from hinge_analytics.classify.explain import _amount, _nice, checkpoint, explain, top_features


def test_evidence_is_worded_in_units_a_coach_knows():
    assert f"{_nice('peak_knee_flexion_right_deg')} {_amount('peak_knee_flexion_right_deg', 13.2)}" == (
        "peak knee flexion (right) 13° more"
    )
    assert _nice("range_shoulder_protraction_trunk_lengths") == "range of shoulder protraction"
    assert _amount("range_shoulder_protraction_trunk_lengths", 0.038) == "0.04 trunk lengths more"
    assert _amount("hip_travel_leg_lengths", -0.33) == "0.33 leg lengths less"
    assert "e+" not in _amount("knee_to_hip_ratio", 412.0)


def test_symmetry_indices_and_curve_slices_are_no_evidence():
    features = ("si_upper_back_rounding_pct", "curve_upper_back_05", "peak_upper_back_rounding_deg")
    profile = {
        "reference_label": "good",
        "exercises": {
            "*": {
                "reference": {f: [0.0, 1.0] for f in features},
                "labels": {"rounded_back": {"si_upper_back_rounding_pct": 50.0, "curve_upper_back_05": 5.0,
                                            "peak_upper_back_rounding_deg": 5.0}},
            }
        },
    }  # fmt: skip
    row = {"si_upper_back_rounding_pct": 310.0, "curve_upper_back_05": 9.0,
           "peak_upper_back_rounding_deg": 8.0}  # fmt: skip
    assert [f for f, _ in top_features(profile, "deadlift", "rounded_back", row)] == [
        "peak_upper_back_rounding_deg"
    ]


def test_a_mistake_cites_only_measurements_of_its_checkpoint():
    features = ("min_trunk_inclination_deg", "range_ankle_dorsiflexion_right_deg",
                "peak_hip_travel_leg_lengths")  # fmt: skip
    profile = {
        "reference_label": "good",
        "exercises": {"*": {"reference": {f: [0.0, 1.0] for f in features},
                            "labels": {"hyperextension": {"min_trunk_inclination_deg": -8.0,
                                                          "range_ankle_dorsiflexion_right_deg": 6.0,
                                                          "peak_hip_travel_leg_lengths": 2.0},
                                       "ankle_drift": {"range_ankle_dorsiflexion_right_deg": 6.0}}}},
    }  # fmt: skip
    row = {"min_trunk_inclination_deg": -3.0, "range_ankle_dorsiflexion_right_deg": 9.0,
           "peak_hip_travel_leg_lengths": 4.0}  # fmt: skip
    assert [f for f, _ in top_features(profile, "deadlift", "hyperextension", row)] == [
        "min_trunk_inclination_deg"
    ]
    # A coach's own label has no checkpoint of ours: whatever moves it is its evidence.
    assert [f for f, _ in top_features(profile, "deadlift", "ankle_drift", row)] == [
        "range_ankle_dorsiflexion_right_deg"
    ]


def test_a_lockout_past_standing_is_a_lean_back_cue():
    assert _nice("min_trunk_inclination_from_standing_deg") == "lowest trunk inclination from standing"
    for feature in ("min_trunk_inclination_from_standing_deg", "min_hip_flexion_from_standing_deg"):
        assert checkpoint(feature, -8.0) == "don't lean back at lockout"


def test_a_mistake_without_a_measurement_of_its_checkpoint_says_so():
    profile = {
        "reference_label": "good",
        "exercises": {"*": {"reference": {"range_ankle_dorsiflexion_right_deg": [0.0, 1.0]},
                            "labels": {"lumbar_flexion": {"range_ankle_dorsiflexion_right_deg": 6.0}}}},
    }  # fmt: skip
    cue = explain(profile, "deadlift", "lumbar_flexion", {"range_ankle_dorsiflexion_right_deg": 9.0})
    assert cue.startswith("Brace before you go down")
    assert "judged from the whole rep" in cue and "ankle" not in cue
