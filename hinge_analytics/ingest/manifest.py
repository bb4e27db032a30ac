"""Read and validate a batch manifest (SPEC.md "Inputs"), row by row.

Every problem is a sentence tied to its row: a bad row is quarantined, the rest go on.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import math
import os
import re
import stat
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from hinge_analytics.ingest import LAYOUTS, format_names
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.layouts import Layout, LayoutError, load_layout, load_layout_file, takes_placement
from hinge_analytics.ingest.spreadsheet import ambiguous_date, decimal_point, iso_dates, read_sheet
from hinge_analytics.schema import EXERCISES, IMU_PLACEMENTS, MANIFEST_OPTIONAL, MANIFEST_REQUIRED, SIDES

MAX_ID_LENGTH = 128
NUMBER_COLUMNS = ("load_kg", "sample_rate_hz", "set_number", "image_width", "image_height")
# SPEC.md "Exercise vocabulary": besides the six hinge exercises, any other lowercase lift name is
# accepted and processed generically (its reps are labelled only by a model trained on them).
EXERCISE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Common names and abbreviations of the hinge exercises (lower case, words joined by "_").
EXERCISE_ALIASES: dict[str, str] = {
    **{name: "deadlift" for name in ("dl", "dead", "deads", "deadlifts", "conventional_deadlift")},
    **{name: "romanian_deadlift" for name in ("rdl", "rdls", "romanian", "romanian_deadlifts")},
    **{
        name: "single_leg_rdl"
        for name in ("slrdl", "sl_rdl", "single_leg_rdls", "single_leg_romanian_deadlift", "one_leg_rdl")
    },
    **{
        name: "kettlebell_swing"
        for name in ("kbs", "kb_swing", "kb_swings", "swing", "swings", "kettlebell_swings")
    },
    **{name: "good_morning" for name in ("gm", "goodmorning", "good_mornings")},
    **{name: "hip_thrust" for name in ("ht", "hipthrust", "hip_thrusts", "barbell_hip_thrust")},
}


SIDE_WORDS = {"l": "left", "left": "left", "r": "right", "right": "right"}


WORD_BREAKS = r"[\s\-]+"  # between the words of a name a coach types: "Wrist Right", "hips-not-back"


def _side(text: str) -> str:
    """``L``, ``Right``, ``left leg``, ``R side`` -> left/right (one side word among the words);
    anything else as written, for the caller to refuse."""
    sides = {SIDE_WORDS[w] for w in _words_joined(text).split("_") if w in SIDE_WORDS}
    return sides.pop() if len(sides) == 1 else text


def _words_joined(text: str) -> str:
    """Lower case, runs of spaces and hyphens as one "_" (``Wrist Right`` -> ``wrist_right``)."""
    return re.sub(WORD_BREAKS, "_", text.strip().lower())


# The load a hinge is held with does not change the movement the product measures. A trap (hex)
# bar does: its lifter stands inside the load and bends the knees more, so it stays its own lift.
EQUIPMENT_WORDS = ("barbell", "bb", "dumbbell", "db", "kettlebell", "kb")


def canonical_exercise(text: str) -> str:
    """An exercise as a coach writes it, in the vocabulary's spelling: lower case, words joined
    by "_", and a common name or abbreviation of a hinge exercise (``RDL``, ``KB swing``,
    ``Good-Morning``) turned into its name, so that its reps get the hinge analysis and model.
    A note in brackets (``Deadlift (conventional)``) and the equipment before a hinge exercise's
    name (``DB RDL``, ``Barbell hip thrust``) do not change which exercise it is."""
    name = _words_joined(re.sub(r"\s*[(\[].*?[)\]]\s*", " ", text))
    name = EXERCISE_ALIASES.get(name, name)
    if name not in EXERCISES:
        for word in EQUIPMENT_WORDS:
            rest = EXERCISE_ALIASES.get(name.removeprefix(word + "_"), name.removeprefix(word + "_"))
            if name.startswith(word + "_") and rest in EXERCISES:
                return rest
    return name


# `placement`: where the one sensor of a single-sensor device layout was worn (ingest/layouts).
# `image_width`, `image_height`: the frame size of the video normalised image landmarks came from.
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys((*MANIFEST_OPTIONAL, "placement", "image_width", "image_height"))
)


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
    layout_file: Path | None = None  # a coach's own layout file that ``format`` names by its path
    image_size: tuple[int, int] | None = None  # the video frame's (width, height), pixels

    def metadata(self) -> dict:
        # `placement` and the image size only when given, so that rows without them keep their
        # content hash (pipeline).
        return {
            **({"placement": self.placement} if self.placement is not None else {}),
            **({"image_size": "{}x{}".format(*self.image_size)} if self.image_size is not None else {}),
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
    # whose file it was, as far as the row says (reports list files not analysed per athlete)
    athlete_id: str | None = None
    session_date: dt.date | None = None


# `hinge ingest` validates the manifest before Prefect starts (a bad one fails in a second, not
# after the API came up) and the flow reads it again in the same process: 2 x 2 s at 10^5 rows.
# The second read takes the first one's result if the file is unchanged and the first read is
# recent; it is handed out once, so every later read sees the recordings' files as they are then.
_REUSE_WITHIN_S = 600.0
_last_read: dict[tuple, tuple[float, tuple[ManifestRow, ...], tuple[RejectedRow, ...]]] = {}


def read_manifest(
    manifest: Path, batch_dir: Path | None = None
) -> tuple[list[ManifestRow], list[RejectedRow]]:
    """The manifest's valid and rejected rows (see `parse_manifest`); a read of the same unchanged
    file just before (the CLI's check, then the flow) is reused once rather than repeated."""
    try:
        info = manifest.stat()
        key: tuple | None = (
            str(manifest.resolve()),
            str((batch_dir or manifest.parent).resolve()),
            info.st_dev,
            info.st_ino,
            info.st_size,
            info.st_mtime_ns,
        )
    except (OSError, RuntimeError):
        key = None
    earlier = _last_read.pop(key, None) if key is not None else None
    if earlier is not None and time.monotonic() - earlier[0] < _REUSE_WITHIN_S:
        return list(earlier[1]), list(earlier[2])
    valid, rejected = parse_manifest(manifest, batch_dir)
    _last_read.clear()
    if key is not None:
        _last_read[key] = (time.monotonic(), tuple(valid), tuple(rejected))
    return valid, rejected


def parse_manifest(
    manifest: Path, batch_dir: Path | None = None
) -> tuple[list[ManifestRow], list[RejectedRow]]:
    """Parse ``manifest``; returns valid rows and rejected rows with their reasons, one rejected
    row per manifest row (rows that share a recording_id each get theirs).

    Paths are relative to ``batch_dir``, by default the manifest's folder (a manifest kept apart
    from recordings on a read-only share names their folder); none may lead outside it. A file
    named by two rows is the first row's recording; the second row is rejected.

    Raises BadRecording when the file itself is unusable (missing, not CSV, an encoding that
    cannot be told, required columns absent): then there is no batch to run.
    """
    if not manifest.is_file():
        raise BadRecording(f"The manifest {manifest} does not exist.")
    _listing.cache_clear()
    sheet = read_sheet(manifest, f"The manifest {manifest.name}")
    table = sheet.table
    names = [c.strip().lower() for c in table.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        shown = ", ".join(repr(n) if n else "an empty name" for n in repeated)
        raise BadRecording(
            f"The manifest {manifest.name} names a column twice ({shown}): give every column its own name."
        )
    table = table.rename(dict(zip(table.columns, names, strict=True)))
    missing = [c for c in MANIFEST_REQUIRED if c not in table.columns]
    if missing:
        raise BadRecording(f"The manifest {manifest.name} lacks the required column(s) {', '.join(missing)}.")
    batch_dir = (batch_dir or manifest.parent).resolve()
    fields = (*MANIFEST_REQUIRED, *OPTIONAL_COLUMNS)
    # Column-wise: one pass per column, not a dict per row from polars (10^5 rows: 1.1 -> 0.4 s).
    columns = {
        k: [_clean(v) for v in table[k].to_list()] if k in table.columns else [None] * table.height
        for k in fields
    }
    if sheet.decimal_comma:
        for k in NUMBER_COLUMNS:
            columns[k] = [decimal_point(v) for v in columns[k]]
    columns["session_date"] = iso_dates(columns["session_date"])
    rows_of: dict[str, list[int]] = defaultdict(list)  # recording_id -> its 1-based row numbers
    for number, rid in enumerate(columns["recording_id"], start=1):
        if rid is not None:
            rows_of[rid].append(number)
    claimed: dict[Path, tuple[int, str]] = {}  # file -> (row, recording_id) of its first valid row
    valid: list[ManifestRow] = []
    rejected: list[RejectedRow] = []
    for index in range(table.height):
        number = index + 1
        cells = {k: columns[k][index] for k in fields}
        if not any(cells.values()):  # ",,,," rows a spreadsheet leaves below its table: no recording
            continue
        rid = cells["recording_id"] or f"manifest row {number}"
        try:
            if len(rows_of.get(rid, ())) > 1:  # every copy: which one is meant is unknown
                raise BadRecording(_repeated_id(rid, rows_of[rid], columns["path"]))
            row = _validate(number, cells, batch_dir)
            first = claimed.setdefault(row.file, (number, row.recording_id))
            if first[0] != number:
                raise BadRecording(
                    f"the file {_shown(row.path)} is already recording {first[1]!r} (row {first[0]}); "
                    "a file is one recording, so this row is left out."
                )
            valid.append(row)
        except BadRecording as exc:
            reason = f"Manifest row {number}: {exc}"
            who = (
                cells["athlete_id"]
                if cells["athlete_id"] and len(cells["athlete_id"]) <= MAX_ID_LENGTH
                else None
            )
            rejected.append(
                RejectedRow(number, rid, cells["path"] or "", reason, who, _date(cells["session_date"]))
            )
    return valid, rejected


def _shown(path: str | None) -> str:
    text = path or ""
    return repr(text) if len(text) <= 120 else repr(text[:100]) + "..."


MAX_LISTED_ROWS = 10  # an id repeated 10^4 times must not make a 10^4-row reason


def _repeated_id(rid: str, numbers: list[int], paths: list[str | None]) -> str:
    rows = [f"{n} ({_shown(paths[n - 1])})" for n in numbers[:MAX_LISTED_ROWS]]
    if len(numbers) > MAX_LISTED_ROWS:
        listed = f"{', '.join(rows)} and {len(numbers) - MAX_LISTED_ROWS} more"
    else:
        listed = f"{', '.join(rows[:-1])} and {rows[-1]}"
    return (
        f"recording_id {rid!r} appears more than once in the manifest (rows {listed}); each recording "
        "needs its own id, so none of these rows is ingested."
    )


def quarantine_entries(rejected: list[RejectedRow]) -> list[RejectedRow]:
    """One entry per recording_id for the quarantine table (keyed by it): rejected rows that share
    an id become one whose reason names every row number, so no manifest row goes unmentioned."""
    groups: dict[str, list[RejectedRow]] = {}
    for row in rejected:
        groups.setdefault(row.recording_id, []).append(row)
    entries = []
    for rows in groups.values():
        if len(rows) == 1:
            entries.append(rows[0])
            continue
        bodies = {r.reason.removeprefix(f"Manifest row {r.row_number}: ") for r in rows}
        if len(bodies) == 1:
            reason = f"Manifest rows {_row_numbers([r.row_number for r in rows])}: {bodies.pop()}"
        else:
            reason = " ".join(r.reason for r in rows[:MAX_LISTED_ROWS])
            if len(rows) > MAX_LISTED_ROWS:
                reason += f" (and {len(rows) - MAX_LISTED_ROWS} more rows)"
        entries.append(replace(rows[0], reason=reason))
    return entries


def _row_numbers(numbers: list[int]) -> str:
    """ "3, 7 and 12"; the first ``MAX_LISTED_ROWS`` and a count of the rest."""
    shown = [str(n) for n in numbers[:MAX_LISTED_ROWS]]
    if len(numbers) > MAX_LISTED_ROWS:
        return f"{', '.join(shown)} and {len(numbers) - MAX_LISTED_ROWS} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


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
    exercise = canonical_exercise(cells["exercise"])  # type: ignore[arg-type]
    if exercise not in EXERCISES and not EXERCISE_NAME.match(exercise):
        raise BadRecording(
            f"exercise {cells['exercise']!r} is not a lift name: use one of {', '.join(EXERCISES)}, or "
            "another lift's name in lower case letters, digits and underscores (e.g. split_squat)."
        )
    try:
        session_date = dt.date.fromisoformat(cells["session_date"])  # type: ignore[arg-type]
    except ValueError:
        date = cells["session_date"]
        if ambiguous_date(date):  # type: ignore[arg-type]
            raise BadRecording(
                f"session_date {date!r} could be day/month or month/day, and no date in the manifest "
                "says which; write dates as 2026-03-14."
            ) from None
        raise BadRecording(f"session_date {date!r} is not a date like 2026-03-14.") from None
    side = _side(cells["side"]) if cells["side"] else None
    if side is not None and side not in SIDES:
        raise BadRecording(f"side {cells['side']!r} must be left, right (or L, R) or empty.")
    fmt, layout_file, layout = _format(cells["format"], batch_dir)
    placement = _words_joined(cells["placement"]) if cells["placement"] else None
    if placement is not None:
        if placement not in IMU_PLACEMENTS:
            raise BadRecording(f"placement {cells['placement']!r} is not one of {', '.join(IMU_PLACEMENTS)}.")
        if fmt is not None and not (layout is not None and takes_placement(layout)):
            single = [name for name in LAYOUTS if takes_placement(name)]
            raise BadRecording(
                f"placement applies only to single-sensor device layouts ({', '.join(single)}, or a layout "
                f"file of your own with one sensor); leave it empty for {fmt}."
            )
    load = _number(_kilograms(cells["load_kg"]), "load_kg", minimum=0.0, maximum=1000.0)
    rate_text = _unit_dropped(cells["sample_rate_hz"], "hz")
    rate = _number(rate_text, "sample_rate_hz", minimum=1.0, maximum=10000.0)
    set_number = _number(cells["set_number"], "set_number", minimum=1, maximum=1000)
    if set_number is not None and set_number != int(set_number):
        raise BadRecording("set_number must be a whole number.")
    sizes = [_number(cells[k], k, minimum=1, maximum=100_000) for k in ("image_width", "image_height")]
    if (sizes[0] is None) != (sizes[1] is None):
        raise BadRecording("give image_width and image_height together (the video frame's size in pixels).")
    image_size = (int(sizes[0]), int(sizes[1])) if sizes[0] is not None and sizes[1] is not None else None
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
        layout_file=layout_file,
        image_size=image_size,
    )


def _format(text: str | None, batch_dir: Path) -> tuple[str | None, Path | None, Layout | None]:
    """(format, layout file, layout) of a manifest's format cell: a format's name (a shipped
    layout's name gives its layout), or the path of a layout file of the coach's own inside the
    batch folder (``layouts/my_logger.toml``; ingest/layouts.py says what it holds)."""
    if text is None:
        return None, None, None
    if text.lower().endswith(".toml"):
        layout_file = _inside_batch(text, batch_dir)
        try:
            return text, layout_file, load_layout_file(layout_file)
        except LayoutError as exc:
            raise BadRecording(f"the layout file {_shown(text)} cannot be used: {exc}") from None
    fmt = text.lower()
    if fmt not in format_names():
        raise BadRecording(
            f"format {text!r} is not one of {', '.join(format_names())}, nor a layout file's path (.toml)."
        )
    return fmt, None, load_layout(fmt) if fmt in LAYOUTS else None


POUND_KG = 0.45359237  # the international avoirdupois pound (1959)
_WITH_UNIT = re.compile(r"^\s*([+-]?[\d.]+)\s*([a-z]+)\.?\s*$", re.IGNORECASE)


def _unit_dropped(text: str | None, unit: str) -> str | None:
    """``"60 Hz"`` as ``"60"`` for ``unit`` "hz"; anything else as it is."""
    m = _WITH_UNIT.match(text) if text is not None else None
    return m[1] if m and m[2].lower() == unit else text


def _kilograms(text: str | None) -> str | None:
    """A load as kilograms: ``"100 kg"`` as ``"100"``, and a load in pounds, as coaches who count
    in plates of 45 lb write it (``"225 lb"``, ``"225lbs"``), converted; anything else as it is."""
    m = _WITH_UNIT.match(text) if text is not None else None
    if m and m[2].lower() in ("lb", "lbs"):
        try:
            return repr(round(float(m[1]) * POUND_KG, 3))
        except ValueError:
            return text
    return _unit_dropped(text, "kg")


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


# A Windows path that is not relative: C:\data, C:data, \\server\share, \data.
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:|^[\\/]")


def _within(root: str, resolved: str, shown: str) -> str:
    if resolved != root and not resolved.startswith(root.rstrip(os.sep) + os.sep):
        raise BadRecording(f"the path {shown} points outside the batch folder.")
    return resolved


def _ignoring_case(root: str, relative: str) -> str | None:
    """The one path under ``root`` that ``relative`` names when backslashes separate folders and
    upper and lower case are the same letter, as where a manifest may have been written (Windows,
    macOS); None when there is none, or more than one."""
    current = root
    for part in re.split(r"[\\/]", relative):
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        matches = _listing(current).get(part.casefold(), ())
        if len(matches) != 1:
            return None
        current = os.path.join(current, matches[0])
    return current


@functools.lru_cache(maxsize=256)
def _listing(folder: str) -> dict[str, tuple[str, ...]]:
    """A folder's entries by their case-folded name (cached for the manifest being read:
    `parse_manifest` clears it)."""
    names: dict[str, tuple[str, ...]] = defaultdict(tuple)
    try:
        for name in os.listdir(folder):
            names[name.casefold()] += (name,)
    except OSError:
        pass
    return dict(names)


def _inside_batch(relative: str, batch_dir: Path) -> Path:
    """Resolve ``relative`` against the batch folder, refusing paths that leave it.

    os.path rather than pathlib: a row costs 30 us instead of 80 (pathlib parsed every path four
    times), most of reading a 10^5-row manifest."""
    if "\x00" in relative:
        raise BadRecording("the path contains a NUL character.")
    shown = _shown(relative)
    if os.path.isabs(relative) or _WINDOWS_ABSOLUTE.match(relative):
        raise BadRecording(f"the path {shown} must be relative to the manifest's folder.")
    root = str(batch_dir)
    try:
        resolved = _within(root, os.path.realpath(os.path.join(root, relative)), shown)
        try:
            info = os.stat(resolved)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
            # Written on Windows or macOS, where A1\Set1.CSV names A1/set1.csv.
            found = _ignoring_case(root, relative)
            if found is None:
                raise BadRecording(f"the file {shown} does not exist.") from None
            resolved = _within(root, os.path.realpath(found), shown)
            info = os.stat(resolved)
        if resolved == root:
            raise BadRecording("the path is the batch folder itself, not one recording in it.")
        if stat.S_ISDIR(info.st_mode):
            # Folder formats (OpenPose, IMU) read every file inside: none may lead out of the batch.
            for entry in Path(resolved).rglob("*"):
                if not entry.resolve().is_relative_to(batch_dir):
                    raise BadRecording(
                        f"the folder {shown} contains {entry.name!r}, a link to outside the batch folder."
                    )
    except (OSError, RuntimeError) as exc:  # a name longer than the file system allows, a symlink loop
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise BadRecording(f"the path {shown} cannot be used ({why}).") from None
    return Path(resolved)
