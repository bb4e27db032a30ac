"""The rep classifier: Pipelines over per-rep metrics and angle curves, scored leave-athlete-out.

One Pipeline per *model family* (input modality and sensor set, see ``features.family_key``):

    SessionRelative -> ColumnTransformer(exercise one-hot + metrics) -> [impute, scale]
        -> CalibratedClassifierCV(best of HistGradientBoosting / RandomForest / LogisticRegression)

Model selection and calibration use folds grouped by athlete (``GroupKFold``); the quality a model
card reports is leave-athlete-out, with calibration fitted inside each training fold. The estimator
is chosen once on the same grouped folds (Varma & Simon, BMC Bioinformatics 2006: selection outside
the loop biases the estimate upwards; small with three candidates, and stated on the card).
Training-set scores are never computed.
Probabilities are calibrated on out-of-fold predictions (Niculescu-Mizil & Caruana, ICML 2005:
isotonic with enough data, Platt's sigmoid otherwise).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix, f1_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skops.io.exceptions import UntrustedTypesFoundException
from threadpoolctl import threadpool_limits

from hinge_analytics.atomic import replaced_dir
from hinge_analytics.classify.features import (
    CATEGORICAL,
    CONTEXT,
    RELATIVE_PREFIX,
    SessionRelative,
    StanceFirst,
)

META_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"
CARD_JSON = "model_card.json"
FORMAT_VERSION = 2
UNCERTAIN_BELOW = 0.5  # calibrated probability of the best label under this -> "uncertain"
GOOD = "good"
# A rep is called good only when its calibrated P(good) reaches this; otherwise it gets its likeliest
# mistake. Chosen on simulated athletes the shipped model never saw (seed 77, 12 athletes, pose,
# leave-athlete-out): plain argmax gave sensitivity 0.963 / specificity 0.970, this 0.968 / 0.967.
GOOD_AT_LEAST = 0.5
CANDIDATES: tuple[str, ...] = ("hgb", "rf", "logreg")
ESTIMATOR_NAMES = {
    "hgb": "HistGradientBoostingClassifier",
    "rf": "RandomForestClassifier",
    "logreg": "LogisticRegression",
}
OUTER_FOLDS = 5
INNER_FOLDS = 3
# Trusted types when loading: scikit-learn/numpy/scipy internals and our own transformer.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")
TRUSTED_TYPES = (
    "hinge_analytics.classify.features.SessionRelative",
    "hinge_analytics.classify.features.StanceFirst",
)


class ModelError(RuntimeError):
    """A model that cannot be trained, found or trusted; the message is for the user."""


# ----------------------------------------------------------------------------- pipelines
def make_estimator(kind: str, seed: int = 0):
    if kind == "hgb":
        return HistGradientBoostingClassifier(
            max_iter=120,  # no early stopping: its stratified split fails on rare coach labels
            learning_rate=0.1,
            early_stopping=False,
            max_leaf_nodes=15,
            min_samples_leaf=10,
            l2_regularization=1.0,
            class_weight="balanced",
            random_state=seed,
        )
    if kind == "rf":
        return RandomForestClassifier(
            n_estimators=150,
            min_samples_leaf=3,
            max_leaf_nodes=400,  # keeps the shipped file small
            class_weight="balanced",
            n_jobs=1,
            random_state=seed,
        )
    if kind == "logreg":
        return LogisticRegression(C=0.5, max_iter=3000, class_weight="balanced")
    raise ValueError(f"unknown estimator {kind!r}")


def build_pipeline(
    features: list[str],
    kind: str = "hgb",
    seed: int = 0,
    relative: bool = True,
    calibration: str | None = None,
    calibration_folds: int = INNER_FOLDS,
) -> Pipeline:
    """The Pipeline a model family is: raw rep rows (``features.model_input``) in, labels out.

    ``calibration`` = ``"isotonic"`` / ``"sigmoid"`` wraps the estimator in a CalibratedClassifierCV
    whose folds are grouped by athlete (fit with ``groups=`` under metadata routing, see `fit`)."""
    numeric = list(features) + ([f"{RELATIVE_PREFIX}{c}" for c in features] if relative else [])
    columns = ColumnTransformer(
        [
            ("exercise", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(CATEGORICAL)),
            ("metrics", "passthrough", numeric),
        ],
        verbose_feature_names_out=False,
    )
    steps: list[tuple[str, object]] = [("stance", StanceFirst(list(features)))]
    if relative:
        steps.append(("relative", SessionRelative(list(features))))
    steps.append(("columns", columns))
    if kind != "hgb":  # trees of HGB take NaN natively; the others need values
        steps.append(("impute", SimpleImputer(strategy="median", keep_empty_features=True)))
    if kind == "logreg":
        steps.append(("scale", StandardScaler()))
    estimator = make_estimator(kind, seed)
    if calibration:
        estimator = CalibratedClassifierCV(
            estimator, method=calibration, cv=GroupKFold(n_splits=calibration_folds), ensemble=False
        )
    steps.append(("model", estimator))
    return Pipeline(steps)


def fit(pipeline: Pipeline, X: pl.DataFrame, y: np.ndarray, groups: np.ndarray) -> Pipeline:
    """Fit with the calibration's GroupKFold split by ``groups`` (athletes); one OpenMP thread
    (small data, and oversubscribed threads are far slower than one on a busy machine)."""
    model = pipeline[-1]
    with threadpool_limits(1):
        if not isinstance(model, CalibratedClassifierCV):
            return pipeline.fit(X, y)
        splitter = model.cv
        # CalibratedClassifierCV(ensemble=False) does not route groups to its splitter: give it
        # the grouped splits, then put the splitter back so the saved model describes itself.
        model.cv = list(splitter.split(X, y, groups))
        try:
            return pipeline.fit(X, y)
        finally:
            model.cv = splitter


def predict_proba(pipeline: Pipeline, X: pl.DataFrame) -> np.ndarray:
    with threadpool_limits(1):
        return pipeline.predict_proba(X)


def calibration_method(n_reps: int) -> str:
    return "isotonic" if n_reps >= 1000 else "sigmoid"


def _folds(groups: np.ndarray, wanted: int) -> int:
    return max(2, min(wanted, len(np.unique(groups))))


def _oof_proba(make, X, y, groups, n_folds, classes) -> np.ndarray:
    """Out-of-fold probabilities (columns = ``classes``) with folds grouped by athlete."""
    proba = np.zeros((len(y), len(classes)))
    for train, test in GroupKFold(n_splits=_folds(groups, n_folds)).split(X, y, groups):
        model = fit(make(train), X[train], y[train], groups[train])
        p = predict_proba(model, X[test])
        cols = np.searchsorted(classes, model.classes_)
        proba[np.ix_(test, cols)] = p
    return proba


def select_estimator(
    X: pl.DataFrame, y: np.ndarray, groups: np.ndarray, features: list[str], candidates=CANDIDATES, seed=0
) -> tuple[str, dict[str, float]]:
    """The candidate with the best grouped-CV macro-F1 (uncalibrated; argmax is what matters)."""
    if len(candidates) == 1 or len(np.unique(groups)) < 3:
        return candidates[0], {}
    classes = np.unique(y)
    scores = {}
    for kind in candidates:
        proba = _oof_proba(
            lambda _t, k=kind: build_pipeline(features, k, seed), X, y, groups, INNER_FOLDS, classes
        )
        scores[kind] = float(f1_score(y, classes[proba.argmax(1)], average="macro"))
    return max(scores, key=scores.get), scores


def fit_family(
    X: pl.DataFrame, y: np.ndarray, groups: np.ndarray, features: list[str], kind: str, seed=0
) -> Pipeline:
    """Fit estimator ``kind`` calibrated (folds grouped by athlete) on all of ``X``."""
    method = calibration_method(len(y)) if len(np.unique(groups)) >= 2 else None
    pipeline = build_pipeline(
        features, kind, seed, calibration=method, calibration_folds=_folds(groups, INNER_FOLDS)
    )
    return fit(pipeline, X, y, groups)


def grouped_evaluation(
    X: pl.DataFrame, y: np.ndarray, groups: np.ndarray, features: list[str], kind: str, seed=0
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-athlete-out out-of-fold calibrated probabilities of estimator ``kind``: calibration
    happens inside each outer training fold. Returns (proba, classes)."""
    classes = np.unique(y)
    proba = _oof_proba(
        lambda train: _calibrated(features, kind, seed, groups[train]), X, y, groups, OUTER_FOLDS, classes
    )
    return proba, classes


