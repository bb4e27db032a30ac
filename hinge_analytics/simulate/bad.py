"""Bad inputs for every case of SPEC.md "Bad input", listed in ``bad_files.csv`` with the reason expected.

Each case is a manifest row plus (for file cases) a file that looks like a real export gone wrong.
``expected`` is a ``|``-separated list of words, one of which the quarantine reason should contain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.simulate.body import Anthropometry, forward_kinematics, rotate_heading
from hinge_analytics.simulate.motion import RepPlan, SetPlan, simulate_set
from hinge_analytics.simulate.writers import add_pose_noise, mediapipe_world_table

# case -> expected reason keywords (lower-case; any one of them)
BAD_CASES: dict[str, str] = {
    "unreadable": "read|not a|columns|landmark",
    "wrong_columns": "columns|landmark|keypoint",
    "nan_run": "disappears|missing|detected|gap",
    "time_backwards": "backwards",
    "rate_mismatch": "hz|rate",
    "person_missing": "not detected|missing|detected",
    "manifest_bad_date": "session_date|date",
    "manifest_unknown_exercise": "exercise",
    "manifest_path_escape": "outside",
}


def write_bad_inputs(out_dir: Path, n: int, rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    """Write ``max(n, len(BAD_CASES))`` bad inputs (every case at least once, then cycling).

    Returns (bad_files rows: recording_id, case, expected; manifest rows).
    """
    cases = list(BAD_CASES)
    total = max(n, len(cases))
    bad_rows, manifest = [], []
    folder = out_dir / "recordings" / "bad"
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(total):
        case = cases[k % len(cases)]
        rid = f"BAD-{k + 1:03d}-{case}"
        rel = f"recordings/bad/{rid}.csv"
        row = {
            "recording_id": rid,
            "path": rel,
            "athlete_id": "A999",
            "session_date": "2026-09-07",
            "exercise": "romanian_deadlift",
            "side": None,
            "load_kg": 60.0,
            "set_number": 1,
            "format": "mediapipe_csv",
            "sample_rate_hz": None,
            "label": None,
        }
        path = out_dir / rel
        if case == "unreadable":
            path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + rng.bytes(2048))
        elif case == "wrong_columns":
            pl.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)}).write_csv(path)
        else:
            table = _good_table(rng)
            if case == "nan_run":
                # Empty over most of the set: a gap of a few seconds only loses the reps over it.
                n_rows = table.height
                gap = (np.arange(n_rows) > n_rows // 5) & (np.arange(n_rows) < n_rows - n_rows // 5)
                table = table.with_columns(
                    [
                        pl.when(pl.Series(gap)).then(None).otherwise(pl.col(c)).alias(c)
                        for c in table.columns
                        if c != "timestamp_ms"
                    ]
                )
            elif case == "time_backwards":
                t = table["timestamp_ms"].to_numpy().copy()
                t[len(t) // 2 :] -= 2000.0
                table = table.with_columns(pl.Series("timestamp_ms", t))
            elif case == "rate_mismatch":
                row["sample_rate_hz"] = 60.0  # the file runs at 30 Hz
            elif case == "person_missing":
                keep = rng.random(table.height) < 0.2
                table = table.with_columns(
                    [
                        pl.when(pl.Series(keep)).then(pl.col(c)).otherwise(None).alias(c)
                        for c in table.columns
                        if c != "timestamp_ms"
                    ]
                )
            elif case == "manifest_bad_date":
                row["session_date"] = "2026-13-45"
            elif case == "manifest_unknown_exercise":
                row["exercise"] = "3x5 @ RPE 8"  # a note typed into the column, not a lift name
            elif case == "manifest_path_escape":
                row["path"] = f"../{rid}.csv"
            table.write_csv(path)
        manifest.append(row)
        bad_rows.append({"recording_id": rid, "case": case, "expected": BAD_CASES[case]})
    return bad_rows, manifest


def _good_table(rng: np.random.Generator) -> pl.DataFrame:
    """A short, valid 30 Hz MediaPipe world-landmark recording to corrupt."""
    plan = SetPlan("romanian_deadlift", [RepPlan("good", 0.0)] * 3)
    time_s, pose, _ = simulate_set(plan, 30.0, rng)
    points = rotate_heading(forward_kinematics(pose, Anthropometry(1.75)), pose.heading_deg)
    noisy, vis = add_pose_noise(points, rng)
    return mediapipe_world_table(time_s, noisy, vis)
