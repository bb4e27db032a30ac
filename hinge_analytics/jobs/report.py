"""The report job: the lake's views read once, then the report pages and CSVs written."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

from hinge_analytics.jobs.query import connect
from hinge_analytics.lake import Lake, LakeError
from hinge_analytics.progress import Progress
from hinge_analytics.report import known_athletes, report_tables, write_reports

KNOWN_SHOWN = 20  # athlete ids an "unknown athlete" message lists


class UnknownAthlete(LakeError):
    """``--athlete`` names no athlete of the lake. A LakeError, so that the command line and the
    flows report it like any other lookup in the lake: one line, nothing written."""


def _unknown(athlete: str, known: list[str], root: str) -> UnknownAthlete:
    if not known:
        return UnknownAthlete(f"no athlete {athlete!r}: the lake at {root} has no athletes yet")
    same = [a for a in known if a.casefold() == athlete.casefold()]  # ids are case-sensitive
    close = same or difflib.get_close_matches(athlete, known, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    listed = ", ".join(known[:KNOWN_SHOWN]) + (
        f" and {len(known) - KNOWN_SHOWN} more" if len(known) > KNOWN_SHOWN else ""
    )
    return UnknownAthlete(f"no athlete {athlete!r} in the lake at {root}; {hint}known athletes: {listed}")


def build_reports(
    lake: Lake,
    out_dir: Path,
    athlete: str | None = None,
    since: dt.date | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write index.html, one page per athlete and the CSV tables (`report.write_reports`); returns
    the athlete pages. An athlete the lake does not know raises UnknownAthlete naming the known
    ones, before anything is written."""
    con = connect(lake)
    try:
        if athlete is not None:
            known = known_athletes(con)
            if athlete not in known:
                raise _unknown(athlete, known, lake.root)
        tables = report_tables(con, athlete, since)
    finally:
        con.close()
    return write_reports(tables, out_dir, athlete, since, progress)
