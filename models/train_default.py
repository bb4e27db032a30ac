"""Rebuild the shipped default model (models/default) from simulated athletes.

The default model never sees the demo's or the tests' athletes: it is trained on its own simulated
team (seed below; the tests use seed 11, the demo its own), recorded in every format the simulator
writes, all six exercises, with the all-sensor IMU recordings also copied with fewer sensors so
each common sensor subset has a model family and a leave-athlete-out score on the card.
Run: .venv/bin/python models/train_default.py   (~8 minutes on one core)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hinge_analytics.classify import DEFAULT_MODEL_DIR, train
from hinge_analytics.classify.simdata import IMU_SUBSETS, build_lake
from hinge_analytics.simulate.team import SUPPORTED_FORMATS

SEED = 1000
ATHLETES = 12
SESSIONS = 2
MAX_FILE_MB = 3.0


def main() -> None:
    subsets = ", ".join(f"{k} ({'+'.join(v)})" for k, v in IMU_SUBSETS.items())
    with tempfile.TemporaryDirectory() as tmp:
        lake, labels = build_lake(Path(tmp), ATHLETES, SESSIONS, SEED, SUPPORTED_FORMATS)
        meta = train(
            lake,
            DEFAULT_MODEL_DIR,
            labels_file=labels,
            notes={
                "data": f"simulated team, seed {SEED}: {ATHLETES} athletes x {SESSIONS} sessions x "
                f"6 exercises x 2 sets, formats {', '.join(SUPPORTED_FORMATS)}, noise on; IMU subsets "
                f"{subsets} copied from all-sensor recordings",
                "rebuild": "`.venv/bin/python models/train_default.py`",
            },
        )
    for f in DEFAULT_MODEL_DIR.glob("*.skops"):
        size = f.stat().st_size / 1e6
        print(f"{f.name}: {size:.2f} MB" + ("  (over the size budget!)" if size > MAX_FILE_MB else ""))
    ev = meta["evaluation"]
    print(
        f"{meta['model_version']}: leave-athlete-out macro-F1 {ev['macro_f1']:.3f}, sensitivity "
        f"{ev['sensitivity']:.3f}, specificity {ev['specificity']:.3f} on {ev['n_reps']} reps of "
        f"{ev['n_athletes']} athletes"
    )
    for key, fam in meta["families"].items():
        fev = fam["evaluation"]
        print(f"  {key}: {fam['estimator']} macro-F1 {fev['macro_f1']:.3f} ({fev['n_reps']} reps)")


if __name__ == "__main__":
    main()
