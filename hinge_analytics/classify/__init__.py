"""Classify: the rep classifier (`estimator.RepClassifier`), its leave-athlete-out evaluation
(`evaluation`), model folders (`persistence`), the coach's labels file (`labels`) and the labels,
confidences and cues it gives reps (`predict_labels`). Reading and writing a lake is the jobs'
(`jobs.train`, `jobs.predict`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hinge_analytics.classify.estimator import UNCERTAIN_BELOW, ModelError, RepClassifier, decide, family_keys
from hinge_analytics.classify.explain import explain
from hinge_analytics.classify.features import model_input, split_key
from hinge_analytics.classify.persistence import load_model
from hinge_analytics.schema import BODY_PLACEMENTS, EXERCISES, UNCERTAIN, UNCERTAIN_CUE


def _default_model_dir() -> Path:
    """The shipped model's folder: package data in an installed wheel, ``models/default`` in the
    repository (a source tree or an editable install). pyproject.toml maps ``models/default`` to
    ``hinge_analytics/default_model`` in the wheel; the repository keeps the model at the top, next
    to its training script, so retraining writes a plain folder (docs/install.md)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "default_model"
    return installed if installed.is_dir() else package.parent / "models" / "default"


DEFAULT_MODEL_DIR = _default_model_dir()
__all__ = [
    "DEFAULT_MODEL_DIR",
    "ModelError",
    "RepClassifier",
    "load_model",
    "predict_labels",
]


# SPEC.md "Exercise vocabulary": a lift outside the six hinge exercises gets labels only from a model
# trained on it (`uncertain` otherwise, never a guess from the hinge model).
UNTRAINED_CUE = (
    "This model has not learned {exercise} reps; label some and run `hinge train` to get feedback on them."
)
NO_BODY_CUE = (
    "Only a sensor on the bar, kettlebell or wrist recorded this rep: it measures no body angles, so "
    "the rep gets no form label."
)


def measures_the_body(family: str) -> bool:
    """Whether a rep's own family (`features.family_key`) is a pose, or an IMU set with at least
    one sensor on the body: a load sensor alone (bar, implement, wrist) gives reps and their
    timing, never the body's shape (SPEC.md)."""
    modality, sensors = split_key(family)
    return modality != "imu" or bool(sensors and sensors & set(BODY_PLACEMENTS))


def trained_exercises(model: RepClassifier, family: str) -> set[str] | None:
    """The exercises a model family was trained on (None: a model that did not record them)."""
    meta = model.meta_
    summary = meta["families"][family].get("training_data") or meta.get("training_data") or {}
    exercises = summary.get("exercises")
    return None if exercises is None else set(exercises)


def predict_labels(
    model: RepClassifier, reps: pl.DataFrame, uncertain_below: float | None = None
) -> pl.DataFrame:
    """label (or ``uncertain``), predicted_label, confidence and cue for every row of ``reps``
    (rows of the same athlete/day/exercise are context for each other), in input order.

    ``model``: a saved one (`load_model`), whose model.json gives the threshold and the cues."""
    meta = model.meta_
    threshold = (
        float(meta.get("uncertain_below", UNCERTAIN_BELOW)) if uncertain_below is None else uncertain_below
    )
    if reps.height == 0:
        return pl.DataFrame(
            schema={
                "label": pl.String,
                "predicted_label": pl.String,
                "confidence": pl.Float64,
                "cue": pl.String,
            }
        )
    X = model_input(reps)
    proba = model.predict_proba(X)
    served = model.route(X)
    best = decide(proba, model.classes_, model.good_thresholds(X))
    predicted, confidence = model.classes_[best].astype(str), proba[np.arange(len(best)), best]
    profiles = {key: meta["families"][key].get("explain", {"exercises": {}}) for key in set(served)}
    trained = {key: trained_exercises(model, key) for key in set(served)}
    label, cue = [], []
    rows = zip(reps.iter_rows(named=True), served, family_keys(X), predicted, confidence, strict=True)
    for row, key, own, p, c in rows:
        # A load sensor's reps are labelled only by a family trained on that very sensor set.
        body = measures_the_body(own) or key == own
        known = trained[key] is None or row["exercise"] in trained[key] or row["exercise"] in EXERCISES
        sure = body and known and c >= threshold
        label.append(p if sure else UNCERTAIN)
        if sure:
            cue.append(explain(profiles[key], row["exercise"], p, row))
        elif not body:
            cue.append(NO_BODY_CUE)
        elif known:
            cue.append(UNCERTAIN_CUE.format(label=p.replace("_", " "), p=c))
        else:
            cue.append(UNTRAINED_CUE.format(exercise=str(row["exercise"]).replace("_", " ")))
    return pl.DataFrame(
        {
            "label": label,
            "predicted_label": predicted.tolist(),
            "confidence": confidence.astype(float),
            "cue": cue,
        },
        schema={"label": pl.String, "predicted_label": pl.String, "confidence": pl.Float64, "cue": pl.String},
    )
