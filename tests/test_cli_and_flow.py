"""The command line end to end, including the Prefect ingest flow in ephemeral mode."""

import polars as pl
from typer.testing import CliRunner

from hinge_analytics.cli import app
from hinge_analytics.schema import EXPORT_REPS_COLUMNS

runner = CliRunner()


def test_ingest_flow_train_predict_export(batch, tmp_path):
    lake = str(tmp_path / "lake")
    result = runner.invoke(app, ["ingest", str(batch), "--lake", lake])
    assert result.exit_code == 0, result.output
    assert "quarantined 0" in result.output
    again = runner.invoke(app, ["ingest", str(batch), "--lake", lake])
    assert "ingested 0" in again.output
    model = tmp_path / "model"
    labels = str(batch.parent / "rep_labels.csv")
    train = ["train", "--lake", lake, "--labels", labels, "--out", str(model), "--jobs", "2"]
    result = runner.invoke(app, train)
    assert result.exit_code == 0, result.output
    assert "leave-athlete-out" in result.output
    result = runner.invoke(app, ["predict", "--lake", lake, "--model", str(model)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "reps.csv"
    result = runner.invoke(app, ["export", "reps", "--lake", lake, "--out", str(out)])
    assert result.exit_code == 0, result.output
    reps = pl.read_csv(out)
    truth = pl.read_csv(batch.parent / "truth_reps.csv")
    assert tuple(reps.columns[: len(EXPORT_REPS_COLUMNS)]) == EXPORT_REPS_COLUMNS  # then every other
    assert abs(reps.height - truth.height) <= 0.05 * truth.height
    assert reps["label"].is_not_null().all()
    parquet = tmp_path / "sessions.parquet"
    assert runner.invoke(app, ["export", "sessions", "--lake", lake, "--out", str(parquet)]).exit_code == 0
    assert pl.read_parquet(parquet).height > 0


def test_user_errors_are_one_line_without_traceback(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing.csv"), "--lake", str(tmp_path / "l")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["query", "SELECT 1", "--lake", str(tmp_path / "nolake")])
    assert result.exit_code != 0 and "no lake" in result.output
    result = runner.invoke(app, ["export", "bogus", "--lake", str(tmp_path), "--out", "x.csv"])
    assert result.exit_code != 0


def test_one_off_ingest_starts_no_prefect_unless_a_server_is_named(batch, tmp_path):
    """Without PREFECT_API_URL, `hinge ingest` runs the steps in its own process: Prefect's
    database is never created. With a server named, the same command runs the ingest flow."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    hinge = Path(sys.executable).parent / "hinge"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    done = subprocess.run(
        [str(hinge), "ingest", str(batch), "--lake", str(tmp_path / "lake")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "quarantined 0" in done.stdout
    assert not list((tmp_path / "prefect").rglob("*.db"))  # no API was served, no flow run stored


def test_ingest_runs_the_flow_when_a_prefect_server_is_named(batch, tmp_path, monkeypatch):
    import hinge_analytics.cli as cli
    import hinge_analytics.pipelines.api as api
    import hinge_analytics.pipelines.ingest_flow as ingest_flow
    from hinge_analytics.jobs.ingest import ChunkSummary

    calls = []
    monkeypatch.setattr(cli, "_prefect_server_configured", lambda: True)
    monkeypatch.setattr(api, "ensure_api", lambda scheduler=False: "http://server.invalid/api")
    monkeypatch.setattr(
        ingest_flow, "run_ingest", lambda *args, **kwargs: calls.append(args) or ChunkSummary(ingested=["x"])
    )
    result = runner.invoke(app, ["ingest", str(batch), "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 0, result.output
    assert calls and calls[0][0] == str(batch)
    assert "ingested 1 recording(s)" in result.output
