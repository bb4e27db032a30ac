"""Predict, report, the weekly scheduled run, and the demo: each a short flow over library calls."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE

from hinge_analytics.classify import DEFAULT_MODEL_DIR, load_model
from hinge_analytics.jobs.predict import predict
from hinge_analytics.jobs.report import build_reports
from hinge_analytics.jobs.train import train
from hinge_analytics.lake import Lake
from hinge_analytics.pipelines.api import ensure_api
from hinge_analytics.pipelines.artifacts import publish_report
from hinge_analytics.pipelines.ingest_flow import run_ingest
from hinge_analytics.schema import EXERCISES
from hinge_analytics.simulate.team import simulate_team


@task(cache_policy=NONE)
def predict_task(lake_root: str, model_dir: str, all_reps: bool = False) -> int:
    return predict(Lake(lake_root), load_model(Path(model_dir)), all_reps=all_reps)


@task(cache_policy=NONE)
def report_task(
    lake_root: str, out_dir: str, athlete: str | None = None, since: dt.date | None = None
) -> list[Path]:
    return build_reports(Lake(lake_root), Path(out_dir), athlete=athlete, since=since)


@flow(name="hinge-weekly")
def weekly_flow(
    manifest_dir: str,
    lake_root: str,
    reports_dir: str,
    model_dir: str | None = None,
    report_weeks: int | None = None,
) -> dict:
    """Ingest every manifest*.csv under ``manifest_dir`` (idempotent: unchanged recordings are
    skipped), label new reps, rebuild the reports (all history, or the last ``report_weeks``)."""
    ingested = quarantined = 0
    for manifest in sorted(Path(manifest_dir).rglob("manifest*.csv")):
        summary = run_ingest(str(manifest), lake_root)
        ingested += len(summary.ingested)
        quarantined += len(summary.quarantined)
    labelled = predict_task(lake_root, model_dir or str(DEFAULT_MODEL_DIR))
    since = None if report_weeks is None else dt.date.today() - dt.timedelta(weeks=report_weeks)
    pages = report_task(lake_root, reports_dir, since=since)
    publish_report(Path(reports_dir) / "index.html", len(pages))
    return {
        "ingested": ingested,
        "quarantined": quarantined,
        "labelled": labelled,
        "pages": len(pages),
        "report": str(Path(reports_dir) / "index.html"),
    }


def run_weekly(**parameters: object) -> dict:
    """`weekly_flow` once, now, against the configured or in-process Prefect API (pipelines/api.py)."""
    ensure_api()
    return weekly_flow(**parameters)  # type: ignore[arg-type]


# Phone pose (world and image landmarks), 2D keypoints, mocap markers and IMUs side by side.
DEMO_FORMATS = ("mediapipe_csv", "coco17_json", "trc", "imu_csv")


@flow(name="hinge-demo")
def demo_flow(out_dir: str, athletes: int = 6, sessions: int = 4, seed: int = 7) -> dict:
    """Simulate a team, ingest it into a fresh lake, train, predict, report.

    Reps are labelled by the shipped default model, which never saw these athletes; the model
    trained here on the demo team is reported with its leave-athlete-out scores only.
    """
    out = Path(out_dir)
    data, lake_root, reports = out / "data", out / "lake", out / "reports"
    manifest = simulate_team(
        data,
        athletes=athletes,
        sessions=sessions,
        formats=DEMO_FORMATS,
        exercises=EXERCISES,
        sets_per_exercise=1,
        seed=seed,
        bad=3,
    )
    summary = run_ingest(str(manifest), str(lake_root))
    model_dir = out / "model"
    # One estimator family keeps the demo quick; `hinge train` compares all of them.
    meta = train(Lake(str(lake_root)), model_dir, labels_file=data / "rep_labels.csv", candidates=("rf",))
    labelled = predict_task(str(lake_root), str(DEFAULT_MODEL_DIR))
    pages = report_task(str(lake_root), str(reports))
    return {
        "recordings": len(summary.ingested),
        "quarantined": len(summary.quarantined),
        "reps": summary.reps,
        "labelled": labelled,
        "evaluation": meta["evaluation"],
        "model_version": meta["model_version"],
        "default_model": load_model(DEFAULT_MODEL_DIR).version_,
        "report": str(reports / "index.html"),
        "pages": len(pages),
    }


def run_demo(out_dir: str, athletes: int = 6, sessions: int = 4) -> dict:
    """`demo_flow` against the configured or in-process Prefect API (pipelines/api.py)."""
    ensure_api()
    return demo_flow(out_dir, athletes=athletes, sessions=sessions)
