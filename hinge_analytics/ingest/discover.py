"""From a coach's folder to a manifest: find the recordings, read what the data says, name them.

``find_recordings`` walks a folder and decides what one recording is: a file a reader takes; a folder
whose files are one recording's parts (an ``imu_csv`` folder of one CSV per sensor, an OpenPose
folder of per-frame JSON files, a device export of fixed file names such as Sensor Logger's); or a
file with its partners (a MetaMotion accelerometer file with the gyroscope file of the same export,
which is not a recording of its own). Files that no reader takes (READMEs, label files, JSON
metadata, pictures) are listed as skipped, never guessed at.

``describe`` reads each recording as ``hinge ingest`` would (rate and duration come from the data)
and fills athlete, date, exercise, set, load and side from its path by a ``Pattern`` such as
``{athlete}/{date}/{exercise}_set{set}``; ``manifest_frame`` turns the result into manifest rows
(docs/manifest.md), with what still needs filling in the ``to_check`` column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import polars as pl

from hinge_analytics.ingest import LAYOUTS, _detect_file, read_recording
from hinge_analytics.ingest.errors import BadRecording, first_line
from hinge_analytics.ingest.imu import is_apdm_export, placement_of
from hinge_analytics.ingest.layouts import load_layout, recording_files, takes_placement
from hinge_analytics.ingest.manifest import (
    EXERCISE_ALIASES,
    EXERCISE_NAME,
    MAX_ID_LENGTH,
    OPTIONAL_COLUMNS,
    SIDE_WORDS,
    canonical_exercise,
)
from hinge_analytics.ingest.video import VIDEO_SUFFIXES
from hinge_analytics.schema import EXERCISES, MANIFEST_REQUIRED

# Suffixes some reader takes (the IMU reader also reads Xsens MT Manager .txt exports).
# Videos are read (pose estimated) here as ingest will read them; the estimator's output is cached
# by the video's hash (ingest/video.py), so the ingest that follows does not estimate again.
DATA_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".json", ".trc", ".c3d", *VIDEO_SUFFIXES})
# A .txt or .csv with one of these names is documentation, whatever columns it mentions.
DOCUMENT_STEMS = ("readme", "license", "licence", "changelog", "notes", "source", "sources")
# Manifest columns hinge writes after the SPEC's: what was measured, and what a coach must do.
INFO_COLUMNS: tuple[str, ...] = ("duration_s", "measured_rate_hz", "to_check")
MANIFEST_COLUMNS: tuple[str, ...] = (*MANIFEST_REQUIRED, *OPTIONAL_COLUMNS, *INFO_COLUMNS)


def exercise_name(text: str) -> str | None:
    """The manifest's exercise for a name found in a path (`manifest.canonical_exercise`), or None
    when it cannot be a lift's name (then the row needs filling)."""
    name = canonical_exercise(text)
    return name if name in EXERCISES or EXERCISE_NAME.match(name) else None


def date_value(text: str) -> dt.date | None:
    """A date written ``2026-03-14``, ``2026_03_14``, ``2026.03.14`` or ``20260314``; else None."""
    digits = re.sub(r"[-_.]", "", text)
    if not re.fullmatch(r"\d{8}", digits):
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


# --------------------------------------------------------------------------- patterns
def _words(names: Iterable[str]) -> str:
    """Alternation of names, longest first, with ``_`` matching any of ``_``, ``-`` or a space."""
    ordered = sorted(set(names), key=len, reverse=True)
    return "|".join(re.escape(n).replace("_", "[_\\- ]") for n in ordered)


PLACEHOLDERS: dict[str, str] = {
    "athlete": r"[^/]+?",
    "date": r"\d{4}[-_.]?\d{2}[-_.]?\d{2}",
    # Known names first, so that "good_morning_pvc" gives good_morning, not "good".
    "exercise": rf"(?:{_words([*EXERCISES, *EXERCISE_ALIASES])})(?![a-z])|[^/]+?",
    "set": r"\d+",
    "load": r"\d+(?:[.,]\d+)?",
    "side": r"(?:left|right|l|r)(?![a-z])",
}
FIELD_OF = {
    "athlete": "athlete_id",
    "date": "session_date",
    "exercise": "exercise",
    "set": "set_number",
    "load": "load_kg",
    "side": "side",
}


