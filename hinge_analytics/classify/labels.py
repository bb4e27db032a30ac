"""A coach's labels file: ``recording_id, rep, label`` (rep empty, or ``all``, = every rep of the
recording)."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from hinge_analytics.classify.estimator import ModelError
from hinge_analytics.ingest.errors import BadRecording
from hinge_analytics.ingest.spreadsheet import read_sheet
from hinge_analytics.schema import REP_LABELS_FILE

MAX_LISTED_LABEL_ROWS = 5
EVERY_REP = ("all", "*", "every", "every rep", "all reps")


def read_labels_file(path: Path) -> pl.DataFrame:
    """``recording_id, rep, label`` (rep empty or ``all`` = every rep of the recording), one row per rep.

    A row repeated word for word is kept once, with a warning on the ``hinge_analytics`` logger
    (trained on twice, that rep would weigh double). Rows that give one rep (or one
    recording) different labels raise ModelError naming them: which label is meant is unknown.
    """
    try:
        sheet = read_sheet(path, f"The labels file {path}").table
    except BadRecording as exc:
        raise ModelError(str(exc)) from exc
    sheet = sheet.rename({c: c.strip().lower() for c in sheet.columns})
    missing = set(REP_LABELS_FILE) - set(sheet.columns)
    if missing:
        raise ModelError(f"The labels file {path} lacks column(s) {', '.join(sorted(missing))}.")
    # A rep left empty means every rep of the recording; coaches also write that as a word.
    every = pl.col("rep").str.strip_chars().str.to_lowercase().is_in(EVERY_REP)
    sheet = sheet.with_columns(rep=pl.when(every).then(None).otherwise(pl.col("rep")))
    try:
        labels = sheet.select(
            pl.col(c).str.strip_chars().replace("", None).cast(t) for c, t in REP_LABELS_FILE.items()
        )
    except pl.exceptions.InvalidOperationError as exc:
        raise ModelError(f"The labels file {path} has a rep that is not a whole number ({exc}).") from exc
    labels = (
        labels.with_row_index("line", offset=2)  # line 1 is the header
        .select("line", "recording_id", "rep", "label")
        .filter(pl.col("label").is_not_null())  # cells are stripped, and an empty one is null
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
