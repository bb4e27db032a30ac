"""Read and validate a batch manifest (SPEC.md "Inputs"), row by row.

Every problem is a sentence tied to its row: a bad row is quarantined, the rest go on.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hinge_analytics.ingest import LAYOUTS, format_names
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.layouts import takes_placement
from hinge_analytics.schema import EXERCISES, IMU_PLACEMENTS, MANIFEST_OPTIONAL, MANIFEST_REQUIRED, SIDES

MAX_ID_LENGTH = 128
# SPEC.md "Exercise vocabulary": besides the six hinge exercises, any other lowercase lift name is
# accepted and processed generically (its reps are labelled only by a model trained on them).
EXERCISE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# `placement`: where the one sensor of a single-sensor device layout was worn (ingest/layouts).
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((*MANIFEST_OPTIONAL, "placement")))


@dataclass(frozen=True)
class ManifestRow:
    """One validated manifest row; ``file`` is the resolved path inside the batch folder."""

    row_number: int  # 1-based data row, for messages
    recording_id: str
    path: str
    file: Path
    athlete_id: str
    session_date: dt.date
    exercise: str
    side: str | None
    load_kg: float | None
    set_number: int | None
    format: str | None
    sample_rate_hz: float | None
    label: str | None
    placement: str | None = None

    def metadata(self) -> dict:
        # `placement` only when given, so that rows without it keep their content hash (pipeline).
        return {
            **({"placement": self.placement} if self.placement is not None else {}),
            "recording_id": self.recording_id,
            "athlete_id": self.athlete_id,
            "session_date": self.session_date,
            "exercise": self.exercise,
            "side": self.side,
            "load_kg": self.load_kg,
            "set_number": self.set_number,
            "label": self.label,
            "path": self.path,
        }


@dataclass(frozen=True)
class RejectedRow:
    row_number: int
    recording_id: str
    path: str
    reason: str


def read_manifest(
    manifest: Path, batch_dir: Path | None = None
) -> tuple[list[ManifestRow], list[RejectedRow]]:
    """Parse ``manifest``; returns valid rows and rejected rows with their reasons.

    Paths are relative to ``batch_dir``, by default the manifest's folder (a manifest kept apart
    from recordings on a read-only share names their folder); none may lead outside it.

    Raises BadRecording when the file itself is unusable (missing, not CSV, required columns
    absent): then there is no batch to run.
    """
    if not manifest.is_file():
        raise BadRecording(f"The manifest {manifest} does not exist.")
    try:
        table = pl.read_csv(
            manifest,
            infer_schema=False,
            truncate_ragged_lines=False,
            encoding="utf8-lossy",
        )
    except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as exc:
        raise BadRecording(f"The manifest {manifest.name} is not a readable CSV file ({exc}).") from exc
    table = table.rename({c: c.strip().lower() for c in table.columns})
    missing = [c for c in MANIFEST_REQUIRED if c not in table.columns]
    if missing:
        raise BadRecording(f"The manifest {manifest.name} lacks the required column(s) {', '.join(missing)}.")
    batch_dir = (batch_dir or manifest.parent).resolve()
    valid: list[ManifestRow] = []
    rejected: list[RejectedRow] = []
    ids = [_clean(r) for r in table["recording_id"].to_list()]
    repeated = {i for i in ids if i is not None and ids.count(i) > 1}
    for number, raw in enumerate(table.iter_rows(named=True), start=1):
        cells = {k: _clean(raw.get(k)) for k in (*MANIFEST_REQUIRED, *OPTIONAL_COLUMNS)}
        rid = cells["recording_id"] or f"manifest row {number}"
        try:
            if cells["recording_id"] in repeated:  # every copy: which one is meant is unknown
                raise BadRecording(
                    f"recording_id {cells['recording_id']!r} appears more than once in the manifest; "
                    "each recording needs its own id."
                )
            valid.append(_validate(number, cells, batch_dir))
        except BadRecording as exc:
            rejected.append(RejectedRow(number, rid, cells["path"] or "", f"Manifest row {number}: {exc}"))
    return valid, rejected


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _validate(number: int, cells: dict[str, str | None], batch_dir: Path) -> ManifestRow:
    for column in MANIFEST_REQUIRED:
        if cells[column] is None:
            raise BadRecording(f"the required field {column} is empty.")
    rid, athlete = cells["recording_id"], cells["athlete_id"]
    for name, value in (("recording_id", rid), ("athlete_id", athlete)):
        assert value is not None
        if len(value) > MAX_ID_LENGTH or any(ord(ch) < 32 for ch in value):
            raise BadRecording(f"{name} must be at most {MAX_ID_LENGTH} printable characters.")
    exercise = cells["exercise"].lower()  # type: ignore[union-attr]
    if exercise not in EXERCISES and not EXERCISE_NAME.match(exercise):
        raise BadRecording(
            f"exercise {cells['exercise']!r} is not a lift name: use one of {', '.join(EXERCISES)}, or "
            "another lift's name in lower case letters, digits and underscores (e.g. split_squat)."
        )
    try:
        session_date = dt.date.fromisoformat(cells["session_date"])  # type: ignore[arg-type]
    except ValueError:
        raise BadRecording(f"session_date {cells['session_date']!r} is not a date like 2026-03-14.") from None
    side = cells["side"].lower() if cells["side"] else None
    if side is not None and side not in SIDES:
        raise BadRecording(f"side {cells['side']!r} must be left, right or empty.")
    fmt = cells["format"].lower() if cells["format"] else None
    if fmt is not None and fmt not in format_names():
        raise BadRecording(f"format {cells['format']!r} is not one of {', '.join(format_names())}.")
    placement = cells["placement"].lower() if cells["placement"] else None
    if placement is not None:
        if placement not in IMU_PLACEMENTS:
            raise BadRecording(f"placement {cells['placement']!r} is not one of {', '.join(IMU_PLACEMENTS)}.")
        if fmt is not None and not (fmt in LAYOUTS and takes_placement(fmt)):
            single = [name for name in LAYOUTS if takes_placement(name)]
            raise BadRecording(
                f"placement applies only to single-sensor device layouts ({', '.join(single)}); "
                f"leave it empty for {fmt}."
            )
    load = _number(cells["load_kg"], "load_kg", minimum=0.0, maximum=1000.0)
    rate = _number(cells["sample_rate_hz"], "sample_rate_hz", minimum=1.0, maximum=10000.0)
    set_number = _number(cells["set_number"], "set_number", minimum=1, maximum=1000)
    if set_number is not None and set_number != int(set_number):
        raise BadRecording("set_number must be a whole number.")
    file = _inside_batch(cells["path"], batch_dir)  # type: ignore[arg-type]
    return ManifestRow(
        row_number=number,
        recording_id=rid,  # type: ignore[arg-type]
        path=cells["path"],  # type: ignore[arg-type]
        file=file,
        athlete_id=athlete,  # type: ignore[arg-type]
        session_date=session_date,
        exercise=exercise,
        side=side,
        load_kg=load,
        set_number=None if set_number is None else int(set_number),
        format=fmt,
        sample_rate_hz=rate,
        label=cells["label"],
        placement=placement,
    )


def _number(text: str | None, name: str, minimum: float, maximum: float) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRecording(f"{name} {text!r} is not a number.") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise BadRecording(f"{name} {text!r} must be between {minimum:g} and {maximum:g}.")
    return value


def _inside_batch(relative: str, batch_dir: Path) -> Path:
    """Resolve ``relative`` against the batch folder, refusing paths that leave it."""
    if "\x00" in relative:
        raise BadRecording("the path contains a NUL character.")
    shown = repr(relative) if len(relative) <= 120 else repr(relative[:100]) + "..."
    candidate = Path(relative)
    if candidate.is_absolute():
        raise BadRecording(f"the path {shown} must be relative to the manifest's folder.")
    try:
        resolved = (batch_dir / candidate).resolve()
        if not resolved.is_relative_to(batch_dir):
            raise BadRecording(f"the path {shown} points outside the batch folder.")
        if not resolved.exists():
            raise BadRecording(f"the file {shown} does not exist.")
        if resolved == batch_dir:
            raise BadRecording("the path is the batch folder itself, not one recording in it.")
        if resolved.is_dir():
            # Folder formats (OpenPose, IMU) read every file inside: none may lead out of the batch.
            for entry in resolved.rglob("*"):
                if not entry.resolve().is_relative_to(batch_dir):
                    raise BadRecording(
                        f"the folder {shown} contains {entry.name!r}, a link to outside the batch folder."
                    )
    except OSError as exc:  # e.g. a name longer than the file system allows, a symlink loop
        raise BadRecording(f"the path {shown} cannot be used ({exc.strerror or exc}).") from None
    return resolved
