"""Analytics: DuckDB SQL over the lake's Delta tables, scanned as Arrow datasets (no copy).

All SQL lives in ``views.sql``; user values only ever reach it as bound parameters (``?``).

Views (``hinge query`` sees them all): ``recordings``, ``reps``, ``angles``, ``rep_curves``,
``video_landmarks`` (the pose estimator's output for videos), ``predictions``, ``quarantine``,
``rep_view`` (one row per rep with metadata, label, cue and ``set_third``),
``set_view`` (one row per set), ``session_labels`` (rep counts per label), ``sessions`` (athlete x
session x exercise), ``weekly`` (athlete x exercise x ISO week) and the table macro
``athlete_flags(since, athlete)``.

Flag rules
----------
Asymmetry (per metric: knee flexion, hip flexion, ankle dorsiflexion; per athlete x session x
exercise). L and R are the session means of each rep's peak angle; for unilateral sets (``side``
given) L comes from the left-stance sets' left leg and R from the right-stance sets' right leg.
SI = 100 (L - R) / (0.5 (L + R)) (SPEC.md; positive = left larger). A metric is flagged when
``|SI| > 10 %`` **and** ``|L - R| >= 5 deg`` **and** each side has at least 4 reps. The absolute
guard matters for small angles: an RDL knee bends ~20 deg, where 2 deg of pose-estimator noise
already reads as SI = 10 %. Sides are compared only in recordings that measure each leg on its
own (IMUs, or markers triangulated from several cameras: TRC or C3D in metres): a single camera
hides or foreshortens the far leg and the estimator guesses it (real side and oblique clips read
the two knees 15-35 deg apart). An athlete is flagged asymmetric in a period when, for some
exercise and metric, at least half of their sessions of that exercise in the period that measured
both legs are flagged (a persistent pattern, not one noisy session; a 9 deg knee difference is 40 %
of an RDL's knee bend but under 10 % of a deadlift's, so exercises are judged separately).

Too heavy, too soon (per athlete x exercise, at each session). The rolling window is the session
and the same exercise's sessions in the 27 days before it (4 weeks). Least-squares slopes over the
window's session dates give the load trend (% of the window's first top load per week), the trend
of the share of good reps (percentage points per week) and of mean peak back rounding (deg per
week; upper-back rounding from pose, thoracic flexion from IMUs). The session is flagged when the
window holds >= 3 sessions, load rises >= 5 %/week, and form worsens: the share of good reps falls
>= 3 points/week or back rounding grows >= 2 deg/week. An athlete is flagged in a period when any
of their sessions in it is flagged (windows look back before ``since``). The load gate (>= 5 %/week,
twice a usual 2-2.5 %/week progression) is what keeps noise out: with ~12 reps a session the share
of good reps swings by +-14 points, so steady athletes' form slopes reach -9 points/week by chance;
behind the gate a -3 points/week slope (>= 9 points over the window) catches a steady decline.

Shares of good and of uncertain reps are taken over every labelled rep, an uncertain one included:
3 good reps in 22 with 18 uncertain are 14 % good, where a share over the confident reps alone
says 75 %.

Form decay (fatigue): share of good reps in the first third of each set's reps minus the last
third (k = max(1, floor(n/3)) reps at each end; sets of fewer than 3 reps are left out), pooled
over a session's sets; positive = form fades within the set.

Week over week: ``sessions.share_good_change`` / ``top_load_change_kg`` compare a session with the
athlete's previous session of the exercise; ``weekly`` does the same per ISO week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from difflib import get_close_matches
from importlib.resources import files

import duckdb
import polars as pl
import pyarrow.dataset as pads

from hinge_analytics.schema import EXPORT_REPS_COLUMNS


def connect_tables(tables: Mapping[str, pads.Dataset]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views of views.sql over ``tables`` (table name ->
    Arrow dataset, registered as ``<name>_raw``; `jobs.query.connect` opens them from a lake).

    It never writes anywhere: DuckDB would spill to ``./.tmp`` of the working directory when it
    runs short of memory (4 GB of files for one cross join); here it raises an out-of-memory error
    instead."""
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET temp_directory = ''")
    for name, dataset in tables.items():
        con.register(f"{name}_raw", dataset)
    con.execute(views_sql())
    return con


def views_sql() -> str:
    """views.sql with the flag thresholds below filled in (they are numbers, never user input)."""
    return (
        files("hinge_analytics.analytics")
        .joinpath("views.sql")
        .read_text()
        .format(**{name: repr(value) for name, value in RULES.items()})
    )


