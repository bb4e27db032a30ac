"""Declared column mappings (ingest/layouts): every shipped layout on a small sample written here,
then on the real recordings of ../shared/realdata when that folder exists (it is not part of the
repository: those tests skip without it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics.cli import app
from hinge_analytics.formats import MEDIAPIPE_33
from hinge_analytics.ingest import LAYOUTS, READERS, detect_format, format_names, read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.layouts import (
    LayoutError,
    Table,
    load_layout,
    parse_layout,
    recording_files,
    smooth_arrival_times,
)
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.jobs.ingest import ingest_chunk
from hinge_analytics.lake import Lake
from hinge_analytics.numeric import STANDARD_GRAVITY
from hinge_analytics.schema import (
    LAYOUT_FORMATS,
    LAYOUT_IMU_FORMATS,
    LAYOUT_POSE_FORMATS,
    MANIFEST_FORMATS,
    landmark_columns,
)
from hinge_analytics.simulate.team import simulate_team

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"


def _real(folder: str) -> Path:
    path = REALDATA / folder
    if not path.is_dir():
        pytest.skip(f"{path} is not here (real recordings are kept outside the repository)")
    return path


def _acc(frames: pl.DataFrame, placement: str) -> np.ndarray:
    return frames.select([f"{placement}_acc_{a}" for a in "xyz"]).to_numpy().astype(np.float64)


def _gyr(frames: pl.DataFrame, placement: str) -> np.ndarray:
    return frames.select([f"{placement}_gyr_{a}" for a in "xyz"]).to_numpy().astype(np.float64)


def _norm(values: np.ndarray) -> float:
    return float(np.nanmedian(np.linalg.norm(values, axis=1)))


# --------------------------------------------------------------------------- the layouts themselves
def test_shipped_layouts_match_the_vocabulary_and_the_package_data():
    assert set(LAYOUTS) == set(LAYOUT_FORMATS)
    assert set(format_names()) == set(MANIFEST_FORMATS)
    assert not set(READERS) & set(LAYOUTS)
    for name in LAYOUT_POSE_FORMATS:
        assert load_layout(name).kind == "pose"
    for name in LAYOUT_IMU_FORMATS:
        assert load_layout(name).kind == "imu"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert "*.toml" in package_data.get("hinge_analytics.ingest.layouts", []) or "ingest/layouts/*.toml" in (
        package_data.get("hinge_analytics", [])
    )
    docs = (ROOT / "docs" / "formats.md").read_text()
    for name in LAYOUTS:
        assert f"## {name} " in docs, f"docs/formats.md has no section for {name}"


def test_a_malformed_layout_is_refused_with_its_key():
    base = {"kind": "imu", "detect": {"columns": ["t"]}, "time": {"column": "t", "unit": "s"}}
    sensor = {"placement": "bar", "acc": {"columns": ["x", "y", "z"], "unit": "g"}}
    assert (
        parse_layout("ok", {**base, "sensor": [sensor]}).sensors[0].channels["acc"][0].scale
        == STANDARD_GRAVITY
    )
    with pytest.raises(LayoutError, match="colour"):
        parse_layout("typo", {**base, "sensor": [{**sensor, "colour": 1}]})
    with pytest.raises(LayoutError, match="unit"):
        parse_layout(
            "unit", {**base, "sensor": [{**sensor, "acc": {"columns": ["x", "y", "z"], "unit": "km"}}]}
        )
    with pytest.raises(LayoutError, match="placement"):
        parse_layout("where", {**base, "sensor": [{**sensor, "placement": "elbow"}]})
    with pytest.raises(LayoutError, match="time"):
        parse_layout("time", {**base, "time": {"unit": "ms"}, "sensor": [sensor]})


def test_arrival_stamps_become_steady_times_and_pauses_stay():
    rng = np.random.default_rng(0)
    sample = np.arange(600) / 50.0  # a sensor sampling at 50 Hz
    arrival = np.ceil(sample / 0.06) * 0.06 + rng.uniform(0, 0.002, 600)  # packets every 60 ms
    arrival = np.maximum.accumulate(np.round(arrival, 3))
    arrival[300:] += 2.0  # a 2 s pause in the middle
    t = smooth_arrival_times(arrival, 1.0)
    steps = np.diff(t)
    assert np.all(steps > 0)
    assert np.median(steps) == pytest.approx(0.02, rel=0.05)
    assert steps.max() > 1.5  # the pause is kept as a pause
    assert np.abs(t - (sample + np.where(np.arange(600) >= 300, 2.0, 0.0))).max() < 0.08


# --------------------------------------------------------------------------- esp32_mpu6050_csv
def _esp32_csv(path: Path, seconds: float = 5.0, rate: float = 100.0) -> Path:
    n = int(seconds * rate)
    millis = 1_056_964 + np.round(np.arange(n) * 1000 / rate).astype(int)
    phase = 2 * np.pi * 0.5 * np.arange(n) / rate
    names = [f"s{i}_{c}" for i in range(3) for c in ("ax", "ay", "az", "gx", "gy", "gz")]
    lines = ["timestamp,seq,millis,q0,q1,q2," + ",".join(names)]
    for k in range(n):
        values = []
        for i in range(3):
            values += [-9.81 + 0.1 * np.sin(phase[k]), 0.2 * i, 0.1, 0.5 * np.sin(phase[k]), 0.0, 0.01 * i]
        stamp = f"2025-10-11T16:21:{53 + k // 100:02d}.{(k % 100) * 10:03d}"
        lines.append(f"{stamp},{113755 + k},{millis[k]},0,0,0," + ",".join(f"{v:.6f}" for v in values))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_esp32_three_sensors_in_one_file(tmp_path):
    path = _esp32_csv(tmp_path / "subject1_set1.csv")
    assert detect_format(path) == "esp32_mpu6050_csv"
    fmt, read = read_recording(path, None, None)
    assert fmt == "esp32_mpu6050_csv" and read.modality == "imu"
    assert read.sensors == "lower_back,thigh_left,shank_left"
    assert read.sample_rate_hz == pytest.approx(100.0, rel=1e-3)
    assert float(read.frames["t_s"][-1]) == pytest.approx(4.99, abs=0.02)
    assert _norm(_acc(read.frames, "lower_back")) == pytest.approx(9.81, abs=0.1)  # m/s^2 as written
    assert np.nanmax(np.abs(_gyr(read.frames, "thigh_left")[:, 0])) == pytest.approx(0.5, abs=0.01)  # rad/s
    with pytest.raises(BadRecording, match="placement"):
        read_recording(path, "esp32_mpu6050_csv", None, placement="thigh_right")


@pytest.mark.parametrize("resaved", ["spreadsheet", "tab", "preamble"])
def test_esp32_file_resaved_by_a_spreadsheet_or_with_a_preamble_reads_the_same(tmp_path, resaved):
    # Opened and saved in a spreadsheet set to a decimal-comma locale (cells split by ';', 1,5 for
    # 1.5), or written by a logger with lines of metadata above the header, the file was refused as
    # having "no column 'millis'".
    original = _esp32_csv(tmp_path / "subject1_set1.csv")
    lines = original.read_text().splitlines()
    if resaved == "spreadsheet":
        lines = [";".join(cell.replace(".", ",") if cell[:1].isdigit() or cell[:1] == "-" else cell
                          for cell in line.split(",")) for line in lines]
    elif resaved == "tab":
        lines = [line.replace(",", "\t") for line in lines]
    else:
        lines = ["# logger v1.3", "Device,ESP32-A", *lines]
    other = tmp_path / "resaved" / "subject1_set1.csv"
    other.parent.mkdir()
    other.write_text("\n".join(lines) + "\n")
    assert detect_format(other) == "esp32_mpu6050_csv"
    assert read_recording(other, None, None)[1].frames.equals(read_recording(original, None, None)[1].frames)


def test_a_few_rows_without_a_time_are_left_out_and_many_refused(tmp_path):
    # One empty clock cell (a logger's write glitch) refused the whole set with "Re-export", which
    # a raw logger file cannot be.
    path = _esp32_csv(tmp_path / "subject1_set1.csv")
    header, *rows = path.read_text().splitlines()
    cells = rows[100].split(",")
    cells[2] = ""  # millis
    rows[100] = ",".join(cells)
    path.write_text("\n".join([header, *rows]) + "\n")
    _, read = read_recording(path, "esp32_mpu6050_csv", None)
    assert read.frames.height == len(rows) - 1
    for k in range(0, 40, 2):
        cells = rows[k].split(",")
        cells[2] = ""
        rows[k] = ",".join(cells)
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(BadRecording, match="21 of the 500 rows of subject1_set1.csv have no 'millis' value"):
        read_recording(path, "esp32_mpu6050_csv", None)


def test_esp32_rate_in_the_manifest_is_checked(tmp_path):
    path = _esp32_csv(tmp_path / "s.csv")
    with pytest.raises(BadRecording, match="100.0 Hz but the manifest says 50 Hz"):
        read_recording(path, "esp32_mpu6050_csv", 50.0)


# --------------------------------------------------------------------------- metamotion_csv
MM_STEM = "A-dead-heavy_MetaWear_2019-01-15T20.35.27.174_C42732BE255C"


def _metamotion(folder: Path, version: str = "1.4.4", gyro_deg_s: float = 45.0, seconds: float = 10.0):
    folder.mkdir(parents=True, exist_ok=True)
    start = 1547580927366
    acc = folder / f"{MM_STEM}_Accelerometer_12.500Hz_{version}.csv"
    lines = ["epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"]
    for k in range(int(seconds * 12.5)):
        lines.append(f"{start + 80 * k},2019-01-15T20:35:27.366,{0.08 * k:.3f},0.000,0.000,1.000")
    acc.write_text("\n".join(lines) + "\n")
    gyr = folder / f"{MM_STEM}_Gyroscope_25.000Hz_{version}.csv"
    lines = ["epoch (ms),time (01:00),elapsed (s),x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)"]
    for k in range(int(seconds * 25)):
        lines.append(f"{start + 40 * k},2019-01-15T20:35:27.366,{0.04 * k:.3f},{gyro_deg_s:.3f},0.000,0.000")
    gyr.write_text("\n".join(lines) + "\n")
    return acc, gyr


def test_metamotion_pairs_accelerometer_and_gyroscope_of_the_same_export(tmp_path):
    acc, gyr = _metamotion(tmp_path, "1.4.4", gyro_deg_s=45.0)
    acc2, _ = _metamotion(tmp_path, "1.4.41", gyro_deg_s=90.0)  # a re-export of the same recording
    assert detect_format(acc) == detect_format(gyr) == "metamotion_csv"
    for path, expected in ((acc, 45.0), (gyr, 45.0), (acc2, 90.0)):
        fmt, read = read_recording(path, None, None)
        assert fmt == "metamotion_csv" and read.sensors == "wrist_left"
        assert read.sample_rate_hz == pytest.approx(25.0, rel=1e-3)  # the faster stream's rate
        assert _norm(_acc(read.frames, "wrist_left")) == pytest.approx(STANDARD_GRAVITY, rel=1e-6)
        assert np.nanmedian(_gyr(read.frames, "wrist_left")[:, 0]) == pytest.approx(
            np.radians(expected), rel=1e-6
        )
    files = recording_files(load_layout("metamotion_csv"), acc2)
    assert files["Gyroscope_*Hz"].name.endswith("_1.4.41.csv")


def test_metamotion_placement_from_the_manifest_and_missing_partner(tmp_path):
    acc, gyr = _metamotion(tmp_path / "a")
    _, read = read_recording(acc, "metamotion_csv", None, placement="wrist_right")
    assert read.sensors == "wrist_right" and not read.notes
    with pytest.raises(BadRecording, match="placement"):
        read_recording(acc, "metamotion_csv", None, placement="elbow")
    # MetaBase can log the accelerometer alone: read without a gyroscope, and said so.
    gyr.rename(tmp_path / gyr.name)
    _, read = read_recording(acc, "metamotion_csv", None)
    assert "wrist_left_gyr_x" not in read.frames.columns and read.sample_rate_hz == pytest.approx(12.5)
    assert read.notes == (
        "No gyroscope file (Gyroscope_*Hz) lies beside this recording: it was read without a gyroscope.",
    )
    other = tmp_path / "b" / "session.csv"
    other.parent.mkdir()
    other.write_text(acc.read_text())
    with pytest.raises(BadRecording, match="not named like"):
        read_recording(other, "metamotion_csv", None)
    (tmp_path / gyr.name).rename(gyr)
    acc.unlink()
    with pytest.raises(BadRecording, match="lacks its accelerometer file"):
        read_recording(gyr, "metamotion_csv", None)


def test_metamotion_pause_in_one_stream_stays_empty(tmp_path):
    acc, gyr = _metamotion(tmp_path)
    lines = acc.read_text().splitlines()
    acc.write_text("\n".join(lines[:51] + lines[76:]) + "\n")  # samples 50-74: 2 s without accelerometer
    _, read = read_recording(gyr, None, None)
    t = read.frames["t_s"].to_numpy()
    missing = ~np.isfinite(_acc(read.frames, "wrist_left")[:, 0])
    assert missing.any() and t[missing].min() > 3.9 and t[missing].max() < 6.1
    assert np.isfinite(_gyr(read.frames, "wrist_left")).all()


def test_metamotion_folder_with_two_exports_is_ambiguous(tmp_path):
    _metamotion(tmp_path, "1.4.4")
    _metamotion(tmp_path, "1.4.41")
    with pytest.raises(BadRecording, match="point the manifest at one"):
        read_recording(tmp_path, "metamotion_csv", None)


# --------------------------------------------------------------------------- ktbl_csv
def _ktbl_serial(path: Path, seconds: float = 5.0, rate: float = 405.0) -> Path:
    n = int(seconds * rate)
    t = 2.3438 + np.arange(n) / rate
    lines = ["time,gFx,gFy,gFz,TgF"] + [f"{t[k]:.9f},-0.0894,0.2456,0.9537,0.989" for k in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _ktbl_ble(path: Path, columns: int = 5, newline: str = "\r\r\n", zeros: int = 0) -> tuple[Path, int]:
    rate, n = 50.0, 1000
    sample = 2.0 + np.arange(n) / rate
    arrival = np.ceil(sample / 0.045) * 0.045  # the host stamps bursts of two or three samples
    rows = []
    for k in range(n):
        swing = 1.5 * np.sin(2 * np.pi * 0.5 * sample[k])
        values = [arrival[k], 0.01, 0.99 + 0.1 * swing, 0.05, 0.0][:columns]
        rows.append(",".join(f"{v:.6f}" for v in values))
    rows += [",".join(["0.0"] * columns)] * zeros  # an unfilled logger buffer
    path.write_bytes((newline.join(rows) + newline).encode())
    return path, n


def test_ktbl_serial_log_with_header(tmp_path):
    path = _ktbl_serial(tmp_path / "ktbl_1.csv")
    assert detect_format(path) == "ktbl_csv"
    _, read = read_recording(path, None, None)
    assert read.sensors == "implement" and read.sample_rate_hz == pytest.approx(405.0, rel=0.01)
    assert not any("gyr" in c for c in read.frames.columns)  # accelerometer only
    assert _norm(_acc(read.frames, "implement")) == pytest.approx(0.989 * STANDARD_GRAVITY, rel=0.01)


@pytest.mark.parametrize(("factor", "looks"), [(1e3, "milliseconds"), (1e6, "microseconds")])
def test_a_layout_clock_in_another_unit_is_refused_with_the_unit_it_looks_like(tmp_path, factor, looks):
    # An Arduino logging millis() or micros() under the ktbl layout's seconds: microseconds made
    # the rate 0.0004 Hz and the drift filter failed ("please report this file"); milliseconds
    # were read as a 25-hour recording with every sample a logging gap, and 0 reps.
    path = _ktbl_serial(tmp_path / "ktbl_1.csv")
    lines = path.read_text().splitlines()
    rows = [f"{float(r.split(',', 1)[0]) * factor:.3f},{r.split(',', 1)[1]}" for r in lines[1:]]
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    with pytest.raises(BadRecording, match=rf"The values look like {looks} \(5\.0 s\): the ktbl_csv layout"):
        read_recording(path, "ktbl_csv", None)


@pytest.mark.parametrize(("columns", "newline", "zeros"), [(5, "\r\r\n", 0), (4, "\n\n", 40)])
def test_ktbl_bluetooth_log_without_header(tmp_path, columns, newline, zeros):
    path, n = _ktbl_ble(tmp_path / "subj_A.csv", columns, newline, zeros)
    assert detect_format(path) == "ktbl_csv"
    _, read = read_recording(path, None, None)
    assert read.frames.height == n  # trailing zero rows are not samples
    t = read.frames["t_s"].to_numpy()
    assert np.all(np.diff(t) > 0)
    assert read.sample_rate_hz == pytest.approx(50.0, rel=0.05)
    assert t[-1] == pytest.approx((n - 1) / 50.0, rel=0.05)
    assert np.isfinite(_acc(read.frames, "implement")).all()


def test_a_headerless_file_of_another_shape_is_not_taken_for_ktbl(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("\n".join(f"{k * 0.01},{k}" for k in range(100)))
    with pytest.raises(BadRecording, match="Cannot tell"):
        detect_format(path)
    with pytest.raises(BadRecording, match="2 values"):
        read_recording(path, "ktbl_csv", None)


# --------------------------------------------------------------------------- smartlift_csv
def _smartlift(path: Path, rows: int = 60, stride: int = 3) -> Path:
    height = {"nose": 900, "eye": 910, "ear": 905, "mouth": 880, "shoulder": 800, "elbow": 650, "wrist": 520}
    height |= {"pinky": 500, "index": 500, "thumb": 505, "hip": 550, "knee": 300, "ankle": 80}
    height |= {"heel": 60, "foot_index": 50}
    header = ["sample_idx", "video_frame"]
    for name in MEDIAPIPE_33:
        header += [f"{name}_x_px", f"{name}_y_px_up", f"{name}_z"]
    lines = [",".join(header)]
    for k in range(rows):
        bend = 120 * np.sin(np.pi * k / rows) ** 2  # the trunk tips forward and back once
        cells = [str(k), str(stride * k)]
        for name in MEDIAPIPE_33:
            part = next(key for key in sorted(height, key=len, reverse=True) if key in name)
            y = height[part] - (bend if height[part] > 550 else 0)
            x = 500 + (bend if height[part] > 550 else 0) + (10 if name.startswith("left") else 0)
            cells += [str(int(x)), str(int(y)), "-0.25"]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_smartlift_pixels_with_y_up_and_every_third_frame(tmp_path):
    path = _smartlift(tmp_path / "deadlift_1_good_mkv.csv")
    assert detect_format(path) == "smartlift_csv"  # not mediapipe_csv, whose hint left_hip_x it holds
    fmt, read = read_recording(path, None, 30.0)  # the video's frame rate
    assert fmt == "smartlift_csv" and read.modality == "pose" and read.sensors == "image_px"
    t = read.frames["t_s"].to_numpy()
    assert np.allclose(t, np.arange(60) * 3 / 30.0)
    assert read.sample_rate_hz == pytest.approx(10.0)
    x, y, z, conf = landmark_columns("shoulder_left")
    hip_y = read.frames[landmark_columns("hip_left")[1]]
    assert (read.frames[y] > hip_y).all()  # y up as written
    assert read.frames[x][0] == 510.0 and read.frames[z].null_count() == read.frames.height
    assert (read.frames[conf] == 1.0).all()
    with pytest.raises(BadRecording, match="frame rate"):
        read_recording(path, "smartlift_csv", None)
    with pytest.raises(BadRecording, match="IMU"):
        read_recording(path, "smartlift_csv", 30.0, placement="bar")


# --------------------------------------------------------------------------- sensor_logger_csv
T0_NS = 1_787_923_304_000_000_000


def _logger_file(path: Path, rate: float, seconds: float, xyz) -> None:
    n = int(rate * seconds)
    lines = ["time,seconds_elapsed,z,y,x"]
    for k in range(n):
        x, y, z = xyz(k / rate)
        lines.append(f"{T0_NS + int(round(k * 1e9 / rate))},{k / rate:.6f},{z:.6f},{y:.6f},{x:.6f}")
    path.write_text("\n".join(lines) + "\n")


def _sensor_logger(folder: Path, platform: str, standardised: bool = False, total: bool = False) -> Path:
    """A phone lying flat, shaken along x: Android reports gravity as +z, an iPhone as -z."""
    folder.mkdir(parents=True)
    sign = -1.0 if platform == "ios" and not standardised else 1.0
    _logger_file(folder / "Accelerometer.csv", 100.0, 5.0, lambda t: (sign * np.sin(2 * np.pi * t), 0.0, 0.0))
    _logger_file(folder / "Gravity.csv", 100.0, 5.0, lambda t: (0.0, 0.0, sign * 9.80665))
    _logger_file(folder / "Gyroscope.csv", 50.0, 5.0, lambda t: (0.0, 0.0, 0.5))
    if total:
        _logger_file(
            folder / "TotalAcceleration.csv", 100.0, 5.0, lambda t: (np.sin(2 * np.pi * t), 0.0, 9.80665)
        )
    (folder / "Metadata.csv").write_text(
        "version,device name,recording epoch time,recording time,recording timezone,platform,appVersion,"
        "device id,sensors,sampleRateMs,standardisation,platform version\n"
        f"3,TestPhone,{T0_NS},2026-08-28_13-21-44,Europe/Paris,{platform},1.64,test-id,"
        f"Accelerometer|Gyroscope|Gravity,10|20|10,{str(standardised).lower()},17\n"
    )
    (folder / "Annotation.csv").write_text("time,seconds_elapsed,text,millisecond_press_duration\n")
    return folder


@pytest.mark.parametrize(
    ("platform", "standardised", "total"),
    [("android", False, True), ("android", False, False), ("ios", False, False), ("ios", True, False)],
)
def test_sensor_logger_acceleration_includes_gravity_with_android_signs(
    tmp_path, platform, standardised, total
):
    folder = _sensor_logger(tmp_path / "2026-08-28_13-21-44", platform, standardised, total)
    assert detect_format(folder) == "sensor_logger_csv"
    fmt, read = read_recording(folder, None, None, placement="wrist_left")
    assert fmt == "sensor_logger_csv" and read.sensors == "wrist_left"
    assert read.sample_rate_hz == pytest.approx(100.0, rel=1e-3)
    acc = _acc(read.frames, "wrist_left")
    assert np.nanmedian(acc[:, 2]) == pytest.approx(9.80665, rel=1e-3)  # specific force up, lying flat
    assert np.nanmax(acc[:, 0]) == pytest.approx(1.0, abs=0.01)  # the shake keeps its sign too
    assert np.nanmedian(_gyr(read.frames, "wrist_left")[:, 2]) == pytest.approx(0.5)


def test_sensor_logger_needs_a_placement_and_its_metadata(tmp_path):
    folder = _sensor_logger(tmp_path / "rec", "ios")
    with pytest.raises(BadRecording, match="placement column"):
        read_recording(folder, "sensor_logger_csv", None)
    _, read = read_recording(folder / "Gyroscope.csv", "sensor_logger_csv", None, placement="bar")
    assert read.sensors == "bar" and not read.notes
    # The app records the sensors its user ticks: the accelerometer alone reads, and says so.
    (folder / "Gyroscope.csv").unlink()
    _, read = read_recording(folder, "sensor_logger_csv", None, placement="bar")
    assert "bar_gyr_x" not in read.frames.columns and "without a gyroscope" in read.notes[0]
    (folder / "Metadata.csv").unlink()
    with pytest.raises(BadRecording, match="Metadata.csv"):
        read_recording(folder, "sensor_logger_csv", None, placement="bar")
    (folder / "Gravity.csv").unlink()
    with pytest.raises(BadRecording, match="accelerometer"):
        read_recording(folder, "sensor_logger_csv", None, placement="bar")


# --------------------------------------------------------------------------- manifest
def _manifest(folder: Path, rows: list[str], header: str) -> Path:
    path = folder / "manifest.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_manifest_accepts_other_lifts_and_layout_formats_with_placement(tmp_path):
    acc, _ = _metamotion(tmp_path / "mm")
    for name in ("pose", "bench", "rdl", "kb"):
        (tmp_path / f"{name}.csv").write_text("x\n")
    relative = acc.relative_to(tmp_path)
    # a file per recording: a second id for the same file is refused
    split, mm = (_metamotion(tmp_path / n)[0].relative_to(tmp_path) for n in ("mm-split", "mm-mm"))
    header = "recording_id,path,athlete_id,session_date,exercise,format,placement"
    manifest = _manifest(
        tmp_path,
        [
            f"sq,{relative},A1,2026-01-05,Squat,metamotion_csv,Wrist Right",
            f"split,{split},A1,2026-01-05,split_squat,,",
            f"mm,{mm},A1,2026-01-05,deadlift,metamotion_csv,",
            "bad-ex,pose.csv,A1,2026-01-05,bench+press,,",
            "bench,bench.csv,A1,2026-01-05,Bench Press,,",
            "rdl,rdl.csv,A1,2026-01-05,RDL,,",
            "kb,kb.csv,A1,2026-01-05,KB swing,,",
            "digit,pose.csv,A1,2026-01-05,1rm_test,,",
            f"long,pose.csv,A1,2026-01-05,{'a' * 41},,",
            f"bad-place,{relative},A1,2026-01-05,deadlift,metamotion_csv,elbow",
            "pose-place,pose.csv,A1,2026-01-05,deadlift,mediapipe_csv,bar",
            "multi,pose.csv,A1,2026-01-05,squat,esp32_mpu6050_csv,thigh_right",
            "bad-fmt,pose.csv,A1,2026-01-05,deadlift,metawear,",
        ],
        header,
    )
    valid, rejected = read_manifest(manifest)
    rows = {r.recording_id: r for r in valid}
    reasons = {r.recording_id: r.reason for r in rejected}
    assert set(rows) == {"sq", "split", "mm", "bench", "rdl", "kb"}
    # as coaches write them: words joined, a hinge exercise's abbreviation mapped to its name
    assert (rows["bench"].exercise, rows["rdl"].exercise, rows["kb"].exercise) == (
        "bench_press",
        "romanian_deadlift",
        "kettlebell_swing",
    )
    assert rows["sq"].exercise == "squat" and rows["sq"].placement == "wrist_right"
    assert rows["sq"].metadata()["placement"] == "wrist_right"
    assert "placement" not in rows["mm"].metadata()  # rows without it keep their content hash
    assert rows["split"].exercise == "split_squat" and rows["split"].format is None
    for rid in ("bad-ex", "digit", "long"):
        assert "lift name" in reasons[rid]
    assert "elbow" in reasons["bad-place"]
    assert "single-sensor" in reasons["pose-place"] and "single-sensor" in reasons["multi"]
    assert "metamotion_csv" in reasons["bad-fmt"]  # the message lists the layouts too
    fmt, read = read_recording(rows["sq"].file, rows["sq"].format, None, rows["sq"].placement)
    assert read.sensors == "wrist_right"


def test_a_lift_outside_the_hinge_vocabulary_goes_through_and_stays_uncertain(tmp_path):
    manifest = simulate_team(tmp_path / "data", athletes=1, sessions=1, exercises=("deadlift",), seed=3)
    table = pl.read_csv(manifest)
    table.with_columns(exercise=pl.lit("split_squat")).write_csv(manifest)
    lake = Lake(tmp_path / "lake")
    lake.create()
    rows, rejected = read_manifest(manifest)
    assert not rejected
    summary = ingest_chunk(lake, rows)
    assert len(summary.ingested) == len(rows) and not summary.quarantined
    runner = CliRunner()
    # `hinge predict` with the default model, which knows the six hinge exercises only
    result = runner.invoke(app, ["predict", "--lake", str(lake.root)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "reps.csv"
    assert runner.invoke(app, ["export", "reps", "--lake", str(lake.root), "--out", str(out)]).exit_code == 0
    reps = pl.read_csv(out)
    assert reps.height > 0 and set(reps["exercise"]) == {"split_squat"}
    assert set(reps["label"]) == {"uncertain"}
    assert reps["peak_hip_flexion_deg"].is_not_null().all()  # processed generically: angles, metrics


# --------------------------------------------------------------------------- real recordings
def test_real_squat_imu_sets():
    files = sorted(_real("squat_imu_form_dev").glob("raw/class*/*.csv"))
    assert len(files) == 15
    for path in files:
        assert detect_format(path) == "esp32_mpu6050_csv"
        _, read = read_recording(path, None, None)
        assert read.sensors == "lower_back,thigh_left,shank_left"
        assert 105 < read.sample_rate_hz < 115  # the device clock, not the 100 Hz of the metadata
        assert 19 < float(read.frames["t_s"][-1]) < 38
        standing = read.frames.head(50)
        assert _norm(_acc(standing, "lower_back")) == pytest.approx(9.8, abs=0.3)
        # The thigh and shank sensors carry a constant offset in the source files (12-13 m/s^2 at rest).
        for placement in ("thigh_left", "shank_left"):
            assert 11.5 < _norm(_acc(standing, placement)) < 13.5
        assert np.nanmax(np.abs(_gyr(read.frames, "lower_back"))) < 10  # rad/s, not deg/s


def test_real_metamotion_recordings_pair_and_read():
    folder = _real("metamotion_barbell_imu") / "raw"
    accelerometer = sorted(folder.glob("*_Accelerometer_*.csv"))
    assert len(accelerometer) == 34 and len(list(folder.glob("*_Gyroscope_*.csv"))) == 34
    layout = load_layout("metamotion_csv")
    for path in accelerometer:
        assert detect_format(path) == "metamotion_csv"
        files = recording_files(layout, path)
        gyro = files["Gyroscope_*Hz"]
        assert gyro is not None and gyro.name == path.name.replace(
            "Accelerometer_12.500Hz", "Gyroscope_25.000Hz"
        )
        for part, step in ((path, 80), (gyro, 40)):  # 12.5 Hz and 25 Hz on the epoch clock
            epoch = Table(part, layout).numbers("epoch (ms)", layout.title)
            assert np.median(np.diff(epoch)) == pytest.approx(step, abs=1)
        _, read = read_recording(path, None, None)
        assert read.sensors == "wrist_left" and read.sample_rate_hz == pytest.approx(25.0, rel=0.01)
        assert 15 < float(read.frames["t_s"][-1]) < 41
        gyr = _gyr(read.frames, "wrist_left")
        # Three recordings pause logging for 2.2-2.5 s: those stretches stay empty, not bridged.
        assert np.isfinite(gyr).mean() > 0.9 and np.nanmax(np.abs(gyr)) < 20  # rad/s
        if "-rest-" in path.name:
            assert _norm(_acc(read.frames, "wrist_left")) == pytest.approx(9.9, abs=0.3)


def test_real_ktbl_kettlebell_files():
    folder = _real("ktbl_kettlebell_imu")
    serial = sorted(folder.glob("raw/ktbl_*.csv"))
    bluetooth = sorted(folder.glob("field_test/*.csv")) + [folder / "raw" / "swing_ble_1.csv"]
    assert len(serial) == 5 and len(bluetooth) == 9
    for path in serial + bluetooth:
        assert detect_format(path) == "ktbl_csv", path.name
        _, read = read_recording(path, None, None)
        assert read.sensors == "implement"
        assert not any("gyr" in c for c in read.frames.columns)
        acc = _acc(read.frames, "implement")
        assert np.nanmax(np.abs(acc)) < 4.5 * STANDARD_GRAVITY  # the sensor's +-4 g range, in m/s^2
        if path in serial:
            assert 390 < read.sample_rate_hz < 410
            assert 40 < float(read.frames["t_s"][-1]) < 115
            assert _norm(acc[:2000]) == pytest.approx(9.7, abs=0.3)  # at rest before the first rep
        else:
            assert 30 < read.sample_rate_hz < 55
            assert 18 < float(read.frames["t_s"][-1]) < 31
    swing = read_recording(folder / "raw" / "swing_ble_1.csv", None, None)[1]
    assert swing.frames.height == 600  # the 200 rows of zeros at its end are not samples


def test_real_smartlift_landmarks():
    files = sorted(_real("smartlift_mediapipe_deadlift").glob("csv/*.csv"))
    assert len(files) == 10
    for path in files:
        assert detect_format(path) == "smartlift_csv"
        _, read = read_recording(path, None, 30.0)
        rows = pl.read_csv(path, columns=["video_frame"])["video_frame"].to_numpy()
        assert read.sensors == "image_px" and read.frames.height == len(rows)
        assert np.allclose(read.frames["t_s"].to_numpy(), (rows - rows[0]) / 30.0)
        assert read.sample_rate_hz == pytest.approx(10.0)
        hip_y = np.nanmedian(read.frames[landmark_columns("hip_left")[1]].to_numpy())
        knee_y = np.nanmedian(read.frames[landmark_columns("knee_left")[1]].to_numpy())
        assert hip_y > knee_y  # y up: the hip is above the knee in every clip, even the rotated one


# --------------------------------------------------------------------------- phyphox_csv
def _phyphox_file(path: Path, t: np.ndarray, names: list[str], values: np.ndarray) -> None:
    """A phyphox CSV export set: quoted names, numbers as phyphox writes them (``9.095835114E0``)."""
    lines = [",".join(f'"{n}"' for n in names)]
    lines += [",".join(f"{v:.9E}" for v in row) for row in np.column_stack([t, values])]
    path.write_text("\n".join(lines) + "\n")


def _phyphox_export(folder: Path, gyroscope: bool) -> Path:
    """A thigh-worn phone through 5 Romanian deadlifts, exported from "Acceleration with g" (one
    ``Raw Data.csv``), or from an experiment of the user's own with a gyroscope set too."""
    from hinge_analytics.simulate import imu as sim_imu
    from hinge_analytics.simulate.body import Anthropometry
    from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set

    rng = np.random.default_rng(11)
    time_s, pose, _ = simulate_set(SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * 5), 100.0, rng)
    signal = sim_imu.imu_signals(time_s, pose, Anthropometry(1.75), ("thigh_right",), rng=rng, noise=False)
    acc, gyr = signal["thigh_right"].acc, signal["thigh_right"].gyr
    time_names = ["Time (s)"]
    folder.mkdir(parents=True)
    (folder / "meta").mkdir()
    (folder / "meta" / "device.csv").write_text('"property","value"\n"deviceModel","TestPhone"\n')
    acc_names = [f"Acceleration {a} (m/s^2)" for a in "xyz"]
    if not gyroscope:
        values = np.column_stack([acc, np.linalg.norm(acc, axis=1)])
        names = [*time_names, *acc_names, "Absolute acceleration (m/s^2)"]
        _phyphox_file(folder / "Raw Data.csv", time_s, names, values)
        return folder
    _phyphox_file(folder / "Accelerometer.csv", time_s, [*time_names, *acc_names], acc)
    gyr_names = [f"Gyroscope {a} (rad/s)" for a in "xyz"]
    _phyphox_file(folder / "Gyroscope.csv", time_s, [*time_names, *gyr_names], gyr)
    return folder


