"""Issue 23, as a hostile or careless user meets it: killed commands, runaway queries, read-only
commands on missing or read-only lakes, interrupted writes, and ids that look like rich markup."""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hinge_analytics.analytics import QueryStopped
from hinge_analytics.classify import load_model
from hinge_analytics.classify.estimator import ModelError
from hinge_analytics.cli import app
from hinge_analytics.jobs.query import QUERY_TIMEOUT_S, read_only_query
from hinge_analytics.jobs.train import train
from hinge_analytics.lake import Lake
from hinge_analytics.simulate.team import simulate_team

runner = CliRunner()
HINGE = Path(sys.executable).parent / "hinge"
needs_hinge = pytest.mark.skipif(not HINGE.exists(), reason="the hinge console script is not installed")
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="walks /proc (Linux)")
# minutes of work: 10^9 x (reps) rows, each through a multiplication and a modulo
RUNAWAY_SQL = "SELECT count(*) AS n FROM range(1000000000) a, reps b WHERE (a.range * b.rep) % 7 = 3"


def _one_line_error(result) -> str:
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output and "panicked" not in result.output, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hinge: "), result.output
    return lines[0]


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a digest of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------------------- 1. no orphans
def _proc_stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, process group, start time) of a live process, None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[2]), fields[19]


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _descendants(root: int) -> dict[int, str]:
    """Live processes below ``root`` or in its process group: pid -> start time."""
    stats = {pid: s for pid in _all_pids() if (s := _proc_stat(pid)) is not None}
    found: dict[int, str] = {pid: s[2] for pid, s in stats.items() if s[1] == root and pid != root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, start) in stats.items():
            if pid not in found and pid != root and (ppid == root or ppid in found):
                found[pid] = start
                grew = True
    return found


