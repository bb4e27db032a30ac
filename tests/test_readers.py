"""Every reader: simulator round trips, the real files of tests/data/real, detection, name mapping."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hinge_analytics.formats import BODY_25B, COCO_WHOLEBODY, HALPE_26, POSE2SIM_MARKERS
from hinge_analytics.ingest import READERS, detect_format, read_recording
from hinge_analytics.ingest.c3d import load_c3d
from hinge_analytics.ingest.coco17 import load_coco17_json
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import image_units
from hinge_analytics.ingest.imu import parse_sensor_file, read_imu_csv
from hinge_analytics.ingest.markers import landmarks_from_markers, split_label, up_axis
from hinge_analytics.ingest.mediapipe import load_mediapipe_csv, read_mediapipe_csv
from hinge_analytics.ingest.openpose import _order_for, load_openpose_json
from hinge_analytics.ingest.trc import load_trc
from hinge_analytics.numeric import quat_matrix
from hinge_analytics.pipeline import analyse
from hinge_analytics.schema import FORMATS, IMU_CHANNELS, VIDEO_FORMATS, landmark_columns
from hinge_analytics.simulate import imu as sim_imu
from hinge_analytics.simulate import writers
from hinge_analytics.simulate.body import Anthropometry, forward_kinematics, rotate_heading
from hinge_analytics.simulate.camera import random_side_camera
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set

REAL = Path(__file__).parent / "data" / "real"
CORE = ("hip_left", "hip_right", "knee_left", "knee_right", "ankle_left", "ankle_right", "shoulder_left")


@pytest.fixture(scope="module")
def motion():
    rng = np.random.default_rng(5)
    plan = SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * 3)
    time_s, pose, _ = simulate_set(plan, 60.0, rng)
    body = Anthropometry(1.78)
    points = rotate_heading(forward_kinematics(pose, body), pose.heading_deg)
    return time_s, pose, body, points


def _xyz(read, landmark: str) -> np.ndarray:
    return read.frames.select(landmark_columns(landmark)[:3]).to_numpy().astype(np.float64)


def test_every_spec_format_has_a_reader():
    assert set(READERS) == set(FORMATS) | set(VIDEO_FORMATS)
    for reader in READERS.values():
        assert reader.__doc__ or reader.__module__  # each cites its tool's docs in its module


# --------------------------------------------------------------------------- round trips
def test_mediapipe_world_round_trip(motion, tmp_path):
    time_s, _, _, points = motion
    vis = {k: np.full(len(time_s), 0.9) for k in points}
    path = tmp_path / "mp.csv"
    writers.write_mediapipe_csv(path, time_s, points, vis)
    read = read_mediapipe_csv(path, None)
    assert read.sensors == "world_m" and read.sample_rate_hz == pytest.approx(60.0, rel=1e-3)
    centre = (points["hip_left"] + points["hip_right"]) / 2
    for lm in CORE:
        assert np.nanmax(np.abs(_xyz(read, lm) - (points[lm] - centre))) < 2e-5  # 5 decimals + float32


def _mediapipe_lines(motion, path: Path) -> tuple[str, list[str]]:
    """The simulated set written to ``path`` as MediaPipe world landmarks: (header, rows)."""
    time_s, _, _, points = motion
    writers.write_mediapipe_csv(path, time_s, points, {k: np.full(len(time_s), 0.9) for k in points})
    header, *rows = path.read_text().splitlines()
    return header, rows


def test_mediapipe_rows_written_twice_or_swapped_read_as_the_clean_file(motion, tmp_path):
    # A landmark export that wrote every frame twice, or two frames out of order, was refused as
    # "two recordings joined"; the sensor readers already mend both (`checks.logger_order`).
    clean = tmp_path / "clean.csv"
    header, rows = _mediapipe_lines(motion, clean)
    swapped = rows.copy()
    swapped[100], swapped[101] = swapped[101], swapped[100]
    expected = read_mediapipe_csv(clean, None).frames
    for name, body in (("twice", [r for r in rows for _ in (0, 1)]), ("swapped", swapped)):
        path = tmp_path / f"{name}.csv"
        path.write_text("\n".join([header, *body]) + "\n")
        assert read_mediapipe_csv(path, None).frames.equals(expected), name


def test_frames_missing_from_a_landmark_file_are_a_gap_not_a_bridge(motion, tmp_path):
    # Rows cut out of a MediaPipe export (dropped frames): the time jump is kept as empty frames, so
    # the hinge is missing there instead of being drawn straight across to the next frame seen.
    time_s = motion[0]
    path = tmp_path / "mp.csv"
    header, rows = _mediapipe_lines(motion, path)
    hole = (time_s >= 3.0) & (time_s < 4.0)
    path.write_text("\n".join([header, *(r for r, cut in zip(rows, hole, strict=True) if not cut)]) + "\n")
    frames = read_mediapipe_csv(path, None).frames
    assert frames.height == len(time_s)
    t = frames["t_s"].to_numpy()
    empty = frames[landmark_columns("hip_left")[0]].is_null().to_numpy()
    assert np.array_equal(empty, (t > 2.99) & (t < 3.99))


@pytest.mark.parametrize("spelling", ["indexed_from_1", "indexed_from_0", "short_visibility"])
def test_mediapipe_csv_spellings_read_like_the_documented_names(motion, tmp_path, spelling):
    """Landmark CSVs written by hand: ``class,x1,y1,z1,v1,...,v33`` (a common tutorial's layout),
    ``x_0..v_32`` with a ``time`` column in seconds, ``<landmark>_v`` with ``frame_idx``."""
    from hinge_analytics.formats import MEDIAPIPE_33

    time_s, _, _, points = motion
    vis = {k: np.linspace(0.3, 1.0, len(time_s)) for k in points}
    writers.write_mediapipe_csv(tmp_path / "named.csv", time_s, points, vis)
    named = pl.read_csv(tmp_path / "named.csv")
    axes = {"x": "x", "y": "y", "z": "z", "visibility": "v"}
    if spelling == "short_visibility":
        renames = {f"{lm}_visibility": f"{lm}_v" for lm in MEDIAPIPE_33}
        other = named.rename(renames).with_columns(frame_idx=pl.int_range(pl.len())).drop("timestamp_ms")
        rate = 60.0
    else:
        first = 1 if spelling == "indexed_from_1" else 0
        sep = "" if first else "_"
        renames = {
            f"{lm}_{a}": f"{short}{sep}{i + first}"
            for i, lm in enumerate(MEDIAPIPE_33)
            for a, short in axes.items()
        }
        other = named.rename(renames).with_columns(time=pl.col("timestamp_ms") / 1000, label=pl.lit("up"))
        other = other.select(pl.col("label").alias("class"), "time", *renames.values())
        rate = None
    other.write_csv(tmp_path / "other.csv")
    assert detect_format(tmp_path / "other.csv") == "mediapipe_csv"
    want = read_mediapipe_csv(tmp_path / "named.csv", None)
    got = read_mediapipe_csv(tmp_path / "other.csv", rate)
    assert got.sample_rate_hz == pytest.approx(want.sample_rate_hz, rel=1e-3)
    for lm in CORE:
        np.testing.assert_allclose(_xyz(got, lm), _xyz(want, lm), atol=1e-6)
        column = landmark_columns(lm)[3]
        np.testing.assert_allclose(got.frames[column], want.frames[column], atol=1e-6)


@pytest.mark.parametrize(("separator", "decimal"), [(";", ","), (";", "."), ("\t", ","), ("\t", ".")])
def test_landmark_and_sensor_csvs_saved_in_a_region_with_decimal_commas_read_alike(
    motion, tmp_path, separator, decimal
):
    """A spreadsheet, or an app such as phyphox, saves for the user's region: fields separated by
    semicolons or tabs, numbers written 1,5 or 1.5."""
    time_s, pose, body, points = motion

    def resaved(path: Path) -> Path:
        header, *rows = path.read_text().splitlines()
        body = [separator.join(c.replace(".", decimal) for c in row.split(",")) for row in rows]
        lines = [header.replace(",", separator), *body]
        out = path.with_name(f"re-{path.name}")
        out.write_text("\n".join(lines) + "\n")
        return out

    landmarks = tmp_path / "mp.csv"
    _mediapipe_lines(motion, landmarks)
    want = read_mediapipe_csv(landmarks, None).frames
    assert read_mediapipe_csv(resaved(landmarks), None).frames.equals(want)
    folder = tmp_path / "imu"
    signals = sim_imu.imu_signals(time_s, pose, body, ("sacrum",), rng=np.random.default_rng(6), noise=False)
    sim_imu.write_imu_generic(folder, time_s, signals, quaternions=False)
    want = read_recording(folder, None, None)[1].frames
    resaved(folder / "sacrum.csv").replace(folder / "sacrum.csv")  # the folder holds one file again
    assert read_recording(folder, None, None)[1].frames.equals(want)


def test_mediapipe_image_round_trip(motion, tmp_path):
    time_s, _, _, points = motion
    rng = np.random.default_rng(1)
    camera = random_side_camera(rng)
    uv, depth, conf = writers.noisy_image_points(points, camera, rng)
    path = tmp_path / "mp_image.csv"
    writers.write_mediapipe_image_csv(path, time_s, uv, depth, conf, camera)
    read = read_mediapipe_csv(path, None)
    assert read.sensors == "image_px"  # square: the frame's size restores the aspect
    unsized = tmp_path / "unsized.csv"
    writers.write_mediapipe_image_csv(unsized, time_s, uv, depth, conf, camera, image_size=False)
    assert read_mediapipe_csv(unsized, None).sensors == "image"
    # The frame's size from the manifest (image_width, image_height) reads as the columns do.
    given = read_recording(unsized, "mediapipe_csv", None, image_size=(camera.width, camera.height))[1]
    assert given.sensors == "image_px" and given.frames.equals(read.frames)
    for lm in CORE:  # x, y in units of the image height (aspect restored), y up
        got = _xyz(read, lm)[:, :2]
        want = np.column_stack([uv[lm][:, 0], -uv[lm][:, 1]]) / camera.height
        assert np.nanmax(np.abs(got - want)) < 1e-5 * camera.width / camera.height + 1e-6


@pytest.mark.parametrize("model", ["BODY_25", "COCO_18", "HALPE_26", "COCO_WHOLEBODY"])
def test_openpose_round_trip(motion, tmp_path, model):
    """OpenPose's models, and RTMPose's as Pose2Sim and Sports2D write them in OpenPose's layout."""
    time_s, _, _, points = motion
    rng = np.random.default_rng({"BODY_25": 2, "COCO_18": 3}.get(model, 6))
    camera = random_side_camera(rng)
    uv, _, conf = writers.noisy_image_points(points, camera, rng)
    writers.write_openpose_json(tmp_path / "op", "set", uv, conf, camera, model, rng)
    read = read_recording(tmp_path / "op", None, 60.0)[1]
    assert read.sensors == "image_px" and read.frames.height == len(time_s)  # pixels are square
    for lm in CORE:
        got = _xyz(read, lm)[:, :2]
        want = np.column_stack([uv[lm][:, 0], -uv[lm][:, 1]])
        seen = np.isfinite(got[:, 0])
        assert seen.mean() > 0.8  # ghosts are not picked; only keypoints OpenPose zeroed are missing
        assert np.max(np.abs(got[seen] - want[seen])) < 1e-5 * np.abs(want).max() + 1e-3  # '%.6g' pixels
    assert ("heel_left_x" in read.frames.columns) == (model != "COCO_18")  # every other model has feet


def test_two_videos_openpose_output_in_one_folder_is_refused_naming_them(motion, tmp_path):
    time_s, _, _, points = motion
    rng = np.random.default_rng(2)
    camera = random_side_camera(rng)
    uv, _, conf = writers.noisy_image_points(points, camera, rng)
    for video in ("set1", "set2"):  # both numbered from frame 0
        writers.write_openpose_json(tmp_path / "op", video, uv, conf, camera, "BODY_25", rng)
    with pytest.raises(BadRecording, match=r"frames of 2 videos \('set1', 'set2'\)"):
        read_recording(tmp_path / "op", None, 60.0)


def test_coco17_round_trip(motion, tmp_path):
    time_s, _, _, points = motion
    rng = np.random.default_rng(4)
    camera = random_side_camera(rng)
    uv, _, conf = writers.noisy_image_points(points, camera, rng)
    writers.write_coco17_json(tmp_path / "c.json", uv, conf, camera)
    read = read_recording(tmp_path / "c.json", None, 60.0)[1]
    assert read.frames.height == len(time_s)
    assert read.frames["t_s"][1] == pytest.approx(1 / 60)
    for lm in CORE:
        got = _xyz(read, lm)[:, :2]
        want = np.column_stack([uv[lm][:, 0], -uv[lm][:, 1]])
        assert np.max(np.abs(got - want)) < 0.006  # 2 decimals (pixels)
    assert "heel_left_x" not in read.frames.columns  # COCO-17 has no feet
    assert read.sensors == "image_px"
    # the same keypoints divided by the frame's size (an exporter's option): aspect unknown
    frame_size = np.array([camera.width, camera.height])
    normalised = {k: v / frame_size for k, v in uv.items()}
    writers.write_coco17_json(tmp_path / "n.json", normalised, conf, camera)
    assert read_recording(tmp_path / "n.json", None, 60.0)[1].sensors == "image"


@pytest.mark.parametrize("keypoints", [HALPE_26, COCO_WHOLEBODY])
def test_mmpose_orders_that_extend_coco17_are_read_with_their_feet(motion, tmp_path, keypoints):
    """RTMPose's body-with-feet (Halpe-26) and whole-body (133) predictions: the same body as
    COCO-17's, plus the heel and the big toe."""
    time_s, _, _, points = motion
    rng = np.random.default_rng(7)
    camera = random_side_camera(rng)
    uv, _, conf = writers.noisy_image_points(points, camera, rng)
    writers.write_coco17_json(tmp_path / "c.json", uv, conf, camera, keypoints=keypoints)
    read = read_recording(tmp_path / "c.json", None, 60.0)[1]
    assert read.frames.height == len(time_s)
    for lm in (*CORE, "heel_left", "toe_right"):
        got = _xyz(read, lm)[:, :2]
        want = np.column_stack([uv[lm][:, 0], -uv[lm][:, 1]])
        assert np.max(np.abs(got - want)) < 0.006
    flat = [{"frame_id": 0, "keypoints": [1.0, 2.0, 0.9] * 20}]
    (tmp_path / "odd.json").write_text(json.dumps(flat))
    with pytest.raises(BadRecording, match="60 keypoint values"):
        load_coco17_json(tmp_path / "odd.json")


def _sports2d_trc(path: Path, time_s: np.ndarray, xy: dict[str, np.ndarray]) -> None:
    """A TRC as Sports2D writes one camera's keypoints (``Sports2D/process.py``,
    ``make_trc_with_trc_data``): header ``Units`` always ``m``, Frame# from 0, Z = 0."""
    names = POSE2SIM_MARKERS
    source = {m: writers._OPENPOSE_SOURCE[m] for m in names}
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"60\t60\t{len(time_s)}\t{len(names)}\tm\t60\t0\t{len(time_s)}",
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t\t",
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(len(names))),
    ]
    for f, t in enumerate(time_s):
        cells = [f"{v:.6f}" for m in names for v in (*xy[source[m]][f], 0.0)]
        lines.append("\t".join([str(f), f"{t:.6f}", *cells]))
    path.write_text("\n".join(lines) + "\n")


