"""Every lake table's columns and types, and the product vocabulary (SPEC.md).

This is the only module that names columns. Readers, kinematics, segmentation, metrics, the
classifier and the SQL views import from here, so a schema change is one edit.

Conventions (SPEC.md "Conventions"): SI units, angles in degrees, sagittal flexion positive,
0 deg = upright standing. Canonical pose coordinates are right-handed with **y up**; x and z are
whatever horizontal axes the source used (the kinematics step finds the sagittal plane itself).
"""

from __future__ import annotations

import polars as pl

from hinge_analytics.formats import MEDIAPIPE_33

# --------------------------------------------------------------------------- vocabulary
EXERCISES: tuple[str, ...] = (
    "deadlift",
    "romanian_deadlift",
    "single_leg_rdl",
    "kettlebell_swing",
    "good_morning",
    "hip_thrust",
)
LABELS: tuple[str, ...] = (
    "good",
    "rounded_back",
    "lumbar_flexion",
    "hyperextension",
    "squatting",
    "hips_not_back",
)
SIDES: tuple[str, ...] = ("left", "right")
# Exercises that start and rest lying on a bench, not standing (posture references, plausibility).
LYING_EXERCISES: frozenset[str] = frozenset({"hip_thrust"})
# Exercises whose sets start at the bottom, the bar on the floor or the lifter seated against the
# bench (a conventional deadlift always does): `reps.segmentation`, "First pull"; `kinematics.imu`,
# a still start there.
BOTTOM_START_EXERCISES: frozenset[str] = frozenset({"deadlift", "hip_thrust"})
# Exercises every rep of which starts and ends standing: a set of them is never cut from the
# bottom, where it begins and ends only when the bar comes off and goes back to the floor.
STANDING_REST_EXERCISES: frozenset[str] = frozenset({"romanian_deadlift", "single_leg_rdl", "good_morning"})
# Ballistic lifts: the load is swung, so the body accelerates by about g at the turns (`reps.swing`
# counts a bell sensor's swings; `kinematics.imu` says a gravity-only tilt is approximate there).
SWING_EXERCISES: frozenset[str] = frozenset({"kettlebell_swing"})
UNCERTAIN = "uncertain"
# The cue of a rep the model is not sure about; the report tells that doubt from a shared reason
# (a load sensor alone, a lift not learned) by the words before the parenthesis.
UNCERTAIN_CUE = "Not sure about this rep (best guess: {label}, {p:.0%}): have a look at the video."

# Formats with a reader module of their own (ingest/<tool>.py); the simulator writes each of them.
POSE_FORMATS: tuple[str, ...] = ("mediapipe_csv", "openpose_json", "coco17_json", "trc", "c3d")
IMU_FORMATS: tuple[str, ...] = ("imu_csv",)
FORMATS: tuple[str, ...] = POSE_FORMATS + IMU_FORMATS
# Device layouts declared as data (ingest/layouts/<name>.toml, read by ingest/layouts.py): valid
# manifest `format` values too. The shipped ones, by modality; tests/test_layouts.py checks this
# list against the TOML files, and the manifest accepts every layout file it finds.
LAYOUT_POSE_FORMATS: tuple[str, ...] = ("smartlift_csv",)
LAYOUT_IMU_FORMATS: tuple[str, ...] = (
    "esp32_mpu6050_csv",
    "ktbl_csv",
    "metamotion_csv",
    "phyphox_csv",
    "sensor_logger_csv",
)
LAYOUT_FORMATS: tuple[str, ...] = LAYOUT_POSE_FORMATS + LAYOUT_IMU_FORMATS
# Phone videos: pose estimated at ingest (ingest/video.py, the optional `video` extra).
VIDEO_FORMATS: tuple[str, ...] = ("video",)
MANIFEST_FORMATS: tuple[str, ...] = FORMATS + LAYOUT_FORMATS + VIDEO_FORMATS

