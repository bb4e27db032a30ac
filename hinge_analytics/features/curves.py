"""Per-rep angle curves (schema.REP_CURVES): each rep's angles averaged in ``CURVE_POINTS`` equal
slices of its own time, start to end, so the shape of the movement reaches the classifier (where in
the rep the back rounds: lumbar flexion vs upper-back rounding), not only its peaks.

Slice ``i`` holds the frames with ``i <= CURVE_POINTS (t - t_start) / (t_end - t_start) < i + 1``
(the frame at ``t_end`` goes to the last slice) -- time normalisation as in gait analysis, where
cycles are compared at 0-100 % of their duration (Winter, Biomechanics and Motor Control of Human
Movement, 4th ed., 2009, ch. 1). Computed at ingest from the same float32 angles the lake stores, so
prediction never has to read the frame-level ``angles`` table.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from hinge_analytics.schema import ANGLES, CURVE_ANGLES, CURVE_POINTS, REP_CURVES

# Curve name (schema.CURVE_ANGLES) -> the angle it follows; a side-less angle is the mean of both
# sides, null where either side is missing (unilateral work is seen through the stance leg's metrics).
CURVE_SOURCES: dict[str, pl.Expr] = {
    "trunk": pl.col("trunk_inclination_deg"),
    "upper_back": pl.col("upper_back_rounding_deg"),
    "hip": (pl.col("hip_flexion_left_deg") + pl.col("hip_flexion_right_deg")) / 2,
    "knee": (pl.col("knee_flexion_left_deg") + pl.col("knee_flexion_right_deg")) / 2,
    "lumbar": pl.col("lumbar_flexion_deg"),
    "thoracic": pl.col("thoracic_flexion_deg"),
}
assert tuple(CURVE_SOURCES) == CURVE_ANGLES


def rep_curves(angles: pl.DataFrame, reps: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """One row per rep of ``reps`` (``rep, t_start_s, t_end_s``) with its ``CURVE_COLUMNS`` from
    the frame ``angles``; ``by`` are key columns both share when they hold several recordings.
    A slice without frames, or without the angle, is null."""
    by = list(by)
    n = CURVE_POINTS
    needed = {c for source in CURVE_SOURCES.values() for c in source.meta.root_names()}
    angles = angles.with_columns(
        [pl.lit(None, ANGLES[c]).alias(c) for c in sorted(needed) if c not in angles.columns]
    ).with_columns([pl.col(c).cast(ANGLES[c]) for c in sorted(needed)])  # the precision the lake stores
    frames = angles.select(*by, "t_s", *[e.cast(pl.Float64).alias(k) for k, e in CURVE_SOURCES.items()])
    spans = reps.select(*by, "rep", "t_start_s", "t_end_s")
    joined = frames.join(spans, on=by) if by else frames.join(spans, how="cross")
    start, end = pl.col("t_start_s"), pl.col("t_end_s")
    in_rep = joined.filter(pl.col("t_s").is_between(start, end)).with_columns(
        slice=(n * (pl.col("t_s") - start) / (end - start)).floor().clip(0, n - 1)
    )
    curves = in_rep.group_by(*by, "rep").agg(
        pl.col(name).filter(pl.col("slice") == i).mean().alias(f"curve_{name}_{i:02d}")
        for name in CURVE_ANGLES
        for i in range(n)
    )
    keys = spans.select(*by, pl.col("rep").cast(REP_CURVES["rep"]))
    curves = curves.with_columns(pl.col("rep").cast(REP_CURVES["rep"]))
    return keys.join(curves, on=[*by, "rep"], how="left").select(
        *by, "rep", *[pl.col(c).cast(REP_CURVES[c]) for c in REP_CURVES if c.startswith("curve_")]
    )