def test_sports2d_trc_in_pixels_or_metres_reads_as_the_same_body(motion, tmp_path):
    """Sports2D's ``_px.trc`` holds pixels with y down under a ``Units m`` header: read as a
    picture, it gives the angles its ``_m.trc`` (metres, y up) gives."""
    time_s, _, _, points = motion
    rng = np.random.default_rng(8)
    camera = random_side_camera(rng)
    uv, _, _ = writers.noisy_image_points(points, camera, rng)
    scale = 1.78 / camera.height
    metres = {k: np.column_stack([scale * v[:, 0], -scale * v[:, 1]]) for k, v in uv.items()}
    _sports2d_trc(tmp_path / "set_px.trc", time_s, uv)
    _sports2d_trc(tmp_path / "set_m.trc", time_s, metres)
    px, m = (read_recording(tmp_path / name, None, None)[1] for name in ("set_px.trc", "set_m.trc"))
    assert (px.sensors, m.sensors) == ("image_px", "world_m")
    for read in (px, m):
        hip, shoulder = (_xyz(read, k)[:, 1] for k in ("hip_left", "shoulder_left"))
        assert np.nanmedian(shoulder - hip) > 0  # y up
    angles = [analyse(read, "romanian_deadlift").reps["peak_hip_flexion_deg"].to_numpy() for read in (px, m)]
    assert len(angles[0]) == 3 and np.allclose(angles[0], angles[1], atol=0.01)