def _calibrated(features, kind, seed, groups) -> Pipeline:
    n_groups = len(np.unique(groups))
    method = calibration_method(len(groups)) if n_groups >= 2 else None
    return build_pipeline(
        features, kind, seed, calibration=method, calibration_folds=_folds(groups, INNER_FOLDS)
    )


def decide(proba: np.ndarray, classes: np.ndarray, good_at_least: float = GOOD_AT_LEAST) -> np.ndarray:
    """Column index of the label each row gets: the most probable one, except that ``good`` needs
    P(good) >= ``good_at_least`` (else the likeliest other label). Missing a mistake costs a coach
    more than a second look at a good rep. Vocabularies without ``good`` take the most probable."""
    best = proba.argmax(1)
    names = np.asarray(classes).astype(str)
    if GOOD not in names or proba.shape[1] < 2:
        return best
    good = int(np.flatnonzero(names == GOOD)[0])
    others = proba.copy()
    others[:, good] = -np.inf
    return np.where((best == good) & (proba[:, good] < good_at_least), others.argmax(1), best)


# ----------------------------------------------------------------------------- scores
def evaluate(
    truth: np.ndarray, proba: np.ndarray, classes: np.ndarray, groups: np.ndarray, threshold: float
) -> dict:
    """Scores of out-of-fold probabilities: per-class precision/recall, macro-F1, binary
    good-vs-mistake sensitivity/specificity, confusion matrix, calibration, effect of `uncertain`."""
    truth = np.asarray(truth).astype(str)
    chosen = decide(proba, classes)
    predicted = classes[chosen].astype(str)
    confidence = proba[np.arange(len(chosen)), chosen]
    vocab = sorted(set(truth) | set(predicted))
    out = {
        "n_reps": len(truth),
        "n_athletes": len(np.unique(groups)),
        "labels": vocab,
        "accuracy": float((truth == predicted).mean()),
        "macro_f1": float(f1_score(truth, predicted, average="macro", labels=vocab, zero_division=0)),
        "per_class": classification_report(truth, predicted, labels=vocab, output_dict=True, zero_division=0),
        "confusion": confusion_matrix(truth, predicted, labels=vocab).tolist(),
    }
    if GOOD in vocab:
        bad_t, bad_p = truth != GOOD, predicted != GOOD
        out["sensitivity"] = float((bad_p & bad_t).sum() / max(bad_t.sum(), 1))
        out["specificity"] = float((~bad_p & ~bad_t).sum() / max((~bad_t).sum(), 1))
    else:
        out["sensitivity"] = out["specificity"] = float("nan")
    onehot = (truth[:, None] == classes[None, :].astype(str)).astype(float)
    out["brier"] = float(((proba - onehot) ** 2).sum(1).mean())
    out["reliability"], out["ece"] = reliability(confidence, truth == predicted)
    sure = confidence >= threshold
    out["uncertain"] = {
        "threshold": threshold,
        "fraction_uncertain": float(1 - sure.mean()),
        "accuracy_when_sure": float((truth == predicted)[sure].mean()) if sure.any() else float("nan"),
    }
    return out


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> tuple[list[dict], float]:
    """Reliability table of the top label's probability and the expected calibration error
    (Guo et al., ICML 2017): sum over bins of |accuracy - mean confidence| x bin share."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        conf, acc = float(confidence[inside].mean()), float(correct[inside].mean())
        ece += inside.mean() * abs(acc - conf)
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "reps": int(inside.sum()),
                "confidence": conf,
                "accuracy": acc,
            }
        )
    return table, float(ece)


# ----------------------------------------------------------------------------- files
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def family_file(key: str) -> str:
    return (
        re.sub(r"[^A-Za-z0-9_.-]", "_", key.replace(":", "__").replace("*", "all").replace("+", "-"))
        + ".skops"
    )


def _is_model_file(path: Path) -> bool:
    return path.is_file() and (path.name in (META_FILE, CARD_FILE, CARD_JSON) or path.suffix == ".skops")


def check_model_dir(out_dir: Path) -> None:
    """ModelError unless ``out_dir`` is new, empty or a model folder: `writing_model` replaces it as
    a whole, so any other file in it would be deleted with it."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ModelError(f"{out_dir} is a file, not a model folder.")
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if not _is_model_file(p))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise ModelError(
                f"{out_dir} holds files that are not a model's ({shown}); choose a new or empty folder."
            )


