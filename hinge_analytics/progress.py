"""How a long job says how far it got: told its total, then how much more is done.

The CLI passes a progress bar (`cli._progress_bar`); library callers pass nothing, or their own.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told how many units (recordings, reps, pages) a job has, then how many more are done."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...
