"""Declared column mappings: a device's own CSV layout described as data, read by one generic reader.

Real recordings rarely match a built-in format (SPEC.md "Recording formats": several sensors in one
CSV, a device clock, g instead of m/s^2, landmark columns with other suffixes, pixels with y up,
every third video frame). Each device layout is one TOML file, ``ingest/layouts/<name>.toml``,
shipped as package data; ``<name>`` is the value of the manifest's ``format`` column. A new device
is a new TOML file, not new code. Each file's comments cite the documentation of the format it
describes (or say what was observed in real exports where the maker documents nothing); the coach's
view of every shipped layout is in docs/formats.md.

TOML keys (``[section] key``; every key not marked required is optional):

- ``kind`` (required): ``"imu"`` or ``"pose"``; ``title``: the device's name, used in messages.
- ``[csv]``: ``header`` = ``true`` (first non-blank row names the columns), ``false`` (no header:
  ``names`` gives the columns in order) or ``"auto"`` (a first row made only of numbers is data);
  ``names``; ``min_columns`` (rows may stop after this many of ``names``); ``delimiter`` (","
  by default); ``drop_trailing_zero_rows`` (rows at the end in which every value is 0 are an
  unfilled logger buffer, not samples). Blank lines are always skipped.
- ``[detect]``, how ``detect_format`` recognises the layout when the manifest's format is empty
  (required of the shipped layouts; a coach's own layout file is named in the manifest):
  ``columns`` (the header has all of them), ``any_columns`` (and at least one of these),
  ``headerless`` (a file whose first rows are only numbers, ``min_columns`` to ``len(names)`` of them).
  Column names are compared without case and surrounding spaces.
- ``[time]``: ``column`` and ``unit``: ``s``, ``ms``, ``us``, ``ns`` (a clock: device time, epoch
  time), ``frame`` (a frame index: time = frame * ``stride`` / rate) or ``none`` (no column: row
  number * ``stride`` / rate). The rate of ``frame``/``none`` is the manifest's ``sample_rate_hz``,
  else ``rate_hz``. ``arrival_stamped`` (the host stamped samples when they arrived, in bursts):
  each stamp becomes the mean of the stamps within +-``smooth_s``/2 (default 1 s), pauses longer than
  half of that window are kept.
- ``[[sensor]]`` (imu, one per sensor): ``placement`` (schema.IMU_PLACEMENTS; for a layout with a
  single sensor the manifest's ``placement`` column overrides it, and must give it when it is
  absent), ``acc`` and ``gyr`` channel groups. A group is ``{columns = [x, y, z], unit, file, plus,
  negate_when, required}``, or a list of such groups tried in order (the first whose files exist).
  Units: acc ``m/s^2`` or ``g`` (x 9.80665) or ``mg``; gyr ``rad/s`` or ``deg/s``. ``file``: the group is
  in another file of the same recording, found by name (below). ``plus``: a second group added after
  resampling onto this one's times (e.g. gravity onto user acceleration). ``negate_when = {file,
  match = {column = [values]}}``: negate the group when that one-row file's columns hold those values.
  ``required`` (default true).
- ``[pose]`` (pose): ``names`` (``mediapipe_33``, ``coco_17``, ``body_25``, ``body_25b``, ``coco_18``,
  ``halpe_26``, ``coco_wholebody``: the tool's landmark names, see formats.py), column templates
  ``x``, ``y``, ``z``, ``confidence`` with ``{name}`` for the landmark's name, ``unit`` (``m`` ->
  ``world_m``, ``normalised`` 0..1 -> ``image``, ``px`` -> ``image_px``: pixels, square)
  and ``y_axis`` (``up`` or ``down``; canonical frames are y up).
  Without a ``z`` template z is left empty (2-D); without ``confidence`` a landmark present is seen.

Files of one recording (``file`` tokens are glob fragments, ``*`` = anything): when the manifest's
path is a file, the token that matches its name marks the part that differs between the
recording's files; every other file has the same name with that part replaced by its own token
(glob-escaped prefix + token + suffix, exactly one match in the same folder). So
``X_Accelerometer_12.500Hz_1.4.4.csv`` pairs with ``X_Gyroscope_*Hz_1.4.4.csv`` and never with a
``_1.4.41.csv`` re-export. When the path is a folder, each token must match exactly one file in it.
"""

from __future__ import annotations

import copy
import csv
import fnmatch
import functools
import re
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from hinge_analytics.formats import (
    BODY_25,
    BODY_25B,
    COCO_17,
    COCO_18,
    COCO_WHOLEBODY,
    HALPE_26,
    MEDIAPIPE_33,
    canonical_map,
)
from hinge_analytics.ingest.checks import MAX_GAP_S, RATE_TOLERANCE, check_time_unit, logger_order
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import PoseArrays, RecordingRead, imu_frames_from_arrays
from hinge_analytics.ingest.imu import (
    ACC_UNITS,
    GYR_UNITS,
    MAX_BYTES,
    SensorData,
    align,
    check_sensor,
    dead_gyroscope_note,
)
from hinge_analytics.ingest.spreadsheet import SEPARATORS, decimal_point
from hinge_analytics.schema import IMU_PLACEMENTS

TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "frame": None, "none": None}
POSE_UNITS = {"m": "world_m", "normalised": "image", "normalized": "image", "px": "image_px"}
NAME_SETS: dict[str, tuple[str, ...]] = {
    "mediapipe_33": MEDIAPIPE_33,
    "coco_17": COCO_17,
    "body_25": BODY_25,
    "body_25b": BODY_25B,
    "coco_18": COCO_18,
    "halpe_26": HALPE_26,
    "coco_wholebody": COCO_WHOLEBODY,
}
CHANNEL_GROUPS = ("acc", "gyr")
_HEAD_ROWS = 5  # rows a headerless file must show as numbers before detection trusts it


class LayoutError(ValueError):
    """A layout file that does not follow the TOML keys above (a bug in the layout, not the data)."""


@dataclass(frozen=True)
class When:
    """``negate_when``: a one-row file (e.g. Sensor Logger's Metadata.csv) whose columns hold values."""

    file: str
    match: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Group:
    """Three columns of one channel group (x, y, z), their unit factor to SI and where they are."""

    columns: tuple[str, str, str]
    scale: float
    file: str | None = None
    plus: Group | None = None
    negate_when: When | None = None

    def tokens(self) -> list[str]:
        own = [t for t in (self.file, self.negate_when.file if self.negate_when else None) if t]
        return own + (self.plus.tokens() if self.plus else [])

    def data_files(self) -> list[str | None]:
        """The tokens of the files holding this group's samples (None: the recording's own file)."""
        return [self.file, *(self.plus.data_files() if self.plus else [])]


@dataclass(frozen=True)
class Sensor:
    placement: str | None
    channels: dict[str, tuple[Group, ...]]  # acc/gyr -> alternatives, first usable wins
    required: dict[str, bool]


@dataclass(frozen=True)
class Pose:
    names: tuple[str, ...]
    x: str
    y: str
    z: str | None
    confidence: str | None
    coordinates: str
    flip_y: bool


@dataclass(frozen=True)
class Layout:
    """One parsed layout file; see the module docstring for the meaning of each field."""

    name: str
    kind: str
    title: str
    header: bool | None  # None: auto
    names: tuple[str, ...]
    min_columns: int
    delimiter: str
    drop_trailing_zero_rows: bool
    detect_columns: tuple[str, ...]
    detect_any: tuple[str, ...]
    detect_headerless: bool
    time_column: str | None
    time_unit: str
    stride: float
    rate_hz: float | None
    arrival_stamped: bool
    smooth_s: float
    sensors: tuple[Sensor, ...] = ()
    pose: Pose | None = None

    def tokens(self) -> list[str]:
        """Every file token of the layout, in declaration order, without repeats."""
        seen: dict[str, None] = {}
        for sensor in self.sensors:
            for groups in sensor.channels.values():
                for group in groups:
                    seen.update(dict.fromkeys(group.tokens()))
        return list(seen)


# --------------------------------------------------------------------------- loading layouts
def _layout_dir() -> Any:
    return resources.files(__package__) / "layouts"


@functools.cache
def layout_names() -> tuple[str, ...]:
    """Names of the shipped layouts (the TOML files' stems), sorted."""
    return tuple(sorted(p.name[: -len(".toml")] for p in _layout_dir().iterdir() if p.name.endswith(".toml")))


@functools.cache
def load_layout(name: str) -> Layout:
    """The layout ``name`` (raises LayoutError when its file is missing or malformed)."""
    if name not in layout_names():
        raise LayoutError(f"There is no device layout named {name!r}.")
    return _parse_toml(name, (_layout_dir() / f"{name}.toml").read_text(encoding="utf-8"), detectable=True)


def load_layout_file(path: Path) -> Layout:
    """A coach's own layout: a TOML file of the keys above kept with the batch, which the manifest's
    ``format`` column names by its path (raises LayoutError when it is malformed or unreadable).
    Parsed once per version of the file, however many manifest rows name it."""
    try:
        info = path.stat()
    except OSError as exc:
        raise LayoutError(f"Layout {path.name}: cannot be read ({exc}).") from exc
    return _layout_file(path, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=64)
def _layout_file(path: Path, mtime_ns: int, size: int) -> Layout:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"Layout {path.name}: cannot be read ({exc}).") from exc
    return _parse_toml(path.stem, text, detectable=False)


def _parse_toml(name: str, text: str, detectable: bool) -> Layout:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"Layout {name}: not valid TOML ({exc}).") from exc
    return parse_layout(name, data, detectable)