@contextlib.contextmanager
def writing_model(out_dir: Path) -> Iterator[Path]:
    """A new, empty folder to write a model into; it replaces ``out_dir`` in one step when the block
    completes (`atomic.replaced_dir`). Until then, and if the block fails or the process is killed,
    ``out_dir`` keeps the previous model, loadable."""
    check_model_dir(out_dir)
    with replaced_dir(Path(out_dir)) as staging:
        yield staging


def save_model(pipelines: dict[str, Pipeline], out_dir: Path, meta: dict) -> dict:
    """Write one skops file per family and model.json (with each file's SHA-256); the model
    version is a hash of those digests. Returns the meta as written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.skops"):
        old.unlink()
    meta = json.loads(json.dumps(meta, default=str))
    for key, pipeline in pipelines.items():
        name = family_file(key)
        sio.dump(pipeline, out_dir / name, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        meta["families"][key]["file"] = name
        meta["families"][key]["sha256"] = _sha256(out_dir / name)
        # the non-builtin types the file holds: load audits against this list in its one parse
        meta["families"][key]["types"] = sorted(sio.get_untrusted_types(file=out_dir / name))
    digest = hashlib.sha256(
        "".join(meta["families"][k]["sha256"] for k in sorted(pipelines)).encode()
    ).hexdigest()
    meta["model_version"] = f"rep-clf-{digest[:12]}"
    meta["format_version"] = FORMAT_VERSION
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
    return meta


class FamilyPipelines(Mapping[str, Pipeline]):
    """Family key -> fitted Pipeline, each parsed from its verified bytes when first asked for: a
    lake of pose recordings never pays for the IMU families (parsing all six took 0.8 s of the
    default model's 1.0 s load). The bytes were hashed and their types checked by `load_model`;
    skops refuses, while parsing, any type outside that list."""

    def __init__(self, files: dict[str, tuple[Path, bytes, list[str]]]):
        self._files = files
        self._parsed: dict[str, Pipeline] = {}

    def __getitem__(self, key: str) -> Pipeline:
        if key not in self._parsed:
            path, data, types = self._files[key]
            try:
                self._parsed[key] = sio.loads(data, trusted=types)
            except UntrustedTypesFoundException as exc:
                raise ModelError(
                    f"The model file {path} contains unexpected types ({exc}); refusing to load it."
                ) from exc
            except Exception as exc:  # a file skops cannot parse
                raise ModelError(f"The model file {path} cannot be read ({exc}).") from exc
        return self._parsed[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


@dataclass
class LoadedModel:
    pipelines: Mapping[str, Pipeline]  # family key -> fitted Pipeline
    version: str
    meta: dict

    @property
    def uncertain_below(self) -> float:
        return float(self.meta.get("uncertain_below", UNCERTAIN_BELOW))

    @property
    def good_at_least(self) -> float:
        """Older models (no value recorded) were argmax models: good needed no minimum."""
        return float(self.meta.get("good_at_least", 0.0))


def load_model(model_dir: Path) -> LoadedModel:
    """A model whose every family file matches the SHA-256 recorded in model.json (tamper check)
    and lists only the types we expect (skops' untrusted types); each family is parsed from the
    bytes checked here when first used (`FamilyPipelines`)."""
    model_dir = Path(model_dir)
    meta_path = model_dir / META_FILE
    if not meta_path.is_file():
        raise ModelError(f"No model in {model_dir} (expected {META_FILE}); run `hinge train`.")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path} is not valid JSON.") from exc
    families = meta.get("families")
    if meta.get("format_version") != FORMAT_VERSION or not families:
        raise ModelError(
            f"The model in {model_dir} was written by another version; retrain with `hinge train`."
        )
    files = {}
    for key, fam in families.items():
        path = model_dir / Path(fam["file"]).name
        if not path.is_file():
            raise ModelError(
                f"The model in {model_dir} lacks its file {path.name}; retrain with `hinge train`."
            )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != fam.get("sha256"):
            raise ModelError(
                f"The model file {path} does not match its recorded checksum: it was changed after "
                "training. Refusing to load it; retrain with `hinge train`."
            )
        untrusted = fam.get("types")
        if untrusted is None:  # a model saved before the types were recorded
            try:
                untrusted = sio.get_untrusted_types(data=data)
            except Exception as exc:  # a file skops cannot parse
                raise ModelError(f"The model file {path} cannot be read ({exc}).") from exc
        unexpected = [t for t in untrusted if not (t.startswith(TRUSTED_PREFIXES) or t in TRUSTED_TYPES)]
        if unexpected:
            raise ModelError(
                f"The model file {path} contains unexpected types {unexpected}; refusing to load it."
            )
        files[key] = (path, data, list(untrusted))
    return LoadedModel(FamilyPipelines(files), meta["model_version"], meta)


__all__ = [
    "CONTEXT",
    "GOOD_AT_LEAST",
    "decide",
    "FamilyPipelines",
    "LoadedModel",
    "ModelError",
    "build_pipeline",
    "check_model_dir",
    "evaluate",
    "fit_family",
    "load_model",
    "grouped_evaluation",
    "select_estimator",
    "save_model",
]
