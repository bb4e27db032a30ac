"""The Python API for notebooks: the README's example runs as written, and importing the package
changes nothing in the process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import hinge_analytics as ha

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_example() -> str:
    """The ```python block of the README's "Python API" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return code


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the example writes example/ in the working folder
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(_readme_example(), str(README), "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "peak_hip_flexion_deg" in printed and "share_good" in printed
    result, lake = namespace["result"], namespace["lake"]
    assert isinstance(result.angles, pl.DataFrame) and result.reps.height > 0
    reps = lake.reps()
    assert reps.height > 0 and reps["label"].is_not_null().all()
    assert set(reps["model_version"]) == {namespace["meta"]["model_version"]}
    assert (tmp_path / "example" / "model" / "MODEL_CARD.md").is_file()


def test_import_is_light_and_changes_nothing():
    """A fresh interpreter: importing hinge_analytics (and its flows' package) sets no variable,
    loads no heavy library and leaves glibc's malloc and Arrow's pool to their defaults."""
    code = (
        "import json, os, sys\n"
        "before = dict(os.environ)\n"
        "import hinge_analytics, hinge_analytics.pipelines\n"
        "heavy = sorted(m for m in ('polars', 'pyarrow', 'duckdb', 'deltalake', 'prefect', 'sklearn',\n"
        "    'matplotlib', 'numpy') if m in sys.modules)\n"
        "print(json.dumps({'env_changed': dict(os.environ) != before, 'heavy': heavy,\n"
        "    'api': [n for n in ('read_recording', 'analyse', 'open_lake', 'manifest_for', 'load_model',\n"
        "    'simulate_team', 'DEFAULT_MODEL_DIR') if n in dir(hinge_analytics)]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    seen = json.loads(run.stdout)
    assert seen == {
        "env_changed": False,
        "heavy": [],
        "api": [
            "read_recording",
            "analyse",
            "open_lake",
            "manifest_for",
            "load_model",
            "simulate_team",
            "DEFAULT_MODEL_DIR",
        ],
    }
    pool = "import hinge_analytics, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    backend = subprocess.run(
        [sys.executable, "-c", pool], env=env, capture_output=True, text=True, check=True
    )
    assert backend.stdout.strip() != "system"  # Arrow's own default: the package chose nothing


def test_lazy_names_resolve_and_unknown_ones_fail():
    assert ha.analyse is ha.pipeline.analyse
    assert (ha.DEFAULT_MODEL_DIR / "model.json").is_file()
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = ha.nothing_here


def test_read_recording_says_why_a_file_is_refused(tmp_path):
    bad = tmp_path / "notes.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ha.BadRecording, match="format column"):
        ha.read_recording(bad)


def test_export_reps_has_every_rep_column_with_the_specs_first(lake, tmp_path):
    from typer.testing import CliRunner

    from hinge_analytics.cli import app
    from hinge_analytics.schema import EXPORT_REPS_COLUMNS, REP_METRIC_COLUMNS

    runner = CliRunner()
    out = tmp_path / "reps.csv"
    result = runner.invoke(app, ["export", "reps", "--lake", str(lake.root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    reps = pl.read_csv(out)
    assert reps.columns[: len(EXPORT_REPS_COLUMNS)] == list(EXPORT_REPS_COLUMNS)
    # tempo per phase, ranges, symmetry indices, the cue and its checkpoint
    wanted = {
        *REP_METRIC_COLUMNS,
        "eccentric_s",
        "concentric_s",
        "si_knee_flexion_pct",
        "cue",
        "cue_checkpoint",
    }
    assert wanted <= set(reps.columns) and "ingest_id" not in reps.columns
    assert reps.height == ha.open_lake(lake.root).reps().height
    picked = tmp_path / "picked.parquet"
    columns = "rep,athlete_id,eccentric_s,range_knee_flexion_left_deg"
    result = runner.invoke(
        app, ["export", "reps", "--lake", str(lake.root), "--out", str(picked), "--columns", columns]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(picked).columns == columns.split(",")
    wrong = runner.invoke(
        app,
        [
            "export",
            "reps",
            "--lake",
            str(lake.root),
            "--out",
            str(tmp_path / "x.csv"),
            "--columns",
            "peak_hip",
        ],
    )
    assert wrong.exit_code == 2 and "did you mean peak_hip" in wrong.output
    assert not (tmp_path / "x.csv").exists()
    sessions = tmp_path / "sessions.csv"
    result = runner.invoke(
        app,
        [
            "export",
            "sessions",
            "--lake",
            str(lake.root),
            "--out",
            str(sessions),
            "--columns",
            "athlete_id,reps",
        ],
    )
    assert result.exit_code == 0 and pl.read_csv(sessions).columns == ["athlete_id", "reps"]


def test_the_cue_checkpoint_is_the_cue_without_its_measurements():
    import duckdb

    from hinge_analytics.analytics import DERIVED_COLUMNS

    checkpoint = "Keep the chest up and the lats tight: don't let the upper back round."
    cue = f"{checkpoint} (upper back rounding 9 deg more than a good rep)"
    uncertain = "Not sure about this rep (best guess: squatting, 41%): have a look at the video."
    sql = f"SELECT {DERIVED_COLUMNS['cue_checkpoint']} FROM (SELECT unnest(?::VARCHAR[]) AS cue)"
    got = [r[0] for r in duckdb.sql(sql, params=[[cue, uncertain]]).fetchall()]
    assert got == [checkpoint, uncertain]
