"""Issue 23, reports: files that were not analysed and the notes on recordings appear on the team
and athlete pages, `--athlete X` writes X's pages only (an unknown X is an error naming the known
athletes), one session shows numbers rather than empty axes, and a team of 30 stays readable."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics import schema
from hinge_analytics.cli import app
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.jobs.report import UnknownAthlete, build_reports
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import quarantine_rows
from hinge_analytics.report import TEAM_LIST_ROWS
from hinge_analytics.simulate.lakes import write_rep_rows
from hinge_analytics.simulate.team import simulate_team

runner = CliRunner()
TEAM = 30
STILL_NOTE = (
    "No reps found: the hips move through 3 deg at most, never away and back (a rest or a warm-up?)."
)
TEAM_FILES = ("index.html", "athletes.csv", "sessions.csv", "sets.csv", "weekly.csv", "not_analysed.csv",
              "recording_notes.csv")  # fmt: skip


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> tuple[Lake, Path]:
    """30 athletes x 3 weekly deadlift sessions (labelled reps, athlete k a little better than k-1),
    one athlete (T99) whose only recording gave no reps, and 60 files not analysed; reported once."""
    root = tmp_path_factory.mktemp("team")
    rng = np.random.default_rng(0)
    rows = [
        {
            "recording_id": f"T{a:02d}-w{w}", "athlete_id": f"T{a:02d}",
            "session_date": dt.date(2026, 1, 5) + dt.timedelta(weeks=w), "exercise": "deadlift", "side": None,
            "load_kg": 80.0, "set_number": 1, "rep": k + 1,
            "label": "good" if rng.random() < 0.2 + 0.02 * a else "rounded_back", "cue": "chest up",
            "confidence": 0.8, "peak_knee_flexion_left_deg": 30.0, "peak_knee_flexion_right_deg": 30.0,
        }
        for a in range(TEAM)
        for w in range(3)
        for k in range(6)
    ]  # fmt: skip
    lake = Lake(root / "lake")
    write_rep_rows(lake, pl.DataFrame(rows))
    lake.append(
        "recordings",
        pl.DataFrame(
            {
                "recording_id": ["T99-still"], "ingest_id": ["x"], "athlete_id": ["T99"],
                "session_date": [dt.date(2026, 1, 19)], "exercise": ["deadlift"], "n_reps": [0],
                "note": [STILL_NOTE], "path": ["t99/still.csv"],
            }
        ),
    )  # fmt: skip
    lake.append(
        "quarantine",
        quarantine_rows(
            (f"gone-{i:02d}", f"gone/{i}.csv", f"The file gone/{i}.csv does not exist.") for i in range(60)
        ),
    )
    build_reports(lake, root / "reports")
    return lake, root / "reports"


def _rows_of_athletes(index: str) -> list[str]:
    return re.findall(r"<tr><td>\d+</td><td class='t'><a href='[^']+'>([^<]+)</a>", index)


def test_a_team_of_30_is_a_ranked_table_of_small_multiples(team):
    _, reports = team
    index = (reports / "index.html").read_text()
    flags = pl.read_csv(reports / "athletes.csv")
    ranked = flags.sort(["share_good", "athlete_id"], nulls_last=True)["athlete_id"].to_list()
    assert not flags["too_heavy_too_soon"].any() and not flags["asymmetry_flag"].any()
    assert _rows_of_athletes(index) == [*ranked, "T99"]  # lowest share of good reps first
    # one small line per athlete with reps, no chart of 30 tangled lines
    assert index.count("<svg class='spark'") == TEAM and index.count("<svg") == TEAM
    assert index.count("<polyline") == TEAM  # three weeks each: a line, not a dot
    title = re.search(r"<title>good reps by week: ([^<]+)</title>", index)
    assert title is not None and title.group(1).count("%") == 3


def test_files_not_analysed_and_notes_are_on_the_team_page(team):
    _, reports = team
    index = (reports / "index.html").read_text()
    section = index[index.index("<h2>Files not analysed") : index.index("<h2>Notes on analysed")]
    assert "60 file(s) (all of them in <a href='not_analysed.csv'>" in section
    assert f"the latest {TEAM_LIST_ROWS} are listed" in section
    assert section.count("does not exist.") == TEAM_LIST_ROWS
    table = pl.read_csv(reports / "not_analysed.csv")
    assert table.height == 60 and table.columns[:4] == ["recording_id", "path", "reason", "quarantined_at"]
    notes = index[index.index("<h2>Notes on analysed") :]
    assert "T99-still" in notes and "a rest or a warm-up?" in notes
    assert pl.read_csv(reports / "recording_notes.csv")["recording_id"].to_list() == ["T99-still"]
    # the athlete whose only recording gave no reps has a page that says so and shows the note
    page = (reports / "athlete_T99.html").read_text()
    assert "No reps analysed in this period" in page and "a rest or a warm-up?" in page
    assert "<svg" not in page  # no empty charts
    # this lake's quarantine rows do not say whose files they were: the page says so, not "none"
    assert "does not record which athlete" in page and "Every file was analysed" not in page


def test_athlete_option_writes_that_athlete_only(team, tmp_path):
    lake, reports = team
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in reports.iterdir()}
    result = runner.invoke(app, ["report", "--lake", lake.root, "--out", str(reports), "--athlete", "T03"])
    assert result.exit_code == 0, result.output
    assert "athlete_T03.html" in result.stdout and "index.html" not in result.stdout  # what was written
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in reports.iterdir()}
    assert set(after) == set(before)
    changed = {name for name in after if after[name][1] != before[name][1]}
    assert changed == {"athlete_T03.html", "athlete_T03_sessions.csv", "athlete_T03_reps.csv"}
    for name in TEAM_FILES:
        assert after[name] == before[name], name  # the team pages and tables as they were
    assert after["athlete_T03.html"][0] == before["athlete_T03.html"][0]  # the same page again
    fresh = tmp_path / "one"
    result = runner.invoke(app, ["report", "--lake", lake.root, "--out", str(fresh), "--athlete", "T99"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in fresh.iterdir()) == [
        "athlete_T99.html", "athlete_T99_reps.csv", "athlete_T99_sessions.csv"
    ]  # fmt: skip


def test_an_unknown_athlete_is_an_error_naming_the_known_ones(team, tmp_path):
    lake, _ = team
    out = tmp_path / "never"
    result = runner.invoke(app, ["report", "--lake", lake.root, "--out", str(out), "--athlete", "t03"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("hinge: no athlete 't03' in the lake at ")
    assert "did you mean T03? " in line and "known athletes: T00, T01, T02" in line and "and 11 more" in line
    assert not out.exists()  # nothing written
    with pytest.raises(UnknownAthlete, match="known athletes: T00"):
        build_reports(lake, out, athlete="t00")


@pytest.fixture(scope="module")
def one_session(tmp_path_factory):
    """2 athletes x 1 session x 2 sets of deadlifts ingested with a missing file of A001's and an
    unreadable one of A002's; the quarantine table records athletes (as a schema with
    ``athlete_id``/``session_date`` columns does)."""
    root = tmp_path_factory.mktemp("one")
    manifest = simulate_team(
        root / "batch", athletes=2, sessions=1, exercises=("deadlift",), formats=("trc",), seed=1
    )
    (root / "batch" / "garbage.csv").write_text("not,a,recording\n1,2,3\n")
    with manifest.open("a") as handle:
        handle.write("lost-1,recordings/lost.csv,A001,2026-09-07,deadlift,,,,,,\n")
        handle.write("garbage-1,garbage.csv,A002,2026-09-07,deadlift,,,,,,\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(schema.QUARANTINE, "athlete_id", pl.String)
        patch.setitem(schema.QUARANTINE, "session_date", pl.Date)
        lake = Lake(root / "lake")
        summary = ingest_manifest(manifest, lake)
        assert len(summary.ingested) == 4 and len(summary.quarantined) == 2
        pages = build_reports(lake, root / "reports")
    return lake, root / "reports", pages


def test_athlete_pages_list_their_own_files_not_analysed(one_session):
    _, reports, pages = one_session
    assert sorted(p.name for p in pages) == ["athlete_A001.html", "athlete_A002.html"]
    a1, a2 = ((reports / f"athlete_{a}.html").read_text() for a in ("A001", "A002"))
    assert "lost-1" in a1 and "recordings/lost.csv" in a1 and "does not exist" in a1 and "garbage-1" not in a1
    assert "garbage-1" in a2 and "lost-1" not in a2
    index = (reports / "index.html").read_text()
    assert "2 file(s)" in index and "lost-1" in index and "garbage-1" in index
    assert sorted(pl.read_csv(reports / "not_analysed.csv")["athlete_id"]) == ["A001", "A002"]


def test_one_session_shows_its_numbers_without_empty_axes(one_session):
    _, reports, _ = one_session
    page = (reports / "athlete_A001.html").read_text()
    assert page.count("<svg") == 1  # the mistake bars; no plot over one week or one session
    assert "One week so far" in page and "One session so far" in page
    progress = page[page.index("Progress over weeks") : page.index("Mistake breakdown")]
    assert re.search(r"<td>2026-09-07</td><td class='t'>deadlift</td><td>1</td><td>\d+</td><td>", progress)
    asymmetry = page[page.index("Left/right asymmetry") : page.index("Reps of each set")]
    assert "knee_L_deg" in asymmetry and "knee_R_deg" in asymmetry and "SI_%" not in asymmetry