# The flag thresholds: views.sql's macros are built from these, and reports print them.
ASYMMETRY_SI_PCT = 10.0
ASYMMETRY_MIN_DIFF_DEG = 5.0
ASYMMETRY_MIN_REPS = 4
TOO_HEAVY_WINDOW_DAYS = 28
TOO_HEAVY_MIN_SESSIONS = 3
TOO_HEAVY_LOAD_PCT_PER_WEEK = 5.0
TOO_HEAVY_GOOD_PP_PER_WEEK = -3.0
TOO_HEAVY_ROUNDING_DEG_PER_WEEK = 2.0
RULES: dict[str, float | int] = {
    "ASYMMETRY_SI_PCT": ASYMMETRY_SI_PCT,
    "ASYMMETRY_MIN_DIFF_DEG": ASYMMETRY_MIN_DIFF_DEG,
    "ASYMMETRY_MIN_REPS": ASYMMETRY_MIN_REPS,
    "TOO_HEAVY_WINDOW_DAYS_BEFORE": TOO_HEAVY_WINDOW_DAYS - 1,  # the window ends on the session's day
    "TOO_HEAVY_MIN_SESSIONS": TOO_HEAVY_MIN_SESSIONS,
    "TOO_HEAVY_LOAD_PCT_PER_WEEK": TOO_HEAVY_LOAD_PCT_PER_WEEK,
    "TOO_HEAVY_GOOD_PP_PER_WEEK": TOO_HEAVY_GOOD_PP_PER_WEEK,
    "TOO_HEAVY_ROUNDING_DEG_PER_WEEK": TOO_HEAVY_ROUNDING_DEG_PER_WEEK,
}


def freeze_sessions(con: duckdb.DuckDBPyConnection) -> None:
    """Compute the ``sessions`` view once on this connection and let later queries (``weekly``,
    ``athlete_flags``) read the result instead of aggregating the reps again."""
    con.execute("CREATE OR REPLACE TEMP TABLE sessions_frozen AS SELECT * FROM sessions")
    con.execute("CREATE OR REPLACE TEMP VIEW sessions AS SELECT * FROM sessions_frozen")


def athlete_flags(
    con: duckdb.DuckDBPyConnection, since: dt.date | None = None, athlete: str | None = None
) -> pl.DataFrame:
    """One row per athlete over the period: reps, share good, asymmetry and too-heavy flags."""
    return con.sql("SELECT * FROM athlete_flags(?::DATE, ?::VARCHAR)", params=[since, athlete]).pl()


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """One query on an open connection (`connect_tables`, `jobs.query.connect`) as a polars frame."""
    return con.sql(sql, params=params or None).pl()


class QueryError(ValueError):
    """SQL that `hinge query` refuses or DuckDB rejects; the message is for the user."""


class QueryStopped(QueryError):
    """A query stopped before it finished: time or memory limit, or Ctrl-C."""

    still_running = False  # its thread had not returned yet (see `_watched`)


class QueryInterrupted(QueryStopped):
    """The user pressed Ctrl-C (SIGINT)."""


# --------------------------------------------------------------------------- hinge export reps
# Every rep column of ``rep_view`` is exported, the SPEC's columns (EXPORT_REPS_COLUMNS) first, so a
# metric added to the reps table reaches the export without a change here. Units are in the names
# (_deg, _s, _deg_s, _pct, _kg, _leg_lengths, _trunk_lengths; _fraction and _ratio are unitless).
# Left out: the ingest's internal id. Added: ``cue_checkpoint``, the cue's instruction without the
# measurements in brackets that follow it.
EXPORT_REPS_HIDDEN = frozenset({"ingest_id"})
DERIVED_COLUMNS = {"cue_checkpoint": r"regexp_replace(cue, ' \([^()]*\)$', '')"}
DERIVED_COLUMNS_AFTER = {"cue": "cue_checkpoint"}


class UnknownColumns(QueryError):
    """Export columns the table does not have; the message lists them."""


def export_reps_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns `export_reps` writes, in order: the SPEC's, then every other rep column."""
    names = [row[0] for row in con.sql("DESCRIBE rep_view").fetchall()]
    rest = []
    for name in names:
        if name in EXPORT_REPS_COLUMNS or name in EXPORT_REPS_HIDDEN:
            continue
        rest.append(name)
        if name in DERIVED_COLUMNS_AFTER:
            rest.append(DERIVED_COLUMNS_AFTER[name])
    return [*EXPORT_REPS_COLUMNS, *rest]


def closest_columns(name: str, available: list[str]) -> str | None:
    """The columns a mistyped name most likely meant: those it begins (up to three), else the
    nearest spelling."""
    starts = [a for a in available if a.startswith(name)]
    if starts:
        return " or ".join(starts[:3])
    close = get_close_matches(name, available, 1, cutoff=0.5)
    return close[0] if close else None
