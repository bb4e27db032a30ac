"""Kinematics: filtered joint and segment angles per frame, from pose landmarks or IMUs."""

from __future__ import annotations

import polars as pl

from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.kinematics.implement import implement_rep_signal
from hinge_analytics.kinematics.imu import gravity_tilt_note, imu_angles, shins_only_note
from hinge_analytics.kinematics.pose import pose_analysis
from hinge_analytics.schema import OFF_BODY_PLACEMENTS


def angles_for(
    read: RecordingRead, exercise: str | None = None, side: str | None = None
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Angles per frame (schema.ANGLES without ids) for a recording of either modality, and what the
    coach should know about them (a 2D picture taken from the front, only shins carrying sensors,
    a swing read by sensors without a gyroscope).

    ``exercise`` and ``side`` (the manifest's) help: a hip thrust starts lying, not standing (IMU),
    and a single-leg RDL's free thigh swings with the trunk, so its hinge is the stance leg's. A
    sensor off the body (bar, kettlebell, wrist) adds the load's height (``load_height_m``).
    """
    if read.modality == "pose":
        return pose_analysis(
            read.frames, read.sample_rate_hz, coordinates=read.sensors, stance_side=side, exercise=exercise
        )
    if read.modality != "imu":
        raise NotImplementedError(f"angles from {read.modality} recordings are not implemented yet")
    angles = imu_angles(read.frames, read.sample_rate_hz, exercise=exercise, stance_side=side)
    load = load_placement(read)
    signal = implement_rep_signal(read.frames, read.sample_rate_hz, load, exercise) if load else None
    if signal is not None:
        angles = angles.with_columns(load_height_m=pl.Series(signal.values, dtype=pl.Float32))
    notes = (
        shins_only_note(read.sensors, exercise, side),
        gravity_tilt_note(read.frames, read.sample_rate_hz, exercise),
    )
    return angles, tuple(note for note in notes if note)


def load_placement(read: RecordingRead) -> str | None:
    """The off-body sensor whose height stands for the load's (the bar's or bell's before a wrist's)."""
    present = set(read.sensors.split(",")) if read.modality == "imu" else set()
    return next((p for p in OFF_BODY_PLACEMENTS[::-1] if p in present), None)
