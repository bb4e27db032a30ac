"""Shared fixtures: one small simulated batch and one ingested lake per test session (per worker)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Each pytest-xdist worker gets its own Prefect home, so ephemeral API databases never collide;
# removed when the worker exits (each held a ~6 MB database that used to stay behind in /tmp).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-home-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from hinge_analytics import PREFECT_DEFAULTS  # noqa: E402

# Tests that call a flow directly get Prefect's own temporary server, which has 20 s to start by
# default: not always enough on a loaded machine (two xdist workers beside a bench). The ``hinge``
# command gives it the same time as here.
os.environ.setdefault(
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    PREFECT_DEFAULTS["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"],
)

from hinge_analytics.ingest.manifest import read_manifest  # noqa: E402
from hinge_analytics.jobs.ingest import ingest_chunk  # noqa: E402
from hinge_analytics.lake import Lake  # noqa: E402
from hinge_analytics.simulate.team import simulate_team  # noqa: E402

REAL_DATA = Path(__file__).parent / "data" / "real"


@pytest.fixture(scope="session")
def batch(tmp_path_factory) -> Path:
    """A simulated batch: 4 athletes x 2 sessions x RDL + deadlift x 2 sets (mediapipe_csv)."""
    out = tmp_path_factory.mktemp("batch")
    return simulate_team(out, athletes=4, sessions=2, exercises=("romanian_deadlift", "deadlift"), seed=11)


@pytest.fixture(scope="session")
def lake(batch, tmp_path_factory) -> Lake:
    """The batch ingested (without Prefect) into a fresh lake. Treat as read-only."""
    lake = Lake(tmp_path_factory.mktemp("lake") / "lake")
    lake.create()
    rows, rejected = read_manifest(batch)
    assert not rejected
    ingest_chunk(lake, rows)
    return lake