# Canonical landmark set: the joints every pose source can give for a sagittal hinge analysis.
LANDMARKS: tuple[str, ...] = (
    "nose",
    "ear_left",
    "ear_right",
    "shoulder_left",
    "shoulder_right",
    "elbow_left",
    "elbow_right",
    "wrist_left",
    "wrist_right",
    "hip_left",
    "hip_right",
    "knee_left",
    "knee_right",
    "ankle_left",
    "ankle_right",
    "heel_left",
    "heel_right",
    "toe_left",
    "toe_right",
)
AXES: tuple[str, ...] = ("x", "y", "z")

# IMU placements (SPEC.md) and the per-sensor channels of the canonical IMU frame table.
# Sensors on body segments: they give segment tilts and joint angles.
BODY_PLACEMENTS: tuple[str, ...] = (
    "upper_back",
    "lower_back",
    "sacrum",
    "thigh_left",
    "thigh_right",
    "shank_left",
    "shank_right",
)
# Sensors off the trunk and legs (SPEC.md "IMU placements"): a wrist band, the barbell, a kettlebell
# or dumbbell. They move with the load, so they give reps, their timing and speed, but no body angles.
OFF_BODY_PLACEMENTS: tuple[str, ...] = ("wrist_left", "wrist_right", "bar", "implement")
IMU_PLACEMENTS: tuple[str, ...] = BODY_PLACEMENTS + OFF_BODY_PLACEMENTS
ACCELEROMETER_CHANNELS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z")  # m/s^2, including gravity
GYROSCOPE_CHANNELS: tuple[str, ...] = ("gyr_x", "gyr_y", "gyr_z")  # rad/s, optional
QUATERNION_CHANNELS: tuple[str, ...] = ("quat_w", "quat_x", "quat_y", "quat_z")  # sensor-to-global, optional
IMU_CHANNELS: tuple[str, ...] = ACCELEROMETER_CHANNELS + GYROSCOPE_CHANNELS + QUATERNION_CHANNELS


def landmark_columns(landmark: str) -> list[str]:
    """The four canonical columns of one landmark: x, y, z and confidence (0..1)."""
    return [f"{landmark}_{axis}" for axis in AXES] + [f"{landmark}_conf"]


def imu_columns(placement: str) -> list[str]:
    return [f"{placement}_{channel}" for channel in IMU_CHANNELS]


# --------------------------------------------------------------------------- frames
_FRAME_KEY = {"recording_id": pl.String, "ingest_id": pl.String, "frame": pl.Int32, "t_s": pl.Float64}

POSE_FRAMES: dict[str, pl.DataType] = {
    **_FRAME_KEY,
    **{c: pl.Float32 for lm in LANDMARKS for c in landmark_columns(lm)},
}
IMU_FRAMES: dict[str, pl.DataType] = {
    **_FRAME_KEY,
    **{c: pl.Float32 for p in IMU_PLACEMENTS for c in imu_columns(p)},
}

# --------------------------------------------------------------------------- angles per frame
ANGLE_COLUMNS: tuple[str, ...] = (
    "hip_flexion_left_deg",
    "hip_flexion_right_deg",
    "knee_flexion_left_deg",
    "knee_flexion_right_deg",
    "ankle_dorsiflexion_left_deg",
    "ankle_dorsiflexion_right_deg",
    "trunk_inclination_deg",
    # Spine-shape: IMUs measure thoracic/lumbar flexion; pose gives a proxy of upper-back
    # rounding (ear-shoulder line against the hip-shoulder line).
    "thoracic_flexion_deg",
    "lumbar_flexion_deg",
    "upper_back_rounding_deg",
    # Horizontal hip travel behind the ankles in leg lengths (pose; IMU: from thigh and shank tilts)
    # - "hips back".
    "hip_travel_leg_lengths",
    # Shoulder centre ahead of the hip->ear line, in trunk lengths (pose) - shoulders rolling forward.
    "shoulder_protraction_trunk_lengths",
    # Sacrum inclination change from standing, forward (anterior) positive (IMU) - pelvis tucking under
    # shows as the pelvis lagging the trunk.
    "pelvis_tilt_deg",
)
# IMU descriptors per frame that do not depend on how a sensor was strapped on and that no sagittal
# angle sees (kinematics/imu.py `segment_descriptors`), null for pose recordings. Per segment of
# DESCRIPTOR_SEGMENTS (the first of its placements present; the trunk's is the spine sensor next to
# the thighs): the frontal-plane tilt change from the reference posture (deg) and the angular
# velocity about the segment's own antero-posterior and longitudinal axes and its norm (deg/s).
# Left and right read alike: frontal tilts, knee valgus and hip adduction positive towards the
# midline, axial rates positive for internal rotation; the trunk positive to the athlete's right.
DESCRIPTOR_SEGMENTS: dict[str, tuple[str, ...]] = {
    "trunk": ("sacrum", "lower_back", "upper_back"),
    "thigh_left": ("thigh_left",),
    "thigh_right": ("thigh_right",),
    "shank_left": ("shank_left",),
    "shank_right": ("shank_right",),
}
SEGMENT_RATE_KINDS: tuple[str, ...] = ("frontal_rate", "axial_rate", "angular_speed")


