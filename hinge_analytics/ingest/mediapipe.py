"""MediaPipe Pose / Pose Landmarker landmarks written to CSV (SPEC.md ``mediapipe_csv``).

Layout: one row per frame, ``timestamp_ms`` (or ``frame``, with the manifest's rate), then
``<landmark>_x, _y, _z, _visibility`` for MediaPipe's 33 landmark names
(https://ai.google.dev/edge/mediapipe/solutions/vision/pose_landmarker). Either *world* landmarks
(metres, origin at the hip centre, y down) or *normalised image* landmarks (x, y in 0..1 of the
image width/height, y down). Optional ``image_width``/``image_height`` columns restore the aspect
ratio of normalised coordinates; without them x and y are kept as fractions of the frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.formats import MEDIAPIPE_33, canonical_map
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import PoseArrays, PoseRead


def read_mediapipe_csv(path: Path, sample_rate_hz: float | None = None) -> PoseRead:
    """Read a MediaPipe landmark CSV (see module docstring) into canonical pose frames."""
    return load_mediapipe_csv(path, sample_rate_hz).to_read(sample_rate_hz)


def load_mediapipe_csv(path: Path, sample_rate_hz: float | None = None) -> PoseArrays:
    """Parse a MediaPipe landmark CSV into canonical y-up landmarks, without plausibility checks."""
    try:
        table = pl.read_csv(path, infer_schema_length=10000, encoding="utf8-lossy")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise BadRecording(f"The file is not a readable MediaPipe CSV ({_first_line(exc)}).") from exc
    columns = {c.strip().lower(): c for c in table.columns}
    mapping = canonical_map(MEDIAPIPE_33)
    n = table.height
    xyz: dict[str, np.ndarray] = {}
    conf: dict[str, np.ndarray] = {}
    for canonical, index in mapping.items():
        name = MEDIAPIPE_33[index]
        try:
            cols = [columns[f"{name}_{a}"] for a in ("x", "y", "z")]
        except KeyError:
            continue
        xyz[canonical] = _numeric(table, cols)
        vis = columns.get(f"{name}_visibility")
        conf[canonical] = _numeric(table, [vis])[:, 0] if vis else np.ones(n)
    if not xyz:
        raise BadRecording(
            "The CSV has no MediaPipe landmark columns (expected e.g. left_hip_x, left_hip_y)."
        )
    if "timestamp_ms" in columns:
        timestamps = _numeric(table, [columns["timestamp_ms"]])[:, 0] / 1000.0
    elif "timestamp_s" in columns:
        timestamps = _numeric(table, [columns["timestamp_s"]])[:, 0]
    else:
        timestamps = None
    world = _looks_like_world(xyz)
    if not world and "image_width" in columns and "image_height" in columns:
        aspect = (
            _numeric(table, [columns["image_width"]])[:, 0] / _numeric(table, [columns["image_height"]])[:, 0]
        )
        for p in xyz.values():
            p[:, 0] *= aspect
            p[:, 2] *= aspect  # MediaPipe scales z like x
    for p in xyz.values():
        p[:, 1] *= -1.0  # y down -> y up
    coordinates = "world_m" if world else "image"
    if timestamps is not None:
        return PoseArrays(xyz, conf, coordinates, timestamps_s=timestamps)
    frame = columns.get("frame")
    numbers = _numeric(table, [frame])[:, 0] if frame else np.arange(n, dtype=np.float64)
    return PoseArrays(xyz, conf, coordinates, frame_numbers=numbers)


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
    centre = np.nanmedian(np.mean(hips, axis=0), axis=0)
    return bool(np.all(np.abs(centre[:2]) < 0.15))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