@pytest.mark.parametrize("units", ["m", "mm"])
def test_trc_round_trip(motion, tmp_path, units):
    time_s, _, _, points = motion
    lab = writers.lab_frame(points, 120.0, np.array([0.4, -0.3]))
    path = tmp_path / "m.trc"
    writers.write_trc(path, time_s, lab, units=units)
    read = read_recording(path, None, None)[1]
    assert read.sensors == "world_m" and read.sample_rate_hz == pytest.approx(60.0, rel=1e-3)
    assert read.frames["t_s"][0] == 0.0
    for lm in CORE:
        assert np.max(np.abs(_xyz(read, lm) - lab[lm])) < 1e-5


def test_c3d_round_trip(motion, tmp_path):
    time_s, _, _, points = motion
    lab = writers.lab_frame(points, 30.0, np.array([0.0, 0.5]))
    lab["knee_left"][100:105] = np.nan  # an optical gap
    path = tmp_path / "m.c3d"
    writers.write_c3d(path, time_s, lab)
    read = read_recording(path, None, None)[1]
    assert read.sample_rate_hz == pytest.approx(60.0, rel=1e-3)
    for lm in CORE:
        got, want = _xyz(read, lm), lab[lm]
        ok = np.isfinite(want[:, 0])
        assert np.max(np.abs(got[ok] - want[ok])) < 1e-5
        assert np.isnan(got[~ok]).all()
    conf = read.frames[landmark_columns("knee_left")[3]].to_numpy()
    assert (conf[100:105] == 0).all() and conf[99] == 1


@pytest.mark.parametrize("layout", ["generic", "dot"])
def test_imu_round_trip(motion, tmp_path, layout):
    time_s, pose, body, _ = motion
    rng = np.random.default_rng(6)
    placements = ("upper_back", "sacrum", "thigh_left", "shank_left")
    signals = sim_imu.imu_signals(time_s, pose, body, placements, rng=rng, noise=False)
    folder = tmp_path / "imu"
    if layout == "dot":
        sim_imu.write_imu_dot(folder, time_s, signals, np.random.default_rng(0))  # seed 0: near wrap
    else:
        sim_imu.write_imu_generic(folder, time_s, signals)
    read = read_recording(folder, None, None)[1]
    assert read.modality == "imu" and read.sensors == ",".join(placements)
    assert read.frames.height == len(time_s) and read.sample_rate_hz == pytest.approx(60.0, rel=1e-3)
    for placement in placements:
        s = signals[placement]
        for k, axis in enumerate("xyz"):
            acc = read.frames[f"{placement}_acc_{axis}"].to_numpy()
            gyr = read.frames[f"{placement}_gyr_{axis}"].to_numpy()
            assert np.max(np.abs(acc - s.acc[:, k])) < 1e-4
            assert np.max(np.abs(gyr - s.gyr[:, k])) < 1e-4  # DOT: deg/s back to rad/s
        q = read.frames.select([f"{placement}_quat_{c}" for c in "wxyz"]).to_numpy()
        dot = np.abs(np.sum(q * s.quat, axis=1))  # q and -q are the same rotation
        assert np.min(dot) > 1 - 1e-5


@pytest.mark.parametrize("clock", ["%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%fZ", "%H:%M:%S.%f"])
def test_a_sensor_file_timed_by_a_clock_reads_as_one_timed_in_seconds(motion, tmp_path, clock):
    """Loggers with a real-time clock write each sample's date and time, not seconds."""
    import datetime as dt

    time_s, pose, body, _ = motion
    signals = sim_imu.imu_signals(time_s, pose, body, ("sacrum",), rng=np.random.default_rng(6), noise=False)
    sim_imu.write_imu_generic(tmp_path / "seconds", time_s, signals, quaternions=False)
    want = read_recording(tmp_path / "seconds", None, None)[1].frames
    table = pl.read_csv(tmp_path / "seconds" / "sacrum.csv")
    start = dt.datetime(2026, 3, 14, 9, 30, 0)
    stamps = [(start + dt.timedelta(seconds=t)).strftime(clock) for t in table["time_s"]]
    (tmp_path / "clock").mkdir()
    clocked = table.drop("time_s").insert_column(0, pl.Series("timestamp", stamps))
    clocked.write_csv(tmp_path / "clock" / "sacrum.csv")
    got = read_recording(tmp_path / "clock", None, None)[1].frames
    np.testing.assert_allclose(got["t_s"], want["t_s"], atol=1e-5)
    assert got.drop("t_s").equals(want.drop("t_s"))


def _euler_zyx_deg(q: np.ndarray) -> np.ndarray:
    """w-first quaternions -> Xsens Euler angles (roll, pitch, yaw; R = Rz Ry Rx), deg."""
    w, x, y, z = q.T
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1, 1))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.degrees(np.column_stack([roll, pitch, yaw]))


@pytest.mark.parametrize("mode", ["Extended(Euler)", "Orientation(Euler)"])
def test_dot_sensor_fusion_export_without_accelerometer(motion, tmp_path, mode):
    """Movella DOT's "Extended (Euler)" mode writes orientation and free acceleration only (the
    reader rebuilds the accelerometer from them), its "Orientation (Euler)" mode the orientation
    alone: each set is analysed like the full export."""
    time_s, pose, body, _ = motion
    placements = ("upper_back", "sacrum", "thigh_left", "shank_left")
    signals = sim_imu.imu_signals(time_s, pose, body, placements, rng=np.random.default_rng(6), noise=False)
    full, fusion = tmp_path / "full", tmp_path / "fusion"
    sim_imu.write_imu_dot(full, time_s, signals, np.random.default_rng(1))
    fusion.mkdir()
    ticks = np.round(1e6 * (1.0 + time_s)).astype(np.int64)
    free_acc = mode.startswith("Extended")
    for placement, s in signals.items():
        rotation = quat_matrix(s.quat)  # sensor -> earth (ENU)
        free = np.einsum("nij,nj->ni", rotation, s.acc) - [0.0, 0.0, 9.81]
        euler = _euler_zyx_deg(s.quat)
        columns = "PacketCounter,SampleTimeFine,Euler_X,Euler_Y,Euler_Z"
        columns += ",FreeAcc_X,FreeAcc_Y,FreeAcc_Z" * free_acc
        lines = ["sep=,", "DeviceTag:,1", f"Measurement Mode:,Sensor fusion Mode - {mode}", "", columns]
        lines += [
            f"{i},{t},{e[0]:.6f},{e[1]:.6f},{e[2]:.6f}" + (f",{f[0]:.6f},{f[1]:.6f},{f[2]:.6f}" * free_acc)
            for i, (t, e, f) in enumerate(zip(ticks, euler, free, strict=True))
        ]
        (fusion / f"{placement}.csv").write_text("\n".join(lines) + "\n")
        sensor = parse_sensor_file(fusion / f"{placement}.csv")
        assert "gyr_x" not in sensor.channels
        if free_acc:
            acc = np.column_stack([sensor.channels[f"acc_{a}"] for a in "xyz"])
            assert np.max(np.abs(acc - s.acc)) < 0.02  # m/s^2: 9.81 written, 9.80665 taken off
            assert any("free acceleration" in n for n in sensor.notes)
        else:
            assert "acc_x" not in sensor.channels
    with_all = analyse(read_recording(full, None, None)[1], "romanian_deadlift")
    from_fusion = analyse(read_recording(fusion, None, None)[1], "romanian_deadlift")
    assert from_fusion.reps.height == with_all.reps.height == 3
    for angle in ("peak_hip_flexion_deg", "peak_trunk_inclination_deg", "peak_knee_flexion_left_deg"):
        difference = (from_fusion.reps[angle] - with_all.reps[angle]).abs().max()
        assert difference < 0.1, angle  # both take the tilt from the orientation output


