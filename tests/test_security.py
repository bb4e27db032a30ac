"""Hostile input: ids and paths cannot escape the lake or alter queries; `hinge query` is read-only;
report text is escaped; model files load only after their hash and type check."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import polars as pl
import pytest
from test_reliability import _hashes, _sub_manifest, assert_consistent
from typer.testing import CliRunner

from hinge_analytics.cli import app
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.jobs.query import query
from hinge_analytics.lake import Lake
from hinge_analytics.schema import TABLES

HOSTILE_IDS = [
    "victim' OR '1'='1",
    "x') OR ('1'='1",
    "'); DROP TABLE reps; --",
    "back\\' OR 1=1 --",
    "../../../escaped",
    "/tmp/absolute",
    "%_*?",
    "é\u202eevil",
    "L" * 128,
]


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture(scope="module")
def hostile_lake(batch, tmp_path_factory):
    """A victim recording, then recordings whose ids are SQL/path fragments re-using its file."""
    out = tmp_path_factory.mktemp("hostile")
    manifest = _sub_manifest(batch, out / "batch", 1)
    table = pl.read_csv(manifest, infer_schema=False).with_columns(recording_id=pl.lit("victim"))
    rel = table["path"][0]
    copies = []  # a file per recording: a second id for the same file is refused
    for k in range(len(HOSTILE_IDS)):
        copies.append(str(Path(rel).with_name(f"hostile-{k}{Path(rel).suffix}")))
        shutil.copyfile(out / "batch" / rel, out / "batch" / copies[-1])
    hostile = pl.concat(
        [
            table.with_columns(recording_id=pl.lit(rid), athlete_id=pl.lit(rid[:128]), path=pl.lit(copy))
            for rid, copy in zip(HOSTILE_IDS, copies, strict=True)
        ]
    )
    bad_rows = pl.DataFrame(
        {
            "recording_id": ["nul\x00id", "long" * 100, "escape-1", "escape-2", "escape-3", "escape-4"],
            "path": [rel, rel, "../outside.csv", "/etc/passwd", "x" * 300 + ".csv", "link.csv"],
        }
    )
    (out / "outside.csv").write_text("secret\n")
    (out / "batch" / "link.csv").symlink_to(out / "outside.csv")
    bad = bad_rows.join(table.drop("recording_id", "path"), how="cross").select(table.columns)
    table.write_csv(manifest)
    lake_root = out / "lake"
    lake = Lake(lake_root)
    ingest_manifest(manifest, lake)
    victim = lake.read("reps", recording_ids=["victim"])
    outside_before = _files_under(out) - _files_under(lake_root)
    pl.concat([table, hostile, bad]).write_csv(manifest)
    summary = ingest_manifest(manifest, lake)
    return lake, out, victim, summary, outside_before


def test_sql_fragment_ids_neither_alter_predicates_nor_touch_other_rows(hostile_lake):
    lake, _, victim, summary, _ = hostile_lake
    assert sorted(summary.ingested) == sorted(HOSTILE_IDS)
    ids = set(query(lake, "SELECT recording_id FROM recordings")["recording_id"])
    assert ids == {"victim", *HOSTILE_IDS}  # stored verbatim, one row each
    assert lake.read("reps", recording_ids=["victim"]).equals(victim)  # the victim's rows untouched
    assert query(lake, "SELECT count(*) AS n FROM reps")["n"][0] == victim.height * (1 + len(HOSTILE_IDS))
    assert_consistent(lake)
    again = ingest_manifest(lake_manifest(hostile_lake), lake)  # re-ingest: nothing changes
    assert again.ingested == [] and len(again.skipped) == 1 + len(HOSTILE_IDS)


def lake_manifest(hostile_lake) -> Path:
    return hostile_lake[1] / "batch" / "manifest.csv"


def test_hostile_paths_and_ids_are_quarantined_and_nothing_is_written_outside_the_lake(hostile_lake):
    lake, out, _, _, outside_before = hostile_lake
    reasons = dict(query(lake, "SELECT recording_id, reason FROM quarantine").iter_rows())
    assert "printable" in reasons["nul\x00id"] and "printable" in reasons["long" * 100]
    assert "outside the batch" in reasons["escape-1"]
    assert "relative" in reasons["escape-2"]
    assert "cannot be used" in reasons["escape-3"]  # a name too long for the file system
    assert "outside the batch" in reasons["escape-4"]  # a symlink out of the batch folder
    lake_root = Path(lake.root)
    assert _files_under(out) - _files_under(lake_root) == outside_before  # no file appeared elsewhere
    for table_dir in lake_root.iterdir():  # only the known tables, each a flat Delta folder
        assert table_dir.name in TABLES, table_dir
    assert (out / "outside.csv").read_text() == "secret\n"


def test_very_long_paths_are_a_quarantine_reason_not_a_crash(tmp_path):
    (tmp_path / "manifest.csv").write_text(
        "recording_id,path,athlete_id,session_date,exercise\n"
        f"r1,{'a' * 300}.csv,A,2026-01-05,deadlift\n"
        f"r2,{'/'.join(['b' * 200] * 30)},A,2026-01-05,deadlift\n"
    )
    valid, rejected = read_manifest(tmp_path / "manifest.csv")
    assert valid == [] and all("cannot be used" in r.reason and len(r.reason) < 300 for r in rejected)


# --------------------------------------------------------------------------- hinge query
runner = CliRunner()
REFUSED = [
    "DROP VIEW reps",
    "DELETE FROM reps_raw",
    "INSERT INTO reps_raw SELECT * FROM reps_raw",
    "SELECT 1; DROP VIEW reps",
    "COPY (SELECT * FROM reps) TO '{out}/stolen.csv'",
    "ATTACH '{out}/x.duckdb' AS x",
    "SET enable_external_access = true",
    "INSTALL httpfs",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('{out}/../outside.csv')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM query('COPY (SELECT 1) TO ''{out}/q.csv''')",
    "SELECT * FROM delta_scan('{lake}/reps')",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_hinge_query_refuses_writes_files_and_config(lake, tmp_path, sql):
    before = _hashes(Path(lake.root))
    result = runner.invoke(app, ["query", sql.format(out=tmp_path, lake=lake.root), "--lake", lake.root])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert _hashes(Path(lake.root)) == before  # the lake did not change


def test_hinge_query_answers_a_select_with_a_hostile_literal(lake):
    sql = "SELECT count(*) AS n FROM reps WHERE recording_id = 'x'' OR ''1''=''1'"
    result = runner.invoke(app, ["query", sql, "--lake", lake.root, "--csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["n", "0"]


# --------------------------------------------------------------------------- reports
def test_a_script_athlete_id_renders_as_text(batch, tmp_path):
    from hinge_analytics.jobs.report import build_reports

    evil = "<script>alert(1)</script>"
    manifest = _sub_manifest(batch, tmp_path / "batch", 2)
    table = pl.read_csv(manifest, infer_schema=False)
    table.with_columns(athlete_id=pl.Series([evil, "../../pwn\"'<img src=x onerror=alert(1)>"])).write_csv(
        manifest
    )
    lake = Lake(tmp_path / "lake")
    ingest_manifest(manifest, lake)
    out = tmp_path / "reports"
    pages = build_reports(lake, out)
    assert len(pages) == 2
    assert {p.parent for p in out.rglob("*")} == {out}  # every file inside the report folder
    for page in out.glob("*.html"):
        text = page.read_text()
        assert "<script" not in text.lower() and "<img" not in text.lower(), page.name
    index = (out / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index


# --------------------------------------------------------------------------- model files
class Boom:
    """Unpickling this would create a file: the proof a payload ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _model_dir(
    tmp_path: Path,
    payload: bytes,
    sha: str | None = None,
    file: str = "pose__all.skops",
    types: list[str] | None = None,
) -> Path:
    from hinge_analytics.classify.persistence import FORMAT_VERSION, META_FILE

    model = tmp_path / "model"
    model.mkdir(parents=True)
    (model / Path(file).name).write_bytes(payload)
    meta = {
        "format_version": FORMAT_VERSION,
        "model_version": "evil",
        "families": {"pose:all": {"file": file, "sha256": sha or hashlib.sha256(payload).hexdigest()}},
    }
    if types is not None:
        meta["families"]["pose:all"]["types"] = types
    (model / META_FILE).write_text(json.dumps(meta))
    return model


