"""Pipeline benchmark: how close is hinge_analytics to the cost of just reading the data?

For each batch size N it simulates N recordings, then times, in one run on the same files:
- the floor: plain polars CSV read of every file + Parquet write of the frames (what any tool pays);
- each pipeline stage (read, kinematics, segmentation, metrics, lake commit) without Prefect;
- the whole ``ingest`` Prefect flow and ``predict``, in a child process (peak RSS measured there);
- DuckDB aggregation of the sessions view;
- what a user would otherwise write: a plain pandas row loop computing the same hip angle.
Ratios are taken within one run because this machine is noisy.

Run:  .venv/bin/python bench/pipeline.py            (N = 100 and 1,000)
      .venv/bin/python bench/pipeline.py --big      (adds N = 10,000)
      .venv/bin/python bench/pipeline.py --sizes 50 (quick look)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hinge_analytics.features.metrics import rep_metrics  # noqa: E402
from hinge_analytics.ingest import read_recording  # noqa: E402
from hinge_analytics.ingest.manifest import read_manifest  # noqa: E402
from hinge_analytics.kinematics import angles_for  # noqa: E402
from hinge_analytics.lake import Lake  # noqa: E402
from hinge_analytics.pipeline import CHUNK_SIZE as CHUNK  # noqa: E402
from hinge_analytics.pipeline import Processed, commit, content_hash  # noqa: E402
from hinge_analytics.reps.segmentation import segment_reps  # noqa: E402
from hinge_analytics.simulate.team import simulate_team  # noqa: E402


def simulate(n: int, out: Path) -> Path:
    """About n recordings: athletes x sessions x 2 exercises x 2 sets."""
    per_athlete_session = 4
    sessions = 4
    athletes = max(1, round(n / (per_athlete_session * sessions)))
    return simulate_team(out, athletes=athletes, sessions=sessions, seed=42)


def floor(rows) -> float:
    """Plain read of every recording's bytes + Parquet write of the same frames."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for k, row in enumerate(rows):
            pl.read_csv(row.file).write_parquet(Path(tmp) / f"{k}.parquet")
        return time.perf_counter() - start


def stages(rows, lake_root: Path) -> dict[str, float]:
    """Library stages without Prefect, chunk by chunk as the flow does."""
    lake = Lake(lake_root)
    lake.create()
    spent = dict.fromkeys(("read", "kinematics", "segment", "metrics", "commit"), 0.0)
    for i in range(0, len(rows), CHUNK):
        processed = []
        for row in rows[i : i + CHUNK]:
            t0 = time.perf_counter()
            digest = content_hash(row)
            fmt, read = read_recording(row.file, row.format, row.sample_rate_hz)
            t1 = time.perf_counter()
            angles = angles_for(read, row.exercise, row.side)
            t2 = time.perf_counter()
            bounds = segment_reps(angles["t_s"].to_numpy(), angles["hinge_deg"].to_numpy())
            t3 = time.perf_counter()
            reps = rep_metrics(angles, bounds)
            t4 = time.perf_counter()
            spent["read"] += t1 - t0
            spent["kinematics"] += t2 - t1
            spent["segment"] += t3 - t2
            spent["metrics"] += t4 - t3
            processed.append(Processed(row, fmt, read, angles, reps, digest))
        t5 = time.perf_counter()
        commit(lake, processed)
        spent["commit"] += time.perf_counter() - t5
    return spent


