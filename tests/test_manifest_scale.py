"""Issue 23, manifests: 10^5 rows read once in linear time, a batch of 25,000 missing files, any
encoding a spreadsheet saves (or a clear refusal), repeated ids and files named twice."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from hinge_analytics.ingest import manifest as manifest_module
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.manifest import quarantine_entries, read_manifest
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.lake import Lake
from hinge_analytics.simulate.team import simulate_team

HINGE = Path(sys.executable).parent / "hinge"
HEADER = "recording_id,path,athlete_id,session_date,exercise"


def _missing_rows(n: int, prefix: str = "gone") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "recording_id": [f"{prefix}-{i:06d}" for i in range(n)],
            "path": [f"{prefix}/{i}.csv" for i in range(n)],
            "athlete_id": [f"B{i % 40}" for i in range(n)],
            "session_date": ["2026-02-02"] * n,
            "exercise": ["deadlift"] * n,
        }
    )


@pytest.fixture(scope="module")
def good_batch(tmp_path_factory) -> Path:
    """Ten good recordings: 5 athletes x 1 session x 2 sets of deadlifts (mediapipe_csv)."""
    out = tmp_path_factory.mktemp("good")
    return simulate_team(out, athletes=5, sessions=1, exercises=("deadlift",), sets_per_exercise=2, seed=4)


@pytest.mark.skipif(not HINGE.exists(), reason="the hinge console script is not installed")
def test_25000_missing_files_and_10_good_recordings(good_batch, tmp_path):
    """The issue's case through the command line: it crashed the interpreter (one 25,000-id Delta
    predicate) and quarantined nothing. Measured: 13 s wall, 620 MB peak RSS (a 4-recording
    ingest: 555 MB; Prefect's in-process API is most of it)."""
    manifest = good_batch.parent / "manifest_25k.csv"
    good = pl.read_csv(good_batch, infer_schema=False)
    assert good.height == 10
    pl.concat([good, _missing_rows(25_000)], how="diagonal").write_csv(manifest)
    lake = tmp_path / "lake"
    started = time.perf_counter()
    command = [str(HINGE), "ingest", str(manifest), "--lake", str(lake)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - started
    assert run.returncode == 0, run.stderr[-3000:]
    first_line = run.stdout.splitlines()[0]
    assert first_line.startswith("ingested 10 recording(s)") and "quarantined 25000" in first_line
    assert took < 60, f"{took:.1f} s"
    opened = Lake(lake)
    quarantine = opened.read("quarantine", ["recording_id", "reason"])
    assert quarantine.height == 25_000 and quarantine["recording_id"].n_unique() == 25_000
    assert quarantine.filter(pl.col("recording_id") == "gone-000007")["reason"][0] == (
        "Manifest row 18: the file 'gone/7.csv' does not exist."
    )
    assert sorted(opened.read("recordings", ["recording_id"])["recording_id"]) == sorted(good["recording_id"])


def test_2000_missing_files_are_quarantined_in_bounded_commits(good_batch, tmp_path, monkeypatch):
    manifest = good_batch.parent / "manifest_2k.csv"
    good = pl.read_csv(good_batch, infer_schema=False)
    pl.concat([good.head(2), _missing_rows(2_000)], how="diagonal").write_csv(manifest)
    lake = Lake(tmp_path / "lake")
    commits: list[int] = []
    replace = Lake.replace_recordings

    def counting(self, table, rows, recording_ids, snapshot=None):
        ids = sorted(set(recording_ids))
        if table == "quarantine":
            commits.append(len(ids))
        return replace(self, table, rows, ids, snapshot)

    monkeypatch.setattr(Lake, "replace_recordings", counting)
    summary = ingest_manifest(manifest, lake)
    assert len(summary.ingested) == 2 and len(summary.quarantined) == 2_000
    assert commits == [1000, 1000]
    assert lake.read("quarantine").height == 2_000
    again = ingest_manifest(manifest, lake)  # the same reasons: nothing rewritten
    assert len(again.skipped) == 2 and len(again.quarantined) == 2_000 and commits == [1000, 1000]


def test_100000_rows_are_read_in_linear_time(tmp_path):
    """ids.count per row made 10^5 rows take 102 s; now about 2 s (30 us a row, mostly the
    path's resolution)."""
    manifest = tmp_path / "manifest.csv"
    _missing_rows(100_000).write_csv(manifest)
    started = time.perf_counter()
    valid, rejected = manifest_module.parse_manifest(manifest)
    took = time.perf_counter() - started
    assert not valid and len(rejected) == 100_000
    assert took < 20, f"{took:.1f} s"  # generous for a loaded CI machine; quadratic was 102 s


def test_the_cli_check_and_the_flow_read_the_manifest_once(tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.csv"
    _missing_rows(3).write_csv(manifest)
    calls: list[Path] = []
    parse = manifest_module.parse_manifest
    monkeypatch.setattr(manifest_module, "parse_manifest", lambda m, b=None: calls.append(m) or parse(m, b))
    first = read_manifest(manifest)
    assert read_manifest(Path(str(manifest))) == first and len(calls) == 1  # reused once ...
    assert read_manifest(manifest) == first and len(calls) == 2  # ... then read again
    manifest.write_text(manifest.read_text() + "late,late.csv,A1,2026-02-02,deadlift\n")
    assert len(read_manifest(manifest)[1]) == 4 and len(calls) == 3  # a changed file is re-read


# ------------------------------------------------------------------------------------ encodings
NAMES = ("Müller", "Mäller", "Łukasz", "Zoë")


def _batch_with_names(folder: Path, names: tuple[str, ...]) -> str:
    folder.mkdir(exist_ok=True)
    lines = [HEADER]
    for i, name in enumerate(names):
        (folder / f"r{i}.csv").write_text("x\n")
        lines.append(f"r{i},r{i}.csv,{name},2026-02-02,deadlift")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    ("codec", "bom", "names"),
    [
        ("utf-8", b"", NAMES),
        ("utf-8", b"\xef\xbb\xbf", NAMES),
        ("utf-16-le", b"\xff\xfe", NAMES),
        ("utf-16-be", b"\xfe\xff", NAMES),
        ("cp1252", b"", ("Müller", "Mäller", "Zoë", "café – bar")),
        ("latin-1", b"", ("Müller", "Mäller", "Zoë")),
    ],
)
def test_manifest_encodings_are_detected_never_lossy(tmp_path, codec, bom, names):
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes(bom + _batch_with_names(tmp_path, names).encode(codec))
    valid, rejected = read_manifest(manifest)
    assert not rejected
    assert [r.athlete_id for r in valid] == list(names)  # "Müller" and "Mäller" stay two athletes
    assert valid[0].recording_id == "r0"  # no BOM glued to the first column's name


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_spreadsheet_saved_with_semicolons_or_tabs_is_read_with_its_decimal_commas(tmp_path, separator):
    """Excel saves "CSV" with the region's list separator: semicolons where the decimal mark is a
    comma (load 102,5 kg), and a "Text (Tab delimited)" save uses tabs."""
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("x\n")
    rows = [
        ["recording_id", "path", "athlete_id", "session_date", "exercise", "load_kg"],
        ["r1", "a.csv", "Müller", "2026-02-02", "deadlift", "102,5" if separator == ";" else "102.5"],
        ["r2", "b.csv", "A2", "2026-02-02", "RDL", ""],
    ]
    rows[0].append("sample_rate_hz")
    rows[1].append("59,94")
    rows[2].append("")
    rows += [[""] * len(rows[0])] * 3  # the empty rows a spreadsheet leaves below a formatted table
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes("\r\n".join(separator.join(r) for r in rows).encode("cp1252"))
    valid, rejected = read_manifest(manifest)
    assert not rejected
    assert [(r.athlete_id, r.exercise, r.load_kg, r.sample_rate_hz) for r in valid] == [
        ("Müller", "deadlift", 102.5, 59.94),
        ("A2", "romanian_deadlift", None, None),
    ]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (f"{HEADER}\nr1,r1.csv,A1,2026-02-02,deadlift\n".encode("utf-16-le"), "UTF-16 text without a byte"),
        (b"recording_id,path\n\x81\x8d\xff,x\n", "neither UTF-8 nor Windows-1252"),
        (b"\xff\xfe" + b"\x00\xd8", "not UTF-16 text"),  # a lone surrogate after the mark
        (b"PK\x03\x04" + bytes(range(256)), "a spreadsheet workbook, not a CSV file"),  # xlsx
    ],
)
def test_undecodable_manifests_are_refused_in_one_sentence(tmp_path, data, words):
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes(data)
    with pytest.raises(BadRecording, match=words) as caught:
        read_manifest(manifest)
    assert "\n" not in str(caught.value) and "save it again as CSV UTF-8" in str(caught.value)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        # Excel writes a typed-in date back in the region's short form.
        (["14.03.2026", "2.4.2026"], ["2026-03-14", "2026-04-02"]),  # German, Nordic, Slavic
        (["2026/03/14", "2026.4.2"], ["2026-03-14", "2026-04-02"]),  # year first
        (["14/03/2026", "02/04/2026"], ["2026-03-14", "2026-04-02"]),  # 14/03: day first
        (["3/14/2026", "4/2/2026"], ["2026-03-14", "2026-04-02"]),  # 3/14: month first
        (["2026-03-14 00:00:00", "2026-04-02"], ["2026-03-14", "2026-04-02"]),  # a date-time cell
    ],
)
def test_dates_a_spreadsheet_wrote_in_its_region_are_read_as_the_day_meant(tmp_path, written, read):
    lines = [HEADER]
    for k, date in enumerate(written):
        (tmp_path / f"r{k}.csv").write_text("x\n")
        lines.append(f"r{k},r{k}.csv,A1,{date},deadlift")
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    valid, rejected = read_manifest(tmp_path / "manifest.csv")
    assert not rejected
    assert [r.session_date.isoformat() for r in valid] == read


