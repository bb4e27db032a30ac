"""Scoring found reps against simulated truth, shared by bench/accuracy.py and bench/randomised.py.

A recording file goes through ``hinge_analytics.pipeline.process_recording`` itself (read ->
``kinematics.angles_for`` -> ``reps.segmentation.segment_reps`` -> ``features.metrics.rep_metrics``,
with whatever checks the product makes on the way), so that a refusal is the product's own
``BadRecording`` and its reason; in-memory recordings (no file) take the same steps through
``process``. Found reps are paired with true reps by their bottoms (the found
rep whose bottom is nearest the true bottom, if it lies inside the true rep), and groups of
recordings are scored on: rep count exact and within +-1 (% of sets), median |boundary error|
(starts and ends, s), and the mean absolute error of the peak angles of paired reps (deg).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from hinge_analytics import pipeline
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.frames import RecordingRead
from hinge_analytics.ingest.manifest import ManifestRow
from hinge_analytics.pipeline import process_recording
from hinge_analytics.schema import IMU_FORMATS

PEAKS = (
    "peak_hip_flexion_deg",
    "peak_knee_flexion_left_deg",
    "peak_knee_flexion_right_deg",
    "peak_trunk_inclination_deg",
    # The spine's shape: IMUs on the spine, pose landmarks; null in truths that do not give them.
    "peak_lumbar_flexion_deg",
    "peak_thoracic_flexion_deg",
    "peak_upper_back_rounding_deg",
)
SHORT = {p: p.removeprefix("peak_").removesuffix("_deg").replace("_flexion", "").replace("_inclination", "")
         for p in PEAKS}  # fmt: skip
ALL = "ALL"


def process(read: RecordingRead, exercise: str | None, side: str | None) -> pl.DataFrame:
    """The reps and metrics process_recording derives, for a recording held in memory."""
    return pipeline.analyse(read, exercise, side).reps


def analyse(row: ManifestRow) -> tuple[str, pl.DataFrame, str | None]:
    """(format, reps, refusal) of one manifest row through ``process_recording``: the refusal is
    the reason of its BadRecording (null when the recording was analysed; a recording analysed
    without reps is not refused, it has no reps)."""
    try:
        processed = process_recording(row)
    except BadRecording as exc:
        return str(row.format), pl.DataFrame(), str(exc)
    return processed.fmt, processed.reps, None


def found_frame(recording_id: str, reps: pl.DataFrame, **attributes: object) -> pl.DataFrame:
    """A recording's found reps with its ``recording_id`` and attributes (exercise, format, ...);
    one row with a null ``rep`` when nothing was found, so that the set still counts."""
    if reps.height == 0:
        reps = pl.DataFrame({"rep": pl.Series([None], dtype=pl.Int32)})
    return reps.with_columns(
        recording_id=pl.lit(recording_id), **{k: pl.lit(v) for k, v in attributes.items()}
    )


def with_modality(found: pl.DataFrame) -> pl.DataFrame:
    return found.with_columns(
        modality=pl.when(pl.col("format").is_in(list(IMU_FORMATS)))
        .then(pl.lit("imu"))
        .otherwise(pl.lit("pose"))
    )


def match(found: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Pair each true rep with the found rep whose bottom is nearest (within the true rep)."""
    rows = []
    found = found.filter(pl.col("rep").is_not_null())
    by_rec = {k[0]: g for k, g in found.group_by("recording_id")}
    for rec, tr in truth.group_by("recording_id"):
        f = by_rec.get(rec[0])
        if f is None:
            continue
        fb = f["t_bottom_s"].to_numpy()
        for t in tr.iter_rows(named=True):
            k = int(np.argmin(np.abs(fb - t["t_bottom_s"])))
            if not t["t_start_s"] <= fb[k] <= t["t_end_s"]:
                continue
            r = f.row(k, named=True)
            rows.append(
                {
                    "recording_id": rec[0],
                    "rep": t["rep"],
                    "err_start": r["t_start_s"] - t["t_start_s"],
                    "err_end": r["t_end_s"] - t["t_end_s"],
                    **{p: r.get(p) for p in PEAKS},
                    **{f"{p}_true": t.get(p) for p in PEAKS},
                }
            )
    schema = {"recording_id": pl.String, "rep": pl.Int64, "err_start": pl.Float64, "err_end": pl.Float64}
    schema |= {p: pl.Float64 for p in PEAKS} | {f"{p}_true": pl.Float64 for p in PEAKS}
    return pl.DataFrame(rows, schema=schema)