def segment_rate_column(segment: str, kind: str) -> str:
    """``thigh_axial_rate_left_deg_s`` for segment ``thigh_left`` and kind ``axial_rate``."""
    name, _, side = segment.partition("_")
    return f"{name}_{kind}{'_' + side if side else ''}_deg_s"


IMU_FRONTAL_COLUMNS: tuple[str, ...] = (
    "trunk_lateral_tilt_deg",
    "thigh_frontal_left_deg",  # the knee end of the thigh towards the midline
    "thigh_frontal_right_deg",
    "shank_frontal_left_deg",  # the knee end of the shank towards the midline
    "shank_frontal_right_deg",
    "knee_valgus_left_deg",  # thigh + shank frontal: the knee caving in
    "knee_valgus_right_deg",
    "hip_adduction_left_deg",  # thigh frontal + trunk tilt towards that side
    "hip_adduction_right_deg",
)
IMU_RATE_COLUMNS: tuple[str, ...] = tuple(
    segment_rate_column(seg, kind) for seg in DESCRIPTOR_SEGMENTS for kind in SEGMENT_RATE_KINDS
)
IMU_DESCRIPTOR_COLUMNS: tuple[str, ...] = IMU_FRONTAL_COLUMNS + IMU_RATE_COLUMNS
# Rep signals in metres, columns of ANGLES beside the hinge: a load sensor's height above rest (bar,
# kettlebell or wrist), and the hips' drop a squat or lunge read by trunk sensors alone gives.
LOAD_HEIGHT = "load_height_m"
TRUNK_HEIGHT = "trunk_height_m"
ANGLES: dict[str, pl.DataType] = {
    **_FRAME_KEY,
    **{c: pl.Float32 for c in ANGLE_COLUMNS},
    "hinge_deg": pl.Float32,  # the signal reps are segmented on (mean hip flexion)
    "confidence": pl.Float32,  # 0..1 per frame, min over the landmarks/sensors used
    **{c: pl.Float32 for c in IMU_DESCRIPTOR_COLUMNS},
    LOAD_HEIGHT: pl.Float32,
    TRUNK_HEIGHT: pl.Float32,
}

# --------------------------------------------------------------------------- recordings
RECORDINGS: dict[str, pl.DataType] = {
    "recording_id": pl.String,
    "ingest_id": pl.String,
    "athlete_id": pl.String,
    "session_date": pl.Date,
    "exercise": pl.String,
    "side": pl.String,
    "load_kg": pl.Float64,
    "set_number": pl.Int32,
    "format": pl.String,
    "modality": pl.String,  # pose | imu
    "sensors": pl.String,  # comma-separated IMU placements present, or pose coordinate kind
    "label": pl.String,  # manifest label for every rep, if given
    "path": pl.String,
    "content_hash": pl.String,
    "n_frames": pl.Int64,
    "sample_rate_hz": pl.Float64,
    "duration_s": pl.Float64,
    "n_reps": pl.Int32,
    # What a coach should know about an analysed recording: no reps found, a gap that lost reps.
    "note": pl.String,
    # The file (or folder) read, resolved at ingest: where a report finds a video for its stills.
    "source_file": pl.String,
    # The pose estimator and decoder run at ingest on a video ("mediapipe-pose-full 0.10.21, opencv
    # 4.11.0.86"); null when the file came with its landmarks or is an IMU recording.
    "estimator": pl.String,
    "pipeline_version": pl.String,
    "ingested_at": pl.Datetime("us", "UTC"),
}

