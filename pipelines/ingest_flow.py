"""``hinge ingest``: manifest -> lake, one task per chunk of recordings."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE

import hinge_analytics.pipelines  # noqa: F401  (Prefect defaults before Prefect is imported)
from hinge_analytics.ingest.manifest import ManifestRow
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import CHUNK_SIZE, ChunkSummary, LakeState, ingest_chunk, plan_batch
from hinge_analytics.pipelines.api import ensure_api
from hinge_analytics.pipelines.runners import parallelism, task_runner_from_env


@task(cache_policy=NONE, retries=1, retry_delay_seconds=1)
def ingest_chunk_task(lake_root: str, rows: list[ManifestRow], force: bool, state: LakeState) -> ChunkSummary:
    return ingest_chunk(Lake(lake_root), rows, force=force, state=state)


@flow(name="hinge-ingest", log_prints=False)
def ingest_flow(
    manifest: str, lake_root: str, chunk_size: int = CHUNK_SIZE, force: bool = False
) -> ChunkSummary:
    lake = Lake(lake_root)
    batch = plan_batch(Path(manifest), lake, force)  # one lake lookup for the batch, not per chunk
    in_flight = []
    window = parallelism()
    for chunk, state in batch.chunks(chunk_size):  # a bounded window of futures keeps memory flat
        in_flight.append(ingest_chunk_task.submit(lake_root, chunk, force, state))
        if len(in_flight) >= window:
            batch.summary.merge(in_flight.pop(0).result())
    for future in in_flight:
        batch.summary.merge(future.result())
    lake.maintain()  # compact small files; vacuum unreferenced ones older than the retention
    return batch.summary


def run_ingest(manifest: str, lake_root: str, force: bool = False) -> ChunkSummary:
    """The ingest flow on the task runner the environment selects (pipelines/runners.py), against
    the configured Prefect API or one served in this process (pipelines/api.py)."""
    ensure_api()
    return ingest_flow.with_options(task_runner=task_runner_from_env())(manifest, lake_root, force=force)
