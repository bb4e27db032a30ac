"""Bad input is quarantined with a reason; kill -9 and a concurrent ingest never corrupt the lake.

Fault injection runs the real ingest (``pipeline.ingest_manifest``) in a child process and kills it
with SIGKILL; afterwards a rerun must leave exactly the lake an uninterrupted run makes.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.jobs.query import query
from hinge_analytics.lake import Lake
from hinge_analytics.simulate.team import simulate_team

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "recording_id,path,athlete_id,session_date,exercise,side,load_kg,set_number,format,sample_rate_hz,label"
)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _sub_manifest(batch: Path, out: Path, n: int) -> Path:
    """The first ``n`` recordings of ``batch`` copied into ``out`` with their own manifest."""
    table = pl.read_csv(batch, infer_schema=False).head(n)
    out.mkdir(parents=True, exist_ok=True)
    for rel in table["path"]:
        src, dst = batch.parent / rel, out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy(src, dst)
    table.write_csv(out / "manifest.csv")
    return out / "manifest.csv"


def lake_snapshot(lake: Lake) -> dict:
    """Everything a user can see, minus run-specific ids and times; plus raw row counts."""
    return {
        "recordings": query(
            lake,
            "SELECT recording_id, athlete_id, session_date, exercise, format, content_hash, n_frames, "
            "n_reps, pipeline_version FROM recordings ORDER BY recording_id",
        ),
        "reps": query(lake, "SELECT * EXCLUDE (ingest_id) FROM reps ORDER BY recording_id, rep"),
        "quarantine": query(lake, "SELECT recording_id, path, reason FROM quarantine ORDER BY recording_id"),
        "raw_rows": {t: lake.read(t, ["recording_id"]).height for t in ("pose_frames", "angles", "reps")},
    }


def assert_same_lake(a: dict, b: dict) -> None:
    for key in ("recordings", "reps", "quarantine"):
        assert a[key].equals(b[key]), key
    assert a["raw_rows"] == b["raw_rows"]


def assert_consistent(lake: Lake) -> None:
    """Every committed recording shows exactly its reps; no duplicate rows anywhere."""
    rec = lake.read("recordings")
    assert rec["recording_id"].is_unique().all()
    reps = lake.read("reps")
    counts = reps.group_by("recording_id", "ingest_id").len()
    joined = rec.join(counts, on=["recording_id", "ingest_id"], how="left")
    assert (joined["len"].fill_null(0) == joined["n_reps"]).all()
    assert reps.select("recording_id", "rep").is_duplicated().sum() == 0


# --------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def bad_batch(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bad_batch")
    manifest = simulate_team(
        out, athletes=1, sessions=1, exercises=("romanian_deadlift",), sets_per_exercise=2, seed=4, bad=9
    )
    # Cases beyond the simulator's: other formats' own failure modes.
    rec = out / "recordings"
    (rec / "imu_unplaced").mkdir()
    (rec / "imu_unplaced" / "MT_00B421AF.csv").write_text(
        "time_s,acc_x,acc_y,acc_z\n0,0,0,9.8\n0.01,0,0,9.8\n"
    )
    (rec / "op_norate").mkdir()
    (rec / "op_norate" / "v_000000000000_keypoints.json").write_text('{"version":1.3,"people":[]}')
    (rec / "truncated.json").write_text('[{"frame_id": 0, "instances": [{"keypoints": [[1, 2], [3')
    (rec / "wrong_shape.trc").write_text(
        "PathFileType\t4\t(X/Y/Z)\tx.trc\nDataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\n"
        "60\t60\t2\t1\tm\nFrame#\tTime\tRHip\t\t\n\t\tX1\tY1\tZ1\n1\t0\t1\t2\t3\t4\t5\n"
    )
    (rec / "not_a.c3d").write_bytes(b"\x02\x50" + bytes(range(256)) * 4)
    extra = [
        ("X-imu-unplaced", "recordings/imu_unplaced", "imu_csv", "", "placement"),
        ("X-openpose-norate", "recordings/op_norate", "openpose_json", "", "sample_rate_hz"),
        ("X-coco-truncated", "recordings/truncated.json", "coco17_json", "30", "json"),
        ("X-trc-shape", "recordings/wrong_shape.trc", "trc", "", "values"),
        ("X-c3d-damaged", "recordings/not_a.c3d", "c3d", "", "c3d"),
        ("X-dup-id", "recordings/truncated.json", "coco17_json", "30", "more than once"),
        ("X-dup-id", "recordings/not_a.c3d", "c3d", "", "more than once"),
    ]
    with manifest.open("a") as handle:
        for rid, path, fmt, rate, _ in extra:
            handle.write(f"{rid},{path},A9,2026-09-07,deadlift,,,,{fmt},{rate},\n")
    expected = pl.read_csv(out / "bad_files.csv")
    more = pl.DataFrame(
        {
            "recording_id": [e[0] for e in extra[:5]],
            "case": ["extra"] * 5,
            "expected": [e[4] for e in extra[:5]],
        }
    )
    pl.concat([expected, more]).write_csv(out / "bad_files.csv")
    return manifest


def test_every_bad_case_is_quarantined_with_its_reason_and_raw_files_are_untouched(bad_batch, tmp_path):
    before = _hashes(bad_batch.parent)
    lake = Lake(tmp_path / "lake")
    summary = ingest_manifest(bad_batch, lake)
    assert _hashes(bad_batch.parent) == before  # raw inputs never modified (nor deleted)
    reasons = dict(
        zip(*query(lake, "SELECT recording_id, reason FROM quarantine").to_dict().values(), strict=True)
    )
    expected = pl.read_csv(bad_batch.parent / "bad_files.csv")
    for rid, case, words in expected.iter_rows():
        assert rid in reasons, f"{case} was not quarantined"
        assert any(w in reasons[rid].lower() for w in words.split("|")), (case, reasons[rid])
        assert reasons[rid][0].isupper() and reasons[rid].rstrip().endswith("."), reasons[rid]
    assert "more than once" in reasons["X-dup-id"]
    assert len(summary.ingested) == 2  # the good recordings still went in
    assert query(lake, "SELECT count(*) AS n FROM recordings")["n"][0] == 2
    assert_consistent(lake)


def test_reingest_of_the_same_manifest_changes_nothing_not_even_quarantine(bad_batch, tmp_path):
    lake = Lake(tmp_path / "lake")
    ingest_manifest(bad_batch, lake)
    versions = {t: lake.version(t) for t in ("recordings", "pose_frames", "angles", "reps", "quarantine")}
    before = lake_snapshot(lake)
    again = ingest_manifest(bad_batch, lake)
    assert again.ingested == [] and len(again.skipped) == 2
    assert {t: lake.version(t) for t in versions} == versions  # not one new commit
    assert_same_lake(before, lake_snapshot(lake))


# --------------------------------------------------------------------------- faults
def _ingest_child(manifest: Path, lake_root: Path, chunk_size: int) -> subprocess.Popen:
    code = (
        "import sys; from pathlib import Path; from hinge_analytics.lake import Lake; "
        "from hinge_analytics.jobs.ingest import ingest_manifest; "
        "ingest_manifest(Path(sys.argv[1]), Lake(sys.argv[2]), chunk_size=int(sys.argv[3]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(manifest), str(lake_root), str(chunk_size)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _versions(lake_root: Path, table: str) -> int:
    log = lake_root / table / "_delta_log"
    return len(list(log.glob("*.json"))) if log.is_dir() else 0


@pytest.fixture(scope="module")
def kill_batch(batch, tmp_path_factory):
    """Six recordings and the lake an uninterrupted run makes of them."""
    out = tmp_path_factory.mktemp("kill")
    manifest = _sub_manifest(batch, out / "batch", 6)
    reference = Lake(out / "reference")
    ingest_manifest(manifest, reference, chunk_size=2)
    return manifest, lake_snapshot(reference)


def _kill_and_rerun(manifest: Path, reference: dict, lake_root: Path, when) -> None:
    child = _ingest_child(manifest, lake_root, chunk_size=2)
    try:
        when(child)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
    lake = Lake(lake_root)
    if lake.is_lake():
        assert_consistent(lake)  # whatever was visible at the kill was whole
    ingest_manifest(manifest, lake, chunk_size=2)
    lake.vacuum(retention_hours=0)  # nobody else writes here: orphans of the killed run go
    assert_same_lake(reference, lake_snapshot(lake))
    assert_consistent(lake)


def test_kill_9_mid_ingest_then_rerun_gives_the_uninterrupted_lake(kill_batch, tmp_path):
    manifest, reference = kill_batch
    lake_root = tmp_path / "lake"

    def after_first_data_commit(child: subprocess.Popen) -> None:
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            if _versions(lake_root, "pose_frames") >= 2:  # create + the first chunk's frames
                return
            time.sleep(0.005)

    _kill_and_rerun(manifest, reference, lake_root, after_first_data_commit)


@pytest.mark.slow
def test_kill_9_at_twenty_random_points(kill_batch, tmp_path):
    manifest, reference = kill_batch
    start = time.monotonic()
    child = _ingest_child(manifest, tmp_path / "timing", 2)
    child.wait()
    duration = time.monotonic() - start
    rng = random.Random(20)
    for k in range(20):
        delay = rng.uniform(0.3, duration)
        _kill_and_rerun(manifest, reference, tmp_path / f"lake{k}", lambda c, d=delay: time.sleep(d))


def test_two_concurrent_ingests_into_one_lake(kill_batch, tmp_path):
    """Two writers, same recordings, same lake: the result is consistent and complete."""
    manifest, reference = kill_batch
    lake_root = tmp_path / "lake"
    Lake(lake_root).create()
    children = [_ingest_child(manifest, lake_root, chunk_size=2) for _ in range(2)]
    codes = [c.wait(timeout=300) for c in children]
    assert codes == [0, 0]
    lake = Lake(lake_root)
    assert_consistent(lake)
    snap = lake_snapshot(lake)
    assert snap["recordings"].equals(reference["recordings"])
    assert snap["reps"].equals(reference["reps"])
    assert snap["raw_rows"] == reference["raw_rows"]  # replaced rows are gone, not duplicated


# --------------------------------------------------------------------------- lake upkeep
def test_compaction_and_vacuum_keep_few_files(kill_batch, tmp_path):
    manifest, reference = kill_batch
    lake = Lake(tmp_path / "lake")
    ingest_manifest(manifest, lake, chunk_size=1)  # six commits -> six files per table
    assert lake.file_count("reps") == 6
    compacted = lake.compact(min_files=4)
    assert compacted["reps"] == 1 and lake.file_count("pose_frames") == 1
    on_disk = len(list((tmp_path / "lake" / "reps").glob("*.parquet")))
    assert lake.vacuum(retention_hours=0) > 0
    assert len(list((tmp_path / "lake" / "reps").glob("*.parquet"))) < on_disk
    assert_same_lake(reference, lake_snapshot(lake))


def test_vacuum_spares_young_uncommitted_files(tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.create()
    stray = tmp_path / "lake" / "reps" / "part-00000-in-flight.parquet"
    stray.write_bytes(b"PAR1")  # what a live writer has written but not yet committed
    assert lake.vacuum() == 0 and stray.exists()
    old = time.time() - 10 * 24 * 3600
    os.utime(stray, (old, old))  # a killed writer's leftover, days later
    assert lake.vacuum() == 1 and not stray.exists()


def test_an_older_lake_gains_new_columns(tmp_path):
    from deltalake import write_deltalake

    lake = Lake(tmp_path / "lake")
    lake.create()
    old = pl.DataFrame({"recording_id": ["r"], "path": ["p"], "reason": ["Bad."]}).to_arrow()
    write_deltalake(lake.uri("quarantine"), old, mode="overwrite", schema_mode="overwrite")
    lake.create()
    assert "content_hash" in lake.read("quarantine").columns


@pytest.mark.slow
def test_memory_per_chunk_does_not_grow_with_the_batch(batch, tmp_path):
    """Peak traced memory while ingesting 4 vs 12 recordings in chunks of 2 stays about the same."""
    import tracemalloc

    peaks = []
    for n in (4, 12):
        manifest = _sub_manifest(batch, tmp_path / f"b{n}", n)
        tracemalloc.start()
        ingest_manifest(manifest, Lake(tmp_path / f"lake{n}"), chunk_size=2)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0] + 5e6, peaks
