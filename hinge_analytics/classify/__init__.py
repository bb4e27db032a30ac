"""Classify: train on coach-labelled reps, write a model card, label every rep in the lake.

A model is a folder: one scikit-learn Pipeline per model family (modality and sensor set, see
`features.family_key`) as a skops file, ``model.json`` with their SHA-256 digests and the
leave-athlete-out evaluation, and the model card (``MODEL_CARD.md`` + ``model_card.json``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from sklearn.metrics import f1_score

from hinge_analytics import PIPELINE_VERSION
from hinge_analytics.analytics import connect, frame, open_tables
from hinge_analytics.classify.card import write_card
from hinge_analytics.classify.explain import UNCERTAIN_CUE, explain, reference_profile
from hinge_analytics.classify.features import (
    CURVE_FEATURES,
    choose_family,
    family_key,
    modality_key,
    model_input,
    usable_features,
)
from hinge_analytics.classify.model import (
    CANDIDATES,
    GOOD_AT_LEAST,
    UNCERTAIN_BELOW,
    LoadedModel,
    ModelError,
    decide,
    evaluate,
    fit_family,
    grouped_evaluation,
    load_model,
    predict_proba,
    save_model,
    select_estimator,
    writing_model,
)
from hinge_analytics.features.curves import rep_curves
from hinge_analytics.lake import Lake
from hinge_analytics.pipeline import now_utc
from hinge_analytics.schema import CURVE_COLUMNS, EXERCISES, REP_LABELS_FILE, UNCERTAIN


def _default_model_dir() -> Path:
    """The shipped model's folder: package data in an installed wheel, ``models/default`` in the
    repository (a source tree or an editable install). pyproject.toml maps ``models/default`` to
    ``hinge_analytics/default_model`` in the wheel; the repository keeps the model at the top, next
    to its training script, so retraining writes a plain folder (docs/install.md)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "default_model"
    return installed if installed.is_dir() else package.parent / "models" / "default"


DEFAULT_MODEL_DIR = _default_model_dir()
MIN_FAMILY_REPS = 20
MIN_EXACT_REPS = 150  # a sensor set gets its own model from this many reps (and 3 athletes)

__all__ = [
    "train",
    "predict",
    "predict_labels",
    "reps_for_prediction",
    "labelled_reps",
    "load_model",
    "ModelError",
    "DEFAULT_MODEL_DIR",
]

_REP_COLUMNS = "v.* EXCLUDE (label, predicted_label, confidence, cue, model_version), c.sensors, c.format"


MAX_LISTED_LABEL_ROWS = 5


def read_labels_file(path: Path) -> pl.DataFrame:
    """``recording_id, rep, label`` (rep empty = every rep of the recording), one row per rep.

    A row repeated word for word is kept once, with a warning on the ``hinge_analytics`` logger
    (it used to be trained on twice, weighing that rep double). Rows that give one rep (or one
    recording) different labels raise ModelError naming them: which label is meant is unknown.
    """
    try:
        labels = pl.read_csv(path, schema_overrides=REP_LABELS_FILE)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ModelError(f"The labels file {path} is not a readable CSV ({exc}).") from exc
    missing = {"recording_id", "rep", "label"} - set(labels.columns)
    if missing:
        raise ModelError(f"The labels file {path} lacks column(s) {', '.join(sorted(missing))}.")
    labels = (
        labels.with_row_index("line", offset=2)  # line 1 is the header
        .select("line", "recording_id", "rep", pl.col("label").str.strip_chars())
        .filter(pl.col("label").is_not_null() & (pl.col("label") != ""))
    )
    groups = labels.group_by("recording_id", "rep", maintain_order=True).agg(
        pl.col("line"), pl.col("label"), labels=pl.col("label").n_unique()
    )
    conflicts = groups.filter(pl.col("labels") > 1)
    if conflicts.height:
        raise ModelError(
            f"The labels file {path} gives one rep different labels: {_label_rows(conflicts)}; keep one "
            "row per rep (or per recording, with rep empty)."
        )
    repeated = groups.filter(pl.col("line").list.len() > 1)
    if repeated.height:
        logging.getLogger("hinge_analytics").warning(
            "The labels file %s repeats %d row(s): %s; each is used once.",
            path,
            int((repeated["line"].list.len() - 1).sum()),
            _label_rows(repeated),
        )
    return labels.unique(["recording_id", "rep"], keep="first", maintain_order=True).drop("line")


