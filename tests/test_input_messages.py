"""Issue 23, small bad inputs end in a sentence that says what is wrong: an IMU sensor file or
column cut short, timestamps in the other unit than the column's name says, and a labels file
that names a rep twice."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from hinge_analytics.classify.estimator import ModelError
from hinge_analytics.classify.labels import read_labels_file
from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import ManifestRow, read_manifest
from hinge_analytics.pipeline import process_recording
from hinge_analytics.simulate.team import simulate_team


def _first_row(manifest: Path) -> ManifestRow:
    rows, rejected = read_manifest(manifest)
    assert rows and not rejected
    return rows[0]


@pytest.fixture(scope="module")
def imu_row(tmp_path_factory) -> ManifestRow:
    """One simulated deadlift set with seven body IMUs (a folder of one CSV per sensor)."""
    out = tmp_path_factory.mktemp("imu")
    manifest = simulate_team(
        out,
        athletes=1,
        sessions=1,
        exercises=("deadlift",),
        sets_per_exercise=1,
        formats=("imu_csv",),
        seed=2,
    )
    return _first_row(manifest)


@pytest.fixture(scope="module")
def pose_row(tmp_path_factory) -> ManifestRow:
    out = tmp_path_factory.mktemp("pose")
    manifest = simulate_team(
        out, athletes=1, sessions=1, exercises=("deadlift",), sets_per_exercise=1, seed=2
    )
    return _first_row(manifest)


def _edited(row: ManifestRow, folder: Path, edit) -> ManifestRow:
    """``row`` pointing at an edited copy of its recording."""
    target = folder / row.file.name
    if row.file.is_dir():
        shutil.copytree(row.file, target)
    else:
        shutil.copy(row.file, target)
    edit(target)
    return replace(row, file=target)


def _reason(row: ManifestRow) -> str:
    with pytest.raises(BadRecording) as caught:
        process_recording(row)
    reason = str(caught.value)
    assert "could not be" not in reason and "Error" not in reason, reason  # no internal exception
    return reason


def _column_cut(path: Path, columns: tuple[str, ...], keep: float) -> None:
    table = pl.read_csv(path)
    kept = pl.int_range(pl.len()) < int(keep * table.height)
    table.with_columns([pl.when(kept).then(pl.col(c)).otherwise(None).alias(c) for c in columns]).write_csv(
        path
    )


def test_an_imu_sensor_file_much_shorter_than_the_others_is_named(imu_row, tmp_path):
    def shorten(folder: Path) -> None:
        sacrum = folder / "sacrum.csv"
        pl.read_csv(sacrum).head(300).write_csv(sacrum)  # 3 s of a 32 s set

    reason = _reason(_edited(imu_row, tmp_path, shorten))
    assert reason.startswith("The sensors share only 3.0 s of the ")
    assert "the sacrum sensor (sacrum.csv) stops at 3.0 s" in reason and "Re-export the short file" in reason


def test_an_imu_column_cut_short_where_another_sensor_starts_late_is_a_reason(imu_row, tmp_path):
    """This case ended in "could not be analysed (IndexError: index 0 is out of bounds ...)": the
    thigh's gyroscope was empty over the whole span the sensors share."""

    def cut(folder: Path) -> None:
        _column_cut(folder / "thigh_left.csv", ("gyr_x", "gyr_y", "gyr_z"), keep=0.55)
        late = folder / "thigh_right.csv"
        table = pl.read_csv(late)
        table.slice(int(0.45 * table.height)).write_csv(late)

    reason = _reason(_edited(imu_row, tmp_path, cut))
    assert reason.startswith("The thigh_left sensor (thigh_left.csv) has no gyroscope values in 8")
    assert "its gyroscope values stop at 17.7 s of the file" in reason


