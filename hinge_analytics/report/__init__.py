"""Reports: a team overview, one HTML page per athlete, and CSV tables beside them.

Everything comes from the analytics views (``hinge_analytics/analytics/views.sql``); the flag
rules are documented in ``hinge_analytics.analytics``. Pages are static HTML with inline SVG (no
JavaScript, no CDN) so they open offline. All user-provided text (ids, labels, exercise names,
cues) is HTML-escaped; athlete ids become file names only through :func:`safe_filename`. Every
page and table is written under a temporary name and renamed (`atomic.write_atomic`): a report
stopped half-way leaves the previous pages whole, never an empty or truncated one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from hinge_analytics import analytics
from hinge_analytics.analytics import athlete_flags, freeze_sessions
from hinge_analytics.atomic import write_atomic, write_text_atomic
from hinge_analytics.progress import Progress
from hinge_analytics.report.plots import asymmetry_plot, label_colour, mistake_plot, progress_plot, sparkline
from hinge_analytics.schema import UNCERTAIN_CUE

STRIP_SETS = 24  # the rep strip shows an athlete's latest sets in the period
TOP_CUES = 5
# Files not analysed and recording notes listed on a page, latest first; the CSVs hold them all
# (a batch of 25,000 missing files must not make a 25,000-row page).
TEAM_LIST_ROWS = 50
ATHLETE_LIST_ROWS = 200


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}td.t{text-align:left}
.flag{color:#b71c1c;font-weight:600}.ok{color:#2e7d32}
.badge{display:inline-block;border-radius:3px;padding:1px 6px;margin:1px;font-size:.8rem;color:#fff}
.b-asym{background:#6a1b9a}.b-heavy{background:#b71c1c}
.strip td{padding:0;border:none;text-align:left}
.strip td.lab{padding:0 8px 0 0;font-size:.8rem}
.rep{display:inline-block;width:18px;height:18px;margin:1px;border-radius:2px;color:#fff;
font-size:10px;line-height:18px;text-align:center}
.legend span{margin-right:12px;font-size:.85rem}.note{color:#555;font-size:.85rem}
svg{max-width:100%;height:auto}.wide{overflow-x:auto}svg.spark{vertical-align:middle}
.stills{display:flex;flex-wrap:wrap;gap:8px}.still{margin:0;max-width:220px;font-size:.8rem}
.still figcaption{border-left:6px solid #999;padding-left:4px}
"""


def safe_filename(identifier: str) -> str:
    """A file name for an athlete id: only [A-Za-z0-9_-], so ids can never escape the folder.

    Ids that had to be changed get a short hash of the original, so two different ids never
    share a file.
    """
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", identifier)[:80] or "athlete"
    if cleaned != identifier:
        cleaned += "-" + hashlib.sha256(identifier.encode()).hexdigest()[:8]
    return f"athlete_{cleaned}.html"


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _cell(value: object, floats: int) -> str:
    if isinstance(value, bool):
        return "<td class='flag'>yes</td>" if value else "<td></td>"
    if isinstance(value, float):
        return f"<td>{'' if value != value else f'{value:.{floats}f}'}</td>"
    if isinstance(value, int | dt.date):
        return f"<td>{value}</td>"
    return f"<td class='t'>{_esc(value)}</td>"


def _table(frame: pl.DataFrame, floats: int = 1) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(_cell(v, floats) for v in row) + "</tr>" for row in frame.iter_rows())
    return f"<div class='wide'><table><tr>{head}</tr>{rows}</table></div>"


def _badges(flags: dict) -> str:
    out = []
    if flags.get("asymmetry_flag"):
        out.append(f"<span class='badge b-asym'>asymmetric: {_esc(flags['asymmetry_detail'])}</span>")
    if flags.get("too_heavy_too_soon"):
        out.append(
            f"<span class='badge b-heavy'>too heavy, too soon: {_esc(flags['too_heavy_exercises'])}"
            f" (since {_esc(flags['too_heavy_since'])})</span>"
        )
    return "".join(out)