def parse_layout(name: str, data: dict[str, Any], detectable: bool = True) -> Layout:
    """Check and convert one layout's TOML tables (see the module docstring). A shipped layout
    (``detectable``) must say how ``detect_format`` knows its files; a coach's own is named in the
    manifest and needs no ``[detect]``."""

    def fail(message: str) -> LayoutError:
        return LayoutError(f"Layout {name}: {message}")

    _known(data, {"kind", "title", "csv", "detect", "time", "sensor", "pose"}, "top level", fail)
    kind = data.get("kind")
    if kind not in ("imu", "pose"):
        raise fail("kind must be 'imu' or 'pose'.")
    csv_t = _table(data, "csv", fail)
    _known(csv_t, {"header", "names", "min_columns", "delimiter", "drop_trailing_zero_rows"}, "[csv]", fail)
    header = csv_t.get("header", True)
    if header not in (True, False, "auto"):
        raise fail("[csv] header must be true, false or 'auto'.")
    names = tuple(str(n) for n in csv_t.get("names", ()))
    if header is not True and not names:
        raise fail("[csv] names are needed when a file may have no header row.")
    min_columns = int(csv_t.get("min_columns", len(names)))
    detect = _table(data, "detect", fail)
    _known(detect, {"columns", "any_columns", "headerless"}, "[detect]", fail)
    time = _table(data, "time", fail)
    _known(time, {"column", "unit", "stride", "rate_hz", "arrival_stamped", "smooth_s"}, "[time]", fail)
    unit = time.get("unit", "s")
    if unit not in TIME_UNITS:
        raise fail(f"[time] unit must be one of {', '.join(TIME_UNITS)}.")
    column = time.get("column")
    if (column is None) != (unit == "none"):
        raise fail("[time] needs a column unless its unit is 'none'.")
    layout = Layout(
        name=name,
        kind=kind,
        title=str(data.get("title", name)),
        header=None if header == "auto" else bool(header),
        names=names,
        min_columns=min_columns,
        delimiter=str(csv_t.get("delimiter", ",")),
        drop_trailing_zero_rows=bool(csv_t.get("drop_trailing_zero_rows", False)),
        detect_columns=tuple(_key(c) for c in detect.get("columns", ())),
        detect_any=tuple(_key(c) for c in detect.get("any_columns", ())),
        detect_headerless=bool(detect.get("headerless", False)),
        time_column=None if column is None else str(column),
        time_unit=unit,
        stride=float(time.get("stride", 1.0)),
        rate_hz=float(time["rate_hz"]) if "rate_hz" in time else None,
        arrival_stamped=bool(time.get("arrival_stamped", False)),
        smooth_s=float(time.get("smooth_s", 1.0)),
        sensors=tuple(_sensor(s, fail) for s in data.get("sensor", ())) if kind == "imu" else (),
        pose=_pose(_table(data, "pose", fail), fail) if kind == "pose" else None,
    )
    if kind == "imu" and not layout.sensors:
        raise fail("an imu layout needs at least one [[sensor]].")
    if detectable and not (layout.detect_columns or layout.detect_headerless):
        raise fail("[detect] needs columns or headerless = true.")
    placed = [s.placement for s in layout.sensors if s.placement]
    if len(placed) != len(set(placed)):
        raise fail("two sensors have the same placement.")
    own_file = any(g.file is None for s in layout.sensors for groups in s.channels.values() for g in groups)
    if (
        own_file
        and layout.tokens()
        and any(g.file for s in layout.sensors for groups in s.channels.values() for g in groups)
    ):
        raise fail("either every channel group names its file or none does.")
    return layout


def _known(table: dict, allowed: set[str], where: str, fail: Any) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))} in {where}.")


def _table(data: dict, key: str, fail: Any) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"[{key}] must be a table.")
    return value


def _sensor(data: Any, fail: Any) -> Sensor:
    if not isinstance(data, dict):
        raise fail("each [[sensor]] must be a table.")
    _known(data, {"placement", *CHANNEL_GROUPS}, "[[sensor]]", fail)
    placement = data.get("placement")
    if placement is not None and placement not in IMU_PLACEMENTS:
        raise fail(f"placement {placement!r} is not one of {', '.join(IMU_PLACEMENTS)}.")
    channels: dict[str, tuple[Group, ...]] = {}
    required: dict[str, bool] = {}
    for channel in CHANNEL_GROUPS:
        if channel not in data:
            continue
        value = data[channel]
        alternatives = value if isinstance(value, list) else [value]
        required[channel] = all(bool(a.get("required", True)) for a in alternatives if isinstance(a, dict))
        channels[channel] = tuple(_group(a, channel, fail) for a in alternatives)
    if not channels:
        raise fail("a [[sensor]] needs acc or gyr.")
    return Sensor(placement, channels, required)