def test_a_pickle_posing_as_a_model_file_is_refused_unexecuted(tmp_path):
    from hinge_analytics.classify.estimator import ModelError
    from hinge_analytics.classify.persistence import load_model

    marker = tmp_path / "payload-ran"
    model = _model_dir(tmp_path, pickle.dumps(Boom(str(marker))))  # correct checksum, wrong format
    with pytest.raises(ModelError, match="cannot be read"):
        load_model(model)
    assert not marker.exists()


def test_a_skops_file_with_unexpected_types_is_refused(tmp_path):
    import collections

    import skops.io as sio

    from hinge_analytics.classify.estimator import ModelError
    from hinge_analytics.classify.persistence import load_model

    payload = sio.dumps({"steps": collections.Counter(a=1), "call": __import__("os").system})
    with pytest.raises(ModelError, match="unexpected types"):
        load_model(_model_dir(tmp_path, payload))
    # model.json listing the types: the list is checked, and the file may hold nothing else
    found = sio.get_untrusted_types(data=payload)
    with pytest.raises(ModelError, match="unexpected types"):
        load_model(_model_dir(tmp_path / "listed", payload, types=found))
    # a type hidden from the list: skops refuses it when the family is parsed, on first use
    hidden = load_model(_model_dir(tmp_path / "hidden", payload, types=["sklearn.pipeline.Pipeline"]))
    with pytest.raises(ModelError, match="unexpected types"):
        hidden.pipelines_["pose:all"]