def _rules() -> str:
    a = analytics
    return (
        "<p class='note'>Asymmetric: in at least half of the athlete's sessions of an exercise the "
        f"left (L) and right (R) peak angles are at least {a.ASYMMETRY_MIN_DIFF_DEG:.0f}&deg; apart "
        f"and more than {a.ASYMMETRY_SI_PCT:.0f}% of their mean (symmetry index "
        "100(L&minus;R)/(&frac12;(L+R))), knee, hip or ankle ("
        f"&ge;{a.ASYMMETRY_MIN_REPS} reps per side). Too heavy, too soon: over {a.TOO_HEAVY_WINDOW_DAYS} "
        f"days (&ge;{a.TOO_HEAVY_MIN_SESSIONS} sessions of an exercise) the top load rose "
        f"&ge;{a.TOO_HEAVY_LOAD_PCT_PER_WEEK:.0f}%/week while good reps fell "
        f"&ge;{-a.TOO_HEAVY_GOOD_PP_PER_WEEK:.0f} points/week or back rounding grew "
        f"&ge;{a.TOO_HEAVY_ROUNDING_DEG_PER_WEEK:.0f}&deg;/week.</p>"
    )


def _rep_strip(reps: pl.DataFrame) -> str:
    """One row per set (latest first), one coloured square per rep; hover shows label and cue."""
    sets = (
        reps.select("recording_id", "session_date", "exercise", "set_number", "load_kg")
        .unique("recording_id")
        .sort(["session_date", "exercise", "set_number", "recording_id"], descending=True, nulls_last=True)
        .head(STRIP_SETS)
    )
    rows = []
    for s in sets.iter_rows(named=True):
        mine = reps.filter(pl.col("recording_id") == s["recording_id"]).sort("rep")
        cells = []
        for r in mine.iter_rows(named=True):
            label = r["label"] or "not labelled"
            conf = "" if r["confidence"] is None else f" ({100 * r['confidence']:.0f}%)"
            tip = f"rep {r['rep']}: {label}{conf}" + (f" - {r['cue']}" if r["cue"] else "")
            cells.append(
                f"<span class='rep' style='background:{label_colour(r['label'])}' "
                f"title='{_esc(tip)}'>{r['rep']}</span>"
            )
        load = "" if s["load_kg"] is None else f" · {s['load_kg']:g} kg"
        set_no = "" if s["set_number"] is None else f" · set {s['set_number']}"
        rows.append(
            f"<tr><td class='lab'>{_esc(s['session_date'])} · {_esc(s['exercise'])}{_esc(set_no)}"
            f"{_esc(load)}</td><td>{''.join(cells)}</td></tr>"
        )
    present = sorted({lab or "not labelled" for lab in reps["label"].to_list()})
    legend = "".join(
        f"<span><span class='rep' style='background:{label_colour(lab)}'></span>{_esc(lab)}</span>"
        for lab in present
    )
    note = f"<p class='note'>Latest {STRIP_SETS} sets of the period.</p>" if sets.height == STRIP_SETS else ""
    return f"<div class='legend'>{legend}</div><table class='strip'>{''.join(rows)}</table>{note}"


STILL_SETS = 2  # an athlete's latest video sets with stills: each still is a seek in the video
STILL_WINDOW_S = 0.25  # landmark frames read around each rep's bottom, for the frame a seek shows


def _still_sets(video_reps: pl.DataFrame) -> pl.DataFrame:
    """Each athlete's latest ``STILL_SETS`` video sets (``video_reps`` is newest first)."""
    sets = video_reps.select("athlete_id", "recording_id", "session_date", "exercise", "set_number")
    return (
        sets.unique("recording_id", maintain_order=True)
        .group_by("athlete_id", maintain_order=True)
        .head(STILL_SETS)
    )


def _stills(video_reps: pl.DataFrame, sources: dict[str, str], landmarks: pl.DataFrame) -> str:
    """The latest ``STILL_SETS`` video sets: each rep's bottom position with its label and cue
    (``report.stills``, skeleton from the lake's ``landmarks`` near each bottom); a sentence instead
    where the video or its landmarks are not reachable."""
    from hinge_analytics.report.stills import rep_stills

    sets = _still_sets(video_reps)
    parts = []
    for s in sets.iter_rows(named=True):
        mine = video_reps.filter(pl.col("recording_id") == s["recording_id"]).sort("rep")
        source = sources.get(s["recording_id"])
        frames = landmarks.filter(pl.col("recording_id") == s["recording_id"])
        stills = rep_stills(Path(source), mine["t_bottom_s"].to_list(), frames) if source else None
        title = f"{s['session_date']} · {s['exercise']}" + (
            "" if s["set_number"] is None else f" · set {s['set_number']}"
        )
        if stills is None:
            parts.append(
                f"<p class='lab'>{_esc(title)}</p><p class='note'>No stills: the video "
                f"{_esc(source or '')} is not reachable from here, its landmarks are not in the lake, "
                "or the video extra is not installed.</p>"
            )
            continue
        cells = "".join(
            f"<figure class='still'><img src='{uri}' alt='rep {r['rep']} at its bottom'>"
            f"<figcaption style='border-color:{label_colour(r['label'])}'>rep {r['rep']}: "
            f"{_esc(r['label'] or 'not labelled')}<br><span class='note'>{_esc(r['cue'] or '')}</span>"
            "</figcaption></figure>"
            for r, uri in zip(mine.iter_rows(named=True), stills, strict=True)
            if uri
        )
        parts.append(f"<p class='lab'>{_esc(title)}</p><div class='stills'>{cells}</div>")
    return "".join(parts)


def _top_cues(reps: pl.DataFrame) -> str:
    """One cue per mistake, most frequent first: the cue's advice once, with the evidence of the
    latest rep (``classify.explain`` appends it in parentheses). Grouped by cue text, one mistake
    filled the list with the same advice three times, differing only in the evidence."""
    faulty = reps.filter(pl.col("cue").is_not_null() & ~pl.col("label").is_in(["good", "uncertain"]))
    cues = (
        faulty.sort("session_date")
        .with_columns(
            advice=pl.col("cue").str.replace(r" \(.*\)$", ""),
            evidence=pl.col("cue").str.extract(r" \((.*)\)$"),
        )
        .group_by("label")
        .agg(
            pl.col("advice").mode().first(),
            pl.col("evidence").drop_nulls().last(),
            reps=pl.len(),
            last_seen=pl.col("session_date").max(),
        )
        .sort(["reps", "last_seen", "label"], descending=[True, True, False])
        .head(TOP_CUES)
    )
    if cues.height == 0:
        if reps.height and not (reps["label"] == "good").any():
            return f"<p>{_esc(_nothing_judged(reps))}</p>"
        return "<p>No faulty reps in this period: keep going.</p>"
    items = "".join(
        f"<li><strong>{_esc(c['advice'])}</strong> <span class='note'>({_esc(c['label'])}: {c['reps']} "
        f"reps, last {_esc(c['last_seen'])}"
        + (f"; latest: {_esc(c['evidence'])}" if c["evidence"] else "")
        + ")</span></li>"
        for c in cues.iter_rows(named=True)
    )
    return f"<ol>{items}</ol>"


def _nothing_judged(reps: pl.DataFrame) -> str:
    """Why no rep of the period has a form label: the one reason all of them share (a load sensor
    alone, a lift the model has not learned), else the model's doubt."""
    reasons = reps["cue"].drop_nulls().unique()
    head = f"No rep in this period could be judged ({reps.height} uncertain or not labelled)"
    if reasons.len() == 1 and not reasons[0].startswith(UNCERTAIN_CUE.partition("(")[0]):
        return f"{head}: {reasons[0]}"
    return f"{head}: the model was not sure enough about any of them; have a look at the videos."


SESSION_COLUMNS = [
    "session_date",
    "exercise",
    "sets",
    "reps",
    "top_load_kg",
    (pl.col("share_good") * 100).alias("good_%"),
    (pl.col("share_uncertain") * 100).alias("uncertain_%"),
    (pl.col("share_good_change") * 100).alias("good_change_pts"),
    "most_common_mistake",
    (pl.col("form_decay") * 100).alias("form_decay_pts"),
    *[pl.col(f"{joint}_diff_deg").alias(f"{joint}_L-R_deg") for joint in ("knee", "hip", "ankle")],
    pl.col("asymmetry_flag").alias("asymmetric"),
    "too_heavy_too_soon",
]
ANGLE_COLUMNS = [
    "session_date",
    "exercise",
    pl.col("mean_peak_hip_flexion_deg").alias("hip_mean_peak"),
    pl.col("max_peak_hip_flexion_deg").alias("hip_max"),
    pl.col("mean_peak_knee_flexion_deg").alias("knee_mean_peak"),
    pl.col("max_peak_knee_flexion_deg").alias("knee_max"),
    pl.col("mean_peak_trunk_inclination_deg").alias("trunk_mean_peak"),
    pl.col("mean_peak_back_rounding_deg").alias("back_rounding"),
    pl.col("mean_rep_duration_s").alias("rep_s"),
    pl.col("mean_eccentric_s").alias("down_s"),
    pl.col("mean_bottom_pause_s").alias("pause_s"),
    pl.col("mean_concentric_s").alias("up_s"),
]


def _good_share(counts: pl.DataFrame) -> str:
    """ "38% good, 6% uncertain of 153 labelled reps, ": both shares over every labelled rep, so
    3 good reps in 22 with 18 uncertain read 14 % good, 82 % uncertain, not 75 % good."""
    by_label = dict(zip(counts["label"].to_list(), counts["reps"].to_list(), strict=True))
    unlabelled = by_label.pop(None, 0)
    labelled = sum(by_label.values())
    later = f" ({unlabelled} not labelled yet)" if unlabelled else ""
    if labelled == 0:
        return f"none of {unlabelled} labelled yet, " if unlabelled else ""
    good, unsure = (100 * by_label.get(k, 0) / labelled for k in ("good", "uncertain"))
    return f"{good:.0f}% good, {unsure:.0f}% uncertain of {labelled} labelled reps{later}, "


def _athlete_page(
    athlete_id: str,
    flags: dict,
    sessions: pl.DataFrame,
    weekly: pl.DataFrame,
    labels: pl.DataFrame,
    reps: pl.DataFrame,
    notes: pl.DataFrame,
    not_analysed: pl.DataFrame | None,
    csv_names: dict[str, str],
    stills: str = "",
) -> str:
    counts = labels.group_by("label").agg(pl.col("reps").sum()).sort("reps", descending=True)
    links = " · ".join(f"<a href='{_esc(n)}'>{_esc(k)}.csv</a>" for k, n in csv_names.items())
    if flags.get("sessions"):
        summary = (
            f"{flags['sessions']} session(s), {flags['reps']} reps, {_good_share(counts)}"
            f"{_esc(flags['first_session'])} to {_esc(flags['last_session'])}"
        )
    else:
        summary = "No reps analysed in this period: see the notes and files below."
    return (
        f"<p><a href='index.html'>&larr; team overview</a></p><h1>Athlete {_esc(athlete_id)}</h1>"
        f"<p>{summary}</p><p>{_badges(flags) or '<span class=ok>no flags</span>'}</p>"
        f"<h2>Top coaching cues</h2>{_top_cues(reps)}"
        f"<h2>Progress over weeks: form and load</h2>{_progress(weekly)}"
        f"<h2>Mistake breakdown</h2>{_mistakes(counts)}"
        f"<h2>Left/right asymmetry</h2>{_asymmetry(sessions)}"
        f"<h2>Reps of each set</h2>{_rep_strip(reps) if reps.height else '<p>No reps in this period.</p>'}"
        f"{'<h2>Bottom of each rep, from the video</h2>' + stills if stills else ''}"
        f"<h2>Sessions</h2>{_table(sessions.select(SESSION_COLUMNS))}"
        f"<h2>Angles (deg) and tempo (s)</h2>{_table(sessions.select(ANGLE_COLUMNS))}"
        f"<h2>Notes on analysed recordings</h2>{_notes(notes, ATHLETE_LIST_ROWS)}"
        f"<h2>Files not analysed</h2>{_not_analysed_section(not_analysed, ATHLETE_LIST_ROWS)}"
        f"<p>Tables: {links}</p>{_rules()}"
    )


def _progress(weekly: pl.DataFrame) -> str:
    """The weekly plot from two weeks on; one week's numbers as a table (a plot of one week was a
    dot on an empty time axis spanning years)."""
    if weekly.height == 0:
        return "<p>No weeks in this period.</p>"
    if weekly["week"].n_unique() >= 2:
        return progress_plot(weekly)
    numbers = weekly.select(
        "week",
        "exercise",
        "sessions",
        "reps",
        "top_load_kg",
        (pl.col("share_good") * 100).alias("good_%"),
        (pl.col("share_uncertain") * 100).alias("uncertain_%"),
    )
    return f"<p class='note'>One week so far: its numbers (a trend needs two weeks).</p>{_table(numbers)}"


def _mistakes(counts: pl.DataFrame) -> str:
    return mistake_plot(counts) if counts.height else "<p>No reps in this period.</p>"


DIFF_COLUMNS = ["knee_diff_deg", "hip_diff_deg", "ankle_diff_deg"]


def _asymmetry(sessions: pl.DataFrame) -> str:
    """Left minus right (deg) over sessions from two sessions on; one session's left/right numbers
    as a table. Degrees, not the symmetry index: the SI of a small angle explodes (a good
    morning's knees bent 3 and 16 deg read -140 %), and a coach reads degrees."""
    measured = sessions.filter(pl.any_horizontal(pl.col(DIFF_COLUMNS).is_not_null()))
    if measured.height == 0:
        return (
            "<p>No left/right comparison: these recordings do not measure each leg on its own. One "
            "camera hides or foreshortens the far leg and the pose estimator guesses it; IMUs on both "
            "legs, or markers from several cameras, measure both.</p>"
        )
    if measured["session_date"].n_unique() >= 2:
        return asymmetry_plot(sessions, analytics.ASYMMETRY_MIN_DIFF_DEG)
    numbers = measured.select(
        "session_date",
        "exercise",
        *[
            pl.col(f"{m}_{side}_deg").alias(f"{m}_{side[0].upper()}_deg")
            for m in ("knee", "hip", "ankle")
            for side in ("left", "right")
        ],
        pl.col("asymmetry_flag").alias("asymmetric"),
    )
    return (
        "<p class='note'>One session so far: its left (L) and right (R) peak angles (a trend needs "
        f"two sessions).</p>{_table(numbers)}"
    )


NOTE_COLUMNS = ["session_date", "exercise", "set_number", "recording_id", "path", "note"]
NOT_ANALYSED_COLUMNS = ["recording_id", "path", "reason", "quarantined_at"]


def _notes(notes: pl.DataFrame, limit: int, csv_name: str | None = None) -> str:
    """What a coach should know about recordings that were analysed (pipeline.recording_note):
    no reps found, gaps in the data, a sensor on the bar or kettlebell that gives no body angles."""
    if notes.height == 0:
        return "<p>No notes: every analysed recording gave reps and body angles without gaps.</p>"
    return _capped(notes.select(NOTE_COLUMNS), limit, "note(s)", csv_name)


def _not_analysed_section(frame: pl.DataFrame | None, limit: int, csv_name: str | None = None) -> str:
    """The quarantine table's files (id, file, reason): a missing session and a failed file look
    alike in every other table of the report. ``None``: the lake does not say whose files they are."""
    if frame is None:
        return (
            "<p class='note'>This lake does not record which athlete a file that was not analysed "
            "belonged to: see the list on the team overview.</p>"
        )
    if frame.height == 0:
        return "<p>Every file was analysed.</p>"
    return _capped(frame.select(NOT_ANALYSED_COLUMNS), limit, "file(s)", csv_name)


def _capped(frame: pl.DataFrame, limit: int, what: str, csv_name: str | None) -> str:
    where = f" (all of them in <a href='{_esc(csv_name)}'>{_esc(csv_name)}</a>)" if csv_name else ""
    head = f"<p>{frame.height} {what}{where}"
    if frame.height > limit:
        head += f"; the latest {limit} are listed"
    return f"{head}.</p>{_table(frame.head(limit), floats=2)}"


def _ranked(flags: pl.DataFrame) -> pl.DataFrame:
    """Athletes in the order a coach should look at them: flagged first, then the lowest share of
    good reps (unlabelled last), then by id."""
    return flags.with_columns(
        _attention=pl.col("asymmetry_flag").fill_null(False) | pl.col("too_heavy_too_soon").fill_null(False)
    ).sort(
        ["_attention", "share_good", "athlete_id"],
        descending=[True, False, False],
        nulls_last=True,
    )


def _weekly_good(weekly: pl.DataFrame) -> dict[str, list[float | None]]:
    """athlete -> share of good reps per week (all exercises, weighted by reps), oldest first."""
    if weekly.height == 0:
        return {}
    per_week = (
        weekly.group_by("athlete_id", "week")
        .agg(
            good=(pl.col("share_good") * pl.col("reps")).sum(),
            labelled=pl.col("reps").filter(pl.col("share_good").is_not_null()).sum(),
        )
        .with_columns(share=pl.when(pl.col("labelled") > 0).then(pl.col("good") / pl.col("labelled")))
        .sort("athlete_id", "week")
    )
    return {
        athlete: part["share"].to_list()
        for (athlete,), part in per_week.group_by(["athlete_id"], maintain_order=True)
    }


def _index_page(
    flags: pl.DataFrame,
    pages: dict[str, str],
    since: dt.date | None,
    weekly: pl.DataFrame,
    notes: pl.DataFrame,
    not_analysed: pl.DataFrame,
) -> str:
    trends = _weekly_good(weekly)
    rows = []
    for rank, f in enumerate(_ranked(flags).iter_rows(named=True), start=1):
        share = "" if f["share_good"] is None else f"{100 * f['share_good']:.0f}%"
        unsure = "" if f["share_uncertain"] is None else f"{100 * f['share_uncertain']:.0f}%"
        trend = trends.get(f["athlete_id"], [])
        shown = [f"{100 * v:.0f}%" for v in trend if v is not None]
        spark = sparkline(trend, _esc(f"good reps by week: {' → '.join(shown[-8:])}")) if shown else ""
        link = f"<a href='{_esc(pages[f['athlete_id']])}'>{_esc(f['athlete_id'])}</a>"
        rows.append(
            f"<tr><td>{rank}</td><td class='t'>{link}</td><td>{f['sessions'] or 0}</td>"
            f"<td>{f['reps'] or 0}</td><td>{share}</td><td>{unsure}</td><td class='t'>{spark}</td>"
            f"<td class='t'>{_esc(f['most_common_mistake'])}</td>"
            f"<td class='t{' flag' if f['asymmetry_flag'] else ''}'>"
            f"{_esc(f['asymmetry_detail']) if f['asymmetry_flag'] else ''}</td>"
            f"<td class='t{' flag' if f['too_heavy_too_soon'] else ''}'>"
            f"{_esc(f['too_heavy_exercises']) if f['too_heavy_too_soon'] else ''}</td></tr>"
        )
    attention = flags.filter(pl.col("asymmetry_flag") | pl.col("too_heavy_too_soon"))
    items = "".join(
        f"<li><a href='{_esc(pages[f['athlete_id']])}'>{_esc(f['athlete_id'])}</a> {_badges(f)}</li>"
        for f in attention.iter_rows(named=True)
    )
    period = f"sessions since {since}" if since else "all sessions"
    return (
        f"<h1>Team overview</h1><p class='note'>{period}; generated "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC</p>"
        f"<h2>Needs attention</h2>{f'<ul>{items}</ul>' if items else '<p>Nobody is flagged.</p>'}"
        "<h2>Athletes</h2><p class='note'>Flagged athletes first, then the lowest share of good reps; "
        "the line is each athlete's share of good reps week by week. Shares are of all labelled reps: "
        "a rep the model is not sure about counts as uncertain, not as good.</p>"
        "<div class='wide'><table><tr><th>#</th><th>athlete</th><th>sessions</th><th>reps</th>"
        "<th>good reps</th><th>uncertain</th><th>by week</th><th>most common mistake</th><th>asymmetric</th>"
        "<th>too heavy, too soon</th></tr>" + "".join(rows) + "</table></div>"
        "<h2>Files not analysed</h2>"
        f"{_not_analysed_section(not_analysed, TEAM_LIST_ROWS, 'not_analysed.csv')}"
        f"<h2>Notes on analysed recordings</h2>{_notes(notes, TEAM_LIST_ROWS, 'recording_notes.csv')}"
        "<p>Tables: <a href='athletes.csv'>athletes.csv</a> · <a href='sessions.csv'>"
        "sessions.csv</a> · <a href='sets.csv'>sets.csv</a> · <a href='weekly.csv'>weekly.csv</a> · "
        "<a href='not_analysed.csv'>not_analysed.csv</a> · "
        "<a href='recording_notes.csv'>recording_notes.csv</a></p>" + _rules()
    )


# A text cell starting with one of these is run as a formula by spreadsheet programs (OWASP
# "CSV Injection"): an athlete id like =HYPERLINK(...) must open as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns with a leading ' on cells a spreadsheet would evaluate; numbers untouched."""
    pattern = "^[" + "".join("\\" + c if c in "-+" else c for c in _FORMULA_START) + "]"
    return frame.with_columns(
        [
            pl.when(pl.col(name).str.contains(pattern))
            .then("'" + pl.col(name))
            .otherwise(pl.col(name))
            .alias(name)
            for name, dtype in frame.schema.items()
            if dtype == pl.String
        ]
    )


def _csv(frame: pl.DataFrame, path: Path) -> None:
    write_atomic(path, spreadsheet_safe(frame).write_csv)


def _records_athletes(con) -> bool:
    """Whether the lake's quarantine table says whose file each row was (newer schemas do)."""
    return "athlete_id" in con.sql("SELECT * FROM quarantine LIMIT 0").columns


def _quarantine(con, since: dt.date | None, athlete: str | None) -> pl.DataFrame | None:
    """Files not analysed in the period, latest first; None when ``athlete`` is asked for and the
    quarantine table does not record athletes."""
    columns = set(con.sql("SELECT * FROM quarantine LIMIT 0").columns)
    if athlete is not None and "athlete_id" not in columns:
        return None
    where, params = [], []
    if athlete is not None:  # rows of older versions do not say whose file they were
        where.append("(athlete_id = ? OR athlete_id IS NULL)")
        params.append(athlete)
    if since is not None and "session_date" in columns:
        where.append("(session_date IS NULL OR session_date >= ?::DATE)")
        params.append(since)
    who = "athlete_id" if "athlete_id" in columns else "NULL::VARCHAR AS athlete_id"
    sql = (
        "SELECT recording_id, path, reason, "
        "strftime(timezone('UTC', quarantined_at), '%Y-%m-%d %H:%M UTC') AS quarantined_at, "
        f"{who} FROM quarantine {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY quarantine.quarantined_at DESC, recording_id"
    )
    return con.sql(sql, params=params or None).pl()


def known_athletes(con) -> list[str]:
    """Athletes of the lake: those with an analysed recording, or a file not analysed (when the
    quarantine table records athletes)."""
    sql = "SELECT DISTINCT athlete_id FROM recordings"
    if _records_athletes(con):
        sql += " UNION SELECT DISTINCT athlete_id FROM quarantine WHERE athlete_id IS NOT NULL"
    return sorted(con.sql(sql).pl()["athlete_id"].to_list())


def _no_flags(athlete_id: str) -> dict:
    """The athlete_flags row of an athlete with recordings or refused files but no reps in the period."""
    return {
        "athlete_id": athlete_id,
        "sessions": 0,
        "reps": 0,
        "share_good": None,
        "share_uncertain": None,
        "most_common_mistake": None,
        "asymmetry_flag": False,
        "asymmetry_detail": None,
        "too_heavy_too_soon": False,
        "too_heavy_exercises": None,
        "too_heavy_since": None,
        "first_session": None,
        "last_session": None,
    }


@dataclass
class ReportTables:
    """What the report pages and CSVs are made of, read from the lake's views in one go."""

    flags: pl.DataFrame
    sessions: pl.DataFrame
    sets: pl.DataFrame
    labels: pl.DataFrame
    weekly: pl.DataFrame
    reps: pl.DataFrame
    video_reps: pl.DataFrame
    sources: dict[str, str]
    still_landmarks: pl.DataFrame  # video_landmarks rows near the bottoms of the reps with stills
    notes: pl.DataFrame
    recorded: list[str]
    not_analysed: pl.DataFrame | None
    by_athlete: bool


def report_tables(
    con: duckdb.DuckDBPyConnection, athlete: str | None = None, since: dt.date | None = None
) -> ReportTables:
    """The report's tables from a connection with the analytics views (read only)."""
    where = "(?::DATE IS NULL OR session_date >= ?::DATE) AND (?::VARCHAR IS NULL OR athlete_id = ?)"
    params = [since, since, athlete, athlete]

    def rows(sql: str) -> pl.DataFrame:
        return con.sql(sql, params=params).pl()

    freeze_sessions(con)  # aggregate the reps once for the sessions, weekly and flag queries
    flags = athlete_flags(con, since, athlete)
    sessions = rows(f"SELECT * FROM sessions WHERE {where} ORDER BY athlete_id, session_date, exercise")
    sets = rows(f"SELECT * FROM set_view WHERE {where} ORDER BY athlete_id, session_date, recording_id")
    labels = rows(f"SELECT * FROM session_labels WHERE {where}")
    weekly = con.sql(
        "SELECT * FROM weekly WHERE (?::DATE IS NULL OR week >= date_trunc('week', ?::DATE)) "
        "AND (?::VARCHAR IS NULL OR athlete_id = ?) ORDER BY athlete_id, exercise, week",
        params=params,
    ).pl()
    reps = rows(
        "SELECT athlete_id, session_date, exercise, set_number, load_kg, recording_id, rep, "
        "label, confidence, cue FROM rep_view "
        f"WHERE {where} ORDER BY athlete_id, session_date, recording_id, rep"
    )
    video_reps = rows(
        "SELECT athlete_id, session_date, exercise, set_number, recording_id, rep, t_bottom_s, label, "
        "cue FROM rep_view WHERE recording_id IN "
        "(SELECT recording_id FROM recordings WHERE format = 'video') "
        f"AND {where} ORDER BY session_date DESC, exercise, set_number, recording_id, rep"
    )
    sources = dict(
        con.sql(
            "SELECT recording_id, source_file FROM recordings WHERE format = 'video' "
            "AND source_file IS NOT NULL"
        ).fetchall()
    )
    still_landmarks = _still_landmarks(con, video_reps)
    notes = rows(
        "SELECT athlete_id, session_date, exercise, set_number, recording_id, path, note FROM recordings "
        f"WHERE note IS NOT NULL AND {where} "
        "ORDER BY session_date DESC, athlete_id, exercise, set_number, recording_id"
    )
    recorded = rows(f"SELECT DISTINCT athlete_id FROM recordings WHERE {where}")["athlete_id"].to_list()
    not_analysed = _quarantine(con, since, athlete)
    by_athlete = _records_athletes(con)
    return ReportTables(
        flags,
        sessions,
        sets,
        labels,
        weekly,
        reps,
        video_reps,
        sources,
        still_landmarks,
        notes,
        recorded,
        not_analysed,
        by_athlete,
    )


