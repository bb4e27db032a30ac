"""Training and its leave-athlete-out evaluation: labelled reps in, a fitted `RepClassifier` and
the figures of its model card out.

Per model family the estimator is chosen on folds grouped by athlete, then scored on other folds
grouped by athlete, with calibration fitted inside each training fold (leave-athlete-out). The
estimator is chosen once on the same athletes (Varma & Simon, BMC Bioinformatics 2006: selection
outside the loop biases the estimate upwards; small with three candidates, and stated on the card).
Training-set scores are never computed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from sklearn.metrics import classification_report, confusion_matrix, f1_score

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.classify.estimator import (
    CANDIDATES,
    GOOD,
    GOOD_AT_LEAST,
    GROUPS,
    MIN_OPERATING_REPS,
    TOO_FEW_REPS,
    UNCERTAIN_BELOW,
    ModelError,
    RepClassifier,
    calibrated_pipeline,
    decide,
    family_keys,
    family_plan,
    good_threshold,
    mirrors,
    oof_proba,
    operating_point,
    select_estimator,
)
from hinge_analytics.classify.explain import reference_profile
from hinge_analytics.classify.features import CURVE_FEATURES, choose_family, model_input, usable_features

OUTER_FOLDS = 5
PROTOCOL = (
    "leave-athlete-out: GroupKFold by athlete_id, calibration inside each training fold; estimator "
    "chosen beforehand by GroupKFold macro-F1 on the same athletes; the P(good) a good rep needs "
    "chosen on these out-of-fold probabilities"
)


def grouped_evaluation(
    X: pl.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    features: list[str],
    kind: str,
    seed=0,
    mirror: bool = False,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Leave-athlete-out out-of-fold calibrated probabilities of estimator ``kind``: calibration
    happens inside each outer training fold; ``mirror`` as the family predicts (`mirrors`);
    ``n_jobs`` folds at once. Returns (proba, classes)."""
    classes = np.unique(y)
    proba = oof_proba(
        lambda train: calibrated_pipeline(features, kind, seed, groups[train]),
        X,
        y,
        groups,
        OUTER_FOLDS,
        classes,
        mirror,
        n_jobs,
    )
    return proba, classes


def train_model(
    reps: pl.DataFrame,
    seed: int = 0,
    candidates: tuple[str, ...] = CANDIDATES,
    uncertain_below: float = UNCERTAIN_BELOW,
    n_jobs: int = 1,
) -> tuple[RepClassifier, dict]:
    """Fit a `RepClassifier` on labelled reps (``train_label``, ``family``: `jobs.train` reads
    them) and score it leave-athlete-out; returns the fitted model and its meta (model.json).

    Per family: estimator selection by athlete-grouped CV, leave-athlete-out evaluation, then a
    calibrated fit on every labelled rep of the family. A sensor set keeps its own model only
    where it beats its modality's pooled model on its reps. ``n_jobs``: selection and evaluation
    folds fitted at once (the result does not depend on it)."""
    if reps.height == 0:
        raise ModelError("No labelled reps: give a labels file (--labels) or a label column in the manifest.")
    if reps["train_label"].n_unique() < 2:
        raise ModelError("Training needs at least two different labels.")
    if reps[GROUPS].n_unique() < 2:
        raise ModelError("Leave-athlete-out evaluation needs labelled reps from at least 2 athletes.")
    X_all = model_input(reps)
    y_all = reps["train_label"].to_numpy().astype(str)
    groups_all = reps[GROUPS].to_numpy().astype(str)
    rows = family_plan(family_keys(X_all), y_all, groups_all)
    if not rows:
        raise ModelError(TOO_FEW_REPS)
    plan = {key: reps.filter(pl.Series(mask)) for key, mask in rows.items()}
    families, oof, kinds, good_at_least = {}, {}, {}, {}
    for key, part in plan.items():
        X, y, groups = X_all.filter(pl.Series(rows[key])), y_all[rows[key]], groups_all[rows[key]]
        features = usable_features(X)
        kind, selection = select_estimator(X, y, groups, features, candidates, seed, mirrors(key), n_jobs)
        proba, classes = grouped_evaluation(X, y, groups, features, kind, seed, mirrors(key), n_jobs)
        oof[key] = dict(zip(_rep_ids(part), zip(proba, [classes] * len(y), strict=True), strict=True))
        kinds[key] = kind
        good_at_least[key] = operating_point(y, proba, classes)
        ev = evaluate(y, proba, classes, groups, uncertain_below, good_at_least[key])
        families[key] = {
            "selection_macro_f1": selection,
            "good_at_least": good_at_least[key],
            "training_data": _data_summary(part, y),
            "evaluation": {"protocol": PROTOCOL, **ev},
            # cues speak of the per-rep metrics, not of points on a curve
            "explain": reference_profile(part, y, [f for f in features if f not in CURVE_FEATURES]),
        }
    _drop_families_the_pooled_model_beats(families, oof, plan, good_at_least)
    good_at_least = {key: good_at_least[key] for key in families}
    good_at_least |= _sensor_set_operating_points(reps, oof, list(families))
    model = RepClassifier(
        candidates=tuple(candidates),
        families=tuple(families),
        estimators={key: kinds[key] for key in families},
        seed=seed,
        good_at_least=good_at_least,
    ).fit(X_all, y_all)
    for key, info in model.family_info_.items():
        families[key] = {**info, **families[key]}  # the fit's facts, then the evaluation's
    available = list(model.pipelines_)
    meta = {
        "trained_at": dt.datetime.now(dt.UTC).isoformat(),
        "pipeline_version": PIPELINE_VERSION,
        "labels": sorted(set(y_all)),
        "uncertain_below": uncertain_below,
        "good_at_least": good_at_least,
        "candidates": list(candidates),
        "training_data": _data_summary(reps, y_all),
        "evaluation": _overall(reps, oof, available, uncertain_below, good_at_least),
        **{
            f"by_{name}": _breakdown(reps, column, oof, available, uncertain_below, good_at_least)
            for name, column in (("sensor_set", "family"), ("format", "format"), ("exercise", "exercise"))
        },
        "families": families,
    }
    return model, meta