def test_loads_and_rates_written_with_their_unit_are_read_in_kg_and_hz(tmp_path):
    lines = [f"{HEADER},load_kg,sample_rate_hz"]
    for k, (load, rate) in enumerate((("100 kg", "30 Hz"), ("225 lb", "59.94hz"), ("135lbs", ""))):
        (tmp_path / f"r{k}.csv").write_text("x\n")
        lines.append(f"r{k},r{k}.csv,A1,2026-02-02,deadlift,{load},{rate}")
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    valid, rejected = read_manifest(tmp_path / "manifest.csv")
    assert not rejected
    assert [(r.load_kg, r.sample_rate_hz) for r in valid] == [(100.0, 30.0), (102.058, 59.94), (61.235, None)]


def test_a_video_frame_size_in_the_manifest_comes_in_pairs(tmp_path):
    lines = [f"{HEADER},image_width,image_height"]
    for k, size in enumerate(("1920,1080", "1920,", "")):
        (tmp_path / f"r{k}.csv").write_text("x\n")
        lines.append(f"r{k},r{k}.csv,A1,2026-02-02,deadlift,{size}" + ("," if not size else ""))
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n")
    valid, rejected = read_manifest(tmp_path / "manifest.csv")
    assert [(r.recording_id, r.image_size) for r in valid] == [("r0", (1920, 1080)), ("r2", None)]
    assert "image_width and image_height together" in rejected[0].reason
    assert "image_size" not in valid[1].metadata()  # rows without one keep their content hash