# --------------------------------------------------------------------------- reps + metrics
REP_KEY: dict[str, pl.DataType] = {"recording_id": pl.String, "rep": pl.Int32}

# Angles summarised per rep (features/metrics.py). Peak = max over the rep (hip and knee flexion:
# read over the rep's bottom phase, where a maximum would select noise); range = max - min;
# at-bottom = at the deepest hinge point. Quality flags are not form features (classify/ leaves
# them out). Hip travel, a distance, has summaries of its own (bottom and peak).
REP_ANGLES = tuple(c for c in ANGLE_COLUMNS if c != "hip_travel_leg_lengths")


def turn_column(rate_column: str) -> str:
    """The per-rep rotation a rate column integrates to: ``turn_thigh_axial_left_deg`` for
    ``thigh_axial_rate_left_deg_s``."""
    return "turn_" + rate_column.replace("_rate", "").removesuffix("_s")


# Per-rep summaries of the IMU descriptors and relations between sagittal angles
# (features/descriptors.py). Frontal columns relative to the standing posture around the rep (its
# first and last frames): peak = largest change, range = max - min. Rates: turn = the range of their
# integral from the rep's start (the rotation about that axis, deg). Angular speed: peak.
FRONTAL_STATS: tuple[str, ...] = ("peak", "range")
SPEED_STATS: tuple[str, ...] = ("peak",)
TURNING_RATE_COLUMNS: tuple[str, ...] = tuple(c for c in IMU_RATE_COLUMNS if "_angular_speed" not in c)
SPEED_COLUMNS: tuple[str, ...] = tuple(c for c in IMU_RATE_COLUMNS if "_angular_speed" in c)
REP_DESCRIPTOR_COLUMNS: tuple[str, ...] = (
    *(f"{stat}_{c}" for c in IMU_FRONTAL_COLUMNS for stat in FRONTAL_STATS),
    *(turn_column(c) for c in TURNING_RATE_COLUMNS),
    *(f"{stat}_{c}" for c in SPEED_COLUMNS for stat in SPEED_STATS),
    # trunk inclination minus shank tilt at the bottom: a squat's torso parallel to the shins is 0
    "bottom_trunk_minus_shank_deg",
    # peak trunk inclination minus its value at the bottom: the trunk coming up (or, for a pelvis
    # sensor, the pelvis tucking under) while the hips are still at their lowest
    "trunk_drop_at_bottom_deg",
)
STANDING_LOCKOUT_ANGLES: tuple[str, ...] = ("trunk_inclination", "hip_flexion", "lumbar_flexion")
STANDING_LOCKOUT_COLUMNS: tuple[str, ...] = tuple(
    f"min_{a}_from_standing_deg" for a in STANDING_LOCKOUT_ANGLES
)
REP_METRIC_COLUMNS: tuple[str, ...] = (
    "peak_hip_flexion_deg",
    *(f"peak_{a}" for a in REP_ANGLES),
    *(f"range_{a}" for a in REP_ANGLES),
    *(f"bottom_{a}" for a in REP_ANGLES),
    "min_trunk_inclination_deg",  # leaning back at lockout (negative)
    "min_lumbar_flexion_deg",  # lumbar extension (negative)
    "top_trunk_inclination_deg",  # mean over the last 15% of the rep
    # Low (5th-percentile) value over the rep minus quiet standing before the set
    # (features/metrics.py): leaning back past standing at lockout, free of camera roll and sensor
    # mounting (negative = past it)
    *STANDING_LOCKOUT_COLUMNS,
    "bottom_hip_travel_leg_lengths",
    "peak_hip_travel_leg_lengths",
    "knee_to_hip_ratio",  # bottom knee flexion / bottom hip flexion: squat vs hinge
    "si_hip_flexion_pct",
    "si_knee_flexion_pct",
    "duration_s",
    "eccentric_s",
    "bottom_pause_s",
    "concentric_s",
    "peak_hinge_velocity_deg_s",
    "top_pause_s",  # rest at the top before the next rep (null for the last rep)
    "range_hip_flexion_deg",  # mean of both sides
    "bottom_hip_flexion_deg",
    "si_hip_flexion_bottom_pct",
    "si_knee_flexion_bottom_pct",
    "low_confidence_fraction",  # quality flag: frames under 0.5 confidence
    "missing_fraction",  # quality flag: frames without a hinge angle (gaps longer than filled)
    *REP_DESCRIPTOR_COLUMNS,
)
# Data-quality columns of REP_METRIC_COLUMNS: flags for the coach, not form features.
REP_QUALITY_COLUMNS: tuple[str, ...] = ("low_confidence_fraction", "missing_fraction")
REPS: dict[str, pl.DataType] = {
    **REP_KEY,
    "ingest_id": pl.String,
    "t_start_s": pl.Float64,
    "t_bottom_s": pl.Float64,
    "t_end_s": pl.Float64,
    **{c: pl.Float64 for c in REP_METRIC_COLUMNS},
    "pipeline_version": pl.String,
}

