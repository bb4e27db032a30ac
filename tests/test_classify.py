"""The rep classifier: retraining on coach labels, custom vocabularies, safe model files,
`uncertain`, cues. Quality is only ever checked on an athlete the model did not train on."""

import json
import shutil

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics.classify import load_model, predict_labels
from hinge_analytics.classify.estimator import ModelError, decide
from hinge_analytics.classify.explain import explain
from hinge_analytics.classify.features import (
    ExerciseReference,
    SessionRelative,
    StanceFirst,
    choose_family,
    family_key,
)
from hinge_analytics.cli import app
from hinge_analytics.jobs.predict import reps_for_prediction
from hinge_analytics.jobs.query import connect, query, with_curves
from hinge_analytics.jobs.train import labelled_reps, train
from hinge_analytics.lake import Lake
from hinge_analytics.schema import CURVE_COLUMNS, UNCERTAIN

HELD_OUT = "A004"  # never in the training labels below
FAST = ("logreg",)  # one candidate keeps the tests fast; selection itself is covered once


def _labels(batch, tmp_path, name, mapping=None, athletes=("A001", "A002", "A003")):
    """The simulator's per-rep labels for ``athletes`` only, with labels renamed by ``mapping``."""
    labels = pl.read_csv(batch.parent / "rep_labels.csv").filter(
        pl.col("recording_id").str.slice(0, 4).is_in(list(athletes))
    )
    if mapping:
        labels = labels.with_columns(pl.col("label").replace(mapping))
    path = tmp_path / f"{name}.csv"
    labels.write_csv(path)
    return path


def _held_out_predictions(lake, model, batch):
    reps = reps_for_prediction(connect(lake), all_reps=True)
    out = reps.select("recording_id", "rep", "athlete_id").hstack(predict_labels(model, reps))
    truth = pl.read_csv(batch.parent / "rep_labels.csv")
    return out.filter(pl.col("athlete_id") == HELD_OUT).join(truth, on=["recording_id", "rep"], how="inner")


@pytest.fixture(scope="module")
def binary(lake, batch, tmp_path_factory):
    """Two models on the same three athletes: coach vocabulary solid/fault, and the same labels
    swapped."""
    tmp = tmp_path_factory.mktemp("binary")
    faults = {
        m: "fault" for m in ("rounded_back", "lumbar_flexion", "hyperextension", "squatting", "hips_not_back")
    }
    straight = _labels(batch, tmp, "straight", {"good": "solid", **faults})
    swapped = _labels(batch, tmp, "swapped", {"good": "fault", **{m: "solid" for m in faults}})
    train(lake, tmp / "straight", labels_file=straight, candidates=FAST)
    train(lake, tmp / "swapped", labels_file=swapped, candidates=FAST)
    return tmp / "straight", tmp / "swapped"


def test_training_only_uses_named_reps_and_reports_leave_athlete_out(binary):
    meta = json.loads((binary[0] / "model.json").read_text())
    assert meta["labels"] == ["fault", "solid"]
    assert meta["training_data"]["athletes"] == 3  # the held-out athlete has no label
    ev = meta["evaluation"]
    assert ev["protocol"].startswith("GroupKFold by athlete_id")
    assert ev["n_athletes"] == 3
    for key in ("macro_f1", "brier", "ece"):
        assert 0.0 <= ev[key] <= 2.0
    assert ev["reliability"] and ev["confusion"]
    card = (binary[0] / "MODEL_CARD.md").read_text()
    assert "leave-athlete-out" in card and meta["model_version"] in card and "ECE" in card
    # one candidate: nothing was selected, so the card claims neither a choice nor its bias
    assert "the only candidate" in card and "chosen" not in card and "optimistic" not in card
    assert json.loads((binary[0] / "model_card.json").read_text())["model_version"] == meta["model_version"]


