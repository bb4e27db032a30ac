"""Do real recordings look like the simulated ones the classifier learnt from? Per model feature.

The shipped model learns what a good rep looks like from simulated athletes
(models/train_default.py). Where real good reps sit outside the simulator's good reps, the model
labels them by extrapolation (gradient boosting holds a tree's last leaf out to infinity), and a
feature that moves the same way for estimator error as for a mistake misleads it. This bench puts
numbers on that, on the real pose recordings of ``../shared/realdata``:

- real: the SmartLift deadlifts (described as good form by their source) and the real phone videos
  (``real_video_dev``; their viewer called the side view good and judged no other), ingested as
  ``hinge ingest`` reads them;
- simulated: a randomised batch (``simulate.randomised``, pose formats) ingested the same way, its
  good reps only;
- per feature of the shipped model's pose family, each real rep is placed among the simulated good
  reps of the same exercise seen the same way (2D picture or 3D landmarks): the share of real reps
  outside the simulated 2.5-97.5 % range, their median percentile, the real reps' median and the
  median of the compared groups' simulated medians. Curve points are summarised per curve (its
  worst point).

A feature far outside says the simulator does not produce what real lifters or real estimators
do; it says nothing by itself about which is right. Skipped when the real folders are absent.

    .venv/bin/python bench/shift.py [--sets 400] [--seed 13] [--keep DIR] [--top 25]   (about 10 min)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.classify import DEFAULT_MODEL_DIR, load_model
from hinge_analytics.classify.features import model_input, with_derived
from hinge_analytics.jobs.ingest import ingest_manifest
from hinge_analytics.jobs.train import labelled_reps
from hinge_analytics.lake import Lake
from hinge_analytics.simulate.randomised import simulate_randomised

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realdata import DATA_SETS, DEFAULT_DATA, write_manifest  # noqa: E402

POSE_FORMATS = ("mediapipe_csv", "openpose_json", "coco17_json", "trc")
REAL_SETS = (DATA_SETS["smartlift"], DATA_SETS["real_video"])
MIN_SIMULATED = 30  # good reps of one exercise and dimension before a range is drawn from them
OUTSIDE = (2.5, 97.5)


def real_lake(data: Path, root: Path) -> Lake | None:
    """The real pose recordings, ingested; None when none of their folders is present."""
    lake = Lake(root / "lake")
    found = False
    for spec in REAL_SETS:
        folder = data / spec.folder
        if not folder.is_dir():
            continue
        found = True
        manifest = root / f"{spec.folder}.csv"
        if lake.is_lake() and manifest.exists():
            continue
        ingest_manifest(write_manifest(spec, spec.cases(folder), manifest), lake, batch_dir=folder)
    return lake if found else None


def every_rep(lake: Lake, root: Path) -> pl.DataFrame:
    """Every rep of ``lake`` with its recording's context (one placeholder label for all)."""
    recordings = lake.read("recordings", columns=["recording_id"])["recording_id"].unique()
    labels = root / "all_reps.csv"
    pl.DataFrame({"recording_id": recordings, "rep": None, "label": "real"}).write_csv(labels)
    return labelled_reps(lake, labels)


def dimension(reps: pl.DataFrame) -> pl.DataFrame:
    """2D pictures and 3D landmarks differ in what they can show: each is compared with its own."""
    three_d = pl.col("sensors") == "world_m"
    return reps.with_columns(dim=pl.when(three_d).then(pl.lit("3D")).otherwise(pl.lit("2D")))