def test_slashed_dates_that_could_be_either_way_round_are_refused_saying_so(tmp_path):
    (tmp_path / "r1.csv").write_text("x\n")
    (tmp_path / "manifest.csv").write_text(f"{HEADER}\nr1,r1.csv,A1,03/04/2026,deadlift\n")
    _, (rejected,) = read_manifest(tmp_path / "manifest.csv")
    assert rejected.reason == (
        "Manifest row 1: session_date '03/04/2026' could be day/month or month/day, and no date in "
        "the manifest says which; write dates as 2026-03-14."
    )


def test_a_manifest_written_on_windows_finds_its_files_and_stays_in_its_folder(tmp_path):
    """Backslashes between folders and names in another case name the file on Windows and macOS
    (a team's folder moved to a Linux server); leading out of the folder stays refused."""
    batch = tmp_path / "batch"
    (batch / "A1").mkdir(parents=True)
    (batch / "A1" / "Deadlift_Set1.csv").write_text("x\n")
    (batch / "a2").mkdir()
    for name in ("set.csv", "SET.csv"):  # two files one name apart in case: which is meant is unknown
        (batch / "a2" / name).write_text("x\n")
    (tmp_path / "outside.csv").write_text("secret\n")
    lines = [
        HEADER,
        "r1,A1\\Deadlift_Set1.csv,A1,2026-02-02,deadlift",
        "r2,a1/DEADLIFT_SET1.CSV,A1,2026-02-03,deadlift",
        "r3,A2\\Set.csv,A2,2026-02-02,deadlift",
        "r4,..\\outside.csv,A2,2026-02-02,deadlift",
        "r5,C:\\Users\\coach\\A1\\Deadlift_Set1.csv,A1,2026-02-04,deadlift",
    ]
    manifest = batch / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    valid, rejected = read_manifest(manifest)
    file = (batch / "A1" / "Deadlift_Set1.csv").resolve()
    assert [(r.recording_id, r.file) for r in valid] == [("r1", file)]
    reasons = {r.recording_id: r.reason for r in rejected}
    assert "already recording 'r1'" in reasons["r2"]  # found, and the same file as r1's
    assert "does not exist" in reasons["r3"]
    assert "outside the batch" in reasons["r4"]
    assert "relative to the manifest's folder" in reasons["r5"]


# ------------------------------------------------------------------------- ids and files twice
def test_every_row_of_a_repeated_id_is_quarantined_and_named(tmp_path):
    for name in ("a.csv", "b.csv", "c.csv", "d.csv"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "manifest.csv").write_text(
        f"{HEADER}\n"
        "dup,a.csv,A1,2026-02-02,deadlift\n"
        "ok,d.csv,A1,2026-02-02,deadlift\n"
        "dup,b.csv,A1,2026-02-02,deadlift\n"
        "dup,c.csv,A1,2026-02-02,deadlift\n"
    )
    valid, rejected = read_manifest(tmp_path / "manifest.csv")
    assert [r.recording_id for r in valid] == ["ok"]
    assert [(r.row_number, r.recording_id) for r in rejected] == [(1, "dup"), (3, "dup"), (4, "dup")]
    (entry,) = quarantine_entries(rejected)
    assert entry.reason == (
        "Manifest rows 1, 3 and 4: recording_id 'dup' appears more than once in the manifest (rows "
        "1 ('a.csv'), 3 ('b.csv') and 4 ('c.csv')); each recording needs its own id, so none of these "
        "rows is ingested."
    )
    assert entry.path == "a.csv"
    lake = Lake(tmp_path / "lake")
    summary = ingest_manifest(tmp_path / "manifest.csv", lake)
    assert [rid for rid, _ in summary.quarantined] == ["dup", "dup", "dup", "ok"]  # ok.csv is no recording
    stored = lake.read("quarantine", ["recording_id", "reason"]).filter(pl.col("recording_id") == "dup")
    assert stored.rows() == [("dup", entry.reason)]


def test_the_same_file_under_a_second_id_is_refused(tmp_path):
    (tmp_path / "rec.csv").write_text("x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "manifest.csv").write_text(
        f"{HEADER}\n"
        "bad,nowhere.csv,A1,2026-02-02,deadlift\n"
        "first,rec.csv,A1,2026-02-02,deadlift\n"
        "second,sub/../rec.csv,A2,2026-02-02,deadlift\n"
        "third,./rec.csv,A3,2026-02-02,deadlift\n"
    )
    valid, rejected = read_manifest(tmp_path / "manifest.csv")
    assert [r.recording_id for r in valid] == ["first"]
    reasons = {r.recording_id: r.reason for r in rejected}
    assert reasons["second"] == (
        "Manifest row 3: the file 'sub/../rec.csv' is already recording 'first' (row 2); "
        "a file is one recording, so this row is left out."
    )
    assert "already recording 'first' (row 2)" in reasons["third"]
