"""Plausibility of a recording's angles before anything is derived from them.

A file that was read correctly but describes an impossible body is almost always a convention
mismatch, not an athlete: landmarks whose y axis points up where the format says down give a body
standing on its head (hip flexion of 240-340 deg), a phone video whose rotation flag was ignored
gives a body lying on its side. Such a recording is quarantined with the likely cause instead of
producing numbers. Limits are anatomical: hip flexion beyond ~140 deg is not reached even in a deep
squat (ranges of motion of the hip: Roaas & Andersson, Acta Orthop Scand 1982; Soucie et al.,
Haemophilia 2011), so ``MAX_HIP_FLEXION_DEG`` leaves a wide margin for estimator noise.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.schema import LYING_EXERCISES

MAX_HIP_FLEXION_DEG = 160.0
# A knee hyperextends 5-10 deg at most (Loudon et al., J Orthop Sports Phys Ther 1998): a pose leg
# bent backwards further wears another landmark's knee or ankle (`kinematics.pose`).
MAX_KNEE_HYPEREXTENSION_DEG = 25.0
# A shin's longest tenth of frames over its shortest (90th over 10th percentile of its length). In
# 3D it keeps its length; in a picture it foreshortens little, staying within about 30 deg of
# vertical in any lift done on the feet or a bench. Randomised seeds 0, 61, 73, 75 (384 pose sets)
# read at most 1.43, real landmarks at most 1.87 (a video's MediaPipe image landmarks).
MAX_SHIN_LENGTH_RATIO = 3.0
IMPOSSIBLE_SHARE = 0.2  # of the frames: a few wild frames are noise, a fifth is the recording
UPRIGHT_AT_REST_DEG = 60.0  # a standing set's rest posture: trunk within this of vertical


def check_angles(angles: pl.DataFrame, exercise: str | None, coordinates: str) -> None:
    """Raise BadRecording when the angles cannot come from a person doing the exercise.

    ``coordinates`` is the recording's coordinate kind (pose: world_m | image | image_px; IMU: its
    placements), used only to word the likely cause.
    """
    trunk = _finite(angles, "trunk_inclination_deg")
    hips = [_finite(angles, f"hip_flexion_{side}_deg") for side in ("left", "right")]
    hip = np.concatenate(hips)
    pose = coordinates in ("world_m", "image", "image_px")
    if len(trunk) and np.median(np.abs(trunk)) > 180.0 - UPRIGHT_AT_REST_DEG:
        raise BadRecording(_upside_down(pose))
    impossible = share_over(np.abs(hip), MAX_HIP_FLEXION_DEG)
    if impossible > IMPOSSIBLE_SHARE:
        cause = _upside_down(pose) if pose else "check the sensors' placements in the manifest."
        raise BadRecording(
            f"Hip flexion beyond {MAX_HIP_FLEXION_DEG:.0f} deg in {impossible:.0%} of the "
            f"frames is not humanly possible: {cause[0].lower()}{cause[1:]}"
        )
    if exercise in LYING_EXERCISES or not len(trunk):
        return
    rest = np.percentile(np.abs(trunk), 10)  # the most upright tenth: the set's rest posture
    if rest > UPRIGHT_AT_REST_DEG:
        raise BadRecording(
            f"The athlete never stands upright (trunk at least {rest:.0f} deg from vertical): "
            + (
                "the video was probably rotated (a phone's portrait flag ignored) or the person is "
                "lying down; re-export the landmarks from the upright video."
                if pose
                else "the sensors may be on the wrong placements; check the manifest."
            )
        )


def share_over(values: np.ndarray, limit: float) -> float:
    """Share of the finite ``values`` above ``limit`` (0 when none is finite): compared with
    ``IMPOSSIBLE_SHARE``, a few wild frames against the recording."""
    finite = values[np.isfinite(values)]
    return float(np.mean(finite > limit)) if len(finite) else 0.0


def check_shin_lengths(shins: list[np.ndarray]) -> None:
    """Raise BadRecording when the shins (knee -> ankle lengths per frame, one array per side seen)
    change length more than ``MAX_SHIN_LENGTH_RATIO``-fold: no body does, and landmarks whose x
    and y are in different units (pixels against fractions of the picture) or columns mapped to
    the wrong joints do. The steadier shin decides: a free leg swung towards the camera may
    foreshorten further."""
    ratios = []
    for length in shins:
        length = length[np.isfinite(length)]
        if len(length) >= 10 and np.percentile(length, 10) > 0:
            ratios.append(float(np.percentile(length, 90) / np.percentile(length, 10)))
    if ratios and min(ratios) > MAX_SHIN_LENGTH_RATIO:
        raise BadRecording(
            f"The shin's length changes {min(ratios):.0f}-fold during the recording, which no body "
            "does: the landmarks' x and y are probably in different units (for example pixels and "
            "fractions of the picture), or the columns are mapped to the wrong joints; check the "
            "format mapping."
        )


def _upside_down(pose: bool) -> str:
    if pose:
        return (
            "The body appears upside down or tipped over: the file's y axis probably points up "
            "while its format says down (or the other way round; declare the axis direction in the "
            "format mapping), or the video was rotated (a phone's rotation flag ignored)."
        )
    return "The trunk sensors report an upside-down trunk; check their placements in the manifest."


def _finite(angles: pl.DataFrame, column: str) -> np.ndarray:
    if column not in angles.columns:
        return np.empty(0)
    values = angles[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return values[np.isfinite(values)]