def feature_shift(real: pl.DataFrame, simulated: pl.DataFrame, features: list[str]) -> pl.DataFrame:
    """Per feature: real reps placed among the simulated good reps of their exercise and dimension."""
    real, simulated = dimension(real), dimension(simulated)
    groups = real.select("exercise", "dim").unique().iter_rows()
    pools = {
        (ex, dim): simulated.filter((pl.col("exercise") == ex) & (pl.col("dim") == dim)) for ex, dim in groups
    }
    rows = []
    for feature in features:
        outside, percentile, real_values, sim_values = [], [], [], []
        for (ex, dim), pool in pools.items():
            sim = pool[feature].cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
            part = real.filter((pl.col("exercise") == ex) & (pl.col("dim") == dim))
            values = part[feature].cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
            if len(sim) < MIN_SIMULATED or not len(values):
                continue
            lo, hi = np.percentile(sim, OUTSIDE)
            outside.extend((values < lo) | (values > hi))
            percentile.extend(100.0 * np.searchsorted(np.sort(sim), values) / len(sim))
            real_values.extend(values)
            sim_values.append(np.median(sim))
        if outside:
            rows.append(
                {
                    "feature": feature,
                    "real_reps": len(outside),
                    "outside_pct": 100.0 * float(np.mean(outside)),
                    "median_percentile": float(np.median(percentile)),
                    "real_median": float(np.median(real_values)),
                    "sim_good_median": float(np.median(sim_values)),
                }
            )
    return pl.DataFrame(rows)


def per_curve(table: pl.DataFrame) -> pl.DataFrame:
    """One row per curve (its point with the most real reps outside) and every scalar feature."""
    curve = pl.col("feature").str.replace(r"_\d\d(_from_standing)?$", "${1}")
    point = table.with_columns(curve=curve).sort("outside_pct", descending=True)
    return (
        point.unique("curve", keep="first")
        .with_columns(
            pl.when(pl.col("curve") != pl.col("feature"))
            .then(pl.col("curve") + " (worst point " + pl.col("feature").str.extract(r"_(\d\d)") + ")")
            .otherwise(pl.col("feature"))
            .alias("feature")
        )
        .drop("curve")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=400, help="randomised pose sets to compare with")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--keep", type=Path, help="keep both lakes here (reused when present)")
    parser.add_argument("--top", type=int, default=25, help="features printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        (root / "real").mkdir(parents=True, exist_ok=True)
        lake = real_lake(args.data, root / "real")
        if lake is None:
            print(f"real pose recordings: skipped ({args.data} has none of {[s.folder for s in REAL_SETS]})")
            return
        sim_lake = Lake(root / "sim" / "lake")
        if not sim_lake.is_lake():
            manifest = simulate_randomised(root / "sim" / "data", args.sets, args.seed, POSE_FORMATS)
            ingest_manifest(manifest, sim_lake)
        real = every_rep(lake, root / "real")
        simulated = labelled_reps(sim_lake, root / "sim" / "data" / "rep_labels.csv")
        simulated = simulated.filter(pl.col("train_label") == "good")
    model = load_model(DEFAULT_MODEL_DIR)
    families = model.route(model_input(real))
    features = sorted({f for key in set(families) for f in model.family_info_[key]["features"]})
    table = per_curve(feature_shift(with_derived(real), with_derived(simulated), features))
    table = table.sort("outside_pct", descending=True)
    print(
        f"{real.height} real reps ({real['recording_id'].n_unique()} recordings) against "
        f"{simulated.height} simulated good reps (randomised seed {args.seed}, {args.sets} sets); "
        f"{len(features)} features of the shipped model's {sorted(set(families))} families\n"
    )
    by_exercise = dimension(real).group_by("exercise", "dim").len().sort("exercise", "dim")
    print(" ".join(f"{ex} {dim}: {n}" for ex, dim, n in by_exercise.iter_rows()), "\n")
    with pl.Config(tbl_rows=args.top, fmt_str_lengths=60, tbl_width_chars=200, float_precision=2):
        print(table.head(args.top))
    if args.keep:
        table.write_csv(args.keep / "shift.csv")
    shifted = table.filter(pl.col("outside_pct") >= 50)
    print(
        f"\n{shifted.height} of {table.height} features put half or more of the real reps outside the "
        f"simulated good reps' {OUTSIDE[0]}-{OUTSIDE[1]} % range."
    )


if __name__ == "__main__":
    main()