@pytest.mark.parametrize(
    ("stem", "tag", "placement"),
    [
        ("Left Thigh", None, "thigh_left"),
        ("P03_R-shin", None, "shank_right"),
        ("lumbar", None, "lower_back"),
        ("Right Ankle", None, "shank_right"),  # APDM's locations: strapped above the ankle
        ("Sternum", None, "upper_back"),  # the thorax tilts as one
        ("Left Wrist", None, "wrist_left"),
        ("D422CD000001_20260907_101502", "thigh_right", "thigh_right"),  # named in the DOT app
        ("D422CD000001_20260907_101502", "Upper back", "upper_back"),
    ],
)
def test_sensor_placement_from_everyday_names_or_the_app_tag(tmp_path, stem, tag, placement):
    header = "PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z"
    lines = ["sep=,", f"DeviceTag:,{tag or 'D4:22:CD:00:00:01'}", header]
    lines += [f"{i},{1_000_000 + i * 16_667},0.1,0.2,9.81" for i in range(200)]
    (tmp_path / f"{stem}.csv").write_text("\n".join(lines) + "\n")
    assert parse_sensor_file(tmp_path / f"{stem}.csv").placement == placement


def test_two_files_of_one_placement_are_refused_naming_both(motion, tmp_path):
    time_s, pose, body, _ = motion
    signals = sim_imu.imu_signals(time_s, pose, body, ("thigh_left",), noise=False)
    sim_imu.write_imu_generic(tmp_path / "imu", time_s, signals, quaternions=False)
    (tmp_path / "imu" / "Left Thigh.csv").write_text((tmp_path / "imu" / "thigh_left.csv").read_text())
    with pytest.raises(BadRecording, match=r"\(Left Thigh.csv, thigh_left.csv\) are both the thigh_left"):
        read_recording(tmp_path / "imu", None, None)


