"""MediaPipe Pose / Pose Landmarker landmarks written to CSV (SPEC.md ``mediapipe_csv``).

Layout: one row per frame, ``timestamp_ms`` (or ``frame``, with the manifest's rate), then
``<landmark>_x, _y, _z, _visibility`` for MediaPipe's 33 landmark names
(https://ai.google.dev/edge/mediapipe/solutions/vision/pose_landmarker). Spellings seen in
landmark CSVs written by hand are read too (`canonical_columns`): ``_v`` for ``_visibility``,
landmarks by index (``x0..v32`` or ``x1..v33``, ``landmark_0_x``), ``time``/``timestamp`` in s
or ms (whichever gives a plausible frame rate), ``frame_idx``. Either *world* landmarks
(metres, origin at the hip centre, y down) or *normalised image* landmarks (x, y in 0..1 of the
image width/height, y down). Optional ``image_width``/``image_height`` columns restore the aspect
ratio of normalised coordinates; without them x and y are kept as fractions of the frame.
"""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.formats import MEDIAPIPE_33, canonical_map
from hinge_analytics.ingest.checks import check_time_unit, time_scale
from hinge_analytics.ingest.errors import BadRecording, first_line
from hinge_analytics.ingest.frames import PoseArrays, PoseRead
from hinge_analytics.ingest.spreadsheet import has_decimal_commas, separator
from hinge_analytics.numeric import nanmedian


