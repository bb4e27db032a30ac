"""``hinge``: the command line (SPEC.md "Command line"). Parses options, calls library functions.

User errors exit non-zero with one line on stderr, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hinge_analytics.jobs.query import QUERY_MEMORY_LIMIT, QUERY_TIMEOUT_S
from hinge_analytics.lake import Lake, LakeError, resolve_lake

if TYPE_CHECKING:
    import polars as pl

    from hinge_analytics.ingest.discover import Defaults, Row

app = typer.Typer(
    help="Rep-level form feedback for hip-hinge exercises from pose estimators and IMUs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a docstring's lines form one paragraph, not one line each
)
# No markup or emoji codes: everything printed holds user text (ids, names, paths, reasons), and an
# id like ``mk[/x]`` raised MarkupError, ``[bold]`` or ``:smile:`` altered what was printed.
console = Console(soft_wrap=True, markup=False, emoji=False)
F = TypeVar("F", bound=Callable)
T = TypeVar("T")
QUERY_MAX_ROWS = 1000

LakeOption = Annotated[
    Path | None,
    typer.Option("--lake", help="Lake folder or URL (default: $HINGE_LAKE, else data/lake)."),
]


class UserError(Exception):
    """Something the user can fix; printed as one line."""


def _option_date(option: str, value: str | None) -> dt.date | None:
    """An ISO date given on the command line, or a one-line user error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date like 2026-03-14") from None