def _group(data: Any, channel: str, fail: Any) -> Group:
    if not isinstance(data, dict):
        raise fail(f"{channel} must be a table {{columns = [...], unit = ...}} or a list of them.")
    _known(data, {"columns", "unit", "file", "plus", "negate_when", "required"}, channel, fail)
    columns = tuple(str(c) for c in data.get("columns", ()))
    if len(columns) != 3:
        raise fail(f"{channel} needs three columns (x, y, z).")
    units = ACC_UNITS if channel == "acc" else GYR_UNITS
    unit = data.get("unit")
    if unit not in units:
        raise fail(f"{channel} unit must be one of {', '.join(units)}.")
    when = data.get("negate_when")
    if when is not None:
        if (
            not isinstance(when, dict)
            or set(when) != {"file", "match"}
            or not isinstance(when["match"], dict)
        ):
            raise fail(f"{channel} negate_when must be {{file = ..., match = {{column = [values]}}}}.")
        when = When(
            str(when["file"]),
            {
                _key(k): tuple(_key(v) for v in (vs if isinstance(vs, list) else [vs]))
                for k, vs in when["match"].items()
            },
        )
    plus = data.get("plus")
    return Group(
        columns=columns,  # type: ignore[arg-type]
        scale=float(units[unit]),
        file=str(data["file"]) if "file" in data else None,
        plus=_group(plus, channel, fail) if plus is not None else None,
        negate_when=when,
    )


def _pose(data: dict, fail: Any) -> Pose:
    _known(data, {"names", "x", "y", "z", "confidence", "unit", "y_axis"}, "[pose]", fail)
    names = NAME_SETS.get(str(data.get("names")))
    if names is None:
        raise fail(f"[pose] names must be one of {', '.join(NAME_SETS)}.")
    if "x" not in data or "y" not in data:
        raise fail("[pose] needs x and y column templates.")
    for key in ("x", "y", "z", "confidence"):
        if key in data and "{name}" not in str(data[key]):
            raise fail(f"[pose] {key} must contain {{name}}.")
    unit = data.get("unit")
    if unit not in POSE_UNITS:
        raise fail(f"[pose] unit must be one of {', '.join(POSE_UNITS)}.")
    if data.get("y_axis") not in ("up", "down"):
        raise fail("[pose] y_axis must be 'up' or 'down'.")
    return Pose(
        names=names,
        x=str(data["x"]),
        y=str(data["y"]),
        z=str(data["z"]) if "z" in data else None,
        confidence=str(data["confidence"]) if "confidence" in data else None,
        coordinates=POSE_UNITS[unit],
        flip_y=data["y_axis"] == "down",
    )


def layout_kind(name: str) -> str:
    """``imu`` or ``pose``."""
    return load_layout(name).kind


def takes_placement(layout: str | Layout) -> bool:
    """Whether the manifest's placement column applies: an IMU layout with a single sensor."""
    layout = load_layout(layout) if isinstance(layout, str) else layout
    return layout.kind == "imu" and len(layout.sensors) == 1


# --------------------------------------------------------------------------- detection
def _key(name: object) -> str:
    return str(name).strip().strip('"').strip().lower()


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _matches(layout: Layout, rows: list[list[str]]) -> bool:
    if not rows:
        return False
    header = {_key(c) for c in rows[0]}
    if layout.detect_columns and set(layout.detect_columns) <= header:
        return not layout.detect_any or bool(header & set(layout.detect_any))
    if layout.detect_headerless:
        head = rows[:_HEAD_ROWS]
        return all(
            layout.min_columns <= len(r) <= len(layout.names) and all(_is_number(c) for c in r) for r in head
        )
    return False


def detect_layout(text: str) -> str | None:
    """The one layout whose ``[detect]`` rules match the start of a file (``text``), else None."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and len(text) >= 4096:
        lines = lines[:-1]  # the last line of a truncated head may be cut short
    found = []
    for name in layout_names():
        layout = load_layout(name)
        rows = _rows(lines, layout.delimiter, layout.header is not False)
        if _matches(layout, rows[: _HEAD_ROWS + 1]):
            found.append(name)
    return found[0] if len(found) == 1 else None


_SAMPLE_ROWS = 50  # data rows whose cells must be mostly numbers
MAX_TIMELESS_FRACTION = 0.01  # of a file's rows without a time: left out; more: refused


def _rows(lines: list[str], delimiter: str, header: bool) -> list[list[str]]:
    """The lines as rows of cells, the header row first when the layout has one.

    With a header, a file is also read as a spreadsheet or a logger may have left it: saved in a
    locale with decimal commas (cells separated by ';' or a tab, 1,5 for 1.5), or with lines of
    metadata or comments above the header. The header is the first row as wide as the data rows
    (the most common width) with a cell that is not a number, and most data cells must be
    numbers; the layout's own delimiter is taken whenever it gives such a table."""
    rows = list(csv.reader(lines, delimiter=delimiter))
    if not header or not rows:
        return rows
    for candidate in (delimiter, *(d for d in SEPARATORS if d not in (delimiter, ","))):
        split = rows if candidate == delimiter else list(csv.reader(lines, delimiter=candidate))
        if candidate != ",":
            split = [[decimal_point(c) for c in r] for r in split]
        start = _header_row(split)
        if start is not None:
            return split[start:]
    return rows


