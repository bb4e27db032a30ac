"""``hinge``: the command line (SPEC.md "Command line"). Parses options, calls library functions.

User errors exit non-zero with one line on stderr, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hinge_analytics.lake import Lake, LakeError, resolve_lake

app = typer.Typer(
    help="Rep-level form feedback for hip-hinge exercises from pose estimators and IMUs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
F = TypeVar("F", bound=Callable)

LakeOption = Annotated[
    Path | None,
    typer.Option("--lake", help="Lake folder or URL (default: $HINGE_LAKE, else data/lake)."),
]


class UserError(Exception):
    """Something the user can fix; printed as one line."""


def _user_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args, **kwargs):
        from deltalake.exceptions import DeltaError

        from hinge_analytics.analytics import QueryError
        from hinge_analytics.classify.model import ModelError
        from hinge_analytics.ingest.errors import BadRecording, first_line

        try:
            return func(*args, **kwargs)
        except (UserError, LakeError, ModelError, BadRecording, QueryError, FileNotFoundError) as exc:
            print(f"hinge: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        except (OSError, DeltaError) as exc:  # disk full, permissions, an unreachable object store
            print(f"hinge: could not read or write the lake or a file: {first_line(exc)}", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _existing_lake(lake: Path | None) -> Lake:
    opened = Lake(resolve_lake(lake))
    if not opened.is_lake():
        raise UserError(f"no lake at {opened.root} (run `hinge ingest MANIFEST` first)")
    return opened


def _print_table(frame, title: str | None = None, limit: int = 50) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for row in frame.head(limit).iter_rows():
        table.add_row(*("" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
    if frame.height > limit:
        console.print(f"... {frame.height - limit} more rows (use --csv for all)")


@app.command()
@_user_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the batch into.")],
    athletes: Annotated[int, typer.Option(min=1, max=500)] = 4,
    sessions: Annotated[int, typer.Option(min=1, max=104)] = 3,
    formats: Annotated[str, typer.Option(help="Comma-separated formats, or 'all'.")] = "mediapipe_csv",
    exercises: Annotated[str, typer.Option(help="Comma-separated exercises, or 'all'.")] = "all",
    sets: Annotated[int, typer.Option("--sets", min=1, max=20, help="Sets per exercise and session.")] = 2,
    bad: Annotated[
        int, typer.Option("--bad", min=0, max=1000, help="Bad inputs to add (each case at least once).")
    ] = 0,
    seed: int = 0,
) -> None:
    """Simulate a team: recordings, manifest.csv, rep_labels.csv, truth_reps.csv and athletes.csv
    (plus bad_files.csv with --bad)."""
    from hinge_analytics.schema import EXERCISES
    from hinge_analytics.simulate.team import SUPPORTED_FORMATS, simulate_team

    def listed(text: str, everything: tuple[str, ...]) -> tuple[str, ...]:
        return everything if text == "all" else tuple(t.strip() for t in text.split(",") if t.strip())

    chosen, moves = listed(formats, SUPPORTED_FORMATS), listed(exercises, EXERCISES)
    try:
        manifest = simulate_team(
            out,
            athletes=athletes,
            sessions=sessions,
            formats=chosen,
            exercises=moves,
            sets_per_exercise=sets,
            seed=seed,
            bad=bad,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    console.print(f"wrote {manifest}")


@app.command()
@_user_errors
def ingest(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV of the batch.")],
    lake: LakeOption = None,
    force: Annotated[bool, typer.Option(help="Re-process recordings already in the lake.")] = False,
) -> None:
    """Ingest a batch: read, angles, reps, per-rep metrics (idempotent per recording_id)."""
    from hinge_analytics.ingest.manifest import read_manifest

    read_manifest(manifest)  # fail fast, before Prefect starts, on an unusable manifest
    from pipelines.ingest_flow import run_ingest

    summary = run_ingest(str(manifest), resolve_lake(lake), force=force)
    console.print(
        f"ingested {len(summary.ingested)} recording(s) ({summary.reps} reps), "
        f"skipped {len(summary.skipped)} already in the lake, quarantined {len(summary.quarantined)}"
    )
    for rid, reason in summary.quarantined:
        console.print(f"  [yellow]quarantined[/] {rid}: {reason}", highlight=False)


@app.command()
@_user_errors
def train(
    lake: LakeOption = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="CSV recording_id,rep,label.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")] = Path("models/custom"),
    uncertain_below: Annotated[
        float, typer.Option("--uncertain-below", help="Probability under which a rep is 'uncertain'.")
    ] = 0.5,
) -> None:
    """Train the rep classifier on labelled reps (one model per modality/sensor set); prints
    leave-athlete-out quality and writes a model card."""
    from hinge_analytics.classify import train as train_model

    if labels is not None and not labels.is_file():
        raise UserError(f"labels file {labels} does not exist")
    if not 0.0 <= uncertain_below <= 1.0:
        raise UserError("--uncertain-below must be between 0 and 1")
    meta = train_model(_existing_lake(lake), out, labels_file=labels, uncertain_below=uncertain_below)
    ev = meta["evaluation"]
    console.print(
        f"model {meta['model_version']} -> {out}\n"
        f"leave-athlete-out ({ev['n_athletes']} athletes, {ev['n_reps']} reps): "
        f"accuracy {ev['accuracy']:.3f}, macro-F1 {ev['macro_f1']:.3f}, "
        f"sensitivity {ev['sensitivity']:.3f}, specificity {ev['specificity']:.3f}"
    )
    for key, fam in meta["families"].items():
        fev = fam["evaluation"]
        console.print(
            f"  {key}: {fam['estimator']}, {fev['n_reps']} reps, macro-F1 {fev['macro_f1']:.3f}, "
            f"sensitivity {fev['sensitivity']:.3f}, specificity {fev['specificity']:.3f}, "
            f"ECE {fev['ece']:.3f}"
        )
    console.print(f"model card: {out / 'MODEL_CARD.md'}")


@app.command()
@_user_errors
def predict(
    lake: LakeOption = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model folder (default: shipped model).")
    ] = None,
    all_reps: Annotated[bool, typer.Option("--all", help="Relabel every rep, not only new ones.")] = False,
    uncertain_below: Annotated[
        float | None,
        typer.Option("--uncertain-below", help="Override the model's 'uncertain' probability threshold."),
    ] = None,
) -> None:
    """Label every rep that has no label yet (or all, with --all)."""
    from hinge_analytics.classify import DEFAULT_MODEL_DIR, load_model
    from hinge_analytics.classify import predict as predict_reps

    if uncertain_below is not None and not 0.0 <= uncertain_below <= 1.0:
        raise UserError("--uncertain-below must be between 0 and 1")
    loaded = load_model(model or DEFAULT_MODEL_DIR)
    count = predict_reps(_existing_lake(lake), loaded, all_reps=all_reps, uncertain_below=uncertain_below)
    console.print(f"labelled {count} rep(s) with model {loaded.version}")


@app.command()
@_user_errors
def report(
    out: Annotated[Path, typer.Option("--out", help="Folder for the HTML pages and CSV tables.")],
    lake: LakeOption = None,
    athlete: Annotated[str | None, typer.Option(help="Only this athlete.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only sessions on or after this date (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Write HTML reports (team overview + one page per athlete) and CSV tables."""
    from hinge_analytics.report import build_reports

    since_date = None
    if since is not None:
        try:
            since_date = dt.date.fromisoformat(since)
        except ValueError:
            raise UserError(f"--since {since!r} is not a date like 2026-03-14") from None
    pages = build_reports(_existing_lake(lake), out, athlete=athlete, since=since_date)
    console.print(f"wrote {len(pages)} athlete page(s); open {out / 'index.html'}")


