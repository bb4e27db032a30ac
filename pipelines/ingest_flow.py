"""``hinge ingest``: manifest -> lake, one task per chunk of recordings."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE

from hinge_analytics.ingest.manifest import ManifestRow
from hinge_analytics.jobs.ingest import (
    CHUNK_SIZE,
    ChunkSummary,
    LakeState,
    ingest_chunk,
    plan_batch,
    run_chunks,
)
from hinge_analytics.lake import Lake
from hinge_analytics.pipelines.api import ensure_api
from hinge_analytics.pipelines.artifacts import log_outcomes, publish_quarantine
from hinge_analytics.pipelines.progress import Progress, current_progress, reporting
from hinge_analytics.pipelines.runners import parallelism, task_runner_from_env


@task(cache_policy=NONE, retries=1, retry_delay_seconds=1)
def ingest_chunk_task(lake_root: str, rows: list[ManifestRow], force: bool, state: LakeState) -> ChunkSummary:
    summary = ingest_chunk(Lake(lake_root), rows, force=force, state=state)
    log_outcomes(summary)
    return summary


@flow(name="hinge-ingest", log_prints=False)
def ingest_flow(
    manifest: str,
    lake_root: str,
    chunk_size: int = CHUNK_SIZE,
    force: bool = False,
    batch_dir: str | None = None,
) -> ChunkSummary:
    """Ingest ``manifest`` into the lake; its paths are relative to ``batch_dir`` (default: the
    manifest's folder)."""
    lake = Lake(lake_root)
    # one lake lookup for the batch, not per chunk
    batch = plan_batch(Path(manifest), lake, force, None if batch_dir is None else Path(batch_dir))
    log_outcomes(batch.summary)  # the manifest's rejected rows; each chunk's task logs its own
    run_chunks(
        batch,
        lambda chunk, state: ingest_chunk_task.submit(lake_root, chunk, force, state),
        parallelism(),
        chunk_size,
        current_progress(),
    )
    lake.maintain()  # compact small files; vacuum unreferenced ones older than the retention
    publish_quarantine(batch.summary, manifest)
    return batch.summary


def run_ingest(
    manifest: str,
    lake_root: str,
    force: bool = False,
    batch_dir: str | None = None,
    progress: Progress | None = None,
) -> ChunkSummary:
    """The ingest flow on the task runner the environment selects (runners.py), against the
    configured Prefect API or one served in this process (api.py). ``progress`` hears of each
    chunk of recordings as it is done."""
    ensure_api()
    with reporting(progress):
        return ingest_flow.with_options(task_runner=task_runner_from_env())(
            manifest, lake_root, force=force, batch_dir=batch_dir
        )
