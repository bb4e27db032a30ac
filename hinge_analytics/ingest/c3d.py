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


def load_c3d(path: Path, sample_rate_hz: float | None = None) -> PoseArrays:
    """Parse a C3D file into canonical landmarks (metres, y up) without plausibility checks."""
    if not path.is_file():
        raise BadRecording("The C3D recording is not a file.")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise BadRecording("The C3D file is larger than 1 GB; split the recording.")
    with path.open("rb") as handle:
        head = handle.read(2)
    if size < 512 or len(head) < 2 or head[1] != 0x50:
        raise BadRecording("The file is not a C3D file (its header lacks the C3D signature).")
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
