import pytest

from hinge_analytics.analytics import query
from hinge_analytics.classify import load_model, predict, train


@pytest.fixture(scope="module")
def model_dir(lake, batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    train(lake, out, labels_file=batch.parent / "rep_labels.csv")
    return out


def test_predictions_carry_model_version(lake, model_dir):
    model = load_model(model_dir)
    n = predict(lake, model, all_reps=True)
    reps = query(lake, "SELECT * FROM rep_view")
    assert n == reps.height
    assert (reps["model_version"] == model.version).all()
    assert reps["label"].is_not_null().all()
