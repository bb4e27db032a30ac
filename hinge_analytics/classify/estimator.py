"""The rep classifier as one scikit-learn estimator, `RepClassifier`.

Reps differ in what can be measured on them: pose gives no lumbar flexion, a thigh-only IMU set no
trunk angle. The classifier therefore holds one Pipeline per *model family* (input modality and
sensor set, ``features.family_key``) and routes each rep to the family that serves it
(``features.choose_family``). A family's Pipeline:

    StanceFirst -> SessionRelative -> ExerciseReference
        -> ColumnTransformer(exercise one-hot + metrics) -> [impute, scale]
        -> CalibratedClassifierCV(best of HistGradientBoosting / RandomForest / LogisticRegression)

The estimator is chosen on folds grouped by athlete (``GroupKFold``); probabilities are calibrated
on out-of-fold predictions grouped the same way: isotonic with enough data (Niculescu-Mizil &
Caruana, ICML 2005), otherwise temperature scaling (Guo et al., ICML 2017), whose single parameter
keeps the estimator's order of the labels. Platt's sigmoid, fitted per label on the out-of-fold
predictions of one or two athletes, reordered them: on the real squat set it turned a
leave-one-subject-out macro-F1 of 0.87-0.90 into 0.86. Leave-athlete-out scoring is
`evaluation`'s job, model files are `persistence`'s.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import polars as pl
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from hinge_analytics.classify.features import (
    CATEGORICAL,
    EXERCISE_PREFIX,
    RELATIVE_PREFIX,
    ROUTING,
    SELF_REFERENCED,
    ExerciseReference,
    SessionRelative,
    StanceFirst,
    choose_family,
    family_key,
    mirrored,
    modality_key,
    usable_features,
)
from hinge_analytics.schema import REP_METRIC_COLUMNS

UNCERTAIN_BELOW = 0.5  # calibrated probability of the best label under this -> "uncertain"
GOOD = "good"
# A rep is called good only when its calibrated P(good) reaches a threshold; otherwise it gets its
# likeliest mistake. Training sets it per model family (`operating_point`); this is the threshold
# of a model fitted without that step.
GOOD_AT_LEAST = 0.5
# Thresholds `operating_point` tries: wide enough to trade a tenth of specificity for sensitivity.
GOOD_THRESHOLDS = np.round(np.arange(0.30, 0.851, 0.05), 2)
# A sensor set served by its modality's pooled model gets an operating point of its own when its
# out-of-fold reps hold this many good and this many faulty ones (`evaluation.train_model`).
MIN_OPERATING_REPS = 100
# A candidate named ``<kind>-relative`` sees only the session-relative metrics (`SessionRelative`),
# not the metrics themselves: absolute values carry what is constant for an athlete (segment
# lengths, sensor mounting, habitual depth), which a few training athletes cannot teach to
# transfer. ``<kind>-standardised`` also divides by the session's spread (`SessionRelative`'s
# ``scale``): on the real squat set, whose three subjects differ in how far a fault moves a metric,
# it read 0.90 leave-one-subject-out against 0.84 (docs/validation-2026-12-07.md). Which view
# generalises is decided per model family by athlete-grouped selection.
RELATIVE_ONLY = "-relative"
STANDARDISED = "-standardised"
SESSION_VIEWS = (RELATIVE_ONLY, STANDARDISED)
CANDIDATES: tuple[str, ...] = ("hgb", "rf", "rf-relative", "rf-standardised", "logreg")
ESTIMATOR_NAMES = {
    "hgb": "HistGradientBoostingClassifier",
    "rf": "RandomForestClassifier",
    "rf-relative": "RandomForestClassifier (session-relative metrics only)",
    "rf-standardised": "RandomForestClassifier (metrics standardised within the session only)",
    "logreg": "LogisticRegression",
}
# Pose families label a bilateral rep from the mean of its probabilities and those of its mirror
# image, so a clip and its mirrored copy get the same label. The shipped model changed 3.6 % of
# one-sided pose reps' labels under the swap (held-out seed 5); averaging raised its macro-F1 there
# 0.729 -> 0.738 (docs/validation-2026-12-05.md). IMU families are not mirrored: their lateral tilt
# and turning descriptors carry signs that swapping columns cannot mirror.
MIRRORED_MODALITIES = frozenset({"pose"})
INNER_FOLDS = 3
MIN_FAMILY_REPS = 20
MIN_EXACT_REPS = 150  # a sensor set gets its own model from this many reps (and 3 athletes)
GROUPS = "athlete_id"  # the column folds are grouped by: no athlete is in two folds
TOO_FEW_REPS = f"Too few labelled reps to train (need {MIN_FAMILY_REPS} from at least 2 athletes)."


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
    exercise_reference: bool = True,
) -> Pipeline:
    """The Pipeline a model family is: raw rep rows (``features.model_input``) in, labels out.

    ``kind``: an estimator of `make_estimator`, or ``<kind>-relative`` (``-standardised``) for that
    estimator on the session-relative (standardised) metrics only (`SESSION_VIEWS`) and those
    already measured against the athlete's own standing (`features.SELF_REFERENCED`).
    ``calibration`` = ``"isotonic"`` / ``"temperature"`` wraps the estimator in a
    CalibratedClassifierCV whose folds are grouped by athlete (fit with ``groups=`` under metadata
    routing, see `fit`). ``exercise_reference`` adds each metric in its exercise's own spread
    (`features.ExerciseReference`) beside the metric: on a 300-set randomised IMU lake (dev seed 1)
    regime-held-out macro-F1 rose in seven of eight splits (median 0.796 -> 0.826), leave-athlete-
    out stayed within its spread (0.858 -> 0.845), and pose did not move (docs/validation-2026-12-07.md)."""
    view = next((suffix for suffix in SESSION_VIEWS if kind.endswith(suffix)), "")
    absolute = not view
    kind = kind.removesuffix(view)
    relative = relative or not absolute
    numeric = [c for c in features if absolute or c in SELF_REFERENCED] + (
        [f"{RELATIVE_PREFIX}{c}" for c in features] if relative else []
    )
    referenced = [c for c in features if c in REP_METRIC_COLUMNS] if exercise_reference and absolute else []
    numeric += [f"{EXERCISE_PREFIX}{c}" for c in referenced]
    columns = ColumnTransformer(
        [
            ("exercise", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(CATEGORICAL)),
            ("metrics", "passthrough", numeric),
        ],
        verbose_feature_names_out=False,
    )
    steps: list[tuple[str, object]] = [("stance", StanceFirst(list(features)))]
    if relative:
        steps.append(("relative", SessionRelative(list(features), scale=view == STANDARDISED)))
    if referenced:
        steps.append(("exercise_reference", ExerciseReference(referenced)))
    steps.append(("columns", columns))
    if kind != "hgb":  # trees of HGB take NaN natively; the others need values
        steps.append(("impute", SimpleImputer(strategy="median", keep_empty_features=True)))
    if kind == "logreg":
        steps.append(("scale", StandardScaler()))
    estimator = make_estimator(kind, seed)
    if kind == "hgb":
        # HGB's binning (scikit-learn 1.9, with sample weights) fails on a column without any value,
        # and a metric only a few reps have can be empty in one calibration fold. Such a column,
        # like a constant one, can never be split on: dropping it in each fold changes no tree.
        estimator = Pipeline([("informative", VarianceThreshold()), ("hgb", estimator)])
    if calibration:
        estimator = CalibratedClassifierCV(
            estimator, method=calibration, cv=GroupKFold(n_splits=calibration_folds), ensemble=False
        )
    steps.append(("model", estimator))
    return Pipeline(steps)


def fit(pipeline: Pipeline, X: pl.DataFrame, y: np.ndarray, groups: np.ndarray) -> Pipeline:
    """Fit with the calibration's GroupKFold split by ``groups`` (athletes); one OpenMP thread
    (small data, and oversubscribed threads are far slower than one on a busy machine).

    scikit-learn cannot calibrate decision values from a training fold that holds only two of
    three or more labels (a rare label with one athlete); such a family is fitted uncalibrated
    instead, and says so (``calibration`` null on the card)."""
    with threadpool_limits(1), warnings.catch_warnings():
        # VarianceThreshold drops a column without any value (a metric this family's sensors never
        # give) as intended, but numpy warns about the all-NaN variance it reads there.
        warnings.filterwarnings("ignore", "All-NaN slice|Degrees of freedom", RuntimeWarning)
        model = pipeline[-1]
        if not isinstance(model, CalibratedClassifierCV):
            return pipeline.fit(X, y)
        splitter = model.cv
        # CalibratedClassifierCV(ensemble=False) does not route groups to its splitter: give it
        # the grouped splits, then put the splitter back so the saved model describes itself.
        splits = list(splitter.split(X, y, groups))
        labels = len(np.unique(y))
        if any(2 >= len(np.unique(y[train])) < labels for train, _ in splits):
            pipeline.steps[-1] = (pipeline.steps[-1][0], model.estimator)
            return pipeline.fit(X, y)
        model.cv = splits
        try:
            return pipeline.fit(X, y)
        finally:
            model.cv = splitter


def mirrors(key: str) -> bool:
    """Whether family ``key`` labels a rep from the average of it and its mirror image
    (`MIRRORED_MODALITIES`)."""
    return key.partition(":")[0] in MIRRORED_MODALITIES


def predict_proba(pipeline: Pipeline, X: pl.DataFrame, mirror: bool = False) -> np.ndarray:
    """Probabilities of a fitted family Pipeline; with ``mirror`` the mean of those of each rep
    and of its mirror image (`features.mirrored`), which a mirrored copy of the clip shares."""
    with threadpool_limits(1):
        if not mirror:
            return pipeline.predict_proba(X)
        return (pipeline.predict_proba(X) + pipeline.predict_proba(mirrored(X))) / 2


def calibration_method(n_reps: int) -> str:
    return "isotonic" if n_reps >= 1000 else "temperature"


def folds(groups: np.ndarray, wanted: int) -> int:
    return max(2, min(wanted, len(np.unique(groups))))


def oof_proba(make, X, y, groups, n_folds, classes, mirror: bool = False, n_jobs: int = 1) -> np.ndarray:
    """Out-of-fold probabilities (columns = ``classes``) with folds grouped by athlete; ``make``
    builds an unfitted Pipeline from the training fold's row indices (``mirror``: `predict_proba`).
    ``n_jobs`` folds are fitted at once, each in its own process (joblib)."""

    def fold(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model = fit(make(train), X[train], y[train], groups[train])
        return model.classes_, predict_proba(model, X[test], mirror)

    splits = list(GroupKFold(n_splits=folds(groups, n_folds)).split(X, y, groups))
    fitted = Parallel(n_jobs=n_jobs)(delayed(fold)(train, test) for train, test in splits)
    proba = np.zeros((len(y), len(classes)))
    for (_, test), (fold_classes, p) in zip(splits, fitted, strict=True):
        proba[np.ix_(test, np.searchsorted(classes, fold_classes))] = p
    return proba


def select_estimator(
    X: pl.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    features: list[str],
    candidates=CANDIDATES,
    seed=0,
    mirror: bool = False,
    n_jobs: int = 1,
) -> tuple[str, dict[str, float]]:
    """The candidate with the best grouped-CV macro-F1 (uncalibrated; argmax is what matters).

    Two athletes are enough: each candidate trains on one and is scored on the other. On the real
    squat sets, trained on two subjects and labelling the third, the first candidate (gradient
    boosting) reached 0.52 macro-F1 where the one this chooses on the two (random forest on
    metrics standardised within each athlete) reached 0.90 (docs/validation-2026-12-07.md)."""
    if len(candidates) == 1 or len(np.unique(groups)) < 2:
        return candidates[0], {}
    classes = np.unique(y)
    scores = {}
    for kind in candidates:
        proba = oof_proba(
            lambda _t, k=kind: build_pipeline(features, k, seed),
            X,
            y,
            groups,
            INNER_FOLDS,
            classes,
            mirror,
            n_jobs,
        )
        scores[kind] = float(f1_score(y, classes[proba.argmax(1)], average="macro"))
    return max(scores, key=scores.get), scores


def calibrated_pipeline(features: list[str], kind: str, seed: int, groups: np.ndarray) -> Pipeline:
    """The unfitted Pipeline of estimator ``kind`` calibrated on folds of ``groups`` (uncalibrated
    with a single athlete: nothing to hold out)."""
    method = calibration_method(len(groups)) if len(np.unique(groups)) >= 2 else None
    return build_pipeline(
        features, kind, seed, calibration=method, calibration_folds=folds(groups, INNER_FOLDS)
    )


def fit_family(
    X: pl.DataFrame, y: np.ndarray, groups: np.ndarray, features: list[str], kind: str, seed=0
) -> Pipeline:
    """Fit estimator ``kind`` calibrated (folds grouped by athlete) on all of ``X``."""
    return fit(calibrated_pipeline(features, kind, seed, groups), X, y, groups)


def decide(
    proba: np.ndarray, classes: np.ndarray, good_at_least: float | np.ndarray = GOOD_AT_LEAST
) -> np.ndarray:
    """Column index of the label each row gets: the most probable one, except that ``good`` needs
    P(good) >= ``good_at_least`` (one value, or one per row; else the likeliest other label).
    Vocabularies without ``good`` take the most probable."""
    best = proba.argmax(1)
    names = np.asarray(classes).astype(str)
    if GOOD not in names or proba.shape[1] < 2:
        return best
    good = int(np.flatnonzero(names == GOOD)[0])
    others = proba.copy()
    others[:, good] = -np.inf
    return np.where((best == good) & (proba[:, good] < good_at_least), others.argmax(1), best)


def operating_point(
    truth: np.ndarray, proba: np.ndarray, classes: np.ndarray, thresholds: np.ndarray = GOOD_THRESHOLDS
) -> float:
    """The P(good) a rep needs to be called good, chosen on out-of-fold probabilities: the
    ``thresholds`` value with the largest min(sensitivity, specificity), the nearest to
    `GOOD_AT_LEAST` among equals (the equal error rate of a ROC analysis, read on the grid).

    Argmax leaves the two errors wherever the class balance puts them: with good reps the majority,
    a pose family trained on the shipped model's data missed 16 % of mistakes out of fold while
    flagging 3 % of good reps. A coach needs both figures high, and a missed mistake costs more
    than a second look."""
    names = np.asarray(classes).astype(str)
    truth = np.asarray(truth).astype(str)
    bad = truth != GOOD
    if GOOD not in names or bad.all() or not bad.any():
        return GOOD_AT_LEAST

    def worse_error(t: float) -> float:
        called_bad = names[decide(proba, names, t)] != GOOD
        return min((called_bad & bad).sum() / bad.sum(), (~called_bad & ~bad).sum() / (~bad).sum())

    scores = [(worse_error(t), -abs(t - GOOD_AT_LEAST), t) for t in thresholds]
    return float(max(scores)[2])


def good_threshold(good_at_least: float | Mapping[str, float], own: str, served: str) -> float:
    """The P(good) a rep of sensor set ``own``, labelled by family ``served``, needs to be called
    good: its sensor set's own operating point where training set one (a set the pooled model
    serves, with enough reps: `MIN_OPERATING_REPS`), else its family's, else `GOOD_AT_LEAST`."""
    if not isinstance(good_at_least, Mapping):
        return float(good_at_least)
    return float(good_at_least.get(own, good_at_least.get(served, GOOD_AT_LEAST)))


