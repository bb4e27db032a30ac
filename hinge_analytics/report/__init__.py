"""Reports: one HTML page per athlete plus a team index, and CSV tables beside them.

All user-provided text (ids, labels, exercise names) is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import polars as pl

from hinge_analytics.analytics import query
from hinge_analytics.lake import Lake
from hinge_analytics.report.plots import mistake_plot, progress_plot

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.flag{color:#c62828;font-weight:600}
"""


def safe_filename(identifier: str) -> str:
    """A file name for an athlete id: only [A-Za-z0-9_-], so ids can never escape the folder."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", identifier)[:80] or "athlete"
    return f"athlete_{cleaned}.html"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _table(frame: pl.DataFrame, floats: int = 1) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = []
        for v in row:
            if isinstance(v, float):
                text = "" if v != v else f"{v:.{floats}f}"
            else:
                text = "" if v is None else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def build_reports(
    lake: Lake, out_dir: Path, athlete: str | None = None, since: dt.date | None = None
) -> list[Path]:
    """Write index.html, one page per athlete, and sessions.csv; returns the pages written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    where, params = ["1=1"], []
    if athlete is not None:
        where.append("athlete_id = ?")
        params.append(athlete)
    if since is not None:
        where.append("session_date >= ?")
        params.append(since)
    clause = " AND ".join(where)
    sessions = query(
        lake, f"SELECT * FROM sessions WHERE {clause} ORDER BY athlete_id, session_date, exercise", params
    )
    labels = query(
        lake,
        f"SELECT athlete_id, coalesce(label, 'not labelled') AS label, count(*) AS reps FROM rep_view "
        f"WHERE {clause} GROUP BY ALL ORDER BY athlete_id, reps DESC",
        params,
    )
    sessions.write_csv(out_dir / "sessions.csv")
    pages = []
    index_rows = []
    for athlete_id in sessions["athlete_id"].unique(maintain_order=True).to_list():
        mine = sessions.filter(pl.col("athlete_id") == athlete_id)
        counts = labels.filter(pl.col("athlete_id") == athlete_id)
        name = safe_filename(athlete_id)
        table = mine.select(
            "session_date",
            "exercise",
            "reps",
            "top_load_kg",
            (pl.col("share_good") * 100).alias("good_%"),
            "most_common_mistake",
            pl.col("mean_peak_hip_flexion_deg").alias("hip_peak_deg"),
            pl.col("mean_peak_knee_flexion_deg").alias("knee_peak_deg"),
            pl.col("knee_si_pct").alias("knee_SI_%"),
        )
        body = (
            f"<h1>Athlete {html.escape(athlete_id)}</h1><p><a href='index.html'>team overview</a></p>"
            f"<h2>Sessions</h2>{_table(table)}"
            f"<h2>Progress: form and load</h2>{progress_plot(mine)}"
            f"<h2>Rep labels</h2>{mistake_plot(counts)}"
        )
        path = out_dir / name
        path.write_text(_page(f"Athlete {athlete_id}", body), encoding="utf-8")
        pages.append(path)
        index_rows.append(
            f"<tr><td><a href='{name}'>{html.escape(athlete_id)}</a></td>"
            f"<td>{mine['reps'].sum()}</td>"
            f"<td>{100 * (mine['share_good'].mean() or 0):.0f}%</td></tr>"
        )
    index = (
        "<h1>Team overview</h1><table><tr><th>athlete</th><th>reps</th><th>good reps</th></tr>"
        + "".join(index_rows)
        + "</table>"
    )
    (out_dir / "index.html").write_text(_page("Team overview", index), encoding="utf-8")
    return pages
