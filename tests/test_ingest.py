import numpy as np
import polars as pl
import pytest

from hinge_analytics.ingest import read_recording
from hinge_analytics.ingest.checks import check_increasing, logger_order
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.schema import landmark_columns

HEADER = (
    "recording_id,path,athlete_id,session_date,exercise,side,load_kg,set_number,format,sample_rate_hz,label\n"
)


def _manifest(tmp_path, rows: str):
    (tmp_path / "rec.csv").write_text("x\n")
    path = tmp_path / "manifest.csv"
    path.write_text(HEADER + rows)
    return path


def test_manifest_rejects_each_bad_row_with_a_reason(tmp_path):
    path = _manifest(
        tmp_path,
        "ok,rec.csv,A1,2026-01-05,deadlift,,100,1,,,\n"
        "bad-ex,rec.csv,A1,2026-01-05,bench press!,,,,,,\n"
        "bad-date,rec.csv,A1,05/01/2026,deadlift,,,,,,\n"
        "escape,../outside.csv,A1,2026-01-05,deadlift,,,,,,\n"
        "ok,rec.csv,A1,2026-01-05,deadlift,,,,,,\n"
        "neg-load,rec.csv,A1,2026-01-05,deadlift,,-5,,,,\n"
        "missing,nope.csv,A1,2026-01-05,deadlift,,,,,,\n",
    )
    valid, rejected = read_manifest(path)
    assert [r.recording_id for r in valid] == []  # both rows of the repeated id "ok" are refused
    reasons = {r.recording_id: r.reason for r in rejected}
    assert "bench press!" in reasons["bad-ex"]
    assert "could be day/month or month/day" in reasons["bad-date"]
    assert "outside the batch folder" in reasons["escape"]
    assert "more than once" in reasons["ok"]
    assert "between" in reasons["neg-load"]
    assert "does not exist" in reasons["missing"]


def test_manifest_sides_as_coaches_write_them(tmp_path):
    for name in ("a", "b", "c", "d"):
        (tmp_path / f"{name}.csv").write_text("x\n")
    path = tmp_path / "manifest.csv"
    path.write_text(
        HEADER
        + "a,a.csv,A1,2026-01-05,SL RDL,L,,,,,\n"
        + "b,b.csv,A1,2026-01-05,single_leg_rdl,Right,,,,,\n"
        + "c,c.csv,A1,2026-01-05,single_leg_rdl,middle,,,,,\n"
        + "d,d.csv,A1,2026-01-05,single_leg_rdl,Left leg,,,,,\n"
    )
    valid, rejected = read_manifest(path)
    assert [(r.exercise, r.side) for r in valid] == [
        ("single_leg_rdl", "left"),
        ("single_leg_rdl", "right"),
        ("single_leg_rdl", "left"),
    ]
    assert "left, right (or L, R)" in rejected[0].reason


@pytest.mark.parametrize(
    ("written", "exercise"),
    [
        ("Deadlift (conventional)", "deadlift"),
        ("DB RDL", "romanian_deadlift"),
        ("Barbell hip thrust", "hip_thrust"),
        ("Kettlebell Swing [Russian]", "kettlebell_swing"),
        ("Dumbbell single-leg RDL", "single_leg_rdl"),
        ("Trap bar deadlift", "trap_bar_deadlift"),  # more knee bend: a lift of its own
        ("DB bench press", "db_bench_press"),  # not a hinge: the name is kept as written
    ],
)
def test_manifest_exercise_names_with_notes_and_equipment(tmp_path, written, exercise):
    path = _manifest(tmp_path, f"r1,rec.csv,A1,2026-01-05,{written},,,,,,\n")
    (row,), _ = read_manifest(path)
    assert row.exercise == exercise


def test_manifest_without_required_columns_is_an_error(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("recording_id,path\nA,b\n")
    with pytest.raises(BadRecording, match="athlete_id"):
        read_manifest(path)


def test_mediapipe_reader_gives_canonical_y_up_metres(batch):
    rows, _ = read_manifest(batch)
    fmt, read = read_recording(rows[0].file, None, None)
    assert fmt == "mediapipe_csv" and read.modality == "pose"
    assert read.sensors in ("world_m", "image", "image_px")
    hip_y = read.frames[landmark_columns("hip_left")[1]].mean()
    shoulder_y = read.frames[landmark_columns("shoulder_left")[1]].mean()
    assert shoulder_y > hip_y + (0.2 if read.sensors == "world_m" else 0.05)  # y is up after reading
    assert read.sample_rate_hz == pytest.approx(30.0, rel=0.01)


def test_timestamps_going_backwards_are_refused(batch, tmp_path):
    rows, _ = read_manifest(batch)
    table = pl.read_csv(rows[0].file)
    ts = table["timestamp_ms"].to_list()
    ts[50] = ts[10]
    bad = tmp_path / "bad.csv"
    table.with_columns(timestamp_ms=pl.Series(ts)).write_csv(bad)
    with pytest.raises(BadRecording, match="backwards"):
        read_recording(bad, "mediapipe_csv", None)


def test_a_loggers_repeats_late_packets_and_batches_are_put_in_order():
    t = np.arange(100) * 0.01
    values = np.column_stack([np.arange(100.0), -np.arange(100.0)])
    # a packet sent twice and two arriving late: the same samples, in time order
    order = [*range(20), 19, *range(20, 50), 51, 50, *range(52, 80), 81, 80, *range(82, 100)]
    fixed_t, rows = logger_order(t[order], [values[order]])
    np.testing.assert_array_equal(fixed_t, t)
    np.testing.assert_array_equal(values[order][rows], values)
    # three samples per packet, stamped on arrival: spread over the step to the next packet
    stamped = np.repeat(t[::3], 3)[:100]
    fixed_t, rows = logger_order(stamped, [values])
    np.testing.assert_allclose(fixed_t, t, atol=1e-12)
    np.testing.assert_array_equal(rows, np.arange(100))
    # a clock that jumps back by seconds (two recordings joined) or a file in reverse is left as
    # it is, for check_increasing to refuse
    for broken in (np.concatenate([t, t[:50] + 0.002]), t[::-1]):
        fixed_t, _ = logger_order(broken, [np.zeros((len(broken), 2))])
        with pytest.raises(BadRecording, match="backwards"):
            check_increasing(fixed_t)


def test_person_missing_in_most_frames_is_refused(batch, tmp_path):
    """Lost in two frames of three while in the picture: refused. Out of the picture for as long
    again before stepping in (the phone started early): read, every frame kept."""
    rows, _ = read_manifest(batch)
    table = pl.read_csv(rows[0].file)
    vis = [c for c in table.columns if c.endswith("_visibility")]
    n = table.height
    lost = table.with_columns([pl.col(c) * (pl.int_range(n) % 3 == 0).cast(pl.Float64) for c in vis])
    lost.write_csv(tmp_path / "lost.csv")
    with pytest.raises(BadRecording, match="not detected"):
        read_recording(tmp_path / "lost.csv", "mediapipe_csv", None)
    step = float(table["timestamp_ms"].diff().median())
    empty = table.with_columns(pl.col("timestamp_ms") - n * step, *(pl.col(c) * 0.0 for c in vis))
    pl.concat([empty, table]).write_csv(tmp_path / "late.csv")
    read = read_recording(tmp_path / "late.csv", "mediapipe_csv", None)[1]
    assert read.frames.height == 2 * n