def _header_row(rows: list[list[str]]) -> int | None:
    """Index of the header in ``rows`` (`_rows`), None when they are no table of numbers under one."""
    data = rows[len(rows) // 2 :] if len(rows) > 2 else rows[1:]
    widths = [len(r) for r in data]
    if not widths:
        return 0 if len(rows[0]) > 1 else None
    width = max(set(widths), key=widths.count)
    cells = [c for r in data[-_SAMPLE_ROWS:] if len(r) == width for c in r if c.strip()]
    if width < 2 or sum(map(_is_number, cells)) < 0.5 * len(cells):
        return None
    for index, row in enumerate(rows[: len(rows) // 2 + 1]):
        if len(row) == width and not all(_is_number(c) for c in row if c.strip()):
            return index
    return None


# --------------------------------------------------------------------------- reading files
def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise BadRecording(f"{path.name} is larger than {MAX_BYTES // 2**20} MB; split the recording.")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    if b"\x00" in raw[:4096]:
        raise BadRecording(f"{path.name} is a binary file, not a CSV export.")
    return raw.decode("utf-8-sig", errors="replace")


class Table:
    """One CSV file as the layout declares it: named columns of text cells, blank lines skipped."""

    def __init__(self, path: Path, layout: Layout, header: bool | None = None):
        self.name = path.name
        lines = [line for line in _read_text(path).splitlines() if line.strip()]
        header = layout.header if header is None else header
        rows = _rows(lines, layout.delimiter, header is not False)
        if header is None:  # auto: a first row of numbers only is data
            header = bool(rows) and not all(_is_number(c) for c in rows[0])
        if header:
            if not rows:
                raise BadRecording(f"{path.name} is empty.")
            names, rows = [c for c in rows[0]], rows[1:]
        else:
            names = list(layout.names)
            for number, row in enumerate(rows[:50], start=1):
                if not layout.min_columns <= len(row) <= len(names):
                    raise BadRecording(
                        f"Row {number} of {path.name} has {len(row)} values; a {layout.title} file "
                        f"without a header row has {layout.min_columns} to {len(names)} "
                        f"({', '.join(names)})."
                    )
        if layout.drop_trailing_zero_rows:
            while rows and all(_is_number(c) and float(c) == 0.0 for c in rows[-1] if c.strip()):
                rows.pop()
        self.columns = {_key(c): i for i, c in enumerate(names)}
        self.header = names
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def only(self, keep: np.ndarray) -> Table:
        """A copy holding the rows where ``keep`` is true."""
        kept = copy.copy(self)
        kept.rows = [row for row, k in zip(self.rows, keep, strict=True) if k]
        return kept

    def has(self, column: str) -> bool:
        return _key(column) in self.columns

    def numbers(self, column: str, title: str) -> np.ndarray:
        """The column as float64 (NaN for empty cells); a cell that is not a number is refused."""
        index = self.columns.get(_key(column))
        if index is None:
            raise BadRecording(f"{self.name} has no column {column!r}; is it a {title} file?")
        cells = [row[index].strip() if index < len(row) else "" for row in self.rows]
        try:
            return np.asarray(cells, dtype=np.float64)
        except ValueError:
            pass
        out = np.full(len(cells), np.nan)
        for number, cell in enumerate(cells):
            if not cell:
                continue
            try:
                out[number] = float(cell)
            except ValueError:
                raise BadRecording(
                    f"Row {number + 1} of {self.name} holds {cell[:20]!r} in column {column!r}, "
                    "which is not a number."
                ) from None
        return out

    def value(self, column: str) -> str:
        """The first data row's cell in ``column`` ("" when absent): one-row metadata files."""
        index = self.columns.get(_key(column))
        if index is None or not self.rows or index >= len(self.rows[0]):
            return ""
        return self.rows[0][index]


def _token_regex(token: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in token.split("*")), re.IGNORECASE)


def recording_files(layout: Layout, path: Path) -> dict[str | None, Path | None]:
    """Token -> file of the recording (None: not there); key None is the manifest's own file."""
    tokens = layout.tokens()
    if not tokens:
        if not path.is_file():
            raise BadRecording(f"A {layout.title} recording is one CSV file, not a folder.")
        return {None: path}
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        out: dict[str | None, Path | None] = {}
        for token in tokens:
            hits = [p for p in files if _token_regex(token).search(p.name)]
            if len(hits) > 1:
                raise BadRecording(
                    f"The folder {path.name} holds {len(hits)} files named like {token!r}; point the "
                    "manifest at one recording's file instead of the folder."
                )
            out[token] = hits[0] if hits else None
        return out
    if not path.is_file():
        raise BadRecording("The recording is neither a file nor a folder.")
    anchors = [(m.end() - m.start(), t, m) for t in tokens if (m := _token_regex(t).search(path.name))]
    if not anchors:
        raise BadRecording(
            f"{path.name} is not named like a {layout.title} export: its name should contain "
            f"{' or '.join(repr(t) for t in tokens)}."
        )
    _, anchor, match = max(anchors, key=lambda a: a[0])
    prefix, suffix = path.name[: match.start()], path.name[match.end() :]
    out = {}
    for token in tokens:
        if token == anchor:
            out[token] = path
            continue
        pattern = glob_escape(prefix) + token + glob_escape(suffix)
        hits = sorted(
            p for p in path.parent.iterdir() if p.is_file() and fnmatch.fnmatchcase(p.name, pattern)
        )
        if not hits:  # file systems and exports differ in letter case; the name is otherwise exact
            hits = sorted(
                p for p in path.parent.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, pattern)
            )
        if len(hits) > 1:
            raise BadRecording(
                f"Several files in {path.parent.name or 'the folder'} could belong with {path.name} "
                f"({', '.join(p.name for p in hits[:3])}); keep one export per recording."
            )
        out[token] = hits[0] if hits else None
    return out


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters made literal."""
    return re.sub(r"([*?\[])", r"[\1]", text)


# --------------------------------------------------------------------------- time
def smooth_arrival_times(t: np.ndarray, window_s: float) -> np.ndarray:
    """Host arrival stamps -> sample times: a moving average over the sample index of width
    ``window_s`` (in stretches separated by pauses longer than half the window, which are kept).

    A device that samples steadily but sends in bursts gets several samples per stamp; the average
    over a window spanning many bursts follows the recording's clock without the bursts, and is
    strictly increasing wherever the window holds more than one distinct stamp. The ends are padded
    by extending the stretch's mean step, so that the first and last samples stay in place on average.
    """
    out = t.astype(np.float64, copy=True)
    breaks = np.flatnonzero(np.diff(t) > window_s / 2) + 1
    for part in np.split(np.arange(len(t)), breaks):
        if len(part) < 3:
            continue
        seg = t[part]
        span = seg[-1] - seg[0]
        if span <= 0:
            continue
        step = span / (len(seg) - 1)
        half = int(min(round(window_s / step / 2), (len(seg) - 1) // 2))
        if half < 1:
            continue
        ramp = step * np.arange(1, half + 1)
        padded = np.concatenate([seg[0] - ramp[::-1], seg, seg[-1] + ramp])
        sums = np.cumsum(np.concatenate([[0.0], padded]))
        width = 2 * half + 1
        out[part] = (sums[width:] - sums[:-width]) / width
    return out


def _frame_times(layout: Layout, table: Table) -> tuple[Table, np.ndarray | None, np.ndarray | None]:
    """(the rows with a time, their seconds, None) for a clock column, (..., None, frame numbers)
    for frame/none time."""
    n = len(table)
    if layout.time_unit == "none":
        return table, None, np.arange(n, dtype=np.float64) * layout.stride
    assert layout.time_column is not None
    values = table.numbers(layout.time_column, layout.title)
    missing = np.flatnonzero(~np.isfinite(values))
    if len(missing) > MAX_TIMELESS_FRACTION * n:
        raise BadRecording(
            f"{len(missing)} of the {n} rows of {table.name} have no {layout.time_column!r} value (the "
            f"first: row {missing[0] + 1}); every row needs its time. Re-export the recording."
        )
    if len(missing):  # a logger's write glitch: the rows cannot be placed in time and are left out
        known = np.isfinite(values)
        table, values = table.only(known), values[known]
    if layout.time_unit == "frame":
        return table, None, values * layout.stride
    scale = TIME_UNITS[layout.time_unit]
    assert scale is not None
    check_time_unit(
        values,
        layout.time_column,
        scale,
        table.name,
        fix=f"the {layout.name} layout reads its times in {layout.time_unit}; export those, or declare "
        "a layout with the file's time unit (docs/formats.md).",
    )
    return table, values * scale, None


def _timed(layout: Layout, table: Table, manifest_rate: float | None) -> tuple[Table, np.ndarray]:
    """The rows of ``table`` that have a time, and their times in seconds from the file's clock,
    frame numbers or the rate."""
    table, seconds, frames = _frame_times(layout, table)
    if seconds is None:
        assert frames is not None
        rate = manifest_rate or layout.rate_hz
        if rate is None:
            raise BadRecording(
                f"{table.name} counts frames or samples but carries no times; add the recording's "
                "rate to the manifest's sample_rate_hz (for video: the camera's frame rate)."
            )
        seconds = (frames - frames[0]) / rate
    if layout.arrival_stamped:
        seconds = smooth_arrival_times(seconds, layout.smooth_s)
    return table, seconds


# --------------------------------------------------------------------------- IMU layouts
@dataclass
class _Part:
    t: np.ndarray
    xyz: np.ndarray  # (n, 3) SI
    file: str


class _Files:
    """The recording's files, each parsed once."""

    def __init__(self, layout: Layout, files: dict[str | None, Path | None], manifest_rate: float | None):
        self.layout, self.files, self.rate = layout, files, manifest_rate
        self._tables: dict[Path, tuple[Table, np.ndarray | None]] = {}

    def exists(self, token: str | None) -> bool:
        return self.files.get(token) is not None

    def table(self, token: str | None, timed: bool = True) -> tuple[Table, np.ndarray | None]:
        path = self.files[token]
        assert path is not None
        if path not in self._tables:
            table = Table(path, self.layout, header=None if timed else True)
            self._tables[path] = _timed(self.layout, table, self.rate) if timed else (table, None)
        return self._tables[path]

    def group(self, group: Group) -> _Part:
        table, t = self.table(group.file)
        assert t is not None
        xyz = np.column_stack([table.numbers(c, self.layout.title) for c in group.columns]) * group.scale
        t, rows = logger_order(t, [xyz])
        part = _Part(t, xyz[rows], table.name)
        if group.plus is not None:
            other = self.group(group.plus)
            part = _sum(part, other)
        if group.negate_when is not None and self._holds(group.negate_when):
            part.xyz = -part.xyz
        return part

    def _holds(self, when: When) -> bool:
        if not self.exists(when.file):
            raise BadRecording(
                f"The recording lacks {when.file}, which says how to read its axes "
                "(they differ between devices); include it with the other files."
            )
        table, _ = self.table(when.file, timed=False)
        return all(_key(table.value(column)) in values for column, values in when.match.items())


def _sum(a: _Part, b: _Part) -> _Part:
    """``a + b`` on ``a``'s sample times, over the span both cover."""
    keep = (a.t >= b.t[0]) & (a.t <= b.t[-1])
    if keep.sum() < 2:
        raise BadRecording(f"{a.file} and {b.file} do not overlap in time; are they from the same recording?")
    t = a.t[keep]
    return _Part(t, a.xyz[keep] + _resample(t, b), a.file)


def _resample(t: np.ndarray, part: _Part) -> np.ndarray:
    """``part`` linearly interpolated at ``t``; NaN inside its logging gaps (steps over MAX_GAP_S),
    which are kept as gaps, as `imu.align` keeps them, rather than bridged by a straight line."""
    out = np.column_stack([np.interp(t, part.t, part.xyz[:, k]) for k in range(3)])
    i = np.clip(np.searchsorted(part.t, t), 1, len(part.t) - 1)
    gap = (part.t[i] - part.t[i - 1] > MAX_GAP_S) & (t > part.t[i - 1]) & (t < part.t[i])
    out[gap] = np.nan
    return out


def _names(groups: tuple[Group, ...]) -> str:
    def one(g: Group) -> str:
        return (g.file or "its own file") + (f" with {one(g.plus)}" if g.plus else "")

    return " or ".join(one(g) for g in groups)


def _merge(placement: str, parts: dict[str, _Part]) -> SensorData:
    """One sensor's channel groups (maybe from files at different rates) on one time axis: the
    fastest group's own sample times over the span every group covers."""
    first = next(iter(parts.values()))
    if all(p.t is first.t for p in parts.values()):
        t = first.t
        xyz = {c: p.xyz for c, p in parts.items()}
    else:
        start = max(p.t[0] for p in parts.values())
        end = min(p.t[-1] for p in parts.values())
        fastest = min(parts.values(), key=lambda p: float(np.median(np.diff(p.t))))
        t = fastest.t[(fastest.t >= start) & (fastest.t <= end)]
        if len(t) < 2:
            files = ", ".join(p.file for p in parts.values())
            raise BadRecording(f"The files {files} do not overlap in time; are they from the same recording?")
        xyz = {c: _resample(t, p) for c, p in parts.items()}
    channels = {f"{c}_{axis}": xyz[c][:, k] for c in xyz for k, axis in enumerate("xyz")}
    return SensorData(placement, t, channels)


def _placements(layout: Layout, placement: str | None) -> list[str]:
    if placement is not None:
        if placement not in IMU_PLACEMENTS:
            raise BadRecording(f"placement {placement!r} is not one of {', '.join(IMU_PLACEMENTS)}.")
        if len(layout.sensors) > 1:
            raise BadRecording(
                f"A {layout.title} file holds {len(layout.sensors)} sensors at fixed places; leave the "
                "placement column empty for it."
            )
        return [placement]
    out = []
    for sensor in layout.sensors:
        if sensor.placement is None:
            raise BadRecording(
                f"Say where the {layout.title} was worn: fill the manifest's placement column "
                f"(one of {', '.join(IMU_PLACEMENTS)})."
            )
        out.append(sensor.placement)
    return out


def read_imu_layout(
    layout: Layout, path: Path, sample_rate_hz: float | None, placement: str | None = None
) -> RecordingRead:
    """Read an IMU recording laid out as ``layout`` into canonical IMU frames (SI units)."""
    places = _placements(layout, placement)
    files = _Files(layout, recording_files(layout, path), sample_rate_hz)
    sensors = []
    notes: tuple[str, ...] = ()
    for spec, place in zip(layout.sensors, places, strict=True):
        parts: dict[str, _Part] = {}
        for channel, groups in spec.channels.items():
            usable = [g for g in groups if all(files.exists(t) for t in g.data_files())]
            if not usable:
                if spec.required[channel]:
                    raise BadRecording(
                        f"The {layout.title} recording lacks its {_CHANNEL_WORDS[channel]} file "
                        f"({_names(groups)}); keep the recording's files together in one folder."
                    )
                # Many loggers record the accelerometer alone (MetaBase, phyphox let the user pick
                # the streams); one left behind in another folder reads the same, so say so.
                notes += (
                    f"No {_CHANNEL_WORDS[channel]} file ({_names(groups)}) lies beside this "
                    f"recording: it was read without a {_CHANNEL_WORDS[channel]}.",
                )
                continue
            part = files.group(usable[0])
            names = [f"{channel}_{axis}" for axis in "xyz"]
            beside = parts["acc"].xyz if "acc" in parts else None
            dead = dead_gyroscope_note(place, part.xyz, beside, part.file) if channel == "gyr" else None
            if dead:
                notes += (dead,)
                continue
            check_sensor(place, part.t, dict(zip(names, part.xyz.T, strict=True)), part.file)
            parts[channel] = part
        sensors.append(_merge(place, parts))
    t, channels = align(sensors)
    read = replace(imu_frames_from_arrays(channels, t), notes=notes)
    clock = layout.time_unit not in ("frame", "none")
    if (
        clock
        and sample_rate_hz is not None
        and abs(read.sample_rate_hz - sample_rate_hz) > RATE_TOLERANCE * sample_rate_hz
    ):
        raise BadRecording(
            f"The recording runs at {read.sample_rate_hz:.1f} Hz but the manifest says "
            f"{sample_rate_hz:g} Hz; check which one is right (the files carry their own times, so "
            "the manifest's rate can stay empty)."
        )
    return read


_CHANNEL_WORDS = {"acc": "accelerometer", "gyr": "gyroscope"}


# --------------------------------------------------------------------------- pose layouts
def read_pose_layout(layout: Layout, path: Path, sample_rate_hz: float | None) -> RecordingRead:
    """Read a pose recording laid out as ``layout`` into canonical (y-up) pose frames."""
    pose = layout.pose
    assert pose is not None
    if not path.is_file():
        raise BadRecording(f"A {layout.title} recording is one CSV file, not a folder.")
    table = Table(path, layout)
    if len(table) == 0:
        raise BadRecording(f"{path.name} holds no frames.")
    table, seconds = _timed(layout, table, sample_rate_hz)
    xyz: dict[str, np.ndarray] = {}
    conf: dict[str, np.ndarray] = {}
    for canonical, index in canonical_map(pose.names).items():
        name = pose.names[index]
        x, y = pose.x.format(name=name), pose.y.format(name=name)
        if not (table.has(x) and table.has(y)):
            continue
        z = pose.z.format(name=name) if pose.z else None
        p = np.column_stack(
            [
                table.numbers(x, layout.title),
                table.numbers(y, layout.title),
                table.numbers(z, layout.title) if z and table.has(z) else np.full(len(table), np.nan),
            ]
        )
        if pose.flip_y:
            p[:, 1] *= -1.0
        seen = np.isfinite(p[:, 0]) & np.isfinite(p[:, 1])
        c = pose.confidence.format(name=name) if pose.confidence else None
        conf[canonical] = table.numbers(c, layout.title) if c and table.has(c) else seen.astype(np.float64)
        xyz[canonical] = p
    if not xyz:
        example = pose.x.format(name=pose.names[canonical_map(pose.names)["hip_left"]])
        raise BadRecording(f"{path.name} has no landmark columns of a {layout.title} file (e.g. {example}).")
    # Frame numbers were turned into times with the manifest's rate itself (which, with a stride,
    # is not the rate of the rows): only a clock in the file can be checked against that rate.
    clock = layout.time_unit not in ("frame", "none")
    return PoseArrays(xyz, conf, pose.coordinates, timestamps_s=seconds).to_read(
        sample_rate_hz if clock else None
    )


# --------------------------------------------------------------------------- entry point
def read_layout(
    layout: str | Layout, path: Path, sample_rate_hz: float | None = None, placement: str | None = None
) -> RecordingRead:
    """Read ``path`` with a layout (SPEC.md: a declared column mapping the manifest names): a shipped
    one by name, or a coach's own (`load_layout_file`).

    ``placement`` is the manifest's placement column (single-sensor IMU layouts only). Raises
    BadRecording with a reason a coach understands.
    """
    layout = load_layout(layout) if isinstance(layout, str) else layout
    if layout.kind == "pose":
        if placement is not None:
            raise BadRecording("The placement column applies to IMU recordings only; leave it empty here.")
        return read_pose_layout(layout, path, sample_rate_hz)
    return read_imu_layout(layout, path, sample_rate_hz, placement)
