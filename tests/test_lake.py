"""The lake: atomic, idempotent writes (re-ingest replaces, uncommitted rows stay invisible), the
Arrow datasets it is read through, and the allocators it is read with."""

import contextlib
import os
import subprocess
import sys

import polars as pl
import pytest

from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.jobs.ingest import commit, ingest_chunk
from hinge_analytics.jobs.query import query
from hinge_analytics.lake import Lake, sql_string
from hinge_analytics.pipeline import process_recording


def test_reingest_of_the_same_manifest_changes_nothing(batch, tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.create()
    rows, _ = read_manifest(batch)
    rows = rows[:3]
    first = ingest_chunk(lake, rows)
    before = query(lake, "SELECT recording_id, rep, ingest_id FROM reps ORDER BY 1, 2")
    second = ingest_chunk(lake, rows)
    after = query(lake, "SELECT recording_id, rep, ingest_id FROM reps ORDER BY 1, 2")
    assert len(first.ingested) == 3 and second.skipped == [r.recording_id for r in rows]
    assert before.equals(after)


def test_forced_reingest_replaces_rows_without_duplicates(batch, tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.create()
    rows, _ = read_manifest(batch)
    ingest_chunk(lake, rows[:2])
    n = query(lake, "SELECT count(*) AS n FROM reps")["n"][0]
    ingest_chunk(lake, rows[:2], force=True)
    assert query(lake, "SELECT count(*) AS n FROM reps")["n"][0] == n
    assert lake.read("reps").height == n  # old rows are gone from the table, not just hidden


def test_rows_without_a_committed_recording_are_invisible(batch, tmp_path):
    """A crash after the data tables but before the recordings commit shows nothing."""
    lake = Lake(tmp_path / "lake")
    lake.create()
    rows, _ = read_manifest(batch)
    processed = process_recording(rows[0])
    original = lake.replace_recordings

    def crash_on_recordings(table, frame, ids, **kwargs):
        if table == "recordings":
            raise KeyboardInterrupt("killed")
        original(table, frame, ids, **kwargs)

    lake.replace_recordings = crash_on_recordings
    with contextlib.suppress(KeyboardInterrupt):
        commit(lake, [processed])
    lake.replace_recordings = original
    assert lake.read("reps").height > 0  # rows were written ...
    assert query(lake, "SELECT count(*) AS n FROM reps")["n"][0] == 0  # ... but nobody sees them
    ingest_chunk(lake, rows[:1])  # the rerun completes the work
    assert query(lake, "SELECT count(*) AS n FROM reps")["n"][0] == processed.reps.height
    assert lake.read("reps").height == processed.reps.height


def test_sql_string_escapes_quotes():
    assert sql_string("a'b") == "'a''b'"


def test_hostile_recording_id_cannot_alter_the_predicate(batch, tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.create()
    frame = pl.DataFrame({"recording_id": ["x' OR '1'='1"], "path": ["p"], "reason": ["r"]})
    lake.replace_recordings("quarantine", frame, frame["recording_id"])
    other = pl.DataFrame({"recording_id": ["keep"], "path": ["p"], "reason": ["r"]})
    lake.replace_recordings("quarantine", other, ["keep"])
    lake.replace_recordings("quarantine", frame, frame["recording_id"])
    assert sorted(lake.read("quarantine")["recording_id"]) == ["keep", "x' OR '1'='1"]


def test_tables_checkpoint_often_and_older_lakes_are_upgraded(tmp_path):
    """Opening a table replays its commits since the last checkpoint: a lake checkpoints every
    CHECKPOINT_INTERVAL commits, and create() sets that on tables of a lake made without it."""
    from deltalake import DeltaTable, write_deltalake

    from hinge_analytics.lake import CHECKPOINT_INTERVAL, TABLE_PROPERTIES
    from hinge_analytics.schema import TABLES, empty

    lake = Lake(tmp_path / "lake")
    lake.create()
    for _ in range(CHECKPOINT_INTERVAL + 1):
        lake.append("quarantine", pl.DataFrame({"recording_id": ["r"], "path": ["p"], "reason": ["x"]}))
    log = (tmp_path / "lake" / "quarantine" / "_delta_log").iterdir()
    assert any(f.name.endswith(".checkpoint.parquet") for f in log)
    older = tmp_path / "older"
    write_deltalake(str(older / "reps"), empty(TABLES["reps"]).to_arrow())
    Lake(older).create()
    assert DeltaTable(str(older / "reps")).metadata().configuration == TABLE_PROPERTIES


def test_a_tables_dataset_holds_its_rows_and_skips_other_recordings_files(batch, tmp_path):
    """Lake.dataset builds its own Arrow dataset from the Delta log (lighter than deltalake's):
    the same rows as deltalake's reader, and a scan for one recording opens only its chunk's file.
    The folder's name has a space and an accent: the reader decodes the table's file:// URI."""
    import pyarrow.compute as pc

    lake = Lake(tmp_path / "team lake é")
    lake.create()
    rows, _ = read_manifest(batch)
    chunks = [rows[i : i + 4] for i in range(0, 12, 4)]
    for chunk in chunks:
        ingest_chunk(lake, chunk)
    for table in ("pose_frames", "reps", "recordings"):
        ours, theirs = lake.dataset(table), lake.table(table).to_pyarrow_dataset()
        assert ours.schema.equals(theirs.schema)
        key = [("recording_id", "ascending")] + ([("frame", "ascending")] if table == "pose_frames" else [])
        key += [("rep", "ascending")] if table == "reps" else []
        assert ours.to_table().sort_by(key).equals(theirs.to_table().sort_by(key))
    one = pc.field("recording_id") == chunks[1][0].recording_id
    frames = lake.dataset("pose_frames")
    assert len(list(frames.get_fragments())) == len(chunks)
    assert len(list(frames.get_fragments(filter=one))) == 1
    expected = lake.table("pose_frames").to_pyarrow_dataset().to_table(filter=one).num_rows
    assert frames.to_table(filter=one).num_rows == expected > 0


ARENAS_AFTER_EIGHT_THREADS = """
import ctypes, os, tempfile, threading
import hinge_analytics
hinge_analytics.configure_process()  # what the hinge command does first
barrier, kept = threading.Barrier(8), []
def work():
    kept.append(bytearray(64 * 1024))  # malloc'd in the thread's arena (under the mmap threshold)
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
handle, path = tempfile.mkstemp(); os.close(handle)
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream)); libc.fclose(ctypes.c_void_p(stream))
print(open(path).read().count("<heap nr="))
"""


def _fresh_interpreter(code: str, **env: str) -> str:
    """stdout of ``code`` in a new interpreter: allocators are chosen once per process."""
    base = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX")}
    run = subprocess.run([sys.executable, "-c", code], env=base | env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_arrow_allocates_with_malloc_unless_the_user_chose_a_pool():
    code = (
        "import hinge_analytics; hinge_analytics.configure_process(); import pyarrow; "
        "print(pyarrow.default_memory_pool().backend_name)"
    )
    assert _fresh_interpreter(code) == "system"
    assert _fresh_interpreter(code, ARROW_DEFAULT_MEMORY_POOL="mimalloc") == "mimalloc"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc arenas")
def test_threads_share_two_malloc_arenas_unless_the_user_chose_a_limit():
    assert int(_fresh_interpreter(ARENAS_AFTER_EIGHT_THREADS)) == 2
    assert int(_fresh_interpreter(ARENAS_AFTER_EIGHT_THREADS, MALLOC_ARENA_MAX="4")) == 4


def test_a_chunk_whose_first_hundred_recordings_have_no_note_commits(batch):
    """Marker rows take their types from every row: a big chunk (the default model's training lake
    is one) whose first note comes after row 100 used to fail to commit."""
    import dataclasses

    from hinge_analytics.jobs.ingest import recordings_rows

    rows, _ = read_manifest(batch)
    done = process_recording(rows[0])
    chunk = [done] * 120 + [dataclasses.replace(done, note="no reps found")]
    markers = recordings_rows(chunk, "ingest-1")
    assert markers.height == 121 and markers["note"].dtype == pl.String
    assert markers["note"].null_count() == 120
