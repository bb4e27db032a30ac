"""Rebuild the shipped default model (models/default) from simulated athletes.

The default model never sees the demo's or the tests' athletes: it is trained on its own
simulated team (seed below), and its model card reports leave-athlete-out quality.
Run: .venv/bin/python models/train_default.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hinge_analytics.classify import DEFAULT_MODEL_DIR, train
from hinge_analytics.ingest.manifest import read_manifest
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import ingest_chunk
from hinge_analytics.simulate.team import simulate_team

SEED = 1000
ATHLETES = 12
SESSIONS = 3


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = simulate_team(Path(tmp) / "data", athletes=ATHLETES, sessions=SESSIONS, seed=SEED)
        lake = Lake(Path(tmp) / "lake")
        lake.create()
        rows, _ = read_manifest(manifest)
        ingest_chunk(lake, rows)
        meta = train(lake, DEFAULT_MODEL_DIR, labels_file=manifest.parent / "rep_labels.csv")
    ev = meta["evaluation"]
    print(
        f"{meta['model_version']}: leave-athlete-out macro-F1 {ev['macro_f1']:.3f}, "
        f"accuracy {ev['accuracy']:.3f} on {ev['n_reps']} reps of {ev['n_athletes']} athletes"
    )


if __name__ == "__main__":
    main()
