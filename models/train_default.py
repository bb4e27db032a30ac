"""Rebuild the shipped default model (models/default) from simulated athletes.

The default model never sees the demo's or the tests' athletes: it is trained on its own simulated
team (seed below; the tests use seed 11, the demo its own), recorded in every format the simulator
writes, all six exercises, with the all-sensor IMU recordings also copied with fewer sensors so
each common sensor subset has a model family and a leave-athlete-out score on the card. A batch
of the randomised generator (`simulate.randomised`: other bodies, tempi, cameras, mountings and
noise; each set its own athlete) joins the team so the model does not learn one simulator's regime;
`bench/regimes.py` scores it on other seeds.
Run: .venv/bin/python models/train_default.py   (about 70 minutes on two cores)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from hinge_analytics.classify import DEFAULT_MODEL_DIR
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.jobs.train import train
from hinge_analytics.schema import BODY_PLACEMENTS
from hinge_analytics.simulate.lakes import IMU_SUBSETS, build_lake
from hinge_analytics.simulate.randomised import DEFAULT_FORMATS as RANDOMISED_FORMATS
from hinge_analytics.simulate.randomised import simulate_randomised
from hinge_analytics.simulate.team import SUPPORTED_FORMATS

SEED = 1000
ATHLETES = 16
SESSIONS = 3
MAX_FILE_MB = 3.0
# IMU recordings dealt twice as often as each other format: the all-sensor family and every
# fewer-sensor copy need enough athletes' reps of their own.
FORMATS = (*SUPPORTED_FORMATS, "imu_csv")
ALL_SENSORS_SHARE = 0.8  # of IMU recordings with all seven sensors (the simulator's default: half)
# bench/regimes.py reports on seeds 5 (held out) and 13 (development); this one is neither.
RANDOMISED_SEED = 3000
# Held-out figures still rise with randomised sets: gradient boosting trained on 300 / 600 / 1200
# pose sets of seed 21 scores 0.634 / 0.675 / 0.702 macro-F1 on development seed 13
# (docs/validation-2026-12-05.md).
RANDOMISED_SETS = 1200
# Coaches strap on one to three sensors more often than seven. Trained on the team's four fixed
# subsets and all-seven randomised sets only, the model called 42 % of the good reps of randomly
# chosen sensor sets good on development seed 13 (docs/validation-2026-12-06.md), so a second
# randomised batch draws each IMU set's sensors at random (one to seven).
RANDOM_SENSOR_SETS = 600
RANDOM_SENSOR_SEED = 3001
# Mistakes of randomised shapes (`simulate.randomised.draw_mistake_shape`) were tried in training:
# on 1200 held-out pose sets of seed 5 they left macro-F1 on such mistakes where it was (0.679 ->
# 0.680) and cost 0.021 on the team simulator's shapes (docs/validation-2026-12-06.md), so the
# shipped model keeps the team's shapes.
MISTAKE_SHAPES = False
# Athletes who look ahead (`simulate.randomised.GAZE_DEG`) were tried in training: on 400 held-out
# pose sets of seed 5 with them the model rose from 0.612 to 0.684 macro-F1, but fell from 0.689 to
# 0.636 on the same sets with neutral heads (specificity 0.904 -> 0.792), and called 16 of SmartLift's
# 27 real good deadlifts good instead of 24 (docs/validation-2026-12-06.md), so the shipped model
# keeps neutral heads.
GAZE = False
# With four candidates the athlete-grouped selection chose gradient boosting for every family
# (card of rep-clf-390ab3e94d19); one candidate saves the selection's time on three times the data.
CANDIDATES = ("hgb",)
JOBS = 2  # evaluation folds fitted at once (the model is the same with any number)


def main() -> None:
    subsets = ", ".join(f"{k} ({'+'.join(v)})" for k, v in IMU_SUBSETS.items())
    with tempfile.TemporaryDirectory() as tmp:
        lake, team_labels = build_lake(
            Path(tmp), ATHLETES, SESSIONS, SEED, FORMATS, all_sensors_share=ALL_SENSORS_SHARE
        )
        randomised = simulate_randomised(
            Path(tmp) / "randomised",
            RANDOMISED_SETS,
            RANDOMISED_SEED,
            RANDOMISED_FORMATS,
            imu_placements=BODY_PLACEMENTS,
            mistake_shapes=MISTAKE_SHAPES,
            gaze=GAZE,
        )
        ingest_manifest(randomised, lake)
        random_sensors = simulate_randomised(
            Path(tmp) / "random_sensors",
            RANDOM_SENSOR_SETS,
            RANDOM_SENSOR_SEED,
            ("imu_csv",),
            id_prefix="RS",
            mistake_shapes=MISTAKE_SHAPES,
            gaze=GAZE,
        )
        ingest_manifest(random_sensors, lake)
        labels = Path(tmp) / "rep_labels.csv"
        batches = (randomised.parent, random_sensors.parent)
        pl.concat(
            [pl.read_csv(team_labels), *(pl.read_csv(b / "rep_labels.csv") for b in batches)], how="diagonal"
        ).write_csv(labels)
        meta = train(
            lake,
            DEFAULT_MODEL_DIR,
            labels_file=labels,
            candidates=CANDIDATES,
            n_jobs=JOBS,
            notes={
                "data": f"simulated team, seed {SEED}: {ATHLETES} athletes x {SESSIONS} sessions x "
                f"6 exercises x 2 sets, formats {', '.join(SUPPORTED_FORMATS)} (imu_csv twice as often, "
                f"{ALL_SENSORS_SHARE:.0%} of them with all seven sensors), noise on; IMU subsets "
                f"{subsets} copied from all-sensor recordings",
                "randomised": f"{RANDOMISED_SETS} sets of the randomised generator, seed {RANDOMISED_SEED}, "
                f"formats {', '.join(RANDOMISED_FORMATS)}, IMU sets with all seven sensors, every mistake "
                "at the team simulator's shape and every head neutral; "
                f"{RANDOM_SENSOR_SETS} IMU sets of it, seed {RANDOM_SENSOR_SEED}, each with one to seven "
                "sensors drawn at random",
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