@app.command()
@_user_errors
def export(
    what: Annotated[str, typer.Argument(help="reps | sessions | quarantine")],
    out: Annotated[Path, typer.Option("--out", help="File to write: .csv or .parquet.")],
    lake: LakeOption = None,
) -> None:
    """Export a table as CSV or Parquet (by the file extension)."""
    from hinge_analytics.analytics import query
    from hinge_analytics.report import spreadsheet_safe
    from hinge_analytics.schema import EXPORT_REPS_COLUMNS

    sql = {
        "reps": f"SELECT {', '.join(EXPORT_REPS_COLUMNS)} FROM rep_view "
        "ORDER BY athlete_id, session_date, recording_id, rep",
        "sessions": "SELECT * FROM sessions ORDER BY athlete_id, session_date, exercise",
        "quarantine": "SELECT recording_id, path, reason, quarantined_at FROM quarantine "
        "ORDER BY quarantined_at, recording_id",
    }.get(what)
    if sql is None:
        raise UserError(f"cannot export {what!r}: choose reps, sessions or quarantine")
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UserError(f"--out must end in .csv or .parquet, not {out.name!r}")
    frame = query(_existing_lake(lake), sql)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        spreadsheet_safe(frame).write_csv(out)
    else:
        frame.write_parquet(out)
    console.print(f"wrote {frame.height} row(s) to {out}")


