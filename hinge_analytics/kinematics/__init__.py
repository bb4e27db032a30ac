"""Kinematics: filtered joint and segment angles per frame, from pose landmarks or IMUs."""

from __future__ import annotations

import polars as pl

from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.kinematics.pose import pose_angles


def angles_for(read: RecordingRead) -> pl.DataFrame:
    """Angles per frame (schema.ANGLES without ids) for a recording of either modality."""
    if read.modality == "pose":
        return pose_angles(read.frames, read.sample_rate_hz, coordinates=read.sensors)
    raise NotImplementedError(f"angles from {read.modality} recordings are not implemented yet")
