"""Scale-out by configuration only: Dask LocalCluster task runner + S3-compatible lake (moto)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import polars as pl
import pytest

from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.jobs.ingest import ingest_chunk
from hinge_analytics.jobs.query import query
from hinge_analytics.lake import Lake

pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("prefect_dask")


def _wait_for_port(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def s3_env(monkeypatch):
    # moto runs in its own process: delta-rs calls can hold the GIL, which would starve an
    # in-process server thread.
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_port(port)
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        # moto has no conditional PUT; a real bucket should use a locking/conditional-put setup.
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="team-lake")
    yield "s3://team-lake/lake"
    server.terminate()
    server.wait(timeout=10)


def test_dask_cluster_into_s3_lake_gives_the_same_reps_as_a_local_run(batch, tmp_path, s3_env, monkeypatch):
    from hinge_analytics.pipelines.ingest_flow import run_ingest

    # A small batch: the first 4 recordings.
    rows = pl.read_csv(batch, infer_schema=False).head(4)
    manifest = batch.parent / "manifest_small.csv"
    rows.write_csv(manifest)

    local = Lake(tmp_path / "local")
    local.create()
    valid, _ = read_manifest(manifest)
    ingest_chunk(local, valid)

    monkeypatch.setenv("HINGE_DASK_ADDRESS", "local")
    summary = run_ingest(str(manifest), s3_env)
    assert len(summary.ingested) == 4

    columns = "recording_id, rep, t_start_s, t_end_s, peak_hip_flexion_deg, peak_knee_flexion_left_deg"
    sql = f"SELECT {columns} FROM reps ORDER BY recording_id, rep"
    remote = query(Lake(s3_env), sql)
    expected = query(local, sql)
    assert remote.height == expected.height > 0
    assert remote.equals(expected)