def test_card_sums_rare_sensor_sets_in_one_line(binary, tmp_path):
    """A batch with sensors drawn at random has a hundred sets of a few reps each: the card lists
    the common ones and sums the rest in one line (their figures stay in model.json)."""
    from hinge_analytics.classify.card import MIN_ROW_REPS, write_card

    meta = json.loads((binary[0] / "model.json").read_text())
    figures = {"n_athletes": 1, "macro_f1": 0.5, "sensitivity": 1.0, "specificity": 0.0}
    rare = {"model": "imu:*", "n_reps": 7, **figures}
    meta["by_sensor_set"] = {"imu:shank_left": rare, "imu:thigh_left": {**rare, "n_reps": 5}}
    meta["by_sensor_set"]["imu:sacrum+thigh_left"] = {**rare, "n_reps": MIN_ROW_REPS}
    card = write_card(tmp_path, meta).read_text()
    assert "`imu:sacrum+thigh_left`" in card and "`imu:shank_left`" not in card
    assert f"| 2 others, under {MIN_ROW_REPS} reps each (figures in model.json) | `imu:*` | 12 |" in card


def test_relabelled_training_data_changes_predictions(lake, batch, binary):
    straight = _held_out_predictions(lake, load_model(binary[0]), batch)
    swapped = _held_out_predictions(lake, load_model(binary[1]), batch)
    good = pl.col("label_right") == "good"
    # On the unseen athlete, good reps are called "solid" by one model and "fault" by the other.
    assert (straight.filter(good)["predicted_label"] == "solid").mean() > 0.7
    assert (swapped.filter(good)["predicted_label"] == "fault").mean() > 0.7
    assert (straight.filter(~good)["predicted_label"] == "fault").mean() > 0.6


def test_custom_vocabulary_is_learned(lake, batch, tmp_path):
    labels = _labels(batch, tmp_path, "valgus", {"squatting": "knee_valgus"})
    meta = train(lake, tmp_path / "m", labels_file=labels, candidates=FAST)
    assert "knee_valgus" in meta["labels"] and "squatting" not in meta["labels"]
    model = load_model(tmp_path / "m")
    predicted = predict_labels(model, reps_for_prediction(connect(lake), all_reps=True))
    assert set(predicted["predicted_label"]) <= set(meta["labels"])
    valgus = predicted.filter(pl.col("label") == "knee_valgus")
    assert valgus.height > 0
    assert all(c.startswith("Looks like knee valgus") for c in valgus["cue"])


def test_uncertain_threshold(lake, binary):
    model = load_model(binary[0])
    reps = reps_for_prediction(connect(lake), all_reps=True)
    nobody_sure = predict_labels(model, reps, uncertain_below=1.01)
    assert (nobody_sure["label"] == UNCERTAIN).all()
    assert nobody_sure["cue"].str.starts_with("Not sure").all()
    assert set(nobody_sure["predicted_label"]) <= {"solid", "fault"}
    always_sure = predict_labels(model, reps, uncertain_below=0.0)
    assert (always_sure["label"] != UNCERTAIN).all()
    assert ((always_sure["confidence"] >= 0.5) & (always_sure["confidence"] <= 1.0)).all()


def test_cli_predict_uses_the_given_model(lake, binary, tmp_path):
    copy = tmp_path / "lake"
    shutil.copytree(lake.root, copy)
    result = CliRunner().invoke(app, ["predict", "--lake", str(copy), "--model", str(binary[1])])
    assert result.exit_code == 0, result.output
    version = load_model(binary[1]).version_
    assert version in result.output
    from hinge_analytics.lake import Lake

    reps = query(Lake(copy), "SELECT label, model_version FROM rep_view")
    assert (reps["model_version"] == version).all()
    assert set(reps["label"]) <= {"solid", "fault", UNCERTAIN}


