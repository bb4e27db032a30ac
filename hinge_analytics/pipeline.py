"""One recording from file to per-rep metrics, and one chunk of recordings into the lake.

Plain functions: the Prefect flows in ``pipelines/`` only decide what runs where.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl
from deltalake.exceptions import CommitFailedError

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.features.curves import rep_curves
from hinge_analytics.features.metrics import rep_metrics
from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.ingest.manifest import ManifestRow, RejectedRow, quarantine_entries, read_manifest
from hinge_analytics.ingest.video import is_video
from hinge_analytics.kinematics import angles_for
from hinge_analytics.kinematics.implement import RepSignal
from hinge_analytics.kinematics.plausibility import check_angles
from hinge_analytics.lake import Lake, LakeError
from hinge_analytics.reps.segmentation import long_gaps, segment_reps
from hinge_analytics.reps.signal import rep_signal
from hinge_analytics.schema import TABLES, conform


@dataclass
class Processed:
    """One analysed recording waiting for its chunk's commit, its tables already in their stored
    form (schema columns, Float32): kinematics ran on Float64, but a chunk of 48 MediaPipe
    recordings holds 50 MB of Float64 frames that the commit would cast anyway; holding them cast
    halves what two chunks in flight keep in memory."""

    row: ManifestRow
    fmt: str
    read: RecordingRead
    angles: pl.DataFrame
    reps: pl.DataFrame
    curves: pl.DataFrame
    content_hash: str
    note: str | None = None

    def __post_init__(self) -> None:
        stored = TABLES[f"{self.read.modality}_frames"]
        self.read = replace(self.read, frames=conform(self.read.frames, stored))
        self.angles = conform(self.angles, TABLES["angles"])


@dataclass
class ChunkSummary:
    ingested: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (recording_id, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (recording_id, note): ingested
    reps: int = 0

    def merge(self, other: ChunkSummary) -> None:
        self.ingested += other.ingested
        self.skipped += other.skipped
        self.quarantined += other.quarantined
        self.notes += other.notes
        self.reps += other.reps


CHUNK_SIZE = 48  # recordings per task and Delta commit: bounded memory, few files and task runs
COMMIT_ATTEMPTS = 8


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


@dataclass(frozen=True)
class Analysis:
    """One recording's derived tables: angles per frame, reps with their metrics, rep curves."""

    angles: pl.DataFrame
    reps: pl.DataFrame
    curves: pl.DataFrame
    signal: RepSignal  # what the reps were cut on


def analyse(read: RecordingRead, exercise: str | None = None, side: str | None = None) -> Analysis:
    """Angles -> plausibility -> reps -> metrics -> curves of one recording held in memory, no lake.

    ``exercise`` and ``side`` are the manifest's (posture references, stance leg). Raises
    BadRecording when the angles cannot be a person doing the exercise."""
    angles = angles_for(read, exercise, side)
    check_angles(angles, exercise, read.sensors)
    signal = rep_signal(angles)
    boundaries = segment_reps(
        angles["t_s"].to_numpy(), signal.values, signal.min_prominence, min_range=signal.min_range
    )
    if signal.unit != "deg":  # segment_reps' speed is in the signal's unit: m/s here, not deg/s
        boundaries = boundaries.with_columns(peak_hinge_velocity_deg_s=pl.lit(None, dtype=pl.Float64))
    reps = rep_metrics(angles, boundaries, stance_side=side)
    return Analysis(angles, reps, rep_curves(angles, reps), signal)


def process_recording(row: ManifestRow, digest: str | None = None) -> Processed:
    """Read and analyse one manifest row. Raises BadRecording, nothing else."""
    digest = digest or content_hash(row)
    fmt, read = read_recording(row.file, row.format, row.sample_rate_hz, row.placement)
    try:
        done = analyse(read, row.exercise, row.side)
    except NotImplementedError as exc:
        raise BadRecording(f"This version cannot analyse {read.modality} recordings yet ({exc}).") from exc
    except BadRecording:
        raise
    except Exception as exc:  # one odd recording must not stop the batch
        raise BadRecording(
            f"The recording was read but could not be analysed ({type(exc).__name__}: {str(exc)[:120]}); "
            "please report this file."
        ) from exc
    note = recording_note(done)
    return Processed(row, fmt, read, done.angles, done.reps, done.curves, digest, note)