@needs_hinge
@needs_proc
@pytest.mark.parametrize("moment", ["starting", "ingesting"])
def test_killed_ingest_leaves_no_process_and_closes_stdout(tmp_path, moment):
    """kill -9 of `hinge ingest` while Prefect's API starts, and while chunks are processed: 10 s
    later nothing it started is alive, and whoever reads its stdout sees the end of it (an
    orphaned Prefect server used to keep the pipe open, so `hinge ... | tee` waited forever)."""
    manifest = simulate_team(tmp_path / "batch", athletes=1, sessions=1, sets_per_exercise=2, seed=3)
    lake = tmp_path / "lake"
    proc = subprocess.Popen(
        [str(HINGE), "ingest", str(manifest), "--lake", str(lake)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: anything it starts is findable
    )
    seen: dict[int, str] = {}
    started = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() - started < 120:
            seen |= _descendants(proc.pid)
            if moment == "starting" and time.monotonic() - started > 1.5:
                break
            if moment == "ingesting" and (lake / "recordings").exists():  # the flow is running
                time.sleep(0.3)
                seen |= _descendants(proc.pid)
                break
            time.sleep(0.05)
        assert proc.poll() is None, "hinge ingest finished before it could be killed: make the batch larger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # drain to end of file: no process holds the pipe
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if ready and not os.read(proc.stdout.fileno(), 65536):
                break
        else:
            pytest.fail("stdout of the killed hinge stayed open for 10 s: a process it started holds it")

        def alive() -> set[int]:
            left = {pid for pid, start in seen.items() if (s := _proc_stat(pid)) and s[2] == start}
            return left | {pid for pid in _all_pids() if (s := _proc_stat(pid)) and s[1] == proc.pid}

        while alive() and time.monotonic() < deadline:  # 10 s after the kill at most
            time.sleep(0.1)
        assert not alive(), f"processes started by the killed hinge still run: {sorted(alive())}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _descendants(proc.pid):  # only what this test started, if the check failed
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _own_prefect(tmp_path: Path) -> dict[str, str]:
    """The environment for a `hinge` that serves its own Prefect API with its own database.

    A flow run earlier in this pytest worker set PREFECT_API_URL to the worker's in-thread API
    (pipelines/api.py; child processes are meant to inherit it), which runs no scheduler: a
    served cron inheriting it never fired, and only when the test ran after such a flow."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    return env


def _serve(tmp_path: Path, batch: Path, cron: str) -> tuple[subprocess.Popen, Path]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    manifest = simulate_team(inbox / "week1", athletes=1, sessions=1, exercises=("deadlift",), seed=9)
    reports = tmp_path / "reports"
    proc = subprocess.Popen(
        [
            str(HINGE),
            "schedule",
            "--cron",
            cron,
            "--manifest-dir",
            str(manifest.parent.parent),
            "--reports",
            str(reports),
            "--lake",
            str(tmp_path / "lake"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=_own_prefect(tmp_path),
    )
    return proc, reports


def _stop_served(proc: subprocess.Popen) -> str:
    seen = _descendants(proc.pid)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130), out  # 130: Ctrl-C came while Prefect's runner was starting
    deadline = time.monotonic() + 10
    while any(_proc_stat(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid, start in seen.items() if (s := _proc_stat(pid)) and s[2] == start]
    return out


@needs_hinge
@needs_proc
def test_hinge_schedule_serves_from_one_process_and_stops_on_ctrl_c(tmp_path, batch):
    proc, _ = _serve(tmp_path, batch, "0 6 * * MON")
    assert proc.stdout is not None
    printed = ""
    deadline = time.monotonic() + 90
    while "polling for scheduled runs" not in printed and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536).decode()
            assert chunk, f"hinge schedule ended: {printed}"
            printed += chunk
    assert "polling for scheduled runs" in printed, printed
    assert not _descendants(proc.pid)  # the Prefect API is a thread of this process
    _stop_served(proc)


@pytest.mark.slow
@needs_hinge
@needs_proc
def test_hinge_schedule_runs_the_flow_on_its_cron(tmp_path, batch):
    """The served API runs Prefect's scheduler: Prefect's temporary server runs the ephemeral
    subset of services, without it, and a served cron never fired."""
    proc, reports = _serve(tmp_path, batch, "* * * * *")
    started = time.monotonic()
    while not (reports / "index.html").exists() and time.monotonic() - started < 240:
        assert proc.poll() is None, proc.communicate()
        time.sleep(1)
    if not (reports / "index.html").exists():
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        pytest.fail(f"no scheduled run in 4 minutes; hinge schedule printed:\n{out[-4000:]}")
    _stop_served(proc)


# ----------------------------------------------------------------------------- 2. hinge query
def test_query_time_limit_stops_a_runaway_cross_join(lake):
    assert QUERY_TIMEOUT_S <= 300  # the bound on the default
    started = time.monotonic()
    with pytest.raises(QueryStopped, match="longer than 1 s"):
        read_only_query(lake, RUNAWAY_SQL, timeout_s=1.0)
    assert time.monotonic() - started < 5


def test_query_limits_from_the_command_line(lake):
    slow = runner.invoke(app, ["query", RUNAWAY_SQL, "--lake", lake.root, "--timeout", "1"])
    assert "--timeout" in _one_line_error(slow)
    # DuckDB does not count one huge string against its own memory_limit (6 GB were seen); the
    # process-wide cap makes the allocation itself fail
    started = time.monotonic()
    big = runner.invoke(
        app,
        [
            "query",
            "SELECT length(repeat('x', 2000000000::BIGINT)) AS n",
            "--lake",
            lake.root,
            "--memory-limit",
            "500MB",
        ],
    )
    assert "--memory-limit" in _one_line_error(big)
    assert time.monotonic() - started < 10
    bad = runner.invoke(app, ["query", "SELECT 1", "--lake", lake.root, "--memory-limit", "lots"])
    assert "memory size" in _one_line_error(bad)
    rows = runner.invoke(
        app,
        ["query", "SELECT range AS n FROM range(100000)", "--lake", lake.root, "--csv", "--max-rows", "3"],
    )
    assert rows.exit_code == 0, rows.output
    assert rows.stdout.splitlines() == ["n", "0", "1", "2"]
    assert "first 3 rows" in rows.stderr


@needs_hinge
def test_ctrl_c_stops_a_query_within_two_seconds(lake):
    proc = subprocess.Popen(
        [str(HINGE), "query", RUNAWAY_SQL, "--lake", lake.root],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(8)  # imports and opening the lake take ~1.5 s (more on a loaded machine)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        latency = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert latency < 2.0, latency
    assert proc.returncode == 130
    assert err == "hinge: query interrupted\n" and out == ""


# ----------------------------------------------------------------------------- 3. read-only commands
def test_read_only_commands_on_a_missing_lake_create_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "lake"
    for args in (
        ["query", "SELECT count(*) FROM reps"],
        ["report", "--out", str(tmp_path / "nowhere" / "reports")],
        ["export", "reps", "--out", str(tmp_path / "nowhere" / "reps.csv")],
    ):
        result = runner.invoke(app, [*args, "--lake", str(missing)])
        assert "no lake at" in _one_line_error(result)
    assert not (tmp_path / "nowhere").exists()


@pytest.fixture
def lake_copy(lake, tmp_path) -> Path:
    """A copy of the session's lake that a test may damage."""
    return Path(shutil.copytree(lake.root, tmp_path / "lake"))


def test_read_only_commands_never_write_a_partial_lake(lake_copy, tmp_path):
    shutil.rmtree(lake_copy / "reps")
    before = _tree(lake_copy)
    for args in (
        ["query", "SELECT count(*) FROM recordings"],
        ["report", "--out", str(tmp_path / "reports")],
        ["export", "sessions", "--out", str(tmp_path / "sessions.csv")],
    ):
        result = runner.invoke(app, [*args, "--lake", str(lake_copy)])
        assert "no reps table" in _one_line_error(result)
    assert _tree(lake_copy) == before
    assert not (tmp_path / "sessions.csv").exists()


def test_a_table_an_older_lake_lacks_reads_as_empty_without_being_created(lake_copy):
    shutil.rmtree(lake_copy / "rep_curves")  # lakes written before rep_curves existed
    before = _tree(lake_copy)
    result = runner.invoke(
        app, ["query", "SELECT count(*) AS n FROM rep_curves", "--lake", str(lake_copy), "--csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["n", "0"]
    assert _tree(lake_copy) == before


def _read_only_mount_works() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


def _run_on_read_only(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``hinge args`` with ``folder`` read-only: a read-only bind mount in a private mount namespace
    as root (permissions do not stop root), else the folder's write permission removed."""
    if _read_only_mount_works():
        script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
        command = ["unshare", "-m", "sh", "-c", script, str(folder), str(HINGE), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)
    if os.geteuid() == 0:
        pytest.skip("needs a read-only mount (unshare) when run as root")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        return subprocess.run([str(HINGE), *args], capture_output=True, text=True, timeout=300)
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)


@needs_hinge
def test_a_read_only_lake_is_read_and_refuses_writes_in_one_line(lake_copy, batch, tmp_path):
    before = _tree(lake_copy)
    read = _run_on_read_only(
        lake_copy, "query", "SELECT count(*) AS n FROM reps", "--csv", "--lake", str(lake_copy)
    )
    assert read.returncode == 0, read.stderr
    assert int(read.stdout.splitlines()[1]) > 0
    for args in (["ingest", str(batch), "--force"], ["predict"]):
        write = _run_on_read_only(lake_copy, *args, "--lake", str(lake_copy))
        assert write.returncode != 0
        assert "panicked" not in write.stderr and "Traceback" not in write.stderr, write.stderr
        assert write.stderr.count("\n") == 1 and "cannot write the lake" in write.stderr, write.stderr
    assert _tree(lake_copy) == before


# ----------------------------------------------------------------------------- 4. atomic outputs
def test_export_refuses_the_lake_and_existing_files(lake_copy, tmp_path):
    before = _tree(lake_copy)
    data_file = next((lake_copy / "reps").glob("*.parquet"))
    for out in (data_file, lake_copy / "reps.csv", lake_copy / "new" / "reps.parquet"):
        result = runner.invoke(
            app, ["export", "reps", "--lake", str(lake_copy), "--out", str(out), "--overwrite"]
        )
        assert "inside the lake" in _one_line_error(result)
    assert _tree(lake_copy) == before
    assert not (lake_copy / "new").exists()
    out = tmp_path / "reps.csv"
    assert runner.invoke(app, ["export", "reps", "--lake", str(lake_copy), "--out", str(out)]).exit_code == 0
    again = runner.invoke(app, ["export", "reps", "--lake", str(lake_copy), "--out", str(out)])
    assert "--overwrite" in _one_line_error(again)
    out.write_text("old")
    assert (
        runner.invoke(
            app, ["export", "reps", "--lake", str(lake_copy), "--out", str(out), "--overwrite"]
        ).exit_code
        == 0
    )
    assert pl.read_csv(out).height > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_an_interrupted_train_leaves_the_previous_model_loadable(lake, batch, tmp_path, monkeypatch):
    labels = batch.parent / "rep_labels.csv"
    out = tmp_path / "model"
    first = train(lake, out, labels_file=labels, candidates=("logreg",))
    import hinge_analytics.jobs.train as train_job

    def fail_half_way(folder: Path, meta: dict) -> Path:  # the model files are written by now
        (folder / "MODEL_CARD.md").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(train_job, "write_card", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        train(lake, out, labels_file=labels, candidates=("logreg",), seed=1)
    assert load_model(out).version_ == first["model_version"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # the staging folder is gone
    monkeypatch.undo()
    (out / "notes.txt").write_text("mine")  # a folder with other files is not replaced (deleted)
    with pytest.raises(ModelError, match="not a model's"):
        train(lake, out, labels_file=labels, candidates=("logreg",))
    (out / "notes.txt").unlink()
    second = train(lake, out, labels_file=labels, candidates=("logreg",), seed=1)
    assert load_model(out).version_ == second["model_version"]


def test_an_interrupted_report_keeps_the_previous_pages(lake, tmp_path, monkeypatch):
    from hinge_analytics import report
    from hinge_analytics.jobs.report import build_reports

    out = tmp_path / "reports"
    build_reports(lake, out)
    before = _tree(out)

    def broken(athlete_id: str, *args, **kwargs) -> str:
        raise KeyboardInterrupt  # Ctrl-C half-way through the athlete pages

    monkeypatch.setattr(report, "_athlete_page", broken)
    with pytest.raises(KeyboardInterrupt):
        build_reports(lake, out)
    after = _tree(out)
    assert {k: v for k, v in after.items() if k.endswith(".html")} == {
        k: v for k, v in before.items() if k.endswith(".html")
    }
    assert set(after) == set(before)  # no temporary files left, none missing


# ----------------------------------------------------------------------------- 5. markup in ids
def test_ids_that_look_like_markup_are_printed_as_written(tmp_path):
    manifest = simulate_team(
        tmp_path / "batch", athletes=1, sessions=1, exercises=("deadlift",), sets_per_exercise=1, seed=5
    )
    rows = pl.read_csv(manifest)
    rid, athlete = "mk[/x]", "ath[bold]:smile:"
    bad = rows.head(1).with_columns(recording_id=pl.lit("bad[/red]"), path=pl.lit("missing[/x].csv"))
    pl.concat([rows.with_columns(recording_id=pl.lit(rid), athlete_id=pl.lit(athlete)), bad]).write_csv(
        manifest
    )
    lake = str(tmp_path / "lake")
    result = runner.invoke(app, ["ingest", str(manifest), "--lake", lake])
    assert result.exit_code == 0, result.output
    assert "quarantined bad[/red]: " in result.stdout
    table = runner.invoke(app, ["query", "SELECT recording_id, athlete_id FROM recordings", "--lake", lake])
    assert table.exit_code == 0, table.output
    assert rid in table.stdout and athlete in table.stdout
    csv = runner.invoke(
        app, ["query", "SELECT recording_id, athlete_id FROM recordings", "--lake", lake, "--csv"]
    )
    assert csv.stdout.splitlines() == ["recording_id,athlete_id", f"{rid},{athlete}"]
    reports = tmp_path / "reports[/x]"
    result = runner.invoke(app, ["report", "--lake", lake, "--out", str(reports)])
    assert result.exit_code == 0, result.output
    assert str(reports / "index.html") in result.stdout
    assert athlete in (reports / "index.html").read_text()
    assert Lake(lake).read("recordings")["recording_id"].to_list() == [rid]