def test_tampered_model_is_refused(binary, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(binary[0], copy)
    skops_file = next(copy.glob("*.skops"))
    data = bytearray(skops_file.read_bytes())
    data[-10] ^= 0xFF
    skops_file.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_model(copy)
    Lake(tmp_path / "lake").create()  # predict checks the lake before it loads the model
    result = CliRunner().invoke(app, ["predict", "--lake", str(tmp_path / "lake"), "--model", str(copy)])
    assert result.exit_code != 0 and "checksum" in result.output and "Traceback" not in result.output


def test_labels_file_overrides_and_custom_vocabulary(lake, tmp_path):
    rid = lake.read("recordings")["recording_id"][0]
    labels = tmp_path / "labels.csv"
    labels.write_text(f"recording_id,rep,label\n{rid},,knee_valgus\n{rid},1,early_hip_rise\n")
    reps = labelled_reps(lake, labels)
    assert set(reps["train_label"]) == {"knee_valgus", "early_hip_rise"}
    assert reps.filter(pl.col("rep") == 1)["train_label"][0] == "early_hip_rise"
    # A label is one class however it was typed, in the spelling the coach used most ("Knee
    # Valgus" for most reps, "knee-valgus " for one), or the taxonomy's ("Good" is good).
    labels.write_text(f"recording_id,rep,label\n{rid},,Knee Valgus\n{rid},1,knee-valgus \n{rid},2,Good\n")
    reps = labelled_reps(lake, labels)
    assert set(reps["train_label"]) == {"Knee Valgus", "good"}


def test_session_relative_features_use_no_labels():
    X = pl.DataFrame(
        {
            "athlete_id": ["a"] * 4 + ["b"] * 2,
            "session_date": ["d"] * 6,
            "exercise": ["deadlift"] * 6,
            "m": [1.0, 2.0, 3.0, 10.0, 5.0, 6.0],
        }
    )
    out = SessionRelative(["m"], group_by=("athlete_id", "session_date", "exercise")).fit_transform(X)
    assert out["rel_m"][:4].to_list() == [-1.5, -0.5, 0.5, 7.5]
    assert np.isnan(out["rel_m"][4:].to_numpy()).all()  # a group of two is too small


def test_standardised_session_features_read_in_the_sessions_own_spread():
    """The same fault, three times an athlete's usual rep-to-rep scatter, reads alike whether the
    reps scatter by 1 deg or by 5; a session whose reps are all equal reads 0, not 0 / 0."""
    calm, loose = [0.0, 1.0, -1.0, 0.5, -0.5, 3.0], [0.0, 5.0, -5.0, 2.5, -2.5, 15.0]
    X = pl.DataFrame(
        {
            "athlete_id": ["calm"] * 6 + ["loose"] * 6 + ["still"] * 3,
            "session_date": ["d"] * 15,
            "exercise": ["squat"] * 15,
            "m": calm + loose + [2.0] * 3,
        }
    )
    out = SessionRelative(["m"], scale=True).fit_transform(X)["rel_m"].to_numpy()
    np.testing.assert_allclose(out[:6], out[6:12])
    assert out[5] > 1.5 and out[:5].max() < 1.0
    assert (out[12:] == 0.0).all()
    centred = SessionRelative(["m"]).fit_transform(X)["rel_m"].to_numpy()
    assert centred[11] == 5 * centred[5]


def test_exercise_reference_reads_a_rep_in_its_own_lifts_spread():
    """A fault three usual spreads out reads alike in a lift that moves a metric by 2 deg and in
    one that moves it by 10; a lift the training reps never had reads against all of them. No
    label is used, so a coach's vocabulary without ``good`` is referenced the same way."""
    usual = np.random.default_rng(5).normal(0.0, 1.0, 60)
    stiff, loose = 20.0 + 2.0 * usual, 60.0 + 10.0 * usual
    X = pl.DataFrame({"exercise": ["good_morning"] * 60 + ["deadlift"] * 60, "m": np.r_[stiff, loose]})
    reference = ExerciseReference(["m"]).fit(X)
    faults = pl.DataFrame(
        {"exercise": ["good_morning", "deadlift", "lunge"], "m": [20.0 + 3 * 2.0, 60.0 + 3 * 10.0, 40.0]}
    )
    out = reference.transform(faults)["ex_m"].to_numpy()
    assert out[0] == pytest.approx(out[1]) and 2.0 < out[0] < 4.0
    pooled = np.r_[stiff, loose]
    expected = (40.0 - np.median(pooled)) / (1.4826 * np.median(np.abs(pooled - np.median(pooled))))
    assert out[2] == pytest.approx(expected)
    # a metric constant in the training reps gives no feature rather than x / 0
    flat = ExerciseReference(["m"]).fit(X.with_columns(pl.lit(1.0).alias("m")))
    assert np.isnan(flat.transform(faults)["ex_m"].to_numpy()).all()


def test_a_relative_candidate_sees_only_session_relative_metrics():
    """``rf-relative`` learns from each metric minus its session median, never the metric itself:
    an offset constant for an athlete (a sensor strapped on at another angle) cannot move it."""
    from hinge_analytics.classify.estimator import ESTIMATOR_NAMES, build_pipeline

    rng = np.random.default_rng(3)
    depth = rng.normal(0.0, 1.0, 48)
    y = np.where(depth > 0, "deep", "shallow")
    X = pl.DataFrame(
        {
            "athlete_id": np.repeat(["a", "b", "c", "d"], 12),
            "session_date": ["d"] * 48,
            "exercise": ["squat"] * 48,
            "side": [""] * 48,
            "m": depth,
        }
    )
    relative = build_pipeline(["m"], "rf-relative").fit(X, y)
    names = relative.named_steps["columns"].get_feature_names_out()
    assert "rel_m" in names and "m" not in names
    standardised = build_pipeline(["m"], "rf-standardised").fit(X, y)
    assert list(standardised.named_steps["columns"].get_feature_names_out()) == ["exercise_squat", "rel_m"]
    assert standardised.named_steps["relative"].scale and not relative.named_steps["relative"].scale
    assert "m" in build_pipeline(["m"], "rf").fit(X, y).named_steps["columns"].get_feature_names_out()
    mounted_otherwise = X.with_columns(pl.col("m") + 40.0)  # the same reps, another constant offset
    assert (relative.predict(mounted_otherwise) == relative.predict(X)).all()
    assert "relative" in ESTIMATOR_NAMES["rf-relative"]
    # A lockout measured from the athlete's own standing is kept as it is: when every rep of a set
    # leans back, its session median would hide the fault.
    lean = "min_trunk_inclination_from_standing_deg"
    with_lean = build_pipeline(["m", lean], "rf-relative").fit(X.with_columns(pl.col("m").alias(lean)), y)
    assert lean in with_lean.named_steps["columns"].get_feature_names_out()


def test_single_leg_work_is_seen_stance_leg_first():
    columns = ["peak_knee_flexion_left_deg", "peak_knee_flexion_right_deg", "si_knee_flexion_pct", "m"]
    X = pl.DataFrame(
        {
            "side": ["left", "right", ""],
            "peak_knee_flexion_left_deg": [20.0, 8.0, 15.0],
            "peak_knee_flexion_right_deg": [8.0, 20.0, 14.0],
            "si_knee_flexion_pct": [85.7, -85.7, 6.9],
            "m": [1.0, 2.0, 3.0],
        }
    )
    out = StanceFirst(columns).fit_transform(X)
    # the right-stance rep now reads like the mirrored left-stance rep; bilateral rows are untouched
    assert out.row(1)[1:4] == out.row(0)[1:4]
    assert out.row(2) == X.row(2)
    assert out["m"].to_list() == [1.0, 2.0, 3.0]


def test_good_needs_a_probability_of_at_least_one_half():
    classes = np.array(["good", "rounded_back", "squatting"])
    proba = np.array([[0.45, 0.35, 0.20], [0.55, 0.40, 0.05], [0.10, 0.30, 0.60]])
    assert classes[decide(proba, classes, 0.5)].tolist() == ["rounded_back", "good", "squatting"]
    custom = np.array(["knee_valgus", "ok"])  # a coach's vocabulary without "good": most probable
    assert custom[decide(np.array([[0.45, 0.55]]), custom, 0.5)].tolist() == ["ok"]


def test_model_family_choice():
    assert family_key("pose", "world_m") == "pose:*"
    assert family_key("imu", "sacrum,lower_back") == "imu:lower_back+sacrum"
    assert family_key("imu", "sacrum, bar,lower_back") == "imu:lower_back+sacrum"  # no body angle off it
    assert family_key("imu", "wrist_left") == "imu:wrist_left"
    available = ["imu:*", "imu:lower_back", "imu:lower_back+sacrum+upper_back", "pose:*"]
    assert choose_family("imu:lower_back+sacrum+upper_back", available) == "imu:lower_back+sacrum+upper_back"
    # a smaller set's model never saw the extra sensors: the pooled one saw every set
    assert choose_family("imu:lower_back+sacrum+thigh_left", available) == "imu:*"
    assert choose_family("imu:wrist_left", available) == "imu:*"
    assert choose_family("imu:thigh_left", available) == "imu:*"
    assert choose_family("pose:*", available) == "pose:*"


def test_cue_names_the_features_behind_a_custom_label():
    profile = {
        "reference_label": "good",
        "exercises": {
            "*": {
                "reference": {
                    "peak_knee_flexion_left_deg": [20.0, 4.0],
                    "peak_trunk_inclination_deg": [70.0, 5.0],
                },
                "labels": {
                    "good": {"peak_knee_flexion_left_deg": 20.0, "peak_trunk_inclination_deg": 70.0},
                    "knee_cave": {"peak_knee_flexion_left_deg": 40.0, "peak_trunk_inclination_deg": 70.0},
                },
            }
        },
    }
    row = {"peak_knee_flexion_left_deg": 44.0, "peak_trunk_inclination_deg": 71.0}
    cue = explain(profile, "deadlift", "knee_cave", row)
    assert cue.startswith("Looks like knee cave: soften knees less")
    assert "24° more than a good rep" in cue
    assert explain(profile, "deadlift", "good", row) == "Good rep: keep it up."


def test_sensor_set_model_kept_only_if_it_beats_the_pooled_model():
    from hinge_analytics.classify.evaluation import _drop_families_the_pooled_model_beats

    part = pl.DataFrame({"recording_id": ["r1", "r1"], "rep": [1, 2], "train_label": ["good", "bad"]})
    classes = np.array(["bad", "good"])
    pooled = {("r1", 1): (np.array([0.2, 0.8]), classes), ("r1", 2): (np.array([0.9, 0.1]), classes)}
    for own_f1, kept in ((0.5, False), (1.5, True)):
        families = {"imu:*": {}, "imu:sacrum": {"evaluation": {"macro_f1": own_f1}}}
        oof = {"imu:*": pooled, "imu:sacrum": {}}
        plan = {"imu:*": part, "imu:sacrum": part}
        _drop_families_the_pooled_model_beats(families, oof, plan, {"imu:*": 0.5})
        assert ("imu:sacrum" in families) == kept


def test_angle_curves_follow_the_rep(lake, batch, tmp_path):
    """Each rep gets its angles resampled to CURVE_POINTS slices of its own time: the trunk curve
    of a hinge starts upright, leans furthest mid-rep and ends upright again; the same columns come
    with labelled reps, and pose has no IMU-only curve."""
    from hinge_analytics.classify.features import usable_features
    from hinge_analytics.schema import CURVE_POINTS

    reps = reps_for_prediction(connect(lake), all_reps=True)
    trunk = reps.select([f"curve_trunk_{i:02d}" for i in range(CURVE_POINTS)]).to_numpy()
    assert np.isfinite(trunk).mean() > 0.95
    middle = np.nanmedian(trunk[:, CURVE_POINTS // 2 - 2 : CURVE_POINTS // 2 + 2], axis=1)
    ends = np.nanmedian(trunk[:, [0, 1, -2, -1]], axis=1)
    assert np.nanmedian(middle - ends) > 20
    features = usable_features(reps)
    assert "curve_upper_back_00" in features and "curve_lumbar_00" not in features
    assert "curve_trunk_10" in labelled_reps(lake, _labels(batch, tmp_path, "all")).columns


def test_curves_of_an_older_ingest_are_computed_from_its_angles(lake, tmp_path):
    """A lake ingested before curves were stored has no rep_curves rows: the curves then come from
    the frame angles, equal to the ones ingest stores."""
    reps = reps_for_prediction(connect(lake), all_reps=True).select("recording_id", "rep")
    stored = with_curves(connect(lake), reps).sort("recording_id", "rep")
    old = Lake(tmp_path / "lake")
    shutil.copytree(lake.root, old.root)
    older = reps["recording_id"].unique().sort().to_list()[:3]
    old.replace_recordings("rep_curves", pl.DataFrame(), older)
    assert old.read("rep_curves", ["recording_id"], older).height == 0
    computed = with_curves(connect(old), reps).sort("recording_id", "rep")
    a, b = (f.select(CURVE_COLUMNS).to_numpy().astype(float) for f in (computed, stored))
    assert a.shape == b.shape and np.isfinite(b).mean() > 0.5
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)


def test_two_athletes_are_enough_to_choose_the_estimator():
    """A coach with two athletes' labels gets the candidate that carries from one athlete to the
    other, not the first one: here the second athlete's sensor reads everything 40 higher (a strap
    at another angle), which only metrics relative to the athlete's own sessions survive."""
    from hinge_analytics.classify.estimator import CANDIDATES, select_estimator

    rng = np.random.default_rng(5)
    depth = rng.normal(0.0, 1.0, 80)
    athlete = np.repeat(["a", "b"], 40)
    X = pl.DataFrame(
        {
            "athlete_id": athlete,
            "session_date": ["d"] * 80,
            "exercise": ["squat"] * 80,
            "side": [""] * 80,
            "m": depth + np.where(athlete == "b", 40.0, 0.0),
        }
    )
    y = np.where(depth > 0, "deep", "shallow")
    kind, scores = select_estimator(X, y, athlete, ["m"])
    assert set(scores) == set(CANDIDATES)
    assert kind in ("rf-relative", "rf-standardised")


def test_card_names_a_selection_only_when_there_was_one():
    from hinge_analytics.classify.card import _estimator_choice, _selection_bias

    assert "chosen by athlete-grouped cross-validation among" in _estimator_choice(["hgb", "rf"])
    assert "2 candidates" in _selection_bias(["hgb", "rf"])
    assert "nothing is selected" in _estimator_choice(["hgb"]) and _selection_bias(["hgb"]) == ""


def test_a_load_sensor_alone_gets_no_form_label(lake, binary):
    """A bar, kettlebell or wrist sensor measures no body angles: its reps stay `uncertain`, with
    the reason, even when a model would be sure (a pooled IMU model otherwise labels them from
    tempo alone)."""
    model = load_model(binary[0])
    reps = reps_for_prediction(connect(lake), all_reps=True).head(20)
    on_body, on_wrist = (
        reps.with_columns(modality=pl.lit("imu"), sensors=pl.lit(s)) for s in ("sacrum", "wrist_left")
    )
    body, load = (predict_labels(model, r, uncertain_below=0.0) for r in (on_body, on_wrist))
    assert (body["label"] != UNCERTAIN).all()
    assert (load["label"] == UNCERTAIN).all()
    assert load["cue"].str.contains("no body angles").all()


def test_card_counts_reps_no_fold_scored():
    from hinge_analytics.classify.evaluation import _overall

    back, trunk = "imu:lower_back+upper_back", "imu:lower_back+sacrum+upper_back"
    reps = pl.DataFrame(
        {
            "recording_id": ["r1", "r2", "r3", "r4"],
            "rep": [1, 1, 1, 1],
            "family": [back, back, back, trunk],
            "train_label": ["good", "bad", "good", "bad"],
            "athlete_id": ["a", "b", "c", "d"],
        }
    )
    classes = np.array(["bad", "good"])
    oof = {
        back: {
            (r, 1): (np.array([0.2, 0.8] if r != "r2" else [0.9, 0.1]), classes) for r in ("r1", "r2", "r3")
        }
    }
    ev = _overall(reps, oof, [back], 0.5, {back: 0.5})
    assert ev["n_reps"] == 3 and ev["unscored_reps"] == 1  # the three-sensor rep goes to the two-sensor model


def test_the_good_threshold_evens_out_missed_mistakes_and_flagged_good_reps():
    """Out of fold, mild mistakes sit at P(good) 0.55-0.65 and good reps at 0.6-0.95: argmax calls
    every mild mistake good. `operating_point` raises the bar until the smaller of sensitivity and
    specificity is largest; a vocabulary without `good` keeps the default."""
    from hinge_analytics.classify.estimator import GOOD_AT_LEAST, decide, operating_point

    rng = np.random.default_rng(0)
    classes = np.array(["good", "rounded_back"])
    good, mild, severe = rng.uniform(0.6, 0.95, 200), rng.uniform(0.55, 0.65, 50), rng.uniform(0, 0.3, 50)
    p_good = np.concatenate([good, mild, severe])
    truth = np.array(["good"] * 200 + ["rounded_back"] * 100)
    proba = np.column_stack([p_good, 1 - p_good])

    def worse_error(t: float) -> float:
        bad_called, bad = classes[decide(proba, classes, t)] != "good", truth != "good"
        return min((bad_called & bad).mean() / bad.mean(), (~bad_called & ~bad).mean() / (~bad).mean())

    t = operating_point(truth, proba, classes)
    assert t > GOOD_AT_LEAST and worse_error(t) > worse_error(GOOD_AT_LEAST) + 0.2
    other = np.array(["a", "b"])
    assert operating_point(other, np.array([[0.9, 0.1], [0.2, 0.8]]), other) == GOOD_AT_LEAST


def test_a_sensor_set_the_pooled_model_serves_gets_its_own_good_threshold():
    """Out of fold, the pooled model gives one sensor set's mistakes P(good) 0.6-0.7 and another
    set's good reps 0.55-0.99: one threshold cannot even out both.
    Each set with `MIN_OPERATING_REPS` good and faulty reps gets its own; a smaller set and a set
    with a model of its own keep their family's."""
    from hinge_analytics.classify.estimator import MIN_OPERATING_REPS, good_threshold
    from hinge_analytics.classify.evaluation import _sensor_set_operating_points

    rng = np.random.default_rng(1)
    classes = np.array(["good", "rounded_back"])
    n = MIN_OPERATING_REPS
    sets = {  # sensor set -> (P(good) of good reps, of faulty reps, reps of each)
        "imu:lower_back+upper_back": ((0.8, 0.99), (0.6, 0.7), n),
        "imu:lower_back": ((0.55, 0.99), (0.0, 0.45), n),
        "imu:sacrum": ((0.8, 0.99), (0.6, 0.7), n - 1),
        "imu:thigh_left": ((0.8, 0.99), (0.6, 0.7), n),
    }
    rows, oof = [], {"imu:*": {}, "imu:thigh_left": {}}
    for family, (good, faulty, count) in sets.items():
        for label, (low, high) in (("good", good), ("rounded_back", faulty)):
            for p in rng.uniform(low, high, count):
                rid = (f"{family}-{label}", len(rows))
                rows.append({"recording_id": rid[0], "rep": rid[1], "family": family, "train_label": label})
                served = family if family in oof else "imu:*"
                oof[served][rid] = (np.array([p, 1 - p]), classes)
    points = _sensor_set_operating_points(pl.DataFrame(rows), oof, ["imu:*", "imu:thigh_left"])
    assert set(points) == {"imu:lower_back+upper_back", "imu:lower_back"}
    assert points["imu:lower_back+upper_back"] >= 0.7 and points["imu:lower_back"] == 0.5
    good_at_least = {"imu:*": 0.6, "imu:thigh_left": 0.55} | points
    assert good_threshold(good_at_least, "imu:lower_back", "imu:*") == points["imu:lower_back"]
    assert good_threshold(good_at_least, "imu:sacrum", "imu:*") == 0.6
    assert good_threshold(good_at_least, "imu:thigh_left", "imu:thigh_left") == 0.55
    assert good_threshold(0.45, "imu:sacrum", "imu:*") == 0.45
