"""One recording from file to per-rep metrics, and one chunk of recordings into the lake.

Plain functions: the Prefect flows in ``pipelines/`` only decide what runs where.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.features.metrics import rep_metrics
from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.ingest.manifest import ManifestRow, RejectedRow
from hinge_analytics.kinematics import angles_for
from hinge_analytics.lake import Lake
from hinge_analytics.reps.segmentation import segment_reps


@dataclass
class Processed:
    row: ManifestRow
    fmt: str
    read: RecordingRead
    angles: pl.DataFrame
    reps: pl.DataFrame
    content_hash: str


@dataclass
class ChunkSummary:
    ingested: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (recording_id, reason)
    reps: int = 0

    def merge(self, other: ChunkSummary) -> None:
        self.ingested += other.ingested
        self.skipped += other.skipped
        self.quarantined += other.quarantined
        self.reps += other.reps


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def content_hash(row: ManifestRow) -> str:
    """SHA-256 over the recording's bytes (every file, for folder formats) and its manifest row.

    A changed file or changed metadata (athlete, date, load...) makes the recording re-ingest.
    """
    digest = hashlib.sha256()
    files = sorted(p for p in row.file.rglob("*") if p.is_file()) if row.file.is_dir() else [row.file]
    for path in files:
        digest.update(str(path.relative_to(row.file.parent)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    meta = {k: str(v) for k, v in row.metadata().items()}
    meta["format"] = str(row.format)
    meta["sample_rate_hz"] = str(row.sample_rate_hz)
    digest.update(json.dumps(meta, sort_keys=True).encode())
    return digest.hexdigest()


def process_recording(row: ManifestRow) -> Processed:
    """Read, compute angles, segment reps and derive metrics. Raises BadRecording."""
    digest = content_hash(row)
    fmt, read = read_recording(row.file, row.format, row.sample_rate_hz)
    angles = angles_for(read)
    boundaries = segment_reps(angles["t_s"].to_numpy(), angles["hinge_deg"].to_numpy())
    reps = rep_metrics(angles, boundaries)
    if reps.height == 0:
        raise BadRecording(
            "No reps were found: the hips never bend and return. Check that the file is a hinge "
            "set filmed from the side (or the IMUs are on the body) and that it is not cut short."
        )
    return Processed(row, fmt, read, angles, reps, digest)


def already_ingested(lake: Lake, rows: Iterable[ManifestRow]) -> dict[str, str]:
    """recording_id -> content hash committed by the current pipeline version."""
    rows = list(rows)
    if not rows or not lake.exists("recordings"):
        return {}
    done = lake.read("recordings", ["recording_id", "content_hash", "pipeline_version"])
    done = done.filter(pl.col("pipeline_version") == PIPELINE_VERSION)
    return dict(zip(done["recording_id"].to_list(), done["content_hash"].to_list(), strict=True))


def quarantine_rows(items: Iterable[tuple[str, str, str]]) -> pl.DataFrame:
    """(recording_id, path, reason) -> quarantine table rows stamped now."""
    items = list(items)
    return pl.DataFrame(
        {
            "recording_id": [i[0] for i in items],
            "path": [i[1] for i in items],
            "reason": [i[2] for i in items],
            "quarantined_at": [now_utc()] * len(items),
        }
    )


def record_rejected(lake: Lake, rejected: list[RejectedRow]) -> None:
    """Quarantine invalid manifest rows (replacing earlier entries for the same ids)."""
    if rejected:
        rows = quarantine_rows((r.recording_id, r.path, r.reason) for r in rejected)
        lake.replace_recordings("quarantine", rows, rows["recording_id"].to_list())


def ingest_chunk(lake: Lake, rows: list[ManifestRow], force: bool = False) -> ChunkSummary:
    """Process a chunk of recordings and commit them (see lake.py for the write protocol)."""
    summary = ChunkSummary()
    committed = {} if force else already_ingested(lake, rows)
    processed: list[Processed] = []
    bad: list[tuple[str, str, str]] = []
    for row in rows:
        try:
            if committed.get(row.recording_id) == content_hash(row):
                summary.skipped.append(row.recording_id)
                continue
            processed.append(process_recording(row))
        except BadRecording as exc:
            bad.append((row.recording_id, row.path, str(exc)))
    if bad:
        q = quarantine_rows(bad)
        lake.replace_recordings("quarantine", q, q["recording_id"].to_list())
        summary.quarantined += [(b[0], b[2]) for b in bad]
    if processed:
        commit(lake, processed)
        summary.ingested += [p.row.recording_id for p in processed]
        summary.reps += sum(p.reps.height for p in processed)
    return summary


def commit(lake: Lake, processed: list[Processed]) -> None:
    """Write the chunk's data tables, then its recordings rows (the commit marker)."""
    ingest_id = uuid.uuid4().hex
    ids = [p.row.recording_id for p in processed]
    stamp = {"ingest_id": ingest_id}

    def tag(frame: pl.DataFrame, rid: str, **extra: str) -> pl.DataFrame:
        return frame.with_columns(
            recording_id=pl.lit(rid), **{k: pl.lit(v) for k, v in {**stamp, **extra}.items()}
        )

    pose = [tag(p.read.frames, p.row.recording_id) for p in processed if p.read.modality == "pose"]
    imu = [tag(p.read.frames, p.row.recording_id) for p in processed if p.read.modality == "imu"]
    for table, parts in (("pose_frames", pose), ("imu_frames", imu)):
        lake.replace_recordings(
            table, pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(), ids
        )
    lake.replace_recordings(
        "angles",
        pl.concat([tag(p.angles, p.row.recording_id) for p in processed], how="diagonal_relaxed"),
        ids,
    )
    lake.replace_recordings(
        "reps",
        pl.concat(
            [tag(p.reps, p.row.recording_id, pipeline_version=PIPELINE_VERSION) for p in processed],
            how="diagonal_relaxed",
        ),
        ids,
    )
    recordings = pl.DataFrame(
        [
            {
                **p.row.metadata(),
                "ingest_id": ingest_id,
                "format": p.fmt,
                "modality": p.read.modality,
                "sensors": p.read.sensors,
                "content_hash": p.content_hash,
                "n_frames": p.read.frames.height,
                "sample_rate_hz": p.read.sample_rate_hz,
                "duration_s": float(p.read.frames["t_s"][-1]),
                "n_reps": p.reps.height,
                "pipeline_version": PIPELINE_VERSION,
                "ingested_at": now_utc(),
            }
            for p in processed
        ]
    )
    lake.replace_recordings("recordings", recordings, ids)
    # A recording that ingests cleanly is no longer quarantined.
    lake.replace_recordings("quarantine", pl.DataFrame(), ids)