def test_a_sensor_named_for_no_placement_is_refused_with_the_names_to_use(tmp_path):
    lines = ["sep=,", "DeviceTag:,D4:22:CD:00:00:01", "PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z"]
    lines += [f"{i},{1_000_000 + i * 16_667},0.1,0.2,9.81" for i in range(200)]
    (tmp_path / "sensor3.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(BadRecording, match="not named after a placement.*thigh_left"):
        parse_sensor_file(tmp_path / "sensor3.csv")


def test_dot_sample_time_fine_wraps_around(tmp_path):
    n = 400
    t_us = (2**32 - 2_000_000 + np.arange(n) * 16_667) % 2**32  # wraps after 2 s at 60 Hz
    lines = ["sep=,", "DeviceTag:,D4:22:CD:00:00:01,,,", "OutputRate:,60Hz,,,", ",,,,"]
    lines.append("PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z")
    lines += [f"{(65530 + i) % 65536},{t},0.1,0.2,9.81,57.29578,0,0" for i, t in enumerate(t_us)]
    (tmp_path / "sacrum.csv").write_text("\n".join(lines) + "\n")
    sensor = parse_sensor_file(tmp_path / "sacrum.csv")
    assert sensor.layout == "movella_dot"
    assert np.allclose(np.diff(sensor.t_s), 0.016667, atol=1e-6)
    assert sensor.channels["gyr_x"][0] == pytest.approx(1.0, abs=1e-6)  # 57.3 deg/s = 1 rad/s
    read = read_imu_csv(tmp_path, 60.0)
    assert read.frames.height == n


def test_a_sensor_file_with_a_repeated_and_a_late_row_reads_as_the_clean_file(motion, tmp_path):
    time_s, pose, body, _ = motion
    signals = sim_imu.imu_signals(time_s, pose, body, ("sacrum",), rng=np.random.default_rng(2), noise=False)
    sim_imu.write_imu_generic(tmp_path / "clean", time_s, signals)
    lines = (tmp_path / "clean" / "sacrum.csv").read_text().splitlines()
    lines.insert(101, lines[100])  # a packet written twice
    lines[201], lines[202] = lines[202], lines[201]  # and one written late
    (tmp_path / "messy").mkdir()
    (tmp_path / "messy" / "sacrum.csv").write_text("\n".join(lines) + "\n")
    clean = read_recording(tmp_path / "clean", None, None)[1].frames
    messy = read_recording(tmp_path / "messy", None, None)[1].frames
    assert messy.equals(clean)


# --------------------------------------------------------------------------- real files
def test_real_mediapipe_world_and_image():
    world = load_mediapipe_csv(REAL / "mediapipe_csv" / "pose2sim_demo_cam01_world.csv", None)
    image = load_mediapipe_csv(REAL / "mediapipe_csv" / "pose2sim_demo_cam01_image.csv", None)
    assert world.coordinates == "world_m" and image.coordinates == "image"
    assert world.n_frames == image.n_frames == 100
    assert 1 / np.median(np.diff(world.timestamps_s)) == pytest.approx(60.0, rel=1e-3)
    for arrays in (world, image):  # y up: shoulders above hips above ankles
        y = {lm: np.nanmean(arrays.xyz[lm][:, 1]) for lm in ("shoulder_left", "hip_left", "ankle_left")}
        assert y["shoulder_left"] > y["hip_left"] > y["ankle_left"]
    with pytest.raises(BadRecording, match="too short"):  # 1.65 s cannot hold a rep
        read_mediapipe_csv(REAL / "mediapipe_csv" / "pose2sim_demo_cam01_world.csv", None)


def test_real_openpose_body25b_pose2sim_folder():
    arrays = load_openpose_json(REAL / "openpose_json" / "body25b_pose2sim_cam01", 60.0)
    assert arrays.n_frames == 12 and list(arrays.frame_numbers) == list(range(12))
    y = {
        lm: np.nanmean(arrays.xyz[lm][:, 1])
        for lm in ("nose", "shoulder_left", "hip_left", "knee_left", "ankle_left")
    }
    assert y["nose"] > y["shoulder_left"] > y["hip_left"] > y["knee_left"] > y["ankle_left"]
    # The athlete (mean confidence ~0.64), not the ghost at the left image edge (x near 0).
    assert np.nanmean(arrays.xyz["hip_left"][:, 0]) > 250
    assert np.nanmean(arrays.conf["hip_left"]) > 0.5
    # Frame 0: nose x is exactly 0 with confidence 0.68 in the file - x = 0 is not "missing"
    # for BODY_25B's athlete only if it is the athlete's nose; either way it is not NaN-ed by value.
    assert arrays.conf["nose"][0] > 0


def test_real_openpose_order_is_found_by_anatomy():
    import json

    people = []
    for f in sorted((REAL / "openpose_json" / "body25b_pose2sim_cam01").glob("*.json")):
        for p in json.loads(f.read_text())["people"]:
            people.append(np.asarray(p["pose_keypoints_2d"]).reshape(-1, 3))
    assert _order_for(75, people)[1] is BODY_25B
    spin = json.loads((REAL / "openpose_json" / "body25_spin_im1010" / "im1010_openpose.json").read_text())
    body25 = [np.asarray(p["pose_keypoints_2d"]).reshape(-1, 3) for p in spin["people"]]
    assert _order_for(75, body25)[0] == "BODY_25"


def test_up_axis_of_a_single_leg_rdl_held_at_the_bottom():
    """A body in a horizontal T (trunk forward, free leg back at hip height) for most of the file:
    measured from the feet's mean, the hands hang below "the feet" and forward looks like up."""
    bottom = {  # metres, y up, x forward; right stance leg, left leg lifted back
        "ankle_right": (0.0, 0.08, 0.1), "heel_right": (-0.05, 0.02, 0.1), "toe_right": (0.15, 0.02, 0.1),
        "ankle_left": (-0.85, 0.85, -0.1), "heel_left": (-0.9, 0.9, -0.1), "toe_left": (-0.85, 0.7, -0.1),
        "knee_right": (0.05, 0.48, 0.1), "knee_left": (-0.45, 0.85, -0.1),
        "hip_right": (-0.05, 0.88, 0.1), "hip_left": (-0.05, 0.88, -0.1),
        "shoulder_right": (0.5, 0.95, 0.18), "shoulder_left": (0.5, 0.95, -0.18),
        "wrist_right": (0.5, 0.35, 0.2), "wrist_left": (0.5, 0.35, -0.2), "nose": (0.75, 0.95, 0.0),
    }
    standing = {k: (0.0, y, z) for k, (_, y, z) in bottom.items()}
    standing |= {"ankle_left": (0.0, 0.08, -0.1), "heel_left": (-0.05, 0.02, -0.1),
                 "toe_left": (0.15, 0.02, -0.1), "knee_left": (0.05, 0.48, -0.1),
                 "shoulder_right": (0.0, 1.45, 0.18), "shoulder_left": (0.0, 1.45, -0.18),
                 "wrist_right": (0.0, 0.8, 0.2), "wrist_left": (0.0, 0.8, -0.2), "nose": (0.05, 1.6, 0.0)}
    frames = [standing] * 10 + [bottom] * 90
    landmarks = {k: np.array([f[k] for f in frames], dtype=float) for k in bottom}
    assert up_axis(landmarks, default=2) == (1, 1.0)


def test_up_axis_of_a_hip_thrust():
    """Lying on a bench, feet flat, shins vertical: the knees sit right above the ankles, so along the
    feet-to-toes axis they are "ahead" of the toes' tip but not of the feet themselves."""
    top = {  # metres, y up, toes towards +x, head towards -x
        "ankle_left": (0.0, 0.08, -0.1), "heel_left": (-0.05, 0.02, -0.1), "toe_left": (0.15, 0.02, -0.1),
        "ankle_right": (0.0, 0.08, 0.1), "heel_right": (-0.05, 0.02, 0.1), "toe_right": (0.15, 0.02, 0.1),
        "knee_left": (0.0, 0.5, -0.1), "knee_right": (0.0, 0.5, 0.1),
        "hip_left": (-0.45, 0.5, -0.1), "hip_right": (-0.45, 0.5, 0.1),
        "shoulder_left": (-0.9, 0.45, -0.18), "shoulder_right": (-0.9, 0.45, 0.18),
        "wrist_left": (-0.45, 0.6, -0.2), "wrist_right": (-0.45, 0.6, 0.2), "nose": (-1.1, 0.55, 0.0),
    }
    landmarks = {k: np.tile(np.array(v, dtype=float), (50, 1)) for k, v in top.items()}
    assert up_axis(landmarks, default=2) == (1, 1.0)


def test_up_axis_of_a_hip_thrust_whose_hips_come_down_to_the_floor():
    """Shins leaning towards the head and hips near the floor at the bottom: along the body's long
    axis every point sits more than the clearance "above" the feet, along up the hips do not. The
    feet decide: heel and toe are level along up, a foot's length apart along the long axis."""
    top = {  # metres, y up, toes towards -x, head towards +x
        "ankle_left": (0.0, 0.08, -0.1), "heel_left": (0.05, 0.02, -0.1), "toe_left": (-0.18, 0.02, -0.1),
        "ankle_right": (0.0, 0.08, 0.1), "heel_right": (0.05, 0.02, 0.1), "toe_right": (-0.18, 0.02, 0.1),
        "knee_left": (0.1, 0.45, -0.1), "knee_right": (0.1, 0.45, 0.1),
        "hip_left": (0.5, 0.45, -0.1), "hip_right": (0.5, 0.45, 0.1),
        "shoulder_left": (1.0, 0.45, -0.18), "shoulder_right": (1.0, 0.45, 0.18),
        "wrist_left": (0.5, 0.55, -0.2), "wrist_right": (0.5, 0.55, 0.2), "nose": (1.2, 0.55, 0.0),
    }
    bottom = top | {
        "hip_left": (0.45, 0.01, -0.1), "hip_right": (0.45, 0.01, 0.1),
        "wrist_left": (0.45, 0.1, -0.2), "wrist_right": (0.45, 0.1, 0.2),
    }
    frames = [top, bottom] * 25
    landmarks = {k: np.array([f[k] for f in frames], dtype=float) for k in top}
    assert up_axis(landmarks, default=2) == (1, 1.0)


def test_openpose_order_of_a_side_view_with_a_ghost(tmp_path):
    """A side view puts both shoulders on one spot, so their width says nothing about which keypoint
    is the neck; and a ghost's random keypoints must not vote on the athlete's keypoint order."""
    import json

    from hinge_analytics.formats import BODY_25

    side = {  # pixels, y down: bottom of a deadlift seen from the side, facing +x
        "Nose": (735, 450), "Neck": (632, 428), "RShoulder": (640, 420), "LShoulder": (643, 418),
        "RElbow": (640, 550), "LElbow": (644, 548), "RWrist": (640, 680), "LWrist": (645, 678),
        "MidHip": (480, 450), "RHip": (478, 452), "LHip": (482, 448), "RKnee": (520, 650),
        "LKnee": (523, 648), "RAnkle": (480, 860), "LAnkle": (484, 858), "REye": (725, 435),
        "LEye": (726, 433), "REar": (720, 430), "LEar": (722, 428), "RBigToe": (560, 880),
        "LBigToe": (562, 878), "RSmallToe": (550, 880), "LSmallToe": (552, 878),
        "RHeel": (460, 875), "LHeel": (462, 873),
    }
    rng = np.random.default_rng(4)
    for i in range(30):
        athlete = [v for name in BODY_25 for v in (*(side[name] + rng.normal(0, 6, 2)), 0.9)]
        ghost = [v for _ in BODY_25 for v in (*rng.uniform(0, 300, 2), rng.uniform(0.05, 0.3))]
        people = [{"pose_keypoints_2d": ghost}, {"pose_keypoints_2d": athlete}]
        (tmp_path / f"clip_{i:012d}_keypoints.json").write_text(json.dumps({"people": people}))
    arrays = load_openpose_json(tmp_path, 30.0)
    assert np.nanmean(arrays.xyz["hip_left"][:, 1]) == pytest.approx(-448, abs=5)  # y up after reading
    assert np.nanmean(arrays.xyz["knee_right"][:, 1]) == pytest.approx(-650, abs=5)


def test_the_athlete_is_the_person_who_moves_not_the_most_confident():
    """A coach standing still beside the lifter, seen more confidently than the lifter, and a ghost
    of random low-confidence points at the edge: the lifter's track is the one returned, and it
    never switches to the coach standing 0.6 body heights away."""
    from hinge_analytics.ingest.people import track_athlete

    rng = np.random.default_rng(8)
    n, k = 120, 17
    standing = np.column_stack([np.zeros(k), np.linspace(0.0, 400.0, k)])  # feet to head, pixels
    frames = []
    for i in range(n):
        lean = np.radians(45.0 * (1 - np.cos(2 * np.pi * i / 40)))  # three hinges
        upper = standing[:, 1] > 200  # the trunk tips forward about the hips
        lifter = standing.copy()
        lifter[upper, 0] = 500 + (standing[upper, 1] - 200) * np.sin(lean)
        lifter[upper, 1] = 200 + (standing[upper, 1] - 200) * np.cos(lean)
        lifter[~upper, 0] = 500
        lifter += rng.normal(0, 3, lifter.shape)
        coach = standing + [740.0, 0.0] + rng.normal(0, 3, standing.shape)
        ghost = np.column_stack([rng.uniform(0, 40, k), rng.uniform(0, 600, k)])
        frames.append(
            [
                np.column_stack([coach, np.full(k, 0.95)]),
                np.column_stack([ghost, rng.uniform(0.05, 0.3, k)]),
                np.column_stack([lifter, np.full(k, 0.7)]),
            ]
        )
    athlete = track_athlete(frames, k)
    np.testing.assert_allclose(athlete[:, 0, 0], 500.0, atol=15)  # the lifter's feet, every frame
    assert np.all(athlete[:, :, 2] == 0.7)


def test_real_openpose_single_image_is_too_short_not_a_crash():
    folder = REAL / "openpose_json" / "body25_spin_im1010"
    arrays = load_openpose_json(folder, 30.0)
    assert arrays.n_frames == 1
    assert arrays.conf["wrist_right"][0] == 0 and np.isnan(arrays.xyz["wrist_right"][0, 0])  # 0,0,0
    with pytest.raises(BadRecording, match="too short"):
        read_recording(folder, None, 30.0)
    with pytest.raises(BadRecording, match="sample_rate_hz"):
        read_recording(folder, "openpose_json", None)


def test_real_coco_annotation_file():
    arrays = load_coco17_json(REAL / "coco17_json" / "mmpose_test_coco.json")
    assert arrays.n_frames == 4  # 4 images; the most confident/continuous person per image
    assert set(arrays.conf["hip_left"]) <= {0.0, 0.5, 1.0}  # v flags, not scores
    assert all(np.nanmean(arrays.xyz[lm][:, 1]) < 0 for lm in CORE if lm in arrays.xyz)  # y up (pixels)


@pytest.mark.parametrize(
    ("name", "frames", "markers_in", "first_t"),
    [
        ("pose2sim_BalancingTrial_0-100.trc", 100, CORE, 1 / 60),
        ("pose2sim_StaticTrial_0-12_filt_butterworth_LSTM.trc", 12, CORE, 1 / 60),
        (
            "opensim_subject01_walk1.trc",
            10,
            ("hip_left", "hip_right", "heel_left", "toe_left", "shoulder_left"),
            0,
        ),
    ],
)
def test_real_trc_files(name, frames, markers_in, first_t):
    arrays = load_trc(REAL / "trc" / name)
    assert arrays.n_frames == frames and arrays.file_rate_hz == 60.0
    assert arrays.timestamps_s[0] == pytest.approx(first_t, abs=1e-6)
    assert set(markers_in) <= set(arrays.xyz)
    hip_y = np.nanmean(arrays.xyz["hip_left"][:, 1])
    shoulder_y = np.nanmean(arrays.xyz["shoulder_left"][:, 1])
    assert 0.6 < hip_y < 1.2 and shoulder_y > hip_y + 0.3  # metres (mm converted), y up
    width = np.nanmean(np.linalg.norm(arrays.xyz["hip_left"] - arrays.xyz["hip_right"], axis=1))
    assert 0.1 < width < 0.35  # hip centres (OpenSim file: estimated from ASIS + sacrum)


def test_real_c3d_file():
    arrays = load_c3d(REAL / "c3d" / "ktk_kinematics_racing_probing_acromion_R.c3d")
    assert arrays.n_frames == 140 and arrays.file_rate_hz == pytest.approx(69.5)
    assert {"elbow_left", "elbow_right"} <= set(arrays.xyz)  # LateralEpicondyleL/R
    assert np.nanmax(np.abs(arrays.xyz["elbow_left"])) < 5  # metres
    with pytest.raises(BadRecording, match="hip"):  # upper body only: no hips -> quarantined
        read_recording(REAL / "c3d" / "ktk_kinematics_racing_probing_acromion_R.c3d", None, None)


def test_real_xsens_mtw_files_as_a_placed_folder(tmp_path):
    src = sorted((REAL / "imu_csv" / "xsens_mtw_walking").iterdir())
    for f, placement in zip(src, ("thigh_left", "thigh_right"), strict=True):
        shutil.copy(f, tmp_path / f"{placement}{f.suffix}")
    read = read_recording(tmp_path, None, None)[1]
    assert read.modality == "imu" and read.sensors == "thigh_left,thigh_right"
    assert read.frames.height == 300 and read.sample_rate_hz == pytest.approx(100.0)
    acc = read.frames.select([f"thigh_left_acc_{a}" for a in "xyz"]).to_numpy()
    assert np.linalg.norm(acc, axis=1).mean() == pytest.approx(9.81, abs=0.5)  # m/s^2 with gravity
    q = read.frames.select([f"thigh_left_quat_{c}" for c in "wxyz"]).to_numpy()
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)  # from Mat[r][c]
    assert set(read.frames.columns) >= {f"thigh_left_{c}" for c in IMU_CHANNELS}


