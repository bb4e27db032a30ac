"""`hinge manifest DIR` and `hinge ingest DIR`: a coach's folder to a manifest, names to fields.

A folder written here (simulated recordings in every format, laid out as a coach would, with a
MetaMotion export and files that are not recordings), then the real recordings of
../shared/realdata in place when that folder exists (it is not part of the repository: those tests
skip without it, and nothing is copied from it).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics.cli import app
from hinge_analytics.ingest.discover import (
    NotAFolder,
    Pattern,
    PatternError,
    date_value,
    describe,
    exercise_name,
    find_recordings,
    manifest_base,
    manifest_frame,
    needs_filling,
)
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.jobs.report import build_reports
from hinge_analytics.lake import Lake
from hinge_analytics.simulate.team import SUPPORTED_FORMATS, simulate_team

runner = CliRunner()
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
ALIAS = {"deadlift": "DL", "romanian_deadlift": "rdl"}  # how the coach abbreviates the lifts
PATTERN = "{athlete}/{date}/{exercise}_set{set}{*}"
MM = "MetaWear_2019-01-15T20.35.27.174_C42732BE255C"


def _files(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")}


def _metamotion(folder: Path, stem: str, seconds: float = 8.0) -> tuple[Path, Path]:
    """A MetaMotion export: accelerometer (12.5 Hz, g) and gyroscope (25 Hz, deg/s) files."""
    folder.mkdir(parents=True, exist_ok=True)
    start = 1547580927366
    acc = folder / f"{stem}_{MM}_Accelerometer_12.500Hz_1.4.4.csv"
    rows = ["epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"]
    rows += [f"{start + 80 * k},2019-01-15T20:35:27.366,{0.08 * k:.3f},0.000,0.000,1.000" for k in range(100)]
    acc.write_text("\n".join(rows) + "\n")
    gyr = folder / f"{stem}_{MM}_Gyroscope_25.000Hz_1.4.4.csv"
    rows = ["epoch (ms),time (01:00),elapsed (s),x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)"]
    rows += [
        f"{start + 40 * k},2019-01-15T20:35:27.366,{0.04 * k:.3f},10.000,0.000,0.000" for k in range(200)
    ]
    gyr.write_text("\n".join(rows) + "\n")
    return acc, gyr


@pytest.fixture(scope="module")
def coach(tmp_path_factory) -> dict:
    """Simulated recordings in every format, re-filed as ``<athlete>/<date>/<lift>_set<n>`` with the
    coach's abbreviations, plus a MetaMotion export and a README, notes, labels and JSON metadata."""
    sim = simulate_team(
        tmp_path_factory.mktemp("sim"),
        athletes=2,
        sessions=1,
        formats=SUPPORTED_FORMATS,
        exercises=tuple(ALIAS),
        sets_per_exercise=3,
        seed=5,
    )
    truth = pl.read_csv(sim, infer_schema=False)
    folder = tmp_path_factory.mktemp("coach") / "team"
    expected = {}
    for row in truth.iter_rows(named=True):
        source = sim.parent / row["path"]
        day = folder / row["athlete_id"] / row["session_date"]
        day.mkdir(parents=True, exist_ok=True)
        name = f"{ALIAS[row['exercise']]}_set{row['set_number']}"
        if source.is_dir():
            shutil.copytree(source, day / name)
            relative = f"{row['athlete_id']}/{row['session_date']}/{name}"
        else:
            shutil.copy2(source, day / f"{name}{source.suffix}")
            relative = f"{row['athlete_id']}/{row['session_date']}/{name}{source.suffix}"
        expected[relative] = row
    acc, gyr = _metamotion(folder / "A002" / "2026-09-07", "dead_set9")
    (folder / "README.md").write_text("Team recordings. Columns: left_hip_x, acc_x, _visibility.\n")
    (folder / "A001" / "notes.txt").write_text("acc_x looked noisy on set 2\n")
    (folder / "labels").mkdir()
    shutil.copy2(sim.parent / "rep_labels.csv", folder / "labels" / "rep_labels.csv")
    (folder / "A001" / "session.json").write_text('{"coach": "K", "room": 2}')
    return {"folder": folder, "expected": expected, "metamotion": (acc, gyr), "truth": truth}