# ----------------------------------------------------------------------------- one estimator
def family_keys(X: pl.DataFrame) -> np.ndarray:
    """Each row's model family (``features.family_key``) from its routing columns."""
    return np.array(
        [family_key(m, s) for m, s in zip(X["modality"], X["sensors"], strict=True)], dtype=object
    )


def family_plan(keys: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, np.ndarray]:
    """Which families to train, each with its rows (boolean mask): one pooled model per modality
    (``pose:*``, ``imu:*``; HGB and the imputers take the metrics a sensor set lacks as missing),
    plus a dedicated model for each IMU sensor set with enough data of its own."""

    def trainable(rows: np.ndarray) -> bool:
        return (
            rows.sum() >= MIN_FAMILY_REPS
            and len(np.unique(groups[rows])) >= 2
            and len(np.unique(y[rows])) >= 2
        )

    plan = {}
    for modality in sorted({k.partition(":")[0] for k in keys}):
        pooled = modality_key(modality)
        rows = family_rows(pooled, keys)
        if trainable(rows):
            plan[pooled] = rows
        if len(np.unique(keys[rows])) > 1:
            for key in np.unique(keys[rows]):
                own = family_rows(key, keys)
                if own.sum() >= MIN_EXACT_REPS and len(np.unique(groups[own])) >= 3 and trainable(own):
                    plan[key] = own
    return dict(sorted(plan.items()))


