"""TRC marker files (OpenSim, Pose2Sim, optical mocap exports), SPEC.md ``trc``.

Layout per the OpenSim documentation "Marker (.trc) Files"
(https://opensimconfluence.atlassian.net/wiki/spaces/OpenSim/pages/53089972/Marker+.trc+Files) and
OpenSim's reader ``OpenSim/Common/TRCFileAdapter.cpp``: tab-separated; line 1 ``PathFileType``;
line 2 the header keys (``DataRate CameraRate NumFrames NumMarkers Units ...``) and line 3 their
values; line 4 ``Frame# Time <marker>\\t\\t\\t...``; line 5 the ``X1 Y1 Z1 ...`` axis row; then an
optional blank line and one row per frame. Missing markers are empty cells or NaN.

Quirks handled (docs/formats.md): CRLF or LF, int/float/space-padded header values, Time starting
at 0 or at 1/DataRate (time is made relative to the first sample), mm or m (``Units``), dotted
mixed-case marker names, Y-up (OpenSim/Pose2Sim) or Z-up (many labs; found from the data).

Planar files: Sports2D (Pagnon et al., JOSS 2024; ``Sports2D/process.py``,
``make_trc_with_trc_data``) writes a single camera's keypoints as TRC with Z = 0 (or a fixed
normative depth per marker): ``*_m.trc`` in metres with y up, read like any TRC, and ``*_px.trc``
in pixels with y down, although its header says ``Units m``. A planar file whose body spans more
than ``MAX_BODY_EXTENT_M`` is in pixels whatever its header says (no person is that tall): it is
read as a picture (``image_px``, y turned up where the shoulders sit below the feet in the file's
y), as an OpenPose file would be.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import PoseArrays, PoseRead
from hinge_analytics.ingest.markers import landmarks_from_markers, markers_to_landmarks, unit_scale
from hinge_analytics.numeric import nanmax, nanmean_stack, nanmedian, nanmin

MAX_BYTES = 512 * 1024 * 1024
MAX_BODY_EXTENT_M = 5.0  # a planar TRC whose markers span more than this is in pixels


def _cells(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


def _float(text: str) -> float:
    text = text.strip()
    if not text:
        return float("nan")
    return float(text)


def load_trc(path: Path, sample_rate_hz: float | None = None) -> PoseArrays:
    """Parse a TRC file into canonical landmarks (metres, y up) without plausibility checks."""
    if not path.is_file():
        raise BadRecording("The TRC recording is not a file.")
    if path.stat().st_size > MAX_BYTES:
        raise BadRecording("The TRC file is larger than 512 MB; split the recording.")
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    rate, scale, labels, names_at = _header(lines)
    data = _data_rows(lines, names_at + 2, len(labels))
    points = data[:, 2:].reshape(len(data), len(labels), 3) * scale
    time = data[:, 1]
    if _planar_pixels(points):
        xyz, conf = _picture_landmarks(labels, points)
        coordinates = "image_px"
    else:
        xyz, conf = landmarks_from_markers(labels, points, default_up=1)
        coordinates = "world_m"
    if np.all(np.isfinite(time)):
        return PoseArrays(xyz, conf, coordinates, timestamps_s=time, file_rate_hz=rate)
    frames = data[:, 0]
    if not np.all(np.isfinite(frames)):
        raise BadRecording("The TRC file's Time and Frame# columns have gaps; re-export it.")
    return PoseArrays(xyz, conf, coordinates, frame_numbers=frames, file_rate_hz=rate)


def _header(lines: list[str]) -> tuple[float, float, list[str], int]:
    """(DataRate, metres per unit, marker names, index of the Frame# line) of a TRC file's lines."""
    if not lines or not lines[0].lstrip("\ufeff").startswith("PathFileType"):
        raise BadRecording("The file is not a TRC marker file (its first line is not PathFileType).")
    header_at = next((i for i, line in enumerate(lines[:10]) if line.startswith("DataRate")), None)
    if header_at is None or header_at + 1 >= len(lines):
        raise BadRecording("The TRC file has no DataRate/Units header lines.")
    keys = [k.strip() for k in _cells(lines[header_at])]
    values = [v.strip() for v in _cells(lines[header_at + 1])]
    header = dict(zip(keys, values, strict=False))
    try:
        rate = float(header["DataRate"])
    except (KeyError, ValueError):
        raise BadRecording("The TRC header has no usable DataRate.") from None
    if not np.isfinite(rate) or rate <= 0 or rate > 10000:
        raise BadRecording(f"The TRC header's DataRate {header.get('DataRate')!r} is not a frame rate.")
    names_at = next(
        (i for i in range(header_at + 2, min(len(lines), header_at + 6)) if lines[i].startswith("Frame#")),
        None,
    )
    if names_at is None:
        raise BadRecording("The TRC file has no Frame#/Time marker-name line.")
    labels = [c.strip() for c in _cells(lines[names_at])[2:] if c.strip()]
    if not labels:
        raise BadRecording("The TRC file names no markers.")
    return rate, unit_scale(header.get("Units", "")), labels, names_at


def _data_rows(lines: list[str], first: int, n_markers: int) -> np.ndarray:
    """(frames, 2 + 3 n_markers) array of the data lines from ``first`` on: Frame#, Time, then
    X/Y/Z per marker; NaN where a cell is empty or a row stops early."""
    width = 2 + 3 * n_markers
    rows = []
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        cells = _cells(line)
        while len(cells) > width and not cells[-1].strip():
            cells.pop()
        if len(cells) > width:
            raise BadRecording(
                f"Line {number} of the TRC file has {len(cells)} values but the header names "
                f"{n_markers} markers ({width} values); the file is damaged or mis-exported."
            )
        try:
            row = [_float(c) for c in cells]
        except ValueError:
            raise BadRecording(f"Line {number} of the TRC file holds text where numbers belong.") from None
        rows.append(row + [np.nan] * (width - len(row)))
    if not rows:
        raise BadRecording("The TRC file has a header but no frames.")
    data = np.array(rows, dtype=np.float64)
    data[~np.isfinite(data)] = np.nan
    return data


def _planar_pixels(points: np.ndarray) -> bool:
    """Each marker keeps one Z (0, or Sports2D's normative depth of that marker) wherever it was
    seen, and the markers span more than a person can: a picture's pixel coordinates (module
    docstring)."""
    seen = np.isfinite(points).all(axis=2)
    if not seen.any():
        return False
    z = np.where(seen, points[:, :, 2], np.nan)[:, seen.any(axis=0)]
    if np.any(nanmax(z, axis=0) != nanmin(z, axis=0)):
        return False
    extent = np.nanmax(points[seen][:, :2], axis=0) - np.nanmin(points[seen][:, :2], axis=0)
    return bool(extent.max() > MAX_BODY_EXTENT_M)


def _picture_landmarks(
    labels: list[str], points: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Landmarks of a planar pixel TRC with y up: y is turned when the shoulders and head sit at
    smaller y than the ankles, as in an image's rows (y down)."""
    xyz = markers_to_landmarks(labels, points)
    upper = [xyz[k][:, 1] for k in ("shoulder_left", "shoulder_right", "nose") if k in xyz]
    lower = [xyz[k][:, 1] for k in ("ankle_left", "ankle_right") if k in xyz]
    if upper and lower and nanmedian(nanmean_stack(upper) - nanmean_stack(lower)) < 0:
        xyz = {k: v * np.array([1.0, -1.0, 1.0]) for k, v in xyz.items()}
    conf = {k: np.isfinite(v).all(axis=1).astype(np.float64) for k, v in xyz.items()}
    return xyz, conf


def read_trc(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """Read a TRC file (see module docstring) into canonical pose frames."""
    arrays = load_trc(path, sample_rate_hz)
    if arrays.timestamps_s is not None and len(arrays.timestamps_s) > 1:
        steps = np.diff(arrays.timestamps_s)
        if np.all(steps > 0):
            time_rate = 1.0 / float(np.median(steps))
            assert arrays.file_rate_hz is not None
            if abs(time_rate - arrays.file_rate_hz) > 0.1 * arrays.file_rate_hz:
                raise BadRecording(
                    f"The TRC header says {arrays.file_rate_hz:g} Hz but its Time column runs at "
                    f"{time_rate:.1f} Hz; re-export the file."
                )
    return arrays.to_read(sample_rate_hz)