def recording_note(done: Analysis) -> str | None:
    """What a coach should know about a recording that was analysed: reps from a load sensor
    without body angles, gaps that lost reps, no reps."""
    notes = []
    t = done.angles["t_s"].to_numpy()
    signal = done.signal.values
    if done.signal.unit != "deg":  # cut on the load, not the body
        notes.append(
            "Reps and their timing come from a sensor on the bar, kettlebell or wrist: it measures no "
            "body angles, so reps get no form label from it."
        )
    gaps = long_gaps(t, np.isfinite(signal))
    if gaps is not None:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], gaps.astype(np.int8), [0]])))
        spans = [f"{t[a]:.1f}-{t[b - 1]:.1f} s" for a, b in zip(edges[::2], edges[1::2], strict=True)]
        notes.append(f"No data at {', '.join(spans)}: reps over those stretches are left out.")
    if done.reps.height == 0:
        finite = signal[np.isfinite(signal)]
        moved = float(np.percentile(finite, 99) - np.percentile(finite, 2)) if len(finite) else 0.0
        what = (
            f"the hips move through {moved:.0f} deg"
            if done.signal.unit == "deg"
            else f"the load moves {moved:.2f} m"
        )
        notes.append(
            f"No reps found: {what} at most and never go and return (a rest or a warm-up?)."
            if moved < done.signal.min_range
            else "No reps found: the movement does not repeat away from a rest position and back."
        )
    return " ".join(notes) or None


@dataclass
class LakeState:
    """What the lake already holds for some recording_ids (current pipeline version only)."""

    ingested: dict[str, str] = field(default_factory=dict)  # recording_id -> content hash
    quarantined: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # id -> (hash, reason)

    def of(self, rows: Iterable[ManifestRow]) -> LakeState:
        """The part of this state about ``rows`` (what one chunk needs)."""
        ids = [r.recording_id for r in rows]  # the chunk's ids, not the batch's whole state
        return LakeState(
            {k: self.ingested[k] for k in ids if k in self.ingested},
            {k: self.quarantined[k] for k in ids if k in self.quarantined},
        )


def batch_state(lake: Lake, rows: list[ManifestRow], force: bool = False) -> LakeState:
    """What the lake holds for a whole batch, looked up once before its chunks run (nothing when
    ``force``). Looking up per chunk re-read the growing ``recordings``/``reps`` tables once per
    chunk, which is quadratic in the batch (14 s of a 10,000-recording ingest). A recording that
    a concurrent ingest commits after this lookup is simply done again: its rows are replaced,
    never duplicated, and the commit protocol keeps data and marker from one writer."""
    return LakeState() if force else lake_state(lake, [r.recording_id for r in rows])


def lake_state(lake: Lake, recording_ids: Iterable[str]) -> LakeState:
    """Committed and quarantined recordings among ``recording_ids``.

    A recording counts as ingested only if its marker row exists for this pipeline version *and*
    its reps rows of that ingest are all present (a marker whose data was overwritten by a
    concurrent writer that then died is re-done, not trusted).
    """
    ids = sorted(set(recording_ids))
    state = LakeState()
    if not ids or not lake.exists("recordings"):
        return state
    done = lake.read(
        "recordings", ["recording_id", "ingest_id", "content_hash", "n_reps", "pipeline_version"], ids
    ).filter(pl.col("pipeline_version") == PIPELINE_VERSION)
    if done.height:
        reps = (
            lake.read("reps", ["recording_id", "ingest_id"], done["recording_id"].to_list())
            .group_by("recording_id", "ingest_id")
            .len()
        )
        done = done.join(reps, on=["recording_id", "ingest_id"], how="left").filter(
            pl.col("len").fill_null(0) == pl.col("n_reps")
        )
        state.ingested = dict(
            zip(done["recording_id"].to_list(), done["content_hash"].to_list(), strict=True)
        )
    q = lake.read("quarantine", None, ids)
    for rec in q.iter_rows(named=True):
        if rec.get("pipeline_version") in (None, PIPELINE_VERSION):
            state.quarantined[rec["recording_id"]] = (rec.get("content_hash"), rec["reason"])
    return state


