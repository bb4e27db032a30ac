"""What `hinge` prints stays readable at a team's scale."""

from typer.testing import CliRunner

from hinge_analytics.cli import QUARANTINE_PRINTED, app

runner = CliRunner()


def test_ingest_prints_the_first_quarantined_rows_and_says_where_the_rest_are(tmp_path):
    rows = [f"r{i:03d},missing{i}.csv,A1,2026-01-05,deadlift" for i in range(QUARANTINE_PRINTED + 7)]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(["recording_id,path,athlete_id,session_date,exercise", *rows, ""]))
    result = runner.invoke(app, ["ingest", str(manifest), "--lake", str(tmp_path / "lake"), "--quiet"])
    assert result.exit_code == 0, result.output
    listed = [line for line in result.stdout.splitlines() if line.strip().startswith("quarantined r")]
    assert len(listed) == QUARANTINE_PRINTED
    assert "... and 7 more quarantined: hinge export quarantine" in result.stdout
    exported = tmp_path / "q.csv"
    runner.invoke(app, ["export", "quarantine", "--out", str(exported), "--lake", str(tmp_path / "lake")])
    assert len(exported.read_text().splitlines()) == 1 + QUARANTINE_PRINTED + 7  # all kept in the lake


def test_a_failed_forced_reingest_keeps_the_committed_data(tmp_path):
    """`--force` over a file that has since been damaged quarantines the new read and leaves the
    data of the last good ingest visible: nothing analysed is lost."""
    from hinge_analytics.simulate.team import simulate_team

    manifest = simulate_team(tmp_path / "batch", athletes=1, sessions=1, exercises=("deadlift",),
                             sets_per_exercise=1, seed=3, formats=("mediapipe_csv",))  # fmt: skip
    lake = str(tmp_path / "lake")

    def reps() -> str:
        return runner.invoke(app, ["query", "SELECT count(*) AS n FROM reps", "--lake", lake, "--csv"]).stdout

    assert runner.invoke(app, ["ingest", str(manifest), "--lake", lake, "--quiet"]).exit_code == 0
    before = reps()
    assert before.split()[1] != "0"
    next((tmp_path / "batch" / "recordings").iterdir()).write_text("garbage\n")
    again = runner.invoke(app, ["ingest", str(manifest), "--lake", lake, "--quiet", "--force"])
    assert again.exit_code == 0 and "quarantined 1" in again.stdout
    assert reps() == before


def test_query_refuses_the_raw_relations_and_prints_nested_values_as_csv(tmp_path):
    """`<table>_raw` holds rows of interrupted ingests too; users get the committed views. Lists and
    structs print as JSON text in CSV."""
    from hinge_analytics.simulate.team import simulate_team

    manifest = simulate_team(tmp_path / "batch", athletes=1, sessions=1, exercises=("deadlift",),
                             sets_per_exercise=1, seed=3, formats=("mediapipe_csv",))  # fmt: skip
    lake = str(tmp_path / "lake")
    assert runner.invoke(app, ["ingest", str(manifest), "--lake", lake, "--quiet"]).exit_code == 0
    refused = runner.invoke(app, ["query", "SELECT count(*) FROM (SELECT * FROM Reps_Raw)", "--lake", lake])
    assert refused.exit_code == 2 and "query the views instead (reps)" in refused.output
    assert runner.invoke(app, ["query", "SELECT count(*) FROM reps", "--lake", lake]).exit_code == 0
    nested = "SELECT recording_id, list(rep ORDER BY rep) AS reps, {'n': 1} AS s FROM reps GROUP BY 1"
    as_csv = runner.invoke(app, ["query", nested, "--lake", lake, "--csv"])
    assert as_csv.exit_code == 0, as_csv.output  # lists and structs as JSON text, not a traceback
    assert as_csv.stdout.splitlines()[1].endswith('"[1, 2, 3, 4, 5]","{""n"": 1}"')
