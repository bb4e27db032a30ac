"""Classify: train on coach-labelled reps, write a model card, label every rep in the lake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.analytics import query
from hinge_analytics.classify.card import write_card
from hinge_analytics.classify.model import (
    LoadedModel,
    ModelError,
    build_pipeline,
    feature_frame,
    leave_athlete_out,
    load_model,
    predict_labels,
    save_model,
    usable_features,
)
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import now_utc
from hinge_analytics.schema import REP_LABELS_FILE

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"

__all__ = ["train", "predict", "labelled_reps", "load_model", "ModelError", "DEFAULT_MODEL_DIR"]


def read_labels_file(path: Path) -> pl.DataFrame:
    """``recording_id, rep, label`` (rep empty = every rep of the recording)."""
    try:
        labels = pl.read_csv(path, schema_overrides=REP_LABELS_FILE)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ModelError(f"The labels file {path} is not a readable CSV ({exc}).") from exc
    missing = {"recording_id", "rep", "label"} - set(labels.columns)
    if missing:
        raise ModelError(f"The labels file {path} lacks column(s) {', '.join(sorted(missing))}.")
    return labels.select("recording_id", "rep", pl.col("label").str.strip_chars()).filter(
        pl.col("label").is_not_null() & (pl.col("label") != "")
    )


def labelled_reps(lake: Lake, labels_file: Path | None = None) -> pl.DataFrame:
    """Every visible rep with its training label: per-rep labels file > per-recording labels
    file row > manifest label. Reps with no label are left out."""
    reps = query(
        lake, "SELECT * EXCLUDE (label, predicted_label, confidence, cue, model_version) FROM rep_view"
    )
    manifest_labels = query(lake, "SELECT recording_id, label AS manifest_label FROM recordings")
    reps = reps.join(manifest_labels, on="recording_id", how="left")
    if labels_file is not None:
        labels = read_labels_file(labels_file)
        per_rep = labels.filter(pl.col("rep").is_not_null()).rename({"label": "rep_label"})
        per_rec = (
            labels.filter(pl.col("rep").is_null())
            .select("recording_id", pl.col("label").alias("recording_label"))
            .unique("recording_id", keep="last")
        )
        reps = reps.join(per_rep, on=["recording_id", "rep"], how="left").join(
            per_rec, on="recording_id", how="left"
        )
    else:
        reps = reps.with_columns(rep_label=pl.lit(None, pl.String), recording_label=pl.lit(None, pl.String))
    reps = reps.with_columns(train_label=pl.coalesce("rep_label", "recording_label", "manifest_label"))
    return reps.filter(pl.col("train_label").is_not_null())


def train(lake: Lake, out_dir: Path, labels_file: Path | None = None, seed: int = 0) -> dict:
    """Fit on every labelled rep, evaluate leave-athlete-out, save model + card; returns meta."""
    reps = labelled_reps(lake, labels_file)
    if reps.height == 0:
        raise ModelError("No labelled reps: give a labels file (--labels) or a label column in the manifest.")
    y = reps["train_label"].to_numpy().astype(str)
    if len(np.unique(y)) < 2:
        raise ModelError("Training needs at least two different labels.")
    groups = reps["athlete_id"].to_numpy().astype(str)
    evaluation = leave_athlete_out(reps, y, groups)
    features = usable_features(reps)
    pipeline = build_pipeline(features, seed).fit(feature_frame(reps), y)
    meta = {
        "features": features,
        "trained_at": now_utc().isoformat(),
        "pipeline_version": PIPELINE_VERSION,
        "labels": sorted(set(y)),
        "training_data": {
            "reps": int(reps.height),
            "athletes": int(len(np.unique(groups))),
            "recordings": int(reps["recording_id"].n_unique()),
            "exercises": sorted(reps["exercise"].unique().to_list()),
            "label_counts": dict(zip(*np.unique(y, return_counts=True), strict=True)),
            "labels_file": str(labels_file) if labels_file else None,
        },
        "evaluation": {"protocol": "GroupKFold by athlete_id (leave-athlete-out)", **evaluation.as_dict()},
    }
    meta["training_data"]["label_counts"] = {
        k: int(v) for k, v in meta["training_data"]["label_counts"].items()
    }
    meta["model_version"] = save_model(pipeline, out_dir, meta)
    write_card(out_dir, meta)
    return meta


def predict(lake: Lake, model: LoadedModel, all_reps: bool = False) -> int:
    """Label reps that have no prediction for their current ingest (or every rep); returns count."""
    where = "" if all_reps else "WHERE label IS NULL"
    reps = query(
        lake,
        f"SELECT * EXCLUDE (label, predicted_label, confidence, cue, model_version) FROM rep_view {where}",
    )
    if reps.height == 0:
        return 0
    labels = predict_labels(model, reps)
    rows = (
        reps.select("recording_id", "rep", "ingest_id")
        .hstack(labels)
        .with_columns(model_version=pl.lit(model.version), predicted_at=pl.lit(now_utc()))
    )
    lake.replace_recordings("predictions", rows, rows["recording_id"].unique().to_list())
    return rows.height