# --------------------------------------------------------------------------- rep curves
# Each rep's angles averaged in CURVE_POINTS equal slices of its time (start -> end): the shape of
# the movement, not only its peaks (features/curves.py; classifier input). ``curve_<angle>_<i>``.
CURVE_POINTS = 20
CURVE_ANGLES: tuple[str, ...] = ("trunk", "upper_back", "hip", "knee", "lumbar", "thoracic")
CURVE_COLUMNS: tuple[str, ...] = tuple(
    f"curve_{a}_{i:02d}" for a in CURVE_ANGLES for i in range(CURVE_POINTS)
)
# The same curves relative to the standing posture around the rep, the mean of its first and last
# slices (features/curves.py `curves_from_standing`): computed by the classifier from the stored
# curves, so a sensor's wrong or drifting still reference, or an athlete's habitual posture, does not
# shift them. ``curve_<angle>_<i>_from_standing``.
STANDING_CURVE_COLUMNS: tuple[str, ...] = tuple(f"{c}_from_standing" for c in CURVE_COLUMNS)
REP_CURVES: dict[str, pl.DataType] = {
    **REP_KEY,
    "ingest_id": pl.String,
    **{c: pl.Float32 for c in CURVE_COLUMNS},
}

# --------------------------------------------------------------------------- video landmarks
# The pose estimator's whole output for a video recording (ingest/video.py), one row per decoded
# frame: world landmarks (m, hip-centred, y down) with visibility, and image landmarks (0..1 of the
# upright frame, y down). Kept so that a re-analysis, a report still or a new feature never needs
# the estimator again, even where its cache is gone; ``video_sha256`` says which bytes it came from.
VIDEO_LANDMARK_COLUMNS: tuple[str, ...] = (
    *(f"{name}_{a}" for name in MEDIAPIPE_33 for a in ("x", "y", "z", "visibility")),
    *(f"image_{name}_{a}" for name in MEDIAPIPE_33 for a in ("x", "y", "z")),
)
VIDEO_LANDMARKS: dict[str, pl.DataType] = {
    "recording_id": pl.String,
    "ingest_id": pl.String,
    "frame": pl.Int32,  # decoded frame, from 0
    "timestamp_ms": pl.Float64,  # presentation time from the first frame
    "video_sha256": pl.String,
    "image_width": pl.Int32,  # of the upright frame, pixels
    "image_height": pl.Int32,
    **{c: pl.Float32 for c in VIDEO_LANDMARK_COLUMNS},
}

