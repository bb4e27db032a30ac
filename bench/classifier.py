"""Leave-athlete-out quality of the rep classifier per modality and IMU sensor subset.

Simulates a team (all six exercises, every format the simulator writes, noise on), adds copies of
the all-sensor IMU recordings with fewer sensors (``classify.simdata``), ingests into a temporary
lake, trains with `hinge_analytics.classify.train` and prints the model card's figures: macro-F1,
binary good-vs-mistake sensitivity/specificity, calibration, per model family. Every figure is on
athletes the scored model never saw (GroupKFold by athlete).

    .venv/bin/python bench/classifier.py [--athletes 12] [--sessions 2] [--seed 2024]
        [--formats mediapipe_csv,imu_csv] [--candidates hgb,rf,logreg] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hinge_analytics.classify import train
from hinge_analytics.classify.simdata import IMU_SUBSETS, build_lake
from hinge_analytics.simulate.team import SUPPORTED_FORMATS

TARGET_F1, TARGET_BINARY = 0.85, 0.95


def _row(name: str, ev: dict, estimator: str = "") -> str:
    ok = ev["macro_f1"] >= TARGET_F1 and min(ev["sensitivity"], ev["specificity"]) >= TARGET_BINARY
    return (
        f"| {name} | {ev['n_reps']} | {ev['n_athletes']} | {ev['macro_f1']:.3f} | {ev['sensitivity']:.3f} | "
        f"{ev['specificity']:.3f} | {ev['ece']:.3f} | {estimator} | {'yes' if ok else 'no'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--athletes", type=int, default=12)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--formats", default=",".join(SUPPORTED_FORMATS))
    parser.add_argument("--candidates", default="hgb,rf,logreg")
    parser.add_argument("--keep", type=Path, help="keep data, lake and model here")
    args = parser.parse_args()
    formats = tuple(f for f in args.formats.split(",") if f)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        t0 = time.perf_counter()
        lake, labels = build_lake(root, args.athletes, args.sessions, args.seed, formats)
        t1 = time.perf_counter()
        meta = train(lake, root / "model", labels_file=labels, candidates=tuple(args.candidates.split(",")))
        t2 = time.perf_counter()
    data = meta["training_data"]
    print(
        f"data: {args.athletes} simulated athletes x {args.sessions} sessions x 6 exercises x 2 sets, "
        f"seed {args.seed}, formats {', '.join(formats)}; IMU subsets {', '.join(IMU_SUBSETS)} "
        f"copied from all-sensor recordings; {data['reps']} labelled reps in {data['recordings']} recordings"
    )
    print(f"simulate+ingest {t1 - t0:.0f}s, train (selection + evaluation + fit) {t2 - t1:.0f}s\n")
    print(
        "| model family | reps | athletes | macro-F1 | sensitivity | specificity | ECE | estimator "
        "| target met |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(_row("all reps", meta["evaluation"]))
    for key, fam in meta["families"].items():
        print(_row(key, fam["evaluation"], fam["estimator"]))


if __name__ == "__main__":
    main()
