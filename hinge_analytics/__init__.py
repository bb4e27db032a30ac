"""hinge_analytics: rep-level form feedback for hip-hinge exercises.

The package folders follow the data flow: ``ingest`` -> ``kinematics`` -> ``reps`` -> ``features``
-> ``classify`` -> ``analytics`` -> ``report``; ``simulate`` makes data with known truth.

The Python API for notebooks (README, "Python API"), importable from here:

- ``read_recording(path)`` -> one recording's frames (polars), no lake; ``analyse(recording,
  exercise, side)`` -> its angles, reps with their metrics, and rep curves (polars);
- ``manifest_for(folder, pattern=...)`` -> the manifest ``hinge manifest`` would write (polars);
- ``open_lake(path)`` -> a `TeamLake`: ``ingest``, ``reps``, ``sessions``, ``flags``, ``query``,
  ``train``, ``predict``, ``report``;
- ``load_model``, ``DEFAULT_MODEL_DIR`` (the shipped model), ``simulate_team`` (example data).

Importing the package changes nothing in the process (no environment variables, allocator or
logging settings) and loads none of the heavy libraries: each name above is imported when first
used. The ``hinge`` command applies its process settings itself (`configure_process`).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import importlib
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from hinge_analytics.ingest.frames import RecordingRead
    from hinge_analytics.jobs.ingest import ChunkSummary
    from hinge_analytics.lake import Lake

try:
    __version__ = version("hinge_analytics")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

# Bumped whenever a change alters what ingest/kinematics/segmentation/metrics produce, so that
# recordings processed by an older pipeline are re-processed on the next ingest.
PIPELINE_VERSION = "ha-0.5.58"

# Names imported on first use: module, attribute.
_LAZY: dict[str, tuple[str, str]] = {
    "analyse": ("hinge_analytics.pipeline", "analyse"),
    "Analysis": ("hinge_analytics.pipeline", "Analysis"),
    "RecordingRead": ("hinge_analytics.ingest.frames", "RecordingRead"),
    "Lake": ("hinge_analytics.lake", "Lake"),
    "load_model": ("hinge_analytics.classify", "load_model"),
    "DEFAULT_MODEL_DIR": ("hinge_analytics.classify", "DEFAULT_MODEL_DIR"),
    "BadRecording": ("hinge_analytics.ingest.errors", "BadRecording"),
}

__all__ = [
    "PIPELINE_VERSION",
    "TeamLake",
    "configure_process",
    "manifest_for",
    "open_lake",
    "read_recording",
    "simulate_team",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'hinge_analytics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


# --------------------------------------------------------------------------- one recording
def read_recording(
    path: str | Path,
    format: str | None = None,  # noqa: A002  (the manifest's column name)
    sample_rate_hz: float | None = None,
    placement: str | None = None,
) -> RecordingRead:
    """Read one recording file or folder as ``hinge ingest`` does, without a lake.

    ``format`` (docs/formats.md) is detected when None; ``sample_rate_hz`` is needed only for files
    without times; ``placement`` only for single-sensor device layouts. The result's ``frames`` is a
    polars DataFrame (``t_s`` in seconds from the first sample, then landmark or sensor columns in SI
    units), with ``modality`` ("pose" or "imu"), ``sensors`` and ``sample_rate_hz``. Raises
    ``BadRecording`` with the reason a quarantine row would give.
    """
    from hinge_analytics.ingest import read_recording as read

    return read(Path(path), format, sample_rate_hz, placement)[1]


def manifest_for(
    folder: str | Path,
    pattern: str | None = None,
    athlete_id: str | None = None,
    session_date: dt.date | str | None = None,
    exercise: str | None = None,
    sample_rate_hz: float | None = None,
    placement: str | None = None,
) -> pl.DataFrame:
    """The manifest ``hinge manifest FOLDER`` writes, as a polars DataFrame (paths relative to
    ``folder``; docs/manifest.md): every recording found, its format, rate and duration read from
    the data, fields from ``pattern`` (e.g. ``"{athlete}/{date}/{exercise}_set{set}"``) or the other
    arguments, and a ``to_check`` column naming what is still missing."""
    from hinge_analytics.ingest.discover import (
        Defaults,
        Pattern,
        describe,
        exercise_name,
        find_recordings,
        manifest_frame,
    )

    root = Path(folder)
    day = dt.date.fromisoformat(session_date) if isinstance(session_date, str) else session_date
    lift = exercise_name(exercise) if exercise else None
    defaults = Defaults(athlete_id, day, lift, sample_rate_hz, placement)
    candidates, _ = find_recordings(root)
    parsed = Pattern.parse(pattern) if pattern else None
    return manifest_frame(describe(candidates, root, root, parsed, defaults))


def simulate_team(out: str | Path, **options: Any) -> Path:
    """Example data: a simulated team's recordings, ``manifest.csv`` and ``rep_labels.csv`` written
    into ``out``; returns the manifest's path. ``options`` as `hinge simulate` (``athletes``,
    ``sessions``, ``formats``, ``exercises``, ``sets_per_exercise``, ``seed``; see
    ``hinge_analytics.simulate.team.simulate_team``)."""
    from hinge_analytics.simulate.team import simulate_team as simulate

    return simulate(Path(out), **options)


# --------------------------------------------------------------------------- a lake
class TeamLake:
    """A lake opened for analysis in Python: tables come back as polars DataFrames.

    Reading methods never write; ``ingest``, ``predict`` and ``train``/``report`` (which write
    outside the lake) are the only ones that change anything. The command line does the same work
    through Prefect flows; these call the library steps directly.
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    @property
    def root(self) -> str:
        return self.lake.root

    def __repr__(self) -> str:
        return f"TeamLake({self.root!r})"

    def ingest(
        self, manifest: str | Path, batch_dir: str | Path | None = None, force: bool = False
    ) -> ChunkSummary:
        """Ingest a manifest (paths relative to ``batch_dir``, default the manifest's folder):
        read, angles, reps, metrics; returns the summary (``ingested``, ``skipped``,
        ``quarantined`` with reasons, ``reps``). Creates the lake's tables when they do not exist."""
        from hinge_analytics.jobs.ingest import ingest_manifest

        folder = None if batch_dir is None else Path(batch_dir)
        return ingest_manifest(Path(manifest), self.lake, force=force, batch_dir=folder)

    def query(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """Read-only SQL over the lake's views (README, `hinge query`)."""
        from hinge_analytics.jobs.query import query

        return query(self.lake, sql, params)

    def reps(self, athlete: str | None = None) -> pl.DataFrame:
        """Every rep with its metrics, label and confidence (`hinge export reps` columns)."""
        from hinge_analytics.jobs.query import export_reps

        return export_reps(self.lake, athlete=athlete)

    def sessions(self) -> pl.DataFrame:
        """One row per athlete, day and exercise: reps, share of good reps, load, asymmetry
        (docs/reports.md)."""
        return self.query("SELECT * FROM sessions ORDER BY athlete_id, session_date, exercise")

    def flags(self, since: dt.date | None = None, athlete: str | None = None) -> pl.DataFrame:
        """One row per athlete over the period: reps, share good, asymmetry and "too heavy, too
        soon" flags (docs/reports.md)."""
        from hinge_analytics.analytics import athlete_flags, freeze_sessions
        from hinge_analytics.jobs.query import connect

        con = connect(self.lake)
        try:
            freeze_sessions(con)
            return athlete_flags(con, since, athlete)
        finally:
            con.close()

    def train(self, out_dir: str | Path, labels: str | Path | None = None, **options: Any) -> dict:
        """Train the rep classifier on the labelled reps (manifest ``label`` column or a labels
        file ``recording_id, rep, label``); writes the model folder with its card, returns its
        meta (``evaluation`` holds the leave-athlete-out scores). ``options`` as
        ``hinge_analytics.jobs.train.train`` (e.g. ``candidates=("rf",)`` for a quicker fit)."""
        from hinge_analytics.jobs.train import train

        labels_file = None if labels is None else Path(labels)
        return train(self.lake, Path(out_dir), labels_file=labels_file, **options)

    def predict(self, model: str | Path | None = None, all_reps: bool = False) -> int:
        """Label the reps that have no label yet (every rep with ``all_reps``) with ``model``
        (a model folder; default the shipped model); returns how many were labelled."""
        from hinge_analytics.classify import DEFAULT_MODEL_DIR, load_model
        from hinge_analytics.jobs.predict import predict

        return predict(self.lake, load_model(Path(model) if model else DEFAULT_MODEL_DIR), all_reps=all_reps)

    def report(
        self, out_dir: str | Path, athlete: str | None = None, since: dt.date | None = None
    ) -> list[Path]:
        """Write the HTML reports and CSV tables (`hinge report`); returns the athlete pages."""
        from hinge_analytics.jobs.report import build_reports

        return build_reports(self.lake, Path(out_dir), athlete=athlete, since=since)


def open_lake(path: str | Path | None = None) -> TeamLake:
    """The lake at ``path`` (else ``$HINGE_LAKE``, else ``data/lake``); a local folder or an
    object-store URL. Nothing is created until something is ingested."""
    from hinge_analytics.lake import Lake, resolve_lake

    return TeamLake(Lake(resolve_lake(path)))


# --------------------------------------------------------------------------- the hinge command
_M_ARENA_MAX = -8  # glibc's malloc.h
PREFECT_DEFAULTS: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # flow and task runs log at INFO to the API (a Prefect server's run log shows each recording's
    # outcome); the terminal shows warnings only
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "",
}


