"""Hostile inputs, crashes and misuse: each case of issue #23's "Done when", with its time and memory.

Every case runs ``hinge`` as a user would, in a fresh process (the console script's code in a
wrapper that prints the process's own peak RSS, VmHWM, at exit: bench/pipeline.py's ``CLI``), and
checks the outcome the product promises. A killed process prints no peak (it never reaches exit).

    .venv/bin/python bench/hostile.py [--missing 25000]

Cases: a manifest of N missing files and 10 good ones; ``kill -9`` of an ingest and its leftovers;
a runaway cross join under ``--timeout`` and under Ctrl-C; a Latin-1 manifest; ``kill -9`` during
``train``; ``export --out`` into the lake; a deleted Parquet data file (``check``, then
``ingest --force``); read-only commands on a missing lake.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from pipeline import cli_command, prefect_env, split_peak

from hinge_analytics.lake import Lake
from hinge_analytics.simulate.team import simulate_team

CROSS_JOIN = "SELECT count(*) FROM angles a, angles b, angles c"


@dataclass
class Run:
    code: int
    wall_s: float
    peak_mb: float | None
    out: str


def hinge(args: list[str], env: dict[str, str], timeout: float = 600) -> Run:
    started = time.perf_counter()
    done = subprocess.run(cli_command(*args), env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    lines, peak = split_peak(done.stdout)
    return Run(done.returncode, wall, peak, "\n".join(lines) + done.stderr)


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    alive.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return alive


def killed_after(args: list[str], env: dict[str, str], seconds: float) -> tuple[float, list[int]]:
    """SIGKILL ``hinge args`` after ``seconds``; (s until its process group was empty, survivors
    after 10 s)."""
    proc = subprocess.Popen(
        cli_command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    time.sleep(seconds)
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.perf_counter()
    proc.wait()
    proc.stdout.read()  # the pipe closes: nothing holds it open
    while _group_alive(proc.pid) and time.perf_counter() - killed < 10:
        time.sleep(0.1)
    return time.perf_counter() - killed, _group_alive(proc.pid)


def interrupted(args: list[str], env: dict[str, str], after_s: float) -> tuple[int, float]:
    """(exit code, s from SIGINT to exit) of ``hinge args`` interrupted after ``after_s``."""
    proc = subprocess.Popen(cli_command(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    sent = time.perf_counter()
    code = proc.wait(timeout=60)
    return code, time.perf_counter() - sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", type=int, default=25_000)
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []  # case, outcome, wall, peak

    def record(case: str, ok: bool, detail: str, run: Run | None = None, wall: float | None = None) -> None:
        wall = run.wall_s if run is not None else wall
        peak = run.peak_mb if run is not None else None
        rows.append(
            (case, ("ok: " if ok else "FAILED: ") + detail, "" if wall is None else f"{wall:.1f}",
             "" if peak is None else f"{peak:.0f}")
        )  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="hinge-hostile-") as tmp:
        work = Path(tmp)
        env = prefect_env(work / "prefect")
        batch = simulate_team(work / "batch", athletes=5, sessions=1, seed=4, exercises=("deadlift",))
        good = pl.read_csv(batch, infer_schema=False).head(10)
        assert good.height == 10
        lake = str(work / "lake")

        # 1. N missing files + 10 good ones
        ten = batch.with_name("ten.csv")
        good.write_csv(ten)
        others = [c for c in good.columns if c not in ("recording_id", "path")]
        missing = pl.DataFrame(
            {
                "recording_id": [f"gone{i:06d}" for i in range(args.missing)],
                "path": [f"recordings/gone{i}.csv" for i in range(args.missing)],
            }
        ).with_columns(*[pl.lit(good[c][0], dtype=pl.String).alias(c) for c in others])
        big = batch.with_name("big_manifest.csv")
        pl.concat([good, missing.select(good.columns)]).write_csv(big)
        run = hinge(["ingest", str(big), "--lake", lake, "--quiet"], env)
        held = Lake(lake).read("recordings").height
        quarantined = Lake(lake).read("quarantine").height
        record(
            f"{args.missing:,} missing + 10 good files",
            run.code == 0 and held == 10 and quarantined == args.missing,
            f"exit {run.code}, {held} recordings, {quarantined:,} quarantine rows",
            run,
        )

        # 2. kill -9 of an ingest, at two moments
        for moment in (1.0, 4.0):
            target = ["ingest", str(batch), "--lake", str(work / f"killed{moment:g}")]
            gone_s, survivors = killed_after(target, env, moment)
            record(f"kill -9 of ingest after {moment:g} s", not survivors,
                   f"{len(survivors)} process(es) left 10 s later", wall=gone_s)  # fmt: skip

        # 3. runaway cross join: time limit, Ctrl-C
        run = hinge(["query", CROSS_JOIN, "--lake", lake, "--timeout", "5"], env)
        record("cross join, --timeout 5", run.code != 0 and "longer than" in run.out,
               f"exit {run.code}: {run.out.strip().splitlines()[-1][:60]}", run)  # fmt: skip
        code, stop_s = interrupted(["query", CROSS_JOIN, "--lake", lake], env, 4.0)
        record("cross join, Ctrl-C after 4 s", stop_s < 2, f"exit {code}, {stop_s:.2f} s after SIGINT",
               wall=stop_s)  # fmt: skip

        # 4. a Latin-1 manifest
        latin = batch.with_name("latin1.csv")
        people = good.head(2).with_columns(athlete_id=pl.Series(["Müller", "Mäller"]))
        latin.write_bytes(people.write_csv().encode("latin-1"))
        run = hinge(["ingest", str(latin), "--lake", str(work / "latin_lake"), "--quiet"], env)
        names = sorted(Lake(str(work / "latin_lake")).read("recordings")["athlete_id"].to_list())
        record("Latin-1 manifest", names == ["Mäller", "Müller"], f"athletes {names}", run)

        # 5. kill -9 during train: the previous model stays loadable
        labels = batch.parent / "rep_labels.csv"
        model = work / "model"
        first = hinge(["train", "--lake", lake, "--labels", str(labels), "--out", str(model)], env)
        killed_after(["train", "--lake", lake, "--labels", str(labels), "--out", str(model)], env, 3.0)
        run = hinge(["predict", "--lake", lake, "--model", str(model), "--quiet"], env)
        record("kill -9 during train", first.code == 0 and run.code == 0,
               f"previous model predicts (exit {run.code})", run)  # fmt: skip

        # 6. export --out into the lake
        before = sorted(p.name for p in Path(lake).rglob("*"))
        run = hinge(["export", "reps", "--out", str(Path(lake) / "reps" / "x.parquet"), "--lake", lake], env)
        after = sorted(p.name for p in Path(lake).rglob("*"))
        record("export --out into the lake", run.code != 0 and before == after,
               f"exit {run.code}, lake files unchanged: {before == after}", run)  # fmt: skip

        # 7. a deleted Parquet data file: check names it, ingest --force restores the reps
        reps_before = Lake(lake).read("reps").height
        victim = next((Path(lake) / "reps").glob("*.parquet"))
        victim.unlink()
        check = hinge(["check", "--lake", lake], env)
        force = hinge(["ingest", str(ten), "--lake", lake, "--force", "--quiet"], env)
        reps_after = Lake(lake).read("reps").height
        record("deleted Parquet file: check", check.code == 1 and victim.name in check.out,
               f"exit {check.code}, names the file: {victim.name in check.out}", check)  # fmt: skip
        record("deleted Parquet file: ingest --force", reps_after == reps_before,
               f"{reps_after} reps (before: {reps_before})", force)  # fmt: skip

        # 8. read-only commands on a missing lake create nothing
        nowhere = work / "no_lake"
        for command in (["query", "SELECT 1"], ["report", "--out", str(work / "r")],
                        ["export", "reps", "--out", str(work / "e.csv")]):  # fmt: skip
            run = hinge([*command, "--lake", str(nowhere)], env)
            record(f"{command[0]} on a missing lake", run.code != 0 and not nowhere.exists(),
                   f"exit {run.code}, created: {nowhere.exists()}", run)  # fmt: skip

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'wall s':>7}  {'peak MB':>7}  outcome")
    for case, outcome, wall, peak in rows:
        print(f"{case:<{width}}  {wall:>7}  {peak:>7}  {outcome}")


if __name__ == "__main__":
    main()
