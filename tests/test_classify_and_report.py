import shutil

import pytest

from hinge_analytics.classify import load_model
from hinge_analytics.jobs.predict import predict, prediction_batches
from hinge_analytics.jobs.query import connect, query
from hinge_analytics.jobs.train import train
from hinge_analytics.lake import Lake


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
    assert (reps["model_version"] == model.version_).all()
    assert reps["label"].is_not_null().all()


def test_prediction_streams_in_small_batches_with_the_same_labels(lake, model_dir, tmp_path):
    model = load_model(model_dir)
    whole, parts = (Lake(shutil.copytree(lake.root, tmp_path / name)) for name in ("whole", "parts"))
    assert len(prediction_batches(connect(parts), True, 15)) > 3
    assert predict(whole, model, all_reps=True) == predict(parts, model, all_reps=True, batch_reps=15)
    columns = "recording_id, rep, label, confidence, cue"
    sql = f"SELECT {columns} FROM rep_view ORDER BY recording_id, rep"
    assert query(whole, sql).equals(query(parts, sql))


class Counted:
    """A progress reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done = 0

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, done: int) -> None:
        self.done += done


def test_predict_and_report_count_their_progress(lake, model_dir, tmp_path):
    from hinge_analytics.jobs.report import build_reports

    copy = Lake(shutil.copytree(lake.root, tmp_path / "lake"))
    labelling = Counted()
    n = predict(copy, load_model(model_dir), all_reps=True, batch_reps=15, progress=labelling)
    assert labelling.total == labelling.done == n > 0  # reps, batch by batch
    nothing_left = Counted()
    assert predict(copy, load_model(model_dir), progress=nothing_left) == 0
    assert nothing_left.total == nothing_left.done == 0
    writing = Counted()
    pages = build_reports(copy, tmp_path / "reports", progress=writing)
    assert writing.total == writing.done == len(pages) == 4  # athlete pages
