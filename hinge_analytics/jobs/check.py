"""`hinge check`: what in a lake is damaged or incomplete, and what re-creates it.

Two kinds of damage, both found without writing anything:
- data files the Delta log references that are missing, of another size than the log recorded, or
  whose Parquet footer cannot be read (a file deleted or cut short by hand, a disk error);
- recordings whose commit marker (a ``recordings`` row) is there but whose rows of that ingest are
  not all in the data tables: frames and angles (``n_frames`` rows each), reps and rep curves
  (``n_reps`` rows each); and recordings with data rows but no marker at all (a lost ``recordings``
  file, or an ingest killed before its marker, whose rows nobody sees).

Both are re-created from the source files by ``hinge ingest MANIFEST --force``: it first makes the
log forget the lost files (`Lake.repair`), then re-ingests every recording of the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from hinge_analytics.lake import DamagedFile, Lake, LakeError

# table -> the column of ``recordings`` that says how many rows one ingest of a recording wrote
EXPECTED_ROWS = {"angles": "n_frames", "reps": "n_reps", "rep_curves": "n_reps"}
FRAMES_TABLES = {"pose": "pose_frames", "imu": "imu_frames"}


@dataclass(frozen=True)
class IncompleteRecording:
    recording_id: str
    problems: tuple[str, ...]  # e.g. "reps: 0 of 6 rows"

    def __str__(self) -> str:
        return f"{self.recording_id}: {'; '.join(self.problems)}"


@dataclass
class LakeCheck:
    damaged: list[DamagedFile] = field(default_factory=list)
    incomplete: list[IncompleteRecording] = field(default_factory=list)
    recordings: int = 0  # commit markers checked

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.incomplete

    def lines(self) -> list[str]:
        """One line per problem, or one saying the lake is whole."""
        if self.ok:
            return [f"the lake is whole: {self.recordings} recording(s), every data file readable"]
        return [f"damaged data file {item}" for item in self.damaged] + [
            f"incomplete recording {item}" for item in self.incomplete
        ]

    def summary(self) -> str:
        """The one-line verdict of a lake with problems, and what re-creates what they lost."""
        return (
            f"the lake has {len(self.damaged)} damaged data file(s) and {len(self.incomplete)} incomplete "
            "recording(s); run `hinge ingest MANIFEST --force` with the manifest(s) of those recordings "
            "to re-create them from the source files"
        )


def check_lake(lake: Lake, read_footers: bool = True) -> LakeCheck:
    """Damaged data files and incomplete recordings of ``lake`` (see the module docstring).

    Reads only what is still readable, so one lost file does not hide the rest; writes nothing.
    Raises LakeError when there is no lake. Counting rows per recording is one DuckDB scan of the
    key columns per table (frames included), so it takes seconds on a large lake.
    """
    if not lake.is_lake():
        raise LakeError(f"no lake at {lake.root} (run `hinge ingest MANIFEST` first)")
    damaged = lake.damaged_files(read_footers=read_footers)
    skip: dict[str, set[str]] = {}
    for item in damaged:
        skip.setdefault(item.table, set()).add(item.path)
    tables = ["recordings", *FRAMES_TABLES.values(), *EXPECTED_ROWS]
    con = duckdb.connect()
    try:
        for name in tables:
            if lake.exists(name):
                con.register(f"{name}_data", lake.dataset(name, exclude=skip.get(name, set())))
        markers = con.sql(
            "SELECT recording_id, ingest_id, modality, n_frames, n_reps FROM recordings_data"
        ).pl()
        counts = {
            name: con.sql(f"SELECT recording_id, ingest_id, count(*) AS n FROM {name}_data GROUP BY ALL").pl()
            for name in tables[1:]
            if lake.exists(name)
        }
    finally:
        con.close()
    return LakeCheck(damaged, _incomplete(markers, counts), markers.height)


def _incomplete(markers: pl.DataFrame, counts: dict[str, pl.DataFrame]) -> list[IncompleteRecording]:
    problems: dict[str, list[str]] = {}
    for table, rows in counts.items():
        if table in EXPECTED_ROWS:
            expected = markers.select("recording_id", "ingest_id", want=pl.col(EXPECTED_ROWS[table]))
        else:
            modality = next(m for m, t in FRAMES_TABLES.items() if t == table)
            expected = markers.filter(pl.col("modality") == modality).select(
                "recording_id", "ingest_id", want=pl.col("n_frames")
            )
        short = (
            expected.join(rows, on=["recording_id", "ingest_id"], how="left")
            .with_columns(n=pl.col("n").fill_null(0))
            .filter(pl.col("n") != pl.col("want"))
            .sort("recording_id")
        )
        for rid, have, want in short.select("recording_id", "n", "want").iter_rows():
            problems.setdefault(rid, []).append(f"{table}: {have} of {want} rows")
        unmarked = rows.join(markers, on="recording_id", how="anti")["recording_id"].unique().sort()
        for rid in unmarked.to_list():
            problems.setdefault(rid, []).append(f"rows in {table} but no recordings row (commit marker)")
    return [IncompleteRecording(rid, tuple(p)) for rid, p in sorted(problems.items())]