class PatternError(ValueError):
    """A pattern with an unknown or repeated placeholder; the message is for the user."""


@dataclass(frozen=True)
class Pattern:
    """A coach's description of how recordings are named, e.g. ``{athlete}-{exercise}-{*}``.

    Placeholders: ``{athlete}``, ``{date}``, ``{exercise}``, ``{set}``, ``{load}``, ``{side}`` and
    ``{*}`` (anything, also across folders); other text must appear as written (letter case
    ignored). It is matched against the end of the recording's path relative to the folder, without
    the file's extension, so ``{athlete}_set{set}`` reads ``raw/class0/subject1_set1.csv``, and
    ``{athlete}/{date}/{exercise}`` reads folder names.
    """

    text: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Pattern:
        parts, seen, position = [], set(), 0
        for match in re.finditer(r"\{([^{}]*)\}", text):
            parts.append(re.escape(text[position : match.start()]))
            name = match.group(1).strip().lower()
            if name == "*":
                parts.append(".*?")
            elif name in PLACEHOLDERS:
                if name in seen:
                    raise PatternError(f"the pattern names {{{name}}} twice")
                seen.add(name)
                parts.append(f"(?P<{name}>{PLACEHOLDERS[name]})")
            else:
                known = ", ".join(f"{{{p}}}" for p in (*PLACEHOLDERS, "*"))
                raise PatternError(f"{{{match.group(1)}}} is not a placeholder; use {known}")
            position = match.end()
        parts.append(re.escape(text[position:]))
        if not seen:
            raise PatternError(f"the pattern {text!r} has no placeholder such as {{athlete}} or {{exercise}}")
        return cls(text, re.compile("(?:.*/)?" + "".join(parts), re.IGNORECASE | re.DOTALL))

    def fields(self, relative: str) -> dict[str, str] | None:
        """Placeholder -> text for a relative path (extension removed), None when it does not match."""
        match = self.regex.fullmatch(relative)
        return None if match is None else {k: v for k, v in match.groupdict().items() if v is not None}


# --------------------------------------------------------------------------- finding recordings
@dataclass(frozen=True)
class Candidate:
    """One recording: ``path`` (a file or a folder) is what the manifest names, ``files`` what it reads."""

    path: Path
    fmt: str
    files: tuple[Path, ...]
    problem: str | None = None  # why its files do not make a recording (the row says so)


class NotAFolder(ValueError):
    """The folder to search is missing, or is itself one recording; the message is for the user."""


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


def _is_document(path: Path) -> bool:
    stem = path.stem.lower()
    return any(stem == d or stem.startswith((d + "_", d + "-", d + ".")) for d in DOCUMENT_STEMS)


def _kind(path: Path) -> tuple[str | None, str | None]:
    """(format, None) for a file a reader takes, else (None, why it is skipped)."""
    if path.suffix.lower() not in DATA_SUFFIXES:
        return None, f"no reader takes {path.suffix or 'files without an extension'}"
    if _is_document(path):
        return None, "a document, not a recording"
    try:
        fmt = _detect_file(path)
    except OSError as exc:
        return None, f"cannot be opened ({exc.strerror or exc})"
    return (fmt, None) if fmt is not None else (None, "no reader recognises its content")


def _fixed_name_export(fmt: str, folder: Path, files: list[Path]) -> bool:
    """True when ``folder`` is one export of a device that writes fixed file names (each of the
    layout's file tokens names one file exactly, e.g. Sensor Logger's Gyroscope.csv): its folder is
    then the recording, and its name is what tells recordings apart."""
    layout = load_layout(fmt)
    tokens = layout.tokens()
    if not tokens:
        return False
    try:
        parts = recording_files(layout, folder)
    except BadRecording:
        return False
    found = [(token, p) for token, p in parts.items() if p is not None]
    return bool(found) and all(fnmatch(p.name.lower(), token.lower()) for token, p in found)


