"""The weekly report as a Prefect deployment: ``hinge schedule`` serves it on a cron schedule.

``flow.to_deployment`` + ``prefect.serve`` (https://docs.prefect.io/v3/how-to-guides/deployments/run-flows-in-local-processes):
the serving process polls the Prefect API for due runs and executes them itself; no work pool or
worker is needed. Without ``PREFECT_API_URL`` the API is served from a thread of the serving process
(pipelines/api.py).
"""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from hinge_analytics.pipelines.api import ensure_api
from hinge_analytics.pipelines.batch_flows import weekly_flow

DEPLOYMENT_PREFIX = "hinge-weekly-report"
DEFAULT_CRON = "0 6 * * MON"  # Mondays 06:00


class ScheduleError(ValueError):
    """A schedule the user asked for that cannot work; the message is for the user."""


@dataclass(frozen=True)
class WeeklyJob:
    """What the scheduled run does: the parameters of
    :func:`hinge_analytics.pipelines.batch_flows.weekly_flow`."""

    manifest_dir: Path
    lake_root: str
    reports_dir: Path
    model_dir: Path | None = None
    report_weeks: int | None = None

    def deployment_name(self) -> str:
        """One deployment per (inbox, lake, reports): two teams served from one machine (one Prefect
        database) must not share a deployment, or one's Ctrl-C, which pauses the schedules of the
        deployments it served, stops the other's cron."""
        digest = hashlib.sha256(json.dumps(self.parameters(), sort_keys=True).encode()).hexdigest()[:10]
        return f"{DEPLOYMENT_PREFIX}-{digest}"

    def parameters(self) -> dict:
        return {
            "manifest_dir": str(self.manifest_dir.resolve()),
            "lake_root": self.lake_root if "://" in self.lake_root else str(Path(self.lake_root).resolve()),
            "reports_dir": str(self.reports_dir.resolve()),
            "model_dir": None if self.model_dir is None else str(self.model_dir.resolve()),
            "report_weeks": self.report_weeks,
        }


def validate(cron: str, timezone: str, job: WeeklyJob) -> Cron:
    """The cron schedule, or ScheduleError with a one-line reason."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {timezone!r} (use e.g. UTC or Europe/Berlin)") from None
    try:
        schedule = Cron(cron, timezone=timezone)
    except ValueError:
        raise ScheduleError(f"{cron!r} is not a cron expression like '0 6 * * MON'") from None
    if not job.manifest_dir.is_dir():
        raise ScheduleError(f"manifest folder {job.manifest_dir} does not exist")
    if job.model_dir is not None and not (job.model_dir / "model.json").is_file():
        raise ScheduleError(f"{job.model_dir} is not a model folder (no model.json)")
    return schedule


def build_deployment(cron: str, job: WeeklyJob, timezone: str = "UTC") -> RunnerDeployment:
    """The deployment of the weekly flow with its schedule and fixed parameters (no API calls)."""
    schedule = validate(cron, timezone, job)
    return weekly_flow.to_deployment(
        name=job.deployment_name(),
        schedules=[schedule],
        parameters=job.parameters(),
        description="Ingest new recordings, label new reps, rebuild the coach reports.",
        tags=["hinge", "reports"],
        entrypoint_type=EntrypointType.MODULE_PATH,  # works from any working directory
    )


def serve_weekly(cron: str, job: WeeklyJob, timezone: str = "UTC") -> None:  # pragma: no cover - blocks
    """Serve the deployment until interrupted (Ctrl-C)."""
    from prefect import serve

    ensure_api(scheduler=True)  # the runner and the flow-run processes it starts talk to it
    serve(build_deployment(cron, job, timezone))