def _label_rows(groups: pl.DataFrame) -> str:
    """The first few groups as "recording 'r1' rep 3 (lines 5: good, 9: squatting)"."""
    shown = []
    for rid, rep, lines, labels in (
        groups.select("recording_id", "rep", "line", "label").head(MAX_LISTED_LABEL_ROWS).iter_rows()
    ):
        which = "every rep" if rep is None else f"rep {rep}"
        pairs = ", ".join(f"{line}: {label}" for line, label in zip(lines, labels, strict=True))
        shown.append(f"recording {rid!r} {which} (lines {pairs})")
    more = groups.height - MAX_LISTED_LABEL_ROWS
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _with_family(reps: pl.DataFrame) -> pl.DataFrame:
    keys = [family_key(m, s) for m, s in zip(reps["modality"], reps["sensors"], strict=True)]
    return reps.with_columns(family=pl.Series(keys, dtype=pl.String))


def with_curves(con: duckdb.DuckDBPyConnection, reps: pl.DataFrame) -> pl.DataFrame:
    """``reps`` with the angle curves of each rep (``schema.CURVE_COLUMNS``) from the lake's
    ``rep_curves`` (``con``: `analytics.connect`); null where a rep has no angle frames.
    Recordings ingested before curves were stored get theirs from their frame angles here (same
    function as at ingest)."""
    reps = reps.drop([c for c in CURVE_COLUMNS if c in reps.columns])
    if reps.height == 0:
        return reps.with_columns([pl.lit(None, pl.Float32).alias(c) for c in CURVE_COLUMNS])
    ids = reps["recording_id"].unique().to_list()
    only = "WHERE recording_id IN (SELECT unnest(?::VARCHAR[]))"
    curves = frame(con, f"SELECT * EXCLUDE (ingest_id) FROM rep_curves {only}", [ids])
    older = sorted(set(ids) - set(curves["recording_id"].to_list()))
    if older:
        angles = frame(con, f"SELECT * FROM angles {only} ORDER BY recording_id, t_s", [older])
        spans = frame(con, f"SELECT recording_id, rep, t_start_s, t_end_s FROM reps {only}", [older])
        frames = angles.partition_by("recording_id", as_dict=True)
        curves = pl.concat(
            [curves]
            + [
                rep_curves(frames[(rid,)], part).select(pl.lit(rid).alias("recording_id"), pl.all())
                for (rid,), part in spans.partition_by("recording_id", as_dict=True).items()
                if (rid,) in frames  # a rep always has its recording's angles; never assume it
            ],
            how="vertical_relaxed",
        )
    curves = curves.with_columns(pl.col("rep").cast(reps.schema["rep"]))
    return reps.join(curves, on=["recording_id", "rep"], how="left")


