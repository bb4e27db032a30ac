"""Ingest: read each recording format into the canonical frame tables, or say why not.

A reader is one function ``read_<format>(path, sample_rate_hz) -> RecordingRead`` registered in
``READERS``; ``detect_format`` picks one when the manifest leaves ``format`` empty.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.ingest.mediapipe import read_mediapipe_csv

Reader = Callable[[Path, float | None], RecordingRead]

READERS: dict[str, Reader] = {
    "mediapipe_csv": read_mediapipe_csv,
}


def detect_format(path: Path) -> str:
    """Guess a recording's format from its extension and first bytes."""
    if path.is_file() and path.suffix.lower() == ".csv":
        head = path.open("rb").read(4096).decode("utf-8", "replace").lower()
        if "_visibility" in head or "left_hip_x" in head:
            return "mediapipe_csv"
    raise BadRecording(f"Cannot tell which tool wrote {path.name}; set the format column in the manifest.")


def read_recording(path: Path, fmt: str | None, sample_rate_hz: float | None) -> tuple[str, RecordingRead]:
    """Read one recording; returns (format, canonical read). Raises BadRecording."""
    fmt = fmt or detect_format(path)
    reader = READERS.get(fmt)
    if reader is None:
        raise BadRecording(f"Reading {fmt} files is not supported yet.")
    try:
        return fmt, reader(path, sample_rate_hz)
    except BadRecording:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise BadRecording(
            f"The {fmt} file could not be read ({type(exc).__name__}: {str(exc)[:160]})."
        ) from exc