def _still_landmarks(con: duckdb.DuckDBPyConnection, video_reps: pl.DataFrame) -> pl.DataFrame:
    """The lake's landmark frames within ``STILL_WINDOW_S`` of each bottom a still shows: a few
    frames a rep, never a whole video."""
    bottoms = video_reps.join(_still_sets(video_reps).select("recording_id"), on="recording_id").select(
        "recording_id", "t_bottom_s"
    )
    con.register("still_bottoms", bottoms.to_arrow())
    try:
        return con.sql(
            "SELECT DISTINCT v.* FROM video_landmarks v JOIN still_bottoms b USING (recording_id) "
            f"WHERE abs(v.timestamp_ms / 1000.0 - b.t_bottom_s) <= {STILL_WINDOW_S} "
            "ORDER BY v.recording_id, v.frame"
        ).pl()
    finally:
        con.unregister("still_bottoms")


def write_reports(
    tables: ReportTables,
    out_dir: Path,
    athlete: str | None = None,
    since: dt.date | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write index.html, one page per athlete and the CSV tables; returns the athlete pages.

    With ``athlete`` only that athlete's page and CSVs are written: the team pages and team CSVs
    stay as they were (they describe the whole team)."""
    flags, sessions, sets, labels, weekly = (
        tables.flags,
        tables.sessions,
        tables.sets,
        tables.labels,
        tables.weekly,
    )
    reps, video_reps, sources, notes = tables.reps, tables.video_reps, tables.sources, tables.notes
    recorded, not_analysed, by_athlete = tables.recorded, tables.not_analysed, tables.by_athlete
    out_dir.mkdir(parents=True, exist_ok=True)
    if athlete is None:
        assert not_analysed is not None
        _csv(flags, out_dir / "athletes.csv")
        _csv(sessions, out_dir / "sessions.csv")
        _csv(sets, out_dir / "sets.csv")
        _csv(weekly, out_dir / "weekly.csv")
        _csv(not_analysed if by_athlete else not_analysed.drop("athlete_id"), out_dir / "not_analysed.csv")
        _csv(notes, out_dir / "recording_notes.csv")
    # Athletes without reps in the period still get a page (and a row): recordings that gave no
    # reps, or files that were not analysed, are what a coach needs to see for them.
    others = {*recorded, *(a for a in (not_analysed["athlete_id"] if not_analysed is not None else []) if a)}
    if athlete is not None:
        others = {athlete}
    missing = sorted(others - set(flags["athlete_id"].to_list()))
    if missing:
        extra = pl.DataFrame([_no_flags(a) for a in missing], schema=flags.schema)
        flags = pl.concat([flags, extra])
    names = {a: safe_filename(a) for a in flags["athlete_id"].to_list()}
    if progress is not None:
        progress.start(flags.height)
    pages = []
    for row in flags.iter_rows(named=True):
        athlete_id = row["athlete_id"]
        mine = {
            name: frame.filter(pl.col("athlete_id") == athlete_id)
            for name, frame in (
                ("sessions", sessions),
                ("weekly", weekly),
                ("labels", labels),
                ("reps", reps),
                ("notes", notes),
                ("video_reps", video_reps),
            )
        }
        theirs = None
        if not_analysed is not None and by_athlete:
            theirs = not_analysed.filter(pl.col("athlete_id") == athlete_id)
            if theirs.height == 0 and not_analysed["athlete_id"].null_count():
                theirs = None  # files of unknown athletes (older rows): do not claim "none"
        stem = names[athlete_id].removesuffix(".html")
        csv_names = {"sessions": f"{stem}_sessions.csv", "reps": f"{stem}_reps.csv"}
        _csv(mine["sessions"], out_dir / csv_names["sessions"])
        _csv(mine["reps"], out_dir / csv_names["reps"])
        video = mine.pop("video_reps")
        stills = _stills(video, sources, tables.still_landmarks) if video.height else ""
        body = _athlete_page(athlete_id, row, not_analysed=theirs, csv_names=csv_names, stills=stills, **mine)
        path = out_dir / names[athlete_id]
        write_text_atomic(path, _page(f"Athlete {athlete_id}", body))
        pages.append(path)
        if progress is not None:
            progress.advance(1)
    if athlete is None:
        assert not_analysed is not None
        index = _index_page(flags, names, since, weekly, notes, not_analysed)
        write_text_atomic(out_dir / "index.html", _page("Team overview", index))
    return pages