def test_patterns_read_fields_from_names():
    pattern = Pattern.parse("{athlete}-{exercise}-{*}_MetaWear_{date}T{*}")
    assert pattern.fields("raw/A-dead-heavy_MetaWear_2019-01-15T20.35.27") == {
        "athlete": "A",
        "exercise": "dead",
        "date": "2019-01-15",
    }
    assert Pattern.parse("{athlete}_set{set}").fields("raw/class0/subject1_set1") == {
        "athlete": "subject1",
        "set": "1",
    }
    # known lift names win over the shortest match: good_morning, not "good"
    assert (
        Pattern.parse("{*}_{exercise}_{*}").fields("rv13_good_morning_pvc_world")["exercise"]
        == "good_morning"
    )
    assert Pattern.parse("{athlete}_{load}kg_{side}").fields("A7_82.5kg_L") == {
        "athlete": "A7",
        "load": "82.5",
        "side": "L",
    }
    assert Pattern.parse("{athlete}/{date}").fields("A1/notes") is None
    for bad in ("{athlete}_{athlete}", "{name}", "plain"):
        with pytest.raises(PatternError):
            Pattern.parse(bad)


def test_exercise_names_and_dates():
    assert exercise_name("DL") == exercise_name("dead") == "deadlift"
    assert exercise_name("RDL") == exercise_name("Romanian") == "romanian_deadlift"
    assert exercise_name("KB-Swing") == "kettlebell_swing"
    assert exercise_name("sl rdl") == "single_leg_rdl"
    assert exercise_name("Split Squat") == "split_squat"  # another lift keeps its own name
    assert exercise_name("3x5") is None
    assert date_value("20260314") == date_value("2026_03_14") == dt.date(2026, 3, 14)
    assert date_value("2026-02-30") is None


def _apdm_still(path: Path, seconds: float = 3.0) -> None:
    """An APDM Opal wide export (Format=7) of a lumbar and a chest sensor lying still at 128 Hz."""
    block = ["Accelerometer", "", "", "Gyroscope", "", "", "Magnetometer", "", "", "Barometer", "Orientation"]
    sensors = ((5718, "Lumbar"), (6575, "Chest"))
    lines = [
        "Format=7," + ",".join(f"{serial},,,{label}" + "," * 10 for serial, label in sensors),
        "Time," + ",".join([*block, "", "", ""] * 2),
        "," + ",".join([*"XYZ" * 3, "", *"SXYZ"] * 2),
    ]
    sample = ["0.1", "0.2", "9.8", "0.0", "0.0", "0.0", "0", "0", "0", "0", "1", "0", "0", "0"]
    for k in range(int(seconds * 128)):
        lines.append(",".join([str(1_550_879_504_438_281 + round(k * 1e6 / 128)), *sample * 2]))
    path.write_text("\n".join(lines) + "\n")


def test_each_apdm_wide_export_in_a_folder_is_a_recording_of_its_own(tmp_path):
    """One file holds every sensor of a set, so two sets' files in one folder are two recordings
    (a folder of one CSV per sensor is one)."""
    (tmp_path / "A2").mkdir()
    for name in ("2026-03-15_rdl_set1.csv", "2026-03-15_rdl_set2.csv"):
        _apdm_still(tmp_path / "A2" / name)
    found, _ = find_recordings(tmp_path)
    assert [(c.path.name, c.fmt) for c in found] == [
        ("2026-03-15_rdl_set1.csv", "imu_csv"),
        ("2026-03-15_rdl_set2.csv", "imu_csv"),
    ]