def per_recording(found: pl.DataFrame, truth: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """One row per recording: the ``by`` attributes, reps found ``n``, true reps ``n_true`` and the
    refusal (null when the recording was analysed)."""
    if "refused" not in found.columns:
        found = found.with_columns(refused=pl.lit(None, dtype=pl.String))
    n_found = found.group_by("recording_id").agg(
        *[pl.col(k).first() for k in by], pl.col("refused").first(), n=pl.col("rep").drop_nulls().len()
    )
    n_true = truth.group_by("recording_id").agg(n_true=pl.len())
    return n_found.join(n_true, on="recording_id", how="left").with_columns(pl.col("n_true").fill_null(0))


def score(counts: pl.DataFrame, matched: pl.DataFrame) -> dict[str, float | int]:
    """The bench's numbers for one group of recordings (``per_recording`` rows, their ``match``)."""
    # Counts are unsigned (pl.len): subtracted as they are, one rep too few wraps to 2**32 - 1.
    diff = (counts["n"].cast(pl.Int64) - counts["n_true"].cast(pl.Int64)).abs()
    errors = pl.concat([matched["err_start"], matched["err_end"]]).abs()
    nan = float("nan")
    row: dict[str, float | int] = {
        "sets": counts.height,
        "refused": int(counts["refused"].is_not_null().sum()),
        "exact_pct": 100 * float((diff == 0).mean()),
        "within1_pct": 100 * float((diff <= 1).mean()),
        "boundary_err_s": float(errors.median()) if matched.height else nan,
        "start_err_s": float(matched["err_start"].abs().median()) if matched.height else nan,
        "end_err_s": float(matched["err_end"].abs().median()) if matched.height else nan,
        "start_bias_s": float(matched["err_start"].median()) if matched.height else nan,
    }
    for p in PEAKS:
        mae = (matched[p] - matched[f"{p}_true"]).abs().mean() if matched.height else None
        row[f"mae_{SHORT[p]}"] = nan if mae is None else float(mae)  # type: ignore[arg-type]
        # How many sets an MAE rests on: a spine angle of one exercise can come from a single set.
        both = matched.filter(pl.col(p).fill_nan(None).is_not_null() & pl.col(f"{p}_true").is_not_null())
        row[f"sets_{SHORT[p]}"] = both["recording_id"].n_unique() if both.height else 0
    # An MAE is over the reps whose angle was measured: say how many that is for the hinge angle (a
    # single-leg RDL's stance hip is not measured when the camera cannot see the stance leg).
    hip = "peak_hip_flexion_deg"
    known = matched.filter(pl.col(f"{hip}_true").is_not_null())
    measured = known[hip].fill_nan(None).is_not_null().mean() if known.height else None
    row["hip_measured_pct"] = nan if measured is None else 100 * float(measured)  # type: ignore[arg-type]
    return row


def summarise(
    found: pl.DataFrame, truth: pl.DataFrame, by: Sequence[str], totals_within: str | None = None
) -> pl.DataFrame:
    """Scores per combination of the ``by`` columns (sorted), then totals: one ``ALL`` row over
    everything, or one per value of ``totals_within`` (the other keys ``ALL``)."""
    by = list(by)
    counts = per_recording(found, truth, by)
    matched = match(found, truth).join(counts.select("recording_id", *by), on="recording_id")
    groups: list[tuple[tuple, pl.DataFrame, pl.DataFrame]] = []
    for key, c in sorted(counts.group_by(by), key=lambda kv: tuple(str(v) for v in kv[0])):
        m = matched.filter(pl.all_horizontal([pl.col(k).eq_missing(v) for k, v in zip(by, key, strict=True)]))
        groups.append((key, c, m))
    if totals_within is None:
        groups.append((tuple(ALL for _ in by), counts, matched))
    else:
        for value in sorted(set(counts[totals_within].to_list()), key=str):
            key = tuple(value if k == totals_within else ALL for k in by)
            groups.append(
                (
                    key,
                    counts.filter(pl.col(totals_within).eq_missing(value)),
                    matched.filter(pl.col(totals_within).eq_missing(value)),
                )
            )
    rows = [
        {**{k: (None if v is None else str(v)) for k, v in zip(by, key, strict=True)}, **score(c, m)}
        for key, c, m in groups
    ]
    return pl.DataFrame(rows)


def outlying_sets(
    found: pl.DataFrame, truth: pl.DataFrame, by: Sequence[str], over_deg: float = 12.0
) -> pl.DataFrame:
    """Recordings to look at one by one: a count off by two or more, or a peak angle whose mean
    error over the set's reps exceeds ``over_deg`` (its worst angle named). Most are the noise a
    randomised batch holds on purpose; read set by set, a few are faults the averages hide."""
    by = list(by)
    counts = per_recording(found, truth, by).with_columns(
        count_error=pl.col("n").cast(pl.Int64) - pl.col("n_true").cast(pl.Int64)
    )
    per_set = (
        match(found, truth)
        .group_by("recording_id")
        .agg([(pl.col(p) - pl.col(f"{p}_true")).abs().mean().alias(SHORT[p]) for p in PEAKS])
        .unpivot(index="recording_id", variable_name="worst_angle", value_name="worst_mae_deg")
        .drop_nulls("worst_mae_deg")
        .sort("worst_mae_deg", descending=True)
        .unique("recording_id", keep="first")
    )
    return (
        counts.join(per_set, on="recording_id", how="left")
        .filter((pl.col("count_error").abs() >= 2) | (pl.col("worst_mae_deg") > over_deg))
        .select("recording_id", *by, "n", "n_true", "count_error", "worst_angle", "worst_mae_deg", "refused")
        .sort("recording_id")
    )


def refusals(found: pl.DataFrame, by: Sequence[str] = ("format",)) -> pl.DataFrame:
    """Refused recordings counted by ``by`` and reason (digits masked so that similar reasons group)."""
    if "refused" not in found.columns:
        return pl.DataFrame()
    per = found.group_by("recording_id").agg(
        *[pl.col(k).first() for k in by], pl.col("refused").cast(pl.String).first()
    )
    return (
        per.filter(pl.col("refused").is_not_null())
        .with_columns(reason=pl.col("refused").str.replace_all(r"\d+(\.\d+)?", "#"))
        .group_by(*by, "reason")
        .agg(recordings=pl.len(), example=pl.col("recording_id").first())
        .sort([*by, "recordings"], descending=[False] * len(by) + [True])
    )


__all__ = [
    "PEAKS",
    "analyse",
    "found_frame",
    "match",
    "outlying_sets",
    "per_recording",
    "process",
    "refusals",
    "score",
    "summarise",
    "with_modality",
]