def read_mediapipe_csv(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """Read a MediaPipe landmark CSV (see module docstring) into canonical pose frames."""
    return load_mediapipe_csv(path, sample_rate_hz).to_read(sample_rate_hz)


_MAPPING = canonical_map(MEDIAPIPE_33)
_SNIFFED_LINES = 6  # the header and the first data rows, for the separator and the decimal mark
_EXTRA = ("timestamp_ms", "timestamp_s", "timestamp", "frame", "image_width", "image_height")
# Other spellings of a landmark's visibility, and of a landmark by its index (0-32 in MediaPipe's
# order, or 1-33 as many tutorials write it: x1, y1, z1, v1 ... x33): read as `<name>_<axis>`.
_VISIBILITY = {"v": "visibility", "vis": "visibility", "visibility": "visibility"}
_TIME_NAMES = {
    "time_ms": "timestamp_ms",
    "time_s": "timestamp_s",
    "time": "timestamp",  # no unit named: read in the one that gives a plausible frame rate
    "frame_idx": "frame",
    "frame_index": "frame",
    "frame_number": "frame",
}
_INDEXED = re.compile(r"^(?:landmark_?)?(?:(x|y|z|v|vis|visibility)_?(\d+)|(\d+)_(x|y|z|v|vis|visibility))$")


def _wanted(lower: str) -> bool:
    """A column the reader uses: a mapped landmark's x/y/z/visibility, time, frame or image size."""
    if lower in _EXTRA:
        return True
    stem, _, axis = lower.rpartition("_")
    return axis in ("x", "y", "z", "visibility") and stem in _WANTED_STEMS


_WANTED_STEMS = frozenset(MEDIAPIPE_33[i] for i in _MAPPING.values())


def canonical_columns(lower: list[str]) -> list[str]:
    """Lower-cased column names -> the reader's ``<landmark>_<x|y|z|visibility>`` names (others
    unchanged): ``left_hip_v`` -> ``left_hip_visibility``; ``x0``/``x_0``/``0_x``/``landmark_0_x``
    -> ``nose_x``, counted from 1 when the indices run 1-33."""
    indexed = [_INDEXED.match(c) for c in lower]
    numbers = {int(m[2] or m[3]) for m in indexed if m}
    first = 1 if numbers and min(numbers) == 1 and max(numbers) == len(MEDIAPIPE_33) else 0
    out = []
    for name, match in zip(lower, indexed, strict=True):
        if match:
            axis, index = (match[1], match[2]) if match[1] else (match[4], match[3])
            position = int(index) - first
            if 0 <= position < len(MEDIAPIPE_33):
                out.append(f"{MEDIAPIPE_33[position]}_{_VISIBILITY.get(axis, axis)}")
                continue
        stem, _, axis = name.rpartition("_")
        visibility = axis in _VISIBILITY and stem in _WANTED_STEMS
        out.append(f"{stem}_visibility" if visibility else _TIME_NAMES.get(name, name))
    return out


def _header(path: Path) -> tuple[list[str], str, bool]:
    """The first row's names, as polars would read them (BOM dropped, quotes removed), the field
    separator and whether numbers have a decimal comma (`spreadsheet.separator`: a file saved
    from a spreadsheet in a region that writes 1,5 has semicolons). The csv module reads a few
    lines where a polars ``n_rows=0`` read cost ~1 ms per file. Should a name still differ from
    polars', the typed read below fails and the inferring read takes over."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        head = list(itertools.islice(handle, _SNIFFED_LINES))
    sep = separator(head[0] if head else "")
    return next(csv.reader(head[:1], delimiter=sep), []), sep, has_decimal_commas(head[1:], sep)


class _Table:
    """The columns the reader needs, as float64 arrays (NaN = empty cell), by lower-cased name.

    Fast path: only those columns are parsed, declared Float64 (no type inference, no second
    pass). A file the fast path cannot parse is read again with inference so that the error says
    which column holds what (the fast path only ever succeeds on files the slow one accepts).
    """

    def __init__(self, path: Path):
        try:
            header, sep, decimal_comma = _header(path)
        except (csv.Error, OSError) as exc:
            raise BadRecording(f"The file is not a readable MediaPipe CSV ({first_line(exc)}).") from exc
        lower = canonical_columns([c.strip().lower() for c in header])
        wanted = [c for c, low in zip(header, lower, strict=True) if _wanted(low)]
        table = None
        if wanted and len(set(lower)) == len(lower):
            try:
                table = pl.read_csv(
                    path,
                    columns=wanted,
                    schema_overrides=dict.fromkeys(wanted, pl.Float64),
                    encoding="utf8-lossy",
                    separator=sep,
                    decimal_comma=decimal_comma,
                )
            except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, ValueError):
                table = None
        self.typed = table is not None
        if table is None:
            try:
                table = pl.read_csv(
                    path,
                    infer_schema_length=10000,
                    encoding="utf8-lossy",
                    separator=sep,
                    decimal_comma=decimal_comma,
                )
            except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
                raise BadRecording(f"The file is not a readable MediaPipe CSV ({first_line(exc)}).") from exc
        self.table = table
        names = canonical_columns([c.strip().lower() for c in table.columns])
        self.columns = dict(zip(names, table.columns, strict=True))
        self.height = table.height

    def __contains__(self, lower: str) -> bool:
        return lower in self.columns

    def get(self, lower: str) -> str | None:
        return self.columns.get(lower)

    def numeric(self, lowers: list[str]) -> np.ndarray:
        """(n, len(lowers)) float64 copy of the named columns."""
        cols = [self.columns[c] for c in lowers]
        if self.typed:
            return np.column_stack([self.table.get_column(c).to_numpy() for c in cols]).astype(
                np.float64, copy=True
            )
        return _numeric(self.table, cols)


def load_mediapipe_csv(path: Path, sample_rate_hz: float | None = None) -> PoseArrays:
    """Parse a MediaPipe landmark CSV into canonical y-up landmarks, without plausibility checks."""
    table = _Table(path)
    n = table.height
    xyz: dict[str, np.ndarray] = {}
    conf: dict[str, np.ndarray] = {}
    for canonical, index in _MAPPING.items():
        name = MEDIAPIPE_33[index]
        axes = [f"{name}_{a}" for a in ("x", "y", "z")]
        if not all(a in table for a in axes):
            continue
        vis = f"{name}_visibility"
        xyz[canonical] = table.numeric(axes)
        conf[canonical] = table.numeric([vis])[:, 0] if vis in table else np.ones(n)
    if not xyz:
        raise BadRecording(
            "The CSV has no MediaPipe landmark columns (expected e.g. left_hip_x, left_hip_y)."
        )
    if "timestamp_ms" in table:
        raw = table.numeric(["timestamp_ms"])[:, 0]
        check_time_unit(raw, "timestamp_ms", 1e-3, path.name)
        timestamps = raw / 1000.0
    elif "timestamp_s" in table:
        timestamps = table.numeric(["timestamp_s"])[:, 0]
        check_time_unit(timestamps, "timestamp_s", 1.0, path.name)
    elif "timestamp" in table:
        raw = table.numeric(["timestamp"])[:, 0]
        scale = time_scale(raw)
        check_time_unit(raw, "timestamp", scale, path.name)
        timestamps = raw * scale
    else:
        timestamps = None
    world = _looks_like_world(xyz)
    sized = not world and "image_width" in table and "image_height" in table
    if sized:
        aspect = table.numeric(["image_width"])[:, 0] / table.numeric(["image_height"])[:, 0]
        for p in xyz.values():
            p[:, 0] *= aspect
            p[:, 2] *= aspect  # MediaPipe scales z like x
    for p in xyz.values():
        p[:, 1] *= -1.0  # y down -> y up
    # with the frame's size, x and y are in the same unit (frame heights): square, like pixels
    coordinates = "world_m" if world else "image_px" if sized else "image"
    if timestamps is not None:
        return PoseArrays(xyz, conf, coordinates, timestamps_s=timestamps)
    numbers = table.numeric(["frame"])[:, 0] if "frame" in table else np.arange(n, dtype=np.float64)
    return PoseArrays(xyz, conf, coordinates, frame_numbers=numbers)


def pose_arrays_from_landmarks(world: np.ndarray, visibility: np.ndarray, t_s: np.ndarray) -> PoseArrays:
    """MediaPipe's 33 world landmarks (``world`` (n, 33, 3), metres, y down; ``visibility``
    (n, 33)) as canonical y-up landmarks: the in-memory twin of a world-landmark CSV."""
    xyz = {canonical: world[:, index] * np.array([1.0, -1.0, 1.0]) for canonical, index in _MAPPING.items()}
    conf = {canonical: visibility[:, index] for canonical, index in _MAPPING.items()}
    return PoseArrays(xyz, conf, "world_m", timestamps_s=t_s)


def _numeric(table: pl.DataFrame, cols: list[str]) -> np.ndarray:
    try:
        return table.select(pl.col(cols).cast(pl.Float64, strict=True)).to_numpy().copy()
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise BadRecording(f"Column(s) {', '.join(cols)} hold values that are not numbers.") from exc


def _looks_like_world(xyz: dict[str, np.ndarray]) -> bool:
    """World landmarks are hip-centred (hips near 0, head at negative y); image ones lie in 0..1."""
    hips = [xyz[k] for k in ("hip_left", "hip_right") if k in xyz]
    if not hips:
        return False
    centre = nanmedian(np.mean(hips, axis=0))
    return bool(np.all(np.abs(centre[:2]) < 0.15))
