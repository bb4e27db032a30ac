"""Disk full at any Delta write of an ingest: the lake stays consistent and a rerun completes it.

Disk-full is simulated by wrapping the lake's one write call (``write_deltalake``): at the Nth call
a half-written Parquet file is left in the table's folder (what a writer that ran out of space
leaves) and ``OSError(ENOSPC)`` - or delta-rs' own error for it - is raised. Every N from the first
to the last write of a clean run is tried in the slow suite; a few in the default run.
"""

from __future__ import annotations

import errno
import uuid
from pathlib import Path

import polars as pl
import pytest
from deltalake.exceptions import DeltaError
from test_reliability import _sub_manifest, assert_consistent, assert_same_lake, lake_snapshot

import hinge_analytics.lake as lake_module
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.jobs.query import query
from hinge_analytics.lake import Lake

REAL_WRITE = lake_module.write_deltalake
# One chunk at a time, so that write number N is the same write in every run (with two threads,
# the other chunk's writes go on after the failing one).
SERIAL = 1


class DiskFull:
    """``write_deltalake`` that fails at call number ``fail_at`` (1-based), as a full disk would."""

    def __init__(self, fail_at: int | None, delta_error: bool = False):
        self.fail_at, self.delta_error, self.calls = fail_at, delta_error, 0

    def __call__(self, table_or_uri, data, *args, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            uri = table_or_uri.table_uri if hasattr(table_or_uri, "table_uri") else str(table_or_uri)
            folder = Path(uri.removeprefix("file://"))
            if folder.is_dir():  # the Parquet file got half written before the space ran out
                (folder / f"part-00000-{uuid.uuid4()}-c000.snappy.parquet").write_bytes(b"PAR1\x15\x00")
            if self.delta_error:
                raise DeltaError("Generic LocalFileSystem error: No space left on device (os error 28)")
            raise OSError(errno.ENOSPC, "No space left on device")
        return REAL_WRITE(table_or_uri, data, *args, **kwargs)


@pytest.fixture(scope="module")
def fault_batch(batch, tmp_path_factory):
    """Four good recordings plus one that is quarantined, the lake a clean run makes, and how many
    Delta writes that run does."""
    out = tmp_path_factory.mktemp("faults")
    manifest = _sub_manifest(batch, out / "batch", 4)
    (out / "batch" / "recordings" / "garbage.csv").write_text("not,a\nrecording,at all\n")
    with manifest.open("a") as handle:
        handle.write("BAD-1,recordings/garbage.csv,A9,2026-09-07,deadlift,,,,mediapipe_csv,,\n")
    counter = DiskFull(None)
    mp = pytest.MonkeyPatch()
    mp.setattr(lake_module, "write_deltalake", counter)
    try:
        reference = Lake(out / "reference")
        ingest_manifest(manifest, reference, chunk_size=2, workers=SERIAL)
    finally:
        mp.undo()
    snap = lake_snapshot(reference)
    assert snap["quarantine"].height == 1 and snap["recordings"].height == 4
    return manifest, snap, counter.calls


def assert_visible_reps_whole(lake: Lake) -> None:
    """Every rep a query sees belongs to a recording whose marker is committed, with all its reps."""
    seen = query(lake, "SELECT recording_id, count(*) AS n FROM reps GROUP BY recording_id")
    marked = query(lake, "SELECT recording_id, n_reps FROM recordings")
    joined = seen.join(marked, on="recording_id", how="left")
    assert joined["n_reps"].null_count() == 0, "reps visible without a committed recording"
    assert (joined["n"] == joined["n_reps"]).all(), "a recording shows only part of its reps"


def _fail_then_rerun(manifest, reference, calls_in_clean_run, lake_root, fail_at, delta_error, monkeypatch):
    disk = DiskFull(fail_at, delta_error)
    monkeypatch.setattr(lake_module, "write_deltalake", disk)
    lake = Lake(lake_root)
    with pytest.raises((OSError, DeltaError), match="No space left"):
        ingest_manifest(manifest, lake, chunk_size=2, workers=SERIAL)
    assert disk.calls == fail_at <= calls_in_clean_run
    monkeypatch.setattr(lake_module, "write_deltalake", REAL_WRITE)  # space freed
    if lake.is_lake():
        assert_consistent(lake)
        assert_visible_reps_whole(lake)
    summary = ingest_manifest(manifest, lake, chunk_size=2)
    assert len(summary.ingested) + len(summary.skipped) == 4
    lake.vacuum(retention_hours=0)  # nobody else writes here: the half-written files go
    assert_same_lake(reference, lake_snapshot(lake))
    assert_consistent(lake)
    for table in ("reps", "pose_frames", "recordings"):
        for part in (lake_root / table).glob("*.parquet"):
            pl.read_parquet(part)  # no half-written file is left behind


@pytest.mark.parametrize(("fraction", "delta_error"), [(0.0, False), (0.5, True), (1.0, False)])
def test_disk_full_at_a_write_then_rerun(fault_batch, tmp_path, monkeypatch, fraction, delta_error):
    manifest, reference, calls = fault_batch
    fail_at = 1 + round(fraction * (calls - 1))  # the first, a middle and the very last write
    _fail_then_rerun(manifest, reference, calls, tmp_path / "lake", fail_at, delta_error, monkeypatch)


@pytest.mark.slow
def test_disk_full_at_every_write_then_rerun(fault_batch, tmp_path, monkeypatch):
    manifest, reference, calls = fault_batch
    assert calls >= 10
    for n in range(1, calls + 1):
        _fail_then_rerun(manifest, reference, calls, tmp_path / f"lake{n}", n, n % 2 == 0, monkeypatch)


def test_disk_full_during_compaction_keeps_the_committed_data(fault_batch, tmp_path, monkeypatch):
    manifest, reference, _ = fault_batch

    def no_space(self, min_files=16):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Lake, "compact", no_space)
    lake = Lake(tmp_path / "lake")
    with pytest.raises(OSError):
        ingest_manifest(manifest, lake, chunk_size=2)
    assert_same_lake(reference, lake_snapshot(lake))  # every chunk was committed before compaction
    monkeypatch.undo()
    again = ingest_manifest(manifest, lake, chunk_size=2)
    assert again.ingested == [] and len(again.skipped) == 4