def test_a_coachs_folder_becomes_a_manifest_that_ingests(coach, tmp_path):
    folder, expected = coach["folder"], coach["expected"]
    before = _files(folder)
    candidates, skipped = find_recordings(folder)
    acc, gyr = coach["metamotion"]
    found = {c.path.relative_to(folder).as_posix(): c for c in candidates}
    assert set(found) == {*expected, acc.relative_to(folder).as_posix()}
    # the gyroscope file is the accelerometer file's partner, not a recording of its own
    assert found[acc.relative_to(folder).as_posix()].files == (acc, gyr)
    assert {s.path.relative_to(folder).as_posix() for s in skipped} == {
        "README.md",
        "A001/notes.txt",
        "A001/session.json",
        "labels/rep_labels.csv",
    }
    out = tmp_path / "elsewhere" / "manifest.csv"
    base = manifest_base(folder, out)
    assert base == folder.resolve()
    rows = describe(candidates, folder, base, Pattern.parse(PATTERN))
    manifest = manifest_frame(rows)
    # the formats without times (the simulator gave their rate in its manifest) need a rate
    untimed = [n for n, r in enumerate(rows, 1) if expected.get(r.path, {}).get("sample_rate_hz")]
    assert untimed and needs_filling(rows) == {"sample_rate_hz": untimed}
    # what the coach fills in: the camera's frame rate
    manifest = manifest.with_columns(
        sample_rate_hz=pl.col("path").replace_strict(
            {k: v["sample_rate_hz"] for k, v in expected.items()}, default=None
        ),
        to_check=pl.lit(None, dtype=pl.String),
    )
    for row in manifest.iter_rows(named=True):
        if row["format"] == "metamotion_csv":
            assert (row["athlete_id"], row["exercise"], row["set_number"]) == ("A002", "deadlift", "9")
            assert float(row["measured_rate_hz"]) == 25.0 and float(row["duration_s"]) > 7.5
            continue
        truth = expected[row["path"]]
        for column in ("athlete_id", "session_date", "exercise", "set_number", "format"):
            assert row[column] == truth[column], (row["path"], column)
        if truth["sample_rate_hz"] is None:  # read from the file's own times
            assert float(row["duration_s"]) > 1.0 and float(row["measured_rate_hz"]) > 10.0
    out.parent.mkdir()
    manifest.write_csv(out)
    valid, rejected = read_manifest(out, batch_dir=folder)
    assert not rejected and len(valid) == manifest.height
    summary = ingest_manifest(out, Lake(tmp_path / "lake"), batch_dir=folder)
    assert sorted(summary.ingested) == sorted(manifest["recording_id"]) and not summary.quarantined
    assert _files(folder) == before  # nothing written in the coach's folder


def test_hinge_manifest_says_what_to_fill_and_keeps_an_edited_manifest(coach, tmp_path):
    folder = coach["folder"]
    out = tmp_path / "manifest.csv"
    result = runner.invoke(app, ["manifest", str(folder), "--out", str(out), "--pattern", "{athlete}/{*}"])
    assert result.exit_code == 0, result.output
    manifest = pl.read_csv(out, infer_schema=False)
    assert manifest.height == len(coach["expected"]) + 1
    assert manifest["athlete_id"].is_not_null().all() and manifest["session_date"].is_null().all()
    assert "session_date: 1-" in result.output and "exercise: 1-" in result.output
    assert "sample_rate_hz:" in result.output  # the files without times
    assert f"--batch-dir {folder}" in result.output
    # defaults fill what the names do not give
    again = runner.invoke(
        app,
        [
            "manifest",
            str(folder),
            "--out",
            str(out),
            "--pattern",
            "{athlete}/{*}",
            "--date",
            "2026-01-05",
            "--exercise",
            "rdl",
            "--sample-rate",
            "60",
            "--overwrite",
        ],
    )
    assert again.exit_code == 0, again.output
    manifest = pl.read_csv(out, infer_schema=False)
    assert set(manifest["exercise"]) == {"romanian_deadlift"} and set(manifest["session_date"]) == {
        "2026-01-05"
    }
    assert "every row is complete" in again.output
    refused = runner.invoke(app, ["manifest", str(folder), "--out", str(out)])
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    # a manifest in a folder above the recordings names them from there: no --batch-dir needed
    above = folder.parent / "manifest.csv"
    inside = runner.invoke(app, ["manifest", str(folder), "--out", str(above), "--pattern", PATTERN])
    assert inside.exit_code == 0 and "--batch-dir" not in inside.output
    assert pl.read_csv(above, infer_schema=False)["path"].str.starts_with("team/").all()
    above.unlink()