def _folder_recording(folder: Path, kinds: dict[Path, str]) -> str | None:
    """The format when the data files of ``folder`` are the parts of one recording, else None."""
    formats = set(kinds.values())
    if len(formats) != 1:
        return None
    fmt = formats.pop()
    if fmt == "openpose_json":  # one JSON file per video frame
        return fmt
    if fmt == "imu_csv":  # one CSV per sensor, named after its placement
        if any(is_apdm_export(p) for p in kinds):  # all of a recording's sensors in each file
            return None
        try:
            places = [placement_of(p) for p in kinds]
        except BadRecording:
            return fmt if len(kinds) > 1 else None
        return fmt if len(set(places)) == len(places) else None
    if fmt in LAYOUTS and _fixed_name_export(fmt, folder, list(kinds)):
        return fmt
    return None


def _group_partners(fmt: str, files: list[Path], claimed: set[Path]) -> list[Candidate]:
    """Recordings of a layout whose files come in sets (a MetaMotion accelerometer file and its
    gyroscope file): one per set, named by the file of the layout's first data token."""
    layout = load_layout(fmt)
    tokens = layout.tokens()
    out = []
    for path in files:
        if path in claimed:
            continue
        if not tokens:
            out.append(Candidate(path, fmt, (path,)))
            continue
        try:
            parts = recording_files(layout, path)
        except BadRecording as exc:
            out.append(Candidate(path, fmt, (path,), str(exc)))
            continue
        members = tuple(sorted({p for p in parts.values() if p is not None}))
        claimed.update(members)
        primary = next((parts[t] for t in tokens if parts.get(t) is not None), path)
        out.append(Candidate(primary, fmt, members))
    return out


def find_recordings(root: Path, exclude: Iterable[Path] = ()) -> tuple[list[Candidate], list[Skipped]]:
    """The recordings under ``root`` and the files skipped (with why), both in path order.

    Hidden files and folders (a leading dot) are left out. ``exclude``: files never to take (the
    manifest being written, when it is inside ``root``)."""
    root = root.resolve()
    if not root.is_dir():
        raise NotAFolder(f"{root} is not a folder")
    excluded = {Path(p).resolve() for p in exclude}
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        folder = Path(here)
        kinds: dict[Path, str] = {}
        for name in sorted(names):
            path = folder / name
            if name.startswith(".") or path.resolve() in excluded or not path.is_file():
                continue
            fmt, why = _kind(path)
            if fmt is None:
                skipped.append(Skipped(path, why or "not a recording"))
            else:
                kinds[path] = fmt
        if not kinds:
            continue
        whole = _folder_recording(folder, kinds)
        if whole is not None and folder == root:
            raise NotAFolder(
                f"{root.name} is itself one {whole} recording; point at the folder that holds it"
            )
        if whole is not None:
            candidates.append(Candidate(folder, whole, tuple(kinds)))
            for below in dirs:  # a recording's folder holds its files; anything below is not read
                skipped.append(Skipped(folder / below, f"inside the recording {folder.name}"))
            dirs[:] = []
            continue
        claimed: set[Path] = set()
        for fmt in sorted(set(kinds.values())):
            files = [p for p, k in kinds.items() if k == fmt]
            if fmt in LAYOUTS:
                candidates += _group_partners(fmt, files, claimed)
            else:
                candidates += [Candidate(p, fmt, (p,)) for p in files]
    candidates.sort(key=lambda c: c.path)
    skipped.sort(key=lambda s: s.path)
    return candidates, skipped