# --------------------------------------------------------------------------- predictions
PREDICTIONS: dict[str, pl.DataType] = {
    **REP_KEY,
    "ingest_id": pl.String,
    "label": pl.String,  # a label of the model's vocabulary, or "uncertain"
    "predicted_label": pl.String,  # the most probable label even when uncertain
    "confidence": pl.Float64,
    "cue": pl.String,  # coaching cue in plain words
    "model_version": pl.String,
    "predicted_at": pl.Datetime("us", "UTC"),
}

# --------------------------------------------------------------------------- quarantine
QUARANTINE: dict[str, pl.DataType] = {
    "recording_id": pl.String,
    "path": pl.String,
    "reason": pl.String,  # a sentence a coach understands
    "quarantined_at": pl.Datetime("us", "UTC"),
    "content_hash": pl.String,  # of the file + manifest row; null for an invalid manifest row
    "pipeline_version": pl.String,  # a newer pipeline retries quarantined files
    # whose file it was, for the athlete's page (null where the manifest row did not say)
    "athlete_id": pl.String,
    "session_date": pl.Date,
}

# --------------------------------------------------------------------------- inputs
MANIFEST_REQUIRED: tuple[str, ...] = (
    "recording_id",
    "path",
    "athlete_id",
    "session_date",
    "exercise",
)
MANIFEST_OPTIONAL: tuple[str, ...] = (
    "side",
    "load_kg",
    "set_number",
    "format",
    "sample_rate_hz",
    "label",
)
REP_LABELS_FILE: dict[str, pl.DataType] = {
    "recording_id": pl.String,
    "rep": pl.Int32,
    "label": pl.String,
}
TRUTH_REPS: dict[str, pl.DataType] = {
    **REP_KEY,
    "t_start_s": pl.Float64,
    "t_bottom_s": pl.Float64,
    "t_end_s": pl.Float64,
    "label": pl.String,
    "severity": pl.Float64,
    "peak_hip_flexion_deg": pl.Float64,
    "peak_knee_flexion_left_deg": pl.Float64,
    "peak_knee_flexion_right_deg": pl.Float64,
    "peak_trunk_inclination_deg": pl.Float64,
    # Spine shape as the IMUs measure it (segment tilts relative to the one below, minus standing),
    # null where a simulator does not give it; and pose's proxy, upper-back rounding (the shoulder ->
    # ear line against the hip -> shoulder line) on the noise-free landmarks.
    "peak_lumbar_flexion_deg": pl.Float64,
    "peak_thoracic_flexion_deg": pl.Float64,
    "peak_upper_back_rounding_deg": pl.Float64,
}

# Lake table name -> schema. The lake module creates and validates against these.
TABLES: dict[str, dict[str, pl.DataType]] = {
    "recordings": RECORDINGS,
    "pose_frames": POSE_FRAMES,
    "imu_frames": IMU_FRAMES,
    "angles": ANGLES,
    "reps": REPS,
    "rep_curves": REP_CURVES,
    "video_landmarks": VIDEO_LANDMARKS,
    "predictions": PREDICTIONS,
    "quarantine": QUARANTINE,
}

# `hinge export reps` columns (SPEC.md), in order.
EXPORT_REPS_COLUMNS: tuple[str, ...] = (
    "recording_id",
    "athlete_id",
    "session_date",
    "exercise",
    "side",
    "load_kg",
    "set_number",
    "rep",
    "t_start_s",
    "t_end_s",
    "label",
    "confidence",
    "peak_hip_flexion_deg",
    "peak_knee_flexion_left_deg",
    "peak_knee_flexion_right_deg",
    "peak_trunk_inclination_deg",
    "model_version",
    "pipeline_version",
)


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast ``frame`` to ``schema``: missing columns become typed nulls."""
    if frame.width == 0:
        return empty(schema)
    present = set(frame.columns)  # frame.columns builds a new list on every access
    return frame.select(
        [
            (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )
