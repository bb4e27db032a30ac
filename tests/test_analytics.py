"""The analytics SQL (views.sql) on hand-made lake rows: flag rules, fatigue, trends, read-only query."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from hinge_analytics.analytics import QueryError, athlete_flags
from hinge_analytics.jobs.query import connect, query, read_only_query
from hinge_analytics.lake import Lake
from hinge_analytics.simulate.lakes import write_rep_rows

MONDAY = dt.date(2026, 1, 5)


def set_rows(
    athlete: str,
    week: int,
    labels: list[str],
    exercise: str = "romanian_deadlift",
    load: float = 60.0,
    set_number: int = 1,
    knee: tuple[float | None, float | None] = (25.0, 25.0),
    side: str | None = None,
    rounding: float = 20.0,
) -> list[dict]:
    date = MONDAY + dt.timedelta(weeks=week)
    rid = f"{athlete}-{date}-{exercise}-{set_number}"
    return [
        {
            "recording_id": rid,
            "athlete_id": athlete,
            "session_date": date,
            "exercise": exercise,
            "side": side,
            "load_kg": load,
            "set_number": set_number,
            "rep": k + 1,
            "label": label,
            "cue": None if label == "good" else f"Fix {label}.",
            "confidence": 0.9,
            "peak_hip_flexion_deg": 80.0,
            "peak_hip_flexion_left_deg": 80.0,
            "peak_hip_flexion_right_deg": 80.0,
            "peak_knee_flexion_left_deg": knee[0],
            "peak_knee_flexion_right_deg": knee[1],
            "peak_upper_back_rounding_deg": rounding,
            "duration_s": 3.0,
        }
        for k, label in enumerate(labels)
    ]


def make_lake(tmp_path, rows: list[dict]) -> Lake:
    lake = Lake(tmp_path / "lake")
    write_rep_rows(lake, pl.DataFrame(rows, infer_schema_length=None))
    return lake


def sessions_of(lake: Lake) -> pl.DataFrame:
    return query(lake, "SELECT * FROM sessions ORDER BY athlete_id, exercise, session_date")


def test_asymmetry_needs_relative_and_absolute_difference(tmp_path):
    rows = []
    for week in range(2):
        rows += set_rows("small", week, ["good"] * 6, knee=(22.0, 19.0))  # SI 14.6 %, only 3 deg apart
        rows += set_rows("clear", week, ["good"] * 6, knee=(25.0, 15.0))  # SI 50 %, 10 deg apart
        rows += set_rows("deep", week, ["good"] * 6, exercise="deadlift", knee=(95.0, 88.0))  # 7.7 %
        rows += set_rows("few", week, ["good"] * 3, knee=(30.0, 15.0))  # too few reps
        # single-leg RDL: the stance legs match; the free leg (bent differently) is ignored
        rows += set_rows("uni", week, ["good"] * 5, "single_leg_rdl", knee=(25.0, 60.0), side="left")
        rows += set_rows("uni", week, ["good"] * 5, "single_leg_rdl", 20, 2, knee=(5.0, 25.0), side="right")
    lake = make_lake(tmp_path, rows)
    sessions = sessions_of(lake)
    flagged = dict(zip(sessions["athlete_id"], sessions["knee_asymmetry_flag"], strict=True))
    assert flagged == {"small": False, "clear": True, "deep": False, "few": False, "uni": False}
    clear = sessions.filter(pl.col("athlete_id") == "clear").row(0, named=True)
    assert clear["knee_si_pct"] == pytest.approx(100 * 10 / 20)
    assert clear["knee_diff_deg"] == pytest.approx(10.0)
    uni = sessions.filter(pl.col("athlete_id") == "uni").row(0, named=True)
    assert uni["knee_si_pct"] == pytest.approx(0.0)
    con = connect(lake)
    flags = athlete_flags(con)
    con.close()
    assert flags.filter(pl.col("asymmetry_flag"))["athlete_id"].to_list() == ["clear"]
    detail = flags.filter(pl.col("asymmetry_flag"))["asymmetry_detail"][0]
    assert "knee 25° left, 15° right (romanian_deadlift)" in detail  # degrees, not an SI


def test_left_and_right_are_compared_only_where_each_leg_is_measured_apart(tmp_path):
    # One camera guesses the far leg (real side and oblique clips: knees 15-35 deg apart), so a
    # video never flags an asymmetry; IMUs and markers from several cameras do. An athlete's
    # share of flagged sessions counts the sessions that measured both legs.
    rows = []
    single_camera = {"format": "mediapipe_csv", "sensors": "image_px"}
    worn_on_legs = {"modality": "imu", "format": "imu_csv", "sensors": "thigh_left,thigh_right"}
    for week in range(4):
        video = set_rows("video", week, ["good"] * 6, knee=(45.0, 75.0))
        rows += [{**r, **single_camera} for r in video]
        worn = set_rows("mixed", week, ["good"] * 6, knee=(25.0, 15.0))
        if week == 0:
            rows += [{**r, **worn_on_legs} for r in worn]
        else:
            rows += [{**r, **single_camera} for r in worn]
    lake = make_lake(tmp_path, rows)
    sessions = sessions_of(lake)
    assert not sessions.filter(pl.col("athlete_id") == "video")["knee_asymmetry_flag"].any()
    assert sessions.filter(pl.col("athlete_id") == "video")["knee_left_deg"].is_null().all()
    mixed = sessions.filter(pl.col("athlete_id") == "mixed")
    assert mixed["knee_sides_measured"].to_list() == [True, False, False, False]
    with connect(lake) as con:
        flags = athlete_flags(con)
    assert flags.filter(pl.col("asymmetry_flag"))["athlete_id"].to_list() == ["mixed"]
    share = dict(zip(flags["athlete_id"], flags["share_sessions_asymmetric"], strict=True))
    assert share["mixed"] == 1.0 and share["video"] is None  # of the sessions that measured both legs


def test_one_measured_knee_stands_for_both_in_the_session_means(tmp_path):
    """A side view with the far leg hidden measures the near knee only: the session's mean peak
    knee flexion is that knee's, not empty while its maximum is filled."""
    rows = set_rows("side", 0, ["good"] * 3, "deadlift", knee=(80.0, None))
    rows += set_rows("both", 0, ["good"] * 3, "deadlift", knee=(80.0, 70.0))
    sessions = sessions_of(make_lake(tmp_path, rows))
    means = dict(zip(sessions["athlete_id"], sessions["mean_peak_knee_flexion_deg"], strict=True))
    assert means == {"both": pytest.approx(75.0), "side": pytest.approx(80.0)}


