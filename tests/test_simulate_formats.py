"""Every simulated format is laid out as its tool writes it and readable by the tool's own reader."""

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics.formats import BODY_25, COCO_18, POSE2SIM_MARKERS
from hinge_analytics.schema import BODY_PLACEMENTS, TRUTH_REPS
from hinge_analytics.simulate.bad import BAD_CASES
from hinge_analytics.simulate.team import SUPPORTED_FORMATS, simulate_team

EXERCISES = ("romanian_deadlift", "kettlebell_swing", "hip_thrust")


@pytest.fixture(scope="module")
def every_format(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("every_format")
    simulate_team(
        out,
        athletes=2,
        sessions=2,
        formats=SUPPORTED_FORMATS,
        exercises=EXERCISES,
        sets_per_exercise=2,
        seed=21,
    )
    return out


def _rows(out: Path, fmt: str) -> list[dict]:
    manifest = pl.read_csv(out / "manifest.csv", infer_schema=False)
    rows = manifest.filter(pl.col("format") == fmt).to_dicts()
    assert rows, f"no {fmt} recording simulated"
    return rows


def test_batch_files_and_truth(every_format):
    manifest = pl.read_csv(every_format / "manifest.csv")
    assert set(manifest["format"]) == set(SUPPORTED_FORMATS)
    truth = pl.read_csv(every_format / "truth_reps.csv")
    assert tuple(truth.columns) == tuple(TRUTH_REPS)
    assert set(truth["recording_id"]) == set(manifest["recording_id"])
    labels = pl.read_csv(every_format / "rep_labels.csv")
    assert labels.height == truth.height
    athletes = pl.read_csv(every_format / "athletes.csv")
    assert athletes["athlete_id"].to_list() == ["A001", "A002"]
    assert {"too_heavy_too_soon", "asymmetric", "knee_asymmetry_deg"} <= set(athletes.columns)
    for path in manifest["path"]:
        assert (every_format / path).exists()


def test_trc_reads_like_opensim(every_format):
    """OpenSim's TRCFileAdapter: 5 header lines (+ optional blank), then tab-separated data."""
    for row in _rows(every_format, "trc"):
        supine = row["exercise"] == "hip_thrust"
        lines = (every_format / row["path"]).read_text().split("\n")
        assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
        keys = lines[1].split("\t")
        assert keys == [
            "DataRate",
            "CameraRate",
            "NumFrames",
            "NumMarkers",
            "Units",
            "OrigDataRate",
            "OrigDataStartFrame",
            "OrigNumFrames",
        ]
        header = dict(zip(keys, lines[2].split("\t"), strict=True))
        names = [c for c in lines[3].split("\t")[2:] if c]
        assert tuple(names) == POSE2SIM_MARKERS and int(header["NumMarkers"]) == len(names)
        assert lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"]
        data_lines = [ln for ln in lines[5:] if ln.strip()]
        assert len(data_lines) == int(header["NumFrames"])
        data = np.array([[float(v) for v in ln.split("\t")] for ln in data_lines[:50]])
        assert data.shape[1] == 2 + 3 * len(names)
        assert np.allclose(np.diff(data[:, 1]), 1 / float(header["DataRate"]), atol=1e-5)
        scale = 1000.0 if header["Units"] == "mm" else 1.0
        head_y = data[:, 2 + 3 * names.index("Head") + 1] / scale
        ankle_y = data[:, 2 + 3 * names.index("RAnkle") + 1] / scale
        assert supine or np.all(head_y - ankle_y > 1.2)  # Y up, standing at the start


def test_c3d_reads_with_ezc3d(every_format):
    ezc3d = pytest.importorskip("ezc3d")
    for row in _rows(every_format, "c3d"):
        c = ezc3d.c3d(str(every_format / row["path"]))
        points = c["data"]["points"]
        labels = c["parameters"]["POINT"]["LABELS"]["value"]
        assert tuple(labels) == POSE2SIM_MARKERS and points.shape[:2] == (4, len(labels))
        assert c["parameters"]["POINT"]["UNITS"]["value"][0] == "mm"
        assert c["parameters"]["POINT"]["RATE"]["value"][0] in (100.0, 120.0)
        thigh = np.linalg.norm(points[:3, labels.index("RHip")] - points[:3, labels.index("RKnee")], axis=0)
        thigh = thigh[np.isfinite(thigh)]
        assert np.std(thigh) < 5.0  # mm: constant segment length within marker noise


def test_openpose_json_layout(every_format):
    for row in _rows(every_format, "openpose_json"):
        folder = every_format / row["path"]
        files = sorted(folder.glob("*_keypoints.json"))
        assert files[0].name.endswith("_000000000000_keypoints.json")
        assert float(row["sample_rate_hz"]) in (30.0, 60.0)
        doc = json.loads(files[0].read_text())
        assert doc["version"] == 1.3 and doc["people"][0]["person_id"] == [-1]
        kp = np.array(doc["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)
        assert len(kp) in (len(BODY_25), len(COCO_18))
        seen = kp[:, 2] > 0
        assert np.all(kp[~seen] == 0) and np.all(kp[seen, 2] <= 1)
        assert kp[seen, 0].max() > 100  # pixels, not normalised


def test_coco17_json_layout(every_format):
    for row in _rows(every_format, "coco17_json"):
        frames = json.loads((every_format / row["path"]).read_text())
        assert frames[0]["frame_id"] == 0
        inst = frames[0]["instances"][0]
        assert np.array(inst["keypoints"]).shape == (17, 2) and len(inst["keypoint_scores"]) == 17
        assert len(inst["bbox"][0]) == 4


def test_mediapipe_image_landmarks_are_normalised(every_format):
    kinds = set()
    for row in _rows(every_format, "mediapipe_csv"):
        table = pl.read_csv(every_format / row["path"])
        if "image_width" in table.columns:
            kinds.add("image")
            assert table["image_width"][0] in (1080, 1920)
            assert 0 < table["left_hip_x"].median() < 1 and 0 < table["left_hip_y"].median() < 1
        else:
            kinds.add("world")
            assert abs(table["left_hip_x"].median()) < 0.2  # hip-centred metres
            assert table["nose_y"].median() < 0 < table["left_ankle_y"].median()  # y down


def test_imu_files_generic_and_movella_dot(every_format):
    styles = set()
    for row in _rows(every_format, "imu_csv"):
        folder = every_format / row["path"]
        stems = {p.stem for p in folder.glob("*.csv")}
        assert stems and stems <= set(BODY_PLACEMENTS)
        first = next(iter(sorted(folder.glob("*.csv"))))
        text = first.read_text()
        if text.startswith("sep=,"):
            styles.add("dot")
            lines = text.split("\n")
            start = next(i for i, ln in enumerate(lines) if ln.startswith("PacketCounter"))
            table = pl.read_csv(first, skip_rows=start)
            assert table.columns[:2] == ["PacketCounter", "SampleTimeFine"]
            ticks = table["SampleTimeFine"].to_numpy().astype(np.int64)
            steps = np.diff(ticks) % 2**32  # unwrap the uint32 microsecond counter
            assert np.allclose(steps, 1e6 / 60, atol=1)
            acc = table.select("Acc_X", "Acc_Y", "Acc_Z").to_numpy()[:30]
            assert np.allclose(np.linalg.norm(acc, axis=1), 9.81, atol=0.4)
        else:
            styles.add("generic")
            table = pl.read_csv(first)
            assert table.columns[0] == "time_s" and "quat_w" in table.columns
            assert np.allclose(np.diff(table["time_s"].to_numpy()), 0.01, atol=1e-5)
    assert styles  # at least one style in this batch


def test_determinism_of_every_format(tmp_path):
    def digest(out: Path) -> str:
        h = hashlib.sha256()
        for p in sorted(out.rglob("*")):
            if p.is_file():
                h.update(str(p.relative_to(out)).encode())
                h.update(p.read_bytes())
        return h.hexdigest()

    kw = dict(athletes=1, sessions=1, formats=SUPPORTED_FORMATS, exercises=("good_morning",), seed=8, bad=1)
    a = simulate_team(tmp_path / "a", **kw)
    b = simulate_team(tmp_path / "b", **kw)
    assert digest(a.parent) == digest(b.parent)


def test_cli_simulate_all_formats_with_bad_inputs(tmp_path):
    from hinge_analytics.cli import app

    out = tmp_path / "batch"
    args = ["simulate", "--out", str(out), "--athletes", "1", "--sessions", "1", "--formats", "all"]
    result = CliRunner().invoke(app, [*args, "--exercises", "deadlift", "--bad", "5", "--seed", "3"])
    assert result.exit_code == 0, result.output
    bad = pl.read_csv(out / "bad_files.csv")
    assert set(bad["case"]) == set(BAD_CASES)
    manifest = pl.read_csv(out / "manifest.csv", infer_schema=False)
    assert set(bad["recording_id"]) <= set(manifest["recording_id"])
    result = CliRunner().invoke(app, ["simulate", "--out", str(out), "--exercises", "curls"])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_bad_inputs_are_quarantined_by_the_ingest_checks(tmp_path):
    """The mediapipe reader and manifest validation recognise every planted bad input."""
    from hinge_analytics.ingest import read_recording
    from hinge_analytics.ingest.errors import BadRecording
    from hinge_analytics.ingest.manifest import read_manifest

    manifest = simulate_team(tmp_path, athletes=1, sessions=1, exercises=("deadlift",), seed=2, bad=1)
    bad = {r["recording_id"]: r for r in pl.read_csv(tmp_path / "bad_files.csv").to_dicts()}
    rows, rejected = read_manifest(manifest)
    reasons = {r.recording_id: r.reason for r in rejected}
    for row in rows:
        if row.recording_id in bad:
            with pytest.raises(BadRecording) as info:
                read_recording(row.file, row.format, row.sample_rate_hz)
            reasons[row.recording_id] = str(info.value)
    assert set(reasons) == set(bad)
    for rid, reason in reasons.items():
        assert any(word in reason.lower() for word in bad[rid]["expected"].split("|")), (rid, reason)
