"""The lake: a folder (or object-store URL) of Delta Lake tables, and the one place that writes it.

Write protocol (why a crash never shows half a recording):
1. A chunk of recordings is processed in memory.
2. Each data table (frames, angles, reps) gets one Delta transaction that replaces the chunk's
   recording_ids (``predicate="recording_id IN (...)"``): old rows out, new rows in, atomically.
   Every row carries the ``ingest_id`` of the run that made it.
3. Last, the ``recordings`` table is committed the same way. It is the commit marker: the SQL views
   only show rows whose (recording_id, ingest_id) is in ``recordings``. A crash between 2 and 3
   leaves rows nobody sees; the rerun replaces them.
Concurrent writers are detected by Delta's optimistic concurrency; a conflicting commit is retried.
Delta tables: https://delta-io.github.io/delta-rs/ (``write_deltalake``, ``DeltaTable.optimize``).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from hinge_analytics.schema import TABLES, conform, empty

DEFAULT_LAKE = "data/lake"
T = TypeVar("T")


class LakeError(RuntimeError):
    """A lake that cannot be opened or written; the message is meant for the user."""


def resolve_lake(path: str | Path | None) -> str:
    """``--lake`` if given, else ``$HINGE_LAKE``, else ``data/lake`` (SPEC.md)."""
    return str(path or os.environ.get("HINGE_LAKE") or DEFAULT_LAKE)


def sql_string(value: str) -> str:
    """A SQL string literal for a Delta predicate; quotes doubled so ids cannot alter it."""
    return "'" + value.replace("'", "''") + "'"


def _is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


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
        """Create the root and every table (empty) so readers never meet a missing table."""
        if not _is_remote(self.root):
            Path(self.root).mkdir(parents=True, exist_ok=True)
        for name, schema in TABLES.items():
            if not self.exists(name):
                self._retry(
                    lambda n=name, s=schema: write_deltalake(
                        self.uri(n),
                        empty(s).to_arrow(),
                        mode="ignore",
                        storage_options=self.storage_options,
                    )
                )

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

    def dataset(self, table: str) -> pads.Dataset:
        """Arrow dataset of the table's current version (what DuckDB scans)."""
        return self.table(table).to_pyarrow_dataset()

    def read(self, table: str, columns: list[str] | None = None) -> pl.DataFrame:
        data = self.dataset(table).to_table(columns=columns)
        return pl.from_arrow(data)  # type: ignore[return-value]

    # ------------------------------------------------------------------ writing
    def replace_recordings(self, table: str, rows: pl.DataFrame, recording_ids: Iterable[str]) -> None:
        """Replace every row of ``recording_ids`` in ``table`` with ``rows`` in one transaction."""
        ids = sorted(set(recording_ids))
        if not ids:
            return
        data = conform(rows, TABLES[table]).to_arrow()
        predicate = f"recording_id IN ({', '.join(sql_string(i) for i in ids)})"
        self._retry(
            lambda: write_deltalake(
                self.uri(table),
                data,
                mode="overwrite",
                predicate=predicate,
                storage_options=self.storage_options,
            )
        )

    def append(self, table: str, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        data: pa.Table = conform(rows, TABLES[table]).to_arrow()
        self._retry(
            lambda: write_deltalake(
                self.uri(table), data, mode="append", storage_options=self.storage_options
            )
        )

    def compact(self, min_files: int = 16) -> dict[str, int]:
        """Merge small files of tables that have many, then drop files no version references.

        Many small commits (one per chunk) each add a file; compaction keeps scans fast. Vacuum
        with zero retention also removes files orphaned by a killed writer.
        """
        compacted = {}
        for name in TABLES:
            if not self.exists(name):
                continue
            dt = self.table(name)
            if len(dt.file_uris()) >= min_files:
                self._retry(lambda d=dt: d.optimize.compact())
                compacted[name] = len(self.table(name).file_uris())
        return compacted

    def vacuum(self) -> int:
        """Delete data files no current version references (orphans of a killed ingest)."""
        removed = 0
        for name in TABLES:
            if self.exists(name):
                removed += len(
                    self.table(name).vacuum(
                        retention_hours=0, enforce_retention_duration=False, dry_run=False
                    )
                )
        return removed

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