def configure_process() -> None:
    """Process-wide settings of the ``hinge`` command, applied at its start (`main`), never on
    import; each steps aside when the user set it already. Child processes inherit them.

    - ``ARROW_DEFAULT_MEMORY_POOL=system``: Arrow allocates with malloc. Its default, mimalloc,
      keeps the pages its scan threads freed for those threads: after predict over a
      10,000-recording lake it held 115 MB (48 MB after 1,000). Fixed when pyarrow is first imported.
    - glibc malloc limited to two arenas (``MALLOC_ARENA_MAX=2``): with Arrow on malloc, each scan
      thread got an arena of its own (37 MB of them after 10,000 recordings). Predict over 10,000
      recordings peaked at 605-630 MB with neither setting, 502-508 MB with both; no change in time.
    - ``MPLBACKEND=Agg``: reports draw SVG without a display.
    - Prefect for local, offline use (`PREFECT_DEFAULTS`): no telemetry, quiet logs, time for the
      in-process API to start on a busy machine. Logging is set up when Prefect is first imported.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if sys.platform.startswith("linux") and "MALLOC_ARENA_MAX" not in os.environ:
        os.environ["MALLOC_ARENA_MAX"] = "2"  # for child processes; this one is told below
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc's; elsewhere ignored
        if mallopt is not None:
            mallopt(_M_ARENA_MAX, 2)


def main() -> None:
    """The ``hinge`` command: process settings first (before pyarrow is imported), then the CLI."""
    configure_process()
    from hinge_analytics.cli import app

    app()
