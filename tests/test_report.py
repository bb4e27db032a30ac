"""Reports end to end: the scheduled weekly flow on a simulated team with planted traits, the flags
it raises, the pages in headless Chromium, HTML escaping, and the report/export/query/schedule CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics.cli import app
from hinge_analytics.jobs.report import build_reports
from hinge_analytics.lake import Lake
from hinge_analytics.pipelines.batch_flows import weekly_flow
from hinge_analytics.pipelines.schedule import DEPLOYMENT_PREFIX, WeeklyJob, build_deployment
from hinge_analytics.report import safe_filename
from hinge_analytics.simulate.lakes import write_rep_rows
from hinge_analytics.simulate.team import simulate_team

runner = CliRunner()
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def weekly(tmp_path_factory) -> dict:
    """A coach's inbox with 3 athletes x 6 weekly RDL sessions of 2 sets (A002 is planted
    asymmetric, A003 too heavy too soon), run once through the scheduled flow with the shipped model."""
    root = tmp_path_factory.mktemp("weekly")
    batch = root / "inbox" / "2026-09"
    # markers from several cameras measure both legs; a single camera's far leg is a guess
    simulate_team(batch, athletes=3, sessions=6, exercises=("romanian_deadlift",), formats=("trc",), seed=3)
    lake, reports = root / "lake", root / "reports"
    result = weekly_flow(manifest_dir=str(root / "inbox"), lake_root=str(lake), reports_dir=str(reports))
    return {"root": root, "batch": batch, "lake": lake, "reports": reports, "result": result}


def test_scheduled_flow_runs_once(weekly):
    result = weekly["result"]
    assert result["ingested"] == 3 * 6 * 2 and result["quarantined"] == 0
    assert result["labelled"] > 0 and result["pages"] == 3
    reports = weekly["reports"]
    for name in ("index.html", "athletes.csv", "sessions.csv", "sets.csv", "weekly.csv"):
        assert (reports / name).is_file(), name
    page = (reports / "athlete_A002.html").read_text()
    for heading in ("Progress over weeks", "Mistake breakdown", "asymmetry", "Reps of each set", "cues"):
        assert heading in page
    assert page.count("<svg") == 3 and "class='rep'" in page
    # left/right in degrees: the symmetry index of a small angle explodes
    assert "knee_L-R_deg" in page and "left - right (deg)" in page and "SI_%" not in page
    assert (reports / "athlete_A002_sessions.csv").is_file() and (reports / "athlete_A002_reps.csv").is_file()


def test_report_flags_exactly_the_planted_athletes(weekly):
    traits = pl.read_csv(weekly["batch"] / "athletes.csv")
    planted_asym = set(traits.filter(pl.col("asymmetric"))["athlete_id"])
    planted_heavy = set(traits.filter(pl.col("too_heavy_too_soon"))["athlete_id"])
    assert planted_asym and planted_heavy and not planted_asym & planted_heavy
    flags = pl.read_csv(weekly["reports"] / "athletes.csv")
    assert set(flags.filter(pl.col("asymmetry_flag"))["athlete_id"]) == planted_asym
    assert set(flags.filter(pl.col("too_heavy_too_soon"))["athlete_id"]) == planted_heavy
    index = (weekly["reports"] / "index.html").read_text()
    attention = index[index.index("Needs attention") : index.index("<h2>Athletes")]
    for athlete in traits["athlete_id"]:
        assert (f">{athlete}</a>" in attention) == (athlete in planted_asym | planted_heavy)


def _render(url: str, png: Path, profile: Path, size: str = "1280,2600") -> list[str]:
    """Screenshot ``url`` with headless Chromium; returns the page's console messages."""
    run = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", f"--user-data-dir={profile}", f"--screenshot={png}",
            f"--window-size={size}", "--enable-logging=stderr", "--v=0", url,
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert png.is_file(), run.stderr[-2000:]
    return [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


def _pixels(png: Path):
    from PIL import Image

    with Image.open(png) as image:
        return image.convert("RGB")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(weekly, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    # The console check can see errors at all: a page that logs one is caught.
    probe = tmp_path / "probe.html"
    probe.write_text("<p>probe</p><script>console.error('probe-error')</script>")
    assert any("probe-error" in line for line in _render(probe.as_uri(), tmp_path / "p.png", tmp_path / "u0"))
    for page, size in (("athlete_A002.html", "1280,2600"), ("index.html", "1280,900")):
        png = ARTIFACTS / f"report_{page.removesuffix('.html')}.png"
        png.unlink(missing_ok=True)
        console = _render((weekly["reports"] / page).as_uri(), png, tmp_path / f"u-{page}", size)
        assert console == [], console
        image = _pixels(png)
        colours = image.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # text, tables and plots, not a blank page
        non_white = sum(n for n, rgb in colours if sum(rgb) < 3 * 245)
        assert non_white > 0.02 * image.width * image.height
        if page.startswith("athlete"):
            # the plots drew: matplotlib's first line colour and the 'good' label green are on screen
            assert any(_near(rgb, (0x1F, 0x77, 0xB4)) for _, rgb in colours)
            assert any(_near(rgb, (0x2E, 0x7D, 0x32)) for _, rgb in colours)


def _near(rgb, target, tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb, target, strict=True))


def _hostile_lake(tmp_path) -> Lake:
    evil = "<script>console.error('xss')</script>"
    rows = [
        {
            "recording_id": "r1", "athlete_id": evil, "session_date": "2026-01-05", "exercise": "deadlift",
            "side": None, "load_kg": 100.0, "set_number": 1, "rep": k + 1,
            "label": "<img src=x onerror=console.error('xss2')>" if k % 2 else "good",
            "cue": "<b onclick=alert(1)>lift</b>", "confidence": 0.8,
            "peak_knee_flexion_left_deg": 60.0, "peak_knee_flexion_right_deg": 60.0,
        }
        for k in range(6)
    ]  # fmt: skip
    lake = Lake(tmp_path / "lake")
    write_rep_rows(lake, pl.DataFrame(rows).with_columns(pl.col("session_date").str.to_date()))
    return lake


def test_user_text_is_escaped(tmp_path):
    pages = build_reports(_hostile_lake(tmp_path), tmp_path / "out")
    assert len(pages) == 1 and pages[0].parent == tmp_path / "out"
    assert re.fullmatch(r"athlete_[A-Za-z0-9_-]+\.html", pages[0].name)
    for page in (pages[0], tmp_path / "out" / "index.html"):
        text = page.read_text()
        assert "<script>" not in text and "<img" not in text and "<b " not in text
        assert "&lt;script&gt;console.error(&#x27;xss&#x27;)&lt;/script&gt;" in text
    if CHROMIUM:
        console = _render(pages[0].as_uri(), tmp_path / "x.png", tmp_path / "ux", "1000,800")
        assert console == [], console


def test_file_names_cannot_escape_or_collide():
    assert safe_filename("A001") == "athlete_A001.html"
    assert safe_filename("../../etc/passwd").startswith("athlete_______etc_passwd-")
    assert "/" not in safe_filename("<script>alert(1)</script>")
    assert safe_filename("a/b") != safe_filename("a_b") != safe_filename("a:b")


def test_report_export_query_cli(weekly, tmp_path):
    lake = str(weekly["lake"])
    out = tmp_path / "one"
    result = runner.invoke(
        app, ["report", "--lake", lake, "--out", str(out), "--athlete", "A003", "--since", "2026-09-14"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("athlete_*.html")) == ["athlete_A003.html"]
    assert not (out / "index.html").exists() and not (out / "sessions.csv").exists()  # X's pages only
    sessions = pl.read_csv(out / "athlete_A003_sessions.csv")
    assert sessions["session_date"].min() == "2026-09-14" and set(sessions["athlete_id"]) == {"A003"}
    bad = runner.invoke(app, ["report", "--lake", lake, "--out", str(out), "--since", "last week"])
    assert bad.exit_code == 2 and "not a date" in bad.output
    csv = tmp_path / "sessions.csv"
    assert runner.invoke(app, ["export", "sessions", "--lake", lake, "--out", str(csv)]).exit_code == 0
    exported = pl.read_csv(csv)
    for column in ("share_good", "knee_si_pct", "form_decay", "share_good_change", "too_heavy_too_soon"):
        assert column in exported.columns
    result = runner.invoke(
        app,
        ["query", "SELECT athlete_id FROM athlete_flags(NULL, NULL) WHERE too_heavy_too_soon", "--lake", lake,
         "--csv"],
    )  # fmt: skip
    assert result.exit_code == 0 and result.output.split() == ["athlete_id", "A003"]


def test_schedule_deployment_and_cli(weekly, tmp_path):
    job = WeeklyJob(weekly["root"] / "inbox", str(weekly["lake"]), tmp_path / "r")
    deployment = build_deployment("0 6 * * MON", job, timezone="Europe/Berlin")
    assert deployment.name.startswith(DEPLOYMENT_PREFIX)
    other_team = WeeklyJob(weekly["root"] / "inbox", str(weekly["lake"]), tmp_path / "other")
    assert build_deployment("0 6 * * MON", other_team).name != deployment.name
    assert build_deployment("0 7 * * MON", job).name == deployment.name  # a new cron replaces the old
    assert deployment.entrypoint == "hinge_analytics.pipelines.batch_flows.weekly_flow"
    schedule = deployment.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("0 6 * * MON", "Europe/Berlin")
    assert deployment.parameters["manifest_dir"] == str((weekly["root"] / "inbox").resolve())
    base = ["schedule", "--manifest-dir", str(weekly["root"] / "inbox"), "--reports", str(tmp_path / "r")]
    for extra, message in (
        (["--cron", "every monday"], "not a cron expression"),
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--manifest-dir", str(tmp_path / "nope")], "does not exist"),
    ):
        result = runner.invoke(app, [*base, *extra, "--lake", str(weekly["lake"])])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
    # once more, as the schedule would on the next Monday: nothing new to ingest, reports rebuilt
    result = runner.invoke(app, [*base, "--lake", str(weekly["lake"]), "--run-now"])
    assert result.exit_code == 0, result.output
    assert "ingested 0 recording(s)" in result.output and "labelled 0 rep(s)" in result.output
    assert (tmp_path / "r" / "index.html").is_file()


def test_top_cues_give_each_mistake_once_with_its_rep_count():
    from hinge_analytics.report import _top_cues

    advice = "Soften the knees less and push the hips back: it's a hinge, not a squat."
    reps = pl.DataFrame(
        {
            "label": ["squatting"] * 3 + ["lumbar_flexion", "good", "uncertain"],
            "cue": [
                f"{advice} (peak knee flexion (right) 10° more than a good rep)",
                f"{advice} (peak knee flexion (left) 13° more than a good rep)",
                advice,
                "Brace before you go down. (peak lumbar flexion 12° more than a good rep)",
                "Good rep: keep it up.",
                "Not sure",
            ],
            "session_date": ["2026-09-07", "2026-09-28", "2026-09-14"] + ["2026-09-07"] * 3,
        }
    )
    items = re.findall(r"<li>(.*?)</li>", _top_cues(reps))
    assert len(items) == 2 and "squatting: 3 reps, last 2026-09-28" in items[0]
    assert items[0].count("Soften the knees") == 1 and "(left) 13°" in items[0]  # the latest rep's evidence
    assert "lumbar_flexion: 1 reps" in items[1]


def test_top_cues_say_so_when_no_rep_could_be_judged():
    from hinge_analytics.classify import NO_BODY_CUE
    from hinge_analytics.report import _top_cues

    wrist = pl.DataFrame(
        {"label": ["uncertain"] * 3, "cue": [NO_BODY_CUE] * 3, "session_date": ["2026-09-07"] * 3}
    )
    text = _top_cues(wrist)
    assert "No rep in this period could be judged (3 uncertain" in text and "no body angles" in text
    assert "keep going" not in text
    doubt = wrist.with_columns(cue=pl.Series(["Not sure (a)", "Not sure (b)", None]))
    assert "not sure enough" in _top_cues(doubt)
    one_good = wrist.with_columns(label=pl.Series(["good", "uncertain", "uncertain"]))
    assert "keep going" in _top_cues(one_good)


def test_the_good_share_counts_uncertain_reps_as_their_own_share():
    from hinge_analytics.report import _good_share

    counts = pl.DataFrame({"label": ["good", "uncertain", "squatting", None], "reps": [3, 18, 1, 1]})
    assert _good_share(counts) == "14% good, 82% uncertain of 22 labelled reps (1 not labelled yet), "
    assert _good_share(counts.filter(pl.col("label").is_null())) == "none of 1 labelled yet, "