def test_real_xsens_files_need_a_placement_name():
    with pytest.raises(BadRecording, match="not named after a placement"):
        read_recording(REAL / "imu_csv" / "xsens_mtw_walking", "imu_csv", None)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (REAL / "imu_csv" / "xsens_mtw_mtmanager2022").iterdir())
)
def test_real_mt_manager_variants(tmp_path, name):
    target = tmp_path / f"lower_back{Path(name).suffix}"
    shutil.copy(REAL / "imu_csv" / "xsens_mtw_mtmanager2022" / name, target)
    try:
        sensor = parse_sensor_file(target, None)
    except BadRecording as exc:  # the 2022 exports state no update rate
        assert "sample_rate_hz" in str(exc)
        sensor = parse_sensor_file(target, 100.0)
    assert sensor.layout == "xsens_mt" and len(sensor.t_s) == 5
    assert np.allclose(np.diff(sensor.t_s), 0.01)
    acc = np.column_stack([sensor.channels[f"acc_{a}"] for a in "xyz"])
    assert np.linalg.norm(acc, axis=1) == pytest.approx(9.8, abs=0.3)
    q = np.column_stack([sensor.channels[f"quat_{c}"] for c in "wxyz"])
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)


def test_real_apdm_wide_file_gives_each_located_sensor():
    from hinge_analytics.ingest.imu import apdm_sensors

    lines = (REAL / "imu_csv" / "apdm_opal" / "apdm_format7.csv").read_text().splitlines()
    sensors, notes = apdm_sensors(lines, "apdm_format7.csv")
    assert [s.placement for s in sensors] == ["lower_back", "shank_right", "shank_left", "upper_back"]
    lumbar = sensors[0]
    assert lumbar.channels["acc_x"][0] == -9.982604 and lumbar.channels["gyr_x"][0] == -0.928487  # as written
    assert 1 / np.median(np.diff(lumbar.t_s)) == pytest.approx(128.0, rel=1e-3)  # the Opal's rate
    (note,) = notes
    assert note.startswith("The APDM sensors at Left Foot, Right Foot are at no placement")
    with pytest.raises(BadRecording, match="too short"):  # three samples
        read_recording(REAL / "imu_csv" / "apdm_opal", None, None)


def _apdm_format7(signals: dict[str, sim_imu.ImuSignals], labels: dict[str, str], time_s: np.ndarray) -> str:
    """The sensors written as APDM Mobility Lab's "Format=7" wide CSV (a foot sensor added)."""
    top, quantities, axes, columns = ["Format=7"], ["Time"], [""], [np.round(time_s * 1e6).astype(np.int64)]
    for serial, (placement, label) in enumerate(labels.items(), start=5718):
        s = signals[placement] if placement in signals else signals[next(iter(signals))]
        top += [str(serial), "", "", label, *[""] * 10]
        quantities += ["Accelerometer", "", "", "Gyroscope", "", "", "Magnetometer", "", "", "Barometer"]
        quantities += ["Orientation", "", "", ""]
        axes += [*"XYZ" * 3, "", *"SXYZ"]
        columns += [*s.acc.T, *s.gyr.T, *np.zeros((3, len(time_s))), np.zeros(len(time_s)), *s.quat.T]
    rows = [",".join([str(r[0]), *(f"{v:.6f}" for v in r[1:])]) for r in zip(*columns, strict=True)]
    return "\n".join([",".join(top), ",".join(quantities), ",".join(axes), *rows]) + "\n"


