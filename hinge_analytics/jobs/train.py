"""The train job: a lake's labelled reps in, a model folder with its card out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from hinge_analytics.classify.card import write_card
from hinge_analytics.classify.estimator import CANDIDATES, UNCERTAIN_BELOW
from hinge_analytics.classify.evaluation import train_model
from hinge_analytics.classify.features import family_key
from hinge_analytics.classify.labels import read_labels_file
from hinge_analytics.classify.persistence import save_model, writing_model
from hinge_analytics.ingest.manifest import WORD_BREAKS
from hinge_analytics.jobs.query import connect, frame, with_curves
from hinge_analytics.lake import Lake
from hinge_analytics.schema import LABELS

REP_COLUMNS = "v.* EXCLUDE (label, predicted_label, confidence, cue, model_version), c.sensors, c.format"


def with_family(reps: pl.DataFrame) -> pl.DataFrame:
    keys = [family_key(m, s) for m, s in zip(reps["modality"], reps["sensors"], strict=True)]
    return reps.with_columns(family=pl.Series(keys, dtype=pl.String))


def labelled_reps(lake: Lake, labels_file: Path | None = None, curves: bool = True) -> pl.DataFrame:
    """Every visible rep with its training label: per-rep labels file > per-recording labels
    file row > manifest label. Reps with no label are left out."""
    with connect(lake) as con:
        reps = frame(
            con,
            f"SELECT {REP_COLUMNS}, c.label AS manifest_label "
            "FROM rep_view v JOIN recordings c USING (recording_id)",
        )
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
            reps = reps.with_columns(
                rep_label=pl.lit(None, pl.String), recording_label=pl.lit(None, pl.String)
            )
        typed = pl.coalesce("rep_label", "recording_label", "manifest_label").str.strip_chars()
        reps = reps.with_columns(train_label=one_spelling(typed))
        # in a fixed order: the lake's scan order varies, and the folds' forests and the estimator
        # chosen with them followed it (real squat set: macro-F1 0.65 or 0.83 from the same lake)
        reps = reps.filter(pl.col("train_label").is_not_null())
        reps = with_curves(con, reps) if curves else reps
        return with_family(reps.sort("recording_id", "rep"))


def one_spelling(typed: pl.Expr) -> pl.Expr:
    """One class per label however it was typed: spellings that differ only in case, spaces and
    hyphens ("Good", "good", "Knee Valgus", "knee-valgus") are one label, written as the taxonomy
    writes it (``good``, ``rounded_back``: schema.LABELS, which reports and the good-rep share
    know), else as the coach wrote it most often, so predictions keep the coach's own words."""
    key = typed.str.to_lowercase().str.replace_all(WORD_BREAKS, "_")
    usual = typed.mode().sort().first().over(key)
    return pl.when(key.is_in(LABELS)).then(key).otherwise(usual)


def train(
    lake: Lake,
    out_dir: Path,
    labels_file: Path | None = None,
    seed: int = 0,
    candidates: tuple[str, ...] = CANDIDATES,
    uncertain_below: float = UNCERTAIN_BELOW,
    notes: dict | None = None,
    n_jobs: int = 1,
) -> dict:
    """Train on the lake's labelled reps (`classify.evaluation.train_model`: leave-athlete-out
    evaluation, then a calibrated fit on every labelled rep); saves the model folder and its card
    in one step, returns the meta. ``n_jobs``: evaluation folds fitted at once."""
    reps = labelled_reps(lake, labels_file)
    model, meta = train_model(reps, seed, candidates, uncertain_below, n_jobs)
    # The file's name and digest, not its path: a path is the trainer's machine's (or a temporary
    # folder's), the digest says which labels these were.
    meta["training_data"]["labels_file"] = (
        f"{labels_file.name} (sha256 {hashlib.sha256(labels_file.read_bytes()).hexdigest()[:12]})"
        if labels_file
        else None
    )
    if notes:
        meta["notes"] = notes
    with writing_model(out_dir) as staging:  # the previous model stays until this one is complete
        meta = save_model(model, staging, meta)
        write_card(staging, meta)
    return meta