def pandas_loop(rows, limit: int = 10) -> float | None:
    """Seconds per recording for a plain pandas row loop computing hip flexion (no filtering)."""
    try:
        import pandas as pd
    except ImportError:
        return None
    start = time.perf_counter()
    for row in rows[:limit]:
        frame = pd.read_csv(row.file)
        angles = []
        for _, r in frame.iterrows():
            hip = np.array([r["left_hip_x"], r["left_hip_y"]])
            knee = np.array([r["left_knee_x"], r["left_knee_y"]])
            shoulder = np.array([r["left_shoulder_x"], r["left_shoulder_y"]])
            a, b = shoulder - hip, knee - hip
            cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
            angles.append(180.0 - np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return (time.perf_counter() - start) / min(limit, len(rows))


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import pipelines
from hinge_analytics.classify import DEFAULT_MODEL_DIR, load_model, predict
from hinge_analytics.analytics import query
from hinge_analytics.lake import Lake
from pipelines.ingest_flow import run_ingest
from prefect import flow
ts = time.perf_counter()
flow(name="warm-up")(lambda: None)()  # starts Prefect's ephemeral API server (once per process)
t0 = time.perf_counter()
summary = run_ingest({manifest!r}, {lake!r})
t1 = time.perf_counter()
n_pred = predict(Lake({lake!r}), load_model(DEFAULT_MODEL_DIR))
t2 = time.perf_counter()
sessions = query(Lake({lake!r}), "SELECT * FROM sessions")
t3 = time.perf_counter()
print(json.dumps({{"prefect_startup_s": t0 - ts, "ingest_s": t1 - t0,
    "predict_s": t2 - t1, "aggregate_s": t3 - t2,
    "reps": summary.reps, "recordings": len(summary.ingested), "predicted": n_pred,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def flow_in_child(manifest: Path, lake_root: Path) -> dict:
    env = {**os.environ, "PREFECT_HOME": str(lake_root.parent / "prefect-home"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "ERROR"}
    code = CHILD.format(root=str(ROOT), manifest=str(manifest), lake=str(lake_root))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - start
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result


def run(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        manifest = simulate(n, tmp_path / "data")
        rows, _ = read_manifest(manifest)
        t_floor = floor(rows)
        spent = stages(rows, tmp_path / "lake_stages")
        library = sum(spent.values())
        flow = flow_in_child(manifest, tmp_path / "lake_flow")
        per_rec_pandas = pandas_loop(rows)
        return {
            "n": len(rows),
            "floor_s": t_floor,
            "stages_s": spent,
            "library_s": library,
            "flow": flow,
            "ratio_library_to_floor": library / t_floor,
            "ratio_flow_to_floor": flow["ingest_s"] / t_floor,
            "prefect_overhead": max(0.0, flow["ingest_s"] - library) / flow["ingest_s"],
            "recordings_per_s": len(rows) / flow["ingest_s"],
            "pandas_loop_s_per_recording": per_rec_pandas,
            "library_s_per_recording": library / len(rows),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--big", action="store_true", help="also N = 10,000")
    args = parser.parse_args()
    sizes = args.sizes + ([10_000] if args.big else [])
    results = []
    for n in sizes:
        r = run(n)
        results.append(r)
        f = r["flow"]
        print(
            f"N={r['n']:>6}: floor {r['floor_s']:.1f}s | library {r['library_s']:.1f}s "
            f"({r['ratio_library_to_floor']:.2f}x floor) | ingest flow {f['ingest_s']:.1f}s "
            f"({r['ratio_flow_to_floor']:.2f}x floor, Prefect overhead {100 * r['prefect_overhead']:.0f}%) | "
            f"Prefect server start {f['prefect_startup_s']:.1f}s (not counted) | "
            f"predict {f['predict_s']:.1f}s | aggregate {f['aggregate_s']:.2f}s | "
            f"{r['recordings_per_s']:.1f} rec/s | peak RSS {f['peak_rss_mb']:.0f} MB"
        )
        stages_text = ", ".join(f"{k} {v:.1f}s" for k, v in r["stages_s"].items())
        print(f"          stages: {stages_text}")
        if r["pandas_loop_s_per_recording"] is not None:
            print(
                f"          plain pandas row loop (hip angle only, unfiltered): "
                f"{r['pandas_loop_s_per_recording']:.3f}s/recording vs hinge_analytics "
                f"{r['library_s_per_recording']:.3f}s/recording for every angle, reps and metrics"
            )
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