def test_an_imu_column_or_time_cut_short_says_where(imu_row, tmp_path):
    one = _edited(imu_row, tmp_path / "acc", lambda f: _column_cut(f / "lower_back.csv", ("acc_x",), 0.1))
    assert _reason(one).endswith("(none after 3.2 s of its 32.2 s: a column cut short?).")
    two = _edited(imu_row, tmp_path / "time", lambda f: _column_cut(f / "lower_back.csv", ("time_s",), 0.5))
    reason = _reason(two)
    assert reason.startswith("The time_s column of lower_back.csv is empty in 1612 of its 3223 rows")
    assert "(from data row 1612)" in reason and "cut short" in reason


def test_seconds_in_a_milliseconds_column_get_a_hint(pose_row, imu_row, tmp_path):
    def seconds_as_ms(path: Path) -> None:
        table = pl.read_csv(path)
        table.with_columns(timestamp_ms=pl.col("timestamp_ms") / 1000).write_csv(path)

    pose = _edited(pose_row, tmp_path, seconds_as_ms)
    with pytest.raises(BadRecording) as caught:
        read_recording(pose.file, pose.format, None)
    reason = str(caught.value)
    assert reason.startswith(f"The timestamp_ms column of {pose.file.name} advances by 0.0167 a sample")
    assert "60,000 samples a second" in reason and "look like seconds" in reason and "timestamp_s" in reason

    def imu_seconds_as_ms(folder: Path) -> None:
        for sensor in folder.iterdir():
            pl.read_csv(sensor).rename({"time_s": "timestamp_ms"}).write_csv(sensor)

    imu = _edited(imu_row, tmp_path / "imu", imu_seconds_as_ms)
    assert "The values look like seconds (0.5 min)" in _reason(imu)


def test_milliseconds_in_a_seconds_column_get_a_hint(pose_row, tmp_path):
    def ms_as_seconds(path: Path) -> None:
        table = pl.read_csv(path)
        table.rename({"timestamp_ms": "timestamp_s"}).write_csv(path)

    pose = _edited(pose_row, tmp_path, ms_as_seconds)
    with pytest.raises(BadRecording, match=r"advances by 16.7 a sample: .* look like milliseconds"):
        read_recording(pose.file, pose.format, None)


# ------------------------------------------------------------------------------------ labels
def test_a_repeated_label_row_is_used_once_with_a_warning(tmp_path, caplog):
    path = tmp_path / "labels.csv"
    path.write_text("recording_id,rep,label\nr1,1,good\nr1,2,squatting\nr1,1,good\nr2,,good\nr2,,good \n")
    with caplog.at_level(logging.WARNING, logger="hinge_analytics"):
        labels = read_labels_file(path)
    assert labels.rows() == [("r1", 1, "good"), ("r1", 2, "squatting"), ("r2", None, "good")]
    (message,) = [r.getMessage() for r in caplog.records]
    assert message == (
        f"The labels file {path} repeats 2 row(s): recording 'r1' rep 1 (lines 2: good, 4: good); "
        "recording 'r2' every rep (lines 5: good, 6: good); each is used once."
    )


def test_one_rep_with_two_labels_is_refused_naming_the_lines(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("recording_id,rep,label\nr1,1,good\nr1,2,good\nr1,1,squatting\n")
    with pytest.raises(ModelError) as caught:
        read_labels_file(path)
    assert str(caught.value) == (
        f"The labels file {path} gives one rep different labels: recording 'r1' rep 1 (lines 2: good, "
        "4: squatting); keep one row per rep (or per recording, with rep empty)."
    )


def test_a_labels_file_saved_by_a_spreadsheet_in_its_region_is_read(tmp_path):
    # Windows-1252 text, semicolons (a region whose decimal mark is a comma), headers capitalised.
    path = tmp_path / "labels.csv"
    text = "Recording_ID;Rep;Label\r\nMüller-1;1;good\r\nMüller-1; 2 ;squatting\r\nMüller-2;All;good\r\n"
    path.write_bytes(text.encode("cp1252"))
    assert read_labels_file(path).rows() == [
        ("Müller-1", 1, "good"),
        ("Müller-1", 2, "squatting"),
        ("Müller-2", None, "good"),  # every rep of the recording
    ]
    path.write_text("recording_id,rep,label\nr1,first,good\n")
    with pytest.raises(ModelError, match="not a whole number"):
        read_labels_file(path)