def labelled_reps(lake: Lake, labels_file: Path | None = None, curves: bool = True) -> pl.DataFrame:
    """Every visible rep with its training label: per-rep labels file > per-recording labels
    file row > manifest label. Reps with no label are left out."""
    with connect(lake) as con:
        reps = frame(
            con,
            f"SELECT {_REP_COLUMNS}, c.label AS manifest_label "
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
        reps = reps.with_columns(train_label=pl.coalesce("rep_label", "recording_label", "manifest_label"))
        # in a fixed order: the lake's scan order varies, and the folds' forests and the estimator
        # chosen with them followed it (real squat set: macro-F1 0.65 or 0.83 from the same lake)
        reps = reps.filter(pl.col("train_label").is_not_null())
        reps = with_curves(con, reps) if curves else reps
        return _with_family(reps.sort("recording_id", "rep"))


def _family_plan(reps: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Which families to train: one pooled model per modality (``pose:*``, ``imu:*``; HGB and the
    imputers take the metrics a sensor set lacks as missing), plus a dedicated model for each IMU
    sensor set with enough data of its own."""
    plan = {}
    for (modality,), part in reps.group_by("modality"):
        if _trainable(part):
            plan[modality_key(modality)] = part
        if part["family"].n_unique() > 1:
            for (key,), fam in part.group_by("family"):
                if fam.height >= MIN_EXACT_REPS and fam["athlete_id"].n_unique() >= 3 and _trainable(fam):
                    plan[key] = fam
    return dict(sorted(plan.items()))


def _trainable(reps: pl.DataFrame) -> bool:
    return (
        reps.height >= MIN_FAMILY_REPS
        and reps["athlete_id"].n_unique() >= 2
        and reps["train_label"].n_unique() >= 2
    )


def train(
    lake: Lake,
    out_dir: Path,
    labels_file: Path | None = None,
    seed: int = 0,
    candidates: tuple[str, ...] = CANDIDATES,
    uncertain_below: float = UNCERTAIN_BELOW,
    notes: dict | None = None,
) -> dict:
    """Per model family: estimator selection by athlete-grouped CV, leave-athlete-out evaluation
    (calibration inside each fold), then a calibrated fit on every labelled rep; saves the model
    folder and card, returns the meta."""
    reps = labelled_reps(lake, labels_file)
    if reps.height == 0:
        raise ModelError("No labelled reps: give a labels file (--labels) or a label column in the manifest.")
    if reps["train_label"].n_unique() < 2:
        raise ModelError("Training needs at least two different labels.")
    if reps["athlete_id"].n_unique() < 2:
        raise ModelError("Leave-athlete-out evaluation needs labelled reps from at least 2 athletes.")
    plan = _family_plan(reps)
    if not plan:
        raise ModelError(f"Too few labelled reps to train (need {MIN_FAMILY_REPS} from at least 2 athletes).")
    pipelines, families, oof = {}, {}, {}
    for key, part in plan.items():
        features = usable_features(part)
        X = model_input(part)
        y = part["train_label"].to_numpy().astype(str)
        groups = part["athlete_id"].to_numpy().astype(str)
        kind, selection = select_estimator(X, y, groups, features, candidates, seed)
        proba, classes = grouped_evaluation(X, y, groups, features, kind, seed)
        oof[key] = dict(zip(_rep_ids(part), zip(proba, [classes] * len(y), strict=True), strict=True))
        pipeline = fit_family(X, y, groups, features, kind, seed)
        pipelines[key] = pipeline
        families[key] = {
            "features": features,
            "labels": [str(c) for c in pipeline.classes_],
            "estimator": kind,
            "selection_macro_f1": selection,
            "calibration": pipeline[-1].method if hasattr(pipeline[-1], "method") else None,
            "training_data": _data_summary(part, y),
            "evaluation": {
                "protocol": "leave-athlete-out: GroupKFold by athlete_id, calibration inside each "
                "training fold; estimator chosen beforehand by GroupKFold macro-F1 on the same athletes",
                **evaluate(y, proba, classes, groups, uncertain_below),
            },
            # cues speak of the per-rep metrics, not of points on a curve
            "explain": reference_profile(part, y, [f for f in features if f not in CURVE_FEATURES]),
        }
    _drop_families_the_pooled_model_beats(pipelines, families, oof, plan)
    y_all = reps["train_label"].to_numpy().astype(str)
    meta = {
        "trained_at": now_utc().isoformat(),
        "pipeline_version": PIPELINE_VERSION,
        "labels": sorted(set(y_all)),
        "uncertain_below": uncertain_below,
        "good_at_least": GOOD_AT_LEAST,
        "candidates": list(candidates),
        "training_data": {
            **_data_summary(reps, y_all),
            "labels_file": str(labels_file) if labels_file else None,
        },
        "evaluation": _overall(reps, oof, list(pipelines), uncertain_below),
        "by_sensor_set": _breakdown(reps, "family", oof, list(pipelines), uncertain_below),
        "by_format": _breakdown(reps, "format", oof, list(pipelines), uncertain_below),
        "by_exercise": _breakdown(reps, "exercise", oof, list(pipelines), uncertain_below),
        "families": families,
        **({"notes": notes} if notes else {}),
    }
    with writing_model(out_dir) as staging:  # the previous model stays until this one is complete
        meta = save_model(pipelines, staging, meta)
        write_card(staging, meta)
    return meta


def _drop_families_the_pooled_model_beats(pipelines: dict, families: dict, oof: dict, plan: dict) -> None:
    """Keep a sensor set's own model only if, out of fold on that set's reps, it beats the pooled
    model of its modality (a small set can do worse than the pooled model on the same reps)."""
    for key in [k for k in families if not k.endswith(":*")]:
        pooled = f"{key.partition(':')[0]}:*"
        if pooled not in oof:
            continue
        ids = _rep_ids(plan[key])
        hits = [oof[pooled].get(i) for i in ids]
        if any(h is None for h in hits):
            continue
        truth = plan[key]["train_label"].to_numpy().astype(str)
        predicted = np.array([h[1][decide(h[0][None, :], h[1])[0]] for h in hits]).astype(str)
        pooled_f1 = float(f1_score(truth, predicted, average="macro"))
        families[key]["pooled_model_macro_f1_on_these_reps"] = pooled_f1
        if pooled_f1 >= families[key]["evaluation"]["macro_f1"]:
            del pipelines[key], families[key], oof[key]
            plan.pop(key)


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
    reps: pl.DataFrame, oof: dict, available: list[str], threshold: float, vocab: np.ndarray | None = None
) -> dict:
    """Every labelled rep scored by the family `predict` would use for it, out of fold. ``vocab``:
    every label any family predicts (defaults to the labels of ``reps``)."""
    if vocab is None:
        vocab = np.array(sorted(set(reps["train_label"].to_list())))
    truth, proba, groups = [], [], []
    for rid, fam, label, athlete in zip(
        _rep_ids(reps), reps["family"], reps["train_label"], reps["athlete_id"], strict=True
    ):
        hit = oof.get(choose_family(fam, available), {}).get(rid)
        if hit is None:
            continue
        p = np.zeros(len(vocab))
        p[np.searchsorted(vocab, hit[1])] = hit[0]
        truth.append(label)
        proba.append(p)
        groups.append(athlete)
    ev = evaluate(np.array(truth), np.array(proba), vocab, np.array(groups), threshold)
    return {
        "protocol": "GroupKFold by athlete_id (leave-athlete-out); each rep scored by the family "
        "predict uses for it",
        **ev,
    }


def _breakdown(reps: pl.DataFrame, column: str, oof: dict, available: list[str], threshold: float) -> dict:
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
        ev = _overall(part, oof, available, threshold, vocab)
        out[value] = {
            "model": ", ".join(served_by),
            **{k: ev[k] for k in ("n_reps", "n_athletes", "macro_f1", "sensitivity", "specificity")},
        }
    return out


PREDICT_BATCH_REPS = 5_000  # reps (with their session context) per prediction batch: bounded memory
_SESSION_KEY = "athlete_id || chr(31) || CAST(session_date AS VARCHAR)"


def _label_filter(all_reps: bool) -> str:
    return "TRUE" if all_reps else "label IS NULL"


def prediction_batches(
    con: duckdb.DuckDBPyConnection, all_reps: bool, max_reps: int = PREDICT_BATCH_REPS
) -> list[list[str]]:
    """Athlete-days with reps to label, packed into batches of about ``max_reps`` reps (counting
    the day's other reps, which are context); each batch is the recording_ids of its days, which
    hold everything it reads: predict streams through the lake batch by batch."""
    # From recordings and prediction counts, not rep by rep: a recording's n_reps are its visible
    # reps, and the predictions view holds at most one per rep of the current ingest.
    todo = "TRUE" if all_reps else "bool_or(unlabelled > 0)"
    days = frame(
        con,
        f"""
        WITH per_recording AS (
            SELECT recording_id, {_SESSION_KEY} AS day, n_reps, n_reps - count(p.rep) AS unlabelled
            FROM recordings LEFT JOIN predictions p USING (recording_id)
            GROUP BY recording_id, day, n_reps
        )
        SELECT day, sum(n_reps)::BIGINT AS n, list(recording_id) AS ids FROM per_recording
        GROUP BY day HAVING {todo} ORDER BY day
        """,
    )
    batches: list[list[str]] = []
    size = max_reps
    for _, n, ids in days.iter_rows():
        if size + n > max_reps and size > 0:
            batches.append([])
            size = 0
        batches[-1].extend(ids)
        size += n
    return batches


def reps_for_prediction(con: duckdb.DuckDBPyConnection, all_reps: bool) -> pl.DataFrame:
    """Reps to label plus every rep of the same athlete/day/exercise (context for the
    session-relative features); ``to_label`` marks the former. A connection scoped to a batch's
    recordings (`prediction_batches`) limits it to that batch."""
    where = _label_filter(all_reps)
    reps = frame(
        con,
        f"""
        WITH todo AS (SELECT DISTINCT athlete_id, session_date, exercise FROM rep_view WHERE {where})
        SELECT {_REP_COLUMNS}, ({where.replace("label", "v.label")}) AS to_label
        FROM rep_view v JOIN todo USING (athlete_id, session_date, exercise)
        JOIN recordings c USING (recording_id)
        """,
    )
    return with_curves(con, reps)


# SPEC.md "Exercise vocabulary": a lift outside the six hinge exercises gets labels only from a model
# trained on it (`uncertain` otherwise, never a guess from the hinge model).
UNTRAINED_CUE = (
    "This model has not learned {exercise} reps; label some and run `hinge train` to get feedback on them."
)


def trained_exercises(model: LoadedModel, family: str) -> set[str] | None:
    """The exercises a model family was trained on (None: a model that did not record them)."""
    summary = model.meta["families"][family].get("training_data") or model.meta.get("training_data") or {}
    exercises = summary.get("exercises")
    return None if exercises is None else set(exercises)


def predict_labels(
    model: LoadedModel, reps: pl.DataFrame, uncertain_below: float | None = None
) -> pl.DataFrame:
    """label (or ``uncertain``), predicted_label, confidence and cue for every row of ``reps``
    (rows of the same athlete/day/exercise are context for each other), in input order."""
    threshold = model.uncertain_below if uncertain_below is None else uncertain_below
    reps = _with_family(reps).with_row_index("_row")
    available = list(model.pipelines)
    reps = reps.with_columns(
        _use=pl.col("family").map_elements(lambda k: choose_family(k, available), return_dtype=pl.String)
    )
    parts = []
    for (key,), part in reps.group_by("_use"):
        pipeline = model.pipelines[key]
        proba = predict_proba(pipeline, model_input(part))
        classes = pipeline.classes_.astype(str)
        best = decide(proba, classes, model.good_at_least)
        predicted, confidence = classes[best], proba[np.arange(len(best)), best]
        profile = model.meta["families"][key].get("explain", {"exercises": {}})
        trained = trained_exercises(model, key)
        label, cue = [], []
        for row, p, c in zip(part.iter_rows(named=True), predicted, confidence, strict=True):
            known = trained is None or row["exercise"] in trained or row["exercise"] in EXERCISES
            sure = known and c >= threshold
            label.append(p if sure else UNCERTAIN)
            if sure:
                cue.append(explain(profile, row["exercise"], p, row))
            elif known:
                cue.append(UNCERTAIN_CUE.format(label=p.replace("_", " "), p=c))
            else:
                cue.append(UNTRAINED_CUE.format(exercise=str(row["exercise"]).replace("_", " ")))
        parts.append(
            pl.DataFrame(
                {
                    "_row": part["_row"],
                    "label": label,
                    "predicted_label": predicted.tolist(),
                    "confidence": confidence.astype(float),
                    "cue": cue,
                },
                schema_overrides={"_row": pl.UInt32},
            )
        )
    out = pl.concat(parts).sort("_row") if parts else None
    if out is None:
        return pl.DataFrame(
            schema={
                "label": pl.String,
                "predicted_label": pl.String,
                "confidence": pl.Float64,
                "cue": pl.String,
            }
        )
    return out.drop("_row")


def predict(
    lake: Lake,
    model: LoadedModel,
    all_reps: bool = False,
    uncertain_below: float | None = None,
    batch_reps: int = PREDICT_BATCH_REPS,
) -> int:
    """Label reps that have no prediction for their current ingest (or every rep); returns count.
    Each row carries the model's version; reps whose calibrated probability is below the
    threshold (the model's own unless ``uncertain_below`` is given) get ``uncertain``. Works through
    the lake in batches of about ``batch_reps`` reps, so memory does not grow with the lake."""
    labelled = 0
    # A connection per batch: one kept open for all batches held on to what each batch read (+141
    # MB at 10,000 recordings). Each is scoped to the batch's recordings, so its joins see the
    # batch's rows rather than the lake's, and reads only the row groups holding them: predict over
    # 10,000 recordings 14.5 -> 13.1 s, peak RSS 775-802 -> 670 MB (537 MB at 1,000). Batches are
    # disjoint athlete-days, fixed before the first commits, so they can all read the tables opened
    # once here (a batch's own predictions are written after it has read): 3.3 -> 2.8 s at 3,000.
    tables = open_tables(lake)
    with connect(lake, tables=tables) as con:
        batches = prediction_batches(con, all_reps, batch_reps)
    for recording_ids in batches:
        with connect(lake, recording_ids, tables) as con:
            reps = reps_for_prediction(con, all_reps)
        labelled += _predict_batch(lake, model, reps, uncertain_below)
    return labelled


def _predict_batch(lake: Lake, model: LoadedModel, reps: pl.DataFrame, uncertain_below: float | None) -> int:
    """Label one batch's reps (``to_label``) and commit them; returns how many."""
    if reps.height == 0:
        return 0
    labels = predict_labels(model, reps, uncertain_below)
    rows = (
        reps.select("recording_id", "rep", "ingest_id", "to_label")
        .hstack(labels)
        .filter(pl.col("to_label"))
        .drop("to_label")
        .with_columns(model_version=pl.lit(model.version), predicted_at=pl.lit(now_utc()))
    )
    if rows.height:
        # one commit per batch: a stopped run keeps what it labelled, a rerun does the rest
        lake.replace_recordings("predictions", rows, rows["recording_id"].unique().to_list())
    return rows.height