def _drop_families_the_pooled_model_beats(
    families: dict, oof: dict, plan: dict, good_at_least: dict[str, float]
) -> None:
    """Keep a sensor set's own model only if, out of fold on that set's reps, it beats the pooled
    model of its modality (a small set can do worse than the pooled model on the same reps), which
    then serves them (`choose_family`)."""
    for key in [k for k in families if not k.endswith(":*")]:
        pooled = f"{key.partition(':')[0]}:*"
        if pooled not in oof:
            continue
        ids = _rep_ids(plan[key])
        hits = [oof[pooled].get(i) for i in ids]
        if any(h is None for h in hits):
            continue
        truth = plan[key]["train_label"].to_numpy().astype(str)
        predicted = np.array(
            [h[1][decide(h[0][None, :], h[1], good_at_least[pooled])[0]] for h in hits]
        ).astype(str)
        pooled_f1 = float(f1_score(truth, predicted, average="macro"))
        families[key]["pooled_model_macro_f1_on_these_reps"] = pooled_f1
        if pooled_f1 >= families[key]["evaluation"]["macro_f1"]:
            del families[key], oof[key]
            plan.pop(key)


def _sensor_set_operating_points(reps: pl.DataFrame, oof: dict, available: list[str]) -> dict[str, float]:
    """`operating_point` of each sensor set its modality's pooled model serves, on that set's
    out-of-fold reps, where they hold `MIN_OPERATING_REPS` good and faulty ones.

    One threshold for a pooled family balances its two errors over every sensor set at once, and
    sets differ: on the shipped model's training data the pooled IMU threshold left seven sensors
    at 95.0 % sensitivity and 98.1 % specificity, a lower back alone at 78.8 % and 46.0 %."""
    points = {}
    for (own,), part in reps.group_by("family"):
        served = choose_family(str(own), available)
        if served == own or served not in oof:
            continue
        hits = [oof[served].get(rid) for rid in _rep_ids(part)]
        truth = part["train_label"].to_numpy().astype(str)
        scored = np.array([h is not None for h in hits])
        faulty = truth[scored] != GOOD
        if min(faulty.sum(), (~faulty).sum()) < MIN_OPERATING_REPS:
            continue
        proba = np.vstack([h[0] for h in hits if h is not None])
        classes = next(h[1] for h in hits if h is not None)
        points[str(own)] = operating_point(truth[scored], proba, classes)
    return points


