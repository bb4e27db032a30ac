"""Aggregation benchmark: the `sessions` view and `athlete_flags` over ~10^6 synthetic reps.

Generates Arrow tables directly (no recordings, no kinematics), writes them as a Delta lake, then
times (best of --repeat runs, fresh DuckDB connection each):
  - `sessions`: every per athlete x session x exercise aggregate, trends and flags;
  - `athlete_flags`: the per-athlete flags over those sessions;
  - a plain pyarrow scan of the same columns of the same Delta tables (the floor: reading the data).
Prints wall-clock seconds, the process CPU time (all threads; a steadier figure on a busy machine)
and the ratio to the scan. Target: < 1 s for sessions + flags on 2 cores.

    .venv/bin/python bench/aggregate.py [--reps 1000000] [--repeat 3] [--out bench/out/agg_lake]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import duckdb

from hinge_analytics.analytics import athlete_flags, freeze_sessions
from hinge_analytics.jobs.query import connect
from hinge_analytics.lake import Lake
from hinge_analytics.simulate.lakes import synthetic_reps, write_rep_rows

SCANNED = {
    "recordings": [
        "recording_id",
        "ingest_id",
        "athlete_id",
        "session_date",
        "exercise",
        "side",
        "load_kg",
        "n_reps",
    ],
    "predictions": ["recording_id", "ingest_id", "rep", "label"],
    "reps": [
        "recording_id",
        "ingest_id",
        "rep",
        "peak_hip_flexion_deg",
        "peak_knee_flexion_left_deg",
        "peak_knee_flexion_right_deg",
        "peak_hip_flexion_left_deg",
        "peak_hip_flexion_right_deg",
        "peak_ankle_dorsiflexion_left_deg",
        "peak_ankle_dorsiflexion_right_deg",
        "peak_trunk_inclination_deg",
        "peak_upper_back_rounding_deg",
        "duration_s",
        "eccentric_s",
        "bottom_pause_s",
        "concentric_s",
    ],
}


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/agg_lake"))
    parser.add_argument("--keep", action="store_true", help="reuse the lake at --out if present")
    args = parser.parse_args()

    lake = Lake(args.out)
    if not (args.keep and lake.is_lake()):
        shutil.rmtree(args.out, ignore_errors=True)
        start = time.perf_counter()
        reps = synthetic_reps(args.reps)
        generated = time.perf_counter() - start
        write_rep_rows(lake, reps)
        print(
            f"generated {reps.height:,} reps in {generated:.2f} s, "
            f"wrote the Delta lake in {time.perf_counter() - start - generated:.2f} s"
        )

    def sessions_and_flags():
        con = connect(lake)
        try:
            c0, t0 = time.process_time(), time.perf_counter()
            freeze_sessions(con)
            t1 = time.perf_counter()
            flags = athlete_flags(con)
            c2, t2 = time.process_time(), time.perf_counter()
            n = con.execute("SELECT count(*) FROM sessions").fetchall()[0][0]
            return t1 - t0, t2 - t1, n, flags.height, c2 - c0
        finally:
            con.close()

    def scan():
        return sum(lake.dataset(t).to_table(columns=cols).num_rows for t, cols in SCANNED.items())

    runs = [sessions_and_flags() for _ in range(args.repeat)]
    sessions_s = min(r[0] for r in runs)
    flags_s = min(r[1] for r in runs)
    total_s = min(r[0] + r[1] for r in runs)
    cpu_s = min(r[4] for r in runs)
    scan_s, rows = best(scan, args.repeat)
    n_reps = lake.dataset("reps").count_rows()
    print(
        f"reps {n_reps:,}; sessions rows {runs[0][2]:,}; athletes {runs[0][3]:,}; "
        f"cores {os.cpu_count()}; duckdb {duckdb.__version__}; best of {args.repeat}"
    )
    print(f"sessions view        {sessions_s:.3f} s")
    print(f"athlete_flags        {flags_s:.3f} s")
    print(f"sessions + flags     {total_s:.3f} s  (target < 1 s)")
    print(f"  CPU time (all threads) {cpu_s:.3f} s; load average {os.getloadavg()[0]:.1f}")
    print(f"pyarrow scan         {scan_s:.3f} s  ({rows:,} rows of 3 tables, same columns)")
    print(f"ratio to scan        {total_s / scan_s:.1f}x")


if __name__ == "__main__":
    main()