def already_ingested(lake: Lake, rows: Iterable[ManifestRow]) -> dict[str, str]:
    """recording_id -> content hash committed by the current pipeline version."""
    return lake_state(lake, [r.recording_id for r in rows]).ingested


def quarantine_rows(items: Iterable[tuple]) -> pl.DataFrame:
    """(recording_id, path, reason[, content_hash[, athlete_id[, session_date]]]) -> quarantine
    table rows stamped now. Columns the lake's schema lacks are dropped when written."""
    items = list(items)

    def at(k: int) -> list:
        return [i[k] if len(i) > k else None for i in items]

    return pl.DataFrame(
        {
            "recording_id": at(0),
            "path": at(1),
            "reason": at(2),
            "quarantined_at": [now_utc()] * len(items),
            "content_hash": at(3),
            "pipeline_version": [PIPELINE_VERSION] * len(items),
            "athlete_id": at(4),
            "session_date": at(5),
        },
        schema_overrides={
            "recording_id": pl.String,
            "path": pl.String,
            "reason": pl.String,
            "content_hash": pl.String,
            "athlete_id": pl.String,
            "session_date": pl.Date,
        },
    )


def record_rejected(lake: Lake, rejected: list[RejectedRow]) -> None:
    """Quarantine invalid manifest rows; a row already quarantined for the same reason is left as is.

    The quarantine table holds one row per recording_id: manifest rows that share an id become one
    row whose reason names every row number (`quarantine_entries`). Written at most
    ``MAX_PREDICATE_IDS`` ids per commit: one predicate of 25,000 ids crashed delta-rs."""
    if not rejected:
        return
    entries = quarantine_entries(rejected)
    known = lake_state(lake, [r.recording_id for r in entries]).quarantined
    new = [r for r in entries if known.get(r.recording_id, (None, None))[1] != r.reason]
    if new:
        rows = quarantine_rows(
            (r.recording_id, r.path, r.reason, None, r.athlete_id, r.session_date) for r in new
        )
        lake.replace_recordings_in_batches("quarantine", rows, rows["recording_id"].to_list())


def ingest_chunk(
    lake: Lake, rows: list[ManifestRow], force: bool = False, state: LakeState | None = None
) -> ChunkSummary:
    """Process a chunk of recordings and commit them (see lake.py for the write protocol).

    Skipped without reading: recordings committed by this pipeline version with the same content
    hash, and recordings already quarantined for the same content (``state``, from `batch_state`;
    looked up here when not given). ``force`` re-does everything.
    """
    summary = ChunkSummary()
    if state is None or force:
        state = batch_state(lake, rows, force)
    processed: list[Processed] = []
    bad: list[tuple[str, str, str, str | None, str, dt.date]] = []
    stale_quarantine: list[str] = []
    for row in rows:
        rid = row.recording_id
        try:
            digest = content_hash(row)
        except OSError as exc:
            reason = f"The file could not be opened ({exc.strerror or exc})."
            bad.append((rid, row.path, reason, None, row.athlete_id, row.session_date))
            continue
        if state.ingested.get(rid) == digest:
            summary.skipped.append(rid)
            if rid in state.quarantined:
                stale_quarantine.append(rid)  # a run killed after its commit marker
            continue
        if rid in state.quarantined and state.quarantined[rid][0] == digest:
            summary.quarantined.append((rid, state.quarantined[rid][1]))
            continue
        try:
            processed.append(process_recording(row, digest))
        except BadRecording as exc:
            bad.append((rid, row.path, str(exc), digest, row.athlete_id, row.session_date))
    if bad:
        q = quarantine_rows(bad)
        lake.replace_recordings("quarantine", q, q["recording_id"].to_list())
        summary.quarantined += [(b[0], b[2]) for b in bad]
    if processed:
        commit(lake, processed)
        summary.ingested += [p.row.recording_id for p in processed]
        summary.notes += [(p.row.recording_id, p.note) for p in processed if p.note]
        summary.reps += sum(p.reps.height for p in processed)
    if stale_quarantine:
        lake.replace_recordings("quarantine", pl.DataFrame(), stale_quarantine)
    return summary


