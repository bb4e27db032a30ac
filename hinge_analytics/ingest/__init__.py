"""Ingest: read each recording format into the canonical frame tables, or say why not.

A built-in reader is one function ``read_<format>(path, sample_rate_hz) -> RecordingRead``
registered in ``READERS``. Device layouts declared as data (``ingest/layouts/<name>.toml``, read by
``ingest.layouts``) are formats too: ``LAYOUTS`` names them and ``read_recording`` reads them with
the manifest's optional ``placement``. ``detect_format`` picks a format when the manifest leaves
``format`` empty. Every failure of a reader, whatever the file holds, surfaces as ``BadRecording``
(a quarantine reason).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from hinge_analytics.ingest.c3d import read_c3d
from hinge_analytics.ingest.coco17 import read_coco17_json
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import RecordingRead, frame_sized
from hinge_analytics.ingest.imu import find_header, is_apdm_text, read_imu_csv
from hinge_analytics.ingest.layouts import (
    LayoutError,
    detect_layout,
    layout_names,
    load_layout,
    load_layout_file,
    read_layout,
    takes_placement,
)
from hinge_analytics.ingest.mediapipe import canonical_columns, read_mediapipe_csv
from hinge_analytics.ingest.openpose import read_openpose_json
from hinge_analytics.ingest.trc import read_trc
from hinge_analytics.ingest.video import VIDEO_SUFFIXES, read_video

Reader = Callable[[Path, float | None], RecordingRead]

READERS: dict[str, Reader] = {
    "mediapipe_csv": read_mediapipe_csv,
    "openpose_json": read_openpose_json,
    "coco17_json": read_coco17_json,
    "trc": read_trc,
    "c3d": read_c3d,
    "imu_csv": read_imu_csv,
    "video": read_video,
}

# Declared device layouts (ingest/layouts/*.toml): each name is a format of its own.
LAYOUTS: tuple[str, ...] = layout_names()

_IMU_HINTS = ("packetcounter", "sampletimefine", "acc_x", "gyr_x")


def format_names() -> tuple[str, ...]:
    """Every valid ``format`` value: the built-in readers' and the declared layouts'."""
    return (*READERS, *LAYOUTS)


def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _video_magic(head: bytes) -> bool:
    """ISO base media (MP4/MOV/M4V: an ``ftyp`` box first), Matroska/WebM (EBML magic) or AVI."""
    avi = head[:4] == b"RIFF" and head[8:12] == b"AVI "
    return head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3" or avi


def _detect_file(path: Path) -> str | None:
    head = _head(path)
    text = head.decode("utf-8", "replace").lower()
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES or _video_magic(head):
        return "video"
    if suffix == ".c3d" or (len(head) >= 512 and head[1] == 0x50 and suffix not in (".csv", ".json", ".txt")):
        return "c3d"
    if suffix == ".trc" or text.lstrip("\ufeff").startswith("pathfiletype"):
        return "trc"
    if suffix == ".json" or text.lstrip().startswith(("{", "[")):
        if '"people"' in text and "pose_keypoints" in text:
            return "openpose_json"
        return "coco17_json" if "keypoints" in text else None
    if is_apdm_text(head.decode("utf-8", "replace")):
        return "imu_csv"  # APDM Opal's wide export (`imu.apdm_sensors`)
    # Before the built-in CSV hints: a layout's header is specific (``left_hip_x_px`` also holds
    # the mediapipe hint ``left_hip_x``), and a headerless file matches no built-in format.
    layout = detect_layout(head.decode("utf-8-sig", "replace"))
    if layout is not None:
        return layout
    first_row = text.lstrip("\ufeff").split("\n", 1)[0]
    if "_visibility" in text or "left_hip_x" in canonical_columns(first_row.strip().split(",")):
        return "mediapipe_csv"
    if any(h in text for h in _IMU_HINTS) or find_header(text.splitlines()[:-1]) is not None:
        return "imu_csv"
    return None


def detect_format(path: Path) -> str:
    """Guess a recording's format from its extension and first bytes (folders: their files)."""
    fmt = None
    if path.is_file():
        fmt = _detect_file(path)
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        kinds = {_detect_file(p) for p in files[:8]}
        layouts = kinds & set(LAYOUTS)
        if len(layouts) == 1 and not kinds & {"openpose_json", "imu_csv"}:
            fmt = layouts.pop()
        elif "openpose_json" in kinds:
            fmt = "openpose_json"
        elif "imu_csv" in kinds:
            fmt = "imu_csv"
    if fmt is None:
        raise BadRecording(
            f"Cannot tell which tool wrote {path.name}; set the format column in the manifest."
        )
    return fmt


def read_recording(
    path: Path,
    fmt: str | None,
    sample_rate_hz: float | None,
    placement: str | None = None,
    layout_file: Path | None = None,
    image_size: tuple[int, int] | None = None,
) -> tuple[str, RecordingRead]:
    """Read one recording; returns (format, canonical read). Raises BadRecording, nothing else.

    ``placement`` is the manifest's placement column: where the one sensor of a single-sensor
    device layout was worn (it overrides the layout's default); other formats refuse it.
    ``layout_file``: a coach's own layout file, which the manifest's format column named (``fmt``
    is then its path as written there). ``image_size``: the manifest's image_width and
    image_height (`frames.frame_sized`).
    """
    try:
        fmt = fmt or detect_format(path)
        if fmt in LAYOUTS or layout_file is not None:
            layout = load_layout_file(layout_file) if layout_file is not None else load_layout(fmt)
            if placement is not None and not takes_placement(layout):
                raise BadRecording(
                    f"The placement column applies to single-sensor IMU recordings; leave it empty for {fmt}."
                )
            return fmt, frame_sized(read_layout(layout, path, sample_rate_hz, placement), image_size)
        reader = READERS.get(fmt)
        if reader is None:
            raise BadRecording(f"Reading {fmt} files is not supported.")
        if placement is not None:
            raise BadRecording(
                f"The placement column applies to single-sensor device layouts ({', '.join(LAYOUTS)}); "
                f"{fmt} recordings name their sensors themselves, so leave it empty."
            )
        return fmt, frame_sized(reader(path, sample_rate_hz), image_size)
    except BadRecording:
        raise
    except LayoutError as exc:
        raise BadRecording(f"The layout file does not describe a recording: {exc}") from exc
    except MemoryError as exc:
        raise BadRecording(f"The {fmt} file is too large to read in memory.") from exc
    except (Exception, pl.exceptions.PanicException) as exc:
        # a damaged file must quarantine, never stop the batch; polars' CSV parser reports some
        # malformed bytes as a Rust panic, which pyo3 raises as a BaseException
        raise BadRecording(
            f"The {fmt or 'recording'} file could not be read ({type(exc).__name__}: {str(exc)[:160]})."
        ) from exc