@app.command(name="query")
@_user_errors
def query_command(
    sql: Annotated[str, typer.Argument(help="A read-only SELECT over the lake's views.")],
    lake: LakeOption = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """Run read-only SQL over the views: recordings, reps, angles, predictions, quarantine, rep_view,
    set_view, session_labels, sessions, weekly, and athlete_flags(since, athlete) (NULL = all)."""
    from hinge_analytics.analytics import read_only_query

    frame = read_only_query(_existing_lake(lake), sql)
    if csv:
        sys.stdout.write(frame.write_csv())
    else:
        _print_table(frame)


@app.command()
@_user_errors
def schedule(
    manifest_dir: Annotated[
        Path, typer.Option("--manifest-dir", help="Folder the coach drops batches into (manifest*.csv).")
    ],
    reports: Annotated[Path, typer.Option("--reports", help="Folder the reports are (re)written to.")],
    cron: Annotated[str, typer.Option("--cron", help="When to run, cron syntax.")] = "0 6 * * MON",
    timezone: Annotated[str, typer.Option("--timezone", help="Time zone of the cron times.")] = "UTC",
    lake: LakeOption = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model folder (default: shipped model).")
    ] = None,
    weeks: Annotated[
        int | None, typer.Option("--weeks", min=1, help="Reports cover the last N weeks (default: all).")
    ] = None,
    run_now: Annotated[
        bool, typer.Option("--run-now", help="Run the job once now and exit instead of serving.")
    ] = False,
) -> None:
    """Serve a Prefect deployment that runs ingest + predict + report on a schedule (blocks; Ctrl-C
    stops it)."""
    from pipelines.schedule import ScheduleError, WeeklyJob, build_deployment, serve_weekly

    job = WeeklyJob(manifest_dir, resolve_lake(lake), reports, model, weeks)
    try:
        build_deployment(cron, job, timezone)  # validates before anything starts
    except ScheduleError as exc:
        raise UserError(str(exc)) from None
    if run_now:
        from pipelines.batch_flows import weekly_flow

        result = weekly_flow(**job.parameters())
        console.print(
            f"ingested {result['ingested']} recording(s), quarantined {result['quarantined']}, "
            f"labelled {result['labelled']} rep(s); report: {result['report']}"
        )
        return
    console.print(f"serving the weekly report on '{cron}' ({timezone}); Ctrl-C to stop")
    serve_weekly(cron, job, timezone)


@app.command()
@_user_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for data, lake and reports.")] = Path("demo_out"),
    athletes: Annotated[int, typer.Option(min=2, max=50)] = 6,
    sessions: Annotated[int, typer.Option(min=1, max=20)] = 4,
) -> None:
    """Simulate a small team and run the whole pipeline: ingest, train, predict, report."""
    import shutil

    if (out / "lake").exists():
        shutil.rmtree(out / "lake")  # the demo always starts from a fresh lake
    from pipelines.batch_flows import demo_flow

    result = demo_flow(str(out), athletes=athletes, sessions=sessions)
    ev = result["evaluation"]
    console.print(
        f"simulated and ingested {result['recordings']} recordings ({result['reps']} reps, "
        f"{result['quarantined']} quarantined)\n"
        f"trained {result['model_version']}: leave-athlete-out macro-F1 {ev['macro_f1']:.3f}, "
        f"accuracy {ev['accuracy']:.3f}\n"
        f"labelled {result['labelled']} reps with the shipped model {result['default_model']}\n"
        f"report: {result['report']}"
    )


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("MPLBACKEND", "Agg")
    app()