@pytest.mark.parametrize("gyroscope", [False, True])
def test_phyphox_export_of_a_thigh_worn_phone_counts_its_reps(tmp_path, gyroscope):
    from hinge_analytics.ingest.discover import find_recordings
    from hinge_analytics.pipeline import analyse

    folder = _phyphox_export(tmp_path / "rdl", gyroscope)
    assert detect_format(folder) == "phyphox_csv"
    found, _ = find_recordings(tmp_path)  # `hinge manifest`: the export's folder is one recording
    assert [(c.path, c.fmt) for c in found] == [(folder, "phyphox_csv")]
    fmt, read = read_recording(folder, None, None, placement="thigh_right")
    assert fmt == "phyphox_csv" and read.sensors == "thigh_right"
    assert read.sample_rate_hz == pytest.approx(100.0, rel=1e-3)
    gravity = np.nanmedian(np.linalg.norm(_acc(read.frames, "thigh_right"), axis=1))
    assert gravity == pytest.approx(9.8, abs=0.3)
    assert ("thigh_right_gyr_x" in read.frames.columns) == gyroscope
    assert analyse(read, "romanian_deadlift").reps.height == 5
    with pytest.raises(BadRecording, match="placement column"):
        read_recording(folder, "phyphox_csv", None)


def test_a_layout_file_of_the_coachs_own_reads_a_device_no_layout_ships_for(tmp_path):
    """A logger whose CSV no shipped layout knows (German headers, ms clock, g and deg/s): the coach
    writes its mapping as a TOML file beside the batch and names it in the manifest's format
    column. Editing the mapping re-ingests the recording; a broken mapping rejects the row."""
    from hinge_analytics.pipeline import analyse, content_hash

    export = _phyphox_export(tmp_path / "phone", gyroscope=True)
    acc = pl.read_csv(export / "Accelerometer.csv")
    gyr = pl.read_csv(export / "Gyroscope.csv")
    logger = pl.DataFrame(
        {
            "Zeit [ms]": (acc["Time (s)"] * 1000).round(3),
            **{f"Beschl. {a}": acc[f"Acceleration {a} (m/s^2)"] / 9.80665 for a in "xyz"},
            **{f"Drehrate {a}": gyr[f"Gyroscope {a} (rad/s)"] * 180 / np.pi for a in "xyz"},
        }
    )
    (tmp_path / "sets").mkdir()
    logger.write_csv(tmp_path / "sets" / "rdl_1.csv", separator=";")
    (tmp_path / "layouts").mkdir()
    layout = tmp_path / "layouts" / "vereins_logger.toml"
    layout.write_text(
        'kind = "imu"\ntitle = "our club\'s logger"\n[csv]\nheader = true\ndelimiter = ";"\n'
        '[time]\ncolumn = "Zeit [ms]"\nunit = "ms"\n[[sensor]]\n'
        'acc = { columns = ["Beschl. x", "Beschl. y", "Beschl. z"], unit = "g" }\n'
        'gyr = { columns = ["Drehrate x", "Drehrate y", "Drehrate z"], unit = "deg/s" }\n'
    )
    broken = layout.read_text().replace("acc = ", "colour = 1\nacc = ")  # a key no layout has
    (tmp_path / "layouts" / "broken.toml").write_text(broken)
    manifest = _manifest(
        tmp_path,
        [
            "rdl-1,sets/rdl_1.csv,A1,2026-01-05,romanian_deadlift,layouts/vereins_logger.toml,thigh_right",
            "broken,sets/rdl_1.csv,A1,2026-01-05,romanian_deadlift,layouts/broken.toml,thigh_right",
            "absent,sets/rdl_1.csv,A1,2026-01-05,romanian_deadlift,layouts/none.toml,thigh_right",
        ],
        "recording_id,path,athlete_id,session_date,exercise,format,placement",
    )
    valid, rejected = read_manifest(manifest)
    reasons = {r.recording_id: r.reason for r in rejected}
    assert [r.recording_id for r in valid] == ["rdl-1"], reasons
    assert "broken.toml" in reasons["broken"] and "colour" in reasons["broken"]
    assert "does not exist" in reasons["absent"]
    row = valid[0]
    fmt, read = read_recording(row.file, row.format, row.sample_rate_hz, row.placement, row.layout_file)
    assert fmt == "layouts/vereins_logger.toml" and read.sensors == "thigh_right"
    assert read.sample_rate_hz == pytest.approx(100.0, rel=1e-3)
    gravity = np.nanmedian(np.linalg.norm(_acc(read.frames, "thigh_right"), axis=1))
    assert gravity == pytest.approx(9.8, abs=0.3)
    assert analyse(read, "romanian_deadlift").reps.height == 5
    CliRunner().invoke(app, ["ingest", str(manifest), "--lake", str(tmp_path / "lake")])  # `hinge ingest`
    recordings = Lake(tmp_path / "lake").read("recordings", ["recording_id", "format"])
    assert recordings.rows() == [("rdl-1", "layouts/vereins_logger.toml")]
    before = content_hash(row)
    layout.write_text(layout.read_text().replace('title = "our club\'s logger"', 'title = "club logger v2"'))
    assert content_hash(row) != before