def test_too_heavy_too_soon_rule(tmp_path):
    rows = []
    good = {0: 8, 1: 6, 2: 4, 3: 2}  # good reps of 8
    for week in range(4):
        falling = ["good"] * good[week] + ["rounded_back"] * (8 - good[week])
        steady = ["good"] * 6 + ["rounded_back"] * 2
        heavy_load = 100 * 1.1**week
        rows += set_rows("heavy", week, falling, load=heavy_load)  # load up, form down
        rows += set_rows("strong", week, steady, load=heavy_load)  # load up, form holds
        rows += set_rows("tired", week, falling, load=100 + 2 * week)  # form down, load barely up
        rows += set_rows("rounding", week, steady, load=heavy_load, rounding=20 + 3 * week)
    lake = make_lake(tmp_path, rows)
    sessions = sessions_of(lake)
    heavy = sessions.filter(pl.col("athlete_id") == "heavy")
    assert heavy["too_heavy_too_soon"].to_list() == [False, False, True, True]  # needs 3 sessions
    assert heavy["share_good_trend_pp_per_week"][3] == pytest.approx(-25.0)
    assert heavy["load_trend_pct_per_week"][3] > 10
    assert heavy["share_good_change"].to_list()[1:] == pytest.approx([-0.25, -0.25, -0.25])
    con = connect(lake)
    flags = athlete_flags(con)
    since = athlete_flags(con, since=MONDAY + dt.timedelta(weeks=3))
    early = athlete_flags(con, athlete="heavy", since=None)
    con.close()
    assert sorted(flags.filter(pl.col("too_heavy_too_soon"))["athlete_id"]) == ["heavy", "rounding"]
    # windows look back before `since`: the last session alone is still judged on four weeks
    assert sorted(since.filter(pl.col("too_heavy_too_soon"))["athlete_id"]) == ["heavy", "rounding"]
    assert early["athlete_id"].to_list() == ["heavy"]
    assert early["too_heavy_since"][0] == MONDAY + dt.timedelta(weeks=2)
    weekly = query(lake, "SELECT * FROM weekly WHERE athlete_id = ? ORDER BY week", ["heavy"])
    assert weekly["share_good"].to_list() == pytest.approx([1.0, 0.75, 0.5, 0.25])


def test_form_decay_counts_and_uncertain_reps(tmp_path):
    labels = ["good", "good", "uncertain", "squatting", "squatting", "squatting"]
    rows = set_rows("a", 0, labels) + set_rows("a", 0, ["good"] * 2, set_number=2)
    lake = make_lake(tmp_path, rows)
    s = sessions_of(lake).row(0, named=True)
    assert (s["sets"], s["reps"], s["n_good"], s["n_squatting"], s["n_uncertain"]) == (2, 8, 4, 3, 1)
    # over all labelled reps, the uncertain one included, and shown as its own share
    assert (s["share_good"], s["share_uncertain"]) == pytest.approx((4 / 8, 1 / 8))
    assert s["most_common_mistake"] == "squatting"
    # 6 reps: thirds are reps 1-2 and 5-6; the 2-rep set has no thirds
    assert (s["share_good_first_third"], s["share_good_last_third"], s["form_decay"]) == (1.0, 0.0, 1.0)
    sets = query(lake, "SELECT * FROM set_view ORDER BY set_number")
    assert sets["form_decay"].to_list() == [1.0, None]


def test_a_session_without_good_reps_has_share_good_zero(tmp_path):
    lake = make_lake(tmp_path, set_rows("a", 0, ["squatting"] * 5 + ["uncertain"]))
    s = sessions_of(lake).row(0, named=True)
    assert (s["share_good"], s["share_good_first_third"], s["form_decay"]) == (0.0, 0.0, 0.0)


def test_query_is_read_only_and_sees_the_views(lake):
    assert read_only_query(lake, "SELECT count(*) AS n FROM reps")["n"][0] > 0
    assert read_only_query(lake, "SELECT count(*) AS n FROM sessions")["n"][0] > 0
    assert read_only_query(lake, "SELECT * FROM athlete_flags(NULL, NULL)").height == 4
    for sql in (
        "DELETE FROM reps",
        "SELECT 1; DROP VIEW reps",
        "COPY reps TO '/tmp/x.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "CREATE TABLE t AS SELECT 1",
    ):
        with pytest.raises(QueryError):
            read_only_query(lake, sql)


def test_a_connection_scoped_to_recordings_sees_only_their_rows(lake):
    every = query(lake, "SELECT recording_id, count(*) AS n FROM rep_view GROUP BY ALL ORDER BY 1")
    some = every["recording_id"].to_list()[::2]
    with connect(lake, some) as con:
        scoped = con.sql("SELECT recording_id, count(*) AS n FROM rep_view GROUP BY ALL ORDER BY 1").pl()
        frames = con.sql("SELECT DISTINCT recording_id FROM angles ORDER BY 1").pl()
    assert scoped.equals(every.filter(pl.col("recording_id").is_in(some)))
    assert frames["recording_id"].to_list() == sorted(some)


def test_flag_thresholds_have_one_definition_for_sql_and_reports():
    """views.sql's rules are filled in from the constants the reports print."""
    import re

    from hinge_analytics.analytics import RULES, views_sql

    sql = views_sql()
    assert "{" not in sql and "}" not in sql
    macro = re.search(r"MACRO is_asymmetric.*?;", sql, re.S).group(0)
    assert f"> {RULES['ASYMMETRY_SI_PCT']!r}" in macro and f">= {RULES['ASYMMETRY_MIN_DIFF_DEG']!r}" in macro
    rule = re.search(r"MACRO too_heavy_rule.*?;", sql, re.S).group(0)
    for name in ("TOO_HEAVY_MIN_SESSIONS", "TOO_HEAVY_LOAD_PCT_PER_WEEK", "TOO_HEAVY_GOOD_PP_PER_WEEK"):
        assert repr(RULES[name]) in rule
    assert f"BETWEEN {RULES['TOO_HEAVY_WINDOW_DAYS_BEFORE']!r} PRECEDING" in sql