def _rep_ids(reps: pl.DataFrame) -> list[tuple[str, int]]:
    return list(zip(reps["recording_id"].to_list(), reps["rep"].to_list(), strict=True))


def _data_summary(reps: pl.DataFrame, y: np.ndarray) -> dict:
    labels, counts = np.unique(y, return_counts=True)
    athletes = reps["athlete_id"].to_numpy().astype(str)
    return {
        "reps": int(reps.height),
        "athletes": int(reps["athlete_id"].n_unique()),
        "recordings": int(reps["recording_id"].n_unique()),
        "exercises": sorted(reps["exercise"].unique().to_list()),
        "families": sorted(reps["family"].unique().to_list()),
        "label_counts": {str(k): int(v) for k, v in zip(labels, counts, strict=True)},
        # the athletes each label was seen on: the card says when they are too few to trust
        "label_athletes": {str(k): len(np.unique(athletes[y == k])) for k in labels},
    }


def _overall(
    reps: pl.DataFrame,
    oof: dict,
    available: list[str],
    threshold: float,
    good_at_least: dict[str, float],
    vocab: np.ndarray | None = None,
) -> dict:
    """Every labelled rep scored by the family `predict` would use for it, out of fold, at that
    family's ``good_at_least``. ``vocab``: every label any family predicts (defaults to the labels
    of ``reps``)."""
    if vocab is None:
        vocab = np.array(sorted(set(reps["train_label"].to_list())))
    truth, proba, groups, good, unscored = [], [], [], [], 0
    for rid, fam, label, athlete in zip(
        _rep_ids(reps), reps["family"], reps["train_label"], reps["athlete_id"], strict=True
    ):
        served = choose_family(fam, available)
        hit = oof.get(served, {}).get(rid)
        if hit is None:  # served by a model that never held it out (another modality's)
            unscored += 1
            continue
        p = np.zeros(len(vocab))
        p[np.searchsorted(vocab, hit[1])] = hit[0]
        truth.append(label)
        proba.append(p)
        groups.append(athlete)
        good.append(good_threshold(good_at_least, fam, served))
    ev = evaluate(np.array(truth), np.array(proba), vocab, np.array(groups), threshold, np.array(good))
    return {
        "protocol": "GroupKFold by athlete_id (leave-athlete-out); each rep scored by the family "
        "predict uses for it",
        **ev,
        "unscored_reps": unscored,
    }


def _breakdown(
    reps: pl.DataFrame,
    column: str,
    oof: dict,
    available: list[str],
    threshold: float,
    good_at_least: dict[str, float],
) -> dict:
    """Out-of-fold figures per value of ``column``: per sensor set (``family``: what a recording
    with these sensors gets, whichever model serves it, so fewer-sensor quality is on the card),
    per input ``format`` or per ``exercise``."""
    out = {}
    vocab = np.array(sorted(set(reps["train_label"].to_list())))
    reps = reps.with_columns(pl.col(column).cast(pl.String).fill_null("unknown"))
    for (value,), part in reps.sort(column).group_by(column, maintain_order=True):
        served_by = sorted({choose_family(f, available) for f in part["family"].unique().to_list()})
        if not any(rid in oof.get(f, {}) for f in served_by for rid in _rep_ids(part)):
            continue  # e.g. a sensor set too rare for any family that could serve it
        ev = _overall(part, oof, available, threshold, good_at_least, vocab)
        out[value] = {
            "model": ", ".join(served_by),
            **{k: ev[k] for k in ("n_reps", "n_athletes", "macro_f1", "sensitivity", "specificity")},
        }
    return out


def evaluate(
    truth: np.ndarray,
    proba: np.ndarray,
    classes: np.ndarray,
    groups: np.ndarray,
    threshold: float,
    good_at_least: float | np.ndarray = GOOD_AT_LEAST,
) -> dict:
    """Scores of out-of-fold probabilities labelled by `decide` at ``good_at_least``: per-class
    precision/recall, macro-F1, binary good-vs-mistake sensitivity/specificity, confusion matrix,
    calibration, effect of `uncertain` (below ``threshold``)."""
    truth = np.asarray(truth).astype(str)
    chosen = decide(proba, classes, good_at_least)
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
