"""The ingest job: a manifest's recordings analysed chunk by chunk and committed to the lake.

Each chunk is one Delta commit (`Lake.commit_recordings`); a recording already committed by this
pipeline version with the same content, or quarantined for the same content, is skipped without
being read. Flows (`hinge_analytics.pipelines`) run the same chunks as Prefect tasks.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import ManifestRow, RejectedRow, quarantine_entries, read_manifest
from hinge_analytics.ingest.video import (
    cache_file,
    counting_frames,
    estimator_version,
    frame_count,
    is_video,
    store_landmarks,
    video_sha256,
)
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import Processed, content_hash, now_utc, process_recording, quarantine_rows
from hinge_analytics.progress import Progress

CHUNK_SIZE = 48  # recordings per task and Delta commit: bounded memory, few files and task runs


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
        if is_video(row.file, row.format):
            restore_video_landmarks(lake, row)
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


def restore_video_landmarks(lake: Lake, row: ManifestRow) -> None:
    """Put the landmarks the lake holds for this video (same bytes, same estimator) back in the
    estimator's cache, so that re-analysing it never runs the estimator again, even on a machine
    that never saw the video before. The video is hashed only when the lake has an ingest of it by
    this estimator: a first ingest reads its bytes no more often than before."""
    version = estimator_version()
    if version is None or not lake.exists("video_landmarks"):
        return
    marker = lake.read("recordings", ["recording_id", "ingest_id", "estimator"], [row.recording_id]).filter(
        pl.col("estimator") == version
    )
    if not marker.height:
        return
    try:
        video_hash = video_sha256(row.file)
    except OSError:
        return  # reading the recording says what is wrong with it
    if cache_file(video_hash, version).is_file():
        return
    table = (
        lake.read("video_landmarks", None, [row.recording_id])
        .join(marker.select("recording_id", "ingest_id"), on=["recording_id", "ingest_id"])
        .filter(pl.col("video_sha256") == video_hash)
        .sort("frame")
    )
    if table.height:
        store_landmarks(table, video_hash, version, row.file.name)


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


class Pending(Protocol):
    """A chunk's summary to come: a `concurrent.futures.Future` or a Prefect task's future."""

    def result(self) -> ChunkSummary: ...


def run_chunks(
    batch: Batch,
    submit: Callable[[list[ManifestRow], LakeState], Pending],
    window: int,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> ChunkSummary:
    """Every chunk of ``batch`` through ``submit``, at most ``window`` in flight so that memory
    stays flat however long the batch; each summary is merged (and counted on ``progress``) in
    submission order. The loop the in-process ingest and the Prefect flow share."""
    if progress is not None:
        progress.start(len(batch.rows))
    in_flight: deque[Pending] = deque()

    def collect(pending: Pending) -> None:
        summary = pending.result()
        batch.summary.merge(summary)
        if progress is not None:
            progress.advance(len(summary.ingested) + len(summary.skipped) + len(summary.quarantined))

    for chunk, state in batch.chunks(chunk_size):
        in_flight.append(submit(chunk, state))
        if len(in_flight) >= max(1, window):
            collect(in_flight.popleft())
    while in_flight:
        collect(in_flight.popleft())
    return batch.summary


@dataclass
class _Waiting:
    """A worker thread's chunk, waited for in short slices: Ctrl-C's SIGINT may be delivered to a
    worker thread, and a main thread blocked in a wait without timeout never runs Python's handler
    (a video ingest would go on for minutes after Ctrl-C)."""

    future: Future[ChunkSummary]

    def result(self) -> ChunkSummary:
        while True:
            try:
                return self.future.result(timeout=0.25)
            except TimeoutError:
                continue


def default_workers() -> int:
    """Chunks analysed at once in one process: one per core. The heavy parts (Arrow, polars,
    NumPy, delta-rs, the pose estimator) release the GIL, so threads share the cores."""
    return max(2, os.cpu_count() or 2)


def ingest_manifest(
    manifest: Path,
    lake: Lake,
    chunk_size: int = CHUNK_SIZE,
    force: bool = False,
    batch_dir: Path | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    frames: Progress | None = None,
) -> ChunkSummary:
    """The whole ingest in this process, without Prefect: manifest -> chunks on ``workers``
    threads (default `default_workers`) -> lake -> compaction and vacuum (`Lake.maintain`).

    At most ``workers`` chunks are in memory at a time, so memory does not grow with the batch.
    ``batch_dir`` as in `plan_batch`; ``progress`` hears of each chunk as it is done, ``frames`` of
    each video frame whose pose is estimated (or found cached). Raises BadRecording when the
    manifest itself is unusable.
    """
    batch = plan_batch(manifest, lake, force, batch_dir)
    if frames is not None:
        frames.start(video_frames(batch))
    threads = workers or default_workers()

    def submit(pool: ThreadPoolExecutor, chunk: list[ManifestRow], state: LakeState) -> Pending:
        # a worker thread runs in a copy of this context: it counts frames on ``frames`` too
        return _Waiting(pool.submit(contextvars.copy_context().run, ingest_chunk, lake, chunk, force, state))

    pool = ThreadPoolExecutor(threads, thread_name_prefix="hinge-ingest")
    try:
        with counting_frames(frames):
            summary = run_chunks(
                batch, lambda chunk, state: submit(pool, chunk, state), threads, chunk_size, progress
            )
    except BaseException:
        # An error or Ctrl-C returns now, not after the chunks already running (a video: minutes);
        # they finish or die with the process, and the lake is consistent either way (lake.py).
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    lake.maintain()
    return summary


def video_frames(batch: Batch) -> int:
    """Frames of the batch's videos that are not in the lake already: a frames progress bar's total."""
    return sum(
        frame_count(row.file)
        for row in batch.rows
        if is_video(row.file, row.format) and row.recording_id not in batch.state.ingested
    )


def recordings_rows(processed: list[Processed], ingest_id: str) -> pl.DataFrame:
    """The ``recordings`` rows (commit markers) of a chunk's analysed recordings. Types come from
    every row: a note or estimator first given on row 101 of a big chunk is a string, not an error."""
    return pl.DataFrame(
        infer_schema_length=None,
        data=[
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
        ],
    )


def commit(lake: Lake, processed: list[Processed]) -> None:
    """Commit a chunk's analysed recordings (`Lake.commit_recordings`: data tables, then the
    ``recordings`` marker)."""
    ids = [p.row.recording_id for p in processed]

    def tables(ingest_id: str) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
        def tagged(frames: list[pl.DataFrame], **extra: str) -> pl.DataFrame:
            if not frames:
                return pl.DataFrame()
            return pl.concat(
                [
                    f.with_columns(
                        recording_id=pl.lit(p.row.recording_id),
                        ingest_id=pl.lit(ingest_id),
                        **{k: pl.lit(v) for k, v in extra.items()},
                    )
                    for f, p in frames
                ],
                how="diagonal_relaxed",
            )

        data = {
            "pose_frames": tagged([(p.read.frames, p) for p in processed if p.read.modality == "pose"]),
            "imu_frames": tagged([(p.read.frames, p) for p in processed if p.read.modality == "imu"]),
            "angles": tagged([(p.angles, p) for p in processed]),
            "reps": tagged([(p.reps, p) for p in processed], pipeline_version=PIPELINE_VERSION),
            "rep_curves": tagged([(p.curves, p) for p in processed]),
        }
        estimated = [
            (p.read.estimator_output.with_row_index("frame"), p)
            for p in processed
            if p.read.estimator_output is not None
        ]
        if estimated:  # a chunk without videos leaves the table alone: no commit for nothing
            data["video_landmarks"] = tagged(estimated)
        return data, recordings_rows(processed, ingest_id)

    lake.commit_recordings(ids, tables)
