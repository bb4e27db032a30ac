"""Issue 23, a damaged lake: `hinge check` names lost or unreadable data files and incomplete
recordings, every command that meets a lost file says so in one line, and `hinge ingest --force`
re-creates what was lost from the source files."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics.cli import app
from hinge_analytics.jobs.check import check_lake
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.lake import DAMAGED_FOLDER, Lake, MissingDataFile
from hinge_analytics.simulate.team import simulate_team

runner = CliRunner()
REP_COLUMNS = [
    "recording_id",
    "rep",
    "t_start_s",
    "t_end_s",
    "peak_hip_flexion_deg",
    "peak_knee_flexion_left_deg",
]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    """(manifest, lake): 2 athletes x 1 session x 2 sets of deadlifts, ingested."""
    root = tmp_path_factory.mktemp("small")
    manifest = simulate_team(root / "batch", athletes=2, sessions=1, exercises=("deadlift",), seed=1)
    ingest_manifest(manifest, Lake(root / "lake"))
    return manifest, root / "lake"


@pytest.fixture
def damaged(small, tmp_path) -> tuple[Path, Lake, pl.DataFrame]:
    """A copy of the small lake (manifest, lake, its reps before any damage)."""
    manifest, lake_dir = small
    lake = Lake(shutil.copytree(lake_dir, tmp_path / "lake"))
    return manifest, lake, _reps(lake)


def _reps(lake: Lake) -> pl.DataFrame:
    return lake.read("reps", REP_COLUMNS).sort("recording_id", "rep")


def _data_file(lake: Lake, table: str) -> Path:
    (path,) = [Path(uri.removeprefix("file://")) for uri in lake.table(table).file_uris()]
    return path


def _one_line(result) -> str:
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hinge: "), result.output
    return lines[0]


def test_a_whole_lake_checks_clean(small):
    result = runner.invoke(app, ["check", "--lake", str(small[1])])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "the lake is whole: 4 recording(s), every data file readable"


def test_a_deleted_data_file_is_named_and_force_restores_the_same_reps(damaged, tmp_path):
    manifest, lake, before = damaged
    lost = _data_file(lake, "reps")
    lost.unlink()
    result = runner.invoke(app, ["check", "--lake", lake.root])
    assert result.exit_code == 1
    assert f"damaged data file reps/{lost.name}: missing" in result.stdout.splitlines()
    assert sum(line.startswith("incomplete recording ") for line in result.stdout.splitlines()) == 4
    assert "hinge ingest MANIFEST --force" in _one_line(result)
    # every command that reads the table names the file and says what to run
    for args in (
        ["query", "SELECT count(*) FROM reps"],
        ["report", "--out", str(tmp_path / "reports")],
        ["export", "reps", "--out", str(tmp_path / "reps.csv")],
    ):
        line = _one_line(runner.invoke(app, [*args, "--lake", lake.root]))
        assert lost.name in line and "hinge check" in line and "--force" in line, line
    with pytest.raises(MissingDataFile, match=lost.name):  # a plain ingest too (without Prefect here)
        ingest_manifest(manifest, lake)
    result = runner.invoke(app, ["ingest", str(manifest), "--lake", lake.root, "--force"])
    assert result.exit_code == 0, result.output
    assert _reps(lake).equals(before)
    assert check_lake(lake).ok


def test_a_cut_short_file_is_moved_aside_by_force(damaged):
    manifest, lake, before = damaged
    broken = _data_file(lake, "angles")
    broken.write_bytes(broken.read_bytes()[:1000])
    angles = check_lake(lake)
    assert [(d.table, d.path) for d in angles.damaged] == [("angles", broken.name)]
    assert "cut short" in angles.damaged[0].problem
    assert all("angles: 0 of" in str(r) for r in angles.incomplete) and len(angles.incomplete) == 4
    ingest_manifest(manifest, lake, force=True)
    assert check_lake(lake).ok and _reps(lake).equals(before)
    kept = Path(lake.root) / DAMAGED_FOLDER / "angles" / broken.name
    assert kept.stat().st_size == 1000 and not broken.exists()  # kept for inspection, out of the table


def test_a_marker_without_its_reps_is_incomplete_and_a_plain_ingest_redoes_it(damaged):
    manifest, lake, before = damaged
    rid = before["recording_id"][0]
    n = before.filter(pl.col("recording_id") == rid).height
    lake.replace_recordings("reps", pl.DataFrame(), [rid])  # e.g. a writer that died mid-commit
    result = check_lake(lake)
    assert not result.damaged
    assert [str(r) for r in result.incomplete] == [f"{rid}: reps: 0 of {n} rows"]
    summary = ingest_manifest(manifest, lake)
    assert summary.ingested == [rid] and _reps(lake).equals(before)


def test_check_on_a_missing_lake_is_one_line_and_creates_nothing(tmp_path):
    assert "no lake at" in _one_line(runner.invoke(app, ["check", "--lake", str(tmp_path / "none")]))
    assert not (tmp_path / "none").exists()