# --------------------------------------------------------------------------- describing them
@dataclass
class Defaults:
    """Values for every recording whose path does not give them (``hinge manifest`` options)."""

    athlete_id: str | None = None
    session_date: dt.date | None = None
    exercise: str | None = None
    sample_rate_hz: float | None = None  # only for recordings whose files carry no times
    placement: str | None = None  # only for single-sensor device layouts


@dataclass
class Row:
    """One manifest row being built: the SPEC's columns, what was measured and what to check."""

    recording_id: str
    path: str
    format: str
    values: dict[str, object] = field(default_factory=dict)
    duration_s: float | None = None
    measured_rate_hz: float | None = None
    to_check: list[str] = field(default_factory=list)
    wanted: set[str] = field(default_factory=set)  # columns the data could not give (rate, placement)

    def needs(self) -> list[str]:
        """Columns still empty that the recording needs: the required ones, and a rate or a
        placement that the data could not give."""
        columns = [*MANIFEST_REQUIRED[2:], *sorted(self.wanted)]
        return [c for c in columns if self.values.get(c) in (None, "")]


def _measure(candidate: Candidate, defaults: Defaults) -> tuple[object | None, str | None, set[str]]:
    """(read, problem, columns the data cannot give) for one recording, read as ingest will."""
    rate = placement = None
    wanted: set[str] = set()
    for _ in range(3):
        try:
            _, read = read_recording(candidate.path, candidate.fmt, rate, placement)
            return read, None, wanted
        except BadRecording as exc:
            message = str(exc)
            if "sample_rate_hz" in message and "manifest says" not in message and rate is None:
                wanted.add("sample_rate_hz")
                if defaults.sample_rate_hz is None:
                    return None, None, wanted
                rate = defaults.sample_rate_hz
            elif "placement column" in message and placement is None and takes_placement(candidate.fmt):
                wanted.add("placement")
                if defaults.placement is None:
                    return None, None, wanted
                placement = defaults.placement
            else:
                return None, first_line(exc, 300), wanted
    return None, "the recording could not be read", wanted


def _recording_id(relative: str, taken: set[str]) -> str:
    """A stable id from the recording's relative path: folders joined by ``-``, printable, at most
    MAX_ID_LENGTH characters (a long path keeps its start and gets a hash of the whole)."""
    rid = re.sub(r"[\x00-\x1f\x7f]", "", relative.replace("/", "-")).strip() or "recording"
    if len(rid) > MAX_ID_LENGTH:
        rid = rid[: MAX_ID_LENGTH - 9] + "-" + hashlib.sha256(relative.encode()).hexdigest()[:8]
    base, k = rid, 2
    while rid in taken:
        suffix = f"-{k}"
        rid = base[: MAX_ID_LENGTH - len(suffix)] + suffix
        k += 1
    taken.add(rid)
    return rid


def _matched_path(candidate: Candidate, root: Path) -> str:
    relative = candidate.path.relative_to(root).as_posix()
    if candidate.path.is_file():
        relative = relative[: -len(candidate.path.suffix)] if candidate.path.suffix else relative
    return relative


def describe(
    candidates: list[Candidate],
    root: Path,
    base: Path,
    pattern: Pattern | None = None,
    defaults: Defaults | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Row]:
    """A manifest row per recording: ``path`` relative to ``base`` (the manifest's batch folder, ``root``
    or a folder above it), fields from ``pattern`` over the path relative to ``root``, then
    ``defaults``; rate and duration read from the data. ``progress(1)`` after each recording."""
    defaults = defaults or Defaults()
    root, base = root.resolve(), base.resolve()
    rows: list[Row] = []
    taken: set[str] = set()
    for candidate in candidates:
        matched = _matched_path(candidate, root)
        row = Row(_recording_id(matched, taken), candidate.path.relative_to(base).as_posix(), candidate.fmt)
        found: dict[str, str] = {}
        if pattern is not None:
            found = pattern.fields(matched) or {}
            if not found:
                row.to_check.append(f"the name does not match the pattern {pattern.text}")
        _fill(row, found, defaults)
        if candidate.problem is not None:
            row.to_check.append(f"cannot be read: {candidate.problem}")
        else:
            read, problem, row.wanted = _measure(candidate, defaults)
            if "sample_rate_hz" in row.wanted:
                row.values["sample_rate_hz"] = defaults.sample_rate_hz
            if "placement" in row.wanted:
                row.values["placement"] = defaults.placement
            if problem is not None:
                row.to_check.append(f"cannot be read: {problem}")
            elif read is not None:
                t = read.frames["t_s"]  # type: ignore[attr-defined]
                row.duration_s = round(float(t[-1] - t[0]), 3) if len(t) else 0.0
                row.measured_rate_hz = round(float(read.sample_rate_hz), 3)  # type: ignore[attr-defined]
        rows.append(row)
        if progress is not None:
            progress(1)
    for row in rows:
        missing = row.needs()
        if missing:
            row.to_check.insert(0, "fill " + ", ".join(missing))
    return rows


