"""C3D optical motion capture files, read with ezc3d (SPEC.md ``c3d``).

Per the ezc3d README (https://github.com/pyomeca/ezc3d#python-3) and the C3D User Guide
(https://www.c3d.org/docs/C3D_User_Guide.pdf): ``c['data']['points']`` is (4, n_points, n_frames)
with NaN for missing samples (ezc3d applies ``POINT:SCALE``); ``POINT:LABELS`` (continued in
``LABELS2`` past 255 points, and possibly longer than the point count - only the first n_points
are used), ``POINT:RATE`` (may be non-integer, e.g. 69.5 Hz) and ``POINT:UNITS`` (mm or m).
A negative residual (``meta_points/residuals``) also marks a sample as missing.

ezc3d is a C++ library that can crash the whole process (segfault) or hang on a damaged file, so
the file is parsed in a short-lived child process with a time limit; a crash there quarantines the
recording instead of killing the batch.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import PoseArrays, PoseRead
from hinge_analytics.ingest.markers import landmarks_from_markers, unit_scale

TIMEOUT_S = 120
MAX_BYTES = 1024 * 1024 * 1024
MAX_PARAMETER_BYTES = 255 * 512  # the section's size is one byte of blocks
MAX_PARAMETER_RECORDS = 10_000

_CHILD = r"""
import sys, json
import numpy as np
import ezc3d
c = ezc3d.c3d(sys.argv[1])
point = c["parameters"]["POINT"]
labels = list(point["LABELS"]["value"])
if "LABELS2" in point:
    labels += list(point["LABELS2"]["value"])
points = np.asarray(c["data"]["points"], dtype=np.float64)
residuals = c["data"].get("meta_points", {}).get("residuals")
if residuals is None or np.size(residuals) == 0:
    residuals = np.zeros((1,) + points.shape[1:])
def first(group, name):
    try:
        v = point[name]["value"]
        return v[0] if len(v) else None
    except (KeyError, IndexError, TypeError):
        return None
rate = first(point, "RATE")
units = first(point, "UNITS")
np.savez(sys.argv[2], points=points, residuals=np.asarray(residuals, dtype=np.float64),
         labels=np.array(labels, dtype=object).astype(str),
         meta=np.array(json.dumps({"rate": None if rate is None else float(rate),
                                   "units": None if units is None else str(units),
                                   "first_frame": int(c["header"]["points"]["first_frame"])})))
"""


def _parse_in_child(path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="hinge-c3d-") as tmp:
        out = Path(tmp) / "points.npz"
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path), str(out)],
                capture_output=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BadRecording(
                f"Reading the C3D file took more than {TIMEOUT_S} s; it is probably damaged."
            ) from None
        if done.returncode != 0 or not out.is_file():
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = tail[-1][:160] if tail else f"the reader stopped with code {done.returncode}"
            raise BadRecording(f"The C3D file could not be read ({why}); it is damaged or not a C3D file.")
        with np.load(out, allow_pickle=False) as npz:
            import json

            return {
                "points": npz["points"],
                "residuals": npz["residuals"],
                "labels": [str(s) for s in npz["labels"]],
                **json.loads(str(npz["meta"])),
            }


# Processor type byte of the parameter section -> struct byte order (C3D User Guide, ch. 2).
_PROCESSORS = {84: "<", 85: "<", 86: ">"}  # Intel, DEC (little-endian words), MIPS


def _check_header(path: Path, size: int) -> None:
    """Cheap checks of the 512-byte header against the file size, before any child process.

    Header words (16-bit, processor byte order): 1 = parameter block and 0x50 signature,
    2 = points per frame, 3 = analog samples per frame, 9 = first data block. Most damaged files
    are refused here without the cost (and the risk) of starting ezc3d.
    """
    with path.open("rb") as handle:
        header = handle.read(512)
        if size < 512 or len(header) < 512 or header[1] != 0x50:
            raise BadRecording("The file is not a C3D file (its header lacks the C3D signature).")
        parameters = (header[0] - 1) * 512
        if header[0] < 2 or parameters + 4 > size:
            raise BadRecording("The C3D file is damaged: its parameter section lies outside the file.")
        handle.seek(parameters)
        section = handle.read(min(size - parameters, MAX_PARAMETER_BYTES))
    processor = section[3]
    order = _PROCESSORS.get(processor)
    if order is None:
        raise BadRecording("The C3D file is damaged: its parameter section names no known processor type.")
    counts = _check_parameters(section, order)
    points, analogs = struct.unpack(order + "2H", header[2:6])
    points = min(points, counts.get("USED", points))
    data_block = struct.unpack(order + "H", header[16:18])[0]
    if points + analogs > 0 and counts.get("FRAMES", 1) > 0:
        # ezc3d reads a file cut short up to its last whole frame (real files are), so only a
        # file without the first frame is refused; 2 bytes per value is the smallest encoding.
        needed = (data_block - 1) * 512 + (4 * points + analogs) * 2
        if data_block < 2 or size < needed:
            raise BadRecording(
                "The C3D file is truncated or damaged: it ends before its first frame of data."
            )


def _check_parameters(section: bytes, order: str) -> dict[str, int]:
    """Walk the parameter records: each record's contents must end where its "next" pointer says
    the next record starts (or, for the last, within the file). ezc3d trusts these lengths, and a
    single wrong length byte can make it allocate gigabytes or run for minutes.
    Returns POINT:FRAMES and POINT:USED where they are single numbers."""
    counts: dict[str, int] = {}
    groups: dict[int, bytes] = {}
    damaged = BadRecording("The C3D file is damaged: its parameter section is inconsistent.")
    pos = 4
    for _ in range(MAX_PARAMETER_RECORDS):
        if pos + 2 > len(section):
            raise damaged
        name_length, group = struct.unpack("bb", section[pos : pos + 2])
        if name_length == 0:
            return counts
        pointer_at = pos + 2 + abs(name_length)
        if pointer_at + 2 > len(section):
            raise damaged
        (offset,) = struct.unpack(order + "h", section[pointer_at : pointer_at + 2])
        end = pointer_at + 2
        if group > 0:  # a parameter: type, dimensions, data
            if end + 2 > len(section):
                raise damaged
            kind, n_dims = struct.unpack("bB", section[end : end + 2])
            dims = section[end + 2 : end + 2 + n_dims]
            data = end + 2 + n_dims
            end = data + abs(kind) * math.prod(dims)
            name = section[pos + 2 : pointer_at].upper()
            if groups.get(group) == b"POINT" and name in (b"FRAMES", b"USED") and n_dims == 0:
                if kind == 2 and end <= len(section):
                    counts[name.decode()] = struct.unpack(order + "H", section[data:end])[0]
                elif kind == 4 and end <= len(section):
                    value = struct.unpack(order + "f", section[data:end])[0]
                    if math.isfinite(value) and value >= 0:
                        counts[name.decode()] = int(value)
        else:
            groups[-group] = section[pos + 2 : pointer_at].upper()
        if end >= len(section):
            raise damaged
        end += 1 + section[end]  # description
        if offset < 0 or (offset > 0 and end > pointer_at + offset) or end > len(section):
            raise damaged
        if offset == 0:
            return counts
        pos = pointer_at + offset
    raise damaged


def load_c3d(path: Path, sample_rate_hz: float | None = None) -> PoseArrays:
    """Parse a C3D file into canonical landmarks (metres, y up) without plausibility checks."""
    if not path.is_file():
        raise BadRecording("The C3D recording is not a file.")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise BadRecording("The C3D file is larger than 1 GB; split the recording.")
    _check_header(path, size)
    parsed = _parse_in_child(path)
    points = parsed["points"]
    if points.ndim != 3 or points.shape[0] < 3 or points.shape[1] == 0 or points.shape[2] == 0:
        raise BadRecording("The C3D file holds no marker trajectories.")
    n_points = points.shape[1]
    labels = parsed["labels"][:n_points]
    labels += [f"point{i}" for i in range(len(labels), n_points)]
    rate = parsed["rate"]
    if rate is None or not np.isfinite(rate) or rate <= 0:
        if sample_rate_hz is None:
            raise BadRecording("The C3D file states no POINT:RATE; add sample_rate_hz to the manifest.")
        rate = sample_rate_hz
    scale = unit_scale(parsed["units"] or "mm")
    xyz_points = np.transpose(points[:3], (2, 1, 0)).astype(np.float64) * scale  # (frames, points, 3)
    residuals = parsed["residuals"]
    if residuals.shape[-2:] == points.shape[1:]:
        xyz_points[np.transpose(residuals[0]) < 0] = np.nan
    xyz_points[~np.isfinite(xyz_points)] = np.nan
    xyz, conf = landmarks_from_markers(labels, xyz_points, default_up=2)
    first = parsed.get("first_frame") or 0
    return PoseArrays(
        xyz, conf, "world_m", frame_numbers=first + np.arange(points.shape[2]), file_rate_hz=float(rate)
    )


def read_c3d(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """Read a C3D file (see module docstring) into canonical pose frames.

    The file's ``POINT:RATE`` gives the time axis; a manifest rate that disagrees by more than
    10 % quarantines the recording.
    """
    arrays = load_c3d(path, sample_rate_hz)
    rate = arrays.file_rate_hz
    assert rate is not None
    if sample_rate_hz is not None and abs(rate - sample_rate_hz) > 0.1 * sample_rate_hz:
        raise BadRecording(
            f"The C3D file runs at {rate:g} Hz but the manifest says {sample_rate_hz:g} Hz; "
            "check which one is right."
        )
    return arrays.to_read(rate)
