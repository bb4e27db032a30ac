import json

import polars as pl
import pytest

from hinge_analytics.analytics import query
from hinge_analytics.classify import labelled_reps, load_model, predict, train
from hinge_analytics.classify.model import ModelError


@pytest.fixture(scope="module")
def model_dir(lake, batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    train(lake, out, labels_file=batch.parent / "rep_labels.csv")
    return out


def test_training_reports_leave_athlete_out_scores(model_dir):
    meta = json.loads((model_dir / "model.json").read_text())
    ev = meta["evaluation"]
    assert ev["protocol"].startswith("GroupKFold by athlete_id")
    assert ev["n_athletes"] == 4
    assert 0.0 <= ev["macro_f1"] <= 1.0
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert "leave-athlete-out" in card and meta["model_version"] in card


def test_tampered_model_is_refused(model_dir, tmp_path):
    copy = tmp_path / "m"
    copy.mkdir()
    for f in model_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    data = bytearray((copy / "model.skops").read_bytes())
    data[-10] ^= 0xFF
    (copy / "model.skops").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_model(copy)


def test_predictions_carry_model_version(lake, model_dir):
    model = load_model(model_dir)
    n = predict(lake, model, all_reps=True)
    reps = query(lake, "SELECT * FROM rep_view")
    assert n == reps.height
    assert (reps["model_version"] == model.version).all()
    assert reps["label"].is_not_null().all()


def test_labels_file_overrides_and_custom_vocabulary(lake, tmp_path):
    rid = lake.read("recordings")["recording_id"][0]
    labels = tmp_path / "labels.csv"
    labels.write_text(f"recording_id,rep,label\n{rid},,knee_valgus\n{rid},1,early_hip_rise\n")
    reps = labelled_reps(lake, labels)
    assert set(reps["train_label"]) == {"knee_valgus", "early_hip_rise"}
    assert reps.filter(pl.col("rep") == 1)["train_label"][0] == "early_hip_rise"