def _fill(row: Row, found: dict[str, str], defaults: Defaults) -> None:
    values = row.values
    values["athlete_id"] = found.get("athlete", "").strip() or defaults.athlete_id
    date = date_value(found["date"]) if "date" in found else None
    if "date" in found and date is None:
        row.to_check.append(f"{found['date']!r} is not a date")
    values["session_date"] = date or defaults.session_date
    exercise = exercise_name(found["exercise"]) if "exercise" in found else None
    if "exercise" in found and exercise is None:
        row.to_check.append(f"{found['exercise']!r} is not a lift's name")
    values["exercise"] = exercise or defaults.exercise
    if "set" in found:
        values["set_number"] = int(found["set"]) or None
    if "load" in found:
        values["load_kg"] = float(found["load"].replace(",", "."))
    if "side" in found:
        values["side"] = SIDE_WORDS[found["side"].lower()]


def manifest_frame(rows: list[Row]) -> pl.DataFrame:
    """The manifest table (MANIFEST_COLUMNS, every column text, null where nothing is known)."""

    def text(value: object) -> str | None:
        if value is None or value == "":
            return None  # an empty cell, not a quoted empty string
        if isinstance(value, float):
            return f"{value:g}" if value == int(value) else f"{value}"
        return str(value)

    records = []
    for row in rows:
        cells = {c: text(row.values.get(c)) for c in MANIFEST_COLUMNS}
        cells |= {
            "recording_id": row.recording_id,
            "path": row.path,
            "format": row.format,
            "duration_s": text(row.duration_s),
            "measured_rate_hz": text(row.measured_rate_hz),
            "to_check": "; ".join(row.to_check) or None,
        }
        records.append(cells)
    return pl.DataFrame(records, schema={c: pl.String for c in MANIFEST_COLUMNS})


def needs_filling(rows: list[Row]) -> dict[str, list[int]]:
    """Column -> 1-based row numbers whose value a coach must fill before ingesting."""
    out: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=1):
        for column in row.needs():
            out.setdefault(column, []).append(number)
    return out


def unreadable(rows: list[Row]) -> list[tuple[int, str]]:
    """(row number, reason) of recordings that could not be read or were not named by the pattern."""
    return [
        (number, "; ".join(t for t in row.to_check if not t.startswith("fill ")))
        for number, row in enumerate(rows, start=1)
        if any(not t.startswith("fill ") for t in row.to_check)
    ]


def manifest_base(root: Path, out: Path) -> Path:
    """The batch folder the manifest's paths are relative to: the manifest's own folder when the
    recordings are in it or below it (then ``hinge ingest MANIFEST`` finds them as is), else ``root``
    (then the manifest is ingested with ``--batch-dir ROOT``)."""
    root, folder = root.resolve(), out.resolve().parent
    return folder if folder == root or folder in root.parents else root


def ranges(numbers: list[int]) -> str:
    """ "1-4, 7, 9-10" for [1, 2, 3, 4, 7, 9, 10]."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)