def family_rows(key: str, keys: np.ndarray) -> np.ndarray:
    """The rows a family is trained on: its modality's for a pooled key (``imu:*``), else its own."""
    if key.endswith(":*"):
        modality = key[:-2]
        return np.array([k.partition(":")[0] == modality for k in keys], dtype=bool)
    return keys == key


class RepClassifier(ClassifierMixin, BaseEstimator):
    """Labels reps: one calibrated Pipeline per model family, each rep routed to the family that
    serves it (its own sensor set's, else its modality's pooled model: `features.choose_family`).

    ``X`` is a polars frame of rep rows as ``features.model_input`` gives them: the context columns
    (``athlete_id``, ``session_date``, ``exercise``, ``side``), the routing columns (``modality``,
    ``sensors``) and every candidate metric. Folds are grouped by the ``athlete_id`` column, so
    ``cross_val_score(RepClassifier(), X, y, groups=X["athlete_id"], cv=GroupKFold())`` gives a
    leave-athlete-out score without metadata routing.

    Parameters
    ----------
    candidates : estimators tried per family ("hgb", "rf", "logreg"); the best grouped-CV macro-F1
        is kept.
    families : family keys to fit (e.g. ``("pose:*", "imu:lower_back+upper_back")``), each on its
        rows whatever their number; None plans them from the data (`family_plan`).
    estimators : family key -> estimator kind, for families whose estimator is already chosen.
    seed : random state of every estimator.
    good_at_least : P(good) a rep needs to be called good (`decide`): one value, or one per family
        key (training sets them by `operating_point`; a family not named takes `GOOD_AT_LEAST`).
    """

    def __init__(
        self,
        candidates: tuple[str, ...] = CANDIDATES,
        families: tuple[str, ...] | None = None,
        estimators: dict[str, str] | None = None,
        seed: int = 0,
        good_at_least: float | Mapping[str, float] = GOOD_AT_LEAST,
    ):
        self.candidates = candidates
        self.families = families
        self.estimators = estimators
        self.seed = seed
        self.good_at_least = good_at_least

    def fit(self, X: pl.DataFrame, y) -> RepClassifier:
        y = np.asarray(y).astype(str)
        groups = X[GROUPS].to_numpy().astype(str)
        keys = family_keys(X)
        if self.families is None:
            plan = family_plan(keys, y, groups)
        else:
            plan = {key: family_rows(key, keys) for key in self.families}
        plan = {key: rows for key, rows in plan.items() if rows.any()}
        if not plan:
            raise ModelError(TOO_FEW_REPS)
        inputs = X.drop([c for c in ROUTING if c in X.columns])
        self.pipelines_: Mapping[str, Pipeline] = {}
        self.family_info_: dict[str, dict] = {}
        for key, rows in plan.items():
            part, part_y, part_groups = inputs.filter(pl.Series(rows)), y[rows], groups[rows]
            features = usable_features(part)
            chosen = (self.estimators or {}).get(key)
            kind, selection = (
                (chosen, {})
                if chosen
                else select_estimator(
                    part, part_y, part_groups, features, self.candidates, self.seed, mirrors(key)
                )
            )
            pipeline = fit_family(part, part_y, part_groups, features, kind, self.seed)
            self.pipelines_[key] = pipeline
            self.family_info_[key] = {
                "features": features,
                "labels": [str(c) for c in pipeline.classes_],
                "estimator": kind,
                "selection_macro_f1": selection,
                "calibration": getattr(pipeline[-1], "method", None),
            }
        self.classes_ = np.unique(y)
        return self

    def route(self, X: pl.DataFrame) -> np.ndarray:
        """The trained family each row of ``X`` is served by."""
        check_is_fitted(self, "pipelines_")
        available = list(self.pipelines_)
        keys = family_keys(X)
        served = {k: choose_family(k, available) for k in set(keys)}
        return np.array([served[k] for k in keys], dtype=object)

    def predict_proba(self, X: pl.DataFrame) -> np.ndarray:
        """Calibrated probabilities, columns = ``classes_`` (0 for a label a row's family never saw)."""
        route = self.route(X)
        inputs = X.drop([c for c in ROUTING if c in X.columns])
        proba = np.zeros((X.height, len(self.classes_)))
        for key in np.unique(route) if len(route) else []:
            rows = route == key
            pipeline = self.pipelines_[key]
            cols = np.searchsorted(self.classes_, pipeline.classes_.astype(str))
            proba[np.ix_(np.flatnonzero(rows), cols)] = predict_proba(
                pipeline, inputs.filter(pl.Series(rows)), mirrors(key)
            )
        return proba

    def good_thresholds(self, X: pl.DataFrame) -> np.ndarray:
        """The P(good) each row of ``X`` needs to be called good (`good_threshold`)."""
        own, route = family_keys(X), self.route(X)
        return np.array([good_threshold(self.good_at_least, k, s) for k, s in zip(own, route, strict=True)])

    def predict(self, X: pl.DataFrame) -> np.ndarray:
        """The label of each rep by `decide` (no `uncertain`: that is the caller's threshold)."""
        proba = self.predict_proba(X)
        return self.classes_[decide(proba, self.classes_, self.good_thresholds(X))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a frame of named rep columns, not a numeric array
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


__all__ = [
    "GOOD_AT_LEAST",
    "MIRRORED_MODALITIES",
    "ModelError",
    "RepClassifier",
    "build_pipeline",
    "decide",
    "fit_family",
    "good_threshold",
    "mirrors",
    "operating_point",
    "select_estimator",
]