@dataclass
class Batch:
    """A manifest ready to ingest: its valid rows, what the lake already holds for them, and the
    summary so far (the manifest's rejected rows, already quarantined)."""

    rows: list[ManifestRow]
    state: LakeState
    summary: ChunkSummary

    def chunks(self, size: int) -> Iterator[tuple[list[ManifestRow], LakeState]]:
        """Chunks of up to ``size`` rows, each with its part of the lake state. A video is a
        chunk of its own: pose estimation takes seconds a video, and chunks are what the flow's
        workers share out (three clips in one chunk took 2.1x the estimator's time on two cores)."""
        chunk: list[ManifestRow] = []
        for row in self.rows:
            if is_video(row.file, row.format):
                yield [row], self.state.of([row])
                continue
            chunk.append(row)
            if len(chunk) >= max(1, size):
                yield chunk, self.state.of(chunk)
                chunk = []
        if chunk:
            yield chunk, self.state.of(chunk)


def plan_batch(manifest: Path, lake: Lake, force: bool = False, batch_dir: Path | None = None) -> Batch:
    """Read and validate the manifest, create the lake's tables, quarantine the rejected rows and
    look up once what the lake holds for the rest: what every ingest does before its chunks.
    ``batch_dir``: the folder the manifest's paths are relative to (default: the manifest's own).
    Raises BadRecording when the manifest itself is unusable."""
    rows, rejected = read_manifest(manifest, batch_dir)
    lake.create()
    if force:  # a lost data file fails every read and write of its table until the log forgets it
        lake.repair()
    record_rejected(lake, rejected)
    summary = ChunkSummary(quarantined=[(r.recording_id, r.reason) for r in rejected])
    return Batch(rows, batch_state(lake, rows, force), summary)


def ingest_manifest(
    manifest: Path,
    lake: Lake,
    chunk_size: int = CHUNK_SIZE,
    force: bool = False,
    batch_dir: Path | None = None,
) -> ChunkSummary:
    """The whole ingest without Prefect: manifest -> chunks -> lake -> compaction.

    One chunk's recordings are in memory at a time, so memory does not grow with the batch.
    ``batch_dir`` as in `plan_batch`. Raises BadRecording when the manifest itself is unusable.
    """
    batch = plan_batch(manifest, lake, force, batch_dir)
    for chunk, state in batch.chunks(chunk_size):
        batch.summary.merge(ingest_chunk(lake, chunk, force=force, state=state))
    lake.compact()
    return batch.summary


def commit(lake: Lake, processed: list[Processed]) -> None:
    """Write the chunk's data tables, then its recordings rows (the commit marker).

    The marker commits against the snapshot of ``recordings`` taken before the data tables were
    written; if a concurrent writer committed any of these recording_ids meanwhile, the marker is
    refused and the whole chunk is written again (so data and marker come from one writer).
    """
    ids = [p.row.recording_id for p in processed]
    pose = [p for p in processed if p.read.modality == "pose"]
    imu = [p for p in processed if p.read.modality == "imu"]
    for attempt in range(COMMIT_ATTEMPTS):
        marker_snapshot = lake.table("recordings")
        ingest_id = uuid.uuid4().hex

        def tag(frame: pl.DataFrame, rid: str, ingest_id: str = ingest_id, **extra: str) -> pl.DataFrame:
            return frame.with_columns(
                recording_id=pl.lit(rid),
                ingest_id=pl.lit(ingest_id),
                **{k: pl.lit(v) for k, v in extra.items()},
            )

        for table, group in (("pose_frames", pose), ("imu_frames", imu)):
            parts = [tag(p.read.frames, p.row.recording_id) for p in group]
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
        lake.replace_recordings(
            "rep_curves",
            pl.concat([tag(p.curves, p.row.recording_id) for p in processed], how="diagonal_relaxed"),
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
                    "note": p.note,
                    "source_file": str(p.row.file),
                    "estimator": p.read.estimator,
                    "pipeline_version": PIPELINE_VERSION,
                    "ingested_at": now_utc(),
                }
                for p in processed
            ]
        )
        try:
            lake.replace_recordings("recordings", recordings, ids, snapshot=marker_snapshot)
            break
        except CommitFailedError:
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
    else:
        raise LakeError(
            f"another ingest kept writing the same recordings; gave up after {COMMIT_ATTEMPTS} attempts"
        )
    # A recording that ingests cleanly is no longer quarantined.
    if lake.read("quarantine", ["recording_id"], ids).height:
        lake.replace_recordings("quarantine", pl.DataFrame(), ids)
