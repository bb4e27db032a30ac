"""What a Prefect server shows of an ingest: each recording's outcome in the run log, and the files
not analysed as an artifact (only when a server is in use, simulated here)."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler

from hinge_analytics.jobs.ingest import ChunkSummary
from hinge_analytics.pipelines import api
from hinge_analytics.pipelines.artifacts import outcome_lines
from hinge_analytics.simulate.team import simulate_team


def test_outcome_lines_name_every_recording():
    summary = ChunkSummary(
        ingested=["r1", "r2"],
        skipped=["r3"],
        quarantined=[("r4", "The file is empty.")],
        notes=[("r2", "no reps")],
    )
    assert outcome_lines(summary) == [
        "r1: ingested",
        "r2: ingested (no reps)",
        "r3: skipped, unchanged since it was ingested",
        "r4: not analysed: The file is empty.",
    ]


def test_ingest_flow_logs_each_recording_and_publishes_the_files_not_analysed(tmp_path, monkeypatch):
    from hinge_analytics.pipelines.ingest_flow import ingest_flow, run_ingest

    manifest = simulate_team(
        tmp_path / "data", athletes=1, sessions=1, exercises=("deadlift",), seed=3, bad=2
    )
    monkeypatch.setattr(api, "server_in_use", lambda: True)
    summary = run_ingest(str(manifest), str(tmp_path / "lake"))
    assert summary.ingested and len(summary.quarantined) >= 2
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        run = client.read_flow_runs(limit=1, sort="START_TIME_DESC")[0]
        assert run.flow_id == client.read_flow_by_name(ingest_flow.name).id
        logs = "\n".join(
            entry.message
            for entry in client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        )
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["hinge-not-analysed"]))
        )
    for rid in summary.ingested:
        assert f"{rid}: ingested" in logs
    for rid, reason in summary.quarantined:
        assert f"{rid}: not analysed: {reason}" in logs
    assert artifacts and {row["recording_id"] for row in _rows(artifacts[-1])} == {
        r for r, _ in summary.quarantined
    }


def _rows(artifact) -> list[dict]:
    import json

    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data