def test_hinge_manifest_refuses_what_is_not_a_folder_of_recordings(coach, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("nothing here")
    for folder, words in ((empty, "no recordings found"), (tmp_path / "missing", "is not a folder")):
        result = runner.invoke(app, ["manifest", str(folder), "--out", str(tmp_path / "m.csv")])
        assert result.exit_code == 2 and words in result.output
    out = str(tmp_path / "m.csv")
    bad = runner.invoke(app, ["manifest", str(coach["folder"]), "--out", out, "--date", "May"])
    assert bad.exit_code == 2 and "not a date" in bad.output
    # an imu_csv folder is one recording: its sensor files are not recordings of their own
    imu = next(c.path for c in find_recordings(coach["folder"])[0] if c.fmt == "imu_csv")
    with pytest.raises(NotAFolder, match="itself one imu_csv recording"):
        find_recordings(imu)


def test_hinge_ingest_a_folder_writes_its_manifest_beside_the_lake(tmp_path):
    sim = simulate_team(tmp_path / "sim", athletes=1, sessions=1, exercises=("deadlift",), seed=3)
    folder = sim.parent / "recordings"
    lake = tmp_path / "data" / "lake"
    result = runner.invoke(
        app,
        ["ingest", str(folder), "--lake", str(lake), "--pattern", "{athlete}-{date}-{exercise}-s{set}"],
    )
    assert result.exit_code == 0, result.output
    (written,) = (tmp_path / "data").glob("manifest-recordings-*.csv")
    assert "ingested 2 recording(s)" in result.output and f"--batch-dir {folder}" in result.output
    again = runner.invoke(app, ["ingest", str(written), "--lake", str(lake), "--batch-dir", str(folder)])
    assert again.exit_code == 0 and "skipped 2 already in the lake" in again.output
    mixed = runner.invoke(app, ["ingest", str(written), "--lake", str(lake), "--pattern", "{athlete}"])
    assert mixed.exit_code == 2 and "--pattern apply to a folder" in mixed.output


# --------------------------------------------------------------------------- real recordings
REAL = {
    # folder: (pattern, options, recordings, format, fields every row must have)
    "squat_imu_form_dev": (
        "{athlete}_set{set}",
        ["--exercise", "squat", "--date", "2025-10-11"],
        15,
        "esp32_mpu6050_csv",
        {"exercise": {"squat"}, "set_number": {"1"}, "athlete_id": {"subject1", "subject2", "subject3"}},
    ),
    "metamotion_barbell_imu": (
        "{athlete}-{exercise}-{*}_MetaWear_{date}T{*}",
        [],
        34,
        "metamotion_csv",
        {"exercise": {"deadlift", "squat", "rest"}, "athlete_id": set("ABCDE")},
    ),
    "ktbl_kettlebell_imu/raw": (
        "{*}_{set}",
        ["--athlete", "andy", "--exercise", "kb swing", "--date", "2021-06-01"],
        6,
        "ktbl_csv",
        {"exercise": {"kettlebell_swing"}},
    ),
    "smartlift_mediapipe_deadlift/csv": (
        "{exercise}_{set}_{*}",
        ["--athlete", "smartlift", "--date", "2022-01-01", "--sample-rate", "30"],
        10,
        "smartlift_csv",
        {"exercise": {"deadlift"}, "sample_rate_hz": {"30"}},
    ),
    "real_video_dev/landmarks": (
        "{*}_{exercise}_{*}",
        ["--athlete", "unknown", "--date", "2025-01-01"],
        6,
        "mediapipe_csv",
        {"exercise": {"deadlift", "romanian_deadlift", "good_morning"}},
    ),
}


@pytest.mark.parametrize("name", list(REAL))
def test_real_folders_go_from_a_pattern_to_a_report(name, tmp_path):
    folder = REALDATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is not here (real recordings are kept outside the repository)")
    pattern, options, count, fmt, fields = REAL[name]
    out = tmp_path / "manifest.csv"
    result = runner.invoke(app, ["manifest", str(folder), "--out", str(out), "--pattern", pattern, *options])
    assert result.exit_code == 0, result.output
    assert "every row is complete" in result.output, result.output
    manifest = pl.read_csv(out, infer_schema=False)
    assert manifest.height == count and set(manifest["format"]) == {fmt}
    assert manifest["to_check"].is_null().all() and manifest["duration_s"].is_not_null().all()
    for column, values in fields.items():
        assert set(manifest[column]) == values, column
    valid, rejected = read_manifest(out, batch_dir=folder)
    assert len(valid) == count and not rejected
    # and on to a report, the files read where they are
    lake = Lake(tmp_path / "lake")
    summary = ingest_manifest(out, lake, batch_dir=folder)
    assert len(summary.ingested) + len(summary.quarantined) == count and summary.reps > 0
    # every file was read; smartlift's rotated copy of a clip is refused for its content, not its format
    assert len(summary.ingested) >= count - 1, summary.quarantined
    assert not [r for _, r in summary.quarantined if "could not be read" in r or "Cannot tell" in r]
    build_reports(lake, tmp_path / "reports")
    assert (tmp_path / "reports" / "index.html").is_file()


@pytest.mark.parametrize(
    ("header", "named"), [(b"\t,\n", "an empty name"), (b"recording_id,Path, path\n", "'path'")]
)
def test_a_manifest_naming_a_column_twice_is_refused_with_the_name(header, named, tmp_path):
    from hinge_analytics.ingest.errors import BadRecording

    (tmp_path / "manifest.csv").write_bytes(header)
    with pytest.raises(BadRecording, match=f"names a column twice \\({named}\\)"):
        read_manifest(tmp_path / "manifest.csv")
