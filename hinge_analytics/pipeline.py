"""One recording from file to per-rep metrics: read -> angles -> reps -> metrics and curves.

Plain functions over one recording, no lake: `jobs.ingest` commits what they give, and the Prefect
flows only decide what runs where.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.features.curves import rep_curves
from hinge_analytics.features.metrics import rep_metrics
from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.ingest.manifest import ManifestRow
from hinge_analytics.kinematics import angles_for, load_placement
from hinge_analytics.kinematics.implement import RepSignal
from hinge_analytics.kinematics.plausibility import check_angles
from hinge_analytics.numeric import true_runs
from hinge_analytics.reps.segmentation import long_gaps, segment_reps
from hinge_analytics.reps.signal import rep_signal
from hinge_analytics.reps.swing import SWING_PLACEMENTS, keep_swings
from hinge_analytics.schema import (
    BOTTOM_START_EXERCISES,
    LOAD_HEIGHT,
    STANDING_REST_EXERCISES,
    SWING_EXERCISES,
    TABLES,
    conform,
)

# Under this rate reps are lost without a sign: the wrist MetaMotion deadlift and squat sets,
# decimated to 6 Hz, count 17 of 34 sets right (25 at their own 25 Hz, 24 at 12.5 Hz), and the
# SmartLift landmark clips at 5 frames a second lose a rep in 6 of 10 (none at 10).
MIN_RELIABLE_HZ = 10.0


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


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def content_hash(row: ManifestRow) -> str:
    """SHA-256 over the recording's bytes (every file, for folder formats) and its manifest row.

    A changed file, changed metadata (athlete, date, load...) or a changed layout file of the
    coach's own makes the recording re-ingest.
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
    if row.layout_file is not None:  # a corrected column mapping reads the recording anew
        digest.update(row.layout_file.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Analysis:
    """One recording's derived tables: angles per frame, reps with their metrics, rep curves."""

    angles: pl.DataFrame
    reps: pl.DataFrame
    curves: pl.DataFrame
    signal: RepSignal  # what the reps were cut on
    notes: tuple[str, ...] = ()  # what a step left out, for the coach


def analyse(read: RecordingRead, exercise: str | None = None, side: str | None = None) -> Analysis:
    """Angles -> plausibility -> reps -> metrics -> curves of one recording held in memory, no lake.

    ``exercise`` and ``side`` are the manifest's (posture references, stance leg). Raises
    BadRecording when the angles cannot be a person doing the exercise."""
    angles, found = angles_for(read, exercise, side)
    notes = [*read.notes, *found]
    check_angles(angles, exercise, read.sensors)
    signal = rep_signal(angles)
    # The rules for a set's ends read the body's hinge; a load's height already rests low, so its
    # first pull off the floor is a peak there.
    hinge = signal.unit == "deg"
    boundaries = segment_reps(
        angles["t_s"].to_numpy(),
        signal.values,
        signal.min_prominence,
        min_range=signal.min_range,
        first_rep_from_bottom=hinge and exercise in BOTTOM_START_EXERCISES,
        rests_standing=hinge and exercise in STANDING_REST_EXERCISES,
        last_hold_ends_set=hinge and exercise in SWING_EXERCISES | BOTTOM_START_EXERCISES,
    )
    if not hinge:  # segment_reps' speed is in the signal's unit: m/s here, not deg/s
        boundaries = boundaries.with_columns(peak_hinge_velocity_deg_s=pl.lit(None, dtype=pl.Float64))
        placement = load_placement(read)
        if exercise in SWING_EXERCISES and placement in SWING_PLACEMENTS:
            boundaries, note = keep_swings(read.frames, read.sample_rate_hz, placement, boundaries)
            notes += [note] if note else []
    reps = rep_metrics(angles, boundaries, stance_side=side)
    return Analysis(angles, reps, rep_curves(angles, reps), signal, tuple(notes))


def process_recording(row: ManifestRow, digest: str | None = None) -> Processed:
    """Read and analyse one manifest row. Raises BadRecording, nothing else."""
    digest = digest or content_hash(row)
    fmt, read = read_recording(
        row.file, row.format, row.sample_rate_hz, row.placement, row.layout_file, row.image_size
    )
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
    without body angles, a rate too low to trust every rep, gaps that lost reps, no reps."""
    notes = []
    t = done.angles["t_s"].to_numpy()
    signal = done.signal.values
    if done.signal.name == LOAD_HEIGHT:  # cut on the load, not the body
        notes.append(
            "Reps and their timing come from a sensor on the bar, kettlebell or wrist: it measures no "
            "body angles, so reps get no form label from it."
        )
    notes += done.notes
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    rate = round(1.0 / step, 1) if step > 0 else MIN_RELIABLE_HZ  # 10 fps read as 9.999... is 10
    if rate < MIN_RELIABLE_HZ:
        notes.append(
            f"Recorded at {rate:.1f} samples a second: under {MIN_RELIABLE_HZ:.0f}, quick reps "
            "can be missed or merged and their peaks fall between samples; record at a higher rate."
        )
    gaps = long_gaps(t, np.isfinite(signal))
    if gaps is not None:
        lost, inside = [], []
        for run in true_runs(gaps):
            first, last = t[run.start], t[run.stop - 1]
            within = done.reps.filter((pl.col("t_start_s") < first) & (pl.col("t_end_s") > last))["rep"]
            if within.len():  # too short to hide a turn (`segmentation._boundary_gaps`)
                inside.append(f"{first:.1f}-{last:.1f} s (rep {within[0]})")
            else:
                lost.append(f"{first:.1f}-{last:.1f} s")
        if lost:
            notes.append(f"No data at {', '.join(lost)}: reps over those stretches are left out.")
        if inside:
            notes.append(f"No data at {', '.join(inside)}: the rep is kept, its angles there are missing.")
    if done.reps.height == 0 and not any(n.startswith("No ") for n in done.notes):  # a step said why
        moved = done.signal.moved()
        what = (
            f"the hips move through {moved:.0f} deg"
            if done.signal.unit == "deg"
            else f"the load moves {moved:.2f} m"
        )
        notes.append(
            f"No reps found: {what} at most, never away and back (a rest or a warm-up?)."
            if moved < done.signal.min_range
            else "No reps found: the movement does not repeat away from a rest position and back."
        )
    return " ".join(notes) or None


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