def test_an_apdm_wide_export_reads_as_the_same_sensors_in_files_of_their_own(motion, tmp_path):
    time_s, pose, body, _ = motion
    placements = ("lower_back", "shank_right", "upper_back")
    signals = sim_imu.imu_signals(time_s, pose, body, placements, rng=np.random.default_rng(6), noise=False)
    sim_imu.write_imu_generic(tmp_path / "files", time_s, signals, quaternions=False)
    labels = {"lower_back": "Lumbar", "shank_right": "Right Ankle", "upper_back": "Sternum"}
    labels["foot"] = "Left Foot"
    (tmp_path / "apdm").mkdir()
    (tmp_path / "apdm" / "session.csv").write_text(_apdm_format7(signals, labels, time_s))
    assert detect_format(tmp_path / "apdm" / "session.csv") == "imu_csv"
    wide = read_recording(tmp_path / "apdm" / "session.csv", None, None)[1]
    files = read_recording(tmp_path / "files", None, None)[1]
    assert wide.sensors == files.sensors == "upper_back,lower_back,shank_right"
    for column in files.frames.columns:
        np.testing.assert_allclose(wide.frames[column], files.frames[column], atol=2e-5, err_msg=column)
    assert "Left Foot" in wide.notes[0]


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("mediapipe_csv/pose2sim_demo_cam01_world.csv", "mediapipe_csv"),
        ("openpose_json/body25b_pose2sim_cam01", "openpose_json"),
        ("openpose_json/body25_spin_im1010", "openpose_json"),
        ("coco17_json/mmpose_test_coco.json", "coco17_json"),
        ("trc/opensim_subject01_walk1.trc", "trc"),
        ("c3d/ktk_kinematics_racing_probing_acromion_R.c3d", "c3d"),
        ("imu_csv/xsens_mtw_walking", "imu_csv"),
    ],
)
def test_format_detection_on_real_files(path, fmt):
    assert detect_format(REAL / path) == fmt


# --------------------------------------------------------------------------- names and axes
@pytest.mark.parametrize(
    ("label", "side", "key"),
    [
        ("RHip", "right", "hip"),
        ("r.ASIS_study", "right", "asis"),
        ("L.ASIS_study", "left", "asis"),
        ("Subject:LKNE ", "left", "kne"),
        ("RANK", "right", "ank"),
        ("LateralEpicondyleL", "left", "lateralepicondyle"),
        ("V.Sacral", None, "vsacral"),
        ("knee_left", "left", "knee"),
        ("R.Toe.Tip", "right", "toetip"),
        ("Nose", None, "nose"),
    ],
)
def test_marker_labels_split_into_side_and_joint(label, side, key):
    assert split_label(label) == (side, key)


def test_a_head_marker_stands_in_for_ears_a_marker_set_lacks():
    """Pose2Sim's BODY_25B/HALPE_26 markers: Nose and Head, no ears. The head (on the neck's line
    through the ears) gives the upper-back rounding line, not the nose a face's depth ahead of it;
    where ears exist, they are used."""
    from hinge_analytics.ingest.markers import markers_to_landmarks

    points = np.arange(2 * 4 * 3, dtype=float).reshape(2, 4, 3)
    landmarks = markers_to_landmarks(["RShoulder", "LShoulder", "Nose", "Head"], points)
    np.testing.assert_array_equal(landmarks["ear_left"], points[:, 3])
    np.testing.assert_array_equal(landmarks["ear_right"], points[:, 3])
    with_ears = markers_to_landmarks(["REar", "LEar", "Head"], points[:, :3])
    np.testing.assert_array_equal(with_ears["ear_right"], points[:, 0])
    np.testing.assert_array_equal(with_ears["ear_left"], points[:, 1])


def test_vicon_plugin_gait_markers_z_up_in_mm():
    """A Z-up Plug-in Gait lab export: knee/ankle/heel/toe markers, hips from ASIS/PSIS."""
    n = 5
    names = [
        "LASI",
        "RASI",
        "LPSI",
        "RPSI",
        "LKNE",
        "RKNE",
        "LANK",
        "RANK",
        "LHEE",
        "RHEE",
        "LTOE",
        "RTOE",
        "LSHO",
        "RSHO",
    ]
    # x forward, y left, z up (metres here; units handled by the readers)
    pos = {
        "LASI": (0.12, 0.12, 0.98),
        "RASI": (0.12, -0.12, 0.98),
        "LPSI": (-0.04, 0.05, 1.0),
        "RPSI": (-0.04, -0.05, 1.0),
        "LKNE": (0.02, 0.14, 0.5),
        "RKNE": (0.02, -0.14, 0.5),
        "LANK": (-0.02, 0.13, 0.08),
        "RANK": (-0.02, -0.13, 0.08),
        "LHEE": (-0.06, 0.1, 0.04),
        "RHEE": (-0.06, -0.1, 0.04),
        "LTOE": (0.14, 0.1, 0.04),
        "RTOE": (0.14, -0.1, 0.04),
        "LSHO": (0.0, 0.19, 1.45),
        "RSHO": (0.0, -0.19, 1.45),
    }
    points = np.repeat(np.array([pos[k] for k in names])[None], n, axis=0)
    xyz, conf = landmarks_from_markers(names, points, default_up=1)
    assert xyz["shoulder_left"][0, 1] == pytest.approx(1.45)  # z up became y up
    assert xyz["hip_left"][0, 1] == pytest.approx(0.98 - 0.3 * 0.24 - 0.0109, abs=0.02)  # Harrington
    assert np.linalg.norm(xyz["hip_left"][0] - xyz["hip_right"][0]) == pytest.approx(
        2 * (0.33 * 0.24 + 0.0073), abs=0.01
    )
    assert conf["knee_left"].tolist() == [1.0] * n


def test_pixel_coordinates_are_told_from_normalised_ones():
    hip = np.array([[0.52, -0.61, 0.0], [0.5, -0.6, 0.0]])
    body = {"hip_left": hip, "knee_left": hip + [0.1, -0.2, 0.0]}
    assert image_units(body, "image") == "image"
    assert image_units({k: v * [1920.0, 1080.0, 1.0] for k, v in body.items()}, "image") == "image_px"
    assert image_units({k: v * 1000.0 for k, v in body.items()}, "world_m") == "world_m"  # images only


