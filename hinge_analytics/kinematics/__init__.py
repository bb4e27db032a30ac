"""Kinematics: filtered joint and segment angles per frame, from pose landmarks or IMUs."""

from __future__ import annotations

import polars as pl

from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.kinematics.imu import imu_angles
from hinge_analytics.kinematics.pose import pose_angles


def angles_for(read: RecordingRead, exercise: str | None = None, side: str | None = None) -> pl.DataFrame:
    """Angles per frame (schema.ANGLES without ids) for a recording of either modality.

    ``exercise`` and ``side`` (the manifest's) help: a hip thrust starts lying, not standing (IMU),
    and a single-leg RDL's free thigh swings with the trunk, so its hinge is the stance leg's.
    """
    if read.modality == "pose":
        return pose_angles(
            read.frames, read.sample_rate_hz, coordinates=read.sensors, stance_side=side, exercise=exercise
        )
    if read.modality == "imu":
        return imu_angles(read.frames, read.sample_rate_hz, exercise=exercise, stance_side=side)
    raise NotImplementedError(f"angles from {read.modality} recordings are not implemented yet")