def test_a_changed_model_file_or_a_path_in_model_json_is_refused(tmp_path):
    from hinge_analytics.classify.estimator import ModelError
    from hinge_analytics.classify.persistence import load_model

    with pytest.raises(ModelError, match="checksum"):
        load_model(_model_dir(tmp_path / "a", b"PK\x03\x04", sha="0" * 64))
    outside = tmp_path / "b" / "elsewhere.skops"
    outside.parent.mkdir()
    outside.write_bytes(b"PK\x03\x04")
    # model.json naming a file outside the model folder: only the folder's own file is considered
    model = _model_dir(tmp_path / "c", b"", file="../../b/elsewhere.skops")
    (model / "elsewhere.skops").unlink()
    with pytest.raises(ModelError, match="lacks its file"):
        load_model(model)


def test_a_folder_recording_with_a_link_out_of_the_batch_is_quarantined(tmp_path):
    from hinge_analytics.ingest.manifest import read_manifest

    batch = tmp_path / "batch"
    folder = batch / "imu_set"
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.csv"
    secret.write_text("time_s,acc_x\n0,1\n")
    (folder / "sacrum.csv").symlink_to(secret)
    manifest = batch / "manifest.csv"
    manifest.write_text(
        "recording_id,path,athlete_id,session_date,exercise\n"
        "r1,imu_set,A1,2026-01-05,deadlift\n"
        "r2,.,A1,2026-01-05,deadlift\n"
    )
    valid, rejected = read_manifest(manifest)
    assert not valid
    reasons = {r.recording_id: r.reason for r in rejected}
    assert "outside the batch folder" in reasons["r1"]
    assert "batch folder itself" in reasons["r2"]


def test_csv_cells_that_spreadsheets_would_run_as_formulas_are_quoted():
    import polars as pl

    from hinge_analytics.report import spreadsheet_safe

    frame = pl.DataFrame(
        {"athlete_id": ['=HYPERLINK("http://x")', "A01", "@SUM(1)", None], "x": [-1.5, 2, 3, 4]}
    )
    safe = spreadsheet_safe(frame)
    assert safe["athlete_id"].to_list() == ['\'=HYPERLINK("http://x")', "A01", "'@SUM(1)", None]
    assert safe["x"].to_list() == [-1.5, 2, 3, 4]  # numbers keep their sign
