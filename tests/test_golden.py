"""PIPELINE_VERSION is tied to what the pipeline outputs.

A lake re-processes a recording only when the pipeline version that made it differs from the
current one, so a change to angles, reps or metrics without a version bump would leave every
existing lake stale without anyone noticing. This test hashes the outputs of a small fixed batch
in every format (rep boundaries to 0.01 s, peak angles to 0.1 deg, rounded coarser than any
platform difference) and fails when they change while the version stays the same.

After a deliberate change: bump ``PIPELINE_VERSION`` in hinge_analytics/__init__.py, then
``.venv/bin/python tests/test_golden.py --update``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.pipeline import process_recording
from hinge_analytics.simulate.team import SUPPORTED_FORMATS, simulate_team

GOLDEN = Path(__file__).parent / "data" / "golden_outputs.json"
COLUMNS = (
    ("t_start_s", 2),
    ("t_bottom_s", 2),
    ("t_end_s", 2),
    ("peak_hip_flexion_deg", 1),
    ("peak_knee_flexion_left_deg", 1),
    ("peak_knee_flexion_right_deg", 1),
    ("peak_trunk_inclination_deg", 1),
)


def outputs_digest() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = simulate_team(
            Path(tmp),
            athletes=1,
            sessions=1,
            formats=(*SUPPORTED_FORMATS, "imu_csv"),
            seed=5,
            exercises=("romanian_deadlift", "single_leg_rdl"),
            sets_per_exercise=3,
        )
        rows, _ = read_manifest(manifest)
        digest = hashlib.sha256()
        for row in sorted(rows, key=lambda r: r.recording_id):
            done = process_recording(row)
            digest.update(f"{row.recording_id}:{done.reps.height}:{done.angles.height}".encode())
            for column, places in COLUMNS:
                values = np.round(done.reps[column].cast(float).fill_null(np.nan).to_numpy(), places)
                digest.update(np.nan_to_num(values, nan=-999.0).tobytes())
        return digest.hexdigest()


def test_outputs_change_only_with_a_new_pipeline_version():
    recorded = json.loads(GOLDEN.read_text())
    digest = outputs_digest()
    if recorded["pipeline_version"] == PIPELINE_VERSION:
        assert digest == recorded["digest"], (
            "angles, reps or metrics changed but PIPELINE_VERSION did not: bump it in "
            "hinge_analytics/__init__.py, then run `.venv/bin/python tests/test_golden.py --update`"
        )
    else:  # a bump may add outputs the digest does not cover (new columns)
        raise AssertionError(
            "PIPELINE_VERSION was bumped: run `.venv/bin/python tests/test_golden.py --update`"
        )


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    GOLDEN.write_text(
        json.dumps({"pipeline_version": PIPELINE_VERSION, "digest": outputs_digest()}, indent=2) + "\n"
    )
    print(f"recorded the outputs of {PIPELINE_VERSION} in {GOLDEN}")
