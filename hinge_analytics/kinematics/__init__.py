"""Kinematics: filtered joint and segment angles per frame, from pose landmarks or IMUs."""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.kinematics.implement import implement_rep_signal, trunk_rep_signal
from hinge_analytics.kinematics.imu import SPINE_SEGMENTS, gravity_tilt_note, imu_angles, shins_only_note
from hinge_analytics.kinematics.pose import pose_analysis
from hinge_analytics.schema import BODY_PLACEMENTS, EXERCISES, LOAD_HEIGHT, OFF_BODY_PLACEMENTS, TRUNK_HEIGHT


def angles_for(
    read: RecordingRead, exercise: str | None = None, side: str | None = None
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Angles per frame (schema.ANGLES without ids) for a recording of either modality, and what the
    coach should know about them (a 2D picture taken from the front, only shins carrying sensors,
    a swing read by sensors without a gyroscope).

    ``exercise`` and ``side`` (the manifest's) help: a hip thrust starts lying, not standing (IMU),
    and a single-leg RDL's free thigh swings with the trunk, so its hinge is the stance leg's. A
    sensor off the body (bar, kettlebell, wrist) adds the load's height (``load_height_m``); a lift
    other than the hinge exercises read by trunk sensors alone, the hips' drop (``trunk_height_m``,
    `trunk_height`).
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
        angles = angles.with_columns(pl.Series(LOAD_HEIGHT, signal.values, dtype=pl.Float32))
    trunk, trunk_note = trunk_height(read, exercise)
    if trunk is not None:
        angles = angles.with_columns(pl.Series(TRUNK_HEIGHT, trunk, dtype=pl.Float32))
    notes = (
        shins_only_note(read.sensors, exercise, side),
        gravity_tilt_note(read.frames, read.sample_rate_hz, exercise),
        trunk_note,
    )
    return angles, tuple(note for note in notes if note)


def trunk_height(read: RecordingRead, exercise: str | None) -> tuple[np.ndarray | None, str | None]:
    """(the hips' drop from standing per frame in m, the coach's note) for a lift that is not one
    of the hinge exercises, recorded by sensors on the trunk and none on the legs, whose lowest
    trunk sensor travels ``implement.MIN_RANGE_M`` or more; (None, None) otherwise.

    A squat or lunge lowers the hips by bending the legs: with no thigh sensor, the trunk's tilt
    is all the hinge signal has, and a squat's pelvis tucks under at the bottom, so a lower-back
    sensor leans forward twice per rep (`kinematics.implement`, "The trunk's height"). The real
    squat sets with the lower-back sensor alone counted 6 of 15 on its tilt, 15 of 15 on its
    height. A hinge keeps its tilt, which follows the hinge itself; so does a lift whose hips do
    not travel (a cable pull-through, a row)."""
    present = set(read.sensors.split(","))
    body = present & set(BODY_PLACEMENTS)
    trunk = next((p for p in SPINE_SEGMENTS if p in body), None)  # lowest first: nearest the hips
    if exercise is None or exercise in EXERCISES or trunk is None or body - set(SPINE_SEGMENTS):
        return None, None
    signal = trunk_rep_signal(read.frames, read.sample_rate_hz, trunk, exercise)
    if signal is None or signal.moved() < signal.min_range:
        return None, None
    where = trunk.replace("_", " ")
    return signal.values, (
        f"Reps are counted on how far the hips drop (the {where} sensor's height): with no sensor on "
        "the legs, the trunk's tilt does not follow a squat's or lunge's depth."
    )


def load_placement(read: RecordingRead) -> str | None:
    """The off-body sensor whose height stands for the load's (the bar's or bell's before a wrist's)."""
    present = set(read.sensors.split(",")) if read.modality == "imu" else set()
    return next((p for p in OFF_BODY_PLACEMENTS[::-1] if p in present), None)
