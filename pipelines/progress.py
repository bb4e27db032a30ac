"""Where an ingest flow reports how far it got (a progress bar), kept out of the flow's module.

A Dask task runner pickles the flow's functions by value, with the module globals they use; a
``ContextVar`` cannot be pickled, so the flow reaches it only through ``current_progress``, which
pickles by reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from hinge_analytics.progress import Progress

# Set by `run_ingest` for the flow it runs: a callable cannot be a flow parameter (Prefect stores
# parameters with the run), and the flow body runs in the caller's context.
_PROGRESS: ContextVar[Progress | None] = ContextVar("hinge_ingest_progress", default=None)


@contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    token = _PROGRESS.set(progress)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def current_progress() -> Progress | None:
    """The progress reporter of the ingest this flow runs for, if its caller gave one."""
    return _PROGRESS.get()