@pytest.mark.parametrize(
    ("acc_name", "gyr_name", "acc_factor", "gyr_factor", "note"),
    [
        # deg/s under plain names: read as rad/s it would spin the sensor 57 times further than
        # gravity shows it tilting
        ("acc_{a}", "gyr_{a}", 1.0, 180 / np.pi, "gyroscope was read in deg/s"),
        ("acc_{a}", "gyr_{a}", 1 / 9.80665, 1.0, "accelerometer was read in g"),  # g, unstated
        ("acc_{a}", "gyr_{a}", 1000 / 9.80665, 1.0, "accelerometer was read in mg"),  # mg, unstated
        ("acc_{a}_g", "gyr_{a}_deg_s", 1 / 9.80665, 180 / np.pi, None),  # units in the names
        ("Acc_{A} (mg)", "Gyr_{A} [deg/s]", 1000 / 9.80665, 180 / np.pi, None),  # units bracketed
    ],
)
def test_generic_imu_units_from_column_names_or_from_gravity(
    motion, tmp_path, acc_name, gyr_name, acc_factor, gyr_factor, note
):
    """A generic IMU file in deg/s, g or mg, or with its units in the column names, reads the same
    as one in SI units: the average specific force is gravity whatever the unit, and the gyroscope
    must turn the sensor as far as gravity's direction moves."""
    time_s, pose, body, _ = motion
    placements = ("sacrum", "thigh_left")
    signals = sim_imu.imu_signals(time_s, pose, body, placements, rng=np.random.default_rng(7))
    sim_imu.write_imu_generic(tmp_path / "si", time_s, signals)
    shutil.copytree(tmp_path / "si", tmp_path / "other")
    for placement in placements:
        path = tmp_path / "other" / f"{placement}.csv"
        table = pl.read_csv(path)
        factors = {"acc": acc_factor, "gyr": gyr_factor}
        scaled = [pl.col(f"{c}_{a}") * factor for c, factor in factors.items() for a in "xyz"]
        table.with_columns(scaled).rename(
            {f"acc_{a}": acc_name.format(a=a, A=a.upper()) for a in "xyz"}
            | {f"gyr_{a}": gyr_name.format(a=a, A=a.upper()) for a in "xyz"}
        ).write_csv(path)
    si, other = (read_recording(tmp_path / folder, None, None)[1] for folder in ("si", "other"))
    assert si.notes == ()
    assert all(note in n for n in other.notes) and len(other.notes) == (2 if note else 0)
    for placement in placements:
        for channel in ("acc", "gyr"):
            for axis in "xyz":
                column = f"{placement}_{channel}_{axis}"
                np.testing.assert_allclose(other.frames[column], si.frames[column], rtol=0, atol=1e-4)


def test_a_dead_gyroscope_leaves_its_sensor_to_the_accelerometer_with_a_note(motion, tmp_path):
    # A gyroscope that failed (its columns empty) beside a working accelerometer refused the whole
    # set as "no data in 100 % of its samples"; the sensor's tilt can still be read from gravity.
    time_s, pose, body, _ = motion
    placements = ("sacrum", "thigh_left")
    signals = sim_imu.imu_signals(time_s, pose, body, placements, rng=np.random.default_rng(2))
    sim_imu.write_imu_generic(tmp_path / "rec", time_s, signals, quaternions=False)
    path = tmp_path / "rec" / "thigh_left.csv"
    empty = [pl.lit(None, pl.Float64).alias(f"gyr_{a}") for a in "xyz"]
    pl.read_csv(path).with_columns(empty).write_csv(path)
    _, read = read_recording(tmp_path / "rec", None, None)
    assert not any(c.startswith("thigh_left_gyr") for c in read.frames.columns)
    assert read.frames["thigh_left_acc_x"].is_not_null().all()
    assert read.frames["sacrum_gyr_x"].is_not_null().all()
    said = [n for n in read.notes if "thigh_left sensor's gyroscope" in n and "accelerometer alone" in n]
    assert len(said) == 1


@pytest.mark.parametrize(
    ("acc_name", "gravity_removed", "acc_factor", "gyr_name", "gyr_factor", "reason"),
    [
        ("acc_{a}", True, 1.0, "gyr_{a}", 1.0, "gravity removed"),  # a phone's linear acceleration
        ("acc_{a}_g", True, 1 / 9.80665, "gyr_{a}", 1.0, "gravity removed"),  # the same in g
        ("acc_{a}_g", False, 1.0, "gyr_{a}", 1.0, "check the export's units"),  # m/s^2 labelled g
        ("acc_{a}_m_s2", False, 1 / 9.80665, "gyr_{a}", 1.0, "g read as m/s.2"),  # g labelled m/s^2
        ("acc_{a}", False, 1.0, "gyr_{a}_rad_s", 180 / np.pi, "deg/s read as rad/s"),
        ("acc_{a}", False, 1.0, "gyr_{a}_deg_s", 1.0, "rad/s read as deg/s"),  # converted twice
    ],
)
def test_a_sensor_whose_units_contradict_gravity_is_refused(
    motion, tmp_path, acc_name, gravity_removed, acc_factor, gyr_name, gyr_factor, reason
):
    """Tilt is read from gravity, so an accelerometer whose median magnitude is not 1 g (its
    gravity removed, or a wrong unit in its name) is refused with the likely cause instead of
    giving angles and reps of noise; so is a gyroscope that turns the sensor 57 times further or
    less far than gravity's direction moves in it (deg/s under a rad/s label, or the reverse)."""
    time_s, pose, body, _ = motion
    signals = sim_imu.imu_signals(time_s, pose, body, ("thigh_left",), rng=np.random.default_rng(5))
    s = signals["thigh_left"]
    if gravity_removed:  # sensor frame: specific force minus gravity seen by the sensor
        gravity = np.einsum("nji,j->ni", s.rotation, [0.0, 0.0, 9.80665])
        signals["thigh_left"] = replace(s, acc=s.acc - gravity)
    sim_imu.write_imu_generic(tmp_path / "rec", time_s, signals, quaternions=False)
    path = tmp_path / "rec" / "thigh_left.csv"
    table = pl.read_csv(path)
    factors = {"acc": acc_factor, "gyr": gyr_factor}
    table.with_columns(pl.col(f"{c}_{a}") * f for c, f in factors.items() for a in "xyz").rename(
        {f"acc_{a}": acc_name.format(a=a) for a in "xyz"}
        | {f"gyr_{a}": gyr_name.format(a=a, A=a.upper()) for a in "xyz"}
    ).write_csv(path)
    with pytest.raises(BadRecording, match=reason.replace("'", ".")):
        read_recording(tmp_path / "rec", None, None)


def test_an_arduino_style_log_reads_like_the_si_file(motion, tmp_path):
    """``millis``/``timestamp`` clocks in ms, ``ax..gz`` names, g and deg/s: an MPU6050 sketch's log.
    Without any clock the manifest's rate times the samples (SPEC.md, sample_rate_hz)."""
    time_s, pose, body, _ = motion
    signals = sim_imu.imu_signals(time_s, pose, body, ("thigh_left",), rng=np.random.default_rng(3))
    sim_imu.write_imu_generic(tmp_path / "si", time_s, signals)
    si = pl.read_csv(tmp_path / "si" / "thigh_left.csv")
    arduino = si.select(
        (pl.col("time_s") * 1000 + 52_000).round(0).alias("timestamp"),
        *(pl.col(f"acc_{a}").truediv(9.80665).alias(f"a{a}") for a in "xyz"),
        *(pl.col(f"gyr_{a}").mul(180 / np.pi).alias(f"g{a}_dps") for a in "xyz"),
    )
    for name, table, rate in (("clock", arduino, None), ("no_clock", arduino.drop("timestamp"), 60.0)):
        (tmp_path / name).mkdir()
        table.write_csv(tmp_path / name / "thigh_left.csv")
        read = read_recording(tmp_path / name, None, rate)[1]
        assert read.sample_rate_hz == pytest.approx(60.0, rel=0.01)
        for channel in ("acc", "gyr"):
            for axis in "xyz":
                column = f"thigh_left_{channel}_{axis}"
                np.testing.assert_allclose(read.frames[column], si[f"{channel}_{axis}"], rtol=1e-3, atol=2e-3)
    with pytest.raises(BadRecording, match="needs sample_rate_hz"):
        read_recording(tmp_path / "no_clock", None, None)


def test_a_still_sensor_keeps_the_unit_its_file_implies(tmp_path):
    """Gravity's direction does not move in a sensor lying still: nothing to tell a unit by."""
    t = np.arange(0, 20, 0.01)
    rng = np.random.default_rng(0)
    table = pl.DataFrame(
        {"time_s": t}
        | {f"acc_{a}": g + rng.normal(0, 0.05, len(t)) for a, g in zip("xyz", (0.0, 0.0, 9.81), strict=True)}
        | {f"gyr_{a}": rng.normal(0, 0.5, len(t)) for a in "xyz"}
    )
    (tmp_path / "still").mkdir()
    table.write_csv(tmp_path / "still" / "sacrum.csv")
    read = read_imu_csv(tmp_path / "still")
    assert read.notes == ()
    np.testing.assert_allclose(read.frames["sacrum_gyr_x"], table["gyr_x"], atol=1e-9)
