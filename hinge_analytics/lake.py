"""The lake: a folder (or object-store URL) of Delta Lake tables, and the one place that writes it.

Write protocol (why a crash never shows half a recording):
1. A chunk of recordings is processed in memory.
2. Each data table (frames, angles, reps, rep curves) gets one Delta transaction that replaces the
   chunk's recording_ids (``predicate="recording_id IN (...)"``): old rows out, new rows in, atomically.
   Every row carries the ``ingest_id`` of the run that made it.
3. Last, the ``recordings`` table is committed the same way. It is the commit marker: the SQL views
   only show rows whose (recording_id, ingest_id) is in ``recordings``. A crash between 2 and 3
   leaves rows nobody sees; the rerun replaces them.
Concurrent writers are detected by Delta's optimistic concurrency; a conflicting commit is retried.
The commit marker is written against the snapshot of ``recordings`` read *before* the data tables:
if another writer committed the same recording_id in between, Delta refuses the marker
("concurrent transactions added new data") and the whole chunk commit is redone, so the data
tables and the marker always come from the same writer.
Maintenance: ``compact`` merges the small files that per-chunk commits leave; ``vacuum`` deletes
files no version references (replaced rows, compacted files, and files a killed writer wrote but
never committed) once they are older than a retention period, so it never races a live writer.
Delta tables: https://delta-io.github.io/delta-rs/ (``write_deltalake``, ``DeltaTable.optimize``,
``DeltaTable.vacuum(full=True)``).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import ColumnProperties, DeltaTable, Schema, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.fs import DeltaStorageHandler

from hinge_analytics.schema import TABLES, conform, empty

DEFAULT_LAKE = "data/lake"
COMPACT_MIN_FILES = 16  # compact a table once a scan would open this many files
# Only files under this size are merged: a chunk's frames (~25 MB for 48 recordings) are already
# scan-friendly, and rewriting them every batch cost a sixth of the ingest time; the small
# per-chunk files of angles, reps and recordings are what make scans open thousands of files.
COMPACT_TARGET_BYTES = 16 * 2**20
VACUUM_RETENTION_HOURS = 168  # keep a week of history (and never touch a live writer's files)
# Every open of a table replays its JSON commits since the last checkpoint (Delta's default: every
# 100 commits). A batch commits once per chunk and each commit opens several tables, so replay grew
# with the batch; a checkpoint every 10 commits keeps every open short (one of a 23-commit table
# 5.6 -> 3.1 ms, a DuckDB connection over the lake 168 -> 125 ms).
CHECKPOINT_INTERVAL = 10
TABLE_PROPERTIES = {"delta.checkpointInterval": str(CHECKPOINT_INTERVAL)}
ROW_GROUP_ROWS = 16_384  # Parquet row group size; see writer_properties
# Recording ids in one replace predicate, for writes that need not be one transaction (quarantine):
# delta-rs parses ``recording_id IN (...)`` recursively, and 25,000 ids crashed the interpreter with
# a segmentation fault (10,000 still passed); 1,000 ids are 40 ms a commit.
MAX_PREDICATE_IDS = 1000
DAMAGED_FOLDER = "_damaged"  # where `repair` moves data files that exist but cannot be read
T = TypeVar("T")


def writer_properties(table: str) -> WriterProperties:
    """Parquet settings for ``table``: no dictionary encoding for float columns, row groups of
    ``ROW_GROUP_ROWS`` rows.

    Coordinates and angles almost never repeat, so a dictionary page is built and thrown away for
    every column chunk; for a chunk of MediaPipe frames that made the Rust writer 6x slower
    (8.6 -> 1.5 ms per recording, files 8 % larger without it). Keys and labels keep it.
    The writer buffers a whole row group before flushing it; with the default (one row group
    for a chunk's 85,000 frames) writing a chunk of MediaPipe frames raised the process's peak
    memory by ~100 MB, with 16,384-row groups by ~40 MB, and it was faster (0.13 -> 0.09 s per
    chunk; files 0.4 % larger). Row groups of a recording or two also let readers skip the rest
    of a file by its recording_id statistics.
    """
    floats = [c for c, dtype in TABLES[table].items() if dtype.is_float()]
    return WriterProperties(
        max_row_group_size=ROW_GROUP_ROWS,
        column_properties={c: ColumnProperties(dictionary_enabled=False) for c in floats},
    )


def recordings_filter(recording_ids: Iterable[str]) -> pc.Expression:
    """Arrow filter for the rows of ``recording_ids``. It also bounds recording_id by the ids'
    first and last: Arrow checks a range, not a set membership, against Parquet row-group
    statistics, and with the range a predict batch of athlete-days reads 1-2 of the 5 row groups
    of a 10,000-recording lake's reps instead of all of them."""
    ids = sorted(set(recording_ids))
    field = pc.field("recording_id")
    members = field.isin(pa.array(ids, pa.string()))
    return (field >= ids[0]) & (field <= ids[-1]) & members if ids else members


def _recording_id_ranges(actions: pa.Table) -> list[pc.Expression]:
    """Per add action, what its statistics guarantee about recording_id (``true`` if nothing)."""
    names = ("min.recording_id", "max.recording_id", "null_count.recording_id")
    if not all(name in actions.column_names for name in names):
        return [pc.scalar(True)] * actions.num_rows
    field = pc.field("recording_id")
    known = pc.scalar(True)
    return [
        (field >= low) & (field <= high) if low is not None and high is not None and nulls == 0 else known
        for low, high, nulls in zip(*(actions.column(name).to_pylist() for name in names), strict=True)
    ]


COMMIT_ATTEMPTS = 8  # of a chunk's commit that concurrent writers keep refusing


class LakeError(RuntimeError):
    """A lake that cannot be opened or written; the message is meant for the user."""


@dataclass(frozen=True)
class DamagedFile:
    """A data file the current version of a table references that is missing or cannot be read."""

    table: str
    path: str  # relative to the table's folder, as the Delta log names it
    problem: str  # "missing", or what is wrong with the file that is there

    def __str__(self) -> str:
        return f"{self.table}/{self.path}: {self.problem}"


class MissingDataFile(LakeError):
    """A table references data files that are gone or damaged (deleted by hand, a disk error)."""

    def __init__(self, root: str, damaged: list[DamagedFile]):
        self.damaged = damaged
        more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        super().__init__(
            f"the lake's data file {root}/{damaged[0]}{more}; run `hinge check --lake {root}` to list "
            "what is damaged and `hinge ingest MANIFEST --force` to re-create it from the source files"
        )


def resolve_lake(path: str | Path | None) -> str:
    """``--lake`` if given, else ``$HINGE_LAKE``, else ``data/lake`` (SPEC.md)."""
    return str(path or os.environ.get("HINGE_LAKE") or DEFAULT_LAKE)


def sql_string(value: str) -> str:
    """A SQL string literal for a Delta predicate; quotes doubled so ids cannot alter it."""
    return "'" + value.replace("'", "''") + "'"


def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def _local_path(root: str) -> Path | None:
    """The folder of a lake root on this machine, None for an object-store URL."""
    if root.startswith("file://"):
        return Path(root.removeprefix("file://"))
    return None if _is_remote(root) else Path(root)


class Lake:
    """Delta tables under one root. ``storage_options`` go to delta-rs for object stores."""

    def __init__(self, root: str | Path, storage_options: dict[str, str] | None = None):
        self.root = str(root).rstrip("/")
        self.storage_options = storage_options

    # ------------------------------------------------------------------ locations
    def uri(self, table: str) -> str:
        if table not in TABLES:
            raise KeyError(f"unknown lake table {table!r}")
        return f"{self.root}/{table}"

    def create(self) -> None:
        """Create the root and every table (empty) so readers never meet a missing table.

        ``recordings`` comes last: it is what ``is_lake`` looks for, so a create killed half-way
        never looks like a lake that lacks tables."""
        if not _is_remote(self.root):
            Path(self.root).mkdir(parents=True, exist_ok=True)
        for name, schema in sorted(TABLES.items(), key=lambda item: item[0] == "recordings"):
            if not self.exists(name):
                self._retry(
                    lambda n=name, s=schema: write_deltalake(
                        self.uri(n),
                        empty(s).to_arrow(),
                        mode="ignore",
                        configuration=TABLE_PROPERTIES,
                        storage_options=self.storage_options,
                    )
                )
            else:
                self._upgrade(name, schema)

    def _upgrade(self, name: str, schema: dict) -> None:
        """An older lake's table gets what a newer version added: columns (null in older rows)
        and table properties."""
        table = self.table(name)
        have = {f.name for f in table.schema().fields}
        missing = [c for c in schema if c not in have]
        if missing:
            fields = Schema.from_arrow(empty({c: schema[c] for c in missing}).to_arrow().schema).fields
            self._retry(lambda: self.table(name).alter.add_columns(fields))
        configured = table.metadata().configuration
        if any(configured.get(k) != v for k, v in TABLE_PROPERTIES.items()):
            self._retry(lambda: self.table(name).alter.set_table_properties(TABLE_PROPERTIES))

    def exists(self, table: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(table), storage_options=self.storage_options)

    def is_lake(self) -> bool:
        return self.exists("recordings")

    # ------------------------------------------------------------------ reading
    def table(self, table: str) -> DeltaTable:
        try:
            return DeltaTable(self.uri(table), storage_options=self.storage_options)
        except TableNotFoundError as exc:
            raise LakeError(f"no lake at {self.root} (run `hinge ingest` first)") from exc

    def _data_files(self, delta: DeltaTable) -> tuple[pa.Table, pafs.FileSystem, list[str]]:
        """The add actions of ``delta``'s current version, a file system and each file's path on it."""
        actions = pa.table(delta.get_add_actions(flatten=True))
        paths = actions.column("path").to_pylist()
        filesystem: pafs.FileSystem
        if _is_remote(delta.table_uri):
            sizes = dict(zip(paths, actions.column("size_bytes").to_pylist(), strict=True))
            filesystem = pafs.PyFileSystem(DeltaStorageHandler(delta.table_uri, self.storage_options, sizes))
        else:
            filesystem, root = pafs.FileSystem.from_uri(delta.table_uri)
            paths = [f"{root.rstrip('/')}/{path}" for path in paths]
        return actions, filesystem, paths

    def dataset(self, table: str, exclude: Collection[str] | None = None) -> pads.Dataset:
        """Arrow dataset of the table's current version (what DuckDB scans).

        Built from the Delta log's add actions rather than by ``DeltaTable.to_pyarrow_dataset``,
        which gives every file a guarantee over every column's statistics: for the 209 files of a
        10,000-recording lake's pose_frames that held 39 MB for as long as the dataset lived (2 MB
        this way). Here a file's guarantee is its recording_id range, the key every scoped read
        filters on, so files of other recordings are still skipped unopened; within a file Arrow
        prunes row groups by their own Parquet statistics. Tables that are partitioned or need
        reader features beyond protocol 1 (never ours) go through deltalake's own reader.

        On a local lake a data file that is gone or of another size than the log recorded raises
        MissingDataFile naming it (a stat per file: 0.8 ms for 200 files): without it DuckDB or
        Prefect failed mid-query with a raw error. ``exclude`` (paths as the log names them) are
        left out instead, for `hinge check`, which reads what is still there.
        """
        delta = self.table(table)
        if delta.protocol().min_reader_version > 1 or delta.metadata().partition_columns:
            return delta.to_pyarrow_dataset()
        actions, filesystem, paths = self._data_files(delta)
        guarantees = _recording_id_ranges(actions)
        if exclude is not None:
            keep = [p not in exclude for p in actions.column("path").to_pylist()]
            paths = [p for p, k in zip(paths, keep, strict=True) if k]
            guarantees = [g for g, k in zip(guarantees, keep, strict=True) if k]
        elif not _is_remote(delta.table_uri):
            lost = self._lost_files(table, actions, filesystem, paths)
            if lost:
                raise MissingDataFile(self.root, lost)
        file_format = pads.ParquetFileFormat(
            default_fragment_scan_options=pads.ParquetFragmentScanOptions(pre_buffer=True)
        )
        fragments = [
            file_format.make_fragment(path, filesystem=filesystem, partition_expression=guarantee)
            for path, guarantee in zip(paths, guarantees, strict=True)
        ]
        schema = pa.schema(delta.schema().to_arrow())
        return pads.FileSystemDataset(fragments, schema, file_format, filesystem)

    @staticmethod
    def _lost_files(
        table: str,
        actions: pa.Table,
        filesystem: pafs.FileSystem,
        paths: list[str],
        read_footers: bool = False,
    ) -> list[DamagedFile]:
        """Files of ``actions`` that are missing, of another size than the log says, or (with
        ``read_footers``) whose Parquet footer cannot be read."""
        lost = []
        names = actions.column("path").to_pylist()
        sizes = actions.column("size_bytes").to_pylist()
        for name, size, path, info in zip(names, sizes, paths, filesystem.get_file_info(paths), strict=True):
            if info.type == pafs.FileType.NotFound:
                lost.append(DamagedFile(table, name, "missing"))
            elif info.type != pafs.FileType.File:
                lost.append(DamagedFile(table, name, "not a file"))
            elif info.size is not None and size is not None and info.size != size:
                lost.append(
                    DamagedFile(
                        table,
                        name,
                        f"{info.size} bytes where the log recorded {size}: cut short or overwritten",
                    )
                )
            elif read_footers:
                try:
                    pq.read_metadata(path, filesystem=filesystem)
                except (OSError, pa.ArrowException) as exc:
                    lost.append(
                        DamagedFile(table, name, f"unreadable Parquet ({str(exc).splitlines()[0][:120]})")
                    )
        return lost

    def damaged_files(
        self, tables: Iterable[str] | None = None, read_footers: bool = True
    ) -> list[DamagedFile]:
        """Data files of the tables' current versions that are missing or cannot be read (every
        file's Parquet footer is read with ``read_footers``: 200 files in 30 ms locally)."""
        damaged: list[DamagedFile] = []
        for name in tables or TABLES:
            if not self.exists(name):
                continue
            delta = self.table(name)
            actions, filesystem, paths = self._data_files(delta)
            damaged += self._lost_files(name, actions, filesystem, paths, read_footers)
        return damaged

    def repair(self) -> list[DamagedFile]:
        """Make every table readable again: data files that are there but unreadable are moved to
        ``_damaged/<table>/`` under the lake root (kept for inspection), then each table's log
        forgets the files that are gone (Delta's FSCK, ``DeltaTable.repair``). Returns what was
        dropped. The rows those files held are lost, so their recordings are incomplete
        (`jobs.check`) until `hinge ingest --force` re-creates them."""
        damaged = self.damaged_files(read_footers=True)
        for item in damaged:
            if item.problem == "missing":
                continue
            folder = _local_path(self.root)
            if folder is None:
                raise LakeError(
                    f"the lake's data file {self.root}/{item} cannot be moved aside on an object store; "
                    "delete it, then run this again"
                )
            target = folder / DAMAGED_FOLDER / item.table / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(folder / item.table / item.path, target)
        for name in sorted({item.table for item in damaged}):
            self._retry(lambda n=name: self.table(n).repair(dry_run=False))
        return damaged

    def read(
        self, table: str, columns: list[str] | None = None, recording_ids: Iterable[str] | None = None
    ) -> pl.DataFrame:
        """The table (or only the rows of ``recording_ids``) as polars."""
        where = None if recording_ids is None else recordings_filter(recording_ids)
        data = self.dataset(table).to_table(columns=columns, filter=where)
        return pl.from_arrow(data)  # type: ignore[return-value]

    def version(self, table: str) -> int:
        return self.table(table).version()

    def file_count(self, table: str) -> int:
        """Data files the current version of ``table`` scans."""
        return len(self.table(table).file_uris())

    # ------------------------------------------------------------------ writing
    def replace_recordings(
        self,
        table: str,
        rows: pl.DataFrame,
        recording_ids: Iterable[str],
        snapshot: DeltaTable | None = None,
    ) -> None:
        """Replace every row of ``recording_ids`` in ``table`` with ``rows`` in one transaction.

        With ``snapshot`` (an earlier version of ``table``) the commit fails with
        ``CommitFailedError`` if another writer touched these recording_ids since that version;
        without it, a conflicting commit is retried against the newest version.
        """
        ids = sorted(set(recording_ids))
        if not ids:
            return
        data = conform(rows, TABLES[table]).to_arrow()
        predicate = f"recording_id IN ({', '.join(sql_string(i) for i in ids)})"
        if snapshot is not None:
            self._write(snapshot, table, data, mode="overwrite", predicate=predicate)
            return
        self._retry(lambda: self._write(self.uri(table), table, data, mode="overwrite", predicate=predicate))

    def commit_recordings(
        self,
        recording_ids: list[str],
        build: Callable[[str], tuple[dict[str, pl.DataFrame], pl.DataFrame]],
    ) -> None:
        """Commit a chunk of recordings by the write protocol above: ``build(ingest_id)`` gives the
        data tables' rows and the ``recordings`` rows (the marker), all tagged with that ingest id.

        The data tables are written first, then the marker, against the snapshot of ``recordings``
        taken before them: if a concurrent writer committed any of these recording_ids meanwhile,
        the marker is refused and the whole chunk is written again under a new ingest id (so data
        and marker come from one writer). A recording that commits is no longer quarantined."""
        for attempt in range(COMMIT_ATTEMPTS):
            marker_snapshot = self.table("recordings")
            data, marker = build(uuid.uuid4().hex)
            for table, rows in data.items():
                self.replace_recordings(table, rows, recording_ids)
            try:
                self.replace_recordings("recordings", marker, recording_ids, snapshot=marker_snapshot)
                break
            except CommitFailedError:
                time.sleep(0.05 * 2**attempt * (1 + random.random()))
        else:
            raise LakeError(
                f"another ingest kept writing the same recordings; gave up after {COMMIT_ATTEMPTS} attempts"
            )
        if self.read("quarantine", ["recording_id"], recording_ids).height:
            self.replace_recordings("quarantine", pl.DataFrame(), recording_ids)

    def append(self, table: str, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        data: pa.Table = conform(rows, TABLES[table]).to_arrow()
        self._retry(lambda: self._write(self.uri(table), table, data, mode="append"))

    def replace_recordings_in_batches(
        self, table: str, rows: pl.DataFrame, recording_ids: Iterable[str], batch: int = MAX_PREDICATE_IDS
    ) -> int:
        """`replace_recordings` in transactions of at most ``batch`` recording_ids each (see
        MAX_PREDICATE_IDS), for rows that need not commit together; returns the commits made."""
        ids = sorted(set(recording_ids))
        commits = 0
        for start in range(0, len(ids), max(1, batch)):
            part = ids[start : start + batch]
            mine = rows.filter(pl.col("recording_id").is_in(part)) if rows.height else rows
            self.replace_recordings(table, mine, part)
            commits += 1
        return commits

    def _write(self, target: str | DeltaTable, table: str, data: pa.Table, **options) -> None:
        with self._naming_lost_files(table):
            write_deltalake(
                target,
                data,
                writer_properties=writer_properties(table),
                storage_options=self.storage_options,
                **options,
            )

    @contextlib.contextmanager
    def _naming_lost_files(self, table: str) -> Iterator[None]:
        """A Delta error of a write that read a data file that is gone becomes MissingDataFile
        (delta-rs says "Object at location ... not found" deep in a Parquet error)."""
        try:
            yield
        except (DeltaError, OSError) as exc:
            if isinstance(exc, CommitFailedError):
                raise
            try:
                lost = self.damaged_files([table], read_footers=False)
            except Exception:  # the original error says more than a failed check of it
                lost = []
            if lost:
                raise MissingDataFile(self.root, lost) from exc
            raise

    def compact(self, min_files: int = COMPACT_MIN_FILES) -> dict[str, int]:
        """Merge the small files (under ``COMPACT_TARGET_BYTES``) of every table that has
        ``min_files`` or more into few larger ones, one bin at a time (bounded memory).

        Each chunk commit adds about one file per table; without compaction a year of weekly
        batches would make every scan open thousands of files. Returns table -> files after.
        The replaced files stay on disk (older versions still read them) until ``vacuum``.
        """
        compacted = {}
        for name in TABLES:
            if self.exists(name) and self.file_count(name) >= min_files:
                with self._naming_lost_files(name):
                    self._retry(
                        lambda n=name: self.table(n).optimize.compact(
                            target_size=COMPACT_TARGET_BYTES,
                            max_concurrent_tasks=1,
                            writer_properties=writer_properties(n),
                        )
                    )
                compacted[name] = self.file_count(name)
        return compacted

    def vacuum(self, retention_hours: int = VACUUM_RETENTION_HOURS) -> int:
        """Delete files no current version references and older than ``retention_hours``.

        ``full=True`` also finds files that were never committed (a writer killed between writing
        Parquet and committing). The age limit is what makes this safe to run while another
        ingest is writing: its not-yet-committed files are young. ``retention_hours=0`` is for
        a lake nobody else is writing to.
        """
        removed = 0
        for name in TABLES:
            if self.exists(name):
                removed += len(
                    self.table(name).vacuum(
                        retention_hours=retention_hours,
                        enforce_retention_duration=False,
                        dry_run=False,
                        full=True,
                    )
                )
        return removed

    def maintain(self, retention_hours: int = VACUUM_RETENTION_HOURS) -> dict[str, int]:
        """Compact tables with many small files, then vacuum: the end-of-batch safe point."""
        compacted = self.compact()
        removed = self.vacuum(retention_hours)
        return {**compacted, "files_removed": removed}

    @staticmethod
    def _retry(write: Callable[[], T], attempts: int = 8) -> T:
        """Retry a Delta commit that lost an optimistic-concurrency race."""
        for attempt in range(attempts):
            try:
                return write()
            except (CommitFailedError, DeltaError) as exc:
                transient = isinstance(exc, CommitFailedError) or "conflict" in str(exc).lower()
                if not transient or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * 2**attempt * (1 + random.random()))
        raise AssertionError("unreachable")
