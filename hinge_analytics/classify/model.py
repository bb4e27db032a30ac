"""The rep classifier: a scikit-learn Pipeline over per-rep metrics, evaluated leave-athlete-out.

Training data = reps in the lake with a label from the coach (labels file per rep, or the
manifest's per-recording label). Quality is only ever reported on athletes the model did not see
(``GroupKFold`` grouped by athlete_id), never on training reps.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
)
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from hinge_analytics.schema import REP_METRIC_COLUMNS

MODEL_FILE = "model.skops"
META_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"
UNCERTAIN_BELOW = 0.5  # most probable label's probability under this -> "uncertain"

# Tempo and absolute timing say little about form; everything else describes the rep's shape.
FEATURES: tuple[str, ...] = tuple(c for c in REP_METRIC_COLUMNS if c not in ("low_confidence_fraction",))
CATEGORICAL: tuple[str, ...] = ("exercise",)

CUES: dict[str, str] = {
    "good": "Good rep: keep it up.",
    "rounded_back": "Keep the chest up and the lats tight: don't let the upper back round.",
    "lumbar_flexion": "Brace before you go down and stop where the lower back starts to round.",
    "hyperextension": "Stand tall at lockout: squeeze the glutes, don't lean back.",
    "squatting": "Soften the knees less and push the hips back: it's a hinge, not a squat.",
    "hips_not_back": "Push the hips back, not bend at the waist; keep the weight on the heels.",
}


class ModelError(RuntimeError):
    """A model that cannot be trained, found or trusted; the message is for the user."""


def usable_features(reps: pl.DataFrame) -> list[str]:
    """Metrics measured on at least some reps (e.g. pose data has no lumbar flexion)."""
    X = feature_frame(reps)
    return [c for c in FEATURES if X[c].null_count() < X.height]


def build_pipeline(features: list[str], seed: int = 0) -> Pipeline:
    """Exercise one-hot + numeric metrics (NaN allowed) -> gradient-boosted trees."""
    columns = ColumnTransformer(
        [
            ("exercise", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(CATEGORICAL)),
            ("metrics", "passthrough", features),
        ]
    )
    model = HistGradientBoostingClassifier(
        max_iter=300,
        learning_rate=0.08,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        class_weight="balanced",
        random_state=seed,
    )
    return Pipeline([("columns", columns), ("model", model)])


def feature_frame(reps: pl.DataFrame) -> pl.DataFrame:
    """The model's input columns; scikit-learn's ColumnTransformer selects them by name."""
    missing = [c for c in (*CATEGORICAL, *FEATURES) if c not in reps.columns]
    reps = reps.with_columns([pl.lit(None).alias(c) for c in missing])
    return reps.select(
        [pl.col(c).cast(pl.String) for c in CATEGORICAL]
        + [pl.col(c).cast(pl.Float64).fill_nan(None) for c in FEATURES]
    )


@dataclass
class Evaluation:
    n_reps: int
    n_athletes: int
    labels: list[str]
    accuracy: float
    macro_f1: float
    sensitivity: float  # mistake detected when there is one (binary good vs any mistake)
    specificity: float  # good called good
    per_class: dict
    confusion: list[list[int]]

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def leave_athlete_out(reps: pl.DataFrame, labels: np.ndarray, groups: np.ndarray) -> Evaluation:
    """Out-of-fold predictions with folds grouped by athlete (at most 5 folds)."""
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ModelError("Leave-athlete-out evaluation needs labelled reps from at least 2 athletes.")
    X = feature_frame(reps)
    features = usable_features(reps)
    predicted = np.empty(len(labels), dtype=object)
    for train, test in GroupKFold(n_splits=min(5, n_groups)).split(X, labels, groups):
        pipeline = build_pipeline(features).fit(X[train], labels[train])
        predicted[test] = pipeline.predict(X[test])
    return evaluate(labels, predicted.astype(str), groups)


def evaluate(truth: np.ndarray, predicted: np.ndarray, groups: np.ndarray) -> Evaluation:
    vocab = sorted(set(truth) | set(predicted))
    is_bad_true = truth != "good"
    is_bad_pred = predicted != "good"
    has_good = "good" in vocab
    sens = float((is_bad_pred & is_bad_true).sum() / max(is_bad_true.sum(), 1)) if has_good else float("nan")
    spec = (
        float((~is_bad_pred & ~is_bad_true).sum() / max((~is_bad_true).sum(), 1))
        if has_good
        else float("nan")
    )
    return Evaluation(
        n_reps=len(truth),
        n_athletes=len(np.unique(groups)),
        labels=vocab,
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, average="macro", labels=vocab, zero_division=0)),
        sensitivity=sens,
        specificity=spec,
        per_class=classification_report(truth, predicted, labels=vocab, output_dict=True, zero_division=0),
        confusion=confusion_matrix(truth, predicted, labels=vocab).tolist(),
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(pipeline: Pipeline, out_dir: Path, meta: dict) -> str:
    """Write model.skops and model.json (with the file's SHA-256); returns the model version."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    sio.dump(pipeline, model_path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    digest = _sha256(model_path)
    version = f"rep-clf-{digest[:12]}"
    meta = {**meta, "model_version": version, "sha256": digest, "categorical": list(CATEGORICAL)}
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
    return version


@dataclass
class LoadedModel:
    pipeline: Pipeline
    version: str
    meta: dict


def load_model(model_dir: Path) -> LoadedModel:
    """Load a model only if its file matches the SHA-256 recorded beside it (tamper check), and
    only with the types skops reports as untrusted being scikit-learn/numpy internals we expect."""
    model_path, meta_path = model_dir / MODEL_FILE, model_dir / META_FILE
    if not model_path.is_file() or not meta_path.is_file():
        raise ModelError(
            f"No model in {model_dir} (expected {MODEL_FILE} and {META_FILE}); run `hinge train`."
        )
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path} is not valid JSON.") from exc
    if _sha256(model_path) != meta.get("sha256"):
        raise ModelError(
            f"The model file in {model_dir} does not match its recorded checksum: it was changed "
            "after training. Refusing to load it; retrain with `hinge train`."
        )
    untrusted = sio.get_untrusted_types(file=model_path)
    unexpected = [t for t in untrusted if not t.startswith(("sklearn.", "numpy.", "scipy."))]
    if unexpected:
        raise ModelError(f"The model file contains unexpected types {unexpected}; refusing to load it.")
    pipeline = sio.load(model_path, trusted=untrusted)
    return LoadedModel(pipeline, meta["model_version"], meta)


def predict_labels(model: LoadedModel, reps: pl.DataFrame) -> pl.DataFrame:
    """label (or "uncertain"), predicted_label, confidence and cue per rep."""
    if reps.height == 0:
        return pl.DataFrame(
            schema={
                "label": pl.String,
                "predicted_label": pl.String,
                "confidence": pl.Float64,
                "cue": pl.String,
            }
        )
    proba = model.pipeline.predict_proba(feature_frame(reps))
    classes = model.pipeline.classes_
    best = proba.argmax(axis=1)
    predicted = classes[best].astype(str)
    confidence = proba[np.arange(len(best)), best]
    threshold = float(model.meta.get("uncertain_below", UNCERTAIN_BELOW))
    label = np.where(confidence < threshold, "uncertain", predicted)
    cues = [
        CUES.get(p, f"Watch for {p.replace('_', ' ')}.")
        if lab != "uncertain"
        else "Not sure about this rep: have a look at the video."
        for lab, p in zip(label, predicted, strict=True)
    ]
    return pl.DataFrame({"label": label, "predicted_label": predicted, "confidence": confidence, "cue": cues})
