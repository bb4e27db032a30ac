"""What the flows leave in a Prefect server for the people who watch it: each recording's outcome
in the run log, the files not analysed and the report's path as artifacts.

Artifacts are made only when a Prefect server is in use (`api.server_in_use`): the API a one-off
command serves itself is gone when it ends, and nobody could look at them.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from hinge_analytics.jobs.ingest import ChunkSummary
from hinge_analytics.pipelines import api

MAX_TABLE_ROWS = 1000  # a quarantine artifact lists this many files, then says how many more


def outcome_lines(summary: ChunkSummary) -> list[str]:
    """One line per recording of a chunk: ingested (with its note), skipped, or quarantined and why."""
    notes = dict(summary.notes)
    lines = [f"{rid}: ingested" + (f" ({notes[rid]})" if rid in notes else "") for rid in summary.ingested]
    lines += [f"{rid}: skipped, unchanged since it was ingested" for rid in summary.skipped]
    lines += [f"{rid}: not analysed: {reason}" for rid, reason in summary.quarantined]
    return lines


def log_outcomes(summary: ChunkSummary) -> None:
    """The chunk's recordings in the task's run log: one record per chunk (a record per recording
    would be 10,000 API writes for a big batch)."""
    lines = outcome_lines(summary)
    if lines:
        get_run_logger().info(
            "%d ingested (%d reps), %d skipped, %d not analysed:\n%s",
            len(summary.ingested),
            summary.reps,
            len(summary.skipped),
            len(summary.quarantined),
            "\n".join(lines),
        )


def publish_quarantine(summary: ChunkSummary, manifest: str) -> None:
    """The batch's files not analysed, as a table artifact, when a Prefect server is in use."""
    if not api.server_in_use() or not summary.quarantined:
        return
    rows = [{"recording_id": rid, "reason": reason} for rid, reason in summary.quarantined[:MAX_TABLE_ROWS]]
    more = len(summary.quarantined) - len(rows)
    create_table_artifact(
        rows,
        key="hinge-not-analysed",
        description=f"Files of {manifest} not analysed, with the reason"
        + (f'; {more} more: `hinge query "SELECT * FROM quarantine"`' if more > 0 else ""),
    )


def publish_report(index: Path, pages: int) -> None:
    """Where the reports were written, as a markdown artifact, when a Prefect server is in use."""
    if not api.server_in_use():
        return
    create_markdown_artifact(
        f"Reports: `{index}` (team overview) and {pages} athlete page(s) beside it.",
        key="hinge-report",
        description="Where the weekly reports were written",
    )