def _user_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args, **kwargs):
        import duckdb
        from deltalake.exceptions import DeltaError

        from hinge_analytics.analytics import QueryError, QueryInterrupted, QueryStopped
        from hinge_analytics.ingest.errors import BadRecording, first_line

        # Only a command that imported the classifier can raise its error; importing it here
        # (scikit-learn) would cost every command a second, a one-off ingest a third of its time.
        estimator = sys.modules.get("hinge_analytics.classify.estimator")
        model_error = () if estimator is None else (estimator.ModelError,)

        try:
            return func(*args, **kwargs)
        except QueryStopped as exc:
            print(f"hinge: {exc}", file=sys.stderr)
            code = 130 if isinstance(exc, QueryInterrupted) else 2  # 130: the shell's code for Ctrl-C
            if exc.still_running:
                # Its thread is still inside DuckDB, and the interpreter's shutdown would end it
                # with a forced unwind that C++ aborts on ("FATAL: exception not rethrown").
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
            raise typer.Exit(code) from None
        except (UserError, LakeError, BadRecording, QueryError, FileNotFoundError, *model_error) as exc:
            print(f"hinge: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        except (OSError, DeltaError, duckdb.Error) as exc:  # disk full, permissions, a lost data file
            print(f"hinge: could not read or write the lake or a file: {first_line(exc)}", file=sys.stderr)
            raise typer.Exit(1) from None
        except BaseException as exc:
            # delta-rs reports a panic as pyo3's PanicException, a BaseException
            if type(exc).__name__ != "PanicException":
                raise
            print(f"hinge: the lake could not be read or written: {first_line(exc)}", file=sys.stderr)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _existing_lake(lake: Path | None) -> Lake:
    """The lake, checked without writing anything (read-only commands open it with
    ``jobs.query.connect``, which never creates tables either)."""
    opened = Lake(resolve_lake(lake))
    if not opened.is_lake():
        raise UserError(f"no lake at {opened.root} (run `hinge ingest MANIFEST` first)")
    return opened


def _local_path(root: str) -> Path | None:
    """The folder of a lake root on this machine, None for an object-store URL."""
    if root.startswith("file://"):
        return Path(root.removeprefix("file://"))
    return None if "://" in root else Path(root)


def _writable_lake(root: str) -> str:
    """``root``, or UserError if a local lake cannot be written: checked before any work starts,
    because delta-rs fails deep inside a commit (a Prefect traceback, or a Rust panic)."""
    folder = _local_path(root)
    if folder is None:
        return root
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        read_only_fs = hasattr(os, "statvfs") and os.statvfs(existing).f_flag & os.ST_RDONLY
        why = "is on a read-only file system" if read_only_fs else "is not writable (permissions)"
        raise UserError(f"cannot write the lake at {root}: {existing} {why}")
    return root


def _outside_lake(path: Path, lake_root: str, option: str) -> Path:
    """``path``, or UserError when it is the lake or inside it: a file there is not part of any
    table, and vacuum deletes what no table references; an export to a data file emptied a lake."""
    folder = _local_path(lake_root)
    if folder is not None:
        lake_dir, target = folder.resolve(), path.resolve()
        if target == lake_dir or lake_dir in target.parents:
            raise UserError(f"{option} {path} is inside the lake at {lake_root}; choose a path outside it")
    return path


def _print_table(frame: pl.DataFrame) -> None:
    table = Table()
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


def _with_prefect(run: Callable[[], T], scheduler: bool = False) -> T:
    """``run()`` (which runs flows), with the in-process Prefect API failing as a one-line error."""
    from hinge_analytics.pipelines.api import APIUnavailable, ensure_api

    try:
        ensure_api(scheduler)
    except APIUnavailable as exc:
        raise UserError(str(exc)) from None
    return run()


def _prefect_server_configured() -> bool:
    """Whether Prefect's settings (environment, profile or prefect.toml) name a server's API.

    Then a one-off command runs as a flow, so the team's Prefect UI shows its run, logs and
    artifacts. Otherwise it runs the same steps in this process: an API started only for the
    command would die with it, and starting it cost 5-6 s of a 7-8 s ten-recording ingest."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def _stop_now(message: str, code: int = 130) -> NoReturn:
    """Print and exit at once. The ingest's worker threads cannot be interrupted and would finish
    their chunk first (a video: minutes); the lake is consistent at any moment of a kill (lake.py),
    so leaving them is safe."""
    console.file.flush()
    print(f"hinge: {message}", file=sys.stderr, flush=True)
    os._exit(code)


# A batch of 25,000 missing files printed 25,000 lines; the lake keeps every reason.
QUARANTINE_PRINTED = 20

QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar (there is none when output is not a terminal).")
]


class _Bar:
    """A rich progress bar: done / total units, elapsed, time left. A bar made ``hidden`` appears
    at its first ``start`` with a total (a batch without videos shows no frames bar)."""

    def __init__(self, progress, what: str, units: str, hidden: bool = False) -> None:  # noqa: ANN001
        self._progress, self._what, self._units = progress, what, units
        self._task = None if hidden else progress.add_task(what, total=None, units=units)

    def start(self, total: int) -> None:
        if self._task is None:
            if total:
                self._task = self._progress.add_task(self._what, total=total, units=self._units)
            return
        self._progress.update(self._task, total=total, completed=0)

    def advance(self, done: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, done)  # rich locks: worker threads may call this

    def below(self, what: str, units: str) -> _Bar:
        """A second bar under this one, shown once it has a total."""
        return _Bar(self._progress, what, units, hidden=True)


@contextmanager
def _progress_bar(what: str, quiet: bool, units: str = "recordings") -> Iterator[_Bar | None]:
    """A progress bar on the terminal while the block runs; None with --quiet or when stdout is not
    a terminal (a script's log gets no bar lines). Until ``start(total)`` it shows elapsed time only."""
    if quiet or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[units]},"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield _Bar(progress, what, units)


# --------------------------------------------------------------------------- finding recordings
PatternOption = Annotated[
    str | None,
    typer.Option(
        "--pattern",
        help="How recordings are named, matched against the end of each path relative to the folder "
        "(extension left out), e.g. '{athlete}/{date}/{exercise}_set{set}'. Placeholders: {athlete} "
        "{date} {exercise} {set} {load} {side} {*}. See docs/manifest.md.",
    ),
]
AthleteOption = Annotated[str | None, typer.Option("--athlete", help="athlete_id where the name gives none.")]
ExerciseOption = Annotated[
    str | None, typer.Option("--exercise", help="Exercise where the name gives none (e.g. deadlift, rdl).")
]
DateOption = Annotated[
    str | None, typer.Option("--date", help="session_date (YYYY-MM-DD) where the name gives none.")
]
RateOption = Annotated[
    float | None,
    typer.Option(
        "--sample-rate", help="Rate in Hz for recordings whose files carry no times (video: its frame rate)."
    ),
]
PlacementOption = Annotated[
    str | None,
    typer.Option("--placement", help="Where a single-sensor device was worn, when its layout says nothing."),
]


def _defaults(
    athlete: str | None, exercise: str | None, date: str | None, rate: float | None, placement: str | None
) -> Defaults:
    """The options' values for every recording whose name does not give them, checked."""
    from hinge_analytics.ingest.discover import Defaults, exercise_name
    from hinge_analytics.schema import IMU_PLACEMENTS

    lift = None
    if exercise is not None:
        lift = exercise_name(exercise)
        if lift is None:
            raise UserError(f"--exercise {exercise!r} is not a lift's name (e.g. deadlift, rdl, split_squat)")
    day = _option_date("--date", date)
    if rate is not None and not 1.0 <= rate <= 10000.0:
        raise UserError("--sample-rate must be between 1 and 10000 Hz")
    if placement is not None and placement.lower() not in IMU_PLACEMENTS:
        raise UserError(f"--placement {placement!r} is not one of {', '.join(IMU_PLACEMENTS)}")
    return Defaults(
        athlete_id=athlete.strip() if athlete else None,
        session_date=day,
        exercise=lift,
        sample_rate_hz=rate,
        placement=placement.lower() if placement else None,
    )


def _discover(
    folder: Path, base: Path, pattern: str | None, defaults: Defaults, exclude: Path | None, quiet: bool
) -> list[Row]:
    """The manifest rows of the recordings in ``folder`` (paths relative to ``base``), with what
    was found and skipped printed."""
    from hinge_analytics.ingest.discover import NotAFolder, Pattern, PatternError, describe, find_recordings

    try:
        parsed = Pattern.parse(pattern) if pattern else None
        candidates, skipped = find_recordings(folder, exclude=[exclude] if exclude else [])
    except (PatternError, NotAFolder) as exc:
        raise UserError(str(exc)) from None
    if not candidates:
        raise UserError(f"no recordings found in {folder} (see docs/formats.md for the formats read)")
    with _progress_bar("reading", quiet) as bar:
        if bar is not None:
            bar.start(len(candidates))
        rows = describe(candidates, folder, base, parsed, defaults, bar.advance if bar else None)
    line = f"found {len(candidates)} recording(s) in {folder}"
    if skipped:
        line += f"; skipped {len(skipped)} file(s) that are not recordings"
    console.print(line, highlight=False)
    for item in skipped[:5]:
        console.print(f"  skipped {item.path.relative_to(folder.resolve())}: {item.reason}", highlight=False)
    if len(skipped) > 5:
        console.print(f"  ... and {len(skipped) - 5} more", highlight=False)
    return rows


def _write_manifest(rows: list[Row], out: Path) -> None:
    from hinge_analytics.atomic import write_atomic
    from hinge_analytics.ingest.discover import manifest_frame

    write_atomic(out, manifest_frame(rows).write_csv)


def _print_to_fill(rows: list[Row], manifest: Path) -> None:
    """Which rows a coach must fill or look at, by column, with row numbers."""
    from hinge_analytics.ingest.discover import needs_filling, ranges, unreadable

    needs = needs_filling(rows)
    if needs:
        console.print(f"to fill in {manifest} before ingesting (column: rows):", highlight=False)
        for column, numbers in needs.items():
            console.print(f"  {column}: {ranges(numbers)}", highlight=False)
    for number, reason in unreadable(rows)[:10]:
        console.print(f"  row {number}: {reason}", highlight=False)
    if not needs and not unreadable(rows):
        console.print("every row is complete; check the values anyway", highlight=False)


@app.command(name="manifest")
@_user_errors
def manifest_command(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Folder of recordings (nothing is written in it).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Manifest CSV to write.")] = Path("manifest.csv"),
    pattern: PatternOption = None,
    athlete: AthleteOption = None,
    exercise: ExerciseOption = None,
    date: DateOption = None,
    sample_rate: RateOption = None,
    placement: PlacementOption = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Find the recordings in FOLDER and write a manifest to check and edit: format, rate and
    duration from the data; athlete, date, exercise, set, load and side from the names by --pattern
    (or the options); says which rows still need filling. Columns: docs/manifest.md."""
    from hinge_analytics.ingest.discover import manifest_base

    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {out / 'manifest.csv'}")
    if out.exists() and not overwrite:
        raise UserError(f"{out} exists (perhaps edited by hand); add --overwrite to replace it")
    defaults = _defaults(athlete, exercise, date, sample_rate, placement)
    base = manifest_base(folder, out)
    rows = _discover(folder, base, pattern, defaults, out, quiet)
    _write_manifest(rows, out)
    console.print(f"wrote {out} ({len(rows)} rows)", highlight=False)
    _print_to_fill(rows, out)
    batch = "" if base == out.resolve().parent else f" --batch-dir {folder}"
    console.print(f"then: hinge ingest {out}{batch}", highlight=False)


def _manifest_beside(lake_root: str, folder: Path) -> Path:
    """Where `hinge ingest FOLDER` keeps the manifest it wrote: next to a local lake (named after
    the folder, so the next run of the same folder replaces it), else in a temporary folder."""
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in folder.resolve().name)[:60]
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:8]
    local = _local_path(lake_root)
    if local is not None:
        return local.absolute().parent / f"manifest-{name}-{digest}.csv"
    return Path(tempfile.mkdtemp(prefix="hinge-manifest-")) / f"manifest-{name}-{digest}.csv"


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
    source: Annotated[
        Path,
        typer.Argument(metavar="MANIFEST|FOLDER", help="Manifest CSV of a batch, or a folder of recordings."),
    ],
    lake: LakeOption = None,
    force: Annotated[bool, typer.Option(help="Re-process recordings already in the lake.")] = False,
    batch_dir: Annotated[
        Path | None,
        typer.Option("--batch-dir", help="Folder the manifest's paths are relative to (default: its own)."),
    ] = None,
    pattern: PatternOption = None,
    athlete: AthleteOption = None,
    exercise: ExerciseOption = None,
    date: DateOption = None,
    sample_rate: RateOption = None,
    placement: PlacementOption = None,
    quiet: QuietOption = False,
) -> None:
    """Ingest a batch: read, angles, reps, per-rep metrics (idempotent per recording_id).

    MANIFEST is a CSV with one row per recording, columns recording_id, path (relative to the
    manifest's folder or --batch-dir), athlete_id, session_date (YYYY-MM-DD), exercise, and
    optionally side, load_kg, set_number, format, sample_rate_hz, label, placement
    (docs/manifest.md). A FOLDER is searched as
    `hinge manifest` does (--pattern and the options fill the names' fields); the manifest it makes is
    written next to the lake and printed, to edit and ingest again. Rows that stay incomplete are
    quarantined with the reason; the rest of the batch goes on."""
    from hinge_analytics.ingest.manifest import read_manifest

    root = _writable_lake(resolve_lake(lake))
    if source.is_dir():
        if batch_dir is not None:
            raise UserError("--batch-dir goes with a manifest; a folder is its own batch folder")
        defaults = _defaults(athlete, exercise, date, sample_rate, placement)
        manifest = _manifest_beside(root, source)
        rows = _discover(source, source, pattern, defaults, manifest, quiet)
        _write_manifest(rows, manifest)
        console.print(f"wrote {manifest} ({len(rows)} rows)", highlight=False)
        _print_to_fill(rows, manifest)
        batch_dir = source
    else:
        options = {"--pattern": pattern, "--athlete": athlete, "--exercise": exercise, "--date": date}
        options |= {"--sample-rate": sample_rate, "--placement": placement}
        given = [name for name, value in options.items() if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} apply to a folder of recordings, not to a manifest")
        manifest = source
    read_manifest(manifest, batch_dir)  # fail fast, before Prefect starts, on an unusable manifest
    try:
        with _progress_bar("ingesting", quiet) as bar:
            if _prefect_server_configured():
                from hinge_analytics.pipelines.ingest_flow import run_ingest

                folder = None if batch_dir is None else str(batch_dir)
                summary = _with_prefect(
                    lambda: run_ingest(str(manifest), root, force=force, batch_dir=folder, progress=bar)
                )
            else:
                from hinge_analytics.jobs.ingest import ingest_manifest

                frames = None if bar is None else bar.below("estimating poses", "video frames")
                summary = ingest_manifest(
                    manifest, Lake(root), force=force, batch_dir=batch_dir, progress=bar, frames=frames
                )
    except KeyboardInterrupt:
        _stop_now("interrupted; what was committed stays in the lake: run the same command to finish")
    console.print(
        f"ingested {len(summary.ingested)} recording(s) ({summary.reps} reps), "
        f"skipped {len(summary.skipped)} already in the lake, quarantined {len(summary.quarantined)}"
    )
    for rid, reason in summary.quarantined[:QUARANTINE_PRINTED]:
        console.print(Text.assemble("  ", ("quarantined", "yellow"), f" {rid}: {reason}"), highlight=False)
    hidden = len(summary.quarantined) - QUARANTINE_PRINTED
    if hidden > 0:
        console.print(
            f"  ... and {hidden} more quarantined: hinge export quarantine --out quarantine.csv "
            f"--lake {root} lists every one",
            highlight=False,
        )
    if source.is_dir():
        console.print(
            f"manifest: {manifest} (edit it, then: hinge ingest {manifest} --batch-dir {source})",
            highlight=False,
        )


@app.command()
@_user_errors
def train(
    lake: LakeOption = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="CSV recording_id,rep,label.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")] = Path("models/custom"),
    uncertain_below: Annotated[
        float, typer.Option("--uncertain-below", help="Probability under which a rep is 'uncertain'.")
    ] = 0.5,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, help="Evaluation folds fitted at once (cores); same model.")
    ] = 1,
) -> None:
    """Train the rep classifier on labelled reps (one model per modality/sensor set); prints
    leave-athlete-out quality and writes a model card."""
    from hinge_analytics.classify.persistence import check_model_dir
    from hinge_analytics.jobs.train import train as train_model

    if labels is not None and not labels.is_file():
        raise UserError(f"labels file {labels} does not exist")
    if not 0.0 <= uncertain_below <= 1.0:
        raise UserError("--uncertain-below must be between 0 and 1")
    opened = _existing_lake(lake)
    check_model_dir(_outside_lake(out, opened.root, "--out"))  # before training, not after
    meta = train_model(opened, out, labels_file=labels, uncertain_below=uncertain_below, n_jobs=jobs)
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
    quiet: QuietOption = False,
) -> None:
    """Label every rep that has no label yet (or all, with --all)."""
    from hinge_analytics.classify import DEFAULT_MODEL_DIR, load_model
    from hinge_analytics.jobs.predict import predict as predict_reps

    if uncertain_below is not None and not 0.0 <= uncertain_below <= 1.0:
        raise UserError("--uncertain-below must be between 0 and 1")
    opened = _existing_lake(lake)
    _writable_lake(opened.root)  # before the model is loaded (1 s)
    loaded = load_model(model or DEFAULT_MODEL_DIR)
    with _progress_bar("labelling", quiet, "reps") as bar:
        count = predict_reps(opened, loaded, all_reps=all_reps, uncertain_below=uncertain_below, progress=bar)
    console.print(f"labelled {count} rep(s) with model {loaded.version_}")


@app.command()
@_user_errors
def report(
    out: Annotated[Path, typer.Option("--out", help="Folder for the HTML pages and CSV tables.")],
    lake: LakeOption = None,
    athlete: Annotated[str | None, typer.Option(help="Only this athlete.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only sessions on or after this date (YYYY-MM-DD).")
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Write HTML reports (team overview + one page per athlete) and CSV tables; what each number
    means: docs/reports.md."""
    from hinge_analytics.jobs.report import build_reports

    since_date = _option_date("--since", since)
    opened = _existing_lake(lake)
    with _progress_bar("writing reports", quiet, "athlete pages") as bar:
        pages = build_reports(
            opened, _outside_lake(out, opened.root, "--out"), athlete=athlete, since=since_date, progress=bar
        )
    if athlete is None:
        console.print(f"wrote {len(pages)} athlete page(s); open {out / 'index.html'}", highlight=False)
    else:  # the team pages were left as they were: point at the page written
        console.print(f"wrote {athlete}'s page; open {pages[0]}", highlight=False, markup=False)


@app.command()
@_user_errors
def export(
    what: Annotated[str, typer.Argument(help="reps | sessions | quarantine")],
    out: Annotated[Path, typer.Option("--out", help="File to write: .csv or .parquet.")],
    lake: LakeOption = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Comma-separated columns to write, in this order (default: all; docs/reports.md).",
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")] = False,
) -> None:
    """Export a table as CSV or Parquet (by the file extension). `reps`: every rep column (times,
    tempo per phase, peaks, ranges, values at the bottom, symmetry indices, label, confidence, cue),
    units in the names, the SPEC's columns first."""
    from hinge_analytics.atomic import write_atomic
    from hinge_analytics.jobs.query import export_reps, query
    from hinge_analytics.report import spreadsheet_safe

    sql = {
        "reps": None,
        "sessions": "SELECT * FROM sessions ORDER BY athlete_id, session_date, exercise",
        "quarantine": "SELECT recording_id, path, reason, quarantined_at FROM quarantine "
        "ORDER BY quarantined_at, recording_id",
    }
    if what not in sql:
        raise UserError(f"cannot export {what!r}: choose reps, sessions or quarantine")
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns is not None else None
    if columns is not None and not chosen:
        raise UserError("--columns names no column")
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UserError(f"--out must end in .csv or .parquet, not {out.name!r}")
    opened = _existing_lake(lake)
    _outside_lake(out, opened.root, "--out")
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name ending in {suffix}")
    if out.exists() and not overwrite:
        raise UserError(f"{out} exists; add --overwrite to replace it")
    if what == "reps":
        frame = export_reps(opened, chosen)
    else:
        frame = query(opened, sql[what])  # type: ignore[arg-type]
        if chosen:
            unknown = [c for c in chosen if c not in frame.columns]
            if unknown:
                raise UserError(
                    f"no {what} column {', '.join(map(repr, unknown))}; docs/reports.md lists them"
                )
            frame = frame.select(list(dict.fromkeys(chosen)))
    if suffix == ".csv":
        write_atomic(out, spreadsheet_safe(frame).write_csv)  # a killed export leaves no half file
    else:
        write_atomic(out, frame.write_parquet)
    console.print(f"wrote {frame.height} row(s) with {frame.width} column(s) to {out}")


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists and structs (``list(label)``, ``{...}``) as JSON text: CSV holds no nested values, and
    polars refused the whole result with a traceback."""
    import json

    import polars as pl

    nested = [c for c, dtype in frame.schema.items() if dtype.is_nested()]

    def as_json(values: list) -> list[str | None]:
        return [None if v is None else json.dumps(v, default=str) for v in values]

    return frame.with_columns(pl.Series(c, as_json(frame[c].to_list()), pl.String) for c in nested)


@app.command(name="query")
@_user_errors
def query_command(
    sql: Annotated[str, typer.Argument(help="A read-only SELECT over the lake's views.")],
    lake: LakeOption = None,
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Stop the query after this many seconds.")
    ] = QUERY_TIMEOUT_S,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="Stop the query beyond this memory, e.g. 500MB, 4GB.")
    ] = QUERY_MEMORY_LIMIT,
    max_rows: Annotated[
        int, typer.Option("--max-rows", min=0, help="Print at most this many rows (0: all).")
    ] = QUERY_MAX_ROWS,
) -> None:
    """Run read-only SQL over the views: recordings, reps, angles, predictions, quarantine, rep_view,
    set_view, session_labels, sessions, weekly, and athlete_flags(since, athlete) (NULL = all).
    Ctrl-C stops a running query."""
    from hinge_analytics.jobs.query import read_only_query

    limit = max_rows or None
    frame = read_only_query(
        _existing_lake(lake),
        sql,
        timeout_s=timeout,
        memory_limit=memory_limit,
        max_rows=limit,
        cap_process_memory=True,  # this process runs nothing else meanwhile
    )
    shown = frame if limit is None else frame.head(limit)
    if csv:
        sys.stdout.write(_flat(shown).write_csv())
    else:
        _print_table(shown)
    if limit is not None and frame.height > limit:
        print(
            f"hinge: printed the first {limit} rows; there are more (--max-rows N, or 0 for all)",
            file=sys.stderr,
        )


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
    from hinge_analytics.pipelines.schedule import ScheduleError, WeeklyJob, build_deployment, serve_weekly

    job = WeeklyJob(manifest_dir, resolve_lake(lake), reports, model, weeks)
    try:
        build_deployment(cron, job, timezone)  # validates before anything starts
    except ScheduleError as exc:
        raise UserError(str(exc)) from None
    if run_now:
        from hinge_analytics.pipelines.batch_flows import run_weekly

        result = _with_prefect(lambda: run_weekly(**job.parameters()))
        console.print(
            f"ingested {result['ingested']} recording(s), quarantined {result['quarantined']}, "
            f"labelled {result['labelled']} rep(s); report: {result['report']}"
        )
        return
    console.print(f"serving the weekly report on '{cron}' ({timezone}); Ctrl-C to stop")
    _with_prefect(lambda: serve_weekly(cron, job, timezone), scheduler=True)


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
    from hinge_analytics.pipelines.batch_flows import run_demo

    result = _with_prefect(lambda: run_demo(str(out), athletes=athletes, sessions=sessions))
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
    """The ``hinge`` command (`hinge_analytics.main`: process settings, then this app)."""
    from hinge_analytics import main as hinge

    hinge()


@app.command()
@_user_errors
def check(lake: LakeOption = None) -> None:
    """List the lake's data files that are missing or unreadable and the recordings whose rows are
    incomplete (exit status 1 when there are any); `hinge ingest MANIFEST --force` re-creates them.
    Writes nothing."""
    from hinge_analytics.jobs.check import check_lake

    result = check_lake(_existing_lake(lake))
    for line in result.lines():
        console.print(line, highlight=False)
    if not result.ok:
        print(f"hinge: {result.summary()}", file=sys.stderr)
        raise typer.Exit(1)
