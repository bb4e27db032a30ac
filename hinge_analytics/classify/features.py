"""Classifier inputs: per-rep metrics, resampled angle curves, session-relative features and the
model family of a rep.

Every numeric column of ``schema.REP_METRIC_COLUMNS`` is a candidate feature, so a metric added
to the schema flows into the next trained model without a change here; a metric a recording's
sensors cannot give is null, and a model family only uses the metrics its data actually has.

Angle curves (``schema.CURVE_COLUMNS``, computed at ingest by ``features.curves``) give the shape of the rep:
on simulated data (10 athletes, leave-athlete-out, random forest) they raised pose macro-F1 from
0.80 to 0.86 (good-vs-mistake specificity 0.83 -> 0.95; most of the gain in good vs
hyperextension and lumbar flexion vs rounded back) and all-seven-IMU macro-F1 from 0.79 to 0.80.
The same curves relative to the standing posture around each rep (``schema.STANDING_CURVE_COLUMNS``,
``features.curves.curves_from_standing``) are derived here from the stored ones, for models trained
since (older models select their columns by name and never see them).

Session-relative features (`SessionRelative`) subtract, from each metric, the median of that
metric over the athlete's reps of the same exercise on the same day. They remove what is
constant for an athlete (segment lengths, habitual depth, sensor mounting) and keep what
changes from rep to rep. They use no label, so they are computed the same way at predict time.

Exercise-referenced features (`ExerciseReference`) read each metric in the spread of its exercise
over the training reps, so that one threshold can describe a fault in every lift.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin

from hinge_analytics.features.curves import curves_from_standing
from hinge_analytics.numeric import nanmedian
from hinge_analytics.schema import (
    CURVE_COLUMNS,
    OFF_BODY_PLACEMENTS,
    REP_METRIC_COLUMNS,
    STANDING_CURVE_COLUMNS,
    STANDING_LOCKOUT_COLUMNS,
)

# Columns that identify the context a rep was recorded in (used by SessionRelative, then dropped).
CONTEXT: tuple[str, ...] = ("athlete_id", "session_date", "exercise")
CATEGORICAL: tuple[str, ...] = ("exercise",)
STANCE = "side"  # the manifest's stance leg of unilateral work (used by StanceFirst, then dropped)
# Columns that say which model family serves a rep (`RepClassifier` routes on them, then drops them).
ROUTING: tuple[str, ...] = ("modality", "sensors")
# Data quality and timing describe the recording, not the form of the rep.
NOT_FEATURES: frozenset[str] = frozenset({"low_confidence_fraction"})
RELATIVE_PREFIX = "rel_"
EXERCISE_PREFIX = "ex_"
# Metrics already measured against the athlete's own quiet standing: a session-relative-only model
# keeps them as they are, since subtracting the set's median would hide a fault every rep has.
SELF_REFERENCED: frozenset[str] = frozenset(STANDING_LOCKOUT_COLUMNS)
# Points on a curve: classifier inputs, but not what a coaching cue speaks of.
CURVE_FEATURES: frozenset[str] = frozenset(CURVE_COLUMNS + STANDING_CURVE_COLUMNS)


def candidate_features() -> list[str]:
    """Every per-rep metric of the schema the classifier may use (read at call time), then the
    resampled angle curves, stored and relative to standing."""
    return (
        [c for c in REP_METRIC_COLUMNS if c not in NOT_FEATURES]
        + list(CURVE_COLUMNS)
        + list(STANDING_CURVE_COLUMNS)
    )


def with_derived(reps: pl.DataFrame) -> pl.DataFrame:
    """``reps`` with the features derived from its stored columns (the curves relative to standing),
    unless it has them already."""
    if all(c in reps.columns for c in STANDING_CURVE_COLUMNS):
        return reps
    return reps.drop([c for c in STANDING_CURVE_COLUMNS if c in reps.columns]).hstack(
        curves_from_standing(reps)
    )


def usable_features(reps: pl.DataFrame, min_fraction: float = 0.05) -> list[str]:
    """Metrics measured on at least ``min_fraction`` of ``reps`` (pose has no lumbar flexion,
    a thigh-only IMU set has no trunk angle)."""
    reps = with_derived(reps)
    out = []
    for c in candidate_features():
        if c in reps.columns:
            values = reps[c].cast(pl.Float64).fill_nan(None)
            if len(values) and 1 - values.null_count() / len(values) >= min_fraction:
                out.append(c)
    return out


def model_input(reps: pl.DataFrame) -> pl.DataFrame:
    """The frame `RepClassifier` takes: context and routing columns plus every candidate metric
    (NaN where missing; scikit-learn selects the columns by name)."""
    metrics = candidate_features()
    reps = with_derived(reps)
    missing = [c for c in (*CONTEXT, STANCE, *ROUTING, *metrics) if c not in reps.columns]
    reps = reps.with_columns([pl.lit(None).alias(c) for c in missing])
    frame = reps.select(
        [pl.col(c).cast(pl.String).fill_null("") for c in (*CONTEXT, STANCE, *ROUTING)]
        + [pl.col(c).cast(pl.Float64).fill_nan(None) for c in metrics]
    )
    return frame.with_columns([pl.col(c).fill_null(np.nan) for c in metrics])


def swap_sides(X: pl.DataFrame, rows: pl.Expr, columns: list[str] | None = None) -> pl.DataFrame:
    """``X`` with, on the rows where ``rows`` holds, every ``*_left*``/``*_right*`` pair of
    ``columns`` (default: all of X's) swapped and every symmetry index (``si_*``, (L - R) / mean)
    negated: the same rep seen with its sides exchanged."""
    present = set(X.columns if columns is None else columns) & set(X.columns)
    swaps = []
    for left in present:
        right = left.replace("_left", "_right")
        if "_left" in left and right in present:
            swaps.append(pl.when(rows).then(pl.col(right)).otherwise(pl.col(left)).alias(left))
            swaps.append(pl.when(rows).then(pl.col(left)).otherwise(pl.col(right)).alias(right))
        elif left.startswith("si_"):
            swaps.append(pl.when(rows).then(-pl.col(left)).otherwise(pl.col(left)).alias(left))
    return X.with_columns(swaps) if swaps else X


def mirrored(X: pl.DataFrame) -> pl.DataFrame:
    """Model input rows (`model_input`) as their mirror image: left and right exchanged on
    bilateral lifts (empty ``side``). A mirrored video of a lift shows the same form, and a side
    view sees whichever leg faces the camera; unilateral rows keep their stance leg."""
    if STANCE not in X.columns:
        return swap_sides(X, pl.lit(True))
    return swap_sides(X, pl.col(STANCE) == "")


class StanceFirst(TransformerMixin, BaseEstimator):
    """Re-express left/right metrics of unilateral work as stance/free leg.

    On rows whose ``side`` (the stance leg, SPEC.md) is ``right``, every ``*_left*``/``*_right*``
    metric pair is swapped and every symmetry index (``si_*``) negated (`swap_sides`), so for
    unilateral work the ``left`` columns hold the stance leg and a single-leg RDL on either leg
    looks the same to the model. Bilateral rows (empty side) and left-stance rows are untouched.
    Stateless.
    """

    def __init__(self, columns: list[str] | None = None):
        self.columns = columns

    def fit(self, X: pl.DataFrame, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pl.DataFrame) -> pl.DataFrame:
        if STANCE not in X.columns:
            return X
        return swap_sides(X, pl.col(STANCE) == "right", list(self.columns or []))

    def get_feature_names_out(self, input_features=None):
        return np.asarray(list(input_features) if input_features is not None else [], dtype=object)


class SessionRelative(TransformerMixin, BaseEstimator):
    """Append ``rel_<metric>`` = metric minus its median over the rows sharing ``group_by``, with
    ``scale`` divided by the metric's standard deviation over those rows.

    Parameters
    ----------
    columns : list of str
        Metric columns to make relative.
    group_by : tuple of str
        Context columns defining a group (default: athlete, session date, exercise).
    min_group : int
        Groups with fewer rows get NaN (a median of one or two reps says nothing).
    scale : bool
        Standardise within the group as well (per-subject z-scores, the usual normalisation of
        cross-subject activity recognition). A deviation then reads in the group's own spread:
        how far a rep stands out of the athlete's session, whether the athlete moves 5 deg or 15
        from rep to rep, or the estimator jitters more. A group whose values are all equal gets 0.

    Unsupervised and stateless: ``fit`` learns nothing, so the transform is identical on
    training folds, held-out athletes and new recordings.
    """

    def __init__(
        self,
        columns: list[str] | None = None,
        group_by: tuple[str, ...] = CONTEXT,
        min_group: int = 3,
        scale: bool = False,
    ):
        self.columns = columns
        self.group_by = group_by
        self.min_group = min_group
        self.scale = scale

    def fit(self, X: pl.DataFrame, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pl.DataFrame) -> pl.DataFrame:
        keys = list(self.group_by)
        big_enough = pl.len().over(keys) >= self.min_group
        # A model file written before ``scale`` existed unpickles without it: it was unscaled.
        scale = getattr(self, "scale", False)
        relative = []
        for c in self.columns or []:
            value = pl.col(c).fill_nan(None)
            deviation = value - value.median().over(keys)
            if scale:
                spread = value.std().over(keys)
                deviation = pl.when(spread > 0).then(deviation / spread).otherwise(deviation * 0.0)
            relative.append(
                pl.when(big_enough).then(deviation).otherwise(None).fill_null(np.nan).alias(f"{RELATIVE_PREFIX}{c}")
            )
        return X.with_columns(relative)

    def get_feature_names_out(self, input_features=None):
        names = list(input_features) if input_features is not None else []
        return np.asarray(names + [f"{RELATIVE_PREFIX}{c}" for c in self.columns or []], dtype=object)


class ExerciseReference(TransformerMixin, BaseEstimator):
    """Append ``ex_<metric>`` = (metric - its median) / its robust spread over the training reps of
    the same exercise: how far a rep stands from the usual rep of its lift, in that lift's units.

    One fault moves a metric by different amounts in different lifts (the thigh barely turns in a
    good morning but a lot in a deadlift), so in absolute degrees a tree needs a split per exercise
    and learns each from that exercise's few faulty reps; in the lift's own spread one split can
    serve them all, learnt from every lift's examples. The reference is learnt without labels
    (medians and 1.4826 * MAD, Rousseeuw & Croux, JASA 1993), so a coach's vocabulary without a
    ``good`` label works the same; an exercise with fewer than ``min_reps`` values of a metric, or
    not seen in training, takes the pooled reference.
    """

    def __init__(self, columns: list[str] | None = None, min_reps: int = 20):
        self.columns = columns
        self.min_reps = min_reps

    def fit(self, X: pl.DataFrame, y=None):
        columns = list(self.columns or [])
        values, exercises = _by_exercise(X, columns)
        pooled = _robust_reference(values, self.min_reps)
        self.exercises_ = sorted(set(exercises.tolist()))
        self.centre_ = np.empty((len(self.exercises_), len(columns)))
        self.spread_ = np.empty((len(self.exercises_), len(columns)))
        for i, exercise in enumerate(self.exercises_):
            own = _robust_reference(values[exercises == exercise], self.min_reps)
            known = np.isfinite(own[0]) & np.isfinite(own[1])
            self.centre_[i] = np.where(known, own[0], pooled[0])
            self.spread_[i] = np.where(known, own[1], pooled[1])
        self.pooled_ = np.vstack(pooled)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pl.DataFrame) -> pl.DataFrame:
        columns = list(self.columns or [])
        if not columns:
            return X
        values, exercises = _by_exercise(X, columns)
        centre = np.tile(self.pooled_[0], (len(X), 1))
        spread = np.tile(self.pooled_[1], (len(X), 1))
        for i, exercise in enumerate(self.exercises_):
            rows = exercises == exercise
            centre[rows], spread[rows] = self.centre_[i], self.spread_[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            scaled = (values - centre) / spread
        return X.with_columns(
            [pl.Series(f"{EXERCISE_PREFIX}{c}", scaled[:, k]) for k, c in enumerate(columns)]
        )

    def get_feature_names_out(self, input_features=None):
        names = list(input_features) if input_features is not None else []
        return np.asarray(names + [f"{EXERCISE_PREFIX}{c}" for c in self.columns or []], dtype=object)


def _by_exercise(X: pl.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``columns`` of ``X`` as floats (NaN where missing) and each row's exercise ("" when unknown)."""
    values = X.select([pl.col(c).cast(pl.Float64).fill_nan(None) for c in columns]).to_numpy()
    return values, X["exercise"].cast(pl.String).fill_null("").to_numpy()


def _robust_reference(values: np.ndarray, min_reps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column: median and 1.4826 * MAD of the finite values (NaN with fewer than ``min_reps``;
    a spread of 0, a metric constant in these reps, becomes NaN so that it gives no feature)."""
    centre = np.full(values.shape[1], np.nan)
    spread = np.full(values.shape[1], np.nan)
    enough = np.isfinite(values).sum(axis=0) >= min_reps
    if enough.any():
        centre[enough] = nanmedian(values[:, enough], axis=0)  # NaN: no value inside one exercise
        mad = 1.4826 * nanmedian(np.abs(values[:, enough] - centre[enough]), axis=0)
        spread[enough] = np.where(mad > 0, mad, np.nan)
    return centre, spread


# ----------------------------------------------------------------------------- model families
def family_key(modality: str | None, sensors: str | None) -> str:
    """``pose:*`` (every pose source gives the same angles: one family), or an IMU recording's body
    sensors ``imu:lower_back+sacrum+upper_back`` (placements sorted). A sensor off the body (bar,
    bell, wrist) gives reps and their timing but no body angle, so beside body sensors it does not
    make a family of its own; without any, the load sensors are the family (``imu:bar``)."""
    modality = (modality or "unknown").strip() or "unknown"
    if modality != "imu":
        return modality_key(modality)
    named = [p for p in (p.strip() for p in (sensors or "").split(",")) if p]
    parts = sorted([p for p in named if p not in OFF_BODY_PLACEMENTS] or named)
    return f"{modality}:{'+'.join(parts) if parts else 'any'}"


def modality_key(modality: str | None) -> str:
    """The family that pools every sensor set of one modality (``imu:*``)."""
    return f"{(modality or 'unknown').strip() or 'unknown'}:*"


def split_key(key: str) -> tuple[str, set[str] | None]:
    modality, _, sensors = key.partition(":")
    if sensors in ("*", "any"):
        return modality, None
    return modality, set(sensors.split("+"))


def choose_family(key: str, available: list[str]) -> str:
    """The trained family to use for a rep of family ``key``: its own sensor set's, else its
    modality's pooled model (else any model).

    Not the model of a smaller set inside the recording's: that model ignores the extra sensors and
    never saw a recording with them, while the pooled model saw every sensor set. On development
    seeds 13 and 21 (773 IMU reps whose set held a trained smaller set), the shipped model's
    macro-F1 there was 0.25 and 0.30 by the smaller set's model, 0.62 and 0.67 by the pooled one
    (docs/validation-2026-12-06.md)."""
    if key in available:
        return key
    pooled = modality_key(key.partition(":")[0])
    if pooled in available:
        return pooled
    return available[0]
